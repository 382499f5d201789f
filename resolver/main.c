/*
 * loki-resolver: command line, startup, signals and shutdown.
 */
#include "autoconfig.h" /* PACKAGE_VERSION */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "log.h"
#include "policy.h"
#include "snapshot.h"
#include "stream.h"
#include "worker.h"

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
	"      --require-unprivileged\n"
	"                          refuse to serve as root unless `user` is set (the\n"
	"                          resolver then binds its sockets and drops to it)\n"
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
	"Signals: SIGHUP reloads the configuration file, the environment given at\n"
	"start and the zone files into a new snapshot; a broken configuration is\n"
	"logged and the old one kept. listen, threads, user and cache_size need a\n"
	"restart. SIGTERM and SIGINT stop accepting queries, finish those in flight\n"
	"and exit 0.\n"
	"\n"
	"Exit status: 0 after a clean stop, 1 if the resolver cannot start (for\n"
	"example a listen address that cannot be bound), 2 for a configuration error.\n"
	"\n"
	"See README.md for every config key and its default.\n";

/* Serve-stale keeps expired answers this long (RFC 8767 section 5 suggests
 * one to three days). */
#define STALE_WINDOW_S 86400

struct app {
	int argc;
	char **argv;
	struct snapshot *snap; /* the newest configuration */
	struct worker_shared shared;
	struct worker *workers;
	unsigned n_workers;
	unsigned n_started;
	uv_loop_t loop;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t stop_poll; /* waits for the workers to drain */
	bool stopping;
};

/*
 * Once every worker has drained, nothing publishes any more: the stream
 * (which kept serving acks for held replies meanwhile) closes, and with it
 * the main loop's last handles.
 */
static void app_poll_stopped(uv_timer_t *t)
{
	struct app *app = t->data;
	unsigned i;

	for (i = 0; i < app->n_started; i++)
		if (!atomic_load(&app->workers[i].finished))
			return;
	uv_close((uv_handle_t *)&app->stop_poll, NULL);
	stream_close(app->shared.stream);
	app->shared.stream = NULL;
}

static void app_stop(struct app *app)
{
	unsigned i;

	if (app->stopping)
		return;
	app->stopping = true;
	for (i = 0; i < app->n_workers; i++)
		worker_stop(&app->workers[i]);
	uv_close((uv_handle_t *)&app->sig_term, NULL);
	uv_close((uv_handle_t *)&app->sig_int, NULL);
	uv_close((uv_handle_t *)&app->sig_hup, NULL);
	uv_timer_init(&app->loop, &app->stop_poll);
	app->stop_poll.data = app;
	uv_timer_start(&app->stop_poll, app_poll_stopped, 0, 20);
}

static bool still_allowed(const uint8_t *name, size_t len, void *arg)
{
	const struct policy *p = arg;

	return policy_check(p, name, len, 0) == VERDICT_ALLOW;
}

static bool netaddrs_equal(const struct netaddr *a, size_t na, const struct netaddr *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (!netaddr_equal((const struct sockaddr *)&a[i].ss,
				   (const struct sockaddr *)&b[i].ss))
			return false;
	return true;
}

/*
 * SIGHUP: build a new snapshot from the same command line and environment;
 * if it validates, hand it to every worker (each swaps it in between two
 * queries, so no query is lost), forget learned CNAME targets and drop the
 * cached answers of names the new policy does not allow.
 */
static void app_reload(struct app *app)
{
	struct snapshot *snap = NULL;
	const struct config *old, *cfg;
	struct config_cli cli;
	char err[1024];
	size_t flushed, revoked;
	unsigned i;

	if (snapshot_build(app->argc, app->argv, environ, "/etc/resolv.conf", &snap, &cli, err,
			   sizeof(err)) != 0 ||
	    snap == NULL) {
		log_err("main", "reload failed, keeping configuration %u: %s",
			app->snap->generation, err);
		return;
	}
	old = app->snap->cfg;
	cfg = snap->cfg;
	snap->generation = app->snap->generation + 1;
	if (!netaddrs_equal(old->listen, old->n_listen, cfg->listen, cfg->n_listen) ||
	    old->threads != cfg->threads || old->cache_size != cfg->cache_size ||
	    (old->user == NULL) != (cfg->user == NULL) ||
	    (old->user != NULL && strcmp(old->user, cfg->user) != 0))
		log_warn("main", "listen, threads, cache_size and user changes take effect "
				 "only after a restart");
	for (i = 0; i < app->n_workers; i++)
		worker_post_snapshot(&app->workers[i], snap);
	learned_clear(app->shared.learned);
	flushed = cache_flush_if(app->shared.cache, still_allowed, snap->policy);
	stream_set_policy(app->shared.stream, policy_mode_name(cfg->egress_policy));
	revoked = stream_revoke(app->shared.stream, snap->policy);
	snapshot_unref(app->snap);
	app->snap = snap;
	log_info("main",
		 "reloaded configuration %u: policy %s, %zu allowlist entries, "
		 "%zu cached answers dropped, %zu addresses revoked",
		 snap->generation, policy_mode_name(cfg->egress_policy), policy_count(snap->policy),
		 flushed, revoked);
}

/* The stream's acked watermark moved: held replies may go out. */
static void on_watermark(void *arg)
{
	struct app *app = arg;
	unsigned i;

	for (i = 0; i < app->n_started; i++)
		worker_post_watermark(&app->workers[i]);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct app *app = h->data;

	if (signum == SIGHUP) {
		log_info("main", "SIGHUP: reloading configuration");
		app_reload(app);
		return;
	}
	log_info("main", "%s: draining and stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	app_stop(app);
}

/*
 * Drops root for `user` once every socket is bound (port 53 needs root or
 * CAP_NET_BIND_SERVICE only for bind). Setting a non-zero real, effective
 * and saved UID clears every capability (capabilities(7), "Effect of user
 * ID changes on capabilities"); no_new_privs keeps it so.
 */
static int drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;
	gid_t gid;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen, "user %s: %s", user,
			 errno ? strerror(errno) : "no such user");
		return -ENOENT;
	}
	gid = pw->pw_gid;
	if (geteuid() == 0 && setgroups(1, &gid) != 0)
		goto fail;
	if (setgid(gid) != 0 || setuid(pw->pw_uid) != 0)
		goto fail;
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "user %s: could regain root after dropping it", user);
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "user %s: %s", user, strerror(errno));
	return -errno;
}

static int run(struct app *app)
{
	const struct config *cfg = app->snap->cfg;
	struct worker_shared *sh = &app->shared;
	char err[512], addr[64];
	unsigned i;
	int rc = 0;

	sh->learned = learned_new(65536);
	sh->cache = cache_new(cfg->cache_size, cfg->serve_stale ? STALE_WINDOW_S : 0);
	sh->inflight = inflight_new();
	cookie_secret_init(&sh->cookie_secret);
	atomic_init(&sh->tcp_clients, 0);
	app->n_workers = cfg->threads;
	app->workers = calloc(app->n_workers, sizeof(*app->workers));
	if (sh->learned == NULL || sh->cache == NULL || sh->inflight == NULL ||
	    app->workers == NULL) {
		log_err("main", "out of memory");
		return 1;
	}
	sh->workers = app->workers;
	sh->n_workers = app->n_workers;
	/* Bind every socket before any thread starts and before dropping
	 * privileges: a listen address that cannot be bound stops the start-up
	 * with one clear message. */
	for (i = 0; i < app->n_workers; i++) {
		app->workers[i].index = i;
		app->workers[i].shared = sh;
		app->workers[i].snap = app->snap;
		snapshot_ref(app->snap);
		if (worker_bind(cfg, &app->workers[i].fds, err, sizeof(err)) != 0) {
			log_err("main", "cannot listen on %s", err);
			rc = 1;
			goto out;
		}
	}
	if (cfg->fwsync_socket != NULL) {
		if (stream_open(&app->loop, cfg->fwsync_socket,
				policy_mode_name(cfg->egress_policy), on_watermark, app,
				&sh->stream, err, sizeof(err)) != 0) {
			log_err("main", "cannot open the address stream: %s", err);
			rc = 1;
			goto out;
		}
		log_info("main", "publishing addresses on %s", cfg->fwsync_socket);
	}
	if (cfg->user != NULL) {
		if (drop_privileges(cfg->user, err, sizeof(err)) != 0) {
			log_err("main", "cannot drop privileges: %s", err);
			rc = 1;
			goto out;
		}
		log_info("main", "running as user %s", cfg->user);
	}
	for (i = 0; i < app->n_workers; i++) {
		int wrc = worker_start(&app->workers[i]);

		if (wrc != 0) {
			log_err("main", "cannot start worker %u: %s", i, uv_strerror(wrc));
			rc = 1;
			goto out;
		}
		app->n_started = i + 1;
	}
	for (i = 0; i < cfg->n_listen; i++) {
		netaddr_format((const struct sockaddr *)&cfg->listen[i].ss, addr, sizeof(addr));
		log_info("main", "listening on %s (udp, tcp)", addr);
	}
	log_info("main", "policy %s, %zu allowlist entries, %zu upstreams, %u threads",
		 policy_mode_name(cfg->egress_policy), policy_count(app->snap->policy),
		 cfg->n_upstream, cfg->threads);
	uv_run(&app->loop, UV_RUN_DEFAULT);
out:
	app_stop(app);
	uv_run(&app->loop, UV_RUN_DEFAULT);
	for (i = 0; i < app->n_workers; i++)
		worker_join(&app->workers[i]);
	app->n_started = 0;
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
	app.argc = argc;
	app.argv = argv;
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "loki-resolver: libsodium cannot initialise\n");
		return 1;
	}
	rc = snapshot_build(argc, argv, environ, "/etc/resolv.conf", &app.snap, &cli, err,
			    sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "loki-resolver: %s\n", err);
		fprintf(stderr, "Try 'loki-resolver --help' for more information.\n");
		return 2;
	}
	if (cli.help) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (cli.version) {
		printf("loki-resolver %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (cli.check_config) {
		config_print(app.snap->cfg, stdout);
		printf("# configuration OK: %zu allowlist entries\n",
		       policy_count(app.snap->policy));
		snapshot_unref(app.snap);
		return 0;
	}
	if (cli.require_unprivileged && geteuid() == 0 && app.snap->cfg->user == NULL) {
		fprintf(stderr, "loki-resolver: running as root without `user` "
				"(--require-unprivileged): set user = NAME, or run as a "
				"non-root user with CAP_NET_BIND_SERVICE\n");
		snapshot_unref(app.snap);
		return 2;
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
	cache_free(app.shared.cache);
	inflight_free(app.shared.inflight);
	learned_free(app.shared.learned);
	snapshot_unref(app.snap);
	return rc;
}
