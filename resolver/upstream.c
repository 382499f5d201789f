/*
 * Upstream attempts over UDP and TCP.
 */
#include "upstream.h"

#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"
#include "query.h"
#include "worker.h"

/* Ports below this are never used as source ports. */
#define UPSTREAM_PORT_MIN   1024
#define UPSTREAM_BIND_TRIES 8
#define UPSTREAM_QUERY_MAX  (DNS_HEADER_LEN + DNS_NAME_MAX + 4 + 11)

struct upstream_attempt {
	union {
		uv_handle_t handle;
		uv_udp_t udp;
		uv_tcp_t tcp;
	} h;
	struct query *qr; /* NULL once cancelled: callbacks then do nothing */
	bool tcp;
	uint16_t id;
	const struct netaddr *server;
	uv_udp_send_t send_req;
	uv_connect_t connect_req;
	uv_write_t write_req;
	size_t out_len;
	uint8_t out[2 + UPSTREAM_QUERY_MAX]; /* 2-byte TCP length, then the query */
	uint8_t *in;			     /* TCP: answer being read (heap) */
	size_t in_len;
};

/*
 * Our upstream query: a fresh header (random ID, RD, CD copied from the
 * client), the client's question lower-cased, and an OPT record advertising
 * DNS_EDNS_SIZE without DO (we strip DNSSEC records anyway).
 */
static size_t build_query(const struct dns_query *q, uint16_t id, uint8_t *out, size_t cap)
{
	struct wire_writer w;
	struct dns_header h = {
		.id = id,
		.flags = DNS_FLAG_RD | (q->hdr.flags & DNS_FLAG_CD),
		.qdcount = 1,
		.arcount = 1,
	};

	wire_writer_init(&w, out, cap);
	wire_put_header(&w, &h);
	wire_put_bytes(&w, q->qname_lc, q->qname_len);
	wire_put_u16(&w, q->qtype);
	wire_put_u16(&w, q->qclass);
	wire_put_u8(&w, 0); /* OPT owner: the root */
	wire_put_u16(&w, DNS_TYPE_OPT);
	wire_put_u16(&w, DNS_EDNS_SIZE);
	wire_put_u32(&w, 0);
	wire_put_u16(&w, 0);
	return w.err ? 0 : w.pos;
}

static void attempt_closed(uv_handle_t *h)
{
	struct upstream_attempt *a = h->data;

	free(a->in);
	free(a);
}

static void attempt_fail(struct upstream_attempt *a, const char *why)
{
	struct query *qr = a->qr;

	if (qr != NULL)
		query_upstream_failed(qr, why);
}

/* Delivers a complete upstream message after checking its ID. */
static void attempt_deliver(struct upstream_attempt *a, const uint8_t *msg, size_t len)
{
	if (a->qr == NULL || len < DNS_HEADER_LEN || wire_get_id(msg) != a->id) {
		log_debug("upstream", "ignoring a message with a wrong ID or length");
		return;
	}
	query_upstream_reply(a->qr, msg, len);
}

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct upstream_attempt *a = h->data;
	struct worker *w = a->qr != NULL ? a->qr->w : NULL;

	(void)suggested;
	if (w == NULL) {
		buf->base = NULL;
		buf->len = 0;
		return;
	}
	buf->base = (char *)w->upbuf;
	buf->len = sizeof(w->upbuf);
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		     unsigned flags)
{
	struct upstream_attempt *a = h->data;

	if (a->qr == NULL)
		return;
	if (nread < 0) {
		attempt_fail(a, uv_strerror((int)nread));
		return;
	}
	if (nread == 0 || addr == NULL || (flags & UV_UDP_PARTIAL))
		return;
	/* The socket is connected, so the kernel already filters the source;
	 * check it anyway (RFC 5452 section 9.1). */
	if (!netaddr_equal(addr, (const struct sockaddr *)&a->server->ss)) {
		log_debug("upstream", "ignoring an answer from an unexpected address");
		return;
	}
	attempt_deliver(a, (const uint8_t *)buf->base, (size_t)nread);
}

static void udp_sent(uv_udp_send_t *req, int status)
{
	struct upstream_attempt *a = req->data;

	if (status != 0 && status != UV_ECANCELED && a->qr != NULL)
		attempt_fail(a, uv_strerror(status));
}

/* Binds h to a random port from [1024, 65535] of the server's family. */
static int bind_random_port(uv_udp_t *h, int family)
{
	struct sockaddr_storage ss;
	int rc = UV_EADDRINUSE, i;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	for (i = 0; i < UPSTREAM_BIND_TRIES && rc == UV_EADDRINUSE; i++) {
		uint16_t port = (uint16_t)(UPSTREAM_PORT_MIN +
					   randombytes_uniform(65536 - UPSTREAM_PORT_MIN));

		if (family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		rc = uv_udp_bind(h, (struct sockaddr *)&ss, 0);
	}
	if (rc == UV_EADDRINUSE) {
		/* Every try collided: let the kernel pick an ephemeral port,
		 * which Linux also randomises. */
		if (family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = 0;
		rc = uv_udp_bind(h, (struct sockaddr *)&ss, 0);
	}
	return rc;
}

static int start_udp(struct upstream_attempt *a, uv_loop_t *loop)
{
	uv_buf_t b;
	int rc;

	rc = uv_udp_init(loop, &a->h.udp);
	if (rc != 0)
		return rc;
	a->h.handle.data = a;
	rc = bind_random_port(&a->h.udp, a->server->ss.ss_family);
	if (rc == 0)
		rc = uv_udp_connect(&a->h.udp, (const struct sockaddr *)&a->server->ss);
	if (rc == 0)
		rc = uv_udp_recv_start(&a->h.udp, udp_alloc, udp_recv);
	if (rc == 0) {
		a->send_req.data = a;
		b = uv_buf_init((char *)a->out + 2, (unsigned)a->out_len);
		rc = uv_udp_send(&a->send_req, &a->h.udp, &b, 1, NULL, udp_sent);
	}
	return rc;
}

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct upstream_attempt *a = h->data;

	(void)suggested;
	if (a->in == NULL)
		a->in = malloc(2 + DNS_TCP_MAX);
	if (a->in == NULL) {
		buf->base = NULL;
		buf->len = 0;
		return;
	}
	buf->base = (char *)a->in + a->in_len;
	buf->len = 2 + DNS_TCP_MAX - a->in_len;
}

static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct upstream_attempt *a = s->data;
	size_t mlen;

	(void)buf;
	if (a->qr == NULL || nread == 0)
		return;
	if (nread < 0) {
		attempt_fail(a, nread == UV_ENOBUFS ? "out of memory" : uv_strerror((int)nread));
		return;
	}
	a->in_len += (size_t)nread;
	if (a->in_len < 2)
		return;
	mlen = (size_t)a->in[0] << 8 | a->in[1];
	if (a->in_len < 2 + mlen)
		return;
	uv_read_stop(s);
	attempt_deliver(a, a->in + 2, mlen);
}

static void tcp_written(uv_write_t *req, int status)
{
	struct upstream_attempt *a = req->data;

	if (status != 0 && status != UV_ECANCELED && a->qr != NULL)
		attempt_fail(a, uv_strerror(status));
}

static void tcp_connected(uv_connect_t *req, int status)
{
	struct upstream_attempt *a = req->data;
	uv_buf_t b;
	int rc;

	if (a->qr == NULL || status == UV_ECANCELED)
		return;
	if (status != 0) {
		attempt_fail(a, uv_strerror(status));
		return;
	}
	a->write_req.data = a;
	b = uv_buf_init((char *)a->out, (unsigned)(a->out_len + 2));
	rc = uv_write(&a->write_req, (uv_stream_t *)&a->h.tcp, &b, 1, tcp_written);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&a->h.tcp, tcp_alloc, tcp_read);
	if (rc != 0)
		attempt_fail(a, uv_strerror(rc));
}

static int start_tcp(struct upstream_attempt *a, uv_loop_t *loop)
{
	int rc;

	rc = uv_tcp_init(loop, &a->h.tcp);
	if (rc != 0)
		return rc;
	a->h.handle.data = a;
	a->connect_req.data = a;
	return uv_tcp_connect(&a->connect_req, &a->h.tcp, (const struct sockaddr *)&a->server->ss,
			      tcp_connected);
}

int upstream_start(struct query *qr)
{
	const struct config *cfg = qr->snap->cfg;
	struct upstream_attempt *a;
	int rc;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->qr = qr;
	a->tcp = qr->over_tcp;
	a->server = &cfg->upstream[qr->upstream_idx];
	a->id = (uint16_t)randombytes_uniform(65536);
	a->out_len = build_query(&qr->q, a->id, a->out + 2, sizeof(a->out) - 2);
	if (a->out_len == 0) {
		free(a);
		return -EINVAL;
	}
	a->out[0] = (uint8_t)(a->out_len >> 8);
	a->out[1] = (uint8_t)a->out_len;
	rc = a->tcp ? start_tcp(a, &qr->w->loop) : start_udp(a, &qr->w->loop);
	if (rc != 0) {
		/* The handle was initialised if h.handle.data is set; then it
		 * must be closed, and the attempt is freed in the callback. */
		a->qr = NULL;
		if (a->h.handle.data != NULL)
			uv_close(&a->h.handle, attempt_closed);
		else
			free(a);
		return rc;
	}
	qr->att = a;
	return 0;
}

void upstream_cancel(struct query *qr)
{
	struct upstream_attempt *a = qr->att;

	if (a == NULL)
		return;
	qr->att = NULL;
	a->qr = NULL;
	uv_close(&a->h.handle, attempt_closed);
}
