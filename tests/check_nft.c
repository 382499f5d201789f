/*
 * Unit tests for fwsync/nft.c. The tests that need the kernel run in a
 * private network namespace: each calls unshare(CLONE_NEWNET) first, which
 * only affects the child process Check forks for it, so nothing reaches
 * the host's ruleset. Without root (or with CK_FORK=no, where the namespace
 * would leak into the next test) they print why and return early.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/capability.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nft.h"

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "."
#endif
#define RULESET TEST_SRCDIR "/conf/loki-egress.nft"

static bool nofork;

/* Enters a fresh network namespace; false (with the reason printed) to skip. */
static bool netns(const char *test)
{
	if (nofork) {
		printf("SKIP %s: kernel tests need Check's fork mode (unset CK_FORK=no)\n", test);
		return false;
	}
	if (geteuid() != 0) {
		printf("SKIP %s: needs root for unshare(CLONE_NEWNET)\n", test);
		return false;
	}
	if (unshare(CLONE_NEWNET) != 0) {
		printf("SKIP %s: unshare(CLONE_NEWNET): %s\n", test, strerror(errno));
		return false;
	}
	return true;
}

static struct fwnft *make(enum fwnft_refresh mode, bool dry, FILE *out)
{
	struct fwnft_opts o = {
		.family = "inet",
		.table = "loki",
		.set4 = "allow4",
		.set6 = "allow6",
		.refresh = mode,
		.dry_run = dry,
		.dry_out = out,
	};
	struct fwnft *n = NULL;
	char err[256];

	ck_assert_int_eq(fwnft_new(&o, &n, err, sizeof(err)), 0);
	return n;
}

static struct fwnft_elem elem(enum fwnft_op op, const char *addr, uint32_t timeout)
{
	struct fwnft_elem e;

	memset(&e, 0, sizeof(e));
	e.op = op;
	e.family = strchr(addr, ':') != NULL ? 6 : 4;
	e.timeout = timeout;
	ck_assert_int_eq(inet_pton(e.family == 4 ? AF_INET : AF_INET6, addr, e.addr), 1);
	return e;
}

/* The element's remaining expiry in ms, or -1 when it is not in its set. */
static int64_t expiry(struct fwnft *n, const char *addr, uint64_t *timeout_ms)
{
	struct fwnft_elem e = elem(FWNFT_ADD, addr, 0);
	uint64_t t = 0, x = 0;
	int rc = fwnft_lookup(n, e.family, e.addr, &t, &x);

	if (rc == -ENOENT)
		return -1;
	ck_assert_msg(rc == 0, "lookup %s: %d %s", addr, rc, fwnft_error(n));
	if (timeout_ms != NULL)
		*timeout_ms = t;
	return (int64_t)x;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ no kernel */

START_TEST(names_validated)
{
	struct fwnft_opts o = {.family = "inet", .table = "loki", .set4 = "a4", .set6 = "a6"};
	struct fwnft *n = NULL;
	char err[256];

	ck_assert_int_eq(fwnft_new(&o, &n, err, sizeof(err)), 0);
	fwnft_free(n);
	o.family = "inet6";
	ck_assert_int_eq(fwnft_new(&o, &n, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "family"));
	o.family = "ip";
	o.table = "lo ki";
	ck_assert_int_eq(fwnft_new(&o, &n, err, sizeof(err)), -EINVAL);
	o.table = "loki; flush ruleset";
	ck_assert_int_eq(fwnft_new(&o, &n, err, sizeof(err)), -EINVAL);
	o.table = "1loki";
	ck_assert_int_eq(fwnft_new(&o, &n, err, sizeof(err)), -EINVAL);
	o.table = "_lo-ki.x";
	o.set6 = "a4";
	ck_assert_int_eq(fwnft_new(&o, &n, err, sizeof(err)), -EINVAL);
	o.set6 = "";
	ck_assert_int_eq(fwnft_new(&o, &n, err, sizeof(err)), -EINVAL);
	fwnft_free(NULL);
}
END_TEST

START_TEST(dry_run_text)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct fwnft *n = make(FWNFT_REFRESH_REPLACE, true, out);
	struct fwnft_elem e[] = {
		elem(FWNFT_ADD, "203.0.113.7", 330),
		elem(FWNFT_ADD, "2001:db8::7", 90),
		elem(FWNFT_ADD, "169.254.169.254", 330),
		elem(FWNFT_DEL, "198.51.100.9", 0),
	};
	struct fwnft_stats st;

	ck_assert_int_eq(fwnft_ensure(n), 0);
	ck_assert_int_eq(fwnft_apply(n, e, 4, &st), 0);
	ck_assert_uint_eq(st.applied, 3);
	ck_assert_uint_eq(st.forbidden, 1);
	fwnft_set_refresh(n, FWNFT_REFRESH_ADD);
	ck_assert_int_eq(fwnft_apply(n, e, 1, NULL), 0);
	fflush(out);
	ck_assert_str_eq(
		text, "add table inet loki\n"
		      "add set inet loki allow4 { type ipv4_addr; flags timeout; }\n"
		      "add set inet loki allow6 { type ipv6_addr; flags timeout; }\n"
		      "add element inet loki allow4 { 203.0.113.7 timeout 330s }\n"
		      "delete element inet loki allow4 { 203.0.113.7 }\n"
		      "add element inet loki allow4 { 203.0.113.7 timeout 330s }\n"
		      "add element inet loki allow6 { 2001:db8::7 timeout 90s }\n"
		      "delete element inet loki allow6 { 2001:db8::7 }\n"
		      "add element inet loki allow6 { 2001:db8::7 timeout 90s }\n"
		      "add element inet loki allow4 { 198.51.100.9 timeout 1s }\n"
		      "delete element inet loki allow4 { 198.51.100.9 }\n"
		      "add element inet loki allow4 { 203.0.113.7 timeout 330s expires 330s }\n");
	fclose(out);
	free(text);
	fwnft_free(n);
}
END_TEST

START_TEST(format_clamps_timeout)
{
	struct fwnft *n = make(FWNFT_REFRESH_ADD, true, NULL);
	struct fwnft_elem e[] = {elem(FWNFT_ADD, "192.0.2.1", 0),
				 elem(FWNFT_ADD, "192.0.2.2", 4000000000u)};
	char *text = NULL;

	ck_assert_int_eq(fwnft_format(n, e, 2, &text, NULL), 2);
	ck_assert_str_eq(text, "add element inet loki allow4 { 192.0.2.1 timeout 1s expires 1s }\n"
			       "add element inet loki allow4 { 192.0.2.2 timeout 604800s expires "
			       "604800s }\n");
	free(text);
	fwnft_free(n);
}
END_TEST

START_TEST(forbidden_addresses)
{
	static const char *const bad[] = {
		"169.254.169.254",
		"169.254.0.0",
		"127.0.0.1",
		"127.1.2.3",
		"224.0.0.1",
		"239.1.1.1",
		"0.0.0.0",
		"0.255.255.255",
		"255.255.255.255",
		"::",
		"::1",
		"ff02::1",
		"ff00::",
		"fe80::1",
		"febf:ffff::1",
		"::ffff:127.0.0.1",
		"::ffff:169.254.169.254",
		"::ffff:224.0.0.251",
		"::ffff:0.0.0.1",
		"64:ff9b::127.0.0.1",
	};
	static const char *const good[] = {
		"203.0.113.7",	      "1.1.1.1",     "223.255.255.255",
		"240.0.0.1",	      "169.253.1.1", "126.255.255.255",
		"2001:db8::1",	      "fec0::1",     "fc00::1",
		"::ffff:203.0.113.7", "::2:0:0:1",
	};
	char *text = NULL;
	struct fwnft *n = make(FWNFT_REFRESH_REPLACE, true, NULL);
	struct fwnft_elem e[sizeof(bad) / sizeof(bad[0])];
	size_t i, forbidden = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fwnft_elem x = elem(FWNFT_ADD, bad[i], 60);

		ck_assert_msg(fwnft_addr_forbidden(x.family, x.addr), "%s admitted", bad[i]);
		e[i] = x;
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct fwnft_elem x = elem(FWNFT_ADD, good[i], 60);

		ck_assert_msg(!fwnft_addr_forbidden(x.family, x.addr), "%s refused", good[i]);
	}
	ck_assert_int_eq(fwnft_format(n, e, sizeof(bad) / sizeof(bad[0]), &text, &forbidden), 0);
	ck_assert_str_eq(text, "");
	ck_assert_uint_eq(forbidden, sizeof(bad) / sizeof(bad[0]));
	free(text);
	fwnft_free(n);
}
END_TEST

START_TEST(parse_time)
{
	uint64_t ms;

	ck_assert_int_eq(fwnft_parse_time("330s", 4, &ms), 0);
	ck_assert_uint_eq(ms, 330000);
	ck_assert_int_eq(fwnft_parse_time("3m19s996ms", 10, &ms), 0);
	ck_assert_uint_eq(ms, 199996);
	ck_assert_int_eq(fwnft_parse_time("1d2h3m4s5ms", 11, &ms), 0);
	ck_assert_uint_eq(ms, 93784005);
	ck_assert_int_eq(fwnft_parse_time("5m", 2, &ms), 0);
	ck_assert_uint_eq(ms, 300000);
	ck_assert_int_eq(fwnft_parse_time("", 0, &ms), -EINVAL);
	ck_assert_int_eq(fwnft_parse_time("s", 1, &ms), -EINVAL);
	ck_assert_int_eq(fwnft_parse_time("5x", 2, &ms), -EINVAL);
	ck_assert_int_eq(fwnft_parse_time("5", 1, &ms), -EINVAL);
}
END_TEST

/* ---------------------------------------------------------- in a netns */

START_TEST(table_and_sets_created)
{
	struct fwnft *n;
	struct fwnft_elem e = elem(FWNFT_ADD, "192.0.2.1", 300);

	if (!netns(__func__))
		return;
	n = make(FWNFT_REFRESH_REPLACE, false, NULL);
	ck_assert_int_eq(fwnft_run(n, "list set inet loki allow4"), -ENOENT);
	ck_assert_int_eq(fwnft_ensure(n), 0);
	ck_assert_int_eq(fwnft_run(n, "list set inet loki allow4"), 0);
	ck_assert_int_eq(fwnft_run(n, "list set inet loki allow6"), 0);
	ck_assert_int_eq(fwnft_apply(n, &e, 1, NULL), 0);
	/* Ensuring again keeps the sets and their elements. */
	ck_assert_int_eq(fwnft_ensure(n), 0);
	ck_assert_int_ge(expiry(n, "192.0.2.1", NULL), 0);
	fwnft_free(n);
}
END_TEST

START_TEST(existing_set_without_timeout)
{
	struct fwnft *n;

	if (!netns(__func__))
		return;
	n = make(FWNFT_REFRESH_REPLACE, false, NULL);
	ck_assert_int_eq(fwnft_run(n, "add table inet loki\n"
				      "add set inet loki allow4 { type ipv4_addr; }\n"),
			 0);
	ck_assert_int_ne(fwnft_ensure(n), 0);
	ck_assert_ptr_nonnull(strstr(fwnft_error(n), "timeout"));
	fwnft_free(n);
}
END_TEST

START_TEST(add_with_timeout)
{
	struct fwnft *n;
	struct fwnft_elem e[] = {elem(FWNFT_ADD, "203.0.113.7", 330),
				 elem(FWNFT_ADD, "2001:db8::7", 90)};
	struct fwnft_stats st;
	uint64_t t;
	int64_t x;

	if (!netns(__func__))
		return;
	n = make(FWNFT_REFRESH_REPLACE, false, NULL);
	ck_assert_int_eq(fwnft_ensure(n), 0);
	ck_assert_int_eq(fwnft_apply(n, e, 2, &st), 0);
	ck_assert_uint_eq(st.applied, 2);
	ck_assert(!st.retried);
	x = expiry(n, "203.0.113.7", &t);
	ck_assert_uint_eq(t, 330000);
	ck_assert_int_gt(x, 320000);
	ck_assert_int_le(x, 330000);
	x = expiry(n, "2001:db8::7", &t);
	ck_assert_uint_eq(t, 90000);
	ck_assert_int_gt(x, 80000);
	fwnft_free(n);
}
END_TEST

/*
 * The refresh cases for one mode: an element whose expiry has run down (set
 * with an explicit short expiry) gets its full timeout back when added with
 * the same timeout, and one added again with a longer timeout takes it.
 */
static void check_refresh(enum fwnft_refresh mode)
{
	struct fwnft *n = make(mode, false, NULL);
	struct fwnft_elem same = elem(FWNFT_ADD, "203.0.113.7", 300);
	struct fwnft_elem same6 = elem(FWNFT_ADD, "2001:db8::7", 300);
	struct fwnft_elem grow = elem(FWNFT_ADD, "203.0.113.8", 100);
	uint64_t t;

	ck_assert_int_eq(fwnft_ensure(n), 0);
	ck_assert_int_eq(fwnft_run(n, "add element inet loki allow4 { 203.0.113.7 timeout 300s "
				      "expires 20s }\n"
				      "add element inet loki allow6 { 2001:db8::7 timeout 300s "
				      "expires 20s }\n"),
			 0);
	ck_assert_int_le(expiry(n, "203.0.113.7", NULL), 20000);
	ck_assert_int_eq(fwnft_apply(n, &same, 1, NULL), 0);
	ck_assert_int_eq(fwnft_apply(n, &same6, 1, NULL), 0);
	ck_assert_int_gt(expiry(n, "203.0.113.7", &t), 290000);
	ck_assert_uint_eq(t, 300000);
	ck_assert_int_gt(expiry(n, "2001:db8::7", NULL), 290000);

	ck_assert_int_eq(fwnft_apply(n, &grow, 1, NULL), 0);
	ck_assert_int_le(expiry(n, "203.0.113.8", NULL), 100000);
	grow.timeout = 200;
	ck_assert_int_eq(fwnft_apply(n, &grow, 1, NULL), 0);
	ck_assert_int_gt(expiry(n, "203.0.113.8", &t), 190000);
	ck_assert_uint_eq(t, 200000);

	/* A shorter timeout is taken as well: the resolver only sends an add
	 * when the expiry moves later, so the stream is the authority. */
	grow.timeout = 50;
	ck_assert_int_eq(fwnft_apply(n, &grow, 1, NULL), 0);
	ck_assert_int_le(expiry(n, "203.0.113.8", NULL), 50000);
	fwnft_free(n);
}

START_TEST(refresh_replace)
{
	if (!netns(__func__))
		return;
	check_refresh(FWNFT_REFRESH_REPLACE);
}
END_TEST

START_TEST(refresh_add)
{
	struct fwnft *n;
	enum fwnft_refresh detected;

	if (!netns(__func__))
		return;
	n = make(FWNFT_REFRESH_AUTO, false, NULL);
	ck_assert_int_eq(fwnft_detect_refresh(n, &detected), 0);
	fwnft_free(n);
	if (detected != FWNFT_REFRESH_ADD) {
		printf("SKIP %s: this kernel does not refresh re-added elements (before 6.10)\n",
		       __func__);
		return;
	}
	check_refresh(FWNFT_REFRESH_ADD);
}
END_TEST

START_TEST(detect_refresh)
{
	struct fwnft *n;
	enum fwnft_refresh mode = FWNFT_REFRESH_AUTO;
	char *list;

	if (!netns(__func__))
		return;
	n = make(FWNFT_REFRESH_AUTO, false, NULL);
	ck_assert_int_eq(fwnft_detect_refresh(n, &mode), 0);
	ck_assert(mode == FWNFT_REFRESH_ADD || mode == FWNFT_REFRESH_REPLACE);
	printf("detect_refresh: this kernel uses \"%s\"\n", fwnft_refresh_name(mode));
	/* The probe table is gone afterwards. */
	ck_assert_int_eq(fwnft_run(n, "list tables"), 0);
	{
		struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

		nft_ctx_buffer_output(ctx);
		ck_assert_int_eq(nft_run_cmd_from_buffer(ctx, "list tables"), 0);
		list = strdup(nft_ctx_get_output_buffer(ctx));
		nft_ctx_free(ctx);
	}
	ck_assert_ptr_null(strstr(list, "loki_probe"));
	free(list);
	/* Dry-run never probes. */
	fwnft_free(n);
	n = make(FWNFT_REFRESH_AUTO, true, NULL);
	ck_assert_int_eq(fwnft_detect_refresh(n, &mode), -EOPNOTSUPP);
	ck_assert_int_eq(mode, FWNFT_REFRESH_REPLACE);
	fwnft_free(n);
}
END_TEST

START_TEST(add_then_del)
{
	struct fwnft *n;
	struct fwnft_elem add[] = {elem(FWNFT_ADD, "203.0.113.7", 300),
				   elem(FWNFT_ADD, "2001:db8::7", 300)};
	struct fwnft_elem del[] = {elem(FWNFT_DEL, "203.0.113.7", 0),
				   elem(FWNFT_DEL, "2001:db8::7", 0),
				   elem(FWNFT_DEL, "203.0.113.99", 0)};
	struct fwnft_stats st;

	if (!netns(__func__))
		return;
	n = make(FWNFT_REFRESH_ADD, false, NULL);
	ck_assert_int_eq(fwnft_ensure(n), 0);
	ck_assert_int_eq(fwnft_apply(n, add, 2, NULL), 0);
	ck_assert_int_ge(expiry(n, "203.0.113.7", NULL), 0);
	/* Deleting an element that is not there does not fail the batch. */
	ck_assert_int_eq(fwnft_apply(n, del, 3, &st), 0);
	ck_assert(!st.retried);
	ck_assert_uint_eq(st.applied, 3);
	ck_assert_int_eq(expiry(n, "203.0.113.7", NULL), -1);
	ck_assert_int_eq(expiry(n, "2001:db8::7", NULL), -1);
	ck_assert_int_eq(expiry(n, "203.0.113.99", NULL), -1);
	/* Add and del of one address in one batch: the order counts. */
	{
		struct fwnft_elem seq[] = {
			elem(FWNFT_ADD, "203.0.113.5", 300), elem(FWNFT_DEL, "203.0.113.5", 0),
			elem(FWNFT_DEL, "203.0.113.6", 0), elem(FWNFT_ADD, "203.0.113.6", 300)};

		ck_assert_int_eq(fwnft_apply(n, seq, 4, NULL), 0);
		ck_assert_int_eq(expiry(n, "203.0.113.5", NULL), -1);
		ck_assert_int_gt(expiry(n, "203.0.113.6", NULL), 290000);
	}
	fwnft_free(n);
}
END_TEST

static void batch_1000(enum fwnft_refresh mode)
{
	struct fwnft *n = make(mode, false, NULL);
	struct fwnft_elem *e = calloc(1000, sizeof(*e));
	struct fwnft_stats st;
	double t0, t1, t2;
	int i;

	ck_assert_int_eq(fwnft_ensure(n), 0);
	for (i = 0; i < 1000; i++) {
		e[i] = elem(FWNFT_ADD, i % 2 ? "2001:db8::" : "198.18.0.0", 300);
		if (e[i].family == 4) {
			e[i].addr[2] = (uint8_t)(i >> 8);
			e[i].addr[3] = (uint8_t)i;
		} else {
			e[i].addr[14] = (uint8_t)(i >> 8);
			e[i].addr[15] = (uint8_t)i;
		}
	}
	t0 = now();
	ck_assert_int_eq(fwnft_apply(n, e, 1000, &st), 0);
	t1 = now();
	ck_assert(!st.retried);
	ck_assert_uint_eq(st.applied, 1000);
	/* The same batch again: all 1000 are refreshes now. */
	ck_assert_int_eq(fwnft_apply(n, e, 1000, &st), 0);
	t2 = now();
	ck_assert(!st.retried);
	printf("batch_1000 (%s): new %.1f ms (%.0f elements/s), refresh %.1f ms (%.0f "
	       "elements/s)\n",
	       fwnft_refresh_name(mode), (t1 - t0) * 1e3, 1000 / (t1 - t0), (t2 - t1) * 1e3,
	       1000 / (t2 - t1));
	ck_assert_int_gt(expiry(n, "198.18.0.0", NULL), 290000);
	ck_assert_int_gt(expiry(n, "198.18.3.230", NULL), 290000);  /* i = 998 */
	ck_assert_int_gt(expiry(n, "2001:db8::3e7", NULL), 290000); /* i = 999 */
	free(e);
	fwnft_free(n);
}

START_TEST(batch_1000_replace)
{
	if (!netns(__func__))
		return;
	batch_1000(FWNFT_REFRESH_REPLACE);
}
END_TEST

START_TEST(batch_1000_add)
{
	if (!netns(__func__))
		return;
	batch_1000(FWNFT_REFRESH_ADD);
}
END_TEST

/*
 * allow6 exists with the wrong type, so every IPv6 element fails and the
 * sets cannot be re-created; the IPv4 elements of the same batch must still
 * go in.
 */
START_TEST(bad_element_does_not_block)
{
	struct fwnft *n;
	struct fwnft_elem e[] = {
		elem(FWNFT_ADD, "203.0.113.1", 300), elem(FWNFT_ADD, "2001:db8::1", 300),
		elem(FWNFT_ADD, "203.0.113.2", 300), elem(FWNFT_ADD, "127.0.0.1", 300),
		elem(FWNFT_ADD, "203.0.113.3", 300),
	};
	struct fwnft_stats st;

	if (!netns(__func__))
		return;
	n = make(FWNFT_REFRESH_REPLACE, false, NULL);
	ck_assert_int_eq(fwnft_run(n,
				   "add table inet loki\n"
				   "add set inet loki allow4 { type ipv4_addr; flags timeout; }\n"
				   "add set inet loki allow6 { type ipv4_addr; flags timeout; }\n"),
			 0);
	ck_assert_int_eq(fwnft_apply(n, e, 5, &st), 0);
	ck_assert(st.retried);
	ck_assert_uint_eq(st.applied, 3);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_uint_eq(st.forbidden, 1);
	ck_assert_int_gt(expiry(n, "203.0.113.1", NULL), 290000);
	ck_assert_int_gt(expiry(n, "203.0.113.2", NULL), 290000);
	ck_assert_int_gt(expiry(n, "203.0.113.3", NULL), 290000);
	ck_assert_int_eq(expiry(n, "127.0.0.1", NULL), -1);
	/* nft's own text is kept for the report. */
	ck_assert_ptr_nonnull(strstr(fwnft_error(n), "Error"));

	/* A full set: the elements that fit go in. */
	ck_assert_int_eq(fwnft_run(n,
				   "delete table inet loki\nadd table inet loki\n"
				   "add set inet loki allow4 { type ipv4_addr; flags timeout; "
				   "size 2; }\n"
				   "add set inet loki allow6 { type ipv6_addr; flags timeout; }\n"),
			 0);
	ck_assert_int_eq(fwnft_apply(n, e, 5, &st), 0);
	ck_assert(st.retried);
	ck_assert_uint_eq(st.applied, 3);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_int_gt(expiry(n, "2001:db8::1", NULL), 290000);
	fwnft_free(n);
}
END_TEST

START_TEST(table_deleted_behind_our_back)
{
	struct fwnft *n;
	struct fwnft_elem e = elem(FWNFT_ADD, "203.0.113.7", 300);
	struct fwnft_stats st;

	if (!netns(__func__))
		return;
	n = make(FWNFT_REFRESH_REPLACE, false, NULL);
	ck_assert_int_eq(fwnft_ensure(n), 0);
	ck_assert_int_eq(fwnft_run(n, "delete table inet loki"), 0);
	ck_assert_int_eq(fwnft_apply(n, &e, 1, &st), 0);
	ck_assert(!st.retried);
	ck_assert_int_gt(expiry(n, "203.0.113.7", NULL), 290000);
	fwnft_free(n);
}
END_TEST

START_TEST(forbidden_never_added)
{
	static const char *const addrs[] = {
		"169.254.169.254", "169.254.1.1", "127.0.0.1",	      "224.0.0.1", "::1",
		"ff02::1",	   "fe80::1",	  "::ffff:127.0.0.1", "::",	   "0.0.0.0",
		"203.0.113.7",
	};
	struct fwnft_elem e[sizeof(addrs) / sizeof(addrs[0])];
	struct fwnft_stats st;
	struct fwnft *n;
	size_t i, count = sizeof(addrs) / sizeof(addrs[0]);

	if (!netns(__func__))
		return;
	n = make(FWNFT_REFRESH_REPLACE, false, NULL);
	ck_assert_int_eq(fwnft_ensure(n), 0);
	for (i = 0; i < count; i++)
		e[i] = elem(FWNFT_ADD, addrs[i], 300);
	ck_assert_int_eq(fwnft_apply(n, e, count, &st), 0);
	ck_assert_uint_eq(st.forbidden, count - 1);
	ck_assert_uint_eq(st.applied, 1);
	for (i = 0; i + 1 < count; i++)
		ck_assert_msg(expiry(n, addrs[i], NULL) == -1, "%s was added", addrs[i]);
	ck_assert_int_gt(expiry(n, "203.0.113.7", NULL), 0);
	fwnft_free(n);
}
END_TEST

START_TEST(ruleset_file)
{
	struct fwnft *n;
	char path[] = "/tmp/check_nft_bad.XXXXXX";
	FILE *fp;
	int fd;

	if (!netns(__func__))
		return;
	/* Check mode (nft -c -f) first, then a real load, twice. */
	n = make(FWNFT_REFRESH_REPLACE, true, NULL);
	ck_assert_msg(fwnft_install_ruleset(n, RULESET) == 0, "%s", fwnft_error(n));
	fwnft_free(n);
	n = make(FWNFT_REFRESH_REPLACE, false, NULL);
	ck_assert_int_eq(fwnft_run(n, "list table inet loki"), -ENOENT);
	ck_assert_msg(fwnft_install_ruleset(n, RULESET) == 0, "%s", fwnft_error(n));
	ck_assert_msg(fwnft_install_ruleset(n, RULESET) == 0, "%s", fwnft_error(n));
	ck_assert_int_eq(fwnft_run(n, "list chain inet loki forward"), 0);
	/* Its sets are the ones the agent expects. */
	ck_assert_msg(fwnft_ensure(n) == 0, "%s", fwnft_error(n));

	/* A broken file: nft's message names the file and the line. */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	fputs("table inet loki {\n\tchain c {\n\t\tip daddr @nosuchset accept\n\t}\n}\n", fp);
	fclose(fp);
	ck_assert_int_eq(fwnft_install_ruleset(n, path), -EIO);
	ck_assert_ptr_nonnull(strstr(fwnft_error(n), path));
	ck_assert_ptr_nonnull(strstr(fwnft_error(n), "Error"));
	unlink(path);
	ck_assert_int_eq(fwnft_install_ruleset(n, "/nonexistent/loki.nft"), -EIO);
	ck_assert_ptr_nonnull(strstr(fwnft_error(n), "/nonexistent/loki.nft"));
	fwnft_free(n);
}
END_TEST

/* Drops CAP_NET_ADMIN from the effective set of this (forked) process. */
static void drop_net_admin(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	ck_assert_int_eq(syscall(SYS_capget, &h, d), 0);
	d[0].effective &= ~(1u << CAP_NET_ADMIN);
	ck_assert_int_eq(syscall(SYS_capset, &h, d), 0);
}

START_TEST(no_permission)
{
	struct fwnft *n;
	struct fwnft_elem e = elem(FWNFT_ADD, "203.0.113.7", 300);

	if (!netns(__func__))
		return;
	drop_net_admin();
	n = make(FWNFT_REFRESH_REPLACE, false, NULL);
	ck_assert_int_eq(fwnft_ensure(n), -EPERM);
	ck_assert_ptr_nonnull(strstr(fwnft_error(n), "Operation not permitted"));
	ck_assert_int_eq(fwnft_apply(n, &e, 1, NULL), -EPERM);
	fwnft_free(n);
}
END_TEST

static Suite *nft_suite(void)
{
	Suite *s = suite_create("nft");
	TCase *tc = tcase_create("text");
	TCase *k = tcase_create("kernel");

	tcase_add_test(tc, names_validated);
	tcase_add_test(tc, dry_run_text);
	tcase_add_test(tc, format_clamps_timeout);
	tcase_add_test(tc, forbidden_addresses);
	tcase_add_test(tc, parse_time);
	suite_add_tcase(s, tc);

	tcase_set_timeout(k, 30);
	tcase_add_test(k, table_and_sets_created);
	tcase_add_test(k, existing_set_without_timeout);
	tcase_add_test(k, add_with_timeout);
	tcase_add_test(k, refresh_replace);
	tcase_add_test(k, refresh_add);
	tcase_add_test(k, detect_refresh);
	tcase_add_test(k, add_then_del);
	tcase_add_test(k, batch_1000_replace);
	tcase_add_test(k, batch_1000_add);
	tcase_add_test(k, bad_element_does_not_block);
	tcase_add_test(k, table_deleted_behind_our_back);
	tcase_add_test(k, forbidden_never_added);
	tcase_add_test(k, ruleset_file);
	tcase_add_test(k, no_permission);
	suite_add_tcase(s, k);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nft_suite());
	int failed;

	/* Line-buffered, so that a forked test never repeats unflushed output. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	nofork = srunner_fork_status(sr) == CK_NOFORK;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
