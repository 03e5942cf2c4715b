// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel allocations: the slab, page and per-CPU allocators' tracepoints
 * keep one record per live block and one aggregate per allocating kernel
 * stack. User space reads the aggregates and, once per id, the stacks; it
 * never walks the live blocks.
 *
 * Every program is tp_btf (no tracefs, no kprobes). Tracepoints this
 * kernel lacks are left unloaded by user space; the ones whose prototype
 * changed read their arguments by the layout CO-RE finds at load.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leakwatch_kmem.h"

#define PAGE_SIZE 4096ull
#define ENOMEM	  12
#define EBUSY	  16
#define EEXIST	  17

char LICENSE[] SEC("license") = "GPL";

/* leakwatch itself: its map updates and page faults are not the kernel's */
const volatile __u32 self_tgid;

/* Sizes are set at load (bpf_map__set_max_entries); 1 is a placeholder. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct lw_kmem_key);
	__type(value, struct lw_kmem_live);
} kmem_live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, LW_KMEM_STACK_DEPTH * sizeof(__u64));
} kmem_stacks SEC(".maps");

/* By stack id (LW_KMEM_NO_STACK too): one more entry than stacks. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_kmem_agg);
} kmem_sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LW_KMEM_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} kmem_counters SEC(".maps");

static __always_inline void count(enum lw_kmem_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&kmem_counters, &key);

	if (v)
		*v += 1;
}

/*
 * The frames of our own calling: the program, then the bpf_trace_run<N>
 * that the tracepoint calls it from (its __bpf_trace_<event> jumps there).
 * The stack then starts in the allocator that hit the tracepoint.
 */
#define OWN_FRAMES 2

/*
 * The kernel stack of this allocation. Without BPF_F_REUSE_STACKID an id
 * never changes meaning, so user space may read each stack once.
 */
static __always_inline __u32 stack_of(void *ctx)
{
	long id = bpf_get_stackid(ctx, &kmem_stacks,
				  OWN_FRAMES & BPF_F_SKIP_FIELD_MASK);

	if (id >= 0)
		return id;
	if (id == -EEXIST)
		count(LW_KMEM_CNT_STACK_COLLISION);
	else if (id == -ENOMEM)
		count(LW_KMEM_CNT_STACK_MAP_FULL);
	else
		count(LW_KMEM_CNT_STACK_ERROR);
	return LW_KMEM_NO_STACK;
}

static __always_inline struct lw_kmem_agg *site_get(__u32 site)
{
	struct lw_kmem_agg zero = {}, *agg;

	agg = bpf_map_lookup_elem(&kmem_sites, &site);
	if (agg)
		return agg;
	/* another CPU may add it first: then the lookup finds its entry */
	bpf_map_update_elem(&kmem_sites, &site, &zero, BPF_NOEXIST);
	agg = bpf_map_lookup_elem(&kmem_sites, &site);
	if (!agg)
		count(LW_KMEM_CNT_SITE_MAP_FULL);
	return agg;
}

static __always_inline void site_sub(const struct lw_kmem_live *old)
{
	struct lw_kmem_agg *agg = bpf_map_lookup_elem(&kmem_sites, &old->site);

	if (!agg)
		return;
	__sync_fetch_and_add(&agg->bytes, -(__s64)old->size);
	__sync_fetch_and_add(&agg->frees, 1);
}

/*
 * A block already live under this key was freed without us seeing it (the
 * bulk frees have no tracepoint): its site gets it back, then the new
 * record replaces it.
 */
static __always_inline long replace_live(const struct lw_kmem_key *key,
					 const struct lw_kmem_live *val)
{
	struct lw_kmem_live *old = bpf_map_lookup_elem(&kmem_live, key), copy;
	long err;

	if (!old) /* freed meanwhile */
		return bpf_map_update_elem(&kmem_live, key, val, BPF_NOEXIST);
	copy = *old;
	err = bpf_map_update_elem(&kmem_live, key, val, BPF_EXIST);
	if (err)
		return err;
	count(LW_KMEM_CNT_MISSED_FREE);
	site_sub(&copy);
	return 0;
}

static __always_inline void track_alloc(void *ctx, __u32 kind, __u64 addr,
					__u64 size)
{
	struct lw_kmem_key key = { .addr = addr, .kind = kind };
	struct lw_kmem_live val = { .size = size };
	struct lw_kmem_agg *agg;
	long err;

	/* NULL and ZERO_SIZE_PTR (16): nothing was allocated */
	if (addr <= 16 || (bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return;
	val.site = stack_of(ctx);
	agg = site_get(val.site);
	if (!agg)
		return;
	err = bpf_map_update_elem(&kmem_live, &key, &val, BPF_NOEXIST);
	if (err == -EEXIST)
		err = replace_live(&key, &val);
	if (err) {
		count(err == -EBUSY ? LW_KMEM_CNT_LIVE_MAP_BUSY
				    : LW_KMEM_CNT_LIVE_MAP_FULL);
		return;
	}
	__sync_fetch_and_add(&agg->bytes, size);
	__sync_fetch_and_add(&agg->allocs, 1);
}

/* Frees are taken from every process: a block outlives its allocator. */
static __always_inline void track_free(__u32 kind, __u64 addr)
{
	struct lw_kmem_key key = { .addr = addr, .kind = kind };
	struct lw_kmem_live *v, copy;
	long err;

	if (addr <= 16)
		return; /* kfree(NULL) is traced too */
	v = bpf_map_lookup_elem(&kmem_live, &key);
	if (!v) {
		count(LW_KMEM_CNT_UNMATCHED_FREE);
		return;
	}
	copy = *v;
	err = bpf_map_delete_elem(&kmem_live, &key);
	if (err == -EBUSY)
		count(LW_KMEM_CNT_LIVE_MAP_BUSY);
	if (err)
		return; /* -ENOENT: a concurrent free of the same block won */
	site_sub(&copy);
}

/*
 * The slab tracepoints. kmalloc's first four arguments are the same in
 * every layout: (call_site, ptr, bytes_req, bytes_alloc). Before Linux 6.1
 * a NUMA node had its own tracepoints, kmalloc_node and
 * kmem_cache_alloc_node; commit 11e9734bcb6a ("mm/slab_common: unify NUMA
 * and UMA version of tracepoints") folded them into kmalloc and
 * kmem_cache_alloc. User space loads the _node programs only where their
 * tracepoints exist.
 */
SEC("tp_btf/kmalloc")
int BPF_PROG(kmem_kmalloc, unsigned long call_site, const void *ptr,
	     size_t bytes_req, size_t bytes_alloc)
{
	track_alloc(ctx, LW_KMEM_SLAB, (__u64)ptr, bytes_alloc);
	return 0;
}

SEC("tp_btf/kmalloc_node")
int BPF_PROG(kmem_kmalloc_node, unsigned long call_site, const void *ptr,
	     size_t bytes_req, size_t bytes_alloc)
{
	track_alloc(ctx, LW_KMEM_SLAB, (__u64)ptr, bytes_alloc);
	return 0;
}

/*
 * Before Linux 6.1, kmem_cache_alloc shared kmalloc's event class
 * (kmem_alloc) and prototype, bytes_alloc fourth. Commit 2c1d697fb8ba
 * ("mm/slab_common: drop kmem_alloc & avoid dereferencing fields when not
 * using") passes the cache there instead: (call_site, ptr, s, gfp, node),
 * and the size is s->size. The old class's type tells the layouts apart.
 */
struct trace_event_raw_kmem_alloc___pre61 {
	size_t bytes_alloc;
} __attribute__((preserve_access_index));

static __always_inline __u64 cache_alloc_size(unsigned long long *ctx)
{
	struct kmem_cache *s = (void *)ctx[2];

	if (bpf_core_type_exists(struct trace_event_raw_kmem_alloc___pre61))
		return ctx[3]; /* bytes_alloc */
	return BPF_CORE_READ(s, size);
}

SEC("tp_btf/kmem_cache_alloc")
int BPF_PROG(kmem_cache_alloc)
{
	track_alloc(ctx, LW_KMEM_SLAB, ctx[1], cache_alloc_size(ctx));
	return 0;
}

/* Pre-6.1 only: (call_site, ptr, bytes_req, bytes_alloc, gfp, node). */
SEC("tp_btf/kmem_cache_alloc_node")
int BPF_PROG(kmem_cache_alloc_node, unsigned long call_site, const void *ptr,
	     size_t bytes_req, size_t bytes_alloc)
{
	track_alloc(ctx, LW_KMEM_SLAB, (__u64)ptr, bytes_alloc);
	return 0;
}

/* Both frees begin (call_site, ptr) in every layout. */
SEC("tp_btf/kfree")
int BPF_PROG(kmem_kfree, unsigned long call_site, const void *ptr)
{
	track_free(LW_KMEM_SLAB, (__u64)ptr);
	return 0;
}

SEC("tp_btf/kmem_cache_free")
int BPF_PROG(kmem_cache_free, unsigned long call_site, const void *ptr)
{
	track_free(LW_KMEM_SLAB, (__u64)ptr);
	return 0;
}

/*
 * Pages, keyed by their struct page. Movable ones (__GFP_MOVABLE, the same
 * bit since 2.6) are user memory and page cache, which processes own and
 * the kernel may migrate or reclaim: left out, their frees are unmatched.
 * The rest include the pages under new slabs and large kmallocs: those
 * bytes show twice, under the slab object's stack and under the page's
 * (allocate_slab, ___kmalloc_large_node).
 */
#define GFP_MOVABLE 0x08u

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(kmem_page_alloc, struct page *page, unsigned int order,
	     gfp_t gfp_flags)
{
	if (!(gfp_flags & GFP_MOVABLE))
		track_alloc(ctx, LW_KMEM_PAGE, (__u64)page, PAGE_SIZE << order);
	return 0;
}

SEC("tp_btf/mm_page_free")
int BPF_PROG(kmem_page_free, struct page *page)
{
	track_free(LW_KMEM_PAGE, (__u64)page);
	return 0;
}

/* Pages freed from a list (free_unref_folios): the order is recorded. */
SEC("tp_btf/mm_page_free_batched")
int BPF_PROG(kmem_page_free_batched, struct page *page)
{
	track_free(LW_KMEM_PAGE, (__u64)page);
	return 0;
}

/*
 * percpu_alloc_percpu gained call_site first and bytes_alloc, gfp_flags
 * last in 2022 ("percpu: improve percpu_alloc_percpu event trace"):
 *   old: (reserved, is_atomic, size, align, base_addr, off, ptr)
 *   new: (call_site, reserved, is_atomic, size, align, base_addr, off, ptr,
 *         bytes_alloc, gfp_flags)
 * The old layout has no bytes_alloc: its size is one CPU's share.
 */
SEC("tp_btf/percpu_alloc_percpu")
int BPF_PROG(kmem_percpu_alloc)
{
	if (bpf_core_field_exists(struct trace_event_raw_percpu_alloc_percpu,
				  call_site))
		track_alloc(ctx, LW_KMEM_PERCPU, ctx[7], ctx[8]);
	else
		track_alloc(ctx, LW_KMEM_PERCPU, ctx[6], ctx[2]);
	return 0;
}

/* (base_addr, off, ptr) in every layout. */
SEC("tp_btf/percpu_free_percpu")
int BPF_PROG(kmem_percpu_free, void *base_addr, int off, void *ptr)
{
	track_free(LW_KMEM_PERCPU, (__u64)ptr);
	return 0;
}
