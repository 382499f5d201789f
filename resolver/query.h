/*
 * One object per forwarded query (STYLE.md point 10): it owns a copy of the
 * parsed question, the client's address and transport, the upstream attempt
 * in progress and the answer being sent. Queries that are answered locally
 * (blocked, refused, errors) never get one.
 *
 * Lifetime: query_start -> attempts (upstream.c) -> query_answer or
 * query_fail -> the answer is sent -> the query's timer is closed and the
 * query freed in its close callback.
 */
#ifndef LOKI_QUERY_H
#define LOKI_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "netaddr.h"
#include "wire.h"

struct worker;
struct server_udp;
struct tcp_conn;
struct upstream_attempt;

enum query_state {
	QUERY_UPSTREAM = 0, /* an attempt is in flight */
	QUERY_SENDING,	    /* the answer is being sent to the client */
	QUERY_DONE,	    /* closing; freed in the timer's close callback */
};

struct query {
	struct worker *w;
	struct query *prev, *next; /* the worker's in-flight list */
	enum query_state state;
	struct dns_query q;
	struct netaddr client;
	struct server_udp *udp;	      /* UDP: the listener to answer from */
	struct tcp_conn *conn;	      /* TCP: the connection (we hold a reference) */
	struct upstream_attempt *att; /* the attempt in flight, or NULL */
	uv_timer_t timer;	      /* upstream timeout */
	size_t upstream_idx;	      /* index into cfg->upstream of the current attempt */
	bool over_tcp;		      /* the current attempt uses TCP (after TC) */
	uint64_t started_ms;
};

/* Creates a query for a forwarded client question and sends it upstream.
 * Returns 0, or -ENOMEM (the caller answers SERVFAIL). */
int query_start(struct worker *w, const struct dns_query *q, const struct sockaddr *client,
		struct server_udp *udp, struct tcp_conn *conn);

/* Called by upstream.c with a validated (address, ID) upstream message.
 * Returns true if the message was accepted (scrubbed or failed over), false
 * if it was not an answer to our question and the attempt keeps waiting. */
bool query_upstream_reply(struct query *qr, const uint8_t *msg, size_t len);
/* Called by upstream.c when an attempt failed (socket error, timeout). */
void query_upstream_failed(struct query *qr, const char *why);

/* Worker shutdown after the drain deadline: answer SERVFAIL and finish. */
void query_abort(struct query *qr);

#endif
