/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel allocations: outstanding slab, page and per-CPU memory by kernel
 * stack, from the allocators' tracepoints (bpf/kmem.bpf.c), for the
 * "[kernel]" pseudo-process. Independent of the heap session: its own
 * programs, maps and links.
 *
 * Only what is allocated after kmem_open is seen; leakwatch's own
 * allocations are not recorded, nor movable pages (user memory and page
 * cache). Page counts include the pages under slabs and large kmallocs,
 * which also show as slab objects: a total over every site counts those
 * bytes twice. The slab's bulk frees (kmem_cache_free_bulk, kfree_bulk:
 * the maple tree's nodes, kfree_rcu batches) have no tracepoint: such a
 * block stays outstanding until its address is allocated again
 * (kmem_missed_frees).
 */
#ifndef LW_KMEM_H
#define LW_KMEM_H

#include <stddef.h>
#include <stdint.h>
#include "leakwatch_kmem.h"

/*
 * Distinct kernel stacks kept: the stack map's size, set at load. Its ids
 * are a hash of the frames: a stack whose id another holds is lost
 * (kmem_stack_collisions), more often the fuller the map. 17 MiB.
 */
#define KMEM_MAX_STACKS 32768

struct lw_kmem;

/*
 * Loads and attaches every program whose tracepoint this kernel has;
 * max_live: live blocks tracked (the map's size; a full map is counted).
 * NULL with a message printed (lw_err) on failure.
 */
struct lw_kmem *kmem_open(long max_live);

struct lw_kmem_site {
	uint32_t id; /* stack id; LW_KMEM_NO_STACK: the stacks lost */
	int depth;   /* frames in ips; 0 for LW_KMEM_NO_STACK */
	/* innermost first, from the allocator (__kmalloc_noprof, ...) */
	uint64_t ips[LW_KMEM_STACK_DEPTH];
	int64_t bytes;		/* outstanding */
	uint64_t allocs, frees; /* since attach */
};

/*
 * The current aggregates of every stack that allocated since attach, in no
 * order. *out is malloc'ed and reused across calls (*cap its room; free it
 * when done). A stack is read once per id and cached. Returns 0 or a
 * negative errno.
 */
int kmem_drain(struct lw_kmem *k, struct lw_kmem_site **out, size_t *cap,
	       size_t *n);

/*
 * The losses so far, as " name=value" for each one not zero (the format of
 * view_drops; "" when nothing was lost): the counters of leakwatch_kmem.h
 * and kmem_recursion_misses (events dropped because one of the programs
 * was already running on that CPU).
 */
void kmem_drops(struct lw_kmem *k, char *buf, size_t len);
/* The same for facts that are no loss: " kmem_unmatched_frees=N". */
void kmem_stats(struct lw_kmem *k, char *buf, size_t len);
/* Tracepoints this kernel lacks, space-separated ("" when none). */
const char *kmem_missing(const struct lw_kmem *k);

/* Detaches and frees everything; NULL is fine. */
void kmem_close(struct lw_kmem *k);

#endif
