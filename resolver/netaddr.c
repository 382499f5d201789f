/*
 * Socket addresses and CIDR prefixes in text form. Everything here parses
 * configuration text (untrusted in the sense of STYLE.md point 7), so every
 * malformed input is an -EINVAL, never an assert.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"

/*
 * Parses a decimal number of at most max_digits digits in [lo, hi] from the
 * whole of text (len bytes, no sign, no spaces, no trailing junk). Returns 0
 * or -EINVAL.
 */
static int parse_dec(const char *text, size_t len, size_t max_digits, unsigned long lo,
		     unsigned long hi, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > max_digits)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(text[i] - '0');
	}
	if (v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Copies len bytes of text into buf as a C string; fails if it does not fit. */
static int copy_part(char *buf, size_t cap, const char *text, size_t len)
{
	if (len >= cap)
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return 0;
}

int netaddr_parse(const char *text, uint16_t default_port, struct netaddr *out)
{
	/* INET6_ADDRSTRLEN covers the longest address, v4-in-v6 included. */
	char host[INET6_ADDRSTRLEN];
	const char *port_text = NULL;
	const char *colon, *close;
	size_t port_len = 0;
	unsigned long port = default_port;
	bool v6;

	if (text == NULL || out == NULL)
		return -EINVAL;
	if (text[0] == '[') {
		/* "[v6]" or "[v6]:port". */
		close = strchr(text, ']');
		if (close == NULL ||
		    copy_part(host, sizeof(host), text + 1, (size_t)(close - text - 1)) != 0)
			return -EINVAL;
		if (close[1] == ':') {
			port_text = close + 2;
			port_len = strlen(port_text);
		} else if (close[1] != '\0') {
			return -EINVAL;
		}
		v6 = true;
	} else {
		colon = strchr(text, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/* Two colons or more: a bare IPv6 address, no port. */
			if (copy_part(host, sizeof(host), text, strlen(text)) != 0)
				return -EINVAL;
			v6 = true;
		} else if (colon != NULL) {
			if (copy_part(host, sizeof(host), text, (size_t)(colon - text)) != 0)
				return -EINVAL;
			port_text = colon + 1;
			port_len = strlen(port_text);
			v6 = false;
		} else {
			if (copy_part(host, sizeof(host), text, strlen(text)) != 0)
				return -EINVAL;
			v6 = false;
		}
	}

	/* An explicit port 0 is accepted only where the caller's default is 0. */
	if (port_text != NULL &&
	    parse_dec(port_text, port_len, 5, default_port == 0 ? 0 : 1, 65535, &port) != 0)
		return -EINVAL;

	memset(out, 0, sizeof(*out));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		out->len = sizeof(*sin);
	}
	return 0;
}

size_t netaddr_format_ip(const struct sockaddr *sa, char *out, size_t cap)
{
	char buf[INET6_ADDRSTRLEN];
	const void *addr;
	size_t len;

	if (sa == NULL || out == NULL || cap == 0)
		return 0;
	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return 0;
	if (inet_ntop(sa->sa_family, addr, buf, sizeof(buf)) == NULL)
		return 0;
	len = strlen(buf);
	if (len >= cap)
		return 0;
	memcpy(out, buf, len + 1);
	return len;
}

size_t netaddr_format(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (out == NULL || cap == 0 || netaddr_format_ip(sa, ip, sizeof(ip)) == 0)
		return 0;
	if (sa->sa_family == AF_INET6)
		n = snprintf(out, cap, "[%s]:%u", ip, (unsigned)netaddr_port(sa));
	else
		n = snprintf(out, cap, "%s:%u", ip, (unsigned)netaddr_port(sa));
	if (n < 0 || (size_t)n >= cap) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

bool netaddr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a == NULL || b == NULL || a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;

		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

uint16_t netaddr_port(const struct sockaddr *sa)
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

int cidr_parse(const char *text, struct cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	unsigned long prefix;
	unsigned max, i;
	struct cidr c;

	if (text == NULL || out == NULL)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	slash = strchr(text, '/');
	if (copy_part(host, sizeof(host), text,
		      slash != NULL ? (size_t)(slash - text) : strlen(text)) != 0)
		return -EINVAL;
	if (inet_pton(AF_INET, host, c.addr) == 1) {
		c.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		c.family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	prefix = max;
	if (slash != NULL && parse_dec(slash + 1, strlen(slash + 1), 3, 0, max, &prefix) != 0)
		return -EINVAL;
	c.prefix = (uint8_t)prefix;

	/*
	 * "10.0.0.1/8" is refused rather than silently widened to 10.0.0.0/8:
	 * a host address with a prefix is more often a typo than an intent.
	 */
	for (i = 0; i < max / 8; i++) {
		unsigned bit = i * 8;
		uint8_t mask;

		if (bit >= prefix)
			mask = 0;
		else if (bit + 8 <= prefix)
			mask = 0xff;
		else
			mask = (uint8_t)(0xff << (8 - (prefix - bit)));
		if ((c.addr[i] & (uint8_t)~mask) != 0)
			return -EINVAL;
	}
	*out = c;
	return 0;
}

bool cidr_contains(const struct cidr *c, int family, const uint8_t *addr)
{
	unsigned full, rest;

	if (c == NULL || addr == NULL || c->family != family)
		return false;
	if ((family == AF_INET && c->prefix > 32) || (family == AF_INET6 && c->prefix > 128))
		return false;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

size_t cidr_format(const struct cidr *c, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (c == NULL || out == NULL || cap == 0)
		return 0;
	if ((c->family != AF_INET && c->family != AF_INET6) ||
	    inet_ntop(c->family, c->addr, ip, sizeof(ip)) == NULL)
		return 0;
	/* The prefix is always written, so the output reads back unambiguously. */
	n = snprintf(out, cap, "%s/%u", ip, (unsigned)c->prefix);
	if (n < 0 || (size_t)n >= cap) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}
