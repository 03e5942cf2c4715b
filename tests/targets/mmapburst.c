// SPDX-License-Identifier: GPL-2.0
/*
 * mmapburst: a steady leak, and in its midst a burst of mappings far
 * larger than leakwatch's ring buffer of mmap events holds.
 *
 *	mmapburst -f FILE [-n REGIONS] [-a SECONDS]
 *
 * Every PERIOD_MS it leaks one LEAK_MAP_BYTES anonymous mapping at
 * leak_map() and LEAK_BYTES at leak_malloc(). Once FILE exists it maps
 * REGIONS (default 10000) single pages at burst_map(), then unmaps them
 * all, prints "burst done", goes on leaking for -a seconds (default 4),
 * prints "leaks N" (the leaks of each kind) and exits. Ticks missed during the
 *burst are skipped, not made up: the leaks keep their rate around it.
 */
#include "common.h"

#include <stdbool.h>

#define PERIOD_MS      50
#define LEAK_MAP_BYTES (64 * 1024)
#define LEAK_BYTES     2000

static __site void leak_map(void)
{
	void *p;

	p = mmap_anon(LEAK_MAP_BYTES); /* LEAK:map */
	use(p);
}

static __site void leak_malloc(void)
{
	void *p;

	p = malloc(LEAK_BYTES); /* LEAK:malloc */
	use(p);
}

static __site void *burst_map(void)
{
	return mmap_anon(4096); /* NOLEAK:burst */
}

static void burst(int n)
{
	void **v = calloc(n, sizeof(*v));
	int i;

	if (!v)
		exit(1);
	for (i = 0; i < n; i++)
		v[i] = burst_map();
	for (i = 0; i < n; i++)
		if (v[i] != MAP_FAILED)
			munmap(v[i], 4096);
	free(v);
	printf("burst done\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *trigger = NULL;
	double after = 4;
	struct timespec start, next, now;
	int n = 10000, leaks = 0;
	bool done = false;
	int c;

	while ((c = getopt(argc, argv, "f:n:a:")) != -1) {
		switch (c) {
		case 'f':
			trigger = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'a':
			after = atof(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: mmapburst -f FILE [-n N] [-a S]\n");
			return 2;
		}
	}
	write_pidfile();
	clock_gettime(CLOCK_MONOTONIC, &next);
	start = next;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (done && ts_diff_s(&now, &start) >= after)
			break;
		if (!done && trigger && !access(trigger, F_OK)) {
			burst(n);
			done = true;
			/* skip the ticks the burst took */
			clock_gettime(CLOCK_MONOTONIC, &start);
			next = start;
		}
		leak_map();
		leak_malloc();
		leaks++;
		ts_add_ns(&next, PERIOD_MS * 1000000LL);
		sleep_until(&next);
	}
	printf("leaks %d\n", leaks);
	return 0;
}
