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
 * How far from an allocator's probe a call it makes may return to: the
 * allocator's own code (glibc's malloc.c is ~60 KiB of text).
 */
#define LW_ALLOCATOR_SPAN (256u << 10)

/*
 * Is a call entered inside the unsampled call p marked? That call's
 * return is not probed, so nothing clears the mark. The call is inside
 * it while its frame lives: its return address still in the slot at its
 * stack pointer, this call deeper, and returning into the allocator's
 * own code (malloc's mmap, realloc(NULL, n)'s malloc: not the program's
 * calls). The slot alone is not enough: once the call has returned, the
 * same call instruction (an indirect call, a loop's tail call) puts the
 * same address there again for a call that is not an allocator.
 */
/*
 * A call at the unsampled call's own stack pointer and return address is
 * the program's next call from the same place, or that call jumping on
 * to another allocator (glibc: realloc(NULL, n) to malloc(n),
 * reallocarray to realloc (and on to malloc), the memalign family with a
 * small alignment to malloc). The arguments tell which.
 */
static __always_inline bool tail_call(const struct lw_pending *p, __u32 fn,
				      __u64 a0, __u64 size)
{
	if (size != p->u_size)
		return false;
	if (fn == LW_FN_MALLOC)
		return ((p->u_fn == LW_FN_REALLOC ||
			 p->u_fn == LW_FN_REALLOCARRAY) &&
			!p->u_arg0) ||
		       p->u_fn == LW_FN_ALIGNED_ALLOC ||
		       p->u_fn == LW_FN_POSIX_MEMALIGN ||
		       p->u_fn == LW_FN_VALLOC;
	return fn == LW_FN_REALLOC && p->u_fn == LW_FN_REALLOCARRAY &&
	       a0 == p->u_arg0;
}

/*
 * Whether a return address is the uprobe trampoline's: a uretprobe took
 * it at the call's entry. Any tracer's return probe on the function does
 * (the kernel prepares the return for every process that hits the
 * breakpoint, and only the tracer's program filters by process).
 */
static __always_inline bool trampoline(__u64 addr)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return addr == BPF_CORE_READ(t, mm, uprobes_state.xol_area, vaddr);
}

static __always_inline bool inside_unsampled(const struct lw_pending *p,
					     __u64 sp, __u64 ret, __u32 fn,
					     __u64 a0, __u64 size)
{
	__u64 slot = 0;

	if (!p->u_sp)
		return false;
	if (sp == p->u_sp && (ret == p->u_ret || trampoline(ret)))
		return tail_call(p, fn, a0, size);
	if (sp >= p->u_sp ||
	    ret - p->u_ip + LW_ALLOCATOR_SPAN >= 2 * LW_ALLOCATOR_SPAN)
		return false;
	if (bpf_probe_read_user(&slot, sizeof(slot), (void *)p->u_sp))
		return false;
	return slot == p->u_ret || trampoline(slot);
}

#endif
