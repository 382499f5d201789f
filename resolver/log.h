/*
 * Logging: one line per message on stderr, "LEVEL tag: text". The level is
 * checked before anything is formatted, so a disabled debug line costs one
 * compare. Per-query lines are never logged at info level or above; they go
 * through log_queries (JSON lines) instead.
 */
#ifndef LOKI_LOG_H
#define LOKI_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <syslog.h>

extern int log_level; /* LOG_ERR .. LOG_DEBUG; default LOG_INFO */

void log_set_level(int level);
/* The program name that starts every line (default "loki-resolver"). */
void log_set_ident(const char *ident);
void log_msg(int level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_enabled(level) ((level) <= log_level)
#define log_err(tag, ...)                                                                          \
	do {                                                                                       \
		if (log_enabled(LOG_ERR))                                                          \
			log_msg(LOG_ERR, tag, __VA_ARGS__);                                        \
	} while (0)
#define log_warn(tag, ...)                                                                         \
	do {                                                                                       \
		if (log_enabled(LOG_WARNING))                                                      \
			log_msg(LOG_WARNING, tag, __VA_ARGS__);                                    \
	} while (0)
#define log_info(tag, ...)                                                                         \
	do {                                                                                       \
		if (log_enabled(LOG_INFO))                                                         \
			log_msg(LOG_INFO, tag, __VA_ARGS__);                                       \
	} while (0)
#define log_debug(tag, ...)                                                                        \
	do {                                                                                       \
		if (log_enabled(LOG_DEBUG))                                                        \
			log_msg(LOG_DEBUG, tag, __VA_ARGS__);                                      \
	} while (0)

/*
 * A limit hit by a flood (max_tcp_clients, the in-flight cap, ...) is
 * logged at most once per LOG_LIMIT_INTERVAL_MS per kind, with the count
 * since the last line, so a flood cannot flood the log. The counters are
 * shared by every worker thread (they live in worker_shared).
 */
#define LOG_LIMIT_INTERVAL_MS 10000
struct log_limit {
	atomic_uint_fast64_t last_ms;
	atomic_uint_fast64_t count;
};
/* Counts one event; returns the number to report if a line is due now (the
 * events since the last line, this one included), else 0. now_ms > 0. */
uint64_t log_limit_hit(struct log_limit *r, uint64_t now_ms);
/* Counts one event of r and, when a line is due, logs fmt at warning level
 * followed by " (N time(s); logged at most every S s)". Returns what
 * log_limit_hit returned. */
uint64_t log_warn_limited(struct log_limit *r, uint64_t now_ms, const char *tag, const char *fmt,
			  ...) __attribute__((format(printf, 4, 5)));

#endif
