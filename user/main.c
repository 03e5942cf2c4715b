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
#include <unistd.h>
#include "cfi.h"
#include "drain.h"
#include "elfsym.h"
#include "machine.h"
#include "goroutines.h"
#include "threads.h"
#include "model.h"
#include "options.h"
#include "plan.h"
#include "session.h"
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
	struct lw_target target;
	struct lw_plan plan;
	struct lw_session session;
	struct lw_model model;
	struct symbolizer *sym;
	struct lw_threads threads;
	struct lw_cfi cfi; /* unwind tables of the files the target maps */
	bool snap_warned;  /* the thread iterator failed once: said so */
	struct lw_drained_site *drained;
	size_t drained_cap;
	double t_start;
	FILE *out;  /* text reports */
	FILE *json; /* final JSON report, opened before anything is traced */
	uint32_t epoch; /* the target's execs the views caught up on */
	bool is_go;	/* goroutines are tracked */
	struct go_layout go;
	struct lw_goscan goscan;
	struct lw_top *top; /* leakwatch top: the live view, while it is up */
	FILE *top_out;	    /* r->out when the view is closed */
	bool quit;	    /* the view's q */
};

static int on_map_event(void *ctx, void *data, size_t size)
{
	const struct lw_map_event *e = data;
	struct lw_model *m = &((struct run *)ctx)->model;

	if (size < sizeof(*e))
		return 0;
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

/*
 * The target exec'd: its old image's allocations died with it. Drop them
 * from the kernel maps, and name stacks with the new image's symbols.
 */
static void follow_exec(struct run *r)
{
	drain_prune_epoch(r->session.allocs_fd, sizeof(struct lw_alloc_key),
			  r->model.epoch);
	target_refresh(&r->target);
	if (r->sym)
		symbolizer_free(r->sym);
	r->sym = symbolizer_new(r->target.pid);
	threads_forget(&r->threads);
	r->epoch = r->model.epoch;
	fprintf(r->out, "\nleakwatch: pid %d exec'd %s: tracking starts anew\n",
		r->target.pid, r->target.exe);
}

/*
 * A site's stack never changes: read it once, when the site appears in the
 * aggregates or in a mapping record.
 */
static void read_stacks(struct run *r, const struct lw_drained_site *d,
			size_t n)
{
	struct lw_stack st;
	struct lw_site *s;
	size_t i;
	int k;

	for (i = 0; i < n; i++)
		model_site(&r->model, d[i].site);
	for (i = 0; i < r->model.n; i++) {
		s = &r->model.sites[i];
		if (s->stack_read)
			continue;
		s->depth = drain_stack(r->session.stacks_fd, s->stack, &st);
		for (k = 0; k < s->depth; k++)
			s->ips[k] = st.ips[k];
		s->epoch = s->depth >= 0 ? st.epoch : r->model.epoch;
		s->kind = s->depth >= 0 ? st.kind : LW_KIND_HEAP;
		s->start = s->depth >= 0 ? st.start : 0;
		s->stack_read = true;
	}
}

/* Where every thread is, then which site each one counts at. */
static void update_threads(struct run *r)
{
	struct lw_thread_view tv = { .sym = r->sym };
	int n = session_thread_snaps(&r->session, r->target.pid, &tv.snaps);

	if (n < 0 && !r->snap_warned) {
		lw_warn("thread iterator: %s: where threads are, and what "
			"threads alive at attach run, is not shown",
			strerror(-n));
		r->snap_warned = true;
	}
	tv.n = n > 0 ? n : 0;
	threads_update(&r->threads, &r->model, r->session.threads_fd,
		       r->model.ngen - 1, &tv);
	free(tv.snaps);
}

/* One drain: a new generation, then the aggregates it closes. */
static void drain(struct run *r)
{
	double now = lw_now();
	size_t n = 0;

	if (r->opts.floor)
		return;
	session_set_gen(&r->session, model_next_gen(&r->model, now));
	session_consume(&r->session);
	if (session_epoch(&r->session) > r->model.epoch)
		model_set_epoch(&r->model, session_epoch(&r->session));
	if (r->epoch != r->model.epoch)
		follow_exec(r);
	if (drain_sites(r->session.sites_fd, session_nsites(&r->session),
			&r->drained, &r->drained_cap, &n))
		lw_warn("reading site aggregates: %s", strerror(errno));
	drain_counters(r->session.counters_fd, r->model.counters);
	read_stacks(r, r->drained, n);
	/* the objects mapped since: the thread scan names what threads run */
	if (!r->target.exited) {
		target_refresh(&r->target);
		symbolizer_refresh(r->sym);
		if (r->cfi.rules) /* tables are in use: dlopen'ed since */
			cfi_add_pid(&r->cfi, r->target.pid);
	}
	if (r->is_go && !r->target.exited)
		goscan_update(&r->goscan, &r->model, r->session.goroutines_fd,
			      r->model.ngen - 1, now);
	if (!r->target.exited)
		update_threads(r);
	model_update(&r->model, r->drained, n, now);
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
	return rc;
}

static struct lw_view view_of(struct run *r, bool final)
{
	return (struct lw_view){
		.target = &r->target,
		.model = &r->model,
		.sym = r->sym,
		.interval = r->opts.interval,
		.elapsed = lw_now() - r->t_start,
		.top = r->opts.top,
		.final = final,
	};
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
	struct pollfd p[3] = {
		{ .fd = r->target.exited ? -1 : r->target.pidfd,
		  .events = POLLIN },
		{ .fd = session_poll_fd(&r->session), .events = POLLIN },
		{ .fd = r->top ? top_input_fd(r->top) : -1, .events = POLLIN },
	};
	double left = until - lw_now();
	int ms = left > 60 ? 60000 : (int)(left * 1000) + 1;
	struct lw_view v;

	if (ms < 0)
		ms = 0;
	if (poll(p, 3, ms) > 0 && p[1].revents)
		session_consume(&r->session);
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

static int loop(struct run *r)
{
	double next = r->t_start + r->opts.interval;
	double end = r->opts.duration ? r->t_start + r->opts.duration : 1e300;

	if (r->top)
		draw_top(r); /* at once, not after the first interval */
	while (!stop_signal && !r->quit) {
		wait_for(r, next < end ? next : end);
		/* the live view keeps showing an exited target until q */
		if (r->top && r->target.exited)
			continue;
		if (target_poll_exit(&r->target)) {
			fprintf(r->out, "\nleakwatch: target %d exited\n",
				r->target.pid);
			if (!r->top)
				break;
			drain(r);
			show(r, false);
			continue;
		}
		if (lw_now() >= end)
			break;
		if (lw_now() >= next) {
			drain(r);
			show(r, false);
			next += r->opts.interval;
		}
	}
	/* the view drained an exited target when it saw the exit */
	if (!r->top || !r->target.exited)
		drain(r);
	close_top(r);
	return show(r, true);
}

/*
 * Go executables: goroutines are tracked by default, beside the C
 * allocator where cgo brings one. A pure Go program has none, and that
 * is fine; a C program without malloc is not.
 */
static int plan_goroutines(struct run *r)
{
	const struct lw_obj *exe = &r->target.objs[0];
	int err = goinfo_detect(exe->open, &r->go);

	if (err == -ENOTSUP)
		lw_warn("%s is built by %s, whose runtime layout is unknown "
			"without DWARF: goroutines are not tracked",
			exe->name, r->go.version[0] ? r->go.version : "Go");
	else if (!err && !plan_go(&r->plan, exe))
		r->is_go = true;
	if (r->is_go && !r->go.allgs) {
		/* stripped: the slice's own length field stands for allglen */
		r->go.allgs = plan_go_find_allgs(exe);
		r->go.allglen = r->go.allgs ? r->go.allgs + 8 : 0;
	}
	if (!plan_has_heap(&r->plan) && !r->is_go) {
		lw_err("no malloc/free found in %s or the libraries it maps "
		       "(an unknown allocator)",
		       exe->name);
		return LW_EXIT_BAD_TARGET;
	}
	if (!plan_has_heap(&r->plan))
		lw_debug("%s has no C allocator: goroutines only", exe->name);
	return LW_EXIT_OK;
}

/* A PIE Go binary (-buildmode=pie) is not where its symbols say. The
 * kernel maps the executable at exec, which a launch has waited for. */
static uint64_t go_bias(struct run *r)
{
	struct elf_obj *o = elf_obj_open(r->target.objs[0].open);
	uint64_t bias = 0;

	if (o) {
		bias = elf_obj_load_bias(o, r->target.pid, r->target.exe);
		elf_obj_close(o);
	}
	return bias;
}

/*
 * Before the first probe hit: the tables of every file the target maps,
 * or, launched and held before exec, of the files it will map (the
 * executable, its loader and libraries). Files mapped later are asked
 * for by the walk itself.
 */
static int load_unwind_tables(struct run *r)
{
	const struct lw_target *t = &r->target;
	char sum[256];
	int i;

	if (cfi_init(&r->cfi, &r->session.cfi)) {
		lw_err("unwind tables: %s", strerror(ENOMEM));
		return LW_EXIT_ERROR;
	}
	if (!t->launched)
		cfi_add_pid(&r->cfi, t->pid);
	for (i = 0; t->launched && i < t->nobjs; i++)
		cfi_add_path(&r->cfi, t->objs[i].open, t->objs[i].name);
	if (t->launched && t->interp[0])
		cfi_add_path(&r->cfi, t->interp, t->interp);
	cfi_summary(&r->cfi, sum, sizeof(sum));
	lw_debug("%s", sum);
	return LW_EXIT_OK;
}

static int setup(struct run *r)
{
	int rc;

	rc = machine_check_privileges(r->opts.pid != 0);
	if (!rc)
		rc = machine_check_kernel();
	if (rc)
		return rc;
	if (r->opts.pid)
		rc = target_open_pid(&r->target, r->opts.pid);
	else
		rc = target_launch(&r->target, r->opts.cmd);
	if (!rc)
		rc = plan_build(r->target.objs, r->target.nobjs, &r->plan);
	if (!rc)
		rc = plan_goroutines(r);
	if (rc)
		return rc;
	plan_print(&r->plan);
	r->t_start = lw_now();
	if (model_init(&r->model, r->t_start))
		return LW_EXIT_ERROR;
	if (r->opts.floor == LW_FLOOR_MEMLEAK)
		plan_all_at_entry(&r->plan);
	rc = session_open(
		&r->session, r->target.pid,
		&(struct lw_session_opts){ r->opts.floor != LW_FLOOR_NONE,
					   r->opts.unwind_fp,
					   r->opts.max_allocs },
		&(struct lw_go_offsets){ r->go.g_goid, r->go.g_startpc },
		&(struct lw_session_events){ on_map_event, on_file_event, r });
	if (!rc && !r->opts.floor && !r->opts.unwind_fp)
		rc = load_unwind_tables(r);
	if (!rc)
		rc = session_attach(&r->session, &r->plan, r->target.pid);
	if (!rc)
		rc = target_release(&r->target);
	if (!rc && r->is_go)
		goscan_init(&r->goscan, r->target.pid, go_bias(r), &r->go);
	if (!rc && r->target.launched) {
		/* the exec that starts the command is not news */
		model_set_epoch(&r->model, 1);
		r->epoch = 1;
	}
	return rc;
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
	if (!rc && r.opts.live && !r.opts.floor)
		rc = open_top(&r);
	if (rc)
		return rc;
	install_signals();
	prepare_process();
	rc = setup(&r);
	if (!rc) {
		r.sym = symbolizer_new(r.target.pid);
		threads_init(&r.threads, r.target.pid);
		if (!r.sym)
			lw_warn("symbolizer: %s", strerror(errno));
		fprintf(r.out,
			"leakwatch: watching pid %d (%s), %d probes; "
			"Ctrl-C for the final report\n",
			r.target.pid, r.target.comm, r.plan.n);
		rc = loop(&r);
	}
	close_top(&r);
	if (lw_verbose)
		session_print_run_time(&r.session, stderr);
	session_close(&r.session);
	if (r.target.launched && r.target.pid > 0 && !r.target.exited &&
	    r.target.go_fd < 0)
		fprintf(r.out, "leakwatch: detached; pid %d keeps running\n",
			r.target.pid);
	target_close(&r.target);
	if (r.is_go)
		goscan_free(&r.goscan);
	if (r.sym)
		symbolizer_free(r.sym);
	threads_free(&r.threads);
	cfi_free(&r.cfi);
	model_free(&r.model);
	free(r.drained);
	if (r.json && r.json != stdout && fclose(r.json) && !rc) {
		lw_err("writing %s: %s", r.opts.json_path, strerror(errno));
		rc = LW_EXIT_ERROR;
	}
	return rc;
}
