/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --sample BYTES: byte-weighted sampling of the C heap. Each thread walks
 * a Poisson process of mean sample_bytes over the bytes it allocates (as
 * jemalloc, tcmalloc and the Go runtime do): a call is sampled when the
 * next point falls in its bytes, with probability p = 1 - e^(-s/mean)
 * for size s. Only sampled calls pay their return probe (session
 * uprobes: the entry program tells the kernel to skip the others), and
 * only sampled blocks are recorded; a sample stands for s / p bytes and
 * 1 / p objects, so the sums over a site's live samples are unbiased
 * estimates of its live bytes and blocks (pprof's scaling of heap
 * samples, per sample rather than per site average).
 */
#ifndef LW_SAMPLE_BPF_H
#define LW_SAMPLE_BPF_H

/* 0: every call is tracked (alloc_enter/alloc_exit, not the session). */
const volatile __u64 sample_bytes;

/* Filled by user space after load (include/leakwatch.h says what). */
__u64 sample_exp[LW_SAMPLE_EXP_TABLE];
__u32 sample_wf[LW_SAMPLE_WF_TABLE];

static __always_inline __s64 sample_draw(void)
{
	__u64 d = sample_exp[bpf_get_prandom_u32() % LW_SAMPLE_EXP_TABLE];

	return d ? (__s64)d : 1;
}

/*
 * Whether this call of size bytes is sampled, and the thread's next
 * distance. A thread's first call draws one first: starting at 0 would
 * sample every thread's first allocation and weigh it as a rare one.
 * After a sample the distance is drawn afresh from the call's end (the
 * process is memoryless, so this keeps p exact).
 */
static __always_inline bool sample_take(struct lw_pending *p, __u64 size)
{
	if (p->sample_left <= 0)
		p->sample_left = sample_draw();
	if (size < (__u64)p->sample_left) {
		p->sample_left -= size;
		return false;
	}
	p->sample_left = sample_draw();
	count(LW_CNT_HEAP_SAMPLE);
	return true;
}

/* The bytes a sample of size bytes stands for: size / p. */
static __always_inline __u64 sample_weight(__u64 size)
{
	__u64 r = sample_bytes, i;

	if (!r || size >= LW_SAMPLE_SPAN * r)
		return size;
	i = (size * LW_SAMPLE_STEPS + r / 2) / r;
	if (i >= LW_SAMPLE_WF_TABLE)
		return size;
	return (r * sample_wf[i]) >> 16;
}

/* The objects it stands for, 1 / p, in 1 / LW_SAMPLE_ONE. */
static __always_inline __u64 sample_objects(__u64 size, __u64 weight)
{
	return size ? weight * LW_SAMPLE_ONE / size : LW_SAMPLE_ONE;
}

/* A live sample of size bytes counted in (or out of) its site. */
static __always_inline void sample_site_add(__u32 idx, __u64 size, __u32 gen)
{
	struct lw_site_val *site = bpf_map_lookup_elem(&sites, &idx);
	__u64 w = sample_weight(size);

	if (!site)
		return;
	__sync_fetch_and_add(&site->bytes, w);
	__sync_fetch_and_add(&site->est_allocs, sample_objects(size, w));
	__sync_fetch_and_add(&site->allocs, 1);
	__sync_fetch_and_add(&site->gen_count[gen % LW_NGEN], 1);
}

static __always_inline void sample_site_sub(__u32 idx, __u64 size, __u32 gen)
{
	struct lw_site_val *site = bpf_map_lookup_elem(&sites, &idx);
	__u64 w = sample_weight(size);

	if (!site)
		return;
	__sync_fetch_and_add(&site->bytes, -(__s64)w);
	__sync_fetch_and_add(&site->est_frees, sample_objects(size, w));
	__sync_fetch_and_add(&site->frees, 1);
	__sync_fetch_and_add(&site->gen_count[gen % LW_NGEN], -1);
}

/*
 * Is a call entered inside the unsampled call p marked? That call's
 * return is not probed, so nothing clears the mark: it holds while the
 * call's frame does, i.e. while its return address is still in the slot
 * at its stack pointer and this call runs deeper. (Once the call has
 * returned, its caller's next call overwrites that slot.) malloc's own
 * mmap, realloc(NULL, n)'s malloc are such calls: not the program's.
 */
static __always_inline bool inside_unsampled(const struct lw_pending *p,
					     __u64 sp)
{
	__u64 slot = 0;

	if (!p->u_sp || sp >= p->u_sp)
		return false;
	if (bpf_probe_read_user(&slot, sizeof(slot), (void *)p->u_sp))
		return false;
	return slot == p->u_ret;
}

#endif
