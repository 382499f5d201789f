/*
 * The metrics endpoint's HTTP server (see http.h). RFC 9110 and RFC 9112
 * are the references; only the subset a scraper uses is served.
 *
 * TLS runs GnuTLS over memory: ciphertext read from the socket is kept in
 * the connection's cin buffer, which the pull function hands to GnuTLS; the
 * push function queues what GnuTLS writes as one uv_write each. No call
 * ever blocks, and GNUTLS_E_AGAIN only means "wait for the next read".
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Ciphertext buffered per TLS connection: one full record (16 KiB of
 * payload plus its overhead) and a partial next one. */
#define HTTP_CIN_MAX (2 * 16384 + 2048)
/* After the last answer, unread input is drained this long at most. */
#define HTTP_LINGER_MS 2000

/* ------------------------------------------------------------------ parser */

static bool is_tchar(unsigned char c)
{
	/* RFC 9110 section 5.6.2: token characters. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Whether the comma-separated header value v (n bytes) lists token t. */
static bool list_has(const char *v, size_t n, const char *t)
{
	size_t tl = strlen(t), i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, t, tl) == 0)
			return true;
	}
	return false;
}

/* One header field; returns 0 or a negative status. */
static int parse_header(const char *l, size_t n, bool *close, bool *keep, unsigned *hosts)
{
	size_t name_len = 0, vs, ve, i;
	const char *v;

	/* RFC 9112 section 5.2: obsolete line folding is rejected with 400. */
	while (name_len < n && l[name_len] != ':') {
		if (!is_tchar((unsigned char)l[name_len]))
			return -400;
		name_len++;
	}
	if (name_len == 0 || name_len == n)
		return -400;
	vs = name_len + 1;
	ve = n;
	while (vs < ve && (l[vs] == ' ' || l[vs] == '\t'))
		vs++;
	while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
		ve--;
	for (i = vs; i < ve; i++) {
		unsigned char c = (unsigned char)l[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -400;
	}
	v = l + vs;
	if (name_len == 10 && strncasecmp(l, "connection", 10) == 0) {
		if (list_has(v, ve - vs, "close"))
			*close = true;
		if (list_has(v, ve - vs, "keep-alive"))
			*keep = true;
	} else if (name_len == 4 && strncasecmp(l, "host", 4) == 0) {
		(*hosts)++;
	} else if (name_len == 14 && strncasecmp(l, "content-length", 14) == 0) {
		/* We take no bodies: only an explicit zero passes. */
		if (ve == vs)
			return -400;
		for (i = vs; i < ve; i++)
			if (l[i] != '0')
				return -400;
	} else if (name_len == 17 && strncasecmp(l, "transfer-encoding", 17) == 0) {
		return -400;
	}
	return 0;
}

/* The request line: METHOD SP TARGET SP HTTP/1.x (RFC 9112 section 3). */
static int parse_request_line(const char *l, size_t n, struct http_request *req)
{
	size_t i = 0, ms, ts, te, plen;

	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i == n || l[i] != ' ')
		return -400;
	ms = i;
	if (ms == 3 && memcmp(l, "GET", 3) == 0)
		req->method = HTTP_GET;
	else if (ms == 4 && memcmp(l, "HEAD", 4) == 0)
		req->method = HTTP_HEAD;
	else
		req->method = HTTP_OTHER;
	ts = ++i;
	while (i < n && l[i] > 0x20 && l[i] < 0x7f)
		i++;
	te = i;
	if (te == ts || i == n || l[i] != ' ')
		return -400;
	i++;
	if (n - i != 8 || memcmp(l + i, "HTTP/", 5) != 0 || l[i + 6] != '.' || l[i + 5] < '0' ||
	    l[i + 5] > '9' || l[i + 7] < '0' || l[i + 7] > '9')
		return -400;
	if (l[i + 5] != '1')
		return -505;
	req->minor = (unsigned)(l[i + 7] - '0');
	/* Origin form only (RFC 9112 section 3.2.1); the query is ignored. */
	if (l[ts] != '/')
		return -400;
	plen = 0;
	while (ts + plen < te && l[ts + plen] != '?')
		plen++;
	if (te - ts >= HTTP_PATH_MAX)
		return -400;
	memcpy(req->path, l + ts, plen);
	req->path[plen] = '\0';
	return 0;
}

int http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	size_t pos = 0, limit = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	bool first = true, close = false, keep = false;
	unsigned hosts = 0;
	int rc;

	memset(req, 0, sizeof(*req));
	/* RFC 9112 section 2.2: empty lines before the request line are ignored. */
	while (pos < limit && (buf[pos] == '\r' || buf[pos] == '\n')) {
		if (buf[pos] == '\r' && (pos + 1 >= limit || buf[pos + 1] != '\n'))
			break;
		pos += buf[pos] == '\r' ? 2 : 1;
	}
	for (;;) {
		const char *nl = memchr(buf + pos, '\n', limit - pos);
		size_t n, i;

		if (nl == NULL)
			return len >= HTTP_HEAD_MAX ? -431 : 0;
		n = (size_t)(nl - (buf + pos));
		if (n > 0 && buf[pos + n - 1] == '\r')
			n--;
		for (i = 0; i < n; i++)
			if (buf[pos + i] == '\r' || buf[pos + i] == '\0')
				return -400;
		if (first) {
			rc = parse_request_line(buf + pos, n, req);
			if (rc != 0)
				return rc;
			first = false;
		} else if (n == 0) {
			pos = (size_t)(nl - buf) + 1;
			break;
		} else {
			if (buf[pos] == ' ' || buf[pos] == '\t')
				return -400;
			rc = parse_header(buf + pos, n, &close, &keep, &hosts);
			if (rc != 0)
				return rc;
		}
		pos = (size_t)(nl - buf) + 1;
	}
	/* RFC 9112 section 3.2: exactly one Host in HTTP/1.1. */
	if (hosts > 1 || (req->minor >= 1 && hosts == 0))
		return -400;
	req->keep_alive = req->minor >= 1 ? !close : keep && !close;
	return (int)pos;
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

char *http_format_response(int status, const char *ctype, const char *body, size_t body_len,
			   bool keep_alive, bool head_only, size_t *out_len)
{
	char head[512];
	char *out;
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\n%s%s%s%sContent-Length: %zu\r\nConnection: %s\r\n\r\n",
		     status, status_text(status), ctype != NULL ? "Content-Type: " : "",
		     ctype != NULL ? ctype : "", ctype != NULL ? "\r\n" : "",
		     status == 405 ? "Allow: GET, HEAD\r\n" : "", body_len,
		     keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= sizeof(head))
		return NULL;
	if (head_only || body == NULL)
		body_len = 0;
	out = malloc((size_t)n + body_len);
	if (out == NULL)
		return NULL;
	memcpy(out, head, (size_t)n);
	if (body_len > 0)
		memcpy(out + n, body, body_len);
	*out_len = (size_t)n + body_len;
	return out;
}

/* ------------------------------------------------------------------ server */

struct tls_cred {
	gnutls_certificate_credentials_t x509;
	unsigned refs;
};

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct http_server *srv;
	struct http_conn *prev, *next;
	unsigned closes; /* handles whose close callback is pending */
	bool closing;
	bool close_after; /* close once the queued writes are done */
	bool paused;	  /* reading stopped until writes drain */
	bool eof;
	bool reading;
	bool lingering; /* answered and shut down: input is read and dropped */
	uv_shutdown_t shutdown;
	unsigned writes; /* uv_write requests in flight */
	gnutls_session_t tls;
	struct tls_cred *cred;
	bool handshaken;
	bool bye_sent;
	size_t req_len;
	char req[HTTP_HEAD_MAX];
	size_t cin_off, cin_len;
	char cin[HTTP_CIN_MAX];
};

struct http_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	http_handler_fn handler;
	void *arg;
	struct tls_cred *cred; /* NULL: plain HTTP */
	unsigned max_conns, n_conns;
	uint64_t timeout_ms;
	struct http_conn *conns;
	bool closing;
	bool listener_closed;
};

struct wreq {
	uv_write_t req;
	struct http_conn *c;
	char data[];
};

static void cred_unref(struct tls_cred *cr)
{
	if (cr == NULL || --cr->refs > 0)
		return;
	gnutls_certificate_free_credentials(cr->x509);
	free(cr);
}

static int cred_load(const char *cert, const char *key, struct tls_cred **out, char *err,
		     size_t errlen)
{
	struct tls_cred *cr = calloc(1, sizeof(*cr));
	int rc;

	if (cr == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = gnutls_certificate_allocate_credentials(&cr->x509);
	if (rc < 0) {
		snprintf(err, errlen, "TLS credentials: %s", gnutls_strerror(rc));
		free(cr);
		return -ENOMEM;
	}
	rc = gnutls_certificate_set_x509_key_file(cr->x509, cert, key, GNUTLS_X509_FMT_PEM);
	if (rc < 0) {
		snprintf(err, errlen, "cannot load certificate %s with key %s: %s", cert, key,
			 gnutls_strerror(rc));
		gnutls_certificate_free_credentials(cr->x509);
		free(cr);
		return -EINVAL;
	}
	cr->refs = 1;
	*out = cr;
	return 0;
}

static void server_maybe_free(struct http_server *s)
{
	if (s->closing && s->listener_closed && s->n_conns == 0) {
		cred_unref(s->cred);
		free(s);
	}
}

static void conn_closed(uv_handle_t *h)
{
	struct http_conn *c = h->data;
	struct http_server *s = c->srv;

	if (--c->closes > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->n_conns--;
	if (c->tls != NULL)
		gnutls_deinit(c->tls);
	cred_unref(c->cred);
	free(c);
	server_maybe_free(s);
}

static void conn_close(struct http_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->closes = 2;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void on_write(uv_write_t *req, int status);

/* Queues len bytes as they are (ciphertext for TLS). */
static int conn_write_raw(struct http_conn *c, const void *data, size_t len)
{
	struct wreq *w;
	uv_buf_t b;
	int rc;

	if (c->closing)
		return -ECANCELED;
	w = malloc(sizeof(*w) + len);
	if (w == NULL)
		return -ENOMEM;
	memcpy(w->data, data, len);
	w->c = c;
	b = uv_buf_init(w->data, (unsigned)len);
	rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (rc != 0) {
		free(w);
		return rc;
	}
	c->writes++;
	return 0;
}

static ssize_t tls_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	struct http_conn *c = p;

	if (conn_write_raw(c, data, len) != 0) {
		gnutls_transport_set_errno(c->tls, EPIPE);
		return -1;
	}
	return (ssize_t)len;
}

static ssize_t tls_pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct http_conn *c = p;

	if (c->cin_len == 0) {
		if (c->eof)
			return 0;
		gnutls_transport_set_errno(c->tls, EAGAIN);
		return -1;
	}
	if (len > c->cin_len)
		len = c->cin_len;
	memcpy(data, c->cin + c->cin_off, len);
	c->cin_off += len;
	c->cin_len -= len;
	if (c->cin_len == 0)
		c->cin_off = 0;
	return (ssize_t)len;
}

/* Sends a response's plaintext: as is, or through the TLS session. */
static int conn_send(struct http_conn *c, const char *data, size_t len)
{
	size_t off = 0;

	if (c->tls == NULL)
		return conn_write_raw(c, data, len);
	while (off < len) {
		ssize_t n = gnutls_record_send(c->tls, data + off, len - off);

		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue; /* our push never blocks; this does not repeat */
		if (n < 0)
			return -EIO;
		off += (size_t)n;
	}
	return 0;
}

/* Everything queued is written: close now if asked to (after a TLS
 * close_notify), else take the next request. */
static void conn_process(struct http_conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)req;
	(void)status;
}

/*
 * Closing right after the answer while the client's input is still unread
 * would make the kernel send a reset, which can destroy the answer before
 * the client reads it (RFC 9112 section 9.6): shut the sending side down,
 * then read and drop what comes until the client closes or the linger time
 * ends.
 */
static void conn_linger(struct http_conn *c)
{
	if (c->eof || c->lingering ||
	    uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
		conn_close(c);
		return;
	}
	c->lingering = true;
	c->paused = false;
	uv_timer_start(&c->timer, on_timeout, HTTP_LINGER_MS, 0);
	if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
		conn_close(c);
		return;
	}
	c->reading = true;
}

static void conn_drained(struct http_conn *c)
{
	if (c->close_after) {
		if (c->tls != NULL && c->handshaken && !c->bye_sent) {
			c->bye_sent = true;
			gnutls_bye(c->tls, GNUTLS_SHUT_WR);
			if (c->writes > 0)
				return;
		}
		conn_linger(c);
		return;
	}
	if (c->paused) {
		c->paused = false;
		conn_process(c);
	}
}

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct http_conn *c = w->c;

	free(w);
	c->writes--;
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (c->writes == 0)
		conn_drained(c);
}

/* Answers one parsed request (or a parse error, status < 0). */
static int conn_respond(struct http_conn *c, const struct http_request *req, int error)
{
	struct http_server *s = c->srv;
	const char *ctype = "text/plain; charset=utf-8";
	char *body = NULL, *out;
	size_t body_len = 0, out_len = 0;
	bool keep = error == 0 && req->keep_alive;
	int status, rc;

	if (error != 0) {
		status = error;
	} else if (req->method == HTTP_OTHER) {
		status = 405;
	} else {
		status = s->handler(s->arg, req, &body, &body_len, &ctype);
		if (body == NULL && status == 200)
			status = 500;
	}
	if (body == NULL) {
		const char *text = status_text(status);

		body_len = strlen(text) + 1;
		body = malloc(body_len);
		if (body != NULL) {
			memcpy(body, text, body_len - 1);
			body[body_len - 1] = '\n';
		} else {
			body_len = 0;
		}
		ctype = "text/plain; charset=utf-8";
	}
	out = http_format_response(status, ctype, body, body_len, keep,
				   error == 0 && req->method == HTTP_HEAD, &out_len);
	free(body);
	if (out == NULL)
		return -ENOMEM;
	rc = conn_send(c, out, out_len);
	free(out);
	if (!keep)
		c->close_after = true;
	return rc;
}

/* Runs the TLS handshake and decrypts what fits into req. 0 or -1 (close). */
static int tls_pump(struct http_conn *c)
{
	int rc;

	while (!c->handshaken) {
		rc = gnutls_handshake(c->tls);
		if (rc == GNUTLS_E_SUCCESS) {
			c->handshaken = true;
			break;
		}
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
			return 0;
		if (gnutls_error_is_fatal(rc))
			return -1;
	}
	while (c->req_len < sizeof(c->req)) {
		ssize_t n = gnutls_record_recv(c->tls, c->req + c->req_len,
					       sizeof(c->req) - c->req_len);

		if (n > 0) {
			c->req_len += (size_t)n;
			continue;
		}
		if (n == 0) {
			c->eof = true; /* close_notify */
			return 0;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return 0;
		if (gnutls_error_is_fatal((int)n))
			return -1;
	}
	return 0;
}

static void conn_process(struct http_conn *c)
{
	struct http_request req;
	int rc;

	while (!c->closing && !c->close_after) {
		if (c->tls != NULL && tls_pump(c) != 0) {
			conn_close(c);
			return;
		}
		if (c->writes >= HTTP_MAX_PIPELINED) {
			/* The client does not read its answers: stop reading
			 * its requests until they drain. */
			c->paused = true;
			c->reading = false;
			uv_read_stop((uv_stream_t *)&c->tcp);
			return;
		}
		rc = http_parse_request(c->req, c->req_len, &req);
		if (rc == 0 && c->req_len >= sizeof(c->req))
			rc = -431;
		if (rc == 0)
			break;
		if (rc > 0) {
			memmove(c->req, c->req + rc, c->req_len - (size_t)rc);
			c->req_len -= (size_t)rc;
			/* A new request may start: give it a full timeout. */
			uv_timer_start(&c->timer, on_timeout, c->srv->timeout_ms, 0);
		}
		if (conn_respond(c, &req, rc < 0 ? -rc : 0) != 0) {
			conn_close(c);
			return;
		}
	}
	if (c->closing)
		return;
	if (c->eof && !c->close_after)
		c->close_after = true;
	if (c->close_after) {
		c->reading = false;
		uv_read_stop((uv_stream_t *)&c->tcp);
		if (c->writes == 0)
			conn_drained(c);
		return;
	}
	if (!c->reading) {
		if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
			conn_close(c);
			return;
		}
		c->reading = true;
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct http_conn *c = h->data;

	(void)suggested;
	if (c->lingering) {
		/* Dropped unread. */
		c->req_len = 0;
		c->cin_off = c->cin_len = 0;
	}
	if (c->tls == NULL) {
		*buf = uv_buf_init(c->req + c->req_len, (unsigned)(sizeof(c->req) - c->req_len));
		return;
	}
	if (c->cin_off > 0) {
		memmove(c->cin, c->cin + c->cin_off, c->cin_len);
		c->cin_off = 0;
	}
	*buf = uv_buf_init(c->cin + c->cin_len, (unsigned)(sizeof(c->cin) - c->cin_len));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct http_conn *c = st->data;

	(void)buf;
	if (c->closing)
		return;
	if (c->lingering) {
		if (nread < 0)
			conn_close(c);
		return;
	}
	if (nread == UV_EOF) {
		c->eof = true;
	} else if (nread < 0) {
		conn_close(c);
		return;
	} else if (nread == 0) {
		return;
	} else if (c->tls == NULL) {
		c->req_len += (size_t)nread;
	} else {
		c->cin_len += (size_t)nread;
	}
	conn_process(c);
}

static void on_connection(uv_stream_t *ls, int status)
{
	struct http_server *s = ls->data;
	struct http_conn *c;
	bool reject;

	if (status < 0 || s->closing)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->srv = s;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	reject = s->n_conns >= s->max_conns;
	s->n_conns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0 || reject) {
		conn_close(c);
		return;
	}
	if (s->cred != NULL) {
		if (gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0) {
			c->tls = NULL;
			conn_close(c);
			return;
		}
		c->cred = s->cred;
		c->cred->refs++;
		if (gnutls_set_default_priority(c->tls) < 0 ||
		    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred->x509) < 0) {
			conn_close(c);
			return;
		}
		gnutls_certificate_server_set_request(c->tls, GNUTLS_CERT_IGNORE);
		gnutls_transport_set_ptr(c->tls, c);
		gnutls_transport_set_push_function(c->tls, tls_push);
		gnutls_transport_set_pull_function(c->tls, tls_pull);
	}
	uv_timer_start(&c->timer, on_timeout, s->timeout_ms, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c);
	else
		c->reading = true;
}

static void listener_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;

	s->listener_closed = true;
	server_maybe_free(s);
}

int http_server_new(uv_loop_t *loop, const struct http_conf *conf, http_handler_fn handler,
		    void *arg, struct http_server **out, char *err, size_t errlen)
{
	struct http_server *s;
	int rc;

	*out = NULL;
	if ((conf->tls_cert == NULL) != (conf->tls_key == NULL)) {
		snprintf(err, errlen, "a TLS certificate needs its key and the other way round");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->loop = loop;
	s->handler = handler;
	s->arg = arg;
	s->max_conns = conf->max_conns ? conf->max_conns : HTTP_MAX_CONNS;
	s->timeout_ms = conf->timeout_ms ? conf->timeout_ms : HTTP_TIMEOUT_MS;
	if (conf->tls_cert != NULL) {
		rc = cred_load(conf->tls_cert, conf->tls_key, &s->cred, err, errlen);
		if (rc != 0) {
			free(s);
			return rc;
		}
	}
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	rc = uv_tcp_bind(&s->listener, conf->addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, 64, on_connection);
	if (rc != 0) {
		snprintf(err, errlen, "%s", uv_strerror(rc));
		s->closing = true;
		uv_close((uv_handle_t *)&s->listener, listener_closed);
		return rc;
	}
	*out = s;
	return 0;
}

int http_server_port(const struct http_server *s)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss), rc;

	rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
	if (rc != 0)
		return rc;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

bool http_server_tls(const struct http_server *s)
{
	return s != NULL && s->cred != NULL;
}

int http_server_reload_tls(struct http_server *s, const char *cert, const char *key, char *err,
			   size_t errlen)
{
	struct tls_cred *cr;
	int rc;

	if (s->cred == NULL) {
		snprintf(err, errlen, "the server was started without TLS");
		return -ENOTSUP;
	}
	rc = cred_load(cert, key, &cr, err, errlen);
	if (rc != 0)
		return rc;
	cred_unref(s->cred);
	s->cred = cr;
	return 0;
}

void http_server_close(struct http_server *s)
{
	struct http_conn *c;

	if (s == NULL || s->closing)
		return;
	s->closing = true;
	for (c = s->conns; c != NULL; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&s->listener, listener_closed);
}
