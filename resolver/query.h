/*
 * One object per forwarded query (STYLE.md point 10): it owns a copy of the
 * parsed question, the client's address and transport, a reference to the
 * snapshot it started under, the upstream attempt in progress, and a timer.
 * Queries answered locally (blocked, refused, errors, cache hits) never get
 * one.
 *
 * A query either owns the resolution of its cache key (QUERY_UPSTREAM: it
 * asks the upstreams, stores the answer and hands it to every query that
 * waited for the same key) or waits for the owner (QUERY_WAITING). A
 * prefetch is an owner without a client.
 *
 * Lifetime: query_start -> attempts (upstream.c) -> answer or failure ->
 * answer sent -> the timer is closed and the query freed in its close
 * callback.
 */
#ifndef LOKI_QUERY_H
#define LOKI_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "answer.h"
#include "cache.h"
#include "netaddr.h"
#include "snapshot.h"
#include "wire.h"

struct worker;
struct worker_post;
struct server_udp;
struct tcp_conn;
struct upstream_attempt;

enum query_state {
	QUERY_UPSTREAM = 0, /* owner: an attempt is in flight */
	QUERY_WAITING,	    /* waiting for the owner of the same key */
	QUERY_HOLDING,	    /* owner with its answer, waiting for the firewall's acks */
	QUERY_DONE,	    /* answered; freed in the timer's close callback */
};

struct query {
	struct worker *w;
	struct query *prev, *next; /* the worker's list */
	enum query_state state;
	struct snapshot *snap; /* reference: the configuration it runs under */
	struct dns_query q;
	struct cache_key key; /* points into q.qname_lc */
	uint64_t key_hash;
	bool prefetch; /* no client: refresh the cache only */
	struct netaddr client;
	struct server_udp *udp;	      /* UDP: the listener to answer from */
	struct tcp_conn *conn;	      /* TCP: the connection (we hold a reference) */
	struct upstream_attempt *att; /* the attempt in flight, or NULL */
	uv_timer_t timer;	      /* upstream timeout, or the waiting limit */
	size_t upstream_idx;	      /* index into cfg->upstream of the current attempt */
	bool over_tcp;		      /* the current attempt uses TCP (after TC) */
	uint64_t started_ms;
	uint64_t sent_ns;    /* uv_hrtime() when the current attempt was sent */
	struct answer *held; /* QUERY_HOLDING: the answer (a reference) */
	bool held_stale;
	uint64_t hold_pubid; /* QUERY_HOLDING: the stream event to be acked */
};

/*
 * Starts resolving q for a client (udp or conn), or as a prefetch (both
 * NULL, prefetch true). Returns 0 (the query answers the client itself
 * later, or already did), or -ENOMEM (the caller answers SERVFAIL).
 */
int query_start(struct worker *w, const struct dns_query *q, const struct sockaddr *client,
		struct server_udp *udp, struct tcp_conn *conn, bool prefetch);

/* Called by upstream.c with an upstream message whose address and ID
 * matched. Returns false if it is not an answer to our question (the
 * attempt keeps waiting). */
bool query_upstream_reply(struct query *qr, const uint8_t *msg, size_t len);
/* Called by upstream.c when an attempt failed (socket error). */
void query_upstream_failed(struct query *qr, const char *why);

/* Answers this worker's queries waiting for post's key. */
void query_deliver_post(struct worker *w, const struct worker_post *post);

/* Releases the worker's held answers whose addresses every acking
 * subscriber has acked (after a watermark move). */
void query_release_held(struct worker *w);

/* Worker shutdown after the drain deadline: answer SERVFAIL and finish. */
void query_abort(struct query *qr);

#endif
