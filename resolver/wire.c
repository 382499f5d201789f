/*
 * Bounds-checked reading and writing of DNS wire data (RFC 1035 section 4).
 */
#include "wire.h"

#include <string.h>

void wire_cursor_init(struct wire_cursor *c, const uint8_t *base, size_t len)
{
	c->base = base;
	c->len = len;
	c->pos = 0;
	c->err = false;
}

void wire_seek(struct wire_cursor *c, size_t offset)
{
	if (c->err || offset > c->len)
		c->err = true;
	else
		c->pos = offset;
}

/*
 * A name is a sequence of labels, each a length byte (0..63) followed by
 * that many bytes, ending with the zero-length root label, or with a
 * compression pointer (two bytes, top bits 11) to an earlier offset
 * (RFC 1035 section 4.1.4):
 *
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *     | 1  1|                OFFSET                   |
 *     +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 * Pointers must point strictly before the pointer itself, which rules out
 * loops on its own; DNS_PTR_MAX bounds the work anyway.
 */
static size_t wire_name_walk(struct wire_cursor *c, uint8_t *out, uint8_t *labels)
{
	size_t start = c->pos, pos = c->pos, end = 0, n = 0;
	unsigned ptrs = 0, nlabels = 0;
	bool jumped = false;

	if (c->err)
		return 0;
	for (;;) {
		uint8_t len;

		if (pos >= c->len)
			goto fail;
		len = c->base[pos];
		if ((len & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= c->len || ++ptrs > DNS_PTR_MAX)
				goto fail;
			target = (size_t)(len & 0x3f) << 8 | c->base[pos + 1];
			if (target >= pos)
				goto fail;
			if (!jumped) {
				/* The labels so far lie contiguous from start. */
				if (out != NULL)
					memcpy(out, c->base + start, n);
				end = pos + 2;
				jumped = true;
			}
			pos = target;
			continue;
		}
		if (len & 0xc0) /* 0x40 and 0x80: extended label types, obsolete */
			goto fail;
		if (n + 1 + len > DNS_NAME_MAX || pos + 1 + len > c->len)
			goto fail;
		if (out != NULL && jumped)
			memcpy(out + n, c->base + pos, 1 + (size_t)len);
		n += 1 + (size_t)len;
		pos += 1 + (size_t)len;
		if (len == 0)
			break;
		nlabels++;
	}
	/* Uncompressed (as a query's question is): one copy. */
	if (out != NULL && !jumped)
		memcpy(out, c->base + start, n);
	c->pos = jumped ? end : pos;
	if (labels != NULL)
		*labels = (uint8_t)nlabels;
	return n;
fail:
	c->err = true;
	return 0;
}

size_t wire_name(struct wire_cursor *c, uint8_t out[DNS_NAME_MAX], uint8_t *labels)
{
	return wire_name_walk(c, out, labels);
}

void wire_skip_name(struct wire_cursor *c)
{
	wire_name_walk(c, NULL, NULL);
}

static inline uint8_t ascii_lower(uint8_t ch)
{
	return (uint8_t)(ch + ((uint8_t)(ch - 'A') < 26 ? 32 : 0));
}

/*
 * Eight bytes at a time (SWAR): the mask has 0x80 in every byte of x that is
 * an ASCII upper-case letter. Per byte, on the low seven bits h: h + 0x3f
 * carries into bit 7 iff h >= 'A', h + 0x25 iff h > 'Z'; bytes with bit 7
 * set are not letters. No carry crosses a byte, since h + 0x3f <= 0xbe.
 */
#define WIRE_ONES 0x0101010101010101ULL
static inline uint64_t upper_mask(uint64_t x)
{
	uint64_t h = x & (0x7f * WIRE_ONES);

	return (h + 0x3f * WIRE_ONES) & ~(h + 0x25 * WIRE_ONES) & ~x & (0x80 * WIRE_ONES);
}

void wire_name_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t i = 0;

	/* Length bytes are at most 63, below 'A', so lowering every byte is
	 * safe. An upper-case letter lacks 0x20, which lower case adds. */
	for (; i + 8 <= len; i += 8) {
		uint64_t x;

		memcpy(&x, src + i, 8);
		x |= upper_mask(x) >> 2;
		memcpy(dst + i, &x, 8);
	}
	for (; i < len; i++)
		dst[i] = ascii_lower(src[i]);
}

bool wire_name_has_upper(const uint8_t *name, size_t len)
{
	size_t i = 0;
	uint64_t x;

	for (; i + 8 <= len; i += 8) {
		memcpy(&x, name + i, 8);
		if (upper_mask(x) != 0)
			return true;
	}
	if (i == len)
		return false;
	x = 0;
	memcpy(&x, name + i, len - i);
	return upper_mask(x) != 0;
}

bool wire_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	/* Mostly both sides are lower case already. */
	if (memcmp(a, b, alen) == 0)
		return true;
	for (i = 0; i < alen; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

static bool text_plain(uint8_t ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_' || ch == '*';
}

size_t wire_name_to_text(const uint8_t *name, size_t len, char *out, size_t cap)
{
	size_t pos = 0, n = 0;

	if (cap < 2)
		return 0;
	if (len == 0 || name[0] == 0) {
		out[0] = '.';
		out[1] = '\0';
		return 1;
	}
	while (pos < len && name[pos] != 0) {
		uint8_t llen = name[pos++], i;

		if (llen > DNS_LABEL_MAX || pos + llen > len)
			return 0;
		if (n > 0) {
			if (n + 1 >= cap)
				return 0;
			out[n++] = '.';
		}
		for (i = 0; i < llen; i++) {
			uint8_t ch = name[pos + i];

			if (text_plain(ch)) {
				if (n + 1 >= cap)
					return 0;
				out[n++] = (char)ch;
			} else {
				if (n + 4 >= cap)
					return 0;
				out[n++] = '\\';
				out[n++] = (char)('0' + ch / 100);
				out[n++] = (char)('0' + ch / 10 % 10);
				out[n++] = (char)('0' + ch % 10);
			}
		}
		pos += llen;
	}
	out[n] = '\0';
	return n;
}

size_t wire_name_from_text(const char *text, uint8_t out[DNS_NAME_MAX])
{
	size_t n = 0, label = 0;
	const char *p = text;

	if (text[0] == '\0' || (text[0] == '.' && text[1] == '\0')) {
		out[0] = 0;
		return 1;
	}
	/* out[label] is the length byte of the label being written. */
	out[0] = 0;
	n = 1;
	for (;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t llen = n - label - 1;

			if (llen == 0) /* empty label: "a..b" or ".a" */
				return 0;
			out[label] = (uint8_t)llen;
			if (*p == '\0' || p[1] == '\0')
				break;
			if (n + 1 > DNS_NAME_MAX - 1)
				return 0;
			label = n;
			out[n++] = 0;
			continue;
		}
		if (n - label - 1 >= DNS_LABEL_MAX || n + 1 > DNS_NAME_MAX - 1)
			return 0;
		out[n++] = (uint8_t)*p;
	}
	out[n++] = 0;
	return n;
}

/*
 * The OPT pseudo-record (RFC 6891 section 6.1.2):
 *
 *   NAME  root (one zero byte)      TYPE  41
 *   CLASS requestor's UDP size      TTL   ext-rcode(8) version(8) DO(1) Z(15)
 *   RDLEN, then options: code(16) length(16) data
 */
static enum wire_parse parse_opt(struct wire_cursor *c, struct dns_query *q)
{
	uint16_t size = wire_u16(c);
	uint32_t ttl = wire_u32(c);
	uint16_t rdlen = wire_u16(c);
	struct wire_cursor rd;
	const uint8_t *p = wire_bytes(c, rdlen);

	if (!wire_ok(c))
		return WIRE_PARSE_FORMERR;
	q->edns = true;
	q->edns_udp_size = size < DNS_UDP_MIN ? DNS_UDP_MIN : size;
	q->edns_version = (uint8_t)(ttl >> 16);
	q->edns_do = (ttl & DNS_EDNS_DO) != 0;
	wire_cursor_init(&rd, p, rdlen);
	while (wire_ok(&rd) && wire_remaining(&rd) > 0) {
		uint16_t code = wire_u16(&rd);
		uint16_t olen = wire_u16(&rd);
		const uint8_t *data = wire_bytes(&rd, olen);

		if (data == NULL)
			break;
		/* RFC 7873 section 4: client cookie 8 bytes, server cookie 8..32. */
		if (code == DNS_EDNS_OPT_COOKIE) {
			if (olen != 8 && (olen < 16 || olen > 40))
				return WIRE_PARSE_FORMERR;
			memcpy(q->cookie, data, olen);
			q->cookie_len = (uint8_t)olen;
		}
	}
	if (!wire_ok(&rd))
		return WIRE_PARSE_FORMERR;
	return q->edns_version != 0 ? WIRE_PARSE_BADVERS : WIRE_PARSE_OK;
}

enum wire_parse wire_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	struct wire_cursor c;
	enum wire_parse rc = WIRE_PARSE_OK;
	size_t qstart;
	uint16_t i;
	bool seen_opt = false;

	memset(q, 0, offsetof(struct dns_query, qname));
	q->qname_len = 0;
	q->edns = false;
	q->edns_do = false;
	q->edns_version = 0;
	q->edns_udp_size = 0;
	q->cookie_len = 0;
	q->cookie_out_len = 0;
	q->question_len = 0;
	wire_cursor_init(&c, pkt, len);
	wire_read_header(&c, &q->hdr);
	if (!wire_ok(&c) || (q->hdr.flags & DNS_FLAG_QR))
		return WIRE_PARSE_DROP;
	if (q->hdr.qdcount != 1)
		return DNS_OPCODE(q->hdr.flags) != 0 ? WIRE_PARSE_NOTIMP : WIRE_PARSE_FORMERR;

	qstart = c.pos;
	q->qname_len = (uint8_t)wire_name(&c, q->qname, &q->qname_labels);
	q->qtype = wire_u16(&c);
	q->qclass = wire_u16(&c);
	if (!wire_ok(&c)) {
		q->qname_len = 0;
		return WIRE_PARSE_FORMERR;
	}
	q->question_len = (uint16_t)(c.pos - qstart);
	wire_name_lower(q->qname_lc, q->qname, q->qname_len);
	if (DNS_OPCODE(q->hdr.flags) != 0)
		return WIRE_PARSE_NOTIMP;
	if (q->hdr.ancount != 0 || q->hdr.nscount != 0)
		return WIRE_PARSE_FORMERR;

	for (i = 0; i < q->hdr.arcount; i++) {
		uint8_t name[DNS_NAME_MAX];
		size_t nlen = wire_name(&c, name, NULL);
		uint16_t type = wire_u16(&c);

		if (!wire_ok(&c))
			return WIRE_PARSE_FORMERR;
		if (type == DNS_TYPE_OPT) {
			enum wire_parse orc;

			if (seen_opt || nlen != 1)
				return WIRE_PARSE_FORMERR;
			seen_opt = true;
			orc = parse_opt(&c, q);
			if (orc == WIRE_PARSE_FORMERR)
				return orc;
			if (orc != WIRE_PARSE_OK)
				rc = orc;
			continue;
		}
		/* Other additional records (TSIG, ...) are skipped, not honoured. */
		wire_skip(&c, 6);
		wire_skip(&c, wire_u16(&c));
		if (!wire_ok(&c))
			return WIRE_PARSE_FORMERR;
	}
	if (wire_remaining(&c) != 0)
		return WIRE_PARSE_FORMERR;
	return rc;
}

uint16_t wire_query_udp_limit(const struct dns_query *q)
{
	if (!q->edns || q->edns_udp_size < DNS_UDP_MIN)
		return DNS_UDP_MIN;
	return q->edns_udp_size > DNS_EDNS_SIZE ? DNS_EDNS_SIZE : q->edns_udp_size;
}
