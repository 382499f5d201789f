/*
 * Unit tests for resolver/answer.c. Upstream answers are built with ldns and
 * scrubbed for a neutral query (ID 0, lower-case name, no EDNS, no RD), as
 * the resolver does before caching; a few messages are written by hand
 * through wire_writer where they must be odd. Every rendered answer is
 * parsed back with ldns_wire2pkt. Time is passed explicitly: nothing sleeps.
 */
#include <check.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"

#define BUF_MAX 65535
#define T0	1000000 /* milliseconds at which answers are stored */

static uint8_t ans[BUF_MAX], neutral[BUF_MAX], out[BUF_MAX];
static size_t neutral_len;
static struct scrub_result res;
static const struct scrub_opts opts = {
	.rebinding_guard = true, .block_metadata = true, .blocked_ttl = 30};

/* ------------------------------------------------------------ helpers */

struct qopts {
	uint16_t id;
	bool rd;
	bool cd;
	bool edns;
	bool do_bit;
};

static void mk_query(struct dns_query *q, const char *name, ldns_rr_type type,
		     const struct qopts *o)
{
	ldns_pkt *pkt = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN, 0);
	uint8_t *wire = NULL;
	size_t len = 0;

	ck_assert_ptr_nonnull(pkt);
	ldns_pkt_set_id(pkt, o->id);
	ldns_pkt_set_rd(pkt, o->rd);
	ldns_pkt_set_cd(pkt, o->cd);
	if (o->edns) {
		ldns_pkt_set_edns_udp_size(pkt, 1232);
		ldns_pkt_set_edns_do(pkt, o->do_bit);
	}
	ck_assert_int_eq(ldns_pkt2wire(&wire, pkt, &len), LDNS_STATUS_OK);
	ck_assert_int_eq(wire_parse_query(wire, len, q), WIRE_PARSE_OK);
	free(wire);
	ldns_pkt_free(pkt);
}

/* The query the resolver scrubs for before caching. */
static void mk_neutral(struct dns_query *q, const char *name, ldns_rr_type type)
{
	const struct qopts o = {0};

	mk_query(q, name, type, &o);
	wire_name_lower(q->qname, q->qname, q->qname_len);
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

/* An upstream answer in ans[] (ldns compresses its names); returns its length. */
static size_t mk_upstream(const char *qname, ldns_rr_type qtype, ldns_pkt_rcode rcode,
			  const char *const *an, const char *const *ns)
{
	ldns_pkt *pkt =
		ldns_pkt_query_new(ldns_dname_new_frm_str(qname), qtype, LDNS_RR_CLASS_IN, LDNS_RD);
	uint8_t *wire = NULL;
	size_t len = 0;

	ck_assert_ptr_nonnull(pkt);
	ldns_pkt_set_id(pkt, 0x4242);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_ra(pkt, true);
	ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
	push_all(pkt, LDNS_SECTION_ANSWER, an);
	push_all(pkt, LDNS_SECTION_AUTHORITY, ns);
	ck_assert_int_eq(ldns_pkt2wire(&wire, pkt, &len), LDNS_STATUS_OK);
	ck_assert_uint_le(len, sizeof(ans));
	memcpy(ans, wire, len);
	free(wire);
	ldns_pkt_free(pkt);
	return len;
}

/* Scrubs an upstream answer for the neutral query and builds the answer. */
static struct answer *mk_answer(const char *qname, ldns_rr_type qtype, ldns_pkt_rcode rcode,
				const char *const *an, const char *const *ns, uint32_t min_ttl,
				uint32_t max_ttl)
{
	struct dns_query nq;
	size_t len;
	struct answer *a;

	mk_neutral(&nq, qname, qtype);
	len = mk_upstream(qname, qtype, rcode, an, ns);
	ck_assert_int_eq(
		scrub_answer(ans, len, &nq, &opts, neutral, sizeof(neutral), &neutral_len, &res),
		SCRUB_OK);
	ck_assert_uint_gt(neutral_len, 0);
	a = answer_new(neutral, neutral_len, &res, min_ttl, max_ttl, T0);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(atomic_load(&a->refs), 1);
	return a;
}

static ldns_pkt *render(const struct answer *a, const struct dns_query *q, uint64_t now_ms,
			bool stale)
{
	size_t len = answer_render(a, q, now_ms, stale, out, sizeof(out));
	ldns_pkt *p = NULL;

	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(ldns_wire2pkt(&p, out, len), LDNS_STATUS_OK);
	return p;
}

static uint32_t rr_ttl(ldns_rr_list *l, size_t i)
{
	ck_assert_uint_gt(ldns_rr_list_rr_count(l), i);
	return ldns_rr_ttl(ldns_rr_list_rr(l, i));
}

/* ARCOUNT of the last rendered answer, read from the header bytes. */
static uint16_t out_arcount(void)
{
	struct wire_cursor c;

	wire_cursor_init(&c, out, DNS_HEADER_LEN);
	wire_seek(&c, 10);
	return wire_u16(&c);
}

/* The EDE info code in the OPT record, or -1 if there is none. */
static int opt_ede(const ldns_pkt *p)
{
	ldns_rdf *d = ldns_pkt_edns_data(p);
	struct wire_cursor c;

	if (d == NULL)
		return -1;
	wire_cursor_init(&c, ldns_rdf_data(d), ldns_rdf_size(d));
	while (wire_ok(&c) && wire_remaining(&c) > 0) {
		uint16_t code = wire_u16(&c), len = wire_u16(&c);
		struct wire_cursor o;
		const uint8_t *data = wire_bytes(&c, len);

		if (data == NULL || code != DNS_EDNS_OPT_EDE)
			continue;
		wire_cursor_init(&o, data, len);
		return wire_u16(&o);
	}
	return -1;
}

/* A neutral message written by hand: header, question, then n records
 * given as raw bytes after the question. */
static size_t mk_raw(uint8_t *buf, size_t cap, uint16_t flags, uint16_t an, uint16_t ns,
		     uint16_t ar, const char *qname, const void *rest, size_t rest_len)
{
	struct dns_header h = {
		.flags = flags, .qdcount = 1, .ancount = an, .nscount = ns, .arcount = ar};
	uint8_t name[DNS_NAME_MAX];
	size_t nlen = wire_name_from_text(qname, name);
	struct wire_writer w;

	ck_assert_uint_gt(nlen, 0);
	wire_writer_init(&w, buf, cap);
	wire_put_header(&w, &h);
	wire_put_bytes(&w, name, nlen);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_bytes(&w, rest, rest_len);
	ck_assert(!w.err);
	return w.pos;
}

/* ------------------------------------------------------------ tests */

/*
 * The basic cache hit: the client's ID, RD, CD and question case, QR and RA
 * set, TTL reduced by the whole seconds since the answer was stored.
 */
START_TEST(render_basic)
{
	static const char *const an[] = {"www.example.com. 300 IN A 203.0.113.5", NULL};
	const struct qopts o = {.id = 0xbeef, .rd = true, .cd = true};
	struct dns_query q;
	struct answer *a = mk_answer("www.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an,
				     NULL, 0, 86400);
	ldns_pkt *p;
	char *qn;

	ck_assert_uint_eq(a->ttl, 300);
	ck_assert_uint_eq(a->rcode, 0);
	ck_assert_int_eq(a->ede, DNS_EDE_NONE);
	ck_assert_uint_eq(a->qtype, DNS_TYPE_A);
	ck_assert_uint_eq(a->qname_len, 17);
	ck_assert_uint_eq(a->n_ttls, 1);
	ck_assert_uint_eq(a->n_addrs, 1);
	ck_assert_uint_eq(a->addrs[0].ttl, 300);

	mk_query(&q, "WwW.ExAmPlE.cOm.", LDNS_RR_TYPE_A, &o);
	p = render(a, &q, T0 + 100500, false);
	ck_assert_uint_eq(ldns_pkt_id(p), 0xbeef);
	ck_assert(ldns_pkt_qr(p));
	ck_assert(ldns_pkt_ra(p));
	ck_assert(ldns_pkt_rd(p));
	ck_assert(ldns_pkt_cd(p));
	ck_assert(!ldns_pkt_aa(p));
	ck_assert(!ldns_pkt_tc(p));
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
	ck_assert_uint_eq(out_arcount(), 0);
	ck_assert(!ldns_pkt_edns(p));
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 0), 200);
	qn = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
	ck_assert_str_eq(qn, "WwW.ExAmPlE.cOm.");
	free(qn);
	ldns_pkt_free(p);

	/* RD and CD clear in the query: clear in the answer; a new ID. */
	q.hdr.flags = 0;
	q.hdr.id = 7;
	p = render(a, &q, T0, false);
	ck_assert_uint_eq(ldns_pkt_id(p), 7);
	ck_assert(!ldns_pkt_rd(p));
	ck_assert(!ldns_pkt_cd(p));
	ck_assert(ldns_pkt_qr(p));
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 0), 300);
	ldns_pkt_free(p);
	answer_unref(a);
}
END_TEST

/* TTLs count down per record, by whole seconds, and stop at 0. */
START_TEST(ttl_decrement)
{
	static const char *const an[] = {"a.example. 100 IN CNAME b.example.",
					 "b.example. 40 IN A 192.0.2.1",
					 "b.example. 50 IN A 192.0.2.2", NULL};
	const struct qopts o = {.id = 1};
	struct dns_query q;
	struct answer *a =
		mk_answer("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, 0, 86400);
	ldns_pkt *p;

	ck_assert_uint_eq(a->ttl, 40);
	ck_assert_uint_eq(a->n_ttls, 3);
	mk_query(&q, "a.example.", LDNS_RR_TYPE_A, &o);

	p = render(a, &q, T0 + 999, false);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 0), 100);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 1), 40);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 2), 50);
	ldns_pkt_free(p);

	p = render(a, &q, T0 + 39000, false);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 0), 61);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 1), 1);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 2), 11);
	ldns_pkt_free(p);

	p = render(a, &q, T0 + 45000, false);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 0), 55);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 1), 0);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 2), 5);
	ldns_pkt_free(p);

	/* A clock reading before the store counts as no time passed. */
	p = render(a, &q, T0 - 5000, false);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 1), 40);
	ldns_pkt_free(p);

	ck_assert_uint_eq(answer_remaining(a, T0), 40);
	ck_assert_uint_eq(answer_remaining(a, T0 + 39999), 1);
	ck_assert(!answer_expired(a, T0 + 39999));
	ck_assert_uint_eq(answer_remaining(a, T0 + 40000), 0);
	ck_assert(answer_expired(a, T0 + 40000));
	ck_assert(answer_expired(a, T0 + 4000000));
	answer_unref(a);
}
END_TEST

/* min_ttl raises short TTLs, max_ttl lowers long ones, in the message and
 * in the published addresses alike. */
START_TEST(ttl_clamps)
{
	static const char *const short_an[] = {"s.example. 5 IN A 192.0.2.1", NULL};
	static const char *const long_an[] = {"l.example. 3600 IN CNAME m.example.",
					      "m.example. 7200 IN A 192.0.2.2", NULL};
	const struct qopts o = {.id = 1};
	struct dns_query q;
	struct answer *a;
	ldns_pkt *p;

	a = mk_answer("s.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, short_an, NULL, 60, 86400);
	ck_assert_uint_eq(a->ttl, 60);
	ck_assert_uint_eq(a->addrs[0].ttl, 60);
	mk_query(&q, "s.example.", LDNS_RR_TYPE_A, &o);
	p = render(a, &q, T0, false);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 0), 60);
	ldns_pkt_free(p);
	answer_unref(a);

	a = mk_answer("l.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, long_an, NULL, 0, 100);
	ck_assert_uint_eq(a->ttl, 100);
	ck_assert_uint_eq(a->addrs[0].ttl, 100);
	mk_query(&q, "l.example.", LDNS_RR_TYPE_A, &o);
	p = render(a, &q, T0 + 10000, false);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 0), 90);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 1), 90);
	ldns_pkt_free(p);
	answer_unref(a);

	/* Both bounds at once; max_ttl wins when they cross. */
	a = mk_answer("l.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, long_an, NULL, 5000, 4000);
	ck_assert_uint_eq(a->ttl, 4000);
	answer_unref(a);
}
END_TEST

/*
 * RFC 2308 section 5: NXDOMAIN and NODATA are cached for the smaller of the
 * SOA's TTL and its MINIMUM, and the SOA carries that TTL.
 */
START_TEST(negative_answers)
{
	static const char *const soa_min[] = {
		"example. 3600 IN SOA ns.example. host.example. 1 7200 900 1209600 300", NULL};
	static const char *const soa_ttl[] = {
		"example. 60 IN SOA ns.example. host.example. 1 7200 900 1209600 900", NULL};
	const struct qopts o = {.id = 9, .rd = true};
	struct dns_query q;
	struct answer *a;
	ldns_pkt *p;

	a = mk_answer("nx.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, NULL, soa_min, 0, 86400);
	ck_assert_uint_eq(a->rcode, DNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(a->ttl, 300);
	ck_assert_uint_eq(a->n_addrs, 0);
	ck_assert_int_eq(a->ede, DNS_EDE_NONE);
	mk_query(&q, "NX.example.", LDNS_RR_TYPE_A, &o);
	p = render(a, &q, T0 + 100000, false);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 1);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_authority(p), 0), 200);
	ldns_pkt_free(p);
	answer_unref(a);

	/* NODATA, SOA TTL below MINIMUM. */
	a = mk_answer("nd.example.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, NULL, soa_ttl, 0,
		      86400);
	ck_assert_uint_eq(a->rcode, DNS_RCODE_NOERROR);
	ck_assert_uint_eq(a->ttl, 60);
	mk_query(&q, "nd.example.", LDNS_RR_TYPE_AAAA, &o);
	p = render(a, &q, T0, false);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_authority(p), 0), 60);
	ldns_pkt_free(p);
	answer_unref(a);

	/* The clamps apply to negative answers too. */
	a = mk_answer("nx.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, NULL, soa_min, 0, 120);
	ck_assert_uint_eq(a->ttl, 120);
	answer_unref(a);
}
END_TEST

/* NODATA without an SOA says nothing about how long it holds: TTL 0, or
 * min_ttl. */
START_TEST(negative_without_soa)
{
	const struct qopts o = {.id = 3};
	struct dns_query q;
	struct answer *a;
	ldns_pkt *p;

	a = mk_answer("nd.example.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, NULL, NULL, 0, 86400);
	ck_assert_uint_eq(a->n_ttls, 0);
	ck_assert_uint_eq(a->ttl, 0);
	ck_assert(answer_expired(a, T0));
	mk_query(&q, "nd.example.", LDNS_RR_TYPE_AAAA, &o);
	p = render(a, &q, T0, false);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
	answer_unref(a);

	a = mk_answer("nd.example.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, NULL, NULL, 10, 86400);
	ck_assert_uint_eq(a->ttl, 10);
	ck_assert(!answer_expired(a, T0 + 9999));
	answer_unref(a);
}
END_TEST

/* RFC 8767 section 4: stale answers go out with TTL 30 and, with EDNS, EDE
 * 3 (Stale Answer). */
START_TEST(stale_render)
{
	static const char *const an[] = {"st.example. 120 IN A 192.0.2.1",
					 "st.example. 5 IN A 192.0.2.2", NULL};
	const struct qopts plain = {.id = 1}, edns = {.id = 2, .edns = true};
	struct dns_query q;
	struct answer *a =
		mk_answer("st.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, 0, 86400);
	ldns_pkt *p;

	mk_query(&q, "st.example.", LDNS_RR_TYPE_A, &edns);
	p = render(a, &q, T0 + 3600000, true);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 0), ANSWER_STALE_TTL);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 1), ANSWER_STALE_TTL);
	ck_assert(ldns_pkt_edns(p));
	ck_assert_uint_eq(out_arcount(), 1); /* ldns does not count its OPT */
	ck_assert_int_eq(opt_ede(p), DNS_EDE_STALE);
	ldns_pkt_free(p);

	/* Fresh with EDNS: an OPT without EDE. */
	p = render(a, &q, T0, false);
	ck_assert(ldns_pkt_edns(p));
	ck_assert_int_eq(opt_ede(p), -1);
	ldns_pkt_free(p);

	/* Stale without EDNS: no OPT at all. */
	mk_query(&q, "st.example.", LDNS_RR_TYPE_A, &plain);
	p = render(a, &q, T0 + 3600000, true);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 0), ANSWER_STALE_TTL);
	ck_assert(!ldns_pkt_edns(p));
	ck_assert_uint_eq(out_arcount(), 0);
	ldns_pkt_free(p);
	answer_unref(a);
}
END_TEST

/*
 * An answer whose addresses the filters removed is NXDOMAIN + SOA (written
 * by synth_blocked with a compressed owner) and keeps EDE 17 (Filtered),
 * also when served stale.
 */
START_TEST(filtered_ede)
{
	static const char *const an[] = {"int.example. 300 IN A 10.1.2.3", NULL};
	const struct qopts edns = {.id = 5, .edns = true}, plain = {.id = 6};
	struct dns_query q;
	struct answer *a =
		mk_answer("int.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, 0, 86400);
	ldns_pkt *p;

	ck_assert(res.filtered);
	ck_assert_int_eq(a->ede, DNS_EDE_FILTERED);
	ck_assert_uint_eq(a->rcode, DNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(a->ttl, 30);
	ck_assert_uint_eq(a->n_addrs, 0);

	mk_query(&q, "Int.Example.", LDNS_RR_TYPE_A, &edns);
	p = render(a, &q, T0 + 10000, false);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 1);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_authority(p), 0), 20);
	ck_assert_int_eq(opt_ede(p), DNS_EDE_FILTERED);
	ldns_pkt_free(p);

	p = render(a, &q, T0 + 100000, true);
	ck_assert_int_eq(opt_ede(p), DNS_EDE_FILTERED);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_authority(p), 0), ANSWER_STALE_TTL);
	ldns_pkt_free(p);

	mk_query(&q, "int.example.", LDNS_RR_TYPE_A, &plain);
	p = render(a, &q, T0, false);
	ck_assert(!ldns_pkt_edns(p));
	ldns_pkt_free(p);
	answer_unref(a);

	/* Some addresses removed, some kept: no EDE. */
	{
		static const char *const mixed[] = {"mx.example. 300 IN A 10.1.2.3",
						    "mx.example. 300 IN A 192.0.2.8", NULL};

		a = mk_answer("mx.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, mixed, NULL, 0,
			      86400);
		ck_assert(res.filtered);
		ck_assert_int_eq(a->ede, DNS_EDE_NONE);
		ck_assert_uint_eq(a->n_addrs, 1);
		answer_unref(a);
	}
}
END_TEST

/* The OPT follows the client: none without EDNS, DO echoed (RFC 3225
 * section 3), our UDP size advertised. */
START_TEST(opt_and_do)
{
	static const char *const an[] = {"d.example. 300 IN A 192.0.2.1", NULL};
	const struct qopts do_on = {.id = 1, .edns = true, .do_bit = true};
	const struct qopts do_off = {.id = 1, .edns = true};
	struct dns_query q;
	struct answer *a =
		mk_answer("d.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, 0, 86400);
	ldns_pkt *p;

	mk_query(&q, "d.example.", LDNS_RR_TYPE_A, &do_on);
	p = render(a, &q, T0, false);
	ck_assert(ldns_pkt_edns(p));
	ck_assert(ldns_pkt_edns_do(p));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), DNS_EDNS_SIZE);
	ck_assert_uint_eq(out_arcount(), 1); /* ldns does not count its OPT */
	ldns_pkt_free(p);

	mk_query(&q, "d.example.", LDNS_RR_TYPE_A, &do_off);
	p = render(a, &q, T0, false);
	ck_assert(ldns_pkt_edns(p));
	ck_assert(!ldns_pkt_edns_do(p));
	ldns_pkt_free(p);
	answer_unref(a);
}
END_TEST

/* A buffer one byte short gives 0, with and without the OPT. */
START_TEST(too_small)
{
	static const char *const an[] = {"t.example. 300 IN A 192.0.2.1", NULL};
	const struct qopts plain = {.id = 1}, edns = {.id = 1, .edns = true};
	struct dns_query q;
	struct answer *a =
		mk_answer("t.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, 0, 86400);
	size_t full;

	mk_query(&q, "t.example.", LDNS_RR_TYPE_A, &plain);
	full = answer_render(a, &q, T0, false, out, sizeof(out));
	ck_assert_uint_eq(full, a->len);
	ck_assert_uint_eq(answer_render(a, &q, T0, false, out, full), full);
	ck_assert_uint_eq(answer_render(a, &q, T0, false, out, full - 1), 0);
	ck_assert_uint_eq(answer_render(a, &q, T0, false, out, 0), 0);

	mk_query(&q, "t.example.", LDNS_RR_TYPE_A, &edns);
	full = answer_render(a, &q, T0, false, out, sizeof(out));
	ck_assert_uint_eq(full, a->len + 11);
	ck_assert_uint_eq(answer_render(a, &q, T0, false, out, full), full);
	ck_assert_uint_eq(answer_render(a, &q, T0, false, out, full - 1), 0);
	ck_assert_uint_eq(answer_render(a, &q, T0, false, out, a->len), 0);
	answer_unref(a);
}
END_TEST

/* A query for another name, type or class is never answered from a. */
START_TEST(question_mismatch)
{
	static const char *const an[] = {"m.example. 300 IN A 192.0.2.1", NULL};
	const struct qopts o = {.id = 1};
	struct dns_query q;
	struct answer *a =
		mk_answer("m.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, 0, 86400);

	mk_query(&q, "n.example.", LDNS_RR_TYPE_A, &o);
	ck_assert_uint_eq(answer_render(a, &q, T0, false, out, sizeof(out)), 0);
	mk_query(&q, "mm.example.", LDNS_RR_TYPE_A, &o);
	ck_assert_uint_eq(answer_render(a, &q, T0, false, out, sizeof(out)), 0);
	mk_query(&q, "m.example.", LDNS_RR_TYPE_AAAA, &o);
	ck_assert_uint_eq(answer_render(a, &q, T0, false, out, sizeof(out)), 0);
	mk_query(&q, "m.example.", LDNS_RR_TYPE_A, &o);
	q.qclass = 3;
	ck_assert_uint_eq(answer_render(a, &q, T0, false, out, sizeof(out)), 0);
	q.qclass = DNS_CLASS_IN;
	ck_assert_uint_gt(answer_render(a, &q, T0, false, out, sizeof(out)), 0);
	answer_unref(a);
}
END_TEST

/* Compressed owner and RDATA names (as ldns writes them) are followed, and
 * the pointers stay valid in the rendered copy. */
START_TEST(compressed_names)
{
	static const uint8_t soa_rdata_tail[20] = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0,
						   0, 3, 0, 0, 0, 4, 0, 0, 0, 50};
	const struct qopts o = {.id = 0x1234};
	struct wire_writer w;
	uint8_t rest[256];
	struct dns_query q;
	struct answer *a;
	ldns_pkt *p;
	size_t len;

	/* c.example. CNAME -> x.c.example. (pointer), x.c.example. A, and an
	 * SOA in authority owned by a pointer to "example." (offset 14). */
	wire_writer_init(&w, rest, sizeof(rest));
	wire_put_u16(&w, 0xc00c);
	wire_put_u16(&w, DNS_TYPE_CNAME);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 500);
	wire_put_u16(&w, 4);
	wire_put_bytes(&w, "\x01x\xc0\x0c", 4); /* at offset 12 + 15 + 12 = 39 */
	wire_put_u16(&w, 0xc000 | 39);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 400);
	wire_put_u16(&w, 4);
	wire_put_bytes(&w, "\xc0\x00\x02\x01", 4);
	wire_put_u16(&w, 0xc000 | 14);
	wire_put_u16(&w, DNS_TYPE_SOA);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 800);
	wire_put_u16(&w, 2 + 2 + 20);
	wire_put_u16(&w, 0xc00c);
	wire_put_u16(&w, 0xc00c);
	wire_put_bytes(&w, soa_rdata_tail, sizeof(soa_rdata_tail));
	ck_assert(!w.err);
	len = mk_raw(neutral, sizeof(neutral), DNS_FLAG_QR | DNS_FLAG_RA, 2, 1, 0, "c.example",
		     rest, w.pos);

	a = answer_new(neutral, len, NULL, 0, 86400, T0);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->n_ttls, 3);
	ck_assert_uint_eq(a->ttl, 50); /* the SOA: min(800, MINIMUM 50) */
	ck_assert_uint_eq(a->n_addrs, 0);
	mk_query(&q, "C.EXAMPLE.", LDNS_RR_TYPE_A, &o);
	p = render(a, &q, T0 + 20000, false);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 0), 480);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 1), 380);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_authority(p), 0), 30);
	{
		char *owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(p), 1)));

		/* The pointer into the question now reads the client's case. */
		ck_assert_str_eq(owner, "x.C.EXAMPLE.");
		free(owner);
	}
	ldns_pkt_free(p);
	answer_unref(a);
}
END_TEST

/* Messages the walk must refuse. */
START_TEST(malformed)
{
	static uint8_t bad[BUF_MAX];
	uint8_t rest[64];
	struct wire_writer w;
	size_t len;

	/* An OPT record in the additional section. */
	wire_writer_init(&w, rest, sizeof(rest));
	wire_put_u8(&w, 0);
	wire_put_u16(&w, DNS_TYPE_OPT);
	wire_put_u16(&w, 1232);
	wire_put_u32(&w, 0);
	wire_put_u16(&w, 0);
	len = mk_raw(bad, sizeof(bad), DNS_FLAG_QR, 0, 0, 1, "o.example", rest, w.pos);
	ck_assert_ptr_null(answer_new(bad, len, NULL, 0, 86400, T0));

	/* A record running past the end, and one cut in its fixed part. */
	wire_writer_init(&w, rest, sizeof(rest));
	wire_put_u16(&w, 0xc00c);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 60);
	wire_put_u16(&w, 4);
	wire_put_bytes(&w, "\xc0\x00\x02\x01", 4);
	len = mk_raw(bad, sizeof(bad), DNS_FLAG_QR, 1, 0, 0, "o.example", rest, w.pos);
	{
		struct answer *a = answer_new(bad, len, NULL, 0, 86400, T0);

		ck_assert_ptr_nonnull(a);
		answer_unref(a);
	}
	ck_assert_ptr_null(answer_new(bad, len - 1, NULL, 0, 86400, T0));
	ck_assert_ptr_null(answer_new(bad, len - 10, NULL, 0, 86400, T0));
	/* Trailing bytes. */
	ck_assert_ptr_null(answer_new(bad, len + 1, NULL, 0, 86400, T0));
	/* ANCOUNT says two. */
	len = mk_raw(bad, sizeof(bad), DNS_FLAG_QR, 2, 0, 0, "o.example", rest, w.pos);
	ck_assert_ptr_null(answer_new(bad, len, NULL, 0, 86400, T0));

	/* A forward compression pointer and a pointer loop to itself. */
	wire_writer_init(&w, rest, sizeof(rest));
	wire_put_u16(&w, 0xc0ff);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 60);
	wire_put_u16(&w, 0);
	len = mk_raw(bad, sizeof(bad), DNS_FLAG_QR, 1, 0, 0, "o.example", rest, w.pos);
	ck_assert_ptr_null(answer_new(bad, len, NULL, 0, 86400, T0));
	wire_writer_init(&w, rest, sizeof(rest));
	wire_put_u16(&w, 0xc000 | 27);
	len = mk_raw(bad, sizeof(bad), DNS_FLAG_QR, 1, 0, 0, "o.example", rest, w.pos);
	ck_assert_ptr_null(answer_new(bad, len, NULL, 0, 86400, T0));

	/* Not a response; no question; two questions; header cut short. */
	len = mk_raw(bad, sizeof(bad), 0, 0, 0, 0, "o.example", NULL, 0);
	ck_assert_ptr_null(answer_new(bad, len, NULL, 0, 86400, T0));
	len = mk_raw(bad, sizeof(bad), DNS_FLAG_QR, 0, 0, 0, "o.example", NULL, 0);
	{
		struct answer *a = answer_new(bad, len, NULL, 0, 86400, T0);

		ck_assert_ptr_nonnull(a);
		answer_unref(a);
	}
	ck_assert_ptr_null(answer_new(bad, 11, NULL, 0, 86400, T0));
	ck_assert_ptr_null(answer_new(bad, len - 1, NULL, 0, 86400, T0));
	ck_assert_ptr_null(answer_new(NULL, 0, NULL, 0, 86400, T0));
	wire_writer_init(&w, bad, len);
	w.pos = len;
	wire_patch_u16(&w, 4, 2);
	ck_assert_ptr_null(answer_new(bad, len, NULL, 0, 86400, T0));
	wire_patch_u16(&w, 4, 0);
	ck_assert_ptr_null(answer_new(bad, len, NULL, 0, 86400, T0));

	/* A compressed question name cannot be rewritten in place. */
	{
		static const uint8_t hdr_name[] = {
			0, 0, DNS_FLAG_QR >> 8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 4, 0, 1, 0, 1};

		ck_assert_ptr_null(answer_new(hdr_name, sizeof(hdr_name), NULL, 0, 86400, T0));
	}
}
END_TEST

/* RFC 2181 section 8: a TTL with the top bit set counts as zero. */
START_TEST(ttl_top_bit)
{
	uint8_t rest[64];
	struct wire_writer w;
	struct answer *a;
	size_t len;

	wire_writer_init(&w, rest, sizeof(rest));
	wire_put_u16(&w, 0xc00c);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 0x80000010);
	wire_put_u16(&w, 4);
	wire_put_bytes(&w, "\xc0\x00\x02\x01", 4);
	len = mk_raw(neutral, sizeof(neutral), DNS_FLAG_QR, 1, 0, 0, "o.example", rest, w.pos);
	a = answer_new(neutral, len, NULL, 0, 86400, T0);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->ttl, 0);
	answer_unref(a);
	a = answer_new(neutral, len, NULL, 15, 86400, T0);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->ttl, 15);
	answer_unref(a);
}
END_TEST

/* More records than ANSWER_MAX_TTLS: not cacheable. */
START_TEST(too_many_records)
{
	static uint8_t rest[(ANSWER_MAX_TTLS + 1) * 16];
	struct wire_writer w;
	struct answer *a;
	size_t len, i;

	wire_writer_init(&w, rest, sizeof(rest));
	for (i = 0; i < ANSWER_MAX_TTLS + 1; i++) {
		wire_put_u16(&w, 0xc00c);
		wire_put_u16(&w, DNS_TYPE_A);
		wire_put_u16(&w, DNS_CLASS_IN);
		wire_put_u32(&w, 60);
		wire_put_u16(&w, 4);
		wire_put_u32(&w, 0xc0000200 + (uint32_t)i);
	}
	ck_assert(!w.err);
	len = mk_raw(neutral, sizeof(neutral), DNS_FLAG_QR, ANSWER_MAX_TTLS + 1, 0, 0, "o.example",
		     rest, w.pos);
	ck_assert_ptr_null(answer_new(neutral, len, NULL, 0, 86400, T0));
	len = mk_raw(neutral, sizeof(neutral), DNS_FLAG_QR, ANSWER_MAX_TTLS, 0, 0, "o.example",
		     rest, w.pos - 16);
	a = answer_new(neutral, len, NULL, 0, 86400, T0);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->n_ttls, ANSWER_MAX_TTLS);
	answer_unref(a);
}
END_TEST

/* References: the answer lives until the last unref (valgrind and ASan
 * check that it is then freed, once). */
START_TEST(refcount)
{
	static const char *const an[] = {"r.example. 300 IN A 192.0.2.1", NULL};
	const struct qopts o = {.id = 1};
	struct dns_query q;
	struct answer *a =
		mk_answer("r.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, 0, 86400);
	ldns_pkt *p;

	answer_ref(a);
	answer_ref(a);
	ck_assert_uint_eq(atomic_load(&a->refs), 3);
	answer_unref(a);
	answer_unref(a);
	ck_assert_uint_eq(atomic_load(&a->refs), 1);
	mk_query(&q, "r.example.", LDNS_RR_TYPE_A, &o);
	p = render(a, &q, T0, false);
	ldns_pkt_free(p);
	answer_unref(a);
	answer_unref(NULL);
}
END_TEST

/* The stored copy is not changed by rendering: two renders at different
 * times give independent TTLs. */
START_TEST(render_is_pure)
{
	static const char *const an[] = {"p.example. 300 IN A 192.0.2.1", NULL};
	const struct qopts o1 = {.id = 1, .rd = true}, o2 = {.id = 2, .edns = true};
	struct dns_query q1, q2;
	struct answer *a =
		mk_answer("p.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, an, NULL, 0, 86400);
	uint8_t copy[BUF_MAX];
	ldns_pkt *p;

	memcpy(copy, a->msg, a->len);
	mk_query(&q1, "P.example.", LDNS_RR_TYPE_A, &o1);
	mk_query(&q2, "p.EXAMPLE.", LDNS_RR_TYPE_A, &o2);
	p = render(a, &q1, T0 + 200000, true);
	ldns_pkt_free(p);
	p = render(a, &q2, T0 + 100000, false);
	ck_assert_uint_eq(rr_ttl(ldns_pkt_answer(p), 0), 200);
	ck_assert(!ldns_pkt_rd(p));
	ldns_pkt_free(p);
	ck_assert_mem_eq(copy, a->msg, a->len);
	answer_unref(a);
}
END_TEST

static Suite *answer_suite(void)
{
	Suite *s = suite_create("answer");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, render_basic);
	tcase_add_test(tc, ttl_decrement);
	tcase_add_test(tc, ttl_clamps);
	tcase_add_test(tc, negative_answers);
	tcase_add_test(tc, negative_without_soa);
	tcase_add_test(tc, stale_render);
	tcase_add_test(tc, filtered_ede);
	tcase_add_test(tc, opt_and_do);
	tcase_add_test(tc, too_small);
	tcase_add_test(tc, question_mismatch);
	tcase_add_test(tc, compressed_names);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, ttl_top_bit);
	tcase_add_test(tc, too_many_records);
	tcase_add_test(tc, refcount);
	tcase_add_test(tc, render_is_pure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(answer_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
