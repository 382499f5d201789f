/*
 * Unit tests for resolver/wire.c: the cursor, name decompression, the text
 * conversions and wire_parse_query. Queries are built with ldns where ldns
 * can express them, and by hand (through wire_writer) where they must be
 * malformed.
 */
#include <check.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* ------------------------------------------------------------ helpers */

/* Builds a query with ldns; the caller frees *wire with free(). */
static size_t mk_query(uint8_t **wire, const char *name, ldns_rr_type type, bool edns,
		       bool dnssec_ok, uint8_t version, const uint8_t *opts, size_t optlen)
{
	ldns_rdf *dname = ldns_dname_new_frm_str(name);
	ldns_pkt *pkt;
	size_t len = 0;

	ck_assert_ptr_nonnull(dname);
	pkt = ldns_pkt_query_new(dname, type, LDNS_RR_CLASS_IN, LDNS_RD);
	ck_assert_ptr_nonnull(pkt);
	ldns_pkt_set_id(pkt, 0x1234);
	if (edns) {
		ldns_pkt_set_edns_udp_size(pkt, 4096);
		ldns_pkt_set_edns_do(pkt, dnssec_ok);
		ldns_pkt_set_edns_version(pkt, version);
		if (opts != NULL)
			ldns_pkt_set_edns_data(
				pkt, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, optlen, opts));
	}
	ck_assert_int_eq(ldns_pkt2wire(wire, pkt, &len), LDNS_STATUS_OK);
	ldns_pkt_free(pkt);
	return len;
}

/* Header + question "a.example. A IN", written by hand. */
static void put_query_head(struct wire_writer *w, uint16_t flags, uint16_t qd, uint16_t an,
			   uint16_t ns, uint16_t ar)
{
	struct dns_header h = {.id = 7,
			       .flags = flags,
			       .qdcount = qd,
			       .ancount = an,
			       .nscount = ns,
			       .arcount = ar};

	wire_put_header(w, &h);
	if (qd > 0) {
		wire_put_bytes(w,
			       "\x01"
			       "a\x07"
			       "example\x00",
			       11);
		wire_put_u16(w, DNS_TYPE_A);
		wire_put_u16(w, DNS_CLASS_IN);
	}
}

/* An OPT record: root, type 41, size, TTL, no options. */
static void put_opt(struct wire_writer *w, uint16_t size, uint32_t ttl)
{
	wire_put_u8(w, 0);
	wire_put_u16(w, DNS_TYPE_OPT);
	wire_put_u16(w, size);
	wire_put_u32(w, ttl);
	wire_put_u16(w, 0);
}

/* ------------------------------------------------------------ cursor */

START_TEST(cursor_reads)
{
	static const uint8_t b[] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde};
	struct wire_cursor c;

	wire_cursor_init(&c, b, sizeof(b));
	ck_assert_uint_eq(wire_u8(&c), 0x12);
	ck_assert_uint_eq(wire_u16(&c), 0x3456);
	ck_assert_uint_eq(wire_u32(&c), 0x789abcdeu);
	ck_assert(wire_ok(&c));
	ck_assert_uint_eq(wire_remaining(&c), 0);
	ck_assert_uint_eq(wire_u8(&c), 0);
	ck_assert(!wire_ok(&c));
}
END_TEST

START_TEST(cursor_u32_high_bit)
{
	static const uint8_t b[] = {0xff, 0xff, 0xff, 0xfe};
	struct wire_cursor c;

	wire_cursor_init(&c, b, sizeof(b));
	ck_assert_uint_eq(wire_u32(&c), 0xfffffffeu);
	ck_assert(wire_ok(&c));
}
END_TEST

START_TEST(cursor_sticky_error)
{
	static const uint8_t b[] = {1, 2, 3};
	struct wire_cursor c;

	wire_cursor_init(&c, b, sizeof(b));
	wire_skip(&c, 2);
	/* Only one byte is left: a u16 fails and does not move. */
	ck_assert_uint_eq(wire_u16(&c), 0);
	ck_assert(!wire_ok(&c));
	ck_assert_uint_eq(c.pos, 2);
	/* After the error every read gives 0, even one that would fit. */
	ck_assert_uint_eq(wire_u8(&c), 0);
	ck_assert_ptr_null(wire_bytes(&c, 0));
	ck_assert_uint_eq(wire_remaining(&c), 0);
	wire_seek(&c, 0);
	ck_assert(!wire_ok(&c));
	ck_assert_uint_eq(wire_u8(&c), 0);
}
END_TEST

START_TEST(cursor_bounds)
{
	static const uint8_t b[] = {1, 2, 3, 4};
	struct wire_cursor c;

	wire_cursor_init(&c, b, sizeof(b));
	ck_assert_ptr_eq(wire_bytes(&c, 4), b);
	ck_assert(wire_ok(&c));
	ck_assert_ptr_nonnull(wire_bytes(&c, 0));
	ck_assert_ptr_null(wire_bytes(&c, 1));
	ck_assert(!wire_ok(&c));

	wire_cursor_init(&c, b, sizeof(b));
	wire_skip(&c, (size_t)-1);
	ck_assert(!wire_ok(&c));

	wire_cursor_init(&c, b, sizeof(b));
	wire_seek(&c, 4);
	ck_assert(wire_ok(&c));
	ck_assert_uint_eq(wire_remaining(&c), 0);
	wire_seek(&c, 5);
	ck_assert(!wire_ok(&c));

	wire_cursor_init(&c, NULL, 0);
	ck_assert_uint_eq(wire_u32(&c), 0);
	ck_assert(!wire_ok(&c));
}
END_TEST

/* ------------------------------------------------------------ names */

START_TEST(name_plain)
{
	static const uint8_t b[] = "\x03www\x07"
				   "example\x03"
				   "com\x00"
				   "XY";
	uint8_t out[DNS_NAME_MAX], labels = 0;
	struct wire_cursor c;

	wire_cursor_init(&c, b, sizeof(b) - 1);
	ck_assert_uint_eq(wire_name(&c, out, &labels), 17);
	ck_assert_uint_eq(labels, 3);
	ck_assert_mem_eq(out, b, 17);
	ck_assert_uint_eq(c.pos, 17);
	ck_assert_uint_eq(wire_u16(&c), 0x5859);
}
END_TEST

START_TEST(name_root)
{
	static const uint8_t b[] = {0};
	uint8_t out[DNS_NAME_MAX], labels = 9;
	struct wire_cursor c;

	wire_cursor_init(&c, b, 1);
	ck_assert_uint_eq(wire_name(&c, out, &labels), 1);
	ck_assert_uint_eq(labels, 0);
	ck_assert_uint_eq(out[0], 0);
}
END_TEST

START_TEST(name_compressed)
{
	/* offset 0: example.com; offset 13: www + pointer to 0; then a pointer
	 * to 13 and a trailing byte. */
	static const uint8_t b[] = "\x07"
				   "example\x03"
				   "com\x00"
				   "\x03www\xc0\x00"
				   "\xc0\x0d"
				   "Z";
	static const uint8_t want[] = "\x03www\x07"
				      "example\x03"
				      "com";
	uint8_t out[DNS_NAME_MAX], labels = 0;
	struct wire_cursor c;

	wire_cursor_init(&c, b, sizeof(b) - 1);
	wire_seek(&c, 13);
	ck_assert_uint_eq(wire_name(&c, out, &labels), sizeof(want));
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_uint_eq(labels, 3);
	/* The cursor ends right after the first pointer. */
	ck_assert_uint_eq(c.pos, 19);
	/* A pointer to a pointer. */
	ck_assert_uint_eq(wire_name(&c, out, NULL), sizeof(want));
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_uint_eq(c.pos, 21);
	ck_assert_uint_eq(wire_u8(&c), 'Z');
	/* wire_skip_name moves the same way. */
	wire_seek(&c, 13);
	wire_skip_name(&c);
	ck_assert(wire_ok(&c));
	ck_assert_uint_eq(c.pos, 19);
}
END_TEST

START_TEST(name_pointer_to_self)
{
	static const uint8_t b[] = {0xc0, 0x00};
	uint8_t out[DNS_NAME_MAX];
	struct wire_cursor c;

	wire_cursor_init(&c, b, sizeof(b));
	ck_assert_uint_eq(wire_name(&c, out, NULL), 0);
	ck_assert(!wire_ok(&c));
}
END_TEST

START_TEST(name_pointer_loop)
{
	/* "a" then a pointer back to the "a": a.a.a.a... forever. */
	static const uint8_t b[] = {0x01, 'a', 0xc0, 0x00};
	uint8_t out[DNS_NAME_MAX];
	struct wire_cursor c;

	wire_cursor_init(&c, b, sizeof(b));
	ck_assert_uint_eq(wire_name(&c, out, NULL), 0);
	ck_assert(!wire_ok(&c));
	wire_cursor_init(&c, b, sizeof(b));
	wire_skip_name(&c);
	ck_assert(!wire_ok(&c));
}
END_TEST

START_TEST(name_pointer_chain_limit)
{
	/* A chain of 40 pointers, each to the one before, ending at the root:
	 * more than DNS_PTR_MAX pointers is an error even though no byte is
	 * read twice. */
	uint8_t b[1 + 2 * 40], out[DNS_NAME_MAX];
	struct wire_cursor c;
	size_t i;

	b[0] = 0;
	for (i = 0; i < 40; i++) {
		b[1 + 2 * i] = 0xc0;
		b[2 + 2 * i] = (uint8_t)(i == 0 ? 0 : 1 + 2 * (i - 1));
	}
	wire_cursor_init(&c, b, sizeof(b));
	wire_seek(&c, 1 + 2 * 39);
	ck_assert_uint_eq(wire_name(&c, out, NULL), 0);
	ck_assert(!wire_ok(&c));
	/* DNS_PTR_MAX of them are fine. */
	wire_cursor_init(&c, b, sizeof(b));
	wire_seek(&c, 1 + 2 * (DNS_PTR_MAX - 1));
	ck_assert_uint_eq(wire_name(&c, out, NULL), 1);
	ck_assert(wire_ok(&c));
}
END_TEST

START_TEST(name_forward_pointer)
{
	static const uint8_t b[] = {0xc0, 0x02, 0x00};
	uint8_t out[DNS_NAME_MAX];
	struct wire_cursor c;

	wire_cursor_init(&c, b, sizeof(b));
	ck_assert_uint_eq(wire_name(&c, out, NULL), 0);
	ck_assert(!wire_ok(&c));
}
END_TEST

START_TEST(name_pointer_truncated)
{
	static const uint8_t b[] = {0x00, 0xc0};
	uint8_t out[DNS_NAME_MAX];
	struct wire_cursor c;

	wire_cursor_init(&c, b, sizeof(b));
	wire_seek(&c, 1);
	ck_assert_uint_eq(wire_name(&c, out, NULL), 0);
	ck_assert(!wire_ok(&c));
}
END_TEST

START_TEST(name_label_types)
{
	/* 0x40 (extended label, RFC 6891 section 5) and 0x80 (reserved). */
	static const uint8_t b40[] = {0x41, 0x00, 0x00};
	static const uint8_t b80[] = {0x81, 0x00, 0x00};
	uint8_t out[DNS_NAME_MAX];
	struct wire_cursor c;

	wire_cursor_init(&c, b40, sizeof(b40));
	ck_assert_uint_eq(wire_name(&c, out, NULL), 0);
	ck_assert(!wire_ok(&c));
	wire_cursor_init(&c, b80, sizeof(b80));
	ck_assert_uint_eq(wire_name(&c, out, NULL), 0);
	ck_assert(!wire_ok(&c));
}
END_TEST

START_TEST(name_label_overrun)
{
	static const uint8_t b[] = {0x05, 'a', 'b', 'c'};
	static const uint8_t noroot[] = {0x01, 'a'};
	uint8_t out[DNS_NAME_MAX];
	struct wire_cursor c;

	wire_cursor_init(&c, b, sizeof(b));
	ck_assert_uint_eq(wire_name(&c, out, NULL), 0);
	ck_assert(!wire_ok(&c));
	wire_cursor_init(&c, noroot, sizeof(noroot));
	ck_assert_uint_eq(wire_name(&c, out, NULL), 0);
	ck_assert(!wire_ok(&c));
}
END_TEST

/* Writes labels of the given lengths ('x' bytes) and a root; returns length. */
static size_t mk_name(uint8_t *b, const size_t *lens, size_t n)
{
	size_t pos = 0, i;

	for (i = 0; i < n; i++) {
		b[pos++] = (uint8_t)lens[i];
		memset(b + pos, 'x', lens[i]);
		pos += lens[i];
	}
	b[pos++] = 0;
	return pos;
}

START_TEST(name_length_limits)
{
	static const size_t ok[] = {63, 63, 63, 61};	   /* 255 bytes */
	static const size_t too_long[] = {63, 63, 63, 62}; /* 256 bytes */
	uint8_t b[300], out[DNS_NAME_MAX], labels;
	struct wire_cursor c;
	size_t len;

	len = mk_name(b, ok, 4);
	ck_assert_uint_eq(len, 255);
	wire_cursor_init(&c, b, len);
	ck_assert_uint_eq(wire_name(&c, out, &labels), 255);
	ck_assert_uint_eq(labels, 4);
	ck_assert_mem_eq(out, b, 255);

	len = mk_name(b, too_long, 4);
	wire_cursor_init(&c, b, len);
	ck_assert_uint_eq(wire_name(&c, out, NULL), 0);
	ck_assert(!wire_ok(&c));
}
END_TEST

START_TEST(name_length_limit_through_pointer)
{
	/* 200 bytes of labels at offset 0, then 60 more bytes that point to
	 * them: 260 bytes decompressed. */
	static const size_t first[] = {63, 63, 63, 7};
	static const size_t second[] = {59};
	uint8_t b[400], out[DNS_NAME_MAX];
	struct wire_cursor c;
	size_t len, start;

	len = mk_name(b, first, 4);
	start = len;
	len += mk_name(b + len, second, 1) - 1;
	b[len++] = 0xc0;
	b[len++] = 0;
	wire_cursor_init(&c, b, len);
	wire_seek(&c, start);
	ck_assert_uint_eq(wire_name(&c, out, NULL), 0);
	ck_assert(!wire_ok(&c));
}
END_TEST

START_TEST(name_label_63)
{
	static const size_t l63[] = {63};
	uint8_t b[100], out[DNS_NAME_MAX], labels;
	struct wire_cursor c;
	size_t len = mk_name(b, l63, 1);

	wire_cursor_init(&c, b, len);
	ck_assert_uint_eq(wire_name(&c, out, &labels), 65);
	ck_assert_uint_eq(labels, 1);
}
END_TEST

START_TEST(name_text_round_trip)
{
	static const char *const names[] = {"api.openai.com", "API.OpenAI.Com", "a", "x-y_z.*.b9",
					    "generativelanguage.googleapis.com"};
	uint8_t w[DNS_NAME_MAX], w2[DNS_NAME_MAX];
	char text[1100];
	size_t i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = wire_name_from_text(names[i], w);
		ck_assert_uint_eq(n, strlen(names[i]) + 2);
		ck_assert_uint_eq(wire_name_to_text(w, n, text, sizeof(text)), strlen(names[i]));
		ck_assert_str_eq(text, names[i]);
		ck_assert_uint_eq(wire_name_from_text(text, w2), n);
		ck_assert_mem_eq(w, w2, n);
	}
	/* A trailing dot gives the same wire form. */
	n = wire_name_from_text("api.openai.com.", w2);
	ck_assert_uint_eq(n, 16);
	ck_assert_mem_eq(w2,
			 "\x03"
			 "api\x06"
			 "openai\x03"
			 "com\x00",
			 16);
}
END_TEST

START_TEST(name_text_root)
{
	uint8_t w[DNS_NAME_MAX];
	char text[8];

	ck_assert_uint_eq(wire_name_from_text(".", w), 1);
	ck_assert_uint_eq(w[0], 0);
	ck_assert_uint_eq(wire_name_from_text("", w), 1);
	ck_assert_uint_eq(wire_name_to_text(w, 1, text, sizeof(text)), 1);
	ck_assert_str_eq(text, ".");
}
END_TEST

START_TEST(name_text_rejects)
{
	uint8_t w[DNS_NAME_MAX];
	char label64[80], long_name[300];
	size_t i;

	ck_assert_uint_eq(wire_name_from_text("a..b", w), 0);
	ck_assert_uint_eq(wire_name_from_text(".a", w), 0);
	ck_assert_uint_eq(wire_name_from_text("a..", w), 0);
	ck_assert_uint_eq(wire_name_from_text("..", w), 0);
	memset(label64, 'x', 64);
	label64[64] = '\0';
	ck_assert_uint_eq(wire_name_from_text(label64, w), 0);
	label64[63] = '\0';
	ck_assert_uint_eq(wire_name_from_text(label64, w), 65);

	/* 127 labels "a." make 254 wire bytes (fine); 128 make 257. */
	for (i = 0; i < 127; i++)
		memcpy(long_name + 2 * i, "a.", 2);
	long_name[2 * 127] = '\0';
	ck_assert_uint_eq(wire_name_from_text(long_name, w), 255);
	memcpy(long_name + 2 * 127, "a", 2);
	ck_assert_uint_eq(wire_name_from_text(long_name, w), 0);
}
END_TEST

START_TEST(name_text_escapes)
{
	static const uint8_t w[] = "\x03"
				   "a.b\x02"
				   "c\x20\x00";
	char text[32];

	ck_assert_uint_eq(wire_name_to_text(w, sizeof(w) - 1, text, sizeof(text)), 12);
	ck_assert_str_eq(text, "a\\046b.c\\032");
	/* Too small an output buffer gives 0, never an overflow. */
	ck_assert_uint_eq(wire_name_to_text(w, sizeof(w) - 1, text, 12), 0);
	ck_assert_uint_eq(wire_name_to_text(w, sizeof(w) - 1, text, 13), 12);
	ck_assert_uint_eq(wire_name_to_text(w, sizeof(w) - 1, text, 1), 0);
}
END_TEST

START_TEST(name_equal_lower)
{
	static const uint8_t a[] = "\x03"
				   "API\x06"
				   "OpenAI\x03"
				   "com";
	static const uint8_t b[] = "\x03"
				   "api\x06"
				   "openai\x03"
				   "com";
	uint8_t low[sizeof(a)];

	ck_assert(wire_name_equal(a, sizeof(a), b, sizeof(b)));
	ck_assert(!wire_name_equal(a, sizeof(a), b, sizeof(b) - 1));
	wire_name_lower(low, a, sizeof(a));
	ck_assert_mem_eq(low, b, sizeof(b));
}
END_TEST

/* ------------------------------------------------------------ queries */

START_TEST(query_valid)
{
	uint8_t *wire = NULL;
	size_t len =
		mk_query(&wire, "Api.OpenAI.com.", LDNS_RR_TYPE_AAAA, false, false, 0, NULL, 0);
	struct dns_query q;

	ck_assert_int_eq(wire_parse_query(wire, len, &q), WIRE_PARSE_OK);
	ck_assert_uint_eq(q.hdr.id, 0x1234);
	ck_assert(q.hdr.flags & DNS_FLAG_RD);
	ck_assert_uint_eq(q.qname_len, 16);
	ck_assert_uint_eq(q.qname_labels, 3);
	ck_assert_mem_eq(q.qname,
			 "\x03"
			 "Api\x06"
			 "OpenAI\x03"
			 "com",
			 16);
	ck_assert_mem_eq(q.qname_lc,
			 "\x03"
			 "api\x06"
			 "openai\x03"
			 "com",
			 16);
	ck_assert_uint_eq(q.qtype, DNS_TYPE_AAAA);
	ck_assert_uint_eq(q.qclass, DNS_CLASS_IN);
	ck_assert_uint_eq(q.question_len, 20);
	ck_assert(!q.edns);
	ck_assert_uint_eq(wire_query_udp_limit(&q), 512);
	free(wire);
}
END_TEST

START_TEST(query_edns_do_cookie)
{
	static const uint8_t opts[] = {0x00, 0x0a, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t *wire = NULL;
	size_t len = mk_query(&wire, "api.openai.com.", LDNS_RR_TYPE_A, true, true, 0, opts,
			      sizeof(opts));
	struct dns_query q;

	ck_assert_int_eq(wire_parse_query(wire, len, &q), WIRE_PARSE_OK);
	ck_assert(q.edns);
	ck_assert(q.edns_do);
	ck_assert_uint_eq(q.edns_version, 0);
	ck_assert_uint_eq(q.edns_udp_size, 4096);
	ck_assert_uint_eq(q.cookie_len, 8);
	ck_assert_mem_eq(q.cookie, opts + 4, 8);
	ck_assert_uint_eq(wire_query_udp_limit(&q), DNS_EDNS_SIZE);
	free(wire);
}
END_TEST

START_TEST(query_edns_small_size)
{
	uint8_t b[64];
	struct wire_writer w;
	struct dns_query q;

	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, DNS_FLAG_RD, 1, 0, 0, 1);
	put_opt(&w, 100, 0);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_OK);
	ck_assert(q.edns);
	ck_assert(!q.edns_do);
	ck_assert_uint_eq(q.edns_udp_size, 512);
	ck_assert_uint_eq(wire_query_udp_limit(&q), 512);
}
END_TEST

START_TEST(query_bad_cookie)
{
	static const uint8_t opts[] = {0x00, 0x0a, 0x00, 0x05, 1, 2, 3, 4, 5};
	uint8_t *wire = NULL;
	size_t len =
		mk_query(&wire, "a.example.", LDNS_RR_TYPE_A, true, false, 0, opts, sizeof(opts));
	struct dns_query q;

	ck_assert_int_eq(wire_parse_query(wire, len, &q), WIRE_PARSE_FORMERR);
	free(wire);
}
END_TEST

START_TEST(query_option_overrun)
{
	/* An option claims 9 bytes but the RDATA holds 4. */
	static const uint8_t opts[] = {0x00, 0x0f, 0x00, 0x09, 1, 2, 3, 4};
	uint8_t *wire = NULL;
	size_t len =
		mk_query(&wire, "a.example.", LDNS_RR_TYPE_A, true, false, 0, opts, sizeof(opts));
	struct dns_query q;

	ck_assert_int_eq(wire_parse_query(wire, len, &q), WIRE_PARSE_FORMERR);
	free(wire);
}
END_TEST

START_TEST(query_two_opts)
{
	uint8_t b[64];
	struct wire_writer w;
	struct dns_query q;

	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, 0, 1, 0, 0, 2);
	put_opt(&w, 1232, 0);
	put_opt(&w, 1232, 0);
	ck_assert(!w.err);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_FORMERR);
	ck_assert_uint_eq(q.qname_len, 11);
}
END_TEST

START_TEST(query_opt_not_root)
{
	uint8_t b[64];
	struct wire_writer w;
	struct dns_query q;

	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, 0, 1, 0, 0, 1);
	wire_put_bytes(&w, "\x01x", 2);
	put_opt(&w, 1232, 0);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_FORMERR);
}
END_TEST

START_TEST(query_qr_set)
{
	uint8_t b[64];
	struct wire_writer w;
	struct dns_query q;

	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, DNS_FLAG_QR, 1, 0, 0, 0);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_DROP);
}
END_TEST

START_TEST(query_short)
{
	static const uint8_t b[11] = {0x12, 0x34};
	struct dns_query q;
	size_t n;

	for (n = 0; n < 12; n++)
		ck_assert_int_eq(wire_parse_query(b, n, &q), WIRE_PARSE_DROP);
}
END_TEST

START_TEST(query_qdcount)
{
	uint8_t b[64];
	struct wire_writer w;
	struct dns_query q;

	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, 0, 0, 0, 0, 0);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_FORMERR);
	ck_assert_uint_eq(q.qname_len, 0);
	ck_assert_uint_eq(q.hdr.id, 7);

	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, 0, 1, 0, 0, 0);
	wire_patch_u16(&w, 4, 2);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_FORMERR);
	ck_assert_uint_eq(q.qname_len, 0);
}
END_TEST

START_TEST(query_question_truncated)
{
	uint8_t b[64];
	struct wire_writer w;
	struct dns_query q;
	size_t n;

	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, 0, 1, 0, 0, 0);
	for (n = 12; n < w.pos; n++) {
		ck_assert_int_eq(wire_parse_query(b, n, &q), WIRE_PARSE_FORMERR);
		ck_assert_uint_eq(q.qname_len, 0);
	}
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_OK);
}
END_TEST

START_TEST(query_notify)
{
	uint8_t b[64];
	struct wire_writer w;
	struct dns_query q;

	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, 4 << 11, 1, 0, 0, 0);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_NOTIMP);
	ck_assert_uint_eq(q.qname_len, 11);
	/* A NOTIFY carries its SOA in the answer section: still NOTIMP. */
	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, 4 << 11, 1, 1, 0, 0);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_NOTIMP);
	/* UPDATE (opcode 5) with its zone count of 1. */
	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, 5 << 11, 1, 0, 1, 0);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_NOTIMP);
}
END_TEST

START_TEST(query_badvers)
{
	uint8_t *wire = NULL;
	size_t len = mk_query(&wire, "a.example.", LDNS_RR_TYPE_A, true, true, 1, NULL, 0);
	struct dns_query q;

	ck_assert_int_eq(wire_parse_query(wire, len, &q), WIRE_PARSE_BADVERS);
	ck_assert(q.edns);
	ck_assert(q.edns_do);
	ck_assert_uint_eq(q.edns_version, 1);
	ck_assert_uint_eq(q.qname_len, 11);
	free(wire);
}
END_TEST

START_TEST(query_trailing_garbage)
{
	uint8_t *wire = NULL, buf[512];
	size_t len = mk_query(&wire, "a.example.", LDNS_RR_TYPE_A, true, false, 0, NULL, 0);
	struct dns_query q;

	memcpy(buf, wire, len);
	buf[len] = 0x55;
	ck_assert_int_eq(wire_parse_query(buf, len, &q), WIRE_PARSE_OK);
	ck_assert_int_eq(wire_parse_query(buf, len + 1, &q), WIRE_PARSE_FORMERR);
	free(wire);
}
END_TEST

START_TEST(query_ancount)
{
	uint8_t b[64];
	struct wire_writer w;
	struct dns_query q;

	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, 0, 1, 1, 0, 0);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_FORMERR);
	ck_assert_uint_eq(q.qname_len, 11);
	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, 0, 1, 0, 1, 0);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_FORMERR);
}
END_TEST

START_TEST(query_additional_other)
{
	/* A non-OPT additional record is skipped; a truncated one is FORMERR. */
	uint8_t b[64];
	struct wire_writer w;
	struct dns_query q;

	wire_writer_init(&w, b, sizeof(b));
	put_query_head(&w, 0, 1, 0, 0, 1);
	wire_put_bytes(&w, "\x01x\x00", 3);
	wire_put_u16(&w, DNS_TYPE_TXT);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 0);
	wire_put_u16(&w, 2);
	wire_put_bytes(&w, "\x01y", 2);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_OK);
	ck_assert(!q.edns);
	ck_assert_int_eq(wire_parse_query(b, w.pos - 1, &q), WIRE_PARSE_FORMERR);
	/* arcount larger than the records present. */
	wire_patch_u16(&w, 10, 2);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_FORMERR);
}
END_TEST

START_TEST(query_compressed_question)
{
	/* A question name that is only a pointer to itself is malformed. */
	uint8_t b[64];
	struct wire_writer w;
	struct dns_query q;

	wire_writer_init(&w, b, sizeof(b));
	wire_put_header(&w, &(struct dns_header){.id = 1, .qdcount = 1});
	wire_put_u16(&w, 0xc00c);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	ck_assert_int_eq(wire_parse_query(b, w.pos, &q), WIRE_PARSE_FORMERR);
	ck_assert_uint_eq(q.qname_len, 0);
}
END_TEST

/* ------------------------------------------------------------ writer */

START_TEST(writer_bounds)
{
	uint8_t b[5];
	struct wire_writer w;

	wire_writer_init(&w, b, sizeof(b));
	wire_put_u32(&w, 0x01020304);
	ck_assert(!w.err);
	wire_put_u16(&w, 0x0506);
	ck_assert(w.err);
	ck_assert_uint_eq(w.pos, 4);
	wire_put_u8(&w, 9);
	ck_assert_uint_eq(w.pos, 4);
	ck_assert_mem_eq(b, "\x01\x02\x03\x04", 4);

	wire_writer_init(&w, b, sizeof(b));
	wire_put_u16(&w, 1);
	wire_patch_u16(&w, 0, 0xabcd);
	ck_assert(!w.err);
	ck_assert_mem_eq(b, "\xab\xcd", 2);
	wire_patch_u16(&w, 1, 0);
	ck_assert(w.err);
}
END_TEST

START_TEST(writer_ids)
{
	uint8_t b[12] = {0};

	wire_set_id(b, 0xbeef);
	ck_assert_uint_eq(wire_get_id(b), 0xbeef);
	ck_assert_uint_eq(b[0], 0xbe);
}
END_TEST

/* The eight-bytes-at-a-time lower-casing and upper-case test agree with a
 * byte-by-byte reference for every byte value at every position of names
 * of every length up to 24 (whole words, tails, and both). */
START_TEST(name_lower_every_byte)
{
	uint8_t src[24], dst[24];
	size_t len, pos, i, bad = 0, first_len = 0, first_pos = 0;
	unsigned b, first_b = 0;

	/* Plain comparisons in the loop, one assertion at the end: 1.6M
	 * ck_asserts would take longer than Check's default timeout under
	 * ASan. The first mismatch is reported. */
	for (len = 1; len <= sizeof(src); len++)
		for (pos = 0; pos < len; pos++)
			for (b = 0; b < 256; b++) {
				bool upper = b >= 'A' && b <= 'Z';
				bool ok;

				memset(src, 'q', sizeof(src));
				src[pos] = (uint8_t)b;
				ok = wire_name_has_upper(src, len) == upper;
				wire_name_lower(dst, src, len);
				for (i = 0; i < len; i++)
					if (dst[i] != (i == pos && upper ? b + 32 : src[i]))
						ok = false;
				/* In place, as the policy and cache use it. */
				wire_name_lower(src, src, len);
				if (memcmp(src, dst, len) != 0)
					ok = false;
				if (!ok && bad++ == 0) {
					first_len = len;
					first_pos = pos;
					first_b = b;
				}
			}
	ck_assert_msg(bad == 0, "%zu mismatches, first: len %zu pos %zu byte %u", bad, first_len,
		      first_pos, first_b);
}
END_TEST

static Suite *wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, cursor_reads);
	tcase_add_test(tc, name_lower_every_byte);
	tcase_add_test(tc, cursor_u32_high_bit);
	tcase_add_test(tc, cursor_sticky_error);
	tcase_add_test(tc, cursor_bounds);
	tcase_add_test(tc, name_plain);
	tcase_add_test(tc, name_root);
	tcase_add_test(tc, name_compressed);
	tcase_add_test(tc, name_pointer_to_self);
	tcase_add_test(tc, name_pointer_loop);
	tcase_add_test(tc, name_pointer_chain_limit);
	tcase_add_test(tc, name_forward_pointer);
	tcase_add_test(tc, name_pointer_truncated);
	tcase_add_test(tc, name_label_types);
	tcase_add_test(tc, name_label_overrun);
	tcase_add_test(tc, name_length_limits);
	tcase_add_test(tc, name_length_limit_through_pointer);
	tcase_add_test(tc, name_label_63);
	tcase_add_test(tc, name_text_round_trip);
	tcase_add_test(tc, name_text_root);
	tcase_add_test(tc, name_text_rejects);
	tcase_add_test(tc, name_text_escapes);
	tcase_add_test(tc, name_equal_lower);
	tcase_add_test(tc, query_valid);
	tcase_add_test(tc, query_edns_do_cookie);
	tcase_add_test(tc, query_edns_small_size);
	tcase_add_test(tc, query_bad_cookie);
	tcase_add_test(tc, query_option_overrun);
	tcase_add_test(tc, query_two_opts);
	tcase_add_test(tc, query_opt_not_root);
	tcase_add_test(tc, query_qr_set);
	tcase_add_test(tc, query_short);
	tcase_add_test(tc, query_qdcount);
	tcase_add_test(tc, query_question_truncated);
	tcase_add_test(tc, query_notify);
	tcase_add_test(tc, query_badvers);
	tcase_add_test(tc, query_trailing_garbage);
	tcase_add_test(tc, query_ancount);
	tcase_add_test(tc, query_additional_other);
	tcase_add_test(tc, query_compressed_question);
	tcase_add_test(tc, writer_bounds);
	tcase_add_test(tc, writer_ids);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
