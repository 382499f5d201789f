/*
 * Upstream attempts. Each attempt sends the question to one upstream server
 * from a fresh UDP socket bound to a random source port, with a random
 * message ID (both from libsodium's randombytes, RFC 5452 section 9.2), or,
 * after a truncated answer, over a fresh TCP connection (RFC 7766). Replies
 * from another address or with another ID are ignored. An attempt is freed in
 * its handle's close callback; the query only holds a pointer to it until it
 * calls upstream_cancel.
 */
#ifndef LOKI_UPSTREAM_H
#define LOKI_UPSTREAM_H

#include <stdbool.h>

struct query;

/* Starts an attempt for qr to cfg->upstream[qr->upstream_idx], over UDP or
 * TCP (qr->over_tcp). Returns 0 or a negative errno. */
int upstream_start(struct query *qr);
/* Cancels qr's attempt (if any); its callbacks will no longer reach qr. */
void upstream_cancel(struct query *qr);

#endif
