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
	struct symbolizer *sym; /* finds what threads alive at attach run */
};

/*
 * What a report learnt of a thread: a thread alive at attach keeps the
 * site it was first given; a thread asleep where it was keeps its stack.
 */
struct lw_tid_entry {
	uint32_t tid;
	int depth;     /* 0: not unwound */
	uint64_t site; /* alive at attach: its site; else 0 */
	uint64_t ip, sp, bp;
	uint64_t pcs[LW_MAX_STACK_DEPTH];
};

struct lw_tid_entries {
	struct lw_tid_entry *v;
	size_t n, cap;
};

struct lw_threads {
	pid_t pid;
	struct unwinder *uw; /* their stacks, made at the first report */
	bool uw_warned;
	struct lw_tid_entries known, next; /* by tid: last report's, this */
};

void threads_init(struct lw_threads *t, pid_t pid);
/* The target exec'd: its threads start anew, in a new image. */
void threads_forget(struct lw_threads *t);
void threads_free(struct lw_threads *t);

/*
 * The target's threads as /proc/PID/task lists them, read each report:
 * totals always match /proc. A thread born under the probes counts at its
 * creation site; one alive at attach, at a site of its name and the
 * function it runs ("[alive at attach] comm"). Each site's bytes are the
 * sizes of the mappings that hold its threads' stacks; its blocked[] says
 * where its threads are (by state and place).
 */
int threads_update(struct lw_threads *t, struct lw_model *m, int threads_fd,
		   uint32_t cur_gen, const struct lw_thread_view *tv);

#endif
