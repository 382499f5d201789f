/*
 * Scrubbing of upstream answers (see scrub.h for the rules).
 *
 * The answer is read in passes over the packet, all through a wire_cursor,
 * so that nothing is allocated and nothing is stored per record:
 *
 *  1. header and question, checked against the client's query;
 *  2. every record of every section, checked for bounds and for well-formed
 *     names in owner and RDATA (a bad packet fails here, before anything is
 *     written);
 *  3. the CNAME chain from the query name, one scan of the answer section
 *     per link (at most SCRUB_MAX_CNAMES scans);
 *  4. writing: the chain, then the records of the query type at the chain's
 *     end (A/AAAA filtered, SVCB/HTTPS hints rewritten), then for a negative
 *     answer the zone's SOA.
 */
#include "scrub.h"

#include <string.h>

#include "synth.h"

/* One resource record (RFC 1035 section 4.1.3) as the scan sees it:
 *
 *     /  NAME  /  TYPE(16) CLASS(16) TTL(32) RDLENGTH(16)  /  RDATA  /
 */
struct scrub_rr {
	size_t start; /* offset of the owner name in the packet */
	uint8_t owner[DNS_NAME_MAX];
	size_t owner_len;
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata; /* offset of the RDATA in the packet */
};

/* Offsets of the sections, and what the validation pass learned. */
struct scrub_msg {
	struct wire_cursor pkt; /* the whole packet; copied for each scan */
	struct dns_header hdr;
	size_t an_start;
	size_t ns_start;
};

/* SvcParamKeys we read (RFC 9460 section 14.3.2). */
enum scrub_svc_key {
	SCRUB_SVC_MANDATORY = 0,
	SCRUB_SVC_IPV4HINT = 4,
	SCRUB_SVC_IPV6HINT = 6,
};

/* Reads the record at the cursor, leaving the cursor after its RDATA. */
static bool scrub_read_rr(struct wire_cursor *c, struct scrub_rr *rr)
{
	rr->start = c->pos;
	rr->owner_len = wire_name(c, rr->owner, NULL);
	rr->type = wire_u16(c);
	rr->rclass = wire_u16(c);
	rr->ttl = wire_u32(c);
	rr->rdlen = wire_u16(c);
	rr->rdata = c->pos;
	wire_skip(c, rr->rdlen);
	return wire_ok(c);
}

/* A cursor over the whole packet, positioned at offset. */
static struct wire_cursor scrub_at(const struct scrub_msg *m, size_t offset)
{
	struct wire_cursor c = m->pkt;

	wire_seek(&c, offset);
	return c;
}

/*
 * SVCB and HTTPS RDATA (RFC 9460 section 2.2), with the cursor at its start
 * and end the offset just after it:
 *
 *     +----------------+------------------+---------------------------------+
 *     | SvcPriority(16)| TargetName       | SvcParams                       |
 *     +----------------+------------------+---------------------------------+
 *     SvcParam:  | SvcParamKey(16) | SvcParamValue length(16) | value |
 *
 * TargetName must not be compressed (RFC 9460 section 2.2), but a pointer is
 * accepted as in any other name and the name is written out uncompressed.
 * The keys must be strictly increasing (section 2.2), every value must lie
 * within the RDATA, and ipv4hint/ipv6hint (section 7.3) must hold one or
 * more whole addresses. The parameters of an AliasMode record are checked
 * the same way: we rewrite them (scrub_put_svcb) even if clients ignore them.
 */
static bool scrub_check_svcb(struct wire_cursor *c, size_t end)
{
	int32_t prev = -1;
	uint16_t key, len;

	wire_skip(c, 2);
	wire_skip_name(c);
	while (wire_ok(c) && c->pos < end) {
		key = wire_u16(c);
		len = wire_u16(c);
		if (!wire_ok(c) || (int32_t)key <= prev || c->pos > end || end - c->pos < len)
			return false;
		if ((key == SCRUB_SVC_IPV4HINT && (len == 0 || len % 4 != 0)) ||
		    (key == SCRUB_SVC_IPV6HINT && (len == 0 || len % 16 != 0)))
			return false;
		wire_skip(c, len);
		prev = key;
	}
	return wire_ok(c) && c->pos == end;
}

/*
 * Checks the RDATA of the types whose RDATA we interpret or rewrite: names
 * (possibly compressed, RFC 1035 section 4.1.4) must be valid and the fields
 * must fill RDLENGTH exactly. Compression pointers may point anywhere before
 * them in the packet, so the cursor spans the whole packet and the end is
 * checked afterwards.
 *
 *   A      4 bytes                     (RFC 1035 section 3.4.1)
 *   AAAA   16 bytes                    (RFC 3596 section 2.2)
 *   CNAME, NS, PTR: one name           (RFC 1035 sections 3.3.1, 3.3.11, 3.3.12)
 *   MX     PREFERENCE(16), EXCHANGE    (RFC 1035 section 3.3.9)
 *   SOA    MNAME, RNAME, five 32-bit   (RFC 1035 section 3.3.13)
 *   SVCB, HTTPS: see scrub_check_svcb  (RFC 9460 section 2.2)
 */
static bool scrub_check_rdata(const struct scrub_msg *m, const struct scrub_rr *rr)
{
	struct wire_cursor c = scrub_at(m, rr->rdata);

	switch (rr->type) {
	case DNS_TYPE_A:
		return rr->rdlen == 4;
	case DNS_TYPE_AAAA:
		return rr->rdlen == 16;
	case DNS_TYPE_CNAME:
	case DNS_TYPE_NS:
	case DNS_TYPE_PTR:
		wire_skip_name(&c);
		break;
	case DNS_TYPE_MX:
		wire_skip(&c, 2);
		wire_skip_name(&c);
		break;
	case DNS_TYPE_SOA:
		wire_skip_name(&c);
		wire_skip_name(&c);
		wire_skip(&c, 20);
		break;
	case DNS_TYPE_SVCB:
	case DNS_TYPE_HTTPS:
		return scrub_check_svcb(&c, rr->rdata + rr->rdlen);
	default:
		return true;
	}
	return wire_ok(&c) && c.pos == rr->rdata + rr->rdlen;
}

/* Writes a record's owner, TYPE, CLASS, TTL and a zero RDLENGTH; returns the
 * offset of RDLENGTH, to be patched once the RDATA is written. */
static size_t scrub_put_head(struct wire_writer *w, const struct scrub_rr *rr)
{
	size_t rdlen_at;

	wire_put_bytes(w, rr->owner, rr->owner_len);
	wire_put_u16(w, rr->type);
	wire_put_u16(w, rr->rclass);
	wire_put_u32(w, rr->ttl);
	rdlen_at = w->pos;
	wire_put_u16(w, 0);
	return rdlen_at;
}

/*
 * Copies a record with its owner and the names in its RDATA uncompressed,
 * so that the record means the same in our message as in the upstream's
 * (RFC 3597 section 4: only the RFC 1035 types may carry compressed names;
 * everything else is copied as is). SVCB and HTTPS, whose TargetName is
 * decompressed too, are written by scrub_put_svcb.
 */
static void scrub_put_rr(struct wire_writer *w, const struct scrub_msg *m,
			 const struct scrub_rr *rr)
{
	struct wire_cursor c = scrub_at(m, rr->rdata);
	uint8_t name[DNS_NAME_MAX];
	size_t rdlen_at = scrub_put_head(w, rr), n;

	switch (rr->type) {
	case DNS_TYPE_CNAME:
	case DNS_TYPE_NS:
	case DNS_TYPE_PTR:
		n = wire_name(&c, name, NULL);
		wire_put_bytes(w, name, n);
		break;
	case DNS_TYPE_MX:
		wire_put_u16(w, wire_u16(&c));
		n = wire_name(&c, name, NULL);
		wire_put_bytes(w, name, n);
		break;
	case DNS_TYPE_SOA:
		n = wire_name(&c, name, NULL);
		wire_put_bytes(w, name, n);
		n = wire_name(&c, name, NULL);
		wire_put_bytes(w, name, n);
		wire_put_bytes(w, wire_bytes(&c, 20), 20);
		break;
	default:
		wire_put_bytes(w, wire_bytes(&c, rr->rdlen), rr->rdlen);
		break;
	}
	/* The validation pass read the same bytes; failing now is a bug, but a
	 * failed read must still not produce a half-written record. */
	if (!wire_ok(&c))
		w->err = true;
	if (!w->err)
		wire_patch_u16(w, rdlen_at, (uint16_t)(w->pos - rdlen_at - 2));
}

/*
 * Finds the first CNAME of class qclass owned by name in the answer section.
 * RFC 2181 section 10.1 allows one CNAME per name; any further ones are
 * dropped with the other records.
 */
static bool scrub_find_cname(const struct scrub_msg *m, uint16_t qclass, const uint8_t *name,
			     size_t len, struct scrub_rr *rr)
{
	struct wire_cursor c = scrub_at(m, m->an_start);
	uint16_t i;

	for (i = 0; i < m->hdr.ancount; i++) {
		if (!scrub_read_rr(&c, rr))
			return false;
		if (rr->type == DNS_TYPE_CNAME && rr->rclass == qclass &&
		    wire_name_equal(rr->owner, rr->owner_len, name, len))
			return true;
	}
	return false;
}

/* Whether name equals zone or lies below it (both uncompressed wire form). */
static bool scrub_name_under(const uint8_t *name, size_t len, const uint8_t *zone, size_t zlen)
{
	struct wire_cursor c;
	uint8_t llen;

	wire_cursor_init(&c, name, len);
	for (;;) {
		if (wire_remaining(&c) == zlen && wire_name_equal(name + c.pos, zlen, zone, zlen))
			return true;
		llen = wire_u8(&c);
		if (llen == 0 || !wire_ok(&c))
			return false;
		wire_skip(&c, llen);
	}
}

static void scrub_min_ttl(struct scrub_result *res, uint32_t ttl)
{
	if (ttl < res->min_ttl)
		res->min_ttl = ttl;
}

static bool scrub_v4_rebinding(const uint8_t *a)
{
	return a[0] == 0 ||			       /* 0/8, RFC 1122 3.2.1.3 */
	       a[0] == 10 ||			       /* RFC 1918 */
	       (a[0] == 100 && (a[1] & 0xc0) == 64) || /* CGNAT, RFC 6598 */
	       a[0] == 127 ||			       /* loopback */
	       (a[0] == 169 && a[1] == 254) ||	       /* link-local, RFC 3927 */
	       (a[0] == 172 && (a[1] & 0xf0) == 16) || /* RFC 1918 */
	       (a[0] == 192 && a[1] == 168);	       /* RFC 1918 */
}

/* ::ffff:0:0/96, IPv4-mapped addresses (RFC 4291 section 2.5.5.2). */
static bool scrub_v6_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

/* Families are 4 and 6 as in struct scrub_addr; AF_INET (2) and AF_INET6
 * (10) are accepted too, as they cannot be confused with them. */
static int scrub_family(int family)
{
	if (family == 4 || family == 2)
		return 4;
	if (family == 6 || family == 10)
		return 6;
	return 0;
}

bool scrub_addr_rebinding(int family, const uint8_t *addr)
{
	static const uint8_t zero[16];

	switch (scrub_family(family)) {
	case 4:
		return scrub_v4_rebinding(addr);
	case 6:
		if (memcmp(addr, zero, 15) == 0 && addr[15] <= 1) /* :: and ::1 */
			return true;
		if ((addr[0] & 0xfe) == 0xfc) /* ULA fc00::/7, RFC 4193 */
			return true;
		if (addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80) /* fe80::/10 */
			return true;
		return scrub_v6_mapped(addr) && scrub_v4_rebinding(addr + 12);
	default:
		return false;
	}
}

bool scrub_addr_metadata(int family, const uint8_t *addr)
{
	/* fd00:ec2::254, the IPv6 address of the EC2 instance metadata service. */
	static const uint8_t ec2[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
					0,    0,    0,	  0,	0, 0, 0x02, 0x54};

	switch (scrub_family(family)) {
	case 4:
		return addr[0] == 169 && addr[1] == 254;
	case 6:
		if (memcmp(addr, ec2, sizeof(ec2)) == 0)
			return true;
		return scrub_v6_mapped(addr) && addr[12] == 169 && addr[13] == 254;
	default:
		return false;
	}
}

/*
 * Whether an active filter removes addr (point 3 of scrub.h); *why gets the
 * reason for the EDE text if so.
 */
static bool scrub_addr_filtered(int family, const uint8_t *addr, const struct scrub_opts *o,
				const char **why)
{
	if (o->block_metadata && scrub_addr_metadata(family, addr)) {
		*why = "metadata endpoint address removed";
		return true;
	}
	if (o->rebinding_guard && scrub_addr_rebinding(family, addr)) {
		*why = "private address removed (rebinding guard)";
		return true;
	}
	return false;
}

/* Records an address for publishing; false if SCRUB_MAX_ADDRS are taken. */
static bool scrub_add_addr(struct scrub_result *res, int family, const uint8_t *addr, uint32_t ttl,
			   bool hint)
{
	struct scrub_addr *sa;

	if (res->n_addrs >= SCRUB_MAX_ADDRS)
		return false;
	sa = &res->addrs[res->n_addrs++];
	memset(sa, 0, sizeof(*sa));
	sa->family = (uint8_t)family;
	memcpy(sa->addr, addr, family == 4 ? 4 : 16);
	sa->ttl = ttl;
	sa->hint = hint;
	return true;
}

/*
 * Records a hint address unless it is recorded already: the records of an
 * HTTPS RRset commonly repeat the same hints, and a repeat must not take one
 * of the SCRUB_MAX_ADDRS places.
 */
static bool scrub_add_hint(struct scrub_result *res, int family, const uint8_t *addr, uint32_t ttl)
{
	size_t i, alen = family == 4 ? 4 : 16;

	for (i = 0; i < res->n_addrs; i++)
		if (res->addrs[i].family == family && memcmp(res->addrs[i].addr, addr, alen) == 0)
			return true;
	return scrub_add_addr(res, family, addr, ttl, true);
}

/*
 * Decides the fate of one A or AAAA record at the chain's end. Returns true
 * to keep it (and records the address), false to drop it; *why gets the
 * reason for the EDE text when a filter removed it.
 */
static bool scrub_take_addr(const struct scrub_msg *m, const struct scrub_rr *rr,
			    const struct scrub_opts *o, struct scrub_result *res, const char **why)
{
	struct wire_cursor c = scrub_at(m, rr->rdata);
	int family = rr->type == DNS_TYPE_A ? 4 : 6;
	const uint8_t *addr = wire_bytes(&c, family == 4 ? 4 : 16);

	if (addr == NULL)
		return false;
	if (scrub_addr_filtered(family, addr, o, why)) {
		res->filtered = true;
		return false;
	}
	/* An address we cannot publish must not reach the client either: the
	 * firewall would not let it through. */
	return scrub_add_addr(res, family, addr, rr->ttl, false);
}

/*
 * Writes a kept SVCB or HTTPS record (validated by scrub_check_svcb) with
 * its TargetName uncompressed and every SvcParam copied as is, except the
 * address hints (RFC 9460 section 7.3): an ipv4hint or ipv6hint keeps only
 * the addresses that are published, and is left out if none remains. An
 * address is published unless a filter removes it, SCRUB_MAX_ADDRS are
 * taken, or the record is in AliasMode (SvcPriority 0), whose SvcParams
 * clients must ignore (RFC 9460 section 2.4.2). So, as with A and AAAA, the
 * client gets no address that was not published.
 *
 * A ServiceMode record whose "mandatory" key lists a hint that is left out
 * would be malformed without it (RFC 9460 section 8), so the whole record is
 * dropped instead: false is returned, and nothing is written or recorded.
 * Hints removed by filters do not set res->filtered, which means the answer
 * was replaced by NXDOMAIN if no address remained (see scrub.h).
 */
static bool scrub_put_svcb(struct wire_writer *w, const struct scrub_msg *m,
			   const struct scrub_rr *rr, const struct scrub_opts *o,
			   struct scrub_result *res)
{
	struct wire_cursor c = scrub_at(m, rr->rdata), v;
	size_t end = rr->rdata + rr->rdlen, start = w->pos, n_addrs = res->n_addrs;
	size_t rdlen_at, key_at, n, alen, kept;
	uint8_t name[DNS_NAME_MAX];
	const uint8_t *value, *addr;
	uint16_t prio, key, len, mkey;
	bool mandatory4 = false, mandatory6 = false;
	const char *why;
	int family;

	rdlen_at = scrub_put_head(w, rr);
	prio = wire_u16(&c);
	wire_put_u16(w, prio);
	n = wire_name(&c, name, NULL);
	wire_put_bytes(w, name, n);
	while (wire_ok(&c) && c.pos < end) {
		key = wire_u16(&c);
		len = wire_u16(&c);
		value = wire_bytes(&c, len);
		if (value == NULL)
			break;
		wire_cursor_init(&v, value, len);
		if (key == SCRUB_SVC_MANDATORY) {
			/* A list of 16-bit keys (RFC 9460 section 8). */
			while (wire_remaining(&v) >= 2) {
				mkey = wire_u16(&v);
				mandatory4 |= mkey == SCRUB_SVC_IPV4HINT;
				mandatory6 |= mkey == SCRUB_SVC_IPV6HINT;
			}
		}
		if (key != SCRUB_SVC_IPV4HINT && key != SCRUB_SVC_IPV6HINT) {
			wire_put_u16(w, key);
			wire_put_u16(w, len);
			wire_put_bytes(w, value, len);
			continue;
		}
		family = key == SCRUB_SVC_IPV4HINT ? 4 : 6;
		alen = family == 4 ? 4 : 16;
		key_at = w->pos;
		wire_put_u16(w, key);
		wire_put_u16(w, 0);
		kept = 0;
		while ((addr = wire_bytes(&v, alen)) != NULL) {
			if (prio == 0 || scrub_addr_filtered(family, addr, o, &why) ||
			    !scrub_add_hint(res, family, addr, rr->ttl))
				continue;
			wire_put_bytes(w, addr, alen);
			kept++;
		}
		if (kept > 0) {
			wire_patch_u16(w, key_at + 2, (uint16_t)(kept * alen));
			continue;
		}
		if (prio != 0 && (family == 4 ? mandatory4 : mandatory6))
			goto drop;
		if (!w->err)
			w->pos = key_at;
	}
	/* The validation pass read the same bytes; see scrub_put_rr. */
	if (!wire_ok(&c) || c.pos != end)
		w->err = true;
	if (!w->err)
		wire_patch_u16(w, rdlen_at, (uint16_t)(w->pos - rdlen_at - 2));
	return true;

drop:
	res->n_addrs = n_addrs;
	if (!w->err)
		w->pos = start;
	return false;
}

/* SOA MINIMUM, the last 32 bits of the RDATA (already validated). */
static uint32_t scrub_soa_minimum(const struct scrub_msg *m, const struct scrub_rr *rr)
{
	struct wire_cursor c = scrub_at(m, rr->rdata + rr->rdlen - 4);

	return wire_u32(&c);
}

static enum scrub_status scrub_fail(struct scrub_result *res, enum scrub_status st)
{
	res->status = st;
	res->n_addrs = 0;
	res->n_cnames = 0;
	return st;
}

/*
 * Pass 2: walks every record of the three sections. Anything that does not
 * parse makes the whole answer malformed. An OPT record with a non-zero
 * extended rcode (RFC 6891 section 6.1.3) is an error answer from the
 * upstream, reported through *ext_fail.
 */
static bool scrub_validate(struct scrub_msg *m, struct wire_cursor *c, bool *ext_fail)
{
	uint32_t total = (uint32_t)m->hdr.ancount + m->hdr.nscount + m->hdr.arcount;
	uint32_t i;
	struct scrub_rr rr;

	*ext_fail = false;
	m->an_start = c->pos;
	for (i = 0; i < total; i++) {
		if (i == m->hdr.ancount)
			m->ns_start = c->pos;
		if (!scrub_read_rr(c, &rr) || !scrub_check_rdata(m, &rr))
			return false;
		if (i >= (uint32_t)m->hdr.ancount + m->hdr.nscount && rr.type == DNS_TYPE_OPT &&
		    (rr.ttl >> 24) != 0)
			*ext_fail = true;
	}
	if (m->hdr.ancount == total)
		m->ns_start = c->pos;
	return true;
}

enum scrub_status scrub_answer(const uint8_t *ans, size_t anslen, const struct dns_query *q,
			       const struct scrub_opts *o, uint8_t *out, size_t cap, size_t *outlen,
			       struct scrub_result *res)
{
	struct scrub_msg m;
	struct scrub_rr rr;
	struct wire_cursor c;
	struct wire_writer w;
	struct dns_header hdr;
	uint8_t name[DNS_NAME_MAX], end[DNS_NAME_MAX];
	size_t links[SCRUB_MAX_CNAMES];
	size_t nlen, end_len, n_links = 0, max_links, i;
	uint16_t qtype, qclass, ancount = 0, nscount = 0, seen_addrs = 0, kept_end = 0;
	const char *why = NULL;
	bool ext_fail, negative, cut;
	uint8_t rcode;

	memset(res, 0, offsetof(struct scrub_result, addrs));
	res->min_ttl = UINT32_MAX;
	*outlen = 0;
	if (cap > DNS_TCP_MAX)
		cap = DNS_TCP_MAX;
	if (q->qname_len == 0)
		return scrub_fail(res, SCRUB_MISMATCH);

	/*
	 * Pass 1: the header must answer a standard query (RFC 1035 section
	 * 4.1.1) and the question must be ours (RFC 5452 section 9.1). A
	 * header or question that cannot be read cannot be matched either.
	 */
	wire_cursor_init(&m.pkt, ans, anslen);
	c = m.pkt;
	wire_read_header(&c, &m.hdr);
	if (!wire_ok(&c) || !(m.hdr.flags & DNS_FLAG_QR) || DNS_OPCODE(m.hdr.flags) != 0 ||
	    m.hdr.qdcount != 1)
		return scrub_fail(res, SCRUB_MISMATCH);
	nlen = wire_name(&c, name, NULL);
	qtype = wire_u16(&c);
	qclass = wire_u16(&c);
	if (!wire_ok(&c) || !wire_name_equal(name, nlen, q->qname, q->qname_len) ||
	    qtype != q->qtype || qclass != q->qclass)
		return scrub_fail(res, SCRUB_MISMATCH);
	rcode = DNS_RCODE(m.hdr.flags);
	if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN)
		return scrub_fail(res, SCRUB_UPSTREAM_FAIL);
	/* A truncated answer may end in the middle of a record (RFC 2181
	 * section 9); it is retried over TCP, not parsed. */
	if (m.hdr.flags & DNS_FLAG_TC)
		return scrub_fail(res, SCRUB_TRUNCATED);

	if (!scrub_validate(&m, &c, &ext_fail))
		return scrub_fail(res, SCRUB_MALFORMED);
	if (ext_fail)
		return scrub_fail(res, SCRUB_UPSTREAM_FAIL);

	/*
	 * Pass 3: the CNAME chain (RFC 1034 section 3.6.2). A query for the
	 * CNAME itself is answered by the first link alone. A target already
	 * in the chain (a loop) ends the chain before that link, as does the
	 * link limit. A chain cut short this way ends at a name that owns a
	 * CNAME, and a CNAME owner has no other data (RFC 1034 section 3.6.2,
	 * RFC 2181 section 10.1), so nothing is taken from that name.
	 */
	memcpy(end, q->qname, q->qname_len);
	end_len = q->qname_len;
	max_links = q->qtype == DNS_TYPE_CNAME ? 1 : SCRUB_MAX_CNAMES;
	while (n_links < max_links && scrub_find_cname(&m, q->qclass, end, end_len, &rr)) {
		bool loop;

		c = scrub_at(&m, rr.rdata);
		nlen = wire_name(&c, name, NULL);
		if (!wire_ok(&c))
			return scrub_fail(res, SCRUB_MALFORMED);
		loop = wire_name_equal(name, nlen, q->qname, q->qname_len);
		for (i = 0; i < n_links && !loop; i++)
			loop = wire_name_equal(name, nlen, res->cnames[i].name, res->cnames[i].len);
		if (loop)
			break;
		links[n_links] = rr.start;
		wire_name_lower(res->cnames[n_links].name, name, nlen);
		res->cnames[n_links].len = (uint8_t)nlen;
		res->cnames[n_links].ttl = rr.ttl;
		memcpy(end, name, nlen);
		end_len = nlen;
		n_links++;
	}
	res->n_cnames = n_links;
	cut = q->qtype != DNS_TYPE_CNAME && scrub_find_cname(&m, q->qclass, end, end_len, &rr);

	/* Pass 4: the client's answer, built fresh (see scrub.h). */
	wire_writer_init(&w, out, cap);
	hdr = (struct dns_header){
		.id = q->hdr.id,
		.flags = (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RA |
				    (q->hdr.flags & (DNS_FLAG_RD | DNS_FLAG_CD)) | rcode),
		.qdcount = 1,
	};
	wire_put_header(&w, &hdr);
	wire_put_bytes(&w, q->qname, q->qname_len);
	wire_put_u16(&w, q->qtype);
	wire_put_u16(&w, q->qclass);

	for (i = 0; i < n_links; i++) {
		c = scrub_at(&m, links[i]);
		if (!scrub_read_rr(&c, &rr))
			return scrub_fail(res, SCRUB_MALFORMED);
		scrub_put_rr(&w, &m, &rr);
		scrub_min_ttl(res, rr.ttl);
		ancount++;
	}

	/*
	 * The records of the query type at the chain's end. With NXDOMAIN the
	 * end name does not exist (RFC 6604 section 3), so nothing can be
	 * owned by it; neither can anything be taken from a cut chain.
	 */
	c = scrub_at(&m, m.an_start);
	for (i = 0; rcode == DNS_RCODE_NOERROR && !cut && i < m.hdr.ancount; i++) {
		if (!scrub_read_rr(&c, &rr))
			return scrub_fail(res, SCRUB_MALFORMED);
		if (rr.type != q->qtype || rr.type == DNS_TYPE_CNAME || rr.type == DNS_TYPE_OPT ||
		    rr.rclass != q->qclass ||
		    !wire_name_equal(rr.owner, rr.owner_len, end, end_len))
			continue;
		if (rr.type == DNS_TYPE_A || rr.type == DNS_TYPE_AAAA) {
			seen_addrs++;
			if (!scrub_take_addr(&m, &rr, o, res, &why))
				continue;
		}
		if (rr.type == DNS_TYPE_SVCB || rr.type == DNS_TYPE_HTTPS) {
			if (!scrub_put_svcb(&w, &m, &rr, o, res))
				continue;
		} else {
			scrub_put_rr(&w, &m, &rr);
		}
		scrub_min_ttl(res, rr.ttl);
		ancount++;
		kept_end++;
	}

	/* DESIGN.md "Policies": an answer left with no address is NXDOMAIN. */
	if (seen_addrs > 0 && res->n_addrs == 0 && res->filtered) {
		res->status = SCRUB_OK;
		res->rcode = DNS_RCODE_NXDOMAIN;
		res->n_cnames = 0;
		res->min_ttl = o->blocked_ttl;
		*outlen = synth_blocked(q, o->blocked_ttl, DNS_EDE_FILTERED, why, out, cap);
		return SCRUB_OK;
	}

	/*
	 * A negative answer (RFC 2308 section 2) keeps the SOA of the zone that
	 * holds the chain's end, so that the client can cache it; its TTL is
	 * the smaller of the SOA's TTL and MINIMUM (RFC 2308 section 5).
	 */
	negative = rcode == DNS_RCODE_NXDOMAIN ||
		   (kept_end == 0 && !(q->qtype == DNS_TYPE_CNAME && n_links > 0));
	c = scrub_at(&m, m.ns_start);
	for (i = 0; negative && i < m.hdr.nscount; i++) {
		uint32_t minimum;

		if (!scrub_read_rr(&c, &rr))
			return scrub_fail(res, SCRUB_MALFORMED);
		if (rr.type != DNS_TYPE_SOA || rr.rclass != q->qclass ||
		    !scrub_name_under(end, end_len, rr.owner, rr.owner_len))
			continue;
		scrub_put_rr(&w, &m, &rr);
		minimum = scrub_soa_minimum(&m, &rr);
		scrub_min_ttl(res, rr.ttl < minimum ? rr.ttl : minimum);
		nscount++;
		break;
	}

	wire_patch_u16(&w, 6, ancount);
	wire_patch_u16(&w, 8, nscount);
	synth_put_opt(&w, q, 0, DNS_EDE_NONE, NULL);
	res->status = SCRUB_OK;
	res->rcode = rcode;
	if (w.err) {
		/* The caller answers SERVFAIL instead: nothing reached the
		 * client, so nothing is to be published or learned. */
		res->n_addrs = 0;
		res->n_cnames = 0;
		return SCRUB_OK;
	}
	*outlen = w.pos;
	return SCRUB_OK;
}
