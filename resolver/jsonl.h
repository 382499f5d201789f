/*
 * Strict parser for the one-line JSON objects of the address stream
 * (DESIGN.md, "The address stream"): a flat object whose values are
 * strings, non-negative integers, true, false or null. Nested objects,
 * arrays, fractions, exponents, duplicate keys, trailing bytes, control
 * characters and invalid UTF-8 are errors. Lines are at most
 * JSONL_LINE_MAX bytes. Nothing here allocates: strings are unescaped into
 * the object's own buffer.
 */
#ifndef LOKI_JSONL_H
#define LOKI_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONL_LINE_MAX	 1024
#define JSONL_MAX_FIELDS 16

enum jsonl_type {
	JSONL_STRING = 0,
	JSONL_NUMBER,
	JSONL_BOOL,
	JSONL_NULL,
};

struct jsonl_field {
	const char *key; /* NUL-terminated, in the object's buffer */
	enum jsonl_type type;
	const char *str; /* JSONL_STRING: unescaped, NUL-terminated (may hold no NUL) */
	size_t str_len;
	uint64_t num; /* JSONL_NUMBER: 0 .. 2^53 - 1 */
	bool b;	      /* JSONL_BOOL */
};

struct jsonl_object {
	size_t n;
	struct jsonl_field f[JSONL_MAX_FIELDS];
	char buf[JSONL_LINE_MAX + JSONL_MAX_FIELDS * 2];
};

/*
 * Parses one line (without its newline; len <= JSONL_LINE_MAX) into out.
 * Leading and trailing spaces are allowed. Returns 0, or -EINVAL with a
 * short static reason in *why (may be NULL).
 */
int jsonl_parse(const char *line, size_t len, struct jsonl_object *out, const char **why);

/* The field named key, or NULL. */
const struct jsonl_field *jsonl_get(const struct jsonl_object *o, const char *key);
/* Convenience: the string/number of key if present with that type. */
const char *jsonl_get_str(const struct jsonl_object *o, const char *key);
bool jsonl_get_num(const struct jsonl_object *o, const char *key, uint64_t *out);

/*
 * Writes s (n bytes) as JSON string content (without quotes), escaping '"',
 * '\\' and control characters. Returns the length, or 0 if it does not fit
 * (an empty s also gives 0).
 */
size_t jsonl_escape(const char *s, size_t n, char *out, size_t cap);

#endif
