/*
 * Batching of stream messages into set elements. The timeout rule comes
 * from DESIGN.md ("loki-fwsync command line"): an element outlives its
 * record's TTL by the grace period, and never lives less than min-timeout,
 * so that a short TTL does not make the address flap between queries.
 */
#include "setsync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define TAG "setsync"

struct setsync {
	struct setsync_conf conf;
	setsync_apply_fn apply;
	void *arg;
	struct fwnft_elem *elems;
	size_t n;
	size_t cap;
	uint64_t seq; /* highest seq pushed since the last commit */
	struct setsync_stats stats;
};

struct setsync *setsync_new(const struct setsync_conf *conf, setsync_apply_fn apply, void *arg)
{
	struct setsync *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->conf = *conf;
	s->apply = apply;
	s->arg = arg;
	return s;
}

void setsync_free(struct setsync *s)
{
	if (s == NULL)
		return;
	free(s->elems);
	free(s);
}

uint32_t setsync_timeout(const struct setsync_conf *conf, uint32_t ttl)
{
	uint64_t t = ttl > conf->min_timeout ? ttl : conf->min_timeout;

	t += conf->grace;
	if (t == 0)
		return 1;
	return t > FWNFT_TIMEOUT_MAX ? FWNFT_TIMEOUT_MAX : (uint32_t)t;
}

int setsync_push(struct setsync *s, const struct msg *m)
{
	struct fwnft_elem *e;

	if (m->type == MSG_HELLO)
		return 0;
	if (m->seq > s->seq)
		s->seq = m->seq;
	if (m->type == MSG_SYNCED)
		return 0;
	if (fwnft_addr_forbidden(m->family, m->addr)) {
		char a[64];

		s->stats.forbidden++;
		log_warn(TAG, "refusing %s of %s for %s: address never admitted",
			 msg_type_name(m->type), msg_addr_str(m->family, m->addr, a, sizeof(a)),
			 m->name);
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap != 0 ? s->cap * 2 : 256;
		struct fwnft_elem *p = realloc(s->elems, cap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		s->elems = p;
		s->cap = cap;
	}
	e = &s->elems[s->n++];
	memset(e, 0, sizeof(*e));
	e->family = m->family;
	memcpy(e->addr, m->addr, sizeof(e->addr));
	if (m->type == MSG_ADD) {
		e->op = FWNFT_ADD;
		e->timeout = setsync_timeout(&s->conf, m->ttl);
		s->stats.adds++;
	} else {
		e->op = FWNFT_DEL;
		s->stats.dels++;
	}
	return 0;
}

size_t setsync_pending(const struct setsync *s)
{
	return s->n;
}

int setsync_commit(struct setsync *s, uint64_t *ack_seq)
{
	int rc = 0;

	*ack_seq = 0;
	if (s->n > 0)
		rc = s->apply(s->arg, s->elems, s->n);
	if (rc == 0) {
		*ack_seq = s->seq;
		if (s->n > 0)
			s->stats.batches++;
	} else {
		s->stats.failures++;
	}
	setsync_reset(s);
	return rc;
}

void setsync_reset(struct setsync *s)
{
	s->n = 0;
	s->seq = 0;
	/* A snapshot can be large; do not keep its memory for the small
	 * incremental batches that follow. */
	if (s->cap > 4096) {
		free(s->elems);
		s->elems = NULL;
		s->cap = 0;
	}
}

const struct setsync_stats *setsync_stats(const struct setsync *s)
{
	return &s->stats;
}
