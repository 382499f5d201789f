/*
 * Configuration: compiled-in defaults < config file (-c) < environment <
 * command line. A list set at a higher layer replaces the whole list of the
 * layers below (one --listen replaces every `listen` of the file).
 *
 * The result is an immutable snapshot: built once by config_build, shared
 * read-only by every thread, freed by config_free.
 *
 * Keys, environment variables and command-line options:
 *
 *   key                      environment                       option
 *   listen*                  LOKI_LISTEN                       --listen
 *   upstream*                LOKI_UPSTREAM                     --upstream
 *   egress_policy            LOKI_NETWORK_EGRESS_POLICY
 *   allowed_hosts            LOKI_ALLOWED_HOSTS
 *   zone*                    LOKI_ZONE
 *   block_metadata_endpoint  LOKI_BLOCK_METADATA_ENDPOINT
 *   rebinding_guard          LOKI_REBINDING_GUARD
 *   allow_clients*           LOKI_ALLOW_CLIENTS
 *   cache_size               LOKI_CACHE_SIZE
 *   min_ttl, max_ttl         LOKI_MIN_TTL, LOKI_MAX_TTL
 *   blocked_ttl              LOKI_BLOCKED_TTL
 *   serve_stale              LOKI_SERVE_STALE
 *   upstream_timeout_ms      LOKI_UPSTREAM_TIMEOUT_MS
 *   fwsync_socket            LOKI_FWSYNC_SOCKET                --fwsync-socket
 *   fwsync_wait_ms           LOKI_FWSYNC_WAIT_MS
 *   metrics_listen           LOKI_METRICS_LISTEN               --metrics
 *   metrics_tls_cert         LOKI_METRICS_TLS_CERT (or LOKI_TLS_CERT)
 *   metrics_tls_key          LOKI_METRICS_TLS_KEY (or LOKI_TLS_KEY)
 *   user                     LOKI_USER
 *   tcp_idle_timeout_ms      LOKI_TCP_IDLE_TIMEOUT_MS
 *   max_tcp_clients          LOKI_MAX_TCP_CLIENTS
 *   threads                  LOKI_THREADS
 *   log_queries              LOKI_LOG_QUERIES
 *   query_log_file           LOKI_QUERY_LOG_FILE
 *
 * In the environment, list values (and allowed_hosts) are comma-separated.
 * In the file, allowed_hosts may be comma-separated and repeated; repeated
 * list keys accumulate within the file.
 */
#ifndef LOKI_CONFIG_H
#define LOKI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "netaddr.h"
#include "policy.h"

enum log_queries {
	LOG_QUERIES_BLOCKED = 0,
	LOG_QUERIES_ALL,
	LOG_QUERIES_NONE,
};

struct config {
	struct netaddr *listen;
	size_t n_listen;
	struct netaddr *upstream;
	size_t n_upstream;
	enum policy_mode egress_policy;
	char **allowed_hosts; /* each validated: "name" or "*.suffix" */
	size_t n_allowed_hosts;
	char **zones; /* RPZ files added to the built-in zones/ai-apis.rpz */
	size_t n_zones;
	bool block_metadata_endpoint;
	bool rebinding_guard;
	struct cidr *allow_clients;
	size_t n_allow_clients;
	uint32_t cache_size;
	uint32_t min_ttl;
	uint32_t max_ttl;
	uint32_t blocked_ttl;
	bool serve_stale;
	uint32_t upstream_timeout_ms;
	char *fwsync_socket; /* NULL: none */
	uint32_t fwsync_wait_ms;
	bool has_metrics;
	struct netaddr metrics_listen;
	char *metrics_tls_cert; /* NULL: plain HTTP; set together with the key */
	char *metrics_tls_key;
	char *user; /* NULL: none */
	uint32_t tcp_idle_timeout_ms;
	uint32_t max_tcp_clients;
	uint32_t threads;
	enum log_queries log_queries;
	char *query_log_file; /* NULL: standard error */
	char *file;	      /* the -c file, or NULL */
};

/* Options that steer the process rather than configure the resolver. */
struct config_cli {
	const char *file; /* -c FILE */
	bool foreground;
	bool check_config;
	bool require_unprivileged; /* refuse to serve as root without `user` */
	bool version;
	bool help;
};

/*
 * Builds the configuration from defaults, the -c file named in argv, envp
 * (NULL-terminated "KEY=VALUE" strings) and argv. resolv_conf is the file the
 * default upstream list is read from (normally "/etc/resolv.conf"); it is read
 * only if no layer sets upstream. On error returns -EINVAL (or -ENOMEM), sets
 * *out to NULL and writes a one-line message to err:
 *   "FILE:LINE: KEY: problem"   for the file,
 *   "environment: VAR: problem" for the environment,
 *   "command line: --opt: problem" for argv.
 * --help and --version stop parsing early and return 0 with cli set and
 * *out NULL (no configuration is built). An empty LOKI_* variable counts as
 * unset. Uses getopt_long: call it from one thread at a time.
 */
int config_build(int argc, char **argv, char *const *envp, const char *resolv_conf,
		 struct config **out, struct config_cli *cli, char *err, size_t errlen);
void config_free(struct config *cfg);

/* Writes the effective configuration in config-file syntax (for
 * --check-config), one key per line. */
void config_print(const struct config *cfg, FILE *fp);

/* Reads the "nameserver" lines of a resolv.conf, port 53. Returns the count
 * (0 if none or unreadable) and sets *out (caller frees). */
size_t config_resolv_conf(const char *path, struct netaddr **out);

/* "true/false/1/0/yes/no/on/off" (case-insensitive). Returns 0/1, -1 if bad. */
int config_parse_bool(const char *text);

#endif
