#include "strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void strbuf_free(struct strbuf *b)
{
	free(b->p);
	strbuf_init(b);
}

char *strbuf_take(struct strbuf *b, size_t *len)
{
	char *p = b->failed ? NULL : b->p;

	*len = p != NULL ? b->len : 0;
	if (p == NULL)
		free(b->p);
	strbuf_init(b);
	return p;
}

/* Doubles the capacity until need more bytes (and the NUL) fit. */
static bool strbuf_grow(struct strbuf *b, size_t need)
{
	size_t cap = b->cap != 0 ? b->cap : 4096;
	char *p;

	while (cap - b->len <= need) {
		if (cap > SIZE_MAX / 2)
			return false;
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (p == NULL)
		return false;
	b->p = p;
	b->cap = cap;
	return true;
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p != NULL ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		if (!strbuf_grow(b, (size_t)n)) {
			b->failed = true;
			return;
		}
	}
}
