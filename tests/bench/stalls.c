/*
 * stalls.c - how often this machine takes a core away (tests/bench/run.sh).
 *
 * Spins on clock_gettime(CLOCK_MONOTONIC) for a given time and counts the
 * gaps between two consecutive readings: on an idle dedicated core they stay
 * well under a microsecond, so every long gap is time the core spent on
 * something else (an interrupt, another task, the hypervisor). A server
 * pinned to that core cannot answer during a gap, so gaps over ~50 us are
 * what sets the p99 of a latency probe at a few thousand queries per
 * second. Run it pinned (taskset) to the core to be judged.
 *
 * usage: stalls [SECONDS]   (default 5, at most 60)
 * Prints one line: seconds=S gaps_50us=N gaps_200us=N gaps_1ms=N max_ms=X lost_ms=Y
 * (lost_ms: the time spent in gaps over 50 us).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
	uint64_t g50 = 0, g200 = 0, g1000 = 0, max = 0, lost = 0, start, last, end;
	long secs = 5;

	if (argc > 2 || (argc == 2 && ((secs = strtol(argv[1], NULL, 10)) < 1 || secs > 60))) {
		fprintf(stderr, "usage: %s [SECONDS]   (1-60, default 5)\n", argv[0]);
		return 2;
	}
	start = last = now_ns();
	end = start + (uint64_t)secs * 1000000000u;
	for (;;) {
		uint64_t t = now_ns(), gap = t - last;

		last = t;
		if (t >= end)
			break;
		if (gap > max)
			max = gap;
		if (gap <= 50000)
			continue;
		g50++;
		lost += gap;
		if (gap > 200000)
			g200++;
		if (gap > 1000000)
			g1000++;
	}
	printf("seconds=%ld gaps_50us=%llu gaps_200us=%llu gaps_1ms=%llu max_ms=%.3f "
	       "lost_ms=%.1f\n",
	       secs, (unsigned long long)g50, (unsigned long long)g200, (unsigned long long)g1000,
	       (double)max / 1e6, (double)lost / 1e6);
	return 0;
}
