// SPDX-License-Identifier: GPL-2.0
/*
 * manystacks: leaks from very many distinct stacks.
 *
 *	manystacks [-k BITS] [-t SECONDS]
 *
 * Path p (0 .. 2^BITS - 1, default BITS 16) goes down BITS calls, each
 * to left() or right() by one bit of p, and leaks LEAK_BYTES at the
 * bottom (leak_at()): 2^BITS stacks. It walks every path once per round,
 * as fast as it can, for -t seconds (default 30).
 */
#include "common.h"

#define LEAK_BYTES 64

static __site void leak_at(void)
{
	void *p;

	p = malloc(LEAK_BYTES); /* LEAK:stacks */
	use(p);
}

static __site int right(unsigned int p, int n);

/* Not tail calls: the addition after each keeps every frame. */
static __site int left(unsigned int p, int n)
{
	volatile int self = n;

	if (!n) {
		leak_at();
		return 0;
	}
	return (p & 1 ? right(p >> 1, n - 1) : left(p >> 1, n - 1)) + self;
}

static __site int right(unsigned int p, int n)
{
	volatile int self = n;

	if (!n) {
		leak_at();
		return 0;
	}
	return (p & 1 ? right(p >> 1, n - 1) : left(p >> 1, n - 1)) + self;
}

int main(int argc, char **argv)
{
	struct timespec start, now;
	double seconds = 30;
	unsigned int p;
	int bits = 16;
	int c;

	while ((c = getopt(argc, argv, "k:t:")) != -1) {
		switch (c) {
		case 'k':
			bits = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		default:
			fprintf(stderr, "usage: manystacks [-k BITS] [-t S]\n");
			return 2;
		}
	}
	if (bits < 1 || bits > 24)
		return 2;
	write_pidfile();
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		for (p = 0; p < 1u << bits; p++)
			left(p, bits);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_diff_s(&now, &start) >= seconds)
			return 0;
	}
}
