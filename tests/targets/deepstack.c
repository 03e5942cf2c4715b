// SPDX-License-Identifier: GPL-2.0
/*
 * deepstack: leaks from a stack deeper than leakwatch walks
 * (LW_MAX_STACK_DEPTH frames), and from a shallow one.
 *
 *	deepstack [-t SECONDS] [-n DEPTH]
 *
 * Every PERIOD_MS it recurses DEPTH (default 200) calls deep into
 * recurse() and leaks LEAK_BYTES at deep_leak(), then leaks as much at
 * shallow_leak() called from main. Runs for -t seconds (default 30).
 */
#include "common.h"

#define LEAK_BYTES 1000
#define PERIOD_MS  20

static __site void deep_leak(size_t n)
{
	void *p;

	p = malloc(n); /* LEAK:deep */
	use(p);
}

static __site void shallow_leak(size_t n)
{
	void *p;

	p = malloc(n); /* LEAK:shallow */
	use(p);
}

/* Not a tail call: the addition after it keeps every frame. */
static __site int recurse(int depth)
{
	volatile int self = depth;

	if (depth <= 1) {
		deep_leak(LEAK_BYTES);
		return 0;
	}
	return recurse(depth - 1) + self;
}

int main(int argc, char **argv)
{
	struct timespec start, next, now;
	double seconds = 30;
	int depth = 200;
	int c;

	while ((c = getopt(argc, argv, "t:n:")) != -1) {
		switch (c) {
		case 't':
			seconds = atof(optarg);
			break;
		case 'n':
			depth = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: deepstack [-t S] [-n DEPTH]\n");
			return 2;
		}
	}
	write_pidfile();
	clock_gettime(CLOCK_MONOTONIC, &start);
	next = start;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_diff_s(&now, &start) >= seconds)
			return 0;
		recurse(depth);
		shallow_leak(LEAK_BYTES);
		ts_add_ns(&next, PERIOD_MS * 1000000LL);
		sleep_until(&next);
	}
}
