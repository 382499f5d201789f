/*
 * A forwarded answer in client-neutral form, as the cache keeps it and as
 * coalesced queries share it: header (ID 0, QR|RA, rcode), the question in
 * lower case, answer and authority records, no OPT. Immutable once built and
 * reference-counted (atomically), so one answer can be rendered by several
 * threads at once.
 *
 * Rendering for a client (answer_render) copies the message once and
 * patches it in place, never re-encoding it:
 *   - the client's ID, RD and CD bits;
 *   - the question name bytes with the client's case (same length);
 *   - every record TTL: stored TTL minus the seconds since it was stored
 *     (RFC 1035 section 3.2.1: a cache hands out the remaining TTL), or
 *     ANSWER_STALE_TTL when served stale (RFC 8767 section 4);
 *   - an OPT record when the client sent EDNS (synth_put_opt), carrying EDE
 *     17 (Filtered) if the answer was built by the filters, or EDE 3 (Stale
 *     Answer) when served stale.
 */
#ifndef LOKI_ANSWER_H
#define LOKI_ANSWER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "scrub.h"
#include "wire.h"

#define ANSWER_STALE_TTL 30  /* RFC 8767 section 4: TTL of a stale answer */
#define ANSWER_MAX_TTLS	 512 /* records per answer whose TTL is patched */

struct answer {
	atomic_uint refs;
	uint64_t stored_ms; /* monotonic milliseconds when built */
	uint32_t ttl;	    /* seconds the answer is fresh: the smallest record TTL */
	uint16_t len;	    /* bytes of msg */
	uint16_t n_ttls;    /* TTL fields in msg */
	uint8_t rcode;
	int8_t ede; /* DNS_EDE_NONE, or DNS_EDE_FILTERED */
	uint8_t qname_len;
	uint16_t qtype;
	size_t n_addrs; /* addresses handed out with this answer (for the stream) */
	struct scrub_addr *addrs;
	uint16_t *ttl_off; /* offsets of the n_ttls TTL fields in msg */
	uint8_t *msg;
	/* ttl_off, addrs and msg point into this one allocation. */
};

/*
 * Builds an answer from a client-neutral message (as scrub_answer writes it
 * for a query with ID 0, lower-case name and no EDNS): finds every record's
 * TTL field, clamps each TTL to [min_ttl, max_ttl], and takes the addresses
 * from res. The fresh lifetime is the smallest clamped TTL (for a negative
 * answer, the SOA's min(TTL, MINIMUM) per RFC 2308 section 5: answer_new
 * lowers the authority SOA's stored TTL to its MINIMUM field). Returns NULL on allocation failure
 * or a malformed message. The new answer has one reference.
 */
struct answer *answer_new(const uint8_t *msg, size_t len, const struct scrub_result *res,
			  uint32_t min_ttl, uint32_t max_ttl, uint64_t now_ms);
void answer_ref(struct answer *a);
void answer_unref(struct answer *a); /* frees at zero; NULL is fine */

/* Seconds of freshness left at now_ms (0 when expired). */
uint32_t answer_remaining(const struct answer *a, uint64_t now_ms);
bool answer_expired(const struct answer *a, uint64_t now_ms);

/*
 * Writes the answer for client query q into out. Returns the length, or 0
 * if it does not fit cap. stale selects ANSWER_STALE_TTL and EDE 3.
 */
size_t answer_render(const struct answer *a, const struct dns_query *q, uint64_t now_ms, bool stale,
		     uint8_t *out, size_t cap);

#endif
