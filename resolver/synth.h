/*
 * Answers the resolver makes up itself: errors, blocked names, RFC 8482 ANY,
 * truncation. All write into a caller-supplied buffer (no allocation: the
 * blocked path must not touch the heap) and return the message length, or 0
 * if it does not fit in cap.
 *
 * Every answer copies the client's ID, opcode, RD and CD bits, sets QR and
 * RA, echoes the question when q->qname_len > 0, and ends with an OPT record
 * (advertising DNS_EDNS_SIZE, DO copied from the query) when the query had
 * EDNS. Records we synthesize are owned by the query name, written as a
 * compression pointer to the question (offset 12).
 */
#ifndef LOKI_SYNTH_H
#define LOKI_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* FORMERR, SERVFAIL, NOTIMP, REFUSED or BADVERS (extended rcode in the OPT).
 * ede < 0 for none; ede_text may be NULL. */
size_t synth_error(const struct dns_query *q, int rcode, int ede, const char *ede_text,
		   uint8_t *out, size_t cap);

/*
 * NXDOMAIN for a blocked name: authority holds one SOA owned by the query
 * name (MNAME loki-resolver.invalid., minimum and TTL = ttl) so downstream
 * caches keep the negative answer ttl seconds (RFC 2308 section 5). With
 * EDNS, the OPT carries an Extended DNS Error (ede, e.g. DNS_EDE_BLOCKED)
 * with ede_text as its EXTRA-TEXT.
 */
size_t synth_blocked(const struct dns_query *q, uint32_t ttl, int ede, const char *ede_text,
		     uint8_t *out, size_t cap);

/* RFC 8482 section 4.2: ANY is answered with one synthesized HINFO
 * "RFC8482" "" at the query name, with the given TTL. */
size_t synth_any(const struct dns_query *q, uint32_t ttl, uint8_t *out, size_t cap);

/* Header (TC set, rcode NOERROR) + question + OPT: the UDP answer when the
 * real one does not fit the client's limit. */
size_t synth_truncated(const struct dns_query *q, uint8_t *out, size_t cap);

/* Appends an OPT record for q (nothing if !q->edns) and counts it in
 * ARCOUNT at offset 10. ext_rcode is the upper 8 bits of a 12-bit rcode. */
void synth_put_opt(struct wire_writer *w, const struct dns_query *q, uint8_t ext_rcode, int ede,
		   const char *ede_text);

#endif
