/*
 * DNS protocol constants shared by every module (RFC 1035, 6891, 8914).
 */
#ifndef LOKI_DNS_H
#define LOKI_DNS_H

#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_NAME_MAX   255 /* wire length, RFC 1035 section 2.3.4 */
#define DNS_LABEL_MAX  63
#define DNS_LABELS_MAX 127
#define DNS_UDP_MIN    512  /* largest UDP answer for a client without EDNS */
#define DNS_EDNS_SIZE  1232 /* what we advertise (DNS flag day 2020) */
#define DNS_TCP_MAX    65535
#define DNS_PTR_MAX    32 /* compression pointers followed per name */

/* Header flag bits, in the 16-bit flags word (RFC 1035 section 4.1.1). */
#define DNS_FLAG_QR	  0x8000
#define DNS_FLAG_AA	  0x0400
#define DNS_FLAG_TC	  0x0200
#define DNS_FLAG_RD	  0x0100
#define DNS_FLAG_RA	  0x0080
#define DNS_FLAG_AD	  0x0020
#define DNS_FLAG_CD	  0x0010
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags)  ((flags)&0xf)

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_BADVERS = 16, /* extended: upper 8 bits go into the OPT TTL */
};

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_HINFO = 13,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_DNAME = 39,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_RRSIG = 46,
	DNS_TYPE_SVCB = 64,
	DNS_TYPE_HTTPS = 65,
	DNS_TYPE_IXFR = 251,
	DNS_TYPE_AXFR = 252,
	DNS_TYPE_ANY = 255,
};

#define DNS_CLASS_IN 1

#define DNS_EDNS_DO 0x8000 /* DO bit in the OPT TTL's low 16 bits */

enum dns_edns_option {
	DNS_EDNS_OPT_COOKIE = 10,
	DNS_EDNS_OPT_EDE = 15,
};

/* Extended DNS Error info codes (RFC 8914 section 4). */
enum dns_ede {
	DNS_EDE_NONE = -1,
	DNS_EDE_OTHER = 0,
	DNS_EDE_STALE = 3,
	DNS_EDE_PROHIBITED = 18,
	DNS_EDE_BLOCKED = 15,
	DNS_EDE_FILTERED = 17,
	DNS_EDE_NO_REACHABLE_AUTHORITY = 22,
};

#endif
