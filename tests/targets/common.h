/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the leakwatch test targets.
 *
 * The targets are built by tests/run.py with
 *	cc -O1 -g -fno-omit-frame-pointer
 * (and one -O2 variant), so keep everything here header-only.
 */
#ifndef LW_TARGET_COMMON_H
#define LW_TARGET_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/*
 * Every allocation site lives in its own function that the compiler may
 * neither inline nor clone, so the first frame of its stack is predictable.
 */
#define __site __attribute__((noinline, noclone))

#define PROT_RW	      (PROT_READ | PROT_WRITE)
#define MAP_ANON_PRIV (MAP_PRIVATE | MAP_ANONYMOUS)

/* An anonymous private mapping: mmap() is called on the line of the use. */
#define mmap_anon(len) mmap(NULL, (len), PROT_RW, MAP_ANON_PRIV, -1, 0)

#define NSEC_PER_SEC 1000000000LL

/*
 * Make a pointer escape so that the compiler keeps the allocation (GCC
 * drops unused malloc() results and malloc/free pairs) and cannot turn
 * the allocator call into a tail call.
 */
static inline void use(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* Write our pid to the file named by $LW_TEST_PIDFILE, if set. */
static inline void write_pidfile(void)
{
	const char *path = getenv("LW_TEST_PIDFILE");
	FILE *f;

	if (!path || !*path)
		return;
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

static inline void ts_add_ns(struct timespec *ts, long long ns)
{
	ns += ts->tv_nsec;
	ts->tv_sec += ns / NSEC_PER_SEC;
	ts->tv_nsec = ns % NSEC_PER_SEC;
}

static inline double ts_diff_s(const struct timespec *a,
			       const struct timespec *b)
{
	return (double)(a->tv_sec - b->tv_sec) +
	       (double)(a->tv_nsec - b->tv_nsec) / NSEC_PER_SEC;
}

/* Sleep until an absolute CLOCK_MONOTONIC deadline, retrying on EINTR. */
static inline void sleep_until(const struct timespec *deadline)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline,
			       NULL) == EINTR)
		;
}

/* xorshift64*: deterministic, cheap, good enough for churn sizes. */
static inline uint64_t rnd(void)
{
	static __thread uint64_t s = 0x9e3779b97f4a7c15ULL;

	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dULL;
}

/* Uniform-ish integer in [lo, hi]. */
static inline size_t rnd_range(size_t lo, size_t hi)
{
	return lo + (size_t)(rnd() % (hi - lo + 1));
}

#endif /* LW_TARGET_COMMON_H */
