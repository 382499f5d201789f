/*
 * The answer cache, shared by every worker thread.
 *
 * Key: (lower-case query name, type, class, DO bit). Hashing uses libsodium's
 * SipHash-2-4 (crypto_shorthash) under a key drawn at random per cache, so a
 * client cannot choose names that collide (STYLE.md point 12). The table is
 * split in CACHE_SHARDS shards by hash, each with its own lock, LRU list and
 * a share of the capacity, so threads rarely wait on one another.
 *
 * Capacity: at most `capacity` entries in all (at least one per shard);
 * storing into a full shard evicts by segmented LRU: entries never hit since
 * they were stored go first, least recent first, so a flood of one-off names
 * cannot push out the names that are asked again and again. Entries stay after expiry for up to
 * `stale_window_s` (RFC 8767 serve-stale) and are then dropped when met or evicted.
 *
 * Values are struct answer references: a lookup returns a new reference that
 * the caller renders outside the lock and then drops with answer_unref.
 */
#ifndef LOKI_CACHE_H
#define LOKI_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "answer.h"

#define CACHE_SHARDS 16

struct cache;

struct cache_key {
	const uint8_t *name; /* lower-case wire form */
	uint8_t name_len;
	uint16_t qtype;
	uint16_t qclass;
	bool do_bit;
};

enum cache_result {
	CACHE_MISS = 0,
	CACHE_FRESH,
	CACHE_STALE, /* expired, within the stale window: serve only if upstreams fail */
};

/* capacity 0 gives a cache that stores nothing. Returns NULL on ENOMEM. */
struct cache *cache_new(size_t capacity, uint32_t stale_window_s);
void cache_free(struct cache *c);

/*
 * Looks key up at now_ms. On CACHE_FRESH or CACHE_STALE *out gets a new
 * reference. *prefetch (may be NULL) is set true once per entry, the first
 * time a fresh hit finds it hot (hit at least twice before) with less than a
 * tenth of its lifetime left: the caller then refreshes it in the background
 * (as Unbound's prefetch does), so hot names never see a miss.
 */
enum cache_result cache_lookup(struct cache *c, const struct cache_key *key, uint64_t now_ms,
			       struct answer **out, bool *prefetch);

/* Stores a (takes its own reference; replaces an older entry for key). */
int cache_store(struct cache *c, const struct cache_key *key, struct answer *a);

/* Removes every entry whose name keep() rejects (for reload). Returns the
 * number removed. keep is called under a shard lock: it must not call back
 * into the cache. */
size_t cache_flush_if(struct cache *c, bool (*keep)(const uint8_t *name, size_t len, void *arg),
		      void *arg);

size_t cache_count(struct cache *c);

/* The hash both the cache and the coalescing table use for a key. */
uint64_t cache_key_hash(const struct cache *c, const struct cache_key *key);

#endif
