// SPDX-License-Identifier: GPL-2.0
/*
 * exact: deterministic leaks with a known outstanding total per site.
 *
 *	exact [-o TABLE_FILE] [-x] [-V]
 *
 * Leaks exactly `count` blocks through every allocator entry point, frees
 * everything else (including free(NULL), realloc(p, 0) and allocations
 * that fail), prints the expected table, then sleeps until killed so a
 * tracer can drain (-x: exit instead; -V: skip pvalloc, which valgrind
 * does not support). Table lines:
 *
 *	EXPECT <marker> <function> <kind> <count> <bytes>
 *	READY <pid>
 *
 * Lines marked LEAK:<marker> are the calls whose outstanding allocations
 * must be reported with exactly these totals. Lines marked
 * NOLEAK:<marker> allocate something that is freed again (or must not be
 * counted at all, like file mappings and failed calls): no site whose
 * first frame is such a line may hold outstanding bytes.
 */
#include "common.h"

#include <malloc.h>
#include <pthread.h>

struct expect {
	const char *marker;
	const char *func;
	const char *kind;
	long count;
	long long bytes;
};

static struct expect table[32];
static int ntable;

static void expect(const char *marker, const char *func, const char *kind,
		   long count, long long bytes)
{
	table[ntable++] = (struct expect){ marker, func, kind, count, bytes };
}

/* -V: valgrind aborts on pvalloc(), so skip every pvalloc() call. */
static int no_pvalloc;

/*
 * Sizes pass through a volatile so that the compiler neither folds the
 * failing calls nor warns about them.
 */
static volatile size_t huge = SIZE_MAX;

/* GCC turns realloc(NULL, n) into malloc(n): hide the NULL from it. */
static void *volatile null_ptr;
static long ps;

/* ------------------------------------------------------------------ */
/* Leaks                                                               */
/* ------------------------------------------------------------------ */

static __site void leak_malloc(void)
{
	long long bytes = 0;
	void *p;
	int i;

	for (i = 0; i < 7; i++) {
		size_t n = 100 * (i + 1) + 3;

		p = malloc(n); /* LEAK:malloc */
		use(p);
		bytes += n;
	}
	expect("malloc", __func__, "heap", 7, bytes);
}

static __site void leak_calloc(void)
{
	long long bytes = 0;
	void *p;
	int i;

	for (i = 0; i < 5; i++) {
		p = calloc(i + 2, 48); /* LEAK:calloc */
		use(p);
		bytes += (i + 2) * 48;
	}
	expect("calloc", __func__, "heap", 5, bytes);
}

static __site void leak_realloc_null(void)
{
	long long bytes = 0;
	void *p;
	int i;

	for (i = 0; i < 4; i++) {
		p = realloc(null_ptr, 700 + i); /* LEAK:realloc_null */
		use(p);
		bytes += 700 + i;
	}
	expect("realloc_null", __func__, "heap", 4, bytes);
}

/* A block from malloc, grown by realloc: only the realloc site keeps it. */
static __site void *seed_block(size_t n)
{
	void *p;

	p = malloc(n); /* NOLEAK:realloc_seed */
	use(p);
	return p;
}

static __site void leak_realloc_grow(void)
{
	long long bytes = 0;
	size_t n;
	void *p;
	int i, j;

	for (i = 0; i < 3; i++) {
		p = seed_block(16);
		for (j = 1, n = 16; j <= 6; j++) {
			n = (16 << j) + i;
			p = realloc(p, n); /* LEAK:realloc_grow */
			use(p);
		}
		bytes += n;
	}
	expect("realloc_grow", __func__, "heap", 3, bytes);
}

/* Shrinking in place must update the size too. */
static __site void *shrink_seed(void)
{
	void *p;

	p = malloc(4000); /* NOLEAK:shrink_seed */
	use(p);
	return p;
}

static __site void leak_realloc_shrink(void)
{
	void *p;
	int i;

	for (i = 0; i < 2; i++) {
		p = shrink_seed();
		p = realloc(p, 100); /* LEAK:realloc_shrink */
		use(p);
	}
	expect("realloc_shrink", __func__, "heap", 2, 200);
}

/* A failed realloc leaves the original block (and its site) intact. */
static __site void leak_realloc_fail_keep(void)
{
	void *p, *q;
	int i;

	for (i = 0; i < 2; i++) {
		p = malloc(64); /* LEAK:realloc_fail_keep */
		/* This fails: p stays allocated, still from the line above. */
		q = realloc(p, huge); /* NOLEAK:realloc_fail */
		if (q)
			abort();
	}
	expect("realloc_fail_keep", __func__, "heap", 2, 128);
}

static __site void leak_reallocarray(void)
{
	long long bytes = 0;
	void *p;
	int i;

	for (i = 0; i < 4; i++) {
		p = reallocarray(null_ptr, i + 3, 40); /* LEAK:reallocarray */
		use(p);
		bytes += (i + 3) * 40;
	}
	expect("reallocarray", __func__, "heap", 4, bytes);
}

static __site void leak_posix_memalign(void)
{
	long long bytes = 0;
	void *p;
	int i, err;

	for (i = 0; i < 5; i++) {
		size_t n = 200 + 8 * i;

		err = posix_memalign(&p, 64, n); /* LEAK:posix_memalign */
		if (err)
			abort();
		use(p);
		bytes += n;
	}
	expect("posix_memalign", __func__, "heap", 5, bytes);
}

static __site void leak_aligned_alloc(void)
{
	long long bytes = 0;
	void *p;
	int i;

	for (i = 0; i < 3; i++) {
		p = aligned_alloc(256, 512 * (i + 1)); /* LEAK:aligned_alloc */
		use(p);
		bytes += 512 * (i + 1);
	}
	expect("aligned_alloc", __func__, "heap", 3, bytes);
}

static __site void leak_memalign(void)
{
	long long bytes = 0;
	void *p;
	int i;

	for (i = 0; i < 4; i++) {
		p = memalign(32, 300 + i); /* LEAK:memalign */
		use(p);
		bytes += 300 + i;
	}
	expect("memalign", __func__, "heap", 4, bytes);
}

static __site void leak_valloc(void)
{
	long long bytes = 0;
	void *p;
	int i;

	for (i = 0; i < 2; i++) {
		p = valloc(5000 + i); /* LEAK:valloc */
		use(p);
		bytes += 5000 + i;
	}
	expect("valloc", __func__, "heap", 2, bytes);
}

/* Whole pages: pvalloc rounds up, so the requested size is unambiguous. */
static __site void leak_pvalloc(void)
{
	long long bytes = 0;
	void *p;
	int i;

	if (no_pvalloc)
		return;
	for (i = 0; i < 2; i++) {
		p = pvalloc(ps * (i + 1)); /* LEAK:pvalloc */
		use(p);
		bytes += ps * (i + 1);
	}
	expect("pvalloc", __func__, "heap", 2, bytes);
}

/* Above the mmap threshold: malloc's own mmap must not count twice. */
static __site void leak_malloc_large(void)
{
	void *p;
	int i;

	for (i = 0; i < 2; i++) {
		p = malloc(300000); /* LEAK:malloc_large */
		use(p);
	}
	expect("malloc_large", __func__, "heap", 2, 600000);
}

static __site void leak_mmap(void)
{
	long long bytes = 0;
	char *p;
	int i;

	for (i = 0; i < 3; i++) {
		size_t len = 2 * ps * (i + 1);

		p = mmap_anon(len); /* LEAK:mmap */
		if (p == MAP_FAILED)
			abort();
		p[0] = 1;
		bytes += len;
	}
	expect("mmap", __func__, "mmap", 3, bytes);
}

/* Trim the head and the tail: one piece of 5 pages stays mapped. */
static __site void leak_mmap_partial(void)
{
	char *p;
	int i;

	for (i = 0; i < 2; i++) {
		p = mmap_anon(8 * ps); /* LEAK:mmap_partial */
		if (p == MAP_FAILED)
			abort();
		munmap(p, ps);
		munmap(p + 6 * ps, 2 * ps);
	}
	expect("mmap_partial", __func__, "mmap", 2, 10 * ps);
}

static void *thread_leak_main(void *arg)
{
	long long bytes = 0;
	void *p;
	int i;

	(void)arg;
	for (i = 0; i < 3; i++) {
		p = malloc(2000); /* LEAK:thread_malloc */
		use(p);
		bytes += 2000;
	}
	expect("thread_malloc", __func__, "heap", 3, bytes);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Allocations that are freed again or must not count                  */
/* ------------------------------------------------------------------ */

static __site void free_everything(void)
{
	void *p;
	int err;

	p = malloc(111); /* NOLEAK:malloc_free */
	use(p);
	free(p);
	p = calloc(3, 33); /* NOLEAK:calloc_free */
	use(p);
	free(p);
	p = realloc(null_ptr, 222); /* NOLEAK:realloc_free */
	use(p);
	free(p);
	p = reallocarray(null_ptr, 5, 50); /* NOLEAK:reallocarray_free */
	use(p);
	free(p);
	err = posix_memalign(&p, 128, 300); /* NOLEAK:posix_memalign_free */
	if (!err)
		use(p);
	free(p);
	p = aligned_alloc(64, 640); /* NOLEAK:aligned_alloc_free */
	use(p);
	free(p);
	p = memalign(64, 333); /* NOLEAK:memalign_free */
	use(p);
	free(p);
	p = valloc(444); /* NOLEAK:valloc_free */
	use(p);
	free(p);
	if (!no_pvalloc) {
		p = pvalloc(555); /* NOLEAK:pvalloc_free */
		use(p);
		free(p);
	}
	p = malloc(400000); /* NOLEAK:malloc_large_free */
	use(p);
	free(p);
	free(NULL);
}

static __site void free_via_realloc0(void)
{
	void *p, *q;
	int i;

	for (i = 0; i < 3; i++) {
		p = malloc(100); /* NOLEAK:realloc0_seed */
		use(p);
		q = realloc(p, 0); /* NOLEAK:realloc0 */
		/* glibc frees and returns NULL; be safe on other behaviour. */
		free(q);
	}
}

static __site void fail_everything(void)
{
	void *p = NULL;
	int err;

	p = malloc(huge); /* NOLEAK:fail_malloc */
	use(p);
	p = calloc(huge / 2, 4); /* NOLEAK:fail_calloc */
	use(p);
	p = realloc(null_ptr, huge); /* NOLEAK:fail_realloc */
	use(p);
	p = reallocarray(null_ptr, huge / 2, 4); /* NOLEAK:fail_reallocarray */
	use(p);
	err = posix_memalign(&p, 64, huge); /* NOLEAK:fail_posix_memalign */
	use(p);
	err |= posix_memalign(&p, 3, 64); /* NOLEAK:fail_align_einval */
	use(p);
	p = aligned_alloc(64, huge - 63); /* NOLEAK:fail_aligned_alloc */
	use(p);
	p = memalign(64, huge); /* NOLEAK:fail_memalign */
	use(p);
	p = valloc(huge); /* NOLEAK:fail_valloc */
	use(p);
	if (!no_pvalloc) {
		p = pvalloc(huge); /* NOLEAK:fail_pvalloc */
		use(p);
	}
	p = mmap_anon(0); /* NOLEAK:fail_mmap_einval */
	use(p);
	p = mmap_anon(huge & ~(ps - 1)); /* NOLEAK:fail_mmap_nomem */
	use(p);
	(void)err;
}

/* Split by a hole, then both halves unmapped separately. */
static __site void unmap_split(void)
{
	char *p;

	p = mmap_anon(6 * ps); /* NOLEAK:split */
	if (p == MAP_FAILED)
		abort();
	munmap(p + 2 * ps, 2 * ps);
	munmap(p, 2 * ps);
	munmap(p + 4 * ps, 2 * ps);
}

/* Two adjacent mappings released by a single munmap. */
static __site void unmap_span(void)
{
	char *r, *a, *b;
	int fl = MAP_ANON_PRIV | MAP_FIXED_NOREPLACE;

	r = mmap_anon(8 * ps); /* NOLEAK:span_reserve */
	if (r == MAP_FAILED)
		abort();
	munmap(r, 8 * ps);
	a = mmap(r, 4 * ps, PROT_RW, fl, -1, 0);	  /* NOLEAK:span_a */
	b = mmap(r + 4 * ps, 4 * ps, PROT_RW, fl, -1, 0); /* NOLEAK:span_b */
	if (a != r || b != r + 4 * ps)
		abort();
	munmap(r, 8 * ps);
}

/* Moved by mremap, then unmapped at the new place. */
static __site void unmap_remapped(void)
{
	int i, mv = MREMAP_MAYMOVE;
	char *p, *q;

	for (i = 0; i < 2; i++) {
		p = mmap_anon(2 * ps); /* NOLEAK:mremap_seed */
		if (p == MAP_FAILED)
			abort();
		q = mremap(p, 2 * ps, 16 * ps, mv); /* NOLEAK:mremap */
		if (q == MAP_FAILED)
			abort();
		munmap(q, 16 * ps);
	}
}

/* File mappings are not anonymous memory: never counted. */
static __site void map_file(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		abort();
	p = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, fd, 0); /* NOLEAK:file */
	use(p);
	close(fd);
}

/* Blocks allocated here are freed by another thread. */
static void *xthread_blocks[3];

static __site void xthread_alloc(void)
{
	int i;

	for (i = 0; i < 3; i++)
		xthread_blocks[i] = malloc(1500); /* NOLEAK:xthread_alloc */
}

static void *xthread_free_main(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 3; i++)
		free(xthread_blocks[i]);
	return NULL;
}

static void run_thread(void *(*fn)(void *))
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, NULL) || pthread_join(t, NULL))
		abort();
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	int c, exit_after = 0, i;
	FILE *f;

	while ((c = getopt(argc, argv, "o:xV")) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'x':
			exit_after = 1;
			break;
		case 'V':
			no_pvalloc = 1;
			break;
		default:
			fprintf(stderr,
				"usage: exact [-o TABLE_FILE] [-x] [-V]\n");
			return 2;
		}
	}
	ps = sysconf(_SC_PAGESIZE);
	write_pidfile();

	leak_malloc();
	leak_calloc();
	leak_realloc_null();
	leak_realloc_grow();
	leak_realloc_shrink();
	leak_realloc_fail_keep();
	leak_reallocarray();
	leak_posix_memalign();
	leak_aligned_alloc();
	leak_memalign();
	leak_valloc();
	leak_pvalloc();
	leak_malloc_large();
	leak_mmap();
	leak_mmap_partial();
	run_thread(thread_leak_main);

	free_everything();
	free_via_realloc0();
	fail_everything();
	unmap_split();
	unmap_span();
	unmap_remapped();
	map_file();
	xthread_alloc();
	run_thread(xthread_free_main);

	/* Write the table only now: stdio's buffers are not part of it. */
	f = out ? fopen(out, "w") : stdout;
	if (!f) {
		perror(out);
		return 1;
	}
	for (i = 0; i < ntable; i++)
		fprintf(f, "EXPECT %s %s %s %ld %lld\n", table[i].marker,
			table[i].func, table[i].kind, table[i].count,
			table[i].bytes);
	fprintf(f, "READY %d\n", (int)getpid());
	fflush(f);
	if (f != stdout)
		fclose(f);

	if (exit_after)
		return 0;
	for (;;)
		pause();
}
