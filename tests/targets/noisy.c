// SPDX-License-Identifier: GPL-2.0
/*
 * noisy: churn only, shaped so that --sample's estimates wander while the
 * true outstanding bytes stay flat (test_sample_noise.py).
 *
 *	noisy [-t SECONDS]
 *
 * Nothing leaks. Six pools each hold a constant set of a few MB of small
 * blocks (256 B .. 4 KiB) from a call site of their own, and replace
 * random blocks by blocks of the same size at a slow rate (mean block
 * lifetimes 15..120 s): each pool's true bytes never change, but at a
 * sampling mean of 64 KiB it holds ~40..140 live samples whose number
 * drifts as sampled blocks die and new ones are drawn - a slowly
 * mean-reverting walk, which over a window shorter than the lifetimes
 * can rise steadily for half a minute. Two more sites churn: one fast
 * (blocks live ~0.2 s), one in bursts (grows for 3 s, then frees all).
 */
#include "common.h"

#include <stdbool.h>

#include "churn.h"

/* One pool of blocks that is replaced slowly, size for size. */
struct pool {
	void *(*alloc)(size_t n); /* its own call site */
	unsigned int blocks;
	size_t lo, hi;	   /* block sizes, uniform */
	double lifetime_s; /* mean life of a block */
	void **blk;
	size_t *size;
	double due; /* replacements owed, fractional */
};

/*
 * One function per site; use() keeps each malloc() a call of its own
 * (not a tail call, which would make the caller the site).
 */
/* clang-format off */
#define HELD(x)                                                                \
	static __site void *held_##x(size_t n)                                 \
	{                                                                      \
		void *p = malloc(n);                                           \
									       \
		use(p);                                                        \
		return p;                                                      \
	}
HELD(a) HELD(b) HELD(c) HELD(d) HELD(e) HELD(f)
/* clang-format on */

#define POOL(f, n, l, h, life)                                                 \
	{                                                                      \
		.alloc = f, .blocks = n, .lo = l, .hi = h, .lifetime_s = life  \
	}

static struct pool pools[] = {
	POOL(held_a, 3000, 256, 4096, 15),  POOL(held_b, 3000, 256, 4096, 25),
	POOL(held_c, 3000, 256, 4096, 40),  POOL(held_d, 4000, 256, 4096, 60),
	POOL(held_e, 2000, 1024, 4096, 90), POOL(held_f, 4000, 256, 2048, 120),
};

#define NPOOLS (sizeof(pools) / sizeof(pools[0]))

static void *must(void *p)
{
	if (!p) {
		perror("malloc");
		exit(1);
	}
	return p;
}

/*
 * Fill the pool on its first tick, then replace the blocks each tick
 * owes: random ones, so lives are ~exponential. Filling and replacing
 * are the same call of the same code, so the pool is one site (one
 * stack): were the first blocks allocated elsewhere, their site would
 * drain and the replacements' site grow for a lifetime - churn longer
 * than the window, which no rule can tell from a leak.
 */
static void pool_tick(struct pool *pl)
{
	bool filling = !pl->blk;
	unsigned int i, k, n;

	if (filling) {
		pl->blk = must(calloc(pl->blocks, sizeof(*pl->blk)));
		pl->size = must(calloc(pl->blocks, sizeof(*pl->size)));
		for (i = 0; i < pl->blocks; i++)
			pl->size[i] = rnd_range(pl->lo, pl->hi);
		n = pl->blocks;
	} else {
		pl->due += pl->blocks * (TICK_MS / 1000.0) / pl->lifetime_s;
		n = (unsigned int)pl->due;
		pl->due -= n;
	}
	for (k = 0; k < n; k++) {
		i = filling ? k : rnd() % pl->blocks;
		free(pl->blk[i]);
		pl->blk[i] = must(pl->alloc(pl->size[i]));
	}
}

/* Fast churn: a ring of blocks, each freed 20 ticks after it came. */
#define FAST_RING     80
#define FAST_PER_TICK 4

static __site void *fast(size_t n)
{
	void *p = malloc(n);

	use(p);
	return p;
}

static void fast_tick(void)
{
	static void *ring[FAST_RING];
	static unsigned int next;
	unsigned int i;

	for (i = 0; i < FAST_PER_TICK; i++) {
		free(ring[next]);
		ring[next] = must(fast(rnd_range(64, 16384)));
		next = (next + 1) % FAST_RING;
	}
}

/* Bursts: 3 s of growth to ~7 MB, then all of it freed; every 5 s. */
#define BURST_TICKS    (3000 / TICK_MS)
#define BURST_CYCLE    (5000 / TICK_MS)
#define BURST_PER_TICK 10

static __site void *burst(size_t n)
{
	void *p = malloc(n);

	use(p);
	return p;
}

static void burst_tick(unsigned long tick)
{
	static void *held[BURST_TICKS * BURST_PER_TICK];
	static unsigned int n;
	unsigned long phase = tick % BURST_CYCLE;
	unsigned int i;

	if (phase < BURST_TICKS) {
		for (i = 0; i < BURST_PER_TICK; i++)
			held[n++] = must(burst(rnd_range(1024, 4096)));
	} else if (n) {
		while (n)
			free(held[--n]);
	}
}

int main(int argc, char **argv)
{
	unsigned long tick, ticks = 0;
	struct timespec next;
	double seconds = 0;
	unsigned int p;
	int c;

	while ((c = getopt(argc, argv, "t:")) != -1) {
		switch (c) {
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "usage: noisy [-t SECONDS]\n");
			return 2;
		}
	}
	if (seconds > 0)
		ticks = (unsigned long)(seconds * 1000 / TICK_MS);

	write_pidfile();
	printf("noisy: pid %d, %zu pools\n", (int)getpid(), NPOOLS);
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (tick = 0; !ticks || tick < ticks; tick++) {
		for (p = 0; p < NPOOLS; p++)
			pool_tick(&pools[p]);
		fast_tick();
		burst_tick(tick);
		ts_add_ns(&next, TICK_MS * 1000000LL);
		sleep_until(&next);
	}
	return 0;
}
