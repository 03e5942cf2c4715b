// SPDX-License-Identifier: GPL-2.0
/*
 * Reading runtime.mbuckets from outside: see goprof.h. Buckets are made by
 * persistentalloc and never freed, so an address read once stays a bucket;
 * only the counts move, under the runtime's locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "goinfo.h"
#include "goprof.h"
#include "util.h"

#define MAX_BUCKETS (1u << 20) /* a longer list is garbage (or a loop) */
/* Return addresses of one snapshot: MAX_BUCKETS deep stacks would be 8
 * GiB; a real profile holds ~1e5 (a loop in a garbage list, far more). */
#define MAX_PCS	    (1u << 22)
#define CYCLE_BYTES 32	 /* allocs, frees, alloc_bytes, free_bytes */
#define FIRST_READ  1200 /* header, 128 pcs, the record: one read */
#define ATTEMPTS    4

void goprof_init(struct goprof *g, pid_t pid, uint64_t bias,
		 const struct go_heap_layout *l)
{
	memset(g, 0, sizeof(*g));
	g->pid = pid;
	g->bias = bias;
	g->l = l;
}

static void snap_free(struct goprof_snap *s)
{
	free(s->r);
	free(s->pcs);
	memset(s, 0, sizeof(*s));
}

void goprof_free(struct goprof *g)
{
	snap_free(&g->snap);
	snap_free(&g->spare);
}

int goprof_rate(const struct goprof *g, int64_t *rate)
{
	if (!g->l->memprofilerate)
		return -ENOENT;
	return goinfo_read(g->pid, g->l->memprofilerate + g->bias, rate,
			   sizeof(*rate));
}

static uint64_t word(const uint8_t *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

/*
 * A bucket is one stack and one object size: every allocation and free it
 * counts is of b.size bytes. A record read between the runtime's writes
 * of a count and its bytes breaks that; so does a published cycle with
 * more frees than allocations (a free is published with its allocation
 * or later; in the future cycles it may come first).
 */
static bool cycle_ok(const uint64_t *c, uint64_t size)
{
	return c[2] == c[0] * size && c[3] == c[1] * size;
}

static bool consistent(const struct goprof_rec *r)
{
	return r->frees <= r->allocs && cycle_ok(&r->allocs, r->size) &&
	       cycle_ok(r->future, r->size);
}

/* One bucket at addr into s; *next: the next bucket (allnext). */
static int read_bucket(struct goprof *g, struct goprof_snap *s, uint64_t addr,
		       uint64_t *next)
{
	const struct go_heap_layout *l = g->l;
	uint8_t first[FIRST_READ], *b = first;
	struct goprof_rec *r;
	size_t need, rec, got = sizeof(first);
	uint64_t nstk;
	int err, c, k;

	/* The whole first read may cross the end of a mapping: fall back to
	 * the header alone, then read what the bucket holds. */
	err = goinfo_read(g->pid, addr, first, got);
	if (err == -EFAULT) {
		got = l->bucket_hdr;
		err = goinfo_read(g->pid, addr, first, got);
	}
	if (err)
		return err;
	nstk = word(first, l->bk_nstk);
	if (!nstk || nstk > GOPROF_MAX_STACK || nstk > MAX_PCS - s->npcs)
		return -EBADMSG;
	rec = l->bucket_hdr + nstk * 8;
	need = rec + GO_MEMREC_CYCLES * CYCLE_BYTES;
	if (need > sizeof(first)) {
		b = malloc(need);
		if (!b)
			return -ENOMEM;
	}
	if (need > got)
		err = goinfo_read(g->pid, addr, b, need);
	if (err)
		goto out;
	err = lw_grow((void **)&s->r, &s->cap, s->n + 1, sizeof(*s->r), 256);
	if (!err)
		err = lw_grow((void **)&s->pcs, &s->pcs_cap, s->npcs + nstk,
			      sizeof(*s->pcs), 4096);
	if (err)
		goto out;
	r = &s->r[s->n++];
	memset(r, 0, sizeof(*r));
	r->addr = addr;
	r->size = word(b, l->bk_size);
	r->nstk = (uint32_t)nstk;
	r->pc = s->npcs;
	memcpy(&s->pcs[s->npcs], b + l->bucket_hdr, nstk * 8);
	s->npcs += nstk;
	/* memRecord.active: what MemProfile reports (the published cycle) */
	r->allocs = word(b, rec);
	r->frees = word(b, rec + 8);
	r->alloc_bytes = word(b, rec + 16);
	r->free_bytes = word(b, rec + 24);
	/* the future cycles: before the first GC nothing is published */
	for (c = 1; c < GO_MEMREC_CYCLES; c++)
		for (k = 0; k < 4; k++)
			r->future[k] += word(b, rec + c * CYCLE_BYTES + k * 8);
	*next = word(b, l->bk_allnext);
	if (!consistent(r))
		err = -EAGAIN; /* read while the runtime was writing it */
out:
	if (b != first)
		free(b);
	return err;
}

static int walk(struct goprof *g, struct goprof_snap *s)
{
	uint64_t b;
	size_t k;
	int err;

	s->n = s->npcs = 0;
	g->walks++;
	err = goinfo_read(g->pid, g->l->mbuckets + g->bias, &b, sizeof(b));
	for (k = 0; !err && b; k++) {
		uint64_t at = b;

		if (k == MAX_BUCKETS)
			return -EBADMSG;
		err = read_bucket(g, s, b, &b);
		if (!err && b == at)
			return -EBADMSG; /* a bucket that is its own next */
	}
	return err;
}

static bool same(const struct goprof_snap *a, const struct goprof_snap *b)
{
	size_t i;

	if (a->n != b->n || a->npcs != b->npcs)
		return false;
	for (i = 0; i < a->n; i++) {
		const struct goprof_rec *x = &a->r[i], *y = &b->r[i];

		if (x->addr != y->addr || x->allocs != y->allocs ||
		    x->frees != y->frees || x->alloc_bytes != y->alloc_bytes ||
		    x->free_bytes != y->free_bytes)
			return false;
	}
	return true;
}

static void swap(struct goprof_snap *a, struct goprof_snap *b)
{
	struct goprof_snap t = *a;

	*a = *b;
	*b = t;
}

/*
 * Two walks in a row that agree are a snapshot: the runtime moves counts
 * into the published cycle once per GC cycle, in one short pass, so two
 * agreeing walks did not straddle it (a torn bucket is caught on its own
 * by its frees outrunning its allocations).
 */
/*
 * The bucket layout comes from the binary's DWARF: its fields must lie in
 * the header, and the header in the first read (read_bucket indexes both
 * buffers by these offsets).
 */
static bool layout_ok(const struct go_heap_layout *l)
{
	return l->bucket_hdr <= FIRST_READ &&
	       l->bk_allnext <= l->bucket_hdr - 8 &&
	       l->bk_size <= l->bucket_hdr - 8 &&
	       l->bk_nstk <= l->bucket_hdr - 8;
}

int goprof_snapshot(struct goprof *g)
{
	struct goprof_snap cur = { 0 };
	int err, i;
	bool have = false;

	if (!g->l->mbuckets || !g->l->bucket_hdr)
		return -ENOENT;
	if (g->l->bucket_hdr < 8 || !layout_ok(g->l))
		return -EBADMSG;
	for (i = 0; i < ATTEMPTS + 1; i++) {
		err = walk(g, &g->spare);
		if (err == -EAGAIN) {
			g->torn++;
			have = false;
			continue;
		}
		if (err)
			break;
		if (have && same(&cur, &g->spare)) {
			swap(&g->snap, &g->spare);
			snap_free(&cur);
			return 0;
		}
		if (have)
			g->torn++;
		swap(&cur, &g->spare);
		have = true;
	}
	snap_free(&cur);
	if (err == -EAGAIN || (!err && i == ATTEMPTS + 1)) {
		g->given_up++;
		return -EAGAIN;
	}
	return err;
}
