/*
 * A small HTTP/1.1 (and 1.0) server for /metrics and /health, on a libuv
 * loop, with optional TLS (GnuTLS). Only what a Prometheus scrape needs:
 * GET and HEAD, no request bodies, keep-alive, pipelined requests answered
 * in order. Everything is bounded: the request head (HTTP_HEAD_MAX bytes),
 * the number of connections (over the cap a connection is closed at once)
 * and the time one request may take (a client that has not sent a whole
 * request head within the timeout, handshake included, is closed; the same
 * timeout closes an idle keep-alive connection).
 *
 * The request parser is a pure function (http_parse_request), used by the
 * server, the unit tests and tests/fuzz/fuzz_http.c.
 */
#ifndef LOKI_HTTP_H
#define LOKI_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define HTTP_HEAD_MAX	   8192	 /* request line and headers, bytes */
#define HTTP_PATH_MAX	   256	 /* request target, query string included */
#define HTTP_MAX_CONNS	   64	 /* default connection cap */
#define HTTP_TIMEOUT_MS	   10000 /* default request and keep-alive timeout */
#define HTTP_MAX_PIPELINED 16	 /* responses queued to one connection at once */

enum http_method {
	HTTP_GET = 1,
	HTTP_HEAD,
	HTTP_OTHER, /* a valid token we do not serve: 405 */
};

struct http_request {
	enum http_method method;
	unsigned minor;		  /* HTTP/1.<minor> */
	bool keep_alive;	  /* after Connection: and the version's default */
	char path[HTTP_PATH_MAX]; /* the target without its query string */
};

/*
 * Parses one request head at the start of buf (len bytes). Returns the
 * head's length (> 0, the bytes to consume) with req filled, 0 when the head
 * is not complete yet, or a negative HTTP status for the error response:
 * -400 (malformed, a body announced, an absolute or too long target), -431
 * (no complete head within HTTP_HEAD_MAX bytes), -505 (not HTTP/1.x).
 * Lines end in CRLF or a bare LF (RFC 9112 section 2.2).
 */
int http_parse_request(const char *buf, size_t len, struct http_request *req);

/*
 * The text of one response: status line, Content-Type (when ctype is not
 * NULL), Content-Length, Connection, an empty line, then the body unless
 * head_only. Returns a malloc'ed buffer and its length in *out_len, or NULL
 * when out of memory.
 */
char *http_format_response(int status, const char *ctype, const char *body, size_t body_len,
			   bool keep_alive, bool head_only, size_t *out_len);

/*
 * Answers one request (GET or HEAD; everything else is answered 405 by the
 * server itself). Sets *body to a malloc'ed body (the server frees it) and
 * *ctype to a static content type, and returns the HTTP status; a NULL body
 * with status 200 means out of memory (500).
 */
typedef int (*http_handler_fn)(void *arg, const struct http_request *req, char **body,
			       size_t *body_len, const char **ctype);

struct http_conf {
	const struct sockaddr *addr;
	const char *tls_cert; /* PEM files: both set serves HTTPS, both NULL plain HTTP */
	const char *tls_key;
	unsigned max_conns;  /* 0: HTTP_MAX_CONNS */
	uint64_t timeout_ms; /* 0: HTTP_TIMEOUT_MS */
};

struct http_server;

/*
 * Loads the TLS credentials (if any), binds and listens. Returns 0, or a
 * negative errno with err set: -EINVAL for a certificate or key GnuTLS
 * cannot load (err names the files), a libuv error for the socket.
 */
int http_server_new(uv_loop_t *loop, const struct http_conf *conf, http_handler_fn handler,
		    void *arg, struct http_server **out, char *err, size_t errlen);
/* The port the server listens on (after binding port 0: the kernel's pick),
 * or a negative errno. */
int http_server_port(const struct http_server *s);
/* Whether the server speaks TLS. */
bool http_server_tls(const struct http_server *s);
/*
 * Loads a new certificate and key (SIGHUP); connections accepted from now on
 * use them, open ones keep theirs. On error returns a negative errno with err
 * set and keeps the old ones. -ENOTSUP for a server started without TLS.
 */
int http_server_reload_tls(struct http_server *s, const char *cert, const char *key, char *err,
			   size_t errlen);
/* Closes the listener and every connection; the server is freed in the close
 * callbacks (run the loop afterwards). NULL is fine. */
void http_server_close(struct http_server *s);

#endif
