/*
 * Unit tests for resolver/synth.c. Queries are built with ldns and parsed
 * with wire_parse_query; every synthesized answer is parsed back with
 * ldns_wire2pkt, so the tests check the wire format against an independent
 * parser.
 */
#include <check.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"

struct edns_opts {
	bool edns;
	bool dnssec_ok;
	uint8_t version;
};

/* Parses a query built by ldns into *q; returns the wire_parse result. */
static enum wire_parse mk_query(struct dns_query *q, const char *name, ldns_rr_type type,
				const struct edns_opts *e, uint16_t extra_flags)
{
	ldns_pkt *pkt =
		ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, LDNS_RD);
	uint8_t *wire = NULL;
	size_t len = 0;
	enum wire_parse rc;

	ck_assert_ptr_nonnull(pkt);
	ldns_pkt_set_id(pkt, 0xbeef);
	ldns_pkt_set_cd(pkt, (extra_flags & DNS_FLAG_CD) != 0);
	ldns_pkt_set_ad(pkt, true);
	if (e != NULL && e->edns) {
		ldns_pkt_set_edns_udp_size(pkt, 4096);
		ldns_pkt_set_edns_do(pkt, e->dnssec_ok);
		ldns_pkt_set_edns_version(pkt, e->version);
	}
	ck_assert_int_eq(ldns_pkt2wire(&wire, pkt, &len), LDNS_STATUS_OK);
	rc = wire_parse_query(wire, len, q);
	free(wire);
	ldns_pkt_free(pkt);
	return rc;
}

static ldns_pkt *parse(const uint8_t *b, size_t len)
{
	ldns_pkt *p = NULL;

	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(ldns_wire2pkt(&p, b, len), LDNS_STATUS_OK);
	return p;
}

/* ARCOUNT as written; ldns moves the OPT out of its additional section. */
static uint16_t raw_arcount(const uint8_t *b, size_t len)
{
	struct wire_cursor c;

	wire_cursor_init(&c, b, len);
	wire_seek(&c, 10);
	return wire_u16(&c);
}

/* Checks the header fields every synthesized answer shares. */
static void check_common(const ldns_pkt *p, bool cd)
{
	ck_assert_uint_eq(ldns_pkt_id(p), 0xbeef);
	ck_assert(ldns_pkt_qr(p));
	ck_assert(ldns_pkt_ra(p));
	ck_assert(ldns_pkt_rd(p));
	ck_assert(ldns_pkt_cd(p) == cd);
	ck_assert(!ldns_pkt_aa(p));
	ck_assert(!ldns_pkt_ad(p));
}

static void check_question(const ldns_pkt *p, const char *name, ldns_rr_type type)
{
	ldns_rr_list *qs = ldns_pkt_question(p);
	ldns_rdf *want = ldns_dname_new_frm_str(name);
	ldns_rr *rr;

	ck_assert_uint_eq(ldns_rr_list_rr_count(qs), 1);
	rr = ldns_rr_list_rr(qs, 0);
	/* ldns_dname_compare ignores case; compare the bytes for case too. */
	ck_assert_uint_eq(ldns_rdf_size(ldns_rr_owner(rr)), ldns_rdf_size(want));
	ck_assert_mem_eq(ldns_rdf_data(ldns_rr_owner(rr)), ldns_rdf_data(want),
			 ldns_rdf_size(want));
	ck_assert_int_eq(ldns_rr_get_type(rr), type);
	ck_assert_int_eq(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
	ldns_rdf_deep_free(want);
}

/*
 * Checks that the OPT's RDATA is exactly one EDE option (RFC 8914 section
 * 2) with the given info code and text, or empty when code < 0.
 */
static void check_ede(const ldns_pkt *p, int code, const char *text)
{
	ldns_rdf *d = ldns_pkt_edns_data(p);
	size_t tlen = text != NULL ? strlen(text) : 0;
	const uint8_t *b;

	if (code < 0) {
		ck_assert(d == NULL || ldns_rdf_size(d) == 0);
		return;
	}
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(ldns_rdf_size(d), 6 + tlen);
	b = ldns_rdf_data(d);
	ck_assert_uint_eq(b[0] << 8 | b[1], 15);
	ck_assert_uint_eq((size_t)(b[2] << 8 | b[3]), 2 + tlen);
	ck_assert_uint_eq(b[4] << 8 | b[5], (unsigned)code);
	if (tlen > 0)
		ck_assert_mem_eq(b + 6, text, tlen);
}

/* Checks that every shorter buffer fails cleanly (returns 0). */
static void check_caps(size_t (*fn)(const struct dns_query *, uint8_t *, size_t),
		       const struct dns_query *q, size_t len)
{
	uint8_t buf[1024];
	size_t cap;

	for (cap = 0; cap < len; cap++)
		ck_assert_uint_eq(fn(q, buf, cap), 0);
	ck_assert_uint_eq(fn(q, buf, len), len);
}

START_TEST(error_formerr_plain)
{
	struct dns_query q;
	uint8_t buf[512];
	size_t len;
	ldns_pkt *p;

	ck_assert_int_eq(mk_query(&q, "Api.OpenAI.com.", LDNS_RR_TYPE_A, NULL, DNS_FLAG_CD),
			 WIRE_PARSE_OK);
	len = synth_error(&q, DNS_RCODE_FORMERR, DNS_EDE_NONE, NULL, buf, sizeof(buf));
	p = parse(buf, len);
	check_common(p, true);
	check_question(p, "Api.OpenAI.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ck_assert_uint_eq(ldns_pkt_arcount(p), 0);
	ck_assert(!ldns_pkt_edns(p));
	ck_assert_uint_eq(len, 12 + 16 + 4);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(error_no_question)
{
	static const uint8_t pkt[] = {0xbe, 0xef, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
	struct dns_query q;
	uint8_t buf[512];
	size_t len;
	ldns_pkt *p;

	ck_assert_int_eq(wire_parse_query(pkt, sizeof(pkt), &q), WIRE_PARSE_FORMERR);
	len = synth_error(&q, DNS_RCODE_FORMERR, DNS_EDE_OTHER, "x", buf, sizeof(buf));
	ck_assert_uint_eq(len, 12);
	p = parse(buf, len);
	ck_assert_uint_eq(ldns_pkt_qdcount(p), 0);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	ck_assert(ldns_pkt_qr(p));
	ldns_pkt_free(p);
}
END_TEST

START_TEST(error_servfail_ede)
{
	const struct edns_opts e = {.edns = true, .dnssec_ok = true};
	struct dns_query q;
	uint8_t buf[512];
	size_t len;
	ldns_pkt *p;

	ck_assert_int_eq(mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_AAAA, &e, 0), WIRE_PARSE_OK);
	len = synth_error(&q, DNS_RCODE_SERVFAIL, DNS_EDE_NO_REACHABLE_AUTHORITY,
			  "no upstream answered", buf, sizeof(buf));
	p = parse(buf, len);
	check_common(p, false);
	check_question(p, "api.openai.com.", LDNS_RR_TYPE_AAAA);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
	ck_assert_uint_eq(raw_arcount(buf, len), 1);
	ck_assert_uint_eq(ldns_pkt_arcount(p), 0);
	ck_assert(ldns_pkt_edns(p));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), DNS_EDNS_SIZE);
	ck_assert(ldns_pkt_edns_do(p));
	ck_assert_uint_eq(ldns_pkt_edns_version(p), 0);
	ck_assert_uint_eq(ldns_pkt_edns_extended_rcode(p), 0);
	check_ede(p, DNS_EDE_NO_REACHABLE_AUTHORITY, "no upstream answered");
	ldns_pkt_free(p);
}
END_TEST

START_TEST(error_refused_notimp)
{
	const struct edns_opts e = {.edns = true};
	static const int rcodes[] = {DNS_RCODE_REFUSED, DNS_RCODE_NOTIMP};
	struct dns_query q;
	uint8_t buf[512];
	size_t len, i;
	ldns_pkt *p;

	ck_assert_int_eq(mk_query(&q, "a.example.", LDNS_RR_TYPE_A, &e, 0), WIRE_PARSE_OK);
	for (i = 0; i < 2; i++) {
		len = synth_error(&q, rcodes[i], DNS_EDE_PROHIBITED, NULL, buf, sizeof(buf));
		p = parse(buf, len);
		ck_assert_int_eq(ldns_pkt_get_rcode(p), rcodes[i]);
		ck_assert(!ldns_pkt_edns_do(p));
		check_ede(p, DNS_EDE_PROHIBITED, NULL);
		ldns_pkt_free(p);
	}
}
END_TEST

START_TEST(error_badvers)
{
	const struct edns_opts e = {.edns = true, .version = 1};
	struct dns_query q;
	uint8_t buf[512];
	size_t len;
	ldns_pkt *p;

	ck_assert_int_eq(mk_query(&q, "a.example.", LDNS_RR_TYPE_A, &e, 0), WIRE_PARSE_BADVERS);
	len = synth_error(&q, DNS_RCODE_BADVERS, DNS_EDE_NONE, NULL, buf, sizeof(buf));
	p = parse(buf, len);
	check_common(p, false);
	/* 16 = 0x010: header rcode 0, extended rcode 1 (RFC 6891 section 6.1.3). */
	ck_assert_int_eq(ldns_pkt_get_rcode(p), 0);
	ck_assert(ldns_pkt_edns(p));
	ck_assert_uint_eq(ldns_pkt_edns_extended_rcode(p), 1);
	ck_assert_uint_eq(ldns_pkt_edns_version(p), 0);
	check_ede(p, -1, NULL);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(error_notify_opcode)
{
	/* A NOTIFY gets NOTIMP with its opcode echoed (RFC 1035 section 4.1.1). */
	uint8_t in[64], buf[512];
	struct wire_writer w;
	struct dns_query q;
	size_t len;
	ldns_pkt *p;

	wire_writer_init(&w, in, sizeof(in));
	wire_put_header(&w, &(struct dns_header){.id = 0xbeef, .flags = 4 << 11, .qdcount = 1});
	wire_put_bytes(&w,
		       "\x01"
		       "a\x00",
		       3);
	wire_put_u16(&w, DNS_TYPE_SOA);
	wire_put_u16(&w, DNS_CLASS_IN);
	ck_assert_int_eq(wire_parse_query(in, w.pos, &q), WIRE_PARSE_NOTIMP);
	len = synth_error(&q, DNS_RCODE_NOTIMP, DNS_EDE_NONE, NULL, buf, sizeof(buf));
	p = parse(buf, len);
	ck_assert_int_eq(ldns_pkt_get_opcode(p), LDNS_PACKET_NOTIFY);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
	ck_assert(!ldns_pkt_rd(p));
	ldns_pkt_free(p);
}
END_TEST

static void check_soa(const ldns_pkt *p, const char *owner, uint32_t ttl)
{
	ldns_rr_list *auth = ldns_pkt_authority(p);
	ldns_rdf *want = ldns_dname_new_frm_str(owner);
	ldns_rdf *mname = ldns_dname_new_frm_str("loki-resolver.invalid.");
	ldns_rdf *rname = ldns_dname_new_frm_str("hostmaster.loki-resolver.invalid.");
	ldns_rr *soa;

	ck_assert_uint_eq(ldns_rr_list_rr_count(auth), 1);
	soa = ldns_rr_list_rr(auth, 0);
	ck_assert_int_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	ck_assert_int_eq(ldns_dname_compare(ldns_rr_owner(soa), want), 0);
	ck_assert_uint_eq(ldns_rr_ttl(soa), ttl);
	ck_assert_uint_eq(ldns_rr_rd_count(soa), 7);
	ck_assert_int_eq(ldns_dname_compare(ldns_rr_rdf(soa, 0), mname), 0);
	ck_assert_int_eq(ldns_dname_compare(ldns_rr_rdf(soa, 1), rname), 0);
	ck_assert_uint_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)), 1);
	ck_assert_uint_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 3)), 3600);
	ck_assert_uint_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 4)), 600);
	ck_assert_uint_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 5)), 86400);
	ck_assert_uint_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), ttl);
	ldns_rdf_deep_free(want);
	ldns_rdf_deep_free(mname);
	ldns_rdf_deep_free(rname);
}

START_TEST(blocked_plain)
{
	struct dns_query q;
	uint8_t buf[512];
	size_t len;
	ldns_pkt *p;

	ck_assert_int_eq(mk_query(&q, "Evil.Example.", LDNS_RR_TYPE_A, NULL, 0), WIRE_PARSE_OK);
	len = synth_blocked(&q, 30, DNS_EDE_BLOCKED, "blocked by policy", buf, sizeof(buf));
	p = parse(buf, len);
	check_common(p, false);
	check_question(p, "Evil.Example.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 1);
	ck_assert_uint_eq(ldns_pkt_arcount(p), 0);
	check_soa(p, "evil.example.", 30);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(blocked_edns)
{
	const struct edns_opts e = {.edns = true, .dnssec_ok = true};
	struct dns_query q;
	uint8_t buf[512];
	size_t len, cap;
	ldns_pkt *p;

	ck_assert_int_eq(mk_query(&q, "evil.example.", LDNS_RR_TYPE_HTTPS, &e, DNS_FLAG_CD),
			 WIRE_PARSE_OK);
	len = synth_blocked(&q, 7, DNS_EDE_BLOCKED, "blocked by policy", buf, sizeof(buf));
	p = parse(buf, len);
	check_common(p, true);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	check_soa(p, "evil.example.", 7);
	ck_assert_uint_eq(raw_arcount(buf, len), 1);
	ck_assert_uint_eq(ldns_pkt_arcount(p), 0);
	ck_assert(ldns_pkt_edns_do(p));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), DNS_EDNS_SIZE);
	check_ede(p, DNS_EDE_BLOCKED, "blocked by policy");
	ldns_pkt_free(p);
	for (cap = 0; cap < len; cap++)
		ck_assert_uint_eq(
			synth_blocked(&q, 7, DNS_EDE_BLOCKED, "blocked by policy", buf, cap), 0);
}
END_TEST

START_TEST(blocked_ede_filtered_no_text)
{
	const struct edns_opts e = {.edns = true};
	struct dns_query q;
	uint8_t buf[512];
	size_t len;
	ldns_pkt *p;

	ck_assert_int_eq(mk_query(&q, "a.example.", LDNS_RR_TYPE_AAAA, &e, 0), WIRE_PARSE_OK);
	len = synth_blocked(&q, 30, DNS_EDE_FILTERED, NULL, buf, sizeof(buf));
	p = parse(buf, len);
	check_ede(p, DNS_EDE_FILTERED, NULL);
	ck_assert(!ldns_pkt_edns_do(p));
	ldns_pkt_free(p);
	/* No EDE at all. */
	len = synth_blocked(&q, 30, DNS_EDE_NONE, "ignored", buf, sizeof(buf));
	p = parse(buf, len);
	check_ede(p, -1, NULL);
	ck_assert_uint_eq(raw_arcount(buf, len), 1);
	ck_assert_uint_eq(ldns_pkt_arcount(p), 0);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(blocked_ede_long_text)
{
	/* 150 two-byte characters (U+00E9): cut to 200 bytes at a character
	 * boundary. */
	const struct edns_opts e = {.edns = true};
	char text[301];
	struct dns_query q;
	uint8_t buf[1024];
	size_t len, i;
	ldns_pkt *p;
	ldns_rdf *d;

	for (i = 0; i < 150; i++)
		memcpy(text + 2 * i, "\xc3\xa9", 2);
	text[300] = '\0';
	ck_assert_int_eq(mk_query(&q, "a.example.", LDNS_RR_TYPE_A, &e, 0), WIRE_PARSE_OK);
	len = synth_blocked(&q, 30, DNS_EDE_BLOCKED, text, buf, sizeof(buf));
	p = parse(buf, len);
	d = ldns_pkt_edns_data(p);
	ck_assert_uint_eq(ldns_rdf_size(d), 6 + 200);
	ck_assert_mem_eq(ldns_rdf_data(d) + 6, text, 200);
	ldns_pkt_free(p);

	/* Shift by one byte: the cut would split a character, so 199 bytes. */
	text[0] = 'x';
	memmove(text + 1, text + 2, 299);
	len = synth_blocked(&q, 30, DNS_EDE_BLOCKED, text, buf, sizeof(buf));
	p = parse(buf, len);
	d = ldns_pkt_edns_data(p);
	ck_assert_uint_eq(ldns_rdf_size(d), 6 + 199);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(blocked_no_question)
{
	static const uint8_t pkt[] = {0xbe, 0xef, 0x01, 0x00, 0, 2, 0, 0, 0, 0, 0, 0};
	struct dns_query q;
	uint8_t buf[512];
	size_t len;
	ldns_pkt *p;

	ck_assert_int_eq(wire_parse_query(pkt, sizeof(pkt), &q), WIRE_PARSE_FORMERR);
	len = synth_blocked(&q, 30, DNS_EDE_BLOCKED, "x", buf, sizeof(buf));
	ck_assert_uint_eq(len, 12);
	p = parse(buf, len);
	ck_assert_uint_eq(ldns_pkt_qdcount(p), 0);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
}
END_TEST

static size_t any_30(const struct dns_query *q, uint8_t *out, size_t cap)
{
	return synth_any(q, 30, out, cap);
}

START_TEST(any_hinfo)
{
	const struct edns_opts e = {.edns = true, .dnssec_ok = true};
	struct dns_query q;
	uint8_t buf[512];
	size_t len;
	ldns_pkt *p;
	ldns_rr *rr;
	ldns_rdf *owner = ldns_dname_new_frm_str("api.openai.com.");

	ck_assert_int_eq(mk_query(&q, "API.openai.com.", LDNS_RR_TYPE_ANY, &e, 0), WIRE_PARSE_OK);
	len = synth_any(&q, 30, buf, sizeof(buf));
	p = parse(buf, len);
	check_common(p, false);
	check_question(p, "API.openai.com.", LDNS_RR_TYPE_ANY);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ck_assert_uint_eq(raw_arcount(buf, len), 1);
	ck_assert_uint_eq(ldns_pkt_arcount(p), 0);
	rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	ck_assert_int_eq(ldns_rr_get_type(rr), LDNS_RR_TYPE_HINFO);
	ck_assert_int_eq(ldns_dname_compare(ldns_rr_owner(rr), owner), 0);
	ck_assert_uint_eq(ldns_rr_ttl(rr), 30);
	ck_assert_uint_eq(ldns_rr_rd_count(rr), 2);
	ck_assert_uint_eq(ldns_rdf_size(ldns_rr_rdf(rr, 0)), 8);
	ck_assert_mem_eq(ldns_rdf_data(ldns_rr_rdf(rr, 0)), "\x07RFC8482", 8);
	ck_assert_uint_eq(ldns_rdf_size(ldns_rr_rdf(rr, 1)), 1);
	ck_assert_uint_eq(ldns_rdf_data(ldns_rr_rdf(rr, 1))[0], 0);
	ck_assert(ldns_pkt_edns_do(p));
	check_ede(p, -1, NULL);
	ldns_pkt_free(p);
	ldns_rdf_deep_free(owner);
	check_caps(any_30, &q, len);
}
END_TEST

START_TEST(truncated_answer)
{
	const struct edns_opts e = {.edns = true};
	struct dns_query q;
	uint8_t buf[512];
	size_t len;
	ldns_pkt *p;

	ck_assert_int_eq(mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_TXT, &e, DNS_FLAG_CD),
			 WIRE_PARSE_OK);
	len = synth_truncated(&q, buf, sizeof(buf));
	p = parse(buf, len);
	check_common(p, true);
	check_question(p, "api.openai.com.", LDNS_RR_TYPE_TXT);
	ck_assert(ldns_pkt_tc(p));
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ck_assert_uint_eq(raw_arcount(buf, len), 1);
	ck_assert_uint_eq(ldns_pkt_arcount(p), 0);
	ck_assert_uint_eq(len, 12 + 20 + 11);
	ldns_pkt_free(p);
	check_caps(synth_truncated, &q, len);
}
END_TEST

START_TEST(put_opt_counts)
{
	/* synth_put_opt adds to an ARCOUNT already there, and does nothing
	 * without EDNS. */
	const struct edns_opts e = {.edns = true};
	struct dns_query q;
	struct wire_writer w;
	uint8_t buf[128];

	ck_assert_int_eq(mk_query(&q, "a.example.", LDNS_RR_TYPE_A, &e, 0), WIRE_PARSE_OK);
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_header(&w, &(struct dns_header){.arcount = 2});
	synth_put_opt(&w, &q, 0, DNS_EDE_NONE, NULL);
	ck_assert(!w.err);
	ck_assert_uint_eq(w.pos, 12 + 11);
	ck_assert_mem_eq(buf + 10, "\x00\x03", 2);
	ck_assert_mem_eq(buf + 12, "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00", 11);

	q.edns = false;
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_header(&w, &(struct dns_header){.arcount = 0});
	synth_put_opt(&w, &q, 1, DNS_EDE_BLOCKED, "x");
	ck_assert_uint_eq(w.pos, 12);
	ck_assert_mem_eq(buf + 10, "\x00\x00", 2);
}
END_TEST

/*
 * The COOKIE option (RFC 7873 section 4) the server prepared in cookie_out
 * comes first in the OPT, before the EDE option, with exactly those bytes;
 * with cookie_out_len 0 there is none.
 */
START_TEST(put_opt_cookie)
{
	const struct edns_opts e = {.edns = true};
	const char *text = "blocked by policy";
	size_t tlen = strlen(text);
	struct dns_query q;
	uint8_t buf[512];
	size_t len, cap, i;
	const uint8_t *b;
	ldns_pkt *p;
	ldns_rdf *d;

	ck_assert_int_eq(mk_query(&q, "evil.example.", LDNS_RR_TYPE_A, &e, 0), WIRE_PARSE_OK);
	ck_assert_uint_eq(q.cookie_out_len, 0);
	for (i = 0; i < sizeof(q.cookie_out); i++)
		q.cookie_out[i] = (uint8_t)(0xa0 + i);
	q.cookie_out_len = sizeof(q.cookie_out);

	len = synth_blocked(&q, 30, DNS_EDE_BLOCKED, text, buf, sizeof(buf));
	p = parse(buf, len);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(raw_arcount(buf, len), 1);
	d = ldns_pkt_edns_data(p);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(ldns_rdf_size(d), 4 + 24 + 6 + tlen);
	b = ldns_rdf_data(d);
	ck_assert_uint_eq(b[0] << 8 | b[1], 10);
	ck_assert_uint_eq(b[2] << 8 | b[3], 24);
	ck_assert_mem_eq(b + 4, q.cookie_out, 24);
	ck_assert_uint_eq(b[28] << 8 | b[29], 15);
	ck_assert_uint_eq((size_t)(b[30] << 8 | b[31]), 2 + tlen);
	ck_assert_uint_eq(b[32] << 8 | b[33], DNS_EDE_BLOCKED);
	ck_assert_mem_eq(b + 34, text, tlen);
	ldns_pkt_free(p);
	for (cap = 0; cap < len; cap++)
		ck_assert_uint_eq(synth_blocked(&q, 30, DNS_EDE_BLOCKED, text, buf, cap), 0);

	/* A client-only length (8 bytes) is echoed as given, without EDE. */
	q.cookie_out_len = 8;
	len = synth_error(&q, DNS_RCODE_SERVFAIL, DNS_EDE_NONE, NULL, buf, sizeof(buf));
	p = parse(buf, len);
	d = ldns_pkt_edns_data(p);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(ldns_rdf_size(d), 4 + 8);
	ck_assert_mem_eq(ldns_rdf_data(d), "\x00\x0a\x00\x08", 4);
	ck_assert_mem_eq(ldns_rdf_data(d) + 4, q.cookie_out, 8);
	ldns_pkt_free(p);

	/* No cookie to echo: the OPT holds the EDE option alone. */
	q.cookie_out_len = 0;
	len = synth_blocked(&q, 30, DNS_EDE_BLOCKED, text, buf, sizeof(buf));
	p = parse(buf, len);
	check_ede(p, DNS_EDE_BLOCKED, text);
	ldns_pkt_free(p);
	len = synth_truncated(&q, buf, sizeof(buf));
	p = parse(buf, len);
	check_ede(p, -1, NULL);
	ldns_pkt_free(p);

	/* Without EDNS there is no OPT, so no cookie either. */
	q.cookie_out_len = sizeof(q.cookie_out);
	q.edns = false;
	len = synth_truncated(&q, buf, sizeof(buf));
	ck_assert_uint_eq(raw_arcount(buf, len), 0);
	p = parse(buf, len);
	ck_assert(!ldns_pkt_edns(p));
	ldns_pkt_free(p);
}
END_TEST

static Suite *synth_suite(void)
{
	Suite *s = suite_create("synth");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, error_formerr_plain);
	tcase_add_test(tc, error_no_question);
	tcase_add_test(tc, error_servfail_ede);
	tcase_add_test(tc, error_refused_notimp);
	tcase_add_test(tc, error_badvers);
	tcase_add_test(tc, error_notify_opcode);
	tcase_add_test(tc, blocked_plain);
	tcase_add_test(tc, blocked_edns);
	tcase_add_test(tc, blocked_ede_filtered_no_text);
	tcase_add_test(tc, blocked_ede_long_text);
	tcase_add_test(tc, blocked_no_question);
	tcase_add_test(tc, any_hinfo);
	tcase_add_test(tc, truncated_answer);
	tcase_add_test(tc, put_opt_counts);
	tcase_add_test(tc, put_opt_cookie);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(synth_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
