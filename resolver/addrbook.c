/*
 * The address book (see addrbook.h): a chained hash table of addresses,
 * each with a short array of (name, expiry) holders.
 */
#include "hash.h"
#include "addrbook.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ADDRBOOK_MIN_BUCKETS 256

struct holder {
	char *name;
	uint64_t expiry_ms;
};

struct entry {
	struct entry *next;
	uint64_t hash;
	uint64_t expiry_ms; /* the latest of the holders' */
	uint8_t family;
	uint8_t n_holders;
	uint8_t addr[16];
	struct holder holders[ADDRBOOK_NAMES_PER_ADDR];
};

struct addrbook {
	unsigned char key[crypto_shorthash_KEYBYTES];
	struct entry **buckets;
	size_t n_buckets; /* power of two */
	size_t count;
	size_t max;
};

struct addrbook *addrbook_new(size_t max_addrs)
{
	struct addrbook *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->buckets = calloc(ADDRBOOK_MIN_BUCKETS, sizeof(*b->buckets));
	if (b->buckets == NULL) {
		free(b);
		return NULL;
	}
	b->n_buckets = ADDRBOOK_MIN_BUCKETS;
	b->max = max_addrs;
#ifdef LOKI_FUZZING
	memset(b->key, 0x3c, sizeof(b->key));
#else
	randombytes_buf(b->key, sizeof(b->key));
#endif
	return b;
}

static void entry_free(struct entry *e)
{
	unsigned i;

	for (i = 0; i < e->n_holders; i++)
		free(e->holders[i].name);
	free(e);
}

void addrbook_free(struct addrbook *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n_buckets; i++) {
		struct entry *e = b->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	free(b->buckets);
	free(b);
}

static size_t addr_len(int family)
{
	return family == 4 ? 4 : 16;
}

static uint64_t addr_hash(const struct addrbook *b, int family, const uint8_t *addr)
{
	uint8_t in[17];

	in[0] = (uint8_t)family;
	memcpy(in + 1, addr, addr_len(family));
	return hash_siphash64(b->key, in, 1 + addr_len(family));
}

static struct entry **find(struct addrbook *b, uint64_t hash, int family, const uint8_t *addr)
{
	struct entry **p = &b->buckets[hash & (b->n_buckets - 1)];

	for (; *p != NULL; p = &(*p)->next)
		if ((*p)->hash == hash && (*p)->family == family &&
		    memcmp((*p)->addr, addr, addr_len(family)) == 0)
			break;
	return p;
}

/* Doubles the buckets when the load passes 1; failure only lengthens chains. */
static void maybe_grow(struct addrbook *b)
{
	struct entry **nb, *e, *next;
	size_t n, i;

	if (b->count <= b->n_buckets)
		return;
	n = b->n_buckets * 2;
	nb = calloc(n, sizeof(*nb));
	if (nb == NULL)
		return;
	for (i = 0; i < b->n_buckets; i++) {
		for (e = b->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(b->buckets);
	b->buckets = nb;
	b->n_buckets = n;
}

static void entry_recompute(struct entry *e)
{
	unsigned i;

	e->expiry_ms = 0;
	for (i = 0; i < e->n_holders; i++)
		if (e->holders[i].expiry_ms > e->expiry_ms)
			e->expiry_ms = e->holders[i].expiry_ms;
}

int addrbook_add(struct addrbook *b, const char *name, int family, const uint8_t *addr,
		 uint64_t expiry_ms)
{
	uint64_t hash;
	struct entry **p, *e;
	unsigned i, slot;
	size_t nlen;

	if ((family != 4 && family != 6) || name == NULL)
		return -EINVAL;
	nlen = strlen(name);
	if (nlen == 0 || nlen >= ADDRBOOK_NAME_MAX)
		return -EINVAL;
	hash = addr_hash(b, family, addr);
	p = find(b, hash, family, addr);
	e = *p;
	if (e == NULL) {
		if (b->count >= b->max)
			return -ENOSPC;
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		e->holders[0].name = strdup(name);
		if (e->holders[0].name == NULL) {
			free(e);
			return -ENOMEM;
		}
		e->holders[0].expiry_ms = expiry_ms;
		e->n_holders = 1;
		e->hash = hash;
		e->family = (uint8_t)family;
		memcpy(e->addr, addr, addr_len(family));
		e->expiry_ms = expiry_ms;
		*p = e;
		b->count++;
		maybe_grow(b);
		return 1;
	}
	for (i = 0; i < e->n_holders; i++)
		if (strcmp(e->holders[i].name, name) == 0)
			break;
	if (i == e->n_holders) {
		char *copy = strdup(name);

		if (copy == NULL)
			return -ENOMEM;
		if (e->n_holders < ADDRBOOK_NAMES_PER_ADDR) {
			slot = e->n_holders++;
		} else {
			/* Full: the holder that expires first gives way. */
			slot = 0;
			for (i = 1; i < e->n_holders; i++)
				if (e->holders[i].expiry_ms < e->holders[slot].expiry_ms)
					slot = i;
			free(e->holders[slot].name);
		}
		e->holders[slot].name = copy;
		e->holders[slot].expiry_ms = 0;
		i = slot;
	}
	if (expiry_ms > e->holders[i].expiry_ms)
		e->holders[i].expiry_ms = expiry_ms;
	if (expiry_ms <= e->expiry_ms)
		return 0;
	e->expiry_ms = expiry_ms;
	return 1;
}

void addrbook_foreach(const struct addrbook *b, uint64_t now_ms, addrbook_cb cb, void *arg)
{
	size_t i;

	for (i = 0; i < b->n_buckets; i++) {
		const struct entry *e;

		for (e = b->buckets[i]; e != NULL; e = e->next) {
			unsigned h, best = 0;

			if (e->expiry_ms <= now_ms)
				continue;
			for (h = 1; h < e->n_holders; h++)
				if (e->holders[h].expiry_ms > e->holders[best].expiry_ms)
					best = h;
			cb(arg, e->holders[best].name, e->family, e->addr, e->expiry_ms);
		}
	}
}

/* Removes holders for which drop() is true; returns how many remain. */
static unsigned entry_filter(struct entry *e, bool (*drop)(void *arg, const struct holder *h),
			     void *arg, char *last, size_t lastcap)
{
	unsigned i = 0;

	while (i < e->n_holders) {
		if (!drop(arg, &e->holders[i])) {
			i++;
			continue;
		}
		if (last != NULL) {
			strncpy(last, e->holders[i].name, lastcap - 1);
			last[lastcap - 1] = '\0';
		}
		free(e->holders[i].name);
		e->holders[i] = e->holders[--e->n_holders];
	}
	entry_recompute(e);
	return e->n_holders;
}

struct revoke_arg {
	bool (*keep)(void *arg, const char *name);
	void *keep_arg;
};

static bool drop_revoked(void *arg, const struct holder *h)
{
	struct revoke_arg *ra = arg;

	return !ra->keep(ra->keep_arg, h->name);
}

size_t addrbook_revoke(struct addrbook *b, bool (*keep)(void *arg, const char *name),
		       void *keep_arg, addrbook_cb on_del, void *del_arg)
{
	struct revoke_arg ra = {.keep = keep, .keep_arg = keep_arg};
	char last[ADDRBOOK_NAME_MAX];
	size_t i, removed = 0;

	for (i = 0; i < b->n_buckets; i++) {
		struct entry **p = &b->buckets[i], *e;

		while ((e = *p) != NULL) {
			last[0] = '\0';
			if (entry_filter(e, drop_revoked, &ra, last, sizeof(last)) > 0) {
				p = &e->next;
				continue;
			}
			*p = e->next;
			b->count--;
			removed++;
			if (on_del != NULL)
				on_del(del_arg, last, e->family, e->addr, 0);
			entry_free(e);
		}
	}
	return removed;
}

static bool drop_expired(void *arg, const struct holder *h)
{
	return h->expiry_ms <= *(const uint64_t *)arg;
}

size_t addrbook_expire(struct addrbook *b, uint64_t now_ms)
{
	size_t i, removed = 0;

	for (i = 0; i < b->n_buckets; i++) {
		struct entry **p = &b->buckets[i], *e;

		while ((e = *p) != NULL) {
			if (entry_filter(e, drop_expired, &now_ms, NULL, 0) > 0) {
				p = &e->next;
				continue;
			}
			*p = e->next;
			b->count--;
			removed++;
			entry_free(e);
		}
	}
	return removed;
}

size_t addrbook_count(const struct addrbook *b)
{
	return b->count;
}
