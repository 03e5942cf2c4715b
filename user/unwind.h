/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stacks of the target's threads from the registers the thread iterator
 * saved: DWARF CFI through libdwfl (frame pointers where there is none),
 * the stack read through /proc/PID/mem. Never ptrace: nothing stops.
 * A thread asleep in the kernel unwinds exactly; a running one, from
 * where it last entered the kernel, may give a wrong tail.
 */
#ifndef LW_UNWIND_H
#define LW_UNWIND_H

#include <stdint.h>
#include <sys/types.h>
#include "leakwatch.h"

struct unwinder;

/* NULL, with errno, when the process cannot be read. */
struct unwinder *unwinder_new(pid_t pid);
/* The process mapped or unmapped objects: learn them again. */
int unwinder_refresh(struct unwinder *u);
/*
 * Up to max pcs of thread t, innermost first: pcs[0] where it is, then
 * return addresses. Returns the count (>= 1).
 */
int unwinder_stack(struct unwinder *u, const struct lw_thread_snap *t,
		   uint64_t *pcs, int max);
void unwinder_free(struct unwinder *u);

#endif
