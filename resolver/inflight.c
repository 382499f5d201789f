/*
 * Coalescing table: a small chained hash table behind one mutex.
 */
#include "inflight.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define INFLIGHT_BUCKETS 1024 /* power of two */

struct inflight_entry {
	struct inflight_entry *next;
	uint64_t hash;
	uint64_t waiting; /* bit i: worker i has queries waiting */
	uint16_t qtype;
	uint16_t qclass;
	bool do_bit;
	uint8_t name_len;
	uint8_t name[];
};

struct inflight {
	pthread_mutex_t lock;
	size_t count;
	struct inflight_entry *buckets[INFLIGHT_BUCKETS];
};

struct inflight *inflight_new(void)
{
	struct inflight *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

void inflight_free(struct inflight *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < INFLIGHT_BUCKETS; i++) {
		struct inflight_entry *e = t->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

bool inflight_key_equal(const struct cache_key *a, const struct cache_key *b)
{
	return a->qtype == b->qtype && a->qclass == b->qclass && a->do_bit == b->do_bit &&
	       a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

static bool entry_matches(const struct inflight_entry *e, const struct cache_key *key,
			  uint64_t hash)
{
	struct cache_key k = {
		.name = e->name,
		.name_len = e->name_len,
		.qtype = e->qtype,
		.qclass = e->qclass,
		.do_bit = e->do_bit,
	};

	return e->hash == hash && inflight_key_equal(&k, key);
}

int inflight_join(struct inflight *t, const struct cache_key *key, uint64_t hash, unsigned worker)
{
	struct inflight_entry **slot = &t->buckets[hash & (INFLIGHT_BUCKETS - 1)], *e;
	int rc = 1;

	pthread_mutex_lock(&t->lock);
	for (e = *slot; e != NULL; e = e->next) {
		if (entry_matches(e, key, hash)) {
			e->waiting |= (uint64_t)1 << (worker % INFLIGHT_MAX_WORKERS);
			rc = 0;
			goto out;
		}
	}
	e = malloc(sizeof(*e) + key->name_len);
	if (e == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	e->hash = hash;
	e->waiting = 0;
	e->qtype = key->qtype;
	e->qclass = key->qclass;
	e->do_bit = key->do_bit;
	e->name_len = key->name_len;
	memcpy(e->name, key->name, key->name_len);
	e->next = *slot;
	*slot = e;
	t->count++;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

uint64_t inflight_done(struct inflight *t, const struct cache_key *key, uint64_t hash)
{
	struct inflight_entry **slot = &t->buckets[hash & (INFLIGHT_BUCKETS - 1)], *e;
	uint64_t mask = 0;

	pthread_mutex_lock(&t->lock);
	for (; (e = *slot) != NULL; slot = &e->next) {
		if (entry_matches(e, key, hash)) {
			*slot = e->next;
			mask = e->waiting;
			t->count--;
			free(e);
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return mask;
}

size_t inflight_count(struct inflight *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}
