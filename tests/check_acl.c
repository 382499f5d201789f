/*
 * Unit tests for resolver/acl.c: allow_clients matching, IPv4-mapped IPv6
 * sources matched as IPv4.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "acl.h"

/* The allow_clients default of DESIGN.md. */
static const char *const defaults[] = {
	"127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
};

static struct cidr list[16];
static size_t n_list;

static void load(const char *const *texts, size_t n)
{
	size_t i;

	ck_assert_uint_le(n, sizeof(list) / sizeof(list[0]));
	for (i = 0; i < n; i++)
		ck_assert_int_eq(cidr_parse(texts[i], &list[i]), 0);
	n_list = n;
}

/* True if a client at text ("ADDR" or "[V6]:PORT") is allowed by list. */
static bool allows(const char *text)
{
	struct netaddr na;

	ck_assert_msg(netaddr_parse(text, 4242, &na) == 0, "bad test address %s", text);
	return acl_allows(list, n_list, (const struct sockaddr *)&na.ss);
}

START_TEST(defaults_ipv4)
{
	load(defaults, sizeof(defaults) / sizeof(defaults[0]));
	ck_assert(allows("127.0.0.1"));
	ck_assert(allows("127.255.255.254"));
	ck_assert(allows("10.1.2.3"));
	ck_assert(allows("172.16.0.1"));
	ck_assert(allows("172.31.255.255"));
	ck_assert(allows("192.168.100.1"));
	ck_assert(!allows("172.32.0.1"));
	ck_assert(!allows("172.15.0.1"));
	ck_assert(!allows("192.169.0.1"));
	ck_assert(!allows("8.8.8.8"));
	ck_assert(!allows("11.0.0.1"));
	ck_assert(!allows("0.0.0.0"));
	/* CGNAT and link-local are not in the default list. */
	ck_assert(!allows("100.64.0.1"));
	ck_assert(!allows("169.254.169.254"));
}
END_TEST

START_TEST(defaults_ipv6)
{
	load(defaults, sizeof(defaults) / sizeof(defaults[0]));
	ck_assert(allows("[::1]:53"));
	ck_assert(allows("[fd00::1]:53"));
	ck_assert(allows("[fc00::]:53"));
	ck_assert(allows("[fdff:ffff::1]:53"));
	ck_assert(!allows("[::2]:53"));
	ck_assert(!allows("[::]:53"));
	ck_assert(!allows("[fe80::1]:53"));
	ck_assert(!allows("[2001:db8::1]:53"));
	/* IPv4-compatible (deprecated) ::10.0.0.1 is not v4-mapped: no IPv4 match. */
	ck_assert(!allows("[::10.0.0.1]:53"));
}
END_TEST

START_TEST(v4_mapped)
{
	static const char *const only_v4[] = {"10.0.0.0/8"};
	static const char *const only_v6[] = {"::/0"};
	static const char *const mapped_v6[] = {"::ffff:0:0/96"};

	load(defaults, sizeof(defaults) / sizeof(defaults[0]));
	ck_assert(allows("[::ffff:127.0.0.1]:53"));
	ck_assert(allows("[::ffff:10.9.8.7]:53"));
	ck_assert(allows("[::ffff:192.168.0.1]:53"));
	ck_assert(!allows("[::ffff:8.8.8.8]:53"));
	ck_assert(!allows("[::ffff:172.32.0.1]:53"));

	load(only_v4, 1);
	ck_assert(allows("[::ffff:10.0.0.1]:53"));
	ck_assert(allows("10.0.0.1"));
	ck_assert(!allows("[::ffff:11.0.0.1]:53"));
	ck_assert(!allows("[fd00::1]:53"));

	/* A mapped source is matched as IPv4 only: an IPv6 prefix never admits it. */
	load(only_v6, 1);
	ck_assert(allows("[2001:db8::1]:53"));
	ck_assert(!allows("[::ffff:10.0.0.1]:53"));
	ck_assert(!allows("10.0.0.1"));
	load(mapped_v6, 1);
	ck_assert(!allows("[::ffff:10.0.0.1]:53"));
}
END_TEST

START_TEST(empty_and_odd)
{
	struct sockaddr_un un;
	struct netaddr na;

	/* An empty list admits nobody. */
	n_list = 0;
	ck_assert(!allows("127.0.0.1"));
	ck_assert(!acl_allows(NULL, 0, NULL));

	load(defaults, sizeof(defaults) / sizeof(defaults[0]));
	ck_assert(!acl_allows(list, n_list, NULL));
	ck_assert_int_eq(netaddr_parse("127.0.0.1", 53, &na), 0);
	ck_assert(!acl_allows(NULL, 3, (struct sockaddr *)&na.ss));

	/* A Unix socket peer has no address to match. */
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	ck_assert(!acl_allows(list, n_list, (struct sockaddr *)&un));
}
END_TEST

START_TEST(host_and_any)
{
	static const char *const hosts[] = {"192.0.2.7", "2001:db8::7"};
	static const char *const any[] = {"0.0.0.0/0", "::/0"};

	load(hosts, 2);
	ck_assert(allows("192.0.2.7"));
	ck_assert(!allows("192.0.2.6"));
	ck_assert(!allows("192.0.2.8"));
	ck_assert(allows("[2001:db8::7]:53"));
	ck_assert(!allows("[2001:db8::6]:53"));
	ck_assert(allows("[::ffff:192.0.2.7]:53"));

	load(any, 2);
	ck_assert(allows("203.0.113.1"));
	ck_assert(allows("[2001:db8::1]:53"));
	ck_assert(allows("[::ffff:203.0.113.1]:53"));
}
END_TEST

static Suite *acl_suite(void)
{
	Suite *s = suite_create("acl");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, defaults_ipv4);
	tcase_add_test(tc, defaults_ipv6);
	tcase_add_test(tc, v4_mapped);
	tcase_add_test(tc, empty_and_odd);
	tcase_add_test(tc, host_and_any);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(acl_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
