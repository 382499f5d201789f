/*
 * Socket addresses and CIDR prefixes in text form: "127.0.0.1:53",
 * "[::1]:5353", "192.0.2.1" (default port), "::1" (bare IPv6, default port),
 * "10.0.0.0/8", "fc00::/7".
 */
#ifndef LOKI_NETADDR_H
#define LOKI_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct netaddr {
	struct sockaddr_storage ss;
	socklen_t len; /* sizeof(sockaddr_in) or sizeof(sockaddr_in6) */
};

/* Parses ADDR[:PORT] or [V6ADDR][:PORT]; port 0 is allowed only when
 * default_port is 0 too. Returns 0 or -EINVAL. */
int netaddr_parse(const char *text, uint16_t default_port, struct netaddr *out);
/* Formats as "1.2.3.4:53" or "[::1]:53". Returns the length, or 0 if it does
 * not fit. 64 bytes always suffice. */
size_t netaddr_format(const struct sockaddr *sa, char *out, size_t cap);
/* Address only, no port: "1.2.3.4", "::1". */
size_t netaddr_format_ip(const struct sockaddr *sa, char *out, size_t cap);
bool netaddr_equal(const struct sockaddr *a, const struct sockaddr *b); /* addr and port */
uint16_t netaddr_port(const struct sockaddr *sa);

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t prefix;
	uint8_t addr[16]; /* network order; bits past prefix are zero */
};

/* "10.0.0.0/8", "::1" (a host: /32 or /128), "fc00::/7". Host bits set
 * below the prefix are an error (-EINVAL), as in "10.0.0.1/8". */
int cidr_parse(const char *text, struct cidr *out);
/* addr is 4 or 16 bytes of family. */
bool cidr_contains(const struct cidr *c, int family, const uint8_t *addr);
size_t cidr_format(const struct cidr *c, char *out, size_t cap);

#endif
