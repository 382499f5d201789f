/*
 * nftables through libnftables (nftables/libnftables.h): every change is
 * command text in nft's own syntax, run with nft_run_cmd_from_buffer, which
 * commits the whole text as one netlink batch, that is one transaction. The
 * same text is what --dry-run prints.
 *
 * Refreshing an element's expiry. On kernels before "netfilter: nf_tables:
 * set element timeout update support" (Linux 6.10), adding an element that
 * is already in the set changes nothing. Later kernels update it, but only
 * when the new timeout differs or an expiration is given explicitly
 * (nft_add_set_elem in net/netfilter/nf_tables_api.c); re-adding with the
 * same timeout alone still leaves the expiry where it was. So the "add"
 * strategy always writes "timeout T expires T", and the "replace" strategy,
 * which works on every kernel, writes add + delete + add: the first add
 * makes sure the delete finds the element, the second creates it afresh.
 *
 * Deleting. A "delete element" of an element that is not in the set fails
 * the whole transaction, and an element can vanish on its own when its
 * timeout runs out. A del is therefore written as add (timeout 1s) +
 * delete, which removes the element whether or not it was there.
 */
#define _GNU_SOURCE /* memmem, asprintf */
#include "nft.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "strbuf.h"

#define TAG "nft"

/* Failures logged one by one in the per-element retry; the rest are counted. */
#define RETRY_LOG_MAX 10

struct fwnft {
	struct nft_ctx *ctx;
	char family[16];
	char table[FWNFT_NAME_MAX + 1];
	char set4[FWNFT_NAME_MAX + 1];
	char set6[FWNFT_NAME_MAX + 1];
	enum fwnft_refresh refresh;
	bool dry_run;
	FILE *dry_out;
	char *err; /* nft's error text of the last failure, or NULL */
};

const char *fwnft_refresh_name(enum fwnft_refresh mode)
{
	switch (mode) {
	case FWNFT_REFRESH_AUTO:
		return "auto";
	case FWNFT_REFRESH_ADD:
		return "add";
	case FWNFT_REFRESH_REPLACE:
		return "replace";
	}
	return "?";
}

/*
 * nft identifiers are a letter or '_' followed by letters, digits, '_', '-'
 * or '.' (the "identifier" rule of src/scanner.l); anything else could
 * inject syntax into the command text.
 */
static bool valid_name(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > FWNFT_NAME_MAX || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 1; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

static bool valid_family(const char *s)
{
	static const char *const families[] = {"inet", "ip", "ip6", "bridge", "netdev"};
	size_t i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strcmp(s, families[i]) == 0)
			return true;
	return false;
}

int fwnft_new(const struct fwnft_opts *opts, struct fwnft **out, char *err, size_t errlen)
{
	struct fwnft *n = NULL;
	int rc = -EINVAL;

	*out = NULL;
	if (!valid_family(opts->family)) {
		snprintf(err, errlen, "bad table family '%s' (inet, ip, ip6, bridge or netdev)",
			 opts->family);
		goto out;
	}
	if (!valid_name(opts->table) || !valid_name(opts->set4) || !valid_name(opts->set6)) {
		snprintf(err, errlen,
			 "bad table or set name (a letter or '_', then letters, digits, '_', "
			 "'-' or '.'; at most %d characters)",
			 FWNFT_NAME_MAX);
		goto out;
	}
	if (strcmp(opts->set4, opts->set6) == 0) {
		snprintf(err, errlen, "--set4 and --set6 must differ");
		goto out;
	}
	rc = -ENOMEM;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		goto out;
	n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (n->ctx == NULL || nft_ctx_buffer_output(n->ctx) != 0 ||
	    nft_ctx_buffer_error(n->ctx) != 0) {
		snprintf(err, errlen, "cannot create an nftables context");
		goto out;
	}
	snprintf(n->family, sizeof(n->family), "%s", opts->family);
	snprintf(n->table, sizeof(n->table), "%s", opts->table);
	snprintf(n->set4, sizeof(n->set4), "%s", opts->set4);
	snprintf(n->set6, sizeof(n->set6), "%s", opts->set6);
	n->refresh = opts->refresh;
	n->dry_run = opts->dry_run;
	n->dry_out = opts->dry_out != NULL ? opts->dry_out : stdout;
	*out = n;
	n = NULL;
	rc = 0;
out:
	fwnft_free(n);
	return rc;
}

void fwnft_free(struct fwnft *n)
{
	if (n == NULL)
		return;
	if (n->ctx != NULL)
		nft_ctx_free(n->ctx);
	free(n->err);
	free(n);
}

const char *fwnft_error(const struct fwnft *n)
{
	return n->err != NULL ? n->err : "";
}

void fwnft_set_refresh(struct fwnft *n, enum fwnft_refresh mode)
{
	n->refresh = mode;
}

enum fwnft_refresh fwnft_get_refresh(const struct fwnft *n)
{
	return n->refresh;
}

static void set_error(struct fwnft *n, const char *text)
{
	free(n->err);
	n->err = text != NULL && text[0] != '\0' ? strdup(text) : NULL;
}

/*
 * libnftables reports failures only as text; the errno of the kernel's
 * answer is in it as strerror() text ("Could not process rule: Operation
 * not permitted").
 */
static int error_code(const char *text)
{
	if (strstr(text, strerror(EPERM)) != NULL)
		return -EPERM;
	if (strstr(text, strerror(ENOENT)) != NULL)
		return -ENOENT;
	return -EIO;
}

/* Runs text; the output stays in the context's buffer for the caller. */
static int run_text(struct fwnft *n, const char *cmds)
{
	const char *errtext;
	int rc;

	rc = nft_run_cmd_from_buffer(n->ctx, cmds);
	errtext = nft_ctx_get_error_buffer(n->ctx);
	if (rc == 0) {
		set_error(n, NULL);
		return 0;
	}
	set_error(n,
		  errtext != NULL && errtext[0] != '\0' ? errtext : "nft failed without a message");
	return error_code(n->err);
}

int fwnft_run(struct fwnft *n, const char *cmds)
{
	int rc = run_text(n, cmds);

	(void)nft_ctx_get_output_buffer(n->ctx); /* drop the output */
	return rc;
}

/*
 * nft's error text in one line for the log. nft writes three lines per
 * error (the message, the command, a line of carets under the culprit) and
 * repeats them for every failing command of a batch, so only the first
 * message is kept, with a count of the others. The command line is left out
 * because nft 1.0.6 quotes the first line of a multi-line buffer for every
 * error, whichever command failed; the per-element retry names the address.
 */
static const char *error_line(const struct fwnft *n, char *buf, size_t len)
{
	const char *s = fwnft_error(n);
	const char *msg = NULL;
	size_t msg_len = 0, errors = 0;

	while (*s != '\0') {
		const char *eol = strchr(s, '\n');
		size_t l = eol != NULL ? (size_t)(eol - s) : strlen(s);

		if (memmem(s, l, "Error", 5) != NULL && errors++ == 0) {
			msg = s;
			msg_len = l;
		}
		s += l + (eol != NULL ? 1 : 0);
	}
	if (msg == NULL) {
		msg = fwnft_error(n);
		msg_len = strcspn(msg, "\n");
	}
	if (errors > 1)
		snprintf(buf, len, "%.*s (and %zu more errors)", (int)msg_len, msg, errors - 1);
	else
		snprintf(buf, len, "%.*s", (int)msg_len, msg);
	return buf;
}

int fwnft_ensure(struct fwnft *n)
{
	struct strbuf b = {0};
	const char *out;
	const char *sets[2] = {n->set4, n->set6};
	int rc = -ENOMEM, i;
	unsigned int flags;

	strbuf_printf(&b, "add table %s %s\n", n->family, n->table);
	strbuf_printf(&b, "add set %s %s %s { type ipv4_addr; flags timeout; }\n", n->family,
		      n->table, n->set4);
	strbuf_printf(&b, "add set %s %s %s { type ipv6_addr; flags timeout; }\n", n->family,
		      n->table, n->set6);
	if (b.failed)
		goto out;
	if (n->dry_run) {
		fputs(b.p, n->dry_out);
		fflush(n->dry_out);
		rc = 0;
		goto out;
	}
	rc = fwnft_run(n, b.p);
	if (rc != 0 && strstr(fwnft_error(n), strerror(EEXIST)) != NULL) {
		char *msg = NULL;

		/* The kernel's EEXIST for "add set" means a set of that name with
		 * another type or other flags. */
		if (asprintf(&msg,
			     "%sset %s or %s of table %s %s exists with another type or without "
			     "\"flags timeout\"; delete it or name another set\n",
			     fwnft_error(n), n->set4, n->set6, n->family, n->table) >= 0) {
			set_error(n, msg);
			free(msg);
		}
		rc = -EINVAL;
	}
	if (rc != 0)
		goto out;

	/*
	 * An existing set is kept as it is, so check that it takes timeouts:
	 * every element is written with one. The terse listing leaves the
	 * elements out.
	 */
	flags = nft_ctx_output_get_flags(n->ctx);
	nft_ctx_output_set_flags(n->ctx, flags | NFT_CTX_OUTPUT_TERSE);
	for (i = 0; i < 2 && rc == 0; i++) {
		char cmd[256];
		const char *f;

		snprintf(cmd, sizeof(cmd), "list set %s %s %s", n->family, n->table, sets[i]);
		rc = run_text(n, cmd);
		out = nft_ctx_get_output_buffer(n->ctx);
		if (rc != 0)
			break;
		f = out != NULL ? strstr(out, "flags ") : NULL;
		if (f == NULL || strstr(f, "timeout") == NULL ||
		    strchr(f, '\n') < strstr(f, "timeout")) {
			char msg[512];

			snprintf(msg, sizeof(msg),
				 "set %s %s %s exists without \"flags timeout\"; delete it or "
				 "name another set",
				 n->family, n->table, sets[i]);
			set_error(n, msg);
			rc = -EINVAL;
		}
	}
	nft_ctx_output_set_flags(n->ctx, flags);
out:
	free(b.p);
	return rc;
}

bool fwnft_addr_forbidden(int family, const uint8_t *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[12] = {0};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

	if (family == 4) {
		/* 0.0.0.0/8 "this network" and 127.0.0.0/8 loopback (RFC 1122,
		 * 3.2.1.3), 169.254.0.0/16 link-local with the cloud metadata
		 * endpoints (RFC 3927), 224.0.0.0/4 multicast (RFC 5771) and the
		 * limited broadcast address (RFC 919). */
		return a[0] == 0 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
		       (a[0] >= 224 && a[0] <= 239) ||
		       (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255);
	}
	if (family != 6)
		return true;
	/* ff00::/8 multicast and fe80::/10 link-local (RFC 4291, 2.4). */
	if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return true;
	/* :: and ::1 have zero in their first 12 bytes and fall under the
	 * IPv4-compatible check below (0.0.0.0/8), as do the other deprecated
	 * IPv4-compatible forms (RFC 4291, 2.5.5.1). IPv4-mapped addresses
	 * (2.5.5.2) and the NAT64 well-known prefix (RFC 6052, 2.1) embed an
	 * IPv4 address that gets the IPv4 checks. */
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, zero, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return fwnft_addr_forbidden(4, a + 12);
	return false;
}

static uint32_t clamp_timeout(uint32_t t)
{
	/* A timeout of 0 would make nft add an element that never expires. */
	if (t == 0)
		return 1;
	return t > FWNFT_TIMEOUT_MAX ? FWNFT_TIMEOUT_MAX : t;
}

/* Appends the commands of one element; false if it is left out. */
static bool format_one(const struct fwnft *n, const struct fwnft_elem *e, struct strbuf *b)
{
	char addr[INET6_ADDRSTRLEN];
	const char *set;
	uint32_t t;

	if ((e->family != 4 && e->family != 6) || fwnft_addr_forbidden(e->family, e->addr))
		return false;
	if (inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, addr, sizeof(addr)) == NULL)
		return false;
	set = e->family == 4 ? n->set4 : n->set6;
	if (e->op == FWNFT_DEL) {
		strbuf_printf(b, "add element %s %s %s { %s timeout 1s }\n", n->family, n->table,
			      set, addr);
		strbuf_printf(b, "delete element %s %s %s { %s }\n", n->family, n->table, set,
			      addr);
		return true;
	}
	t = clamp_timeout(e->timeout);
	if (n->refresh == FWNFT_REFRESH_ADD) {
		strbuf_printf(b, "add element %s %s %s { %s timeout %us expires %us }\n", n->family,
			      n->table, set, addr, t, t);
		return true;
	}
	strbuf_printf(b, "add element %s %s %s { %s timeout %us }\n", n->family, n->table, set,
		      addr, t);
	strbuf_printf(b, "delete element %s %s %s { %s }\n", n->family, n->table, set, addr);
	strbuf_printf(b, "add element %s %s %s { %s timeout %us }\n", n->family, n->table, set,
		      addr, t);
	return true;
}

int fwnft_format(const struct fwnft *n, const struct fwnft_elem *e, size_t count, char **out,
		 size_t *forbidden)
{
	struct strbuf b = {0};
	size_t i, skipped = 0;
	int cmds = 0;

	*out = NULL;
	for (i = 0; i < count; i++) {
		if (format_one(n, &e[i], &b))
			cmds++;
		else
			skipped++;
	}
	/* An empty text is still a string, so that callers need no NULL check. */
	strbuf_printf(&b, "%s", "");
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	if (forbidden != NULL)
		*forbidden = skipped;
	*out = b.p;
	return cmds;
}

int fwnft_apply(struct fwnft *n, const struct fwnft_elem *e, size_t count, struct fwnft_stats *st)
{
	struct fwnft_stats dummy;
	char *text = NULL;
	char line[512];
	size_t i;
	int rc, cmds;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	cmds = fwnft_format(n, e, count, &text, &st->forbidden);
	if (cmds < 0)
		return cmds;
	rc = 0;
	if (cmds == 0)
		goto out;
	if (n->dry_run) {
		fputs(text, n->dry_out);
		fflush(n->dry_out);
		st->applied = count - st->forbidden;
		goto out;
	}
	rc = fwnft_run(n, text);
	if (rc == 0) {
		st->applied = count - st->forbidden;
		goto out;
	}
	if (rc == -EPERM)
		goto out;
	log_warn(TAG, "transaction of %zu elements failed: %s", count - st->forbidden,
		 error_line(n, line, sizeof(line)));

	/* The table or a set may have been deleted behind our back. */
	if (fwnft_ensure(n) == 0 && fwnft_run(n, text) == 0) {
		log_info(TAG, "table and sets re-created; transaction committed");
		st->applied = count - st->forbidden;
		rc = 0;
		goto out;
	}

	/* One element per transaction, so that one bad element cannot block the rest. */
	st->retried = true;
	for (i = 0; i < count; i++) {
		char *one = NULL;
		char addr[INET6_ADDRSTRLEN];

		if (fwnft_format(n, &e[i], 1, &one, NULL) <= 0) {
			free(one);
			continue;
		}
		if (fwnft_run(n, one) == 0) {
			st->applied++;
		} else {
			st->failed++;
			if (st->failed <= RETRY_LOG_MAX)
				log_warn(TAG, "%s %s failed: %s",
					 e[i].op == FWNFT_DEL ? "del" : "add",
					 inet_ntop(e[i].family == 4 ? AF_INET : AF_INET6, e[i].addr,
						   addr, sizeof(addr)) != NULL
						 ? addr
						 : "?",
					 error_line(n, line, sizeof(line)));
		}
		free(one);
	}
	log_warn(TAG, "retried element by element: %zu committed, %zu failed", st->applied,
		 st->failed);
	rc = st->applied > 0 ? 0 : -EIO;
out:
	free(text);
	return rc;
}

int fwnft_install_ruleset(struct fwnft *n, const char *path)
{
	int rc;

	if (n->dry_run)
		nft_ctx_set_dry_run(n->ctx, true);
	rc = nft_run_cmd_from_filename(n->ctx, path);
	nft_ctx_set_dry_run(n->ctx, false);
	(void)nft_ctx_get_output_buffer(n->ctx);
	if (rc == 0) {
		set_error(n, NULL);
		return 0;
	}
	{
		const char *t = nft_ctx_get_error_buffer(n->ctx);

		set_error(n, t != NULL && t[0] != '\0' ? t : "nft failed without a message");
	}
	rc = error_code(n->err);
	return rc == -ENOENT ? -EIO : rc;
}

int fwnft_parse_time(const char *s, size_t len, uint64_t *ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	uint64_t total = 0;
	size_t i = 0;

	if (len == 0)
		return -EINVAL;
	while (i < len) {
		uint64_t v = 0;
		size_t start = i, u, ul;
		bool found = false;

		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (v > UINT64_MAX / 10 - 10)
				return -ERANGE;
			v = v * 10 + (uint64_t)(s[i] - '0');
			i++;
		}
		if (i == start)
			return -EINVAL;
		start = i;
		while (i < len && isalpha((unsigned char)s[i]))
			i++;
		ul = i - start;
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			if (strlen(units[u].unit) == ul &&
			    memcmp(s + start, units[u].unit, ul) == 0) {
				total += v * units[u].ms;
				found = true;
				break;
			}
		}
		if (!found)
			return -EINVAL;
	}
	*ms = total;
	return 0;
}

static bool is_delim(char c)
{
	return c == ' ' || c == ',' || c == '{' || c == '}' || c == '\n' || c == '\t';
}

/*
 * Reads "elements = { ADDR timeout T expires E, ... }" from the text of
 * "get element": the element whose address equals addr gets its timeout
 * and expiry.
 */
static int parse_elements(const char *text, int family, const uint8_t *addr, uint64_t *timeout_ms,
			  uint64_t *expires_ms)
{
	const char *p = text != NULL ? strstr(text, "elements = {") : NULL;
	bool in_elem = false;
	char tok[64], prev[16] = "";

	if (p == NULL)
		return -ENOENT;
	p += strlen("elements = {");
	*timeout_ms = 0;
	*expires_ms = 0;
	while (*p != '\0' && *p != '}') {
		size_t len = 0;

		if (is_delim(*p)) {
			if (*p == ',' && in_elem)
				return 0;
			p++;
			continue;
		}
		while (p[len] != '\0' && !is_delim(p[len]))
			len++;
		if (len < sizeof(tok)) {
			memcpy(tok, p, len);
			tok[len] = '\0';
			if (in_elem) {
				if (strcmp(prev, "timeout") == 0 &&
				    fwnft_parse_time(tok, len, timeout_ms) != 0)
					return -EIO;
				if (strcmp(prev, "expires") == 0 &&
				    fwnft_parse_time(tok, len, expires_ms) != 0)
					return -EIO;
			} else {
				uint8_t a[16];

				if (inet_pton(family == 4 ? AF_INET : AF_INET6, tok, a) == 1 &&
				    memcmp(a, addr, family == 4 ? 4 : 16) == 0)
					in_elem = true;
			}
			if (len < sizeof(prev))
				memcpy(prev, tok, len + 1);
			else
				prev[0] = '\0';
		}
		p += len;
	}
	return in_elem ? 0 : -ENOENT;
}

int fwnft_lookup(struct fwnft *n, int family, const uint8_t *addr, uint64_t *timeout_ms,
		 uint64_t *expires_ms)
{
	char cmd[256], a[INET6_ADDRSTRLEN];
	const char *out;
	int rc;

	if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a)) == NULL)
		return -EINVAL;
	snprintf(cmd, sizeof(cmd), "get element %s %s %s { %s }", n->family, n->table,
		 family == 4 ? n->set4 : n->set6, a);
	rc = run_text(n, cmd);
	out = nft_ctx_get_output_buffer(n->ctx);
	if (rc != 0)
		return rc;
	return parse_elements(out, family, addr, timeout_ms, expires_ms);
}

int fwnft_detect_refresh(struct fwnft *n, enum fwnft_refresh *out)
{
	char probe[FWNFT_NAME_MAX + 1];
	struct fwnft p;
	struct strbuf b = {0};
	uint8_t a1[4] = {192, 0, 2, 1}, a2[4] = {192, 0, 2, 2};
	uint64_t t1, e1, t2, e2;
	int rc;

	*out = FWNFT_REFRESH_REPLACE;
	if (n->dry_run)
		return -EOPNOTSUPP;
	/* A private table, so that the probe never touches the real sets. */
	snprintf(probe, sizeof(probe), "loki_probe_%ld", (long)getpid());
	p = *n;
	snprintf(p.family, sizeof(p.family), "inet");
	snprintf(p.table, sizeof(p.table), "%s", probe);
	snprintf(p.set4, sizeof(p.set4), "s");
	p.err = NULL;

	strbuf_printf(&b, "add table inet %s\n", probe);
	strbuf_printf(&b, "add set inet %s s { type ipv4_addr; flags timeout; }\n", probe);
	strbuf_printf(&b, "add element inet %s s { 192.0.2.1 timeout 100s }\n", probe);
	strbuf_printf(&b, "add element inet %s s { 192.0.2.2 timeout 200s expires 100s }\n", probe);
	if (b.failed) {
		rc = -ENOMEM;
		goto out;
	}
	rc = fwnft_run(&p, b.p);
	if (rc != 0)
		goto out;
	b.len = 0;
	/* The first element: a longer timeout, as a TTL that grew. The second:
	 * the same timeout with an explicit expiry, as a plain refresh. */
	strbuf_printf(&b, "add element inet %s s { 192.0.2.1 timeout 200s expires 200s }\n", probe);
	strbuf_printf(&b, "add element inet %s s { 192.0.2.2 timeout 200s expires 200s }\n", probe);
	if (b.failed) {
		rc = -ENOMEM;
		goto out;
	}
	rc = fwnft_run(&p, b.p);
	if (rc == 0)
		rc = fwnft_lookup(&p, 4, a1, &t1, &e1);
	if (rc == 0)
		rc = fwnft_lookup(&p, 4, a2, &t2, &e2);
	if (rc == 0) {
		log_debug(TAG, "refresh probe: expiry %llu ms and %llu ms after re-adding",
			  (unsigned long long)e1, (unsigned long long)e2);
		*out = e1 > 150000 && e2 > 150000 ? FWNFT_REFRESH_ADD : FWNFT_REFRESH_REPLACE;
	}
out:
	if (rc != 0) {
		set_error(n, p.err);
	}
	free(p.err);
	p.err = NULL;
	b.len = 0;
	strbuf_printf(&b, "delete table inet %s\n", probe);
	if (!b.failed)
		(void)fwnft_run(&p, b.p);
	free(p.err);
	free(b.p);
	return rc;
}
