/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between the kernel-allocation programs (bpf/kmem.bpf.c) and
 * user/kmem.c: outstanding kernel memory by kernel stack. Like
 * leakwatch.h, free of libc and kernel headers. (Not "kmem.h": user/kmem.h
 * is the user-space API, and both directories are on the include path.)
 */
#ifndef LEAKWATCH_KMEM_H
#define LEAKWATCH_KMEM_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Frames kept of a kernel stack: the stack map's value size. */
#define LW_KMEM_STACK_DEPTH 64

/*
 * The site of allocations whose stack was lost (a stack id error): they
 * are still accounted, so that the totals stay right.
 */
#define LW_KMEM_NO_STACK 0xffffffffu

/*
 * A live allocation. The allocators' address spaces differ (a slab object
 * is a kernel virtual address, a page is its struct page, a per-CPU block
 * an offset into the per-CPU areas), so the kind is part of the key.
 */
enum lw_kmem_kind {
	LW_KMEM_SLAB = 1, /* kmalloc, kmem_cache_alloc: freed by kfree and
			     kmem_cache_free alike */
	LW_KMEM_PAGE,	  /* the page allocator, keyed by struct page * */
	LW_KMEM_PERCPU,
};

struct lw_kmem_key {
	__u64 addr;
	__u32 kind; /* enum lw_kmem_kind */
	__u32 pad;
};

struct lw_kmem_live {
	__u64 size;
	__u32 site; /* a stack id, or LW_KMEM_NO_STACK */
	__u32 pad;
};

/* One allocating kernel stack: what its allocations still hold. */
struct lw_kmem_agg {
	__s64 bytes;  /* outstanding bytes */
	__u64 allocs; /* allocations since attach */
	__u64 frees;  /* frees of those */
};

/*
 * Counters, an index into the "counters" per-CPU array; the list also
 * names them in user space (drop = 1: something was lost).
 */
#define LW_KMEM_COUNTERS(X)                                                    \
	X(LIVE_MAP_FULL, "kmem_map_full", 1) /* allocation not recorded */     \
	/* a program nested in another (an interrupt) found the live map's     \
	 * bucket locked: that allocation or free is not recorded */           \
	X(LIVE_MAP_BUSY, "kmem_map_busy", 1)                                   \
	X(SITE_MAP_FULL, "kmem_site_map_full", 1) /* not accounted */          \
	X(STACK_COLLISION, "kmem_stack_collisions",                            \
	  1) /* two stacks, one id */                                          \
	X(STACK_MAP_FULL, "kmem_stack_map_full", 1)                            \
	X(STACK_ERROR, "kmem_stack_errors", 1) /* any other stackid error */   \
	/* a block allocated again while live: its free was never seen (bulk   \
	 * frees have no tracepoint); its old site gives it back then */       \
	X(MISSED_FREE, "kmem_missed_frees", 1)                                 \
	/* frees of blocks allocated before attach (or by leakwatch) */        \
	X(UNMATCHED_FREE, "kmem_unmatched_frees", 0)

#define LW_KMEM_COUNTER_ENUM(id, name, drop) LW_KMEM_CNT_##id,
enum lw_kmem_counter {
	LW_KMEM_COUNTERS(LW_KMEM_COUNTER_ENUM) LW_KMEM_CNT_MAX
};
#undef LW_KMEM_COUNTER_ENUM

#endif /* LEAKWATCH_KMEM_H */
