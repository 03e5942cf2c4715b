// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "regions.h"
#include "util.h"

#define PAGE	   4096ull
#define PAGE_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))

void regions_init(struct lw_regions *rg, regions_delta_fn delta, void *ctx)
{
	memset(rg, 0, sizeof(*rg));
	rg->delta = delta;
	rg->ctx = ctx;
}

void regions_free(struct lw_regions *rg)
{
	free(rg->r);
	free(rg->o);
	memset(rg, 0, sizeof(*rg));
}

static int64_t new_origin(struct lw_regions *rg, uint64_t stack, uint64_t ts)
{
	uint32_t id;

	if (rg->free_head) {
		id = rg->free_head - 1;
		rg->free_head = rg->o[id].next_free;
	} else {
		if (lw_grow((void **)&rg->o, &rg->capo, rg->no + 1,
			    sizeof(*rg->o), 64))
			return -1;
		id = rg->no++;
	}
	rg->o[id] = (struct lw_origin){ .stack = stack, .ts_ns = ts };
	return id;
}

static void origin_sub(struct lw_regions *rg, uint32_t id, uint64_t bytes)
{
	struct lw_origin *o = &rg->o[id];
	int dead;

	o->bytes -= bytes;
	dead = o->bytes == 0;
	rg->delta(rg->ctx, o->stack, -(int64_t)bytes, dead ? -1 : 0);
	if (dead) {
		o->next_free = rg->free_head;
		rg->free_head = id + 1;
	}
}

/* First region that ends after addr: regions are sorted and disjoint. */
static size_t lower(const struct lw_regions *rg, uint64_t addr)
{
	size_t lo = 0, hi = rg->n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (rg->r[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int insert_at(struct lw_regions *rg, size_t i, struct lw_region r)
{
	if (lw_grow((void **)&rg->r, &rg->cap, rg->n + 1, sizeof(*rg->r), 64))
		return -1;
	memmove(&rg->r[i + 1], &rg->r[i], (rg->n - i) * sizeof(*rg->r));
	rg->r[i] = r;
	rg->n++;
	return 0;
}

static void remove_at(struct lw_regions *rg, size_t i)
{
	memmove(&rg->r[i], &rg->r[i + 1], (rg->n - i - 1) * sizeof(*rg->r));
	rg->n--;
}

/* Cut [lo, hi) out of the tracked regions; returns the first origin hit. */
static int64_t unmap_range(struct lw_regions *rg, uint64_t lo, uint64_t hi)
{
	size_t i = lower(rg, lo);
	int64_t first = -1;
	struct lw_region *r, tail;
	uint64_t a, b;

	while (i < rg->n && rg->r[i].start < hi) {
		r = &rg->r[i];
		a = r->start > lo ? r->start : lo;
		b = r->end < hi ? r->end : hi;
		if (first < 0)
			first = r->origin;
		tail = (struct lw_region){ b, r->end, r->origin };
		origin_sub(rg, r->origin, b - a);
		if (r->start < a) {
			r->end = a;
			i++;
			if (tail.start < tail.end && !insert_at(rg, i, tail))
				i++;
		} else if (tail.start < tail.end) {
			*r = tail;
			i++;
		} else {
			remove_at(rg, i);
		}
	}
	return first;
}

static void map_range(struct lw_regions *rg, uint64_t lo, uint64_t hi,
		      uint64_t stack, uint64_t ts)
{
	int64_t id;

	unmap_range(rg, lo, hi); /* MAP_FIXED replaces what was there */
	id = new_origin(rg, stack, ts);
	if (id < 0)
		return;
	if (insert_at(rg, lower(rg, lo), (struct lw_region){ lo, hi, id }))
		return;
	rg->o[id].bytes = hi - lo;
	rg->delta(rg->ctx, stack, hi - lo, 1);
}

/* A moved or resized mapping stays with the site that made it. */
static void remap(struct lw_regions *rg, const struct lw_map_event *e)
{
	uint64_t old_lo = e->addr, old_hi = e->addr + PAGE_UP(e->len);
	size_t i = lower(rg, old_lo);
	struct lw_origin o;

	if (i >= rg->n || rg->r[i].start >= old_hi)
		return; /* not a mapping of ours */
	o = rg->o[rg->r[i].origin];
	unmap_range(rg, old_lo, old_hi);
	map_range(rg, e->new_addr, e->new_addr + PAGE_UP(e->new_len), o.stack,
		  o.ts_ns);
}

void regions_apply(struct lw_regions *rg, const struct lw_map_event *e)
{
	switch (e->op) {
	case LW_MAP_MMAP:
		if (e->len)
			map_range(rg, e->addr, e->addr + PAGE_UP(e->len),
				  e->site, e->ts_ns);
		break;
	case LW_MAP_MUNMAP:
		unmap_range(rg, e->addr, e->addr + PAGE_UP(e->len));
		break;
	case LW_MAP_MREMAP:
		remap(rg, e);
		break;
	}
}

void regions_sync(struct lw_regions *rg, FILE *maps)
{
	uint64_t lo, hi, prev = 0;
	char line[256];
	size_t len;

	while (fgets(line, sizeof(line), maps)) {
		/* a line we cannot read may hide a mapping: cut no more */
		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi) != 2 ||
		    lo < prev || hi <= lo)
			return;
		if (lo > prev)
			unmap_range(rg, prev, lo);
		prev = hi;
		/* the rest of a long line (its path) */
		len = strlen(line);
		while (len && line[len - 1] != '\n' &&
		       fgets(line, sizeof(line), maps))
			len = strlen(line);
	}
	if (!ferror(maps))
		unmap_range(rg, prev, UINT64_MAX);
}

uint64_t regions_oldest_ns(const struct lw_regions *rg, uint64_t stack)
{
	uint64_t oldest = 0;
	size_t i;

	for (i = 0; i < rg->n; i++) {
		const struct lw_origin *o = &rg->o[rg->r[i].origin];

		if (o->stack == stack && (!oldest || o->ts_ns < oldest))
			oldest = o->ts_ns;
	}
	return oldest;
}
