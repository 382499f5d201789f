/*
 * Unit tests for resolver/cache.c. Answers are small neutral messages (one
 * A record) written through wire_writer. Time is passed explicitly: nothing
 * sleeps. A few tests need names that share a shard or sit in different
 * ones; they pick them with cache_key_hash and the shard rule of cache.c
 * (bits 32 and up of the hash), so they do not depend on luck.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

#define T0 1000000 /* milliseconds */

/* ------------------------------------------------------------ helpers */

struct tkey {
	struct cache_key k;
	uint8_t name[DNS_NAME_MAX];
};

static void mk_key(struct tkey *t, const char *name, uint16_t qtype, uint16_t qclass, bool do_bit)
{
	size_t len = wire_name_from_text(name, t->name);

	ck_assert_uint_gt(len, 0);
	t->k = (struct cache_key){.name = t->name,
				  .name_len = (uint8_t)len,
				  .qtype = qtype,
				  .qclass = qclass,
				  .do_bit = do_bit};
}

/* A neutral answer for name: one A record with the given TTL, stored at
 * now_ms. */
static struct answer *mk_ans(const char *name, uint32_t ttl, uint64_t now_ms)
{
	struct dns_header h = {.flags = DNS_FLAG_QR | DNS_FLAG_RA, .qdcount = 1, .ancount = 1};
	uint8_t msg[512], wname[DNS_NAME_MAX];
	size_t nlen = wire_name_from_text(name, wname);
	struct wire_writer w;
	struct answer *a;

	ck_assert_uint_gt(nlen, 0);
	wire_name_lower(wname, wname, nlen);
	wire_writer_init(&w, msg, sizeof(msg));
	wire_put_header(&w, &h);
	wire_put_bytes(&w, wname, nlen);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_bytes(&w, wname, nlen);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, ttl);
	wire_put_u16(&w, 4);
	wire_put_u32(&w, 0xc0000201);
	ck_assert(!w.err);
	a = answer_new(msg, w.pos, NULL, 0, 86400, now_ms);
	ck_assert_ptr_nonnull(a);
	return a;
}

/* Stores a fresh answer for key and drops the test's reference. */
static void store(struct cache *c, const struct tkey *t, const char *name, uint32_t ttl,
		  uint64_t now_ms)
{
	struct answer *a = mk_ans(name, ttl, now_ms);

	ck_assert_int_eq(cache_store(c, &t->k, a), 0);
	answer_unref(a);
}

/* Looks key up and drops the reference; returns the result. */
static enum cache_result probe(struct cache *c, const struct tkey *t, uint64_t now_ms,
			       bool *prefetch)
{
	struct answer *a = NULL;
	enum cache_result r = cache_lookup(c, &t->k, now_ms, &a, prefetch);

	if (r == CACHE_MISS)
		ck_assert_ptr_null(a);
	else
		ck_assert_ptr_nonnull(a);
	answer_unref(a);
	return r;
}

/* The shard cache.c puts a key in. */
static unsigned shard_of(const struct cache *c, const struct tkey *t)
{
	return (unsigned)((cache_key_hash(c, &t->k) >> 32) % CACHE_SHARDS);
}

/* ------------------------------------------------------------ tests */

/* Miss, fresh hit, stale within the window, dropped beyond it. */
START_TEST(hit_miss_stale)
{
	struct cache *c = cache_new(1000, 60);
	struct tkey t, other;
	struct answer *a = mk_ans("www.example.com", 10, T0), *got = NULL;

	ck_assert_ptr_nonnull(c);
	mk_key(&t, "www.example.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	mk_key(&other, "ftp.example.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	ck_assert_int_eq(cache_lookup(c, &t.k, T0, &got, NULL), CACHE_MISS);
	ck_assert_ptr_null(got);

	ck_assert_int_eq(cache_store(c, &t.k, a), 0);
	ck_assert_uint_eq(atomic_load(&a->refs), 2);
	ck_assert_uint_eq(cache_count(c), 1);

	ck_assert_int_eq(cache_lookup(c, &t.k, T0 + 9999, &got, NULL), CACHE_FRESH);
	ck_assert_ptr_eq(got, a);
	ck_assert_uint_eq(atomic_load(&a->refs), 3);
	answer_unref(got);
	ck_assert_int_eq(probe(c, &other, T0, NULL), CACHE_MISS);

	/* RFC 8767: expired but kept for serve-stale. */
	ck_assert_int_eq(cache_lookup(c, &t.k, T0 + 10000, &got, NULL), CACHE_STALE);
	ck_assert_ptr_eq(got, a);
	answer_unref(got);
	ck_assert_int_eq(probe(c, &t, T0 + 69999, NULL), CACHE_STALE);
	ck_assert_uint_eq(cache_count(c), 1);

	/* Beyond the stale window: removed, and the cache's reference dropped. */
	ck_assert_int_eq(probe(c, &t, T0 + 70000, NULL), CACHE_MISS);
	ck_assert_uint_eq(cache_count(c), 0);
	ck_assert_uint_eq(atomic_load(&a->refs), 1);
	ck_assert_int_eq(probe(c, &t, T0 + 5000, NULL), CACHE_MISS);
	answer_unref(a);
	cache_free(c);
}
END_TEST

/* Without a stale window an entry is gone the moment it expires. */
START_TEST(no_stale_window)
{
	struct cache *c = cache_new(1000, 0);
	struct tkey t;

	mk_key(&t, "a.example", DNS_TYPE_A, DNS_CLASS_IN, false);
	store(c, &t, "a.example", 5, T0);
	ck_assert_int_eq(probe(c, &t, T0 + 4999, NULL), CACHE_FRESH);
	ck_assert_int_eq(probe(c, &t, T0 + 5000, NULL), CACHE_MISS);
	ck_assert_uint_eq(cache_count(c), 0);
	cache_free(c);
}
END_TEST

/* The key is name, type, class and DO; the name compares without case. */
START_TEST(key_fields)
{
	struct cache *c = cache_new(1000, 60);
	struct tkey t, aaaa, chaos, dnssec, upper;
	struct answer *plain = mk_ans("k.example", 300, T0),
		      *signed_ = mk_ans("k.example", 300, T0);
	struct answer *got = NULL;

	mk_key(&t, "k.example", DNS_TYPE_A, DNS_CLASS_IN, false);
	mk_key(&aaaa, "k.example", DNS_TYPE_AAAA, DNS_CLASS_IN, false);
	mk_key(&chaos, "k.example", DNS_TYPE_A, 3, false);
	mk_key(&dnssec, "k.example", DNS_TYPE_A, DNS_CLASS_IN, true);
	mk_key(&upper, "K.EXAMPLE", DNS_TYPE_A, DNS_CLASS_IN, false);

	ck_assert_int_eq(cache_store(c, &t.k, plain), 0);
	ck_assert_int_eq(probe(c, &aaaa, T0, NULL), CACHE_MISS);
	ck_assert_int_eq(probe(c, &chaos, T0, NULL), CACHE_MISS);
	ck_assert_int_eq(probe(c, &dnssec, T0, NULL), CACHE_MISS);
	ck_assert_int_eq(cache_lookup(c, &upper.k, T0, &got, NULL), CACHE_FRESH);
	ck_assert_ptr_eq(got, plain);
	answer_unref(got);

	ck_assert_int_eq(cache_store(c, &dnssec.k, signed_), 0);
	ck_assert_uint_eq(cache_count(c), 2);
	ck_assert_int_eq(cache_lookup(c, &dnssec.k, T0, &got, NULL), CACHE_FRESH);
	ck_assert_ptr_eq(got, signed_);
	answer_unref(got);
	ck_assert_int_eq(cache_lookup(c, &t.k, T0, &got, NULL), CACHE_FRESH);
	ck_assert_ptr_eq(got, plain);
	answer_unref(got);

	/* The hash agrees with the comparison. */
	ck_assert_uint_eq(cache_key_hash(c, &t.k), cache_key_hash(c, &upper.k));
	ck_assert_uint_ne(cache_key_hash(c, &t.k), cache_key_hash(c, &aaaa.k));
	ck_assert_uint_ne(cache_key_hash(c, &t.k), cache_key_hash(c, &chaos.k));
	ck_assert_uint_ne(cache_key_hash(c, &t.k), cache_key_hash(c, &dnssec.k));
#ifndef LOKI_FUZZING
	{
		/* Every cache draws its own SipHash key. */
		struct cache *c2 = cache_new(10, 0);

		ck_assert_uint_ne(cache_key_hash(c, &t.k), cache_key_hash(c2, &t.k));
		cache_free(c2);
	}
#endif
	answer_unref(plain);
	answer_unref(signed_);
	cache_free(c);
}
END_TEST

/* Storing a key again replaces its answer and drops the old reference. */
START_TEST(replacement)
{
	struct cache *c = cache_new(1000, 60);
	struct tkey t;
	struct answer *a1 = mk_ans("r.example", 100, T0), *a2 = mk_ans("r.example", 200, T0 + 50);
	struct answer *got = NULL;

	mk_key(&t, "r.example", DNS_TYPE_A, DNS_CLASS_IN, false);
	ck_assert_int_eq(cache_store(c, &t.k, a1), 0);
	ck_assert_int_eq(cache_store(c, &t.k, a2), 0);
	ck_assert_uint_eq(cache_count(c), 1);
	ck_assert_uint_eq(atomic_load(&a1->refs), 1);
	ck_assert_uint_eq(atomic_load(&a2->refs), 2);
	ck_assert_int_eq(cache_lookup(c, &t.k, T0 + 150000, &got, NULL), CACHE_FRESH);
	ck_assert_ptr_eq(got, a2);
	answer_unref(got);
	/* The same answer again is harmless. */
	ck_assert_int_eq(cache_store(c, &t.k, a2), 0);
	ck_assert_uint_eq(atomic_load(&a2->refs), 2);
	ck_assert_int_eq(cache_store(c, &t.k, NULL), -EINVAL);
	answer_unref(a1);
	answer_unref(a2);
	cache_free(c);
}
END_TEST

/*
 * Capacity 100, 10,000 distinct names stored while 10 hot names are looked
 * up between stores: the hot names stay, the count never exceeds 100. The
 * hot names are taken from different shards, so that no shard (6 or 7
 * entries) is asked to keep more hot names than it holds.
 */
START_TEST(lru_keeps_hot)
{
	struct cache *c = cache_new(100, 0);
	struct tkey hot[10], t;
	bool used[CACHE_SHARDS] = {false};
	char name[64];
	size_t n_hot = 0, i, j;

	for (i = 0; n_hot < 10; i++) {
		struct tkey *h = &hot[n_hot];
		unsigned s;

		snprintf(name, sizeof(name), "hot%zu.example.com", i);
		mk_key(h, name, DNS_TYPE_A, DNS_CLASS_IN, false);
		s = shard_of(c, h);
		if (used[s])
			continue;
		used[s] = true;
		store(c, h, name, 3600, T0);
		n_hot++;
	}
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "host%zu.example.com", i);
		mk_key(&t, name, DNS_TYPE_A, DNS_CLASS_IN, false);
		store(c, &t, name, 3600, T0);
		ck_assert_uint_le(cache_count(c), 100);
		for (j = 0; j < 10; j++)
			ck_assert_msg(probe(c, &hot[j], T0 + 1, NULL) == CACHE_FRESH,
				      "hot name %zu evicted after %zu stores", j, i);
	}
	ck_assert_uint_eq(cache_count(c), 100);
	mk_key(&t, "host0.example.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	ck_assert_int_eq(probe(c, &t, T0 + 1, NULL), CACHE_MISS);
	mk_key(&t, "host9999.example.com", DNS_TYPE_A, DNS_CLASS_IN, false);
	ck_assert_int_eq(probe(c, &t, T0 + 1, NULL), CACHE_FRESH);
	cache_free(c);
}
END_TEST

/*
 * Scan resistance (segmented LRU): names hit once after being stored
 * survive a flood of 10,000 names asked once each, even though nothing
 * touches them during the flood. A plain LRU list would have evicted them.
 * Up to two hot names share a shard, which keeps them within its protected
 * share (four fifths of six).
 */
START_TEST(flood_does_not_evict_hot)
{
	struct cache *c = cache_new(100, 0);
	struct tkey hot[20], t;
	unsigned per_shard[CACHE_SHARDS] = {0};
	char name[64];
	size_t n_hot = 0, i;

	for (i = 0; n_hot < 20; i++) {
		struct tkey *h = &hot[n_hot];
		unsigned s;

		snprintf(name, sizeof(name), "hot%zu.example.com", i);
		mk_key(h, name, DNS_TYPE_A, DNS_CLASS_IN, false);
		s = shard_of(c, h);
		if (per_shard[s] == 2)
			continue;
		per_shard[s]++;
		store(c, h, name, 3600, T0);
		ck_assert_int_eq(probe(c, h, T0 + 1, NULL), CACHE_FRESH);
		n_hot++;
	}
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "scan%zu.example.org", i);
		mk_key(&t, name, DNS_TYPE_A, DNS_CLASS_IN, false);
		store(c, &t, name, 3600, T0 + 2);
	}
	ck_assert_uint_le(cache_count(c), 100);
	for (i = 0; i < n_hot; i++)
		ck_assert_msg(probe(c, &hot[i], T0 + 3, NULL) == CACHE_FRESH,
			      "hot name %zu evicted by the flood", i);
	cache_free(c);
}
END_TEST

/*
 * A stale hit does not make an entry recent: with three names in one shard
 * of two entries, the stale one is evicted first even though it was just
 * looked up.
 */
START_TEST(stale_not_promoted)
{
	struct cache *c = cache_new(2 * CACHE_SHARDS, 3600);
	struct tkey t[3];
	char names[3][32];
	unsigned shard = 0;
	size_t n = 0, i;

	for (i = 0; n < 3; i++) {
		snprintf(names[n], sizeof(names[n]), "s%zu.example", i);
		mk_key(&t[n], names[n], DNS_TYPE_A, DNS_CLASS_IN, false);
		if (n == 0)
			shard = shard_of(c, &t[0]);
		else if (shard_of(c, &t[n]) != shard)
			continue;
		n++;
	}
	store(c, &t[0], names[0], 10, T0);
	store(c, &t[1], names[1], 1000, T0 + 1);
	ck_assert_int_eq(probe(c, &t[0], T0 + 20000, NULL), CACHE_STALE);
	store(c, &t[2], names[2], 1000, T0 + 20000);
	ck_assert_int_eq(probe(c, &t[0], T0 + 20000, NULL), CACHE_MISS);
	ck_assert_int_eq(probe(c, &t[2], T0 + 20000, NULL), CACHE_FRESH);
	ck_assert_int_eq(probe(c, &t[1], T0 + 20000, NULL), CACHE_FRESH);

	/* A fresh hit does protect: t[1] was hit last, so t[2] goes. */
	store(c, &t[0], names[0], 1000, T0 + 20000);
	ck_assert_int_eq(probe(c, &t[2], T0 + 20000, NULL), CACHE_MISS);
	ck_assert_int_eq(probe(c, &t[1], T0 + 20000, NULL), CACHE_FRESH);
	cache_free(c);
}
END_TEST

/* Capacity 0 stores nothing; a small cache keeps one entry per shard. */
START_TEST(capacity_zero_and_small)
{
	struct cache *c = cache_new(0, 60);
	struct tkey t;
	struct answer *a = mk_ans("z.example", 300, T0);
	char name[32];
	size_t i;

	ck_assert_ptr_nonnull(c);
	mk_key(&t, "z.example", DNS_TYPE_A, DNS_CLASS_IN, false);
	ck_assert_int_eq(cache_store(c, &t.k, a), 0);
	ck_assert_uint_eq(atomic_load(&a->refs), 1);
	ck_assert_int_eq(probe(c, &t, T0, NULL), CACHE_MISS);
	ck_assert_uint_eq(cache_count(c), 0);
	answer_unref(a);
	cache_free(c);

	c = cache_new(1, 60);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%zu.example", i);
		mk_key(&t, name, DNS_TYPE_A, DNS_CLASS_IN, false);
		store(c, &t, name, 300, T0);
		ck_assert_uint_le(cache_count(c), CACHE_SHARDS);
	}
	ck_assert_int_eq(probe(c, &t, T0, NULL), CACHE_FRESH);
	cache_free(c);
	cache_free(NULL);
}
END_TEST

/* Names under blocked.test are dropped, the others stay. */
static bool keep_unblocked(const uint8_t *name, size_t len, void *arg)
{
	static const uint8_t zone[] = "\x07"
				      "blocked\x04test";
	size_t zlen = sizeof(zone);
	int *calls = arg;

	(*calls)++;
	return !(len >= zlen && memcmp(name + len - zlen, zone, zlen) == 0);
}

START_TEST(flush_if)
{
	struct cache *c = cache_new(1000, 60);
	struct tkey t;
	char name[64];
	int calls = 0;
	size_t i;

	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), i % 2 ? "h%zu.BLOCKED.test" : "h%zu.ok.test", i);
		mk_key(&t, name, DNS_TYPE_A, DNS_CLASS_IN, false);
		store(c, &t, name, 300, T0);
	}
	ck_assert_uint_eq(cache_count(c), 10);
	ck_assert_uint_eq(cache_flush_if(c, keep_unblocked, &calls), 5);
	ck_assert_int_eq(calls, 10);
	ck_assert_uint_eq(cache_count(c), 5);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), i % 2 ? "h%zu.blocked.test" : "h%zu.ok.test", i);
		mk_key(&t, name, DNS_TYPE_A, DNS_CLASS_IN, false);
		ck_assert_int_eq(probe(c, &t, T0, NULL), i % 2 ? CACHE_MISS : CACHE_FRESH);
	}
	ck_assert_uint_eq(cache_flush_if(c, keep_unblocked, &calls), 0);
	cache_free(c);
}
END_TEST

/*
 * The prefetch signal: once per stored answer, on a fresh hit of an entry
 * hit at least twice before, with less than a tenth of its lifetime left.
 */
START_TEST(prefetch)
{
	struct cache *c = cache_new(1000, 60);
	struct tkey hot, cold;
	bool pf = true;

	mk_key(&hot, "hot.example", DNS_TYPE_A, DNS_CLASS_IN, false);
	mk_key(&cold, "cold.example", DNS_TYPE_A, DNS_CLASS_IN, false);
	store(c, &hot, "hot.example", 100, T0);
	store(c, &cold, "cold.example", 100, T0);

	ck_assert_int_eq(probe(c, &hot, T0 + 1000, &pf), CACHE_FRESH);
	ck_assert(!pf);
	ck_assert_int_eq(probe(c, &hot, T0 + 2000, &pf), CACHE_FRESH);
	ck_assert(!pf);
	ck_assert_int_eq(probe(c, &hot, T0 + 90000, &pf), CACHE_FRESH); /* 10 s left: not less */
	ck_assert(!pf);
	ck_assert_int_eq(probe(c, &hot, T0 + 90001, &pf), CACHE_FRESH);
	ck_assert(pf);
	ck_assert_int_eq(probe(c, &hot, T0 + 95000, &pf), CACHE_FRESH);
	ck_assert(!pf);
	ck_assert_int_eq(probe(c, &hot, T0 + 99999, NULL), CACHE_FRESH);
	/* Stale hits never ask for a prefetch. */
	pf = true;
	ck_assert_int_eq(probe(c, &hot, T0 + 100000, &pf), CACHE_STALE);
	ck_assert(!pf);

	/* A cold entry near expiry: not until it has been hit twice. */
	ck_assert_int_eq(probe(c, &cold, T0 + 95000, &pf), CACHE_FRESH);
	ck_assert(!pf);
	ck_assert_int_eq(probe(c, &cold, T0 + 96000, &pf), CACHE_FRESH);
	ck_assert(!pf);
	ck_assert_int_eq(probe(c, &cold, T0 + 97000, &pf), CACHE_FRESH);
	ck_assert(pf);

	/* The refreshed answer keeps the entry hot and can be prefetched again. */
	store(c, &hot, "hot.example", 100, T0 + 100000);
	ck_assert_int_eq(probe(c, &hot, T0 + 191000, &pf), CACHE_FRESH);
	ck_assert(pf);
	ck_assert_int_eq(probe(c, &hot, T0 + 192000, &pf), CACHE_FRESH);
	ck_assert(!pf);

	/* A miss clears the flag too. */
	pf = true;
	mk_key(&cold, "none.example", DNS_TYPE_A, DNS_CLASS_IN, false);
	ck_assert_int_eq(probe(c, &cold, T0, &pf), CACHE_MISS);
	ck_assert(!pf);
	cache_free(c);
}
END_TEST

/* ------------------------------------------------------------ threads */

#define THREADS	  4
#define ITERS	  20000
#define NAMES	  600
#define THR_CAP	  256
#define THR_STALE 5

struct thr_arg {
	struct cache *c;
	unsigned seed;
	size_t hits;
};

static bool keep_most(const uint8_t *name, size_t len, void *arg)
{
	(void)arg;
	return len < 2 || name[1] != '7';
}

static void *thr_main(void *p)
{
	struct thr_arg *arg = p;
	char name[64];
	size_t i;

	for (i = 0; i < ITERS; i++) {
		unsigned r = (unsigned)rand_r(&arg->seed);
		uint64_t now = T0 + i * 10;
		struct tkey t;

		snprintf(name, sizeof(name), "%u.thread.example", r % NAMES);
		mk_key(&t, name, r & 0x10000 ? DNS_TYPE_AAAA : DNS_TYPE_A, DNS_CLASS_IN, false);
		if ((r >> 20) % 10 < 4) {
			store(arg->c, &t, name, 1 + (r >> 8) % 30, now);
		} else {
			struct answer *a = NULL;
			bool pf;

			if (cache_lookup(arg->c, &t.k, now, &a, &pf) != CACHE_MISS) {
				ck_assert_ptr_nonnull(a);
				ck_assert_uint_eq(a->qtype, DNS_TYPE_A);
				arg->hits++;
			}
			answer_unref(a);
		}
		if (i % 2000 == 0) {
			cache_flush_if(arg->c, keep_most, NULL);
			ck_assert_uint_le(cache_count(arg->c), THR_CAP);
		}
	}
	return NULL;
}

START_TEST(threads)
{
	struct cache *c = cache_new(THR_CAP, THR_STALE);
	pthread_t th[THREADS];
	struct thr_arg args[THREADS];
	size_t i, hits = 0;

	for (i = 0; i < THREADS; i++) {
		args[i] = (struct thr_arg){.c = c, .seed = (unsigned)(i * 7919 + 1)};
		ck_assert_int_eq(pthread_create(&th[i], NULL, thr_main, &args[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		hits += args[i].hits;
	}
	ck_assert_uint_gt(hits, 0);
	ck_assert_uint_gt(cache_count(c), 0);
	ck_assert_uint_le(cache_count(c), THR_CAP);
	cache_free(c);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, hit_miss_stale);
	tcase_add_test(tc, no_stale_window);
	tcase_add_test(tc, key_fields);
	tcase_add_test(tc, replacement);
	tcase_add_test(tc, lru_keeps_hot);
	tcase_add_test(tc, flood_does_not_evict_hot);
	tcase_add_test(tc, stale_not_promoted);
	tcase_add_test(tc, capacity_zero_and_small);
	tcase_add_test(tc, flush_if);
	tcase_add_test(tc, prefetch);
	tcase_add_test(tc, threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
