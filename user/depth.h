/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracing one process in depth: its probes attached (links of its own,
 * so that it can be released alone), its entry in the kernel's targets
 * map, its share of each drain folded into its model.
 */
#ifndef LW_DEPTH_H
#define LW_DEPTH_H

#include <stdbool.h>
#include <stdio.h>
#include "cfi.h"
#include "proc.h"
#include "session.h"

struct lw_depth {
	struct lw_session *session;
	struct lw_cfi *cfi; /* NULL: frame pointers only (or the floor) */
	bool floor;	    /* the bench's empty programs */
	bool memleak_floor; /* ... at memleak's placements */
	int go_heap;	    /* --go-heap: a mode, or -1 (auto) */
	bool go_scan_only;  /* --goroutines scan */
	FILE *out;	    /* where exec and release news go */
};

/*
 * Plans, loads unwind tables and attaches p's probes, from a new epoch
 * (what an earlier zoom counted is not mixed in). A launched target is
 * held before exec: its files' tables are built from their paths.
 * Returns an lw_exit code, with the reason printed.
 */
int depth_zoom(struct lw_depth *d, struct lw_proc *p);
/* Its symbolizer, threads and goroutine scan: at once, or for a launched
 * target once it has exec'd. */
void depth_begin(struct lw_depth *d, struct lw_proc *p);
/* Detaches p's probes and frees its kernel map entries. */
void depth_release(struct lw_depth *d, struct lw_proc *p);
/* Folds p's drained sites (p->drained) and scans into its model. */
void depth_update(struct lw_depth *d, struct lw_proc *p, double now);

#endif
