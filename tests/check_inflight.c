/*
 * The coalescing table: first joiner owns the key, later joiners are
 * recorded per worker, done() hands back exactly those workers.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "inflight.h"

static struct cache_key key(const char *wire, uint16_t qtype, bool do_bit)
{
	struct cache_key k = {
		.name = (const uint8_t *)wire,
		.name_len = (uint8_t)(strlen(wire) + 1),
		.qtype = qtype,
		.qclass = 1,
		.do_bit = do_bit,
	};
	return k;
}

START_TEST(first_owns_then_waiters)
{
	struct inflight *t = inflight_new();
	struct cache_key k = key("\x03"
				 "api"
				 "\x06"
				 "openai"
				 "\x03"
				 "com",
				 1, false);

	ck_assert_int_eq(inflight_join(t, &k, 7, 0), 1);
	ck_assert_int_eq(inflight_join(t, &k, 7, 1), 0);
	ck_assert_int_eq(inflight_join(t, &k, 7, 3), 0);
	ck_assert_int_eq(inflight_join(t, &k, 7, 1), 0);
	ck_assert_uint_eq(inflight_count(t), 1);
	ck_assert_uint_eq(inflight_done(t, &k, 7), (1u << 1) | (1u << 3));
	ck_assert_uint_eq(inflight_count(t), 0);
	/* After done, the next joiner owns it again. */
	ck_assert_int_eq(inflight_join(t, &k, 7, 2), 1);
	ck_assert_uint_eq(inflight_done(t, &k, 7), 0);
	inflight_free(t);
}
END_TEST

START_TEST(keys_differ_by_type_do_and_name)
{
	struct inflight *t = inflight_new();
	struct cache_key a = key("\x01"
				 "a"
				 "\x07"
				 "example",
				 1, false);
	struct cache_key aaaa = key("\x01"
				    "a"
				    "\x07"
				    "example",
				    28, false);
	struct cache_key dob = key("\x01"
				   "a"
				   "\x07"
				   "example",
				   1, true);
	struct cache_key b = key("\x01"
				 "b"
				 "\x07"
				 "example",
				 1, false);

	/* Same hash on purpose: equality, not the hash, decides. */
	ck_assert_int_eq(inflight_join(t, &a, 1, 0), 1);
	ck_assert_int_eq(inflight_join(t, &aaaa, 1, 0), 1);
	ck_assert_int_eq(inflight_join(t, &dob, 1, 0), 1);
	ck_assert_int_eq(inflight_join(t, &b, 1, 0), 1);
	ck_assert_uint_eq(inflight_count(t), 4);
	ck_assert(!inflight_key_equal(&a, &b));
	ck_assert(inflight_key_equal(&a, &a));
	inflight_done(t, &a, 1);
	inflight_done(t, &aaaa, 1);
	inflight_done(t, &dob, 1);
	inflight_done(t, &b, 1);
	ck_assert_uint_eq(inflight_count(t), 0);
	/* done() on an unknown key is harmless. */
	ck_assert_uint_eq(inflight_done(t, &a, 1), 0);
	inflight_free(t);
}
END_TEST

static struct inflight *shared_table;
static int owners;
static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;

static void *joiner(void *arg)
{
	struct cache_key k = key("\x04"
				 "race"
				 "\x07"
				 "example",
				 1, false);
	unsigned id = (unsigned)(uintptr_t)arg;
	int i;

	for (i = 0; i < 1000; i++) {
		if (inflight_join(shared_table, &k, 99, id) == 1) {
			pthread_mutex_lock(&owners_lock);
			owners++;
			pthread_mutex_unlock(&owners_lock);
			inflight_done(shared_table, &k, 99);
		}
	}
	return NULL;
}

START_TEST(threads_agree_on_one_owner_at_a_time)
{
	pthread_t th[4];
	unsigned i;

	shared_table = inflight_new();
	owners = 0;
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, joiner, (void *)(uintptr_t)i);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_ge(owners, 1);
	ck_assert_int_le(owners, 4000);
	/* Every owner called done: nothing is left behind. */
	ck_assert_uint_eq(inflight_count(shared_table), 0);
	inflight_free(shared_table);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inflight");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, first_owns_then_waiters);
	tcase_add_test(tc, keys_differ_by_type_do_and_name);
	tcase_add_test(tc, threads_agree_on_one_owner_at_a_time);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
