/*
 * Between the stream and nftables: collects the add and del messages that
 * arrived together, turns each into a set element with its timeout
 * (max(ttl, min-timeout) + grace, DESIGN.md "loki-fwsync command line"),
 * drops addresses that must never be admitted, and hands the batch to an
 * apply callback (fwnft_apply in the daemon, a recorder in the tests) as
 * one transaction. It remembers the highest seq of the batch, which the
 * client acks once the callback has committed it. Pure: no I/O of its own.
 */
#ifndef LOKI_FWSYNC_SETSYNC_H
#define LOKI_FWSYNC_SETSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "nft.h"

struct setsync_conf {
	uint32_t min_timeout; /* seconds */
	uint32_t grace;	      /* seconds */
};

/*
 * Commits count elements as one transaction. Returns 0 when committed
 * (individual elements may have failed and been logged), or a negative
 * errno when nothing could be committed.
 */
typedef int (*setsync_apply_fn)(void *arg, const struct fwnft_elem *e, size_t count);

struct setsync_stats {
	uint64_t batches;   /* apply calls that succeeded */
	uint64_t adds;	    /* add elements handed to apply */
	uint64_t dels;	    /* del elements handed to apply */
	uint64_t forbidden; /* messages dropped by fwnft_addr_forbidden */
	uint64_t failures;  /* apply calls that failed */
};

struct setsync;

/* Returns NULL when out of memory. */
struct setsync *setsync_new(const struct setsync_conf *conf, setsync_apply_fn apply, void *arg);
void setsync_free(struct setsync *s);

/* The timeout of an element for a record with this TTL, in seconds:
 * max(ttl, min_timeout) + grace, at least 1, at most FWNFT_TIMEOUT_MAX. */
uint32_t setsync_timeout(const struct setsync_conf *conf, uint32_t ttl);

/*
 * Queues one parsed message of the current batch: add and del become
 * elements, synced only moves the seq to ack, hello is ignored. Returns 0
 * or -ENOMEM.
 */
int setsync_push(struct setsync *s, const struct msg *m);

/* Elements queued and not yet committed. */
size_t setsync_pending(const struct setsync *s);

/*
 * Commits the queued batch through the apply callback. On success *ack_seq
 * is the highest seq pushed since the last commit (0 if none) and the queue
 * is empty. On failure the queue is dropped too (the client reconnects and
 * takes a fresh snapshot) and the callback's error is returned.
 */
int setsync_commit(struct setsync *s, uint64_t *ack_seq);

/* Drops the queued batch, as on a disconnect. */
void setsync_reset(struct setsync *s);

const struct setsync_stats *setsync_stats(const struct setsync *s);

#endif
