// SPDX-License-Identifier: GPL-2.0
/*
 * bench_stacks: make bench's scale case. NSTACKS distinct allocating
 * stacks (a path of 16 calls, each one of two call sites: up to 65536
 * paths), PER blocks live at each, then hold them until killed.
 *
 *	bench_stacks NSTACKS PER
 *
 * Prints "ready" once every block is allocated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LEVELS 16

static void *volatile sink;
static void step(unsigned path, int level, int per);

/* Two call sites per level: the path's bit picks one. */
static __attribute__((noinline)) void left(unsigned path, int level, int per)
{
	step(path, level + 1, per);
	sink = NULL; /* not a tail call: the return address stays */
}

static __attribute__((noinline)) void right(unsigned path, int level, int per)
{
	step(path, level + 1, per);
	sink = (void *)&sink; /* unlike left's: the two are never merged */
}

static __attribute__((noinline)) void step(unsigned path, int level, int per)
{
	int i;

	if (level == LEVELS) {
		for (i = 0; i < per; i++)
			sink = malloc(32); /* held: never freed */
		return;
	}
	if (path >> level & 1)
		right(path, level, per);
	else
		left(path, level, per);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? strtoul(argv[1], NULL, 10) : 50000;
	int per = argc > 2 ? atoi(argv[2]) : 20;
	unsigned p;

	if (n > 1u << LEVELS)
		n = 1u << LEVELS;
	for (p = 0; p < n; p++)
		step(p, 0, per);
	printf("ready\n");
	fflush(stdout);
	pause();
	return 0;
}
