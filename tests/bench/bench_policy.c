/*
 * bench_policy: cost of policy_check with an allowlist of 3 entries against
 * one of 10,000 (issue 2: the cost must be bounded by the label count of the
 * query name, not by the size of the allowlist). Prints nanoseconds per
 * lookup for both and their ratio; a figure, not a pass/fail test.
 *
 *   ./tests/bench/bench_policy [LOOKUPS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "policy.h"
#include "wire.h"

#define NAMES 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The three built-in names, or two of them and one wildcard, then more
 * exact and wildcard entries up to `entries`. A set with no wildcard skips
 * the suffix walk entirely, so like is compared with like only when both
 * policies have wildcards. */
static struct policy *make_policy(unsigned entries, bool wildcard)
{
	struct policy *p = policy_new(POLICY_AI_ONLY, true);
	char name[64];
	unsigned i;

	policy_allow_text(p, "api.anthropic.com");
	policy_allow_text(p, "api.openai.com");
	policy_allow_text(p, wildcard ? "*.googleapis.com" : "generativelanguage.googleapis.com");
	for (i = 3; i < entries; i++) {
		snprintf(name, sizeof(name), i % 2 ? "host%u.example.com" : "*.zone%u.example.net",
			 i);
		policy_allow_text(p, name);
	}
	return p;
}

/* Returns ns per lookup over a mix of allowed and blocked names of 2 to 6
 * labels. */
static double run(const struct policy *p, unsigned long lookups, unsigned *allowed)
{
	static const char *const texts[] = {
		"api.openai.com",	   "www.example.org",
		"a.b.c.d.tracker.example", "api.anthropic.com",
		"x.zone5.example.net",	   "metadata.google.internal",
		"cdn.example.com",	   "host8.example.com",
		"z.y.x.w.v.example.org",   "generativelanguage.googleapis.com",
	};
	uint8_t names[NAMES][DNS_NAME_MAX], lens[NAMES], labels[NAMES];
	unsigned long i;
	double t0;
	unsigned n;

	for (n = 0; n < NAMES; n++) {
		uint8_t tmp[DNS_NAME_MAX];
		size_t len = wire_name_from_text(texts[n % 10], tmp);
		size_t pos = 0;

		wire_name_lower(names[n], tmp, len);
		lens[n] = (uint8_t)len;
		labels[n] = 0;
		while (pos < len && names[n][pos] != 0) {
			pos += 1 + names[n][pos];
			labels[n]++;
		}
	}
	*allowed = 0;
	t0 = now_s();
	for (i = 0; i < lookups; i++) {
		n = (unsigned)(i % NAMES);
		if (policy_check(p, names[n], lens[n], labels[n]) == VERDICT_ALLOW)
			(*allowed)++;
	}
	return (now_s() - t0) * 1e9 / (double)lookups;
}

int main(int argc, char **argv)
{
	unsigned long lookups = argc > 1 ? strtoul(argv[1], NULL, 10) : 5000000;
	struct policy *exact3 = make_policy(3, false), *small = make_policy(3, true);
	struct policy *big = make_policy(10000, true);
	unsigned a_exact3, a_small, a_big;
	double ns_exact3, ns_small, ns_big;

	run(small, lookups / 10, &a_small); /* warm up */
	ns_exact3 = run(exact3, lookups, &a_exact3);
	ns_small = run(small, lookups, &a_small);
	ns_big = run(big, lookups, &a_big);
	printf("policy_check, %lu lookups of 2..6-label names\n", lookups);
	printf("  3 exact entries (built-in):       %6.1f ns/lookup (%u allowed)\n", ns_exact3,
	       a_exact3);
	printf("  3 entries, one wildcard:          %6.1f ns/lookup (%u allowed)\n", ns_small,
	       a_small);
	printf("  %5zu entries, half wildcards:     %6.1f ns/lookup (%u allowed)\n",
	       policy_count(big), ns_big, a_big);
	printf("  ratio 10000/3 (both with wildcards): %.2f\n", ns_big / ns_small);
	policy_free(exact3);
	policy_free(small);
	policy_free(big);
	return 0;
}
