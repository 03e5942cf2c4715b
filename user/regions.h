/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_REGIONS_H
#define LW_REGIONS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "leakwatch.h"

/*
 * Anonymous mappings made by the program, tracked in user space because
 * munmap and mremap may cut any part of any mapping. Each mmap call is an
 * "origin": it stays one live allocation of its site until all of its
 * pages are gone.
 */
struct lw_region {
	uint64_t start, end;
	uint32_t origin;
};

struct lw_origin {
	uint64_t stack;
	uint32_t next_free;
	uint64_t bytes;
	uint64_t ts_ns;
};

/* dcount: +1 for a new mapping, -1 when its last page goes, else 0 */
typedef void (*regions_delta_fn)(void *ctx, uint64_t stack, int64_t dbytes,
				 int dcount);

struct lw_regions {
	struct lw_region *r;
	size_t n, cap;
	struct lw_origin *o;
	size_t no, capo;
	uint32_t free_head; /* 1-based index of a recycled origin, or 0 */
	regions_delta_fn delta;
	void *ctx;
};

void regions_init(struct lw_regions *rg, regions_delta_fn delta, void *ctx);
void regions_apply(struct lw_regions *rg, const struct lw_map_event *e);
/*
 * After lost map events (drops.ringbuf_lost): cuts what the process no
 * longer maps, by its /proc/PID/maps (sorted "lo-hi ..." lines), so that
 * a lost munmap leaves no mapping outstanding. A lost mmap stays unseen.
 */
void regions_sync(struct lw_regions *rg, FILE *maps);
/* Oldest live mapping of a site, in ns of CLOCK_MONOTONIC; 0 if none. */
uint64_t regions_oldest_ns(const struct lw_regions *rg, uint64_t stack);
void regions_free(struct lw_regions *rg);

#endif
