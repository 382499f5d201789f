/*
 * Fuzz target for the upstream side: the input is an answer from an
 * upstream resolver to the fixed query "api.openai.com A" (with EDNS and
 * DO), and also to "api.openai.com HTTPS", so that the SVCB/HTTPS hint
 * rewriting is reached. It goes through scrub_answer with the rebinding
 * guard and the metadata block on. Beyond not crashing, the result must
 * keep the scrubber's promises:
 *
 *  - no kept address is in a filtered range, counts stay in their bounds,
 *    and hint addresses come only from HTTPS answers;
 *  - a written answer is itself a valid answer to the query, and scrubbing
 *    it again gives the same bytes and addresses (the scrubber is
 *    idempotent), except for the synthesized NXDOMAIN that replaces an
 *    answer whose addresses were all removed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scrub.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ID 0x1234, RD, one question "api.openai.com A IN", one OPT (size 1232, DO).
 * The query type is at QTYPE_AT; the HTTPS query differs only there. */
#define QTYPE_AT 28
static const uint8_t query_wire[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 'a',  'p',
	'i',  0x06, 'o',  'p',	'e',  'n',  'a',  'i',	0x03, 'c',  'o',  'm',	0x00, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
};

static uint8_t out[DNS_TCP_MAX], again[DNS_TCP_MAX];

static void check_result(const struct scrub_result *res)
{
	size_t i;

	if (res->n_addrs > SCRUB_MAX_ADDRS || res->n_cnames > SCRUB_MAX_CNAMES)
		abort();
	for (i = 0; i < res->n_addrs; i++) {
		const struct scrub_addr *a = &res->addrs[i];

		if (a->family != 4 && a->family != 6)
			abort();
		if (scrub_addr_rebinding(a->family, a->addr) ||
		    scrub_addr_metadata(a->family, a->addr))
			abort();
		if (a->ttl < res->min_ttl)
			abort();
	}
	for (i = 0; i < res->n_cnames; i++) {
		uint8_t lc[DNS_NAME_MAX];
		const struct scrub_cname *cn = &res->cnames[i];

		if (cn->len == 0)
			abort();
		wire_name_lower(lc, cn->name, cn->len);
		if (memcmp(lc, cn->name, cn->len) != 0)
			abort();
	}
}

static void fuzz_one(const struct dns_query *q, const uint8_t *data, size_t size)
{
	static struct scrub_result res, res2;
	const struct scrub_opts o = {
		.rebinding_guard = true, .block_metadata = true, .blocked_ttl = 30};
	enum scrub_status st;
	size_t outlen = 0, len2 = 0, i;
	bool blocked;

	st = scrub_answer(data, size, q, &o, out, sizeof(out), &outlen, &res);
	if (st != res.status)
		abort();
	if (st != SCRUB_OK) {
		if (outlen != 0 || res.n_addrs != 0)
			abort();
		return;
	}
	check_result(&res);
	/* Hint addresses come from HTTPS records, the others from A records. */
	for (i = 0; i < res.n_addrs; i++)
		if (res.addrs[i].hint != (q->qtype == DNS_TYPE_HTTPS))
			abort();
	if (outlen == 0)
		return;
	blocked = res.filtered && res.n_addrs == 0 && res.rcode == DNS_RCODE_NXDOMAIN;
	st = scrub_answer(out, outlen, q, &o, again, sizeof(again), &len2, &res2);
	if (st != SCRUB_OK || res2.rcode != res.rcode)
		abort();
	if (!blocked &&
	    (len2 != outlen || memcmp(out, again, outlen) != 0 || res2.n_addrs != res.n_addrs ||
	     res2.n_cnames != res.n_cnames || res2.min_ttl != res.min_ttl || res2.filtered ||
	     memcmp(res2.addrs, res.addrs, res.n_addrs * sizeof(res.addrs[0])) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_query qa, qhttps;
	static bool ready;
	uint8_t wire[sizeof(query_wire)];

	if (!ready) {
		memcpy(wire, query_wire, sizeof(wire));
		if (wire_parse_query(wire, sizeof(wire), &qa) != WIRE_PARSE_OK)
			abort();
		wire[QTYPE_AT + 1] = DNS_TYPE_HTTPS;
		if (wire_parse_query(wire, sizeof(wire), &qhttps) != WIRE_PARSE_OK ||
		    qhttps.qtype != DNS_TYPE_HTTPS)
			abort();
		ready = true;
	}
	fuzz_one(&qa, data, size);
	fuzz_one(&qhttps, data, size);
	return 0;
}
