/*
 * UDP listener.
 *
 * Datagrams arrive in batches: libuv's recvmmsg mode (UV_UDP_RECVMMSG) fills
 * up to UDP_BATCH slices of UDP_SLICE bytes of one receive buffer with one
 * system call and calls udp_recv once per datagram, then once more with
 * UV_UDP_MMSG_FREE. Each immediate answer (blocked, cached, local) is built
 * in place in its datagram's slice and queued; the last callback sends the
 * whole batch with one sendmmsg(2). Answers that arrive later (upstream
 * replies) go out one by one through server_udp_send.
 */
#define _GNU_SOURCE /* sendmmsg */
#include "server_udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "log.h"
#include "worker.h"

/* libuv hands out the receive buffer in slices of 64 KiB (its maximum
 * datagram size) and reads at most 20 datagrams per recvmmsg call. */
#define UDP_SLICE 65536
#define UDP_BATCH 20
/* Answers copied onto libuv's send queue (the socket buffer was full) at
 * most, per listener: about 2 MiB of typical answers. Past it an answer is
 * dropped, as the kernel would drop it, and counted. */
#define UDP_MAX_PENDING 4096

/* One answer waiting for the batch's sendmmsg. */
struct udp_out {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct iovec iov;
};

struct server_udp {
	uv_udp_t handle;
	struct worker *w;
	size_t n_pending; /* on libuv's send queue */
	size_t n_out;
	struct udp_out out[UDP_BATCH];
	/* UDP_BATCH slices, borrowed by the receive callbacks (STYLE.md point
	 * 9): a query that outlives its callback copies what it needs. The
	 * pages of a slice beyond its first are touched only by large
	 * datagrams. */
	uint8_t *rbuf;
};

/* An answer that could not be sent at once: owns its copy until sent. */
struct udp_send {
	uv_udp_send_t req;
	struct server_udp *s;
	size_t len;
	uint8_t data[];
};

static void udp_sent(uv_udp_send_t *req, int status)
{
	struct udp_send *snd = req->data;

	if (status != 0)
		log_debug("udp", "send failed: %s", uv_strerror(status));
	snd->s->n_pending--;
	free(snd);
}

/* Copies msg and queues it on libuv's send queue. */
static int udp_send_later(struct server_udp *s, const struct sockaddr *client, const uint8_t *msg,
			  size_t len)
{
	struct worker_shared *sh = s->w->shared;
	struct udp_send *snd;
	uv_buf_t b;
	int rc;

	if (s->n_pending >= UDP_MAX_PENDING) {
		atomic_fetch_add_explicit(&sh->stats.udp_dropped, 1, memory_order_relaxed);
		log_warn_limited(&sh->log_udp_dropped, uv_now(&s->w->loop) + 1, "udp",
				 "answer dropped: the socket buffer is full and %d answers wait "
				 "already",
				 UDP_MAX_PENDING);
		return -ENOBUFS;
	}
	snd = malloc(sizeof(*snd) + len);
	if (snd == NULL)
		return -ENOMEM;
	snd->s = s;
	memcpy(snd->data, msg, len);
	snd->len = len;
	snd->req.data = snd;
	b = uv_buf_init((char *)snd->data, (unsigned)len);
	rc = uv_udp_send(&snd->req, &s->handle, &b, 1, client, udp_sent);
	if (rc != 0) {
		log_debug("udp", "send failed: %s", uv_strerror(rc));
		free(snd);
		return rc;
	}
	s->n_pending++;
	return 0;
}

/* Sends the queued answers with as few sendmmsg calls as the socket allows.
 * An error on one datagram (sendmmsg reports it when it is the first of the
 * call) drops that answer only; a full socket buffer moves the rest to
 * libuv's send queue. */
static void udp_flush(struct server_udp *s)
{
	struct mmsghdr msgs[UDP_BATCH];
	size_t n = s->n_out, done = 0, i;
	uv_os_fd_t fd;

	if (n == 0)
		return;
	s->n_out = 0;
	if (uv_fileno((const uv_handle_t *)&s->handle, &fd) != 0)
		return;
	memset(msgs, 0, n * sizeof(msgs[0]));
	for (i = 0; i < n; i++) {
		msgs[i].msg_hdr.msg_name = &s->out[i].addr;
		msgs[i].msg_hdr.msg_namelen = s->out[i].addrlen;
		msgs[i].msg_hdr.msg_iov = &s->out[i].iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < n) {
		int rc = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);

		if (rc > 0) {
			done += (size_t)rc;
		} else if (rc < 0 && errno == EINTR) {
			continue;
		} else if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			for (; done < n; done++)
				(void)udp_send_later(s, (const struct sockaddr *)&s->out[done].addr,
						     s->out[done].iov.iov_base,
						     s->out[done].iov.iov_len);
		} else {
			log_debug("udp", "send failed: %s", strerror(errno));
			done++;
		}
	}
}

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct server_udp *s = h->data;

	(void)suggested;
	/* Answers queued in the buffer must leave before it is refilled. */
	udp_flush(s);
	buf->base = (char *)s->rbuf;
	buf->len = (size_t)UDP_SLICE * UDP_BATCH;
}

static void udp_queue(struct server_udp *s, const struct sockaddr *addr, uint8_t *msg, size_t len)
{
	struct udp_out *o;
	socklen_t alen = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						     : sizeof(struct sockaddr_in);

	if (s->n_out == UDP_BATCH)
		udp_flush(s);
	o = &s->out[s->n_out++];
	memcpy(&o->addr, addr, alen);
	o->addrlen = alen;
	o->iov.iov_base = msg;
	o->iov.iov_len = len;
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		     unsigned flags)
{
	struct server_udp *s = h->data;
	bool forwarded = false;
	size_t alen, cap;
	uint8_t *slice;

	if (nread < 0) {
		log_debug("udp", "receive error: %s", uv_strerror((int)nread));
		udp_flush(s);
		return;
	}
	/* The end of a batch (UV_UDP_MMSG_FREE), or nothing more to read. */
	if (addr == NULL || nread == 0) {
		udp_flush(s);
		return;
	}
	/* A datagram larger than its slice was cut; it cannot be a query we
	 * answer correctly, so treat it as malformed by dropping it. */
	if (flags & UV_UDP_PARTIAL)
		return;
	/* The answer is built over the query, in the same slice: the parser
	 * copied what the answer needs first. */
	slice = (uint8_t *)buf->base;
	cap = (flags & UV_UDP_MMSG_CHUNK) ? UDP_SLICE : buf->len;
	alen = worker_handle(s->w, slice, (size_t)nread, addr, s, NULL, slice, cap, &forwarded);
	if (alen == 0)
		return;
	udp_queue(s, addr, slice, alen);
	/* Without recvmmsg (an old kernel) every datagram is a batch. */
	if (!(flags & UV_UDP_MMSG_CHUNK))
		udp_flush(s);
}

int server_udp_open(struct worker *w, int fd, struct server_udp **out)
{
	struct server_udp *s;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->rbuf = malloc((size_t)UDP_SLICE * UDP_BATCH);
	if (s->rbuf == NULL) {
		free(s);
		return -ENOMEM;
	}
	s->w = w;
	rc = uv_udp_init_ex(&w->loop, &s->handle, AF_UNSPEC | UV_UDP_RECVMMSG);
	if (rc != 0) {
		free(s->rbuf);
		free(s);
		return rc;
	}
	s->handle.data = s;
	rc = uv_udp_open(&s->handle, fd);
	if (rc == 0)
		rc = uv_udp_recv_start(&s->handle, udp_alloc, udp_recv);
	if (rc != 0) {
		server_udp_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void udp_closed(uv_handle_t *h)
{
	struct server_udp *s = h->data;

	free(s->rbuf);
	free(s);
}

void server_udp_close(struct server_udp *s)
{
	if (s == NULL)
		return;
	uv_udp_recv_stop(&s->handle);
	udp_flush(s);
	uv_close((uv_handle_t *)&s->handle, udp_closed);
}

int server_udp_send(struct server_udp *s, const struct sockaddr *client, const uint8_t *msg,
		    size_t len)
{
	uv_buf_t b = uv_buf_init((char *)msg, (unsigned)len);
	int rc;

	rc = uv_udp_try_send(&s->handle, &b, 1, client);
	if (rc >= 0)
		return 0;
	if (rc != UV_EAGAIN) {
		log_debug("udp", "send failed: %s", uv_strerror(rc));
		return rc;
	}
	return udp_send_later(s, client, msg, len);
}
