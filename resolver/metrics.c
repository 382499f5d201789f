/*
 * Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): lines of
 * `name{labels} value`, each family led by # HELP and # TYPE, histograms as
 * cumulative _bucket{le=...} counters plus _sum and _count.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t hist_bounds_us[METRICS_HIST_BOUNDS] = {
	500,	1000,	2500,	5000,	 10000,	  25000,   50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000,
};

void metrics_hist_observe_us(struct metrics_hist *h, uint64_t us)
{
	size_t i = 0;

	while (i < METRICS_HIST_BOUNDS && us > hist_bounds_us[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (unsigned long)us, memory_order_relaxed);
}

void metrics_header(struct strbuf *b, const char *name, const char *type, const char *help)
{
	const char *h;

	/* HELP text escapes only backslash and newline. */
	strbuf_printf(b, "# HELP %s ", name);
	for (h = help; *h != '\0'; h++) {
		if (*h == '\\')
			strbuf_printf(b, "\\\\");
		else if (*h == '\n')
			strbuf_printf(b, "\\n");
		else
			strbuf_printf(b, "%c", *h);
	}
	strbuf_printf(b, "\n# TYPE %s %s\n", name, type);
}

void metrics_sample(struct strbuf *b, const char *name, const char *labels, uint64_t v)
{
	if (labels != NULL && *labels != '\0')
		strbuf_printf(b, "%s{%s} %llu\n", name, labels, (unsigned long long)v);
	else
		strbuf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

void metrics_sample_double(struct strbuf *b, const char *name, const char *labels, double v)
{
	if (labels != NULL && *labels != '\0')
		strbuf_printf(b, "%s{%s} %.6f\n", name, labels, v);
	else
		strbuf_printf(b, "%s %.6f\n", name, v);
}

void metrics_counter(struct strbuf *b, const char *name, const char *help, uint64_t v)
{
	metrics_header(b, name, "counter", help);
	metrics_sample(b, name, NULL, v);
}

void metrics_gauge(struct strbuf *b, const char *name, const char *help, uint64_t v)
{
	metrics_header(b, name, "gauge", help);
	metrics_sample(b, name, NULL, v);
}

void metrics_histogram(struct strbuf *b, const char *name, const char *help,
		       const struct metrics_hist *h)
{
	uint64_t cum = 0;
	size_t i;

	metrics_header(b, name, "histogram", help);
	for (i = 0; i <= METRICS_HIST_BOUNDS; i++) {
		cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		if (i < METRICS_HIST_BOUNDS)
			strbuf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
				      (double)hist_bounds_us[i] / 1e6, (unsigned long long)cum);
		else
			strbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
				      (unsigned long long)cum);
	}
	strbuf_printf(b, "%s_sum %.6f\n", name,
		      (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6);
	strbuf_printf(b, "%s_count %llu\n", name, (unsigned long long)cum);
}

size_t metrics_label(const char *key, const char *value, char *out, size_t cap)
{
	size_t n = 0;
	const char *v;
	int k = snprintf(out, cap, "%s=\"", key);

	if (k < 0 || (size_t)k >= cap)
		goto toolong;
	n = (size_t)k;
	for (v = value; *v != '\0'; v++) {
		const char *esc = *v == '\\'   ? "\\\\"
				  : *v == '"'  ? "\\\""
				  : *v == '\n' ? "\\n"
					       : NULL;
		size_t el = esc != NULL ? 2 : 1;

		if (n + el + 2 > cap)
			goto toolong;
		if (esc != NULL)
			memcpy(out + n, esc, 2);
		else
			out[n] = *v;
		n += el;
	}
	out[n++] = '"';
	out[n] = '\0';
	return n;
toolong:
	if (cap > 0)
		out[0] = '\0';
	return 0;
}

int metrics_respond(const char *path, void (*render)(void *arg, struct strbuf *b), void *arg,
		    char **body, size_t *len, const char **ctype)
{
	struct strbuf b;

	if (strcmp(path, "/health") == 0) {
		*body = strdup("ok");
		*len = *body != NULL ? 2 : 0;
		return 200;
	}
	if (strcmp(path, "/metrics") != 0)
		return 404;
	strbuf_init(&b);
	render(arg, &b);
	*body = strbuf_take(&b, len);
	*ctype = METRICS_CONTENT_TYPE;
	return 200;
}

void metrics_build_info(struct strbuf *b, const char *prefix, const char *version)
{
	char name[64], label[128];

	snprintf(name, sizeof(name), "%s_build_info", prefix);
	metrics_header(b, name, "gauge", "Always 1; the version label names the running build.");
	metrics_label("version", version, label, sizeof(label));
	metrics_sample(b, name, label, 1);
}
