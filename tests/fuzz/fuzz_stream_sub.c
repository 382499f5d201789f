/*
 * Fuzz target for the address stream as the resolver reads it: what a
 * subscriber sends ({"type":"subscribe","acks":true}, {"type":"ack","seq":N}
 * or garbage). The input arrives in reads of varying size, as on the socket,
 * into a buffer of the resolver's size (JSONL_LINE_MAX + 1); each read is
 * framed with stream_split_lines and each line goes through
 * stream_parse_client_line, as resolver/stream.c does.
 *
 * Checked on the way:
 *  - the framing yields exactly the lines a plain memchr split of the input
 *    gives, in order, and reports -EMSGSIZE exactly when a line does not fit;
 *  - a line the parser accepts is valid JSON to jsonl_parse with the same
 *    type (and seq), and the canonical form of the message parses back to the
 *    same message;
 *  - a rejected line always comes with a reason.
 * Like the resolver, the first rejected line (or an ack of a seq never
 * "sent", here anything above SENT_SEQ) ends the connection.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Spelled out so that no autoconf-generated config.h can shadow them. */
#include "../../resolver/jsonl.h"
#include "../../resolver/stream.h"

#define SENT_SEQ 100000 /* the seq of the last message "sent" to the peer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct conn {
	const uint8_t *data; /* the whole input */
	size_t size;
	size_t next; /* offset in data where the next line must start */
	bool acks;
};

static void check_message(const char *line, size_t len, const struct stream_client_msg *m)
{
	struct jsonl_object o;
	struct stream_client_msg back;
	const char *type;
	char canon[128];
	uint64_t seq;
	int n;

	if (jsonl_parse(line, len, &o, NULL) != 0)
		abort();
	type = jsonl_get_str(&o, "type");
	if (type == NULL)
		abort();
	if (m->type == STREAM_CLIENT_SUBSCRIBE) {
		if (strcmp(type, "subscribe") != 0)
			abort();
		n = snprintf(canon, sizeof(canon), "{\"type\":\"subscribe\",\"acks\":%s}",
			     m->acks ? "true" : "false");
	} else if (m->type == STREAM_CLIENT_ACK) {
		if (strcmp(type, "ack") != 0 || !jsonl_get_num(&o, "seq", &seq) || seq != m->seq)
			abort();
		n = snprintf(canon, sizeof(canon), "{\"type\":\"ack\",\"seq\":%llu}",
			     (unsigned long long)m->seq);
	} else {
		abort();
	}
	if (n <= 0 || (size_t)n >= sizeof(canon) ||
	    stream_parse_client_line(canon, (size_t)n, &back, NULL) != 0 || back.type != m->type ||
	    back.acks != m->acks || back.seq != m->seq)
		abort();
}

static int on_line(void *arg, const char *line, size_t len)
{
	struct conn *c = arg;
	struct stream_client_msg m;
	const char *why = NULL;
	const uint8_t *nl;

	/* The framing agrees with a plain split of the whole input. */
	if (c->next + len >= c->size || memcmp(c->data + c->next, line, len) != 0 ||
	    c->data[c->next + len] != '\n' || memchr(line, '\n', len) != NULL)
		abort();
	nl = memchr(c->data + c->next, '\n', c->size - c->next);
	if (nl != c->data + c->next + len)
		abort();
	c->next += len + 1;

	if (stream_parse_client_line(line, len, &m, &why) != 0) {
		if (why == NULL)
			abort();
		return -EINVAL;
	}
	check_message(line, len, &m);
	if (m.type == STREAM_CLIENT_SUBSCRIBE)
		c->acks = m.acks;
	else if (m.seq > SENT_SEQ)
		return -EINVAL;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char rbuf[JSONL_LINE_MAX + 1];
	struct conn c = {.data = data, .size = size};
	size_t rlen = 0, off = 0;
	uint32_t rnd = (uint32_t)size * 2654435761u + 1;
	int rc = 0;

	while (off < size) {
		/* A read of 1 .. 2048 bytes, capped by the free space. */
		size_t want, room = sizeof(rbuf) - rlen;

		rnd ^= rnd << 13;
		rnd ^= rnd >> 17;
		rnd ^= rnd << 5;
		want = 1 + rnd % 2048;
		if (want > room)
			want = room;
		if (want > size - off)
			want = size - off;
		memcpy(rbuf + rlen, data + off, want);
		rlen += want;
		off += want;
		rc = stream_split_lines(rbuf, &rlen, sizeof(rbuf), on_line, &c);
		if (rc != 0)
			break;
		/* What is left is exactly the unterminated rest of what was read. */
		if (rlen != off - c.next || memcmp(rbuf, data + c.next, rlen) != 0 ||
		    memchr(rbuf, '\n', rlen) != NULL)
			abort();
	}
	if (rc == -EMSGSIZE) {
		/* Only when a whole buffer holds no newline. */
		if (rlen != sizeof(rbuf) || memchr(data + c.next, '\n', sizeof(rbuf)) != NULL)
			abort();
	} else if (rc == 0 && memchr(data + c.next, '\n', size - c.next) != NULL) {
		abort(); /* a complete line was never delivered */
	}
	return 0;
}
