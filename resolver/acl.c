/*
 * allow_clients matching. A dual-stack socket reports IPv4 clients as
 * ::ffff:a.b.c.d (RFC 4291, section 2.5.5.2); those are matched against the
 * IPv4 prefixes only, so "10.0.0.0/8" admits 10.1.2.3 whichever socket it
 * arrived on, and an IPv6 prefix never admits an IPv4 client by accident.
 */
#include <netinet/in.h>
#include <string.h>

#include "acl.h"

bool acl_allows(const struct cidr *list, size_t n, const struct sockaddr *client)
{
	const uint8_t *addr;
	int family;
	size_t i;

	if (list == NULL || client == NULL)
		return false;
	if (client->sa_family == AF_INET) {
		family = AF_INET;
		addr = (const uint8_t *)&((const struct sockaddr_in *)client)->sin_addr;
	} else if (client->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)client)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			addr = a6->s6_addr + 12;
		} else {
			family = AF_INET6;
			addr = a6->s6_addr;
		}
	} else {
		/* Unix sockets and anything else have no address to match. */
		return false;
	}
	for (i = 0; i < n; i++)
		if (cidr_contains(&list[i], family, addr))
			return true;
	return false;
}
