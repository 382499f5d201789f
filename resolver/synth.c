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

/* SOA timers of a blocked answer (RFC 1035 section 3.3.13). */
#define SYNTH_SOA_SERIAL  1
#define SYNTH_SOA_REFRESH 3600
#define SYNTH_SOA_RETRY	  600
#define SYNTH_SOA_EXPIRE  86400

/* "loki-resolver.invalid." and "hostmaster.loki-resolver.invalid." in wire
 * form; .invalid is reserved never to resolve (RFC 6761 section 6.4). */
static const uint8_t synth_mname[] = "\x0dloki-resolver\x07invalid";
static const uint8_t synth_rname[] = "\x0ahostmaster\x0dloki-resolver\x07invalid";

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
	struct dns_header h = {
		.id = q->hdr.id,
		.flags = (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RA | extra_flags |
				    (q->hdr.flags &
				     (SYNTH_OPCODE_MASK | DNS_FLAG_RD | DNS_FLAG_CD)) |
				    (rcode & 0xf)),
		.qdcount = q->qname_len > 0 ? 1 : 0,
	};

	wire_put_header(w, &h);
	if (q->qname_len == 0)
		return;
	wire_put_bytes(w, q->qname, q->qname_len);
	wire_put_u16(w, q->qtype);
	wire_put_u16(w, q->qclass);
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

/*
 * SOA RDATA (RFC 1035 section 3.3.13):
 *
 *     /  MNAME  /  /  RNAME  /  SERIAL(32) REFRESH(32) RETRY(32) EXPIRE(32) MINIMUM(32)
 *
 * The negative TTL is the smaller of the SOA's TTL and MINIMUM (RFC 2308
 * section 5), so both are set to ttl.
 */
size_t synth_blocked(const struct dns_query *q, uint32_t ttl, int ede, const char *ede_text,
		     uint8_t *out, size_t cap)
{
	struct wire_writer w;
	size_t rdlen_at;

	wire_writer_init(&w, out, cap);
	synth_put_head(&w, q, DNS_RCODE_NXDOMAIN, 0);
	if (q->qname_len > 0) {
		wire_put_u16(&w, SYNTH_QNAME_PTR);
		wire_put_u16(&w, DNS_TYPE_SOA);
		wire_put_u16(&w, q->qclass);
		wire_put_u32(&w, ttl);
		rdlen_at = w.pos;
		wire_put_u16(&w, 0);
		wire_put_bytes(&w, synth_mname, sizeof(synth_mname));
		wire_put_bytes(&w, synth_rname, sizeof(synth_rname));
		wire_put_u32(&w, SYNTH_SOA_SERIAL);
		wire_put_u32(&w, SYNTH_SOA_REFRESH);
		wire_put_u32(&w, SYNTH_SOA_RETRY);
		wire_put_u32(&w, SYNTH_SOA_EXPIRE);
		wire_put_u32(&w, ttl);
		wire_patch_u16(&w, rdlen_at, (uint16_t)(w.pos - rdlen_at - 2));
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
