/*
 * UDP listener.
 */
#include "server_udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"
#include "worker.h"

struct server_udp {
	uv_udp_t handle;
	struct worker *w;
	/* Borrowed by the receive callback (STYLE.md point 9); a query that
	 * outlives the callback copies what it needs. */
	uint8_t rbuf[DNS_TCP_MAX];
};

/* An answer that could not be sent at once: owns its copy until sent. */
struct udp_send {
	uv_udp_send_t req;
	size_t len;
	uint8_t data[];
};

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct server_udp *s = h->data;

	(void)suggested;
	buf->base = (char *)s->rbuf;
	buf->len = sizeof(s->rbuf);
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		     unsigned flags)
{
	struct server_udp *s = h->data;
	bool forwarded = false;
	size_t alen;

	(void)buf;
	if (nread < 0) {
		log_debug("udp", "receive error: %s", uv_strerror((int)nread));
		return;
	}
	if (addr == NULL || nread == 0)
		return;
	/* A datagram larger than our buffer was cut; it cannot be a query we
	 * answer correctly, so treat it as malformed by dropping it. */
	if (flags & UV_UDP_PARTIAL)
		return;
	alen = worker_handle(s->w, s->rbuf, (size_t)nread, addr, s, NULL, &forwarded);
	if (alen > 0)
		server_udp_send(s, addr, s->w->scratch, alen);
}

int server_udp_open(struct worker *w, int fd, struct server_udp **out)
{
	struct server_udp *s;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->w = w;
	rc = uv_udp_init(&w->loop, &s->handle);
	if (rc != 0) {
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
	free(h->data);
}

void server_udp_close(struct server_udp *s)
{
	if (s == NULL)
		return;
	uv_udp_recv_stop(&s->handle);
	uv_close((uv_handle_t *)&s->handle, udp_closed);
}

static void udp_sent(uv_udp_send_t *req, int status)
{
	struct udp_send *snd = req->data;

	if (status != 0)
		log_debug("udp", "send failed: %s", uv_strerror(status));
	free(snd);
}

int server_udp_send(struct server_udp *s, const struct sockaddr *client, const uint8_t *msg,
		    size_t len)
{
	uv_buf_t b = uv_buf_init((char *)msg, (unsigned)len);
	struct udp_send *snd;
	int rc;

	rc = uv_udp_try_send(&s->handle, &b, 1, client);
	if (rc >= 0)
		return 0;
	if (rc != UV_EAGAIN) {
		log_debug("udp", "send failed: %s", uv_strerror(rc));
		return rc;
	}
	snd = malloc(sizeof(*snd) + len);
	if (snd == NULL)
		return -ENOMEM;
	memcpy(snd->data, msg, len);
	snd->len = len;
	snd->req.data = snd;
	b = uv_buf_init((char *)snd->data, (unsigned)len);
	rc = uv_udp_send(&snd->req, &s->handle, &b, 1, client, udp_sent);
	if (rc != 0) {
		free(snd);
		return rc;
	}
	return 0;
}
