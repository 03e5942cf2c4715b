// SPDX-License-Identifier: GPL-2.0
/*
 * Churn: heavy, bounded allocator traffic for the leakwatch test targets.
 *
 * At TICK_MS = 10 this makes roughly 4000 allocator calls per second:
 * enough to hide leaks among, moderate enough for uprobes (~5 us a hit).
 * Nothing here grows without bound, so none of these functions may ever
 * appear as the first frame of a suspect site.
 */
#include "common.h"

#include <malloc.h>

#include "churn.h"

#define POOL_SLOTS     64
#define POOL_OPS       8  /* malloc/free pairs per tick */
#define CACHE_PER_TICK 6  /* entries inserted per tick */
#define CACHE_FLUSH    37 /* ticks: the sawtooth period (370 ms) */

const char *const churn_functions[] = {
	"churn_pool",
	"churn_realloc_chain",
	"churn_families",
	"churn_mmap",
	"churn_partial_munmap",
	"churn_split_munmap",
	"churn_mremap",
	"cache_insert",
	"cache_flush",
	"churn_tick",
	NULL,
};

static long page_size(void)
{
	static long ps;

	if (!ps)
		ps = sysconf(_SC_PAGESIZE);
	return ps;
}

/* GCC turns realloc(NULL, n) into malloc(n): hide the NULL from it. */
static void *volatile null_ptr;

int churn_no_pvalloc;

/*
 * A pool of blocks that are replaced at random: bounded, never growing.
 * Churn state is per thread, so several threads may churn at once.
 */
static __thread void *pool[POOL_SLOTS];

static __site void churn_pool(void)
{
	int i;

	for (i = 0; i < POOL_OPS; i++) {
		size_t slot = rnd_range(0, POOL_SLOTS - 1);
		size_t n = rnd_range(16, 4096);

		free(pool[slot]);
		pool[slot] = malloc(n);
		if (pool[slot])
			memset(pool[slot], 0x5a, n < 64 ? n : 64);
	}
}

/* malloc, grow it by realloc a few times, then free the whole chain. */
static __site void churn_realloc_chain(void)
{
	size_t n = rnd_range(16, 64);
	char *p = malloc(n), *q;
	int i;

	for (i = 0; p && i < 4; i++) {
		n *= 3;
		q = realloc(p, n);
		if (!q)
			break;
		p = q;
		p[n - 1] = 1;
	}
	free(p);
}

/* Every other allocator family, each freed right away. */
static __site void churn_families(unsigned long tick)
{
	void *p = NULL;

	switch (tick % 8) {
	case 0:
		p = calloc(rnd_range(1, 32), 24);
		break;
	case 1:
		if (posix_memalign(&p, 64, rnd_range(1, 2000)))
			p = NULL;
		break;
	case 2:
		p = aligned_alloc(128, 128 * rnd_range(1, 16));
		break;
	case 3:
		p = memalign(256, rnd_range(1, 3000));
		break;
	case 4:
		p = valloc(rnd_range(1, 6000));
		break;
	case 5:
		if (!churn_no_pvalloc)
			p = pvalloc(rnd_range(1, 6000));
		break;
	case 6:
		p = reallocarray(null_ptr, rnd_range(1, 40), 16);
		break;
	case 7:
		p = realloc(null_ptr, rnd_range(1, 900));
		break;
	}
	use(p);
	free(p);
}

/* Whole anonymous mappings, mapped and unmapped in one go. */
static __site void churn_mmap(void)
{
	size_t len = rnd_range(1, 8) * page_size();
	char *p = mmap(NULL, len, PROT_RW, MAP_ANON_PRIV, -1, 0);

	if (p == MAP_FAILED)
		return;
	p[0] = 1;
	p[len - 1] = 1;
	munmap(p, len);
}

/* Unmap a mapping in two steps: the first page, then the rest. */
static __site void churn_partial_munmap(void)
{
	long ps = page_size();
	char *p = mmap(NULL, 4 * ps, PROT_RW, MAP_ANON_PRIV, -1, 0);

	if (p == MAP_FAILED)
		return;
	p[0] = 1;
	munmap(p, ps);
	munmap(p + ps, 3 * ps);
}

/* Punch a hole into a mapping (splitting it), then unmap both halves. */
static __site void churn_split_munmap(void)
{
	long ps = page_size();
	char *p = mmap(NULL, 5 * ps, PROT_RW, MAP_ANON_PRIV, -1, 0);

	if (p == MAP_FAILED)
		return;
	munmap(p + 2 * ps, ps);
	munmap(p, 2 * ps);
	munmap(p + 3 * ps, 2 * ps);
}

/* Grow a mapping with mremap (it may move), then unmap the result. */
static __site void churn_mremap(void)
{
	long ps = page_size();
	char *p = mmap(NULL, 2 * ps, PROT_RW, MAP_ANON_PRIV, -1, 0), *q;

	if (p == MAP_FAILED)
		return;
	p[0] = 1;
	q = mremap(p, 2 * ps, 6 * ps, MREMAP_MAYMOVE);
	if (q == MAP_FAILED) {
		munmap(p, 2 * ps);
		return;
	}
	q[6 * ps - 1] = 1;
	munmap(q, 6 * ps);
}

/*
 * A sawtooth: the cache grows steadily for CACHE_FLUSH ticks, then is
 * dropped wholesale. Outstanding bytes rise between flushes but do not
 * grow over any longer window.
 */
struct cache_entry {
	struct cache_entry *next;
	size_t len;
	char data[];
};

static __thread struct cache_entry *cache_head;

static __site void cache_insert(void)
{
	size_t len = rnd_range(256, 1024);
	struct cache_entry *e = malloc(sizeof(*e) + len);

	if (!e)
		return;
	e->len = len;
	e->data[0] = 0;
	e->next = cache_head;
	cache_head = e;
}

static __site void cache_flush(void)
{
	struct cache_entry *e;

	while ((e = cache_head)) {
		cache_head = e->next;
		free(e);
	}
}

__site void churn_tick(unsigned long tick)
{
	int i;

	churn_pool();
	churn_realloc_chain();
	churn_families(tick);
	if (tick % 2 == 0)
		churn_mmap();
	if (tick % 5 == 1)
		churn_partial_munmap();
	if (tick % 5 == 3)
		churn_split_munmap();
	if (tick % 5 == 4)
		churn_mremap();
	for (i = 0; i < CACHE_PER_TICK; i++)
		cache_insert();
	if (tick % CACHE_FLUSH == CACHE_FLUSH - 1)
		cache_flush();
}
