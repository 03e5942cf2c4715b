// SPDX-License-Identifier: GPL-2.0
/*
 * leakwatch: attach -> kernel maps -> drain -> trend model -> symbolize ->
 * views. This file only sequences the stages.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "cfi.h"
#include "depth.h"
#include "drain.h"
#include "kernel.h"
#include "elfsym.h"
#include "machine.h"
#include "goroutines.h"
#include "threads.h"
#include "model.h"
#include "options.h"
#include "plan.h"
#include "prom.h"
#include "pprof_dir.h"
#include "safestr.h"
#include "session.h"
#include "system.h"
#include "symbolize.h"
#include "target.h"
#include "top.h"
#include "util.h"
#include "view.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/*
 * The symbolizer keeps every mapped binary (and its debug file) open; a
 * large process maps hundreds. Debug info comes from local files only
 * unless the user asks for debuginfod explicitly.
 */
static void prepare_process(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!getenv("LEAKWATCH_DEBUGINFOD"))
		unsetenv("DEBUGINFOD_URLS");
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

struct run {
	struct lw_opts opts;
	struct lw_session session;
	struct lw_cfi cfi; /* unwind tables of the files traced processes map */
	struct lw_depth depth;
	struct lw_system sys;	 /* every process, or the one target */
	struct lw_proc *target;	 /* -p or a command; NULL system-wide */
	struct lw_kernel kernel; /* --kernel: the [kernel] pseudo-process */
	uint32_t gen;		 /* the kernel's current generation */
	pid_t *owner;		 /* by site index: its process, 0 unknown */
	size_t owner_cap;
	struct lw_drained_site *drained;
	size_t drained_cap;
	uint64_t counters[LW_CNT_MAX];
	uint64_t map_lost_seen; /* ringbuf_lost at the last regions sync */
	bool map_sync_again;
	double t_start;
	FILE *out;  /* text reports */
	FILE *json; /* final JSON report, opened before anything is traced */
	struct lw_top *top; /* leakwatch top: the live view, while it is up */
	FILE *top_out;	    /* r->out when the view is closed */
	bool quit;	    /* the view's q */
	double report_cpu, report_cpu_max; /* CPU seconds of drain + views */
	unsigned long reports;
	struct lw_prom *prom; /* --prometheus: the /metrics endpoint */
};

/* The zoomed process pid, or NULL: mapping records of others are late. */
static struct lw_proc *traced(struct run *r, pid_t pid)
{
	struct lw_proc *p;

	if (r->target)
		return r->target->pid == pid ? r->target : NULL;
	if (!pid) /* nobody's (lost stacks), and never the [kernel]'s */
		return NULL;
	p = system_find(&r->sys, pid);
	return p && p->zoomed ? p : NULL;
}

static int on_map_event(void *ctx, void *data, size_t size)
{
	const struct lw_map_event *e = data;
	struct lw_proc *p;
	struct lw_model *m;

	if (size < sizeof(*e))
		return 0;
	p = traced(ctx, e->tgid);
	if (!p)
		return 0;
	m = &p->model;
	if (e->epoch > m->epoch)
		model_set_epoch(m, e->epoch);
	if (e->epoch == m->epoch)
		regions_apply(&m->regions, e);
	return 0;
}

/* The walk met a file without an unwind table: build it now. */
static int on_file_event(void *ctx, void *data, size_t size)
{
	struct run *r = ctx;

	if (size >= sizeof(struct lw_file_event) && r->cfi.rules)
		cfi_on_event(&r->cfi, data);
	return 0;
}

/* Whose site it is: read from its stack once. LW_NO_SITE is the
 * target's (the stacks that were lost), nobody's system-wide. */
static pid_t owner_of(struct run *r, uint32_t site)
{
	struct lw_stack st;
	size_t cap;

	if (site == LW_NO_SITE)
		return r->target ? r->target->pid : 0;
	if (site >= r->owner_cap) {
		cap = r->owner_cap;
		if (lw_grow((void **)&r->owner, &r->owner_cap, site + 1,
			    sizeof(*r->owner), 1024))
			return 0;
		memset(r->owner + cap, 0,
		       (r->owner_cap - cap) * sizeof(*r->owner));
	}
	if (!r->owner[site] &&
	    drain_stack(r->session.stacks_fd, site, &st) >= 0)
		r->owner[site] = st.tgid;
	return r->owner[site];
}

static void give(struct lw_proc *p, const struct lw_drained_site *d)
{
	if (!lw_grow((void **)&p->drained, &p->drained_cap, p->ndrained + 1,
		     sizeof(*d), 64))
		p->drained[p->ndrained++] = *d;
}

/*
 * The aggregates of every traced process, each to its own model. Only
 * the zoomed processes (--zoom: a few) are looked through per site, not
 * the whole table.
 */
static void dispatch(struct run *r, size_t n)
{
	struct lw_proc *z[LW_MAX_TARGETS], *p;
	size_t i, k, nz = 0;
	pid_t pid;

	for (i = 0; i < r->sys.n; i++) {
		p = r->sys.v[i];
		p->ndrained = 0;
		if (p->zoomed && p->pid && nz < LW_MAX_TARGETS)
			z[nz++] = p; /* pid 0, the kernel, drains its own */
	}
	for (i = 0; i < n; i++) {
		pid = owner_of(r, r->drained[i].site);
		for (k = 0; pid && k < nz && z[k]->pid != pid; k++)
			;
		if (pid && k < nz)
			give(z[k], &r->drained[i]);
	}
}

/*
 * Map events were lost: a mapping whose munmap was lost would stay
 * outstanding for ever, so every zoomed process's mappings are cut to
 * its /proc/PID/maps. Once more at the next drain: a munmap is counted
 * lost at its entry, before the kernel has unmapped anything.
 */
static void sync_regions(struct run *r)
{
	uint64_t lost = r->counters[LW_CNT_RINGBUF_LOST];
	bool now = lost != r->map_lost_seen || r->map_sync_again;
	struct lw_proc *p;
	char path[64];
	size_t i;
	FILE *f;

	r->map_sync_again = lost != r->map_lost_seen;
	r->map_lost_seen = lost;
	for (i = 0; now && i < r->sys.n; i++) {
		p = r->sys.v[i];
		if (!p->zoomed || !p->pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->pid);
		f = fopen(path, "re");
		if (!f)
			continue; /* gone: its exit is handled elsewhere */
		regions_sync(&p->model.regions, f);
		fclose(f);
	}
}

/* One drain: a new generation, then the aggregates it closes. */
static void drain(struct run *r)
{
	double now = lw_now();
	struct lw_proc *p;
	size_t n = 0, i;

	if (r->opts.floor)
		return;
	session_set_gen(&r->session, ++r->gen);
	for (i = 0; i < r->sys.n; i++)
		proc_sync_gen(r->sys.v[i], r->gen, now);
	session_consume(&r->session);
	if (drain_sites(r->session.sites_fd, session_nsites(&r->session),
			&r->drained, &r->drained_cap, &n))
		lw_warn("reading site aggregates: %s", strerror(errno));
	drain_counters(r->session.counters_fd, r->counters);
	sync_regions(r);
	dispatch(r, n);
	for (i = 0; i < r->sys.n; i++) {
		p = r->sys.v[i];
		if (!p->zoomed || !p->pid) /* pid 0: the kernel, below */
			continue;
		memcpy(p->model.counters, r->counters, sizeof(r->counters));
		depth_update(&r->depth, p, now);
	}
	if (r->target)
		return;
	if (r->kernel.proc)
		kernel_update(&r->kernel, now);
	system_scan(&r->sys, now, r->gen);
	for (i = 0; i < r->sys.n; i++)
		proc_triage(r->sys.v[i], now);
	system_reap(&r->sys, &r->depth, r->out);
	system_policy(&r->sys, &r->depth, r->out, now);
}

static int write_folded(struct run *r, struct lw_view *v)
{
	const char *path = r->opts.folded_path;
	char tmp[4096];
	FILE *f;
	int err;

	if (!strcmp(path, "-"))
		return report_folded(stdout, path, v, r->opts.folded_value);
	f = lw_replace_open(path, tmp, sizeof(tmp));
	if (!f) {
		lw_err("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	err = report_folded(f, path, v, r->opts.folded_value);
	if (lw_replace_commit(f, tmp, path, !err) && !err) {
		lw_err("writing %s: %s", path, strerror(errno));
		return -1;
	}
	return err;
}

/* Files rewritten at every report, so they are current when read. */
static int write_files(struct run *r, struct lw_view *v, bool final)
{
	int rc = LW_EXIT_OK;

	if (r->opts.folded_path &&
	    (final || strcmp(r->opts.folded_path, "-")) && write_folded(r, v))
		rc = LW_EXIT_ERROR;
	if (r->opts.pprof_path && report_pprof(r->opts.pprof_path, v))
		rc = LW_EXIT_ERROR;
	if (r->opts.pprof_dir &&
	    pprof_dir_write(r->opts.pprof_dir, r->opts.pprof_keep, v))
		rc = LW_EXIT_ERROR;
	return rc;
}

static struct lw_view view_of(struct run *r, bool final)
{
	struct lw_view v = {
		.interval = r->opts.interval,
		.elapsed = lw_now() - r->t_start,
		.top = r->opts.top,
		.final = final,
		.sample_bytes = r->opts.sample_bytes,
	};

	if (r->target) {
		v.target = &r->target->target;
		v.model = &r->target->model;
		v.sym = r->target->sym;
		if (r->target->goheap_on)
			v.goheap = &r->target->goheap;
		if (r->target->fds_on)
			v.fds = &r->target->fds;
	} else {
		v.sys = &r->sys;
		v.counters = r->counters;
	}
	return v;
}

/* Returns an lw_exit code: the JSON report may fail to be written. */
static int show(struct run *r, bool final)
{
	struct lw_view v = view_of(r, final);

	if (r->opts.floor)
		return LW_EXIT_OK;
	if (r->top && !final)
		top_draw(r->top, &v);
	else
		report_text(r->out, &v);
	if (final && r->json && report_json(r->json, r->opts.json_path, &v))
		return LW_EXIT_ERROR;
	return write_files(r, &v, final);
}

/*
 * An unwritable --json path is found now, not after an hour of tracing.
 * With "-" the JSON owns stdout and the text reports go to stderr.
 */
static int check_file_outputs(struct run *r)
{
	const char *paths[] = { r->opts.folded_path, r->opts.pprof_path };
	size_t i;

	if (r->opts.folded_path && !strcmp(r->opts.folded_path, "-"))
		r->out = stderr;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (!paths[i] || !strcmp(paths[i], "-"))
			continue;
		if (lw_check_writable(paths[i])) {
			lw_err("cannot write %s: %s", paths[i],
			       strerror(errno));
			return LW_EXIT_USAGE;
		}
	}
	if (r->opts.pprof_dir && pprof_dir_check(r->opts.pprof_dir))
		return LW_EXIT_USAGE;
	return LW_EXIT_OK;
}

static int open_outputs(struct run *r)
{
	const char *path = r->opts.json_path;
	int rc;

	r->out = stdout;
	rc = check_file_outputs(r);
	if (rc || !path)
		return rc;
	if (!strcmp(path, "-")) {
		r->json = stdout;
		r->out = stderr;
		return LW_EXIT_OK;
	}
	r->json = fopen(path, "we");
	if (!r->json) {
		lw_err("cannot write the JSON report to %s: %s", path,
		       strerror(errno));
		return LW_EXIT_USAGE;
	}
	return LW_EXIT_OK;
}

/*
 * Sleeps until the next deadline, a ring-buffer record, target exit or,
 * in the live view, a key (or a resize, which interrupts the poll).
 */
static void wait_for(struct run *r, double until)
{
	const struct lw_target *t = r->target ? &r->target->target : NULL;
	struct pollfd p[4] = {
		{ .fd = t && !t->exited ? t->pidfd : -1, .events = POLLIN },
		{ .fd = session_poll_fd(&r->session), .events = POLLIN },
		{ .fd = r->top ? top_input_fd(r->top) : -1, .events = POLLIN },
		{ .fd = prom_poll_fd(r->prom), .events = POLLIN },
	};
	double left = until - lw_now();
	int ms = left > 60 ? 60000 : (int)(left * 1000) + 1;
	struct lw_view v;

	if (ms < 0)
		ms = 0;
	if (poll(p, 4, ms) > 0 && p[1].revents)
		session_consume(&r->session);
	/* every wake: it also closes connections whose time is up */
	prom_serve(r->prom);
	if (!r->top)
		return;
	v = view_of(r, false);
	if (!top_input(r->top, &v))
		r->quit = true;
}

static void draw_top(struct run *r)
{
	struct lw_view v = view_of(r, false);

	top_draw(r->top, &v);
}

/*
 * A terminal that cannot hold the view is refused before attaching. While
 * the view is up, the text output goes where the view shows it: stderr,
 * which the view points at its log.
 */
static int open_top(struct run *r)
{
	r->top = top_open();
	if (!r->top)
		return LW_EXIT_USAGE;
	r->top_out = r->out;
	r->out = stderr;
	return LW_EXIT_OK;
}

static void close_top(struct run *r)
{
	if (!r->top)
		return;
	top_close(r->top);
	r->top = NULL;
	r->out = r->top_out;
}

static bool target_exited(struct run *r)
{
	return r->target && r->target->target.exited;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --prometheus: the metrics as of now, served until the next report. */
static void publish(struct run *r)
{
	struct lw_prom_info info = { r->opts.prom_sites, r->reports };
	struct lw_view v;

	if (!r->prom)
		return;
	v = view_of(r, false);
	prom_update(r->prom, &v, &r->sys, &info);
}

/* A report: drain, model, symbolize, show; its CPU time is measured
 * (make bench reads it under -v). */
static void report(struct run *r)
{
	double t = cpu_now();

	drain(r);
	show(r, false);
	r->reports++;
	publish(r);
	t = cpu_now() - t;
	r->report_cpu += t;
	if (t > r->report_cpu_max)
		r->report_cpu_max = t;
}

static int loop(struct run *r)
{
	double next = r->t_start + r->opts.interval;
	double end = r->opts.duration ? r->t_start + r->opts.duration : 1e300;

	publish(r); /* served from the start, before the first report */
	if (r->top)
		draw_top(r); /* at once, not after the first interval */
	while (!stop_signal && !r->quit) {
		wait_for(r, next < end ? next : end);
		/* the live view keeps showing an exited target until q */
		if (r->top && target_exited(r))
			continue;
		if (r->target && target_poll_exit(&r->target->target)) {
			r->target->exited = true;
			fprintf(r->out, "\nleakwatch: target %d exited\n",
				r->target->pid);
			if (!r->top)
				break;
			report(r);
			continue;
		}
		if (lw_now() >= end)
			break;
		if (lw_now() >= next) {
			report(r);
			next += r->opts.interval;
		}
	}
	/* the view drained an exited target when it saw the exit */
	if (!r->top || !target_exited(r))
		drain(r);
	close_top(r);
	return show(r, true);
}

static int open_session(struct run *r)
{
	int rc;

	rc = session_open(
		&r->session,
		&(struct lw_session_opts){
			r->opts.floor != LW_FLOOR_NONE, r->opts.unwind_fp,
			r->opts.max_allocs, r->opts.max_sites,
			r->target != NULL, !r->opts.no_fds,
			r->opts.sample_bytes },
		&(struct lw_session_events){ on_map_event, on_file_event, r });
	if (rc)
		return rc;
	r->depth = (struct lw_depth){
		.session = &r->session,
		.floor = r->opts.floor != LW_FLOOR_NONE,
		.memleak_floor = r->opts.floor == LW_FLOOR_MEMLEAK,
		.go_heap = r->opts.go_heap,
		.go_scan_only = r->opts.go_scan_only,
		.out = r->out,
	};
	if (!r->opts.floor && !r->opts.unwind_fp) {
		if (cfi_init(&r->cfi, &r->session.cfi)) {
			lw_err("unwind tables: %s", strerror(ENOMEM));
			return LW_EXIT_ERROR;
		}
		r->depth.cfi = &r->cfi;
	}
	if ((r->session.heap || r->session.floor) &&
	    session_attach_tracepoints(&r->session))
		return LW_EXIT_KERNEL;
	return LW_EXIT_OK;
}

/* -p or a command: one process, traced in depth from the start. */
static int setup_target(struct run *r)
{
	struct lw_target t;
	struct lw_proc *p;
	char comm[80];
	int rc;

	if (r->opts.pid)
		rc = target_open_pid(&t, r->opts.pid);
	else
		rc = target_launch(&t, r->opts.cmd);
	if (rc)
		return rc;
	p = proc_of_target(&t, r->t_start, r->gen);
	if (!p || system_add(&r->sys, p)) {
		if (p)
			proc_free(p);
		else
			target_close(&t);
		return LW_EXIT_ERROR;
	}
	r->target = p;
	rc = open_session(r);
	if (!rc)
		rc = depth_zoom(&r->depth, p);
	if (!rc)
		rc = target_release(&p->target);
	if (rc)
		return rc;
	if (p->target.launched) {
		/* the exec that starts the command is not news */
		model_set_epoch(&p->model, 1);
		p->epoch = 1;
		depth_begin(&r->depth, p);
	}
	fprintf(r->out,
		"leakwatch: watching pid %d (%s), %d probes; "
		"Ctrl-C for the final report\n",
		p->pid, lw_safe(p->target.comm, comm, sizeof(comm), 0),
		p->plan.n);
	fflush(r->out); /* a script waits for it */
	return LW_EXIT_OK;
}

/* The whole machine: triage every process, zoom into the growing ones. */
static int setup_system(struct run *r)
{
	size_t i, zoomed = 0;
	int rc;

	rc = open_session(r);
	if (!rc && r->opts.kernel)
		rc = kernel_open(&r->kernel, r->opts.max_allocs, r->t_start,
				 r->gen);
	if (rc)
		return rc;
	if (r->kernel.proc && system_add(&r->sys, r->kernel.proc))
		return LW_EXIT_ERROR;
	system_scan(&r->sys, r->t_start, r->gen);
	for (i = 0; i < r->sys.n; i++)
		proc_triage(r->sys.v[i], r->t_start);
	system_policy(&r->sys, &r->depth, r->out, r->t_start);
	for (i = 0; i < r->sys.n; i++)
		zoomed += r->sys.v[i]->zoomed;
	fprintf(r->out,
		"leakwatch: watching %s: %zu processes, %zu traced in depth "
		"(at most %d); Ctrl-C for the final report\n",
		system_restricted(&r->sys) ? "the chosen processes"
					   : "the whole system",
		r->sys.n, zoomed, r->sys.zoom_max);
	return LW_EXIT_OK;
}

static int setup(struct run *r)
{
	bool all = !r->opts.pid && !r->opts.cmd;
	int rc;

	rc = machine_check_privileges(r->opts.pid != 0 || all);
	if (!rc)
		rc = machine_check_kernel();
	if (!rc)
		rc = system_init(&r->sys, all, r->opts.comm, r->opts.cgroup,
				 all ? r->opts.zoom : 1);
	if (rc)
		return rc;
	r->t_start = lw_now();
	return all ? setup_system(r) : setup_target(r);
}

/* Detached first, before anything is freed: no probe outlives us. */
static void teardown(struct run *r)
{
	size_t i;

	if (lw_verbose && r->reports)
		fprintf(stderr,
			"leakwatch: %lu reports: drain + model + symbolize + "
			"views %.1f ms of CPU each (at most %.1f ms)\n",
			r->reports, 1e3 * r->report_cpu / r->reports,
			1e3 * r->report_cpu_max);
	if (lw_verbose)
		session_print_run_time(&r->session, stderr);
	for (i = 0; i < r->sys.n; i++)
		detach_all(&r->sys.v[i]->links);
	session_close(&r->session);
	kernel_close(&r->kernel);
	if (r->target && r->target->target.launched && !r->target->exited &&
	    r->target->target.go_fd < 0)
		fprintf(r->out, "leakwatch: detached; pid %d keeps running\n",
			r->target->pid);
	prom_close(r->prom);
	system_free(&r->sys, NULL);
	cfi_free(&r->cfi);
	free(r->drained);
	free(r->owner);
}

int main(int argc, char **argv)
{
	static struct run r;
	int rc;

	switch (lw_parse_options(argc, argv, &r.opts)) {
	case LW_PARSE_EXIT_OK:
		return LW_EXIT_OK;
	case LW_PARSE_EXIT_USAGE:
		return LW_EXIT_USAGE;
	default:
		break;
	}
	rc = open_outputs(&r);
	/* a port in use is found now, before anything is traced */
	if (!rc && r.opts.prom_addr)
		rc = prom_open(&r.prom, r.opts.prom_addr);
	if (!rc && r.opts.live && !r.opts.floor)
		rc = open_top(&r);
	if (rc)
		return rc;
	install_signals();
	prepare_process();
	rc = setup(&r);
	if (!rc)
		rc = loop(&r);
	close_top(&r);
	teardown(&r);
	if (r.json && r.json != stdout && fclose(r.json) && !rc) {
		lw_err("writing %s: %s", r.opts.json_path, strerror(errno));
		rc = LW_EXIT_ERROR;
	}
	return rc;
}
