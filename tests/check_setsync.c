/*
 * Unit tests for fwsync/setsync.c: timeouts, batching, seq to ack and the
 * address defence, with a recording apply callback and with fwnft in
 * dry-run mode (no kernel needed).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "nft.h"
#include "setsync.h"

struct recorder {
	struct fwnft_elem elems[64];
	size_t n; /* elements of all calls */
	size_t calls;
	size_t last_count;
	int fail; /* returned by the callback */
};

static int record(void *arg, const struct fwnft_elem *e, size_t count)
{
	struct recorder *r = arg;
	size_t i;

	r->calls++;
	r->last_count = count;
	for (i = 0; i < count && r->n < 64; i++)
		r->elems[r->n++] = e[i];
	return r->fail;
}

static struct msg mk(enum msg_type type, uint64_t seq, const char *addr, uint32_t ttl)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.seq = seq;
	m.ttl = ttl;
	snprintf(m.name, sizeof(m.name), "api.example.com");
	if (addr != NULL) {
		m.family = strchr(addr, ':') != NULL ? 6 : 4;
		ck_assert_int_eq(inet_pton(m.family == 4 ? AF_INET : AF_INET6, addr, m.addr), 1);
	}
	return m;
}

static void push(struct setsync *s, enum msg_type type, uint64_t seq, const char *addr,
		 uint32_t ttl)
{
	struct msg m = mk(type, seq, addr, ttl);

	ck_assert_int_eq(setsync_push(s, &m), 0);
}

START_TEST(timeout_rule)
{
	struct setsync_conf c = {.min_timeout = 60, .grace = 30};

	ck_assert_uint_eq(setsync_timeout(&c, 300), 330);
	ck_assert_uint_eq(setsync_timeout(&c, 60), 90);
	ck_assert_uint_eq(setsync_timeout(&c, 10), 90);
	ck_assert_uint_eq(setsync_timeout(&c, 0), 90);
	ck_assert_uint_eq(setsync_timeout(&c, 2147483647u), FWNFT_TIMEOUT_MAX);
	c = (struct setsync_conf){.min_timeout = 0, .grace = 0};
	/* Never 0: nft would make an element without a timeout. */
	ck_assert_uint_eq(setsync_timeout(&c, 0), 1);
	ck_assert_uint_eq(setsync_timeout(&c, 5), 5);
	c = (struct setsync_conf){.min_timeout = FWNFT_TIMEOUT_MAX, .grace = FWNFT_TIMEOUT_MAX};
	ck_assert_uint_eq(setsync_timeout(&c, 1), FWNFT_TIMEOUT_MAX);
}
END_TEST

START_TEST(batch_and_ack)
{
	struct setsync_conf c = {.min_timeout = 60, .grace = 30};
	struct recorder r = {0};
	struct setsync *s = setsync_new(&c, record, &r);
	uint64_t ack = 99;

	ck_assert_ptr_nonnull(s);
	push(s, MSG_HELLO, 0, NULL, 0);
	push(s, MSG_ADD, 1, "203.0.113.5", 212);
	push(s, MSG_ADD, 2, "2001:db8::7", 10);
	push(s, MSG_DEL, 3, "198.51.100.9", 0);
	push(s, MSG_SYNCED, 4, NULL, 0);
	ck_assert_uint_eq(setsync_pending(s), 3);
	ck_assert_int_eq(setsync_commit(s, &ack), 0);
	ck_assert_uint_eq(ack, 4);
	ck_assert_uint_eq(r.calls, 1);
	ck_assert_uint_eq(r.last_count, 3);
	ck_assert_int_eq(r.elems[0].op, FWNFT_ADD);
	ck_assert_int_eq(r.elems[0].family, 4);
	ck_assert_uint_eq(r.elems[0].timeout, 242);
	ck_assert_int_eq(r.elems[1].family, 6);
	ck_assert_uint_eq(r.elems[1].timeout, 90);
	ck_assert_int_eq(r.elems[2].op, FWNFT_DEL);
	ck_assert_uint_eq(setsync_pending(s), 0);

	/* A batch of only synced calls nothing but is still acked. */
	push(s, MSG_SYNCED, 5, NULL, 0);
	ck_assert_int_eq(setsync_commit(s, &ack), 0);
	ck_assert_uint_eq(ack, 5);
	ck_assert_uint_eq(r.calls, 1);

	/* An empty batch acks nothing. */
	ck_assert_int_eq(setsync_commit(s, &ack), 0);
	ck_assert_uint_eq(ack, 0);

	ck_assert_uint_eq(setsync_stats(s)->adds, 2);
	ck_assert_uint_eq(setsync_stats(s)->dels, 1);
	ck_assert_uint_eq(setsync_stats(s)->batches, 1);
	setsync_free(s);
}
END_TEST

START_TEST(failure_drops_batch)
{
	struct setsync_conf c = {.min_timeout = 60, .grace = 30};
	struct recorder r = {.fail = -EIO};
	struct setsync *s = setsync_new(&c, record, &r);
	uint64_t ack = 99;

	push(s, MSG_ADD, 1, "203.0.113.5", 212);
	push(s, MSG_ADD, 2, "203.0.113.6", 212);
	ck_assert_int_eq(setsync_commit(s, &ack), -EIO);
	ck_assert_uint_eq(ack, 0);
	ck_assert_uint_eq(setsync_pending(s), 0);
	ck_assert_uint_eq(setsync_stats(s)->failures, 1);

	/* A reset (disconnect) drops what is queued. */
	r.fail = 0;
	push(s, MSG_ADD, 1, "203.0.113.5", 212);
	setsync_reset(s);
	ck_assert_int_eq(setsync_commit(s, &ack), 0);
	ck_assert_uint_eq(ack, 0);
	ck_assert_uint_eq(r.calls, 1);
	setsync_free(s);
}
END_TEST

START_TEST(forbidden_dropped)
{
	static const char *const bad[] = {
		"169.254.169.254",
		"169.254.0.1",
		"127.0.0.1",
		"127.255.255.254",
		"0.0.0.0",
		"0.1.2.3",
		"224.0.0.1",
		"239.255.255.250",
		"255.255.255.255",
		"::",
		"::1",
		"ff02::1",
		"ff0e::1",
		"fe80::1",
		"febf::1",
		"::ffff:127.0.0.1",
		"::ffff:169.254.169.254",
		"::ffff:224.0.0.1",
		"::ffff:0.0.0.0",
		"::127.0.0.1",
		"64:ff9b::a9fe:a9fe",
	};
	struct setsync_conf c = {.min_timeout = 60, .grace = 30};
	struct recorder r = {0};
	struct setsync *s = setsync_new(&c, record, &r);
	uint64_t ack;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		push(s, MSG_ADD, i + 1, bad[i], 300);
	push(s, MSG_ADD, i + 1, "192.0.2.1", 300);
	push(s, MSG_ADD, i + 2, "fec0::1", 300);
	push(s, MSG_ADD, i + 3, "::ffff:192.0.2.1", 300);
	push(s, MSG_DEL, i + 4, "127.0.0.1", 0);
	ck_assert_int_eq(setsync_commit(s, &ack), 0);
	ck_assert_uint_eq(ack, i + 4);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_uint_eq(setsync_stats(s)->forbidden, i + 1);
	setsync_free(s);
}
END_TEST

/* The whole path to command text, through fwnft in dry-run mode. */
static int dry_apply(void *arg, const struct fwnft_elem *e, size_t count)
{
	return fwnft_apply(arg, e, count, NULL);
}

START_TEST(dry_run_text)
{
	struct setsync_conf c = {.min_timeout = 60, .grace = 30};
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct fwnft_opts o = {.family = "inet",
			       .table = "loki",
			       .set4 = "allow4",
			       .set6 = "allow6",
			       .refresh = FWNFT_REFRESH_ADD,
			       .dry_run = true,
			       .dry_out = out};
	struct fwnft *n = NULL;
	struct setsync *s;
	char err[128];
	uint64_t ack;

	ck_assert_int_eq(fwnft_new(&o, &n, err, sizeof(err)), 0);
	s = setsync_new(&c, dry_apply, n);
	push(s, MSG_ADD, 1, "203.0.113.7", 300);
	push(s, MSG_ADD, 2, "2001:db8::7", 5);
	push(s, MSG_ADD, 3, "127.0.0.1", 5);
	push(s, MSG_SYNCED, 4, NULL, 0);
	ck_assert_int_eq(setsync_commit(s, &ack), 0);
	ck_assert_uint_eq(ack, 4);
	fflush(out);
	ck_assert_str_eq(text,
			 "add element inet loki allow4 { 203.0.113.7 timeout 330s expires 330s }\n"
			 "add element inet loki allow6 { 2001:db8::7 timeout 90s expires 90s }\n");
	fclose(out);
	free(text);
	setsync_free(s);
	fwnft_free(n);
}
END_TEST

START_TEST(large_batch)
{
	struct setsync_conf c = {.min_timeout = 60, .grace = 30};
	struct recorder r = {0};
	struct setsync *s = setsync_new(&c, record, &r);
	uint64_t ack;
	uint32_t i;

	/* Past the initial capacity, so the queue grows. */
	for (i = 0; i < 5000; i++) {
		struct msg m = mk(MSG_ADD, i + 1, "198.18.0.0", 300);

		m.addr[2] = (uint8_t)(i >> 8);
		m.addr[3] = (uint8_t)i;
		ck_assert_int_eq(setsync_push(s, &m), 0);
	}
	ck_assert_uint_eq(setsync_pending(s), 5000);
	ck_assert_int_eq(setsync_commit(s, &ack), 0);
	ck_assert_uint_eq(ack, 5000);
	ck_assert_uint_eq(r.calls, 1);
	ck_assert_uint_eq(r.last_count, 5000);
	setsync_free(s);
}
END_TEST

static Suite *setsync_suite(void)
{
	Suite *s = suite_create("setsync");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, timeout_rule);
	tcase_add_test(tc, batch_and_ack);
	tcase_add_test(tc, failure_drops_batch);
	tcase_add_test(tc, forbidden_dropped);
	tcase_add_test(tc, dry_run_text);
	tcase_add_test(tc, large_batch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(setsync_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
