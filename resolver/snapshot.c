/*
 * Configuration snapshots.
 */
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zones.h"

int snapshot_policy(const struct config *cfg, struct policy **out, char *err, size_t errlen)
{
	struct policy *p;
	size_t i;
	int rc;

	*out = NULL;
	p = policy_new(cfg->egress_policy, cfg->block_metadata_endpoint);
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = zones_load_text(p, zones_builtin_ai_apis, strlen(zones_builtin_ai_apis),
			     "built-in zones/ai-apis.rpz", err, errlen);
	for (i = 0; rc == 0 && i < cfg->n_zones; i++)
		rc = zones_load_file(p, cfg->zones[i], err, errlen);
	for (i = 0; rc == 0 && i < cfg->n_allowed_hosts; i++) {
		rc = policy_allow_text(p, cfg->allowed_hosts[i]);
		if (rc != 0)
			snprintf(err, errlen, "allowed_hosts: %s: %s", cfg->allowed_hosts[i],
				 strerror(-rc));
	}
	if (rc != 0) {
		policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int snapshot_build(int argc, char **argv, char *const *envp, const char *resolv_conf,
		   struct snapshot **out, struct config_cli *cli, char *err, size_t errlen)
{
	struct snapshot *s = NULL;
	struct config *cfg = NULL;
	struct policy *p = NULL;
	int rc;

	*out = NULL;
	rc = config_build(argc, argv, envp, resolv_conf, &cfg, cli, err, errlen);
	if (rc != 0 || cfg == NULL)
		goto out;
	rc = snapshot_policy(cfg, &p, err, errlen);
	if (rc != 0)
		goto out;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	atomic_init(&s->refs, 1);
	s->cfg = cfg;
	s->policy = p;
	s->generation = 1;
	cfg = NULL;
	p = NULL;
	*out = s;
out:
	policy_free(p);
	config_free(cfg);
	return rc;
}

void snapshot_ref(struct snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void snapshot_unref(struct snapshot *s)
{
	if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	policy_free(s->policy);
	config_free(s->cfg);
	free(s);
}
