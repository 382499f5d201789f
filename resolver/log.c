#include "log.h"

#include <stdio.h>
#include <time.h>

int log_level = LOG_INFO;
static const char *log_ident = "loki-resolver";

void log_set_ident(const char *ident)
{
	log_ident = ident;
}

void log_set_level(int level)
{
	log_level = level;
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void log_msg(int level, const char *tag, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	/* Format into one buffer and write it with one call, so that lines
	 * from several worker threads never interleave. */
	n = snprintf(line, sizeof(line), "%s[%s] %s: ", log_ident, level_name(level), tag);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

uint64_t log_limit_hit(struct log_limit *r, uint64_t now_ms)
{
	uint_fast64_t last = atomic_load_explicit(&r->last_ms, memory_order_relaxed);

	atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
	if (last != 0 && now_ms - last < LOG_LIMIT_INTERVAL_MS)
		return 0;
	if (!atomic_compare_exchange_strong(&r->last_ms, &last, now_ms))
		return 0;
	return atomic_exchange(&r->count, 0);
}

uint64_t log_warn_limited(struct log_limit *r, uint64_t now_ms, const char *tag, const char *fmt,
			  ...)
{
	char text[768];
	uint64_t n = log_limit_hit(r, now_ms);
	va_list ap;

	if (n == 0 || !log_enabled(LOG_WARNING))
		return n;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_msg(LOG_WARNING, tag, "%s (%llu time(s); logged at most every %d s)", text,
		(unsigned long long)n, LOG_LIMIT_INTERVAL_MS / 1000);
	return n;
}
