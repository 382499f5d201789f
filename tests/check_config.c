/*
 * Unit tests for resolver/config.c: defaults, every key in the file and the
 * environment, the four command-line resolver options, layer precedence
 * (defaults < file < environment < command line), list replacement,
 * resolv.conf parsing, the cross-key checks and the exact shape of every
 * error message.
 *
 * All files live in a fresh mkdtemp directory per test; the real
 * /etc/resolv.conf is never read.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Spelled out so that no autoconf-generated config.h can shadow it. */
#include "../resolver/config.h"

#define ARGV(...) ((const char *[]){"loki-resolver", __VA_ARGS__, NULL})
#define ARGV0	  ((const char *[]){"loki-resolver", NULL})
#define ENV(...)  ((const char *[]){__VA_ARGS__, NULL})
#define NOENV	  ((const char *[]){NULL})

static char tmpdir[64];
static char conf_path[128];    /* tmpdir/test.conf */
static char resolv_path[128];  /* tmpdir/resolv.conf: nameserver 192.0.2.53 */
static char missing_path[128]; /* tmpdir/missing: never created */

/* The result of the last build(). */
static struct {
	int rc;
	struct config *cfg;
	struct config_cli cli;
	char err[1024];
	char *argv[64];
	int argc;
} res;

static void write_data(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

static void write_text(const char *path, const char *text)
{
	write_data(path, text, strlen(text));
}

static void reset_result(void)
{
	int i;

	config_free(res.cfg);
	res.cfg = NULL;
	for (i = 0; i < res.argc; i++)
		free(res.argv[i]);
	res.argc = 0;
}

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(conf_path, sizeof(conf_path), "%s/test.conf", tmpdir);
	snprintf(resolv_path, sizeof(resolv_path), "%s/resolv.conf", tmpdir);
	snprintf(missing_path, sizeof(missing_path), "%s/missing", tmpdir);
	write_text(resolv_path, "nameserver 192.0.2.53\n");
	memset(&res, 0, sizeof(res));
}

static void teardown(void)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	reset_result();
	d = opendir(tmpdir);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
			if (unlink(path) != 0)
				rmdir(path);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

/* Runs config_build on copies of args (NULL-terminated) and env. */
static int build_resolv(const char *const *args, const char *const *env, const char *resolv)
{
	reset_result();
	while (args[res.argc] != NULL) {
		ck_assert_int_lt(res.argc, 63);
		res.argv[res.argc] = strdup(args[res.argc]);
		res.argc++;
	}
	res.argv[res.argc] = NULL;
	memset(res.err, 'Z', sizeof(res.err) - 1);
	res.err[sizeof(res.err) - 1] = '\0';
	res.rc = config_build(res.argc, res.argv, (char *const *)env, resolv, &res.cfg, &res.cli,
			      res.err, sizeof(res.err));
	if (res.rc != 0)
		ck_assert_ptr_null(res.cfg);
	return res.rc;
}

static int build(const char *const *args, const char *const *env)
{
	return build_resolv(args, env, resolv_path);
}

/* Writes text to the test file and builds with -c on it. */
static int build_conf(const char *text, const char *const *env)
{
	write_text(conf_path, text);
	return build(ARGV("-c", conf_path), env);
}

#define ck_ok()                                                                                    \
	do {                                                                                       \
		ck_assert_msg(res.rc == 0, "config_build failed: %s", res.err);                    \
		ck_assert_ptr_nonnull(res.cfg);                                                    \
	} while (0)

/* Asserts the error is exactly prefix + suffix. */
static void expect_err(const char *prefix, const char *suffix)
{
	char want[1024];

	snprintf(want, sizeof(want), "%s%s", prefix, suffix);
	ck_assert_int_eq(res.rc, -EINVAL);
	ck_assert_ptr_null(res.cfg);
	ck_assert_str_eq(res.err, want);
}

static const char *fmt_addr(const struct netaddr *na)
{
	static char buf[64];

	ck_assert_uint_gt(netaddr_format((const struct sockaddr *)&na->ss, buf, sizeof(buf)), 0);
	return buf;
}

static const char *fmt_cidr(const struct cidr *c)
{
	static char buf[64];

	ck_assert_uint_gt(cidr_format(c, buf, sizeof(buf)), 0);
	return buf;
}

static uint32_t default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (uint32_t)n;
}

static void check_defaults(const struct config *c)
{
	static const char *const clients[] = {
		"127.0.0.0/8",	 "::1/128",	   "10.0.0.0/8",
		"172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
	};
	size_t i;

	ck_assert_uint_eq(c->n_listen, 1);
	ck_assert_str_eq(fmt_addr(&c->listen[0]), "127.0.0.1:53");
	ck_assert_int_eq(c->egress_policy, POLICY_UNRESTRICTED);
	ck_assert_uint_eq(c->n_allowed_hosts, 0);
	ck_assert_uint_eq(c->n_zones, 0);
	ck_assert(!c->block_metadata_endpoint);
	ck_assert(c->rebinding_guard);
	ck_assert_uint_eq(c->n_allow_clients, 6);
	for (i = 0; i < 6; i++)
		ck_assert_str_eq(fmt_cidr(&c->allow_clients[i]), clients[i]);
	ck_assert_uint_eq(c->cache_size, 65536);
	ck_assert_uint_eq(c->min_ttl, 0);
	ck_assert_uint_eq(c->max_ttl, 86400);
	ck_assert_uint_eq(c->blocked_ttl, 30);
	ck_assert(c->serve_stale);
	ck_assert_uint_eq(c->upstream_timeout_ms, 1000);
	ck_assert_ptr_null(c->fwsync_socket);
	ck_assert_uint_eq(c->fwsync_wait_ms, 0);
	ck_assert(!c->has_metrics);
	ck_assert_ptr_null(c->user);
	ck_assert_uint_eq(c->tcp_idle_timeout_ms, 10000);
	ck_assert_uint_eq(c->max_tcp_clients, 1024);
	ck_assert_uint_eq(c->threads, default_threads());
	ck_assert_int_eq(c->log_queries, LOG_QUERIES_BLOCKED);
}

/* Every key set away from its default, once through the file, once through the environment. */
static const char every_key_file[] = "listen = 127.0.0.1:5300\n"
				     "listen = [::1]:5300\n"
				     "upstream = 192.0.2.1\n"
				     "upstream = [2001:db8::1]:5353\n"
				     "egress_policy = ai-only\n"
				     "allowed_hosts = example.com, *.example.org\n"
				     "allowed_hosts = api.example.net.\n"
				     "zone = /etc/loki/extra.rpz\n"
				     "zone = zones/more.rpz\n"
				     "block_metadata_endpoint = yes\n"
				     "rebinding_guard = off\n"
				     "allow_clients = 192.0.2.0/24\n"
				     "allow_clients = 2001:db8::/32\n"
				     "cache_size = 1000\n"
				     "min_ttl = 5\n"
				     "max_ttl = 3600\n"
				     "blocked_ttl = 60\n"
				     "serve_stale = false\n"
				     "upstream_timeout_ms = 2500\n"
				     "fwsync_socket = /run/loki/fwsync.sock\n"
				     "fwsync_wait_ms = 200\n"
				     "metrics_listen = [::1]:9153\n"
				     "user = loki\n"
				     "tcp_idle_timeout_ms = 5000\n"
				     "max_tcp_clients = 64\n"
				     "threads = 3\n"
				     "log_queries = all\n";

#define EVERY_KEY_ENV                                                                              \
	ENV("LOKI_LISTEN=127.0.0.1:5300, [::1]:5300",                                              \
	    "LOKI_UPSTREAM=192.0.2.1,[2001:db8::1]:5353", "LOKI_NETWORK_EGRESS_POLICY=ai-only",    \
	    "LOKI_ALLOWED_HOSTS=example.com,*.example.org,api.example.net.",                       \
	    "LOKI_ZONE=/etc/loki/extra.rpz,zones/more.rpz", "LOKI_BLOCK_METADATA_ENDPOINT=yes",    \
	    "LOKI_REBINDING_GUARD=off", "LOKI_ALLOW_CLIENTS=192.0.2.0/24,2001:db8::/32",           \
	    "LOKI_CACHE_SIZE=1000", "LOKI_MIN_TTL=5", "LOKI_MAX_TTL=3600", "LOKI_BLOCKED_TTL=60",  \
	    "LOKI_SERVE_STALE=false", "LOKI_UPSTREAM_TIMEOUT_MS=2500",                             \
	    "LOKI_FWSYNC_SOCKET=/run/loki/fwsync.sock", "LOKI_FWSYNC_WAIT_MS=200",                 \
	    "LOKI_METRICS_LISTEN=[::1]:9153", "LOKI_USER=loki", "LOKI_TCP_IDLE_TIMEOUT_MS=5000",   \
	    "LOKI_MAX_TCP_CLIENTS=64", "LOKI_THREADS=3", "LOKI_LOG_QUERIES=all")

static void check_every_key(const struct config *c)
{
	ck_assert_uint_eq(c->n_listen, 2);
	ck_assert_str_eq(fmt_addr(&c->listen[0]), "127.0.0.1:5300");
	ck_assert_str_eq(fmt_addr(&c->listen[1]), "[::1]:5300");
	ck_assert_uint_eq(c->n_upstream, 2);
	ck_assert_str_eq(fmt_addr(&c->upstream[0]), "192.0.2.1:53");
	ck_assert_str_eq(fmt_addr(&c->upstream[1]), "[2001:db8::1]:5353");
	ck_assert_int_eq(c->egress_policy, POLICY_AI_ONLY);
	ck_assert_uint_eq(c->n_allowed_hosts, 3);
	ck_assert_str_eq(c->allowed_hosts[0], "example.com");
	ck_assert_str_eq(c->allowed_hosts[1], "*.example.org");
	ck_assert_str_eq(c->allowed_hosts[2], "api.example.net.");
	ck_assert_uint_eq(c->n_zones, 2);
	ck_assert_str_eq(c->zones[0], "/etc/loki/extra.rpz");
	ck_assert_str_eq(c->zones[1], "zones/more.rpz");
	ck_assert(c->block_metadata_endpoint);
	ck_assert(!c->rebinding_guard);
	ck_assert_uint_eq(c->n_allow_clients, 2);
	ck_assert_str_eq(fmt_cidr(&c->allow_clients[0]), "192.0.2.0/24");
	ck_assert_str_eq(fmt_cidr(&c->allow_clients[1]), "2001:db8::/32");
	ck_assert_uint_eq(c->cache_size, 1000);
	ck_assert_uint_eq(c->min_ttl, 5);
	ck_assert_uint_eq(c->max_ttl, 3600);
	ck_assert_uint_eq(c->blocked_ttl, 60);
	ck_assert(!c->serve_stale);
	ck_assert_uint_eq(c->upstream_timeout_ms, 2500);
	ck_assert_str_eq(c->fwsync_socket, "/run/loki/fwsync.sock");
	ck_assert_uint_eq(c->fwsync_wait_ms, 200);
	ck_assert(c->has_metrics);
	ck_assert_str_eq(fmt_addr(&c->metrics_listen), "[::1]:9153");
	ck_assert_str_eq(c->user, "loki");
	ck_assert_uint_eq(c->tcp_idle_timeout_ms, 5000);
	ck_assert_uint_eq(c->max_tcp_clients, 64);
	ck_assert_uint_eq(c->threads, 3);
	ck_assert_int_eq(c->log_queries, LOG_QUERIES_ALL);
}

START_TEST(defaults)
{
	build(ARGV0, NOENV);
	ck_ok();
	check_defaults(res.cfg);
	/* The upstream comes from the given resolv.conf. */
	ck_assert_uint_eq(res.cfg->n_upstream, 1);
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[0]), "192.0.2.53:53");
	ck_assert_ptr_null(res.cfg->file);
	ck_assert_ptr_null(res.cli.file);
	ck_assert(!res.cli.foreground && !res.cli.check_config && !res.cli.help &&
		  !res.cli.version);
	ck_assert_str_eq(res.err, "");

	/* A NULL environment is an empty one; argc 0 is no option at all. */
	config_free(res.cfg);
	res.cfg = NULL;
	ck_assert_int_eq(config_build(1, res.argv, NULL, resolv_path, &res.cfg, NULL, NULL, 0), 0);
	check_defaults(res.cfg);
	config_free(res.cfg);
	res.cfg = NULL;
	ck_assert_int_eq(config_build(0, NULL, NULL, resolv_path, &res.cfg, NULL, res.err, 8), 0);
	check_defaults(res.cfg);
}
END_TEST

START_TEST(file_every_key)
{
	build_conf(every_key_file, NOENV);
	ck_ok();
	check_every_key(res.cfg);
	ck_assert_str_eq(res.cfg->file, conf_path);
	ck_assert_str_eq(res.cli.file, conf_path);
}
END_TEST

START_TEST(env_every_key)
{
	build(ARGV0, EVERY_KEY_ENV);
	ck_ok();
	check_every_key(res.cfg);
	ck_assert_ptr_null(res.cfg->file);
}
END_TEST

START_TEST(file_syntax)
{
	/* Comments, blank lines, tabs, CRLF, '=' and '#' inside values, no final newline. */
	build_conf("# full-line comment\n"
		   "\n"
		   "   \t  \n"
		   "   # indented comment\n"
		   "\tthreads\t=\t2\t# two threads\n"
		   "cache_size=10# not a comment, so a bad number?\n",
		   NOENV);
	expect_err(conf_path,
		   ":6: cache_size: not a decimal number: '10# not a comment, so a bad number?'");

	build_conf("# full-line comment\n"
		   "\n"
		   "\tthreads\t=\t2\t# two threads\n"
		   "cache_size=10\r\n"
		   "user = lo#ki\n"
		   "zone = /srv/a=b.rpz   # trailing\n"
		   "  min_ttl   =   7  ",
		   NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->threads, 2);
	ck_assert_uint_eq(res.cfg->cache_size, 10);
	ck_assert_str_eq(res.cfg->user, "lo#ki");
	ck_assert_uint_eq(res.cfg->n_zones, 1);
	ck_assert_str_eq(res.cfg->zones[0], "/srv/a=b.rpz");
	ck_assert_uint_eq(res.cfg->min_ttl, 7);

	/* An empty file and a comments-only file give the defaults. */
	build_conf("", NOENV);
	ck_ok();
	check_defaults(res.cfg);
	build_conf("# nothing\n\n", NOENV);
	ck_ok();
	check_defaults(res.cfg);

	/* A scalar repeated in the file: the last one wins. */
	build_conf("threads = 2\nthreads = 4\nuser = a\nuser = b\n", NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->threads, 4);
	ck_assert_str_eq(res.cfg->user, "b");

	/* A line of exactly 4096 bytes is accepted. */
	{
		static char line[4096 + 2];

		memset(line, 'x', 4096);
		line[0] = '#';
		line[4096] = '\n';
		line[4097] = '\0';
		build_conf(line, NOENV);
		ck_ok();
	}
}
END_TEST

START_TEST(file_lists)
{
	/* Repeated list keys accumulate within the file and replace the defaults. */
	build_conf("listen = 127.0.0.1:5301\n"
		   "listen = 127.0.0.1:5302\n"
		   "listen = [::1]:5303\n"
		   "allow_clients = 192.0.2.0/24\n"
		   "allowed_hosts = a.example\n"
		   "allowed_hosts = b.example , *.c.example,\n",
		   NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_listen, 3);
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[0]), "127.0.0.1:5301");
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[1]), "127.0.0.1:5302");
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[2]), "[::1]:5303");
	ck_assert_uint_eq(res.cfg->n_allow_clients, 1);
	ck_assert_str_eq(fmt_cidr(&res.cfg->allow_clients[0]), "192.0.2.0/24");
	ck_assert_uint_eq(res.cfg->n_allowed_hosts, 3);
	ck_assert_str_eq(res.cfg->allowed_hosts[0], "a.example");
	ck_assert_str_eq(res.cfg->allowed_hosts[1], "b.example");
	ck_assert_str_eq(res.cfg->allowed_hosts[2], "*.c.example");

	/* A list key interleaved with others still accumulates. */
	build_conf("upstream = 192.0.2.1\nthreads = 1\nupstream = 192.0.2.2\n", NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_upstream, 2);
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[1]), "192.0.2.2:53");
}
END_TEST

struct bad_value {
	const char *line;
	const char *err; /* after "FILE:3: " */
};

/* One bad value per key. The line is written after two good lines. */
static const struct bad_value bad_values[] = {
	{"listen = nowhere",
	 "listen: bad address: 'nowhere' (expected ADDR[:PORT] or [V6ADDR][:PORT])"},
	{"listen = 127.0.0.1:0",
	 "listen: bad address: '127.0.0.1:0' (expected ADDR[:PORT] or [V6ADDR][:PORT])"},
	{"upstream = [::1]:99999",
	 "upstream: bad address: '[::1]:99999' (expected ADDR[:PORT] or [V6ADDR][:PORT])"},
	{"upstream = 1.2.3.4,5.6.7.8",
	 "upstream: bad address: '1.2.3.4,5.6.7.8' (expected ADDR[:PORT] or [V6ADDR][:PORT])"},
	{"egress_policy = AI-ONLY",
	 "egress_policy: bad policy: 'AI-ONLY' (expected unrestricted, ai-only or none)"},
	{"egress_policy = allow", "egress_policy: bad policy: 'allow' (expected unrestricted, "
				  "ai-only or none)"},
	{"allowed_hosts = bad..name", "allowed_hosts: bad host name: 'bad..name'"},
	{"allowed_hosts = ok.example, bad/name", "allowed_hosts: bad host name: 'bad/name'"},
	{"allowed_hosts = ,", "allowed_hosts: missing value"},
	{"zone =", "zone: missing value"},
	{"block_metadata_endpoint = maybe",
	 "block_metadata_endpoint: bad boolean: 'maybe' (expected true/false, yes/no, on/off or "
	 "1/0)"},
	{"rebinding_guard = 2",
	 "rebinding_guard: bad boolean: '2' (expected true/false, yes/no, on/off or 1/0)"},
	{"allow_clients = 10.0.0.1/8", "allow_clients: bad address prefix: '10.0.0.1/8' (expected "
				       "ADDR or ADDR/LEN with no host bits set)"},
	{"allow_clients = 10.0.0.0/33",
	 "allow_clients: bad address prefix: '10.0.0.0/33' (expected "
	 "ADDR or ADDR/LEN with no host bits set)"},
	{"cache_size = 16777217", "cache_size: out of range: '16777217' (allowed 0..16777216)"},
	{"cache_size = 99999999999999999999999",
	 "cache_size: out of range: '99999999999999999999999' (allowed 0..16777216)"},
	{"cache_size = 0x10", "cache_size: not a decimal number: '0x10'"},
	{"min_ttl = -1", "min_ttl: not a decimal number: '-1'"},
	{"min_ttl = +1", "min_ttl: not a decimal number: '+1'"},
	{"max_ttl = 2147483648", "max_ttl: out of range: '2147483648' (allowed 0..2147483647)"},
	{"max_ttl = 4294967296", "max_ttl: out of range: '4294967296' (allowed 0..2147483647)"},
	{"blocked_ttl = 30s", "blocked_ttl: not a decimal number: '30s'"},
	{"blocked_ttl = 3 0", "blocked_ttl: not a decimal number: '3 0'"},
	{"serve_stale = ye",
	 "serve_stale: bad boolean: 'ye' (expected true/false, yes/no, on/off or 1/0)"},
	{"upstream_timeout_ms = 0", "upstream_timeout_ms: out of range: '0' (allowed 1..60000)"},
	{"fwsync_socket = /run/"
	 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xxxxxxxxxxxxxxxxx",
	 "fwsync_socket: path too long for a Unix socket (at most 107 bytes)"},
	{"fwsync_wait_ms = 60001", "fwsync_wait_ms: out of range: '60001' (allowed 0..60000)"},
	{"metrics_listen = 127.0.0.1",
	 "metrics_listen: bad address: '127.0.0.1' (expected ADDR:PORT or [V6ADDR]:PORT)"},
	{"metrics_listen = [::1]:0",
	 "metrics_listen: bad address: '[::1]:0' (expected ADDR:PORT or [V6ADDR]:PORT)"},
	{"user = lo ki", "user: bad user name: 'lo ki'"},
	{"user =", "user: missing value"},
	{"tcp_idle_timeout_ms = 0", "tcp_idle_timeout_ms: out of range: '0' (allowed 1..3600000)"},
	{"max_tcp_clients = 0", "max_tcp_clients: out of range: '0' (allowed 1..1048576)"},
	{"threads = 0", "threads: out of range: '0' (allowed 1..64)"},
	{"threads = 65", "threads: out of range: '65' (allowed 1..64)"},
	{"threads = ", "threads: missing value"},
	{"log_queries = some", "log_queries: bad value: 'some' (expected blocked, all or none)"},
	{"log_queries = Blocked",
	 "log_queries: bad value: 'Blocked' (expected blocked, all or none)"},
	/* Syntax errors. */
	{"colour = blue", "colour: unknown key"},
	{"Listen = 127.0.0.1", "Listen: unknown key"},
	{"listen 127.0.0.1", "listen: missing '='"},
	{"= 5", "missing key before '='"},
};

START_TEST(file_bad_value)
{
	char text[512], prefix[256];
	const struct bad_value *b = &bad_values[_i];

	snprintf(text, sizeof(text), "# good lines first\nthreads = 1\n%s\nthreads = 2\n", b->line);
	build_conf(text, NOENV);
	snprintf(prefix, sizeof(prefix), "%s:3: ", conf_path);
	expect_err(prefix, b->err);
}
END_TEST

START_TEST(file_bad_bytes)
{
	static char big[5000 + 16];
	static const char nul[] = "threads = 1\nthreads = 2\0junk\n";

	/* A NUL byte or another control character in a line. */
	write_data(conf_path, nul, sizeof(nul) - 1);
	build(ARGV("-c", conf_path), NOENV);
	expect_err(conf_path, ":2: control character in line");
	build_conf("threads = 1\x01\n", NOENV);
	expect_err(conf_path, ":1: control character in line");
	build_conf("\n\nuser = a\x1b[0m\n", NOENV);
	expect_err(conf_path, ":3: control character in line");
	build_conf("user = a\x7f\n", NOENV);
	expect_err(conf_path, ":1: control character in line");

	/* A line longer than 4096 bytes. */
	memset(big, 'x', 5000);
	memcpy(big, "user = ", 7);
	big[5000] = '\0';
	build_conf(big, NOENV);
	expect_err(conf_path, ":1: line too long (more than 4096 bytes)");

	/* Binary junk. */
	write_data(conf_path, "\xff\xfe\x00\x01", 4);
	build(ARGV("-c", conf_path), NOENV);
	expect_err(conf_path, ":1: control character in line");
	build_conf("\xc3\xa9t\xc3\xa9 = 1\n", NOENV);
	expect_err(conf_path, ":1: \xc3\xa9t\xc3\xa9: unknown key");
}
END_TEST

START_TEST(file_unreadable)
{
	char want[256];

	build(ARGV("-c", missing_path), NOENV);
	expect_err(missing_path, ": cannot read: No such file or directory");

	/* A directory opens but cannot be read. */
	build(ARGV("-c", tmpdir), NOENV);
	snprintf(want, sizeof(want), "%s: cannot read: %s", tmpdir, strerror(EISDIR));
	expect_err(want, "");

	/* --config=FILE is -c FILE. */
	build(ARGV("--config=/nonexistent/loki.conf"), NOENV);
	expect_err("/nonexistent/loki.conf: cannot read: No such file or directory", "");
}
END_TEST

struct bad_env {
	const char *var;
	const char *err;
};

static const struct bad_env bad_envs[] = {
	{"LOKI_LISTEN=127.0.0.1:5300,nowhere",
	 "environment: LOKI_LISTEN: bad address: 'nowhere' (expected ADDR[:PORT] or "
	 "[V6ADDR][:PORT])"},
	{"LOKI_UPSTREAM=[::1",
	 "environment: LOKI_UPSTREAM: bad address: '[::1' (expected ADDR[:PORT] or "
	 "[V6ADDR][:PORT])"},
	{"LOKI_NETWORK_EGRESS_POLICY=ai_only",
	 "environment: LOKI_NETWORK_EGRESS_POLICY: bad policy: 'ai_only' (expected unrestricted, "
	 "ai-only or none)"},
	{"LOKI_ALLOWED_HOSTS=a.example,*.,b.example",
	 "environment: LOKI_ALLOWED_HOSTS: bad host name: '*.'"},
	{"LOKI_BLOCK_METADATA_ENDPOINT=enabled",
	 "environment: LOKI_BLOCK_METADATA_ENDPOINT: bad boolean: 'enabled' (expected true/false, "
	 "yes/no, on/off or 1/0)"},
	{"LOKI_REBINDING_GUARD=-", "environment: LOKI_REBINDING_GUARD: bad boolean: '-' (expected "
				   "true/false, yes/no, on/off or 1/0)"},
	{"LOKI_ALLOW_CLIENTS=10.0.0.0/8,fc00::1/7",
	 "environment: LOKI_ALLOW_CLIENTS: bad address prefix: 'fc00::1/7' (expected ADDR or "
	 "ADDR/LEN with no host bits set)"},
	{"LOKI_CACHE_SIZE=lots", "environment: LOKI_CACHE_SIZE: not a decimal number: 'lots'"},
	{"LOKI_MIN_TTL=1.5", "environment: LOKI_MIN_TTL: not a decimal number: '1.5'"},
	{"LOKI_MAX_TTL=99999999999",
	 "environment: LOKI_MAX_TTL: out of range: '99999999999' (allowed 0..2147483647)"},
	{"LOKI_BLOCKED_TTL=-5", "environment: LOKI_BLOCKED_TTL: not a decimal number: '-5'"},
	{"LOKI_SERVE_STALE=t", "environment: LOKI_SERVE_STALE: bad boolean: 't' (expected "
			       "true/false, yes/no, on/off or 1/0)"},
	{"LOKI_UPSTREAM_TIMEOUT_MS=60001",
	 "environment: LOKI_UPSTREAM_TIMEOUT_MS: out of range: '60001' (allowed 1..60000)"},
	{"LOKI_FWSYNC_SOCKET=/a\tb", "environment: LOKI_FWSYNC_SOCKET: control character in value"},
	{"LOKI_FWSYNC_WAIT_MS=1e3",
	 "environment: LOKI_FWSYNC_WAIT_MS: not a decimal number: '1e3'"},
	{"LOKI_METRICS_LISTEN=localhost:9153",
	 "environment: LOKI_METRICS_LISTEN: bad address: 'localhost:9153' (expected ADDR:PORT or "
	 "[V6ADDR]:PORT)"},
	{"LOKI_USER=a b", "environment: LOKI_USER: bad user name: 'a b'"},
	{"LOKI_TCP_IDLE_TIMEOUT_MS=3600001",
	 "environment: LOKI_TCP_IDLE_TIMEOUT_MS: out of range: '3600001' (allowed 1..3600000)"},
	{"LOKI_MAX_TCP_CLIENTS=1048577",
	 "environment: LOKI_MAX_TCP_CLIENTS: out of range: '1048577' (allowed 1..1048576)"},
	{"LOKI_THREADS=0", "environment: LOKI_THREADS: out of range: '0' (allowed 1..64)"},
	{"LOKI_LOG_QUERIES=ALL",
	 "environment: LOKI_LOG_QUERIES: bad value: 'ALL' (expected blocked, all or none)"},
	{"LOKI_ZONE=/a\n/b", "environment: LOKI_ZONE: control character in value"},
};

START_TEST(env_bad_value)
{
	const struct bad_env *b = &bad_envs[_i];

	build(ARGV0, ENV("PATH=/usr/bin", b->var, "HOME=/root"));
	expect_err(b->err, "");
}
END_TEST

START_TEST(env_empty_and_unknown)
{
	/* Empty and whitespace-only values are unset: the file's values stay. */
	build_conf("allowed_hosts = a.example\nthreads = 2\nlisten = 127.0.0.1:5300\n",
		   ENV("LOKI_ALLOWED_HOSTS=", "LOKI_THREADS=", "LOKI_LISTEN=  ",
		       "LOKI_ALLOW_CLIENTS= , ,", "LOKI_USER="));
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_allowed_hosts, 1);
	ck_assert_str_eq(res.cfg->allowed_hosts[0], "a.example");
	ck_assert_uint_eq(res.cfg->threads, 2);
	ck_assert_uint_eq(res.cfg->n_listen, 1);
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[0]), "127.0.0.1:5300");
	ck_assert_uint_eq(res.cfg->n_allow_clients, 6);
	ck_assert_ptr_null(res.cfg->user);

	/* Unknown LOKI_ variables, look-alike names and other variables are ignored. */
	build(ARGV0,
	      ENV("LOKI_RESOLVER=/usr/sbin/loki-resolver", "LOKI_SRCDIR=/src", "LOKI_THREADSX=9",
		  "XLOKI_THREADS=9", "LOKI_THREADS", "threads=9", "LOKI_CACHE_SIZE =9"));
	ck_ok();
	check_defaults(res.cfg);

	/* Values are trimmed, and empty list items skipped. */
	build(ARGV0, ENV("LOKI_THREADS= 5 ", "LOKI_ALLOWED_HOSTS= ,a.example,, b.example ,"));
	ck_ok();
	ck_assert_uint_eq(res.cfg->threads, 5);
	ck_assert_uint_eq(res.cfg->n_allowed_hosts, 2);
	ck_assert_str_eq(res.cfg->allowed_hosts[0], "a.example");
	ck_assert_str_eq(res.cfg->allowed_hosts[1], "b.example");

	/* The first occurrence of a variable counts, as with getenv(3). */
	build(ARGV0, ENV("LOKI_THREADS=6", "LOKI_THREADS=7"));
	ck_ok();
	ck_assert_uint_eq(res.cfg->threads, 6);
}
END_TEST

START_TEST(env_policy_names)
{
	build(ARGV0, ENV("LOKI_NETWORK_EGRESS_POLICY=unrestricted"));
	ck_ok();
	ck_assert_int_eq(res.cfg->egress_policy, POLICY_UNRESTRICTED);
	build(ARGV0, ENV("LOKI_NETWORK_EGRESS_POLICY=ai-only"));
	ck_ok();
	ck_assert_int_eq(res.cfg->egress_policy, POLICY_AI_ONLY);
	build(ARGV0, ENV("LOKI_NETWORK_EGRESS_POLICY=none"));
	ck_ok();
	ck_assert_int_eq(res.cfg->egress_policy, POLICY_NONE);
	build(ARGV0, ENV("LOKI_LOG_QUERIES=none"));
	ck_ok();
	ck_assert_int_eq(res.cfg->log_queries, LOG_QUERIES_NONE);
	build(ARGV0, ENV("LOKI_LOG_QUERIES=blocked"));
	ck_ok();
	ck_assert_int_eq(res.cfg->log_queries, LOG_QUERIES_BLOCKED);
	build(ARGV0, ENV("LOKI_BLOCK_METADATA_ENDPOINT=1", "LOKI_SERVE_STALE=0"));
	ck_ok();
	ck_assert(res.cfg->block_metadata_endpoint);
	ck_assert(!res.cfg->serve_stale);
	build(ARGV0, ENV("LOKI_BLOCK_METADATA_ENDPOINT=TRUE", "LOKI_SERVE_STALE=No"));
	ck_ok();
	ck_assert(res.cfg->block_metadata_endpoint);
	ck_assert(!res.cfg->serve_stale);
}
END_TEST

START_TEST(argv_options)
{
	build(ARGV("--listen", "127.0.0.1:5300", "--listen", "[::1]:5300", "--upstream",
		   "192.0.2.9", "--upstream", "[2001:db8::9]:5353", "--fwsync-socket",
		   "/run/loki.sock", "--metrics", "127.0.0.1:9153", "--foreground",
		   "--check-config"),
	      NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_listen, 2);
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[0]), "127.0.0.1:5300");
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[1]), "[::1]:5300");
	ck_assert_uint_eq(res.cfg->n_upstream, 2);
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[0]), "192.0.2.9:53");
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[1]), "[2001:db8::9]:5353");
	ck_assert_str_eq(res.cfg->fwsync_socket, "/run/loki.sock");
	ck_assert(res.cfg->has_metrics);
	ck_assert_str_eq(fmt_addr(&res.cfg->metrics_listen), "127.0.0.1:9153");
	ck_assert(res.cli.foreground);
	ck_assert(res.cli.check_config);
	ck_assert(!res.cli.help && !res.cli.version);
	ck_assert_ptr_null(res.cli.file);

	/* --opt=value works as with any getopt_long program. */
	build(ARGV("--listen=127.0.0.1:5301", "--fwsync-socket=/x.sock"), NOENV);
	ck_ok();
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[0]), "127.0.0.1:5301");
	ck_assert_str_eq(res.cfg->fwsync_socket, "/x.sock");

	/* A scalar option given twice: the last wins; -c likewise. */
	write_text(conf_path, "threads = 9\n");
	build(ARGV("--fwsync-socket", "/a", "--fwsync-socket", "/b", "-c", missing_path, "-c",
		   conf_path),
	      NOENV);
	ck_ok();
	ck_assert_str_eq(res.cfg->fwsync_socket, "/b");
	ck_assert_uint_eq(res.cfg->threads, 9);
	ck_assert_str_eq(res.cli.file, conf_path);
}
END_TEST

struct bad_argv {
	const char *args[6];
	const char *err;
};

static const struct bad_argv bad_argvs[] = {
	{{"--bogus"}, "command line: --bogus: unknown option"},
	{{"--bogus=1"}, "command line: --bogus: unknown option"},
	{{"-x"}, "command line: -x: unknown option"},
	{{"--listen"}, "command line: --listen: missing argument"},
	{{"--upstream"}, "command line: --upstream: missing argument"},
	{{"--metrics"}, "command line: --metrics: missing argument"},
	{{"--fwsync-socket"}, "command line: --fwsync-socket: missing argument"},
	{{"-c"}, "command line: -c: missing argument"},
	{{"--foreground=yes"}, "command line: --foreground: takes no argument"},
	{{"--check-config=1"}, "command line: --check-config: takes no argument"},
	{{"stray"}, "command line: stray: unexpected argument"},
	{{"--foreground", "stray", "--listen", "x"}, "command line: stray: unexpected argument"},
	{{"--", "--listen"}, "command line: --listen: unexpected argument"},
	{{"--listen", "nowhere"},
	 "command line: --listen: bad address: 'nowhere' (expected ADDR[:PORT] or "
	 "[V6ADDR][:PORT])"},
	{{"--listen", ""}, "command line: --listen: missing value"},
	{{"--upstream", "192.0.2.1:0"},
	 "command line: --upstream: bad address: '192.0.2.1:0' (expected ADDR[:PORT] or "
	 "[V6ADDR][:PORT])"},
	{{"--metrics", "127.0.0.1"},
	 "command line: --metrics: bad address: '127.0.0.1' (expected ADDR:PORT or "
	 "[V6ADDR]:PORT)"},
	{{"--fwsync-socket",
	  "/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxx"},
	 "command line: --fwsync-socket: path too long for a Unix socket (at most 107 bytes)"},
	/* Argument errors come first: the (missing) file is never opened. */
	{{"-c", "/nonexistent/x.conf", "--listen", "x"},
	 "command line: --listen: bad address: 'x' (expected ADDR[:PORT] or [V6ADDR][:PORT])"},
};

START_TEST(argv_bad)
{
	const struct bad_argv *b = &bad_argvs[_i];
	const char *args[8] = {"loki-resolver"};
	size_t i;

	for (i = 0; i < 6 && b->args[i] != NULL; i++)
		args[i + 1] = b->args[i];
	build(args, NOENV);
	expect_err(b->err, "");
}
END_TEST

START_TEST(argv_help_version)
{
	/* --help and --version stop parsing: a later bad option goes unnoticed. */
	ck_assert_int_eq(build(ARGV("--help", "--bogus"), NOENV), 0);
	ck_assert_ptr_null(res.cfg);
	ck_assert(res.cli.help);
	ck_assert_int_eq(build(ARGV("-h"), NOENV), 0);
	ck_assert(res.cli.help);
	ck_assert_int_eq(build(ARGV("--foreground", "--version", "stray"), NOENV), 0);
	ck_assert_ptr_null(res.cfg);
	ck_assert(res.cli.version);
	ck_assert(res.cli.foreground);
	ck_assert(!res.cli.help);
	/* Neither reads the file nor needs an upstream. */
	ck_assert_int_eq(build_resolv(ARGV("-c", missing_path, "--version"), NOENV, missing_path),
			 0);
	ck_assert(res.cli.version);
	ck_assert_str_eq(res.cli.file, missing_path);

	/* An error before --help is still an error. */
	build(ARGV("--bogus", "--help"), NOENV);
	expect_err("command line: --bogus: unknown option", "");
}
END_TEST

START_TEST(argv_repeated_builds)
{
	int i;

	/* getopt state is reset on every call, even after an error half-way. */
	for (i = 0; i < 3; i++) {
		build(ARGV("--foreground", "--listen", "127.0.0.1:5300"), NOENV);
		ck_ok();
		ck_assert(res.cli.foreground);
		ck_assert_uint_eq(res.cfg->n_listen, 1);
		ck_assert_str_eq(fmt_addr(&res.cfg->listen[0]), "127.0.0.1:5300");

		build(ARGV("--listen", "127.0.0.1:5301", "--bogus", "--listen", "x"), NOENV);
		expect_err("command line: --bogus: unknown option", "");

		build(ARGV0, NOENV);
		ck_ok();
		ck_assert(!res.cli.foreground);
		check_defaults(res.cfg);

		build(ARGV("-c"), NOENV);
		expect_err("command line: -c: missing argument", "");
	}
}
END_TEST

START_TEST(precedence)
{
	static const char file[] = "listen = 127.0.0.1:1001\n"
				   "listen = 127.0.0.1:1011\n"
				   "fwsync_socket = /f.sock\n"
				   "upstream = 192.0.2.1\n"
				   "metrics_listen = 127.0.0.1:9001\n"
				   "threads = 1\n"
				   "allowed_hosts = file.example\n";

	write_text(conf_path, file);

	/* Command line over environment over file. */
	build(ARGV("-c", conf_path, "--listen", "127.0.0.1:1003", "--fwsync-socket", "/a.sock",
		   "--upstream", "192.0.2.3", "--metrics", "127.0.0.1:9003"),
	      ENV("LOKI_LISTEN=127.0.0.1:1002", "LOKI_FWSYNC_SOCKET=/e.sock",
		  "LOKI_UPSTREAM=192.0.2.2", "LOKI_METRICS_LISTEN=127.0.0.1:9002", "LOKI_THREADS=2",
		  "LOKI_ALLOWED_HOSTS=env.example"));
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_listen, 1);
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[0]), "127.0.0.1:1003");
	ck_assert_str_eq(res.cfg->fwsync_socket, "/a.sock");
	ck_assert_uint_eq(res.cfg->n_upstream, 1);
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[0]), "192.0.2.3:53");
	ck_assert_str_eq(fmt_addr(&res.cfg->metrics_listen), "127.0.0.1:9003");
	ck_assert_uint_eq(res.cfg->threads, 2);
	ck_assert_uint_eq(res.cfg->n_allowed_hosts, 1);
	ck_assert_str_eq(res.cfg->allowed_hosts[0], "env.example");

	/* Environment over file. */
	build(ARGV("-c", conf_path), ENV("LOKI_LISTEN=127.0.0.1:1002", "LOKI_FWSYNC_SOCKET=/e.sock",
					 "LOKI_UPSTREAM=192.0.2.2",
					 "LOKI_METRICS_LISTEN=127.0.0.1:9002", "LOKI_THREADS=2"));
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_listen, 1);
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[0]), "127.0.0.1:1002");
	ck_assert_str_eq(res.cfg->fwsync_socket, "/e.sock");
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[0]), "192.0.2.2:53");
	ck_assert_str_eq(fmt_addr(&res.cfg->metrics_listen), "127.0.0.1:9002");
	ck_assert_uint_eq(res.cfg->threads, 2);
	ck_assert_str_eq(res.cfg->allowed_hosts[0], "file.example");

	/* File over defaults. */
	build(ARGV("-c", conf_path), NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_listen, 2);
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[0]), "127.0.0.1:1001");
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[1]), "127.0.0.1:1011");
	ck_assert_str_eq(res.cfg->fwsync_socket, "/f.sock");
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[0]), "192.0.2.1:53");
	ck_assert_str_eq(fmt_addr(&res.cfg->metrics_listen), "127.0.0.1:9001");
	ck_assert_uint_eq(res.cfg->threads, 1);

	/* The command line over the file, with no environment in between. */
	build(ARGV("--listen", "127.0.0.1:1003", "-c", conf_path, "--listen", "[::1]:1003"), NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_listen, 2);
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[0]), "127.0.0.1:1003");
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[1]), "[::1]:1003");
	ck_assert_str_eq(res.cfg->fwsync_socket, "/f.sock");
}
END_TEST

START_TEST(list_replacement)
{
	/* One environment list replaces the whole file list and the defaults. */
	build_conf("allow_clients = 192.0.2.0/24\nallow_clients = 198.51.100.0/24\n"
		   "zone = /a.rpz\nzone = /b.rpz\n",
		   ENV("LOKI_ALLOW_CLIENTS=203.0.113.0/24", "LOKI_ZONE=/c.rpz"));
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_allow_clients, 1);
	ck_assert_str_eq(fmt_cidr(&res.cfg->allow_clients[0]), "203.0.113.0/24");
	ck_assert_uint_eq(res.cfg->n_zones, 1);
	ck_assert_str_eq(res.cfg->zones[0], "/c.rpz");

	/* Without the environment, the file's lists replace the default allow_clients. */
	build_conf("allow_clients = 192.0.2.0/24\nallow_clients = 198.51.100.0/24\n", NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_allow_clients, 2);
	ck_assert_str_eq(fmt_cidr(&res.cfg->allow_clients[1]), "198.51.100.0/24");

	/* An environment list replaces the defaults with no file. */
	build(ARGV0, ENV("LOKI_ALLOW_CLIENTS=::/0, 0.0.0.0/0", "LOKI_LISTEN=[::]:53"));
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_allow_clients, 2);
	ck_assert_str_eq(fmt_cidr(&res.cfg->allow_clients[0]), "::/0");
	ck_assert_str_eq(fmt_cidr(&res.cfg->allow_clients[1]), "0.0.0.0/0");
	ck_assert_uint_eq(res.cfg->n_listen, 1);
	ck_assert_str_eq(fmt_addr(&res.cfg->listen[0]), "[::]:53");

	/* One --upstream replaces every environment and file upstream. */
	build_conf("upstream = 192.0.2.1\nupstream = 192.0.2.2\n",
		   ENV("LOKI_UPSTREAM=192.0.2.3,192.0.2.4"));
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_upstream, 2);
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[0]), "192.0.2.3:53");
	build(ARGV("-c", conf_path, "--upstream", "[::1]:5353"),
	      ENV("LOKI_UPSTREAM=192.0.2.3,192.0.2.4"));
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_upstream, 1);
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[0]), "[::1]:5353");
}
END_TEST

START_TEST(resolv_conf_parse)
{
	struct netaddr *list = NULL;
	char path[256];

	snprintf(path, sizeof(path), "%s/r1", tmpdir);
	write_text(path, "# generated\n"
			 "; another comment\n"
			 "search example.com\n"
			 "options ndots:2 edns0\n"
			 "nameserver 192.0.2.1\n"
			 "nameserver   2001:db8::53   # trailing comment\n"
			 "nameserver fe80::1%eth0\n"
			 "nameserver not-an-address\n"
			 "nameserver\n"
			 "nameservers 192.0.2.99\n"
			 "\tnameserver 192.0.2.2\n"
			 "nameserver 192.0.2.3;comment\n"
			 "#nameserver 192.0.2.4\n"
			 "nameserver [::1]:53\n"
			 "nameserver 192.0.2.5:53\n"
			 "nameserver 192.0.2.6\r\n"
			 "nameserver 192.0.2.7");
	ck_assert_uint_eq(config_resolv_conf(path, &list), 6);
	ck_assert_str_eq(fmt_addr(&list[0]), "192.0.2.1:53");
	ck_assert_str_eq(fmt_addr(&list[1]), "[2001:db8::53]:53");
	ck_assert_str_eq(fmt_addr(&list[2]), "192.0.2.2:53");
	ck_assert_str_eq(fmt_addr(&list[3]), "192.0.2.3:53");
	ck_assert_str_eq(fmt_addr(&list[4]), "192.0.2.6:53");
	ck_assert_str_eq(fmt_addr(&list[5]), "192.0.2.7:53");
	free(list);

	/* None found, or unreadable: 0 and NULL. */
	list = (struct netaddr *)path;
	ck_assert_uint_eq(config_resolv_conf(missing_path, &list), 0);
	ck_assert_ptr_null(list);
	write_text(path, "search example.com\n# nameserver 192.0.2.1\n");
	list = (struct netaddr *)path;
	ck_assert_uint_eq(config_resolv_conf(path, &list), 0);
	ck_assert_ptr_null(list);
	ck_assert_uint_eq(config_resolv_conf(NULL, &list), 0);
	ck_assert_uint_eq(config_resolv_conf(tmpdir, &list), 0);

	/* Many nameservers: all kept, in order. */
	{
		char text[4096] = "";
		size_t i, off = 0;

		for (i = 0; i < 40; i++)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
						"nameserver 198.51.100.%zu\n", i + 1);
		write_text(path, text);
		ck_assert_uint_eq(config_resolv_conf(path, &list), 40);
		ck_assert_str_eq(fmt_addr(&list[39]), "198.51.100.40:53");
		free(list);
	}
}
END_TEST

START_TEST(resolv_conf_layering)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/r2", tmpdir);
	write_text(path, "nameserver 192.0.2.10\nnameserver ::1\n");

	/* No layer sets upstream: resolv.conf gives it. */
	build_resolv(ARGV0, NOENV, path);
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_upstream, 2);
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[0]), "192.0.2.10:53");
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[1]), "[::1]:53");

	/* Any layer setting upstream keeps resolv.conf out entirely. */
	build_conf("upstream = 198.51.100.1\n", NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_upstream, 1);
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[0]), "198.51.100.1:53");
	build_resolv(ARGV0, ENV("LOKI_UPSTREAM=198.51.100.2"), path);
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_upstream, 1);
	build_resolv(ARGV("--upstream", "198.51.100.3"), NOENV, path);
	ck_ok();
	ck_assert_uint_eq(res.cfg->n_upstream, 1);
	ck_assert_str_eq(fmt_addr(&res.cfg->upstream[0]), "198.51.100.3:53");

	/* No upstream anywhere. */
	build_resolv(ARGV0, NOENV, missing_path);
	ck_assert_int_eq(res.rc, -EINVAL);
	ck_assert_ptr_null(res.cfg);
	ck_assert_msg(strncmp(res.err, "no upstream: ", 13) == 0, "got '%s'", res.err);
	ck_assert_ptr_nonnull(strstr(res.err, missing_path));
	write_text(path, "# empty\n");
	build_resolv(ARGV0, NOENV, path);
	ck_assert_msg(strncmp(res.err, "no upstream: ", 13) == 0, "got '%s'", res.err);
	build_resolv(ARGV0, NOENV, NULL);
	ck_assert_msg(strncmp(res.err, "no upstream: ", 13) == 0, "got '%s'", res.err);
}
END_TEST

START_TEST(sanity_ttl)
{
	build_conf("min_ttl = 100\nmax_ttl = 50\n", NOENV);
	expect_err(conf_path, ":2: max_ttl: less than min_ttl (50 < 100)");
	build_conf("max_ttl = 50\n\nmin_ttl = 100\n", NOENV);
	expect_err(conf_path, ":3: min_ttl: greater than max_ttl (100 > 50)");
	build(ARGV0, ENV("LOKI_MIN_TTL=90000"));
	expect_err("environment: LOKI_MIN_TTL: greater than max_ttl (90000 > 86400)", "");
	build_conf("min_ttl = 100\n", ENV("LOKI_MAX_TTL=50"));
	expect_err("environment: LOKI_MAX_TTL: less than min_ttl (50 < 100)", "");

	/* Equal bounds and zero are fine. */
	build_conf("min_ttl = 60\nmax_ttl = 60\n", NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->min_ttl, 60);
	ck_assert_uint_eq(res.cfg->max_ttl, 60);
	build_conf("max_ttl = 0\ncache_size = 0\nblocked_ttl = 0\n", NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->max_ttl, 0);
	ck_assert_uint_eq(res.cfg->cache_size, 0);
	ck_assert_uint_eq(res.cfg->blocked_ttl, 0);

	/* The range ends are accepted, leading zeros read as decimal. */
	build_conf("threads = 64\nmax_ttl = 2147483647\ncache_size = 16777216\n"
		   "upstream_timeout_ms = 060000\nfwsync_wait_ms = 60000\n"
		   "tcp_idle_timeout_ms = 3600000\nmax_tcp_clients = 1048576\n",
		   NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->threads, 64);
	ck_assert_uint_eq(res.cfg->max_ttl, 2147483647u);
	ck_assert_uint_eq(res.cfg->cache_size, 16777216);
	ck_assert_uint_eq(res.cfg->upstream_timeout_ms, 60000);
	ck_assert_uint_eq(res.cfg->fwsync_wait_ms, 60000);
	ck_assert_uint_eq(res.cfg->tcp_idle_timeout_ms, 3600000);
	ck_assert_uint_eq(res.cfg->max_tcp_clients, 1048576);
	build_conf("threads = 1\nupstream_timeout_ms = 1\ntcp_idle_timeout_ms = 1\n"
		   "max_tcp_clients = 1\n",
		   NOENV);
	ck_ok();
	ck_assert_uint_eq(res.cfg->threads, 1);
}
END_TEST

START_TEST(sanity_loop)
{
	char path[256], want[512];

	/* An upstream that is one of our own listen addresses. */
	build(ARGV("--upstream", "127.0.0.1"), NOENV);
	expect_err("command line: --upstream: 127.0.0.1:53 is also a listen address (forwarding "
		   "loop)",
		   "");
	build_conf("listen = [::1]:53\nupstream = 192.0.2.1\nupstream = ::1\n", NOENV);
	expect_err(conf_path, ":3: upstream: [::1]:53 is also a listen address (forwarding loop)");
	build(ARGV("--listen", "192.0.2.1:53"), ENV("LOKI_UPSTREAM=192.0.2.1"));
	expect_err("environment: LOKI_UPSTREAM: 192.0.2.1:53 is also a listen address "
		   "(forwarding loop)",
		   "");

	/* resolv.conf naming ourselves, as when the resolver is the system's. */
	snprintf(path, sizeof(path), "%s/r3", tmpdir);
	write_text(path, "nameserver 127.0.0.1\n");
	build_resolv(ARGV0, NOENV, path);
	snprintf(want, sizeof(want),
		 "%s: nameserver: 127.0.0.1:53 is also a listen address (forwarding loop)", path);
	expect_err(want, "");

	/* Same address, other port; same port, other address: no loop. */
	build(ARGV("--upstream", "127.0.0.1:5353"), NOENV);
	ck_ok();
	build_resolv(ARGV("--listen", "127.0.0.1:5300"), NOENV, path);
	ck_ok();
	build(ARGV("--upstream", "127.0.0.53"), NOENV);
	ck_ok();
}
END_TEST

START_TEST(host_names)
{
	static const char *const good[] = {
		"example.com",	      "*.example.com", "example.com.", "*.example.com.",
		"localhost",	      "*.com",	       "a_b.example",  "xn--bcher-kva.example",
		"Mixed-Case.Example", "1.2.3.4",
	};
	static const char *const bad[] = {
		"*",	       "*.",
		".",	       "..",
		"a..b",	       ".example.com",
		"a.*.b",       "foo*.bar",
		"*.*.example", "a/b",
		"exa mple",    "*example.com",
		"a@b",	       "example.com..",
		"**.example",  "ex!ample.com",
	};
	char label[80], name[300], text[400];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "allowed_hosts = %s\n", good[i]);
		build_conf(text, NOENV);
		ck_assert_msg(res.rc == 0, "rejected '%s': %s", good[i], res.err);
		ck_assert_str_eq(res.cfg->allowed_hosts[0], good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "allowed_hosts = %s\n", bad[i]);
		build_conf(text, NOENV);
		ck_assert_msg(res.rc == -EINVAL, "accepted '%s'", bad[i]);
		ck_assert_ptr_nonnull(strstr(res.err, ":1: allowed_hosts: bad host name: '"));
	}

	/* Labels of 63 bytes pass, 64 do not. */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(text, sizeof(text), "allowed_hosts = %s.example\n", label);
	build_conf(text, NOENV);
	ck_ok();
	snprintf(text, sizeof(text), "allowed_hosts = %sa.example\n", label);
	build_conf(text, NOENV);
	ck_assert_int_eq(res.rc, -EINVAL);

	/* 253 bytes pass (with a trailing dot too), 254 do not. */
	memset(name, 'a', 253);
	for (i = 63; i < 253; i += 64)
		name[i] = '.';
	name[253] = '\0';
	snprintf(text, sizeof(text), "allowed_hosts = %s\n", name);
	build_conf(text, NOENV);
	ck_ok();
	snprintf(text, sizeof(text), "allowed_hosts = %s.\n", name);
	build_conf(text, NOENV);
	ck_ok();
	snprintf(text, sizeof(text), "allowed_hosts = %sa\n", name);
	build_conf(text, NOENV);
	ck_assert_int_eq(res.rc, -EINVAL);
}
END_TEST

START_TEST(parse_bool)
{
	static const char *const yes[] = {"true", "TRUE", "True", "1", "yes", "YES", "on", "On"};
	static const char *const no[] = {"false", "FALSE", "0", "no", "No", "off", "OFF"};
	static const char *const bad[] = {"",	"t",	 "f",	  "y",	   "n",	     "2",
					  "-1", "truee", " true", "true ", "enable", "00"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(config_parse_bool(yes[i]) == 1, "%s", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(config_parse_bool(no[i]) == 0, "%s", no[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(config_parse_bool(bad[i]) == -1, "%s", bad[i]);
	ck_assert_int_eq(config_parse_bool(NULL), -1);
}
END_TEST

/* Prints cfg into a string (caller frees). */
static char *print_to_string(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(fp);
	config_print(cfg, fp);
	ck_assert_int_eq(fclose(fp), 0);
	return buf;
}

START_TEST(print_roundtrip)
{
	char *first, *second, *defaults_text;
	char printed[256];

	/* Every key away from its default: print, read back, print again. */
	build_conf(every_key_file, NOENV);
	ck_ok();
	first = print_to_string(res.cfg);
	ck_assert_ptr_nonnull(strstr(first, "\nlisten = 127.0.0.1:5300\nlisten = [::1]:5300\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nupstream = [2001:db8::1]:5353\n"));
	ck_assert_ptr_nonnull(strstr(first, "\negress_policy = ai-only\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nallowed_hosts = *.example.org\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nallow_clients = 2001:db8::/32\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nserve_stale = false\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nmetrics_listen = [::1]:9153\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nlog_queries = all\n"));
	ck_assert_ptr_nonnull(strstr(first, "\nthreads = 3\n"));

	snprintf(printed, sizeof(printed), "%s/printed.conf", tmpdir);
	write_text(printed, first);
	build(ARGV("-c", printed), NOENV);
	ck_ok();
	check_every_key(res.cfg);
	second = print_to_string(res.cfg);
	ck_assert_str_eq(first, second);
	free(first);
	free(second);

	/* The defaults: unset keys are printed as comments, and read back the same. */
	build(ARGV0, NOENV);
	ck_ok();
	defaults_text = print_to_string(res.cfg);
	ck_assert_ptr_nonnull(strstr(defaults_text, "\n# fwsync_socket: none\n"));
	ck_assert_ptr_nonnull(strstr(defaults_text, "\n# metrics_listen: none\n"));
	ck_assert_ptr_nonnull(strstr(defaults_text, "\nallow_clients = ::1/128\n"));
	ck_assert_ptr_nonnull(strstr(defaults_text, "\nlog_queries = blocked\n"));
	write_text(printed, defaults_text);
	build(ARGV("-c", printed), NOENV);
	ck_ok();
	check_defaults(res.cfg);
	second = print_to_string(res.cfg);
	ck_assert_str_eq(defaults_text, second);
	free(second);
	free(defaults_text);

	/* NULL arguments print nothing. */
	config_print(NULL, stdout);
	config_print(res.cfg, NULL);
}
END_TEST

START_TEST(example_conf)
{
	char *from_example, *from_defaults;

	/* conf/loki-resolver.conf lists every key with its default. */
	build(ARGV("-c", TEST_SRCDIR "/conf/loki-resolver.conf"), NOENV);
	ck_ok();
	check_defaults(res.cfg);
	from_example = print_to_string(res.cfg);
	build(ARGV0, NOENV);
	ck_ok();
	from_defaults = print_to_string(res.cfg);
	ck_assert_str_eq(from_example, from_defaults);
	free(from_example);
	free(from_defaults);
}
END_TEST

START_TEST(example_conf_uncommented)
{
	char line[4096], path[256];
	FILE *in, *out;
	int keys = 0;

	/* Every commented-out "#key = value" line of the example is itself valid. */
	snprintf(path, sizeof(path), "%s/uncommented.conf", tmpdir);
	in = fopen(TEST_SRCDIR "/conf/loki-resolver.conf", "r");
	ck_assert_ptr_nonnull(in);
	out = fopen(path, "w");
	ck_assert_ptr_nonnull(out);
	while (fgets(line, sizeof(line), in) != NULL) {
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
		    strstr(line, " = ") != NULL) {
			fputs(line + 1, out);
			keys++;
		}
	}
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	build(ARGV("-c", path), NOENV);
	ck_ok();
	/* All 22 keys appear, the lists more than once. */
	ck_assert_int_ge(keys, 22);
	ck_assert_uint_eq(res.cfg->n_allow_clients, 6);
	ck_assert_uint_eq(res.cfg->n_upstream, 2);
	ck_assert_ptr_nonnull(res.cfg->fwsync_socket);
	ck_assert_ptr_nonnull(res.cfg->user);
	ck_assert(res.cfg->has_metrics);
	ck_assert_uint_eq(res.cfg->n_allowed_hosts, 2);
	ck_assert_uint_eq(res.cfg->n_zones, 1);
}
END_TEST

START_TEST(free_null)
{
	config_free(NULL);
	/* out == NULL is refused without a crash. */
	ck_assert_int_eq(
		config_build(1, (char *[]){"x", NULL}, NULL, resolv_path, NULL, NULL, NULL, 0),
		-EINVAL);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, file_every_key);
	tcase_add_test(tc, env_every_key);
	tcase_add_test(tc, file_syntax);
	tcase_add_test(tc, file_lists);
	tcase_add_loop_test(tc, file_bad_value, 0, sizeof(bad_values) / sizeof(bad_values[0]));
	tcase_add_test(tc, file_bad_bytes);
	tcase_add_test(tc, file_unreadable);
	tcase_add_loop_test(tc, env_bad_value, 0, sizeof(bad_envs) / sizeof(bad_envs[0]));
	tcase_add_test(tc, env_empty_and_unknown);
	tcase_add_test(tc, env_policy_names);
	tcase_add_test(tc, argv_options);
	tcase_add_loop_test(tc, argv_bad, 0, sizeof(bad_argvs) / sizeof(bad_argvs[0]));
	tcase_add_test(tc, argv_help_version);
	tcase_add_test(tc, argv_repeated_builds);
	tcase_add_test(tc, precedence);
	tcase_add_test(tc, list_replacement);
	tcase_add_test(tc, resolv_conf_parse);
	tcase_add_test(tc, resolv_conf_layering);
	tcase_add_test(tc, sanity_ttl);
	tcase_add_test(tc, sanity_loop);
	tcase_add_test(tc, host_names);
	tcase_add_test(tc, parse_bool);
	tcase_add_test(tc, print_roundtrip);
	tcase_add_test(tc, example_conf);
	tcase_add_test(tc, example_conf_uncommented);
	tcase_add_test(tc, free_null);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
