/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --kernel: the kernel's allocations (kmem.c) as the pseudo-process
 * "[kernel]" (pid 0) of a system-wide run: a model of its own, fed with
 * the outstanding bytes of each kernel stack at every report.
 */
#ifndef LW_KERNEL_H
#define LW_KERNEL_H

#include <stddef.h>
#include "kmem.h"
#include "proc.h"

struct lw_kernel {
	struct lw_kmem *kmem;
	struct lw_proc *proc; /* owned by the process table once added */
	struct lw_kmem_site *sites;
	size_t cap, n;
	struct lw_drained_site *drained;
	size_t dcap;
};

/* Returns an lw_exit code, with the reason printed. */
int kernel_open(struct lw_kernel *k, long max_live, double now, uint32_t gen);
/* One report's drain of the kernel's aggregates into its model. */
void kernel_update(struct lw_kernel *k, double now);
void kernel_close(struct lw_kernel *k);

#endif
