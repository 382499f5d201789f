/*
 * Unit tests for resolver/netaddr.c: ADDR[:PORT] and [V6]:PORT parsing and
 * formatting, and CIDR prefixes.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

static const struct sockaddr *sa(const struct netaddr *na)
{
	return (const struct sockaddr *)&na->ss;
}

/* Parses text and returns its formatted form, or "ERR". */
static const char *roundtrip(const char *text, uint16_t default_port)
{
	static char buf[64];
	struct netaddr na;

	if (netaddr_parse(text, default_port, &na) != 0)
		return "ERR";
	ck_assert_uint_gt(netaddr_format(sa(&na), buf, sizeof(buf)), 0);
	return buf;
}

START_TEST(parse_ipv4)
{
	struct netaddr na;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&na.ss;

	ck_assert_int_eq(netaddr_parse("127.0.0.1:5353", 53, &na), 0);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(na.len, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(ntohs(sin->sin_port), 5353);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	ck_assert_uint_eq(netaddr_port(sa(&na)), 5353);

	ck_assert_str_eq(roundtrip("192.0.2.1", 53), "192.0.2.1:53");
	ck_assert_str_eq(roundtrip("192.0.2.1:1", 53), "192.0.2.1:1");
	ck_assert_str_eq(roundtrip("0.0.0.0:65535", 53), "0.0.0.0:65535");
	ck_assert_str_eq(roundtrip("10.0.0.1:053", 53), "10.0.0.1:53");
}
END_TEST

START_TEST(parse_ipv6)
{
	struct netaddr na;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&na.ss;

	ck_assert_int_eq(netaddr_parse("[::1]:53", 0, &na), 0);
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(na.len, sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(ntohs(sin6->sin6_port), 53);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));

	ck_assert_str_eq(roundtrip("[::1]:53", 53), "[::1]:53");
	ck_assert_str_eq(roundtrip("[2001:db8::1]:5353", 53), "[2001:db8::1]:5353");
	ck_assert_str_eq(roundtrip("[2001:db8::1]", 53), "[2001:db8::1]:53");
	/* A bare IPv6 address takes the default port. */
	ck_assert_str_eq(roundtrip("::1", 53), "[::1]:53");
	ck_assert_str_eq(roundtrip("2001:DB8:0:0::7", 853), "[2001:db8::7]:853");
	ck_assert_str_eq(roundtrip("[::ffff:192.0.2.1]:53", 53), "[::ffff:192.0.2.1]:53");
	ck_assert_str_eq(roundtrip("[::]:53", 53), "[::]:53");
}
END_TEST

START_TEST(parse_port_zero)
{
	struct netaddr na;

	/* Port 0 only where the caller's default is 0 too. */
	ck_assert_int_eq(netaddr_parse("127.0.0.1:0", 53, &na), -EINVAL);
	ck_assert_int_eq(netaddr_parse("[::1]:0", 53, &na), -EINVAL);
	ck_assert_int_eq(netaddr_parse("127.0.0.1:0", 0, &na), 0);
	ck_assert_uint_eq(netaddr_port(sa(&na)), 0);
	ck_assert_int_eq(netaddr_parse("127.0.0.1", 0, &na), 0);
	ck_assert_uint_eq(netaddr_port(sa(&na)), 0);
	ck_assert_int_eq(netaddr_parse("127.0.0.1:8080", 0, &na), 0);
	ck_assert_uint_eq(netaddr_port(sa(&na)), 8080);
}
END_TEST

START_TEST(parse_bad)
{
	static const char *const bad[] = {
		"",
		":53",
		"localhost",
		"localhost:53",
		"127.0.0.1:",
		"127.0.0.1:65536",
		"127.0.0.1:99999999999999999999",
		"127.0.0.1:-1",
		"127.0.0.1:+53",
		"127.0.0.1:53x",
		"127.0.0.1:0x35",
		"127.0.0.1: 53",
		" 127.0.0.1",
		"127.0.0.1 ",
		"127.0.0",
		"127.0.0.256",
		"1.2.3.4.5",
		"[::1",
		"[::1]x",
		"[::1]:",
		"[::1]:65536",
		"[127.0.0.1]:53",
		"[]:53",
		"[::1]]:53",
		"::1:53:",
		"1:2:3:4:5:6:7:8:9",
		"fe80::1%eth0",
		"[fe80::1%eth0]:53",
		"[0000000000000000000000000000000000000000000000000000::1]:53",
	};
	struct netaddr na;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(netaddr_parse(bad[i], 53, &na) == -EINVAL, "accepted '%s'", bad[i]);
	ck_assert_int_eq(netaddr_parse(NULL, 53, &na), -EINVAL);
	ck_assert_int_eq(netaddr_parse("127.0.0.1", 53, NULL), -EINVAL);
}
END_TEST

START_TEST(format_ip_and_capacity)
{
	struct netaddr na;
	struct sockaddr_storage unix_ss;
	char buf[64];

	ck_assert_int_eq(netaddr_parse("[2001:db8::abcd]:53", 53, &na), 0);
	ck_assert_uint_eq(netaddr_format_ip(sa(&na), buf, sizeof(buf)), strlen("2001:db8::abcd"));
	ck_assert_str_eq(buf, "2001:db8::abcd");
	ck_assert_uint_eq(netaddr_format(sa(&na), buf, sizeof(buf)), strlen("[2001:db8::abcd]:53"));

	/* Exactly enough room: length plus the NUL. */
	ck_assert_uint_eq(netaddr_format(sa(&na), buf, strlen("[2001:db8::abcd]:53") + 1), 19);
	ck_assert_uint_eq(netaddr_format(sa(&na), buf, strlen("[2001:db8::abcd]:53")), 0);
	ck_assert_uint_eq(netaddr_format_ip(sa(&na), buf, 4), 0);
	ck_assert_uint_eq(netaddr_format(sa(&na), buf, 0), 0);

	ck_assert_int_eq(netaddr_parse("203.0.113.9:53", 53, &na), 0);
	ck_assert_uint_eq(netaddr_format_ip(sa(&na), buf, sizeof(buf)), 11);
	ck_assert_str_eq(buf, "203.0.113.9");

	/* The longest address fits in 64 bytes. */
	ck_assert_int_eq(
		netaddr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", 53, &na), 0);
	ck_assert_uint_gt(netaddr_format(sa(&na), buf, 64), 0);

	/* Not an IP family: nothing to format. */
	memset(&unix_ss, 0, sizeof(unix_ss));
	unix_ss.ss_family = AF_UNIX;
	ck_assert_uint_eq(netaddr_format((struct sockaddr *)&unix_ss, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(netaddr_format_ip((struct sockaddr *)&unix_ss, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(netaddr_port((struct sockaddr *)&unix_ss), 0);
}
END_TEST

START_TEST(equal)
{
	struct netaddr a, b;

	ck_assert_int_eq(netaddr_parse("127.0.0.1:53", 53, &a), 0);
	ck_assert_int_eq(netaddr_parse("127.0.0.1", 53, &b), 0);
	ck_assert(netaddr_equal(sa(&a), sa(&b)));
	ck_assert_int_eq(netaddr_parse("127.0.0.1:54", 53, &b), 0);
	ck_assert(!netaddr_equal(sa(&a), sa(&b)));
	ck_assert_int_eq(netaddr_parse("127.0.0.2:53", 53, &b), 0);
	ck_assert(!netaddr_equal(sa(&a), sa(&b)));
	/* Different families never compare equal, v4-mapped or not. */
	ck_assert_int_eq(netaddr_parse("[::ffff:127.0.0.1]:53", 53, &b), 0);
	ck_assert(!netaddr_equal(sa(&a), sa(&b)));

	ck_assert_int_eq(netaddr_parse("[::1]:53", 53, &a), 0);
	ck_assert_int_eq(netaddr_parse("::1", 53, &b), 0);
	ck_assert(netaddr_equal(sa(&a), sa(&b)));
	ck_assert_int_eq(netaddr_parse("[::1]:54", 53, &b), 0);
	ck_assert(!netaddr_equal(sa(&a), sa(&b)));
	ck_assert_int_eq(netaddr_parse("[::2]:53", 53, &b), 0);
	ck_assert(!netaddr_equal(sa(&a), sa(&b)));
	ck_assert(!netaddr_equal(NULL, sa(&b)));
}
END_TEST

/* Parses a prefix and returns its formatted form, or "ERR". */
static const char *cidr_roundtrip(const char *text)
{
	static char buf[64];
	struct cidr c;

	if (cidr_parse(text, &c) != 0)
		return "ERR";
	ck_assert_uint_gt(cidr_format(&c, buf, sizeof(buf)), 0);
	return buf;
}

START_TEST(cidr_good)
{
	struct cidr c;

	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &c), 0);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_uint_eq(c.prefix, 8);
	ck_assert_uint_eq(c.addr[0], 10);

	ck_assert_int_eq(cidr_parse("::1", &c), 0);
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_uint_eq(c.prefix, 128);
	ck_assert_int_eq(cidr_parse("192.0.2.7", &c), 0);
	ck_assert_uint_eq(c.prefix, 32);

	ck_assert_str_eq(cidr_roundtrip("10.0.0.0/8"), "10.0.0.0/8");
	ck_assert_str_eq(cidr_roundtrip("172.16.0.0/12"), "172.16.0.0/12");
	ck_assert_str_eq(cidr_roundtrip("fc00::/7"), "fc00::/7");
	ck_assert_str_eq(cidr_roundtrip("::1"), "::1/128");
	ck_assert_str_eq(cidr_roundtrip("0.0.0.0/0"), "0.0.0.0/0");
	ck_assert_str_eq(cidr_roundtrip("::/0"), "::/0");
	ck_assert_str_eq(cidr_roundtrip("192.168.1.128/25"), "192.168.1.128/25");
	ck_assert_str_eq(cidr_roundtrip("2001:DB8::/32"), "2001:db8::/32");
	ck_assert_str_eq(cidr_roundtrip("10.0.0.0/08"), "10.0.0.0/8");
}
END_TEST

START_TEST(cidr_bad)
{
	static const char *const bad[] = {
		"",
		"/8",
		"10.0.0.0/",
		"10.0.0.0/33",
		"::/129",
		"10.0.0.1/8",
		"fc00::1/7",
		"172.17.0.0/12",
		"10.0.0.0/8/8",
		"10.0.0.0/8x",
		"10.0.0.0/-1",
		"10.0.0.0/+8",
		"10.0.0.0/ 8",
		"10.0.0/8",
		"host/8",
		"[::1]/128",
		"10.0.0.0/0008",
		"::1/1280",
		"10.0.0.0 /8",
		"fe80::%1/64",
	};
	struct cidr c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(cidr_parse(bad[i], &c) == -EINVAL, "accepted '%s'", bad[i]);
	ck_assert_int_eq(cidr_parse(NULL, &c), -EINVAL);
}
END_TEST

START_TEST(cidr_match)
{
	struct cidr c;
	uint8_t a4[4], a6[16];

	ck_assert_int_eq(cidr_parse("172.16.0.0/12", &c), 0);
	inet_pton(AF_INET, "172.31.255.255", a4);
	ck_assert(cidr_contains(&c, AF_INET, a4));
	inet_pton(AF_INET, "172.16.0.0", a4);
	ck_assert(cidr_contains(&c, AF_INET, a4));
	inet_pton(AF_INET, "172.32.0.0", a4);
	ck_assert(!cidr_contains(&c, AF_INET, a4));
	inet_pton(AF_INET, "172.15.255.255", a4);
	ck_assert(!cidr_contains(&c, AF_INET, a4));

	ck_assert_int_eq(cidr_parse("fc00::/7", &c), 0);
	inet_pton(AF_INET6, "fd12:3456::1", a6);
	ck_assert(cidr_contains(&c, AF_INET6, a6));
	inet_pton(AF_INET6, "fe00::1", a6);
	ck_assert(!cidr_contains(&c, AF_INET6, a6));
	/* The family must match. */
	ck_assert(!cidr_contains(&c, AF_INET, a4));

	ck_assert_int_eq(cidr_parse("0.0.0.0/0", &c), 0);
	inet_pton(AF_INET, "203.0.113.1", a4);
	ck_assert(cidr_contains(&c, AF_INET, a4));

	ck_assert_int_eq(cidr_parse("::1", &c), 0);
	inet_pton(AF_INET6, "::1", a6);
	ck_assert(cidr_contains(&c, AF_INET6, a6));
	inet_pton(AF_INET6, "::2", a6);
	ck_assert(!cidr_contains(&c, AF_INET6, a6));

	ck_assert_int_eq(cidr_parse("192.0.2.128/25", &c), 0);
	inet_pton(AF_INET, "192.0.2.200", a4);
	ck_assert(cidr_contains(&c, AF_INET, a4));
	inet_pton(AF_INET, "192.0.2.127", a4);
	ck_assert(!cidr_contains(&c, AF_INET, a4));
}
END_TEST

START_TEST(cidr_format_capacity)
{
	struct cidr c;
	char buf[64];

	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &c), 0);
	ck_assert_uint_eq(cidr_format(&c, buf, 11), 10);
	ck_assert_str_eq(buf, "10.0.0.0/8");
	ck_assert_uint_eq(cidr_format(&c, buf, 10), 0);
	c.family = AF_UNIX;
	ck_assert_uint_eq(cidr_format(&c, buf, sizeof(buf)), 0);
}
END_TEST

static Suite *netaddr_suite(void)
{
	Suite *s = suite_create("netaddr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_ipv4);
	tcase_add_test(tc, parse_ipv6);
	tcase_add_test(tc, parse_port_zero);
	tcase_add_test(tc, parse_bad);
	tcase_add_test(tc, format_ip_and_capacity);
	tcase_add_test(tc, equal);
	tcase_add_test(tc, cidr_good);
	tcase_add_test(tc, cidr_bad);
	tcase_add_test(tc, cidr_match);
	tcase_add_test(tc, cidr_format_capacity);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(netaddr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
