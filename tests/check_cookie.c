/*
 * Unit tests for resolver/cookie.c: DNS cookies (RFC 7873) with the server
 * cookie of RFC 9018. Besides round trips, the expected hashes are computed
 * here independently with crypto_shorthash over input built by hand, and
 * the worked examples of RFC 9018 Appendix A are checked byte for byte.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cookie.h"

#define OUT_LEN (COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN)

/* An arbitrary "now": Tue Nov 14 22:13:20 UTC 2023. */
#define NOW 1700000000u

static const uint8_t client_cookie[COOKIE_CLIENT_LEN] = {0x24, 0x64, 0xc4, 0xab,
							 0xcf, 0x10, 0xc9, 0x57};

static struct sockaddr_storage addr(const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(53000);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(53001);
	}
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t len = 0;

	ck_assert_int_eq(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &len, NULL), 0);
	return len;
}

static struct cookie_secret secret_hex(const char *hex)
{
	struct cookie_secret s;

	ck_assert_uint_eq(unhex(hex, s.key, sizeof(s.key)), COOKIE_SECRET_LEN);
	return s;
}

static struct cookie_secret secret_fixed(uint8_t fill)
{
	struct cookie_secret s;

	memset(s.key, fill, sizeof(s.key));
	return s;
}

/* A cookie as the server hands it out for client cookie_ at ip at time t. */
static void issue(const struct cookie_secret *s, const char *ip, uint32_t t, uint8_t out[OUT_LEN])
{
	struct sockaddr_storage ss = addr(ip);
	size_t out_len = 0;

	ck_assert_int_eq(
		cookie_check(s, client_cookie, sizeof(client_cookie), SA(ss), t, out, &out_len),
		COOKIE_CLIENT_ONLY);
	ck_assert_uint_eq(out_len, OUT_LEN);
}

/* The status a cookie gets when ip sends it back at time t. */
static enum cookie_status check_at(const struct cookie_secret *s, const uint8_t *cookie, size_t len,
				   const char *ip, uint32_t t)
{
	struct sockaddr_storage ss = addr(ip);
	uint8_t out[OUT_LEN];
	size_t out_len = 0;
	enum cookie_status st;

	st = cookie_check(s, cookie, len, SA(ss), t, out, &out_len);
	/* Whatever the verdict, a client cookie gets a fresh server cookie. */
	ck_assert_uint_eq(out_len, OUT_LEN);
	ck_assert_mem_eq(out, cookie, COOKIE_CLIENT_LEN);
	return st;
}

START_TEST(generated_verifies)
{
	struct cookie_secret s;
	uint8_t c[OUT_LEN], again[OUT_LEN];
	size_t out_len = 0;
	struct sockaddr_storage ss = addr("192.0.2.7");

	cookie_secret_init(&s);
	issue(&s, "192.0.2.7", NOW, c);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW), COOKIE_VALID);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW + 1800), COOKIE_VALID);

	/* The answer to a valid cookie is a fresh one that verifies too. */
	ck_assert_int_eq(cookie_check(&s, c, sizeof(c), SA(ss), NOW + 60, again, &out_len),
			 COOKIE_VALID);
	ck_assert_uint_eq(out_len, OUT_LEN);
	ck_assert_mem_eq(again, client_cookie, COOKIE_CLIENT_LEN);
	ck_assert_mem_eq(again + 12, "\x65\x53\xf1\x3c", 4); /* NOW + 60 */
	ck_assert_int_eq(check_at(&s, again, sizeof(again), "192.0.2.7", NOW + 60), COOKIE_VALID);
}
END_TEST

START_TEST(different_ip_bad)
{
	struct cookie_secret s = secret_fixed(0x11);
	uint8_t c[OUT_LEN];

	issue(&s, "192.0.2.7", NOW, c);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.8", NOW), COOKIE_BAD);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "2001:db8::7", NOW), COOKIE_BAD);
	issue(&s, "2001:db8::7", NOW, c);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "2001:db8::7", NOW), COOKIE_VALID);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "2001:db8::8", NOW), COOKIE_BAD);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW), COOKIE_BAD);
}
END_TEST

START_TEST(tampered_bad)
{
	/* Every bit of the option is covered: the client cookie, Version,
	 * Reserved and Timestamp by the hash, the hash by the comparison. */
	struct cookie_secret s = secret_fixed(0x22);
	uint8_t c[OUT_LEN], t[OUT_LEN];
	size_t i;
	int bit;

	issue(&s, "198.51.100.1", NOW, c);
	for (i = 0; i < OUT_LEN; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(t, c, sizeof(c));
			t[i] ^= (uint8_t)(1u << bit);
			ck_assert_int_eq(check_at(&s, t, sizeof(t), "198.51.100.1", NOW),
					 COOKIE_BAD);
		}
	}
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "198.51.100.1", NOW), COOKIE_VALID);
}
END_TEST

START_TEST(other_secret_bad)
{
	struct cookie_secret a, b;
	uint8_t c[OUT_LEN];

	cookie_secret_init(&a);
	cookie_secret_init(&b);
	ck_assert_mem_ne(a.key, b.key, COOKIE_SECRET_LEN);
	issue(&a, "192.0.2.7", NOW, c);
	ck_assert_int_eq(check_at(&b, c, sizeof(c), "192.0.2.7", NOW), COOKIE_BAD);
	ck_assert_int_eq(check_at(&a, c, sizeof(c), "192.0.2.7", NOW), COOKIE_VALID);
}
END_TEST

START_TEST(too_old_bad)
{
	/* RFC 9018 section 4.3: up to one hour in the past. */
	struct cookie_secret s = secret_fixed(0x33);
	uint8_t c[OUT_LEN];

	issue(&s, "192.0.2.7", NOW, c);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW + 3600), COOKIE_VALID);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW + 3601), COOKIE_BAD);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW + 86400), COOKIE_BAD);
}
END_TEST

START_TEST(future_bad)
{
	/* A cookie stamped ahead of our clock (another anycast member's, with
	 * skew) is taken up to, not including, five minutes ahead. */
	struct cookie_secret s = secret_fixed(0x44);
	uint8_t c[OUT_LEN];

	issue(&s, "192.0.2.7", NOW + 299, c);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW), COOKIE_VALID);
	issue(&s, "192.0.2.7", NOW + 300, c);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW), COOKIE_BAD);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW + 1), COOKIE_VALID);
	issue(&s, "192.0.2.7", NOW + 86400, c);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW), COOKIE_BAD);
	issue(&s, "192.0.2.7", NOW + 0x80000000u, c);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW), COOKIE_BAD);
}
END_TEST

START_TEST(timestamp_wraps)
{
	/* RFC 1982 arithmetic: the check survives the wrap of the 32-bit
	 * seconds (year 2106). */
	struct cookie_secret s = secret_fixed(0x55);
	uint8_t c[OUT_LEN];

	issue(&s, "192.0.2.7", 0xffffff00u, c);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", 0xffffff00u + 512u), COOKIE_VALID);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", 0xffffff00u + 3601u), COOKIE_BAD);
	issue(&s, "192.0.2.7", 100, c);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", 0xffffffffu), COOKIE_VALID);
}
END_TEST

START_TEST(client_only)
{
	struct cookie_secret s = secret_fixed(0x66);
	struct sockaddr_storage ss = addr("192.0.2.7");
	uint8_t out[OUT_LEN];
	size_t out_len = 0;

	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(
		cookie_check(&s, client_cookie, sizeof(client_cookie), SA(ss), NOW, out, &out_len),
		COOKIE_CLIENT_ONLY);
	ck_assert_uint_eq(out_len, COOKIE_CLIENT_LEN + 16);
	ck_assert_mem_eq(out, client_cookie, COOKIE_CLIENT_LEN);
	/* Version 1, Reserved 0, Timestamp NOW in network order. */
	ck_assert_mem_eq(out + 8, "\x01\x00\x00\x00\x65\x53\xf1\x00", 8);
	ck_assert_int_eq(check_at(&s, out, out_len, "192.0.2.7", NOW), COOKIE_VALID);
}
END_TEST

START_TEST(v4_mapped_is_v4)
{
	struct cookie_secret s = secret_fixed(0x77);
	uint8_t c4[OUT_LEN], c6[OUT_LEN];

	issue(&s, "198.51.100.100", NOW, c4);
	issue(&s, "::ffff:198.51.100.100", NOW, c6);
	ck_assert_mem_eq(c4, c6, OUT_LEN);
	ck_assert_int_eq(check_at(&s, c4, sizeof(c4), "::ffff:198.51.100.100", NOW), COOKIE_VALID);
	ck_assert_int_eq(check_at(&s, c6, sizeof(c6), "198.51.100.100", NOW), COOKIE_VALID);
	ck_assert_int_eq(check_at(&s, c4, sizeof(c4), "::ffff:198.51.100.101", NOW), COOKIE_BAD);
	/* The IPv4-compatible form (::a.b.c.d) is an IPv6 address. */
	ck_assert_int_eq(check_at(&s, c4, sizeof(c4), "::198.51.100.100", NOW), COOKIE_BAD);
}
END_TEST

START_TEST(known_answer)
{
	/* The hash input of RFC 9018 section 4.2, built by hand. */
	static const uint8_t cc[COOKIE_CLIENT_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t msg[] = {
		1,    2,    3,	  4,	5, 6, 7, 8, /* Client Cookie */
		0x01,				    /* Version */
		0x00, 0x00, 0x00,		    /* Reserved */
		0x5c, 0x1e, 0x4a, 0x33,		    /* Timestamp */
		198,  51,   100,  100,		    /* Client-IP */
	};
	struct cookie_secret s;
	struct sockaddr_storage ss = addr("198.51.100.100");
	uint8_t hash[crypto_shorthash_BYTES], out[OUT_LEN];
	size_t i, out_len = 0;

	for (i = 0; i < COOKIE_SECRET_LEN; i++)
		s.key[i] = (uint8_t)i;
	ck_assert_int_eq(crypto_shorthash(hash, msg, sizeof(msg), s.key), 0);
	ck_assert_int_eq(cookie_check(&s, cc, sizeof(cc), SA(ss), 0x5c1e4a33u, out, &out_len),
			 COOKIE_CLIENT_ONLY);
	ck_assert_uint_eq(out_len, OUT_LEN);
	ck_assert_mem_eq(out, msg, 16);
	ck_assert_mem_eq(out + 16, hash, 8);
}
END_TEST

/* A query's cookie, checked from ip at now with secret, and the answer's. */
struct vector {
	const char *name;
	const char *secret;
	const char *ip;
	const char *query;
	uint32_t now;
	enum cookie_status status;
	const char *answer;
};

/*
 * RFC 9018 Appendix A. A.3's query cookie has Reserved bytes set (they are
 * hashed as sent) and was stamped 1h52m before the query, so at the query
 * it is too old; it verifies at the time it was made. A.4's query cookie was
 * made with the secret from before a rollover; with only the new secret it
 * is not ours, but the answer is A.4's.
 */
static const struct vector rfc9018[] = {
	{"A.1", "e5e973e5a6b2a43f48e7dc849e37bfcf", "198.51.100.100", "2464c4abcf10c957",
	 1559731985, COOKIE_CLIENT_ONLY, "2464c4abcf10c957010000005cf79f111f8130c3eee29480"},
	{"A.2", "e5e973e5a6b2a43f48e7dc849e37bfcf", "198.51.100.100",
	 "2464c4abcf10c957010000005cf79f111f8130c3eee29480", 1559734385, COOKIE_VALID,
	 "2464c4abcf10c957010000005cf7a871d4a564a1442aca77"},
	{"A.3 at issue", "e5e973e5a6b2a43f48e7dc849e37bfcf", "203.0.113.203",
	 "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", 0x5cf78f71, COOKIE_VALID, NULL},
	{"A.3", "e5e973e5a6b2a43f48e7dc849e37bfcf", "203.0.113.203",
	 "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", 1559734700, COOKIE_BAD,
	 "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e"},
	{"A.4 old secret", "dd3bdf9344b678b185a6f5cb60fca715", "2001:db8:220:1:59de:d0f4:8769:82b8",
	 "22681ab97d52c298010000005cf7c57926556bd0934c72f8", 1559741961, COOKIE_VALID, NULL},
	{"A.4", "445536bcd2513298075a5d379663c962", "2001:db8:220:1:59de:d0f4:8769:82b8",
	 "22681ab97d52c298010000005cf7c57926556bd0934c72f8", 1559741961, COOKIE_BAD,
	 "22681ab97d52c298010000005cf7c609a6bb79d16625507a"},
};

START_TEST(rfc9018_vectors)
{
	const struct vector *v = &rfc9018[_i];
	struct cookie_secret s = secret_hex(v->secret);
	struct sockaddr_storage ss = addr(v->ip);
	uint8_t query[40], want[OUT_LEN], out[OUT_LEN];
	size_t qlen = unhex(v->query, query, sizeof(query));
	size_t out_len = 0;

	ck_assert_msg(cookie_check(&s, query, qlen, SA(ss), v->now, out, &out_len) == v->status,
		      "%s: wrong status", v->name);
	ck_assert_uint_eq(out_len, OUT_LEN);
	if (v->answer != NULL) {
		ck_assert_uint_eq(unhex(v->answer, want, sizeof(want)), OUT_LEN);
		ck_assert_msg(memcmp(out, want, OUT_LEN) == 0, "%s: wrong answer cookie", v->name);
	}
	/* What we answered comes back valid. */
	ck_assert_int_eq(check_at(&s, out, out_len, v->ip, v->now), COOKIE_VALID);
}
END_TEST

START_TEST(lengths)
{
	/* 0: no option. 8: client only. 16..40: with a server cookie, of which
	 * we can verify only our own 16-byte kind. Anything else is malformed
	 * (wire_parse_query already answers FORMERR) and gets nothing back. */
	struct cookie_secret s = secret_fixed(0x88);
	struct sockaddr_storage ss = addr("192.0.2.7");
	uint8_t in[48], out[OUT_LEN];
	size_t len, out_len;
	enum cookie_status st;

	memset(in, 0x5a, sizeof(in));
	issue(&s, "192.0.2.7", NOW, in);
	for (len = 0; len <= sizeof(in); len++) {
		out_len = 99;
		st = cookie_check(&s, in, len, SA(ss), NOW, out, &out_len);
		if (len == 0) {
			ck_assert_int_eq(st, COOKIE_NONE);
			ck_assert_uint_eq(out_len, 0);
		} else if (len == 8) {
			ck_assert_int_eq(st, COOKIE_CLIENT_ONLY);
			ck_assert_uint_eq(out_len, OUT_LEN);
		} else if (len == OUT_LEN) {
			ck_assert_int_eq(st, COOKIE_VALID);
			ck_assert_uint_eq(out_len, OUT_LEN);
		} else if (len >= 16 && len <= 40) {
			ck_assert_msg(st == COOKIE_BAD, "len %zu", len);
			ck_assert_uint_eq(out_len, OUT_LEN);
			ck_assert_mem_eq(out, in, COOKIE_CLIENT_LEN);
		} else {
			ck_assert_msg(st == COOKIE_BAD, "len %zu", len);
			ck_assert_msg(out_len == 0, "len %zu", len);
		}
	}
	out_len = 99;
	ck_assert_int_eq(cookie_check(&s, NULL, 0, SA(ss), NOW, out, &out_len), COOKIE_NONE);
	ck_assert_uint_eq(out_len, 0);
}
END_TEST

START_TEST(other_version_bad)
{
	/* A well-formed hash over Version 2 is still not a cookie we make. */
	struct cookie_secret s = secret_fixed(0x99);
	uint8_t c[OUT_LEN];
	uint8_t msg[20];

	issue(&s, "192.0.2.7", NOW, c);
	c[8] = 2;
	memcpy(msg, c, 16);
	memcpy(msg + 16, "\xc0\x00\x02\x07", 4);
	crypto_shorthash(c + 16, msg, sizeof(msg), s.key);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW), COOKIE_BAD);
	/* The same with Version 1 is ours: the hand-built input is right. */
	c[8] = 1;
	msg[8] = 1;
	crypto_shorthash(c + 16, msg, sizeof(msg), s.key);
	ck_assert_int_eq(check_at(&s, c, sizeof(c), "192.0.2.7", NOW), COOKIE_VALID);
}
END_TEST

START_TEST(no_address)
{
	/* A cookie is bound to an IP address; without one none is made. */
	struct cookie_secret s = secret_fixed(0xaa);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	uint8_t out[OUT_LEN];
	size_t out_len = 99;

	ck_assert_int_eq(cookie_check(&s, client_cookie, sizeof(client_cookie),
				      (const struct sockaddr *)&un, NOW, out, &out_len),
			 COOKIE_BAD);
	ck_assert_uint_eq(out_len, 0);
	out_len = 99;
	ck_assert_int_eq(
		cookie_check(&s, client_cookie, sizeof(client_cookie), NULL, NOW, out, &out_len),
		COOKIE_BAD);
	ck_assert_uint_eq(out_len, 0);
}
END_TEST

static Suite *cookie_suite(void)
{
	Suite *s = suite_create("cookie");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, generated_verifies);
	tcase_add_test(tc, different_ip_bad);
	tcase_add_test(tc, tampered_bad);
	tcase_add_test(tc, other_secret_bad);
	tcase_add_test(tc, too_old_bad);
	tcase_add_test(tc, future_bad);
	tcase_add_test(tc, timestamp_wraps);
	tcase_add_test(tc, client_only);
	tcase_add_test(tc, v4_mapped_is_v4);
	tcase_add_test(tc, known_answer);
	tcase_add_loop_test(tc, rfc9018_vectors, 0, sizeof(rfc9018) / sizeof(rfc9018[0]));
	tcase_add_test(tc, lengths);
	tcase_add_test(tc, other_version_bad);
	tcase_add_test(tc, no_address);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(cookie_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
