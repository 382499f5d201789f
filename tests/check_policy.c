/*
 * Unit tests for resolver/policy.c: exact and wildcard allowlist entries,
 * deny entries, the three modes, the metadata block, and name forms.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "policy.h"
#include "wire.h"

/* A query name as the resolver hands it over: lower-case wire form. */
struct qname {
	uint8_t wire[DNS_NAME_MAX];
	size_t len;
	uint8_t labels;
};

static struct qname qn(const char *text)
{
	struct qname q = {0};
	uint8_t raw[DNS_NAME_MAX];
	size_t pos;

	q.len = wire_name_from_text(text, raw);
	ck_assert_msg(q.len > 0, "bad test name %s", text);
	wire_name_lower(q.wire, raw, q.len);
	for (pos = 0; q.wire[pos] != 0; pos += 1 + q.wire[pos])
		q.labels++;
	return q;
}

static enum policy_verdict verdict(const struct policy *p, const char *text)
{
	struct qname q = qn(text);

	return policy_check(p, q.wire, q.len, q.labels);
}

static bool listed(const struct policy *p, const char *text)
{
	struct qname q = qn(text);

	return policy_listed(p, q.wire, q.len, q.labels);
}

static struct policy *new_policy(enum policy_mode mode, bool block_metadata)
{
	struct policy *p = policy_new(mode, block_metadata);

	ck_assert_ptr_nonnull(p);
	return p;
}

#define ck_verdict(p, name, v) ck_assert_int_eq(verdict((p), (name)), (v))

START_TEST(test_mode_names)
{
	ck_assert_int_eq(policy_mode_parse("unrestricted"), POLICY_UNRESTRICTED);
	ck_assert_int_eq(policy_mode_parse("ai-only"), POLICY_AI_ONLY);
	ck_assert_int_eq(policy_mode_parse("none"), POLICY_NONE);
	ck_assert_int_eq(policy_mode_parse(""), -1);
	ck_assert_int_eq(policy_mode_parse("ai_only"), -1);
	ck_assert_int_eq(policy_mode_parse("ai-only "), -1);
	ck_assert_int_eq(policy_mode_parse("all"), -1);
	ck_assert_int_eq(policy_mode_parse(NULL), -1);
	ck_assert_str_eq(policy_mode_name(POLICY_UNRESTRICTED), "unrestricted");
	ck_assert_str_eq(policy_mode_name(POLICY_AI_ONLY), "ai-only");
	ck_assert_str_eq(policy_mode_name(POLICY_NONE), "none");
	ck_assert_str_eq(policy_mode_name((enum policy_mode)42), "unknown");
}
END_TEST

START_TEST(test_accessors)
{
	struct policy *p = new_policy(POLICY_AI_ONLY, true);

	ck_assert_int_eq(policy_mode(p), POLICY_AI_ONLY);
	ck_assert(policy_blocks_metadata(p));
	ck_assert_uint_eq(policy_count(p), 0);
	policy_free(p);
	p = new_policy(POLICY_NONE, false);
	ck_assert_int_eq(policy_mode(p), POLICY_NONE);
	ck_assert(!policy_blocks_metadata(p));
	policy_free(p);
	policy_free(NULL);
}
END_TEST

START_TEST(test_exact)
{
	struct policy *p = new_policy(POLICY_AI_ONLY, false);

	ck_assert_int_eq(policy_allow_text(p, "api.example.com"), 0);
	ck_verdict(p, "api.example.com", VERDICT_ALLOW);
	/* An exact entry covers neither its parent nor its children. */
	ck_verdict(p, "example.com", VERDICT_BLOCK);
	ck_verdict(p, "x.api.example.com", VERDICT_BLOCK);
	ck_verdict(p, "api.example.co", VERDICT_BLOCK);
	ck_verdict(p, "api.example.com.evil", VERDICT_BLOCK);
	ck_verdict(p, "xapi.example.com", VERDICT_BLOCK);
	ck_assert(listed(p, "api.example.com"));
	ck_assert(!listed(p, "x.api.example.com"));
	policy_free(p);
}
END_TEST

START_TEST(test_wildcard)
{
	struct policy *p = new_policy(POLICY_AI_ONLY, false);

	ck_assert_int_eq(policy_allow_text(p, "*.example.com"), 0);
	ck_verdict(p, "a.example.com", VERDICT_ALLOW);
	ck_verdict(p, "x.y.example.com", VERDICT_ALLOW);
	ck_verdict(p, "a.b.c.d.e.example.com", VERDICT_ALLOW);
	/* Strictly below: the suffix itself is not matched. */
	ck_verdict(p, "example.com", VERDICT_BLOCK);
	ck_assert(!listed(p, "example.com"));
	/* Suffixes match on label boundaries only. */
	ck_verdict(p, "badexample.com", VERDICT_BLOCK);
	ck_verdict(p, "a.badexample.com", VERDICT_BLOCK);
	ck_verdict(p, "a.example.com.evil", VERDICT_BLOCK);
	ck_verdict(p, "com", VERDICT_BLOCK);
	ck_verdict(p, ".", VERDICT_BLOCK);
	ck_assert(listed(p, "x.y.example.com"));
	policy_free(p);
}
END_TEST

START_TEST(test_wildcard_and_exact_together)
{
	struct policy *p = new_policy(POLICY_AI_ONLY, false);

	ck_assert_int_eq(policy_allow_text(p, "*.example.com"), 0);
	ck_assert_int_eq(policy_allow_text(p, "example.com"), 0);
	ck_assert_int_eq(policy_allow_text(p, "*.com"), 0);
	ck_assert_uint_eq(policy_count(p), 3);
	ck_verdict(p, "example.com", VERDICT_ALLOW);
	ck_verdict(p, "a.example.com", VERDICT_ALLOW);
	ck_verdict(p, "other.com", VERDICT_ALLOW);
	ck_verdict(p, "com", VERDICT_BLOCK);
	ck_verdict(p, "other.net", VERDICT_BLOCK);
	policy_free(p);
}
END_TEST

START_TEST(test_case_and_trailing_dot)
{
	struct policy *p = new_policy(POLICY_AI_ONLY, false);
	uint8_t wire[DNS_NAME_MAX];
	size_t len;

	ck_assert_int_eq(policy_allow_text(p, "API.Example.COM."), 0);
	ck_assert_int_eq(policy_allow_text(p, "*.Corp.EXAMPLE"), 0);
	/* The same names again, in other spellings, add nothing. */
	ck_assert_int_eq(policy_allow_text(p, "api.example.com"), 0);
	ck_assert_int_eq(policy_allow_text(p, "*.corp.example."), 0);
	ck_assert_uint_eq(policy_count(p), 2);
	ck_verdict(p, "api.example.com", VERDICT_ALLOW);
	ck_verdict(p, "api.example.com.", VERDICT_ALLOW);
	ck_verdict(p, "Api.EXAMPLE.com", VERDICT_ALLOW);
	ck_verdict(p, "host.corp.example", VERDICT_ALLOW);
	ck_verdict(p, "HOST.CORP.EXAMPLE.", VERDICT_ALLOW);

	/* A caller that forgets to lower-case still gets the right verdict. */
	len = wire_name_from_text("API.example.COM", wire);
	ck_assert_int_eq(policy_check(p, wire, len, 3), VERDICT_ALLOW);
	ck_assert(policy_listed(p, wire, len, 3));
	policy_free(p);
}
END_TEST

START_TEST(test_wire_entries)
{
	static const uint8_t name[] = "\x03"
				      "api\x07"
				      "EXAMPLE\x03"
				      "com";
	static const uint8_t suffix[] = "\x04wild\x07"
					"example";
	struct policy *p = new_policy(POLICY_AI_ONLY, false);

	ck_assert_int_eq(policy_allow_wire(p, name, sizeof(name), false), 0);
	ck_assert_int_eq(policy_allow_wire(p, suffix, sizeof(suffix), true), 0);
	ck_verdict(p, "api.example.com", VERDICT_ALLOW);
	ck_verdict(p, "a.wild.example", VERDICT_ALLOW);
	ck_verdict(p, "wild.example", VERDICT_BLOCK);
	ck_assert_uint_eq(policy_count(p), 2);
	policy_free(p);
}
END_TEST

START_TEST(test_unrestricted_mode)
{
	struct policy *p = new_policy(POLICY_UNRESTRICTED, false);

	ck_verdict(p, "anything.example", VERDICT_ALLOW);
	ck_verdict(p, ".", VERDICT_ALLOW);
	ck_assert_int_eq(policy_allow_text(p, "api.example.com"), 0);
	ck_verdict(p, "api.example.com", VERDICT_ALLOW);
	ck_verdict(p, "other.example.com", VERDICT_ALLOW);
	/* Listing is independent of the mode. */
	ck_assert(listed(p, "api.example.com"));
	ck_assert(!listed(p, "other.example.com"));
	policy_free(p);
}
END_TEST

START_TEST(test_none_mode)
{
	struct policy *p = new_policy(POLICY_NONE, false);

	ck_assert_int_eq(policy_allow_text(p, "api.example.com"), 0);
	ck_assert_int_eq(policy_allow_text(p, "*.example.org"), 0);
	ck_verdict(p, "api.example.com", VERDICT_BLOCK);
	ck_verdict(p, "a.example.org", VERDICT_BLOCK);
	ck_verdict(p, "other.example", VERDICT_BLOCK);
	ck_assert(listed(p, "api.example.com"));
	policy_free(p);
}
END_TEST

START_TEST(test_empty_allowlist)
{
	struct policy *p = new_policy(POLICY_AI_ONLY, false);

	ck_assert_uint_eq(policy_count(p), 0);
	ck_verdict(p, "api.openai.com", VERDICT_BLOCK);
	ck_verdict(p, "com", VERDICT_BLOCK);
	ck_verdict(p, ".", VERDICT_BLOCK);
	ck_assert(!listed(p, "api.openai.com"));
	policy_free(p);
}
END_TEST

static const char *const metadata[] = {
	"metadata.google.internal",
	"metadata",
	"instance-data.ec2.internal",
	"metadata.azure.internal",
};

/* Metadata names under every mode, block on and off (loop over _i: mode * 2 + on). */
START_TEST(test_metadata_modes)
{
	enum policy_mode mode = (enum policy_mode)(_i / 2);
	bool on = _i % 2 == 1;
	struct policy *p = new_policy(mode, on);
	enum policy_verdict off_verdict =
		mode == POLICY_UNRESTRICTED ? VERDICT_ALLOW : VERDICT_BLOCK;
	size_t i;

	for (i = 0; i < sizeof(metadata) / sizeof(metadata[0]); i++)
		ck_assert_msg(verdict(p, metadata[i]) == (on ? VERDICT_METADATA : off_verdict),
			      "%s under %s, block %d", metadata[i], policy_mode_name(mode), on);
	/* Only those exact names: names below or beside them are not metadata. */
	ck_verdict(p, "x.metadata.google.internal", off_verdict);
	ck_verdict(p, "metadata.google", off_verdict);
	ck_verdict(p, "google.internal", off_verdict);
	ck_verdict(p, "metadata.internal", off_verdict);
	ck_verdict(p, "ec2.internal", off_verdict);
	ck_verdict(p, "metadata.example", off_verdict);
	policy_free(p);
}
END_TEST

START_TEST(test_metadata_beats_allowlist)
{
	struct policy *p = new_policy(POLICY_AI_ONLY, true);
	uint8_t wire[DNS_NAME_MAX];
	size_t len;

	ck_assert_int_eq(policy_allow_text(p, "metadata.google.internal"), 0);
	ck_assert_int_eq(policy_allow_text(p, "*.internal"), 0);
	ck_assert_int_eq(policy_allow_text(p, "metadata"), 0);
	ck_verdict(p, "metadata.google.internal", VERDICT_METADATA);
	ck_verdict(p, "metadata.azure.internal", VERDICT_METADATA);
	ck_verdict(p, "metadata", VERDICT_METADATA);
	ck_verdict(p, "other.internal", VERDICT_ALLOW);
	ck_verdict(p, "Metadata.Google.Internal.", VERDICT_METADATA);
	/* Mixed case handed over by mistake is still caught. */
	len = wire_name_from_text("METADATA.google.INTERNAL", wire);
	ck_assert_int_eq(policy_check(p, wire, len, 3), VERDICT_METADATA);
	policy_free(p);

	/* With the block off, an allowlisted metadata name is just a name. */
	p = new_policy(POLICY_AI_ONLY, false);
	ck_assert_int_eq(policy_allow_text(p, "metadata.google.internal"), 0);
	ck_verdict(p, "metadata.google.internal", VERDICT_ALLOW);
	ck_verdict(p, "metadata", VERDICT_BLOCK);
	policy_free(p);
}
END_TEST

/* Deny entries under every mode (loop over _i: the mode). */
START_TEST(test_deny_modes)
{
	static const uint8_t bad[] = "\x03"
				     "bad\x07"
				     "example";
	static const uint8_t evil[] = "\x04"
				      "EVIL\x07"
				      "example";
	enum policy_mode mode = (enum policy_mode)_i;
	struct policy *p = new_policy(mode, true);
	enum policy_verdict other = mode == POLICY_UNRESTRICTED ? VERDICT_ALLOW : VERDICT_BLOCK;

	ck_assert_int_eq(policy_deny_wire(p, bad, sizeof(bad), false), 0);
	ck_assert_int_eq(policy_deny_wire(p, evil, sizeof(evil), true), 0);
	/* Allowing the same names does not lift the deny. */
	ck_assert_int_eq(policy_allow_text(p, "bad.example"), 0);
	ck_assert_int_eq(policy_allow_text(p, "*.evil.example"), 0);
	ck_assert_int_eq(policy_allow_text(p, "evil.example"), 0);
	ck_assert_int_eq(policy_allow_text(p, "good.example"), 0);
	/* Deny entries are not allowlist entries. */
	ck_assert_uint_eq(policy_count(p), 4);

	ck_verdict(p, "bad.example", VERDICT_DENY);
	ck_verdict(p, "BAD.example.", VERDICT_DENY);
	ck_verdict(p, "x.evil.example", VERDICT_DENY);
	ck_verdict(p, "y.x.evil.example", VERDICT_DENY);
	/* An exact deny does not reach below; a wildcard deny not the suffix. */
	ck_verdict(p, "x.bad.example", other);
	ck_verdict(p, "evil.example", mode == POLICY_NONE ? VERDICT_BLOCK : VERDICT_ALLOW);
	ck_verdict(p, "good.example", mode == POLICY_NONE ? VERDICT_BLOCK : VERDICT_ALLOW);
	ck_verdict(p, "unlisted.example", other);
	policy_free(p);
}
END_TEST

START_TEST(test_metadata_beats_deny)
{
	struct policy *p = new_policy(POLICY_UNRESTRICTED, true);
	struct qname q = qn("metadata.google.internal");

	ck_assert_int_eq(policy_deny_wire(p, q.wire, q.len, false), 0);
	ck_verdict(p, "metadata.google.internal", VERDICT_METADATA);
	policy_free(p);

	p = new_policy(POLICY_UNRESTRICTED, false);
	ck_assert_int_eq(policy_deny_wire(p, q.wire, q.len, false), 0);
	ck_verdict(p, "metadata.google.internal", VERDICT_DENY);
	policy_free(p);
}
END_TEST

START_TEST(test_bad_text)
{
	static const char *const bad[] = {
		"",
		"*",
		"*.",
		".",
		"*..",
		"a..b",
		".a.b",
		"api*.example.com",
		"a.*.example.com",
		"**.example.com",
		"*example.com",
		" a.example.com",
		"a.example.com ",
		"a\texample.com",
		"a.exam\nple.com",
		/* 64-byte label */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	};
	struct policy *p = new_policy(POLICY_AI_ONLY, false);
	char longname[300];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(policy_allow_text(p, bad[i]) == -EINVAL, "accepted \"%s\"", bad[i]);
	/* 64 labels of "a": 128 bytes of text, 129 in wire form, fits; 128 labels do not. */
	for (i = 0; i < 128; i++)
		memcpy(longname + 2 * i, "a.", 2);
	longname[2 * 128 - 1] = '\0';
	ck_assert_int_eq(policy_allow_text(p, longname), -EINVAL);
	longname[2 * 64 - 1] = '\0';
	ck_assert_int_eq(policy_allow_text(p, longname), 0);
	ck_assert_int_eq(policy_allow_text(p, NULL), -EINVAL);
	ck_assert_int_eq(policy_allow_text(NULL, "a.example"), -EINVAL);
	ck_assert_uint_eq(policy_count(p), 1);
	policy_free(p);
}
END_TEST

START_TEST(test_bad_wire)
{
	static const uint8_t root[] = {0};
	static const uint8_t truncated[] = {3, 'a', 'p', 'i', 7, 'e', 'x'};
	static const uint8_t trailing[] = {1, 'a', 0, 0};
	static const uint8_t pointer[] = {1, 'a', 0xc0, 0x0c};
	static const uint8_t long_label[] = {64, 'a'};
	static const uint8_t ok[] = {1, 'a', 0};
	struct policy *p = new_policy(POLICY_AI_ONLY, false);

	ck_assert_int_eq(policy_allow_wire(p, root, sizeof(root), false), -EINVAL);
	ck_assert_int_eq(policy_allow_wire(p, root, sizeof(root), true), -EINVAL);
	ck_assert_int_eq(policy_deny_wire(p, root, sizeof(root), true), -EINVAL);
	ck_assert_int_eq(policy_allow_wire(p, truncated, sizeof(truncated), false), -EINVAL);
	ck_assert_int_eq(policy_allow_wire(p, trailing, sizeof(trailing), false), -EINVAL);
	ck_assert_int_eq(policy_allow_wire(p, pointer, sizeof(pointer), false), -EINVAL);
	ck_assert_int_eq(policy_allow_wire(p, long_label, sizeof(long_label), false), -EINVAL);
	ck_assert_int_eq(policy_allow_wire(p, ok, 0, false), -EINVAL);
	ck_assert_int_eq(policy_allow_wire(p, NULL, 3, false), -EINVAL);
	ck_assert_int_eq(policy_deny_wire(p, pointer, sizeof(pointer), false), -EINVAL);
	ck_assert_uint_eq(policy_count(p), 0);
	ck_assert_int_eq(policy_allow_wire(p, ok, sizeof(ok), false), 0);
	ck_assert_uint_eq(policy_count(p), 1);
	policy_free(p);
}
END_TEST

/* A malformed query name is never allowed, whatever the mode. */
START_TEST(test_bad_query_name)
{
	static const uint8_t truncated[] = {3, 'a', 'p', 'i', 7, 'e', 'x'};
	static const uint8_t pointer[] = {1, 'a', 0xc0, 0x0c};
	static const uint8_t unterminated[] = {1, 'a'};
	struct policy *p = new_policy(POLICY_UNRESTRICTED, false);

	ck_assert_int_eq(policy_check(p, truncated, sizeof(truncated), 2), VERDICT_BLOCK);
	ck_assert_int_eq(policy_check(p, pointer, sizeof(pointer), 1), VERDICT_BLOCK);
	ck_assert_int_eq(policy_check(p, unterminated, sizeof(unterminated), 1), VERDICT_BLOCK);
	ck_assert_int_eq(policy_check(p, pointer, 0, 0), VERDICT_BLOCK);
	ck_assert_int_eq(policy_check(p, NULL, 5, 1), VERDICT_BLOCK);
	ck_assert(!policy_listed(p, truncated, sizeof(truncated), 2));
	policy_free(p);
}
END_TEST

/* A wrong label count from the caller changes nothing. */
START_TEST(test_labels_not_trusted)
{
	struct policy *p = new_policy(POLICY_AI_ONLY, true);
	struct qname q;

	ck_assert_int_eq(policy_allow_text(p, "*.example.com"), 0);
	q = qn("a.b.example.com");
	ck_assert_int_eq(policy_check(p, q.wire, q.len, 0), VERDICT_ALLOW);
	ck_assert_int_eq(policy_check(p, q.wire, q.len, 127), VERDICT_ALLOW);
	q = qn("metadata.google.internal");
	ck_assert_int_eq(policy_check(p, q.wire, q.len, 100), VERDICT_METADATA);
	q = qn("example.com");
	ck_assert_int_eq(policy_check(p, q.wire, q.len, 5), VERDICT_BLOCK);
	policy_free(p);
}
END_TEST

/* The longest possible query name: 127 labels, each probed as a suffix. */
START_TEST(test_deep_name)
{
	struct policy *p = new_policy(POLICY_AI_ONLY, false);
	char text[300];
	size_t i;

	for (i = 0; i < 126; i++)
		memcpy(text + 2 * i, "a.", 2);
	memcpy(text + 2 * 126, "z", 2);
	ck_assert_uint_eq(qn(text).labels, 127);
	ck_verdict(p, text, VERDICT_BLOCK);
	ck_assert_int_eq(policy_allow_text(p, "*.z"), 0);
	ck_verdict(p, text, VERDICT_ALLOW);
	ck_verdict(p, "z", VERDICT_BLOCK);
	policy_free(p);
}
END_TEST

/* A name of n labels "a.a....a.z" (n >= 1) into text. */
static void deep_text(char *text, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++)
		memcpy(text + 2 * i, "a.", 2);
	memcpy(text + 2 * (n - 1), "z", 2);
}

/* Lookups skip label counts a set does not hold; entries of 63 labels and
 * more share one bit, so they must still be found and told apart. */
START_TEST(test_label_counts)
{
	struct policy *p = new_policy(POLICY_AI_ONLY, false);
	char t62[200], t63[200], t64[200], t70[200];

	deep_text(t62, 62);
	deep_text(t63, 63);
	deep_text(t64, 64);
	deep_text(t70, 70);
	ck_assert_int_eq(policy_allow_text(p, t64), 0);
	ck_verdict(p, t64, VERDICT_ALLOW);
	ck_verdict(p, t63, VERDICT_BLOCK);
	ck_verdict(p, t70, VERDICT_BLOCK);
	ck_assert_int_eq(policy_allow_text(p, t62), 0);
	ck_verdict(p, t62, VERDICT_ALLOW);
	ck_verdict(p, t63, VERDICT_BLOCK);
	/* Wildcards of 2 and 63 labels: a parent of each depth matches. */
	ck_assert_int_eq(policy_allow_text(p, "*.example.com"), 0);
	ck_verdict(p, "x.y.example.com", VERDICT_ALLOW);
	ck_verdict(p, "X.Example.COM", VERDICT_ALLOW);
	ck_verdict(p, "example.com", VERDICT_BLOCK);
	ck_verdict(p, "x.com", VERDICT_BLOCK);
	ck_assert_int_eq(
		policy_allow_text(
			p, "*.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a."
			   "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.z"),
		0);
	ck_verdict(p, t70, VERDICT_ALLOW);
	ck_verdict(p, t63, VERDICT_BLOCK);
	policy_free(p);
}
END_TEST

/*
 * A large allowlist: every entry found, and names that differ from entries by
 * one label, a prefix or a suffix are not. This checks correctness across
 * many rehashes; speed belongs in a benchmark.
 */
START_TEST(test_large_allowlist)
{
	struct policy *p = new_policy(POLICY_AI_ONLY, false);
	char name[128];
	int i;

	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "host%d.zone%d.example", i, i % 97);
		ck_assert_int_eq(policy_allow_text(p, name), 0);
	}
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "*.wild%d.example", i);
		ck_assert_int_eq(policy_allow_text(p, name), 0);
	}
	ck_assert_uint_eq(policy_count(p), 11000);

	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "host%d.zone%d.example", i, i % 97);
		ck_assert_msg(verdict(p, name) == VERDICT_ALLOW, "%s", name);
		snprintf(name, sizeof(name), "HOST%d.Zone%d.example.", i, i % 97);
		ck_assert_msg(verdict(p, name) == VERDICT_ALLOW, "%s", name);
		/* Same host, other zone. */
		snprintf(name, sizeof(name), "host%d.zone%d.example", i, (i + 1) % 97);
		ck_assert_msg(verdict(p, name) == VERDICT_BLOCK, "%s", name);
		snprintf(name, sizeof(name), "x.host%d.zone%d.example", i, i % 97);
		ck_assert_msg(verdict(p, name) == VERDICT_BLOCK, "%s", name);
		snprintf(name, sizeof(name), "host%d", i);
		ck_assert_msg(verdict(p, name) == VERDICT_BLOCK, "%s", name);
	}
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "a.wild%d.example", i);
		ck_assert_msg(verdict(p, name) == VERDICT_ALLOW, "%s", name);
		snprintf(name, sizeof(name), "b.a.wild%d.example", i);
		ck_assert_msg(verdict(p, name) == VERDICT_ALLOW, "%s", name);
		snprintf(name, sizeof(name), "wild%d.example", i);
		ck_assert_msg(verdict(p, name) == VERDICT_BLOCK, "%s", name);
		snprintf(name, sizeof(name), "a.wild%d.example", i + 1000);
		ck_assert_msg(verdict(p, name) == VERDICT_BLOCK, "%s", name);
	}
	ck_verdict(p, "zone1.example", VERDICT_BLOCK);
	ck_verdict(p, "example", VERDICT_BLOCK);
	policy_free(p);
}
END_TEST

/* Two policies draw different keys, yet agree on every verdict. */
START_TEST(test_independent_policies)
{
	struct policy *a = new_policy(POLICY_AI_ONLY, false);
	struct policy *b = new_policy(POLICY_AI_ONLY, false);
	char name[64];
	int i;

	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		ck_assert_int_eq(policy_allow_text(a, name), 0);
		if (i % 2 == 0)
			ck_assert_int_eq(policy_allow_text(b, name), 0);
	}
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		ck_verdict(a, name, VERDICT_ALLOW);
		ck_verdict(b, name, i % 2 == 0 ? VERDICT_ALLOW : VERDICT_BLOCK);
	}
	policy_free(a);
	policy_free(b);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_mode_names);
	tcase_add_test(tc, test_accessors);
	tcase_add_test(tc, test_exact);
	tcase_add_test(tc, test_wildcard);
	tcase_add_test(tc, test_wildcard_and_exact_together);
	tcase_add_test(tc, test_case_and_trailing_dot);
	tcase_add_test(tc, test_wire_entries);
	tcase_add_test(tc, test_unrestricted_mode);
	tcase_add_test(tc, test_none_mode);
	tcase_add_test(tc, test_empty_allowlist);
	tcase_add_loop_test(tc, test_metadata_modes, 0, 6);
	tcase_add_test(tc, test_metadata_beats_allowlist);
	tcase_add_loop_test(tc, test_deny_modes, 0, 3);
	tcase_add_test(tc, test_metadata_beats_deny);
	tcase_add_test(tc, test_bad_text);
	tcase_add_test(tc, test_bad_wire);
	tcase_add_test(tc, test_bad_query_name);
	tcase_add_test(tc, test_labels_not_trusted);
	tcase_add_test(tc, test_deep_name);
	tcase_add_test(tc, test_label_counts);
	tcase_add_test(tc, test_large_allowlist);
	tcase_add_test(tc, test_independent_policies);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
