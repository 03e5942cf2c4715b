/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Go runtime's own memory profile, read from outside the process: the
 * buckets of runtime.mbuckets (one per allocation stack and size) and the
 * counts of the published cycle, as runtime.MemProfile reports them.
 *
 * The runtime updates the records under locks we cannot take. A snapshot
 * is therefore taken twice and kept only when both walks agree and no
 * record contradicts itself (a bucket's bytes are its counts times its
 * object size; frees never outnumber allocations): a torn read is
 * retried, never reported as data.
 */
#ifndef LW_GOPROF_H
#define LW_GOPROF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "goheap_layout.h"

#define GOPROF_MAX_STACK 1024 /* GODEBUG=profstackdepth's ceiling (1.23) */

struct goprof_rec {
	uint64_t addr; /* the bucket in the target: stable, never freed */
	uint64_t size; /* object size of the bucket's allocations */
	/* a cycle's four words, in the runtime's order (read as an array) */
	uint64_t allocs, frees, alloc_bytes, free_bytes; /* sampled */
	uint64_t future[4]; /* the same, of the cycles not yet published */
	uint32_t nstk;
	size_t pc; /* its return addresses: pcs[pc .. pc + nstk) */
};

_Static_assert(offsetof(struct goprof_rec, free_bytes) ==
		       offsetof(struct goprof_rec, allocs) + 3 * 8,
	       "a cycle is four consecutive words");

struct goprof_snap {
	struct goprof_rec *r;
	size_t n, cap;
	uint64_t *pcs;
	size_t npcs, pcs_cap;
};

struct goprof {
	pid_t pid;
	uint64_t bias;
	const struct go_heap_layout *l;
	struct goprof_snap snap, spare; /* snap: the last consistent one */
	uint64_t walks, torn;		/* walks that disagreed */
	uint64_t given_up;		/* snapshots never consistent */
};

void goprof_init(struct goprof *g, pid_t pid, uint64_t bias,
		 const struct go_heap_layout *l);
void goprof_free(struct goprof *g);
/* runtime.MemProfileRate: 0, or -errno (-ENOENT: not known). */
int goprof_rate(const struct goprof *g, int64_t *rate);
/*
 * A consistent snapshot into g->snap. 0; -EAGAIN when the walks never
 * agreed (g->snap keeps the previous one); -ESRCH when the process is
 * gone; -ENOENT when mbuckets is not known; -EBADMSG for a list that
 * cannot be a bucket list (too long, a stack too deep).
 */
int goprof_snapshot(struct goprof *g);

#endif
