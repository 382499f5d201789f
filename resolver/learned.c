/*
 * Learned CNAME targets (DESIGN.md, "Policies"): a bounded set of lower-case
 * wire-form names with an expiry time in milliseconds.
 *
 * Three arrays, all under one mutex:
 *
 *   entries  dense pool, ids 0 .. used-1; a removal moves the last entry
 *            into the hole, so the pool never fragments
 *   table    open addressing with linear probing, at most half full, of
 *            id + 1 (0: empty), keyed with SipHash-2-4 (crypto_shorthash)
 *            under a random key, since names come from upstream answers and
 *            probes from client queries
 *   heap     binary min-heap of ids ordered by expiry, so that eviction
 *            finds the entry that expires first in O(log n)
 *
 * A wildcard allowlist entry lets an upstream hand out a fresh CNAME target
 * with every answer, so a full table is a normal state here: every operation,
 * eviction included, stays O(log n) while the lock is held.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hash.h"
#include "dns.h"
#include "learned.h"
#include "wire.h"

#define LEARNED_MIN_CAP 16
#define LEARNED_NONE	UINT32_MAX

struct learned_entry {
	uint64_t hash;
	uint64_t expires_ms; /* the name is allowed while now < expires_ms */
	uint8_t *name;	     /* lower-case wire form, owned */
	uint32_t heap_pos;
	uint8_t len;
};

struct learned {
	pthread_mutex_t lock;
	/*
	 * The number of entries, expired ones included until they are swept.
	 * Written under the lock, read without it: a query for a name that is
	 * not allowed checks here first and skips the lock while nothing has
	 * been learned, which is the common case.
	 */
	atomic_size_t count;
	size_t used; /* the same number, for use under the lock */
	size_t max;
	size_t pool_cap; /* entries and heap have room for this many */
	struct learned_entry *entries;
	uint32_t *heap;
	uint32_t *table;
	size_t table_cap; /* 0 or a power of two */
	unsigned char key[crypto_shorthash_KEYBYTES];
};

struct learned *learned_new(size_t max_entries)
{
	struct learned *l;

	if (sodium_init() < 0)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	if (pthread_mutex_init(&l->lock, NULL) != 0) {
		free(l);
		return NULL;
	}
	atomic_init(&l->count, 0);
	/* Ids are 32-bit; no real table comes near that. */
	l->max = max_entries < LEARNED_NONE - 1 ? max_entries : LEARNED_NONE - 1;
#ifdef LOKI_FUZZING
	/* Fuzz runs must be reproducible (STYLE.md, point 12). */
	memset(l->key, 0xa5, sizeof(l->key));
#else
	randombytes_buf(l->key, sizeof(l->key));
#endif
	return l;
}

static void free_names(struct learned *l)
{
	size_t i;

	for (i = 0; i < l->used; i++)
		free(l->entries[i].name);
}

void learned_free(struct learned *l)
{
	if (l == NULL)
		return;
	free_names(l);
	free(l->entries);
	free(l->heap);
	free(l->table);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static void set_used(struct learned *l, size_t used)
{
	l->used = used;
	atomic_store_explicit(&l->count, used, memory_order_release);
}

static uint64_t name_hash(const struct learned *l, const uint8_t *name, size_t len)
{
	return hash_siphash64(l->key, name, len);
}

/* ------------------------------------------------------------ heap */

static bool earlier(const struct learned *l, uint32_t a, uint32_t b)
{
	return l->entries[a].expires_ms < l->entries[b].expires_ms;
}

static void heap_set(struct learned *l, size_t pos, uint32_t id)
{
	l->heap[pos] = id;
	l->entries[id].heap_pos = (uint32_t)pos;
}

static void sift_up(struct learned *l, size_t pos)
{
	uint32_t id = l->heap[pos];

	while (pos > 0) {
		size_t parent = (pos - 1) / 2;

		if (!earlier(l, id, l->heap[parent]))
			break;
		heap_set(l, pos, l->heap[parent]);
		pos = parent;
	}
	heap_set(l, pos, id);
}

/* n: the number of heap elements. */
static void sift_down(struct learned *l, size_t pos, size_t n)
{
	uint32_t id = l->heap[pos];

	for (;;) {
		size_t child = 2 * pos + 1;

		if (child >= n)
			break;
		if (child + 1 < n && earlier(l, l->heap[child + 1], l->heap[child]))
			child++;
		if (!earlier(l, l->heap[child], id))
			break;
		heap_set(l, pos, l->heap[child]);
		pos = child;
	}
	heap_set(l, pos, id);
}

/* ------------------------------------------------------------ table */

static size_t home(const struct learned *l, uint32_t id)
{
	return (size_t)l->entries[id].hash & (l->table_cap - 1);
}

static void table_place(struct learned *l, uint32_t id)
{
	size_t mask = l->table_cap - 1;
	size_t i;

	for (i = home(l, id); l->table[i] != 0; i = (i + 1) & mask)
		;
	l->table[i] = id + 1;
}

/* The table slot that holds id, which must be in the table. */
static size_t table_slot(const struct learned *l, uint32_t id)
{
	size_t mask = l->table_cap - 1;
	size_t i;

	for (i = home(l, id); l->table[i] != id + 1; i = (i + 1) & mask)
		;
	return i;
}

/*
 * Empties slot i and shifts the rest of its probe chain back, so that every
 * id stays reachable from its home slot without tombstones (Knuth, TAOCP
 * vol. 3, 6.4, Algorithm R).
 */
static void table_clear_slot(struct learned *l, size_t i)
{
	size_t mask = l->table_cap - 1;
	size_t j = i, h;

	for (;;) {
		j = (j + 1) & mask;
		if (l->table[j] == 0)
			break;
		h = home(l, l->table[j] - 1);
		/* The id at j may stay if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		l->table[i] = l->table[j];
		i = j;
	}
	l->table[i] = 0;
}

static uint32_t find(const struct learned *l, uint64_t hash, const uint8_t *name, size_t len)
{
	size_t mask, i;

	if (l->used == 0)
		return LEARNED_NONE;
	mask = l->table_cap - 1;
	for (i = (size_t)hash & mask; l->table[i] != 0; i = (i + 1) & mask) {
		const struct learned_entry *e = &l->entries[l->table[i] - 1];

		if (e->hash == hash && e->len == len && memcmp(e->name, name, len) == 0)
			return l->table[i] - 1;
	}
	return LEARNED_NONE;
}

static int table_grow(struct learned *l)
{
	size_t cap = l->table_cap == 0 ? 2 * LEARNED_MIN_CAP : l->table_cap * 2;
	uint32_t *table;
	size_t i;

	if (cap < l->table_cap || cap > SIZE_MAX / sizeof(*table))
		return -1;
	table = calloc(cap, sizeof(*table));
	if (table == NULL)
		return -1;
	free(l->table);
	l->table = table;
	l->table_cap = cap;
	for (i = 0; i < l->used; i++)
		table_place(l, (uint32_t)i);
	return 0;
}

static int pool_grow(struct learned *l)
{
	size_t cap = l->pool_cap == 0 ? LEARNED_MIN_CAP : l->pool_cap * 2;
	struct learned_entry *entries;
	uint32_t *heap;

	if (cap > l->max)
		cap = l->max;
	if (cap > SIZE_MAX / sizeof(*entries))
		return -1;
	entries = realloc(l->entries, cap * sizeof(*entries));
	if (entries == NULL)
		return -1;
	l->entries = entries;
	heap = realloc(l->heap, cap * sizeof(*heap));
	if (heap == NULL)
		return -1;
	l->heap = heap;
	l->pool_cap = cap;
	return 0;
}

/* ------------------------------------------------------------ entries */

/* Removes entry id from table, heap and pool. Called with the lock held. */
static void remove_entry(struct learned *l, uint32_t id)
{
	uint32_t last = (uint32_t)(l->used - 1);
	size_t pos = l->entries[id].heap_pos;

	table_clear_slot(l, table_slot(l, id));

	/* Fill the heap hole with the heap's last element, then restore order. */
	if (pos != last) {
		uint32_t moved = l->heap[last];

		heap_set(l, pos, moved);
		sift_up(l, pos);
		sift_down(l, l->entries[moved].heap_pos, last);
	}

	/* Keep the pool dense: the last entry takes the freed id. */
	free(l->entries[id].name);
	if (id != last) {
		l->table[table_slot(l, last)] = id + 1;
		l->entries[id] = l->entries[last];
		l->heap[l->entries[id].heap_pos] = id;
	}
	set_used(l, l->used - 1);
}

/* Makes room for one entry: drops expired entries, else the one that expires first. */
static void evict(struct learned *l, uint64_t now_ms)
{
	while (l->used > 0 && l->entries[l->heap[0]].expires_ms <= now_ms)
		remove_entry(l, l->heap[0]);
	if (l->used > 0 && l->used >= l->max)
		remove_entry(l, l->heap[0]);
}

void learned_add(struct learned *l, const uint8_t *name_lc, size_t len, uint32_t ttl,
		 uint64_t now_ms)
{
	uint8_t lc[DNS_NAME_MAX];
	uint64_t hash, expires;
	uint32_t id;
	uint8_t *copy;

	/* A zero TTL allows nothing beyond the answer that carried it. */
	if (l == NULL || l->max == 0 || name_lc == NULL || len == 0 || len > DNS_NAME_MAX ||
	    ttl == 0)
		return;
	/* Lower-cased again so that a caller's mixed-case name still matches. */
	wire_name_lower(lc, name_lc, len);
	hash = name_hash(l, lc, len);
	expires = now_ms + (uint64_t)ttl * 1000;

	pthread_mutex_lock(&l->lock);
	id = find(l, hash, lc, len);
	if (id != LEARNED_NONE) {
		/* A shorter TTL seen later never cuts an entry short. */
		if (expires > l->entries[id].expires_ms) {
			l->entries[id].expires_ms = expires;
			sift_down(l, l->entries[id].heap_pos, l->used);
		}
		goto out;
	}
	if (l->used >= l->max)
		evict(l, now_ms);
	if (l->used == l->pool_cap && pool_grow(l) != 0)
		goto out;
	if ((l->used + 1) * 2 > l->table_cap && table_grow(l) != 0)
		goto out;
	copy = malloc(len);
	if (copy == NULL)
		goto out;
	memcpy(copy, lc, len);
	id = (uint32_t)l->used;
	l->entries[id] = (struct learned_entry){
		.hash = hash,
		.expires_ms = expires,
		.name = copy,
		.len = (uint8_t)len,
	};
	table_place(l, id);
	heap_set(l, id, id);
	set_used(l, l->used + 1);
	sift_up(l, id);
out:
	pthread_mutex_unlock(&l->lock);
}

bool learned_contains(struct learned *l, const uint8_t *name_lc, size_t len, uint64_t now_ms)
{
	uint8_t lc[DNS_NAME_MAX];
	bool found = false;
	uint64_t hash;
	uint32_t id;

	if (l == NULL || name_lc == NULL || len == 0 || len > DNS_NAME_MAX)
		return false;
	/* Nothing learned: no lock, no hashing. */
	if (atomic_load_explicit(&l->count, memory_order_acquire) == 0)
		return false;
	wire_name_lower(lc, name_lc, len);
	hash = name_hash(l, lc, len);

	pthread_mutex_lock(&l->lock);
	id = find(l, hash, lc, len);
	if (id != LEARNED_NONE) {
		found = now_ms < l->entries[id].expires_ms;
		if (!found)
			remove_entry(l, id);
	}
	pthread_mutex_unlock(&l->lock);
	return found;
}

void learned_clear(struct learned *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	free_names(l);
	if (l->table_cap > 0)
		memset(l->table, 0, l->table_cap * sizeof(*l->table));
	set_used(l, 0);
	pthread_mutex_unlock(&l->lock);
}

size_t learned_count(struct learned *l)
{
	if (l == NULL)
		return 0;
	return atomic_load_explicit(&l->count, memory_order_acquire);
}
