/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Go heap by sampling (see bpf/go_heap.bpf.h): each report, every
 * sample the probes took is checked against the runtime's span state and
 * dropped once its object is free; the live ones, weighed by what they
 * stand for, are the sites' in-use bytes.
 *
 * Liveness, from outside: the object's span is found through the heap's
 * arena index (mheap_.arenas, then heapArena.spans[page]); it must still
 * be an in-use span holding the address with the sampled element size.
 * Then, as the runtime itself decides: in a span not yet swept
 * this cycle, its bit in gcmarkBits (the last mark) says; in a swept span,
 * its bit in allocBits (the marks the sweep kept) says. A sample is
 * judged only by a GC whose mark began after it was taken (objects made
 * during a mark are born marked): like the runtime's own profile, the
 * sites are the heap as of the GC before last, not the garbage made
 * since.
 */
#ifndef LW_GOSAMPLE_H
#define LW_GOSAMPLE_H

#include "goheap.h"

/* Folds the samples of h's process into m; 0 or -errno. */
int gosample_update(struct lw_goheap *h, struct lw_model *m);

/* 1: the object at addr is allocated, 0: it is free, 2: no GC whose mark
 * began after the sample ran yet (not judged), -errno: the span state
 * cannot be read. sweepgen0: the span's when sampled. */
int gosample_live(struct lw_goheap *h, uint64_t addr, uint32_t elemsize,
		  uint32_t sweepgen0);

#endif
