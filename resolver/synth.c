/*
 * Answers the resolver writes itself (see synth.h). Everything is written
 * through a wire_writer into the caller's buffer; nothing here allocates, so
 * the blocked path never touches the heap.
 *
 * Every answer has the same frame (RFC 1035 section 4.1):
 *
 *     +---------------------+
 *     |        Header       |  client's ID, opcode, RD, CD; QR and RA set
 *     +---------------------+
 *     |       Question      |  the client's, as sent (when it was readable)
 *     +---------------------+
 *     |        Answer       |  HINFO for ANY (RFC 8482)
 *     +---------------------+
 *     |      Authority      |  SOA for a blocked name (RFC 2308)
 *     +---------------------+
 *     |      Additional     |  our OPT (RFC 6891) when the query had EDNS
 *     +---------------------+
 */
#include "synth.h"

#include <string.h>

/*
 * The question always starts right after the 12-byte header, so the owner
 * of every record we synthesize (the query name) is a compression pointer to
 * offset 12 (RFC 1035 section 4.1.4).
 */
#define SYNTH_QNAME_PTR 0xc00c

/* The OPCODE field of the flags word (RFC 1035 section 4.1.1). */
#define SYNTH_OPCODE_MASK 0x7800

/*
 * Longest EXTRA-TEXT we send. RFC 8914 section 2 puts no limit on it, but
 * the text is meant for humans and must leave room in a 512-byte answer.
 */
#define SYNTH_EDE_TEXT_MAX 200

/*
 * The SOA record of a blocked answer (RFC 1035 section 3.3.13; RFC 2308
 * section 3), ready to copy. MNAME loki-resolver.invalid. and RNAME
 * hostmaster.loki-resolver.invalid.: .invalid is reserved never to resolve
 * (RFC 6761 section 6.4). The negative TTL is the smaller of the SOA's TTL
 * and MINIMUM (RFC 2308 section 5), so both are set to the blocked TTL;
 * they and the class are patched per answer.
 *
 *     owner  0xc00c (the query name)     TYPE SOA    CLASS (patched)
 *     TTL    (patched)                   RDLENGTH 77
 *     MNAME  RNAME  SERIAL 1  REFRESH 3600  RETRY 600  EXPIRE 86400
 *     MINIMUM (patched)
 */
/* clang-format off */
static const uint8_t synth_soa[] = {
	0xc0, 0x0c,		/* owner: pointer to the query name */
	0x00, DNS_TYPE_SOA,	/* TYPE */
	0x00, 0x00,		/* CLASS (patched) */
	0x00, 0x00, 0x00, 0x00, /* TTL (patched) */
	0x00, 77,		/* RDLENGTH */
	13, 'l', 'o', 'k', 'i', '-', 'r', 'e', 's', 'o', 'l', 'v', 'e', 'r',
	7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0,	/* MNAME, 23 bytes */
	10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r',
	13, 'l', 'o', 'k', 'i', '-', 'r', 'e', 's', 'o', 'l', 'v', 'e', 'r',
	7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0,	/* RNAME, 34 bytes */
	0x00, 0x00, 0x00, 0x01, /* SERIAL 1 */
	0x00, 0x00, 0x0e, 0x10, /* REFRESH 3600 */
	0x00, 0x00, 0x02, 0x58, /* RETRY 600 */
	0x00, 0x01, 0x51, 0x80, /* EXPIRE 86400 */
	0x00, 0x00, 0x00, 0x00, /* MINIMUM (patched) */
};
/* clang-format on */
#define SYNTH_SOA_CLASS_OFF 4
#define SYNTH_SOA_TTL_OFF   6
_Static_assert(sizeof(synth_soa) == 12 + 77, "SOA RDLENGTH");

static void synth_put_u32_at(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * Writes the header and, when the client's question could be read, the
 * question. The section counts other than QDCOUNT start at zero; callers
 * patch ANCOUNT and NSCOUNT, and synth_put_opt() counts its OPT in ARCOUNT.
 * The opcode is copied as RFC 1035 section 4.1.1 asks; AA, TC and AD are
 * clear.
 */
static void synth_put_head(struct wire_writer *w, const struct dns_query *q, int rcode,
			   uint16_t extra_flags)
{
	uint16_t flags =
		(uint16_t)(DNS_FLAG_QR | DNS_FLAG_RA | extra_flags |
			   (q->hdr.flags & (SYNTH_OPCODE_MASK | DNS_FLAG_RD | DNS_FLAG_CD)) |
			   (rcode & 0xf));
	size_t qlen = q->qname_len > 0 ? (size_t)q->qname_len + 4 : 0;
	uint8_t *p;

	/* One bounds check for the header and question together. */
	if (!wire_writer_need(w, DNS_HEADER_LEN + qlen))
		return;
	p = w->base + w->pos;
	memset(p, 0, DNS_HEADER_LEN);
	wire_set_id(p, q->hdr.id);
	p[2] = (uint8_t)(flags >> 8);
	p[3] = (uint8_t)flags;
	p[5] = q->qname_len > 0 ? 1 : 0; /* QDCOUNT */
	if (qlen > 0) {
		p += DNS_HEADER_LEN;
		memcpy(p, q->qname, q->qname_len);
		p += q->qname_len;
		p[0] = (uint8_t)(q->qtype >> 8);
		p[1] = (uint8_t)q->qtype;
		p[2] = (uint8_t)(q->qclass >> 8);
		p[3] = (uint8_t)q->qclass;
	}
	w->pos += DNS_HEADER_LEN + qlen;
}

static size_t synth_done(const struct wire_writer *w)
{
	return w->err ? 0 : w->pos;
}

/*
 * Length of the EXTRA-TEXT we send: the whole text, or at most
 * SYNTH_EDE_TEXT_MAX bytes cut before a UTF-8 continuation byte (10xxxxxx)
 * so that the text stays valid UTF-8 (RFC 8914 section 2).
 */
static size_t synth_ede_text_len(const char *text)
{
	const uint8_t *t = (const uint8_t *)text;
	size_t n;

	if (text == NULL)
		return 0;
	n = strnlen(text, SYNTH_EDE_TEXT_MAX + 1);
	if (n <= SYNTH_EDE_TEXT_MAX)
		return n;
	n = SYNTH_EDE_TEXT_MAX;
	while (n > 0 && (t[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/*
 * The OPT pseudo-record (RFC 6891 section 6.1.2) with an optional COOKIE
 * option (RFC 7873 section 4) and an optional Extended DNS Error option
 * (RFC 8914 section 2), in that order:
 *
 *   NAME  0 (root)                  TYPE  41
 *   CLASS DNS_EDNS_SIZE             TTL   EXTENDED-RCODE(8) VERSION(8) DO(1) Z(15)
 *   RDLEN
 *
 *     +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *     |                       OPTION-CODE = 10                        |
 *     +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *     |                    OPTION-LENGTH = 8..40                      |
 *     +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *     /         Client Cookie (8) | Server Cookie (0, 8..32)          /
 *     +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *     |                       OPTION-CODE = 15                        |
 *     +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *     |                    OPTION-LENGTH = 2 + text                   |
 *     +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *     |                          INFO-CODE                            |
 *     +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *     /                   EXTRA-TEXT (UTF-8, no NUL)                  /
 *     +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *
 * We speak EDNS version 0 only, so VERSION is 0 (also in a BADVERS answer,
 * RFC 6891 section 6.1.3). DO is copied from the query (RFC 3225 section 3).
 * The COOKIE option carries what the server put in q->cookie_out (see
 * cookie.h): the client cookie and a fresh server cookie, which RFC 7873
 * sections 5.2.3 to 5.2.5 have the server return in its answer.
 */
void synth_put_opt(struct wire_writer *w, const struct dns_query *q, uint8_t ext_rcode, int ede,
		   const char *ede_text)
{
	struct wire_cursor hc;
	uint16_t arcount;
	size_t rdlen_at;

	if (!q->edns || w->err)
		return;
	wire_put_u8(w, 0);
	wire_put_u16(w, DNS_TYPE_OPT);
	wire_put_u16(w, DNS_EDNS_SIZE);
	wire_put_u32(w, (uint32_t)ext_rcode << 24 | (q->edns_do ? DNS_EDNS_DO : 0));
	rdlen_at = w->pos;
	wire_put_u16(w, 0);
	if (q->cookie_out_len > 0 && q->cookie_out_len <= sizeof(q->cookie_out)) {
		wire_put_u16(w, DNS_EDNS_OPT_COOKIE);
		wire_put_u16(w, q->cookie_out_len);
		wire_put_bytes(w, q->cookie_out, q->cookie_out_len);
	}
	if (ede >= 0 && ede <= 0xffff) {
		size_t tlen = synth_ede_text_len(ede_text);

		wire_put_u16(w, DNS_EDNS_OPT_EDE);
		wire_put_u16(w, (uint16_t)(2 + tlen));
		wire_put_u16(w, (uint16_t)ede);
		wire_put_bytes(w, ede_text, tlen);
	}
	if (w->err)
		return;
	wire_patch_u16(w, rdlen_at, (uint16_t)(w->pos - rdlen_at - 2));

	/* Our own header is read back through a cursor like any other wire data. */
	wire_cursor_init(&hc, w->base, w->pos);
	wire_seek(&hc, 10);
	arcount = wire_u16(&hc);
	if (!wire_ok(&hc)) {
		w->err = true;
		return;
	}
	wire_patch_u16(w, 10, (uint16_t)(arcount + 1));
}

size_t synth_error(const struct dns_query *q, int rcode, int ede, const char *ede_text,
		   uint8_t *out, size_t cap)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	synth_put_head(&w, q, rcode, 0);
	/* A 12-bit rcode keeps its upper 8 bits in the OPT (RFC 6891 section 6.1.3). */
	synth_put_opt(&w, q, (uint8_t)((rcode >> 4) & 0xff), ede, ede_text);
	return synth_done(&w);
}

size_t synth_blocked(const struct dns_query *q, uint32_t ttl, int ede, const char *ede_text,
		     uint8_t *out, size_t cap)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	synth_put_head(&w, q, DNS_RCODE_NXDOMAIN, 0);
	if (q->qname_len > 0 && wire_writer_need(&w, sizeof(synth_soa))) {
		uint8_t *rr = w.base + w.pos;

		/* The record is the same for every blocked name but for its
		 * class and the two TTLs. */
		memcpy(rr, synth_soa, sizeof(synth_soa));
		rr[SYNTH_SOA_CLASS_OFF] = (uint8_t)(q->qclass >> 8);
		rr[SYNTH_SOA_CLASS_OFF + 1] = (uint8_t)q->qclass;
		synth_put_u32_at(rr + SYNTH_SOA_TTL_OFF, ttl);
		synth_put_u32_at(rr + sizeof(synth_soa) - 4, ttl);
		w.pos += sizeof(synth_soa);
		wire_patch_u16(&w, 8, 1); /* NSCOUNT */
	}
	synth_put_opt(&w, q, 0, ede, ede_text);
	return synth_done(&w);
}

/*
 * RFC 8482 section 4.2: one HINFO RRset whose CPU field is "RFC8482" and
 * whose OS field is empty. HINFO RDATA is two <character-string>s, each a
 * length byte and that many bytes (RFC 1035 section 3.3.2).
 */
size_t synth_any(const struct dns_query *q, uint32_t ttl, uint8_t *out, size_t cap)
{
	static const uint8_t hinfo[] = "\x07RFC8482\x00";
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	synth_put_head(&w, q, DNS_RCODE_NOERROR, 0);
	if (q->qname_len > 0) {
		/* hinfo[] holds both strings; its array size counts the C NUL too. */
		wire_put_u16(&w, SYNTH_QNAME_PTR);
		wire_put_u16(&w, DNS_TYPE_HINFO);
		wire_put_u16(&w, q->qclass);
		wire_put_u32(&w, ttl);
		wire_put_u16(&w, sizeof(hinfo) - 1);
		wire_put_bytes(&w, hinfo, sizeof(hinfo) - 1);
		wire_patch_u16(&w, 6, 1); /* ANCOUNT */
	}
	synth_put_opt(&w, q, 0, DNS_EDE_NONE, NULL);
	return synth_done(&w);
}

/* RFC 1035 section 4.2.1 and RFC 2181 section 9: with TC set the client
 * retries over TCP, so the answer sections stay empty. */
size_t synth_truncated(const struct dns_query *q, uint8_t *out, size_t cap)
{
	struct wire_writer w;

	wire_writer_init(&w, out, cap);
	synth_put_head(&w, q, DNS_RCODE_NOERROR, DNS_FLAG_TC);
	synth_put_opt(&w, q, 0, DNS_EDE_NONE, NULL);
	return synth_done(&w);
}
