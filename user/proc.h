/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One observed process: what it is (target), what it costs (triage:
 * memory, threads, goroutines from /proc and the runtime, at no cost to
 * the process), and, while it is traced in depth ("zoomed": the target of
 * -p or a command, or a suspect process of a system-wide run), its probes,
 * model, symbolizer, thread and goroutine state.
 */
#ifndef LW_PROC_H
#define LW_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "attach.h"
#include "drain.h"
#include "fds.h"
#include "goheap.h"
#include "goinfo.h"
#include "goroutines.h"
#include "model.h"
#include "plan.h"
#include "symbolize.h"
#include "target.h"
#include "threads.h"
#include "trend.h"

/* What triage follows per process; each is a trend of its own. */
enum lw_signal {
	LW_SIG_RSS,	   /* resident anonymous memory, bytes */
	LW_SIG_THREADS,	   /* live threads */
	LW_SIG_GOROUTINES, /* live goroutines (Go programs) */
	LW_SIG_FDS,	   /* open descriptors */
	LW_SIG_MAX,
};

/*
 * A process is a suspect when one of its signals is, by the sites' rule
 * (trend.h); memory must also grow by this much over the window: resident
 * memory moves by pages, and a process warming up touches a few.
 */
#define LW_RSS_MIN_GROWTH (256 << 10)
/* Descriptors: a process opening a few more as it starts up is no leak. */
#define LW_FDS_MIN_GROWTH 8

struct lw_proc {
	pid_t pid;
	struct lw_target target;
	char cgroup[256]; /* its cgroup v2 path: the container or unit */

	/* triage, every report */
	int64_t rss;		   /* VmRSS, bytes */
	int64_t value[LW_SIG_MAX]; /* < 0: not known */
	struct trend trend[LW_SIG_MAX];
	struct trend_fit fit[LW_SIG_MAX];
	bool suspect;		/* a signal is a leak suspect */
	bool go_checked, is_go; /* a Go program: goroutines counted */
	struct go_layout go;
	uint64_t go_bias;

	/* in depth, while zoomed */
	bool zoomed, pinned; /* pinned: chosen by the user, never released */
	bool unzoomable;     /* zooming failed once (said why): not again */
	bool ever_suspect;
	bool said_waiting; /* "waits: --zoom reached" was said */
	char why[128];	   /* why it was zoomed */
	double zoomed_at;
	int calm; /* reports in a row with nothing suspect */
	bool planned;
	struct lw_plan plan;
	struct lw_links links;
	struct lw_model model;
	struct symbolizer *sym;
	struct lw_threads threads;
	struct lw_goscan goscan;
	struct lw_goheap goheap;
	struct lw_fds fds;
	bool fds_on, fds_warned;
	struct go_heap_layout go_heap; /* planned: what goheap will use */
	enum lw_goheap_mode go_heap_mode;
	const char *go_heap_why;
	bool goscan_on, goheap_on, snap_warned;
	uint32_t epoch; /* the epoch the views caught up on */
	struct lw_drained_site *drained;
	size_t ndrained, drained_cap;

	bool exited;
	bool shown;	 /* was in a report: its exit is reported */
	char drops[256]; /* the kernel's own losses (--kernel), or "" */
};

/* It was traced in depth: it has sites (and a symbolizer) to show. */
static inline bool proc_has_sites(const struct lw_proc *p)
{
	return p->planned && p->sym;
}

/* A process found by the system scan: NULL when it is gone or has no
 * user space (a kernel thread). Nothing printed. */
struct lw_proc *proc_probe(pid_t pid, double now, uint32_t gen);
/* The -p or launched target (opened by the caller): pinned, zoomed. */
struct lw_proc *proc_of_target(const struct lw_target *t, double now,
			       uint32_t gen);
/* The "[kernel]" pseudo-process of --kernel: pid 0, its allocations by
 * kernel stack. NULL when kallsyms cannot be read. */
struct lw_proc *proc_kernel(double now, uint32_t gen);
/* Adds a sample of signal k at now and judges it (a process is a suspect
 * when a signal is). */
void proc_signal(struct lw_proc *p, enum lw_signal k, int64_t value,
		 double now);
/* A Go program's goroutine list, when the symbol table does not say:
 * from its code (a stripped binary). */
void proc_find_allgs(struct lw_proc *p);
/* Reads memory and threads (and goroutines of a Go program) from /proc
 * and the runtime, and fits each signal's trend. */
void proc_triage(struct lw_proc *p, double now);
/* Keeps the model's generations in step with the kernel's. */
void proc_sync_gen(struct lw_proc *p, uint32_t gen, double now);
/* A PIE Go binary (-buildmode=pie) is not where its symbols say: the
 * executable's load bias, once it is mapped. */
uint64_t proc_go_bias(struct lw_proc *p);
void proc_free(struct lw_proc *p);

#endif
