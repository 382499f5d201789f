/*
 * Fuzz target for the address stream as the agent reads it: the input is
 * split into lines as fwsync/client.c frames them, and each line goes
 * through jsonl_parse and msg_parse. Every string a successful parse yields
 * is escaped with jsonl_escape and parsed again, which must give the same
 * bytes back. Valid messages continue through setsync into fwnft_format
 * (dry-run text), so the whole path from a line to nft command text is
 * covered without a kernel.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Spelled out so that no autoconf-generated config.h can shadow them. */
#include "../../resolver/jsonl.h"
#include "../../resolver/log.h"
#include "../../fwsync/msg.h"
#include "../../fwsync/nft.h"
#include "../../fwsync/setsync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fwnft *nft;

static int format_apply(void *arg, const struct fwnft_elem *e, size_t count)
{
	char *text = NULL;
	int rc = fwnft_format(arg, e, count, &text, NULL);

	free(text);
	return rc < 0 ? rc : 0;
}

/* The escape of every string field parses back to the same bytes. */
static void check_escape(const struct jsonl_object *o)
{
	char esc[JSONL_LINE_MAX], line[JSONL_LINE_MAX + 16];
	struct jsonl_object back;
	size_t i, n;
	int len;

	for (i = 0; i < o->n; i++) {
		const struct jsonl_field *f = &o->f[i];

		if (f->type != JSONL_STRING || f->str_len == 0)
			continue;
		n = jsonl_escape(f->str, f->str_len, esc, sizeof(esc));
		if (n == 0)
			continue; /* did not fit */
		len = snprintf(line, sizeof(line), "{\"s\":\"%s\"}", esc);
		if (len < 0 || (size_t)len > JSONL_LINE_MAX)
			continue;
		if (jsonl_parse(line, (size_t)len, &back, NULL) != 0 ||
		    back.f[0].str_len != f->str_len ||
		    memcmp(back.f[0].str, f->str, f->str_len) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct setsync_conf conf = {.min_timeout = 60, .grace = 30};
	struct setsync *sync;
	const char *p = (const char *)data, *end = p + size;
	uint64_t ack;

	if (nft == NULL) {
		struct fwnft_opts o = {.family = "inet",
				       .table = "loki",
				       .set4 = "allow4",
				       .set6 = "allow6",
				       .refresh = FWNFT_REFRESH_REPLACE,
				       .dry_run = true};
		char err[128];

		/* Refused addresses are logged; keep the runs quiet. */
		log_set_level(LOG_ERR);
		if (fwnft_new(&o, &nft, err, sizeof(err)) != 0)
			return 0;
	}
	sync = setsync_new(&conf, format_apply, nft);
	if (sync == NULL)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);
		struct jsonl_object o;
		struct msg m;
		const char *why;
		char addr[64];

		if (jsonl_parse(p, len, &o, &why) == 0) {
			check_escape(&o);
			(void)jsonl_get_str(&o, "type");
		}
		if (msg_parse(p, len, &m, &why) == 0) {
			(void)msg_addr_str(m.family, m.addr, addr, sizeof(addr));
			(void)setsync_push(sync, &m);
		}
		p += len + 1;
	}
	(void)setsync_commit(sync, &ack);
	setsync_free(sync);
	return 0;
}
