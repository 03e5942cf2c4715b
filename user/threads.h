/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_THREADS_H
#define LW_THREADS_H

#include <sys/types.h>
#include "model.h"

/*
 * The target's threads as /proc/PID/task lists them, read each report:
 * totals always match /proc. A thread born under the probes counts at its
 * creation site; one alive at attach, at a site of its name ("[alive at
 * attach] comm"). Each site's bytes are the sizes of the mappings that
 * hold its threads' stacks.
 */
int threads_update(pid_t pid, struct lw_model *m, int threads_fd,
		   uint32_t cur_gen);

#endif
