/*
 * The address stream on a real Unix socket and libuv loop: hello, snapshot,
 * synced, incremental adds, acks moving the watermark, revocation dels,
 * garbage disconnecting a subscriber, stale socket files.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "jsonl.h"
#include "policy.h"
#include "stream.h"
#include "wire.h"

static uv_loop_t loop;
static struct stream *st;
static char dir[64], path[96];
static int watermark_calls;

static void on_wm(void *arg)
{
	(void)arg;
	watermark_calls++;
}

static void setup(void)
{
	char err[256];

	strcpy(dir, "/tmp/loki-stream-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	watermark_calls = 0;
	ck_assert_int_eq(stream_open(&loop, path, "ai-only", on_wm, NULL, &st, err, sizeof(err)),
			 0);
}

static void teardown(void)
{
	stream_close(st);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	rmdir(dir);
}

static int client(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void spin(void)
{
	int i;

	for (i = 0; i < 20; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
}

/* Everything the client has received so far, as one string. */
static char *drain_fd(int fd)
{
	static char buf[65536];
	size_t len = 0;
	ssize_t n;

	spin();
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

static void publish(const char *name, const char *ip4, uint32_t ttl, uint64_t *pubid)
{
	uint8_t wire[DNS_NAME_MAX];
	size_t n = wire_name_from_text(name, wire);
	struct scrub_addr a = {.family = 4, .ttl = ttl};
	uint64_t p;

	ck_assert_int_eq(
		sscanf(ip4, "%hhu.%hhu.%hhu.%hhu", &a.addr[0], &a.addr[1], &a.addr[2], &a.addr[3]),
		4);
	p = stream_publish(st, wire, n, &a, 1, uv_hrtime() / 1000000);
	if (pubid != NULL)
		*pubid = p;
}

START_TEST(hello_snapshot_synced_then_add)
{
	int fd;
	char *out;

	publish("api.openai.com", "203.0.113.20", 300, NULL);
	spin();
	fd = client();
	out = drain_fd(fd);
	ck_assert_str_eq(out,
			 "{\"type\":\"hello\",\"version\":1,\"policy\":\"ai-only\"}\n"
			 "{\"type\":\"add\",\"seq\":1,\"name\":\"api.openai.com\",\"family\":4,"
			 "\"addr\":\"203.0.113.20\",\"ttl\":300}\n"
			 "{\"type\":\"synced\",\"seq\":2}\n");
	publish("api.anthropic.com", "203.0.113.10", 60, NULL);
	publish("api.anthropic.com", "203.0.113.10", 60, NULL); /* nothing new */
	out = drain_fd(fd);
	ck_assert_str_eq(out, "{\"type\":\"add\",\"seq\":3,\"name\":\"api.anthropic.com\","
			      "\"family\":4,\"addr\":\"203.0.113.10\",\"ttl\":60}\n");
	ck_assert_uint_eq(stream_subscribers(st), 1);
	close(fd);
}
END_TEST

START_TEST(acks_move_the_watermark)
{
	uint64_t p1, p2;
	int fd = client();
	char line[64];

	drain_fd(fd);
	ck_assert_uint_eq(stream_acked(st), UINT64_MAX); /* nobody asked for acks */
	publish("a.example", "198.51.100.1", 60, &p1);
	ck_assert_uint_eq(p1, 0); /* so nothing to wait for */
	ck_assert_int_gt(write(fd, "{\"type\":\"subscribe\",\"acks\":true}\n", 33), 0);
	drain_fd(fd);
	ck_assert_uint_eq(stream_acked(st), 0);
	publish("b.example", "198.51.100.2", 60, &p2);
	ck_assert_uint_gt(p2, 0);
	drain_fd(fd); /* add seq 3 (hello has none; snapshot empty: synced 1, add 2, add 3) */
	ck_assert_uint_lt(stream_acked(st), p2);
	snprintf(line, sizeof(line), "{\"type\":\"ack\",\"seq\":3}\n");
	ck_assert_int_gt(write(fd, line, strlen(line)), 0);
	spin();
	ck_assert_uint_ge(stream_acked(st), p2);
	ck_assert_int_gt(watermark_calls, 0);
	close(fd);
	spin();
	ck_assert_uint_eq(stream_acked(st), UINT64_MAX);
}
END_TEST

START_TEST(revoke_sends_del)
{
	struct policy *p = policy_new(POLICY_AI_ONLY, false);
	int fd;
	char *out;

	publish("keep.example", "198.51.100.1", 60, NULL);
	publish("drop.example", "198.51.100.2", 60, NULL);
	fd = client();
	drain_fd(fd);
	ck_assert_int_eq(policy_allow_text(p, "keep.example"), 0);
	ck_assert_uint_eq(stream_revoke(st, p), 1);
	out = drain_fd(fd);
	ck_assert_str_eq(out, "{\"type\":\"del\",\"seq\":4,\"name\":\"drop.example\",\"family\":4,"
			      "\"addr\":\"198.51.100.2\"}\n");
	policy_free(p);
	close(fd);
}
END_TEST

START_TEST(garbage_disconnects)
{
	int fd = client();
	char c;

	drain_fd(fd);
	ck_assert_int_gt(write(fd, "{\"type\":\"nonsense\"}\n", 20), 0);
	spin();
	drain_fd(fd);
	ck_assert_int_eq(read(fd, &c, 1), 0); /* EOF: the resolver hung up */
	ck_assert_uint_eq(stream_subscribers(st), 0);
	close(fd);
}
END_TEST

START_TEST(socket_mode_and_live_socket_refused)
{
	struct stat sb;
	struct stream *other = NULL;
	char err[256];

	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0660);
	ck_assert_int_eq(stream_open(&loop, path, "ai-only", NULL, NULL, &other, err, sizeof(err)),
			 -EADDRINUSE);
	ck_assert_ptr_null(other);
	ck_assert_ptr_nonnull(strstr(err, "another process"));
}
END_TEST

static int parse_client(const char *line, struct stream_client_msg *m, const char **why)
{
	return stream_parse_client_line(line, strlen(line), m, why);
}

static void send_line(int fd, const char *line)
{
	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
}

START_TEST(client_lines_parsed)
{
	struct stream_client_msg m;
	const char *why;
	static const char *const bad[] = {
		"",
		"{}",
		"[1]",
		"{\"type\":\"nonsense\"}",
		"{\"type\":1}",
		"{\"type\":\"subscribe\",\"acks\":1}",
		"{\"type\":\"subscribe\",\"acks\":\"true\"}",
		"{\"type\":\"ack\"}",
		"{\"type\":\"ack\",\"seq\":\"3\"}",
		"{\"type\":\"ack\",\"seq\":-1}",
		"{\"type\":\"ack\",\"seq\":1.5}",
		"{\"type\":\"ack\",\"seq\":3} x",
		"{\"type\":\"ack\",\"type\":\"ack\",\"seq\":3}",
	};
	char big[JSONL_LINE_MAX + 2];
	size_t i;

	ck_assert_int_eq(parse_client("{\"type\":\"subscribe\",\"acks\":true}", &m, &why), 0);
	ck_assert_int_eq(m.type, STREAM_CLIENT_SUBSCRIBE);
	ck_assert(m.acks);
	ck_assert_int_eq(parse_client(" {\"type\":\"subscribe\"} ", &m, NULL), 0);
	ck_assert_int_eq(m.type, STREAM_CLIENT_SUBSCRIBE);
	ck_assert(!m.acks);
	ck_assert_int_eq(parse_client("{\"seq\":9007199254740991,\"type\":\"ack\",\"extra\":null}",
				      &m, &why),
			 0);
	ck_assert_int_eq(m.type, STREAM_CLIENT_ACK);
	ck_assert_uint_eq(m.seq, 9007199254740991ULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(parse_client(bad[i], &m, &why) == -EINVAL, "accepted: %s", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
	/* Longer than a line may be, even though it is valid JSON. */
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"type\":\"ack\",\"seq\":1}", 22);
	ck_assert_int_eq(stream_parse_client_line(big, sizeof(big), &m, &why), -EINVAL);
}
END_TEST

struct lines_seen {
	char text[256];
	int n, stop_at;
};

static int collect_line(void *arg, const char *line, size_t n)
{
	struct lines_seen *ls = arg;
	size_t used = strlen(ls->text);

	ck_assert_uint_lt(used + n + 1, sizeof(ls->text));
	memcpy(ls->text + used, line, n);
	ls->text[used + n] = '|';
	ls->text[used + n + 1] = '\0';
	return ++ls->n == ls->stop_at ? -ECONNRESET : 0;
}

START_TEST(client_lines_framed)
{
	struct lines_seen ls = {.stop_at = -1};
	char buf[16];
	size_t len;

	/* Two complete lines and a partial one, which stays for the next read. */
	memcpy(buf, "ab\n\ncd\nef", 9);
	len = 9;
	ck_assert_int_eq(stream_split_lines(buf, &len, sizeof(buf), collect_line, &ls), 0);
	ck_assert_str_eq(ls.text, "ab||cd|");
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(memcmp(buf, "ef", 2), 0);
	memcpy(buf + len, "g\n", 2);
	len += 2;
	ck_assert_int_eq(stream_split_lines(buf, &len, sizeof(buf), collect_line, &ls), 0);
	ck_assert_str_eq(ls.text, "ab||cd|efg|");
	ck_assert_uint_eq(len, 0);

	/* A full buffer with no newline: the line is too long. */
	memset(buf, 'x', sizeof(buf));
	len = sizeof(buf);
	ck_assert_int_eq(stream_split_lines(buf, &len, sizeof(buf), collect_line, &ls), -EMSGSIZE);
	/* A full buffer that ends in a newline is one line of cap - 1 bytes. */
	buf[sizeof(buf) - 1] = '\n';
	len = sizeof(buf);
	ls.text[0] = '\0';
	ck_assert_int_eq(stream_split_lines(buf, &len, sizeof(buf), collect_line, &ls), 0);
	ck_assert_str_eq(ls.text, "xxxxxxxxxxxxxxx|");
	ck_assert_uint_eq(len, 0);

	/* The callback stops the split; its result comes back as is. */
	ls = (struct lines_seen){.stop_at = 1};
	memcpy(buf, "a\nb\nc", 5);
	len = 5;
	ck_assert_int_eq(stream_split_lines(buf, &len, sizeof(buf), collect_line, &ls),
			 -ECONNRESET);
	ck_assert_str_eq(ls.text, "a|");
	ck_assert_uint_eq(len, 5);
}
END_TEST

START_TEST(ack_of_unsent_seq_disconnects)
{
	int fd = client();
	char c;

	drain_fd(fd); /* hello, synced seq 1 */
	send_line(fd, "{\"type\":\"ack\",\"seq\":1}\n");
	spin();
	ck_assert_uint_eq(stream_subscribers(st), 1);
	send_line(fd, "{\"type\":\"ack\",\"seq\":2}\n");
	spin();
	drain_fd(fd);
	ck_assert_int_eq(read(fd, &c, 1), 0);
	ck_assert_uint_eq(stream_subscribers(st), 0);
	close(fd);
}
END_TEST

START_TEST(overlong_line_disconnects)
{
	int fd = client();
	char big[1100], c;

	drain_fd(fd);
	memset(big, ' ', sizeof(big)); /* no newline in 1100 bytes */
	ck_assert_int_eq(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	spin();
	drain_fd(fd);
	ck_assert_int_eq(read(fd, &c, 1), 0);
	ck_assert_uint_eq(stream_subscribers(st), 0);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hello_snapshot_synced_then_add);
	tcase_add_test(tc, acks_move_the_watermark);
	tcase_add_test(tc, revoke_sends_del);
	tcase_add_test(tc, garbage_disconnects);
	tcase_add_test(tc, socket_mode_and_live_socket_refused);
	tcase_add_test(tc, client_lines_parsed);
	tcase_add_test(tc, client_lines_framed);
	tcase_add_test(tc, ack_of_unsent_seq_disconnects);
	tcase_add_test(tc, overlong_line_disconnects);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
