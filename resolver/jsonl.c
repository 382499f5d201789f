/*
 * Strict JSON-line parser for the address stream (DESIGN.md, "The address
 * stream"). The grammar is the subset of RFC 8259 that the stream uses: one
 * object per line whose members are strings, non-negative integers, true,
 * false or null. Everything else is rejected with a short reason, because a
 * peer that sends anything else is either broken or hostile, and the caller
 * disconnects it.
 *
 * The parser reads the line through a cursor (STYLE.md, point 6) and writes
 * keys and unescaped strings into the object's own buffer, so it never
 * allocates. Unescaping never makes a string longer than its quoted form
 * (the longest escape, "\uXXXX\uXXXX", is 12 bytes for a 4-byte UTF-8
 * sequence), so JSONL_LINE_MAX bytes of input plus one NUL per key and value
 * always fit in buf.
 */
#include "jsonl.h"

#include <errno.h>
#include <string.h>

/* 2^53 - 1, the largest integer every JSON implementation reads exactly
 * (RFC 8259, section 6). */
#define JSONL_NUM_MAX ((UINT64_C(1) << 53) - 1)

struct cursor {
	const unsigned char *p;
	size_t len;
	size_t pos;
	char *out; /* next free byte of the object's buffer */
	char *out_end;
	const char *why; /* first error, sticky */
};

static int fail(struct cursor *c, const char *why)
{
	if (c->why == NULL)
		c->why = why;
	return -EINVAL;
}

static int peek(const struct cursor *c)
{
	return c->pos < c->len ? c->p[c->pos] : -1;
}

/* JSON whitespace (RFC 8259, section 2) less the newline, which frames lines. */
static void skip_ws(struct cursor *c)
{
	while (c->pos < c->len &&
	       (c->p[c->pos] == ' ' || c->p[c->pos] == '\t' || c->p[c->pos] == '\r'))
		c->pos++;
}

static int put(struct cursor *c, const unsigned char *b, size_t n)
{
	if ((size_t)(c->out_end - c->out) < n)
		return fail(c, "string too long");
	memcpy(c->out, b, n);
	c->out += n;
	return 0;
}

static int hex4(struct cursor *c, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	if (c->len - c->pos < 4)
		return fail(c, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		unsigned char ch = c->p[c->pos++];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (uint32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (uint32_t)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (uint32_t)(ch - 'A' + 10);
		else
			return fail(c, "bad \\u escape");
	}
	*out = v;
	return 0;
}

/* Encodes one scalar value (never a surrogate) as UTF-8. */
static int put_utf8(struct cursor *c, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return put(c, b, n);
}

/*
 * Length of the well-formed UTF-8 sequence at s (n bytes available), or 0.
 * Overlong forms, surrogates and values above U+10FFFF are ill-formed
 * (RFC 3629, section 4; Unicode 15, table 3-7).
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char b0 = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (b0 < 0x80)
		return 1;
	if (b0 >= 0xc2 && b0 <= 0xdf) {
		len = 2;
	} else if (b0 >= 0xe0 && b0 <= 0xef) {
		len = 3;
		if (b0 == 0xe0)
			lo = 0xa0;
		else if (b0 == 0xed)
			hi = 0x9f;
	} else if (b0 >= 0xf0 && b0 <= 0xf4) {
		len = 4;
		if (b0 == 0xf0)
			lo = 0x90;
		else if (b0 == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Parses a string (cursor on the opening quote) into the buffer, NUL-terminated. */
static int parse_string(struct cursor *c, const char **str, size_t *str_len)
{
	char *start = c->out;
	static const unsigned char nul = 0;

	c->pos++; /* the opening quote */
	for (;;) {
		int ch = peek(c);

		if (ch < 0)
			return fail(c, "unterminated string");
		if (ch == '"') {
			c->pos++;
			break;
		}
		if (ch < 0x20)
			return fail(c, "control character in string");
		if (ch == '\\') {
			unsigned char e;
			uint32_t cp, lo;

			c->pos++;
			if (c->pos >= c->len)
				return fail(c, "unterminated string");
			e = c->p[c->pos++];
			switch (e) {
			case '"':
			case '\\':
			case '/':
				break;
			case 'b':
				e = '\b';
				break;
			case 'f':
				e = '\f';
				break;
			case 'n':
				e = '\n';
				break;
			case 'r':
				e = '\r';
				break;
			case 't':
				e = '\t';
				break;
			case 'u':
				if (hex4(c, &cp) != 0)
					return -EINVAL;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return fail(c, "lone low surrogate");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					/* A high surrogate must be followed by an escaped low one
					 * (RFC 8259, section 7). */
					if (c->len - c->pos < 2 || c->p[c->pos] != '\\' ||
					    c->p[c->pos + 1] != 'u')
						return fail(c, "lone high surrogate");
					c->pos += 2;
					if (hex4(c, &lo) != 0)
						return -EINVAL;
					if (lo < 0xdc00 || lo > 0xdfff)
						return fail(c, "lone high surrogate");
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				if (cp == 0)
					return fail(c, "NUL in string");
				if (put_utf8(c, cp) != 0)
					return -EINVAL;
				continue;
			default:
				return fail(c, "bad escape");
			}
			if (put(c, &e, 1) != 0)
				return -EINVAL;
			continue;
		}
		{
			size_t n = utf8_len(c->p + c->pos, c->len - c->pos);

			if (n == 0)
				return fail(c, "invalid UTF-8");
			if (put(c, c->p + c->pos, n) != 0)
				return -EINVAL;
			c->pos += n;
		}
	}
	*str_len = (size_t)(c->out - start);
	if (put(c, &nul, 1) != 0)
		return -EINVAL;
	*str = start;
	return 0;
}

/* A non-negative integer without leading zeros, fraction or exponent. */
static int parse_number(struct cursor *c, uint64_t *out)
{
	uint64_t v = 0;
	size_t start = c->pos;
	int ch;

	while ((ch = peek(c)) >= '0' && ch <= '9') {
		if (c->pos > start && c->p[start] == '0')
			return fail(c, "leading zero");
		v = v * 10 + (uint64_t)(ch - '0');
		if (v > JSONL_NUM_MAX)
			return fail(c, "number too large");
		c->pos++;
	}
	if (ch == '.' || ch == 'e' || ch == 'E')
		return fail(c, "number is not an integer");
	*out = v;
	return 0;
}

static bool literal(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if (c->len - c->pos < n || memcmp(c->p + c->pos, word, n) != 0)
		return false;
	c->pos += n;
	return true;
}

static int parse_value(struct cursor *c, struct jsonl_field *f)
{
	int ch = peek(c);

	if (ch == '"') {
		f->type = JSONL_STRING;
		return parse_string(c, &f->str, &f->str_len);
	}
	if (ch >= '0' && ch <= '9') {
		f->type = JSONL_NUMBER;
		return parse_number(c, &f->num);
	}
	if (ch == '-')
		return fail(c, "negative number");
	if (ch == '{' || ch == '[')
		return fail(c, "nested value");
	if (literal(c, "true")) {
		f->type = JSONL_BOOL;
		f->b = true;
		return 0;
	}
	if (literal(c, "false")) {
		f->type = JSONL_BOOL;
		f->b = false;
		return 0;
	}
	if (literal(c, "null")) {
		f->type = JSONL_NULL;
		return 0;
	}
	return fail(c, ch < 0 ? "missing value" : "bad value");
}

int jsonl_parse(const char *line, size_t len, struct jsonl_object *out, const char **why)
{
	struct cursor c = {
		.p = (const unsigned char *)line,
		.len = len,
		.out = out->buf,
		.out_end = out->buf + sizeof(out->buf),
	};
	int rc = -EINVAL;
	size_t i;

	out->n = 0;
	if (line == NULL || len > JSONL_LINE_MAX) {
		fail(&c, "line too long");
		goto out;
	}
	skip_ws(&c);
	if (peek(&c) != '{') {
		fail(&c, peek(&c) < 0 ? "empty line" : "not an object");
		goto out;
	}
	c.pos++;
	skip_ws(&c);
	if (peek(&c) == '}') {
		c.pos++;
		goto end;
	}
	for (;;) {
		struct jsonl_field *f;
		size_t klen;

		if (out->n == JSONL_MAX_FIELDS) {
			fail(&c, "too many fields");
			goto out;
		}
		f = &out->f[out->n];
		memset(f, 0, sizeof(*f));
		skip_ws(&c);
		if (peek(&c) != '"') {
			fail(&c, "expected a key");
			goto out;
		}
		if (parse_string(&c, &f->key, &klen) != 0)
			goto out;
		for (i = 0; i < out->n; i++) {
			if (strcmp(out->f[i].key, f->key) == 0) {
				fail(&c, "duplicate key");
				goto out;
			}
		}
		skip_ws(&c);
		if (peek(&c) != ':') {
			fail(&c, "expected ':'");
			goto out;
		}
		c.pos++;
		skip_ws(&c);
		if (parse_value(&c, f) != 0)
			goto out;
		out->n++;
		skip_ws(&c);
		if (peek(&c) == ',') {
			c.pos++;
			continue;
		}
		if (peek(&c) == '}') {
			c.pos++;
			break;
		}
		fail(&c, "expected ',' or '}'");
		goto out;
	}
end:
	skip_ws(&c);
	if (c.pos != c.len) {
		fail(&c, "trailing bytes");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		out->n = 0;
		if (why != NULL)
			*why = c.why != NULL ? c.why : "malformed";
	}
	return rc;
}

const struct jsonl_field *jsonl_get(const struct jsonl_object *o, const char *key)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (strcmp(o->f[i].key, key) == 0)
			return &o->f[i];
	return NULL;
}

const char *jsonl_get_str(const struct jsonl_object *o, const char *key)
{
	const struct jsonl_field *f = jsonl_get(o, key);

	return f != NULL && f->type == JSONL_STRING ? f->str : NULL;
}

bool jsonl_get_num(const struct jsonl_object *o, const char *key, uint64_t *out)
{
	const struct jsonl_field *f = jsonl_get(o, key);

	if (f == NULL || f->type != JSONL_NUMBER)
		return false;
	*out = f->num;
	return true;
}

/*
 * The output is NUL-terminated as well, so the room for the NUL counts
 * towards cap. Well-formed UTF-8 passes through unchanged; a byte that is
 * not part of one is written as \u00XX (its Latin-1 reading), so that the
 * output is always valid JSON that jsonl_parse accepts.
 */
size_t jsonl_escape(const char *s, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;

	while (i < n) {
		char esc[7];
		size_t k, len = 0;
		const unsigned char *src;

		switch (u[i]) {
		case '"':
			memcpy(esc, "\\\"", 2);
			len = 2;
			break;
		case '\\':
			memcpy(esc, "\\\\", 2);
			len = 2;
			break;
		case '\n':
			memcpy(esc, "\\n", 2);
			len = 2;
			break;
		case '\r':
			memcpy(esc, "\\r", 2);
			len = 2;
			break;
		case '\t':
			memcpy(esc, "\\t", 2);
			len = 2;
			break;
		default:
			break;
		}
		if (len == 0 && (u[i] < 0x20 || u[i] == 0x7f ||
				 (u[i] >= 0x80 && utf8_len(u + i, n - i) == 0))) {
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[u[i] >> 4];
			esc[5] = hex[u[i] & 0xf];
			len = 6;
		}
		if (len != 0) {
			src = (const unsigned char *)esc;
			k = 1;
		} else {
			src = u + i;
			k = utf8_len(u + i, n - i);
			len = k;
		}
		/* Keep one byte for the NUL. */
		if (len >= cap - o)
			return 0;
		memcpy(out + o, src, len);
		o += len;
		i += k;
	}
	if (cap == 0)
		return 0;
	out[o] = '\0';
	return o;
}
