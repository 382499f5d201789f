/*
 * A worker is one thread with its own libuv loop, its own listening sockets
 * (SO_REUSEPORT: the kernel spreads clients over the workers) and its own
 * upstream sockets. Workers share only read-only state (config snapshot,
 * policy) and the locked learned-name table, through struct worker_shared.
 */
#ifndef LOKI_WORKER_H
#define LOKI_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "dns.h"
#include "learned.h"
#include "policy.h"

struct server_udp;
struct server_tcp;
struct query;
struct tcp_conn;

struct worker_shared {
	const struct config *cfg;
	const struct policy *policy;
	struct learned *learned;
	atomic_uint tcp_clients; /* open client connections, all workers */
};

/* Sockets bound by the main thread before workers (and privilege drop) start. */
struct worker_fds {
	int *udp; /* one per listen address, -1 if none */
	int *tcp;
	size_t n;
};

struct worker {
	unsigned index;
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t stop_async;
	uv_timer_t drain_timer;
	struct worker_shared *shared;
	struct worker_fds fds;
	struct server_udp **udp;
	size_t n_udp;
	struct server_tcp **tcp;
	size_t n_tcp;
	struct query *queries;	/* in flight, doubly linked */
	struct tcp_conn *conns; /* open client connections, doubly linked */
	size_t n_queries;
	bool stopping;
	bool forced;  /* the drain deadline passed */
	bool started; /* the thread runs */
	uint64_t drain_deadline;
	uint8_t scratch[DNS_TCP_MAX]; /* answers are built here */
	uint8_t upbuf[DNS_TCP_MAX];   /* upstream UDP answers are received here */
};

/*
 * Opens (socket, SO_REUSEPORT, bind) one UDP and one TCP socket per listen
 * address for one worker. Returns 0 or a negative errno with err set
 * ("127.0.0.1:53: bind: Permission denied").
 */
int worker_bind(const struct config *cfg, struct worker_fds *fds, char *err, size_t errlen);
void worker_fds_close(struct worker_fds *fds);

/* Starts the worker's thread; returns 0 or a negative errno. */
int worker_start(struct worker *w);
/* Asks the worker to stop accepting and drain (thread-safe). */
void worker_stop(struct worker *w);
/* Joins the thread and frees the worker's loop resources. */
void worker_join(struct worker *w);
/* Called when a query or connection ends while stopping. */
void worker_check_drained(struct worker *w);

/*
 * The query pipeline shared by the UDP and TCP listeners: ACL, parse,
 * policy, local answers. Either writes an immediate answer into
 * w->scratch and returns its length (> 0), returns 0 to drop the packet
 * silently, or hands the query to the upstream machinery (query_start) and
 * returns 0 with *forwarded set.
 */
size_t worker_handle(struct worker *w, const uint8_t *pkt, size_t len,
		     const struct sockaddr *client, struct server_udp *udp, struct tcp_conn *conn,
		     bool *forwarded);

/* A lower-case wire name as JSON string content ("api.openai.com"; the
 * \DDD escapes of unusual bytes have their backslash doubled). */
size_t worker_name_json(const uint8_t *name, size_t len, char *out, size_t cap);

#endif
