/*
 * RPZ allowlist zones (draft-vixie-dnsop-dns-rpz), read with ldns's zone file
 * parser, which handles $ORIGIN, $TTL, relative names, parentheses and
 * comments as BIND, Unbound and Knot Resolver do.
 *
 * A zone is applied to the policy only when every record of it is valid:
 * records are first collected into a staging buffer, so a file with an error
 * on its last line leaves the policy as it was.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ldns/ldns.h>

#include "dns.h"
#include "policy.h"
#include "wire.h"
#include "zones.h"

/* Zone files are configuration, not bulk data; refuse anything absurd. */
#define ZONE_FILE_MAX (64u << 20)

/* Staged entries: one flags byte, one length byte, then the wire-form name. */
#define ENTRY_WILDCARD 0x01
#define ENTRY_DENY     0x02

struct staging {
	uint8_t *buf;
	size_t len;
	size_t cap;
};

/* State of one load: where we are in the text, for error messages. */
struct zone_load {
	const char *text;
	size_t len;
	const char *label;
	char *err;
	size_t errlen;
	size_t scan_pos; /* text offset up to which newlines are counted */
	int scan_line;	 /* 1 + newlines in text[0, scan_pos) */
	ldns_rdf *apex;	 /* owner of the first SOA, once seen */
	struct staging staged;
};

static void load_error(struct zone_load *z, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void load_error(struct zone_load *z, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (z->err == NULL || z->errlen == 0)
		return;
	/* Errors that belong to no line (line 0) name only the source. */
	if (line > 0)
		n = snprintf(z->err, z->errlen, "%s:%d: ", z->label, line);
	else
		n = snprintf(z->err, z->errlen, "%s: ", z->label);
	if (n < 0 || (size_t)n >= z->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(z->err + n, z->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * The line on which the entry starting at text offset pos begins: ldns reads
 * leading blank and comment lines within the same call as the record after
 * them, and its own counter also runs past trailing blank lines, so the line
 * is found here by skipping blanks and comments from the offset where the
 * call started.
 */
static int entry_line(struct zone_load *z, size_t pos)
{
	const char *t = z->text;
	size_t i;

	if (pos > z->len)
		pos = z->len;
	for (;;) {
		while (pos < z->len &&
		       (t[pos] == ' ' || t[pos] == '\t' || t[pos] == '\r' || t[pos] == '\n'))
			pos++;
		if (pos >= z->len || t[pos] != ';')
			break;
		while (pos < z->len && t[pos] != '\n')
			pos++;
	}
	if (pos >= z->len && pos > 0)
		pos = z->len - 1;
	/* Entries are met in order, so counting resumes where it stopped. */
	if (pos < z->scan_pos) {
		z->scan_pos = 0;
		z->scan_line = 1;
	}
	for (i = z->scan_pos; i < pos; i++)
		if (t[i] == '\n')
			z->scan_line++;
	z->scan_pos = pos;
	return z->scan_line;
}

static int stage(struct staging *s, const uint8_t *name, size_t len, uint8_t flags)
{
	uint8_t *buf;
	size_t cap;

	if (s->cap - s->len < len + 2) {
		cap = s->cap == 0 ? 4096 : s->cap * 2;
		while (cap - s->len < len + 2)
			cap *= 2;
		buf = realloc(s->buf, cap);
		if (buf == NULL)
			return -ENOMEM;
		s->buf = buf;
		s->cap = cap;
	}
	s->buf[s->len++] = flags;
	s->buf[s->len++] = (uint8_t)len;
	memcpy(s->buf + s->len, name, len);
	s->len += len;
	return 0;
}

/* Writes the record as one line of text (tabs to spaces, no newline) into out. */
static void rr_text(const ldns_rr *rr, char *out, size_t cap)
{
	char *s = ldns_rr2str(rr);
	size_t i, n;

	if (s == NULL) {
		snprintf(out, cap, "type %u", (unsigned)ldns_rr_get_type(rr));
		return;
	}
	n = strcspn(s, "\r\n");
	s[n] = '\0';
	for (i = 0; i < n; i++)
		if (s[i] == '\t')
			s[i] = ' ';
	snprintf(out, cap, "%s", s);
	free(s);
}

static void rdf_text(const ldns_rdf *rdf, char *out, size_t cap)
{
	char *s = ldns_rdf2str(rdf);

	snprintf(out, cap, "%s", s != NULL ? s : "?");
	free(s);
}

static int unsupported(struct zone_load *z, int line, const ldns_rr *rr)
{
	char text[512];

	rr_text(rr, text, sizeof(text));
	load_error(z, line, "unsupported RPZ record: %s", text);
	return -EINVAL;
}

/* The RPZ action of a CNAME target, as ENTRY_* flags, or -1 if unsupported. */
static int cname_action(const ldns_rdf *target)
{
	static const uint8_t passthru[] = "\x0crpz-passthru";
	uint8_t lc[DNS_NAME_MAX];
	size_t len;

	if (target == NULL || ldns_rdf_get_type(target) != LDNS_RDF_TYPE_DNAME)
		return -1;
	len = ldns_rdf_size(target);
	if (len == 0 || len > DNS_NAME_MAX)
		return -1;
	wire_name_lower(lc, ldns_rdf_data(target), len);
	if (len == sizeof(passthru) && memcmp(lc, passthru, len) == 0)
		return 0;
	/* "CNAME ." is NXDOMAIN; "CNAME *." is NODATA, which for an egress
	 * filter is a deny as well: no address may come of the name. */
	if (len == 1 && lc[0] == 0)
		return ENTRY_DENY;
	if (len == 3 && lc[0] == 1 && lc[1] == '*' && lc[2] == 0)
		return ENTRY_DENY;
	return -1;
}

/*
 * True if the last label of a trigger (the one next to the apex) names one of
 * the RPZ trigger kinds other than QNAME (section 5 of the draft): these
 * match on addresses or name servers, which we do not see.
 */
static bool special_trigger(const uint8_t *trigger, size_t len)
{
	static const char *const kinds[] = {"rpz-ip", "rpz-nsip", "rpz-nsdname", "rpz-client-ip"};
	size_t pos = 0, last = 0, i;

	while (pos < len && trigger[pos] != 0) {
		last = pos;
		pos += 1 + (size_t)trigger[pos];
	}
	if (pos == 0)
		return false;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t klen = strlen(kinds[i]);

		if (trigger[last] == klen &&
		    strncasecmp((const char *)trigger + last + 1, kinds[i], klen) == 0)
			return true;
	}
	return false;
}

static int load_rr(struct zone_load *z, const ldns_rr *rr, const ldns_rdf *origin, int line)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	const ldns_rdf *apex = z->apex != NULL ? z->apex : origin;
	ldns_rr_type type = ldns_rr_get_type(rr);
	uint8_t trigger[DNS_NAME_MAX];
	const uint8_t *name;
	size_t tlen, olen, alen;
	uint8_t flags;
	int action;

	if (apex == NULL) {
		load_error(z, line, "no $ORIGIN or SOA before the first record");
		return -EINVAL;
	}
	if (ldns_dname_compare(owner, apex) == 0) {
		/* The SOA and NS records at the apex are required by RPZ. */
		if (type == LDNS_RR_TYPE_SOA || type == LDNS_RR_TYPE_NS)
			return 0;
		return unsupported(z, line, rr);
	}
	if (!ldns_dname_is_subdomain(owner, apex)) {
		char otext[DNS_NAME_MAX * 4 + 2], atext[DNS_NAME_MAX * 4 + 2];

		rdf_text(owner, otext, sizeof(otext));
		rdf_text(apex, atext, sizeof(atext));
		load_error(z, line, "%s is outside the zone origin %s", otext, atext);
		return -EINVAL;
	}
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || type != LDNS_RR_TYPE_CNAME ||
	    ldns_rr_rd_count(rr) != 1)
		return unsupported(z, line, rr);
	action = cname_action(ldns_rr_rdf(rr, 0));
	if (action < 0)
		return unsupported(z, line, rr);

	/*
	 * The owner ends with the apex, label for label, so the trigger is the
	 * owner's leading bytes up to the apex, plus a root label.
	 */
	olen = ldns_rdf_size(owner);
	alen = ldns_rdf_size(apex);
	if (olen <= alen || olen > DNS_NAME_MAX)
		return unsupported(z, line, rr);
	tlen = olen - alen;
	memcpy(trigger, ldns_rdf_data(owner), tlen);
	trigger[tlen++] = 0;
	name = trigger;
	flags = (uint8_t)action;
	if (trigger[0] == 1 && trigger[1] == '*') {
		name += 2;
		tlen -= 2;
		flags |= ENTRY_WILDCARD;
	}
	/* "*" alone would match every name; the root is no trigger at all. */
	if (tlen <= 1 || special_trigger(name, tlen))
		return unsupported(z, line, rr);
	if (stage(&z->staged, name, tlen, flags) != 0) {
		load_error(z, line, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int parse(struct zone_load *z, FILE *fp)
{
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	int ldns_line = 0, line, rc = 0;
	ldns_status s;
	ldns_rr *rr;
	long pos;

	while (!feof(fp)) {
		pos = ftell(fp);
		if (pos < 0) {
			load_error(z, entry_line(z, z->len), "%s", strerror(errno));
			rc = -EIO;
			goto out;
		}
		rr = NULL;
		s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &ldns_line);
		line = entry_line(z, (size_t)pos);
		switch (s) {
		case LDNS_STATUS_OK:
			break;
		case LDNS_STATUS_SYNTAX_EMPTY:
		case LDNS_STATUS_SYNTAX_TTL:
		case LDNS_STATUS_SYNTAX_ORIGIN:
			/* ldns always consumes input; this guards against a
			 * parser that stops making progress. */
			if (ftell(fp) == pos && !feof(fp)) {
				load_error(z, line, "zone parser made no progress");
				rc = -EINVAL;
				goto out;
			}
			continue;
		case LDNS_STATUS_SYNTAX_INCLUDE:
			load_error(z, line, "$INCLUDE is not supported");
			rc = -EINVAL;
			goto out;
		default:
			load_error(z, line, "%s", ldns_get_errorstr_by_id(s));
			rc = s == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL;
			goto out;
		}
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && z->apex == NULL) {
			z->apex = ldns_rdf_clone(ldns_rr_owner(rr));
			/*
			 * Without $ORIGIN, ldns makes relative names absolute
			 * at the root; once the SOA names the zone, relative
			 * names below it are taken relative to the apex, as a
			 * server loading the zone under that name would.
			 */
			if (origin == NULL && z->apex != NULL)
				origin = ldns_rdf_clone(z->apex);
			if (z->apex == NULL || origin == NULL) {
				ldns_rr_free(rr);
				load_error(z, line, "out of memory");
				rc = -ENOMEM;
				goto out;
			}
		}
		rc = load_rr(z, rr, origin, line);
		ldns_rr_free(rr);
		if (rc != 0)
			goto out;
	}
out:
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return rc;
}

/* Moves every staged entry into the policy. */
static int apply(struct zone_load *z, struct policy *p)
{
	const struct staging *s = &z->staged;
	size_t pos = 0;
	int rc;

	while (pos < s->len) {
		uint8_t flags = s->buf[pos];
		uint8_t len = s->buf[pos + 1];
		const uint8_t *name = s->buf + pos + 2;
		bool wildcard = (flags & ENTRY_WILDCARD) != 0;

		if (flags & ENTRY_DENY)
			rc = policy_deny_wire(p, name, len, wildcard);
		else
			rc = policy_allow_wire(p, name, len, wildcard);
		if (rc != 0) {
			/* Staged names came from ldns and were checked above. */
			load_error(z, 0, "%s", rc == -ENOMEM ? "out of memory" : "invalid name");
			return rc;
		}
		pos += 2 + (size_t)len;
	}
	return 0;
}

int zones_load_text(struct policy *p, const char *text, size_t len, const char *label, char *err,
		    size_t errlen)
{
	struct zone_load z = {
		.text = text,
		.len = len,
		.label = label != NULL ? label : "zone",
		.err = err,
		.errlen = errlen,
		.scan_line = 1,
	};
	const char *nul, *c;
	FILE *fp = NULL;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (p == NULL || (text == NULL && len > 0)) {
		load_error(&z, 0, "invalid arguments");
		return -EINVAL;
	}
	/* An empty zone adds nothing; fmemopen() refuses a zero size. */
	if (len == 0)
		return 0;
	/*
	 * ldns tokenizes C strings, so it would silently cut a line at a NUL
	 * byte and load what came before it. A zone file is text: refuse it.
	 */
	nul = memchr(text, '\0', len);
	if (nul != NULL) {
		z.scan_line = 1;
		for (c = text; c < nul; c++)
			if (*c == '\n')
				z.scan_line++;
		load_error(&z, z.scan_line, "NUL byte in zone text");
		return -EINVAL;
	}
	fp = fmemopen((void *)text, len, "r");
	if (fp == NULL) {
		rc = -errno;
		load_error(&z, 0, "cannot read: %s", strerror(errno));
		goto out;
	}
	rc = parse(&z, fp);
	if (rc == 0)
		rc = apply(&z, p);
out:
	if (fp != NULL)
		fclose(fp);
	ldns_rdf_deep_free(z.apex);
	free(z.staged.buf);
	return rc;
}

/* Reads a whole file into a new buffer. Returns 0 or a negative errno. */
static int read_file(const char *path, char **text, size_t *len)
{
	char *buf = NULL, *grown;
	size_t n = 0, cap = 0, got;
	struct stat st;
	FILE *fp;
	int rc = 0;

	fp = fopen(path, "r");
	if (fp == NULL)
		return -errno;
	if (fstat(fileno(fp), &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= ZONE_FILE_MAX) {
				rc = -EFBIG;
				goto out;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			grown = realloc(buf, cap);
			if (grown == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			buf = grown;
		}
		got = fread(buf + n, 1, cap - n, fp);
		if (got == 0)
			break;
		n += got;
	}
	if (ferror(fp))
		rc = -EIO;
out:
	fclose(fp);
	if (rc != 0) {
		free(buf);
		buf = NULL;
		n = 0;
	}
	*text = buf;
	*len = n;
	return rc;
}

int zones_load_file(struct policy *p, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL)
		return -EINVAL;
	/* The whole text is needed anyway: error line numbers are computed
	 * from it (see entry_line()). */
	rc = read_file(path, &text, &len);
	if (rc != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
		goto out;
	}
	rc = zones_load_text(p, text, len, path, err, errlen);
out:
	free(text);
	return rc;
}
