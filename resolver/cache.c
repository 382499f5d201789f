/*
 * The answer cache (see cache.h).
 *
 * Each of the CACHE_SHARDS shards is a chained hash table with two
 * intrusive LRU lists, under its own mutex:
 *
 *     buckets[hash & (n_buckets - 1)] -> entry -> entry -> NULL   (hnext)
 *
 *     probation: head (most recent) <-> entry <-> ... <-> tail (evicted first)
 *     protected: head (most recent) <-> entry <-> ... <-> tail
 *
 * Eviction is segmented LRU: a new entry starts in the probation list and
 * moves to the protected list on its first fresh hit; the protected list
 * holds at most four fifths of the shard, its least recent entry going back
 * to probation when it overflows, and victims come from the probation tail
 * first. A flood of names asked once (a scan, or a client making up random
 * names) therefore only churns the probation list, and hot names stay.
 *
 * The shard is chosen by bits 32 and up of the hash and the bucket by its low
 * bits, so that the entries of one shard spread over all of its buckets. The
 * bucket array starts small and doubles while there are more entries than
 * buckets, up to the shard's capacity, so a large configured cache costs
 * nothing until it fills.
 *
 * An entry is one allocation: its links, the key's fields and the key's name
 * inline (a flexible array member of name_len bytes, not a 255-byte buffer),
 * plus a reference to the immutable answer. Answers are rendered by the
 * caller outside the lock.
 */
#include "hash.h"
#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wire.h"

#define CACHE_MIN_BUCKETS 64
#define CACHE_SHARD_SHIFT 32

struct cache_entry {
	struct cache_entry *hnext; /* bucket chain */
	struct cache_entry *prev;  /* LRU: towards the head (more recent) */
	struct cache_entry *next;  /* LRU: towards the tail (less recent) */
	struct answer *a;	   /* one reference, owned */
	uint64_t hash;
	uint32_t hits; /* fresh hits, saturating */
	uint16_t qtype;
	uint16_t qclass;
	uint8_t name_len;
	bool do_bit;
	bool prefetch_done; /* the prefetch signal went out for this answer */
	bool hot;	    /* in the protected list */
	uint8_t name[];	    /* lower-case wire form */
};

struct cache_lru {
	struct cache_entry *head;
	struct cache_entry *tail;
	size_t count;
};

struct cache_shard {
	pthread_mutex_t lock;
	struct cache_entry **buckets;
	size_t n_buckets;   /* 0 or a power of two */
	size_t max_buckets; /* the power of two the table grows to at most */
	size_t count;
	size_t cap;
	size_t protected_cap;
	struct cache_lru lists[2]; /* [0] probation, [1] protected */
};

struct cache {
	unsigned char key[crypto_shorthash_KEYBYTES];
	uint64_t stale_window_ms;
	struct cache_shard shards[CACHE_SHARDS];
};

uint64_t cache_key_hash(const struct cache *c, const struct cache_key *key)
{
	/* name | qtype | qclass | DO, the name lower-cased so that the hash
	 * agrees with the case-insensitive comparison (RFC 4343). Key names
	 * are lower case already (worker_cache_key), so mostly this copies. */
	uint8_t buf[DNS_NAME_MAX + 5];
	struct wire_writer w;

	if (wire_name_has_upper(key->name, key->name_len))
		wire_name_lower(buf, key->name, key->name_len);
	else
		memcpy(buf, key->name, key->name_len);
	wire_writer_init(&w, buf + key->name_len, 5);
	wire_put_u16(&w, key->qtype);
	wire_put_u16(&w, key->qclass);
	wire_put_u8(&w, key->do_bit ? 1 : 0);
	return hash_siphash64(c->key, buf, (size_t)key->name_len + w.pos);
}

static struct cache_shard *cache_shard_of(struct cache *c, uint64_t hash)
{
	return &c->shards[(hash >> CACHE_SHARD_SHIFT) % CACHE_SHARDS];
}

static size_t cache_pow2_at_least(size_t n)
{
	size_t p = 1;

	while (p < n && p < (SIZE_MAX >> 1) + 1)
		p <<= 1;
	return p;
}

struct cache *cache_new(size_t capacity, uint32_t stale_window_s)
{
	struct cache *c = NULL;
	size_t i, share, extra;

	if (sodium_init() < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
#ifdef LOKI_FUZZING
	/* Fuzz runs must be reproducible (STYLE.md, point 12). */
	memset(c->key, 0x5a, sizeof(c->key));
#else
	randombytes_buf(c->key, sizeof(c->key));
#endif
	c->stale_window_ms = (uint64_t)stale_window_s * 1000;

	for (i = 0; i < CACHE_SHARDS; i++) {
		if (pthread_mutex_init(&c->shards[i].lock, NULL) != 0) {
			while (i-- > 0)
				pthread_mutex_destroy(&c->shards[i].lock);
			free(c);
			return NULL;
		}
	}
	if (capacity == 0)
		return c;

	/*
	 * Capacity is split evenly; the first capacity % CACHE_SHARDS shards
	 * take one more. A cache smaller than CACHE_SHARDS still gives every
	 * shard one entry, as otherwise the names of an empty shard could
	 * never be cached: such a cache holds up to CACHE_SHARDS entries.
	 */
	share = capacity / CACHE_SHARDS;
	extra = capacity % CACHE_SHARDS;
	for (i = 0; i < CACHE_SHARDS; i++) {
		struct cache_shard *s = &c->shards[i];

		s->cap = share + (i < extra ? 1 : 0);
		if (s->cap == 0)
			s->cap = 1;
		s->protected_cap = s->cap - (s->cap / 5 > 1 ? s->cap / 5 : 1);
		s->max_buckets = cache_pow2_at_least(s->cap);
		s->n_buckets =
			s->max_buckets < CACHE_MIN_BUCKETS ? s->max_buckets : CACHE_MIN_BUCKETS;
		s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
		if (s->buckets == NULL) {
			cache_free(c);
			return NULL;
		}
	}
	return c;
}

static void cache_entry_free(struct cache_entry *e)
{
	if (e == NULL)
		return;
	answer_unref(e->a);
	free(e);
}

void cache_free(struct cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_SHARDS; i++) {
		struct cache_shard *s = &c->shards[i];
		struct cache_entry *e, *next;
		int l;

		for (l = 0; l < 2; l++) {
			for (e = s->lists[l].head; e != NULL; e = next) {
				next = e->next;
				cache_entry_free(e);
			}
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	sodium_memzero(c->key, sizeof(c->key));
	free(c);
}

static bool cache_entry_is(const struct cache_entry *e, uint64_t hash, const struct cache_key *key)
{
	return e->hash == hash && e->qtype == key->qtype && e->qclass == key->qclass &&
	       e->do_bit == key->do_bit &&
	       wire_name_equal(e->name, e->name_len, key->name, key->name_len);
}

/* The slot that points at the entry for key (or at the NULL ending its
 * chain), so that removal needs no second walk. Caller holds the lock. */
static struct cache_entry **cache_slot(struct cache_shard *s, uint64_t hash,
				       const struct cache_key *key)
{
	struct cache_entry **p = &s->buckets[hash & (s->n_buckets - 1)];

	while (*p != NULL && !cache_entry_is(*p, hash, key))
		p = &(*p)->hnext;
	return p;
}

static void cache_lru_unlink(struct cache_shard *s, struct cache_entry *e)
{
	struct cache_lru *l = &s->lists[e->hot];

	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
	l->count--;
}

/* Puts e at the head of the list `hot` selects. */
static void cache_lru_push_front(struct cache_shard *s, struct cache_entry *e, bool hot)
{
	struct cache_lru *l = &s->lists[hot];

	e->hot = hot;
	e->prev = NULL;
	e->next = l->head;
	if (l->head != NULL)
		l->head->prev = e;
	else
		l->tail = e;
	l->head = e;
	l->count++;
}

/* A fresh hit: promote to (the head of) the protected list, demoting its
 * least recent entry to probation when it is full. */
static void cache_lru_touch(struct cache_shard *s, struct cache_entry *e)
{
	if (e->hot && s->lists[1].head == e)
		return;
	cache_lru_unlink(s, e);
	if (s->protected_cap == 0) {
		cache_lru_push_front(s, e, false);
		return;
	}
	cache_lru_push_front(s, e, true);
	if (s->lists[1].count > s->protected_cap) {
		struct cache_entry *old = s->lists[1].tail;

		cache_lru_unlink(s, old);
		cache_lru_push_front(s, old, false);
	}
}

/* The eviction victim: probation's least recent entry, else protected's. */
static struct cache_entry *cache_lru_victim(struct cache_shard *s)
{
	return s->lists[0].tail != NULL ? s->lists[0].tail : s->lists[1].tail;
}

/* Takes e out of its bucket chain and the LRU list; the caller frees it
 * (preferably after dropping the lock). */
static void cache_detach(struct cache_shard *s, struct cache_entry *e)
{
	struct cache_entry **p = &s->buckets[e->hash & (s->n_buckets - 1)];

	while (*p != NULL && *p != e)
		p = &(*p)->hnext;
	if (*p == e)
		*p = e->hnext;
	e->hnext = NULL;
	cache_lru_unlink(s, e);
	s->count--;
}

/*
 * Doubles the bucket array while there are more entries than buckets (a
 * load factor of at most 1 keeps chains short). Failing to grow is not an
 * error: the chains just get longer.
 */
static void cache_maybe_grow(struct cache_shard *s)
{
	struct cache_entry **nb, *e, *next;
	size_t n, i;

	if (s->count <= s->n_buckets || s->n_buckets >= s->max_buckets)
		return;
	n = s->n_buckets * 2;
	nb = calloc(n, sizeof(*nb));
	if (nb == NULL)
		return;
	for (i = 0; i < s->n_buckets; i++) {
		for (e = s->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->n_buckets = n;
}

/* Milliseconds at which a's fresh lifetime ends. */
static uint64_t cache_expiry_ms(const struct answer *a)
{
	return a->stored_ms + (uint64_t)a->ttl * 1000;
}

/*
 * The prefetch rule of cache.h: once per stored answer, on a fresh hit of
 * an entry hit at least twice before, with less than a tenth of its
 * lifetime left.
 */
static bool cache_wants_prefetch(struct cache_entry *e, uint64_t now_ms)
{
	uint64_t life_ms = (uint64_t)e->a->ttl * 1000;
	uint64_t left_ms = cache_expiry_ms(e->a) - now_ms;

	if (e->prefetch_done || e->hits < 2 || left_ms * 10 >= life_ms)
		return false;
	e->prefetch_done = true;
	return true;
}

enum cache_result cache_lookup(struct cache *c, const struct cache_key *key, uint64_t now_ms,
			       struct answer **out, bool *prefetch)
{
	uint64_t hash = cache_key_hash(c, key);
	struct cache_shard *s = cache_shard_of(c, hash);
	struct cache_entry **p, *e, *dead = NULL;
	enum cache_result r = CACHE_MISS;

	*out = NULL;
	if (prefetch != NULL)
		*prefetch = false;
	if (s->cap == 0)
		return CACHE_MISS;

	pthread_mutex_lock(&s->lock);
	p = cache_slot(s, hash, key);
	e = *p;
	if (e == NULL)
		goto out;
	if (!answer_expired(e->a, now_ms)) {
		bool pf = cache_wants_prefetch(e, now_ms);

		if (prefetch != NULL)
			*prefetch = pf;
		if (e->hits < UINT32_MAX)
			e->hits++;
		cache_lru_touch(s, e);
		r = CACHE_FRESH;
	} else if (now_ms < cache_expiry_ms(e->a) + c->stale_window_ms) {
		/* RFC 8767 section 4: kept for serving stale if the upstreams
		 * fail. A stale entry is not made more recent: only fresh use
		 * protects an entry from eviction. */
		r = CACHE_STALE;
	} else {
		/* Beyond the stale window: of no use to anyone any more. */
		dead = e;
		cache_detach(s, e);
		goto out;
	}
	answer_ref(e->a);
	*out = e->a;
out:
	pthread_mutex_unlock(&s->lock);
	cache_entry_free(dead);
	return r;
}

int cache_store(struct cache *c, const struct cache_key *key, struct answer *a)
{
	uint64_t hash;
	struct cache_shard *s;
	struct cache_entry **p, *e = NULL, *old;
	struct answer *old_a = NULL;
	struct cache_entry *evicted = NULL;

	if (a == NULL || key == NULL || key->name == NULL)
		return -EINVAL;
	hash = cache_key_hash(c, key);
	s = cache_shard_of(c, hash);
	if (s->cap == 0)
		return 0;

	/* Allocated before the lock is taken, and freed again if the key turns
	 * out to be present: allocation stays outside the critical section. */
	e = malloc(sizeof(*e) + key->name_len);
	if (e == NULL)
		return -ENOMEM;
	e->hnext = e->prev = e->next = NULL;
	e->hash = hash;
	e->hits = 0;
	e->qtype = key->qtype;
	e->qclass = key->qclass;
	e->name_len = key->name_len;
	e->do_bit = key->do_bit;
	e->prefetch_done = false;
	wire_name_lower(e->name, key->name, key->name_len);
	answer_ref(a);
	e->a = a;

	pthread_mutex_lock(&s->lock);
	p = cache_slot(s, hash, key);
	old = *p;
	if (old != NULL) {
		/* Replacement (a refresh): the entry keeps its hits, so a hot
		 * name stays hot, and may be prefetched again. */
		old_a = old->a;
		old->a = e->a;
		e->a = NULL;
		old->prefetch_done = false;
		cache_lru_unlink(s, old);
		cache_lru_push_front(s, old, old->hot);
		pthread_mutex_unlock(&s->lock);
		free(e);
		answer_unref(old_a);
		return 0;
	}
	if (s->count >= s->cap && cache_lru_victim(s) != NULL) {
		evicted = cache_lru_victim(s);
		cache_detach(s, evicted);
		/* The slot may have been the evicted entry's hnext. */
		p = cache_slot(s, hash, key);
	}
	*p = e;
	cache_lru_push_front(s, e, false);
	s->count++;
	cache_maybe_grow(s);
	pthread_mutex_unlock(&s->lock);
	cache_entry_free(evicted);
	return 0;
}

size_t cache_flush_if(struct cache *c, bool (*keep)(const uint8_t *name, size_t len, void *arg),
		      void *arg)
{
	size_t i, removed = 0;

	for (i = 0; i < CACHE_SHARDS; i++) {
		struct cache_shard *s = &c->shards[i];
		struct cache_entry *e, *next;
		int l;

		pthread_mutex_lock(&s->lock);
		for (l = 0; l < 2; l++) {
			for (e = s->lists[l].head; e != NULL; e = next) {
				next = e->next;
				if (keep(e->name, e->name_len, arg))
					continue;
				cache_detach(s, e);
				cache_entry_free(e);
				removed++;
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
	return removed;
}

size_t cache_count(struct cache *c)
{
	size_t i, n = 0;

	for (i = 0; i < CACHE_SHARDS; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		n += c->shards[i].count;
		pthread_mutex_unlock(&c->shards[i].lock);
	}
	return n;
}
