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
