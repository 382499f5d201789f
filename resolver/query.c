/*
 * Forwarded queries: coalescing, upstream failover, scrubbing, caching,
 * serve-stale and answering the client.
 */
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scrub.h"
#include "server_tcp.h"
#include "server_udp.h"
#include "stream.h"
#include "synth.h"
#include "upstream.h"
#include "worker.h"

/* A waiting query gives up this long after its owner's full failover time. */
#define QUERY_WAIT_SLACK_MS 500

static void query_closed(uv_handle_t *h)
{
	struct query *qr = h->data;

	answer_unref(qr->held);
	snapshot_unref(qr->snap);
	free(qr);
}

/* Unlinks the query, releases its connection and frees it (via the timer's
 * close callback). */
static void query_finish(struct query *qr)
{
	struct worker *w = qr->w;

	qr->state = QUERY_DONE;
	upstream_cancel(qr);
	if (qr->prev != NULL)
		qr->prev->next = qr->next;
	else
		w->queries = qr->next;
	if (qr->next != NULL)
		qr->next->prev = qr->prev;
	w->n_queries--;
	uv_close((uv_handle_t *)&qr->timer, query_closed);
	if (qr->conn != NULL)
		tcp_conn_unref(qr->conn);
	if (w->stopping)
		worker_check_drained(w);
}

/* Sends msg to the client, truncated to its UDP limit, and finishes. */
static void query_send(struct query *qr, const uint8_t *msg, size_t len)
{
	if (qr->udp != NULL) {
		uint8_t small[DNS_UDP_MIN + DNS_NAME_MAX];

		/* RFC 1035 section 4.2.1, RFC 6891 section 7: what does not
		 * fit the client's limit is replaced by a truncated answer
		 * that sends it to TCP. */
		if (len > wire_query_udp_limit(&qr->q)) {
			len = synth_truncated(&qr->q, small, sizeof(small));
			msg = small;
		}
		if (len > 0)
			server_udp_send(qr->udp, (const struct sockaddr *)&qr->client.ss, msg, len);
	} else if (qr->conn != NULL && len > 0) {
		tcp_conn_send(qr->conn, msg, len);
	}
	query_finish(qr);
}

/* The audit line of a forwarded query answered without an upstream answer
 * of its own (log_queries = all). */
static void query_log_other(struct query *qr, enum qlog_action action, const char *reason)
{
	struct qlog_entry e = {
		.client = (const struct sockaddr *)&qr->client.ss,
		.name = qr->q.qname_lc,
		.name_len = qr->q.qname_len,
		.qtype = qr->q.qtype,
		.action = action,
		.policy = policy_mode_name(policy_mode(qr->snap->policy)),
		.reason = reason,
		.rtt_us = -1,
		.rcode = -1,
	};

	if (qr->snap->cfg->log_queries != LOG_QUERIES_ALL)
		return;
	qlog_buffer(&qr->w->qlog, &e);
}

/* Answers the client from ans (rendered for it), or SERVFAIL if ans is NULL. */
static void query_respond(struct query *qr, struct answer *ans, bool stale)
{
	struct worker *w = qr->w;
	struct worker_stats *st = &w->shared->stats;
	size_t len = 0;

	if (qr->prefetch) {
		query_finish(qr);
		return;
	}
	if (ans != NULL)
		len = answer_render(ans, &qr->q, worker_now_ms(), stale, w->scratch,
				    sizeof(w->scratch));
	if (len == 0) {
		len = synth_error(&qr->q, DNS_RCODE_SERVFAIL, DNS_EDE_NO_REACHABLE_AUTHORITY,
				  "no upstream answered", w->scratch, sizeof(w->scratch));
		atomic_fetch_add_explicit(&st->servfail, 1, memory_order_relaxed);
		query_log_other(qr, QLOG_SERVFAIL, "no upstream answered");
	} else if (stale) {
		atomic_fetch_add_explicit(&st->stale, 1, memory_order_relaxed);
		query_log_other(qr, QLOG_STALE, "upstreams failed; stale answer (RFC 8767)");
	} else {
		atomic_fetch_add_explicit(&st->allowed, 1, memory_order_relaxed);
		/* The owner's line, with its upstream and round trip, was
		 * written when the answer arrived; a waiter's is written here. */
		if (qr->state == QUERY_WAITING)
			query_log_other(qr, QLOG_ALLOWED, "coalesced with a query in flight");
	}
	query_send(qr, w->scratch, len);
}

/* Answers this worker's waiting queries for key. */
static void deliver_local(struct worker *w, const struct cache_key *key, struct answer *ans,
			  bool stale)
{
	struct query *qr, *next;

	for (qr = w->queries; qr != NULL; qr = next) {
		next = qr->next;
		if (qr->state == QUERY_WAITING && inflight_key_equal(&qr->key, key))
			query_respond(qr, ans, stale);
	}
}

void query_deliver_post(struct worker *w, const struct worker_post *post)
{
	struct cache_key key = {
		.name = post->name,
		.name_len = post->name_len,
		.qtype = post->qtype,
		.qclass = post->qclass,
		.do_bit = post->do_bit,
	};

	deliver_local(w, &key, post->ans, post->stale);
}

/*
 * The owner is done (ans NULL: it failed): release the key, hand the answer
 * to every worker with waiting queries, then answer our own client.
 */
static void owner_complete(struct query *qr, struct answer *ans, bool stale)
{
	struct worker *w = qr->w;
	struct worker_shared *sh = w->shared;
	uint64_t mask = inflight_done(sh->inflight, &qr->key, qr->key_hash);
	unsigned i;

	upstream_cancel(qr);
	uv_timer_stop(&qr->timer);
	for (i = 0; i < sh->n_workers && mask != 0; i++) {
		if (!(mask & ((uint64_t)1 << i)))
			continue;
		mask &= ~((uint64_t)1 << i);
		if (i == w->index)
			deliver_local(w, &qr->key, ans, stale);
		else
			worker_post_answer(&sh->workers[i], &qr->key, ans, stale);
	}
	query_respond(qr, ans, stale);
}

static void query_hold_timeout(uv_timer_t *t);

/*
 * Publishes the answer's addresses on the address stream, then completes,
 * unless fwsync_wait_ms asks to hold a reply that published new addresses
 * until every acking subscriber (the firewall agent) has acked them: then
 * the client cannot connect before its address is admitted. A stale answer
 * republishes its addresses with the stale TTL (RFC 8767 keeps them usable).
 */
static void owner_finish(struct query *qr, struct answer *ans, bool stale)
{
	struct worker_shared *sh = qr->w->shared;
	const struct config *cfg = qr->snap->cfg;
	uint64_t pubid = 0;

	upstream_cancel(qr);
	uv_timer_stop(&qr->timer);
	if (ans != NULL && ans->n_addrs > 0 && sh->stream != NULL) {
		struct scrub_addr addrs[SCRUB_MAX_ADDRS];
		size_t i, n = ans->n_addrs < SCRUB_MAX_ADDRS ? ans->n_addrs : SCRUB_MAX_ADDRS;

		memcpy(addrs, ans->addrs, n * sizeof(addrs[0]));
		for (i = 0; stale && i < n; i++)
			addrs[i].ttl = ANSWER_STALE_TTL;
		pubid = stream_publish(sh->stream, qr->q.qname_lc, qr->q.qname_len, addrs, n,
				       worker_now_ms());
	}
	if (pubid != 0 && cfg->fwsync_wait_ms > 0 && !qr->prefetch &&
	    stream_acked(sh->stream) < pubid) {
		qr->state = QUERY_HOLDING;
		qr->held = ans;
		answer_ref(ans);
		qr->held_stale = stale;
		qr->hold_pubid = pubid;
		uv_timer_start(&qr->timer, query_hold_timeout, cfg->fwsync_wait_ms, 0);
		return;
	}
	owner_complete(qr, ans, stale);
}

static void query_unhold(struct query *qr)
{
	struct answer *ans = qr->held;

	qr->held = NULL;
	qr->state = QUERY_UPSTREAM;
	owner_complete(qr, ans, qr->held_stale);
	answer_unref(ans);
}

static void query_hold_timeout(uv_timer_t *t)
{
	struct query *qr = t->data;

	if (qr->state != QUERY_HOLDING)
		return;
	atomic_fetch_add_explicit(&qr->w->shared->stats.fwsync_wait_timeouts, 1,
				  memory_order_relaxed);
	query_unhold(qr);
}

void query_release_held(struct worker *w)
{
	struct query *qr, *next;
	uint64_t acked;

	if (w->shared->stream == NULL)
		return;
	acked = stream_acked(w->shared->stream);
	for (qr = w->queries; qr != NULL; qr = next) {
		next = qr->next;
		if (qr->state == QUERY_HOLDING && qr->hold_pubid <= acked)
			query_unhold(qr);
	}
}

/* Every upstream failed: serve stale if allowed and cached (RFC 8767),
 * else SERVFAIL. */
static void query_all_failed(struct query *qr)
{
	struct worker *w = qr->w;
	struct answer *ans = NULL;

	if (qr->snap->cfg->serve_stale &&
	    cache_lookup(w->shared->cache, &qr->key, worker_now_ms(), &ans, NULL) != CACHE_MISS) {
		owner_finish(qr, ans, true);
		answer_unref(ans);
		return;
	}
	owner_complete(qr, NULL, false);
}

static void query_timeout(uv_timer_t *t);

/* Starts an attempt at the current upstream, moving on past upstreams that
 * cannot even be tried. */
static void query_try(struct query *qr)
{
	const struct config *cfg = qr->snap->cfg;
	struct worker_stats *st = &qr->w->shared->stats;

	while (qr->upstream_idx < cfg->n_upstream) {
		int rc = upstream_start(qr);

		if (rc == 0) {
			qr->sent_ns = uv_hrtime();
			atomic_fetch_add_explicit(&st->upstream_queries, 1, memory_order_relaxed);
			uv_timer_start(&qr->timer, query_timeout, cfg->upstream_timeout_ms, 0);
			return;
		}
		atomic_fetch_add_explicit(&st->upstream_errors, 1, memory_order_relaxed);
		{
			char addr[64];

			netaddr_format((const struct sockaddr *)&cfg->upstream[qr->upstream_idx].ss,
				       addr, sizeof(addr));
			log_warn_limited(&qr->w->shared->log_upstream_send,
					 uv_now(&qr->w->loop) + 1, "upstream",
					 "%s: cannot send: %s", addr, uv_strerror(rc));
		}
		qr->upstream_idx++;
		qr->over_tcp = false;
	}
	query_all_failed(qr);
}

static void query_next(struct query *qr)
{
	atomic_fetch_add_explicit(&qr->w->shared->stats.upstream_errors, 1, memory_order_relaxed);
	upstream_cancel(qr);
	uv_timer_stop(&qr->timer);
	qr->upstream_idx++;
	qr->over_tcp = false;
	query_try(qr);
}

static void query_timeout(uv_timer_t *t)
{
	struct query *qr = t->data;

	if (qr->state == QUERY_WAITING) {
		/* The owner never answered in time (it runs the same failover
		 * we would): give up like it would have. */
		query_respond(qr, NULL, false);
		return;
	}
	if (qr->state != QUERY_UPSTREAM)
		return;
	log_debug("upstream", "upstream %zu timed out", qr->upstream_idx);
	query_next(qr);
}

void query_upstream_failed(struct query *qr, const char *why)
{
	if (qr->state != QUERY_UPSTREAM)
		return;
	log_debug("upstream", "upstream %zu failed: %s", qr->upstream_idx, why);
	query_next(qr);
}

/* The audit line of a forwarded query (log_queries = all, or blocked for a
 * filtered answer), with the upstream that answered and its round trip. */
static void query_log(struct query *qr, int rcode, bool filtered, uint64_t rtt_us)
{
	const struct config *cfg = qr->snap->cfg;
	struct qlog_entry e = {
		.client = (const struct sockaddr *)&qr->client.ss,
		.name = qr->q.qname_lc,
		.name_len = qr->q.qname_len,
		.qtype = qr->q.qtype,
		.action = filtered ? QLOG_FILTERED : QLOG_ALLOWED,
		.policy = policy_mode_name(policy_mode(qr->snap->policy)),
		.reason = filtered ? "answer records removed by policy" : NULL,
		.rtt_us = (int64_t)rtt_us,
		.rcode = rcode,
	};

	if (qr->prefetch || cfg->log_queries == LOG_QUERIES_NONE ||
	    (cfg->log_queries == LOG_QUERIES_BLOCKED && !filtered))
		return;
	if (qr->upstream_idx < cfg->n_upstream)
		e.upstream = (const struct sockaddr *)&cfg->upstream[qr->upstream_idx].ss;
	qlog_buffer(&qr->w->qlog, &e);
}

bool query_upstream_reply(struct query *qr, const uint8_t *msg, size_t len)
{
	struct worker *w = qr->w;
	const struct config *cfg = qr->snap->cfg;
	bool ai_only = policy_mode(qr->snap->policy) == POLICY_AI_ONLY;
	struct scrub_opts opts = {
		.rebinding_guard = cfg->rebinding_guard && ai_only,
		.block_metadata = cfg->block_metadata_endpoint,
		.blocked_ttl = cfg->blocked_ttl,
	};
	struct scrub_result res;
	struct dns_query neutral;
	struct answer *ans;
	uint64_t now = worker_now_ms(), rtt_us;
	size_t outlen = 0;
	size_t i;

	if (qr->state != QUERY_UPSTREAM)
		return false;
	/* Scrub into the client-neutral form the cache keeps: ID 0, the name
	 * in lower case, no EDNS; answer_render adapts it to each client. */
	neutral = qr->q;
	neutral.hdr.id = 0;
	neutral.hdr.flags = 0;
	memcpy(neutral.qname, neutral.qname_lc, neutral.qname_len);
	neutral.edns = false;
	neutral.cookie_out_len = 0;
	switch (scrub_answer(msg, len, &neutral, &opts, w->scratch, sizeof(w->scratch), &outlen,
			     &res)) {
	case SCRUB_MISMATCH:
		log_debug("upstream", "ignoring an answer to another question");
		return false;
	case SCRUB_TRUNCATED:
		if (qr->over_tcp) {
			query_next(qr);
			return true;
		}
		/* RFC 7766 section 5: retry the same upstream over TCP. */
		upstream_cancel(qr);
		uv_timer_stop(&qr->timer);
		qr->over_tcp = true;
		query_try(qr);
		return true;
	case SCRUB_MALFORMED:
		log_debug("upstream", "malformed answer from upstream %zu", qr->upstream_idx);
		query_next(qr);
		return true;
	case SCRUB_UPSTREAM_FAIL:
		log_debug("upstream", "upstream %zu answered with an error", qr->upstream_idx);
		query_next(qr);
		return true;
	case SCRUB_OK:
		break;
	}
	ans = outlen > 0 ? answer_new(w->scratch, outlen, &res, cfg->min_ttl, cfg->max_ttl, now)
			 : NULL;
	if (ans == NULL) {
		log_warn("upstream", "answer too large or out of memory");
		owner_complete(qr, NULL, false);
		return true;
	}
	/* RFC 2308: NXDOMAIN and NODATA are cached too, for their SOA's
	 * negative TTL; other rcodes never reach here as a success. */
	if (ans->ttl > 0 && (ans->rcode == DNS_RCODE_NOERROR || ans->rcode == DNS_RCODE_NXDOMAIN))
		cache_store(w->shared->cache, &qr->key, ans);
	/* A CNAME target of an allowed answer is allowed for the CNAME's TTL
	 * (DESIGN.md, "Policies"), unless the answer was filtered away. */
	if (ai_only && !(res.filtered && res.n_addrs == 0)) {
		for (i = 0; i < res.n_cnames; i++)
			learned_add(w->shared->learned, res.cnames[i].name, res.cnames[i].len,
				    res.cnames[i].ttl, now);
	}
	/* The round trip of the attempt that answered (RFC 6298 would call it
	 * a sample), for loki_resolver_upstream_rtt_seconds. */
	rtt_us = (uv_hrtime() - qr->sent_ns) / 1000;
	metrics_hist_observe_us(&w->shared->stats.upstream_rtt, rtt_us);
	query_log(qr, res.rcode, res.filtered, rtt_us);
	owner_finish(qr, ans, false);
	answer_unref(ans);
	return true;
}

int query_start(struct worker *w, const struct dns_query *q, const struct sockaddr *client,
		struct server_udp *udp, struct tcp_conn *conn, bool prefetch)
{
	struct worker_shared *sh = w->shared;
	const struct config *cfg = w->snap->cfg;
	struct answer *ans = NULL;
	struct query *qr;
	int rc;

	/* Each query in flight holds a timer and, while it asks an upstream,
	 * a socket: past the cap, fail at once rather than run out of file
	 * descriptors for everyone (a black-hole upstream under a flood). */
	if (w->n_queries >= sh->max_queries) {
		if (prefetch)
			return 0;
		atomic_fetch_add_explicit(&sh->stats.queries_full, 1, memory_order_relaxed);
		log_warn_limited(&sh->log_queries_full, uv_now(&w->loop) + 1, "query",
				 "%zu queries in flight on worker %u (the cap): new query answered "
				 "SERVFAIL",
				 w->n_queries, w->index);
		return -EAGAIN;
	}
	qr = calloc(1, sizeof(*qr));
	if (qr == NULL)
		return -ENOMEM;
	qr->w = w;
	qr->q = *q;
	qr->prefetch = prefetch;
	worker_cache_key(&qr->q, &qr->key);
	qr->key_hash = cache_key_hash(sh->cache, &qr->key);
	rc = inflight_join(sh->inflight, &qr->key, qr->key_hash, w->index);
	if (rc < 0 || (rc == 0 && prefetch)) {
		/* A prefetch for a key already being resolved is not needed. */
		free(qr);
		return rc < 0 ? rc : 0;
	}
	qr->snap = w->snap;
	snapshot_ref(qr->snap);
	qr->udp = udp;
	qr->conn = conn;
	qr->started_ms = worker_now_ms();
	if (client != NULL) {
		qr->client.len = client->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							       : sizeof(struct sockaddr_in);
		memcpy(&qr->client.ss, client, qr->client.len);
	}
	uv_timer_init(&w->loop, &qr->timer);
	qr->timer.data = qr;
	qr->next = w->queries;
	if (w->queries != NULL)
		w->queries->prev = qr;
	w->queries = qr;
	w->n_queries++;
	if (conn != NULL)
		tcp_conn_ref(conn);

	if (rc == 0) {
		qr->state = QUERY_WAITING;
		atomic_fetch_add_explicit(&sh->stats.coalesced, 1, memory_order_relaxed);
		uv_timer_start(&qr->timer, query_timeout,
			       (uint64_t)cfg->upstream_timeout_ms * (cfg->n_upstream + 1) +
				       cfg->fwsync_wait_ms + QUERY_WAIT_SLACK_MS,
			       0);
		return 0;
	}
	qr->state = QUERY_UPSTREAM;
	if (prefetch) {
		atomic_fetch_add_explicit(&sh->stats.prefetches, 1, memory_order_relaxed);
	} else if (cache_lookup(sh->cache, &qr->key, qr->started_ms, &ans, NULL) == CACHE_FRESH) {
		/* Another owner stored it between our miss and our join. */
		owner_complete(qr, ans, false);
		answer_unref(ans);
		return 0;
	}
	answer_unref(ans);
	query_try(qr);
	return 0;
}

void query_abort(struct query *qr)
{
	if (qr->state == QUERY_HOLDING)
		query_unhold(qr);
	else if (qr->state == QUERY_UPSTREAM)
		owner_complete(qr, NULL, false);
	else if (qr->state == QUERY_WAITING)
		query_respond(qr, NULL, false);
}
