/*
 * Unit tests for resolver/qlog.c: the audit line (fields, JSON escaping,
 * time format), and writing to a file that is rotated and reopened.
 */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qlog.h"

START_TEST(time_format)
{
	char t[32];

	ck_assert_uint_eq(qlog_time(0, t, sizeof(t)), 24);
	ck_assert_str_eq(t, "1970-01-01T00:00:00.000Z");
	qlog_time(951782400123ULL, t, sizeof(t)); /* a leap day */
	ck_assert_str_eq(t, "2000-02-29T00:00:00.123Z");
	qlog_time(1714566896789ULL, t, sizeof(t));
	ck_assert_str_eq(t, "2024-05-01T12:34:56.789Z");
	qlog_time(4102444799999ULL, t, sizeof(t));
	ck_assert_str_eq(t, "2099-12-31T23:59:59.999Z");
	ck_assert_uint_eq(qlog_time(0, t, 24), 0);
}
END_TEST

START_TEST(blocked_line)
{
	static const uint8_t name[] = "\4evil\7example";
	struct sockaddr_in c = {.sin_family = AF_INET};
	struct qlog_entry e = {
		.client = (struct sockaddr *)&c,
		.name = name,
		.name_len = sizeof(name),
		.qtype = 28,
		.action = QLOG_BLOCKED,
		.policy = "ai-only",
		.reason = "not on the allowlist",
		.rtt_us = -1,
		.rcode = -1,
	};
	char line[QLOG_LINE_MAX];

	inet_pton(AF_INET, "172.17.0.2", &c.sin_addr);
	ck_assert_uint_gt(qlog_format(&e, 1714566896789ULL, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "{\"time\":\"2024-05-01T12:34:56.789Z\",\"client\":\"172.17.0.2\","
			       "\"name\":\"evil.example\",\"type\":\"AAAA\",\"action\":\"blocked\","
			       "\"policy\":\"ai-only\",\"reason\":\"not on the allowlist\"}\n");
}
END_TEST

START_TEST(forwarded_line)
{
	static const uint8_t name[] = "\3api\6openai\3com";
	struct sockaddr_in6 c = {.sin6_family = AF_INET6};
	struct sockaddr_in up = {.sin_family = AF_INET, .sin_port = htons(5353)};
	struct qlog_entry e = {
		.client = (struct sockaddr *)&c,
		.name = name,
		.name_len = sizeof(name),
		.qtype = 65280,
		.action = QLOG_ALLOWED,
		.policy = "unrestricted",
		.upstream = (struct sockaddr *)&up,
		.rtt_us = 12345,
		.rcode = 3,
	};
	char line[QLOG_LINE_MAX];

	inet_pton(AF_INET6, "::1", &c.sin6_addr);
	inet_pton(AF_INET, "192.0.2.53", &up.sin_addr);
	qlog_format(&e, 0, line, sizeof(line));
	ck_assert_str_eq(line, "{\"time\":\"1970-01-01T00:00:00.000Z\",\"client\":\"::1\","
			       "\"name\":\"api.openai.com\",\"type\":\"TYPE65280\","
			       "\"action\":\"allowed\",\"policy\":\"unrestricted\","
			       "\"upstream\":\"192.0.2.53:5353\",\"rtt\":12.345,"
			       "\"rcode\":\"NXDOMAIN\"}\n");
}
END_TEST

START_TEST(name_escaping)
{
	/* A label with a quote, a backslash, a dot and a control byte: the
	 * presentation form escapes them as \DDD, JSON doubles the backslash. */
	static const uint8_t name[] = "\4a\"\\\x01\3b.c";
	struct qlog_entry e = {
		.name = name,
		.name_len = sizeof(name),
		.qtype = 1,
		.action = QLOG_REFUSED,
		.rtt_us = -1,
		.rcode = -1,
	};
	char line[QLOG_LINE_MAX], big[300];
	size_t i;

	qlog_format(&e, 0, line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "\"name\":\"a\\\\034\\\\092\\\\001.b\\\\046c\""));
	ck_assert_ptr_nonnull(strstr(line, "\"action\":\"refused\"}"));
	/* The longest name with every byte escaped still fits one line. */
	for (i = 0; i < 4; i++) {
		big[i * 64] = 63;
		memset(big + i * 64 + 1, '"', 63);
	}
	big[255] = 0;
	big[192] = 62;
	e.name = (const uint8_t *)big;
	e.name_len = 256;
	ck_assert_uint_gt(qlog_format(&e, 0, line, sizeof(line)), 1000);
	ck_assert_uint_eq(qlog_format(&e, 0, line, 100), 0);
}
END_TEST

static size_t count_lines(const char *path, const char *needle)
{
	char buf[8192];
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	ck_assert_ptr_nonnull(fp);
	while (fgets(buf, sizeof(buf), fp) != NULL)
		if (strstr(buf, needle) != NULL)
			n++;
	fclose(fp);
	return n;
}

START_TEST(file_and_rotation)
{
	static const uint8_t name[] = "\1x";
	struct qlog_entry e = {
		.name = name, .name_len = sizeof(name), .qtype = 1, .rtt_us = -1, .rcode = -1};
	char dir[] = "/tmp/check_qlog.XXXXXX", path[128], rotated[128], err[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/q.log", dir);
	snprintf(rotated, sizeof(rotated), "%s/q.log.1", dir);
	snprintf(err, sizeof(err), "%s/none/q.log", dir);
	ck_assert_int_lt(qlog_open(err, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
	ck_assert_int_eq(qlog_open(path, err, sizeof(err)), 0);
	e.action = QLOG_ALLOWED;
	qlog_write(&e);
	ck_assert_int_eq(rename(path, rotated), 0);
	qlog_write(&e); /* still the old file */
	ck_assert_int_eq(qlog_open(path, err, sizeof(err)), 0);
	e.action = QLOG_STALE;
	qlog_write(&e);
	ck_assert_uint_eq(count_lines(rotated, "\"action\":\"allowed\""), 2);
	ck_assert_uint_eq(count_lines(path, "\"action\":\"stale\""), 1);
	ck_assert_uint_eq(count_lines(path, "\"action\":\"allowed\""), 0);
	qlog_close();
	unlink(path);
	unlink(rotated);
	rmdir(dir);
}
END_TEST

static Suite *qlog_suite(void)
{
	Suite *s = suite_create("qlog");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, time_format);
	tcase_add_test(tc, blocked_line);
	tcase_add_test(tc, forwarded_line);
	tcase_add_test(tc, name_escaping);
	tcase_add_test(tc, file_and_rotation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(qlog_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
