/*
 * Client-neutral answers (see answer.h).
 *
 * One allocation holds everything, so an answer is freed with one free()
 * and costs one malloc header:
 *
 *     +----------------+---------------------+-------------------+---------+
 *     | struct answer  | addrs[n_addrs]      | ttl_off[n_ttls]   | msg     |
 *     |                | (struct scrub_addr) | (uint16_t)        | (bytes) |
 *     +----------------+---------------------+-------------------+---------+
 *
 * The parts are laid out in order of decreasing alignment (8, 4, 2, 1), so
 * each one starts suitably aligned without padding.
 *
 * answer_new() reads the message once through a cursor and remembers where
 * every record's TTL field is; answer_render() then only copies the bytes and
 * patches fixed offsets, which keeps the cache-hit path free of parsing and
 * of allocation.
 */
#include "answer.h"

#include <stdlib.h>
#include <string.h>

#include "synth.h"

/* EXTRA-TEXT of the Extended DNS Errors we add (RFC 8914 section 2). The
 * filter's own reason is not kept with the answer; a cached filtered answer
 * says what happened in general terms. */
#define ANSWER_STALE_TEXT    "stale answer"
#define ANSWER_FILTERED_TEXT "addresses removed by filter"

/* Offset of the flags word and the question in a message (RFC 1035 section
 * 4.1.1: the question follows the 12-byte header). */
#define ANSWER_FLAGS_OFF 2
#define ANSWER_QNAME_OFF DNS_HEADER_LEN

/* The header flags an answer keeps from the stored message. */
#define ANSWER_KEEP_FLAGS (DNS_FLAG_QR | DNS_FLAG_RA | 0x000f)
/* The header flags copied from the client's query (RFC 1035 section 4.1.1
 * for RD, RFC 4035 section 3.2.2 for CD). */
#define ANSWER_CLIENT_FLAGS (DNS_FLAG_RD | DNS_FLAG_CD)

/*
 * Clamps a TTL as received to [min_ttl, max_ttl]. RFC 2181 section 8: a TTL
 * with the most significant bit set is treated as zero. When min_ttl exceeds
 * max_ttl, max_ttl wins, so that a misconfiguration never keeps an answer
 * longer than the operator allowed.
 */
static uint32_t answer_clamp(uint32_t ttl, uint32_t min_ttl, uint32_t max_ttl)
{
	if (ttl > INT32_MAX)
		ttl = 0;
	if (ttl < min_ttl)
		ttl = min_ttl;
	if (ttl > max_ttl)
		ttl = max_ttl;
	return ttl;
}

/* Writes a 32-bit value at p through a writer that spans exactly those four
 * bytes (the wire module's rule: no direct indexing of message bytes). */
static void answer_put_u32_at(uint8_t *p, uint32_t v)
{
	struct wire_writer w;

	wire_writer_init(&w, p, 4);
	wire_put_u32(&w, v);
}

/*
 * SOA MINIMUM, the last 32 bits of the RDATA (RFC 1035 section 3.3.13):
 *
 *     /  MNAME  /  /  RNAME  /  SERIAL REFRESH RETRY EXPIRE MINIMUM
 *
 * MNAME and RNAME take at least one byte each. Returns false if the RDATA is
 * too short to hold an SOA.
 */
static bool answer_soa_minimum(const struct wire_cursor *pkt, size_t rdata, uint16_t rdlen,
			       uint32_t *minimum)
{
	struct wire_cursor c = *pkt;

	if (rdlen < 2 + 20)
		return false;
	wire_seek(&c, rdata + rdlen - 4);
	*minimum = wire_u32(&c);
	return wire_ok(&c);
}

/* What the walk over the message learns before anything is allocated. */
struct answer_scan {
	uint16_t flags;
	uint16_t qtype;
	uint8_t qname_len;
	uint16_t n_ttls;
	uint16_t ttl_off[ANSWER_MAX_TTLS];
	uint32_t ttl[ANSWER_MAX_TTLS]; /* as clamped */
	uint32_t min;		       /* smallest clamped TTL, UINT32_MAX if none */
};

/*
 * Walks the message: header, the one question (which must be uncompressed,
 * since answer_render() overwrites its bytes in place), then every record of
 * the three sections (RFC 1035 section 4.1.3):
 *
 *     /  NAME  /  TYPE(16) CLASS(16) TTL(32) RDLENGTH(16)  /  RDATA  /
 *
 * An OPT record is refused: the neutral message has none, and every client
 * gets its own (RFC 6891 section 6.1.1: OPT is per hop and never cached).
 * Bytes after the last record are refused too; scrub writes none.
 */
static bool answer_scan(const uint8_t *msg, size_t len, uint32_t min_ttl, uint32_t max_ttl,
			struct answer_scan *s)
{
	struct wire_cursor c, pkt;
	struct dns_header h;
	uint8_t qname[DNS_NAME_MAX];
	size_t qlen;
	uint32_t total, i;

	wire_cursor_init(&pkt, msg, len);
	c = pkt;
	wire_read_header(&c, &h);
	if (!wire_ok(&c) || !(h.flags & DNS_FLAG_QR) || DNS_OPCODE(h.flags) != 0 || h.qdcount != 1)
		return false;
	total = (uint32_t)h.ancount + h.nscount + h.arcount;
	if (total > ANSWER_MAX_TTLS)
		return false;
	s->flags = h.flags;

	qlen = wire_name(&c, qname, NULL);
	s->qtype = wire_u16(&c);
	wire_skip(&c, 2); /* QCLASS */
	if (!wire_ok(&c) || c.pos != ANSWER_QNAME_OFF + qlen + 4)
		return false;
	s->qname_len = (uint8_t)qlen;

	s->n_ttls = 0;
	s->min = UINT32_MAX;
	for (i = 0; i < total; i++) {
		uint16_t type, rdlen;
		uint32_t ttl, minimum;
		size_t ttl_at, rdata;

		wire_skip_name(&c);
		type = wire_u16(&c);
		wire_skip(&c, 2); /* CLASS */
		ttl_at = c.pos;
		ttl = wire_u32(&c);
		rdlen = wire_u16(&c);
		rdata = c.pos;
		wire_skip(&c, rdlen);
		if (!wire_ok(&c) || type == DNS_TYPE_OPT || ttl_at > UINT16_MAX)
			return false;
		/*
		 * RFC 2308 sections 3 and 5: a negative answer is cached for
		 * the smaller of the SOA's TTL and its MINIMUM field. The SOA
		 * of a negative answer sits in the authority section.
		 */
		if (type == DNS_TYPE_SOA && i >= h.ancount && i < (uint32_t)h.ancount + h.nscount) {
			if (!answer_soa_minimum(&pkt, rdata, rdlen, &minimum))
				return false;
			if (minimum < ttl)
				ttl = minimum;
		}
		ttl = answer_clamp(ttl, min_ttl, max_ttl);
		s->ttl_off[s->n_ttls] = (uint16_t)ttl_at;
		s->ttl[s->n_ttls] = ttl;
		s->n_ttls++;
		if (ttl < s->min)
			s->min = ttl;
	}
	return wire_ok(&c) && wire_remaining(&c) == 0;
}

struct answer *answer_new(const uint8_t *msg, size_t len, const struct scrub_result *res,
			  uint32_t min_ttl, uint32_t max_ttl, uint64_t now_ms)
{
	struct answer_scan *s = NULL;
	struct answer *a = NULL;
	size_t n_addrs = res != NULL ? res->n_addrs : 0;
	size_t addrs_at, ttl_at, msg_at, i;

	if (msg == NULL || len < DNS_HEADER_LEN || len > UINT16_MAX || n_addrs > SCRUB_MAX_ADDRS)
		return NULL;
	/* About 3 KiB: kept off the stack of the libuv worker thread. */
	s = malloc(sizeof(*s));
	if (s == NULL)
		goto out;
	if (!answer_scan(msg, len, min_ttl, max_ttl, s))
		goto out;

	addrs_at = sizeof(*a);
	ttl_at = addrs_at + n_addrs * sizeof(struct scrub_addr);
	msg_at = ttl_at + (size_t)s->n_ttls * sizeof(uint16_t);
	a = malloc(msg_at + len);
	if (a == NULL)
		goto out;
	atomic_init(&a->refs, 1);
	a->stored_ms = now_ms;
	/* An answer with no record at all (NODATA without SOA) has nothing
	 * that says how long it holds: it is fresh for the clamp of 0. */
	a->ttl = s->n_ttls > 0 ? s->min : answer_clamp(0, min_ttl, max_ttl);
	a->len = (uint16_t)len;
	a->n_ttls = s->n_ttls;
	a->rcode = (uint8_t)DNS_RCODE(s->flags);
	a->ede = (res != NULL && res->filtered && res->n_addrs == 0) ? DNS_EDE_FILTERED
								     : DNS_EDE_NONE;
	a->qname_len = s->qname_len;
	a->qtype = s->qtype;
	a->n_addrs = n_addrs;
	a->addrs = (struct scrub_addr *)((uint8_t *)a + addrs_at);
	a->ttl_off = (uint16_t *)((uint8_t *)a + ttl_at);
	a->msg = (uint8_t *)a + msg_at;

	for (i = 0; i < n_addrs; i++) {
		a->addrs[i] = res->addrs[i];
		a->addrs[i].ttl = answer_clamp(res->addrs[i].ttl, min_ttl, max_ttl);
	}
	memcpy(a->msg, msg, len);
	for (i = 0; i < s->n_ttls; i++) {
		a->ttl_off[i] = s->ttl_off[i];
		answer_put_u32_at(a->msg + s->ttl_off[i], s->ttl[i]);
	}
out:
	free(s);
	return a;
}

void answer_ref(struct answer *a)
{
	atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
}

void answer_unref(struct answer *a)
{
	if (a == NULL)
		return;
	/* Release our writes; the thread that frees acquires everyone's. */
	if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) == 1)
		free(a);
}

/* Whole seconds since the answer was stored (0 if the clock reads earlier,
 * as another thread's now_ms may). */
static uint64_t answer_elapsed_s(const struct answer *a, uint64_t now_ms)
{
	return now_ms > a->stored_ms ? (now_ms - a->stored_ms) / 1000 : 0;
}

uint32_t answer_remaining(const struct answer *a, uint64_t now_ms)
{
	uint64_t elapsed = answer_elapsed_s(a, now_ms);

	return elapsed < a->ttl ? (uint32_t)(a->ttl - elapsed) : 0;
}

bool answer_expired(const struct answer *a, uint64_t now_ms)
{
	return answer_remaining(a, now_ms) == 0;
}

/*
 * Checks that q asks the question the answer holds: the same name up to
 * case (RFC 4343), type and class. A cache key guarantees this; checking it
 * again keeps a caller's mistake from sending a client someone else's data.
 */
static bool answer_matches(const struct answer *a, const struct dns_query *q)
{
	struct wire_cursor c;
	const uint8_t *name;
	uint16_t qtype, qclass;

	if (q->qname_len != a->qname_len)
		return false;
	wire_cursor_init(&c, a->msg, a->len);
	wire_seek(&c, ANSWER_QNAME_OFF);
	name = wire_bytes(&c, a->qname_len);
	qtype = wire_u16(&c);
	qclass = wire_u16(&c);
	return wire_ok(&c) && wire_name_equal(name, a->qname_len, q->qname_lc, q->qname_len) &&
	       qtype == q->qtype && qclass == q->qclass;
}

size_t answer_render(const struct answer *a, const struct dns_query *q, uint64_t now_ms, bool stale,
		     uint8_t *out, size_t cap)
{
	struct wire_writer w, qw;
	struct wire_cursor c;
	uint64_t elapsed = answer_elapsed_s(a, now_ms);
	uint16_t flags;
	size_t i;
	int ede = a->ede;
	const char *ede_text = NULL;

	if (!answer_matches(a, q))
		return 0;
	wire_cursor_init(&c, a->msg, a->len);

	wire_writer_init(&w, out, cap);
	wire_put_bytes(&w, a->msg, a->len);
	if (w.err)
		return 0;

	/* Header: the client's ID, RD and CD; QR, RA and RCODE as stored. */
	wire_seek(&c, ANSWER_FLAGS_OFF);
	flags = wire_u16(&c);
	if (!wire_ok(&c))
		return 0;
	wire_set_id(out, q->hdr.id);
	wire_patch_u16(
		&w, ANSWER_FLAGS_OFF,
		(uint16_t)((flags & ANSWER_KEEP_FLAGS) | (q->hdr.flags & ANSWER_CLIENT_FLAGS)));

	/* The question as the client spelled it (RFC 1034 section 3.1 asks
	 * that case be preserved; some clients check it, as with 0x20
	 * randomization). answer_matches() made sure only case differs. */
	wire_writer_init(&qw, out + ANSWER_QNAME_OFF, a->qname_len);
	wire_put_bytes(&qw, q->qname, q->qname_len);

	/* RFC 1035 section 3.2.1 and RFC 8767 section 4: what is left of each
	 * TTL, or the fixed stale TTL. */
	for (i = 0; i < a->n_ttls; i++) {
		uint32_t ttl;

		wire_seek(&c, a->ttl_off[i]);
		ttl = wire_u32(&c);
		if (!wire_ok(&c))
			return 0;
		if (stale)
			ttl = ANSWER_STALE_TTL;
		else
			ttl = elapsed < ttl ? (uint32_t)(ttl - elapsed) : 0;
		answer_put_u32_at(out + a->ttl_off[i], ttl);
	}

	if (ede >= 0)
		ede_text = ANSWER_FILTERED_TEXT;
	else if (stale) {
		ede = DNS_EDE_STALE; /* RFC 8914 section 4.4 */
		ede_text = ANSWER_STALE_TEXT;
	}
	synth_put_opt(&w, q, 0, ede, ede_text);
	return w.err ? 0 : w.pos;
}
