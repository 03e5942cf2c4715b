// SPDX-License-Identifier: GPL-2.0
/* make bench's workload: malloc/free pairs, timed from inside. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *volatile sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pairs(long n)
{
	double t0, t1;
	void *p;
	long i;

	for (i = 0; i < 1000; i++) /* warm the tcache and the page tables */
		free(malloc(64 + (i & 7) * 32));
	t0 = now();
	for (i = 0; i < n; i++) {
		p = malloc(64 + (i & 7) * 32);
		sink = p;
		free(p);
	}
	t1 = now();
	printf("%.1f\n", (t1 - t0) * 1e9 / n);
}

/* The pairs run depth calls below main: a walk has that many more frames. */
static long __attribute__((noinline)) nest(long n, int depth)
{
	if (depth > 0)
		return nest(n, depth - 1) + (sink != NULL);
	pairs(n);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	int depth = argc > 2 ? atoi(argv[2]) : 0;

	return (int)nest(n, depth) & 0;
}
