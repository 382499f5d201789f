/*
 * The query pipeline of worker_handle on its local paths (blocked, refused,
 * malformed, ANY, cache hit), without sockets. The allocation tests count
 * calls to malloc, calloc and realloc while answering: the blocked path and
 * a cache hit must not touch the heap (issue 2, "Design for speed").
 */
#include <check.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../resolver/config.h"
#include "answer.h"
#include "cache.h"
#include "inflight.h"
#include "learned.h"
#include "snapshot.h"
#include "worker.h"

/* ---------------------------------------------------------- allocation count
 * The sanitizers interpose malloc themselves, so counting is compiled only
 * into the plain build; there the test binary's definitions win over libc's
 * and forward to glibc's internal entry points. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNT_ALLOCS 0
#else
#define COUNT_ALLOCS 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
static atomic_long allocs;

void *malloc(size_t n)
{
	atomic_fetch_add(&allocs, 1);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	atomic_fetch_add(&allocs, 1);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	atomic_fetch_add(&allocs, 1);
	return __libc_realloc(p, n);
}
#endif

static struct worker_shared sh;
static struct worker *w;
static struct sockaddr_in client;

static void setup_with(const char *policy_env, const char *log_env)
{
	char *argv[] = {"loki-resolver", "--upstream",	   "192.0.2.1",
			"--listen",	 "127.0.0.1:5399", NULL};
	char *envp[] = {(char *)policy_env, (char *)log_env, "LOKI_THREADS=1", NULL};
	struct config_cli cli;
	char err[512];
	struct snapshot *snap = NULL;

	ck_assert_int_eq(
		snapshot_build(5, argv, envp, "/nonexistent", &snap, &cli, err, sizeof(err)), 0);
	memset(&sh, 0, sizeof(sh));
	sh.max_queries = WORKER_MAX_QUERIES;
	sh.learned = learned_new(1024);
	sh.cache = cache_new(1000, 86400);
	sh.inflight = inflight_new();
	cookie_secret_init(&sh.cookie_secret);
	w = calloc(1, sizeof(*w));
	ck_assert_ptr_nonnull(w);
	w->shared = &sh;
	w->snap = snap;
	sh.workers = w;
	sh.n_workers = 1;
	memset(&client, 0, sizeof(client));
	client.sin_family = AF_INET;
	client.sin_port = htons(40000);
	client.sin_addr.s_addr = htonl(0x7f000001);
}

static void setup(void)
{
	setup_with("LOKI_NETWORK_EGRESS_POLICY=ai-only", "LOKI_LOG_QUERIES=none");
}

#if COUNT_ALLOCS
static void setup_logging(void)
{
	setup_with("LOKI_NETWORK_EGRESS_POLICY=ai-only", "LOKI_LOG_QUERIES=blocked");
}
#endif

static void teardown(void)
{
	snapshot_unref(w->snap);
	free(w);
	cache_free(sh.cache);
	inflight_free(sh.inflight);
	learned_free(sh.learned);
}

/* A query for name (text) and type, with EDNS if edns. */
static size_t make_query(uint8_t *buf, size_t cap, const char *name, uint16_t qtype, bool edns)
{
	struct wire_writer wr;
	struct dns_header h = {
		.id = 0x4242, .flags = DNS_FLAG_RD, .qdcount = 1, .arcount = edns ? 1 : 0};
	uint8_t wname[DNS_NAME_MAX];
	size_t n = wire_name_from_text(name, wname);

	wire_writer_init(&wr, buf, cap);
	wire_put_header(&wr, &h);
	wire_put_bytes(&wr, wname, n);
	wire_put_u16(&wr, qtype);
	wire_put_u16(&wr, DNS_CLASS_IN);
	if (edns) {
		wire_put_u8(&wr, 0);
		wire_put_u16(&wr, DNS_TYPE_OPT);
		wire_put_u16(&wr, 1232);
		wire_put_u32(&wr, 0);
		wire_put_u16(&wr, 0);
	}
	ck_assert(!wr.err);
	return wr.pos;
}

static size_t handle(const uint8_t *pkt, size_t len, bool *forwarded)
{
	return worker_handle(w, pkt, len, (struct sockaddr *)&client, NULL, NULL, w->scratch,
			     sizeof(w->scratch), forwarded);
}

static int rcode_of(size_t len)
{
	ck_assert_uint_ge(len, DNS_HEADER_LEN);
	return w->scratch[3] & 0xf;
}

START_TEST(blocked_name_nxdomain)
{
	uint8_t q[512];
	bool fwd;
	size_t n = make_query(q, sizeof(q), "www.example.com", DNS_TYPE_A, true);
	size_t len = handle(q, n, &fwd);

	ck_assert(!fwd);
	ck_assert_int_eq(rcode_of(len), DNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(wire_get_id(w->scratch), 0x4242);
	ck_assert_uint_eq(atomic_load(&sh.stats.blocked), 1);
}
END_TEST

START_TEST(refused_outside_acl)
{
	uint8_t q[512];
	bool fwd;
	size_t n = make_query(q, sizeof(q), "api.openai.com", DNS_TYPE_A, false);

	client.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1: not in allow_clients */
	ck_assert_int_eq(rcode_of(handle(q, n, &fwd)), DNS_RCODE_REFUSED);
	ck_assert(!fwd);
	ck_assert_uint_eq(atomic_load(&sh.stats.refused), 1);
}
END_TEST

START_TEST(malformed_formerr_or_drop)
{
	uint8_t q[512];
	bool fwd;
	size_t n = make_query(q, sizeof(q), "api.openai.com", DNS_TYPE_A, false);

	ck_assert_uint_eq(handle(q, 11, &fwd), 0); /* header unreadable: dropped */
	ck_assert(!fwd);
	ck_assert_int_eq(rcode_of(handle(q, n - 3, &fwd)), DNS_RCODE_FORMERR);
	q[2] |= 0x80; /* QR: a response sent to us is dropped */
	ck_assert_uint_eq(handle(q, n, &fwd), 0);
}
END_TEST

START_TEST(any_answered_locally)
{
	uint8_t q[512];
	bool fwd;
	size_t n = make_query(q, sizeof(q), "api.openai.com", DNS_TYPE_ANY, false);
	size_t len = handle(q, n, &fwd);

	ck_assert(!fwd);
	ck_assert_int_eq(rcode_of(len), DNS_RCODE_NOERROR);
	ck_assert_uint_eq(w->scratch[7], 1); /* ANCOUNT: the HINFO */
}
END_TEST

/* The UDP listener builds answers over the query in its receive buffer:
 * the answer must be the same as one built in a separate buffer. */
static void assert_in_place_same(const char *name, uint16_t qtype, bool edns, size_t cut)
{
	uint8_t q[512], inplace[4096], copy[4096];
	bool fwd;
	size_t n = make_query(q, sizeof(q), name, qtype, edns), a, b;

	n -= cut;
	memcpy(inplace, q, n);
	a = worker_handle(w, q, n, (struct sockaddr *)&client, NULL, NULL, copy, sizeof(copy),
			  &fwd);
	b = worker_handle(w, inplace, n, (struct sockaddr *)&client, NULL, NULL, inplace,
			  sizeof(inplace), &fwd);
	ck_assert_uint_ge(a, DNS_HEADER_LEN);
	ck_assert_uint_eq(a, b);
	ck_assert_mem_eq(copy, inplace, a);
}

START_TEST(answers_in_place)
{
	assert_in_place_same("www.example.com", DNS_TYPE_A, true, 0);	  /* blocked, EDE */
	assert_in_place_same("www.example.com", DNS_TYPE_AAAA, false, 0); /* blocked */
	assert_in_place_same("api.openai.com", DNS_TYPE_ANY, true, 0);	  /* local HINFO */
	assert_in_place_same("api.openai.com", DNS_TYPE_A, false, 3);	  /* FORMERR */
	client.sin_addr.s_addr = htonl(0xc0000201);			  /* REFUSED */
	assert_in_place_same("api.openai.com", DNS_TYPE_A, true, 0);
}
END_TEST

#if COUNT_ALLOCS
static void assert_no_allocs_blocked(void)
{
	uint8_t q[512];
	bool fwd;
	size_t n = make_query(q, sizeof(q), "tracker.example.net", DNS_TYPE_AAAA, true);
	long before, after;
	int i, wrong = 0;

	/* Warm up once: stdio and the C library may set themselves up. Check's
	 * own assertions allocate, so none runs inside the counted loop. */
	handle(q, n, &fwd);
	before = atomic_load(&allocs);
	for (i = 0; i < 1000; i++)
		if (handle(q, n, &fwd) < DNS_HEADER_LEN ||
		    (w->scratch[3] & 0xf) != DNS_RCODE_NXDOMAIN)
			wrong++;
	after = atomic_load(&allocs);
	ck_assert_int_eq(wrong, 0);
	ck_assert_int_eq(after - before, 0);
}

START_TEST(blocked_path_allocates_nothing)
{
	assert_no_allocs_blocked();
}
END_TEST

START_TEST(blocked_path_with_logging_allocates_nothing)
{
	FILE *saved = stderr;

	/* The JSON lines go to a scratch file instead of the test output. */
	stderr = tmpfile();
	ck_assert_ptr_nonnull(stderr);
	setvbuf(stderr, NULL, _IONBF, 0);
	assert_no_allocs_blocked();
	fclose(stderr);
	stderr = saved;
}
END_TEST

START_TEST(cache_hit_allocates_nothing)
{
	uint8_t q[512], msg[512];
	struct scrub_result res;
	struct dns_query pq;
	struct cache_key key;
	struct answer *ans;
	struct wire_writer wr;
	struct dns_header h = {.flags = DNS_FLAG_QR | DNS_FLAG_RA, .qdcount = 1, .ancount = 1};
	bool fwd;
	size_t n = make_query(q, sizeof(q), "api.openai.com", DNS_TYPE_A, true);
	long before, after;
	int i, wrong = 0;

	/* Store a neutral answer for the key, as a completed query would. */
	ck_assert_int_eq(wire_parse_query(q, n, &pq), WIRE_PARSE_OK);
	wire_writer_init(&wr, msg, sizeof(msg));
	wire_put_header(&wr, &h);
	wire_put_bytes(&wr, pq.qname_lc, pq.qname_len);
	wire_put_u16(&wr, DNS_TYPE_A);
	wire_put_u16(&wr, DNS_CLASS_IN);
	wire_put_bytes(&wr, pq.qname_lc, pq.qname_len);
	wire_put_u16(&wr, DNS_TYPE_A);
	wire_put_u16(&wr, DNS_CLASS_IN);
	wire_put_u32(&wr, 300);
	wire_put_u16(&wr, 4);
	wire_put_bytes(&wr, "\xcb\x00\x71\x14", 4);
	memset(&res, 0, sizeof(res));
	ans = answer_new(msg, wr.pos, &res, 0, 86400, worker_now_ms());
	ck_assert_ptr_nonnull(ans);
	worker_cache_key(&pq, &key);
	ck_assert_int_eq(cache_store(sh.cache, &key, ans), 0);
	answer_unref(ans);

	handle(q, n, &fwd);
	before = atomic_load(&allocs);
	for (i = 0; i < 1000; i++)
		if (handle(q, n, &fwd) < DNS_HEADER_LEN || fwd ||
		    (w->scratch[3] & 0xf) != DNS_RCODE_NOERROR)
			wrong++;
	after = atomic_load(&allocs);
	ck_assert_int_eq(wrong, 0);
	ck_assert_int_eq(after - before, 0);
	ck_assert_uint_ge(atomic_load(&sh.stats.cache_hits), 1000);
}
END_TEST
#endif

static Suite *worker_suite(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("pipeline");
	TCase *tl = tcase_create("logging");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, blocked_name_nxdomain);
	tcase_add_test(tc, refused_outside_acl);
	tcase_add_test(tc, malformed_formerr_or_drop);
	tcase_add_test(tc, any_answered_locally);
	tcase_add_test(tc, answers_in_place);
#if COUNT_ALLOCS
	tcase_add_test(tc, blocked_path_allocates_nothing);
	tcase_add_test(tc, cache_hit_allocates_nothing);
	tcase_add_checked_fixture(tl, setup_logging, teardown);
	tcase_add_test(tl, blocked_path_with_logging_allocates_nothing);
#endif
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tl);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(worker_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
