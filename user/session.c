// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "leakwatch.h"
#include "floor.skel.h"
#include "heap.skel.h"
#include "cfi.h"
#include "machine.h"
#include "session.h"
#include "util.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && !lw_verbose))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int load_error(const char *what, int err)
{
	const char *hint = machine_load_hint(err);
	char memcg[256];

	lw_err("loading the BPF programs (%s): %s", what, strerror(-err));
	if (hint)
		lw_err("%s", hint);
	if (err == -ENOMEM) {
		machine_memcg_describe(memcg, sizeof(memcg));
		if (memcg[0])
			lw_err("%s", memcg);
	}
	if (err == -EPERM || err == -EACCES)
		return LW_EXIT_PERM;
	return LW_EXIT_KERNEL;
}

static int open_floor(struct lw_session *s)
{
	int err;

	s->floor = floor_bpf__open_and_load();
	if (!s->floor) {
		err = -errno;
		return load_error("floor", err);
	}
	return LW_EXIT_OK;
}

/* Map sizes are decided here, at load, not in the BPF source. */
static int size_maps(struct heap_bpf *h, const struct lw_session_opts *o)
{
	const struct {
		struct bpf_map *map;
		__u32 n;
	} sizes[] = {
		{ h->maps.allocs, o->max_allocs },
		{ h->maps.stack_sites, o->max_sites },
		{ h->maps.site_stacks, o->max_sites },
		{ h->maps.sites, o->max_sites },
		{ h->maps.go_samples, LW_MAX_GO_SAMPLES },
		{ h->maps.go_sample_spans, LW_MAX_GO_SAMPLES },
		{ h->maps.fds, LW_MAX_FDS },
		{ h->maps.cfi_files, LW_CFI_MAX_FILES },
		{ h->maps.cfi_pages, LW_CFI_MAX_PAGES },
		{ h->maps.cfi_entries, LW_CFI_MAX_ENTRIES },
		{ h->maps.cfi_rules, LW_CFI_MAX_RULES },
	};
	unsigned i;
	int err;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		err = bpf_map__set_max_entries(sizes[i].map, sizes[i].n);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The Go heap sampler's distances: an exponential distribution of mean
 * LW_GO_SAMPLE_MEAN bytes, by its quantiles (bpf/go_heap.bpf.h draws one
 * at random per sample).
 */
static void fill_go_exp(__u64 *t)
{
	int i;

	for (i = 0; i < LW_GO_EXP_TABLE; i++)
		t[i] = (__u64)(-log((i + 0.5) / LW_GO_EXP_TABLE) *
			       LW_GO_SAMPLE_MEAN);
}

/*
 * --sample's tables: the distances to the next sample, by quantile of the
 * exponential distribution of that mean; and what a sample stands for,
 * f(x) = x / (1 - e^(-x)) of the mean at x = size / mean (f(0) = 1).
 */
static void fill_sample_tables(struct heap_bpf *h, unsigned long long mean)
{
	double x, d;
	int i;

	for (i = 0; i < LW_SAMPLE_EXP_TABLE; i++) {
		d = -log((i + 0.5) / LW_SAMPLE_EXP_TABLE) * (double)mean;
		h->bss->sample_exp[i] = d < 1 ? 1 : (__u64)llround(d);
	}
	for (i = 0; i < LW_SAMPLE_WF_TABLE; i++) {
		x = (double)i / LW_SAMPLE_STEPS;
		d = i ? x / -expm1(-x) : 1;
		h->bss->sample_wf[i] = (__u32)llround(d * 65536);
	}
}

static int load_heap(struct lw_session *s, const struct lw_session_opts *o,
		     bool fds)
{
	struct bpf_program *session;
	int err;

	heap_bpf__destroy(s->heap);
	s->heap = heap_bpf__open();
	if (!s->heap)
		return -errno;
	s->heap->rodata->use_tables = !o->unwind_fp;
	s->heap->rodata->sample_bytes = o->sample_bytes;
	s->sample_bytes = o->sample_bytes;
	/* one program for both ends of a call; libbpf < 1.6 cannot name it */
	session = s->heap->progs.alloc_session;
	bpf_program__set_autoload(session, o->sample_bytes != 0);
	bpf_program__set_autoload(s->heap->progs.alloc_enter, !o->sample_bytes);
	bpf_program__set_autoload(s->heap->progs.alloc_exit, !o->sample_bytes);
	if (o->sample_bytes)
		bpf_program__set_expected_attach_type(
			session, (enum bpf_attach_type)LW_TRACE_UPROBE_SESSION);
	s->max_sites = o->max_sites;
	s->solo = o->solo;
	bpf_program__set_autoload(s->heap->progs.fd_sys_exit, fds);
	err = size_maps(s->heap, o);
	if (!err)
		err = heap_bpf__load(s->heap);
	if (!err && o->sample_bytes)
		fill_sample_tables(s->heap, o->sample_bytes);
	s->fds_fd = !err && fds ? bpf_map__fd(s->heap->maps.fds) : -1;
	if (s->fds_fd >= 0)
		s->heap->bss->fds_tracked = true;
	return err;
}

static int open_heap(struct lw_session *s, const struct lw_session_opts *o,
		     const struct lw_session_events *ev)
{
	int err;

	err = load_heap(s, o, o->fds);
	/* no memory for the maps is not the descriptor program's fault */
	if (err && err != -ENOMEM && o->fds) {
		/* one missing feature turns off one part, not the run */
		lw_warn("descriptors are not tracked: the syscall exit "
			"tracepoint program did not load (%s)",
			strerror(-err));
		err = load_heap(s, o, false);
	}
	if (err && o->sample_bytes && err != -ENOMEM && err != -EPERM) {
		lw_err("--sample needs session uprobes (Linux 6.13+): the "
		       "program did not load (%s)",
		       strerror(-err));
		return LW_EXIT_KERNEL;
	}
	if (err)
		return load_error("load", err);
	s->sites_fd = bpf_map__fd(s->heap->maps.sites);
	s->stacks_fd = bpf_map__fd(s->heap->maps.site_stacks);
	s->counters_fd = bpf_map__fd(s->heap->maps.counters);
	s->allocs_fd = bpf_map__fd(s->heap->maps.allocs);
	s->goroutines_fd = bpf_map__fd(s->heap->maps.goroutines);
	s->threads_fd = bpf_map__fd(s->heap->maps.threads);
	s->targets_fd = bpf_map__fd(s->heap->maps.targets);
	s->go_samples_fd = bpf_map__fd(s->heap->maps.go_samples);
	s->go_spans_fd = bpf_map__fd(s->heap->maps.go_sample_spans);
	fill_go_exp(s->heap->bss->go_exp);
	s->cfi = (struct lw_cfi_fds){
		.files = bpf_map__fd(s->heap->maps.cfi_files),
		.pages = bpf_map__fd(s->heap->maps.cfi_pages),
		.entries = bpf_map__fd(s->heap->maps.cfi_entries),
		.rules = bpf_map__fd(s->heap->maps.cfi_rules),
	};
	s->rb = ring_buffer__new(bpf_map__fd(s->heap->maps.map_events),
				 ev->map_event, ev->ctx, NULL);
	if (s->rb &&
	    ring_buffer__add(s->rb, bpf_map__fd(s->heap->maps.file_events),
			     ev->file_event, ev->ctx))
		s->rb = (ring_buffer__free(s->rb), NULL);
	if (!s->rb) {
		lw_err("ring buffer: %s", strerror(errno));
		return LW_EXIT_ERROR;
	}
	return LW_EXIT_OK;
}

int session_open(struct lw_session *s, const struct lw_session_opts *o,
		 const struct lw_session_events *ev)
{
	memset(s, 0, sizeof(*s));
	s->sites_fd = s->stacks_fd = s->counters_fd = s->allocs_fd = -1;
	s->goroutines_fd = s->threads_fd = s->targets_fd = -1;
	s->go_samples_fd = s->go_spans_fd = s->fds_fd = -1;
	s->cfi = (struct lw_cfi_fds){ -1, -1, -1, -1 };
	libbpf_set_print(libbpf_print);
	if (o->floor)
		return open_floor(s);
	return open_heap(s, o, ev);
}

/*
 * Exec, thread birth and thread death, and syscall exits (descriptors):
 * tracepoints, for every process. The floor has its bare syscall exit.
 */
int session_attach_tracepoints(struct lw_session *s)
{
	struct bpf_program *tps[4] = { 0 };
	struct bpf_link *l;
	unsigned i, n = 0;

	if (s->floor) {
		tps[n++] = s->floor->progs.floor_sys_exit;
	} else {
		tps[n++] = s->heap->progs.on_exec;
		tps[n++] = s->heap->progs.on_newtask;
		tps[n++] = s->heap->progs.on_thread_exit;
		if (s->fds_fd >= 0)
			tps[n++] = s->heap->progs.fd_sys_exit;
	}
	for (i = 0; i < n; i++) {
		l = bpf_program__attach(tps[i]);
		if (!l) {
			lw_err("attaching %s: %s", bpf_program__name(tps[i]),
			       strerror(errno));
			return -errno;
		}
		s->links.l[s->links.n++] = l;
	}
	return 0;
}

static int attach_error(int err)
{
	if (err == -EPERM || err == -EACCES)
		return LW_EXIT_PERM;
	if (err == -EOPNOTSUPP || err == -ENOSYS || err == -EINVAL) {
		lw_err("this kernel lacks multi-uprobe links (Linux 6.6+)");
		return LW_EXIT_KERNEL;
	}
	return LW_EXIT_ERROR;
}

int session_attach(struct lw_session *s, const struct lw_plan *plan, pid_t pid,
		   struct lw_links *links)
{
	struct lw_progs progs;
	int err;

	if (s->floor)
		progs = (struct lw_progs){
			.enter = s->floor->progs.floor_enter,
			.exit = s->floor->progs.floor_exit,
			.release = s->floor->progs.floor_release,
			.go = s->floor->progs.floor_release,
			.go_heap = s->floor->progs.floor_release,
			.thread = s->floor->progs.floor_release,
		};
	else
		progs = (struct lw_progs){
			.session = s->sample_bytes
					   ? s->heap->progs.alloc_session
					   : NULL,
			.enter = s->heap->progs.alloc_enter,
			.exit = s->heap->progs.alloc_exit,
			.release = s->heap->progs.release_enter,
			.go = s->heap->progs.go_probe,
			.go_heap = s->heap->progs.go_heap_probe,
			.thread = s->heap->progs.thread_create,
		};
	err = attach_plan(plan, pid, &progs, links);
	if (!err)
		return LW_EXIT_OK;
	detach_all(links);
	return attach_error(err);
}

int session_target_add(struct lw_session *s, pid_t pid, uint32_t epoch,
		       const struct lw_go_offsets *go)
{
	struct lw_target_val v = { .epoch = epoch };
	__u32 key = pid;

	if (!s->heap)
		return 0;
	if (go) {
		v.go_goid_off = go->goid;
		v.go_startpc_off = go->startpc;
		v.go_span = go->span;
	}
	if (s->solo) {
		/* written before the tgid: a probe never sees half of it */
		s->heap->bss->solo = v;
		__atomic_store_n(&s->heap->bss->solo_tgid, key,
				 __ATOMIC_RELEASE);
		return 0;
	}
	if (bpf_map_update_elem(s->targets_fd, &key, &v, BPF_ANY))
		return -errno;
	return 0;
}

void session_target_del(struct lw_session *s, pid_t pid)
{
	__u32 key = pid;

	if (s->heap && s->solo)
		__atomic_store_n(&s->heap->bss->solo_tgid, 0, __ATOMIC_RELEASE);
	else if (s->heap)
		bpf_map_delete_elem(s->targets_fd, &key);
}

void session_set_gen(struct lw_session *s, uint32_t gen)
{
	if (s->heap)
		__atomic_store_n(&s->heap->bss->cur_gen, gen, __ATOMIC_RELAXED);
}

uint32_t session_nsites(struct lw_session *s)
{
	uint32_t n;

	if (!s->heap)
		return 0;
	n = __atomic_load_n(&s->heap->data->next_site, __ATOMIC_RELAXED);
	return n < s->max_sites ? n : s->max_sites;
}

/* pid's entry: in .bss when it is the only one, else the targets map. */
static int target_val(struct lw_session *s, pid_t pid, struct lw_target_val *v)
{
	__u32 key = pid;

	if (s->heap && s->solo) {
		v->epoch = __atomic_load_n(&s->heap->bss->solo.epoch,
					   __ATOMIC_RELAXED);
		v->exec_closed = __atomic_load_n(
			&s->heap->bss->solo.exec_closed, __ATOMIC_RELAXED);
		return 0;
	}
	if (!s->heap || bpf_map_lookup_elem(s->targets_fd, &key, v))
		return -1;
	return 0;
}

uint32_t session_epoch(struct lw_session *s, pid_t pid)
{
	struct lw_target_val v;

	return target_val(s, pid, &v) ? 0 : v.epoch;
}

uint32_t session_exec_closed(struct lw_session *s, pid_t pid)
{
	struct lw_target_val v;

	return target_val(s, pid, &v) ? 0 : v.exec_closed;
}

int session_poll_fd(struct lw_session *s)
{
	return s->rb ? ring_buffer__epoll_fd(s->rb) : -1;
}

void session_consume(struct lw_session *s)
{
	if (s->rb)
		ring_buffer__consume(s->rb);
}

void session_print_run_time(struct lw_session *s, FILE *f)
{
	struct bpf_object *obj = s->heap    ? s->heap->obj
				 : s->floor ? s->floor->obj
					    : NULL;
	unsigned long long runs = 0, ns = 0;
	struct bpf_prog_info info;
	struct bpf_program *p;
	__u32 len;

	if (!obj)
		return;
	bpf_object__for_each_program(p, obj)
	{
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_program__fd(p) < 0 ||
		    bpf_prog_get_info_by_fd(bpf_program__fd(p), &info, &len) ||
		    !info.run_cnt)
			continue;
		fprintf(f, "leakwatch: bpf %s: %llu runs, %llu ns\n",
			bpf_program__name(p), (unsigned long long)info.run_cnt,
			(unsigned long long)info.run_time_ns);
		runs += info.run_cnt;
		ns += info.run_time_ns;
	}
	fprintf(f, "leakwatch: bpf total: %llu runs, %llu ns%s\n", runs, ns,
		runs ? "" : " (kernel.bpf_stats_enabled = 1 counts them)");
}

void session_close(struct lw_session *s)
{
	detach_all(&s->links);
	ring_buffer__free(s->rb);
	heap_bpf__destroy(s->heap);
	floor_bpf__destroy(s->floor);
	memset(s, 0, sizeof(*s));
}

static int snap_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct lw_thread_snap *)a)->tid;
	uint32_t y = ((const struct lw_thread_snap *)b)->tid;

	return x < y ? -1 : x > y;
}

/* Reads an iterator to its end: records may straddle reads. */
static int read_records(int fd, size_t rec, void **out)
{
	size_t len = 0, cap = 64 * rec;
	char *buf = malloc(cap), *p;
	ssize_t got;

	*out = NULL;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			p = realloc(buf, cap * 2);
			if (!p)
				break;
			buf = p;
			cap *= 2;
		}
		got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += got;
	}
	*out = buf;
	return len / rec;
}

/* Runs iterator prog over process pid; its records, malloc'ed, in *out. */
static int run_iter(struct bpf_program *prog, pid_t pid, size_t rec, void **out)
{
	union bpf_iter_link_info info = { .task.pid = pid };
	struct bpf_iter_attach_opts opts;
	struct bpf_link *link;
	int fd, n;

	/* libbpf checks that padding is zero too */
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.link_info = &info;
	opts.link_info_len = sizeof(info);
	*out = NULL;
	link = bpf_program__attach_iter(prog, &opts);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		n = -errno;
		bpf_link__destroy(link);
		return n;
	}
	n = read_records(fd, rec, out);
	close(fd);
	bpf_link__destroy(link);
	return n;
}

int session_thread_snaps(struct lw_session *s, pid_t pid,
			 struct lw_thread_snap **out)
{
	int n;

	*out = NULL;
	if (!s->heap)
		return 0;
	n = run_iter(s->heap->progs.thread_snap, pid, sizeof(**out),
		     (void **)out);
	if (n > 1)
		qsort(*out, n, sizeof(**out), snap_cmp);
	return n;
}

int session_fd_snaps(struct lw_session *s, pid_t pid, struct lw_fd_snap **out)
{
	*out = NULL;
	if (!s->heap || s->fds_fd < 0)
		return 0;
	return run_iter(s->heap->progs.fd_snap, pid, sizeof(**out),
			(void **)out);
}
