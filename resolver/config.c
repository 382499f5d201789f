/*
 * Configuration snapshot: compiled-in defaults < config file (-c) <
 * environment < command line (DESIGN.md, "loki-resolver command line").
 *
 * Every layer goes through the same set_value(), so a key is validated the
 * same way wherever it comes from; only the error prefix differs ("FILE:LINE:
 * KEY", "environment: VAR", "command line: --opt"). A list key set at a layer
 * first clears the list it inherited from the layers below, then appends, so
 * repeated keys accumulate within a layer and a higher layer replaces the
 * whole list.
 *
 * Choices made here, beyond the contract:
 *   - An empty (or whitespace-only) environment value counts as unset, for
 *     every variable, LOKI_ALLOWED_HOSTS included: `docker run -e VAR=` and
 *     templated manifests produce empty values far more often than anyone
 *     means "replace the list with nothing". Empty items of a comma list
 *     ("a,,b", "a,") are skipped, so a value with no item at all is unset too.
 *   - A scalar key repeated in the file or on the command line: the last one
 *     wins. -c given twice: the last one wins.
 *   - cache_size = 0 is allowed and means no cache.
 *   - A trailing comment starts at a '#' preceded by a space or a tab, so a
 *     value cannot contain " #".
 *   - The default thread count (online CPUs) is clamped to 1..64; an explicit
 *     value outside 1..64 is an error.
 *   - An upstream equal to a listen address (same address and port) is a
 *     forwarding loop and an error. A wildcard listen address (0.0.0.0) is
 *     not compared with the host's own addresses.
 *
 * config_build uses getopt_long, whose state is global: it is not
 * thread-safe, and is meant to be called from the main thread (startup,
 * SIGHUP handling) only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"

/* Longest config file line accepted, newline excluded. */
#define CONFIG_LINE_MAX 4096
/* How much of a bad value is quoted back in an error message. */
#define QUOTE_MAX   64
#define THREADS_MAX 64

enum key_id {
	KEY_LISTEN = 0,
	KEY_UPSTREAM,
	KEY_EGRESS_POLICY,
	KEY_ALLOWED_HOSTS,
	KEY_ZONE,
	KEY_BLOCK_METADATA_ENDPOINT,
	KEY_REBINDING_GUARD,
	KEY_ALLOW_CLIENTS,
	KEY_CACHE_SIZE,
	KEY_MIN_TTL,
	KEY_MAX_TTL,
	KEY_BLOCKED_TTL,
	KEY_SERVE_STALE,
	KEY_UPSTREAM_TIMEOUT_MS,
	KEY_FWSYNC_SOCKET,
	KEY_FWSYNC_WAIT_MS,
	KEY_METRICS_LISTEN,
	KEY_METRICS_TLS_CERT,
	KEY_METRICS_TLS_KEY,
	KEY_USER,
	KEY_TCP_IDLE_TIMEOUT_MS,
	KEY_MAX_TCP_CLIENTS,
	KEY_THREADS,
	KEY_LOG_QUERIES,
	KEY_QUERY_LOG_FILE,
	KEY_COUNT,
};

enum key_kind {
	KIND_ADDR53,  /* socket address list, default port 53 */
	KIND_POLICY,  /* egress policy name */
	KIND_HOSTS,   /* host name list, comma-separated even in the file */
	KIND_PATHS,   /* path list */
	KIND_BOOL,    /* bool at .off */
	KIND_CIDRS,   /* prefix list */
	KIND_U32,     /* uint32_t at .off, in [min, max] */
	KIND_SOCKET,  /* Unix socket path or NULL */
	KIND_ADDRPRT, /* socket address with a mandatory port */
	KIND_STRING,  /* string or NULL */
	KIND_LOGQ,    /* log_queries mode */
	KIND_FILE,    /* file path (char *) at .off, or NULL */
};

struct key_def {
	const char *name;
	const char *env;
	enum key_kind kind;
	bool list;
	size_t off;
	uint32_t min, max;
};

/* The order here is the order of config_print and of the environment layer. */
static const struct key_def keys[KEY_COUNT] = {
	[KEY_LISTEN] = {"listen", "LOKI_LISTEN", KIND_ADDR53, true, 0, 0, 0},
	[KEY_UPSTREAM] = {"upstream", "LOKI_UPSTREAM", KIND_ADDR53, true, 0, 0, 0},
	[KEY_EGRESS_POLICY] = {"egress_policy", "LOKI_NETWORK_EGRESS_POLICY", KIND_POLICY, false, 0,
			       0, 0},
	[KEY_ALLOWED_HOSTS] = {"allowed_hosts", "LOKI_ALLOWED_HOSTS", KIND_HOSTS, true, 0, 0, 0},
	[KEY_ZONE] = {"zone", "LOKI_ZONE", KIND_PATHS, true, 0, 0, 0},
	[KEY_BLOCK_METADATA_ENDPOINT] = {"block_metadata_endpoint", "LOKI_BLOCK_METADATA_ENDPOINT",
					 KIND_BOOL, false,
					 offsetof(struct config, block_metadata_endpoint), 0, 0},
	[KEY_REBINDING_GUARD] = {"rebinding_guard", "LOKI_REBINDING_GUARD", KIND_BOOL, false,
				 offsetof(struct config, rebinding_guard), 0, 0},
	[KEY_ALLOW_CLIENTS] = {"allow_clients", "LOKI_ALLOW_CLIENTS", KIND_CIDRS, true, 0, 0, 0},
	/* 2^24 entries bounds what a typo can make the cache preallocate. */
	[KEY_CACHE_SIZE] = {"cache_size", "LOKI_CACHE_SIZE", KIND_U32, false,
			    offsetof(struct config, cache_size), 0, 16777216},
	/* TTLs are at most 2^31 - 1 (RFC 2181, section 8). */
	[KEY_MIN_TTL] = {"min_ttl", "LOKI_MIN_TTL", KIND_U32, false,
			 offsetof(struct config, min_ttl), 0, 2147483647},
	[KEY_MAX_TTL] = {"max_ttl", "LOKI_MAX_TTL", KIND_U32, false,
			 offsetof(struct config, max_ttl), 0, 2147483647},
	[KEY_BLOCKED_TTL] = {"blocked_ttl", "LOKI_BLOCKED_TTL", KIND_U32, false,
			     offsetof(struct config, blocked_ttl), 0, 2147483647},
	[KEY_SERVE_STALE] = {"serve_stale", "LOKI_SERVE_STALE", KIND_BOOL, false,
			     offsetof(struct config, serve_stale), 0, 0},
	[KEY_UPSTREAM_TIMEOUT_MS] = {"upstream_timeout_ms", "LOKI_UPSTREAM_TIMEOUT_MS", KIND_U32,
				     false, offsetof(struct config, upstream_timeout_ms), 1, 60000},
	[KEY_FWSYNC_SOCKET] = {"fwsync_socket", "LOKI_FWSYNC_SOCKET", KIND_SOCKET, false, 0, 0, 0},
	/* A DNS client gives up after a few seconds; holding a reply longer is useless. */
	[KEY_FWSYNC_WAIT_MS] = {"fwsync_wait_ms", "LOKI_FWSYNC_WAIT_MS", KIND_U32, false,
				offsetof(struct config, fwsync_wait_ms), 0, 60000},
	[KEY_METRICS_LISTEN] = {"metrics_listen", "LOKI_METRICS_LISTEN", KIND_ADDRPRT, false, 0, 0,
				0},
	[KEY_METRICS_TLS_CERT] = {"metrics_tls_cert", "LOKI_METRICS_TLS_CERT", KIND_FILE, false,
				  offsetof(struct config, metrics_tls_cert), 0, 0},
	[KEY_METRICS_TLS_KEY] = {"metrics_tls_key", "LOKI_METRICS_TLS_KEY", KIND_FILE, false,
				 offsetof(struct config, metrics_tls_key), 0, 0},
	[KEY_USER] = {"user", "LOKI_USER", KIND_STRING, false, 0, 0, 0},
	[KEY_TCP_IDLE_TIMEOUT_MS] = {"tcp_idle_timeout_ms", "LOKI_TCP_IDLE_TIMEOUT_MS", KIND_U32,
				     false, offsetof(struct config, tcp_idle_timeout_ms), 1,
				     3600000},
	[KEY_MAX_TCP_CLIENTS] = {"max_tcp_clients", "LOKI_MAX_TCP_CLIENTS", KIND_U32, false,
				 offsetof(struct config, max_tcp_clients), 1, 1048576},
	[KEY_THREADS] = {"threads", "LOKI_THREADS", KIND_U32, false,
			 offsetof(struct config, threads), 1, THREADS_MAX},
	[KEY_LOG_QUERIES] = {"log_queries", "LOKI_LOG_QUERIES", KIND_LOGQ, false, 0, 0, 0},
	[KEY_QUERY_LOG_FILE] = {"query_log_file", "LOKI_QUERY_LOG_FILE", KIND_FILE, false,
				offsetof(struct config, query_log_file), 0, 0},
};

/*
 * Second names some variables are also read under, for deployments that set
 * them for the whole container (the seed's LOKI_TLS_CERT and LOKI_TLS_KEY).
 * The key's own variable wins when both are set.
 */
static const struct {
	enum key_id id;
	const char *env;
} env_aliases[] = {
	{KEY_METRICS_TLS_CERT, "LOKI_TLS_CERT"},
	{KEY_METRICS_TLS_KEY, "LOKI_TLS_KEY"},
};

static const char *const default_allow_clients[] = {
	"127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
};

/*
 * The policy names are parsed here rather than with policy_mode_parse() so
 * that the configuration does not depend on the policy module; the names are
 * the contract of DESIGN.md and compare exactly.
 */
static const char *const policy_names[] = {
	[POLICY_UNRESTRICTED] = "unrestricted",
	[POLICY_AI_ONLY] = "ai-only",
	[POLICY_NONE] = "none",
};

static const char *const log_queries_names[] = {
	[LOG_QUERIES_BLOCKED] = "blocked",
	[LOG_QUERIES_ALL] = "all",
	[LOG_QUERIES_NONE] = "none",
};

enum layer {
	LAYER_DEFAULT = 0,
	LAYER_FILE,
	LAYER_ENV,
	LAYER_ARGV,
	LAYER_RESOLV,
};

/* Where a key got its current value, for errors found after layering. */
struct origin {
	enum layer layer;
	unsigned line;
	const char *name; /* environment variable or option */
};

struct builder {
	struct config *cfg;
	enum layer layer;
	bool touched[KEY_COUNT]; /* lists already cleared in this layer */
	struct origin origin[KEY_COUNT];
	const char *resolv_conf;
	char *err;
	size_t errlen;
};

static void set_err(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct builder *b, const char *fmt, ...)
{
	va_list ap;

	if (b->err == NULL || b->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->err, b->errlen, fmt, ap);
	va_end(ap);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims s in place and returns its first non-space character. */
static char *trim(char *s)
{
	size_t len;

	while (is_space(*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_space(s[len - 1]))
		s[--len] = '\0';
	return s;
}

/*
 * Appends one element to *arr, which holds n elements. The capacity is
 * implicit: the array is regrown whenever n is a power of two, so appending
 * stays amortised O(1) without a capacity field in struct config.
 */
static int append(void **arr, size_t n, size_t size, const void *elem)
{
	uint8_t *p = *arr;

	if (n == 0 || (n & (n - 1)) == 0) {
		size_t cap = n == 0 ? 1 : n * 2;

		if (cap > SIZE_MAX / size)
			return -ENOMEM;
		p = realloc(p, cap * size);
		if (p == NULL)
			return -ENOMEM;
		*arr = p;
	}
	memcpy(p + n * size, elem, size);
	return 0;
}

static void free_strings(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void clear_list(struct config *cfg, enum key_id id)
{
	switch (id) {
	case KEY_LISTEN:
		free(cfg->listen);
		cfg->listen = NULL;
		cfg->n_listen = 0;
		break;
	case KEY_UPSTREAM:
		free(cfg->upstream);
		cfg->upstream = NULL;
		cfg->n_upstream = 0;
		break;
	case KEY_ALLOWED_HOSTS:
		free_strings(cfg->allowed_hosts, cfg->n_allowed_hosts);
		cfg->allowed_hosts = NULL;
		cfg->n_allowed_hosts = 0;
		break;
	case KEY_ZONE:
		free_strings(cfg->zones, cfg->n_zones);
		cfg->zones = NULL;
		cfg->n_zones = 0;
		break;
	case KEY_ALLOW_CLIENTS:
		free(cfg->allow_clients);
		cfg->allow_clients = NULL;
		cfg->n_allow_clients = 0;
		break;
	default:
		break;
	}
}

/* Frees what a configuration owns, not the configuration itself. */
static void free_fields(struct config *cfg)
{
	clear_list(cfg, KEY_LISTEN);
	clear_list(cfg, KEY_UPSTREAM);
	clear_list(cfg, KEY_ALLOWED_HOSTS);
	clear_list(cfg, KEY_ZONE);
	clear_list(cfg, KEY_ALLOW_CLIENTS);
	free(cfg->fwsync_socket);
	free(cfg->user);
	free(cfg->file);
	free(cfg->metrics_tls_cert);
	free(cfg->metrics_tls_key);
	free(cfg->query_log_file);
	cfg->metrics_tls_cert = NULL;
	cfg->metrics_tls_key = NULL;
	cfg->query_log_file = NULL;
	cfg->fwsync_socket = NULL;
	cfg->user = NULL;
	cfg->file = NULL;
}

static int append_string(char ***v, size_t *n, const char *s)
{
	char *dup = strdup(s);

	if (dup == NULL || append((void **)v, *n, sizeof(dup), &dup) != 0) {
		free(dup);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

int config_parse_bool(const char *text)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};
	size_t i;

	if (text == NULL)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0)
			return 1;
		if (strcasecmp(text, no[i]) == 0)
			return 0;
	}
	return -1;
}

/*
 * A host name as written in allowed_hosts: labels of 1..63 characters from
 * [A-Za-z0-9_-], at most 253 characters without the trailing dot, with an
 * optional leading "*." and an optional trailing dot. This is deliberately
 * the simple textual check; the policy module parses names properly.
 */
static bool host_name_valid(const char *name)
{
	size_t len = strlen(name), label = 0, i;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	i = 0;
	if (len >= 2 && name[0] == '*' && name[1] == '.')
		i = 2;
	if (i == len)
		return false;
	for (; i < len; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/* Decimal only: no sign, no spaces, no "0x", nothing after the digits. */
static int parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out, char *prob,
		     size_t problen)
{
	uint64_t v = 0;
	const char *p;

	if (*text == '\0') {
		snprintf(prob, problen, "not a decimal number");
		return -EINVAL;
	}
	for (p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			snprintf(prob, problen, "not a decimal number: '%.*s'", QUOTE_MAX, text);
			return -EINVAL;
		}
		/* Saturate instead of overflowing; anything this large is out of range. */
		if (v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max) {
		snprintf(prob, problen, "out of range: '%.*s' (allowed %u..%u)", QUOTE_MAX, text,
			 (unsigned)min, (unsigned)max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int find_name(const char *const *names, size_t n, const char *text)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], text) == 0)
			return (int)i;
	return -1;
}

/*
 * Parses value for key id and stores it in b->cfg. A list key's first value
 * in a layer clears the list inherited from the layers below. On error
 * returns -EINVAL with a short problem text in prob, or -ENOMEM.
 */
static int set_value(struct builder *b, enum key_id id, const char *value, char *prob,
		     size_t problen)
{
	const struct key_def *k = &keys[id];
	struct config *cfg = b->cfg;
	struct netaddr na;
	struct cidr c;
	uint32_t u;
	const char *p;
	char *dup;
	int v;

	if (*value == '\0') {
		snprintf(prob, problen, "missing value");
		return -EINVAL;
	}
	/* Values reach logs and config_print; no control character may pass. */
	for (p = value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(prob, problen, "control character in value");
			return -EINVAL;
		}
	}

	/* Validate first, so that a bad value leaves the list as it was. */
	switch (k->kind) {
	case KIND_ADDR53:
		if (netaddr_parse(value, 53, &na) != 0)
			goto bad_addr;
		break;
	case KIND_ADDRPRT:
		if (netaddr_parse(value, 0, &na) != 0 ||
		    netaddr_port((struct sockaddr *)&na.ss) == 0)
			goto bad_addr;
		break;
	case KIND_CIDRS:
		if (cidr_parse(value, &c) != 0) {
			snprintf(prob, problen,
				 "bad address prefix: '%.*s' (expected ADDR or ADDR/LEN with no "
				 "host bits set)",
				 QUOTE_MAX, value);
			return -EINVAL;
		}
		break;
	case KIND_HOSTS:
		if (!host_name_valid(value)) {
			snprintf(prob, problen, "bad host name: '%.*s'", QUOTE_MAX, value);
			return -EINVAL;
		}
		break;
	default:
		break;
	}

	if (k->list && !b->touched[id]) {
		clear_list(cfg, id);
		b->touched[id] = true;
	}

	switch (k->kind) {
	case KIND_ADDR53:
		if (id == KEY_LISTEN) {
			if (append((void **)&cfg->listen, cfg->n_listen, sizeof(na), &na) != 0)
				return -ENOMEM;
			cfg->n_listen++;
		} else {
			if (append((void **)&cfg->upstream, cfg->n_upstream, sizeof(na), &na) != 0)
				return -ENOMEM;
			cfg->n_upstream++;
		}
		return 0;
	case KIND_ADDRPRT:
		cfg->metrics_listen = na;
		cfg->has_metrics = true;
		return 0;
	case KIND_CIDRS:
		if (append((void **)&cfg->allow_clients, cfg->n_allow_clients, sizeof(c), &c) != 0)
			return -ENOMEM;
		cfg->n_allow_clients++;
		return 0;
	case KIND_HOSTS:
		return append_string(&cfg->allowed_hosts, &cfg->n_allowed_hosts, value);
	case KIND_PATHS:
		return append_string(&cfg->zones, &cfg->n_zones, value);
	case KIND_POLICY:
		v = find_name(policy_names, sizeof(policy_names) / sizeof(policy_names[0]), value);
		if (v < 0) {
			snprintf(prob, problen,
				 "bad policy: '%.*s' (expected unrestricted, ai-only or none)",
				 QUOTE_MAX, value);
			return -EINVAL;
		}
		cfg->egress_policy = (enum policy_mode)v;
		return 0;
	case KIND_LOGQ:
		v = find_name(log_queries_names,
			      sizeof(log_queries_names) / sizeof(log_queries_names[0]), value);
		if (v < 0) {
			snprintf(prob, problen, "bad value: '%.*s' (expected blocked, all or none)",
				 QUOTE_MAX, value);
			return -EINVAL;
		}
		cfg->log_queries = (enum log_queries)v;
		return 0;
	case KIND_BOOL:
		v = config_parse_bool(value);
		if (v < 0) {
			snprintf(prob, problen,
				 "bad boolean: '%.*s' (expected true/false, yes/no, on/off or 1/0)",
				 QUOTE_MAX, value);
			return -EINVAL;
		}
		*(bool *)((char *)cfg + k->off) = v == 1;
		return 0;
	case KIND_U32:
		if (parse_u32(value, k->min, k->max, &u, prob, problen) != 0)
			return -EINVAL;
		*(uint32_t *)((char *)cfg + k->off) = u;
		return 0;
	case KIND_SOCKET:
		if (strlen(value) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
			snprintf(prob, problen,
				 "path too long for a Unix socket (at most %zu bytes)",
				 sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
			return -EINVAL;
		}
		dup = strdup(value);
		if (dup == NULL)
			return -ENOMEM;
		free(cfg->fwsync_socket);
		cfg->fwsync_socket = dup;
		return 0;
	case KIND_STRING:
		for (p = value; *p != '\0'; p++) {
			if (is_space(*p)) {
				snprintf(prob, problen, "bad user name: '%.*s'", QUOTE_MAX, value);
				return -EINVAL;
			}
		}
		dup = strdup(value);
		if (dup == NULL)
			return -ENOMEM;
		free(cfg->user);
		cfg->user = dup;
		return 0;
	case KIND_FILE:
		dup = strdup(value);
		if (dup == NULL)
			return -ENOMEM;
		free(*(char **)((char *)cfg + k->off));
		*(char **)((char *)cfg + k->off) = dup;
		return 0;
	}
	return -EINVAL;

bad_addr:
	snprintf(prob, problen, "bad address: '%.*s' (expected %s)", QUOTE_MAX, value,
		 k->kind == KIND_ADDRPRT ? "ADDR:PORT or [V6ADDR]:PORT"
					 : "ADDR[:PORT] or [V6ADDR][:PORT]");
	return -EINVAL;
}

/*
 * Applies a value that may be a comma-separated list: every non-empty item,
 * trimmed, goes through set_value. *items counts the items applied.
 */
static int set_items(struct builder *b, enum key_id id, const char *value, size_t *items,
		     char *prob, size_t problen)
{
	char *copy = strdup(value), *item, *save = NULL;
	int rc = 0;

	*items = 0;
	if (copy == NULL)
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		item = trim(item);
		if (*item == '\0')
			continue;
		rc = set_value(b, id, item, prob, problen);
		if (rc != 0)
			break;
		(*items)++;
	}
	free(copy);
	return rc;
}

static void set_origin(struct builder *b, enum key_id id, unsigned line, const char *name)
{
	b->origin[id].layer = b->layer;
	b->origin[id].line = line;
	b->origin[id].name = name;
}

static int find_key(const char *name)
{
	int i;

	for (i = 0; i < KEY_COUNT; i++)
		if (strcmp(keys[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * Reads one line of at most CONFIG_LINE_MAX bytes into buf (cap must exceed
 * that), without the newline or a CR before it. Returns 1 for a line, 0 at
 * the end of the file, -E2BIG for a longer line, -EILSEQ for a line with a
 * control character (NUL included), -EIO for a read error (errno set).
 */
static int read_line(FILE *fp, char *buf, size_t cap)
{
	size_t len = 0, i;
	int c;

	for (;;) {
		c = getc(fp);
		if (c == EOF) {
			if (ferror(fp))
				return -EIO;
			if (len == 0)
				return 0;
			break;
		}
		if (c == '\n')
			break;
		if (len >= CONFIG_LINE_MAX || len + 1 >= cap)
			return -E2BIG;
		buf[len++] = (char)c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	for (i = 0; i < len; i++)
		if (((unsigned char)buf[i] < 0x20 && buf[i] != '\t') || buf[i] == 0x7f)
			return -EILSEQ;
	return 1;
}

/* Cuts a trailing comment: a '#' at the start or after a space or a tab. */
static void strip_comment(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

static int load_file(struct builder *b, const char *path)
{
	char prob[256];
	char *buf = NULL, *line, *eq, *key, *value;
	FILE *fp = NULL;
	unsigned lineno = 0;
	size_t items, klen;
	int rc, id, saved;

	buf = malloc(CONFIG_LINE_MAX + 2);
	if (buf == NULL) {
		rc = -ENOMEM;
		set_err(b, "%s: out of memory", path);
		goto out;
	}
	fp = fopen(path, "r");
	if (fp == NULL) {
		saved = errno;
		set_err(b, "%s: cannot read: %s", path, strerror(saved));
		rc = -EINVAL;
		goto out;
	}
	for (;;) {
		rc = read_line(fp, buf, CONFIG_LINE_MAX + 2);
		if (rc == 0)
			break;
		lineno++;
		if (rc == -EIO) {
			saved = errno;
			set_err(b, "%s: cannot read: %s", path, strerror(saved));
			rc = -EINVAL;
			goto out;
		}
		if (rc == -E2BIG) {
			set_err(b, "%s:%u: line too long (more than %d bytes)", path, lineno,
				CONFIG_LINE_MAX);
			rc = -EINVAL;
			goto out;
		}
		if (rc == -EILSEQ) {
			set_err(b, "%s:%u: control character in line", path, lineno);
			rc = -EINVAL;
			goto out;
		}
		strip_comment(buf);
		line = trim(buf);
		if (*line == '\0')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL) {
			klen = strcspn(line, " \t");
			set_err(b, "%s:%u: %.*s: missing '='", path, lineno,
				(int)(klen > QUOTE_MAX ? QUOTE_MAX : klen), line);
			rc = -EINVAL;
			goto out;
		}
		*eq = '\0';
		key = trim(line);
		value = trim(eq + 1);
		if (*key == '\0') {
			set_err(b, "%s:%u: missing key before '='", path, lineno);
			rc = -EINVAL;
			goto out;
		}
		id = find_key(key);
		if (id < 0) {
			set_err(b, "%s:%u: %.*s: unknown key", path, lineno, QUOTE_MAX, key);
			rc = -EINVAL;
			goto out;
		}
		prob[0] = '\0';
		if (id == KEY_ALLOWED_HOSTS) {
			rc = set_items(b, id, value, &items, prob, sizeof(prob));
			if (rc == 0 && items == 0) {
				snprintf(prob, sizeof(prob), "missing value");
				rc = -EINVAL;
			}
		} else {
			rc = set_value(b, id, value, prob, sizeof(prob));
		}
		if (rc == -ENOMEM)
			snprintf(prob, sizeof(prob), "out of memory");
		if (rc != 0) {
			set_err(b, "%s:%u: %s: %s", path, lineno, keys[id].name, prob);
			goto out;
		}
		set_origin(b, id, lineno, NULL);
	}
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	free(buf);
	return rc;
}

/* The value of NAME in envp, like getenv(3) but on the given array. */
static const char *env_get(char *const *envp, const char *name)
{
	size_t len = strlen(name);

	if (envp == NULL)
		return NULL;
	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

static int load_env(struct builder *b, char *const *envp)
{
	char prob[256];
	char *copy, *value;
	const char *raw;
	size_t items;
	int id, rc;

	for (id = 0; id < KEY_COUNT; id++) {
		const char *var = keys[id].env;
		size_t a;

		raw = env_get(envp, var);
		for (a = 0; a < sizeof(env_aliases) / sizeof(env_aliases[0]); a++) {
			const char *p = raw;

			while (p != NULL && is_space(*p))
				p++;
			if (env_aliases[a].id != (enum key_id)id || (p != NULL && *p != '\0'))
				continue;
			if (env_get(envp, env_aliases[a].env) != NULL) {
				var = env_aliases[a].env;
				raw = env_get(envp, var);
			}
		}
		if (raw == NULL)
			continue;
		copy = strdup(raw);
		if (copy == NULL) {
			set_err(b, "environment: %s: out of memory", var);
			return -ENOMEM;
		}
		value = trim(copy);
		prob[0] = '\0';
		items = 1;
		if (*value == '\0')
			rc = 0; /* empty: unset (see the top of this file) */
		else if (keys[id].list)
			rc = set_items(b, (enum key_id)id, value, &items, prob, sizeof(prob));
		else
			rc = set_value(b, (enum key_id)id, value, prob, sizeof(prob));
		if (rc == 0 && *value != '\0' && items > 0)
			set_origin(b, (enum key_id)id, 0, var);
		free(copy);
		if (rc == -ENOMEM)
			snprintf(prob, sizeof(prob), "out of memory");
		if (rc != 0) {
			set_err(b, "environment: %s: %s", var, prob);
			return rc;
		}
	}
	return 0;
}

enum {
	OPT_LISTEN = 256,
	OPT_UPSTREAM,
	OPT_FWSYNC_SOCKET,
	OPT_METRICS,
	OPT_FOREGROUND,
	OPT_CHECK_CONFIG,
	OPT_VERSION,
	OPT_REQUIRE_UNPRIVILEGED,
};

static const struct option long_opts[] = {
	{"config", required_argument, NULL, 'c'},
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"upstream", required_argument, NULL, OPT_UPSTREAM},
	{"fwsync-socket", required_argument, NULL, OPT_FWSYNC_SOCKET},
	{"metrics", required_argument, NULL, OPT_METRICS},
	{"foreground", no_argument, NULL, OPT_FOREGROUND},
	{"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
	{"version", no_argument, NULL, OPT_VERSION},
	{"require-unprivileged", no_argument, NULL, OPT_REQUIRE_UNPRIVILEGED},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* The name an option is reported under: a string literal, so it can be kept. */
static const char *opt_name(int val)
{
	switch (val) {
	case 'c':
		return "-c";
	case 'h':
		return "-h";
	case OPT_LISTEN:
		return "--listen";
	case OPT_UPSTREAM:
		return "--upstream";
	case OPT_FWSYNC_SOCKET:
		return "--fwsync-socket";
	case OPT_METRICS:
		return "--metrics";
	case OPT_FOREGROUND:
		return "--foreground";
	case OPT_CHECK_CONFIG:
		return "--check-config";
	case OPT_VERSION:
		return "--version";
	case OPT_REQUIRE_UNPRIVILEGED:
		return "--require-unprivileged";
	default:
		return "?";
	}
}

/* A resolver option of the command line, kept until the argv layer is applied. */
struct argopt {
	enum key_id id;
	const char *opt;
	const char *value;
};

static int apply_argv(struct builder *b, const struct argopt *opts, size_t n)
{
	char prob[256];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		prob[0] = '\0';
		rc = set_value(b, opts[i].id, opts[i].value, prob, sizeof(prob));
		if (rc == -ENOMEM)
			snprintf(prob, sizeof(prob), "out of memory");
		if (rc != 0) {
			set_err(b, "command line: %s: %s", opts[i].opt, prob);
			return rc;
		}
		set_origin(b, opts[i].id, 0, opts[i].opt);
	}
	return 0;
}

/*
 * Parses argv into cli and opts (capacity argc). Each resolver option is
 * validated on the spot, against a scratch configuration, so that a bad
 * option is reported before the file is even opened.
 */
static int parse_argv(struct builder *b, int argc, char **argv, struct config_cli *cli,
		      struct argopt *opts, size_t *n_opts)
{
	struct config scratch = {0};
	struct builder sb = {
		.cfg = &scratch, .layer = LAYER_ARGV, .err = b->err, .errlen = b->errlen};
	int saved_opterr = opterr, c, rc = 0;
	enum key_id id;

	*n_opts = 0;
	if (argc < 1 || argv == NULL)
		return 0;
	/*
	 * optind = 0 makes glibc reinitialise getopt, so config_build can run
	 * again (SIGHUP, tests). "+" stops at the first non-option instead of
	 * permuting argv; ":" reports a missing argument apart from an unknown
	 * option; opterr = 0 keeps getopt from printing on its own.
	 */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:c:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli->file = optarg;
			continue;
		case 'h':
			cli->help = true;
			goto out;
		case OPT_VERSION:
			cli->version = true;
			goto out;
		case OPT_FOREGROUND:
			cli->foreground = true;
			continue;
		case OPT_CHECK_CONFIG:
			cli->check_config = true;
			continue;
		case OPT_REQUIRE_UNPRIVILEGED:
			cli->require_unprivileged = true;
			continue;
		case OPT_LISTEN:
			id = KEY_LISTEN;
			break;
		case OPT_UPSTREAM:
			id = KEY_UPSTREAM;
			break;
		case OPT_FWSYNC_SOCKET:
			id = KEY_FWSYNC_SOCKET;
			break;
		case OPT_METRICS:
			id = KEY_METRICS_LISTEN;
			break;
		case ':':
			set_err(b, "command line: %s: missing argument", opt_name(optopt));
			rc = -EINVAL;
			goto out;
		default:
			if (optopt >= 256) {
				set_err(b, "command line: %s: takes no argument", opt_name(optopt));
			} else if (optopt != 0) {
				set_err(b, "command line: -%c: unknown option", optopt);
			} else {
				/* getopt_long leaves optopt 0 for an unknown or ambiguous long
				 * option. */
				const char *arg = argv[optind - 1];
				size_t len = strcspn(arg, "=");

				set_err(b, "command line: %.*s: unknown option",
					(int)(len > QUOTE_MAX ? QUOTE_MAX : len), arg);
			}
			rc = -EINVAL;
			goto out;
		}
		opts[*n_opts].id = id;
		opts[*n_opts].opt = opt_name(c);
		opts[*n_opts].value = optarg;
		rc = apply_argv(&sb, &opts[*n_opts], 1);
		if (rc != 0)
			goto out;
		(*n_opts)++;
	}
	if (optind < argc) {
		set_err(b, "command line: %.*s: unexpected argument", QUOTE_MAX, argv[optind]);
		rc = -EINVAL;
	}
out:
	opterr = saved_opterr;
	free_fields(&scratch);
	return rc;
}

static void format_origin(const struct builder *b, enum key_id id, char *out, size_t cap)
{
	const struct origin *o = &b->origin[id];

	switch (o->layer) {
	case LAYER_FILE:
		snprintf(out, cap, "%s:%u: %s", b->cfg->file, o->line, keys[id].name);
		break;
	case LAYER_ENV:
		snprintf(out, cap, "environment: %s", o->name);
		break;
	case LAYER_ARGV:
		snprintf(out, cap, "command line: %s", o->name);
		break;
	case LAYER_RESOLV:
		snprintf(out, cap, "%s: nameserver", b->resolv_conf);
		break;
	default:
		snprintf(out, cap, "defaults: %s", keys[id].name);
		break;
	}
}

static bool origin_later(const struct origin *a, const struct origin *b)
{
	return a->layer > b->layer || (a->layer == b->layer && a->line > b->line);
}

/* Cross-key checks, run once every layer is applied. */
static int check_config(struct builder *b)
{
	struct config *cfg = b->cfg;
	char where[4096 + 64], addr[64];
	size_t i, j;

	if (cfg->min_ttl > cfg->max_ttl) {
		if (origin_later(&b->origin[KEY_MIN_TTL], &b->origin[KEY_MAX_TTL])) {
			format_origin(b, KEY_MIN_TTL, where, sizeof(where));
			set_err(b, "%s: greater than max_ttl (%u > %u)", where,
				(unsigned)cfg->min_ttl, (unsigned)cfg->max_ttl);
		} else {
			format_origin(b, KEY_MAX_TTL, where, sizeof(where));
			set_err(b, "%s: less than min_ttl (%u < %u)", where, (unsigned)cfg->max_ttl,
				(unsigned)cfg->min_ttl);
		}
		return -EINVAL;
	}
	if (cfg->n_listen == 0) {
		format_origin(b, KEY_LISTEN, where, sizeof(where));
		set_err(b, "%s: no listen address", where);
		return -EINVAL;
	}
	/* The metrics endpoint's certificate and key go together, and must be
	 * readable now: a typo is a start-up error, not a silent plain-HTTP
	 * endpoint. Without metrics_listen they are not used. */
	if (cfg->has_metrics && (cfg->metrics_tls_cert == NULL) != (cfg->metrics_tls_key == NULL)) {
		enum key_id set =
			cfg->metrics_tls_cert != NULL ? KEY_METRICS_TLS_CERT : KEY_METRICS_TLS_KEY;

		format_origin(b, set, where, sizeof(where));
		set_err(b, "%s: needs %s too", where,
			set == KEY_METRICS_TLS_CERT ? "metrics_tls_key" : "metrics_tls_cert");
		return -EINVAL;
	}
	for (i = 0; cfg->has_metrics && i < 2; i++) {
		enum key_id id = i == 0 ? KEY_METRICS_TLS_CERT : KEY_METRICS_TLS_KEY;
		const char *path = *(char *const *)((const char *)cfg + keys[id].off);
		FILE *fp;

		if (path == NULL)
			continue;
		fp = fopen(path, "r");
		if (fp == NULL) {
			int saved = errno;

			format_origin(b, id, where, sizeof(where));
			set_err(b, "%s: cannot read %.*s: %s", where, QUOTE_MAX, path,
				strerror(saved));
			return -EINVAL;
		}
		fclose(fp);
	}
	for (i = 0; i < cfg->n_upstream; i++) {
		for (j = 0; j < cfg->n_listen; j++) {
			if (!netaddr_equal((struct sockaddr *)&cfg->upstream[i].ss,
					   (struct sockaddr *)&cfg->listen[j].ss))
				continue;
			format_origin(b, KEY_UPSTREAM, where, sizeof(where));
			netaddr_format((struct sockaddr *)&cfg->upstream[i].ss, addr, sizeof(addr));
			set_err(b, "%s: %s is also a listen address (forwarding loop)", where,
				addr);
			return -EINVAL;
		}
	}
	return 0;
}

static int set_defaults(struct builder *b)
{
	struct config *cfg = b->cfg;
	struct netaddr na;
	struct cidr c;
	long cpus;
	size_t i;

	if (netaddr_parse("127.0.0.1:53", 53, &na) != 0 ||
	    append((void **)&cfg->listen, 0, sizeof(na), &na) != 0)
		return -ENOMEM;
	cfg->n_listen = 1;
	for (i = 0; i < sizeof(default_allow_clients) / sizeof(default_allow_clients[0]); i++) {
		if (cidr_parse(default_allow_clients[i], &c) != 0 ||
		    append((void **)&cfg->allow_clients, cfg->n_allow_clients, sizeof(c), &c) != 0)
			return -ENOMEM;
		cfg->n_allow_clients++;
	}
	cfg->egress_policy = POLICY_UNRESTRICTED;
	cfg->block_metadata_endpoint = false;
	cfg->rebinding_guard = true;
	cfg->cache_size = 65536;
	cfg->min_ttl = 0;
	cfg->max_ttl = 86400;
	cfg->blocked_ttl = 30;
	cfg->serve_stale = true;
	cfg->upstream_timeout_ms = 1000;
	cfg->fwsync_wait_ms = 0;
	cfg->tcp_idle_timeout_ms = 10000;
	cfg->max_tcp_clients = 1024;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->threads = cpus < 1 ? 1 : cpus > THREADS_MAX ? THREADS_MAX : (uint32_t)cpus;
	cfg->log_queries = LOG_QUERIES_BLOCKED;
	return 0;
}

int config_build(int argc, char **argv, char *const *envp, const char *resolv_conf,
		 struct config **out, struct config_cli *cli, char *err, size_t errlen)
{
	struct config_cli local_cli;
	struct argopt *opts = NULL;
	struct builder b = {.err = err, .errlen = errlen, .resolv_conf = resolv_conf};
	size_t n_opts = 0;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cli == NULL)
		cli = &local_cli;
	memset(cli, 0, sizeof(*cli));
	if (out == NULL)
		return -EINVAL;
	*out = NULL;

	b.cfg = calloc(1, sizeof(*b.cfg));
	opts = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*opts));
	if (b.cfg == NULL || opts == NULL) {
		rc = -ENOMEM;
		set_err(&b, "out of memory");
		goto out;
	}

	rc = parse_argv(&b, argc, argv, cli, opts, &n_opts);
	if (rc != 0 || cli->help || cli->version)
		goto out;

	b.layer = LAYER_DEFAULT;
	rc = set_defaults(&b);
	if (rc != 0) {
		set_err(&b, "out of memory");
		goto out;
	}

	if (cli->file != NULL) {
		b.cfg->file = strdup(cli->file);
		if (b.cfg->file == NULL) {
			rc = -ENOMEM;
			set_err(&b, "out of memory");
			goto out;
		}
		b.layer = LAYER_FILE;
		memset(b.touched, 0, sizeof(b.touched));
		rc = load_file(&b, b.cfg->file);
		if (rc != 0)
			goto out;
	}

	b.layer = LAYER_ENV;
	memset(b.touched, 0, sizeof(b.touched));
	rc = load_env(&b, envp);
	if (rc != 0)
		goto out;

	b.layer = LAYER_ARGV;
	memset(b.touched, 0, sizeof(b.touched));
	rc = apply_argv(&b, opts, n_opts);
	if (rc != 0)
		goto out;

	if (b.cfg->n_upstream == 0) {
		b.cfg->n_upstream = config_resolv_conf(resolv_conf, &b.cfg->upstream);
		if (b.cfg->n_upstream == 0) {
			set_err(&b,
				"no upstream: none configured and no nameserver in %s; set "
				"upstream, LOKI_UPSTREAM or --upstream",
				resolv_conf != NULL ? resolv_conf : "(no resolv.conf)");
			rc = -EINVAL;
			goto out;
		}
		b.layer = LAYER_RESOLV;
		set_origin(&b, KEY_UPSTREAM, 0, NULL);
	}

	rc = check_config(&b);
	if (rc != 0)
		goto out;
	*out = b.cfg;
	b.cfg = NULL;
out:
	config_free(b.cfg);
	free(opts);
	return rc;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free_fields(cfg);
	free(cfg);
}

/* A resolv.conf nameserver: a bare IPv4 or IPv6 address, port 53. */
static int resolv_addr(const char *word, struct netaddr *na)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&na->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&na->ss;

	memset(na, 0, sizeof(*na));
	if (inet_pton(AF_INET, word, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(53);
		na->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, word, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(53);
		na->len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

size_t config_resolv_conf(const char *path, struct netaddr **out)
{
	struct netaddr *list = NULL, na;
	char *line = NULL, *p, *word, *save = NULL;
	size_t cap = 0, n = 0;
	FILE *fp;

	*out = NULL;
	if (path == NULL)
		return 0;
	fp = fopen(path, "r");
	if (fp == NULL)
		return 0;
	/*
	 * resolv.conf(5): "nameserver ADDR" with an IPv4 or IPv6 address; '#'
	 * or ';' in the first column starts a comment. Anything that does not
	 * parse (an IPv6 address with a "%scope", say) is skipped.
	 */
	while (getline(&line, &cap, fp) != -1) {
		p = line;
		while (is_space(*p))
			p++;
		if (*p == '#' || *p == ';')
			continue;
		word = strtok_r(p, " \t\r\n", &save);
		if (word == NULL || strcmp(word, "nameserver") != 0)
			continue;
		word = strtok_r(NULL, " \t\r\n#;", &save);
		if (word == NULL || resolv_addr(word, &na) != 0)
			continue;
		if (append((void **)&list, n, sizeof(na), &na) != 0)
			break;
		n++;
	}
	free(line);
	fclose(fp);
	if (n == 0) {
		free(list);
		return 0;
	}
	*out = list;
	return n;
}

static void print_u32(const struct config *cfg, enum key_id id, FILE *fp)
{
	fprintf(fp, "%s = %u\n", keys[id].name,
		(unsigned)*(const uint32_t *)((const char *)cfg + keys[id].off));
}

void config_print(const struct config *cfg, FILE *fp)
{
	char buf[64];
	size_t i;
	int id;

	if (cfg == NULL || fp == NULL)
		return;
	fprintf(fp, "# loki-resolver effective configuration\n");
	for (id = 0; id < KEY_COUNT; id++) {
		const char *name = keys[id].name;

		switch ((enum key_id)id) {
		case KEY_LISTEN:
			for (i = 0; i < cfg->n_listen; i++) {
				netaddr_format((const struct sockaddr *)&cfg->listen[i].ss, buf,
					       sizeof(buf));
				fprintf(fp, "%s = %s\n", name, buf);
			}
			break;
		case KEY_UPSTREAM:
			for (i = 0; i < cfg->n_upstream; i++) {
				netaddr_format((const struct sockaddr *)&cfg->upstream[i].ss, buf,
					       sizeof(buf));
				fprintf(fp, "%s = %s\n", name, buf);
			}
			break;
		case KEY_EGRESS_POLICY:
			fprintf(fp, "%s = %s\n", name,
				(size_t)cfg->egress_policy <
						sizeof(policy_names) / sizeof(policy_names[0])
					? policy_names[cfg->egress_policy]
					: "?");
			break;
		case KEY_ALLOWED_HOSTS:
			if (cfg->n_allowed_hosts == 0)
				fprintf(fp, "# %s: none\n", name);
			for (i = 0; i < cfg->n_allowed_hosts; i++)
				fprintf(fp, "%s = %s\n", name, cfg->allowed_hosts[i]);
			break;
		case KEY_ZONE:
			if (cfg->n_zones == 0)
				fprintf(fp, "# %s: none besides the built-in zone\n", name);
			for (i = 0; i < cfg->n_zones; i++)
				fprintf(fp, "%s = %s\n", name, cfg->zones[i]);
			break;
		case KEY_ALLOW_CLIENTS:
			if (cfg->n_allow_clients == 0)
				fprintf(fp, "# %s: none\n", name);
			for (i = 0; i < cfg->n_allow_clients; i++) {
				cidr_format(&cfg->allow_clients[i], buf, sizeof(buf));
				fprintf(fp, "%s = %s\n", name, buf);
			}
			break;
		case KEY_BLOCK_METADATA_ENDPOINT:
		case KEY_REBINDING_GUARD:
		case KEY_SERVE_STALE:
			fprintf(fp, "%s = %s\n", name,
				*(const bool *)((const char *)cfg + keys[id].off) ? "true"
										  : "false");
			break;
		case KEY_FWSYNC_SOCKET:
			if (cfg->fwsync_socket == NULL)
				fprintf(fp, "# %s: none\n", name);
			else
				fprintf(fp, "%s = %s\n", name, cfg->fwsync_socket);
			break;
		case KEY_METRICS_LISTEN:
			if (!cfg->has_metrics) {
				fprintf(fp, "# %s: none\n", name);
			} else {
				netaddr_format((const struct sockaddr *)&cfg->metrics_listen.ss,
					       buf, sizeof(buf));
				fprintf(fp, "%s = %s\n", name, buf);
			}
			break;
		case KEY_METRICS_TLS_CERT:
		case KEY_METRICS_TLS_KEY:
		case KEY_QUERY_LOG_FILE: {
			const char *path = *(char *const *)((const char *)cfg + keys[id].off);

			if (path == NULL)
				fprintf(fp, "# %s: none\n", name);
			else
				fprintf(fp, "%s = %s\n", name, path);
			break;
		}
		case KEY_USER:
			if (cfg->user == NULL)
				fprintf(fp, "# %s: none\n", name);
			else
				fprintf(fp, "%s = %s\n", name, cfg->user);
			break;
		case KEY_LOG_QUERIES:
			fprintf(fp, "%s = %s\n", name,
				(size_t)cfg->log_queries < sizeof(log_queries_names) /
								   sizeof(log_queries_names[0])
					? log_queries_names[cfg->log_queries]
					: "?");
			break;
		default:
			print_u32(cfg, (enum key_id)id, fp);
			break;
		}
	}
}
