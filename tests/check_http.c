/*
 * Unit tests for resolver/http.c: the request-head parser and the response
 * text, then the server on a real loop (127.0.0.1, port 0 picked by the
 * kernel) with a client socket driven from the test.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

static int parse(const char *s, struct http_request *r)
{
	return http_parse_request(s, strlen(s), r);
}

START_TEST(parse_get)
{
	struct http_request r;
	const char *s = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";

	ck_assert_int_eq(parse(s, &r), (int)strlen(s));
	ck_assert_int_eq(r.method, HTTP_GET);
	ck_assert_uint_eq(r.minor, 1);
	ck_assert(r.keep_alive);
	ck_assert_str_eq(r.path, "/metrics");
}
END_TEST

START_TEST(parse_versions_and_connection)
{
	struct http_request r;

	/* HTTP/1.0: close unless keep-alive is asked for; no Host needed. */
	ck_assert_int_gt(parse("GET /health HTTP/1.0\r\n\r\n", &r), 0);
	ck_assert_uint_eq(r.minor, 0);
	ck_assert(!r.keep_alive);
	ck_assert_int_gt(parse("GET /health HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r), 0);
	ck_assert(r.keep_alive);
	ck_assert_int_gt(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", &r),
			 0);
	ck_assert(!r.keep_alive);
	/* Bare LF line ends, leading empty lines, HEAD, the query dropped. */
	ck_assert_int_gt(parse("\r\n\nHEAD /metrics?x=1 HTTP/1.1\nHost: a\n\n", &r), 0);
	ck_assert_int_eq(r.method, HTTP_HEAD);
	ck_assert_str_eq(r.path, "/metrics");
	ck_assert_int_gt(parse("DELETE /metrics HTTP/1.1\r\nHost: a\r\n\r\n", &r), 0);
	ck_assert_int_eq(r.method, HTTP_OTHER);
	ck_assert_int_gt(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &r), 0);
}
END_TEST

START_TEST(parse_incomplete)
{
	struct http_request r;
	const char *full = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t i;

	for (i = 0; i < strlen(full); i++)
		ck_assert_int_eq(http_parse_request(full, i, &r), 0);
	/* Two pipelined requests: the first one's length. */
	ck_assert_int_eq(parse("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n", &r), 28);
	ck_assert_str_eq(r.path, "/a");
}
END_TEST

START_TEST(parse_errors)
{
	static const char *const bad[] = {
		"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics  HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics\r\n\r\n",
		"GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n\r\n", /* no Host */
		"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost a\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHo st: a\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n: a\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\rb\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\x01\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: -0\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"G(T /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /met\x7frics HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /metrics HTTP/1.x\r\nHost: a\r\n\r\n",
		"GET /metrics HTTP/11\r\nHost: a\r\n\r\n",
		"GET /metrics http/1.1\r\nHost: a\r\n\r\n",
	};
	struct http_request r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], &r) == -400, "accepted #%zu: %s", i, bad[i]);
	ck_assert_int_eq(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &r), -505);
	ck_assert_int_eq(parse("GET / HTTP/0.9\r\n\r\n", &r), -505);
}
END_TEST

START_TEST(parse_limits)
{
	struct http_request r;
	char *big = malloc(HTTP_HEAD_MAX + 64);
	char path[HTTP_PATH_MAX + 32];
	char line[HTTP_PATH_MAX + 64];

	/* A head that never ends within HTTP_HEAD_MAX bytes: 431. */
	memset(big, 'a', HTTP_HEAD_MAX + 63);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	big[HTTP_HEAD_MAX + 63] = '\0';
	ck_assert_int_eq(http_parse_request(big, HTTP_HEAD_MAX - 1, &r), 0);
	ck_assert_int_eq(http_parse_request(big, HTTP_HEAD_MAX, &r), -431);
	ck_assert_int_eq(http_parse_request(big, HTTP_HEAD_MAX + 63, &r), -431);
	/* A complete head past the limit is too large as well. */
	memcpy(big + HTTP_HEAD_MAX + 59, "\r\n\r\n", 4);
	ck_assert_int_eq(http_parse_request(big, HTTP_HEAD_MAX + 63, &r), -431);
	free(big);
	/* The target: HTTP_PATH_MAX - 1 bytes pass, one more does not. */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[HTTP_PATH_MAX - 1] = '\0';
	snprintf(line, sizeof(line), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path);
	ck_assert_int_gt(parse(line, &r), 0);
	ck_assert_uint_eq(strlen(r.path), HTTP_PATH_MAX - 1);
	path[HTTP_PATH_MAX - 1] = 'p';
	path[HTTP_PATH_MAX] = '\0';
	snprintf(line, sizeof(line), "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path);
	ck_assert_int_eq(parse(line, &r), -400);
}
END_TEST

START_TEST(format_response)
{
	size_t n;
	char *s = http_format_response(200, "text/plain", "ok", 2, true, false, &n);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(n, strlen("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				    "Content-Length: 2\r\nConnection: keep-alive\r\n\r\nok"));
	ck_assert(memcmp(s,
			 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
			 "Connection: keep-alive\r\n\r\nok",
			 n) == 0);
	free(s);
	/* HEAD: the length of the body, not the body. */
	s = http_format_response(200, NULL, "ok", 2, false, true, &n);
	ck_assert(memcmp(s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
			 n) == 0);
	free(s);
	s = http_format_response(405, NULL, NULL, 0, false, false, &n);
	ck_assert_ptr_nonnull(strstr(s, "Allow: GET, HEAD\r\n"));
	free(s);
}
END_TEST

/* ------------------------------------------------------------ live server */

struct live {
	uv_loop_t loop;
	struct http_server *srv;
	int port;
	int calls;
};

static int handler(void *arg, const struct http_request *req, char **body, size_t *len,
		   const char **ctype)
{
	struct live *l = arg;

	l->calls++;
	if (strcmp(req->path, "/hello") != 0)
		return 404;
	*body = strdup("hello\n");
	*len = 6;
	*ctype = "text/plain";
	return 200;
}

static void live_start(struct live *l, unsigned max_conns, uint64_t timeout_ms)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct http_conf hc = {
		.addr = (struct sockaddr *)&sin, .max_conns = max_conns, .timeout_ms = timeout_ms};
	char err[256];

	memset(l, 0, sizeof(*l));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(uv_loop_init(&l->loop), 0);
	ck_assert_int_eq(http_server_new(&l->loop, &hc, handler, l, &l->srv, err, sizeof(err)), 0);
	l->port = http_server_port(l->srv);
	ck_assert_int_gt(l->port, 0);
}

static int client_connect(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Runs the loop until fd has data or is closed; returns what it read
 * (0 at EOF). */
static ssize_t client_read(struct live *l, int fd, char *buf, size_t cap)
{
	int i;

	for (i = 0; i < 2000; i++) {
		ssize_t n;

		uv_run(&l->loop, UV_RUN_NOWAIT);
		n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
		if (n >= 0) {
			buf[n] = '\0';
			return n;
		}
		usleep(1000);
	}
	ck_abort_msg("no answer from the server");
	return -1;
}

static void live_stop(struct live *l)
{
	http_server_close(l->srv);
	uv_run(&l->loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&l->loop), 0);
}

START_TEST(server_requests)
{
	const char *two = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
			  "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n";
	struct live l;
	char buf[4096] = "";
	ssize_t n;
	int fd;

	live_start(&l, 4, 5000);
	fd = client_connect(l.port);
	/* Two pipelined requests on one connection, answered in order. */
	ck_assert_int_eq(send(fd, two, strlen(two), 0), (ssize_t)strlen(two));
	n = 0;
	while (strstr(buf, "404 Not Found") == NULL) {
		ssize_t m = client_read(&l, fd, buf + n, sizeof(buf) - (size_t)n);

		ck_assert_int_gt(m, 0);
		n += m;
	}
	ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\r\n\r\nhello\n"));
	ck_assert(strstr(buf, "200 OK") < strstr(buf, "404 Not Found"));
	ck_assert_int_eq(l.calls, 2);
	/* A bad request: 400, then the connection closes. */
	ck_assert_int_eq(send(fd, "BAD\r\n\r\n", 7, 0), 7);
	n = client_read(&l, fd, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 400 Bad Request\r\n"));
	ck_assert_ptr_nonnull(strstr(buf, "Connection: close\r\n"));
	while (n > 0)
		n = client_read(&l, fd, buf, sizeof(buf));
	ck_assert_int_eq(n, 0);
	close(fd);
	live_stop(&l);
}
END_TEST

START_TEST(server_limits)
{
	struct live l;
	char buf[4096];
	int fds[3], i;

	live_start(&l, 2, 200);
	/* Over the cap of 2 connections, the third is closed at once. */
	for (i = 0; i < 3; i++)
		fds[i] = client_connect(l.port);
	ck_assert_int_eq(client_read(&l, fds[2], buf, sizeof(buf)), 0);
	close(fds[2]);
	/* A client that sends half a request is closed after the timeout. */
	ck_assert_int_eq(send(fds[0], "GET /hello HT", 13, 0), 13);
	ck_assert_int_eq(client_read(&l, fds[0], buf, sizeof(buf)), 0);
	ck_assert_int_eq(client_read(&l, fds[1], buf, sizeof(buf)), 0);
	ck_assert_int_eq(l.calls, 0);
	close(fds[0]);
	close(fds[1]);
	/* A head that never ends: 431 and close. */
	fds[0] = client_connect(l.port);
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /hello HTTP/1.1\r\nX: ", 24);
	ck_assert_int_eq(send(fds[0], buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	ck_assert_int_eq(send(fds[0], buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	ck_assert_int_gt(client_read(&l, fds[0], buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "431 Request Header Fields Too Large"));
	close(fds[0]);
	live_stop(&l);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_get);
	tcase_add_test(tc, parse_versions_and_connection);
	tcase_add_test(tc, parse_incomplete);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, parse_limits);
	tcase_add_test(tc, format_response);
	tcase_add_test(tc, server_requests);
	tcase_add_test(tc, server_limits);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
