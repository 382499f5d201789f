/*
 * A worker is one thread with its own libuv loop, its own listening sockets
 * (SO_REUSEPORT: the kernel spreads clients over the workers) and its own
 * upstream sockets. Workers share the answer cache, the coalescing table and
 * the learned-name table (each locked inside), through struct worker_shared;
 * each holds its own reference to the current configuration snapshot.
 */
#ifndef LOKI_WORKER_H
#define LOKI_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "answer.h"
#include "cache.h"
#include "config.h"
#include "cookie.h"
#include "dns.h"
#include "inflight.h"
#include "learned.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "qlog.h"
#include "snapshot.h"
#include "stream.h"

struct server_udp;
struct server_tcp;
struct query;
struct tcp_conn;
struct worker;

/* Counters shared by all workers (metrics come from these). */
struct worker_stats {
	atomic_ulong allowed;
	atomic_ulong blocked;
	atomic_ulong refused;
	atomic_ulong servfail;
	atomic_ulong stale;
	atomic_ulong cache_hits;
	atomic_ulong cache_misses;
	atomic_ulong upstream_queries;
	atomic_ulong upstream_errors;
	atomic_ulong coalesced;
	atomic_ulong prefetches;
	atomic_ulong fwsync_wait_timeouts;
	atomic_ulong queries_full;	  /* SERVFAIL: the worker's in-flight cap was reached */
	atomic_ulong udp_dropped;	  /* UDP answers dropped: send queue full */
	struct metrics_hist upstream_rtt; /* per answered upstream attempt */
};

struct worker_shared {
	struct stream *stream; /* NULL without fwsync_socket */
	struct learned *learned;
	struct cache *cache;
	struct inflight *inflight;
	struct cookie_secret cookie_secret;
	struct worker *workers; /* all of them, for coalescing hand-offs */
	unsigned n_workers;
	atomic_uint tcp_clients; /* open client connections, all workers */
	size_t max_queries;	 /* per worker: in flight or waiting (worker_max_queries) */
	/* Floods are logged at most every LOG_LIMIT_INTERVAL_MS per kind. */
	struct log_limit log_tcp_refused;   /* max_tcp_clients reached */
	struct log_limit log_tcp_overflow;  /* a client not reading its answers */
	struct log_limit log_queries_full;  /* WORKER_MAX_QUERIES reached */
	struct log_limit log_upstream_send; /* an upstream socket could not send */
	struct log_limit log_udp_dropped;   /* UDP answers dropped, send queue full */
	struct worker_stats stats;
};

/* Sockets bound by the main thread before workers (and privilege drop) start. */
struct worker_fds {
	int *udp; /* one per listen address, -1 if none */
	int *tcp;
	size_t n;
};

/* An answer handed to this worker for its coalesced waiters. */
struct worker_post {
	struct worker_post *next;
	struct answer *ans; /* NULL: the owner failed, answer SERVFAIL */
	bool stale;
	uint16_t qtype;
	uint16_t qclass;
	bool do_bit;
	uint8_t name_len;
	uint8_t name[DNS_NAME_MAX];
};

struct worker {
	unsigned index;
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t stop_async;
	uv_async_t mail_async; /* new snapshot or coalesced answers arrived */
	uv_timer_t drain_timer;
	uv_check_t qlog_check; /* flushes qlog after every loop iteration */
	struct qlog_buf qlog;  /* audit lines of this iteration */
	struct worker_shared *shared;
	struct snapshot *snap; /* the snapshot this worker serves with */
	uv_mutex_t mail_lock;  /* guards the three fields below */
	struct snapshot *mail_snap;
	struct worker_post *mail_posts;
	bool mail_closed;    /* the worker drained: posts are dropped */
	bool mail_watermark; /* the stream's acked watermark moved */
	struct worker_fds fds;
	struct server_udp **udp;
	size_t n_udp;
	struct server_tcp **tcp;
	size_t n_tcp;
	struct query *queries;	/* in flight or waiting, doubly linked */
	struct tcp_conn *conns; /* open client connections, doubly linked */
	size_t n_queries;
	bool stopping;
	bool forced;	      /* the drain deadline passed */
	bool started;	      /* the thread runs */
	atomic_bool finished; /* the thread's loop has ended */
	uint64_t drain_deadline;
	uint8_t scratch[DNS_TCP_MAX]; /* answers are built here */
	uint8_t upbuf[DNS_TCP_MAX];   /* upstream UDP answers are received here */
};

/*
 * Opens (socket, SO_REUSEPORT, bind) one UDP and one TCP socket per listen
 * address for one worker. Returns 0 or a negative errno with err set
 * ("127.0.0.1:53 (udp): Permission denied").
 */
int worker_bind(const struct config *cfg, struct worker_fds *fds, char *err, size_t errlen);
void worker_fds_close(struct worker_fds *fds);

/* Initialises the loop and opens the listeners on the calling thread, then
 * starts the worker's thread; w->snap must hold a reference. Returns 0 or a
 * negative errno. */
int worker_start(struct worker *w);
/* Asks the worker to stop accepting and drain (thread-safe). */
void worker_stop(struct worker *w);
/* Joins the thread and frees the worker's loop resources and snapshot. */
void worker_join(struct worker *w);
/*
 * Queries one worker keeps in flight or waiting at most (each may hold an
 * upstream socket): WORKER_MAX_QUERIES, or fewer if RLIMIT_NOFILE, raised
 * towards its hard limit here, cannot hold that many for every thread next
 * to max_tcp_clients; never below WORKER_MAX_QUERIES_MIN. Past it a new
 * query gets SERVFAIL (loki_resolver_queries_full_total).
 */
#define WORKER_MAX_QUERIES     4096
#define WORKER_MAX_QUERIES_MIN 64
size_t worker_max_queries(unsigned threads, unsigned max_tcp_clients);

/* Called when a query or connection ends while stopping. */
void worker_check_drained(struct worker *w);

/* Tells the worker the stream's acked watermark moved (thread-safe). */
void worker_post_watermark(struct worker *w);
/* Hands a new snapshot to the worker (thread-safe; takes a reference). */
void worker_post_snapshot(struct worker *w, struct snapshot *s);
/* Hands a coalesced answer for key to the worker (thread-safe; takes a
 * reference on ans, which may be NULL for a failure). */
void worker_post_answer(struct worker *w, const struct cache_key *key, struct answer *ans,
			bool stale);

/*
 * The query pipeline shared by the UDP and TCP listeners: ACL, parse,
 * policy, cache, local answers. Either writes an immediate answer into
 * out (cap bytes; it may be pkt itself, which is read completely before
 * the answer is written) and returns its length (> 0), returns 0 to drop the packet
 * silently, or hands the query to the upstream machinery (query_start) and
 * returns 0 with *forwarded set. udp != NULL means the answer goes over UDP
 * and is truncated to the client's limit.
 */
size_t worker_handle(struct worker *w, const uint8_t *pkt, size_t len,
		     const struct sockaddr *client, struct server_udp *udp, struct tcp_conn *conn,
		     uint8_t *out, size_t cap, bool *forwarded);

/* The cache key of a parsed query (points into q). */
void worker_cache_key(const struct dns_query *q, struct cache_key *key);

static inline uint64_t worker_now_ms(void)
{
	return uv_hrtime() / 1000000;
}

#endif
