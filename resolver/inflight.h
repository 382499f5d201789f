/*
 * Request coalescing across worker threads: while one query for a cache key
 * is being resolved upstream, every other query for the same key waits for
 * its answer instead of asking again (issue: "N clients, one upstream
 * query"). The table maps a key to its owner and a bit mask of the workers
 * that have queries waiting; the owner, when done, gets the mask back and
 * hands the answer to those workers (worker_post_answer).
 *
 * One mutex guards the table: it is taken once per cache miss and once per
 * completion, never on hits or on the blocked path.
 */
#ifndef LOKI_INFLIGHT_H
#define LOKI_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"

#define INFLIGHT_MAX_WORKERS 64

struct inflight;

struct inflight *inflight_new(void);
void inflight_free(struct inflight *t);

/*
 * Joins the resolution of key. Returns 1 if the caller is now the owner (it
 * must resolve the key and call inflight_done exactly once), 0 if another
 * query owns it (worker `worker` is now marked as waiting), or -ENOMEM.
 */
int inflight_join(struct inflight *t, const struct cache_key *key, uint64_t hash, unsigned worker);
/* The owner is done: removes key and returns the waiting-workers mask. */
uint64_t inflight_done(struct inflight *t, const struct cache_key *key, uint64_t hash);
size_t inflight_count(struct inflight *t);

/* Key equality, for the workers' own waiting lists too. */
bool inflight_key_equal(const struct cache_key *a, const struct cache_key *b);

#endif
