// SPDX-License-Identifier: GPL-2.0
/*
 * leaky: leaks through every allocator family at a known, steady rate,
 * hidden among heavy churn (see churn.c) that must never be reported.
 *
 *	leaky [-t SECONDS] [-k TIMES] [-q] [-V] [--table]
 *
 * -t stops after SECONDS (default: run until killed); -k leaks TIMES
 * blocks per event, at TIMES the rate (the sampler's tests need leaks
 * large against its mean; give it before --table); --table prints the
 * site table and exits; -V skips pvalloc(), which valgrind does not
 * support. The table is also printed on startup, unless -q (quiet: a
 * tracer's own report must not be confused with ours):
 *
 *	SITE <marker> <function> <kind> <bytes/event> <period ms> <bytes/s>
 *	CHURN <function>
 *
 * Each leaking call carries a LEAK:<marker> comment; the tests grep for
 * it to learn the line number that leakwatch must report.
 */
#include "common.h"

#include <getopt.h>
#include <malloc.h>

#include "churn.h"

/* GCC turns realloc(NULL, n) into malloc(n): hide the NULL from it. */
static void *volatile null_ptr;

static __site void leak_malloc(size_t n)
{
	void *p;

	p = malloc(n); /* LEAK:malloc */
	use(p);
}

static __site void leak_calloc(size_t n)
{
	void *p;

	p = calloc(n / 125, 125); /* LEAK:calloc */
	use(p);
}

static __site void leak_realloc(size_t n)
{
	void *p;

	p = realloc(null_ptr, n); /* LEAK:realloc */
	use(p);
}

/* One block that grows by n bytes per event and is never freed. */
static void *grow_buf;
static size_t grow_len;

static __site void leak_realloc_grow(size_t n)
{
	void *p;

	p = realloc(grow_buf, grow_len + n); /* LEAK:realloc_grow */
	if (!p)
		return;
	grow_buf = p;
	grow_len += n;
	use(p);
}

static __site void leak_reallocarray(size_t n)
{
	void *p;

	p = reallocarray(null_ptr, n / 30, 30); /* LEAK:reallocarray */
	use(p);
}

static __site void leak_posix_memalign(size_t n)
{
	void *p = NULL;
	int err;

	err = posix_memalign(&p, 64, n); /* LEAK:posix_memalign */
	if (!err)
		use(p);
}

static __site void leak_aligned_alloc(size_t n)
{
	void *p;

	p = aligned_alloc(256, n); /* LEAK:aligned_alloc */
	use(p);
}

static __site void leak_memalign(size_t n)
{
	void *p;

	p = memalign(128, n); /* LEAK:memalign */
	use(p);
}

static __site void leak_valloc(size_t n)
{
	void *p;

	p = valloc(n); /* LEAK:valloc */
	use(p);
}

static __site void leak_pvalloc(size_t n)
{
	void *p;

	p = pvalloc(n); /* LEAK:pvalloc */
	use(p);
}

static __site void leak_mmap(size_t n)
{
	char *p;

	p = mmap_anon(n); /* LEAK:mmap */
	if (p != MAP_FAILED)
		p[0] = 1;
}

struct leak_site {
	const char *marker;
	const char *func;
	const char *kind;
	size_t bytes;	     /* leaked per event */
	unsigned int period; /* ticks between events */
	void (*fn)(size_t n);
};

/* clang-format off */
#define SITE(m, k, b, p) { #m, "leak_" #m, k, b, p, leak_##m }

/* Sizes are multiples of the alignment (and pages for pvalloc/mmap). */
static const struct leak_site sites[] = {
	SITE(malloc,		"heap",	2400,	5),
	SITE(calloc,		"heap",	4000,	10),
	SITE(realloc,		"heap",	1800,	5),
	SITE(realloc_grow,	"heap",	2048,	10),
	SITE(reallocarray,	"heap",	3000,	10),
	SITE(posix_memalign,	"heap",	2560,	10),
	SITE(aligned_alloc,	"heap",	1536,	10),
	SITE(memalign,		"heap",	1600,	10),
	SITE(valloc,		"heap",	4096,	10),
	SITE(pvalloc,		"heap",	8192,	10),
	SITE(mmap,		"mmap",	16384,	10),
};
/* clang-format on */

#define NSITES (sizeof(sites) / sizeof(sites[0]))

static unsigned int times = 1; /* -k: blocks leaked per event */

static void print_table(FILE *f)
{
	const char *const *c;
	size_t i;

	for (i = 0; i < NSITES; i++)
		fprintf(f, "SITE %s %s %s %zu %u %.1f\n", sites[i].marker,
			sites[i].func, sites[i].kind, sites[i].bytes,
			sites[i].period * TICK_MS,
			times * sites[i].bytes * 1000.0 /
				(sites[i].period * TICK_MS));
	for (c = churn_functions; *c; c++)
		fprintf(f, "CHURN %s\n", *c);
	fflush(f);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: leaky [-t SECONDS] [-k TIMES] [-q] [-V] [--table]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "table", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct timespec start, next;
	unsigned long tick, ticks = 0;
	double seconds = 0;
	int c, quiet = 0, no_pvalloc = 0;
	size_t i;
	unsigned int k;

	while ((c = getopt_long(argc, argv, "t:k:qV", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		case 'k':
			times = (unsigned int)strtoul(optarg, NULL, 10);
			if (!times || times > 1000)
				usage();
			break;
		case 'q':
			quiet = 1;
			break;
		case 'V':
			no_pvalloc = 1;
			churn_no_pvalloc = 1;
			break;
		case 'T':
			print_table(stdout);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (seconds > 0)
		ticks = (unsigned long)(seconds * 1000 / TICK_MS);

	write_pidfile();
	if (!quiet) {
		printf("leaky: pid %d, tick %d ms, %s\n", (int)getpid(),
		       TICK_MS, seconds > 0 ? "timed" : "until killed");
		print_table(stdout);
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	next = start;
	for (tick = 0; !ticks || tick < ticks; tick++) {
		for (i = 0; i < NSITES; i++) {
			if (no_pvalloc && sites[i].fn == leak_pvalloc)
				continue;
			if (tick % sites[i].period != i % sites[i].period)
				continue;
			for (k = 0; k < times; k++)
				sites[i].fn(sites[i].bytes);
		}
		churn_tick(tick);
		/* Absolute deadlines: lateness never accumulates as drift. */
		ts_add_ns(&next, TICK_MS * 1000000LL);
		sleep_until(&next);
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	if (!quiet)
		printf("leaky: done after %.2f s\n", ts_diff_s(&next, &start));
	return 0;
}
