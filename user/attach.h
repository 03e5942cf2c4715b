/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_ATTACH_H
#define LW_ATTACH_H

#include <sys/types.h>
#include "plan.h"

struct bpf_program;
struct bpf_link;

struct lw_progs {
	struct bpf_program *enter;   /* entry of calls whose result we need */
	struct bpf_program *exit;    /* their return */
	struct bpf_program *release; /* free, munmap: entry only */
	struct bpf_program *go;	     /* goroutine birth and death */
	struct bpf_program *go_heap; /* Go heap sampling (spans) */
	struct bpf_program *thread;  /* pthread_create */
};

#define LW_MAX_LINKS (3 * LW_MAX_PROBES + 3) /* + the tracepoints */

struct lw_links {
	struct bpf_link *l[LW_MAX_LINKS];
	int n;
};

/* Multi-uprobe links, one per program and object: fast to attach and,
 * more so, to detach. Returns 0 or a negative errno. */
int attach_plan(const struct lw_plan *plan, pid_t pid,
		const struct lw_progs *progs, struct lw_links *links);
void detach_all(struct lw_links *links);

#endif
