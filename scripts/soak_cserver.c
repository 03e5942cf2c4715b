// SPDX-License-Identifier: GPL-2.0
/*
 * make soak's C server: threads that churn the allocator at a set rate
 * over thousands of stacks, keep a bounded live set, and keep exact books
 * of their own outstanding bytes per allocation site.
 *
 *	soak_cserver DIR THREADS OPS_PER_S
 *
 * Files in DIR (the script's side of the protocol):
 *	ready	written by us: "READY PID" once the threads wait for the start
 *	start	made by the script: the threads begin (after leakwatch attached)
 *	status	rewritten by us 4 times a second: "OPS ALLOCS FREES BYTES COUNT"
 *	stop	made by the script: every thread parks between two operations
 *	exact	written by us once all are parked: the books, then "DONE"
 *
 * Each operation is one short-lived allocation (freed at once) and the
 * replacement of one slot of the thread's live set (freed and allocated
 * again, or grown by realloc), each through 1 to 3 routers chosen at
 * random out of 8 before the allocating function: 584 stacks per site.
 * The books count what was requested (realloc moves a block to the
 * realloc site, as leakwatch does); the short-lived blocks are freed
 * before the operation ends, so they are in no book once parked.
 *
 * After the start nothing else here allocates: the books are the
 * process's whole outstanding heap and anonymous mappings since then.
 * The threads' first malloc (arena, tcache) is made before the start.
 */
#include "common.h"

#include <malloc.h>
#include <pthread.h>
#include <sys/stat.h>

#define SLOTS	 512 /* live blocks per thread */
#define ROUTERS	 8
#define MAX_HOPS 3
#define TICK_NS	 (10 * 1000 * 1000LL)

enum site_id {
	S_SMALL,
	S_MEDIUM,
	S_LARGE,
	S_CALLOC,
	S_POSIX_MEMALIGN,
	S_ALIGNED_ALLOC,
	S_MEMALIGN,
	S_VALLOC,
	S_MMAP,
	S_REALLOC, /* only by growing a live block: never chosen afresh */
	NSITES,
};

struct op {
	enum site_id site;
	size_t n;      /* bytes asked for */
	void *old;     /* the block realloc resizes */
	unsigned path; /* the routers to take, 3 bits each */
	int hops;
};

struct book {
	const char *name; /* the allocating function: the site's first frame */
	long long bytes, count;
};

static struct book books[NSITES];
static long ps;

/*
 * xorshift64*, seeded per thread: common.h's rnd() starts every thread at
 * one seed, and the threads would then walk the same stacks in lockstep.
 */
static __thread uint64_t seed;

static uint64_t rand64(void)
{
	seed ^= seed >> 12;
	seed ^= seed << 25;
	seed ^= seed >> 27;
	return seed * 0x2545f4914f6cdd1dULL;
}

static size_t between(size_t lo, size_t hi)
{
	return lo + (size_t)(rand64() % (hi - lo + 1));
}

/* ------------------------------------------------------------------ */
/* The allocating functions: one per site                              */
/* ------------------------------------------------------------------ */

static __site void *soak_small(struct op *o)
{
	void *p;

	o->n = between(16, 512);
	p = malloc(o->n);
	use(p);
	return p;
}

static __site void *soak_medium(struct op *o)
{
	void *p;

	o->n = between(513, 16384);
	p = malloc(o->n);
	use(p);
	return p;
}

/* Above malloc's first mmap threshold: its own mmap must not count. */
static __site void *soak_large(struct op *o)
{
	void *p;

	o->n = between(128 * 1024, 512 * 1024);
	p = malloc(o->n);
	use(p);
	return p;
}

static __site void *soak_calloc(struct op *o)
{
	size_t k = between(1, 64), m = between(8, 64);
	void *p;

	o->n = k * m;
	p = calloc(k, m);
	use(p);
	return p;
}

static __site void *soak_posix_memalign(struct op *o)
{
	void *p;

	o->n = between(16, 4096);
	if (posix_memalign(&p, 64, o->n))
		p = NULL;
	use(p);
	return p;
}

static __site void *soak_aligned_alloc(struct op *o)
{
	void *p;

	o->n = 256 * between(1, 16);
	p = aligned_alloc(256, o->n);
	use(p);
	return p;
}

static __site void *soak_memalign(struct op *o)
{
	void *p;

	o->n = between(1, 3000);
	p = memalign(32, o->n);
	use(p);
	return p;
}

static __site void *soak_valloc(struct op *o)
{
	void *p;

	o->n = between(1, 6000);
	p = valloc(o->n);
	use(p);
	return p;
}

static __site void *soak_mmap(struct op *o)
{
	char *p;

	o->n = ps * between(1, 16);
	p = mmap_anon(o->n);
	if (p == MAP_FAILED)
		return NULL;
	p[0] = 1;
	return p;
}

static __site void *soak_realloc(struct op *o)
{
	void *p;

	o->n = between(16, 32768);
	p = realloc(o->old, o->n);
	use(p);
	return p;
}

typedef void *(*alloc_fn)(struct op *);

static const alloc_fn allocs[NSITES] = {
	[S_SMALL] = soak_small,
	[S_MEDIUM] = soak_medium,
	[S_LARGE] = soak_large,
	[S_CALLOC] = soak_calloc,
	[S_POSIX_MEMALIGN] = soak_posix_memalign,
	[S_ALIGNED_ALLOC] = soak_aligned_alloc,
	[S_MEMALIGN] = soak_memalign,
	[S_VALLOC] = soak_valloc,
	[S_MMAP] = soak_mmap,
	[S_REALLOC] = soak_realloc,
};

/* The names of the functions above, as leakwatch's first frames show. */
static const char *const names[NSITES] = {
	[S_SMALL] = "soak_small",
	[S_MEDIUM] = "soak_medium",
	[S_LARGE] = "soak_large",
	[S_CALLOC] = "soak_calloc",
	[S_POSIX_MEMALIGN] = "soak_posix_memalign",
	[S_ALIGNED_ALLOC] = "soak_aligned_alloc",
	[S_MEMALIGN] = "soak_memalign",
	[S_VALLOC] = "soak_valloc",
	[S_MMAP] = "soak_mmap",
	[S_REALLOC] = "soak_realloc",
};

/* ------------------------------------------------------------------ */
/* Routers: every path through them is a stack of its own              */
/* ------------------------------------------------------------------ */

static void *(*const routers[ROUTERS])(struct op *);

/* Each router's count makes its body differ: no two are folded into one. */
static unsigned long router_hits[ROUTERS];

static inline __attribute__((always_inline)) void *hop(struct op *o, int i)
{
	router_hits[i]++;
	if (--o->hops == 0)
		return allocs[o->site](o);
	o->path >>= 3;
	return routers[o->path & 7](o);
}

#define ROUTER(i)                                                              \
	static __site void *soak_route##i(struct op *o)                        \
	{                                                                      \
		void *p = hop(o, i);                                           \
		use(p);                                                        \
		return p;                                                      \
	}
ROUTER(0)
ROUTER(1)
ROUTER(2)
ROUTER(3)
ROUTER(4)
ROUTER(5)
ROUTER(6)
ROUTER(7)

static void *(*const routers[ROUTERS])(struct op *) = {
	soak_route0, soak_route1, soak_route2, soak_route3,
	soak_route4, soak_route5, soak_route6, soak_route7,
};

static void *route(struct op *o)
{
	unsigned r = (unsigned)rand64();

	o->hops = 1 + r % MAX_HOPS;
	o->path = r >> 8;
	return routers[o->path & 7](o);
}

static void release(void *p, enum site_id site, size_t n)
{
	if (site == S_MMAP)
		munmap(p, n);
	else
		free(p);
}

/* A site afresh, weighted: big blocks are rare, so the live set stays small. */
static enum site_id pick(void)
{
	static const enum site_id common[] = {
		S_SMALL,	  S_SMALL,	   S_MEDIUM,   S_CALLOC,
		S_POSIX_MEMALIGN, S_ALIGNED_ALLOC, S_MEMALIGN, S_VALLOC,
	};
	unsigned r = rand64() % 128;

	if (r == 0)
		return S_LARGE;
	if (r < 6)
		return S_MMAP;
	return common[r % 8];
}

/* ------------------------------------------------------------------ */
/* Workers                                                             */
/* ------------------------------------------------------------------ */

struct slot {
	void *p;
	size_t n;
	enum site_id site;
};

struct worker {
	pthread_t thread;
	int id;
	struct slot slots[SLOTS];
	long ops_per_tick;
	unsigned long ops, allocs, frees; /* read by main, relaxed */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int started, stop_req, parked;

static void book(enum site_id site, long long bytes, long long count)
{
	__atomic_add_fetch(&books[site].bytes, bytes, __ATOMIC_RELAXED);
	__atomic_add_fetch(&books[site].count, count, __ATOMIC_RELAXED);
}

static void count(unsigned long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* Park for good: the books stay as they are. */
static void park(void)
{
	pthread_mutex_lock(&lock);
	parked++;
	pthread_cond_broadcast(&cond);
	for (;;)
		pthread_cond_wait(&cond, &lock);
}

static void one_op(struct worker *w)
{
	struct slot *s = &w->slots[rand64() % SLOTS];
	struct op o = { .site = pick() };
	void *p;

	/* short-lived: allocated and freed in this operation */
	p = route(&o);
	if (p) {
		count(&w->allocs);
		release(p, o.site, o.n);
		count(&w->frees);
	}

	/* a live block grown or shrunk by realloc: now the realloc site's */
	if (s->p && s->site != S_MMAP && rand64() % 4 == 0) {
		o = (struct op){ .site = S_REALLOC, .old = s->p };
		p = route(&o);
		if (!p)
			return; /* failed: the block is unchanged */
		count(&w->allocs);
		book(s->site, -(long long)s->n, -1);
		book(S_REALLOC, o.n, 1);
		*s = (struct slot){ p, o.n, S_REALLOC };
		return;
	}

	if (s->p) {
		release(s->p, s->site, s->n);
		count(&w->frees);
		book(s->site, -(long long)s->n, -1);
		s->p = NULL;
	}
	o = (struct op){ .site = pick() };
	p = route(&o);
	if (!p)
		return;
	count(&w->allocs);
	book(o.site, o.n, 1);
	*s = (struct slot){ p, o.n, o.site };
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct timespec next;
	long i;

	seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->id + 1);
	free(malloc(1)); /* this thread's arena and tcache, before the start */
	pthread_mutex_lock(&lock);
	while (!started)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		for (i = 0; i < w->ops_per_tick; i++) {
			if (__atomic_load_n(&stop_req, __ATOMIC_ACQUIRE))
				park();
			one_op(w);
			count(&w->ops);
		}
		ts_add_ns(&next, TICK_NS);
		sleep_until(&next);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The script's side: files in DIR, written without allocating        */
/* ------------------------------------------------------------------ */

static const char *dir;

static int exists(const char *name)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

/* Written whole, then renamed: a reader never sees half of it. */
static void put(const char *name, const char *text, size_t len)
{
	char path[4096], tmp[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) ||
	    rename(tmp, path)) {
		perror(path);
		exit(1);
	}
}

static void totals(struct worker *ws, int nw, unsigned long *v)
{
	int i;

	v[0] = v[1] = v[2] = 0;
	for (i = 0; i < nw; i++) {
		v[0] += __atomic_load_n(&ws[i].ops, __ATOMIC_RELAXED);
		v[1] += __atomic_load_n(&ws[i].allocs, __ATOMIC_RELAXED);
		v[2] += __atomic_load_n(&ws[i].frees, __ATOMIC_RELAXED);
	}
}

static void put_status(struct worker *ws, int nw)
{
	long long bytes = 0, cnt = 0;
	unsigned long v[3];
	char text[256];
	int i, len;

	totals(ws, nw, v);
	for (i = 0; i < NSITES; i++) {
		bytes += __atomic_load_n(&books[i].bytes, __ATOMIC_RELAXED);
		cnt += __atomic_load_n(&books[i].count, __ATOMIC_RELAXED);
	}
	len = snprintf(text, sizeof(text), "%lu %lu %lu %lld %lld\n", v[0],
		       v[1], v[2], bytes, cnt);
	put("status", text, len);
}

static void put_exact(struct worker *ws, int nw)
{
	static char text[4096];
	long long bytes = 0, cnt = 0;
	unsigned long v[3];
	int i, len = 0;

	totals(ws, nw, v);
	for (i = 0; i < NSITES; i++) {
		len += snprintf(text + len, sizeof(text) - len,
				"SITE %s %lld %lld\n", books[i].name,
				books[i].bytes, books[i].count);
		bytes += books[i].bytes;
		cnt += books[i].count;
	}
	len += snprintf(text + len, sizeof(text) - len,
			"TOTAL %lld %lld\nWORK %lu %lu %lu\nDONE\n", bytes, cnt,
			v[0], v[1], v[2]);
	put("exact", text, len);
}

int main(int argc, char **argv)
{
	static struct worker *ws;
	struct timespec next;
	long rate, per_tick;
	char text[64];
	int nw, i, len;

	if (argc != 4 || (nw = atoi(argv[2])) < 1 || nw > 64 ||
	    (rate = atol(argv[3])) < 1) {
		fprintf(stderr, "usage: soak_cserver DIR THREADS OPS_PER_S\n");
		return 2;
	}
	dir = argv[1];
	ps = sysconf(_SC_PAGESIZE);
	for (i = 0; i < NSITES; i++)
		books[i].name = names[i];
	per_tick = rate / nw / (NSEC_PER_SEC / TICK_NS);
	if (per_tick < 1)
		per_tick = 1;
	ws = calloc(nw, sizeof(*ws));
	if (!ws)
		return 1;
	for (i = 0; i < nw; i++) {
		ws[i].id = i;
		ws[i].ops_per_tick = per_tick;
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i])) {
			perror("pthread_create");
			return 1;
		}
	}
	len = snprintf(text, sizeof(text), "READY %d\n", (int)getpid());
	put("ready", text, len);

	while (!exists("start"))
		usleep(20000);
	pthread_mutex_lock(&lock);
	started = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!exists("stop")) {
		put_status(ws, nw);
		ts_add_ns(&next, NSEC_PER_SEC / 4);
		sleep_until(&next);
	}
	__atomic_store_n(&stop_req, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&lock);
	while (parked < nw)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	put_status(ws, nw);
	put_exact(ws, nw);
	for (;;)
		pause();
}
