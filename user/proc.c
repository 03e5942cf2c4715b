// SPDX-License-Identifier: GPL-2.0
/*
 * A process and its triage: signals read from /proc and the Go runtime
 * between reports, never a probe on the process's own paths.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "elfsym.h"
#include "plan.h"
#include "fdinfo.h"
#include "proc.h"
#include "util.h"

static void read_cgroup(struct lw_proc *p)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", p->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	/* cgroup v2: "0::/system.slice/x.service" */
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(p->cgroup, sizeof(p->cgroup), "%.*s",
			 (int)sizeof(p->cgroup) - 1, line + 3);
		break;
	}
	fclose(f);
}

static struct lw_proc *proc_alloc(double now, uint32_t gen)
{
	struct lw_proc *p = calloc(1, sizeof(*p));
	int i;

	if (!p)
		return NULL;
	for (i = 0; i < LW_SIG_MAX; i++) {
		trend_init(&p->trend[i]);
		p->value[i] = -1;
	}
	if (model_init(&p->model, now)) {
		free(p);
		return NULL;
	}
	proc_sync_gen(p, gen, now);
	return p;
}

struct lw_proc *proc_probe(pid_t pid, double now, uint32_t gen)
{
	struct lw_proc *p = proc_alloc(now, gen);

	if (!p)
		return NULL;
	p->pid = pid;
	if (target_probe_pid(&p->target, pid)) {
		proc_free(p);
		return NULL;
	}
	read_cgroup(p);
	return p;
}

struct lw_proc *proc_of_target(const struct lw_target *t, double now,
			       uint32_t gen)
{
	struct lw_proc *p = proc_alloc(now, gen);

	if (!p)
		return NULL;
	p->pid = t->pid;
	p->target = *t;
	p->pinned = true;
	snprintf(p->why, sizeof(p->why), "the target");
	read_cgroup(p);
	return p;
}

struct lw_proc *proc_kernel(double now, uint32_t gen)
{
	struct lw_proc *p = proc_alloc(now, gen);

	if (!p)
		return NULL;
	p->target.pidfd = p->target.go_fd = p->target.exec_err_fd = -1;
	snprintf(p->target.comm, sizeof(p->target.comm), "[kernel]");
	snprintf(p->cgroup, sizeof(p->cgroup), "/");
	snprintf(p->why, sizeof(p->why), "--kernel");
	p->go_checked = true;
	p->pinned = p->zoomed = p->planned = true;
	p->sym = symbolizer_new_kernel();
	if (!p->sym) {
		proc_free(p);
		return NULL;
	}
	return p;
}

void proc_sync_gen(struct lw_proc *p, uint32_t gen, double now)
{
	while (p->model.ngen <= gen)
		model_next_gen(&p->model, now);
}

uint64_t proc_go_bias(struct lw_proc *p)
{
	struct elf_obj *o = elf_obj_open(p->target.objs[0].open);
	uint64_t bias = 0;

	if (o) {
		bias = elf_obj_load_bias(o, p->pid, p->target.exe);
		elf_obj_close(o);
	}
	return bias;
}

void proc_find_allgs(struct lw_proc *p)
{
	if (p->go.allgs)
		return;
	/* stripped: the slice's own length field stands for allglen */
	p->go.allgs = plan_go_find_allgs(&p->target.objs[0]);
	p->go.allglen = p->go.allgs ? p->go.allgs + 8 : 0;
}

/* Once per process: is it Go, and where is its goroutine list. */
static void check_go(struct lw_proc *p)
{
	const struct lw_obj *exe = p->target.nobjs ? &p->target.objs[0] : NULL;

	p->go_checked = true;
	if (!exe || goinfo_detect(exe->open, &p->go))
		return;
	proc_find_allgs(p);
	p->is_go = true;
	p->go_bias = proc_go_bias(p);
}

static void read_status(struct lw_proc *p)
{
	char path[64], line[256];
	long long v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", p->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %lld kB", &v) == 1)
			p->rss = v * 1024;
		else if (sscanf(line, "RssAnon: %lld kB", &v) == 1)
			p->value[LW_SIG_RSS] = v * 1024;
		else if (sscanf(line, "Threads: %lld", &v) == 1)
			p->value[LW_SIG_THREADS] = v;
	}
	fclose(f);
}

/* The goroutine count: the runtime's own list, read from outside. */
static void count_goroutines(struct lw_proc *p)
{
	struct goroutine *gs = NULL;
	size_t n = 0;

	if (p->goscan_on) { /* zoomed: its scan counted them already */
		p->value[LW_SIG_GOROUTINES] = p->goscan.n;
		return;
	}
	if (goinfo_scan(p->pid, p->go_bias, &p->go, &gs, &n) >= 0)
		p->value[LW_SIG_GOROUTINES] = n;
	free(gs);
}

void proc_triage(struct lw_proc *p, double now)
{
	int64_t n;
	int i;

	char exe[sizeof(p->target.exe)];

	if (p->exited || !p->pid) /* the kernel: its model says it all */
		return;
	if (!p->zoomed) { /* an exec since: another program */
		memcpy(exe, p->target.exe, sizeof(exe));
		target_refresh(&p->target);
		if (strcmp(exe, p->target.exe)) {
			p->go_checked = p->is_go = false;
			p->value[LW_SIG_GOROUTINES] = -1;
		}
	}
	if (!p->go_checked)
		check_go(p);
	read_status(p);
	if (p->is_go)
		count_goroutines(p);
	/* zoomed: its reconcile listed them already */
	n = p->fds_on && p->fds.open >= 0 ? p->fds.open : fdinfo_count(p->pid);
	p->value[LW_SIG_FDS] = n >= 0 ? n : -1;
	p->suspect = false;
	for (i = 0; i < LW_SIG_MAX; i++)
		if (p->value[i] >= 0)
			proc_signal(p, i, p->value[i], now);
}

void proc_signal(struct lw_proc *p, enum lw_signal k, int64_t value, double now)
{
	struct trend_fit *fit = &p->fit[k];

	p->value[k] = value;
	trend_add(&p->trend[k], now, value, value);
	trend_fit(&p->trend[k], fit);
	/* pages, not bytes: a process warming up touches a few */
	if ((k == LW_SIG_RSS && fit->growth < LW_RSS_MIN_GROWTH) ||
	    (k == LW_SIG_FDS && fit->growth < LW_FDS_MIN_GROWTH)) {
		fit->suspect = false;
		fit->verdict = TREND_TOO_SMALL;
	}
	p->suspect |= fit->suspect;
}

void proc_free(struct lw_proc *p)
{
	if (!p)
		return;
	target_close(&p->target);
	if (p->goscan_on)
		goscan_free(&p->goscan);
	if (p->goheap_on)
		goheap_free(&p->goheap);
	if (p->sym)
		symbolizer_free(p->sym);
	threads_free(&p->threads);
	if (p->fds_on)
		fds_free(&p->fds);
	model_free(&p->model);
	free(p->drained);
	free(p);
}
