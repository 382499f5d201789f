/*
 * loki-fwsync: keeps the nftables sets allow4/allow6 equal to the addresses
 * that loki-resolver publishes on its stream socket (DESIGN.md, "loki-fwsync
 * command line"). Startup errors are fatal (exit 1; usage errors exit 2);
 * after startup nothing is: a lost stream is reconnected with backoff and
 * the sets are left as they are, so their elements expire by their own
 * timeouts (fail-static). SIGTERM and SIGINT exit 0 and leave the sets in
 * place.
 */
#include "autoconfig.h" /* PACKAGE_VERSION */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <uv.h>

#include "client.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "netaddr.h"
#include "nft.h"
#include "setsync.h"

#define TAG	       "fwsync"
#define DEFAULT_SOCKET "/run/loki/fwsync.sock"
/* CAP_NET_ADMIN from linux/capability.h, spelled out to need no libcap. */
#define CAP_NET_ADMIN_BIT 12

struct options {
	const char *socket;
	const char *family;
	const char *table;
	const char *set4;
	const char *set6;
	uint32_t min_timeout;
	uint32_t grace;
	const char *ruleset;
	bool dry_run;
	enum fwnft_refresh refresh;
	bool has_metrics;
	struct netaddr metrics;
};

/* Counters of what setsync and client do not count themselves. */
struct agent_stats {
	uint64_t applied; /* elements committed */
	uint64_t failed;  /* elements nftables refused */
	uint64_t started_ns;
	uint64_t last_sync_ns; /* uv_hrtime() of the last committed transaction; 0: none */
};

struct agent {
	uv_loop_t loop;
	uv_signal_t sigterm;
	uv_signal_t sigint;
	struct fwnft *nft;
	struct setsync *sync;
	struct client *client;
	struct http_server *metrics; /* NULL without --metrics */
	struct agent_stats stats;
};

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: loki-fwsync [OPTION]...\n"
		    "Keep nftables sets equal to the addresses that loki-resolver hands out.\n"
		    "\n"
		    "loki-fwsync subscribes to the address stream of loki-resolver (a Unix\n"
		    "socket of JSON lines) and adds every published address to the set\n"
		    "allow4 or allow6 with a timeout of max(TTL, min-timeout) + grace seconds,\n"
		    "so that a rule such as `ip daddr @allow4 tcp dport 443 accept` admits\n"
		    "exactly the addresses that allowlisted names resolve to now. Updates\n"
		    "that arrive together are committed in one nftables transaction and then\n"
		    "acknowledged to the resolver. The table and the sets are created when\n"
		    "missing (type ipv4_addr / ipv6_addr, flags timeout).\n"
		    "\n"
		    "Options:\n"
		    "  --socket PATH           stream socket of loki-resolver\n"
		    "                          (default " DEFAULT_SOCKET ")\n"
		    "  --table FAMILY NAME     table of the sets (default: inet loki)\n"
		    "  --set4 NAME             set of IPv4 addresses (default: allow4)\n"
		    "  --set6 NAME             set of IPv6 addresses (default: allow6)\n"
		    "  --min-timeout SECONDS   shortest element timeout before the grace\n"
		    "                          period (default: 60)\n"
		    "  --grace SECONDS         added to every element timeout (default: 30)\n"
		    "  --install-ruleset FILE  load FILE as `nft -f FILE` does before\n"
		    "                          starting (with --dry-run: only check it, as\n"
		    "                          `nft -c -f FILE`); see conf/loki-egress.nft\n"
		    "  --dry-run               print the nft commands, one per line, instead\n"
		    "                          of running them; needs no privileges and\n"
		    "                          subscribes without acknowledgements\n"
		    "  --refresh=MODE          how an element's expiry is refreshed: auto\n"
		    "                          (default: probe the kernel at startup), add\n"
		    "                          (re-add with an explicit expiry; needs Linux\n"
		    "                          6.10 or later) or replace (add + delete + add\n"
		    "                          in one transaction; works on every kernel,\n"
		    "                          the default with --dry-run)\n"
		    "  --metrics ADDR:PORT     serve Prometheus metrics at /metrics and `ok'\n"
		    "                          at /health on this address (loki_fwsync_*)\n"
		    "  --version               print the version and exit\n"
		    "  --help                  print this help and exit\n"
		    "\n"
		    "Behaviour:\n"
		    "  On a lost or refused connection the sets are left as they are: their\n"
		    "  elements expire by their own timeouts (fail-static). The agent\n"
		    "  reconnects after 100 ms, doubling the delay up to 5 s, and applies\n"
		    "  the fresh snapshot the resolver sends on every connection. A line\n"
		    "  over 1024 bytes, bad JSON, an unknown message type, a seq gap or an\n"
		    "  address that does not match its family is logged and the connection\n"
		    "  dropped and reopened. Addresses in 0.0.0.0/8, 127.0.0.0/8,\n"
		    "  169.254.0.0/16, 224.0.0.0/4, 255.255.255.255, ::, ::1, fe80::/10,\n"
		    "  ff00::/8 and their IPv4-mapped forms are never added.\n"
		    "  A failed transaction is logged with nft's error text and retried\n"
		    "  element by element.\n"
		    "\n"
		    "  SIGTERM and SIGINT exit with status 0 and leave the sets in place.\n"
		    "\n"
		    "Exit status: 0 after a signal or --help/--version; 1 on a startup error\n"
		    "(no CAP_NET_ADMIN, a bad ruleset, a set that cannot be created); 2 on\n"
		    "a usage error.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "loki-fwsync: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'loki-fwsync --help' for more information.\n");
	return 2;
}

static int parse_seconds(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > FWNFT_TIMEOUT_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_SOCKET = 256,
		OPT_TABLE,
		OPT_SET4,
		OPT_SET6,
		OPT_MIN_TIMEOUT,
		OPT_GRACE,
		OPT_RULESET,
		OPT_DRY_RUN,
		OPT_REFRESH,
		OPT_METRICS,
		OPT_VERSION,
		OPT_HELP,
	};
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"table", required_argument, NULL, OPT_TABLE},
		{"set4", required_argument, NULL, OPT_SET4},
		{"set6", required_argument, NULL, OPT_SET6},
		{"min-timeout", required_argument, NULL, OPT_MIN_TIMEOUT},
		{"grace", required_argument, NULL, OPT_GRACE},
		{"install-ruleset", required_argument, NULL, OPT_RULESET},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"refresh", required_argument, NULL, OPT_REFRESH},
		{"metrics", required_argument, NULL, OPT_METRICS},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	int ch;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_SOCKET:
			if (optarg[0] == '\0' ||
			    strlen(optarg) >= sizeof(((struct sockaddr_un *)0)->sun_path))
				return usage_error("--socket: path empty or longer than %s bytes",
						   "107");
			o->socket = optarg;
			break;
		case OPT_TABLE:
			/* Two arguments, as in nft's own "table inet loki". */
			if (optind >= argc || argv[optind][0] == '-')
				return usage_error(
					"--table needs FAMILY and NAME (e.g. --table %s loki)",
					optarg);
			o->family = optarg;
			o->table = argv[optind++];
			break;
		case OPT_SET4:
			o->set4 = optarg;
			break;
		case OPT_SET6:
			o->set6 = optarg;
			break;
		case OPT_MIN_TIMEOUT:
			if (parse_seconds(optarg, &o->min_timeout) != 0)
				return usage_error("--min-timeout: '%s' is not a number of seconds "
						   "(0 .. 604800)",
						   optarg);
			break;
		case OPT_GRACE:
			if (parse_seconds(optarg, &o->grace) != 0)
				return usage_error("--grace: '%s' is not a number of seconds "
						   "(0 .. 604800)",
						   optarg);
			break;
		case OPT_RULESET:
			o->ruleset = optarg;
			break;
		case OPT_DRY_RUN:
			o->dry_run = true;
			break;
		case OPT_REFRESH:
			if (strcmp(optarg, "auto") == 0)
				o->refresh = FWNFT_REFRESH_AUTO;
			else if (strcmp(optarg, "add") == 0)
				o->refresh = FWNFT_REFRESH_ADD;
			else if (strcmp(optarg, "replace") == 0)
				o->refresh = FWNFT_REFRESH_REPLACE;
			else
				return usage_error("--refresh: '%s' is not auto, add or replace",
						   optarg);
			break;
		case OPT_METRICS:
			if (netaddr_parse(optarg, 0, &o->metrics) != 0 ||
			    netaddr_port((struct sockaddr *)&o->metrics.ss) == 0)
				return usage_error(
					"--metrics: '%s' is not ADDR:PORT or [V6ADDR]:PORT",
					optarg);
			o->has_metrics = true;
			break;
		case OPT_VERSION:
			printf("loki-fwsync %s\n", PACKAGE_VERSION);
			return 0;
		case OPT_HELP:
			usage(stdout);
			return 0;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return -1;
}

/*
 * Whether the effective capability set holds CAP_NET_ADMIN, from the CapEff
 * line of /proc/self/status (proc(5)). When it cannot be read, nftables
 * itself will tell.
 */
static bool has_net_admin(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	bool ok = true;

	if (fp == NULL)
		return true;
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned long long caps;

		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			ok = (caps >> CAP_NET_ADMIN_BIT) & 1;
			break;
		}
	}
	fclose(fp);
	return ok;
}

static void perm_error(void)
{
	fprintf(stderr, "loki-fwsync: cannot modify nftables: Operation not permitted "
			"(needs root or CAP_NET_ADMIN)\n");
}

static int apply_cb(void *arg, const struct fwnft_elem *e, size_t count)
{
	struct agent *a = arg;
	struct fwnft_stats st;
	uint64_t t0 = uv_hrtime();
	int rc;

	memset(&st, 0, sizeof(st));
	rc = fwnft_apply(a->nft, e, count, &st);
	a->stats.applied += st.applied;
	a->stats.failed += st.failed;
	if (rc >= 0)
		a->stats.last_sync_ns = uv_hrtime();
	if (rc == -EPERM)
		log_err(TAG, "cannot modify nftables: Operation not permitted (needs root or "
			     "CAP_NET_ADMIN)");
	else if (rc < 0)
		log_err(TAG, "batch of %zu updates not applied: %s", count,
			fwnft_error(a->nft)[0] != '\0' ? fwnft_error(a->nft) : strerror(-rc));
	else
		log_debug(TAG, "batch of %zu updates committed in %.1f ms (%zu failed)", count,
			  (double)(uv_hrtime() - t0) / 1e6, st.failed);
	return rc;
}

static int on_msg(void *arg, const struct msg *m)
{
	struct agent *a = arg;

	return setsync_push(a->sync, m);
}

static int on_batch(void *arg, uint64_t *ack_seq)
{
	struct agent *a = arg;

	return setsync_commit(a->sync, ack_seq);
}

static void on_disconnect(void *arg)
{
	struct agent *a = arg;

	setsync_reset(a->sync);
}

/* The loki_fwsync_* families; everything lives on the agent's one loop. */
static void render_metrics(struct agent *a, struct strbuf *b)
{
	const struct setsync_stats *ss = setsync_stats(a->sync);
	const struct client_stats *cs = client_get_stats(a->client);
	uint64_t now = uv_hrtime(), since;

	metrics_build_info(b, "loki_fwsync", PACKAGE_VERSION);
	metrics_header(b, "loki_fwsync_elements_total", "counter",
		       "Set elements handed to nftables, by operation: add (a new address or "
		       "a refreshed expiry) or del.");
	metrics_sample(b, "loki_fwsync_elements_total", "op=\"add\"", ss->adds);
	metrics_sample(b, "loki_fwsync_elements_total", "op=\"del\"", ss->dels);
	metrics_counter(b, "loki_fwsync_elements_applied_total", "Set elements nftables committed.",
			a->stats.applied);
	metrics_counter(b, "loki_fwsync_elements_failed_total",
			"Set elements nftables refused (after the per-element retry).",
			a->stats.failed);
	metrics_counter(b, "loki_fwsync_elements_forbidden_total",
			"Published addresses never admitted (loopback, link-local, ...).",
			ss->forbidden);
	metrics_counter(b, "loki_fwsync_transactions_total",
			"nftables transactions committed (one per batch of updates).", ss->batches);
	metrics_counter(b, "loki_fwsync_errors_total",
			"Transactions that failed as a whole (the stream is then reconnected).",
			ss->failures);
	metrics_counter(b, "loki_fwsync_connects_total",
			"Connections to the resolver's stream that got a hello.", cs->connects);
	metrics_counter(b, "loki_fwsync_reconnects_total",
			"Connections after the first: each follows a lost stream.",
			cs->connects > 0 ? cs->connects - 1 : 0);
	metrics_counter(b, "loki_fwsync_disconnects_total", "Stream connections lost or dropped.",
			cs->disconnects);
	metrics_counter(b, "loki_fwsync_messages_total", "Stream messages received.", cs->messages);
	metrics_counter(b, "loki_fwsync_acks_total", "Acks sent to the resolver.", cs->acks);
	since = a->stats.last_sync_ns != 0 ? a->stats.last_sync_ns : a->stats.started_ns;
	metrics_header(b, "loki_fwsync_last_sync_age_seconds", "gauge",
		       "Seconds since the last committed transaction (since the start while "
		       "there has been none).");
	metrics_sample_double(b, "loki_fwsync_last_sync_age_seconds", NULL,
			      (double)(now - since) / 1e9);
}

static void render_metrics_cb(void *arg, struct strbuf *b)
{
	render_metrics(arg, b);
}

static int on_http(void *arg, const struct http_request *req, char **body, size_t *len,
		   const char **ctype)
{
	return metrics_respond(req->path, render_metrics_cb, arg, body, len, ctype);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct agent *a = h->data;

	log_info(TAG, "%s: exiting; sets left in place", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	client_stop(a->client);
	http_server_close(a->metrics);
	a->metrics = NULL;
	uv_close((uv_handle_t *)&a->sigterm, NULL);
	uv_close((uv_handle_t *)&a->sigint, NULL);
}

int main(int argc, char **argv)
{
	struct options o = {
		.socket = DEFAULT_SOCKET,
		.family = "inet",
		.table = "loki",
		.set4 = "allow4",
		.set6 = "allow6",
		.min_timeout = 60,
		.grace = 30,
		.refresh = FWNFT_REFRESH_AUTO,
	};
	struct agent a = {0};
	struct fwnft_opts no;
	struct setsync_conf sc;
	struct client_conf cc;
	struct client_ops ops = {
		.on_msg = on_msg,
		.on_batch = on_batch,
		.on_disconnect = on_disconnect,
	};
	char err[256];
	bool loop_ready = false;
	int rc, status = 1;

	log_set_ident("loki-fwsync");

	rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;

	/* A write to a stream the resolver has closed must be an error, not a
	 * fatal signal. */
	signal(SIGPIPE, SIG_IGN);

	if (!o.dry_run && !has_net_admin()) {
		perm_error();
		goto out;
	}
	no = (struct fwnft_opts){
		.family = o.family,
		.table = o.table,
		.set4 = o.set4,
		.set6 = o.set6,
		.refresh = o.refresh,
		.dry_run = o.dry_run,
		.dry_out = stdout,
	};
	rc = fwnft_new(&no, &a.nft, err, sizeof(err));
	if (rc == -EINVAL) {
		status = usage_error("%s", err);
		goto out;
	}
	if (rc != 0) {
		fprintf(stderr, "loki-fwsync: %s\n", err);
		goto out;
	}

	if (o.ruleset != NULL) {
		rc = fwnft_install_ruleset(a.nft, o.ruleset);
		if (rc == -EPERM) {
			perm_error();
			goto out;
		}
		if (rc != 0) {
			fprintf(stderr, "loki-fwsync: cannot install ruleset %s:\n%s", o.ruleset,
				fwnft_error(a.nft));
			goto out;
		}
		log_info(TAG, "ruleset %s %s", o.ruleset, o.dry_run ? "checked" : "loaded");
	}

	rc = fwnft_ensure(a.nft);
	if (rc == -EPERM) {
		perm_error();
		goto out;
	}
	if (rc != 0) {
		fprintf(stderr, "loki-fwsync: cannot create table %s %s or its sets: %s%s",
			o.family, o.table, fwnft_error(a.nft),
			strchr(fwnft_error(a.nft), '\n') != NULL ? "" : "\n");
		goto out;
	}

	if (o.refresh == FWNFT_REFRESH_AUTO) {
		enum fwnft_refresh mode = FWNFT_REFRESH_REPLACE;

		if (!o.dry_run && fwnft_detect_refresh(a.nft, &mode) != 0)
			log_warn(TAG, "refresh probe failed (%s); using add + delete + add",
				 fwnft_error(a.nft));
		fwnft_set_refresh(a.nft, mode);
	}
	log_info(TAG, "element refresh: %s",
		 fwnft_get_refresh(a.nft) == FWNFT_REFRESH_ADD
			 ? "add (this kernel updates re-added elements)"
			 : "replace (add + delete + add)");

	sc = (struct setsync_conf){.min_timeout = o.min_timeout, .grace = o.grace};
	a.sync = setsync_new(&sc, apply_cb, &a);
	if (a.sync == NULL)
		goto out;

	if (uv_loop_init(&a.loop) != 0)
		goto out;
	loop_ready = true;
	cc = (struct client_conf){.path = o.socket, .acks = !o.dry_run};
	if (client_new(&a.loop, &cc, &ops, &a, &a.client) != 0)
		goto out;
	if (uv_signal_init(&a.loop, &a.sigterm) != 0 || uv_signal_init(&a.loop, &a.sigint) != 0)
		goto out;
	a.sigterm.data = &a;
	a.sigint.data = &a;
	uv_signal_start(&a.sigterm, on_signal, SIGTERM);
	uv_signal_start(&a.sigint, on_signal, SIGINT);
	a.stats.started_ns = uv_hrtime();
	if (o.has_metrics) {
		struct http_conf hc = {.addr = (const struct sockaddr *)&o.metrics.ss};
		char addr[64];

		netaddr_format(hc.addr, addr, sizeof(addr));
		if (http_server_new(&a.loop, &hc, on_http, &a, &a.metrics, err, sizeof(err)) != 0) {
			fprintf(stderr, "loki-fwsync: cannot serve metrics on %s: %s\n", addr, err);
			goto out;
		}
		log_info(TAG, "metrics on http://%s/metrics", addr);
	}
	if (client_start(a.client) != 0)
		goto out;
	log_info(TAG, "syncing %s to %s %s %s/%s (timeout max(ttl, %u) + %u s)%s", o.socket,
		 o.family, o.table, o.set4, o.set6, o.min_timeout, o.grace,
		 o.dry_run ? " [dry run]" : "");
	uv_run(&a.loop, UV_RUN_DEFAULT);
	status = 0;
out:
	if (loop_ready) {
		/* Close whatever a failed startup left open, then require a clean
		 * loop (STYLE.md, point 8). */
		if (status != 0) {
			if (a.client != NULL)
				client_stop(a.client);
			http_server_close(a.metrics);
			a.metrics = NULL;
			if (a.sigterm.type == UV_SIGNAL &&
			    !uv_is_closing((uv_handle_t *)&a.sigterm))
				uv_close((uv_handle_t *)&a.sigterm, NULL);
			if (a.sigint.type == UV_SIGNAL && !uv_is_closing((uv_handle_t *)&a.sigint))
				uv_close((uv_handle_t *)&a.sigint, NULL);
			uv_run(&a.loop, UV_RUN_DEFAULT);
		}
		if (uv_loop_close(&a.loop) != 0)
			log_err(TAG, "event loop not closed cleanly");
	}
	client_free(a.client);
	setsync_free(a.sync);
	fwnft_free(a.nft);
	return status;
}
