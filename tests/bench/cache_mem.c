/*
 * Memory benchmark for the answer cache (not a unit test): fills a cache of
 * capacity 100000 with 100000 distinct names, one A record each, and prints
 * the resident set size (VmRSS of /proc/self/status) before and after, in
 * MiB. The answers are neutral messages as scrub writes them (uncompressed
 * names), built through wire_writer.
 *
 *   gcc -std=gnu11 -O2 -I resolver tests/cache_mem.c resolver/libloki.a \
 *       $(pkg-config --libs libsodium) -lpthread -o cache_mem
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

#define CAPACITY 100000
#define NAMES	 100000

/* VmRSS in KiB, or -1 if /proc is not readable. */
static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib;
}

/* A neutral answer: header (QR, RA), the question, one A record. */
static struct answer *make_answer(const uint8_t *name, size_t nlen, uint32_t addr, uint64_t now)
{
	struct dns_header h = {.flags = DNS_FLAG_QR | DNS_FLAG_RA, .qdcount = 1, .ancount = 1};
	struct scrub_result *res = NULL;
	struct answer *a = NULL;
	uint8_t msg[512];
	struct wire_writer w;

	res = calloc(1, sizeof(*res));
	if (res == NULL)
		return NULL;
	wire_writer_init(&w, msg, sizeof(msg));
	wire_put_header(&w, &h);
	wire_put_bytes(&w, name, nlen);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_bytes(&w, name, nlen);
	wire_put_u16(&w, DNS_TYPE_A);
	wire_put_u16(&w, DNS_CLASS_IN);
	wire_put_u32(&w, 300);
	wire_put_u16(&w, 4);
	wire_put_u32(&w, addr);
	if (!w.err) {
		res->n_addrs = 1;
		res->addrs[0].family = 4;
		res->addrs[0].ttl = 300;
		memcpy(res->addrs[0].addr, msg + w.pos - 4, 4);
		a = answer_new(msg, w.pos, res, 0, 86400, now);
	}
	free(res);
	return a;
}

int main(void)
{
	struct cache *c;
	long before, after;
	size_t i, msg_bytes = 0;
	char text[64];
	uint8_t name[DNS_NAME_MAX];

	before = rss_kib();
	c = cache_new(CAPACITY, 3600);
	if (c == NULL) {
		fprintf(stderr, "cache_new failed\n");
		return 1;
	}
	for (i = 0; i < NAMES; i++) {
		struct cache_key key;
		struct answer *a;
		size_t nlen;

		snprintf(text, sizeof(text), "host%zu.example.com", i);
		nlen = wire_name_from_text(text, name);
		a = make_answer(name, nlen, 0xc6336400u + (uint32_t)i, 1000);
		if (nlen == 0 || a == NULL) {
			fprintf(stderr, "answer_new failed at %zu\n", i);
			return 1;
		}
		msg_bytes += a->len;
		key = (struct cache_key){.name = name,
					 .name_len = (uint8_t)nlen,
					 .qtype = DNS_TYPE_A,
					 .qclass = DNS_CLASS_IN};
		if (cache_store(c, &key, a) != 0) {
			fprintf(stderr, "cache_store failed at %zu\n", i);
			return 1;
		}
		answer_unref(a);
	}
	after = rss_kib();
	printf("entries:         %zu (capacity %d)\n", cache_count(c), CAPACITY);
	printf("message bytes:   %.2f MiB (%.1f per answer)\n", (double)msg_bytes / 1048576.0,
	       (double)msg_bytes / (double)NAMES);
	printf("VmRSS before:    %.2f MiB\n", (double)before / 1024.0);
	printf("VmRSS after:     %.2f MiB\n", (double)after / 1024.0);
	printf("growth:          %.2f MiB (%.0f bytes per entry)\n",
	       (double)(after - before) / 1024.0, (double)(after - before) * 1024.0 / NAMES);
	cache_free(c);
	return 0;
}
