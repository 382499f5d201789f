/*
 * The query audit log (see qlog.h). Its one piece of process-wide state is
 * the descriptor the lines go to: standard error until qlog_open names a
 * file, then a descriptor of our own that later reopens replace in place
 * with dup2(2) and that is never closed while workers run.
 */
#include "qlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "netaddr.h"
#include "wire.h"

static atomic_int qlog_fd = STDERR_FILENO;
static int qlog_own_fd = -1; /* main thread only */

int qlog_open(const char *path, char *err, size_t errlen)
{
	int fd, saved;

	if (path == NULL) {
		/* Back to standard error; a file descriptor of our own now
		 * points there too, so a writer holding it is still fine. */
		if (qlog_own_fd >= 0 && dup2(STDERR_FILENO, qlog_own_fd) < 0) {
			saved = errno;
			snprintf(err, errlen, "standard error: %s", strerror(saved));
			return -saved;
		}
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		return -saved;
	}
	if (qlog_own_fd < 0) {
		qlog_own_fd = fd;
		atomic_store(&qlog_fd, fd);
		return 0;
	}
	if (dup2(fd, qlog_own_fd) < 0) {
		saved = errno;
		close(fd);
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		return -saved;
	}
	close(fd);
	return 0;
}

void qlog_close(void)
{
	if (qlog_own_fd < 0)
		return;
	atomic_store(&qlog_fd, STDERR_FILENO);
	close(qlog_own_fd);
	qlog_own_fd = -1;
}

/*
 * Civil date from days since 1970-01-01 (H. Hinnant, "chrono-Compatible
 * Low-Level Date Algorithms"). gmtime_r would do, but glibc takes a lock
 * in it, and the blocked path takes none.
 */
static void civil(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

size_t qlog_time(uint64_t now_ms, char *out, size_t cap)
{
	uint64_t s = now_ms / 1000;
	unsigned sod = (unsigned)(s % 86400), m, d;
	int y, n;

	civil((int64_t)(s / 86400), &y, &m, &d);
	n = snprintf(out, cap, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m, d, sod / 3600,
		     sod / 60 % 60, sod % 60, (unsigned)(now_ms % 1000));
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static const char *type_name(uint16_t t)
{
	switch (t) {
	case 1:
		return "A";
	case 2:
		return "NS";
	case 5:
		return "CNAME";
	case 6:
		return "SOA";
	case 12:
		return "PTR";
	case 13:
		return "HINFO";
	case 15:
		return "MX";
	case 16:
		return "TXT";
	case 28:
		return "AAAA";
	case 33:
		return "SRV";
	case 35:
		return "NAPTR";
	case 43:
		return "DS";
	case 46:
		return "RRSIG";
	case 47:
		return "NSEC";
	case 48:
		return "DNSKEY";
	case 50:
		return "NSEC3";
	case 52:
		return "TLSA";
	case 64:
		return "SVCB";
	case 65:
		return "HTTPS";
	case 251:
		return "IXFR";
	case 252:
		return "AXFR";
	case 255:
		return "ANY";
	case 257:
		return "CAA";
	default:
		return NULL;
	}
}

static const char *action_name(enum qlog_action a)
{
	switch (a) {
	case QLOG_ALLOWED:
		return "allowed";
	case QLOG_BLOCKED:
		return "blocked";
	case QLOG_FILTERED:
		return "filtered";
	case QLOG_REFUSED:
		return "refused";
	case QLOG_SERVFAIL:
		return "servfail";
	case QLOG_STALE:
		return "stale";
	}
	return "unknown";
}

static const char *rcode_name(int rcode)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					    "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					    "NXRRSET", "NOTAUTH", "NOTZONE"};

	return rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]) ? names[rcode] : NULL;
}

/* A bounded appender: after an overflow every call does nothing. */
struct out {
	char *p;
	size_t n, cap;
	bool full;
};

static void put(struct out *o, const char *s, size_t len)
{
	if (o->full || o->n + len >= o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, s, len);
	o->n += len;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* A JSON string (RFC 8259 section 7) with its quotes. */
static void put_json(struct out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	put(o, "\"", 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};

			put(o, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			/* Names reach us as presentation text, which is ASCII;
			 * anything else is escaped rather than trusted. */
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			put(o, e, 6);
		} else {
			put(o, (const char *)&s[i], 1);
		}
	}
	put(o, "\"", 1);
}

static void put_field(struct out *o, const char *key, const char *value)
{
	put(o, ",\"", 2);
	puts_(o, key);
	put(o, "\":", 2);
	put_json(o, value, strlen(value));
}

size_t qlog_format(const struct qlog_entry *e, uint64_t now_ms, char *buf, size_t cap)
{
	struct out o = {.p = buf, .cap = cap};
	char text[4 * DNS_NAME_MAX + 1], addr[64], num[32];
	const char *tn;
	size_t tl;

	if (cap == 0)
		return 0;
	qlog_time(now_ms, num, sizeof(num));
	puts_(&o, "{\"time\":\"");
	puts_(&o, num);
	put(&o, "\"", 1);
	if (e->client != NULL && netaddr_format_ip(e->client, addr, sizeof(addr)) > 0)
		put_field(&o, "client", addr);
	tl = wire_name_to_text(e->name, e->name_len, text, sizeof(text));
	put(&o, ",\"name\":", 8);
	put_json(&o, text, tl);
	tn = type_name(e->qtype);
	if (tn == NULL) {
		snprintf(num, sizeof(num), "TYPE%u", (unsigned)e->qtype);
		tn = num;
	}
	put_field(&o, "type", tn);
	put_field(&o, "action", action_name(e->action));
	if (e->policy != NULL)
		put_field(&o, "policy", e->policy);
	if (e->reason != NULL)
		put_field(&o, "reason", e->reason);
	if (e->upstream != NULL && netaddr_format(e->upstream, addr, sizeof(addr)) > 0)
		put_field(&o, "upstream", addr);
	if (e->rtt_us >= 0) {
		snprintf(num, sizeof(num), ",\"rtt\":%llu.%03u",
			 (unsigned long long)(e->rtt_us / 1000), (unsigned)(e->rtt_us % 1000));
		puts_(&o, num);
	}
	if (e->rcode >= 0) {
		if (rcode_name(e->rcode) != NULL) {
			put_field(&o, "rcode", rcode_name(e->rcode));
		} else {
			snprintf(num, sizeof(num), ",\"rcode\":\"RCODE%d\"", e->rcode);
			puts_(&o, num);
		}
	}
	put(&o, "}\n", 2);
	if (o.full)
		return 0;
	buf[o.n] = '\0';
	return o.n;
}

static void qlog_put(const char *data, size_t n)
{
	ssize_t w;

	/* One write per call; a short write or an error loses (part of) these
	 * lines only, and there is nobody to tell. */
	do {
		w = write(atomic_load_explicit(&qlog_fd, memory_order_relaxed), data, n);
	} while (w < 0 && errno == EINTR);
}

static uint64_t qlog_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void qlog_flush(struct qlog_buf *b)
{
	if (b->len > 0)
		qlog_put(b->data, b->len);
	b->len = 0;
}

void qlog_buffer(struct qlog_buf *b, const struct qlog_entry *e)
{
	uint64_t now = qlog_now_ms();
	size_t n = qlog_format(e, now, b->data + b->len, sizeof(b->data) - b->len);

	if (n == 0 && b->len > 0) {
		qlog_flush(b);
		n = qlog_format(e, now, b->data, sizeof(b->data));
	}
	b->len += n;
}

void qlog_write(const struct qlog_entry *e)
{
	char line[QLOG_LINE_MAX];
	size_t n = qlog_format(e, qlog_now_ms(), line, sizeof(line));

	if (n > 0)
		qlog_put(line, n);
}
