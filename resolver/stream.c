/*
 * The address stream (see stream.h).
 */
#include "stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "addrbook.h"
#include "jsonl.h"
#include "log.h"
#include "wire.h"

#define STREAM_GC_MS	10000 /* expired addresses are forgotten this often */
#define STREAM_LINE_MAX JSONL_LINE_MAX
#define STREAM_PROTOCOL 1

/* One published change, queued by a worker for the main loop. */
struct event {
	struct event *next;
	uint64_t pubid;
	bool del;
	uint8_t family;
	uint8_t addr[16];
	uint32_t ttl;
	char name[ADDRBOOK_NAME_MAX];
};

struct pending_ack {
	uint64_t seq;
	uint64_t pubid;
};

struct sub {
	uv_pipe_t pipe;
	struct stream *s;
	struct sub *prev, *next;
	uint64_t seq;	      /* the last seq sent */
	uint64_t start_pubid; /* events up to this one were in its snapshot */
	uint64_t acked_pubid; /* everything up to this pubid is acked */
	bool acks;
	bool closing;
	struct pending_ack *ring; /* sent messages not yet acked, oldest first */
	size_t ring_start, ring_len;
	size_t rlen;
	char rbuf[STREAM_LINE_MAX + 1];
};

struct stream {
	uv_loop_t *loop;
	uv_pipe_t server;
	uv_async_t async;
	uv_timer_t gc;
	char *path;
	char policy[32];
	void (*on_watermark)(void *arg);
	void *arg;
	pthread_mutex_t lock; /* guards the fields up to `out_tail` */
	struct addrbook *book;
	uint64_t pubid;
	bool ack_subs;
	struct stream_stats stats;
	struct event *out_head, *out_tail;
	atomic_uint_fast64_t watermark;
	struct sub *subs;
	size_t n_subs;
	struct log_limit log_dropped;  /* stream_publish, any thread */
	struct log_limit log_rejected; /* on_connection */
	unsigned closes;	       /* handle closes pending at shutdown */
	bool closing;
};

struct write_req {
	uv_write_t req;
	char data[];
};

static void sub_close(struct sub *sub, const char *why);

/* -------------------------------------------------------------- watermark */

static void update_watermark(struct stream *s)
{
	uint64_t wm = UINT64_MAX;
	bool any = false;
	struct sub *sub;

	for (sub = s->subs; sub != NULL; sub = sub->next) {
		if (sub->closing || !sub->acks)
			continue;
		any = true;
		if (sub->acked_pubid < wm)
			wm = sub->acked_pubid;
	}
	pthread_mutex_lock(&s->lock);
	s->ack_subs = any;
	pthread_mutex_unlock(&s->lock);
	atomic_store(&s->watermark, wm);
	if (s->on_watermark != NULL && !s->closing)
		s->on_watermark(s->arg);
}

uint64_t stream_acked(struct stream *s)
{
	return atomic_load(&s->watermark);
}

/* ------------------------------------------------------------------ output */

static void write_done(uv_write_t *req, int status)
{
	free(req->data);
	(void)status; /* a failed write shows up as a read error or EOF */
}

/* Queues len bytes; for incremental messages (check_limit) a subscriber
 * whose queue is too long is disconnected. */
static int sub_write(struct sub *sub, const char *data, size_t len, bool check_limit)
{
	struct write_req *wr;
	uv_buf_t b;

	if (sub->closing)
		return -ECONNRESET;
	if (check_limit &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&sub->pipe) > STREAM_MAX_QUEUE) {
		sub->s->stats.slow_disconnects++;
		sub_close(sub, "too slow to keep up (queue full): disconnected");
		return -ENOBUFS;
	}
	wr = malloc(sizeof(*wr) + len);
	if (wr == NULL) {
		sub_close(sub, "out of memory");
		return -ENOMEM;
	}
	memcpy(wr->data, data, len);
	wr->req.data = wr;
	b = uv_buf_init(wr->data, (unsigned)len);
	if (uv_write(&wr->req, (uv_stream_t *)&sub->pipe, &b, 1, write_done) != 0) {
		free(wr);
		sub_close(sub, "write failed");
		return -EIO;
	}
	return 0;
}

/* Remembers which pubid a seq carries, for acks. */
static int sub_track(struct sub *sub, uint64_t seq, uint64_t pubid)
{
	size_t i;

	if (sub->ring_len == STREAM_MAX_UNACKED) {
		if (sub->acks) {
			sub->s->stats.slow_disconnects++;
			sub_close(sub, "too many unacked messages: disconnected");
			return -ENOBUFS;
		}
		/* Without acks nobody asks: forget the oldest. */
		sub->ring_start = (sub->ring_start + 1) % STREAM_MAX_UNACKED;
		sub->ring_len--;
	}
	i = (sub->ring_start + sub->ring_len) % STREAM_MAX_UNACKED;
	sub->ring[i].seq = seq;
	sub->ring[i].pubid = pubid;
	sub->ring_len++;
	return 0;
}

static size_t format_event(char *out, size_t cap, uint64_t seq, const char *name, bool del,
			   int family, const uint8_t *addr, uint32_t ttl)
{
	char ip[INET6_ADDRSTRLEN], ename[2 * ADDRBOOK_NAME_MAX];
	int n;

	if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, ip, sizeof(ip)) == NULL)
		return 0;
	if (jsonl_escape(name, strlen(name), ename, sizeof(ename)) == 0)
		return 0;
	if (del)
		n = snprintf(out, cap,
			     "{\"type\":\"del\",\"seq\":%llu,\"name\":\"%s\",\"family\":%d,"
			     "\"addr\":\"%s\"}\n",
			     (unsigned long long)seq, ename, family, ip);
	else
		n = snprintf(out, cap,
			     "{\"type\":\"add\",\"seq\":%llu,\"name\":\"%s\",\"family\":%d,"
			     "\"addr\":\"%s\",\"ttl\":%u}\n",
			     (unsigned long long)seq, ename, family, ip, ttl);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static void sub_send_event(struct sub *sub, const struct event *ev)
{
	char line[STREAM_LINE_MAX + 1];
	size_t n;

	if (sub->closing || ev->pubid <= sub->start_pubid)
		return;
	n = format_event(line, sizeof(line), sub->seq + 1, ev->name, ev->del, ev->family, ev->addr,
			 ev->ttl);
	if (n == 0)
		return;
	sub->seq++;
	if (sub_track(sub, sub->seq, ev->pubid) == 0)
		sub_write(sub, line, n, true);
}

/* Sends queued events to every subscriber, in pubid order. */
static void drain(struct stream *s)
{
	struct event *ev, *next;
	struct sub *sub, *snext;

	pthread_mutex_lock(&s->lock);
	ev = s->out_head;
	s->out_head = s->out_tail = NULL;
	pthread_mutex_unlock(&s->lock);
	for (; ev != NULL; ev = next) {
		next = ev->next;
		for (sub = s->subs; sub != NULL; sub = snext) {
			snext = sub->next;
			sub_send_event(sub, ev);
		}
		free(ev);
	}
}

/* Appends ev to the outbox; the caller holds the lock. */
static void outbox_append(struct stream *s, struct event *ev)
{
	ev->next = NULL;
	if (s->out_tail != NULL)
		s->out_tail->next = ev;
	else
		s->out_head = ev;
	s->out_tail = ev;
	s->stats.published++;
}

static void on_async(uv_async_t *a)
{
	drain(a->data);
}

/* ------------------------------------------------------------- publishing */

uint64_t stream_publish(struct stream *s, const uint8_t *name_lc, size_t name_len,
			const struct scrub_addr *addrs, size_t n, uint64_t now_ms)
{
	struct event *evs[SCRUB_MAX_ADDRS] = {NULL};
	char name[ADDRBOOK_NAME_MAX * 4];
	uint64_t last = 0;
	bool need_ack;
	size_t i, used = 0, dropped;

	if (s == NULL || n == 0)
		return 0;
	if (n > SCRUB_MAX_ADDRS)
		n = SCRUB_MAX_ADDRS;
	if (wire_name_to_text(name_lc, name_len, name, sizeof(name)) == 0 ||
	    strlen(name) >= ADDRBOOK_NAME_MAX)
		return 0;
	/* Allocate outside the lock; unused events are freed after it. */
	for (i = 0; i < n; i++) {
		evs[i] = malloc(sizeof(struct event));
		if (evs[i] == NULL)
			break;
	}
	dropped = n - i;
	n = i;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < n; i++) {
		const struct scrub_addr *a = &addrs[i];
		int family = a->family == 4 ? 4 : 6;
		struct event *ev;
		int rc = addrbook_add(s->book, name, family, a->addr,
				      now_ms + (uint64_t)a->ttl * 1000);

		if (rc != 1) {
			if (rc < 0)
				dropped++;
			continue;
		}
		ev = evs[used++];
		ev->pubid = ++s->pubid;
		ev->del = false;
		ev->family = (uint8_t)family;
		memcpy(ev->addr, a->addr, 16);
		ev->ttl = a->ttl;
		memcpy(ev->name, name, strlen(name) + 1);
		outbox_append(s, ev);
		last = ev->pubid;
	}
	need_ack = s->ack_subs;
	if (used > 0)
		uv_async_send(&s->async);
	s->stats.dropped += dropped;
	pthread_mutex_unlock(&s->lock);
	for (i = used; i < n; i++)
		free(evs[i]);
	/* The client still gets its answer; the firewall will not admit these
	 * addresses (loki_resolver_stream_dropped_total). */
	if (dropped > 0)
		log_warn_limited(&s->log_dropped, now_ms + 1, "stream",
				 "%zu address(es) of an answer not published: address book full "
				 "or out of memory (at most %d tracked)",
				 dropped, STREAM_MAX_ADDRS);
	return need_ack ? last : 0;
}

/* --------------------------------------------------------------- snapshot */

struct snap_buf {
	struct sub *sub;
	char *data;
	size_t len, cap;
	uint64_t now_ms;
	bool failed;
};

static void snap_add(void *arg, const char *name, int family, const uint8_t *addr,
		     uint64_t expiry_ms)
{
	struct snap_buf *sb = arg;
	char line[STREAM_LINE_MAX + 1];
	uint32_t ttl = (uint32_t)((expiry_ms - sb->now_ms + 999) / 1000);
	size_t n;

	if (sb->failed)
		return;
	n = format_event(line, sizeof(line), sb->sub->seq + 1, name, false, family, addr, ttl);
	if (n == 0)
		return;
	if (sb->len + n > sb->cap) {
		size_t cap = sb->cap ? sb->cap * 2 : 65536;
		char *d;

		while (cap < sb->len + n)
			cap *= 2;
		d = realloc(sb->data, cap);
		if (d == NULL) {
			sb->failed = true;
			return;
		}
		sb->data = d;
		sb->cap = cap;
	}
	memcpy(sb->data + sb->len, line, n);
	sb->len += n;
	sb->sub->seq++;
	if (sub_track(sb->sub, sb->sub->seq, sb->sub->start_pubid) != 0)
		sb->failed = true;
}

/* hello, every live address, synced: one write. */
static void sub_send_snapshot(struct sub *sub)
{
	struct stream *s = sub->s;
	struct snap_buf sb = {.sub = sub, .now_ms = uv_hrtime() / 1000000};
	char line[128];
	int n;

	n = snprintf(line, sizeof(line), "{\"type\":\"hello\",\"version\":%d,\"policy\":\"%s\"}\n",
		     STREAM_PROTOCOL, s->policy);
	sub_write(sub, line, (size_t)n, false);
	pthread_mutex_lock(&s->lock);
	sub->start_pubid = s->pubid;
	addrbook_foreach(s->book, sb.now_ms, snap_add, &sb);
	pthread_mutex_unlock(&s->lock);
	if (sb.failed) {
		free(sb.data);
		sub_close(sub, "cannot build the snapshot");
		return;
	}
	if (sb.len > 0)
		sub_write(sub, sb.data, sb.len, false);
	free(sb.data);
	sub->seq++;
	if (sub_track(sub, sub->seq, sub->start_pubid) != 0)
		return;
	n = snprintf(line, sizeof(line), "{\"type\":\"synced\",\"seq\":%llu}\n",
		     (unsigned long long)sub->seq);
	sub_write(sub, line, (size_t)n, false);
}

/* ------------------------------------------------------------------ input */

static void sub_ack(struct sub *sub, uint64_t seq)
{
	bool moved = false;

	while (sub->ring_len > 0 && sub->ring[sub->ring_start].seq <= seq) {
		uint64_t p = sub->ring[sub->ring_start].pubid;

		if (p > sub->acked_pubid) {
			sub->acked_pubid = p;
			moved = true;
		}
		sub->ring_start = (sub->ring_start + 1) % STREAM_MAX_UNACKED;
		sub->ring_len--;
	}
	if (moved && sub->acks)
		update_watermark(sub->s);
}

int stream_parse_client_line(const char *line, size_t len, struct stream_client_msg *out,
			     const char **why)
{
	struct jsonl_object o;
	const struct jsonl_field *f;
	const char *type, *dummy;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	memset(out, 0, sizeof(*out));
	if (len > JSONL_LINE_MAX) {
		*why = "line too long";
		return -EINVAL;
	}
	if (jsonl_parse(line, len, &o, why) != 0) {
		if (*why == NULL)
			*why = "invalid JSON";
		return -EINVAL;
	}
	type = jsonl_get_str(&o, "type");
	if (type == NULL) {
		*why = "no \"type\"";
		return -EINVAL;
	}
	if (strcmp(type, "subscribe") == 0) {
		f = jsonl_get(&o, "acks");
		if (f != NULL && f->type != JSONL_BOOL) {
			*why = "\"acks\" is not a boolean";
			return -EINVAL;
		}
		out->type = STREAM_CLIENT_SUBSCRIBE;
		out->acks = f != NULL && f->b;
		return 0;
	}
	if (strcmp(type, "ack") == 0) {
		if (!jsonl_get_num(&o, "seq", &out->seq)) {
			*why = "ack without a numeric \"seq\"";
			return -EINVAL;
		}
		out->type = STREAM_CLIENT_ACK;
		return 0;
	}
	*why = "unknown \"type\"";
	return -EINVAL;
}

int stream_split_lines(char *buf, size_t *len, size_t cap,
		       int (*on_line)(void *arg, const char *line, size_t n), void *arg)
{
	size_t start = 0, i;
	int rc;

	for (i = 0; i < *len; i++) {
		if (buf[i] != '\n')
			continue;
		rc = on_line(arg, buf + start, i - start);
		if (rc != 0)
			return rc;
		start = i + 1;
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
	return *len >= cap ? -EMSGSIZE : 0;
}

static int sub_line(void *arg, const char *line, size_t len)
{
	struct sub *sub = arg;
	struct stream_client_msg m;
	const char *why = NULL;

	if (stream_parse_client_line(line, len, &m, &why) != 0) {
		sub->s->stats.bad_disconnects++;
		log_warn("stream", "subscriber sent an invalid message (%s): disconnected", why);
		sub_close(sub, NULL);
		return -EINVAL;
	}
	if (m.type == STREAM_CLIENT_SUBSCRIBE) {
		sub->acks = m.acks;
		update_watermark(sub->s);
	} else if (m.seq <= sub->seq) {
		sub_ack(sub, m.seq);
	} else {
		sub->s->stats.bad_disconnects++;
		log_warn("stream", "subscriber acked seq %llu, never sent: disconnected",
			 (unsigned long long)m.seq);
		sub_close(sub, NULL);
		return -EINVAL;
	}
	return sub->closing ? -ECONNRESET : 0;
}

static void sub_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct sub *sub = h->data;

	(void)suggested;
	buf->base = sub->rbuf + sub->rlen;
	buf->len = sizeof(sub->rbuf) - sub->rlen;
}

static void sub_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct sub *sub = st->data;

	(void)buf;
	if (nread == 0)
		return;
	if (nread < 0) {
		sub_close(sub, nread == UV_EOF ? NULL : uv_strerror((int)nread));
		return;
	}
	sub->rlen += (size_t)nread;
	if (stream_split_lines(sub->rbuf, &sub->rlen, sizeof(sub->rbuf), sub_line, sub) ==
		    -EMSGSIZE &&
	    !sub->closing) {
		sub->s->stats.bad_disconnects++;
		log_warn("stream", "subscriber sent a line over %d bytes: disconnected",
			 STREAM_LINE_MAX);
		sub_close(sub, NULL);
	}
}

static void sub_closed(uv_handle_t *h)
{
	struct sub *sub = h->data;
	struct stream *s = sub->s;

	if (sub->prev != NULL)
		sub->prev->next = sub->next;
	else
		s->subs = sub->next;
	if (sub->next != NULL)
		sub->next->prev = sub->prev;
	s->n_subs--;
	free(sub->ring);
	free(sub);
	if (s->closing) {
		if (--s->closes == 0)
			free(s);
		return;
	}
	update_watermark(s);
}

static void sub_close(struct sub *sub, const char *why)
{
	if (sub->closing)
		return;
	sub->closing = true;
	if (why != NULL)
		log_info("stream", "subscriber gone: %s", why);
	uv_close((uv_handle_t *)&sub->pipe, sub_closed);
}

static void reject_closed(uv_handle_t *h)
{
	free(h);
}

/* Accepts a connection and closes it at once, so that the listener does not
 * keep waking up for it (libuv stops polling a listener whose connection
 * callback did not accept). */
static void reject_connection(struct stream *s, const char *why)
{
	uv_pipe_t *p = malloc(sizeof(*p));

	s->stats.rejected++;
	log_warn_limited(&s->log_rejected, uv_now(s->loop) + 1, "stream",
			 "subscriber connection refused: %s (%zu connected, at most %d)", why,
			 s->n_subs, STREAM_MAX_SUBS);
	if (p == NULL || uv_pipe_init(s->loop, p, 0) != 0) {
		free(p);
		return;
	}
	/* Whether or not the accept worked, the handle is closed. */
	(void)uv_accept((uv_stream_t *)&s->server, (uv_stream_t *)p);
	uv_close((uv_handle_t *)p, reject_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct stream *s = server->data;
	struct sub *sub;

	if (status != 0) {
		log_warn("stream", "accept: %s", uv_strerror(status));
		return;
	}
	if (s->n_subs >= STREAM_MAX_SUBS) {
		reject_connection(s, "too many subscribers");
		return;
	}
	sub = calloc(1, sizeof(*sub));
	if (sub != NULL)
		sub->ring = calloc(STREAM_MAX_UNACKED, sizeof(*sub->ring));
	if (sub == NULL || sub->ring == NULL) {
		free(sub);
		reject_connection(s, "out of memory");
		return;
	}
	sub->s = s;
	uv_pipe_init(s->loop, &sub->pipe, 0);
	sub->pipe.data = sub;
	sub->next = s->subs;
	if (s->subs != NULL)
		s->subs->prev = sub;
	s->subs = sub;
	s->n_subs++;
	if (uv_accept(server, (uv_stream_t *)&sub->pipe) != 0 ||
	    uv_read_start((uv_stream_t *)&sub->pipe, sub_alloc, sub_read) != 0) {
		sub_close(sub, "accept failed");
		return;
	}
	log_info("stream", "subscriber connected (%zu now)", s->n_subs);
	sub_send_snapshot(sub);
}

/* --------------------------------------------------------------- revoking */

static bool keep_allowed(void *arg, const char *name)
{
	const struct policy *p = arg;
	uint8_t wire[DNS_NAME_MAX], lc[DNS_NAME_MAX];
	size_t n = wire_name_from_text(name, wire);

	if (n == 0)
		return false;
	wire_name_lower(lc, wire, n);
	return policy_check(p, lc, n, 0) == VERDICT_ALLOW;
}

static void queue_del(void *arg, const char *name, int family, const uint8_t *addr,
		      uint64_t expiry_ms)
{
	struct stream *s = arg;
	struct event *ev = calloc(1, sizeof(*ev));

	(void)expiry_ms;
	if (ev == NULL)
		return;
	ev->pubid = ++s->pubid;
	ev->del = true;
	ev->family = (uint8_t)family;
	memcpy(ev->addr, addr, family == 4 ? 4 : 16);
	snprintf(ev->name, sizeof(ev->name), "%s", name);
	outbox_append(s, ev);
}

size_t stream_revoke(struct stream *s, const struct policy *p)
{
	size_t n;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->lock);
	n = addrbook_revoke(s->book, keep_allowed, (void *)p, queue_del, s);
	pthread_mutex_unlock(&s->lock);
	drain(s);
	return n;
}

void stream_set_policy(struct stream *s, const char *policy_name)
{
	if (s != NULL)
		snprintf(s->policy, sizeof(s->policy), "%s", policy_name);
}

/* ------------------------------------------------------------ housekeeping */

static void on_gc(uv_timer_t *t)
{
	struct stream *s = t->data;

	pthread_mutex_lock(&s->lock);
	addrbook_expire(s->book, uv_hrtime() / 1000000);
	pthread_mutex_unlock(&s->lock);
}

/*
 * Replaces a stale socket file: one nobody accepts on any more (the last
 * resolver died). A live socket means another resolver runs; any other kind
 * of file is not ours to delete.
 */
static int clear_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket; not replacing it", path);
		return -EEXIST;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another process is serving this socket", path);
		return -EADDRINUSE;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove the stale socket: %s", path,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

int stream_open(uv_loop_t *loop, const char *path, const char *policy_name,
		void (*on_watermark)(void *arg), void *arg, struct stream **out, char *err,
		size_t errlen)
{
	struct stream *s;
	int rc;

	*out = NULL;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL ||
	    (s->book = addrbook_new(STREAM_MAX_ADDRS)) == NULL) {
		if (s != NULL)
			free(s->path);
		free(s);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->loop = loop;
	s->on_watermark = on_watermark;
	s->arg = arg;
	atomic_init(&s->watermark, UINT64_MAX);
	stream_set_policy(s, policy_name);
	err[0] = '\0';
	rc = clear_stale(path, err, errlen);
	if (rc == 0) {
		uv_pipe_init(loop, &s->server, 0);
		s->server.data = s;
		rc = uv_pipe_bind(&s->server, path);
		if (rc == 0 && chmod(path, 0660) != 0)
			rc = -errno;
		if (rc == 0)
			rc = uv_listen((uv_stream_t *)&s->server, 16, on_connection);
		if (rc != 0) {
			snprintf(err, errlen, "%s: %s", path, uv_strerror(rc));
			uv_close((uv_handle_t *)&s->server, NULL);
			uv_run(loop, UV_RUN_NOWAIT);
		}
	} else if (err[0] == '\0') {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	}
	if (rc != 0) {
		addrbook_free(s->book);
		pthread_mutex_destroy(&s->lock);
		free(s->path);
		free(s);
		return rc;
	}
	uv_async_init(loop, &s->async, on_async);
	s->async.data = s;
	uv_timer_init(loop, &s->gc);
	s->gc.data = s;
	uv_timer_start(&s->gc, on_gc, STREAM_GC_MS, STREAM_GC_MS);
	*out = s;
	return 0;
}

static void stream_handle_closed(uv_handle_t *h)
{
	struct stream *s = h->data;

	if (--s->closes == 0)
		free(s);
}

void stream_close(struct stream *s)
{
	struct sub *sub, *next;
	struct event *ev, *enext;

	if (s == NULL)
		return;
	s->closing = true;
	unlink(s->path);
	free(s->path);
	s->path = NULL;
	for (ev = s->out_head; ev != NULL; ev = enext) {
		enext = ev->next;
		free(ev);
	}
	s->out_head = s->out_tail = NULL;
	addrbook_free(s->book);
	s->book = NULL;
	pthread_mutex_destroy(&s->lock);
	/* The stream is freed when the last of its handles has closed. */
	s->closes = 3;
	for (sub = s->subs; sub != NULL; sub = next) {
		next = sub->next;
		if (!sub->closing) {
			s->closes++;
			sub->closing = true;
			uv_close((uv_handle_t *)&sub->pipe, sub_closed);
		} else {
			s->closes++; /* its close callback is pending already */
		}
	}
	uv_close((uv_handle_t *)&s->server, stream_handle_closed);
	uv_close((uv_handle_t *)&s->async, stream_handle_closed);
	uv_close((uv_handle_t *)&s->gc, stream_handle_closed);
}

size_t stream_subscribers(struct stream *s)
{
	return s != NULL ? s->n_subs : 0;
}

void stream_get_stats(struct stream *s, struct stream_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
