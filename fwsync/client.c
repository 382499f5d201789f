/*
 * Stream client on libuv. One uv_pipe_t per connection attempt, embedded in
 * the client and re-initialised after its close callback; one timer for the
 * reconnect backoff (STYLE.md, point 8). The read buffer belongs to the
 * client and is lent to libuv for each read (point 9); a line that spans
 * reads is carried over in a line buffer of JSONL_LINE_MAX bytes, so a peer
 * can never make us hold more than that.
 */
#include "client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"
#include "log.h"

#define TAG "client"

enum client_state {
	ST_IDLE = 0,
	ST_CONNECTING,
	ST_HELLO,  /* connected, waiting for hello */
	ST_STREAM, /* subscribed */
	ST_CLOSING,
};

struct client {
	uv_loop_t *loop;
	uv_pipe_t pipe;
	uv_connect_t creq;
	uv_timer_t timer;
	bool pipe_live; /* initialised and its close callback not yet run */
	bool timer_live;
	bool stopping;
	enum client_state st;
	char *path;
	bool acks;
	uint64_t backoff_min;
	uint64_t backoff_max;
	uint64_t backoff; /* delay of the next reconnect */
	uint64_t delay;	  /* delay chosen for the reconnect in progress */
	uint64_t next_seq;
	size_t batch_msgs; /* messages handed over since the last commit */
	bool batch_synced; /* the batch holds the synced message */
	uint64_t snapshot_msgs;
	struct client_ops ops;
	void *arg;
	struct client_stats stats;
	size_t line_len;
	char line[JSONL_LINE_MAX];
	char rbuf[64 * 1024];
};

/* A write request owns its buffer until its callback runs. */
struct client_write {
	uv_write_t req;
	char buf[96];
};

static void connect_now(struct client *c);

static void on_timer(uv_timer_t *t)
{
	connect_now(t->data);
}

int client_new(uv_loop_t *loop, const struct client_conf *conf, const struct client_ops *ops,
	       void *arg, struct client **out)
{
	struct client *c;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->path = strdup(conf->path);
	if (c->path == NULL) {
		free(c);
		return -ENOMEM;
	}
	c->loop = loop;
	c->acks = conf->acks;
	c->backoff_min = conf->backoff_min_ms != 0 ? conf->backoff_min_ms : CLIENT_BACKOFF_MIN_MS;
	c->backoff_max = conf->backoff_max_ms != 0 ? conf->backoff_max_ms : CLIENT_BACKOFF_MAX_MS;
	c->backoff = c->backoff_min;
	c->ops = *ops;
	c->arg = arg;
	*out = c;
	return 0;
}

void client_free(struct client *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c);
}

const struct client_stats *client_get_stats(const struct client *c)
{
	return &c->stats;
}

static void on_write(uv_write_t *req, int status)
{
	struct client_write *w = (struct client_write *)req;

	if (status < 0 && status != UV_ECANCELED)
		log_debug(TAG, "write failed: %s", uv_strerror(status));
	free(w);
}

static void send_line(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void send_line(struct client *c, const char *fmt, ...)
{
	struct client_write *w;
	uv_buf_t b;
	va_list ap;
	int n, rc;

	w = malloc(sizeof(*w));
	if (w == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->buf, sizeof(w->buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(w->buf) - 1) {
		free(w);
		return;
	}
	w->buf[n++] = '\n';
	b = uv_buf_init(w->buf, (unsigned)n);
	rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write);
	if (rc < 0) {
		log_debug(TAG, "write failed: %s", uv_strerror(rc));
		free(w);
	}
}

static void on_pipe_close(uv_handle_t *h)
{
	struct client *c = h->data;

	c->pipe_live = false;
	c->st = ST_IDLE;
	if (c->stopping || !c->timer_live)
		return;
	uv_timer_start(&c->timer, on_timer, c->delay, 0);
}

/* Picks the delay of the next attempt and doubles the backoff. */
static uint64_t next_delay(struct client *c)
{
	c->delay = c->backoff;
	c->backoff = c->backoff * 2 > c->backoff_max ? c->backoff_max : c->backoff * 2;
	return c->delay;
}

static void close_pipe(struct client *c)
{
	if (!c->pipe_live || c->st == ST_CLOSING)
		return;
	if (c->st == ST_HELLO || c->st == ST_STREAM) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->stats.disconnects++;
		c->ops.on_disconnect(c->arg);
	}
	c->st = ST_CLOSING;
	c->line_len = 0;
	c->batch_msgs = 0;
	c->batch_synced = false;
	uv_close((uv_handle_t *)&c->pipe, on_pipe_close);
}

/* Logs why and reconnects after the backoff; the sets stay as they are. */
static void disconnect(struct client *c, const char *why)
{
	if (c->st == ST_CLOSING || !c->pipe_live)
		return;
	log_warn(TAG, "disconnecting from %s: %s; reconnecting in %llu ms (sets kept)", c->path,
		 why, (unsigned long long)next_delay(c));
	close_pipe(c);
}

/* Commits the messages of one read callback as one batch and acks it. */
static int commit(struct client *c)
{
	uint64_t ack = 0;
	int rc;

	if (c->batch_msgs == 0)
		return 0;
	rc = c->ops.on_batch(c->arg, &ack);
	c->batch_msgs = 0;
	if (rc < 0) {
		c->batch_synced = false;
		return rc;
	}
	if (ack != 0 && c->acks) {
		send_line(c, "{\"type\":\"ack\",\"seq\":%llu}", (unsigned long long)ack);
		c->stats.acks++;
	}
	if (c->batch_synced) {
		c->batch_synced = false;
		/* Only a committed snapshot proves the peer works, so only that
		 * resets the backoff: a peer that fails every time is retried at
		 * the 5 s cap, not every 100 ms. */
		c->backoff = c->backoff_min;
		log_info(TAG, "snapshot of %llu updates committed; in sync with %s",
			 (unsigned long long)c->snapshot_msgs, c->path);
	}
	return 0;
}

/* One complete line; 0, or -EINVAL with *why set. */
static int handle_line(struct client *c, const char *line, size_t len, const char **why)
{
	struct msg m;
	static char gap[96];
	int rc;

	if (msg_parse(line, len, &m, why) != 0)
		return -EINVAL;
	c->stats.messages++;
	if (c->st == ST_HELLO) {
		if (m.type != MSG_HELLO) {
			*why = "first message is not hello";
			return -EINVAL;
		}
		c->st = ST_STREAM;
		c->next_seq = 1;
		c->snapshot_msgs = 0;
		c->stats.connects++;
		log_info(TAG, "connected to %s (stream version %llu, policy %s)", c->path,
			 (unsigned long long)m.version, m.policy[0] != '\0' ? m.policy : "?");
		send_line(c, "{\"type\":\"subscribe\",\"acks\":%s}", c->acks ? "true" : "false");
		return 0;
	}
	if (m.type == MSG_HELLO) {
		*why = "hello in the middle of the stream";
		return -EINVAL;
	}
	if (m.seq != c->next_seq) {
		snprintf(gap, sizeof(gap), "seq gap: expected %llu, got %llu",
			 (unsigned long long)c->next_seq, (unsigned long long)m.seq);
		*why = gap;
		return -EINVAL;
	}
	c->next_seq++;
	if (m.type == MSG_SYNCED) {
		c->batch_synced = true;
		c->snapshot_msgs = m.seq - 1;
	}
	rc = c->ops.on_msg(c->arg, &m);
	if (rc < 0) {
		*why = "cannot queue the update";
		return rc;
	}
	c->batch_msgs++;
	return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct client *c = h->data;

	(void)suggested;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct client *c = s->data;
	const char *p = buf->base, *end;
	const char *why = NULL;
	char reason[160];

	if (nread == 0)
		return;
	if (nread < 0) {
		/* A partial batch cannot be queued here: every batch is
		 * committed at the end of the callback that read it. */
		disconnect(c, nread == UV_EOF ? "connection closed by the resolver"
					      : uv_strerror((int)nread));
		return;
	}
	end = p + nread;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t chunk = (size_t)((nl != NULL ? nl : end) - p);

		if (c->line_len + chunk > JSONL_LINE_MAX) {
			why = "line longer than 1024 bytes";
			break;
		}
		memcpy(c->line + c->line_len, p, chunk);
		c->line_len += chunk;
		if (nl == NULL)
			break;
		p = nl + 1;
		if (handle_line(c, c->line, c->line_len, &why) != 0) {
			c->line_len = 0;
			break;
		}
		c->line_len = 0;
	}
	/* The valid messages before a bad line are still committed and acked. */
	if (commit(c) != 0 && why == NULL)
		why = "cannot apply the batch; taking a fresh snapshot";
	if (why != NULL) {
		snprintf(reason, sizeof(reason), "%s", why);
		disconnect(c, reason);
	}
}

static void on_connect(uv_connect_t *req, int status)
{
	struct client *c = req->data;
	int rc;

	if (status == UV_ECANCELED || c->stopping)
		return;
	if (status < 0) {
		log_warn(TAG, "cannot connect to %s: %s; retrying in %llu ms", c->path,
			 uv_strerror(status), (unsigned long long)next_delay(c));
		close_pipe(c);
		return;
	}
	c->st = ST_HELLO;
	c->line_len = 0;
	rc = uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
	if (rc < 0)
		disconnect(c, uv_strerror(rc));
}

static void connect_now(struct client *c)
{
	int rc;

	if (c->stopping || c->pipe_live)
		return;
	rc = uv_pipe_init(c->loop, &c->pipe, 0);
	if (rc < 0) {
		log_err(TAG, "cannot create a socket: %s; retrying in %llu ms", uv_strerror(rc),
			(unsigned long long)next_delay(c));
		uv_timer_start(&c->timer, on_timer, c->delay, 0);
		return;
	}
	c->pipe.data = c;
	c->pipe_live = true;
	c->st = ST_CONNECTING;
	c->creq.data = c;
	uv_pipe_connect(&c->creq, &c->pipe, c->path, on_connect);
}

int client_start(struct client *c)
{
	int rc = uv_timer_init(c->loop, &c->timer);

	if (rc < 0)
		return rc;
	c->timer.data = c;
	c->timer_live = true;
	connect_now(c);
	return 0;
}

static void on_timer_close(uv_handle_t *h)
{
	struct client *c = h->data;

	c->timer_live = false;
}

void client_stop(struct client *c)
{
	if (c->stopping)
		return;
	c->stopping = true;
	if (c->timer_live) {
		uv_timer_stop(&c->timer);
		uv_close((uv_handle_t *)&c->timer, on_timer_close);
	}
	if (c->pipe_live)
		close_pipe(c);
}
