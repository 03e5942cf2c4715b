// SPDX-License-Identifier: GPL-2.0
/* One process traced in depth: zoom, release, and its share of a drain. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "depth.h"
#include "elfsym.h"
#include "plan.h"
#include "util.h"

/*
 * The Go heap: the runtime's own profile when it is live, else sampling
 * probes on the allocator's slow paths.
 */
static void plan_go_heap_mode(struct lw_depth *d, struct lw_proc *p)
{
	const struct lw_obj *exe = &p->target.objs[0];
	int err;

	p->go_heap_mode = goheap_choose(exe->open, &p->go, d->go_heap,
					&p->go_heap, &p->go_heap_why);
	if (p->go_heap_mode != LW_GOHEAP_SAMPLE)
		return;
	err = plan_go_heap(&p->plan, exe);
	if (!err)
		return;
	p->go_heap_mode = LW_GOHEAP_OFF;
	p->go_heap_why = "its allocator's slow paths were not found";
	lw_debug("Go heap sampling points in %s: %s", exe->name,
		 strerror(-err));
}

/* Why a program without malloc has nothing else to trace either. */
static const char *nothing_why(const struct lw_obj *exe, int go_err)
{
	struct elf_obj *o;
	bool ok;

	if (!go_err)
		return ", and its goroutine probes cannot be placed";
	if (go_err == -ENOTSUP)
		return ", and its goroutines cannot be tracked";
	o = elf_obj_open(exe->open);
	ok = !o || elf_obj_sections_ok(o);
	elf_obj_close(o);
	return ok ? ""
		  : "; its section headers are unreadable, so no Go "
		    "runtime could be looked for";
}

/*
 * Go executables: goroutines are tracked by default, beside the C
 * allocator where cgo brings one. A pure Go program has none, and that
 * is fine; a C program without malloc is not.
 */
static int plan_goroutines(struct lw_depth *d, struct lw_proc *p)
{
	const struct lw_obj *exe = &p->target.objs[0];
	int err = goinfo_detect(exe->open, &p->go);

	p->go_checked = true;
	p->is_go = false;
	if (err == -ENOTSUP)
		lw_warn("%s is built by %s, whose runtime layout is unknown "
			"without DWARF: goroutines are not tracked",
			exe->name, p->go.version[0] ? p->go.version : "Go");
	else if (!err && (d->go_scan_only || !plan_go(&p->plan, exe)))
		p->is_go = true;
	if (p->is_go)
		proc_find_allgs(p);
	if (p->is_go)
		plan_go_heap_mode(d, p);
	if (!plan_has_heap(&p->plan) && !p->is_go) {
		lw_err("no malloc/free found in %s or the libraries it maps "
		       "(an unknown allocator)%s",
		       exe->name, nothing_why(exe, err));
		return LW_EXIT_BAD_TARGET;
	}
	if (!plan_has_heap(&p->plan))
		lw_debug("%s has no C allocator: goroutines only", exe->name);
	return LW_EXIT_OK;
}

/*
 * Before the first probe hit: the tables of every file p maps, or,
 * launched and held before exec, of the files it will map (the
 * executable, its loader and libraries). Files mapped later are asked
 * for by the walk itself. Tables are per file: shared with every other
 * process that maps it.
 */
static void load_unwind_tables(struct lw_depth *d, struct lw_proc *p)
{
	const struct lw_target *t = &p->target;
	char sum[256];
	int i;

	if (!t->launched)
		cfi_add_pid(d->cfi, t->pid);
	for (i = 0; t->launched && i < t->nobjs; i++)
		cfi_add_path(d->cfi, t->objs[i].open, t->objs[i].name);
	if (t->launched && t->interp[0])
		cfi_add_path(d->cfi, t->interp, t->interp);
	cfi_summary(d->cfi, sum, sizeof(sum));
	lw_debug("%s", sum);
}

/* What is open as tracing begins: alive at attach (or inherited at the
 * exec of a launched command). */
static void begin_fds(struct lw_depth *d, struct lw_proc *p)
{
	struct lw_fd_snap *snaps;
	int n;

	if (p->fds_on || d->session->fds_fd < 0)
		return;
	fds_init(&p->fds, p->pid);
	p->fds_on = true;
	n = session_fd_snaps(d->session, p->pid, &snaps);
	if (n >= 0)
		fds_begin(&p->fds, d->session->fds_fd, p->model.epoch, snaps,
			  n);
	free(snaps);
}

int depth_zoom(struct lw_depth *d, struct lw_proc *p)
{
	struct lw_go_offsets go;
	uint32_t epoch = p->model.epoch;
	int rc;

	if (!p->target.launched && p->planned)
		epoch++; /* zoomed before: start anew */
	if (!p->target.launched)
		target_reload_objs(&p->target);
	memset(&p->plan, 0, sizeof(p->plan));
	rc = plan_build(p->target.objs, p->target.nobjs, &p->plan);
	if (!rc)
		rc = plan_goroutines(d, p);
	if (rc)
		return rc;
	p->planned = true;
	plan_print(&p->plan);
	if (d->memleak_floor)
		plan_all_at_entry(&p->plan);
	if (d->cfi)
		load_unwind_tables(d, p);
	go = (struct lw_go_offsets){ p->go.g_goid, p->go.g_startpc,
				     goheap_span_offsets(&p->go_heap,
							 p->go_heap_mode) };
	if (session_target_add(d->session, p->pid, epoch,
			       p->is_go ? &go : NULL)) {
		lw_err("tracing pid %d: %s (more than %d processes?)", p->pid,
		       strerror(errno), LW_MAX_TARGETS);
		return LW_EXIT_ERROR;
	}
	model_set_epoch(&p->model, epoch);
	p->epoch = epoch;
	rc = session_attach(d->session, &p->plan, p->pid, &p->links);
	if (rc) {
		session_target_del(d->session, p->pid);
		return rc;
	}
	p->zoomed = true;
	p->calm = 0;
	if (!p->target.launched)
		depth_begin(d, p);
	else /* before its exec: what it will inherit is all it has open (a
	      * look after the exec also took in what the command received
	      * meanwhile, e.g. by SCM_RIGHTS, as alive at attach) */
		begin_fds(d, p);
	return LW_EXIT_OK;
}

void depth_begin(struct lw_depth *d, struct lw_proc *p)
{
	if (!p->sym) {
		p->sym = symbolizer_new(p->pid);
		if (!p->sym)
			lw_warn("symbolizer of %d: %s", p->pid,
				strerror(errno));
	}
	threads_free(&p->threads);
	threads_init(&p->threads, p->pid);
	begin_fds(d, p);
	if (p->is_go && !p->goscan_on) {
		p->go_bias = proc_go_bias(p);
		goscan_init(&p->goscan, p->pid, p->go_bias, &p->go);
		p->goscan_on = true;
	}
	if (p->is_go && !p->goheap_on) {
		goheap_init(&p->goheap, p->pid, p->go_bias, &p->go_heap,
			    p->go_heap_mode, p->go_heap_why,
			    p->target.objs[0].open, d->session->go_samples_fd,
			    d->session->go_spans_fd, d->session->stacks_fd);
		p->goheap_on = true;
		lw_debug("Go heap of %d (%s): %s", p->pid, p->go.version,
			 p->go_heap_mode == LW_GOHEAP_PROFILE
				 ? "its own memory profile, read from outside"
			 : p->go_heap_mode == LW_GOHEAP_SAMPLE
				 ? "sampled on its allocator's slow paths"
			 : p->go_heap_why ? p->go_heap_why
					  : "off");
	}
}

/* The threads map is keyed by tid: p's live threads, from /proc. */
static void forget_threads(int fd, pid_t pid)
{
	char path[64];
	struct dirent *e;
	__u32 tid;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		tid = strtoul(e->d_name, NULL, 10);
		if (tid)
			bpf_map_delete_elem(fd, &tid);
	}
	closedir(dir);
}

void depth_release(struct lw_depth *d, struct lw_proc *p)
{
	struct lw_session *s = d->session;

	if (!p->zoomed)
		return;
	detach_all(&p->links);
	session_target_del(s, p->pid);
	if (s->allocs_fd >= 0)
		drain_prune(s->allocs_fd, sizeof(struct lw_alloc_key), p->pid,
			    LW_EPOCH_ALL);
	if (s->goroutines_fd >= 0)
		drain_prune(s->goroutines_fd, sizeof(struct lw_go_key), p->pid,
			    LW_EPOCH_ALL);
	if (s->go_samples_fd >= 0)
		drain_prune(s->go_samples_fd, sizeof(struct lw_go_sample_key),
			    p->pid, LW_EPOCH_ALL);
	if (s->go_spans_fd >= 0)
		drain_prune(s->go_spans_fd, sizeof(struct lw_go_span_key),
			    p->pid, LW_EPOCH_ALL);
	if (s->fds_fd >= 0)
		drain_prune(s->fds_fd, sizeof(struct lw_fd_key), p->pid,
			    LW_EPOCH_ALL);
	if (s->threads_fd >= 0 && !p->exited)
		forget_threads(s->threads_fd, p->pid);
	if (p->fds_on)
		fds_free(&p->fds);
	p->fds_on = false;
	/* Where goroutines and threads were blocked is a scan's: the reasons
	 * point into its wait-reason table, freed next, and nothing scans the
	 * process again (the final report read them after the free). */
	model_clear_blocked(&p->model);
	if (p->goscan_on)
		goscan_free(&p->goscan);
	p->goscan_on = false;
	if (p->goheap_on)
		goheap_free(&p->goheap);
	p->goheap_on = false;
	threads_free(&p->threads);
	p->zoomed = false;
}

/*
 * p exec'd: its old image's allocations died with it. Drop them from the
 * kernel maps, and name stacks with the new image's symbols.
 */
static void follow_exec(struct lw_depth *d, struct lw_proc *p)
{
	drain_prune(d->session->allocs_fd, sizeof(struct lw_alloc_key), p->pid,
		    p->model.epoch);
	/* descriptors survive an exec (but CLOEXEC ones): the new image's
	 * at attach, as the first look finds them; the old image's entries
	 * are counted and dropped there */
	if (p->fds_on)
		fds_forget(&p->fds);
	target_refresh(&p->target);
	if (p->sym)
		symbolizer_free(p->sym);
	p->sym = symbolizer_new(p->pid);
	threads_forget(&p->threads);
	p->epoch = p->model.epoch;
	fprintf(d->out, "\nleakwatch: pid %d exec'd %s: tracking starts anew\n",
		p->pid, p->target.exe);
}

/*
 * A site's stack never changes: read it once, when the site appears in
 * the aggregates or in a mapping record.
 */
static void read_stacks(struct lw_depth *d, struct lw_proc *p)
{
	struct lw_model *m = &p->model;
	struct lw_stack st;
	struct lw_site *s;
	size_t i;
	int depth;

	for (i = 0; i < p->ndrained; i++)
		model_site(m, p->drained[i].site);
	for (i = 0; i < m->n; i++) {
		s = &m->sites[i];
		if (s->stack_read)
			continue;
		depth = drain_stack(d->session->stacks_fd, s->stack, &st);
		model_set_stack(s, (const uint64_t *)st.ips, depth);
		s->epoch = s->depth >= 0 ? st.epoch : m->epoch;
		s->kind = s->depth >= 0 ? st.kind : LW_KIND_HEAP;
		s->start = s->depth >= 0 ? st.start : 0;
		s->stack_read = true;
	}
}

/* Where every thread is, then which site each one counts at. */
static void update_threads(struct lw_depth *d, struct lw_proc *p)
{
	struct lw_thread_view tv = { .sym = p->sym };
	int n = session_thread_snaps(d->session, p->pid, &tv.snaps);

	if (n < 0 && !p->snap_warned) {
		lw_warn("thread iterator: %s: where threads are, and what "
			"threads alive at attach run, is not shown",
			strerror(-n));
		p->snap_warned = true;
	}
	tv.n = n > 0 ? n : 0;
	threads_update(&p->threads, &p->model, d->session->threads_fd,
		       p->model.ngen - 1, &tv);
	free(tv.snaps);
}

/* What is open, reconciled with what the syscall program saw. */
static void update_fds(struct lw_depth *d, struct lw_proc *p, double now)
{
	struct lw_fd_snap *snaps;
	int n = session_fd_snaps(d->session, p->pid, &snaps);

	if (n < 0) {
		if (!p->fds_warned)
			lw_warn("file iterator of %d: %s: its descriptors are "
				"not reconciled",
				p->pid, strerror(-n));
		p->fds_warned = true;
		return;
	}
	fds_update(&p->fds, &p->model, d->session->fds_fd, p->model.epoch,
		   session_exec_closed(d->session, p->pid), snaps, n, now);
	free(snaps);
}

void depth_update(struct lw_depth *d, struct lw_proc *p, double now)
{
	uint32_t e = session_epoch(d->session, p->pid);

	if (e > p->model.epoch)
		model_set_epoch(&p->model, e);
	if (p->epoch != p->model.epoch)
		follow_exec(d, p);
	/* before the stacks are read: it makes the sites of new entries */
	if (p->fds_on && !p->exited)
		update_fds(d, p, now);
	read_stacks(d, p);
	/* the objects mapped since: the thread scan names what threads run */
	if (!p->exited) {
		target_refresh(&p->target);
		symbolizer_refresh(p->sym);
		if (d->cfi) /* tables are in use: dlopen'ed since */
			cfi_add_pid(d->cfi, p->pid);
	}
	if (p->goscan_on && !p->exited)
		goscan_update(&p->goscan, &p->model, d->session->goroutines_fd,
			      p->model.ngen - 1, now);
	if (p->goheap_on && !p->exited)
		goheap_update(&p->goheap, &p->model, now);
	if (!p->exited)
		update_threads(d, p);
	p->model.sample_bytes = d->session->sample_bytes;
	model_update(&p->model, p->drained, p->ndrained, now);
}
