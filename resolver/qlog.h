/*
 * The query audit log (log_queries, query_log_file): one JSON object per
 * line, for example
 *
 *   {"time":"2024-05-01T12:34:56.789Z","client":"172.17.0.2",
 *    "name":"evil.example","type":"A","action":"blocked","policy":"ai-only",
 *    "reason":"not on the allowlist"}
 *
 * (one line), with "upstream" (ADDR:PORT), "rtt" (ms) and "rcode" added for
 * forwarded queries. type is the mnemonic ("AAAA") or, for a type without
 * one, its RFC 3597 form ("TYPE65280").
 *
 * Writers on any thread: a line is formatted on the caller's stack and
 * written with one write(2), so lines never interleave (O_APPEND for a
 * file; a pipe takes writes up to PIPE_BUF whole, and a line is shorter),
 * and nothing is allocated or locked. The destination is standard error
 * or a file opened O_APPEND; qlog_open on SIGHUP reopens it (log rotation)
 * by dup2(2) onto the same descriptor, so a writer racing the reopen
 * writes whole lines to the old file or the new one.
 */
#ifndef LOKI_QLOG_H
#define LOKI_QLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define QLOG_LINE_MAX 4000 /* below PIPE_BUF */

enum qlog_action {
	QLOG_ALLOWED = 0,
	QLOG_BLOCKED,
	QLOG_FILTERED,
	QLOG_REFUSED,
	QLOG_SERVFAIL,
	QLOG_STALE,
};

struct qlog_entry {
	const struct sockaddr *client; /* NULL: left out */
	const uint8_t *name;	       /* wire form */
	size_t name_len;
	uint16_t qtype;
	enum qlog_action action;
	const char *policy;		 /* egress policy name */
	const char *reason;		 /* NULL: left out */
	const struct sockaddr *upstream; /* forwarded: the upstream that answered */
	int64_t rtt_us;			 /* forwarded: < 0 left out */
	int rcode;			 /* forwarded: the answer's rcode, < 0 left out */
};

/*
 * Sends the lines to path (O_WRONLY|O_APPEND|O_CREAT, mode 0640), or to
 * standard error when path is NULL. Called again (SIGHUP), it reopens. On
 * error returns a negative errno with err set ("PATH: Permission denied")
 * and keeps the current destination. Main thread only.
 */
int qlog_open(const char *path, char *err, size_t errlen);

/* Formats one line, newline included, into out. Returns its length, or 0
 * if it does not fit. now_ms: milliseconds since the Unix epoch. Pure. */
size_t qlog_format(const struct qlog_entry *e, uint64_t now_ms, char *out, size_t cap);

/* "2024-05-01T12:34:56.789Z" (24 characters and a NUL; cap >= 25). */
size_t qlog_time(uint64_t now_ms, char *out, size_t cap);

/* Formats the line with the current time and writes it. Thread-safe. */
void qlog_write(const struct qlog_entry *e);

/*
 * A writer's buffer of whole lines, at most PIPE_BUF bytes, so that one
 * write(2) of it still never interleaves with another writer's. A worker
 * keeps one and flushes it once per event-loop iteration: a flood of
 * blocked queries read in one recvmmsg batch costs one write, not one per
 * query.
 */
#define QLOG_BUF_SIZE 4096
struct qlog_buf {
	size_t len;
	char data[QLOG_BUF_SIZE];
};

/* Formats the line with the current time into b, flushing b first if the
 * line does not fit behind what it holds. */
void qlog_buffer(struct qlog_buf *b, const struct qlog_entry *e);
/* Writes what b holds (one write) and empties it. */
void qlog_flush(struct qlog_buf *b);

/* Closes a file opened by qlog_open (standard error is left open). */
void qlog_close(void);

#endif
