/*
 * Names learned from allowed answers: a CNAME target in an allowed answer is
 * itself allowed for that CNAME record's remaining TTL (DESIGN.md,
 * "Policies"), because forwarding resolvers in front of us (Unbound, Knot
 * Resolver, CoreDNS) ask for each chain target separately.
 *
 * Shared by all worker threads behind one mutex; the blocked path reads an
 * atomic entry count first and takes the lock only when the table is not
 * empty. Bounded: when full, expired entries are dropped, then the entry
 * that expires first. Keys are hashed with SipHash under a random key.
 */
#ifndef LOKI_LEARNED_H
#define LOKI_LEARNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct learned;

struct learned *learned_new(size_t max_entries);
void learned_free(struct learned *l);
/* name_lc: lower-case wire-form name. Extends an existing entry's expiry,
 * never shortens it. */
void learned_add(struct learned *l, const uint8_t *name_lc, size_t len, uint32_t ttl,
		 uint64_t now_ms);
bool learned_contains(struct learned *l, const uint8_t *name_lc, size_t len, uint64_t now_ms);
void learned_clear(struct learned *l);
size_t learned_count(struct learned *l);

#endif
