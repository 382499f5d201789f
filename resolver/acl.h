/*
 * allow_clients: the client prefixes that get answers; every other source
 * gets REFUSED. IPv4-mapped IPv6 sources (::ffff:a.b.c.d) are matched as
 * IPv4.
 */
#ifndef LOKI_ACL_H
#define LOKI_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "netaddr.h"

bool acl_allows(const struct cidr *list, size_t n, const struct sockaddr *client);

#endif
