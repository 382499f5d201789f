/*
 * Forwarded queries: upstream failover, scrubbing, answering the client.
 */
#include "query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scrub.h"
#include "server_tcp.h"
#include "server_udp.h"
#include "synth.h"
#include "upstream.h"
#include "worker.h"

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000;
}

static void query_closed(uv_handle_t *h)
{
	free(h->data);
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

/* Sends msg (in w->scratch or elsewhere) to the client and finishes. */
static void query_respond(struct query *qr, const uint8_t *msg, size_t len)
{
	qr->state = QUERY_SENDING;
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

static void query_servfail(struct query *qr, int ede, const char *text)
{
	uint8_t buf[DNS_UDP_MIN + DNS_NAME_MAX];
	size_t len = synth_error(&qr->q, DNS_RCODE_SERVFAIL, ede, text, buf, sizeof(buf));

	query_respond(qr, buf, len);
}

static void query_timeout(uv_timer_t *t);

/* Starts an attempt at the current upstream, moving on past upstreams that
 * cannot even be tried; SERVFAIL when none is left. */
static void query_try(struct query *qr)
{
	const struct config *cfg = qr->w->shared->cfg;

	while (qr->upstream_idx < cfg->n_upstream) {
		int rc = upstream_start(qr);

		if (rc == 0) {
			uv_timer_start(&qr->timer, query_timeout, cfg->upstream_timeout_ms, 0);
			return;
		}
		if (log_enabled(LOG_WARNING)) {
			char addr[64];

			netaddr_format((const struct sockaddr *)&cfg->upstream[qr->upstream_idx].ss,
				       addr, sizeof(addr));
			log_warn("upstream", "%s: cannot send: %s", addr, uv_strerror(rc));
		}
		qr->upstream_idx++;
		qr->over_tcp = false;
	}
	query_servfail(qr, DNS_EDE_NO_REACHABLE_AUTHORITY, "no upstream answered");
}

static void query_next(struct query *qr)
{
	upstream_cancel(qr);
	uv_timer_stop(&qr->timer);
	qr->upstream_idx++;
	qr->over_tcp = false;
	query_try(qr);
}

static void query_timeout(uv_timer_t *t)
{
	struct query *qr = t->data;

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

static void query_log(struct query *qr, int rcode, bool filtered)
{
	const struct config *cfg = qr->w->shared->cfg;
	char name[4 * DNS_NAME_MAX], client[64];

	if (cfg->log_queries != LOG_QUERIES_ALL &&
	    !(filtered && cfg->log_queries == LOG_QUERIES_BLOCKED))
		return;
	worker_name_json(qr->q.qname_lc, qr->q.qname_len, name, sizeof(name));
	netaddr_format_ip((const struct sockaddr *)&qr->client.ss, client, sizeof(client));
	fprintf(stderr,
		"{\"event\":\"query\",\"client\":\"%s\",\"name\":\"%s\",\"type\":%u,"
		"\"result\":\"%s\",\"rcode\":%d,\"ms\":%llu}\n",
		client, name, qr->q.qtype, filtered ? "filtered" : "allowed", rcode,
		(unsigned long long)(now_ms() - qr->started_ms));
}

bool query_upstream_reply(struct query *qr, const uint8_t *msg, size_t len)
{
	struct worker *w = qr->w;
	const struct config *cfg = w->shared->cfg;
	bool ai_only = policy_mode(w->shared->policy) == POLICY_AI_ONLY;
	struct scrub_opts opts = {
		.rebinding_guard = cfg->rebinding_guard && ai_only,
		.block_metadata = cfg->block_metadata_endpoint,
		.blocked_ttl = cfg->blocked_ttl,
	};
	struct scrub_result res;
	size_t outlen = 0;
	size_t i;

	if (qr->state != QUERY_UPSTREAM)
		return false;
	switch (scrub_answer(msg, len, &qr->q, &opts, w->scratch, sizeof(w->scratch), &outlen,
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
		log_debug("upstream", "upstream %zu answered rcode %u", qr->upstream_idx,
			  (unsigned)DNS_RCODE(wire_get_id(msg + 2)));
		query_next(qr);
		return true;
	case SCRUB_OK:
		break;
	}
	upstream_cancel(qr);
	uv_timer_stop(&qr->timer);
	if (outlen == 0) {
		query_servfail(qr, DNS_EDE_OTHER, "answer too large");
		return true;
	}
	/* A CNAME target of an allowed answer is allowed for the CNAME's TTL
	 * (DESIGN.md, "Policies"), unless the answer was filtered away. */
	if (ai_only && !(res.filtered && res.n_addrs == 0)) {
		uint64_t now = now_ms();

		for (i = 0; i < res.n_cnames; i++)
			learned_add(w->shared->learned, res.cnames[i].name, res.cnames[i].len,
				    res.cnames[i].ttl, now);
	}
	query_log(qr, res.rcode, res.filtered);
	query_respond(qr, w->scratch, outlen);
	return true;
}

int query_start(struct worker *w, const struct dns_query *q, const struct sockaddr *client,
		struct server_udp *udp, struct tcp_conn *conn)
{
	struct query *qr;

	qr = calloc(1, sizeof(*qr));
	if (qr == NULL)
		return -ENOMEM;
	qr->w = w;
	qr->q = *q;
	qr->udp = udp;
	qr->conn = conn;
	qr->started_ms = now_ms();
	memcpy(&qr->client.ss, client,
	       client->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					     : sizeof(struct sockaddr_in));
	qr->client.len = client->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						       : sizeof(struct sockaddr_in);
	uv_timer_init(&w->loop, &qr->timer);
	qr->timer.data = qr;
	qr->next = w->queries;
	if (w->queries != NULL)
		w->queries->prev = qr;
	w->queries = qr;
	w->n_queries++;
	if (conn != NULL)
		tcp_conn_ref(conn);
	qr->state = QUERY_UPSTREAM;
	query_try(qr);
	return 0;
}

void query_abort(struct query *qr)
{
	if (qr->state == QUERY_UPSTREAM)
		query_servfail(qr, DNS_EDE_OTHER, "resolver shutting down");
}
