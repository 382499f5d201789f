/*
 * Unit tests for resolver/zones.c: the built-in AI API zone, RPZ triggers and
 * actions, and the errors (with file and line) for everything else.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns.h"
#include "policy.h"
#include "wire.h"
#include "zones.h"

static enum policy_verdict verdict(const struct policy *p, const char *text)
{
	uint8_t raw[DNS_NAME_MAX], lc[DNS_NAME_MAX];
	uint8_t labels = 0;
	size_t len, pos;

	len = wire_name_from_text(text, raw);
	ck_assert_msg(len > 0, "bad test name %s", text);
	wire_name_lower(lc, raw, len);
	for (pos = 0; lc[pos] != 0; pos += 1 + lc[pos])
		labels++;
	return policy_check(p, lc, len, labels);
}

#define ck_verdict(p, name, v)                                                                     \
	ck_assert_msg(verdict((p), (name)) == (v), "%s: verdict %d, expected %d", (name),          \
		      verdict((p), (name)), (v))

static struct policy *new_policy(enum policy_mode mode)
{
	struct policy *p = policy_new(mode, false);

	ck_assert_ptr_nonnull(p);
	return p;
}

static int load(struct policy *p, const char *text, char *err, size_t errlen)
{
	return zones_load_text(p, text, strlen(text), "test.rpz", err, errlen);
}

/* Loads text that must fail, and checks the result code and the whole message. */
static void expect_error(const char *text, int rc, const char *msg)
{
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[512];

	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(load(p, text, err, sizeof(err)), rc);
	ck_assert_str_eq(err, msg);
	/* A zone with an error adds nothing at all. */
	ck_assert_uint_eq(policy_count(p), 0);
	policy_free(p);
}

#define HEAD                                                                                       \
	"$ORIGIN allow.rpz.\n"                                                                     \
	"$TTL 300\n"                                                                               \
	"@ SOA localhost. hostmaster.localhost. 1 3600 600 86400 30\n"                             \
	"@ NS localhost.\n"

START_TEST(test_builtin)
{
	static const char *const blocked[] = {
		"openai.com",	       "x.api.openai.com",
		"api.openai.com.evil", "anthropic.com",
		"www.anthropic.com",   "x.api.anthropic.com",
		"googleapis.com",      "www.googleapis.com",
		"ai-apis.rpz",	       "api.openai.com.ai-apis.rpz",
		"localhost",	       "rpz-passthru",
	};
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[256] = "unchanged";
	size_t i;

	ck_assert_int_eq(zones_load_text(p, zones_builtin_ai_apis, strlen(zones_builtin_ai_apis),
					 "builtin", err, sizeof(err)),
			 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(policy_count(p), 3);
	ck_verdict(p, "api.anthropic.com", VERDICT_ALLOW);
	ck_verdict(p, "api.openai.com", VERDICT_ALLOW);
	ck_verdict(p, "generativelanguage.googleapis.com", VERDICT_ALLOW);
	ck_verdict(p, "API.OpenAI.com.", VERDICT_ALLOW);
	for (i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
		ck_verdict(p, blocked[i], VERDICT_BLOCK);
	policy_free(p);
}
END_TEST

/* The installed file and the compiled-in text are the same zone. */
START_TEST(test_builtin_file)
{
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[256];

	ck_assert_int_eq(zones_load_file(p, TEST_SRCDIR "/zones/ai-apis.rpz", err, sizeof(err)), 0);
	ck_assert_uint_eq(policy_count(p), 3);
	ck_verdict(p, "api.anthropic.com", VERDICT_ALLOW);
	ck_verdict(p, "api.openai.com", VERDICT_ALLOW);
	ck_verdict(p, "generativelanguage.googleapis.com", VERDICT_ALLOW);
	ck_verdict(p, "openai.com", VERDICT_BLOCK);
	policy_free(p);
}
END_TEST

START_TEST(test_triggers_and_actions)
{
	static const char zone[] = HEAD "exact.example.com CNAME rpz-passthru.\n"
					"*.wild.example    CNAME rpz-passthru.\n"
					"bad.example.com   CNAME .\n"
					"*.evil.example    CNAME .\n"
					"nodata.example    CNAME *.\n"
					"UPPER.Example.NET CNAME RPZ-PASSTHRU.\n"
					"abs.example.org.allow.rpz. CNAME rpz-passthru.\n"
					"Mixed.ALLOW.RPZ.  CNAME rpz-passthru.\n";
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[256];

	ck_assert_int_eq(load(p, zone, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(policy_count(p), 5);
	ck_verdict(p, "exact.example.com", VERDICT_ALLOW);
	ck_verdict(p, "x.exact.example.com", VERDICT_BLOCK);
	ck_verdict(p, "a.wild.example", VERDICT_ALLOW);
	ck_verdict(p, "a.b.wild.example", VERDICT_ALLOW);
	ck_verdict(p, "wild.example", VERDICT_BLOCK);
	ck_verdict(p, "bad.example.com", VERDICT_DENY);
	ck_verdict(p, "x.evil.example", VERDICT_DENY);
	ck_verdict(p, "evil.example", VERDICT_BLOCK);
	ck_verdict(p, "nodata.example", VERDICT_DENY);
	ck_verdict(p, "upper.example.net", VERDICT_ALLOW);
	ck_verdict(p, "abs.example.org", VERDICT_ALLOW);
	ck_verdict(p, "mixed", VERDICT_ALLOW);
	/* The zone's own names are not triggers. */
	ck_verdict(p, "allow.rpz", VERDICT_BLOCK);
	ck_verdict(p, "exact.example.com.allow.rpz", VERDICT_BLOCK);
	policy_free(p);

	/* Deny entries hold under unrestricted too. */
	p = new_policy(POLICY_UNRESTRICTED);
	ck_assert_int_eq(load(p, zone, err, sizeof(err)), 0);
	ck_verdict(p, "bad.example.com", VERDICT_DENY);
	ck_verdict(p, "y.evil.example", VERDICT_DENY);
	ck_verdict(p, "nodata.example", VERDICT_DENY);
	ck_verdict(p, "other.example", VERDICT_ALLOW);
	policy_free(p);
}
END_TEST

/* $ORIGIN may change below the apex; owners stay relative to the current one. */
START_TEST(test_origin_changes)
{
	static const char zone[] = HEAD "$ORIGIN example.com.allow.rpz.\n"
					"api CNAME rpz-passthru.\n"
					"*.cdn CNAME rpz-passthru.\n"
					"$ORIGIN allow.rpz.\n"
					"top.example CNAME rpz-passthru.\n";
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[256];

	ck_assert_int_eq(load(p, zone, err, sizeof(err)), 0);
	ck_assert_uint_eq(policy_count(p), 3);
	ck_verdict(p, "api.example.com", VERDICT_ALLOW);
	ck_verdict(p, "x.cdn.example.com", VERDICT_ALLOW);
	ck_verdict(p, "top.example", VERDICT_ALLOW);
	policy_free(p);
}
END_TEST

/* Without $ORIGIN, the SOA owner is the origin for the names after it. */
START_TEST(test_soa_as_origin)
{
	static const char zone[] = "allow.rpz. 300 IN SOA localhost. h.localhost. ( 1 3600\n"
				   "        600 86400 30 )\n"
				   "   IN NS localhost.\n"
				   "api.example.com CNAME rpz-passthru.\n"
				   "abs.example.allow.rpz. CNAME rpz-passthru.\n";
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[256];

	ck_assert_int_eq(load(p, zone, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(policy_count(p), 2);
	ck_verdict(p, "api.example.com", VERDICT_ALLOW);
	ck_verdict(p, "abs.example", VERDICT_ALLOW);
	policy_free(p);
}
END_TEST

START_TEST(test_empty_and_comments)
{
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[256];

	ck_assert_int_eq(zones_load_text(p, "", 0, "empty", err, sizeof(err)), 0);
	ck_assert_int_eq(load(p, "; nothing here\n\n   ; at all\n", err, sizeof(err)), 0);
	ck_assert_int_eq(load(p, HEAD, err, sizeof(err)), 0);
	ck_assert_uint_eq(policy_count(p), 0);
	ck_verdict(p, "api.openai.com", VERDICT_BLOCK);
	policy_free(p);
}
END_TEST

/* Zones add to what the policy already holds. */
START_TEST(test_zones_accumulate)
{
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[256];

	ck_assert_int_eq(policy_allow_text(p, "cli.example"), 0);
	ck_assert_int_eq(zones_load_text(p, zones_builtin_ai_apis, strlen(zones_builtin_ai_apis),
					 "builtin", err, sizeof(err)),
			 0);
	ck_assert_int_eq(load(p,
			      HEAD "more.example CNAME rpz-passthru.\n"
				   "api.openai.com CNAME rpz-passthru.\n",
			      err, sizeof(err)),
			 0);
	ck_assert_uint_eq(policy_count(p), 5);
	ck_verdict(p, "cli.example", VERDICT_ALLOW);
	ck_verdict(p, "more.example", VERDICT_ALLOW);
	ck_verdict(p, "api.openai.com", VERDICT_ALLOW);
	policy_free(p);
}
END_TEST

START_TEST(test_unsupported_records)
{
	expect_error(HEAD "ok.example CNAME rpz-passthru.\n"
			  "a.example A 192.0.2.1\n",
		     -EINVAL,
		     "test.rpz:6: unsupported RPZ record: a.example.allow.rpz. 300 IN A 192.0.2.1");
	expect_error(HEAD "rewrite.example CNAME other.example.\n", -EINVAL,
		     "test.rpz:5: unsupported RPZ record: rewrite.example.allow.rpz. 300 IN CNAME "
		     "other.example.");
	expect_error(HEAD "drop.example CNAME rpz-drop.\n", -EINVAL,
		     "test.rpz:5: unsupported RPZ record: drop.example.allow.rpz. 300 IN CNAME "
		     "rpz-drop.");
	expect_error(HEAD "t.example TXT \"hello\"\n", -EINVAL,
		     "test.rpz:5: unsupported RPZ record: t.example.allow.rpz. 300 IN TXT "
		     "\"hello\"");
	/* NS below the apex is a delegation, not an RPZ action. */
	expect_error(HEAD "sub NS localhost.\n", -EINVAL,
		     "test.rpz:5: unsupported RPZ record: sub.allow.rpz. 300 IN NS localhost.");
	/* A trigger at the apex itself would be the root. */
	expect_error(HEAD "@ CNAME rpz-passthru.\n", -EINVAL,
		     "test.rpz:5: unsupported RPZ record: allow.rpz. 300 IN CNAME rpz-passthru.");
	/* "*" at the apex would allow every name. */
	expect_error(HEAD "* CNAME rpz-passthru.\n", -EINVAL,
		     "test.rpz:5: unsupported RPZ record: *.allow.rpz. 300 IN CNAME rpz-passthru.");
	/* IP and name server triggers match what we never see. */
	expect_error(HEAD "32.1.2.0.192.rpz-ip CNAME .\n", -EINVAL,
		     "test.rpz:5: unsupported RPZ record: 32.1.2.0.192.rpz-ip.allow.rpz. 300 IN "
		     "CNAME .");
	expect_error(HEAD "ns.example.rpz-nsdname CNAME .\n", -EINVAL,
		     "test.rpz:5: unsupported RPZ record: ns.example.rpz-nsdname.allow.rpz. 300 IN "
		     "CNAME .");
	expect_error(HEAD "x.example CH CNAME rpz-passthru.\n", -EINVAL,
		     "test.rpz:5: unsupported RPZ record: x.example.allow.rpz. 300 CH CNAME "
		     "rpz-passthru.");
}
END_TEST

/* Line numbers count comments, blank lines and multi-line records. */
START_TEST(test_error_lines)
{
	expect_error("; header comment\n"
		     "\n"
		     "$ORIGIN allow.rpz.\n"
		     "@ SOA localhost. h.localhost. (\n"
		     "      1 3600 600\n"
		     "      86400 30 )\n"
		     "; a comment\n"
		     "\n"
		     "ok.example CNAME rpz-passthru. ; trailing comment\n"
		     "   ; indented comment\n"
		     "\n"
		     "a.example AAAA 2001:db8::1\n"
		     "b.example CNAME rpz-passthru.\n",
		     -EINVAL,
		     "test.rpz:12: unsupported RPZ record: a.example.allow.rpz. 3600 IN AAAA "
		     "2001:db8::1");
	/* The last line, without its newline, followed by nothing. */
	expect_error(HEAD "ok.example CNAME rpz-passthru.\n"
			  "a.example A 192.0.2.1",
		     -EINVAL,
		     "test.rpz:6: unsupported RPZ record: a.example.allow.rpz. 300 IN A 192.0.2.1");
	/* The last line, followed by blank lines. */
	expect_error(HEAD "a.example A 192.0.2.1\n\n\n\n", -EINVAL,
		     "test.rpz:5: unsupported RPZ record: a.example.allow.rpz. 300 IN A 192.0.2.1");
}
END_TEST

static void expect_syntax_error(const char *text, const char *prefix)
{
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[512];

	ck_assert_int_eq(load(p, text, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "\"%s\" lacks prefix \"%s\"", err,
		      prefix);
	/* The rest is ldns's own message, not one of ours. */
	ck_assert_msg(strlen(err) > strlen(prefix) + 3, "%s", err);
	ck_assert_msg(strstr(err, "unsupported") == NULL, "%s", err);
	ck_assert_uint_eq(policy_count(p), 0);
	policy_free(p);
}

START_TEST(test_syntax_errors)
{
	expect_syntax_error(HEAD "ok.example CNAME rpz-passthru.\n"
				 "bad.example CNAME\n"
				 "later.example CNAME rpz-passthru.\n",
			    "test.rpz:6: ");
	expect_syntax_error(HEAD "\n\nbad.example IN A not-an-address\n", "test.rpz:7: ");
	expect_syntax_error(HEAD "bad.example NOSUCHTYPE rpz-passthru.\n", "test.rpz:5: ");
	expect_syntax_error(HEAD "bad..example CNAME rpz-passthru.\n", "test.rpz:5: ");
	expect_syntax_error(HEAD "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				 ".example CNAME rpz-passthru.\n",
			    "test.rpz:5: ");
}
END_TEST

START_TEST(test_outside_origin)
{
	expect_error(HEAD "ok.example CNAME rpz-passthru.\n"
			  "api.example.com. CNAME rpz-passthru.\n",
		     -EINVAL, "test.rpz:6: api.example.com. is outside the zone origin allow.rpz.");
	/* A name that merely ends with the same characters is outside too. */
	expect_error(HEAD "x.notallow.rpz. CNAME rpz-passthru.\n", -EINVAL,
		     "test.rpz:5: x.notallow.rpz. is outside the zone origin allow.rpz.");
	/* After the SOA, a new $ORIGIN does not move the apex. */
	expect_error(HEAD "$ORIGIN other.rpz.\n"
			  "x CNAME rpz-passthru.\n",
		     -EINVAL, "test.rpz:6: x.other.rpz. is outside the zone origin allow.rpz.");
	expect_error("foo.example. CNAME rpz-passthru.\n", -EINVAL,
		     "test.rpz:1: no $ORIGIN or SOA before the first record");
	expect_error(HEAD "$INCLUDE /etc/passwd\n", -EINVAL,
		     "test.rpz:5: $INCLUDE is not supported");
}
END_TEST

/* The label in messages is whatever the caller names the source. */
START_TEST(test_error_label)
{
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[256];
	static const char text[] = "$ORIGIN z.\n@ SOA a. b. 1 2 3 4 5\nx A 192.0.2.1\n";

	ck_assert_int_eq(
		zones_load_text(p, text, strlen(text), "/etc/loki/extra.rpz", err, sizeof(err)),
		-EINVAL);
	ck_assert_str_eq(err, "/etc/loki/extra.rpz:3: unsupported RPZ record: x.z. 3600 IN A "
			      "192.0.2.1");
	/* A short error buffer is truncated, never overrun. */
	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(zones_load_text(p, text, strlen(text), "lbl", err, 12), -EINVAL);
	ck_assert_str_eq(err, "lbl:3: unsu");
	ck_assert_int_eq(err[12], 'x');
	/* No error buffer at all is fine. */
	ck_assert_int_eq(zones_load_text(p, text, strlen(text), "lbl", NULL, 0), -EINVAL);
	policy_free(p);
}
END_TEST

/* Text is read by length, not up to a NUL, and bytes past it are not read. */
START_TEST(test_text_length)
{
	static const char zone[] = HEAD "a.example CNAME rpz-passthru.\n"
					"b.example A 192.0.2.1\n";
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[256];
	size_t cut = strstr(zone, "b.example") - zone;

	ck_assert_int_eq(zones_load_text(p, zone, cut, "t", err, sizeof(err)), 0);
	ck_assert_uint_eq(policy_count(p), 1);
	ck_verdict(p, "a.example", VERDICT_ALLOW);
	policy_free(p);
}
END_TEST

/* A NUL byte would make ldns cut the line short; the zone is refused. */
START_TEST(test_nul_byte)
{
	static const char zone[] = HEAD "ok.example CNAME rpz-passthru.\n"
					"cut.example CNAME rpz-passthru.\0 garbage\n";
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char err[256];

	ck_assert_int_eq(zones_load_text(p, zone, sizeof(zone) - 1, "t", err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "t:6: NUL byte in zone text");
	ck_assert_uint_eq(policy_count(p), 0);
	policy_free(p);
}
END_TEST

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_zones.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(test_files)
{
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char path[128], msg[512], err[512];

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/good.rpz", tmpdir);
	write_file(path, HEAD "*.corp.example CNAME rpz-passthru.\n"
			      "blocked.corp.example CNAME .\n");
	ck_assert_int_eq(zones_load_file(p, path, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_verdict(p, "a.corp.example", VERDICT_ALLOW);
	ck_verdict(p, "blocked.corp.example", VERDICT_DENY);
	ck_verdict(p, "corp.example", VERDICT_BLOCK);
	unlink(path);

	/* Errors in files carry the path as their label. */
	snprintf(path, sizeof(path), "%s/bad.rpz", tmpdir);
	write_file(path, HEAD "\nx.example MX 10 mail.example.\n");
	ck_assert_int_eq(zones_load_file(p, path, err, sizeof(err)), -EINVAL);
	snprintf(msg, sizeof(msg),
		 "%s:6: unsupported RPZ record: x.example.allow.rpz. 300 IN MX 10 mail.example.",
		 path);
	ck_assert_str_eq(err, msg);
	unlink(path);

	/* The file is gone now. */
	ck_assert_int_eq(zones_load_file(p, path, err, sizeof(err)), -ENOENT);
	snprintf(msg, sizeof(msg), "%s: cannot read: %s", path, strerror(ENOENT));
	ck_assert_str_eq(err, msg);

	/* A directory is not a zone. */
	ck_assert_int_eq(zones_load_file(p, tmpdir, err, sizeof(err)), -EISDIR);
	snprintf(msg, sizeof(msg), "%s: cannot read: %s", tmpdir, strerror(EISDIR));
	ck_assert_str_eq(err, msg);

	/* Permissions do not stop root, so this part runs only unprivileged. */
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/secret.rpz", tmpdir);
		write_file(path, HEAD);
		ck_assert_int_eq(chmod(path, 0), 0);
		ck_assert_int_eq(zones_load_file(p, path, err, sizeof(err)), -EACCES);
		snprintf(msg, sizeof(msg), "%s: cannot read: %s", path, strerror(EACCES));
		ck_assert_str_eq(err, msg);
		unlink(path);
	}
	ck_assert_uint_eq(policy_count(p), 1);
	ck_assert_int_eq(rmdir(tmpdir), 0);
	policy_free(p);
}
END_TEST

/* A zone larger than the parser's internal buffers, loaded from a file. */
START_TEST(test_large_file)
{
	struct policy *p = new_policy(POLICY_AI_ONLY);
	char path[128], err[256], name[64];
	FILE *fp;
	int i;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/large.rpz", tmpdir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(HEAD, fp);
	for (i = 0; i < 5000; i++)
		fprintf(fp, "host%d.example CNAME rpz-passthru.\n*.sub%d.example CNAME .\n", i, i);
	fputs("last.example TYPE999 \\# 0\n", fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(zones_load_file(p, path, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, ":10005: unsupported RPZ record: last.example.allow.rpz.") !=
			      NULL,
		      "%s", err);
	ck_assert_uint_eq(policy_count(p), 0);

	/* Without the bad last line, all of it loads. */
	ck_assert_int_eq(truncate(path, 0), 0);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(HEAD, fp);
	for (i = 0; i < 5000; i++)
		fprintf(fp, "host%d.example CNAME rpz-passthru.\n*.sub%d.example CNAME .\n", i, i);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(zones_load_file(p, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(policy_count(p), 5000);
	for (i = 0; i < 5000; i += 7) {
		snprintf(name, sizeof(name), "host%d.example", i);
		ck_verdict(p, name, VERDICT_ALLOW);
		snprintf(name, sizeof(name), "x.sub%d.example", i);
		ck_verdict(p, name, VERDICT_DENY);
	}
	unlink(path);
	ck_assert_int_eq(rmdir(tmpdir), 0);
	policy_free(p);
}
END_TEST

static Suite *zones_suite(void)
{
	Suite *s = suite_create("zones");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_builtin);
	tcase_add_test(tc, test_builtin_file);
	tcase_add_test(tc, test_triggers_and_actions);
	tcase_add_test(tc, test_origin_changes);
	tcase_add_test(tc, test_soa_as_origin);
	tcase_add_test(tc, test_empty_and_comments);
	tcase_add_test(tc, test_zones_accumulate);
	tcase_add_test(tc, test_unsupported_records);
	tcase_add_test(tc, test_error_lines);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_outside_origin);
	tcase_add_test(tc, test_error_label);
	tcase_add_test(tc, test_text_length);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_large_file);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(zones_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
