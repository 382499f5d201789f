/*
 * Unit tests for resolver/log.c: the rate limit of warnings that a flood can
 * trigger (log_limit_hit, log_warn_limited) and the line format.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Runs fn with stderr sent to a temporary file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	static char buf[4096];
	FILE *tmp = tmpfile();
	int saved;
	size_t n;

	ck_assert_ptr_nonnull(tmp);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(tmp), STDERR_FILENO), 0);
	fn(arg);
	fflush(stderr);
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return buf;
}

START_TEST(limit_first_hit_reports_one)
{
	struct log_limit r = {0};

	ck_assert_uint_eq(log_limit_hit(&r, 1000), 1);
}
END_TEST

START_TEST(limit_counts_the_events_between_lines)
{
	struct log_limit r = {0};
	uint64_t t = 5000;
	int i;

	ck_assert_uint_eq(log_limit_hit(&r, t), 1);
	/* Within the interval: counted, not reported. */
	for (i = 0; i < 41; i++)
		ck_assert_uint_eq(log_limit_hit(&r, t + 1 + (uint64_t)i * 100), 0);
	ck_assert_uint_eq(log_limit_hit(&r, t + LOG_LIMIT_INTERVAL_MS - 1), 0);
	/* The interval has passed: the 42 held back and this one. */
	ck_assert_uint_eq(log_limit_hit(&r, t + LOG_LIMIT_INTERVAL_MS), 43);
	ck_assert_uint_eq(log_limit_hit(&r, t + LOG_LIMIT_INTERVAL_MS + 1), 0);
	ck_assert_uint_eq(log_limit_hit(&r, t + 3 * LOG_LIMIT_INTERVAL_MS), 2);
}
END_TEST

struct warn_args {
	struct log_limit *r;
	uint64_t now;
	int times;
	uint64_t last;
};

static void warn_n(void *arg)
{
	struct warn_args *a = arg;
	int i;

	for (i = 0; i < a->times; i++)
		a->last = log_warn_limited(a->r, a->now, "tcp", "max_tcp_clients (%u) reached", 7u);
}

START_TEST(warn_limited_writes_one_line_with_the_count)
{
	struct log_limit r = {0};
	struct warn_args a = {.r = &r, .now = 2000, .times = 5};
	const char *out;

	log_set_ident("loki-test");
	log_set_level(LOG_INFO);
	out = capture_stderr(warn_n, &a);
	ck_assert_str_eq(out, "loki-test[warning] tcp: max_tcp_clients (7) reached (1 time(s); "
			      "logged at most every 10 s)\n");
	ck_assert_uint_eq(a.last, 0);
	/* The next line, one interval later, counts the 4 held back too. */
	a.now += LOG_LIMIT_INTERVAL_MS;
	a.times = 1;
	out = capture_stderr(warn_n, &a);
	ck_assert_str_eq(out, "loki-test[warning] tcp: max_tcp_clients (7) reached (5 time(s); "
			      "logged at most every 10 s)\n");
	ck_assert_uint_eq(a.last, 5);
}
END_TEST

START_TEST(warn_limited_counts_but_is_silent_below_warning)
{
	struct log_limit r = {0};
	struct warn_args a = {.r = &r, .now = 2000, .times = 3};

	log_set_level(LOG_ERR);
	ck_assert_str_eq(capture_stderr(warn_n, &a), "");
	log_set_level(LOG_INFO);
	/* The events were counted all the same. */
	a.now += LOG_LIMIT_INTERVAL_MS;
	a.times = 1;
	ck_assert_str_ne(capture_stderr(warn_n, &a), "");
	ck_assert_uint_eq(a.last, 3);
}
END_TEST

struct long_args {
	struct log_limit r;
	char *text;
};

static void warn_long(void *arg)
{
	struct long_args *a = arg;

	log_warn_limited(&a->r, 1, "stream", "%s", a->text);
}

START_TEST(warn_limited_truncates_long_text)
{
	struct long_args a = {{0}, NULL};
	const char *out;

	a.text = malloc(5000);
	ck_assert_ptr_nonnull(a.text);
	memset(a.text, 'x', 4999);
	a.text[4999] = '\0';
	log_set_level(LOG_INFO);
	out = capture_stderr(warn_long, &a);
	/* One line, cut to the line buffer, never overrunning it. */
	ck_assert_uint_gt(strlen(out), 500);
	ck_assert_uint_lt(strlen(out), 1100);
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
	free(a.text);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("limit");

	tcase_add_test(tc, limit_first_hit_reports_one);
	tcase_add_test(tc, limit_counts_the_events_between_lines);
	tcase_add_test(tc, warn_limited_writes_one_line_with_the_count);
	tcase_add_test(tc, warn_limited_counts_but_is_silent_below_warning);
	tcase_add_test(tc, warn_limited_truncates_long_text);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
