/*
 * Fuzz target for the client side: the input is a query as a client would
 * send it. It goes through wire_parse_query and then, unless the packet is
 * dropped, through every answer synth.c can make for it, into buffers on the
 * stack (the blocked path must work without the heap). Each answer must be a
 * response to the query: QR set, the client's ID, at most the buffer.
 */
#include <stdint.h>
#include <stdlib.h>

#include "synth.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks an answer: empty (did not fit) or a response with the client's ID.
 * A response is something wire_parse_query refuses to treat as a query. */
static void check_answer(const struct dns_query *q, const uint8_t *out, size_t len, size_t cap)
{
	struct dns_query again;
	struct wire_cursor c;
	struct dns_header h;

	if (len == 0)
		return;
	if (len < DNS_HEADER_LEN || len > cap)
		abort();
	wire_cursor_init(&c, out, len);
	wire_read_header(&c, &h);
	if (!wire_ok(&c) || h.id != q->hdr.id || !(h.flags & DNS_FLAG_QR))
		abort();
	if (h.qdcount != (q->qname_len > 0 ? 1 : 0))
		abort();
	if (wire_parse_query(out, len, &again) != WIRE_PARSE_DROP)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;
	uint8_t out[DNS_UDP_MIN], big[DNS_TCP_MAX];
	enum wire_parse rc = wire_parse_query(data, size, &q);
	size_t len;
	int rcode;

	switch (rc) {
	case WIRE_PARSE_DROP:
		return 0;
	case WIRE_PARSE_FORMERR:
		rcode = DNS_RCODE_FORMERR;
		break;
	case WIRE_PARSE_NOTIMP:
		rcode = DNS_RCODE_NOTIMP;
		break;
	case WIRE_PARSE_BADVERS:
		rcode = DNS_RCODE_BADVERS;
		break;
	case WIRE_PARSE_OK:
	default:
		rcode = DNS_RCODE_REFUSED;
		break;
	}
	if (rc == WIRE_PARSE_OK && q.qname_len == 0)
		abort();

	len = synth_error(&q, rcode, DNS_EDE_PROHIBITED, "fuzz", out, sizeof(out));
	check_answer(&q, out, len, sizeof(out));
	len = synth_error(&q, DNS_RCODE_SERVFAIL, DNS_EDE_NONE, NULL, out, sizeof(out));
	check_answer(&q, out, len, sizeof(out));
	len = synth_blocked(&q, 30, DNS_EDE_BLOCKED, "blocked by policy", out, sizeof(out));
	check_answer(&q, out, len, sizeof(out));
	len = synth_truncated(&q, out, sizeof(out));
	check_answer(&q, out, len, sizeof(out));
	len = synth_any(&q, 3600, big, sizeof(big));
	check_answer(&q, big, len, sizeof(big));
	/* A too-small buffer must give 0, never a partial answer. */
	len = synth_blocked(&q, 30, DNS_EDE_BLOCKED, "blocked by policy", out, (size_t)(size % 64));
	check_answer(&q, out, len, size % 64);
	return 0;
}
