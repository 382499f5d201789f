/*
 * Worker threads: one libuv loop each, and the query pipeline that the UDP
 * and TCP listeners share.
 */
#include "worker.h"

#include <errno.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "log.h"
#include "query.h"
#include "server_tcp.h"
#include "server_udp.h"
#include "synth.h"
#include "upstream.h"

/* How long a stopping worker waits for queries and TCP answers in flight. */
#define WORKER_DRAIN_MS	     3000
#define WORKER_DRAIN_TICK_MS 50
/* TTL of the synthesized RFC 8482 HINFO answer to ANY. */
#define WORKER_ANY_TTL 3600
/* Receive buffer asked for on UDP listeners. */
#define WORKER_UDP_RCVBUF (4 * 1024 * 1024)

/* File descriptors kept free for listeners, the stream, metrics, logs. */
#define WORKER_FD_RESERVE 256

static int open_socket(const struct netaddr *addr, int type, char *err, size_t errlen)
{
	int fd, one = 1;
	char text[64];

	netaddr_format((const struct sockaddr *)&addr->ss, text, sizeof(text));
	fd = socket(addr->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* SO_REUSEPORT: every worker binds the same address and the kernel
	 * spreads clients over them. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto fail;
	if (addr->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto fail;
	/* A burst of queries must not overflow the kernel's default receive
	 * buffer before the loop runs. SO_RCVBUFFORCE passes net.core.rmem_max
	 * when we still have CAP_NET_ADMIN (binding happens before the
	 * privilege drop); otherwise the capped SO_RCVBUF is the best effort. */
	if (type == SOCK_DGRAM) {
		int size = WORKER_UDP_RCVBUF;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "%s (%s): %s", text, type == SOCK_DGRAM ? "udp" : "tcp",
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int worker_bind(const struct config *cfg, struct worker_fds *fds, char *err, size_t errlen)
{
	size_t i;

	fds->n = cfg->n_listen;
	fds->udp = calloc(cfg->n_listen, sizeof(int));
	fds->tcp = calloc(cfg->n_listen, sizeof(int));
	if (fds->udp == NULL || fds->tcp == NULL) {
		free(fds->udp);
		free(fds->tcp);
		fds->udp = fds->tcp = NULL;
		fds->n = 0;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < fds->n; i++)
		fds->udp[i] = fds->tcp[i] = -1;
	for (i = 0; i < fds->n; i++) {
		fds->udp[i] = open_socket(&cfg->listen[i], SOCK_DGRAM, err, errlen);
		if (fds->udp[i] < 0)
			goto fail;
		fds->tcp[i] = open_socket(&cfg->listen[i], SOCK_STREAM, err, errlen);
		if (fds->tcp[i] < 0)
			goto fail;
	}
	return 0;
fail:
	worker_fds_close(fds);
	return -EADDRNOTAVAIL;
}

void worker_fds_close(struct worker_fds *fds)
{
	size_t i;

	for (i = 0; i < fds->n; i++) {
		if (fds->udp != NULL && fds->udp[i] >= 0)
			close(fds->udp[i]);
		if (fds->tcp != NULL && fds->tcp[i] >= 0)
			close(fds->tcp[i]);
	}
	free(fds->udp);
	free(fds->tcp);
	fds->udp = fds->tcp = NULL;
	fds->n = 0;
}

/* One audit line per blocked query (log_queries = blocked|all), formatted
 * into the worker's qlog buffer, which goes out with one write(2) per loop
 * iteration: the blocked path allocates nothing and takes no lock. */
static void log_blocked(struct worker *w, const struct dns_query *q, const struct sockaddr *client,
			const char *reason)
{
	struct qlog_entry e = {
		.client = client,
		.name = q->qname_lc,
		.name_len = q->qname_len,
		.qtype = q->qtype,
		.action = QLOG_BLOCKED,
		.policy = policy_mode_name(policy_mode(w->snap->policy)),
		.reason = reason,
		.rtt_us = -1,
		.rcode = -1,
	};

	if (w->snap->cfg->log_queries == LOG_QUERIES_NONE)
		return;
	qlog_buffer(&w->qlog, &e);
}

/* The audit line of a query answered at once other than blocked: refused
 * (log_queries = blocked|all: an access decision), a cache hit or a local
 * answer (all). */
static void log_local(struct worker *w, const struct dns_query *q, const struct sockaddr *client,
		      enum qlog_action action, const char *reason)
{
	enum log_queries mode = w->snap->cfg->log_queries;
	struct qlog_entry e = {
		.client = client,
		.name = q->qname_lc,
		.name_len = q->qname_len,
		.qtype = q->qtype,
		.action = action,
		.policy = policy_mode_name(policy_mode(w->snap->policy)),
		.reason = reason,
		.rtt_us = -1,
		.rcode = -1,
	};

	if (mode == LOG_QUERIES_NONE || (mode == LOG_QUERIES_BLOCKED && action != QLOG_REFUSED))
		return;
	qlog_buffer(&w->qlog, &e);
}

static void worker_qlog_flush(uv_check_t *c)
{
	struct worker *w = c->data;

	qlog_flush(&w->qlog);
}

void worker_cache_key(const struct dns_query *q, struct cache_key *key)
{
	key->name = q->qname_lc;
	key->name_len = q->qname_len;
	key->qtype = q->qtype;
	key->qclass = q->qclass;
	key->do_bit = q->edns_do;
}

/* Adds our server cookie to q's answers when the client sent a cookie
 * (RFC 7873 section 5.2); a missing or bad cookie is never an error. */
static void worker_cookie(struct worker *w, struct dns_query *q, const struct sockaddr *client)
{
	size_t n = 0;

	if (q->cookie_len == 0)
		return;
	cookie_check(&w->shared->cookie_secret, q->cookie, q->cookie_len, client,
		     (uint32_t)time(NULL), q->cookie_out, &n);
	q->cookie_out_len = (uint8_t)n;
}

/* Truncates an answer that does not fit the UDP client's limit. */
static size_t worker_fit(const struct dns_query *q, size_t len, bool udp, uint8_t *out, size_t cap)
{
	if (udp && len > wire_query_udp_limit(q))
		return synth_truncated(q, out, cap);
	return len;
}

size_t worker_handle(struct worker *w, const uint8_t *pkt, size_t len,
		     const struct sockaddr *client, struct server_udp *udp, struct tcp_conn *conn,
		     uint8_t *out, size_t cap, bool *forwarded)
{
	struct worker_shared *sh = w->shared;
	struct worker_stats *st = &sh->stats;
	const struct config *cfg = w->snap->cfg;
	const struct policy *policy = w->snap->policy;
	enum policy_verdict verdict;
	struct cache_key key;
	struct answer *ans = NULL;
	struct dns_query q;
	const char *reason;
	bool prefetch = false;
	uint64_t now;
	int rcode;

	*forwarded = false;
	switch (wire_parse_query(pkt, len, &q)) {
	case WIRE_PARSE_DROP:
		return 0;
	case WIRE_PARSE_FORMERR:
		rcode = DNS_RCODE_FORMERR;
		goto error;
	case WIRE_PARSE_NOTIMP:
		rcode = DNS_RCODE_NOTIMP;
		goto error;
	case WIRE_PARSE_BADVERS:
		rcode = DNS_RCODE_BADVERS;
		goto error;
	case WIRE_PARSE_OK:
		break;
	}
	if (!acl_allows(cfg->allow_clients, cfg->n_allow_clients, client)) {
		atomic_fetch_add_explicit(&st->refused, 1, memory_order_relaxed);
		if (cfg->log_queries != LOG_QUERIES_NONE)
			log_local(w, &q, client, QLOG_REFUSED, "client not in allow_clients");
		rcode = DNS_RCODE_REFUSED;
		goto error;
	}
	worker_cookie(w, &q, client);
	/* We forward the Internet class only, and transfer no zones. */
	if (q.qclass != DNS_CLASS_IN || q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR) {
		atomic_fetch_add_explicit(&st->refused, 1, memory_order_relaxed);
		if (cfg->log_queries != LOG_QUERIES_NONE)
			log_local(w, &q, client, QLOG_REFUSED,
				  q.qclass != DNS_CLASS_IN ? "class not IN" : "zone transfer");
		rcode = DNS_RCODE_REFUSED;
		goto error;
	}

	verdict = policy_check(policy, q.qname_lc, q.qname_len, q.qname_labels);
	if (verdict == VERDICT_BLOCK && policy_mode(policy) == POLICY_AI_ONLY &&
	    learned_count(sh->learned) > 0 &&
	    learned_contains(sh->learned, q.qname_lc, q.qname_len, worker_now_ms()))
		verdict = VERDICT_ALLOW;
	if (verdict != VERDICT_ALLOW) {
		switch (verdict) {
		case VERDICT_METADATA:
			reason = "cloud metadata endpoint";
			break;
		case VERDICT_DENY:
			reason = "denied by policy zone";
			break;
		default:
			reason = policy_mode(policy) == POLICY_NONE ? "egress policy none"
								    : "not on the allowlist";
			break;
		}
		atomic_fetch_add_explicit(&st->blocked, 1, memory_order_relaxed);
		if (cfg->log_queries != LOG_QUERIES_NONE)
			log_blocked(w, &q, client, reason);
		return worker_fit(
			&q, synth_blocked(&q, cfg->blocked_ttl, DNS_EDE_BLOCKED, reason, out, cap),
			udp != NULL, out, cap);
	}
	/* RFC 8482 section 4.2: answer ANY with a small synthesized HINFO. */
	if (q.qtype == DNS_TYPE_ANY) {
		atomic_fetch_add_explicit(&st->allowed, 1, memory_order_relaxed);
		if (cfg->log_queries == LOG_QUERIES_ALL)
			log_local(w, &q, client, QLOG_ALLOWED, "ANY answered locally (RFC 8482)");
		return worker_fit(&q, synth_any(&q, WORKER_ANY_TTL, out, cap), udp != NULL, out,
				  cap);
	}

	now = worker_now_ms();
	worker_cache_key(&q, &key);
	if (cache_lookup(sh->cache, &key, now, &ans, &prefetch) == CACHE_FRESH) {
		size_t alen = answer_render(ans, &q, now, false, out, cap);

		answer_unref(ans);
		atomic_fetch_add_explicit(&st->cache_hits, 1, memory_order_relaxed);
		if (alen > 0) {
			atomic_fetch_add_explicit(&st->allowed, 1, memory_order_relaxed);
			if (cfg->log_queries == LOG_QUERIES_ALL)
				log_local(w, &q, client, QLOG_ALLOWED, "cache");
			/* A hot entry close to expiry is refreshed in the
			 * background, so hot names never see a miss. The
			 * answer is in scratch already; the prefetch does not
			 * touch it until the upstream replies. */
			if (prefetch)
				query_start(w, &q, NULL, NULL, NULL, true);
			return worker_fit(&q, alen, udp != NULL, out, cap);
		}
	} else {
		/* A stale entry is used only if every upstream fails. */
		answer_unref(ans);
		atomic_fetch_add_explicit(&st->cache_misses, 1, memory_order_relaxed);
	}

	if (query_start(w, &q, client, udp, conn, false) != 0) {
		rcode = DNS_RCODE_SERVFAIL;
		goto error;
	}
	*forwarded = true;
	return 0;
error:
	return synth_error(&q, rcode,
			   rcode == DNS_RCODE_REFUSED ? DNS_EDE_PROHIBITED : DNS_EDE_NONE, NULL,
			   out, cap);
}

size_t worker_max_queries(unsigned threads, unsigned max_tcp_clients)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)threads * WORKER_MAX_QUERIES + max_tcp_clients + WORKER_FD_RESERVE;
	size_t per;

	if (threads == 0)
		threads = 1;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return WORKER_MAX_QUERIES_MIN;
	/* Raise the soft limit as far as the hard one allows (or as needed). */
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur =
			rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = old;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return WORKER_MAX_QUERIES;
	per = rl.rlim_cur > (rlim_t)max_tcp_clients + WORKER_FD_RESERVE
		      ? (size_t)(rl.rlim_cur - max_tcp_clients - WORKER_FD_RESERVE) / threads
		      : 0;
	return per < WORKER_MAX_QUERIES_MIN ? WORKER_MAX_QUERIES_MIN : per;
}

void worker_check_drained(struct worker *w)
{
	if (!w->stopping || w->n_queries > 0 || w->conns != NULL)
		return;
	if (!uv_is_closing((uv_handle_t *)&w->drain_timer))
		uv_close((uv_handle_t *)&w->drain_timer, NULL);
	qlog_flush(&w->qlog);
	if (!uv_is_closing((uv_handle_t *)&w->qlog_check))
		uv_close((uv_handle_t *)&w->qlog_check, NULL);
	/* Nothing waits for mail any more: refuse further posts before the
	 * handle goes, so no other thread signals a closed handle. */
	uv_mutex_lock(&w->mail_lock);
	w->mail_closed = true;
	uv_mutex_unlock(&w->mail_lock);
	if (!uv_is_closing((uv_handle_t *)&w->mail_async))
		uv_close((uv_handle_t *)&w->mail_async, NULL);
}

static void worker_mail(uv_async_t *a)
{
	struct worker *w = a->data;
	struct snapshot *snap;
	struct worker_post *posts, *p, *next;
	bool watermark;

	uv_mutex_lock(&w->mail_lock);
	snap = w->mail_snap;
	posts = w->mail_posts;
	watermark = w->mail_watermark;
	w->mail_snap = NULL;
	w->mail_posts = NULL;
	w->mail_watermark = false;
	uv_mutex_unlock(&w->mail_lock);
	if (snap != NULL) {
		snapshot_unref(w->snap);
		w->snap = snap;
		log_debug("worker", "worker %u serves configuration %u", w->index,
			  snap->generation);
	}
	for (p = posts; p != NULL; p = next) {
		next = p->next;
		query_deliver_post(w, p);
		answer_unref(p->ans);
		free(p);
	}
	if (watermark)
		query_release_held(w);
}

void worker_post_watermark(struct worker *w)
{
	uv_mutex_lock(&w->mail_lock);
	if (!w->mail_closed && !w->mail_watermark) {
		w->mail_watermark = true;
		uv_async_send(&w->mail_async);
	}
	uv_mutex_unlock(&w->mail_lock);
}

void worker_post_snapshot(struct worker *w, struct snapshot *s)
{
	struct snapshot *old = NULL;

	snapshot_ref(s);
	uv_mutex_lock(&w->mail_lock);
	if (w->mail_closed) {
		old = s;
	} else {
		old = w->mail_snap;
		w->mail_snap = s;
		uv_async_send(&w->mail_async);
	}
	uv_mutex_unlock(&w->mail_lock);
	snapshot_unref(old);
}

void worker_post_answer(struct worker *w, const struct cache_key *key, struct answer *ans,
			bool stale)
{
	struct worker_post *p = malloc(sizeof(*p));

	/* Without memory the waiters time out and answer SERVFAIL. */
	if (p == NULL)
		return;
	p->ans = ans;
	if (ans != NULL)
		answer_ref(ans);
	p->stale = stale;
	p->qtype = key->qtype;
	p->qclass = key->qclass;
	p->do_bit = key->do_bit;
	p->name_len = key->name_len;
	memcpy(p->name, key->name, key->name_len);
	uv_mutex_lock(&w->mail_lock);
	if (w->mail_closed) {
		uv_mutex_unlock(&w->mail_lock);
		answer_unref(p->ans);
		free(p);
		return;
	}
	p->next = w->mail_posts;
	w->mail_posts = p;
	uv_async_send(&w->mail_async);
	uv_mutex_unlock(&w->mail_lock);
}

static void worker_drain_tick(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct query *qr, *next;

	if (!w->forced && uv_now(&w->loop) >= w->drain_deadline) {
		/* The deadline passed: answer what is left SERVFAIL and close
		 * the connections that still wait for answers. */
		w->forced = true;
		log_warn("worker", "drain deadline passed with %zu queries in flight",
			 w->n_queries);
		for (qr = w->queries; qr != NULL; qr = next) {
			next = qr->next;
			query_abort(qr);
		}
		tcp_conns_close_all(w);
	}
	worker_check_drained(w);
}

static void worker_stop_cb(uv_async_t *a)
{
	struct worker *w = a->data;
	size_t i;

	w->stopping = true;
	uv_close((uv_handle_t *)&w->stop_async, NULL);
	for (i = 0; i < w->n_udp; i++)
		server_udp_close(w->udp[i]);
	for (i = 0; i < w->n_tcp; i++)
		server_tcp_close(w->tcp[i]);
	w->n_udp = w->n_tcp = 0;
	tcp_conns_drain(w);
	w->drain_deadline = uv_now(&w->loop) + WORKER_DRAIN_MS;
	uv_timer_start(&w->drain_timer, worker_drain_tick, WORKER_DRAIN_TICK_MS,
		       WORKER_DRAIN_TICK_MS);
	worker_check_drained(w);
}

static void worker_main(void *arg)
{
	struct worker *w = arg;

	uv_run(&w->loop, UV_RUN_DEFAULT);
	atomic_store(&w->finished, true);
}

/* Closes whatever worker_start opened and runs the loop until the close
 * callbacks have run, so that the loop can be closed. */
static void worker_unwind(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->n_udp; i++)
		server_udp_close(w->udp[i]);
	for (i = 0; i < w->n_tcp; i++)
		server_tcp_close(w->tcp[i]);
	w->n_udp = w->n_tcp = 0;
	uv_close((uv_handle_t *)&w->stop_async, NULL);
	uv_close((uv_handle_t *)&w->mail_async, NULL);
	uv_close((uv_handle_t *)&w->drain_timer, NULL);
	uv_close((uv_handle_t *)&w->qlog_check, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	uv_loop_close(&w->loop);
	uv_mutex_destroy(&w->mail_lock);
}

/*
 * The listeners are opened here, on the calling thread, before the worker's
 * thread exists: nothing else touches the loop yet, and errors reach the
 * caller synchronously.
 */
int worker_start(struct worker *w)
{
	size_t i;
	int rc;

	w->udp = calloc(w->fds.n ? w->fds.n : 1, sizeof(*w->udp));
	w->tcp = calloc(w->fds.n ? w->fds.n : 1, sizeof(*w->tcp));
	if (w->udp == NULL || w->tcp == NULL)
		return -ENOMEM;
	rc = uv_mutex_init(&w->mail_lock);
	if (rc != 0)
		return rc;
	rc = uv_loop_init(&w->loop);
	if (rc != 0) {
		uv_mutex_destroy(&w->mail_lock);
		return rc;
	}
	uv_async_init(&w->loop, &w->stop_async, worker_stop_cb);
	w->stop_async.data = w;
	uv_async_init(&w->loop, &w->mail_async, worker_mail);
	w->mail_async.data = w;
	uv_timer_init(&w->loop, &w->drain_timer);
	w->drain_timer.data = w;
	uv_check_init(&w->loop, &w->qlog_check);
	w->qlog_check.data = w;
	uv_check_start(&w->qlog_check, worker_qlog_flush);
	w->qlog.len = 0;
	for (i = 0; i < w->fds.n; i++) {
		rc = server_udp_open(w, w->fds.udp[i], &w->udp[w->n_udp]);
		if (rc != 0)
			goto fail;
		w->fds.udp[i] = -1; /* owned by the listener now */
		w->n_udp++;
		rc = server_tcp_open(w, w->fds.tcp[i], &w->tcp[w->n_tcp]);
		if (rc != 0)
			goto fail;
		w->fds.tcp[i] = -1;
		w->n_tcp++;
	}
	rc = uv_thread_create(&w->thread, worker_main, w);
	if (rc != 0)
		goto fail;
	w->started = true;
	return 0;
fail:
	worker_unwind(w);
	return rc;
}

void worker_stop(struct worker *w)
{
	if (w->started)
		uv_async_send(&w->stop_async);
}

void worker_join(struct worker *w)
{
	struct worker_post *p, *next;
	int rc;

	if (w->started) {
		uv_thread_join(&w->thread);
		rc = uv_loop_close(&w->loop);
		if (rc != 0)
			log_err("worker", "worker %u: loop not empty at exit: %s", w->index,
				uv_strerror(rc));
		w->started = false;
		/* Mail that arrived after the last callback. */
		for (p = w->mail_posts; p != NULL; p = next) {
			next = p->next;
			answer_unref(p->ans);
			free(p);
		}
		w->mail_posts = NULL;
		snapshot_unref(w->mail_snap);
		w->mail_snap = NULL;
		uv_mutex_destroy(&w->mail_lock);
	}
	snapshot_unref(w->snap);
	w->snap = NULL;
	worker_fds_close(&w->fds);
	free(w->udp);
	free(w->tcp);
	w->udp = NULL;
	w->tcp = NULL;
}
