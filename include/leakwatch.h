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
#define LW_MAX_SITES	   (1 << 16) /* default of --max-sites */
#define LW_MAX_TARGETS	   1024	     /* processes traced in depth at once */
#define LW_RINGBUF_BYTES   (1 << 20)

/*
 * A process traced in depth (the target, or a zoomed process of a
 * system-wide run), by tgid. Probes of other processes return at once.
 * The epoch counts its execs (and, system-wide, its zooms): it is part of
 * every key, so what an old program image or an earlier zoom left behind
 * never matches. Go processes carry their runtime.g offsets.
 */
/*
 * A Go program whose memory profile the linker disabled: where the
 * runtime.mspan fields are that place a sampled object (all 0: no
 * sampling). Sizes are in bytes (freeindex and nelems were uintptr up to
 * Go 1.21, uint16 after).
 */
#define LW_GO_SPAN_HEAD 128 /* bytes of an mspan the probe reads */

struct lw_go_span {
	__u16 startaddr, nelems, elemsize, freeindex;
	__u16 alloccache, alloccount, sweepgen, allocbits;
	__u8 nelems_size, freeindex_size;
	__u16 pad;
};

struct lw_target_val {
	__u32 epoch;
	__u32 go_goid_off;
	__u32 go_startpc_off;
	__u32 exec_closed; /* descriptors its execs closed (close-on-exec) */
	struct lw_go_span go_span;
};

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
	LW_FN_GO_REFILL, /* mcache.refill, after cacheSpan: the span in RAX */
	LW_FN_GO_LARGE,	 /* mcache.allocLarge, after mheap.alloc: likewise */
	LW_FN_MAX,
};

/*
 * Loss and anomaly counters: index into the "counters" per-CPU array. One
 * list makes the enum and, in user space, the names shown in "drops" and
 * "stats" (drop = 1: something was lost; 0: a fact worth counting).
 */
#define LW_COUNTERS(X)                                                         \
	X(ALLOC_MAP_FULL, "alloc_map_full", 1) /* live alloc not recorded */   \
	X(SITE_MAP_FULL, "site_map_full", 1)   /* no index for a new stack */  \
	X(PENDING_FULL, "pending_map_full", 1) /* no room for entry state */   \
	X(STACK_COLLISION, "stack_collisions", 1) /* one hash, two stacks */   \
	X(STACK_MAP_FULL, "stack_map_full", 1)	  /* no room for its hash */   \
	X(RINGBUF_LOST, "ringbuf_lost", 1)	  /* mmap record dropped */    \
	X(UNMATCHED_FREE, "unmatched_frees", 1)	  /* block not seen alloc'd */ \
	X(FAILED_ALLOC, "failed_allocs", 0)	  /* NULL / MAP_FAILED */      \
	X(NESTED_CALL, "nested_calls", 0) /* inside another: ignored */        \
	X(GO_MAP_FULL, "goroutine_map_full", 1)                                \
	X(GO_UNSEEN_EXIT, "goroutine_exits_unseen_birth", 0)                   \
	X(GO_READ_ERROR, "goroutine_read_errors", 1) /* g not readable */      \
	X(THREAD_MAP_FULL, "thread_map_full", 1)                               \
	/* a stack walk stopped before its end: no rule, bad frame, depth */   \
	X(TRUNCATED_STACK, "truncated_stacks", 1)                              \
	/* a walk met a file whose unwind table was being built: it stopped */ \
	X(UNWIND_NO_TABLE, "unwind_no_table_frames", 1)                        \
	X(FILE_EVENT_LOST, "unwind_file_requests_lost", 1)                     \
	/* a call's return was never seen (the next call healed it) */         \
	X(LOST_EXIT, "lost_exits", 1)                                          \
	/* Go heap sampling: samples taken; lost for want of room; spans       \
	 * whose next free object could not be placed (no sample) */           \
	X(GO_SAMPLE, "go_heap_samples", 0)                                     \
	X(GO_SAMPLE_MAP_FULL, "go_heap_sample_map_full", 1)                    \
	X(GO_SAMPLE_UNPLACED, "go_heap_samples_unplaced", 1)                   \
	/* descriptors: opens not recorded for want of room; a struct file     \
	 * not readable; a close_range longer than one pass (the report's      \
	 * reconcile finds the rest) */                                        \
	X(FD_MAP_FULL, "fd_map_full", 1)                                       \
	X(FD_READ_ERROR, "fd_read_errors", 1)                                  \
	X(FD_RANGE_CAPPED, "fd_close_ranges_capped", 0)                        \
	/* --sample: allocator calls seen at entry, and those sampled */       \
	X(HEAP_CALL, "heap_calls", 0)                                          \
	X(HEAP_SAMPLE, "heap_samples", 0)                                      \
	/* the target's mmap lock was busy at a VMA lookup of a walk: the      \
	 * cache of lately found VMAs answered, or the walk stopped there */   \
	X(VMA_BUSY, "vma_lookups_busy", 0)

#define LW_COUNTER_ENUM(id, name, drop) LW_CNT_##id,
enum lw_counter {
	LW_COUNTERS(LW_COUNTER_ENUM) LW_CNT_MAX
};
#undef LW_COUNTER_ENUM

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
	LW_KIND_GO_HEAP,   /* stacks only: a Go heap sample (a heap site) */
	LW_KIND_FD,	   /* the stack that opened a descriptor */
};

struct lw_stack {
	__u32 epoch; /* the exec epoch of the image the frames belong to */
	__u32 kind;  /* enum lw_site_kind */
	__u32 tgid;  /* the process: a site is one process's */
	__u32 pad;
	__u64 start; /* goroutine sites: the start function of the first one */
	__u64 ips[LW_MAX_STACK_DEPTH]; /* innermost first, 0-terminated */
};

struct lw_site_val {
	__s64 bytes;  /* outstanding bytes (--sample: their estimate) */
	__u64 allocs; /* allocations since attach (--sample: samples) */
	__u64 frees;  /* frees of those: outstanding = allocs - frees */
	__s64 gen_count[LW_NGEN];
	/* --sample: what the samples allocated and freed stand for, in
	 * objects of 1 / LW_SAMPLE_ONE (a sample of size s stands for
	 * 1 / (1 - e^(-s / mean)) of them) */
	__u64 est_allocs, est_frees;
};

/*
 * --sample BYTES: byte-weighted sampling of the C heap, a Poisson process
 * of mean BYTES over the bytes allocated (bpf/sample.bpf.h). Its tables,
 * filled by user space: the distances to the next sample (quantiles of
 * the exponential distribution), and f(x) = x / (1 - e^(-x)) at
 * x = i / LW_SAMPLE_STEPS in 1 / 65536, so that a sample of size s stands
 * for mean * f(s / mean) bytes (for s >= LW_SAMPLE_SPAN * mean: s).
 */
#define LW_SAMPLE_ONE	    1024
#define LW_SAMPLE_EXP_TABLE 4096
#define LW_SAMPLE_STEPS	    256
#define LW_SAMPLE_SPAN	    16
#define LW_SAMPLE_WF_TABLE  (LW_SAMPLE_STEPS * LW_SAMPLE_SPAN)
#define LW_SAMPLE_MAX	    (1ull << 30) /* the largest mean: no overflow */

/* A live goroutine created after attach: goids are per process. */
struct lw_go_key {
	__u32 tgid;
	__u32 pad;
	__u64 goid;
};

struct lw_go_val {
	__u32 site;
	__u32 gen;
};

/*
 * A sampled Go heap object, by its address: the span it was in and what
 * the sample stands for (weight: the bytes of allocation the sampled
 * event covered, a span's free slots or a large object; the estimate is
 * weight / (1 - e^(-weight / mean))).
 */
struct lw_go_sample_key {
	__u32 tgid;
	__u32 epoch;
	__u64 addr;
};

struct lw_go_sample_val {
	__u64 span;
	__u64 start; /* the span's first byte: its go_sample_spans key */
	__u64 weight;
	__u32 elemsize;
	__u32 site;
	__u32 sweepgen; /* the span's, when sampled: the heap's then */
	__u32 gen;
};

/*
 * The samples in one span (by its start address): when the runtime hands
 * the span out again, a sample whose slot is free then was collected, and
 * its slot is about to hold another object (so a later look could not
 * tell). Slots of 0 are empty.
 */
#define LW_GO_SPAN_SAMPLES 4

struct lw_go_span_key {
	__u32 tgid;
	__u32 pad;
	__u64 start;
};

struct lw_go_span_val {
	__u64 addr[LW_GO_SPAN_SAMPLES];
};

#define LW_GO_SAMPLE_MEAN (512u << 10) /* bytes, as the runtime's rate */
#define LW_GO_EXP_TABLE	  256	       /* draws of the sampling distance */
#define LW_MAX_GO_SAMPLES (1 << 16)    /* default room for live samples */

/*
 * A live descriptor opened since attach, by (process, exec epoch, fd
 * number). The struct file it named tells a reused number from the old
 * one: a close whose number names another file already is not its
 * close, and the report's reconcile (every open file, by iterator)
 * finds an entry whose file is gone.
 */
struct lw_fd_key {
	__u32 tgid;
	__u32 epoch;
	__u32 fd;
	__u32 pad;
};

struct lw_fd_val {
	__u64 file; /* the struct file's address, a name only */
	__u32 site;
	__u32 gen;
};

/* One open descriptor of the process, as the file iterator sees it. */
struct lw_fd_snap {
	__u32 fd;
	__u32 pad;
	__u64 file;
};

#define LW_MAX_FDS	(1 << 18)
#define LW_FD_RANGE_MAX (1 << 16) /* descriptors one close_range walks */

#define LW_MAX_GOROUTINES (1 << 20)
#define LW_MAX_THREADS	  (1 << 16)

/*
 * Unwind tables: how to leave a frame at each return address of a mapped
 * file, from its DWARF CFI, shared by every process that maps the file.
 * The walk finds a return address's file and file offset from its VMA
 * (bpf_find_vma), the file's table by the kernel's (s_dev, i_ino), then
 * the page of the offset (an array index: a file's pages are contiguous),
 * then the entry among the page's sorted entries.
 * A file the walk meets before user space loaded its table is asked for
 * (file_events); until it is there, walks stop at its frames (counted).
 */
/*
 * "Pages" of 256 bytes: a few calls each, so that a lookup touches one
 * cache line of entries (memory touched is what a probe hit pays for).
 */
#define LW_CFI_PAGE_SHIFT    8
#define LW_CFI_RULE_BITS     24	 /* an entry: page offset << 24 | rule index */
#define LW_CFI_PAGE_MAX	     128 /* entries a page may hold (2-byte calls) */
#define LW_CFI_PAGE_HALVINGS 8	 /* binary search steps over PAGE_MAX */

enum lw_cfi_kind {
	LW_CFI_CFA_RSP = 1, /* CFA = rsp + cfa_off */
	LW_CFI_CFA_RBP,	    /* CFA = rbp + cfa_off */
	LW_CFI_END,	    /* the outermost frame (_start, a thread's start) */
	LW_CFI_SIGNAL,	    /* a signal trampoline: registers in ucontext */
	LW_CFI_STOP,	    /* CFI says something the walk cannot follow */
};

struct lw_cfi_rule {
	__s32 cfa_off;
	__s32 rbp_off; /* caller's rbp saved at CFA + rbp_off; 0: unchanged */
	__u32 kind;    /* enum lw_cfi_kind; the return address is at CFA-8 */
};

enum lw_file_state {
	LW_FILE_PENDING, /* asked for; no table yet */
	LW_FILE_READY,	 /* pages and entries loaded */
	LW_FILE_NONE,	 /* no CFI (or it could not be read): frame pointers */
};

/* A mapped file as the kernel knows it: vm_file->f_inode. */
struct lw_file_key {
	__u64 dev; /* i_sb->s_dev: MAJOR << 20 | MINOR */
	__u64 ino;
};

struct lw_file_val {
	__u32 id;
	__u32 state;	 /* enum lw_file_state */
	__u32 page_base; /* its pages: cfi_pages[page_base + page - page_lo] */
	__u32 page_lo;	 /* the first page (file offset >> PAGE_SHIFT) with
			    entries */
	__u32 npages;
	__u32 pad;
};

/* One page of a file: its entries, sorted, in cfi_entries. */
struct lw_cfi_page {
	__u32 first;
	__u32 count;
};

/* The walk met a file without a table: user space builds it. */
struct lw_file_event {
	struct lw_file_key key;
	__u64 start, end; /* the VMA, to open /proc/TGID/map_files/S-E */
	__u32 tgid;
	__u32 pad;
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
	__u64 sp;    /* the stack pointer at its entry */
	__u64 ret;   /* the return address there, [sp] */
	__u32 fn;    /* 0: no allocator call in flight on this thread */
	__u32 depth; /* nested allocator calls seen inside this one */
	/* --sample: bytes to the thread's next sample (0: none drawn yet) */
	__s64 sample_left;
	/* an unsampled call in flight (its return is not probed): its
	 * stack pointer, return address and probe address (0 when none),
	 * the size it asked for, its first argument and its function */
	__u64 u_sp, u_ret, u_ip, u_size, u_arg0;
	__u32 u_fn;
	__u32 sampled; /* the call in flight keeps its new block */
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
