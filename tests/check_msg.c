/*
 * Unit tests for fwsync/msg.c: the four stream messages and their field
 * validation (DESIGN.md, "The address stream").
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

static int parse(const char *s, struct msg *m, const char **why)
{
	return msg_parse(s, strlen(s), m, why);
}

/* The reason s is rejected, or NULL when it parses. */
static const char *reason(const char *s)
{
	struct msg m;
	const char *why = NULL;

	if (parse(s, &m, &why) == 0)
		return NULL;
	ck_assert_ptr_nonnull(why);
	return why;
}

static const char *add_line(const char *name, int family, const char *addr, const char *ttl)
{
	static char line[1100];

	snprintf(line, sizeof(line),
		 "{\"type\":\"add\",\"seq\":1,\"name\":\"%s\",\"family\":%d,\"addr\":\"%s\","
		 "\"ttl\":%s}",
		 name, family, addr, ttl);
	return line;
}

START_TEST(hello)
{
	struct msg m;

	ck_assert_int_eq(
		parse("{\"type\":\"hello\",\"version\":1,\"policy\":\"ai-only\"}", &m, NULL), 0);
	ck_assert_int_eq(m.type, MSG_HELLO);
	ck_assert_uint_eq(m.version, 1);
	ck_assert_str_eq(m.policy, "ai-only");
	ck_assert_int_eq(parse("{\"type\":\"hello\",\"version\":1}", &m, NULL), 0);
	ck_assert_str_eq(m.policy, "");
	ck_assert_str_eq(reason("{\"type\":\"hello\",\"version\":2}"),
			 "unsupported stream version");
	ck_assert_ptr_nonnull(reason("{\"type\":\"hello\"}"));
	ck_assert_ptr_nonnull(reason("{\"type\":\"hello\",\"version\":\"1\"}"));
	ck_assert_ptr_nonnull(reason("{\"type\":\"hello\",\"version\":1,\"policy\":1}"));
}
END_TEST

START_TEST(add_del_synced)
{
	struct msg m;
	static const uint8_t v4[4] = {203, 0, 113, 5};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7};
	char buf[64];

	ck_assert_int_eq(parse("{\"type\":\"add\",\"seq\":1,\"name\":\"api.anthropic.com\","
			       "\"family\":4,\"addr\":\"203.0.113.5\",\"ttl\":212}",
			       &m, NULL),
			 0);
	ck_assert_int_eq(m.type, MSG_ADD);
	ck_assert_uint_eq(m.seq, 1);
	ck_assert_str_eq(m.name, "api.anthropic.com");
	ck_assert_int_eq(m.family, 4);
	ck_assert_mem_eq(m.addr, v4, 4);
	ck_assert_uint_eq(m.ttl, 212);
	ck_assert_str_eq(msg_addr_str(m.family, m.addr, buf, sizeof(buf)), "203.0.113.5");

	ck_assert_int_eq(parse("{\"type\":\"add\",\"seq\":3,\"name\":\"api.openai.com\","
			       "\"family\":6,\"addr\":\"2001:db8::7\",\"ttl\":300}",
			       &m, NULL),
			 0);
	ck_assert_int_eq(m.family, 6);
	ck_assert_mem_eq(m.addr, v6, 16);
	ck_assert_str_eq(msg_addr_str(m.family, m.addr, buf, sizeof(buf)), "2001:db8::7");

	ck_assert_int_eq(parse("{\"type\":\"del\",\"seq\":4,\"name\":\"old.example.com\","
			       "\"family\":4,\"addr\":\"198.51.100.9\"}",
			       &m, NULL),
			 0);
	ck_assert_int_eq(m.type, MSG_DEL);
	ck_assert_uint_eq(m.seq, 4);

	ck_assert_int_eq(parse("{\"type\":\"synced\",\"seq\":2}", &m, NULL), 0);
	ck_assert_int_eq(m.type, MSG_SYNCED);
	ck_assert_uint_eq(m.seq, 2);

	/* Fields a type does not define are ignored, for later versions, but
	 * they must still be values of the flat subset. */
	ck_assert_ptr_nonnull(reason("{\"type\":\"synced\",\"seq\":2,\"extra\":[1]}"));
	ck_assert_ptr_null(reason("{\"type\":\"synced\",\"seq\":2,\"extra\":\"x\"}"));
	ck_assert_str_eq(msg_type_name(MSG_DEL), "del");
}
END_TEST

START_TEST(bad_type_and_seq)
{
	ck_assert_str_eq(reason("{\"type\":\"flush\",\"seq\":1}"), "unknown message type");
	ck_assert_str_eq(reason("{\"seq\":1}"), "missing type");
	ck_assert_ptr_nonnull(reason("{\"type\":4,\"seq\":1}"));
	ck_assert_ptr_nonnull(reason("{\"type\":\"ADD\",\"seq\":1}"));
	ck_assert_str_eq(reason("{\"type\":\"synced\"}"), "missing seq");
	ck_assert_ptr_nonnull(reason("{\"type\":\"synced\",\"seq\":0}"));
	ck_assert_ptr_nonnull(reason("{\"type\":\"synced\",\"seq\":\"1\"}"));
	ck_assert_ptr_nonnull(reason("{\"type\":\"synced\",\"seq\":-1}"));
	ck_assert_ptr_nonnull(reason("not json"));
	ck_assert_ptr_nonnull(reason(""));
}
END_TEST

START_TEST(addr_and_family)
{
	ck_assert_ptr_null(reason(add_line("a.example", 4, "192.0.2.1", "1")));
	ck_assert_ptr_null(reason(add_line("a.example", 6, "::ffff:192.0.2.1", "1")));
	ck_assert_str_eq(reason(add_line("a.example", 4, "2001:db8::1", "1")),
			 "addr does not match family");
	ck_assert_str_eq(reason(add_line("a.example", 6, "192.0.2.1", "1")),
			 "addr does not match family");
	ck_assert_str_eq(reason(add_line("a.example", 4, "192.0.2", "1")),
			 "addr is not an IP address");
	ck_assert_ptr_nonnull(reason(add_line("a.example", 4, "192.0.2.256", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a.example", 4, "192.0.2.01", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a.example", 4, " 192.0.2.1", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a.example", 4, "192.0.2.1/32", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a.example", 6, "2001:db8::1%eth0", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a.example", 4, "", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a.example", 5, "192.0.2.1", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a.example", 0, "192.0.2.1", "1")));
	ck_assert_ptr_nonnull(reason("{\"type\":\"add\",\"seq\":1,\"name\":\"a.example\","
				     "\"family\":\"4\",\"addr\":\"192.0.2.1\",\"ttl\":1}"));
	ck_assert_ptr_nonnull(reason("{\"type\":\"add\",\"seq\":1,\"name\":\"a.example\","
				     "\"addr\":\"192.0.2.1\",\"ttl\":1}"));
	ck_assert_ptr_nonnull(reason("{\"type\":\"del\",\"seq\":1,\"name\":\"a.example\","
				     "\"family\":4}"));
}
END_TEST

START_TEST(ttl)
{
	ck_assert_ptr_null(reason(add_line("a.example", 4, "192.0.2.1", "0")));
	ck_assert_ptr_null(reason(add_line("a.example", 4, "192.0.2.1", "2147483647")));
	ck_assert_str_eq(reason(add_line("a.example", 4, "192.0.2.1", "2147483648")),
			 "ttl out of range");
	ck_assert_ptr_nonnull(reason(add_line("a.example", 4, "192.0.2.1", "\"60\"")));
	ck_assert_ptr_nonnull(reason(add_line("a.example", 4, "192.0.2.1", "1.5")));
	ck_assert_str_eq(reason("{\"type\":\"add\",\"seq\":1,\"name\":\"a.example\","
				"\"family\":4,\"addr\":\"192.0.2.1\"}"),
			 "missing ttl");
}
END_TEST

START_TEST(names)
{
	char label[80], name[300];
	size_t i;

	ck_assert_ptr_null(reason(add_line("example", 4, "192.0.2.1", "1")));
	ck_assert_ptr_null(
		reason(add_line("generativelanguage.googleapis.com", 4, "192.0.2.1", "1")));
	ck_assert_ptr_null(reason(add_line("_dmarc.x-1.example", 4, "192.0.2.1", "1")));
	ck_assert_ptr_null(reason(add_line("a\\\\032b.example", 4, "192.0.2.1", "1")));
	ck_assert_str_eq(reason(add_line("Api.example.com", 4, "192.0.2.1", "1")),
			 "name is not lower-case");
	ck_assert_str_eq(reason(add_line("api.example.com.", 4, "192.0.2.1", "1")),
			 "name ends with a dot");
	ck_assert_ptr_nonnull(reason(add_line("", 4, "192.0.2.1", "1")));
	ck_assert_ptr_nonnull(reason(add_line(".", 4, "192.0.2.1", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a..b", 4, "192.0.2.1", "1")));
	ck_assert_ptr_nonnull(reason(add_line(".a", 4, "192.0.2.1", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a b", 4, "192.0.2.1", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a\\u0001b", 4, "192.0.2.1", "1")));
	ck_assert_ptr_nonnull(reason(add_line("caf\xc3\xa9.example", 4, "192.0.2.1", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a\\\\999.example", 4, "192.0.2.1", "1")));
	ck_assert_ptr_nonnull(reason(add_line("a\\\\", 4, "192.0.2.1", "1")));

	/* Labels: 63 octets pass, 64 do not. */
	memset(label, 'a', 64);
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.example", label);
	ck_assert_ptr_null(reason(add_line(name, 4, "192.0.2.1", "1")));
	label[63] = 'a';
	label[64] = '\0';
	snprintf(name, sizeof(name), "%s.example", label);
	ck_assert_str_eq(reason(add_line(name, 4, "192.0.2.1", "1")),
			 "label longer than 63 octets");

	/* Names: 253 octets pass, 254 do not. */
	for (i = 0; i < 253; i++)
		name[i] = (i % 2 == 1) ? '.' : 'a';
	name[253] = '\0';
	ck_assert_ptr_null(reason(add_line(name, 4, "192.0.2.1", "1")));
	name[253] = 'a';
	name[254] = 'a';
	name[255] = '\0';
	ck_assert_ptr_nonnull(reason(add_line(name, 4, "192.0.2.1", "1")));
}
END_TEST

static Suite *msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, hello);
	tcase_add_test(tc, add_del_synced);
	tcase_add_test(tc, bad_type_and_seq);
	tcase_add_test(tc, addr_and_family);
	tcase_add_test(tc, ttl);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(msg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
