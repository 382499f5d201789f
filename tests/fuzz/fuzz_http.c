/*
 * Fuzz target for the metrics endpoint's request parser
 * (http_parse_request): the input is what a client sends on one
 * connection. It is parsed as resolver/http.c does, request after request,
 * from a buffer of HTTP_HEAD_MAX bytes.
 *
 * Checked on the way:
 *  - a result is 0 (incomplete), a length within the buffer, or one of the
 *    documented error statuses;
 *  - a parsed request is stable: every shorter prefix of it is incomplete or
 *    the same error, and parsing it again gives the same request;
 *  - the path is NUL-terminated within HTTP_PATH_MAX, starts with '/', and
 *    holds only visible ASCII without '?'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Spelled out so that no autoconf-generated config.h can shadow it. */
#include "../../resolver/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const char *buf, int rc, const struct http_request *r)
{
	struct http_request again;
	size_t i, n = strnlen(r->path, sizeof(r->path));

	if (n >= sizeof(r->path) || r->path[0] != '/')
		abort();
	for (i = 0; i < n; i++)
		if (r->path[i] <= 0x20 || r->path[i] >= 0x7f || r->path[i] == '?')
			abort();
	if (r->method < HTTP_GET || r->method > HTTP_OTHER || r->minor > 9)
		abort();
	if (http_parse_request(buf, (size_t)rc, &again) != rc ||
	    memcmp(&again, r, sizeof(again)) != 0)
		abort();
	/* A strict prefix of a complete head is never complete. */
	if (rc > 1 && http_parse_request(buf, (size_t)rc - 1, &again) > 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[HTTP_HEAD_MAX];
	size_t off = 0;

	while (off < size) {
		size_t n = size - off < sizeof(buf) ? size - off : sizeof(buf);
		struct http_request r;
		int rc;

		memcpy(buf, data + off, n);
		rc = http_parse_request(buf, n, &r);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (rc != -400 && rc != -431 && rc != -505)
				abort();
			if (rc == -431 && n < HTTP_HEAD_MAX)
				abort();
			break;
		}
		if ((size_t)rc > n)
			abort();
		check_request(buf, rc, &r);
		off += (size_t)rc;
	}
	return 0;
}
