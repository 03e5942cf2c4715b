/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_VIEW_H
#define LW_VIEW_H

#include <stdbool.h>
#include <stdio.h>
#include "fds.h"
#include "model.h"
#include "options.h"
#include "proc.h"
#include "symbolize.h"
#include "system.h"
#include "target.h"

/*
 * What every view reads: the model, and how to name its stacks; or,
 * system-wide, the process table (target, model and sym are NULL then:
 * view_of_proc gives each process's view).
 */
struct lw_view {
	const struct lw_target *target;
	struct lw_model *model;
	struct symbolizer *sym;
	double interval;
	double elapsed;
	int top;
	bool final;
	struct lw_system *sys;
	const uint64_t *counters; /* system-wide: the kernel's counters */
	const char *root;	  /* folded: a root frame for every line */
	uint64_t salt;		  /* pprof: keeps processes' pcs apart */
	const struct lw_goheap *goheap;	 /* a Go program's heap, or NULL */
	const struct lw_fds *fds;	 /* its descriptors, or NULL */
	unsigned long long sample_bytes; /* --sample: the mean, 0: exact */
};

struct lw_view view_of_proc(const struct lw_view *v, struct lw_proc *p);
const uint64_t *view_counters(const struct lw_view *v);
unsigned long view_unresolved(const struct lw_view *v);

#define LW_MAX_FRAMES (LW_MAX_STACK_DEPTH * 4) /* with inlined frames */

/* Counter names as the JSON "drops" object and the text report show them. */
const char *view_counter_name(int counter);
bool view_counter_is_drop(int counter);
/* The drop counters that are not 0 (and unresolved frames), as
 * " name=N name=N", or " none": what every view shows after "drops:". */
void view_drops(struct lw_view *v, char *buf, size_t len);
/* The site's frames, innermost first, inlined frames expanded. */
int view_frames(struct lw_view *v, struct lw_site *s, struct lw_frame *out,
		int max);
const char *view_kind_name(enum lw_site_kind kind);
/* A frame as the text views show it, "func (file:line)", its target's
 * bytes escaped (safestr.h). */
void view_frame_name(const struct lw_frame *f, char *buf, size_t len);
/* "EMFILE in ~14 min": when the growth reaches the soft limit, or "". */
void view_fd_eta(const struct lw_fds *fds, char *buf, size_t len);

void report_text(FILE *f, struct lw_view *v);
/* System-wide: the process table, then each zoomed process's report. */
void report_system(FILE *f, struct lw_view *v);
int report_json(FILE *f, const char *name, struct lw_view *v);
/* Folded stacks (flamegraph.pl, speedscope): 0 or -1 with a message. */
int report_folded(FILE *f, const char *name, struct lw_view *v,
		  enum lw_folded_value how);
/* A gzipped pprof profile written to path (replaced atomically): 0 or -1
 * with a message. */
int report_pprof(const char *path, struct lw_view *v);

#endif
