/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where an unmodified Go (amd64) executable keeps its heap's books, for a
 * reader outside the process: the memory profile (runtime.mbuckets and its
 * rate), the span structures that say whether an object is still
 * allocated, and the runtime's own totals. Addresses are link-time (add
 * the process's load bias); offsets are bytes.
 *
 * From DWARF when the binary has it, else from a table of versions checked
 * on real binaries (stripped executables keep .gopclntab and
 * .go.buildinfo only; their variables are then found through the code that
 * references them).
 */
#ifndef LW_GOHEAP_LAYOUT_H
#define LW_GOHEAP_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>
#include "goinfo.h"

struct go_heap_layout {
	bool from_dwarf;

	/* ---- variables, link-time addresses (0: not found) ---- */
	uint64_t mbuckets;	  /* runtime.mbuckets: *bucket, newest first */
	uint64_t memprofilerate;  /* runtime.MemProfileRate: int */
	uint64_t disable_memprof; /* runtime.disableMemoryProfiling: bool */
	uint64_t mheap;		  /* runtime.mheap_ */
	uint64_t numgc;		  /* &runtime.memstats.numgc: uint32 */
	uint64_t heap_marked;	  /* &runtime.gcController.heapMarked: u64 */

	/* ---- runtime.bucket ---- */
	uint32_t bucket_hdr; /* sizeof header: the stack's pcs follow */
	uint32_t bk_allnext, bk_size, bk_nstk;
	/* After the nstk pcs: memRecord {active, future[3]}, each cycle
	 * {allocs, frees, alloc_bytes, free_bytes} of uintptr. */

	/* ---- runtime.mspan ---- */
	uint32_t sp_startaddr, sp_npages, sp_nelems, sp_elemsize;
	uint32_t sp_freeindex, sp_freeindex_size; /* 8 up to 1.21, 2 after */
	uint32_t sp_nelems_size;		  /* likewise */
	uint32_t sp_alloccache;			  /* uint64 */
	uint32_t sp_allocbits, sp_gcmarkbits;	  /* *gcBits */
	uint32_t sp_alloccount;			  /* uint16 */
	uint32_t sp_spanclass;			  /* uint8 */
	uint32_t sp_state;			  /* uint8, mSpanInUse = 1 */
	uint32_t sp_sweepgen;			  /* uint32 */
	uint32_t span_size;			  /* bytes to read per span */

	/* ---- runtime.mheap ---- */
	uint32_t mh_sweepgen; /* uint32 */
	uint32_t mh_allspans; /* []*mspan */
	uint32_t
		mh_arenas; /* [1 << arenaL1Bits]*[1 << arenaL2Bits]*heapArena */
	uint32_t ha_spans; /* runtime.heapArena.spans [pagesPerArena]*mspan */
};

/* amd64 linux constants of the heap (malloc.go), all checked versions. */
#define GO_PAGE_SHIFT	 13	      /* _PageShift: 8 KiB pages */
#define GO_ARENA_SHIFT	 26	      /* heapArenaBytes = 64 MiB */
#define GO_ARENA_L2_BITS 22	      /* arenaL1Bits = 0 */
#define GO_ARENA_BASE	 (1ull << 47) /* -arenaBaseOffset */
#define GO_SPAN_IN_USE	 1	      /* mSpanInUse */
#define GO_MEMREC_CYCLES 4	      /* active + future[3] */

/*
 * Fills *out for the executable at path whose goroutine layout (version)
 * goinfo_detect() gave. 0, or -ENOTSUP when neither DWARF nor the table
 * knows this version (say so, never guess), other -errno when the file
 * cannot be read. Variables not found stay 0: callers check the ones they
 * need.
 */
int goheap_layout(const char *path, const struct go_layout *gl,
		  struct go_heap_layout *out);

#endif
