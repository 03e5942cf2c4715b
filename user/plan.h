/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_PLAN_H
#define LW_PLAN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "leakwatch.h"
#include "probe_place.h"
#include "target.h"

#define LW_MAX_PROBES 32

/* Which BPF program a probe feeds. */
enum lw_prog {
	LW_PROG_CALL,	 /* entry and return: calls whose result we need */
	LW_PROG_RELEASE, /* entry only: free, munmap */
	LW_PROG_GO,	 /* entry probes in Go's runtime */
	LW_PROG_THREAD,	 /* pthread_create's entry */
	LW_PROG_GO_HEAP, /* Go's span refills and large objects */
};

/* One probed instruction, in the object that really defines it. */
struct lw_probe {
	enum lw_fn fn;
	const char *name;
	char path[PATH_MAX];   /* to open: under /proc/PID/root */
	char module[PATH_MAX]; /* as the target names it */
	uint64_t func_off;     /* file offset of the function */
	enum lw_prog prog;
	struct probe_place place;
};

struct lw_plan {
	struct lw_probe probes[LW_MAX_PROBES];
	int n;
};

/*
 * The C allocator. objs: the objects the target maps, in lookup priority
 * order (the executable first). Returns an lw_exit code: 0, also when
 * no object defines malloc and free (see plan_has_heap); or
 * LW_EXIT_BAD_TARGET, with a message, when the executable cannot be read.
 */
int plan_build(const struct lw_obj *objs, int nobjs, struct lw_plan *plan);
/*
 * Goroutine births and deaths in a Go executable. Returns 0, or -errno
 * with a warning given (the plan is then unchanged).
 */
int plan_go(struct lw_plan *plan, const struct lw_obj *exe);
/*
 * Go heap sampling points (see bpf/go_heap.bpf.h): right after
 * mcache.refill's call of mcentral.cacheSpan and after mcache.allocLarge's
 * call of mheap.alloc. Returns 0, or -errno (plan unchanged).
 */
int plan_go_heap(struct lw_plan *plan, const struct lw_obj *exe);
/* runtime.allgs of a Go executable without symbols, or 0. */
uint64_t plan_go_find_allgs(const struct lw_obj *exe);
/* Whether plan_build found an allocator. */
bool plan_has_heap(const struct lw_plan *plan);
void plan_print(const struct lw_plan *plan);
/* memleak's placement, for the bench's comparison floor. */
void plan_all_at_entry(struct lw_plan *plan);

#endif
