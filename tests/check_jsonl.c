/*
 * Unit tests for resolver/jsonl.c: the strict flat-object JSON-line parser
 * of the address stream and jsonl_escape.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonl.h"

static int parse(const char *s, struct jsonl_object *o, const char **why)
{
	return jsonl_parse(s, strlen(s), o, why);
}

/* Whether s is rejected. */
static bool bad(const char *s)
{
	struct jsonl_object o;
	const char *why = NULL;
	int rc = parse(s, &o, &why);

	if (rc != 0)
		ck_assert_ptr_nonnull(why);
	return rc == -EINVAL;
}

START_TEST(parse_stream_messages)
{
	struct jsonl_object o;
	uint64_t v;

	ck_assert_int_eq(
		parse("{\"type\":\"hello\",\"version\":1,\"policy\":\"ai-only\"}", &o, NULL), 0);
	ck_assert_uint_eq(o.n, 3);
	ck_assert_str_eq(jsonl_get_str(&o, "type"), "hello");
	ck_assert(jsonl_get_num(&o, "version", &v));
	ck_assert_uint_eq(v, 1);
	ck_assert_str_eq(jsonl_get_str(&o, "policy"), "ai-only");
	ck_assert_ptr_null(jsonl_get(&o, "nope"));
	ck_assert_ptr_null(jsonl_get_str(&o, "version"));
	ck_assert(!jsonl_get_num(&o, "type", &v));

	ck_assert_int_eq(parse("{\"type\":\"add\",\"seq\":1,\"name\":\"api.anthropic.com\","
			       "\"family\":4,\"addr\":\"203.0.113.5\",\"ttl\":212}",
			       &o, NULL),
			 0);
	ck_assert_uint_eq(o.n, 6);
	ck_assert(jsonl_get_num(&o, "ttl", &v));
	ck_assert_uint_eq(v, 212);
	ck_assert_str_eq(jsonl_get_str(&o, "addr"), "203.0.113.5");
	ck_assert_uint_eq(jsonl_get(&o, "name")->str_len, strlen("api.anthropic.com"));
}
END_TEST

START_TEST(parse_values)
{
	struct jsonl_object o;
	const struct jsonl_field *f;

	ck_assert_int_eq(
		parse("  { \"a\" : true ,\t\"b\":false, \"c\" :null,\"d\":0 }  \r", &o, NULL), 0);
	ck_assert_uint_eq(o.n, 4);
	f = jsonl_get(&o, "a");
	ck_assert_int_eq(f->type, JSONL_BOOL);
	ck_assert(f->b);
	ck_assert(!jsonl_get(&o, "b")->b);
	ck_assert_int_eq(jsonl_get(&o, "c")->type, JSONL_NULL);
	ck_assert_uint_eq(jsonl_get(&o, "d")->num, 0);

	ck_assert_int_eq(parse("{}", &o, NULL), 0);
	ck_assert_uint_eq(o.n, 0);
	ck_assert_int_eq(parse("{\"\":\"\"}", &o, NULL), 0);
	ck_assert_str_eq(jsonl_get_str(&o, ""), "");

	/* 2^53 - 1 is the largest number. */
	ck_assert_int_eq(parse("{\"n\":9007199254740991}", &o, NULL), 0);
	ck_assert_uint_eq(jsonl_get(&o, "n")->num, 9007199254740991ull);
	ck_assert(bad("{\"n\":9007199254740992}"));
	ck_assert(bad("{\"n\":99999999999999999999999}"));
}
END_TEST

START_TEST(parse_escapes)
{
	struct jsonl_object o;
	const struct jsonl_field *f;

	ck_assert_int_eq(parse("{\"s\":\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\"}", &o, NULL), 0);
	ck_assert_str_eq(jsonl_get_str(&o, "s"), "a\"b\\c/d\n\t\r\b\f");
	ck_assert_int_eq(parse("{\"s\":\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"}", &o, NULL), 0);
	ck_assert_str_eq(jsonl_get_str(&o, "s"), "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	f = jsonl_get(&o, "s");
	ck_assert_uint_eq(f->str_len, 1 + 2 + 3 + 4);
	/* Raw UTF-8 passes. */
	ck_assert_int_eq(parse("{\"s\":\"\xc3\xa9\xf0\x9f\x98\x80\"}", &o, NULL), 0);
	/* Escaped key. */
	ck_assert_int_eq(parse("{\"t\\u0079pe\":\"x\"}", &o, NULL), 0);
	ck_assert_str_eq(jsonl_get_str(&o, "type"), "x");
}
END_TEST

START_TEST(reject_structure)
{
	ck_assert(bad(""));
	ck_assert(bad("   "));
	ck_assert(bad("[]"));
	ck_assert(bad("\"s\""));
	ck_assert(bad("1"));
	ck_assert(bad("{"));
	ck_assert(bad("{\"a\":1"));
	ck_assert(bad("{\"a\":1,}"));
	ck_assert(bad("{,\"a\":1}"));
	ck_assert(bad("{\"a\" 1}"));
	ck_assert(bad("{\"a\":}"));
	ck_assert(bad("{a:1}"));
	ck_assert(bad("{'a':1}"));
	ck_assert(bad("{\"a\":1}x"));
	ck_assert(bad("{\"a\":1}{}"));
	ck_assert(bad("{\"a\":1}\n"));
	ck_assert(bad("{\"a\":{}}"));
	ck_assert(bad("{\"a\":[1]}"));
	ck_assert(bad("{\"a\":1,\"a\":2}"));
	ck_assert(bad("{\"a\":tru}"));
	ck_assert(bad("{\"a\":True}"));
	ck_assert(bad("{\"a\":nul}"));
	ck_assert(bad("{\"a\":truex}"));
}
END_TEST

START_TEST(reject_numbers)
{
	ck_assert(bad("{\"a\":-1}"));
	ck_assert(bad("{\"a\":01}"));
	ck_assert(bad("{\"a\":00}"));
	ck_assert(bad("{\"a\":1.0}"));
	ck_assert(bad("{\"a\":1e3}"));
	ck_assert(bad("{\"a\":1E3}"));
	ck_assert(bad("{\"a\":+1}"));
	ck_assert(bad("{\"a\":0x10}"));
	ck_assert(bad("{\"a\":.5}"));
}
END_TEST

START_TEST(reject_strings)
{
	ck_assert(bad("{\"a\":\"x}"));
	ck_assert(bad("{\"a\":\"x\ty\"}"));
	ck_assert(bad("{\"a\":\"x\x01y\"}"));
	ck_assert(bad("{\"a\":\"\\x\"}"));
	ck_assert(bad("{\"a\":\"\\u12\"}"));
	ck_assert(bad("{\"a\":\"\\u12g4\"}"));
	ck_assert(bad("{\"a\":\"\\u0000\"}"));
	ck_assert(bad("{\"a\":\"\\ud800\"}"));
	ck_assert(bad("{\"a\":\"\\ud800\\u0041\"}"));
	ck_assert(bad("{\"a\":\"\\ude00\"}"));
	ck_assert(bad("{\"a\":\"\\"));
	/* Invalid UTF-8: stray continuation, overlong, surrogate, > U+10FFFF, truncated. */
	ck_assert(bad("{\"a\":\"\x80\"}"));
	ck_assert(bad("{\"a\":\"\xc0\xaf\"}"));
	ck_assert(bad("{\"a\":\"\xe0\x80\xaf\"}"));
	ck_assert(bad("{\"a\":\"\xed\xa0\x80\"}"));
	ck_assert(bad("{\"a\":\"\xf4\x90\x80\x80\"}"));
	ck_assert(bad("{\"a\":\"\xff\"}"));
	ck_assert(bad("{\"a\":\"\xe2\x82\"}"));
}
END_TEST

START_TEST(reject_embedded_nul)
{
	struct jsonl_object o;
	static const char line[] = "{\"a\":\"x\0y\"}";

	ck_assert_int_eq(jsonl_parse(line, sizeof(line) - 1, &o, NULL), -EINVAL);
	ck_assert_int_eq(jsonl_parse("{}\0", 3, &o, NULL), -EINVAL);
}
END_TEST

START_TEST(limits)
{
	struct jsonl_object o;
	char line[JSONL_LINE_MAX + 64];
	size_t n;
	int i;

	/* Exactly JSONL_LINE_MAX bytes pass, one more does not. */
	n = (size_t)snprintf(line, sizeof(line), "{\"a\":\"");
	memset(line + n, 'x', JSONL_LINE_MAX - n - 2);
	memcpy(line + JSONL_LINE_MAX - 2, "\"}", 3);
	ck_assert_uint_eq(strlen(line), JSONL_LINE_MAX);
	ck_assert_int_eq(jsonl_parse(line, JSONL_LINE_MAX, &o, NULL), 0);
	ck_assert_uint_eq(jsonl_get(&o, "a")->str_len, JSONL_LINE_MAX - 8);
	ck_assert_int_eq(jsonl_parse(line, JSONL_LINE_MAX + 1, &o, NULL), -EINVAL);

	/* JSONL_MAX_FIELDS fields pass, one more does not. */
	n = 0;
	line[n++] = '{';
	for (i = 0; i < JSONL_MAX_FIELDS; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"k%d\":%d", i ? "," : "", i,
				      i);
	line[n++] = '}';
	line[n] = '\0';
	ck_assert_int_eq(parse(line, &o, NULL), 0);
	ck_assert_uint_eq(o.n, JSONL_MAX_FIELDS);
	n--;
	n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"extra\":1}");
	ck_assert(bad(line));

	/* Many short keys and values still fit the buffer. */
	n = 0;
	line[n++] = '{';
	for (i = 0; i < JSONL_MAX_FIELDS; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"%c\":\"\"", i ? "," : "",
				      'a' + i);
	line[n++] = '}';
	line[n] = '\0';
	ck_assert_int_eq(parse(line, &o, NULL), 0);
}
END_TEST

START_TEST(escape_roundtrip)
{
	static const char *const samples[] = {
		"plain",
		"quote\"back\\slash",
		"ctl\x01\x1f\n\r\t",
		"utf8 \xc3\xa9\xf0\x9f\x98\x80",
		"bad \xff\xfe utf8 \xc3",
		"del\x7f",
	};
	char esc[256], line[300];
	struct jsonl_object o;
	size_t i, n;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		n = jsonl_escape(samples[i], strlen(samples[i]), esc, sizeof(esc));
		ck_assert_uint_gt(n, 0);
		ck_assert_uint_eq(strlen(esc), n);
		snprintf(line, sizeof(line), "{\"s\":\"%s\"}", esc);
		ck_assert_int_eq(parse(line, &o, NULL), 0);
		if (i != 4) /* invalid UTF-8 comes back as its Latin-1 reading */
			ck_assert_str_eq(jsonl_get_str(&o, "s"), samples[i]);
	}
	n = jsonl_escape("a\"b", 3, esc, sizeof(esc));
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(esc, "a\\\"b");
	n = jsonl_escape("\x01", 1, esc, sizeof(esc));
	ck_assert_str_eq(esc, "\\u0001");
	n = jsonl_escape("\xff", 1, esc, sizeof(esc));
	ck_assert_str_eq(esc, "\\u00ff");
}
END_TEST

START_TEST(escape_limits)
{
	char out[8];

	ck_assert_uint_eq(jsonl_escape("", 0, out, sizeof(out)), 0);
	/* Seven bytes and the NUL fit in eight, eight do not. */
	ck_assert_uint_eq(jsonl_escape("1234567", 7, out, sizeof(out)), 7);
	ck_assert_str_eq(out, "1234567");
	ck_assert_uint_eq(jsonl_escape("12345678", 8, out, sizeof(out)), 0);
	ck_assert_uint_eq(jsonl_escape("123456\"", 7, out, sizeof(out)), 0);
	ck_assert_uint_eq(jsonl_escape("a", 1, out, 0), 0);
	ck_assert_uint_eq(jsonl_escape("a", 1, out, 1), 0);
	ck_assert_uint_eq(jsonl_escape("a", 1, out, 2), 1);
}
END_TEST

static Suite *jsonl_suite(void)
{
	Suite *s = suite_create("jsonl");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_stream_messages);
	tcase_add_test(tc, parse_values);
	tcase_add_test(tc, parse_escapes);
	tcase_add_test(tc, reject_structure);
	tcase_add_test(tc, reject_numbers);
	tcase_add_test(tc, reject_strings);
	tcase_add_test(tc, reject_embedded_nul);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, escape_roundtrip);
	tcase_add_test(tc, escape_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jsonl_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
