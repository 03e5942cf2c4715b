/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_THREADS_H
#define LW_THREADS_H

#include <sys/types.h>
#include "model.h"
#include "symbolize.h"
#include "unwind.h"

/* What the thread iterator saw this report, sorted by tid. */
struct lw_thread_view {
	struct lw_thread_snap *snaps;
	size_t n;
	struct unwinder *uw;	/* their stacks */
	struct symbolizer *sym; /* finds what threads alive at attach run */
};

/*
 * The target's threads as /proc/PID/task lists them, read each report:
 * totals always match /proc. A thread born under the probes counts at its
 * creation site; one alive at attach, at a site of its name and the
 * function it runs ("[alive at attach] comm"). Each site's bytes are the
 * sizes of the mappings that hold its threads' stacks; its blocked[] says
 * where its threads are (by state and place).
 */
int threads_update(pid_t pid, struct lw_model *m, int threads_fd,
		   uint32_t cur_gen, const struct lw_thread_view *tv);

#endif
