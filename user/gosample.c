// SPDX-License-Identifier: GPL-2.0
/* The Go heap by sampling: see gosample.h. */
#include <bpf/bpf.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "drain.h"
#include "gopclntab.h"
#include "gosample.h"
#include "util.h"

#define SPAN_MAX 512 /* bytes of a runtime.mspan we read */
#define BATCH	 1024

static uint64_t u64_at(const uint8_t *b, uint32_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint64_t uint_at(const uint8_t *b, uint32_t off, uint32_t size)
{
	uint16_t w;

	if (size == 2) {
		memcpy(&w, b + off, sizeof(w));
		return w;
	}
	return u64_at(b, off);
}

static int read_u64(const struct lw_goheap *h, uint64_t addr, uint64_t *v)
{
	return goinfo_read(h->pid, addr, v, sizeof(*v));
}

/* One bit of a gcBits bitmap. */
static int bit_at(const struct lw_goheap *h, uint64_t bits, uint64_t idx)
{
	uint8_t b;
	int err;

	if (!bits)
		return -EFAULT;
	err = goinfo_read(h->pid, bits + idx / 8, &b, 1);
	return err ? err : (b >> (idx % 8)) & 1;
}

/* The heap's sweepgen and its arena index, read once per report. */
struct heap_now {
	uint32_t sweepgen;
	uint64_t arenas; /* the L2 array: arenaL1Bits is 0 on amd64 */
};

static int heap_now(const struct lw_goheap *h, struct heap_now *n)
{
	const struct go_heap_layout *l = &h->l;
	uint64_t mh = l->mheap + h->bias;
	uint32_t sg;
	int err;

	err = goinfo_read(h->pid, mh + l->mh_sweepgen, &sg, sizeof(sg));
	if (!err)
		err = read_u64(h, mh + l->mh_arenas, &n->arenas);
	n->sweepgen = sg;
	return err ? err : n->arenas ? 0 : -EFAULT;
}

static int live_at(const struct lw_goheap *h, const struct heap_now *now,
		   uint64_t addr, uint32_t elemsize, uint32_t sg0)
{
	const struct go_heap_layout *l = &h->l;
	uint64_t ai, arena, span, start, npages, idx;
	uint8_t sp[SPAN_MAX];
	uint32_t sg, H = now->sweepgen;
	int err;

	if (addr >= GO_ARENA_BASE || l->span_size > sizeof(sp))
		return -EINVAL;
	ai = (addr + GO_ARENA_BASE) >> GO_ARENA_SHIFT;
	err = read_u64(h, now->arenas + ai * 8, &arena);
	if (err || !arena)
		return err ? err : 0; /* no arena: the heap gave it back */
	err = read_u64(h,
		       arena + l->ha_spans +
			       ((addr >> GO_PAGE_SHIFT) %
				(1u << (GO_ARENA_SHIFT - GO_PAGE_SHIFT))) *
				       8,
		       &span);
	if (err || !span)
		return err ? err : 0;
	err = goinfo_read(h->pid, span, sp, l->span_size);
	if (err)
		return err;
	start = u64_at(sp, l->sp_startaddr);
	npages = u64_at(sp, l->sp_npages);
	if (sp[l->sp_state] != GO_SPAN_IN_USE || addr < start ||
	    addr >= start + (npages << GO_PAGE_SHIFT) ||
	    u64_at(sp, l->sp_elemsize) != elemsize || (addr - start) % elemsize)
		return 0; /* the span was freed, or holds other objects now */
	idx = (addr - start) / elemsize;
	/* Objects made during a mark are born marked: only a GC whose mark
	 * began after the sample can tell (sweepgen counts 2 per GC). */
	if (H - sg0 < 4)
		return 2;
	memcpy(&sg, sp + l->sp_sweepgen, sizeof(sg));
	if (sg == H - 2 || sg == H - 1 || sg == H + 1)
		return bit_at(h, u64_at(sp, l->sp_gcmarkbits), idx);
	(void)uint_at;
	return bit_at(h, u64_at(sp, l->sp_allocbits), idx);
}

int gosample_live(struct lw_goheap *h, uint64_t addr, uint32_t elemsize,
		  uint32_t sweepgen0)
{
	struct heap_now now;
	int err = heap_now(h, &now);

	return err ? err : live_at(h, &now, addr, elemsize, sweepgen0);
}

/*
 * The probes' stack begins in the runtime's slow path. The runtime's own
 * profile skips mallocgc and its caller (newobject, makeslice, growslice:
 * what the compiler calls for new, make and append): so do we, for both
 * to name the same sites.
 */
static int trim_stack(struct lw_goheap *h, const struct lw_stack *st, int n,
		      uint64_t *out)
{
	struct lw_frame fr[8];
	int i, k, from = 0, m;

	for (i = 0; i < n && h->pcln; i++) {
		m = gopclntab_resolve(h->pcln, st->ips[i] - h->bias, i > 0, fr,
				      8);
		if (m >= 1 && fr[m - 1].symbol &&
		    !strcmp(fr[m - 1].symbol, "runtime.mallocgc")) {
			from = i + 2 < n ? i + 2 : i + 1;
			break;
		}
	}
	for (k = 0, i = from; i < n; i++)
		out[k++] = st->ips[i];
	if (k && from)
		out[0]--; /* a return address, looked up as is by the views */
	return k;
}

static struct lw_site *sample_site(struct lw_goheap *h, struct lw_model *m,
				   uint32_t idx)
{
	uint64_t ips[LW_MAX_STACK_DEPTH];
	struct lw_stack st;
	struct lw_site *s;
	int n;

	/* a probe site index, apart from the profile's bucket addresses */
	uint64_t key = (uint64_t)idx | 1ull << 63;

	if (goheap_known_site(h, m, key, &s))
		return s;
	n = drain_stack(h->stacks_fd, idx, &st);
	n = trim_stack(h, &st, n > 0 ? n : 0, ips);
	return goheap_new_site(h, m, key, ips, n);
}

/* A dead sample leaves its span's entry (the entry goes with its last). */
static void forget_in_span(struct lw_goheap *h, uint64_t addr, uint64_t start)
{
	struct lw_go_span_key sk = { .tgid = h->pid, .start = start };
	struct lw_go_span_val v;
	bool any = false;
	int i;

	if (bpf_map_lookup_elem(h->spans_fd, &sk, &v))
		return;
	for (i = 0; i < LW_GO_SPAN_SAMPLES; i++) {
		if (v.addr[i] == addr)
			v.addr[i] = 0;
		any |= v.addr[i] != 0;
	}
	if (any)
		bpf_map_update_elem(h->spans_fd, &sk, &v, BPF_EXIST);
	else
		bpf_map_delete_elem(h->spans_fd, &sk);
}

/* What one live sample stands for, in bytes. */
static double estimate(const struct lw_go_sample_val *v)
{
	double w = (double)v->weight;

	return w / (1 - exp(-w / LW_GO_SAMPLE_MEAN));
}

static void fold(struct lw_goheap *h, struct lw_model *m,
		 const struct lw_go_sample_key *k,
		 const struct lw_go_sample_val *v, const struct heap_now *now)
{
	struct lw_site *s = sample_site(h, m, v->site);
	double bytes = estimate(v);
	int64_t count = llround(bytes / v->elemsize);
	int live = live_at(h, now, k->addr, v->elemsize, v->sweepgen);

	if (!s)
		return;
	if (live == 0) {
		/* freed: no longer counted, counted as a free */
		s->go_freed += count;
		bpf_map_delete_elem(h->samples_fd, k);
		forget_in_span(h, k->addr, v->start);
		h->sample_frees++;
		return;
	}
	if (live == 2)
		return; /* as the runtime's profile: counted once a GC saw it */
	if (live < 0)
		h->sample_unreadable++;
	s->k.bytes += llround(bytes);
	s->k.allocs += count;
}

int gosample_update(struct lw_goheap *h, struct lw_model *m)
{
	struct lw_go_sample_key keys[BATCH], *in = NULL, out_key;
	struct lw_go_sample_val vals[BATCH];
	struct heap_now now;
	__u32 count, i;
	size_t j;
	int err;

	err = heap_now(h, &now);
	if (err)
		return err;
	/* samples of an older image: once per exec, not a map walk a report */
	if (m->epoch != h->samples_epoch) {
		drain_prune(h->samples_fd, sizeof(struct lw_go_sample_key),
			    h->pid, m->epoch);
		h->samples_epoch = m->epoch;
	}
	for (j = 0; j < m->n; j++)
		if (m->sites[j].go_heap)
			memset(&m->sites[j].k, 0, sizeof(m->sites[j].k));
	h->sample_unreadable = 0;
	do {
		count = BATCH;
		err = bpf_map_lookup_batch(h->samples_fd, in, &out_key, keys,
					   vals, &count, NULL);
		if (err && errno != ENOENT)
			return -errno;
		for (i = 0; i < count; i++)
			if (keys[i].tgid == (__u32)h->pid &&
			    keys[i].epoch == m->epoch)
				fold(h, m, &keys[i], &vals[i], &now);
		in = &out_key;
	} while (!err);
	lw_debug("Go heap samples of %d: %llu freed so far, %llu unreadable",
		 h->pid, (unsigned long long)h->sample_frees,
		 (unsigned long long)h->sample_unreadable);
	h->tot.sites_bytes = 0;
	for (j = 0; j < m->n; j++) {
		struct lw_site *s = &m->sites[j];

		if (!s->go_heap)
			continue;
		s->k.allocs += s->go_freed;
		s->k.frees = s->go_freed;
		s->value_t = h->published_t;
		h->tot.sites_bytes += s->k.bytes;
	}
	return 0;
}
