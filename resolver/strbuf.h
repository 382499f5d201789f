/*
 * A growable, NUL-terminated text buffer filled with printf formats: the
 * metrics page (both daemons) and loki-fwsync's nft command text. After an
 * allocation failure every call does nothing and failed is set, so a caller
 * checks once at the end.
 */
#ifndef LOKI_STRBUF_H
#define LOKI_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *p; /* NULL until the first append */
	size_t len, cap;
	bool failed;
};

void strbuf_init(struct strbuf *b);
/* Hands the text over (caller frees) and resets b; NULL if it failed. */
char *strbuf_take(struct strbuf *b, size_t *len);
void strbuf_free(struct strbuf *b);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
