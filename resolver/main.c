/*
 * loki-resolver: command line, startup, signals and shutdown.
 */
#include "autoconfig.h" /* PACKAGE_VERSION */

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "log.h"
#include "policy.h"
#include "worker.h"
#include "zones.h"

extern char **environ;

static const char usage_text[] =
	"Usage: loki-resolver [-c FILE] [--listen ADDR:PORT]... [--upstream ADDR[:PORT]]...\n"
	"                     [--fwsync-socket PATH] [--metrics ADDR:PORT] [--foreground]\n"
	"                     [--check-config] [--version] [--help]\n"
	"\n"
	"A filtering DNS forwarder for FQDN-based egress control. Under the ai-only\n"
	"policy it answers only allowlisted names (forwarding them to the upstream\n"
	"resolvers) and NXDOMAIN for every other name.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE       read FILE (key = value lines); without -c no file is\n"
	"                          read and the compiled-in defaults serve\n"
	"      --listen ADDR:PORT  answer on this address, UDP and TCP; repeatable;\n"
	"                          IPv6 as [::1]:53 (default 127.0.0.1:53)\n"
	"      --upstream ADDR[:PORT]\n"
	"                          forward to this resolver, tried in order; repeatable\n"
	"                          (default: the nameservers of /etc/resolv.conf)\n"
	"      --fwsync-socket PATH\n"
	"                          publish handed-out addresses on this Unix socket\n"
	"      --metrics ADDR:PORT serve Prometheus metrics and /health here\n"
	"      --foreground        stay in the foreground; loki-resolver never forks,\n"
	"                          so this is the behaviour in any case (for\n"
	"                          supervisors: systemd, Docker, Kubernetes)\n"
	"      --check-config      validate the configuration, print it and exit:\n"
	"                          0 if valid, 2 if not\n"
	"      --version           print the version and exit\n"
	"  -h, --help              print this help and exit\n"
	"\n"
	"Layers, lowest first: compiled-in defaults, the -c file, the environment,\n"
	"the command line. A list set by a higher layer replaces the lower one's.\n"
	"\n"
	"Environment:\n"
	"  LOKI_NETWORK_EGRESS_POLICY   unrestricted (default), ai-only or none\n"
	"  LOKI_ALLOWED_HOSTS           comma-separated names added to the allowlist;\n"
	"                               *.example.com matches names below example.com\n"
	"  LOKI_BLOCK_METADATA_ENDPOINT true/false: NXDOMAIN for cloud metadata names,\n"
	"                               strip 169.254.0.0/16 and fd00:ec2::254 answers\n"
	"  LOKI_<KEY>                   any config key in upper case, e.g. LOKI_LISTEN,\n"
	"                               LOKI_UPSTREAM, LOKI_ALLOW_CLIENTS (lists are\n"
	"                               comma-separated), LOKI_BLOCKED_TTL, LOKI_THREADS\n"
	"\n"
	"Signals: SIGTERM and SIGINT stop accepting queries, finish those in flight\n"
	"and exit 0.\n"
	"\n"
	"Exit status: 0 after a clean stop, 1 if the resolver cannot start (for\n"
	"example a listen address that cannot be bound), 2 for a configuration error.\n"
	"\n"
	"See README.md for every config key and its default.\n";

struct app {
	struct config *cfg;
	struct policy *policy;
	struct worker_shared shared;
	struct worker *workers;
	unsigned n_workers;
	uv_loop_t loop;
	uv_signal_t sig_term, sig_int, sig_hup;
};

/* Builds the name policy from the compiled-in zone, the zone files and
 * allowed_hosts. Returns 0 or a negative errno with err set. */
static int build_policy(const struct config *cfg, struct policy **out, char *err, size_t errlen)
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

static void app_stop(struct app *app)
{
	unsigned i;

	for (i = 0; i < app->n_workers; i++)
		worker_stop(&app->workers[i]);
	uv_close((uv_handle_t *)&app->sig_term, NULL);
	uv_close((uv_handle_t *)&app->sig_int, NULL);
	uv_close((uv_handle_t *)&app->sig_hup, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct app *app = h->data;

	if (signum == SIGHUP) {
		log_warn("main", "SIGHUP: configuration reload is not implemented yet; "
				 "restart the resolver to apply changes");
		return;
	}
	log_info("main", "%s: draining and stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	app_stop(app);
}

static int run(struct app *app)
{
	const struct config *cfg = app->cfg;
	char err[512], addr[64];
	unsigned i;
	int rc = 0;

	app->shared.cfg = cfg;
	app->shared.policy = app->policy;
	app->shared.learned = learned_new(65536);
	atomic_init(&app->shared.tcp_clients, 0);
	app->n_workers = cfg->threads;
	app->workers = calloc(app->n_workers, sizeof(*app->workers));
	if (app->shared.learned == NULL || app->workers == NULL) {
		log_err("main", "out of memory");
		return 1;
	}
	/* Bind every socket before any thread starts: a listen address that
	 * cannot be bound stops the start-up with one clear message. */
	for (i = 0; i < app->n_workers; i++) {
		app->workers[i].index = i;
		app->workers[i].shared = &app->shared;
		if (worker_bind(cfg, &app->workers[i].fds, err, sizeof(err)) != 0) {
			log_err("main", "cannot listen on %s", err);
			rc = 1;
			goto out;
		}
	}
	for (i = 0; i < app->n_workers; i++) {
		int wrc = worker_start(&app->workers[i]);

		if (wrc != 0) {
			log_err("main", "cannot start worker %u: %s", i, uv_strerror(wrc));
			rc = 1;
			goto out;
		}
	}
	for (i = 0; i < cfg->n_listen; i++) {
		netaddr_format((const struct sockaddr *)&cfg->listen[i].ss, addr, sizeof(addr));
		log_info("main", "listening on %s (udp, tcp)", addr);
	}
	log_info("main", "policy %s, %zu allowlist entries, %zu upstreams, %u threads",
		 policy_mode_name(cfg->egress_policy), policy_count(app->policy), cfg->n_upstream,
		 cfg->threads);
	uv_run(&app->loop, UV_RUN_DEFAULT);
out:
	if (rc != 0 && !uv_is_closing((uv_handle_t *)&app->sig_term))
		app_stop(app);
	for (i = 0; i < app->n_workers; i++)
		worker_join(&app->workers[i]);
	uv_run(&app->loop, UV_RUN_DEFAULT);
	if (rc == 0)
		log_info("main", "stopped");
	return rc;
}

int main(int argc, char **argv)
{
	struct app app;
	struct config_cli cli;
	char err[1024];
	int rc;

	memset(&app, 0, sizeof(app));
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "loki-resolver: libsodium cannot initialise\n");
		return 1;
	}
	rc = config_build(argc, argv, environ, "/etc/resolv.conf", &app.cfg, &cli, err,
			  sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "loki-resolver: %s\n", err);
		fprintf(stderr, "Try 'loki-resolver --help' for more information.\n");
		return 2;
	}
	if (cli.help) {
		fputs(usage_text, stdout);
		config_free(app.cfg);
		return 0;
	}
	if (cli.version) {
		printf("loki-resolver %s\n", PACKAGE_VERSION);
		config_free(app.cfg);
		return 0;
	}
	rc = build_policy(app.cfg, &app.policy, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "loki-resolver: %s\n", err);
		config_free(app.cfg);
		return 2;
	}
	if (cli.check_config) {
		config_print(app.cfg, stdout);
		printf("# configuration OK: %zu allowlist entries\n", policy_count(app.policy));
		policy_free(app.policy);
		config_free(app.cfg);
		return 0;
	}

	uv_loop_init(&app.loop);
	uv_signal_init(&app.loop, &app.sig_term);
	uv_signal_init(&app.loop, &app.sig_int);
	uv_signal_init(&app.loop, &app.sig_hup);
	app.sig_term.data = app.sig_int.data = app.sig_hup.data = &app;
	uv_signal_start(&app.sig_term, on_signal, SIGTERM);
	uv_signal_start(&app.sig_int, on_signal, SIGINT);
	uv_signal_start(&app.sig_hup, on_signal, SIGHUP);

	rc = run(&app);

	if (uv_loop_close(&app.loop) != 0)
		log_err("main", "main loop not empty at exit");
	free(app.workers);
	learned_free(app.shared.learned);
	policy_free(app.policy);
	config_free(app.cfg);
	return rc;
}
