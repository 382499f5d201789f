/*
 * Wire-format access. Every byte of a DNS message is read through a
 * wire_cursor (base, length, position, sticky error): after the first
 * out-of-bounds or malformed read, every further read returns 0 and does
 * nothing, so a caller checks wire_ok() once per section. No other module
 * indexes packet bytes directly (see STYLE.md, point 6).
 *
 * Writing goes through a wire_writer with the same sticky-error rule.
 * Nothing here allocates.
 */
#ifndef LOKI_WIRE_H
#define LOKI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns.h"

struct wire_cursor {
	const uint8_t *base;
	size_t len;
	size_t pos;
	bool err;
};

void wire_cursor_init(struct wire_cursor *c, const uint8_t *base, size_t len);
static inline bool wire_ok(const struct wire_cursor *c)
{
	return !c->err;
}
static inline size_t wire_remaining(const struct wire_cursor *c)
{
	return c->err ? 0 : c->len - c->pos;
}
/* The reads below are inline: they run several times per query on the
 * serving path, and a call costs more than the check itself. */
static inline bool wire_need(struct wire_cursor *c, size_t n)
{
	if (c->err || n > c->len - c->pos) {
		c->err = true;
		return false;
	}
	return true;
}
static inline uint8_t wire_u8(struct wire_cursor *c)
{
	if (!wire_need(c, 1))
		return 0;
	return c->base[c->pos++];
}
/* Network order in, host order out. */
static inline uint16_t wire_u16(struct wire_cursor *c)
{
	uint16_t v;

	if (!wire_need(c, 2))
		return 0;
	v = (uint16_t)(c->base[c->pos] << 8 | c->base[c->pos + 1]);
	c->pos += 2;
	return v;
}
static inline uint32_t wire_u32(struct wire_cursor *c)
{
	uint32_t v;

	if (!wire_need(c, 4))
		return 0;
	v = (uint32_t)c->base[c->pos] << 24 | (uint32_t)c->base[c->pos + 1] << 16 |
	    (uint32_t)c->base[c->pos + 2] << 8 | (uint32_t)c->base[c->pos + 3];
	c->pos += 4;
	return v;
}
/* Returns a pointer to the next n bytes and advances, or NULL (and sets err). */
static inline const uint8_t *wire_bytes(struct wire_cursor *c, size_t n)
{
	const uint8_t *p;

	if (!wire_need(c, n))
		return NULL;
	p = c->base + c->pos;
	c->pos += n;
	return p;
}
static inline void wire_skip(struct wire_cursor *c, size_t n)
{
	if (wire_need(c, n))
		c->pos += n;
}
/* Moves to an absolute offset; offset > len sets err. */
void wire_seek(struct wire_cursor *c, size_t offset);

/*
 * Reads a possibly compressed domain name at the cursor and writes it
 * uncompressed, in wire form (length-prefixed labels, final zero byte), to
 * out[DNS_NAME_MAX]. The cursor ends after the name as it appears in the
 * message (after the first pointer, if any). Pointers must point backwards,
 * at most DNS_PTR_MAX are followed, labels are at most 63 bytes, the whole
 * name at most 255 bytes; label types 0x40/0x80 are errors. Returns the
 * name's wire length (>= 1), or 0 with c->err set. *labels (if not NULL)
 * gets the label count, root excluded.
 */
size_t wire_name(struct wire_cursor *c, uint8_t out[DNS_NAME_MAX], uint8_t *labels);
/* Skips a name with the same checks as wire_name, without copying it. */
void wire_skip_name(struct wire_cursor *c);

/* ASCII lower-casing of a wire-form name, in place or from src to dst. */
void wire_name_lower(uint8_t *dst, const uint8_t *src, size_t len);
/* True if any byte of the name is an ASCII upper-case letter. */
bool wire_name_has_upper(const uint8_t *name, size_t len);
/* Case-insensitive equality of two uncompressed wire-form names. */
bool wire_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/*
 * Converts a wire-form name to presentation form without trailing dot
 * ("api.openai.com"; the root is "."). Bytes outside [-_a-zA-Z0-9*] and dots
 * inside labels are escaped as \DDD. Returns the length written (without the
 * NUL) or 0 if it does not fit in cap.
 */
size_t wire_name_to_text(const uint8_t *name, size_t len, char *out, size_t cap);
/*
 * Converts "api.openai.com" or "api.openai.com." (case kept) to wire form.
 * Returns the wire length or 0 for an invalid name (empty label, label over
 * 63, name over 255 bytes). "." and "" give the root.
 */
size_t wire_name_from_text(const char *text, uint8_t out[DNS_NAME_MAX]);

struct dns_header {
	uint16_t id;
	uint16_t flags;
	uint16_t qdcount;
	uint16_t ancount;
	uint16_t nscount;
	uint16_t arcount;
};

static inline void wire_read_header(struct wire_cursor *c, struct dns_header *h)
{
	h->id = wire_u16(c);
	h->flags = wire_u16(c);
	h->qdcount = wire_u16(c);
	h->ancount = wire_u16(c);
	h->nscount = wire_u16(c);
	h->arcount = wire_u16(c);
}

/* What a client's query says, parsed once on receipt. */
struct dns_query {
	struct dns_header hdr;
	uint8_t qname[DNS_NAME_MAX];	/* wire form, case as sent */
	uint8_t qname_lc[DNS_NAME_MAX]; /* wire form, lower case */
	uint8_t qname_len;
	uint8_t qname_labels;
	uint16_t qtype;
	uint16_t qclass;
	uint16_t question_len; /* bytes of the question section in the packet */
	bool edns;	       /* an OPT record was present */
	uint8_t edns_version;
	bool edns_do;
	uint16_t edns_udp_size; /* as sent by the client, raised to 512 */
	uint8_t cookie_len;	/* 0, or 8..40 bytes of the COOKIE option */
	uint8_t cookie[40];
	/* Set by the server before answering (cookie.h): client cookie +
	 * our server cookie, echoed in the OPT of every answer. */
	uint8_t cookie_out_len;
	uint8_t cookie_out[24];
};

/* Result of wire_parse_query. */
enum wire_parse {
	WIRE_PARSE_OK = 0,
	WIRE_PARSE_DROP,    /* header unreadable, or QR set: no answer at all */
	WIRE_PARSE_FORMERR, /* header read; the rest is malformed */
	WIRE_PARSE_NOTIMP,  /* opcode other than QUERY */
	WIRE_PARSE_BADVERS, /* EDNS version other than 0 */
};

/*
 * Parses a client query: header, exactly one question, and the additional
 * section looking for one OPT record at the root (RFC 6891 section 6.1.1;
 * two OPT records are FORMERR). Answer and authority sections must be empty
 * (FORMERR otherwise, as a query carries none; a NOTIFY or UPDATE is NOTIMP
 * before that check). Trailing bytes after the last record are FORMERR.
 * For every result but DROP, q->hdr is filled, and for OK, FORMERR after the
 * question, NOTIMP and BADVERS the question fields are filled if the question
 * could be read (q->qname_len > 0).
 */
enum wire_parse wire_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q);

/* The largest UDP answer this client accepts: 512 without EDNS, else its
 * advertised size clamped to [512, DNS_EDNS_SIZE]. */
uint16_t wire_query_udp_limit(const struct dns_query *q);

struct wire_writer {
	uint8_t *base;
	size_t cap;
	size_t pos;
	bool err;
};

static inline void wire_writer_init(struct wire_writer *w, uint8_t *base, size_t cap)
{
	w->base = base;
	w->cap = cap;
	w->pos = 0;
	w->err = false;
}
static inline bool wire_writer_need(struct wire_writer *w, size_t n)
{
	if (w->err || n > w->cap - w->pos) {
		w->err = true;
		return false;
	}
	return true;
}
static inline void wire_put_u8(struct wire_writer *w, uint8_t v)
{
	if (wire_writer_need(w, 1))
		w->base[w->pos++] = v;
}
static inline void wire_put_u16(struct wire_writer *w, uint16_t v)
{
	if (!wire_writer_need(w, 2))
		return;
	w->base[w->pos] = (uint8_t)(v >> 8);
	w->base[w->pos + 1] = (uint8_t)v;
	w->pos += 2;
}
static inline void wire_put_u32(struct wire_writer *w, uint32_t v)
{
	if (!wire_writer_need(w, 4))
		return;
	w->base[w->pos] = (uint8_t)(v >> 24);
	w->base[w->pos + 1] = (uint8_t)(v >> 16);
	w->base[w->pos + 2] = (uint8_t)(v >> 8);
	w->base[w->pos + 3] = (uint8_t)v;
	w->pos += 4;
}
static inline void wire_put_bytes(struct wire_writer *w, const void *p, size_t n)
{
	if (n == 0 || !wire_writer_need(w, n))
		return;
	memcpy(w->base + w->pos, p, n);
	w->pos += n;
}
/* Overwrites a 16-bit value at an absolute offset already written. */
static inline void wire_patch_u16(struct wire_writer *w, size_t offset, uint16_t v)
{
	if (w->err || offset + 2 > w->pos) {
		w->err = true;
		return;
	}
	w->base[offset] = (uint8_t)(v >> 8);
	w->base[offset + 1] = (uint8_t)v;
}
static inline void wire_put_header(struct wire_writer *w, const struct dns_header *h)
{
	wire_put_u16(w, h->id);
	wire_put_u16(w, h->flags);
	wire_put_u16(w, h->qdcount);
	wire_put_u16(w, h->ancount);
	wire_put_u16(w, h->nscount);
	wire_put_u16(w, h->arcount);
}

/* In-place edits of a complete message (len >= 12 assumed by caller). */
static inline void wire_set_id(uint8_t *pkt, uint16_t id)
{
	pkt[0] = (uint8_t)(id >> 8);
	pkt[1] = (uint8_t)id;
}
static inline uint16_t wire_get_id(const uint8_t *pkt)
{
	return (uint16_t)(pkt[0] << 8 | pkt[1]);
}

#endif
