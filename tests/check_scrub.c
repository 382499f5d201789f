/*
 * Unit tests for resolver/scrub.c. Upstream answers are built with ldns
 * (ldns_pkt2wire compresses names) or, where they must be malformed or
 * compressed in a particular way, by hand through wire_writer. Every
 * scrubbed answer is parsed back with ldns_wire2pkt.
 */
#include <arpa/inet.h>
#include <check.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "scrub.h"

#define BUF_MAX 65535

static uint8_t ans[BUF_MAX], out[BUF_MAX];
static size_t outlen;
static struct scrub_result res;
static const struct scrub_opts opts_on = {
	.rebinding_guard = true, .block_metadata = true, .blocked_ttl = 30};
static const struct scrub_opts opts_off = {.blocked_ttl = 30};

/* ------------------------------------------------------------ helpers */

static void mk_query(struct dns_query *q, const char *name, ldns_rr_type type, bool edns,
		     bool dnssec_ok)
{
	ldns_pkt *pkt =
		ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, LDNS_RD);
	uint8_t *wire = NULL;
	size_t len = 0;

	ck_assert_ptr_nonnull(pkt);
	ldns_pkt_set_id(pkt, 0xc11e);
	ldns_pkt_set_cd(pkt, true);
	if (edns) {
		ldns_pkt_set_edns_udp_size(pkt, 1232);
		ldns_pkt_set_edns_do(pkt, dnssec_ok);
	}
	ck_assert_int_eq(ldns_pkt2wire(&wire, pkt, &len), LDNS_STATUS_OK);
	ck_assert_int_eq(wire_parse_query(wire, len, q), WIRE_PARSE_OK);
	free(wire);
	ldns_pkt_free(pkt);
}

static void push_all(ldns_pkt *pkt, ldns_pkt_section sec, const char *const *rrs)
{
	ldns_rr *rr;

	for (; rrs != NULL && *rrs != NULL; rrs++) {
		rr = NULL;
		ck_assert_msg(ldns_rr_new_frm_str(&rr, *rrs, 0, NULL, NULL) == LDNS_STATUS_OK, "%s",
			      *rrs);
		ck_assert(ldns_pkt_push_rr(pkt, sec, rr));
	}
}

/* An upstream answer (QR, AA, AD, RA set, as an authoritative upstream with
 * DNSSEC would) in ans[]; returns its length. */
static size_t mk_answer_edns(const char *qname, ldns_rr_type qtype, ldns_pkt_rcode rcode,
			     const char *const *an, const char *const *ns, const char *const *ar,
			     uint8_t ext_rcode)
{
	ldns_pkt *pkt =
		ldns_pkt_query_new(ldns_dname_new_frm_str(qname), qtype, LDNS_RR_CLASS_IN, LDNS_RD);
	uint8_t *wire = NULL;
	size_t len = 0;

	ck_assert_ptr_nonnull(pkt);
	ldns_pkt_set_id(pkt, 0x4242);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_aa(pkt, true);
	ldns_pkt_set_ad(pkt, true);
	ldns_pkt_set_ra(pkt, true);
	ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
	push_all(pkt, LDNS_SECTION_ANSWER, an);
	push_all(pkt, LDNS_SECTION_AUTHORITY, ns);
	push_all(pkt, LDNS_SECTION_ADDITIONAL, ar);
	if (ext_rcode != 0) {
		ldns_pkt_set_edns_udp_size(pkt, 1232);
		ldns_pkt_set_edns_extended_rcode(pkt, ext_rcode);
	}
	ck_assert_int_eq(ldns_pkt2wire(&wire, pkt, &len), LDNS_STATUS_OK);
	ck_assert_uint_le(len, sizeof(ans));
	memcpy(ans, wire, len);
	free(wire);
	ldns_pkt_free(pkt);
	return len;
}

static size_t mk_answer(const char *qname, ldns_rr_type qtype, ldns_pkt_rcode rcode,
			const char *const *an, const char *const *ns, const char *const *ar)
{
	return mk_answer_edns(qname, qtype, rcode, an, ns, ar, 0);
}

static enum scrub_status run(const struct dns_query *q, size_t len, const struct scrub_opts *o)
{
	enum scrub_status st = scrub_answer(ans, len, q, o, out, sizeof(out), &outlen, &res);

	ck_assert_int_eq(res.status, st);
	return st;
}

static ldns_pkt *parse_out(void)
{
	ldns_pkt *p = NULL;

	ck_assert_uint_gt(outlen, 0);
	ck_assert_int_eq(ldns_wire2pkt(&p, out, outlen), LDNS_STATUS_OK);
	/* Our header: the client's ID, RD and CD, QR and RA set, AA, AD, TC clear. */
	ck_assert_uint_eq(ldns_pkt_id(p), 0xc11e);
	ck_assert(ldns_pkt_qr(p));
	ck_assert(ldns_pkt_ra(p));
	ck_assert(ldns_pkt_rd(p));
	ck_assert(ldns_pkt_cd(p));
	ck_assert(!ldns_pkt_aa(p));
	ck_assert(!ldns_pkt_ad(p));
	ck_assert(!ldns_pkt_tc(p));
	ck_assert_uint_eq(ldns_pkt_qdcount(p), 1);
	return p;
}

/* Compares a section with the expected records, in order, TTLs included. */
static void check_section(ldns_rr_list *got, const char *const *want)
{
	size_t n = 0, i;

	while (want != NULL && want[n] != NULL)
		n++;
	ck_assert_uint_eq(ldns_rr_list_rr_count(got), n);
	for (i = 0; i < n; i++) {
		ldns_rr *w = NULL, *g = ldns_rr_list_rr(got, i);

		ck_assert_int_eq(ldns_rr_new_frm_str(&w, want[i], 0, NULL, NULL), LDNS_STATUS_OK);
		ck_assert_msg(ldns_rr_compare(w, g) == 0, "record %zu: want %s", i, want[i]);
		ck_assert_uint_eq(ldns_rr_ttl(w), ldns_rr_ttl(g));
		ldns_rr_free(w);
	}
}

static void patch16(uint8_t *b, size_t len, size_t off, uint16_t v)
{
	struct wire_writer w;

	wire_writer_init(&w, b, len);
	w.pos = len;
	wire_patch_u16(&w, off, v);
	ck_assert(!w.err);
}

static uint16_t get16(const uint8_t *b, size_t len, size_t off)
{
	struct wire_cursor c;

	wire_cursor_init(&c, b, len);
	wire_seek(&c, off);
	return wire_u16(&c);
}

/* Checks the EDE option of the OPT record. */
static void check_ede(const ldns_pkt *p, uint16_t code)
{
	ldns_rdf *d = ldns_pkt_edns_data(p);
	struct wire_cursor c;

	ck_assert(ldns_pkt_edns(p));
	ck_assert_ptr_nonnull(d);
	wire_cursor_init(&c, ldns_rdf_data(d), ldns_rdf_size(d));
	ck_assert_uint_eq(wire_u16(&c), DNS_EDNS_OPT_EDE);
	ck_assert_uint_eq(wire_u16(&c), ldns_rdf_size(d) - 4);
	ck_assert_uint_eq(wire_u16(&c), code);
	ck_assert(wire_ok(&c));
}

/* ------------------------------------------------------------ positive */

START_TEST(simple_a)
{
	static const char *const an[] = {"api.openai.com. 300 IN A 203.0.113.5",
					 "api.openai.com. 200 IN A 203.0.113.6", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_A, false, false);
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an,
				       NULL, NULL),
			     &opts_on),
			 SCRUB_OK);
	p = parse_out();
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	check_section(ldns_pkt_answer(p), an);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ck_assert_uint_eq(get16(out, outlen, 10), 0);
	ck_assert_uint_eq(res.rcode, 0);
	ck_assert(!res.filtered);
	ck_assert_uint_eq(res.min_ttl, 200);
	ck_assert_uint_eq(res.n_addrs, 2);
	ck_assert_uint_eq(res.addrs[0].family, 4);
	ck_assert_mem_eq(res.addrs[0].addr, "\xcb\x00\x71\x05", 4);
	ck_assert_uint_eq(res.addrs[0].ttl, 300);
	ck_assert_uint_eq(res.addrs[1].ttl, 200);
	ck_assert_uint_eq(res.n_cnames, 0);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(client_case_and_edns)
{
	/* The client's question is echoed as sent; the upstream's OPT is not
	 * copied, ours is added with the client's DO bit. */
	static const char *const an[] = {"api.openai.com. 60 IN AAAA 2001:db8::7", NULL};
	struct dns_query q;
	ldns_pkt *p;
	ldns_rr *qrr;
	size_t len;

	mk_query(&q, "API.OpenAI.com.", LDNS_RR_TYPE_AAAA, true, true);
	len = mk_answer("api.openai.com.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, an, NULL, NULL);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_OK);
	p = parse_out();
	qrr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	ck_assert_mem_eq(ldns_rdf_data(ldns_rr_owner(qrr)),
			 "\x03"
			 "API\x06"
			 "OpenAI\x03"
			 "com",
			 16);
	check_section(ldns_pkt_answer(p), an);
	ck_assert(ldns_pkt_edns(p));
	ck_assert(ldns_pkt_edns_do(p));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), DNS_EDNS_SIZE);
	ck_assert_uint_eq(get16(out, outlen, 10), 1);
	ck_assert_uint_eq(res.n_addrs, 1);
	ck_assert_uint_eq(res.addrs[0].family, 6);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(cname_chain)
{
	/* The chain is out of order in the upstream's answer, with an injected
	 * record for another name, an A for a chain member (which owns a
	 * CNAME, so it cannot also own an A), and NS + glue. */
	static const char *const an[] = {"b.cdn.example. 60 IN A 203.0.113.5",
					 "evil.example. 60 IN A 198.51.100.66",
					 "a.cdn.example. 120 IN CNAME B.cdn.example.",
					 "a.cdn.example. 60 IN A 198.51.100.67",
					 "api.openai.com. 300 IN CNAME a.cdn.example.",
					 "b.cdn.example. 90 IN A 203.0.113.6",
					 "b.cdn.example. 90 IN AAAA 2001:db8::5",
					 "b.cdn.example. 90 IN RRSIG A 13 3 90 20300101000000 "
					 "20200101000000 1 cdn.example. AAAA",
					 NULL};
	static const char *const ns[] = {"cdn.example. 3600 IN NS ns.evil.example.", NULL};
	static const char *const ar[] = {"ns.evil.example. 3600 IN A 198.51.100.1", NULL};
	static const char *const want[] = {"api.openai.com. 300 IN CNAME a.cdn.example.",
					   "a.cdn.example. 120 IN CNAME b.cdn.example.",
					   "b.cdn.example. 60 IN A 203.0.113.5",
					   "b.cdn.example. 90 IN A 203.0.113.6", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_A, false, false);
	ck_assert_int_eq(
		run(&q,
		    mk_answer("api.openai.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, ns, ar),
		    &opts_on),
		SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), want);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ck_assert_uint_eq(ldns_pkt_arcount(p), 0);
	ck_assert_uint_eq(res.n_cnames, 2);
	ck_assert_uint_eq(res.cnames[0].len, 15);
	ck_assert_mem_eq(res.cnames[0].name,
			 "\x01"
			 "a\x03"
			 "cdn\x07"
			 "example",
			 15);
	ck_assert_uint_eq(res.cnames[0].ttl, 300);
	/* Lower-cased although the upstream wrote B.cdn.example. */
	ck_assert_mem_eq(res.cnames[1].name,
			 "\x01"
			 "b\x03"
			 "cdn\x07"
			 "example",
			 15);
	ck_assert_uint_eq(res.cnames[1].ttl, 120);
	ck_assert_uint_eq(res.n_addrs, 2);
	ck_assert_uint_eq(res.min_ttl, 60);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(cname_chain_nodata)
{
	/* The chain ends at a name without records of the type: NODATA, the
	 * SOA of the end's zone is kept; an SOA of an unrelated zone is not. */
	static const char *const an[] = {"api.openai.com. 300 IN CNAME a.cdn.example.", NULL};
	static const char *const ns[] = {
		"evil.example. 50 IN SOA ns.evil.example. h.evil.example. 1 2 3 4 5",
		"cdn.example. 600 IN SOA ns.cdn.example. h.cdn.example. 1 2 3 4 45", NULL};
	static const char *const want_ns[] = {
		"cdn.example. 600 IN SOA ns.cdn.example. h.cdn.example. 1 2 3 4 45", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_AAAA, false, false);
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, an,
				       ns, NULL),
			     &opts_on),
			 SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), an);
	check_section(ldns_pkt_authority(p), want_ns);
	ck_assert_uint_eq(res.min_ttl, 45);
	ck_assert_uint_eq(res.n_cnames, 1);
	ck_assert_uint_eq(res.n_addrs, 0);
	ck_assert(!res.filtered);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(cname_loop)
{
	static const char *const an[] = {"a.example. 60 IN CNAME b.example.",
					 "b.example. 60 IN CNAME a.example.",
					 "b.example. 60 IN A 203.0.113.5", NULL};
	static const char *const want[] = {"a.example. 60 IN CNAME b.example.", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);
	ck_assert_int_eq(
		run(&q, mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, NULL),
		    &opts_on),
		SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), want);
	ck_assert_uint_eq(res.n_cnames, 1);
	ck_assert_uint_eq(res.n_addrs, 0);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(cname_self_loop)
{
	static const char *const an[] = {"a.example. 60 IN CNAME A.example.", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);
	ck_assert_int_eq(
		run(&q, mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, NULL),
		    &opts_on),
		SCRUB_OK);
	p = parse_out();
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ck_assert_uint_eq(res.n_cnames, 0);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(cname_chain_limit)
{
	/* c0 -> c1 -> ... -> c20, A at c20: only SCRUB_MAX_CNAMES links are
	 * followed and c16, which still owns a CNAME, gives nothing more. */
	char rrs[21][64];
	const char *an[23];
	struct dns_query q;
	ldns_pkt *p;
	size_t i;

	for (i = 0; i < 20; i++) {
		snprintf(rrs[i], sizeof(rrs[i]), "c%zu.example. 60 IN CNAME c%zu.example.", i,
			 i + 1);
		an[i] = rrs[i];
	}
	snprintf(rrs[20], sizeof(rrs[20]), "c20.example. 60 IN A 203.0.113.5");
	an[20] = rrs[20];
	an[21] = NULL;
	mk_query(&q, "c0.example.", LDNS_RR_TYPE_A, false, false);
	ck_assert_int_eq(
		run(&q,
		    mk_answer("c0.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, NULL),
		    &opts_on),
		SCRUB_OK);
	p = parse_out();
	ck_assert_uint_eq(ldns_pkt_ancount(p), SCRUB_MAX_CNAMES);
	ck_assert_uint_eq(res.n_cnames, SCRUB_MAX_CNAMES);
	ck_assert_uint_eq(res.n_addrs, 0);
	ldns_pkt_free(p);

	/* Exactly 16 links are fine. */
	an[16] = "c16.example. 60 IN A 203.0.113.5";
	an[17] = NULL;
	ck_assert_int_eq(
		run(&q,
		    mk_answer("c0.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, NULL),
		    &opts_on),
		SCRUB_OK);
	ck_assert_uint_eq(res.n_cnames, SCRUB_MAX_CNAMES);
	ck_assert_uint_eq(res.n_addrs, 1);
}
END_TEST

START_TEST(qtype_cname)
{
	static const char *const an[] = {"a.example. 60 IN CNAME b.example.",
					 "b.example. 60 IN CNAME c.example.",
					 "c.example. 60 IN A 203.0.113.5", NULL};
	static const char *const want[] = {"a.example. 60 IN CNAME b.example.", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_CNAME, false, false);
	ck_assert_int_eq(
		run(&q,
		    mk_answer("a.example.", LDNS_RR_TYPE_CNAME, LDNS_RCODE_NOERROR, an, NULL, NULL),
		    &opts_on),
		SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), want);
	ck_assert_uint_eq(res.n_cnames, 1);
	ck_assert_uint_eq(res.n_addrs, 0);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(other_types_kept)
{
	static const char *const an[] = {"api.openai.com. 60 IN TXT \"v=hello\"",
					 "api.openai.com. 60 IN A 203.0.113.5",
					 "api.openai.com. 60 IN DNAME cdn.example.", NULL};
	static const char *const want[] = {"api.openai.com. 60 IN TXT \"v=hello\"", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_TXT, false, false);
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, an,
				       NULL, NULL),
			     &opts_on),
			 SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), want);
	ck_assert_uint_eq(res.n_addrs, 0);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(positive_drops_soa)
{
	static const char *const an[] = {"a.example. 60 IN A 203.0.113.5", NULL};
	static const char *const ns[] = {"example. 60 IN SOA ns.example. h.example. 1 2 3 4 5",
					 NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);
	ck_assert_int_eq(
		run(&q, mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, ns, NULL),
		    &opts_on),
		SCRUB_OK);
	p = parse_out();
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
}
END_TEST

/* ------------------------------------------------------------ negative */

START_TEST(nxdomain_soa)
{
	static const char *const an[] = {"nx.example. 60 IN A 203.0.113.5", NULL};
	static const char *const ns[] = {"example. 3600 IN NS ns.example.",
					 "example. 900 IN SOA ns.example. h.example. 1 2 3 4 300",
					 NULL};
	static const char *const want_ns[] = {
		"example. 900 IN SOA ns.example. h.example. 1 2 3 4 300", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "nx.example.", LDNS_RR_TYPE_A, true, false);
	ck_assert_int_eq(
		run(&q, mk_answer("nx.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, an, ns, NULL),
		    &opts_on),
		SCRUB_OK);
	p = parse_out();
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	/* An A at a name the upstream says does not exist is dropped. */
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	check_section(ldns_pkt_authority(p), want_ns);
	ck_assert_uint_eq(res.rcode, DNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(res.min_ttl, 300);
	ck_assert_uint_eq(res.n_addrs, 0);
	ck_assert(ldns_pkt_edns(p));
	ldns_pkt_free(p);
}
END_TEST

START_TEST(nxdomain_after_cname)
{
	static const char *const an[] = {"a.example. 60 IN CNAME gone.other.", NULL};
	static const char *const ns[] = {"other. 30 IN SOA ns.other. h.other. 1 2 3 4 300", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);
	ck_assert_int_eq(
		run(&q, mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, an, ns, NULL),
		    &opts_on),
		SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), an);
	check_section(ldns_pkt_authority(p), ns);
	ck_assert_uint_eq(res.min_ttl, 30);
	ck_assert_uint_eq(res.n_cnames, 1);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(nodata_no_soa)
{
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_AAAA, false, false);
	ck_assert_int_eq(run(&q,
			     mk_answer("a.example.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, NULL,
				       NULL, NULL),
			     &opts_on),
			 SCRUB_OK);
	p = parse_out();
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ck_assert_uint_eq(res.min_ttl, UINT32_MAX);
	ldns_pkt_free(p);
}
END_TEST

/* ------------------------------------------------------------ mismatch and failures */

START_TEST(question_mismatch)
{
	static const char *const an[] = {"other.example. 60 IN A 203.0.113.5", NULL};
	struct dns_query q;
	size_t len;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);
	len = mk_answer("other.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, NULL);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_MISMATCH);
	ck_assert_uint_eq(outlen, 0);
	len = mk_answer("a.example.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, NULL, NULL, NULL);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_MISMATCH);
	/* Class CH instead of IN (the class field follows the type). */
	len = mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, NULL, NULL, NULL);
	patch16(ans, len, 12 + 11 + 2, 3);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_MISMATCH);
	/* Case differences are fine. */
	len = mk_answer("A.EXAMPLE.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, NULL, NULL, NULL);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_OK);
}
END_TEST

START_TEST(header_mismatch)
{
	struct dns_query q;
	size_t len, n;
	uint16_t flags;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);
	len = mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, NULL, NULL, NULL);
	flags = get16(ans, len, 2);
	patch16(ans, len, 2, flags & ~DNS_FLAG_QR);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_MISMATCH);
	patch16(ans, len, 2, flags | 2 << 11);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_MISMATCH);
	patch16(ans, len, 2, flags);
	patch16(ans, len, 4, 0);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_MISMATCH);
	patch16(ans, len, 4, 2);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_MISMATCH);
	patch16(ans, len, 4, 1);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_OK);
	/* Shorter than the header or the question: cannot be matched. */
	for (n = 0; n < len; n++)
		ck_assert_int_eq(run(&q, n, &opts_on), SCRUB_MISMATCH);
}
END_TEST

START_TEST(upstream_rcodes)
{
	static const ldns_pkt_rcode fail[] = {LDNS_RCODE_SERVFAIL, LDNS_RCODE_REFUSED,
					      LDNS_RCODE_NOTIMPL, LDNS_RCODE_FORMERR,
					      LDNS_RCODE_YXDOMAIN};
	struct dns_query q;
	size_t i, len;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);
	for (i = 0; i < sizeof(fail) / sizeof(fail[0]); i++) {
		len = mk_answer("a.example.", LDNS_RR_TYPE_A, fail[i], NULL, NULL, NULL);
		ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_UPSTREAM_FAIL);
		ck_assert_uint_eq(outlen, 0);
	}
	/* An extended rcode in the upstream's OPT (BADVERS, say). */
	len = mk_answer_edns("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, NULL, NULL, NULL, 1);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_UPSTREAM_FAIL);
}
END_TEST

START_TEST(truncated_tc)
{
	static const char *const an[] = {"a.example. 60 IN A 203.0.113.5", NULL};
	struct dns_query q;
	size_t len;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);
	len = mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, NULL);
	patch16(ans, len, 2, get16(ans, len, 2) | DNS_FLAG_TC);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_TRUNCATED);
	/* Cut in the middle of the record, as a real TC answer may be. */
	ck_assert_int_eq(run(&q, len - 3, &opts_on), SCRUB_TRUNCATED);
	ck_assert_uint_eq(outlen, 0);
}
END_TEST

/* ------------------------------------------------------------ address filters */

static void check_blocked(const struct dns_query *q)
{
	ldns_pkt *p = parse_out();
	ldns_rr *soa;

	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 1);
	soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	ck_assert_int_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	ck_assert_uint_eq(ldns_rr_ttl(soa), 30);
	if (q->edns)
		check_ede(p, DNS_EDE_FILTERED);
	else
		ck_assert(!ldns_pkt_edns(p));
	ck_assert_uint_eq(res.rcode, DNS_RCODE_NXDOMAIN);
	ck_assert(res.filtered);
	ck_assert_uint_eq(res.n_addrs, 0);
	ck_assert_uint_eq(res.n_cnames, 0);
	ck_assert_uint_eq(res.min_ttl, 30);
	ldns_pkt_free(p);
}

/* Scrubs one address answer; returns whether the address survived. */
static bool address_kept(const char *addr, const struct scrub_opts *o)
{
	bool v6 = strchr(addr, ':') != NULL;
	ldns_rr_type t = v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
	char rr[128];
	const char *an[] = {rr, NULL};
	struct dns_query q;

	snprintf(rr, sizeof(rr), "api.openai.com. 60 IN %s %s", v6 ? "AAAA" : "A", addr);
	mk_query(&q, "api.openai.com.", t, true, false);
	ck_assert_int_eq(
		run(&q, mk_answer("api.openai.com.", t, LDNS_RCODE_NOERROR, an, NULL, NULL), o),
		SCRUB_OK);
	if (res.n_addrs == 1) {
		ck_assert(!res.filtered);
		return true;
	}
	check_blocked(&q);
	return false;
}

static const char *const rebinding_addrs[] = {
	"0.0.0.0",
	"0.255.255.255",
	"10.0.0.1",
	"10.255.255.255",
	"100.64.0.1",
	"100.127.255.255",
	"127.0.0.1",
	"127.255.255.254",
	"169.254.1.1",
	"169.254.169.254",
	"172.16.0.1",
	"172.31.255.255",
	"192.168.0.1",
	"192.168.255.255",
	"::1",
	"::",
	"fc00::1",
	"fdff:ffff::1",
	"fd00:ec2::254",
	"fe80::1",
	"febf:ffff::1",
	"::ffff:10.1.2.3",
	"::ffff:127.0.0.1",
	"::ffff:192.168.1.1",
	"::ffff:100.64.1.1",
	"::ffff:0.1.2.3",
	"::ffff:169.254.0.1",
	"::ffff:172.20.0.1",
};

static const char *const public_addrs[] = {
	"1.0.0.1",	  "9.255.255.255",   "11.0.0.1",
	"100.63.255.255", "100.128.0.1",     "126.255.255.255",
	"128.0.0.1",	  "169.253.255.255", "169.255.0.1",
	"172.15.255.255", "172.32.0.1",	     "192.167.255.255",
	"192.169.0.1",	  "203.0.113.5",     "::2",
	"fe00::1",	  "fec0::1",	     "2001:db8::1",
	"::ffff:8.8.8.8", "::fffe:10.0.0.1", "64:ff9b::a00:1",
	"fbff::1",
};

START_TEST(rebinding_ranges)
{
	size_t i;

	for (i = 0; i < sizeof(rebinding_addrs) / sizeof(rebinding_addrs[0]); i++) {
		const struct scrub_opts guard = {.rebinding_guard = true, .blocked_ttl = 30};

		ck_assert_msg(!address_kept(rebinding_addrs[i], &guard), "%s kept",
			      rebinding_addrs[i]);
		ck_assert_msg(address_kept(rebinding_addrs[i], &opts_off), "%s removed",
			      rebinding_addrs[i]);
	}
	for (i = 0; i < sizeof(public_addrs) / sizeof(public_addrs[0]); i++)
		ck_assert_msg(address_kept(public_addrs[i], &opts_on), "%s removed",
			      public_addrs[i]);
}
END_TEST

START_TEST(metadata_filter)
{
	const struct scrub_opts meta = {.block_metadata = true, .blocked_ttl = 30};

	ck_assert(!address_kept("169.254.169.254", &meta));
	ck_assert(!address_kept("169.254.0.1", &meta));
	ck_assert(!address_kept("fd00:ec2::254", &meta));
	ck_assert(!address_kept("::ffff:169.254.169.254", &meta));
	/* The metadata block alone leaves other private addresses alone. */
	ck_assert(address_kept("fd00:ec2::253", &meta));
	ck_assert(address_kept("10.0.0.1", &meta));
	ck_assert(address_kept("127.0.0.1", &meta));
	ck_assert(address_kept("169.255.0.1", &meta));
}
END_TEST

START_TEST(addr_functions)
{
	uint8_t a4[4], a6[16];

	ck_assert_int_eq(inet_pton(AF_INET, "172.16.5.4", a4), 1);
	ck_assert(scrub_addr_rebinding(4, a4));
	ck_assert(scrub_addr_rebinding(AF_INET, a4));
	ck_assert(!scrub_addr_metadata(4, a4));
	ck_assert(!scrub_addr_rebinding(0, a4));
	ck_assert_int_eq(inet_pton(AF_INET6, "fd00:ec2::254", a6), 1);
	ck_assert(scrub_addr_metadata(6, a6));
	ck_assert(scrub_addr_metadata(AF_INET6, a6));
	ck_assert(scrub_addr_rebinding(6, a6));
	ck_assert(!scrub_addr_metadata(5, a6));
}
END_TEST

START_TEST(all_removed_after_chain)
{
	static const char *const an[] = {"api.openai.com. 300 IN CNAME rebind.example.",
					 "rebind.example. 60 IN A 127.0.0.1",
					 "rebind.example. 60 IN A 10.0.0.1", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_A, true, true);
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an,
				       NULL, NULL),
			     &opts_on),
			 SCRUB_OK);
	check_blocked(&q);
	p = parse_out();
	ck_assert(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);
}
END_TEST

START_TEST(partial_removal)
{
	static const char *const an[] = {"api.openai.com. 60 IN A 10.0.0.1",
					 "api.openai.com. 70 IN A 203.0.113.7",
					 "api.openai.com. 80 IN A 169.254.169.254", NULL};
	static const char *const want[] = {"api.openai.com. 70 IN A 203.0.113.7", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_A, true, false);
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an,
				       NULL, NULL),
			     &opts_on),
			 SCRUB_OK);
	p = parse_out();
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	check_section(ldns_pkt_answer(p), want);
	ck_assert(res.filtered);
	ck_assert_uint_eq(res.n_addrs, 1);
	ck_assert_uint_eq(res.min_ttl, 70);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(too_many_addrs)
{
	/* Addresses beyond SCRUB_MAX_ADDRS cannot be published, so they are
	 * not given to the client either. */
	char rrs[70][64];
	const char *an[71];
	struct dns_query q;
	ldns_pkt *p;
	size_t i;

	for (i = 0; i < 70; i++) {
		snprintf(rrs[i], sizeof(rrs[i]), "a.example. 60 IN A 203.0.113.%zu", i + 1);
		an[i] = rrs[i];
	}
	an[70] = NULL;
	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);
	ck_assert_int_eq(
		run(&q, mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, NULL),
		    &opts_on),
		SCRUB_OK);
	p = parse_out();
	ck_assert_uint_eq(ldns_pkt_ancount(p), SCRUB_MAX_ADDRS);
	ck_assert_uint_eq(res.n_addrs, SCRUB_MAX_ADDRS);
	ldns_pkt_free(p);
}
END_TEST

/* ------------------------------------------------------------ compression */

/*
 * A hand-compressed answer (RFC 1035 section 4.1.4): every owner and every
 * RDATA name is a pointer or ends in one.
 *
 *   12  question  api.openai.com A IN        (16 + 4 bytes)
 *   32  C00C CNAME  "edge" -> C010 (openai.com)   RDATA at 44
 *   ..  C02C (edge.openai.com) A 203.0.113.9
 */
START_TEST(compressed_cname)
{
	static const char *const want[] = {"api.openai.com. 300 IN CNAME edge.openai.com.",
					   "edge.openai.com. 60 IN A 203.0.113.9", NULL};
	struct wire_writer w;
	struct dns_query q;
	ldns_pkt *p;

	wire_writer_init(&w, ans, sizeof(ans));
	wire_put_header(&w, &(struct dns_header){
				    .id = 1, .flags = DNS_FLAG_QR, .qdcount = 1, .ancount = 2});
	wire_put_bytes(&w,
		       "\x03"
		       "api\x06"
		       "openai\x03"
		       "com\x00",
		       16);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u16(&w, 0xc00c);
	wire_put_u16(&w, DNS_TYPE_CNAME);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 300);
	wire_put_u16(&w, 7);
	ck_assert_uint_eq(w.pos, 44);
	wire_put_bytes(&w,
		       "\x04"
		       "edge\xc0\x10",
		       7);
	wire_put_u16(&w, 0xc02c);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 60);
	wire_put_u16(&w, 4);
	wire_put_bytes(&w, "\xcb\x00\x71\x09", 4);
	ck_assert(!w.err);

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_A, false, false);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), want);
	/* Uncompressed: header, question, CNAME (16 + 10 + 17), A (17 + 10 + 4). */
	ck_assert_uint_eq(outlen, 12 + 20 + 43 + 31);
	ck_assert_mem_eq(res.cnames[0].name,
			 "\x04"
			 "edge\x06"
			 "openai\x03"
			 "com",
			 17);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(compressed_mx_soa)
{
	/* MX with a compressed exchange, then (NODATA for AAAA) SOA with both
	 * names compressed. */
	static const char *const want_mx[] = {"openai.com. 60 IN MX 10 mail.openai.com.", NULL};
	static const char *const want_soa[] = {
		"openai.com. 60 IN SOA ns.openai.com. openai.com. 7 8 9 10 11", NULL};
	struct wire_writer w;
	struct dns_query q;
	ldns_pkt *p;

	wire_writer_init(&w, ans, sizeof(ans));
	wire_put_header(&w, &(struct dns_header){
				    .id = 1, .flags = DNS_FLAG_QR, .qdcount = 1, .ancount = 1});
	wire_put_bytes(&w,
		       "\x06"
		       "openai\x03"
		       "com\x00",
		       12);
	wire_put_u16(&w, DNS_TYPE_MX);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u16(&w, 0xc00c);
	wire_put_u16(&w, DNS_TYPE_MX);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 60);
	wire_put_u16(&w, 9);
	wire_put_u16(&w, 10);
	wire_put_bytes(&w,
		       "\x04"
		       "mail\xc0\x0c",
		       7);
	ck_assert(!w.err);
	mk_query(&q, "OpenAI.com.", LDNS_RR_TYPE_MX, false, false);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), want_mx);
	ck_assert_uint_eq(outlen, 12 + 16 + 12 + 10 + 2 + 17);
	ldns_pkt_free(p);

	wire_writer_init(&w, ans, sizeof(ans));
	wire_put_header(&w, &(struct dns_header){
				    .id = 1, .flags = DNS_FLAG_QR, .qdcount = 1, .nscount = 1});
	wire_put_bytes(&w,
		       "\x06"
		       "openai\x03"
		       "com\x00",
		       12);
	wire_put_u16(&w, DNS_TYPE_AAAA);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u16(&w, 0xc00c);
	wire_put_u16(&w, DNS_TYPE_SOA);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 60);
	wire_put_u16(&w, 5 + 2 + 20);
	wire_put_bytes(&w,
		       "\x02"
		       "ns\xc0\x0c",
		       5);
	wire_put_u16(&w, 0xc00c);
	wire_put_u32(&w, 7);
	wire_put_u32(&w, 8);
	wire_put_u32(&w, 9);
	wire_put_u32(&w, 10);
	wire_put_u32(&w, 11);
	ck_assert(!w.err);
	mk_query(&q, "openai.com.", LDNS_RR_TYPE_AAAA, false, false);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_OK);
	p = parse_out();
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	check_section(ldns_pkt_authority(p), want_soa);
	ck_assert_uint_eq(outlen, 12 + 16 + 12 + 10 + 15 + 12 + 20);
	ck_assert_uint_eq(res.min_ttl, 11);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(ldns_compressed_chain)
{
	/* ldns compresses owners and CNAME targets against each other. */
	static const char *const an[] = {
		"api.openai.com. 300 IN CNAME api.openai.com.cdn.cloudflare.net.",
		"api.openai.com.cdn.cloudflare.net. 300 IN CNAME x.cdn.cloudflare.net.",
		"x.cdn.cloudflare.net. 300 IN A 104.18.6.192", NULL};
	struct dns_query q;
	ldns_pkt *p;
	size_t len;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_A, false, false);
	len = mk_answer("api.openai.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, NULL);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_OK);
	ck_assert_uint_gt(outlen, len);
	p = parse_out();
	check_section(ldns_pkt_answer(p), an);
	ldns_pkt_free(p);
}
END_TEST

/* ------------------------------------------------------------ malformed */

START_TEST(truncated_packets)
{
	static const char *const an[] = {"api.openai.com. 300 IN CNAME a.cdn.example.",
					 "a.cdn.example. 60 IN A 203.0.113.5", NULL};
	static const char *const ns[] = {"cdn.example. 60 IN NS ns.cdn.example.", NULL};
	static const char *const ar[] = {"ns.cdn.example. 60 IN A 203.0.113.1", NULL};
	struct dns_query q;
	size_t len, n, qend = 12 + 16 + 4;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_A, false, false);
	len = mk_answer("api.openai.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, ns, ar);
	for (n = qend; n < len; n++)
		ck_assert_msg(run(&q, n, &opts_on) == SCRUB_MALFORMED, "length %zu", n);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_OK);
	/* Trailing bytes after the last record are ignored. */
	ans[len] = 0xff;
	ck_assert_int_eq(run(&q, len + 1, &opts_on), SCRUB_OK);
	/* A count larger than the records present. */
	patch16(ans, len, 10, 2);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_MALFORMED);
	patch16(ans, len, 10, 1);
	patch16(ans, len, 6, 0xffff);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_MALFORMED);
	ck_assert_uint_eq(outlen, 0);
	ck_assert_uint_eq(res.n_addrs, 0);
}
END_TEST

/* Header + question "a.example A IN" + the start of one answer record. */
static void mk_bad_head(struct wire_writer *w, uint16_t ancount, uint16_t type, uint16_t rdlen)
{
	wire_writer_init(w, ans, sizeof(ans));
	wire_put_header(w,
			&(struct dns_header){
				.id = 1, .flags = DNS_FLAG_QR, .qdcount = 1, .ancount = ancount});
	wire_put_bytes(w,
		       "\x01"
		       "a\x07"
		       "example\x00",
		       11);
	wire_put_u16(w, DNS_TYPE_A);
	wire_put_u16(w, DNS_CLASS_IN);
	wire_put_u16(w, 0xc00c);
	wire_put_u16(w, type);
	wire_put_u16(w, DNS_CLASS_IN);
	wire_put_u32(w, 60);
	wire_put_u16(w, rdlen);
}

START_TEST(malformed_rdata)
{
	struct wire_writer w;
	struct dns_query q;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);

	/* RDLENGTH runs past the end. */
	mk_bad_head(&w, 1, DNS_TYPE_A, 10);
	wire_put_bytes(&w, "\x01\x02\x03\x04", 4);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_MALFORMED);

	/* An A record of 5 bytes. */
	mk_bad_head(&w, 1, DNS_TYPE_A, 5);
	wire_put_bytes(&w, "\x01\x02\x03\x04\x05", 5);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_MALFORMED);

	/* An AAAA of 4 bytes, even though AAAA is not asked for. */
	mk_bad_head(&w, 1, DNS_TYPE_AAAA, 4);
	wire_put_bytes(&w, "\x01\x02\x03\x04", 4);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_MALFORMED);

	/* A CNAME whose name runs past RDLENGTH. */
	mk_bad_head(&w, 1, DNS_TYPE_CNAME, 3);
	wire_put_bytes(&w,
		       "\x01"
		       "b\xc0\x0e",
		       4);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_MALFORMED);

	/* A CNAME with bytes left over after its name. */
	mk_bad_head(&w, 1, DNS_TYPE_CNAME, 5);
	wire_put_bytes(&w,
		       "\x01"
		       "b\xc0\x0e\x00",
		       5);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_MALFORMED);

	/* A CNAME with a forward pointer. */
	mk_bad_head(&w, 1, DNS_TYPE_CNAME, 2);
	wire_put_u16(&w, 0xc000 | (uint16_t)(w.pos + 2));
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_MALFORMED);

	/* A CNAME with a 0x40 label. */
	mk_bad_head(&w, 1, DNS_TYPE_CNAME, 3);
	wire_put_bytes(&w,
		       "\x41"
		       "b\x00",
		       3);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_MALFORMED);

	/* An owner name that is a pointer to itself. */
	mk_bad_head(&w, 1, DNS_TYPE_A, 4);
	wire_put_bytes(&w, "\x01\x02\x03\x04", 4);
	patch16(ans, w.pos, 12 + 15, 0xc000 | (12 + 15));
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_MALFORMED);

	/* An SOA with its timers cut short. */
	mk_bad_head(&w, 1, DNS_TYPE_SOA, 4 + 16);
	wire_put_u16(&w, 0xc00c);
	wire_put_u16(&w, 0xc00c);
	wire_put_bytes(&w, ans, 16);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_MALFORMED);

	/* An MX without its exchange. */
	mk_bad_head(&w, 1, DNS_TYPE_MX, 2);
	wire_put_u16(&w, 10);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_MALFORMED);

	/* A valid record for comparison. */
	mk_bad_head(&w, 1, DNS_TYPE_A, 4);
	wire_put_bytes(&w, "\xcb\x00\x71\x01", 4);
	ck_assert_int_eq(run(&q, w.pos, &opts_on), SCRUB_OK);
}
END_TEST

START_TEST(malformed_in_additional)
{
	/* Records that would be dropped still have to parse. */
	static const char *const an[] = {"a.example. 60 IN A 203.0.113.5", NULL};
	static const char *const ar[] = {"ns.example. 60 IN A 203.0.113.1", NULL};
	struct dns_query q;
	size_t len;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);
	len = mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, ar);
	/* The additional A's RDLENGTH is the 2 bytes before its 4 RDATA bytes. */
	patch16(ans, len, len - 6, 5);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_MALFORMED);
}
END_TEST

START_TEST(output_too_small)
{
	static const char *const an[] = {"a.example. 60 IN A 203.0.113.5", NULL};
	struct dns_query q;
	size_t len, full, cap;

	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, true, false);
	len = mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, NULL);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_OK);
	full = outlen;
	for (cap = 0; cap < full; cap++) {
		ck_assert_int_eq(scrub_answer(ans, len, &q, &opts_on, out, cap, &outlen, &res),
				 SCRUB_OK);
		ck_assert_uint_eq(outlen, 0);
		ck_assert_uint_eq(res.n_addrs, 0);
	}
	ck_assert_int_eq(scrub_answer(ans, len, &q, &opts_on, out, full, &outlen, &res), SCRUB_OK);
	ck_assert_uint_eq(res.n_addrs, 1);
	ck_assert_uint_eq(outlen, full);
}
END_TEST

START_TEST(big_answer)
{
	/* 1500 TXT records of 20 bytes at the query name: 61527 bytes
	 * uncompressed, which fits in 65535. 2000 records fit in the
	 * compressed upstream answer (64027 bytes) but not uncompressed. */
	static char rrs[2200][64];
	static const char *an[2201];
	struct dns_query q;
	size_t i, len;

	for (i = 0; i < 2200; i++) {
		snprintf(rrs[i], sizeof(rrs[i]), "a.example. 60 IN TXT \"%019zu\"", i);
		an[i] = rrs[i];
	}
	an[1500] = NULL;
	mk_query(&q, "a.example.", LDNS_RR_TYPE_TXT, false, false);
	len = mk_answer("a.example.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, an, NULL, NULL);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_OK);
	ck_assert_uint_eq(outlen, 12 + 15 + 1500 * (11 + 10 + 20));
	an[1500] = rrs[1500];
	an[2000] = NULL;
	len = mk_answer("a.example.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, an, NULL, NULL);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_OK);
	ck_assert_uint_eq(outlen, 0);
}
END_TEST

/* ------------------------------------------------------------ SVCB/HTTPS */

/* The value of SvcParamKey key in an SVCB/HTTPS record as ldns parsed it
 * (RDATA fields: priority, target, all SvcParams in wire form), or NULL. */
static const uint8_t *svc_param(const ldns_rr *rr, uint16_t key, size_t *len)
{
	struct wire_cursor c;
	const ldns_rdf *params;
	const uint8_t *v;
	uint16_t k, l;

	if (ldns_rr_rd_count(rr) < 3)
		return NULL;
	params = ldns_rr_rdf(rr, 2);
	wire_cursor_init(&c, ldns_rdf_data(params), ldns_rdf_size(params));
	while (wire_remaining(&c) > 0) {
		k = wire_u16(&c);
		l = wire_u16(&c);
		v = wire_bytes(&c, l);
		ck_assert_ptr_nonnull(v);
		if (k == key) {
			*len = l;
			return v;
		}
	}
	return NULL;
}

static void check_addr(size_t i, int family, const char *text, uint32_t ttl, bool hint)
{
	uint8_t a[16];

	ck_assert_uint_lt(i, res.n_addrs);
	ck_assert_int_eq(inet_pton(family == 4 ? AF_INET : AF_INET6, text, a), 1);
	ck_assert_uint_eq(res.addrs[i].family, family);
	ck_assert_mem_eq(res.addrs[i].addr, a, family == 4 ? 4 : 16);
	ck_assert_uint_eq(res.addrs[i].ttl, ttl);
	ck_assert(res.addrs[i].hint == hint);
}

/*
 * A hand-made answer to "api.openai.com <type> IN": one record of that type
 * owned by the question name (pointer C00C), TTL 60, RDLENGTH rdlen, followed
 * by the n bytes rd (which may differ from rdlen).
 *
 *   12  question  api.openai.com (16 bytes; openai.com at 16), type, class
 *   32  C00C type IN 60 rdlen     RDATA at 44
 */
static size_t mk_svcb_raw(uint16_t type, const void *rd, size_t n, uint16_t rdlen)
{
	struct wire_writer w;

	wire_writer_init(&w, ans, sizeof(ans));
	wire_put_header(&w, &(struct dns_header){
				    .id = 1, .flags = DNS_FLAG_QR, .qdcount = 1, .ancount = 1});
	wire_put_bytes(&w,
		       "\x03"
		       "api\x06"
		       "openai\x03"
		       "com\x00",
		       16);
	wire_put_u16(&w, type);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u16(&w, 0xc00c);
	wire_put_u16(&w, type);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 60);
	wire_put_u16(&w, rdlen);
	ck_assert_uint_eq(w.pos, 44);
	wire_put_bytes(&w, rd, n);
	ck_assert(!w.err);
	return w.pos;
}

static enum scrub_status run_svcb_raw(const void *rd, size_t n)
{
	struct dns_query q;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_HTTPS, false, false);
	return run(&q, mk_svcb_raw(DNS_TYPE_HTTPS, rd, n, (uint16_t)n), &opts_on);
}

START_TEST(svcb_hints_published)
{
	/* Through a CNAME: the hints of the records at the chain's end. */
	static const char *const an[] = {
		"api.openai.com. 300 IN CNAME edge.example.",
		"edge.example. 120 IN HTTPS 1 . alpn=h2,h3 ipv4hint=203.0.113.5,203.0.113.6 "
		"ipv6hint=2001:db8::5",
		"edge.example. 120 IN HTTPS 2 alt.example. alpn=h2 port=8443 ipv4hint=198.51.100.1",
		NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_HTTPS, false, false);
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_HTTPS, LDNS_RCODE_NOERROR,
				       an, NULL, NULL),
			     &opts_on),
			 SCRUB_OK);
	p = parse_out();
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	check_section(ldns_pkt_answer(p), an);
	ck_assert(!res.filtered);
	ck_assert_uint_eq(res.min_ttl, 120);
	ck_assert_uint_eq(res.n_cnames, 1);
	ck_assert_uint_eq(res.n_addrs, 4);
	check_addr(0, 4, "203.0.113.5", 120, true);
	check_addr(1, 4, "203.0.113.6", 120, true);
	check_addr(2, 6, "2001:db8::5", 120, true);
	check_addr(3, 4, "198.51.100.1", 120, true);
	ldns_pkt_free(p);

	/* SVCB (type 64) is treated the same way. */
	{
		static const char *const svcb[] = {
			"_dns.resolver.example. 60 IN SVCB 1 dns.example. alpn=dot "
			"ipv4hint=192.0.2.53 ipv6hint=2001:db8::53",
			NULL};

		mk_query(&q, "_dns.resolver.example.", LDNS_RR_TYPE_SVCB, false, false);
		ck_assert_int_eq(run(&q,
				     mk_answer("_dns.resolver.example.", LDNS_RR_TYPE_SVCB,
					       LDNS_RCODE_NOERROR, svcb, NULL, NULL),
				     &opts_on),
				 SCRUB_OK);
		p = parse_out();
		check_section(ldns_pkt_answer(p), svcb);
		ck_assert_uint_eq(res.n_addrs, 2);
		check_addr(0, 4, "192.0.2.53", 60, true);
		check_addr(1, 6, "2001:db8::53", 60, true);
		ldns_pkt_free(p);
	}

	/* A and AAAA addresses are not hints. */
	{
		static const char *const a[] = {"api.openai.com. 60 IN A 203.0.113.5", NULL};

		mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_A, false, false);
		ck_assert_int_eq(run(&q,
				     mk_answer("api.openai.com.", LDNS_RR_TYPE_A,
					       LDNS_RCODE_NOERROR, a, NULL, NULL),
				     &opts_on),
				 SCRUB_OK);
		check_addr(0, 4, "203.0.113.5", 60, false);
	}
}
END_TEST

START_TEST(svcb_hints_filtered)
{
	static const char *const an[] = {
		"api.openai.com. 300 IN HTTPS 1 . alpn=h2 ipv4hint=203.0.113.5,10.0.0.1 "
		"ipv6hint=2001:db8::5,fd00::1",
		NULL};
	static const char *const want[] = {"api.openai.com. 300 IN HTTPS 1 . alpn=h2 "
					   "ipv4hint=203.0.113.5 ipv6hint=2001:db8::5",
					   NULL};
	struct dns_query q;
	ldns_pkt *p;
	const uint8_t *v;
	size_t len, vlen = 0;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_HTTPS, true, false);
	len = mk_answer("api.openai.com.", LDNS_RR_TYPE_HTTPS, LDNS_RCODE_NOERROR, an, NULL, NULL);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_OK);
	p = parse_out();
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	check_section(ldns_pkt_answer(p), want);
	v = svc_param(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 4, &vlen);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(vlen, 4);
	ck_assert_mem_eq(v, "\xcb\x00\x71\x05", 4);
	v = svc_param(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 6, &vlen);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(vlen, 16);
	ck_assert_mem_eq(v, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x05", 16);
	/* alpn untouched. */
	v = svc_param(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 1, &vlen);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(vlen, 3);
	ck_assert_mem_eq(v, "\x02h2", 3);
	/* Hints removed do not make the answer "filtered" (no EDE 17). */
	ck_assert(!res.filtered);
	ck_assert_ptr_null(ldns_pkt_edns_data(p));
	ck_assert_uint_eq(res.n_addrs, 2);
	check_addr(0, 4, "203.0.113.5", 300, true);
	check_addr(1, 6, "2001:db8::5", 300, true);
	ldns_pkt_free(p);

	/* Without filters the record is copied unchanged, byte for byte. */
	ck_assert_int_eq(run(&q, len, &opts_off), SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), an);
	ck_assert_uint_eq(res.n_addrs, 4);
	check_addr(1, 4, "10.0.0.1", 300, true);
	check_addr(3, 6, "fd00::1", 300, true);
	ldns_pkt_free(p);

	/* The metadata block alone removes only metadata addresses. */
	{
		static const char *const md[] = {
			"api.openai.com. 300 IN HTTPS 1 . ipv4hint=169.254.169.254,10.0.0.1 "
			"ipv6hint=fd00:ec2::254",
			NULL};
		static const char *const md_want[] = {
			"api.openai.com. 300 IN HTTPS 1 . ipv4hint=10.0.0.1", NULL};
		static const struct scrub_opts opts_md = {.block_metadata = true,
							  .blocked_ttl = 30};

		len = mk_answer("api.openai.com.", LDNS_RR_TYPE_HTTPS, LDNS_RCODE_NOERROR, md, NULL,
				NULL);
		ck_assert_int_eq(run(&q, len, &opts_md), SCRUB_OK);
		p = parse_out();
		check_section(ldns_pkt_answer(p), md_want);
		ck_assert_uint_eq(res.n_addrs, 1);
		check_addr(0, 4, "10.0.0.1", 300, true);
		ldns_pkt_free(p);
	}
}
END_TEST

START_TEST(svcb_hints_all_removed)
{
	/* Every hint filtered: the keys go, the record stays, and the answer
	 * is not turned into NXDOMAIN (the TargetName can still be resolved). */
	static const char *const an[] = {"api.openai.com. 300 IN HTTPS 1 svc.example. alpn=h2 "
					 "ipv4hint=10.0.0.1,169.254.169.254 "
					 "ech=AEX+DQBBpQAgACBh "
					 "ipv6hint=::1",
					 NULL};
	static const char *const want[] = {"api.openai.com. 300 IN HTTPS 1 svc.example. alpn=h2 "
					   "ech=AEX+DQBBpQAgACBh",
					   NULL};
	struct dns_query q;
	ldns_pkt *p;
	size_t vlen;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_HTTPS, true, false);
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_HTTPS, LDNS_RCODE_NOERROR,
				       an, NULL, NULL),
			     &opts_on),
			 SCRUB_OK);
	p = parse_out();
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ck_assert_int_eq(res.rcode, DNS_RCODE_NOERROR);
	check_section(ldns_pkt_answer(p), want);
	ck_assert_ptr_null(svc_param(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 4, &vlen));
	ck_assert_ptr_null(svc_param(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 6, &vlen));
	ck_assert_uint_eq(res.n_addrs, 0);
	ck_assert(!res.filtered);
	ck_assert_uint_eq(res.min_ttl, 300);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(svcb_mandatory_hint_removed)
{
	/* A ServiceMode record would be malformed without a key its
	 * "mandatory" lists (RFC 9460 section 8): it is dropped instead. */
	static const char *const an[] = {
		"api.openai.com. 300 IN HTTPS 1 a.example. mandatory=ipv4hint ipv4hint=10.0.0.1",
		"api.openai.com. 300 IN HTTPS 2 b.example. mandatory=ipv4hint "
		"ipv4hint=10.0.0.2,203.0.113.7",
		"api.openai.com. 300 IN HTTPS 3 c.example. mandatory=ipv6hint ipv4hint=10.0.0.3 "
		"ipv6hint=2001:db8::3",
		NULL};
	static const char *const want[] = {
		"api.openai.com. 300 IN HTTPS 2 b.example. mandatory=ipv4hint ipv4hint=203.0.113.7",
		"api.openai.com. 300 IN HTTPS 3 c.example. mandatory=ipv6hint ipv6hint=2001:db8::3",
		NULL};
	static const char *const only[] = {
		"api.openai.com. 300 IN HTTPS 1 a.example. mandatory=ipv6hint ipv6hint=fe80::1",
		NULL};
	static const char *const ns[] = {
		"openai.com. 60 IN SOA ns.openai.com. h.openai.com. 1 2 3 4 5", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_HTTPS, false, false);
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_HTTPS, LDNS_RCODE_NOERROR,
				       an, NULL, NULL),
			     &opts_on),
			 SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), want);
	ck_assert_uint_eq(res.n_addrs, 2);
	check_addr(0, 4, "203.0.113.7", 300, true);
	check_addr(1, 6, "2001:db8::3", 300, true);
	ldns_pkt_free(p);

	/* The only record dropped: NODATA with the SOA, not NXDOMAIN. */
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_HTTPS, LDNS_RCODE_NOERROR,
				       only, ns, NULL),
			     &opts_on),
			 SCRUB_OK);
	p = parse_out();
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	check_section(ldns_pkt_authority(p), ns);
	ck_assert_uint_eq(res.n_addrs, 0);
	ck_assert(!res.filtered);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(svcb_alias_mode)
{
	static const char *const an[] = {"api.openai.com. 300 IN HTTPS 0 api.cdn.example.", NULL};
	/* Clients ignore SvcParams in AliasMode (RFC 9460 section 2.4.2): its
	 * hints are not published, so they are not handed out either. */
	static const char *const with_hints[] = {
		"api.openai.com. 300 IN HTTPS 0 api.cdn.example. alpn=h2 ipv4hint=203.0.113.5 "
		"ipv6hint=2001:db8::5",
		NULL};
	static const char *const want[] = {
		"api.openai.com. 300 IN HTTPS 0 api.cdn.example. alpn=h2", NULL};
	struct dns_query q;
	ldns_pkt *p;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_HTTPS, false, false);
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_HTTPS, LDNS_RCODE_NOERROR,
				       an, NULL, NULL),
			     &opts_on),
			 SCRUB_OK);
	p = parse_out();
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	check_section(ldns_pkt_answer(p), an);
	/* Priority, then the uncompressed target: 2 + 17 bytes of RDATA. */
	ck_assert_uint_eq(outlen, 12 + 20 + 16 + 10 + 2 + 17);
	ck_assert_uint_eq(res.n_addrs, 0);
	ck_assert(!res.filtered);
	ldns_pkt_free(p);

	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_HTTPS, LDNS_RCODE_NOERROR,
				       with_hints, NULL, NULL),
			     &opts_off),
			 SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), want);
	ck_assert_uint_eq(res.n_addrs, 0);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(svcb_compressed_target)
{
	/* RFC 9460 forbids a compressed TargetName; one is accepted anyway and
	 * written out uncompressed. */
	static const uint8_t rd[] = {0x00, 0x01, 0x03, 's',  'v',  'c',	 0xc0, 0x10,
				     0x00, 0x04, 0x00, 0x04, 0xcb, 0x00, 0x71, 0x09};
	static const char *const want[] = {
		"api.openai.com. 60 IN HTTPS 1 svc.openai.com. ipv4hint=203.0.113.9", NULL};
	struct wire_cursor c;
	uint8_t name[DNS_NAME_MAX];
	ldns_pkt *p;

	ck_assert_int_eq(run_svcb_raw(rd, sizeof(rd)), SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), want);
	/* The record: owner (16), fixed part (10), RDATA 2 + 16 + 8. */
	ck_assert_uint_eq(outlen, 12 + 20 + 16 + 10 + 26);
	wire_cursor_init(&c, out, outlen);
	wire_seek(&c, 12 + 20 + 16 + 8);
	ck_assert_uint_eq(wire_u16(&c), 26);
	ck_assert_uint_eq(wire_u16(&c), 1);
	ck_assert_uint_eq(wire_name(&c, name, NULL), 16);
	ck_assert_mem_eq(out + c.pos - 16,
			 "\x03"
			 "svc\x06"
			 "openai\x03"
			 "com",
			 16);
	ck_assert_uint_eq(res.n_addrs, 1);
	check_addr(0, 4, "203.0.113.9", 60, true);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(svcb_dedup_and_limit)
{
	/* A hint repeated across the RRset is published once. */
	static const char *const an[] = {
		"api.openai.com. 60 IN HTTPS 1 . ipv4hint=203.0.113.5,203.0.113.6",
		"api.openai.com. 60 IN HTTPS 2 . ipv4hint=203.0.113.6,203.0.113.5", NULL};
	char big[70 * 16 + 128];
	const char *an_big[2] = {big, NULL};
	struct dns_query q;
	ldns_pkt *p;
	size_t i, n, vlen = 0;
	const uint8_t *v;

	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_HTTPS, false, false);
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_HTTPS, LDNS_RCODE_NOERROR,
				       an, NULL, NULL),
			     &opts_on),
			 SCRUB_OK);
	p = parse_out();
	check_section(ldns_pkt_answer(p), an);
	ck_assert_uint_eq(res.n_addrs, 2);
	ldns_pkt_free(p);

	/* Beyond SCRUB_MAX_ADDRS hints are not handed out either. */
	n = (size_t)snprintf(big, sizeof(big), "api.openai.com. 60 IN HTTPS 1 . ipv4hint=");
	for (i = 0; i < 70; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s203.0.113.%zu", i ? "," : "",
				      i + 1);
	ck_assert_uint_lt(n, sizeof(big));
	ck_assert_int_eq(run(&q,
			     mk_answer("api.openai.com.", LDNS_RR_TYPE_HTTPS, LDNS_RCODE_NOERROR,
				       an_big, NULL, NULL),
			     &opts_on),
			 SCRUB_OK);
	ck_assert_uint_eq(res.n_addrs, SCRUB_MAX_ADDRS);
	check_addr(SCRUB_MAX_ADDRS - 1, 4, "203.0.113.64", 60, true);
	p = parse_out();
	v = svc_param(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 4, &vlen);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(vlen, SCRUB_MAX_ADDRS * 4);
	ck_assert_mem_eq(v + vlen - 4, "\xcb\x00\x71\x40", 4);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(svcb_malformed)
{
	/* Priority 1, target ".", then the SvcParams given. */
#define SVCB_RD(params) ("\x00\x01\x00" params), (sizeof("\x00\x01\x00" params) - 1)
	static const char *const an[] = {"a.example. 60 IN A 203.0.113.5", NULL};
	static const char *const ar[] = {"a.example. 60 IN HTTPS 1 . ipv4hint=203.0.113.5", NULL};
	struct dns_query q;
	size_t len, n;

	/* Valid for comparison: alpn=h2 ipv4hint=203.0.113.5. */
	ck_assert_int_eq(run_svcb_raw(SVCB_RD("\x00\x01\x00\x03\x02h2"
					      "\x00\x04\x00\x04\xcb\x00\x71\x05")),
			 SCRUB_OK);
	ck_assert_uint_eq(res.n_addrs, 1);
	/* Keys out of order. */
	ck_assert_int_eq(run_svcb_raw(SVCB_RD("\x00\x04\x00\x04\xcb\x00\x71\x05"
					      "\x00\x01\x00\x03\x02h2")),
			 SCRUB_MALFORMED);
	/* A key repeated. */
	ck_assert_int_eq(run_svcb_raw(SVCB_RD("\x00\x04\x00\x04\xcb\x00\x71\x05"
					      "\x00\x04\x00\x04\xcb\x00\x71\x06")),
			 SCRUB_MALFORMED);
	/* A value running past RDLENGTH. */
	ck_assert_int_eq(run_svcb_raw(SVCB_RD("\x00\x04\x00\x08\xcb\x00\x71\x05")),
			 SCRUB_MALFORMED);
	/* A parameter cut inside its key or length. */
	ck_assert_int_eq(run_svcb_raw(SVCB_RD("\x00\x04\x00\x04\xcb\x00\x71\x05\x00")),
			 SCRUB_MALFORMED);
	ck_assert_int_eq(run_svcb_raw(SVCB_RD("\x00\x04\x00\x04\xcb\x00\x71\x05\x00\x06\x00")),
			 SCRUB_MALFORMED);
	/* Hints that are not whole addresses, or none at all. */
	ck_assert_int_eq(run_svcb_raw(SVCB_RD("\x00\x04\x00\x05\xcb\x00\x71\x05\x06")),
			 SCRUB_MALFORMED);
	ck_assert_int_eq(run_svcb_raw(SVCB_RD("\x00\x04\x00\x00")), SCRUB_MALFORMED);
	ck_assert_int_eq(run_svcb_raw(SVCB_RD("\x00\x06\x00\x00")), SCRUB_MALFORMED);
	ck_assert_int_eq(run_svcb_raw(SVCB_RD("\x00\x06\x00\x04\xcb\x00\x71\x05")),
			 SCRUB_MALFORMED);
	ck_assert_int_eq(run_svcb_raw(SVCB_RD("\x00\x06\x00\x14"
					      "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x05"
					      "\xcb\x00\x71\x05")),
			 SCRUB_MALFORMED);
	/* No priority, or a priority cut short. */
	ck_assert_int_eq(run_svcb_raw("", 0), SCRUB_MALFORMED);
	ck_assert_int_eq(run_svcb_raw("\x00", 1), SCRUB_MALFORMED);
	/* A target name running past RDLENGTH. */
	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_HTTPS, false, false);
	ck_assert_int_eq(run(&q,
			     mk_svcb_raw(DNS_TYPE_HTTPS,
					 "\x00\x01\x03"
					 "svc\x00",
					 7, 4),
			     &opts_on),
			 SCRUB_MALFORMED);
	/* An SVCB record is checked in the same way. */
	mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_SVCB, false, false);
	ck_assert_int_eq(
		run(&q, mk_svcb_raw(DNS_TYPE_SVCB, SVCB_RD("\x00\x04\x00\x00"), 7), &opts_on),
		SCRUB_MALFORMED);
	/* Malformed even in a section that is dropped. */
	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, false, false);
	len = mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, ar);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_OK);
	/* Its ipv4hint length (5 bytes before the end) raised to 5. */
	patch16(ans, len, len - 6, 5);
	ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_MALFORMED);
	/* Every prefix of an HTTPS answer is malformed. */
	{
		static const char *const https[] = {
			"api.openai.com. 300 IN HTTPS 1 svc.example. alpn=h2 "
			"ipv4hint=203.0.113.5 ipv6hint=2001:db8::5",
			NULL};

		mk_query(&q, "api.openai.com.", LDNS_RR_TYPE_HTTPS, false, false);
		len = mk_answer("api.openai.com.", LDNS_RR_TYPE_HTTPS, LDNS_RCODE_NOERROR, https,
				NULL, NULL);
		for (n = 12 + 20; n < len; n++)
			ck_assert_msg(run(&q, n, &opts_on) == SCRUB_MALFORMED, "length %zu", n);
		ck_assert_int_eq(run(&q, len, &opts_on), SCRUB_OK);
		ck_assert_uint_eq(res.n_addrs, 2);
	}
#undef SVCB_RD
}
END_TEST

static Suite *scrub_suite(void)
{
	Suite *s = suite_create("scrub");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, simple_a);
	tcase_add_test(tc, client_case_and_edns);
	tcase_add_test(tc, cname_chain);
	tcase_add_test(tc, cname_chain_nodata);
	tcase_add_test(tc, cname_loop);
	tcase_add_test(tc, cname_self_loop);
	tcase_add_test(tc, cname_chain_limit);
	tcase_add_test(tc, qtype_cname);
	tcase_add_test(tc, other_types_kept);
	tcase_add_test(tc, positive_drops_soa);
	tcase_add_test(tc, nxdomain_soa);
	tcase_add_test(tc, nxdomain_after_cname);
	tcase_add_test(tc, nodata_no_soa);
	tcase_add_test(tc, question_mismatch);
	tcase_add_test(tc, header_mismatch);
	tcase_add_test(tc, upstream_rcodes);
	tcase_add_test(tc, truncated_tc);
	tcase_add_test(tc, rebinding_ranges);
	tcase_add_test(tc, metadata_filter);
	tcase_add_test(tc, addr_functions);
	tcase_add_test(tc, all_removed_after_chain);
	tcase_add_test(tc, partial_removal);
	tcase_add_test(tc, too_many_addrs);
	tcase_add_test(tc, compressed_cname);
	tcase_add_test(tc, compressed_mx_soa);
	tcase_add_test(tc, ldns_compressed_chain);
	tcase_add_test(tc, truncated_packets);
	tcase_add_test(tc, malformed_rdata);
	tcase_add_test(tc, malformed_in_additional);
	tcase_add_test(tc, output_too_small);
	tcase_add_test(tc, big_answer);
	tcase_add_test(tc, svcb_hints_published);
	tcase_add_test(tc, svcb_hints_filtered);
	tcase_add_test(tc, svcb_hints_all_removed);
	tcase_add_test(tc, svcb_mandatory_hint_removed);
	tcase_add_test(tc, svcb_alias_mode);
	tcase_add_test(tc, svcb_compressed_target);
	tcase_add_test(tc, svcb_dedup_and_limit);
	tcase_add_test(tc, svcb_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scrub_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
