/*
 * A configuration snapshot: the config and the name policy built from it,
 * immutable and reference-counted (STYLE.md point 11). Every worker holds a
 * reference to the snapshot it serves with, and every forwarded query one to
 * the snapshot it started under; SIGHUP builds a new snapshot and hands it
 * to the workers, and the old one is freed when its last user drops it.
 */
#ifndef LOKI_SNAPSHOT_H
#define LOKI_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>

#include "config.h"
#include "policy.h"

struct snapshot {
	atomic_uint refs;
	struct config *cfg;
	struct policy *policy;
	unsigned generation; /* 1 for the first, one more per reload */
};

/*
 * Builds a snapshot from the command line, environment and files (as
 * config_build), then the policy: the compiled-in zones/ai-apis.rpz, the
 * zone files and allowed_hosts. Returns 0 and *out with one reference,
 * or a negative errno with err set and *out NULL. For --help/--version,
 * returns 0 with *out NULL and cli set.
 */
int snapshot_build(int argc, char **argv, char *const *envp, const char *resolv_conf,
		   struct snapshot **out, struct config_cli *cli, char *err, size_t errlen);
/* Builds the policy of cfg alone (also for tests). */
int snapshot_policy(const struct config *cfg, struct policy **out, char *err, size_t errlen);

void snapshot_ref(struct snapshot *s);
void snapshot_unref(struct snapshot *s); /* frees at zero; NULL is fine */

#endif
