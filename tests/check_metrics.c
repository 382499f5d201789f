/*
 * Unit tests for resolver/metrics.c: the Prometheus text format (HELP and
 * TYPE lines, label escaping) and the lock-free histogram.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static char *render(void (*fn)(struct strbuf *))
{
	struct strbuf b;
	size_t len;
	char *s;

	strbuf_init(&b);
	fn(&b);
	s = strbuf_take(&b, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), len);
	return s;
}

static void counters(struct strbuf *b)
{
	metrics_counter(b, "loki_x_total", "Things with a \\ and a\nnewline.", 42);
	metrics_gauge(b, "loki_y", "Now.", 7);
	metrics_header(b, "loki_z_total", "counter", "By kind.");
	metrics_sample(b, "loki_z_total", "kind=\"a\"", 1);
	metrics_sample(b, "loki_z_total", NULL, 2);
}

START_TEST(text_format)
{
	char *s = render(counters);

	ck_assert_str_eq(s, "# HELP loki_x_total Things with a \\\\ and a\\nnewline.\n"
			    "# TYPE loki_x_total counter\n"
			    "loki_x_total 42\n"
			    "# HELP loki_y Now.\n"
			    "# TYPE loki_y gauge\n"
			    "loki_y 7\n"
			    "# HELP loki_z_total By kind.\n"
			    "# TYPE loki_z_total counter\n"
			    "loki_z_total{kind=\"a\"} 1\n"
			    "loki_z_total 2\n");
	free(s);
}
END_TEST

START_TEST(label_escaping)
{
	char out[64];

	ck_assert_uint_eq(metrics_label("version", "1.0", out, sizeof(out)), 13);
	ck_assert_str_eq(out, "version=\"1.0\"");
	metrics_label("v", "a\"b\\c\nd", out, sizeof(out));
	ck_assert_str_eq(out, "v=\"a\\\"b\\\\c\\nd\"");
	/* Exactly fitting, then one byte short. */
	ck_assert_uint_eq(metrics_label("k", "abc", out, 8), 7);
	ck_assert_uint_eq(metrics_label("k", "abcd", out, 8), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

static struct metrics_hist hist;

static void histogram(struct strbuf *b)
{
	metrics_histogram(b, "loki_rtt_seconds", "RTT.", &hist);
}

START_TEST(histogram_render)
{
	char *s;

	memset(&hist, 0, sizeof(hist));
	metrics_hist_observe_us(&hist, 100);	 /* <= 0.0005 */
	metrics_hist_observe_us(&hist, 500);	 /* <= 0.0005: the bound is inclusive */
	metrics_hist_observe_us(&hist, 2000);	 /* <= 0.0025 */
	metrics_hist_observe_us(&hist, 9000000); /* +Inf only */
	s = render(histogram);
	ck_assert_ptr_nonnull(strstr(s, "# TYPE loki_rtt_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(s, "loki_rtt_seconds_bucket{le=\"0.0005\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(s, "loki_rtt_seconds_bucket{le=\"0.001\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(s, "loki_rtt_seconds_bucket{le=\"0.0025\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(s, "loki_rtt_seconds_bucket{le=\"5\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(s, "loki_rtt_seconds_bucket{le=\"+Inf\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(s, "loki_rtt_seconds_sum 9.002600\n"));
	ck_assert_ptr_nonnull(strstr(s, "loki_rtt_seconds_count 4\n"));
	free(s);
}
END_TEST

static void big(struct strbuf *b)
{
	int i;

	for (i = 0; i < 2000; i++)
		metrics_sample(b, "loki_many", NULL, (uint64_t)i);
}

START_TEST(buffer_grows)
{
	char *s = render(big);

	ck_assert_ptr_nonnull(strstr(s, "loki_many 0\nloki_many 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "loki_many 1999\n"));
	free(s);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, text_format);
	tcase_add_test(tc, label_escaping);
	tcase_add_test(tc, histogram_render);
	tcase_add_test(tc, buffer_grows);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
