/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between the BPF programs (bpf/) and the CLI (user/).
 * Both sides include this file; keep it free of libc and kernel headers
 * so it compiles in either world.
 */
#ifndef LEAKWATCH_H
#define LEAKWATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define LW_MAX_STACK_DEPTH 64
#define LW_MAX_LIVE_ALLOCS (1 << 20)
#define LW_MAX_SITES	   16384
#define LW_RINGBUF_BYTES   (1 << 20)

/*
 * Generations let user space bound the age of the oldest live allocation
 * of a site without walking the live-allocation map: every allocation is
 * counted in the slot of the generation (report interval) it was made in.
 */
#define LW_NGEN 8

/* Allocator entry points, passed to the programs as uprobe cookies. */
enum lw_fn {
	LW_FN_MALLOC = 1,
	LW_FN_CALLOC,
	LW_FN_REALLOC,
	LW_FN_REALLOCARRAY,
	LW_FN_POSIX_MEMALIGN,
	LW_FN_ALIGNED_ALLOC, /* also memalign: same arguments */
	LW_FN_VALLOC,
	LW_FN_PVALLOC,
	LW_FN_FREE,
	LW_FN_MMAP,
	LW_FN_MUNMAP,
	LW_FN_MREMAP,
	LW_FN_GO_NEWPROC, /* a RET of runtime.newproc1: the new g in RAX */
	LW_FN_GO_EXIT,	  /* runtime.goexit1 past its stack check: g in R14 */
	LW_FN_PTHREAD_CREATE, /* entry: the creating stack, start routine */
	LW_FN_CXX_THREAD,     /* std::thread::_M_start_thread entry: the same */
	LW_FN_MAX,
};

/* Loss and anomaly counters: index into the "counters" per-CPU array. */
enum lw_counter {
	LW_CNT_ALLOC_MAP_FULL,	/* live allocation could not be recorded */
	LW_CNT_SITE_MAP_FULL,	/* no site index left for a new stack */
	LW_CNT_PENDING_FULL,	/* no task storage for a call's entry state */
	LW_CNT_STACK_COLLISION, /* two stacks with one hash: one is lost */
	LW_CNT_STACK_MAP_FULL,	/* no room for a new stack's hash */
	LW_CNT_RINGBUF_LOST,	/* mmap-family record dropped */
	LW_CNT_UNMATCHED_FREE,	/* free of a block not seen allocated */
	LW_CNT_FAILED_ALLOC,	/* allocator returned NULL / MAP_FAILED */
	LW_CNT_NESTED_CALL,	/* allocator called inside another: ignored */
	LW_CNT_GO_MAP_FULL,	/* a new goroutine could not be recorded */
	LW_CNT_GO_UNSEEN_EXIT,	/* a goroutine born before attach exited */
	LW_CNT_GO_READ_ERROR,	/* the g struct could not be read */
	LW_CNT_THREAD_MAP_FULL, /* a new thread could not be recorded */
	LW_CNT_MAX,
};

/*
 * Keys start with (tgid, epoch): the epoch counts the target's execs, so
 * what the old program image left behind can never match the new one.
 */
struct lw_alloc_key {
	__u32 tgid;
	__u32 epoch;
	__u64 addr;
};

struct lw_alloc_val {
	__u64 size;
	__u32 site;
	__u32 gen;
};

/*
 * A site is one allocating stack of one program image. Sites are indices
 * into arrays (aggregates, stacks), so that a free finds its site without
 * a hash lookup; a hash of the frames (and the exec epoch) finds the index
 * of a stack seen before.
 *
 * Stacks are walked by our own program (bpf_get_stackid faults on the
 * garbage frame pointers of code built without them, and a fault costs
 * more than all our other work).
 */
#define LW_NO_SITE    0		  /* the allocations whose stack was lost */
#define LW_STACK_SPAN (16u << 20) /* a frame is at most this far above sp */

enum lw_site_kind {
	LW_KIND_HEAP,
	LW_KIND_GOROUTINE, /* the goroutine that ran the go statement */
	LW_KIND_THREAD,	   /* the stack that created the thread */
};

struct lw_stack {
	__u32 epoch; /* the exec epoch of the image the frames belong to */
	__u32 kind;  /* enum lw_site_kind */
	__u64 start; /* goroutine sites: the start function of the first one */
	__u64 ips[LW_MAX_STACK_DEPTH]; /* innermost first, 0-terminated */
};

struct lw_site_val {
	__s64 bytes;  /* outstanding bytes */
	__u64 allocs; /* allocations since attach */
	__u64 frees;  /* frees of those: outstanding = allocs - frees */
	__s64 gen_count[LW_NGEN];
};

/* A live goroutine created after attach, keyed by goid. */
struct lw_go_val {
	__u32 site;
	__u32 gen;
};

#define LW_MAX_GOROUTINES (1 << 20)
#define LW_MAX_THREADS	  (1 << 16)

/*
 * Code without frame pointers (libc, libstdc++): how to leave a frame at
 * a return address, from its DWARF CFI. A module is one object's code as
 * the target maps it; a rule is keyed by the object's file offset.
 */
#define LW_MAX_CFI_MODULES 8
#define LW_MAX_CFI_RULES   (1 << 18)

struct lw_cfi_module {
	__u64 start, end; /* [start, end): the executable mapping */
	__u64 off_base;	  /* file offset = pc - off_base */
	__u32 id;
	__u32 pad;
};

struct lw_cfi_key {
	__u32 module;
	__u32 off;
};

struct lw_cfi_rule {
	__s32 cfa_off; /* the caller's CFA = sp + cfa_off; its ret at CFA-8 */
	__s32 rbp_off; /* rbp saved at CFA + rbp_off; 0: rbp unchanged */
};

/*
 * One thread of the target as the thread iterator sees it, in a report:
 * its user registers as it last entered the kernel (where it blocks), the
 * ones an unwinder starts from (DWARF CFI or frame pointers).
 */
struct lw_thread_snap {
	__u32 tid;
	__u32 pad;
	__u64 ip, sp, bp, bx, r12, r13, r14, r15;
};

/* Entry state of an in-flight allocator call, keyed by thread id. */
struct lw_pending {
	__u64 arg0;
	__u64 arg1;
	__u64 arg2;
	__u32 fn;    /* 0: no allocator call in flight on this thread */
	__u32 depth; /* nested allocator calls seen inside this one */
};

/*
 * mmap-family calls go to user space: munmap and mremap may split a
 * mapping, which a hash map keyed by start address cannot express.
 */
enum lw_map_op {
	LW_MAP_MMAP = 1,
	LW_MAP_MUNMAP,
	LW_MAP_MREMAP,
};

struct lw_map_event {
	__u64 ts_ns;
	__u64 addr;	/* mmap result / munmap start / mremap old address */
	__u64 len;	/* mmap length / munmap length / mremap old length */
	__u64 new_addr; /* mremap result */
	__u64 new_len;	/* mremap new length */
	__u32 site;
	__u32 tgid;
	__u32 op;
	__u32 gen;
	__u32 epoch;
	__u32 pad;
};

#endif /* LEAKWATCH_H */
