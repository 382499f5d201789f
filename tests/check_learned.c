/*
 * Unit tests for resolver/learned.c: learned CNAME targets, their expiry,
 * the size bound and eviction order.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "learned.h"
#include "wire.h"

struct name {
	uint8_t wire[DNS_NAME_MAX];
	size_t len;
};

static struct name nm(const char *text)
{
	struct name n;

	n.len = wire_name_from_text(text, n.wire);
	ck_assert_msg(n.len > 0, "bad test name %s", text);
	return n;
}

static struct name nmf(const char *fmt, int i)
{
	char text[128];

	snprintf(text, sizeof(text), fmt, i);
	return nm(text);
}

static void add(struct learned *l, const char *text, uint32_t ttl, uint64_t now)
{
	struct name n = nm(text);

	learned_add(l, n.wire, n.len, ttl, now);
}

static bool has(struct learned *l, const char *text, uint64_t now)
{
	struct name n = nm(text);

	return learned_contains(l, n.wire, n.len, now);
}

static struct learned *new_learned(size_t max)
{
	struct learned *l = learned_new(max);

	ck_assert_ptr_nonnull(l);
	return l;
}

START_TEST(test_empty)
{
	struct learned *l = new_learned(16);

	ck_assert_uint_eq(learned_count(l), 0);
	ck_assert(!has(l, "cdn.example", 0));
	ck_assert(!has(l, ".", 0));
	learned_clear(l);
	ck_assert_uint_eq(learned_count(l), 0);
	learned_free(l);
	learned_free(NULL);
	ck_assert_uint_eq(learned_count(NULL), 0);
	ck_assert(!learned_contains(NULL, (const uint8_t *)"", 1, 0));
}
END_TEST

START_TEST(test_add_and_expire)
{
	struct learned *l = new_learned(16);

	add(l, "edge.cdn.example", 10, 1000);
	ck_assert_uint_eq(learned_count(l), 1);
	ck_assert(has(l, "edge.cdn.example", 1000));
	ck_assert(has(l, "edge.cdn.example", 10999));
	/* Only the name itself: no parent, no child, no sibling. */
	ck_assert(!has(l, "cdn.example", 1000));
	ck_assert(!has(l, "x.edge.cdn.example", 1000));
	ck_assert(!has(l, "edge2.cdn.example", 1000));
	/* Expired at exactly now + ttl, and then dropped. */
	ck_assert(!has(l, "edge.cdn.example", 11000));
	ck_assert_uint_eq(learned_count(l), 0);
	ck_assert(!has(l, "edge.cdn.example", 1000));
	learned_free(l);
}
END_TEST

START_TEST(test_case_insensitive)
{
	struct learned *l = new_learned(16);

	add(l, "Edge.CDN.example.", 60, 0);
	ck_assert(has(l, "edge.cdn.example", 0));
	ck_assert(has(l, "EDGE.cdn.EXAMPLE", 0));
	add(l, "edge.cdn.example", 60, 0);
	ck_assert_uint_eq(learned_count(l), 1);
	learned_free(l);
}
END_TEST

START_TEST(test_extend_never_shorten)
{
	struct learned *l = new_learned(16);

	add(l, "a.example", 100, 0);
	add(l, "a.example", 10, 50000);
	ck_assert_uint_eq(learned_count(l), 1);
	/* The shorter TTL seen later does not cut the first short. */
	ck_assert(has(l, "a.example", 99999));
	ck_assert(!has(l, "a.example", 100000));
	add(l, "b.example", 100, 0);
	add(l, "b.example", 200, 50000);
	ck_assert(has(l, "b.example", 249999));
	ck_assert(!has(l, "b.example", 250000));
	learned_free(l);
}
END_TEST

START_TEST(test_zero_ttl_and_bad_args)
{
	struct learned *l = new_learned(16);
	uint8_t root = 0;

	add(l, "a.example", 0, 0);
	ck_assert_uint_eq(learned_count(l), 0);
	ck_assert(!has(l, "a.example", 0));
	learned_add(l, NULL, 5, 60, 0);
	learned_add(l, &root, 0, 60, 0);
	learned_add(l, &root, DNS_NAME_MAX + 1, 60, 0);
	learned_add(NULL, &root, 1, 60, 0);
	ck_assert_uint_eq(learned_count(l), 0);
	learned_free(l);

	/* A table bounded at zero learns nothing. */
	l = new_learned(0);
	add(l, "a.example", 60, 0);
	ck_assert_uint_eq(learned_count(l), 0);
	ck_assert(!has(l, "a.example", 0));
	learned_free(l);
}
END_TEST

/* When full, the entry that expires first goes. */
START_TEST(test_bound_evicts_earliest)
{
	struct learned *l = new_learned(8);
	struct name n;
	int i;

	/* TTLs 80, 70, ..., 10: n7 expires first, n0 last. */
	for (i = 0; i < 8; i++) {
		n = nmf("n%d.example", i);
		learned_add(l, n.wire, n.len, (uint32_t)(80 - 10 * i), 0);
	}
	ck_assert_uint_eq(learned_count(l), 8);
	add(l, "new.example", 5, 0);
	ck_assert_uint_eq(learned_count(l), 8);
	ck_assert(has(l, "new.example", 0));
	ck_assert(!has(l, "n7.example", 0));
	for (i = 0; i < 7; i++) {
		n = nmf("n%d.example", i);
		ck_assert_msg(learned_contains(l, n.wire, n.len, 0), "n%d lost", i);
	}
	/* Now new.example (5 s) is the earliest. */
	add(l, "newer.example", 60, 0);
	ck_assert(!has(l, "new.example", 0));
	ck_assert(has(l, "newer.example", 0));
	ck_assert(has(l, "n6.example", 0));
	ck_assert_uint_eq(learned_count(l), 8);
	learned_free(l);
}
END_TEST

/* When full, every expired entry goes first, and no live one. */
START_TEST(test_bound_drops_expired_first)
{
	struct learned *l = new_learned(8);
	struct name n;
	int i;

	for (i = 0; i < 8; i++) {
		n = nmf("n%d.example", i);
		/* Even ones live 10 s, odd ones 100 s. */
		learned_add(l, n.wire, n.len, i % 2 == 0 ? 10 : 100, 0);
	}
	add(l, "new.example", 5, 20000);
	ck_assert_uint_eq(learned_count(l), 5);
	for (i = 0; i < 8; i++) {
		n = nmf("n%d.example", i);
		ck_assert_msg(learned_contains(l, n.wire, n.len, 20000) == (i % 2 == 1), "n%d", i);
	}
	ck_assert(has(l, "new.example", 20000));
	learned_free(l);
}
END_TEST

/*
 * Many adds through a small bound, then many removals: every remaining entry
 * must stay reachable after entries around it in the table were removed.
 */
START_TEST(test_churn)
{
	struct learned *l = new_learned(1000);
	struct name n;
	int i;

	/* TTL grows with i, so the latest 1000 are the ones kept. */
	for (i = 0; i < 5000; i++) {
		n = nmf("host%d.churn.example", i);
		learned_add(l, n.wire, n.len, (uint32_t)(1000 + i), 0);
		ck_assert_uint_le(learned_count(l), 1000);
	}
	ck_assert_uint_eq(learned_count(l), 1000);
	for (i = 0; i < 4000; i++) {
		n = nmf("host%d.churn.example", i);
		ck_assert_msg(!learned_contains(l, n.wire, n.len, 0), "host%d kept", i);
	}
	for (i = 4000; i < 5000; i++) {
		n = nmf("host%d.churn.example", i);
		ck_assert_msg(learned_contains(l, n.wire, n.len, 0), "host%d lost", i);
	}
	/* Expire the first half by time; lookups drop them one by one. */
	for (i = 4000; i < 4500; i++) {
		n = nmf("host%d.churn.example", i);
		ck_assert(!learned_contains(l, n.wire, n.len, (uint64_t)(1000 + 4500) * 1000));
	}
	ck_assert_uint_eq(learned_count(l), 500);
	for (i = 4500; i < 5000; i++) {
		n = nmf("host%d.churn.example", i);
		ck_assert_msg(learned_contains(l, n.wire, n.len, 0), "host%d lost", i);
	}
	learned_free(l);
}
END_TEST

START_TEST(test_clear)
{
	struct learned *l = new_learned(64);
	struct name n;
	int i;

	for (i = 0; i < 40; i++) {
		n = nmf("c%d.example", i);
		learned_add(l, n.wire, n.len, 60, 0);
	}
	ck_assert_uint_eq(learned_count(l), 40);
	learned_clear(l);
	ck_assert_uint_eq(learned_count(l), 0);
	for (i = 0; i < 40; i++) {
		n = nmf("c%d.example", i);
		ck_assert(!learned_contains(l, n.wire, n.len, 0));
	}
	add(l, "again.example", 60, 0);
	ck_assert(has(l, "again.example", 0));
	ck_assert_uint_eq(learned_count(l), 1);
	learned_free(l);
}
END_TEST

/*
 * Random adds and lookups checked against a brute-force model of the same
 * rules: extend never shorten, expiry, and when full, drop the expired, then
 * the entry that expires first. Time advances 7 ms per step and TTLs are whole
 * seconds, so within 1000 steps no two expiry times are equal and the entry
 * that expires first is always unique.
 */
#define MODEL_NAMES 40
#define MODEL_MAX   16

struct model {
	uint64_t expires[MODEL_NAMES]; /* 0: absent */
};

static size_t model_count(const struct model *m)
{
	size_t i, n = 0;

	for (i = 0; i < MODEL_NAMES; i++)
		n += m->expires[i] != 0;
	return n;
}

static void model_add(struct model *m, int k, uint32_t ttl, uint64_t now)
{
	uint64_t exp = now + (uint64_t)ttl * 1000;
	int i, first;

	if (ttl == 0)
		return;
	if (m->expires[k] != 0) {
		if (exp > m->expires[k])
			m->expires[k] = exp;
		return;
	}
	if (model_count(m) >= MODEL_MAX) {
		for (i = 0; i < MODEL_NAMES; i++)
			if (m->expires[i] != 0 && m->expires[i] <= now)
				m->expires[i] = 0;
		if (model_count(m) >= MODEL_MAX) {
			first = -1;
			for (i = 0; i < MODEL_NAMES; i++)
				if (m->expires[i] != 0 &&
				    (first < 0 || m->expires[i] < m->expires[first]))
					first = i;
			m->expires[first] = 0;
		}
	}
	m->expires[k] = exp;
}

static bool model_contains(struct model *m, int k, uint64_t now)
{
	if (m->expires[k] == 0)
		return false;
	if (now < m->expires[k])
		return true;
	m->expires[k] = 0;
	return false;
}

START_TEST(test_against_model)
{
	struct learned *l = new_learned(MODEL_MAX);
	struct model m = {{0}};
	struct name names[MODEL_NAMES];
	unsigned seed = 12345u + (unsigned)_i;
	int step, k;

	for (k = 0; k < MODEL_NAMES; k++)
		names[k] = nmf("m%d.model.example", k);
	for (step = 0; step < 990; step++) {
		uint64_t now = (uint64_t)step * 7;
		int op = rand_r(&seed) % 3;

		k = rand_r(&seed) % MODEL_NAMES;
		if (op == 0) {
			bool want = model_contains(&m, k, now);

			ck_assert_msg(learned_contains(l, names[k].wire, names[k].len, now) == want,
				      "step %d: m%d", step, k);
		} else {
			uint32_t ttl = (uint32_t)(rand_r(&seed) % 6);

			model_add(&m, k, ttl, now);
			learned_add(l, names[k].wire, names[k].len, ttl, now);
		}
		ck_assert_uint_eq(learned_count(l), model_count(&m));
	}
	/* Finally every name, at the last instant. */
	for (k = 0; k < MODEL_NAMES; k++) {
		bool want = model_contains(&m, k, 990 * 7);

		ck_assert_msg(learned_contains(l, names[k].wire, names[k].len, 990 * 7) == want,
			      "m%d", k);
	}
	learned_free(l);
}
END_TEST

struct worker_arg {
	struct learned *l;
	int id;
};

static void *worker(void *data)
{
	const struct worker_arg *a = data;
	uint8_t wire[DNS_NAME_MAX];
	char text[64];
	size_t len;
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(text, sizeof(text), "t%d-%d.example", a->id, i % 300);
		len = wire_name_from_text(text, wire);
		learned_add(a->l, wire, len, 60, 0);
		if (!learned_contains(a->l, wire, len, 0))
			return (void *)1; /* a fresh entry of the latest TTL cannot be evicted */
	}
	return NULL;
}

/* Several threads adding and looking up at once; the bound holds. */
START_TEST(test_threads)
{
	struct learned *l = new_learned(4096);
	struct worker_arg args[4];
	pthread_t th[4];
	void *res;
	int i;

	for (i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){.l = l, .id = i};
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], &res), 0);
		ck_assert_ptr_null(res);
	}
	ck_assert_uint_eq(learned_count(l), 4 * 300);
	learned_free(l);
}
END_TEST

static Suite *learned_suite(void)
{
	Suite *s = suite_create("learned");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_add_and_expire);
	tcase_add_test(tc, test_case_insensitive);
	tcase_add_test(tc, test_extend_never_shorten);
	tcase_add_test(tc, test_zero_ttl_and_bad_args);
	tcase_add_test(tc, test_bound_evicts_earliest);
	tcase_add_test(tc, test_bound_drops_expired_first);
	tcase_add_test(tc, test_churn);
	tcase_add_loop_test(tc, test_against_model, 0, 20);
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_threads);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(learned_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
