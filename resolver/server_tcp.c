/*
 * TCP listener and client connections (RFC 7766, RFC 1035 section 4.2.2).
 *
 * A connection is freed only when its handle and timer are closed, no query
 * holds it and no write is pending. Answers are written as their queries
 * complete, so pipelined queries may be answered out of order (RFC 7766
 * section 6.2.1.1); each answer carries its own ID.
 */
#include "server_tcp.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"
#include "netaddr.h"
#include "worker.h"

/* Queries in flight per connection before we stop reading from it. */
#define TCP_MAX_INFLIGHT 64
/* A client that does not read its answers: bytes queued before we give up. */
#define TCP_MAX_WRITE_QUEUE (256 * 1024)

struct server_tcp {
	uv_tcp_t handle;
	struct worker *w;
};

struct tcp_conn {
	uv_tcp_t handle;
	uv_timer_t idle;
	struct worker *w;
	struct tcp_conn *prev, *next;
	struct netaddr peer;
	unsigned queries; /* in flight, each holding a reference */
	unsigned writes;  /* pending uv_write requests */
	unsigned closes;  /* handle closes not yet called back */
	bool closing;
	bool eof;
	bool reading;
	bool counted;	 /* counted in shared->tcp_clients */
	bool processing; /* inside conn_process: no re-entry */
	size_t len;
	uint8_t buf[2 + DNS_TCP_MAX];
};

struct tcp_write {
	uv_write_t req;
	struct tcp_conn *conn;
	uint8_t data[];
};

static void conn_close(struct tcp_conn *c);

static void conn_maybe_free(struct tcp_conn *c)
{
	struct worker *w = c->w;

	if (!c->closing || c->closes > 0 || c->queries > 0 || c->writes > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->counted)
		atomic_fetch_sub(&w->shared->tcp_clients, 1);
	free(c);
	if (w->stopping)
		worker_check_drained(w);
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct tcp_conn *c = h->data;

	c->closes--;
	conn_maybe_free(c);
}

static void conn_close(struct tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->closes = 2;
	uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
	uv_close((uv_handle_t *)&c->handle, conn_handle_closed);
}

/* After EOF, the connection closes once every answer has been written. */
static void conn_check_finished(struct tcp_conn *c)
{
	if (!c->closing && (c->eof || c->w->stopping) && c->queries == 0 && c->writes == 0)
		conn_close(c);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_conn *c = h->data;

	(void)suggested;
	buf->base = (char *)c->buf + c->len;
	buf->len = sizeof(c->buf) - c->len;
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void conn_pause(struct tcp_conn *c, bool pause)
{
	if (c->closing || c->eof)
		return;
	if (pause && c->reading) {
		uv_read_stop((uv_stream_t *)&c->handle);
		c->reading = false;
	} else if (!pause && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->handle, conn_alloc, conn_read) == 0)
			c->reading = true;
	}
}

/* Handles every complete message in the buffer. Returns false if the
 * connection was closed for a protocol error. */
static bool conn_process(struct tcp_conn *c)
{
	size_t off = 0;
	bool ok = true;

	if (c->processing)
		return true;
	c->processing = true;
	while (c->len - off >= 2 && !c->closing) {
		size_t mlen = (size_t)c->buf[off] << 8 | c->buf[off + 1];
		bool forwarded = false;
		size_t alen;

		if (c->len - off - 2 < mlen)
			break;
		if (c->queries >= TCP_MAX_INFLIGHT)
			break;
		alen = worker_handle(c->w, c->buf + off + 2, mlen, (struct sockaddr *)&c->peer.ss,
				     NULL, c, c->w->scratch, sizeof(c->w->scratch), &forwarded);
		off += 2 + mlen;
		if (alen > 0) {
			if (tcp_conn_send(c, c->w->scratch, alen) != 0) {
				ok = false;
				break;
			}
		} else if (!forwarded) {
			/* Unreadable header (or a response sent to us): on a
			 * stream we cannot resynchronise, so close. */
			ok = false;
			break;
		}
	}
	if (off > 0) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
	c->processing = false;
	if (!ok) {
		conn_close(c);
		return false;
	}
	conn_pause(c, c->queries >= TCP_MAX_INFLIGHT);
	return true;
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_conn *c = s->data;
	size_t total;
	bool fresh;

	(void)buf;
	if (nread == 0)
		return;
	if (nread < 0) {
		if (nread != UV_EOF)
			log_debug("tcp", "read error: %s", uv_strerror((int)nread));
		/* The client may half-close after its last query; still answer
		 * what it sent (RFC 7766 section 6.2.3). */
		uv_read_stop(s);
		c->reading = false;
		c->eof = true;
		if (nread != UV_EOF)
			conn_close(c);
		else
			conn_check_finished(c);
		return;
	}
	fresh = c->len == 0;
	c->len += (size_t)nread;
	total = c->len;
	if (!conn_process(c))
		return;
	/* The idle timer restarts when a message begins or completes, not on
	 * every byte: a client that drips a message a byte at a time is too
	 * slow, and is closed after tcp_idle_timeout_ms like an idle one. */
	if (fresh || c->len < total)
		uv_timer_again(&c->idle);
	conn_check_finished(c);
}

static void conn_idle(uv_timer_t *t)
{
	struct tcp_conn *c = t->data;

	/* Idle means no query in flight and no answer pending (RFC 7766
	 * section 6.2.3); a partial message counts as idle: a client too slow
	 * to finish its query is closed. */
	if (c->queries > 0 || c->writes > 0)
		return;
	log_debug("tcp", "closing idle connection");
	conn_close(c);
}

static void listener_accept(uv_stream_t *ls, int status)
{
	struct server_tcp *s = ls->data;
	struct worker *w = s->w;
	const struct config *cfg = w->snap->cfg;
	struct tcp_conn *c;
	int namelen = sizeof(struct sockaddr_storage);
	unsigned prev;

	if (status != 0) {
		log_warn("tcp", "accept: %s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->w = w;
	uv_tcp_init(&w->loop, &c->handle);
	uv_timer_init(&w->loop, &c->idle);
	c->handle.data = c;
	c->idle.data = c;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	if (uv_accept(ls, (uv_stream_t *)&c->handle) != 0) {
		conn_close(c);
		return;
	}
	prev = atomic_fetch_add(&w->shared->tcp_clients, 1);
	c->counted = true;
	if (prev >= cfg->max_tcp_clients) {
		log_warn_limited(&w->shared->log_tcp_refused, uv_now(&w->loop) + 1, "tcp",
				 "max_tcp_clients (%u) reached: new connection closed",
				 cfg->max_tcp_clients);
		conn_close(c);
		return;
	}
	if (uv_tcp_getpeername(&c->handle, (struct sockaddr *)&c->peer.ss, &namelen) != 0) {
		conn_close(c);
		return;
	}
	c->peer.len = (socklen_t)namelen;
	uv_tcp_nodelay(&c->handle, 1);
	uv_timer_start(&c->idle, conn_idle, cfg->tcp_idle_timeout_ms, cfg->tcp_idle_timeout_ms);
	conn_pause(c, false);
	if (!c->reading)
		conn_close(c);
}

int server_tcp_open(struct worker *w, int fd, struct server_tcp **out)
{
	struct server_tcp *s;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->w = w;
	rc = uv_tcp_init(&w->loop, &s->handle);
	if (rc != 0) {
		free(s);
		return rc;
	}
	s->handle.data = s;
	rc = uv_tcp_open(&s->handle, fd);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->handle, 128, listener_accept);
	if (rc != 0) {
		server_tcp_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	free(h->data);
}

void server_tcp_close(struct server_tcp *s)
{
	if (s != NULL)
		uv_close((uv_handle_t *)&s->handle, listener_closed);
}

static void conn_written(uv_write_t *req, int status)
{
	struct tcp_write *wr = req->data;
	struct tcp_conn *c = wr->conn;

	free(wr);
	c->writes--;
	if (status != 0 && status != UV_ECANCELED) {
		log_debug("tcp", "write failed: %s", uv_strerror(status));
		conn_close(c);
	}
	conn_check_finished(c);
	conn_maybe_free(c);
}

int tcp_conn_send(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	struct tcp_write *wr;
	uv_buf_t b;
	int rc;

	if (c->closing)
		return -ECONNRESET;
	if (len > DNS_TCP_MAX)
		return -EMSGSIZE;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->handle) > TCP_MAX_WRITE_QUEUE) {
		log_warn_limited(&c->w->shared->log_tcp_overflow, uv_now(&c->w->loop) + 1, "tcp",
				 "client closed for not reading their answers: over %d bytes "
				 "queued",
				 TCP_MAX_WRITE_QUEUE);
		conn_close(c);
		return -ENOBUFS;
	}
	wr = malloc(sizeof(*wr) + 2 + len);
	if (wr == NULL)
		return -ENOMEM;
	wr->conn = c;
	wr->req.data = wr;
	wr->data[0] = (uint8_t)(len >> 8);
	wr->data[1] = (uint8_t)len;
	memcpy(wr->data + 2, msg, len);
	b = uv_buf_init((char *)wr->data, (unsigned)(len + 2));
	rc = uv_write(&wr->req, (uv_stream_t *)&c->handle, &b, 1, conn_written);
	if (rc != 0) {
		free(wr);
		conn_close(c);
		return rc;
	}
	c->writes++;
	uv_timer_again(&c->idle);
	return 0;
}

void tcp_conn_ref(struct tcp_conn *c)
{
	c->queries++;
}

void tcp_conn_unref(struct tcp_conn *c)
{
	c->queries--;
	if (!c->closing) {
		/* A slot is free again: resume reading, and handle messages that
		 * arrived while we were paused. */
		if (c->queries < TCP_MAX_INFLIGHT && c->len >= 2 && conn_process(c))
			conn_pause(c, false);
		else
			conn_pause(c, c->queries >= TCP_MAX_INFLIGHT);
		conn_check_finished(c);
	}
	conn_maybe_free(c);
}

void tcp_conns_drain(struct worker *w)
{
	struct tcp_conn *c, *next;

	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		if (c->reading) {
			uv_read_stop((uv_stream_t *)&c->handle);
			c->reading = false;
		}
		conn_check_finished(c);
	}
}

void tcp_conns_close_all(struct worker *w)
{
	struct tcp_conn *c;

	for (c = w->conns; c != NULL; c = c->next)
		conn_close(c);
}
