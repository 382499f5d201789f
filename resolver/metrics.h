/*
 * Prometheus text exposition format 0.0.4: a growing text buffer with the
 * HELP/TYPE lines, samples and label escaping, and a histogram whose
 * observations are lock-free (one relaxed atomic add per bucket and one for
 * the sum), so that worker threads can feed it on their serving path while
 * the metrics endpoint renders it from another thread.
 *
 * Both daemons use it: loki-resolver (loki_resolver_*) and loki-fwsync
 * (loki_fwsync_*).
 */
#ifndef LOKI_METRICS_H
#define LOKI_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The histogram's upper bounds, in microseconds (le="0.0005" ... "5"). */
#define METRICS_HIST_BOUNDS 13

struct metrics_hist {
	atomic_ulong buckets[METRICS_HIST_BOUNDS + 1]; /* per bucket, the last is +Inf */
	atomic_ulong sum_us;
};

/* Thread-safe and lock-free. */
void metrics_hist_observe_us(struct metrics_hist *h, uint64_t us);

/* "# HELP name help" (escaped) and "# TYPE name type". */
void metrics_header(struct strbuf *b, const char *name, const char *type, const char *help);
/* One sample. labels is NULL or a ready label list without braces
 * (`result="allowed"`); build values with metrics_label. */
void metrics_sample(struct strbuf *b, const char *name, const char *labels, uint64_t v);
void metrics_sample_double(struct strbuf *b, const char *name, const char *labels, double v);
/* A counter or gauge with its header and one unlabelled sample. */
void metrics_counter(struct strbuf *b, const char *name, const char *help, uint64_t v);
void metrics_gauge(struct strbuf *b, const char *name, const char *help, uint64_t v);
/* "<prefix>_build_info{version="PACKAGE_VERSION"} 1" with its header. */
void metrics_build_info(struct strbuf *b, const char *prefix, const char *version);
/* A whole histogram: header, cumulative _bucket lines, _sum (seconds) and
 * _count (the +Inf bucket, so the two always agree). */
void metrics_histogram(struct strbuf *b, const char *name, const char *help,
		       const struct metrics_hist *h);

/* Writes key="value" with value escaped (\\, \" and \n), into out (cap
 * bytes, NUL-terminated). Returns the length, 0 if it does not fit. */
size_t metrics_label(const char *key, const char *value, char *out, size_t cap);

/*
 * The two paths both daemons serve over resolver/http.c: "/health" ("ok")
 * and "/metrics" (render's text); anything else 404. Returns the status;
 * body (caller frees), len and ctype as http.c's handler wants them (body
 * NULL with status 200: out of memory, http.c answers 500).
 */
int metrics_respond(const char *path, void (*render)(void *arg, struct strbuf *b), void *arg,
		    char **body, size_t *len, const char **ctype);

#endif
