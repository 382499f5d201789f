/*
 * Scrubbing of an upstream answer before it reaches a client or the cache
 * (DESIGN.md "Policies", RFC 1034 section 3.6.2 for CNAME chains):
 *
 *  1. The header must be a response (QR) to a standard query, and the
 *     question must equal the one we asked (name case-insensitively, type,
 *     class); otherwise the answer is not ours and is discarded.
 *  2. Of the answer section only the CNAME chain that starts at the query
 *     name (at most SCRUB_MAX_CNAMES links, no loops) and the records of the
 *     query type owned by the chain's last name are kept. Everything else
 *     (unrelated names, DNAME, RRSIG, NS, additional records) is dropped.
 *     The authority section keeps only an SOA, and only for a negative
 *     answer (NXDOMAIN, or NODATA at the end of the chain).
 *  3. A and AAAA records are removed when the rebinding guard is on and they
 *     point into loopback, RFC 1918, link-local, CGNAT 100.64/10, 0/8, ULA
 *     fc00::/7, ::1, fe80::/10, or when the metadata block is on and they
 *     point into 169.254.0.0/16 or at fd00:ec2::254.
 *  4. If that leaves no address where there were some, the client gets
 *     NXDOMAIN + SOA (blocked_ttl) + EDE 17 (Filtered) instead.
 *  5. Kept SVCB and HTTPS records (RFC 9460) contribute the addresses of
 *     their ipv4hint and ipv6hint (SvcParamKeys 4 and 6) as A and AAAA
 *     records do. Addresses the filters of point 3 remove are taken out of
 *     the hint; a hint left empty is taken out of the record. The record
 *     itself stays, and point 4 does not apply to it (its client can still
 *     resolve the TargetName).
 *
 * The client's answer is written fresh: the client's ID, RD and CD bits, its
 * question exactly as it sent it (case preserved), kept records with names
 * uncompressed (rdata names of CNAME/NS/PTR/MX/SOA and the SVCB/HTTPS
 * TargetName decompressed, other rdata copied as is), and our own OPT when
 * the client sent EDNS. Nothing here allocates.
 *
 * Details of the rules above:
 *  - A header or question too short to read is SCRUB_MISMATCH (it cannot
 *    be matched); an upstream OPT with a non-zero extended rcode is
 *    SCRUB_UPSTREAM_FAIL; bytes after the last record are ignored.
 *  - Every record of every section must parse (owner, RDLENGTH, and the
 *    RDATA of A, AAAA, CNAME, NS, PTR, MX, SOA, SVCB and HTTPS), or the
 *    answer is SCRUB_MALFORMED, even if the bad record would have been
 *    dropped. SVCB/HTTPS: SvcParamKeys strictly increasing, every value
 *    within RDLENGTH, ipv4hint/ipv6hint a non-empty list of 4-/16-byte
 *    addresses (RFC 9460 sections 2.2 and 7.3).
 *  - A loop or the link limit ends the chain at a name that still owns a
 *    CNAME; nothing else is taken from that name (RFC 2181 section 10.1).
 *  - With NXDOMAIN only the chain and the SOA are kept (RFC 6604).
 *  - The negative-answer SOA must be owned by the chain's end or one of its
 *    ancestors; the first such SOA is kept.
 *  - Addresses beyond SCRUB_MAX_ADDRS are dropped from the answer too, so
 *    the client never gets an address that was not published. For the same
 *    reason hints of AliasMode records (SvcPriority 0), which clients must
 *    ignore (RFC 9460 section 2.4.2) and which are not published, are taken
 *    out. A hint address repeated by several records is published once.
 *  - A ServiceMode record whose "mandatory" key lists a hint that was taken
 *    out entirely is dropped, as it would be malformed (RFC 9460 section 8).
 *  - res->filtered is set only for removed A/AAAA records: hints taken out
 *    never turn the answer into NXDOMAIN and never add EDE 17.
 */
#ifndef LOKI_SCRUB_H
#define LOKI_SCRUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "wire.h"

#define SCRUB_MAX_ADDRS	 64
#define SCRUB_MAX_CNAMES 16

struct scrub_opts {
	bool rebinding_guard;
	bool block_metadata;
	uint32_t blocked_ttl;
};

enum scrub_status {
	SCRUB_OK = 0,	     /* out holds the client's answer */
	SCRUB_MISMATCH,	     /* not an answer to our question: ignore it, keep waiting */
	SCRUB_MALFORMED,     /* an answer to us but unparsable: treat as upstream failure */
	SCRUB_UPSTREAM_FAIL, /* rcode SERVFAIL, REFUSED, NOTIMP, ...: try the next upstream */
	SCRUB_TRUNCATED,     /* TC set: retry over TCP */
};

struct scrub_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
	uint32_t ttl;
	bool hint; /* from an SVCB/HTTPS ipv4hint/ipv6hint, not an A/AAAA record */
};

struct scrub_cname {
	uint8_t name[DNS_NAME_MAX]; /* a chain target, lower-case wire form */
	uint8_t len;
	uint32_t ttl;
};

struct scrub_result {
	enum scrub_status status;
	uint8_t rcode;	  /* of the client's answer */
	bool filtered;	  /* addresses were removed (and the answer is NXDOMAIN+EDE 17
			   * if none remained) */
	uint32_t min_ttl; /* smallest TTL of the records kept (or SOA minimum when
			   * negative); UINT32_MAX if nothing was kept */
	size_t n_addrs;	  /* A/AAAA and hint addresses kept, for publishing */
	struct scrub_addr addrs[SCRUB_MAX_ADDRS];
	size_t n_cnames; /* chain targets, in order */
	struct scrub_cname cnames[SCRUB_MAX_CNAMES];
};

/*
 * Scrubs the upstream answer ans (anslen bytes) to query q. On SCRUB_OK the
 * client answer is in out and *outlen is set (0 if it did not fit in cap or
 * in 65535 bytes: the caller then answers SERVFAIL, and res holds no
 * addresses or CNAMEs). On any other status *outlen is 0 and res holds
 * nothing. The caller has checked the upstream's address and the message ID.
 */
enum scrub_status scrub_answer(const uint8_t *ans, size_t anslen, const struct dns_query *q,
			       const struct scrub_opts *o, uint8_t *out, size_t cap, size_t *outlen,
			       struct scrub_result *res);

/* The address filters of point 3, exposed for tests and the stream. */
bool scrub_addr_rebinding(int family, const uint8_t *addr);
bool scrub_addr_metadata(int family, const uint8_t *addr);

#endif
