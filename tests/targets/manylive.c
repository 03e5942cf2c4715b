// SPDX-License-Identifier: GPL-2.0
/*
 * manylive: many live blocks of known total, for the sampler's estimate.
 *
 *	manylive [-n BLOCKS] [-o BOOKS_FILE]
 *
 * Allocates BLOCKS blocks (default 150000) of 16 B to 4 KiB (sizes spread
 * so that most are far below the sampler's mean, a few above it: 1 in
 * 512 is 64 to 256 KiB) through four call sites, frees a third of them again
 * (churn the estimate must not count), writes its books (live count and
 * bytes, per site, its own two arrays and in all) to BOOKS_FILE, and
 * sleeps until killed.
 *
 *	LIVE <function> <count> <bytes>
 *	TOTAL <count> <bytes>
 */
#include "common.h"

#define NSITES 4

static void **blocks;
static size_t *sizes;
static long live[NSITES];
static long long live_bytes[NSITES];

static __site void *alloc_small(size_t n)
{
	return malloc(n);
}

static __site void *alloc_zeroed(size_t n)
{
	return calloc(1, n);
}

static __site void *alloc_aligned(size_t n)
{
	void *p = NULL;

	return posix_memalign(&p, 64, n) ? NULL : p;
}

static __site void *alloc_big(size_t n)
{
	return malloc(n);
}

static const char *const names[NSITES] = { "alloc_small", "alloc_zeroed",
					   "alloc_aligned", "alloc_big" };

static size_t size_of(uint64_t r, int *site)
{
	if (r % 512 == 0) {
		*site = 3;
		return 65536 + (r >> 8) % (192 << 10);
	}
	*site = (int)((r >> 9) % 3);
	/* log-uniform over 16 B .. 4 KiB: mostly small blocks */
	return (size_t)16 << ((r >> 8) % 9) | ((r >> 16) & 15);
}

int main(int argc, char **argv)
{
	const char *books = NULL;
	long n = 150000, i, total = 0;
	long long bytes = 0;
	int c, site;
	FILE *f;

	while ((c = getopt(argc, argv, "n:o:")) != -1) {
		switch (c) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 'o':
			books = optarg;
			break;
		default:
			fprintf(stderr, "usage: manylive [-n BLOCKS] "
					"[-o BOOKS_FILE]\n");
			return 2;
		}
	}
	if (n <= 0)
		return 2;
	write_pidfile();
	blocks = calloc(n, sizeof(*blocks));
	sizes = calloc(n, sizeof(*sizes));
	if (!blocks || !sizes)
		return 1;
	for (i = 0; i < n; i++) {
		uint64_t r = rnd();
		size_t sz = size_of(r, &site);
		void *(*fn[NSITES])(size_t) = { alloc_small, alloc_zeroed,
						alloc_aligned, alloc_big };

		blocks[i] = fn[site](sz);
		if (!blocks[i])
			return 1;
		memset(blocks[i], 1, sz < 64 ? sz : 64);
		sizes[i] = sz | (size_t)site << 56;
	}
	for (i = 0; i < n; i++) {
		site = (int)(sizes[i] >> 56);
		if (i % 3 == 1) {
			free(blocks[i]);
			continue;
		}
		live[site]++;
		live_bytes[site] += sizes[i] & ((1ull << 56) - 1);
	}
	f = books ? fopen(books, "w") : stdout;
	if (!f)
		return 1;
	for (site = 0; site < NSITES; site++) {
		fprintf(f, "LIVE %s %ld %lld\n", names[site], live[site],
			live_bytes[site]);
		total += live[site];
		bytes += live_bytes[site];
	}
	/* its own two arrays are live blocks too */
	fprintf(f, "LIVE main 2 %zu\n", n * (sizeof(*blocks) + sizeof(*sizes)));
	total += 2;
	bytes += n * (sizeof(*blocks) + sizeof(*sizes));
	fprintf(f, "TOTAL %ld %lld\n", total, bytes);
	fclose(f);
	for (;;)
		pause();
}
