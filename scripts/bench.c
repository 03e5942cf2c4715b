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

int main(int argc, char **argv)
{
	long i, n = argc > 1 ? atol(argv[1]) : 20000;
	double t0, t1;
	void *p;

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
	return 0;
}
