/*
 * Name policy: which query names are answered. A policy is built once
 * (config, zones, LOKI_ALLOWED_HOSTS) and then never changes; it is shared
 * read-only by every worker thread, so policy_check takes no lock.
 *
 * Names are kept as lower-case wire-form names in two hash sets keyed with
 * libsodium's SipHash (crypto_shorthash) under a random key per process:
 * "exact" names and "wildcard" suffixes (from "*.example.com", which matches
 * names strictly below example.com). A lookup hashes the query name, then
 * each of its parent suffixes: cost grows with the label count of the query,
 * never with the size of the allowlist.
 */
#ifndef LOKI_POLICY_H
#define LOKI_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum policy_mode {
	POLICY_UNRESTRICTED = 0,
	POLICY_AI_ONLY,
	POLICY_NONE,
};

enum policy_verdict {
	VERDICT_ALLOW = 0, /* forward it */
	VERDICT_BLOCK,	   /* not on the allowlist (ai-only), or policy none */
	VERDICT_METADATA,  /* a cloud metadata name and the metadata block is on */
	VERDICT_DENY,	   /* an explicit deny entry (RPZ "CNAME .") */
};

struct policy;

/* Returns NULL on allocation failure. */
struct policy *policy_new(enum policy_mode mode, bool block_metadata);
void policy_free(struct policy *p);

/* Parses "name", "name.", "*.suffix" (case-insensitive) and adds it to the
 * allowlist. Returns 0, -EINVAL for a malformed name, -ENOMEM. */
int policy_allow_text(struct policy *p, const char *name);
/* Adds a wire-form name (any case). wildcard: match names below it only. */
int policy_allow_wire(struct policy *p, const uint8_t *name, size_t len, bool wildcard);
/* An explicit deny entry: blocked under every mode, even unrestricted. */
int policy_deny_wire(struct policy *p, const uint8_t *name, size_t len, bool wildcard);

/*
 * The verdict for a lower-case wire-form query name with the given label
 * count. Order: metadata names (if the block is on) > deny entries > mode
 * (none blocks all, unrestricted allows all, ai-only allows only exact or
 * wildcard matches). Allocates nothing.
 */
enum policy_verdict policy_check(const struct policy *p, const uint8_t *name_lc, size_t len,
				 uint8_t labels);

/* True if name is on the allowlist itself (exact or wildcard), whatever the mode. */
bool policy_listed(const struct policy *p, const uint8_t *name_lc, size_t len, uint8_t labels);

enum policy_mode policy_mode(const struct policy *p);
bool policy_blocks_metadata(const struct policy *p);
size_t policy_count(const struct policy *p); /* allowlist entries */

/* "unrestricted", "ai-only", "none" <-> enum; returns -1 for unknown text. */
int policy_mode_parse(const char *text);
const char *policy_mode_name(enum policy_mode mode);

#endif
