/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sampling the Go heap of a program whose memory profile the linker
 * disabled (runtime.MemProfileRate is 0 and must not be written).
 *
 * A probe on every mallocgc would trap on every allocation. The runtime's
 * slower paths run once per span of a size class (mcache.refill, right
 * after mcentral.cacheSpan hands it a span) and once per large object
 * (mcache.allocLarge, right after mheap.alloc): both have the *mspan in
 * RAX there, and the allocation that needed it is on the goroutine's
 * stack. An event covers `weight` bytes of allocation: the span's free
 * slots (the next allocations of that class on this P) or the large
 * object. Events are sampled as a Poisson process over those bytes (mean
 * LW_GO_SAMPLE_MEAN, like the runtime's own rate): a sampled event keeps
 * one object, the one the allocation now in progress gets (the span's
 * first free slot), so each object of the event is as likely to be kept;
 * user space weighs it by weight / P(sampled) and checks, every report,
 * whether it is still allocated.
 *
 * A collected object's slot is reused only once the runtime hands its
 * span out again, through these same two points: there, before anything
 * is allocated from the span, a sample whose slot is free (its allocBits
 * bit clear, the span just swept) is dead, and dropped, before another
 * object can take its place and look like it.
 */
#ifndef LW_GO_HEAP_BPF_H
#define LW_GO_HEAP_BPF_H

/* Exponential draws (bytes to the next sample), filled by user space. */
__u64 go_exp[LW_GO_EXP_TABLE];

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_GO_SAMPLES); /* set at load */
	__type(key, struct lw_go_sample_key);
	__type(value, struct lw_go_sample_val);
} go_samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_GO_SAMPLES); /* set at load */
	__type(key, struct lw_go_span_key);
	__type(value, struct lw_go_span_val);
} go_sample_spans SEC(".maps");

/* The head of the mspan a probe looks at (too big for the BPF stack). */
struct go_span_head {
	__u8 b[LW_GO_SPAN_HEAD];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct go_span_head);
} go_head SEC(".maps");

/* Bytes to go before the next sample, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} go_left SEC(".maps");

/*
 * The head of the mspan, read at once: one read of the target's memory
 * per hit, not one per field (each costs a page walk). Every field used
 * lies in its first LW_GO_SPAN_HEAD bytes (user space checks the layout).
 */
static __always_inline __u64 span_field(const __u8 *head, __u16 off, __u8 size)
{
	__u64 v = 0;

	if (off > LW_GO_SPAN_HEAD - 8)
		return 0;
	bpf_probe_read_kernel(&v,
			      size == 2	  ? 2
			      : size == 4 ? 4
					  : 8,
			      head + off);
	return v;
}

/* Trailing zeros of a non-zero word: a binary search (BPF has no ctz). */
static __always_inline __u32 ctz64(__u64 x)
{
	__u32 n = 0;

	if (!(x & 0xffffffffull)) {
		n += 32;
		x >>= 32;
	}
	if (!(x & 0xffff)) {
		n += 16;
		x >>= 16;
	}
	if (!(x & 0xff)) {
		n += 8;
		x >>= 8;
	}
	if (!(x & 0xf)) {
		n += 4;
		x >>= 4;
	}
	if (!(x & 0x3)) {
		n += 2;
		x >>= 2;
	}
	return n + !(x & 1);
}

/* Whether this event of weight bytes is sampled (and the next distance). */
static __always_inline bool go_sampled(__u64 weight)
{
	__u32 zero = 0;
	__s64 *left = bpf_map_lookup_elem(&go_left, &zero);

	if (!left)
		return false;
	*left -= (__s64)weight;
	if (*left > 0)
		return false;
	*left = (__s64)go_exp[bpf_get_prandom_u32() % LW_GO_EXP_TABLE];
	return true;
}

/* The span at start is handed out again: its samples in free slots died. */
static __always_inline void go_span_reused(const struct lw_go_span *l,
					   struct owner o, const __u8 *head,
					   __u64 start, __u64 elemsize,
					   bool large)
{
	struct lw_go_span_key sk = { .tgid = o.tgid, .start = start };
	struct lw_go_sample_key key = { .tgid = o.tgid, .epoch = o.epoch };
	struct lw_go_span_val *v = bpf_map_lookup_elem(&go_sample_spans, &sk);
	__u64 bits, idx;
	__u8 b;
	int i;

	if (!v)
		return;
	bits = span_field(head, l->allocbits, 8);
	for (i = 0; i < LW_GO_SPAN_SAMPLES; i++) {
		if (!v->addr[i])
			continue;
		/* a large span is a new object: the old one is gone */
		if (!large) {
			idx = (v->addr[i] - start) / elemsize;
			b = 0;
			if (!bits || bpf_probe_read_user(
					     &b, 1, (void *)(bits + idx / 8)))
				continue;
			if (b >> (idx % 8) & 1)
				continue; /* still allocated */
		}
		key.addr = v->addr[i];
		bpf_map_delete_elem(&go_samples, &key);
		v->addr[i] = 0;
	}
}

/* Notes a new sample in its span's entry (a full entry loses its first). */
static __always_inline void go_span_note(struct owner o, __u64 start,
					 __u64 addr)
{
	struct lw_go_span_key sk = { .tgid = o.tgid, .start = start };
	struct lw_go_span_val fresh = { .addr = { addr } }, *v;
	int i;

	v = bpf_map_lookup_elem(&go_sample_spans, &sk);
	if (!v) {
		if (bpf_map_update_elem(&go_sample_spans, &sk, &fresh, BPF_ANY))
			count(LW_CNT_GO_SAMPLE_MAP_FULL);
		return;
	}
	for (i = 0; i < LW_GO_SPAN_SAMPLES; i++)
		if (!v->addr[i]) {
			v->addr[i] = addr;
			return;
		}
	v->addr[0] = addr;
}

static __always_inline void go_span_event(struct pt_regs *ctx,
					  const struct lw_target_val *t,
					  struct owner o, bool large)
{
	const struct lw_go_span *l = &t->go_span;
	struct lw_go_sample_key key = { .tgid = o.tgid, .epoch = o.epoch };
	struct lw_go_sample_val val = { .span = ctx->ax, .gen = cur_gen };
	__u64 span = ctx->ax, start, elemsize, nelems, used, cache, idx;
	__u32 zero = 0;
	struct go_span_head *hb = bpf_map_lookup_elem(&go_head, &zero);
	const __u8 *head;

	if (!hb || !l->elemsize || !span ||
	    bpf_probe_read_user(hb->b, sizeof(hb->b), (void *)span))
		return;
	head = hb->b;
	start = span_field(head, l->startaddr, 8);
	elemsize = span_field(head, l->elemsize, 8);
	if (!start || !elemsize)
		return;
	go_span_reused(l, o, head, start, elemsize, large);
	if (large) {
		val.weight = elemsize;
	} else {
		nelems = span_field(head, l->nelems, l->nelems_size);
		used = span_field(head, l->alloccount, 2);
		val.weight = used < nelems ? (nelems - used) * elemsize : 0;
	}
	if (!val.weight || !go_sampled(val.weight))
		return;
	key.addr = start;
	if (!large) {
		/* nextFreeIndex: the low bit of allocCache is freeindex */
		cache = span_field(head, l->alloccache, 8);
		if (!cache) {
			count(LW_CNT_GO_SAMPLE_UNPLACED);
			return;
		}
		idx = span_field(head, l->freeindex, l->freeindex_size) +
		      ctz64(cache);
		key.addr = start + idx * elemsize;
	}
	val.elemsize = (__u32)elemsize;
	val.start = start;
	val.sweepgen = (__u32)span_field(head, l->sweepgen, 4);
	val.site = site_of(ctx->ip, ctx->bp, ctx->sp, LW_KIND_GO_HEAP, 0, o);
	if (bpf_map_update_elem(&go_samples, &key, &val, BPF_ANY)) {
		count(LW_CNT_GO_SAMPLE_MAP_FULL);
		return;
	}
	go_span_note(o, start, key.addr);
	count(LW_CNT_GO_SAMPLE);
}

SEC("uprobe.multi")
int BPF_KPROBE(go_heap_probe)
{
	struct lw_target_val *t;
	struct owner o;

	t = traced(&o);
	if (!t)
		return 0;
	go_span_event(ctx, t, o, bpf_get_attach_cookie(ctx) == LW_FN_GO_LARGE);
	return 0;
}

#endif
