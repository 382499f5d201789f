/*
 * The address book: every address the resolver has handed out and is still
 * live, with the names that brought it and when each stops holding it.
 * One address shared by several names (a CDN) is one entry whose expiry is
 * the latest of its names'. It decides what the stream publishes:
 *
 *   - an `add` when an address is new or its expiry moves later;
 *   - a `del` when a reload revokes names and no remaining name holds it.
 *
 * Plain data structure: not thread-safe (stream.c locks around it). Keys
 * are hashed with SipHash under a random key, since upstream answers choose
 * them.
 */
#ifndef LOKI_ADDRBOOK_H
#define LOKI_ADDRBOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADDRBOOK_NAME_MAX	254 /* text, without trailing dot, plus NUL */
#define ADDRBOOK_NAMES_PER_ADDR 8

struct addrbook;

/* max_addrs bounds the entries (new addresses beyond it are refused). */
struct addrbook *addrbook_new(size_t max_addrs);
void addrbook_free(struct addrbook *b);

/*
 * name (lower-case text, no trailing dot) handed out addr (4 or 16 bytes of
 * family 4 or 6) valid until expiry_ms. Returns 1 if the address is new or
 * its expiry moved later (publish an add), 0 if nothing changed for the
 * stream, -ENOSPC if the book is full, -ENOMEM, -EINVAL for a bad family or
 * name.
 */
int addrbook_add(struct addrbook *b, const char *name, int family, const uint8_t *addr,
		 uint64_t expiry_ms);

typedef void (*addrbook_cb)(void *arg, const char *name, int family, const uint8_t *addr,
			    uint64_t expiry_ms);

/* Calls cb for every address live at now_ms, with the name holding it
 * longest and the address's expiry. */
void addrbook_foreach(const struct addrbook *b, uint64_t now_ms, addrbook_cb cb, void *arg);

/*
 * Removes every name that keep() rejects. Each address left without a name
 * is removed, and on_del is called for it with the last name that held it.
 * Returns the number of addresses removed.
 */
size_t addrbook_revoke(struct addrbook *b, bool (*keep)(void *arg, const char *name),
		       void *keep_arg, addrbook_cb on_del, void *del_arg);

/* Drops names and addresses expired at now_ms (no del: the firewall's own
 * element timeouts expire them). Returns the number of addresses removed. */
size_t addrbook_expire(struct addrbook *b, uint64_t now_ms);

size_t addrbook_count(const struct addrbook *b);

#endif
