/*
 * The address book: what is new, what moves later, shared addresses,
 * revocation and expiry.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrbook.h"

static const uint8_t A1[4] = {203, 0, 113, 5};
static const uint8_t A2[4] = {198, 51, 100, 9};
static const uint8_t V6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 7};

struct seen {
	int n;
	char names[16][ADDRBOOK_NAME_MAX];
	uint64_t expiry[16];
	int family[16];
};

static void collect(void *arg, const char *name, int family, const uint8_t *addr,
		    uint64_t expiry_ms)
{
	struct seen *s = arg;

	(void)addr;
	if (s->n < 16) {
		strcpy(s->names[s->n], name);
		s->expiry[s->n] = expiry_ms;
		s->family[s->n] = family;
	}
	s->n++;
}

START_TEST(new_then_later_then_same)
{
	struct addrbook *b = addrbook_new(100);

	ck_assert_int_eq(addrbook_add(b, "api.openai.com", 4, A1, 10000), 1);
	ck_assert_int_eq(addrbook_add(b, "api.openai.com", 4, A1, 10000), 0);
	ck_assert_int_eq(addrbook_add(b, "api.openai.com", 4, A1, 9000), 0);
	ck_assert_int_eq(addrbook_add(b, "api.openai.com", 4, A1, 12000), 1);
	ck_assert_int_eq(addrbook_add(b, "api.openai.com", 6, V6, 12000), 1);
	ck_assert_uint_eq(addrbook_count(b), 2);
	addrbook_free(b);
}
END_TEST

START_TEST(shared_address_tracked_once)
{
	struct addrbook *b = addrbook_new(100);
	struct seen s = {0};

	ck_assert_int_eq(addrbook_add(b, "a.cdn.example", 4, A1, 10000), 1);
	/* Another name, earlier expiry: nothing to publish. */
	ck_assert_int_eq(addrbook_add(b, "b.cdn.example", 4, A1, 5000), 0);
	/* Another name, later expiry: publish. */
	ck_assert_int_eq(addrbook_add(b, "b.cdn.example", 4, A1, 20000), 1);
	ck_assert_uint_eq(addrbook_count(b), 1);
	addrbook_foreach(b, 0, collect, &s);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.names[0], "b.cdn.example");
	ck_assert_uint_eq(s.expiry[0], 20000);
	addrbook_free(b);
}
END_TEST

static bool keep_not_b(void *arg, const char *name)
{
	(void)arg;
	return strncmp(name, "b.", 2) != 0;
}

START_TEST(revoke_deletes_only_unheld)
{
	struct addrbook *b = addrbook_new(100);
	struct seen dels = {0}, live = {0};

	addrbook_add(b, "a.cdn.example", 4, A1, 10000);
	addrbook_add(b, "b.cdn.example", 4, A1, 20000); /* shared with a. */
	addrbook_add(b, "b.only.example", 4, A2, 20000);
	ck_assert_uint_eq(addrbook_revoke(b, keep_not_b, NULL, collect, &dels), 1);
	ck_assert_int_eq(dels.n, 1);
	ck_assert_str_eq(dels.names[0], "b.only.example");
	ck_assert_uint_eq(addrbook_count(b), 1);
	/* A1 stays, held by a. only, with a.'s expiry now. */
	addrbook_foreach(b, 0, collect, &live);
	ck_assert_int_eq(live.n, 1);
	ck_assert_str_eq(live.names[0], "a.cdn.example");
	ck_assert_uint_eq(live.expiry[0], 10000);
	/* A name revoked and asked again is new again. */
	ck_assert_int_eq(addrbook_add(b, "b.only.example", 4, A2, 30000), 1);
	addrbook_free(b);
}
END_TEST

START_TEST(expire_and_foreach_skip_dead)
{
	struct addrbook *b = addrbook_new(100);
	struct seen s = {0};

	addrbook_add(b, "x.example", 4, A1, 1000);
	addrbook_add(b, "y.example", 4, A2, 5000);
	addrbook_foreach(b, 2000, collect, &s);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(addrbook_expire(b, 2000), 1);
	ck_assert_uint_eq(addrbook_count(b), 1);
	/* An expired address asked again is new. */
	ck_assert_int_eq(addrbook_add(b, "x.example", 4, A1, 9000), 1);
	addrbook_free(b);
}
END_TEST

START_TEST(bounds_and_bad_input)
{
	struct addrbook *b = addrbook_new(2);
	uint8_t a[4] = {192, 0, 2, 0};
	char longname[300];
	int i;

	ck_assert_int_eq(addrbook_add(b, "x.example", 5, A1, 1), -EINVAL);
	ck_assert_int_eq(addrbook_add(b, "", 4, A1, 1), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(addrbook_add(b, longname, 4, A1, 1), -EINVAL);
	ck_assert_int_eq(addrbook_add(b, "x.example", 4, A1, 1000), 1);
	ck_assert_int_eq(addrbook_add(b, "x.example", 4, A2, 1000), 1);
	ck_assert_int_eq(addrbook_add(b, "x.example", 4, a, 1000), -ENOSPC);
	/* More names than an entry holds: the earliest expiring gives way. */
	for (i = 0; i < ADDRBOOK_NAMES_PER_ADDR + 4; i++) {
		char name[32];

		snprintf(name, sizeof(name), "n%d.example", i);
		ck_assert_int_ge(addrbook_add(b, name, 4, A1, 2000 + (uint64_t)i), 0);
	}
	ck_assert_uint_eq(addrbook_count(b), 2);
	addrbook_free(b);
}
END_TEST

START_TEST(many_addresses_grow)
{
	struct addrbook *b = addrbook_new(100000);
	uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
	struct seen s = {0};
	int i;

	for (i = 0; i < 50000; i++) {
		a[12] = (uint8_t)(i >> 24);
		a[13] = (uint8_t)(i >> 16);
		a[14] = (uint8_t)(i >> 8);
		a[15] = (uint8_t)i;
		ck_assert_int_eq(addrbook_add(b, "many.example", 6, a, 10000), 1);
	}
	ck_assert_uint_eq(addrbook_count(b), 50000);
	addrbook_foreach(b, 0, collect, &s);
	ck_assert_int_eq(s.n, 50000);
	addrbook_free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("addrbook");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, new_then_later_then_same);
	tcase_add_test(tc, shared_address_tracked_once);
	tcase_add_test(tc, revoke_deletes_only_unheld);
	tcase_add_test(tc, expire_and_foreach_skip_dead);
	tcase_add_test(tc, bounds_and_bad_input);
	tcase_add_test(tc, many_addresses_grow);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
