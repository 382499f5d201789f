/*
 * The address stream (DESIGN.md, "The address stream"): a Unix stream
 * socket on the main loop where any number of subscribers (loki-fwsync or a
 * third-party agent) receive every address the resolver hands out, as
 * newline-delimited JSON: hello, a snapshot of the live addresses (add ...),
 * synced, then incremental add and del messages, seq counting the messages
 * of each connection from 1.
 *
 * Workers publish from their own threads (stream_publish takes the stream's
 * lock, updates the address book and queues the new events); the main loop
 * writes them to the subscribers. A subscriber whose write queue grows past
 * STREAM_MAX_QUEUE bytes is disconnected and counted, never skipped: it
 * reconnects and gets a fresh snapshot. DNS answering never waits for a
 * subscriber except through the fwsync_wait_ms hold (stream_acked).
 *
 * Every event gets a publication number (pubid), increasing over all
 * connections. A subscriber that asked for acks maps its seqs back to
 * pubids; the watermark is the highest pubid every such subscriber has
 * acked (UINT64_MAX when there is none), and a reply held for pubid P may go
 * out once the watermark reaches P.
 */
#ifndef LOKI_STREAM_H
#define LOKI_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "policy.h"
#include "scrub.h"

#define STREAM_MAX_QUEUE   (256 * 1024) /* bytes queued to one subscriber */
#define STREAM_MAX_UNACKED 8192		/* messages awaiting an ack, per subscriber */
#define STREAM_MAX_ADDRS   1000000	/* addresses tracked at once */
#define STREAM_MAX_SUBS	   256		/* subscribers connected at once */

struct stream;

struct stream_stats {
	uint64_t published; /* add and del events */
	uint64_t slow_disconnects;
	uint64_t bad_disconnects; /* subscribers that sent garbage */
	uint64_t rejected;	  /* connections refused: STREAM_MAX_SUBS reached */
	uint64_t dropped;	  /* addresses not published: book full or no memory */
};

/*
 * Listens on path (mode 0660). A stale socket file (nobody accepting on it)
 * is replaced; a live one or any other file is an error. on_watermark is
 * called on the loop's thread whenever the acked watermark may have moved.
 * Returns 0 or a negative errno with err set.
 */
int stream_open(uv_loop_t *loop, const char *path, const char *policy_name,
		void (*on_watermark)(void *arg), void *arg, struct stream **out, char *err,
		size_t errlen);
/* Disconnects everyone, closes and unlinks the socket; the stream is freed
 * in the close callbacks (run the loop afterwards). NULL is fine. */
void stream_close(struct stream *s);

/*
 * Thread-safe. name_lc: the query name, lower-case wire form. Records each
 * address (TTL as given) and queues an add for those that are new or live
 * longer now. Returns the pubid a reply must wait for (the last event's),
 * or 0 when nothing new was published or no subscriber asked for acks.
 */
uint64_t stream_publish(struct stream *s, const uint8_t *name_lc, size_t name_len,
			const struct scrub_addr *addrs, size_t n, uint64_t now_ms);
/* Thread-safe: the acked watermark. */
uint64_t stream_acked(struct stream *s);

/* Main loop: after a reload, names the policy no longer allows lose their
 * addresses; addresses left with no allowed name get a del. */
size_t stream_revoke(struct stream *s, const struct policy *p);
/* Main loop: the policy name sent in later hellos. */
void stream_set_policy(struct stream *s, const char *policy_name);

size_t stream_subscribers(struct stream *s);
void stream_get_stats(struct stream *s, struct stream_stats *out);

/*
 * What a subscriber may send (pure functions, no socket: the read callback
 * uses them, and so do the unit tests and tests/fuzz/fuzz_stream_sub.c).
 */
enum stream_client_type {
	STREAM_CLIENT_SUBSCRIBE = 1, /* {"type":"subscribe","acks":BOOL} (acks optional) */
	STREAM_CLIENT_ACK,	     /* {"type":"ack","seq":N} */
};

struct stream_client_msg {
	enum stream_client_type type;
	bool acks;    /* SUBSCRIBE */
	uint64_t seq; /* ACK */
};

/*
 * Parses one line a subscriber sent (without its newline). Unknown fields
 * are ignored. Returns 0, or -EINVAL with a short static reason in *why
 * (why may be NULL). Whether an ack's seq was ever sent is the caller's
 * check.
 */
int stream_parse_client_line(const char *line, size_t len, struct stream_client_msg *out,
			     const char **why);

/*
 * Line framing of a subscriber's input: buf holds *len bytes (cap at most).
 * Calls on_line for every complete line (without its newline) until it
 * returns non-zero, which is then returned as is, leaving buf unchanged.
 * Otherwise the unterminated rest moves to the front of buf, *len becomes
 * its length, and the result is 0, or -EMSGSIZE when that rest fills all
 * cap bytes (a line longer than cap - 1 bytes: the peer must be dropped).
 */
int stream_split_lines(char *buf, size_t *len, size_t cap,
		       int (*on_line)(void *arg, const char *line, size_t n), void *arg);

#endif
