/*
 * loki-resolver: command line, startup, signals and shutdown.
 */
#include "autoconfig.h" /* PACKAGE_VERSION */

#include <errno.h>
#include <grp.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "qlog.h"
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
	"logged and the old one kept. It also reopens query_log_file (log\n"
	"rotation) and reloads the metrics TLS certificate and key. listen,\n"
	"threads, user, cache_size and metrics_listen need a restart.\n"
	"SIGTERM and SIGINT stop accepting queries, finish those in flight\n"
	"and exit 0.\n"
	"\n"
	"Exit status: 0 after a clean stop, 1 if the resolver cannot start (for\n"
	"example a listen address that cannot be bound), 2 for a configuration error.\n"
	"\n"
	"Every config key, its variable and its default: loki-resolver(8), README.md.\n";

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
	uv_timer_t stop_poll;	     /* waits for the workers to drain */
	struct http_server *metrics; /* NULL without metrics_listen */
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
	http_server_close(app->metrics);
	app->metrics = NULL;
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
	if (old->has_metrics != cfg->has_metrics ||
	    (cfg->has_metrics &&
	     !netaddr_equal((const struct sockaddr *)&old->metrics_listen.ss,
			    (const struct sockaddr *)&cfg->metrics_listen.ss)) ||
	    (old->metrics_tls_cert == NULL) != (cfg->metrics_tls_cert == NULL))
		log_warn("main", "metrics_listen changes and switching metrics TLS on or off "
				 "take effect only after a restart");
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

/* The loki_resolver_* families (DESIGN.md, "Metrics and health"). Runs on
 * the main loop: the worker counters are relaxed atomics, the stream's
 * figures belong to this loop. */
static void render_metrics(struct app *app, struct strbuf *b)
{
	struct worker_stats *st = &app->shared.stats;
	struct stream_stats ss;
	char label[128];
	static const struct {
		const char *result;
		size_t off;
	} results[] = {
		{"allowed", offsetof(struct worker_stats, allowed)},
		{"blocked", offsetof(struct worker_stats, blocked)},
		{"refused", offsetof(struct worker_stats, refused)},
		{"servfail", offsetof(struct worker_stats, servfail)},
		{"stale", offsetof(struct worker_stats, stale)},
	};
	size_t i;

#define LOAD(field) atomic_load_explicit(&st->field, memory_order_relaxed)
	metrics_build_info(b, "loki_resolver", PACKAGE_VERSION);
	metrics_header(b, "loki_resolver_queries_total", "counter",
		       "Queries answered, by result: allowed (forwarded or from the cache), "
		       "blocked by policy, refused, servfail, stale (served from an expired "
		       "cache entry).");
	for (i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		metrics_label("result", results[i].result, label, sizeof(label));
		metrics_sample(b, "loki_resolver_queries_total", label,
			       atomic_load_explicit((atomic_ulong *)((char *)st + results[i].off),
						    memory_order_relaxed));
	}
	metrics_counter(b, "loki_resolver_cache_hits_total",
			"Queries answered from a fresh cache entry.", LOAD(cache_hits));
	metrics_counter(b, "loki_resolver_cache_misses_total",
			"Allowed queries the cache could not answer.", LOAD(cache_misses));
	metrics_counter(b, "loki_resolver_upstream_queries_total",
			"Queries sent to upstream resolvers (every attempt).",
			LOAD(upstream_queries));
	metrics_counter(b, "loki_resolver_upstream_errors_total",
			"Upstream attempts that failed: timeout, send error, malformed or "
			"error answer.",
			LOAD(upstream_errors));
	metrics_histogram(b, "loki_resolver_upstream_rtt_seconds",
			  "Round-trip time of upstream answers.", &st->upstream_rtt);
	metrics_counter(b, "loki_resolver_coalesced_total",
			"Queries that waited for an identical query already sent upstream.",
			LOAD(coalesced));
	metrics_counter(b, "loki_resolver_prefetches_total",
			"Background refreshes of popular cache entries close to expiry.",
			LOAD(prefetches));
	metrics_counter(b, "loki_resolver_queries_full_total",
			"Queries answered SERVFAIL because the worker's in-flight cap was reached.",
			LOAD(queries_full));
	metrics_counter(
		b, "loki_resolver_udp_dropped_total",
		"UDP answers dropped because the socket buffer and the send queue were full.",
		LOAD(udp_dropped));
	metrics_counter(b, "loki_resolver_fwsync_wait_timeouts_total",
			"Replies released because fwsync_wait_ms passed before every "
			"subscriber acked.",
			LOAD(fwsync_wait_timeouts));
#undef LOAD
	metrics_gauge(b, "loki_resolver_tcp_clients", "Open TCP client connections.",
		      atomic_load_explicit(&app->shared.tcp_clients, memory_order_relaxed));
	metrics_gauge(b, "loki_resolver_cache_entries", "Answers in the cache.",
		      cache_count(app->shared.cache));
	stream_get_stats(app->shared.stream, &ss);
	metrics_gauge(b, "loki_resolver_stream_subscribers",
		      "Subscribers connected to the address stream.",
		      stream_subscribers(app->shared.stream));
	metrics_counter(b, "loki_resolver_stream_published_total",
			"Address events (add, del) published on the address stream.", ss.published);
	metrics_header(b, "loki_resolver_stream_disconnects_total", "counter",
		       "Subscribers disconnected by the resolver, by reason: slow (queue "
		       "full) or bad (sent garbage).");
	metrics_sample(b, "loki_resolver_stream_disconnects_total", "reason=\"slow\"",
		       ss.slow_disconnects);
	metrics_sample(b, "loki_resolver_stream_disconnects_total", "reason=\"bad\"",
		       ss.bad_disconnects);
	metrics_counter(b, "loki_resolver_stream_rejected_total",
			"Subscriber connections refused: STREAM_MAX_SUBS connected already.",
			ss.rejected);
	metrics_counter(b, "loki_resolver_stream_dropped_total",
			"Addresses handed out but not published: the address book was full.",
			ss.dropped);
	metrics_gauge(b, "loki_resolver_config_generation",
		      "Configuration generation: 1 at start, one more per successful reload.",
		      app->snap->generation);
}

/* GET /metrics and /health; anything else is 404. */
static void render_metrics_cb(void *arg, struct strbuf *b)
{
	render_metrics(arg, b);
}

static int on_http(void *arg, const struct http_request *req, char **body, size_t *len,
		   const char **ctype)
{
	return metrics_respond(req->path, render_metrics_cb, arg, body, len, ctype);
}

/* SIGHUP, whether or not the configuration reloaded: reopen the query log
 * (rotation) and reload the metrics certificate, with the current
 * configuration's paths. */
static void app_reopen(struct app *app)
{
	const struct config *cfg = app->snap->cfg;
	char err[512];

	if (qlog_open(cfg->query_log_file, err, sizeof(err)) != 0)
		log_err("main", "cannot reopen query_log_file, keeping the old one: %s", err);
	if (http_server_tls(app->metrics) && cfg->metrics_tls_cert != NULL) {
		if (http_server_reload_tls(app->metrics, cfg->metrics_tls_cert,
					   cfg->metrics_tls_key, err, sizeof(err)) != 0)
			log_err("main", "metrics TLS: keeping the old certificate: %s", err);
		else
			log_info("main", "metrics TLS: reloaded %s", cfg->metrics_tls_cert);
	}
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
		app_reopen(app);
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
	sh->max_queries = worker_max_queries(cfg->threads, cfg->max_tcp_clients);
	if (sh->max_queries < WORKER_MAX_QUERIES)
		log_warn("main",
			 "open-file limit allows %zu queries in flight per thread (of %d); "
			 "raise LimitNOFILE / ulimit -n",
			 sh->max_queries, WORKER_MAX_QUERIES);
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
	if (cfg->has_metrics) {
		struct http_conf hc = {
			.addr = (const struct sockaddr *)&cfg->metrics_listen.ss,
			.tls_cert = cfg->metrics_tls_cert,
			.tls_key = cfg->metrics_tls_key,
		};

		netaddr_format(hc.addr, addr, sizeof(addr));
		rc = http_server_new(&app->loop, &hc, on_http, app, &app->metrics, err,
				     sizeof(err));
		if (rc != 0) {
			log_err("main", "cannot serve metrics on %s: %s", addr, err);
			/* A certificate that does not load is a configuration error. */
			rc = rc == -EINVAL ? 2 : 1;
			goto out;
		}
		log_info("main", "metrics on %s://%s/metrics",
			 cfg->metrics_tls_cert ? "https" : "http", addr);
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
#ifdef __GLIBC__
	/* The large transient buffers (a stream subscriber's 128 KiB ack ring,
	 * a snapshot, a metrics page) are mmap()ed and go back to the system
	 * when freed. glibc's default raises this threshold to the largest
	 * block freed so far, after which such blocks come from the heap and
	 * its fragments stay resident: RSS then grows in steps at every
	 * subscriber reconnect. A fixed value keeps the daemon's memory flat. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
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
	/* Opened as the starting user (root, before `user` drops it), so the
	 * log may live where only root writes; exit 2 like any bad key. */
	if (qlog_open(app.snap->cfg->query_log_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "loki-resolver: query_log_file: cannot open %s\n", err);
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
	qlog_close();
	return rc;
}
