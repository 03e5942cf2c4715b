/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_ATTACH_H
#define LW_ATTACH_H

#include <sys/types.h>
#include "plan.h"

struct bpf_program;
struct bpf_link;

struct lw_progs {
	/* --sample: entry and return of those calls, one session program
	 * (when set, enter and exit are not used) */
	struct bpf_program *session;
	struct bpf_program *enter;   /* entry of calls whose result we need */
	struct bpf_program *exit;    /* their return */
	struct bpf_program *release; /* free, munmap: entry only */
	struct bpf_program *go;	     /* goroutine birth and death */
	struct bpf_program *go_heap; /* Go heap sampling (spans) */
	struct bpf_program *thread;  /* pthread_create */
};

/* enum bpf_attach_type's BPF_TRACE_UPROBE_SESSION (Linux 6.13), which
 * the system's headers may not have yet */
#define LW_TRACE_UPROBE_SESSION 57

#define LW_MAX_LINKS (3 * LW_MAX_PROBES + 3) /* + the tracepoints */

struct lw_links {
	struct bpf_link *l[LW_MAX_LINKS];
	int n;
	int fd[LW_MAX_PROBES]; /* session links: made without libbpf */
	int nfd;
};

/* Multi-uprobe links, one per program and object: fast to attach and,
 * more so, to detach. Returns 0 or a negative errno. */
int attach_plan(const struct lw_plan *plan, pid_t pid,
		const struct lw_progs *progs, struct lw_links *links);
void detach_all(struct lw_links *links);

#endif
