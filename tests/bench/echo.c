/*
 * echo.c - the physical floor of the DNS benchmark (tests/bench/run.sh).
 *
 * A single-threaded UDP server that does the least work any DNS server can
 * do: it takes a batch of datagrams with recvmmsg(2), turns every query into
 * an NXDOMAIN answer in place (QR set, RA set, RCODE = 3; the rest of the
 * message, question included, is sent back unchanged) and returns the whole
 * batch with one sendmmsg(2). It parses no name and looks nothing up, so its
 * cost per query is what the kernel and the loopback device charge for one
 * datagram in and one out; no real server can go below it on this machine.
 *
 * usage: echo [-a ADDR] [-p PORT] [-b BATCH]   (127.0.0.1, 5310, 64)
 * Stops on SIGINT or SIGTERM and prints how many datagrams it answered.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BATCH_MAX = 256, DGRAM_MAX = 4096, DNS_HEADER = 12 };

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int set_buffers(int fd, int bytes)
{
	/* The FORCE variants (root) are not capped by net.core.[rw]mem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) != 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) != 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	int port = 5310, batch = 64, opt;

	while ((opt = getopt(argc, argv, "a:p:b:")) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-a ADDR] [-p PORT] [-b BATCH]\n", argv[0]);
			return 2;
		}
	}
	if (batch < 1)
		batch = 1;
	if (batch > BATCH_MAX)
		batch = BATCH_MAX;

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (port < 1 || port > 65535 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "echo: bad address %s:%d\n", addr, port);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || set_buffers(fd, 4 << 20) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("echo: socket");
		return 1;
	}

	struct sigaction act = {.sa_handler = on_stop}; /* no SA_RESTART */
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);

	static unsigned char buf[BATCH_MAX][DGRAM_MAX];
	static struct sockaddr_in from[BATCH_MAX];
	static struct iovec iov[BATCH_MAX];
	static struct mmsghdr in[BATCH_MAX], out[BATCH_MAX];
	unsigned long long answered = 0, ignored = 0;

	fprintf(stderr, "echo: %s:%d, batch %d\n", addr, port, batch);
	while (!stopping) {
		for (int i = 0; i < batch; i++) {
			iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = DGRAM_MAX};
			in[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
							.msg_namelen = sizeof(from[i]),
							.msg_iov = &iov[i],
							.msg_iovlen = 1};
		}
		int n = recvmmsg(fd, in, (unsigned)batch, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("echo: recvmmsg");
			break;
		}
		int m = 0;
		for (int i = 0; i < n; i++) {
			unsigned char *p = buf[i];
			if (in[i].msg_len < DNS_HEADER || (p[2] & 0x80) != 0) {
				ignored++; /* too short, or already a response */
				continue;
			}
			p[2] |= 0x80;			  /* QR: this is a response */
			p[3] = (unsigned char)(0x80 | 3); /* RA, Z = 0, RCODE = NXDOMAIN */
			iov[i].iov_len = in[i].msg_len;
			out[m].msg_hdr = in[i].msg_hdr;
			m++;
		}
		for (int sent = 0; sent < m;) {
			int k = sendmmsg(fd, out + sent, (unsigned)(m - sent), 0);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				ignored += (unsigned)(m - sent);
				break;
			}
			sent += k;
			answered += (unsigned)k;
		}
	}
	fprintf(stderr, "echo: answered %llu, ignored %llu\n", answered, ignored);
	close(fd);
	return 0;
}
