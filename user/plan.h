/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_PLAN_H
#define LW_PLAN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "leakwatch.h"
#include "probe_place.h"
#include "target.h"

#define LW_MAX_PROBES 16

/* One allocator function, located in the object that really defines it. */
struct lw_probe {
	enum lw_fn fn;
	const char *name;
	char path[PATH_MAX];   /* to open: under /proc/PID/root */
	char module[PATH_MAX]; /* as the target names it */
	uint64_t func_off;     /* file offset of the function */
	bool entry_only;       /* free, munmap: no return probe */
	struct probe_place place;
};

struct lw_plan {
	struct lw_probe probes[LW_MAX_PROBES];
	int n;
};

/*
 * objs: the objects the target maps, in lookup priority order (the
 * executable first).
 * Returns an lw_exit code: 0, or LW_EXIT_BAD_TARGET with a message given.
 */
int plan_build(const struct lw_obj *objs, int nobjs, struct lw_plan *plan);
void plan_print(const struct lw_plan *plan);
/* memleak's placement, for the bench's comparison floor. */
void plan_all_at_entry(struct lw_plan *plan);

#endif
