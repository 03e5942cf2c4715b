// SPDX-License-Identifier: GPL-2.0
/*
 * The JSON report, schema 1. Scripts depend on it: add fields, never
 * rename or drop one.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"
#include "view.h"

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : json_object_new_null();
}

static json_object *frame_json(const struct lw_frame *f)
{
	json_object *o = json_object_new_object();
	char off[32];

	snprintf(off, sizeof(off), "0x%llx", (unsigned long long)f->offset);
	json_object_object_add(o, "symbol", jstr(f->symbol));
	json_object_object_add(o, "module", jstr(f->module));
	json_object_object_add(o, "file", jstr(f->file));
	json_object_object_add(o, "line", json_object_new_int(f->line));
	json_object_object_add(o, "offset", json_object_new_string(off));
	json_object_object_add(o, "inlined",
			       json_object_new_boolean(f->inlined));
	return o;
}

static json_object *stack_json(struct lw_view *v, struct lw_site *s)
{
	struct lw_frame fr[LW_MAX_FRAMES];
	int n = view_frames(v, s, fr, LW_MAX_FRAMES), i;
	json_object *a = json_object_new_array();

	for (i = 0; i < n; i++)
		json_object_array_add(a, frame_json(&fr[i]));
	return a;
}

static void add_num(json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(v));
}

static void add_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

/* Which allocator family made the site's memory. */
static const char *site_source(const struct lw_site *s)
{
	if (s->map_allocs && s->k.allocs)
		return "malloc+mmap";
	return s->map_allocs ? "mmap" : "malloc";
}

static json_object *pcs_json(struct lw_view *v, const uint64_t *pcs, int n)
{
	struct lw_frame fr[LW_MAX_FRAMES];
	json_object *a = json_object_new_array();
	int i, k, m;

	for (i = 0; i < n; i++) {
		/* pcs[0] is where the goroutine parked, not a return address */
		m = symbolizer_resolve(v->sym, pcs[i], i > 0, fr,
				       LW_MAX_FRAMES);
		for (k = 0; k < m; k++)
			json_object_array_add(a, frame_json(&fr[k]));
	}
	return a;
}

/* "start": the function the goroutines or threads run; "blocked": where
 * they wait (goroutines: by wait reason; threads: by their /proc state). */
static void goroutine_json(json_object *o, struct lw_view *v,
			   const struct lw_site *s)
{
	json_object *blocked = json_object_new_array(), *b;
	struct lw_frame fr[LW_MAX_FRAMES];
	int i, n;

	n = s->start ? symbolizer_resolve(v->sym, s->start, false, fr,
					  LW_MAX_FRAMES)
		     : 0;
	json_object_object_add(o, "start",
			       n ? frame_json(&fr[n - 1])
				 : json_object_new_null());
	for (i = 0; i < s->nblocked; i++) {
		b = json_object_new_object();
		json_object_object_add(b, "reason", jstr(s->blocked[i].reason));
		add_int(b, "count", s->blocked[i].count);
		json_object_object_add(
			b, "stack",
			pcs_json(v, s->blocked[i].pcs, s->blocked[i].depth));
		json_object_array_add(blocked, b);
	}
	json_object_object_add(o, "blocked", blocked);
}

static json_object *site_json(struct lw_view *v, struct lw_site *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "kind", jstr(view_kind_name(s->kind)));
	if (s->kind == LW_KIND_HEAP)
		json_object_object_add(o, "source", jstr(site_source(s)));
	add_int(o, "bytes", site_bytes(s));
	add_int(o, "count", site_count(s));
	add_num(o, "bytes_per_s",
		s->kind == LW_KIND_HEAP ? s->fit.value_per_s : 0);
	add_num(o, "count_per_s", s->fit.count_per_s);
	json_object_object_add(o, "suspect",
			       json_object_new_boolean(s->fit.suspect));
	add_num(o, "oldest_age_s", s->oldest_age_s > 0 ? s->oldest_age_s : 0);
	add_int(o, "allocs", s->k.allocs + s->map_allocs);
	add_int(o, "frees", s->k.frees + s->map_frees);
	add_int(o, "samples", s->fit.samples);
	add_num(o, "r2", s->fit.r2);
	add_num(o, "tau", s->fit.tau);
	json_object_object_add(o, "stack", stack_json(v, s));
	if (s->label[0])
		json_object_object_add(o, "label", jstr(s->label));
	if (s->kind != LW_KIND_HEAP)
		goroutine_json(o, v, s);
	return o;
}

static json_object *target_json(struct lw_view *v)
{
	const struct lw_target *t = v->target;
	json_object *o = json_object_new_object();

	add_int(o, "pid", t->pid);
	json_object_object_add(o, "comm", jstr(t->comm));
	json_object_object_add(o, "exe", jstr(t->exe));
	json_object_object_add(o, "exited", json_object_new_boolean(t->exited));
	json_object_object_add(o, "launched",
			       json_object_new_boolean(t->launched));
	return o;
}

static json_object *counters_json(struct lw_view *v, bool drops)
{
	json_object *o = json_object_new_object();
	int c;

	for (c = 0; c < LW_CNT_MAX; c++)
		if (view_counter_is_drop(c) == drops)
			add_int(o, view_counter_name(c), view_counters(v)[c]);
	if (drops)
		add_int(o, "unresolved_frames", view_unresolved(v));
	return o;
}

/* What was seen since attach, freed or not: the work observed. */
static void totals_add(struct lw_view *v, uint64_t n[3][2])
{
	const struct lw_site *s;
	size_t i;

	for (i = 0; i < v->model->n; i++) {
		s = &v->model->sites[i];
		if (s->kind > LW_KIND_THREAD)
			continue;
		n[s->kind][0] += s->k.allocs + s->map_allocs;
		n[s->kind][1] += s->k.frees + s->map_frees;
	}
}

static json_object *totals_json(uint64_t n[3][2])
{
	json_object *o = json_object_new_object();

	add_int(o, "heap_allocs", n[LW_KIND_HEAP][0]);
	add_int(o, "heap_frees", n[LW_KIND_HEAP][1]);
	add_int(o, "goroutines_created", n[LW_KIND_GOROUTINE][0]);
	add_int(o, "goroutines_exited", n[LW_KIND_GOROUTINE][1]);
	add_int(o, "threads_created", n[LW_KIND_THREAD][0]);
	add_int(o, "threads_exited", n[LW_KIND_THREAD][1]);
	return o;
}

/* System-wide, every traced process's sites, ranked together. */
struct any_site {
	json_object *o;
	const struct lw_site *s;
};

struct all_sites {
	struct any_site *v;
	size_t n, cap;
};

static void all_add(struct all_sites *all, json_object *o,
		    const struct lw_site *s)
{
	struct any_site *v;

	if (all->n == all->cap) {
		all->cap = all->cap ? 2 * all->cap : 64;
		v = realloc(all->v, all->cap * sizeof(*v));
		if (!v) {
			json_object_put(o);
			return;
		}
		all->v = v;
	}
	all->v[all->n++] = (struct any_site){ o, s };
}

/* As model_ranked orders one process's: by kind, then growth. */
static int by_rank(const void *a, const void *b)
{
	const struct lw_site *x = ((const struct any_site *)a)->s;
	const struct lw_site *y = ((const struct any_site *)b)->s;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->fit.value_per_s != y->fit.value_per_s)
		return x->fit.value_per_s < y->fit.value_per_s ? 1 : -1;
	return site_bytes(x) < site_bytes(y)   ? 1
	       : site_bytes(x) > site_bytes(y) ? -1
					       : 0;
}

static json_object *all_json(struct all_sites *all)
{
	json_object *a = json_object_new_array();
	size_t i;

	qsort(all->v, all->n, sizeof(*all->v), by_rank);
	for (i = 0; i < all->n; i++)
		json_object_array_add(a, all->v[i].o);
	free(all->v);
	return a;
}

static json_object *sites_json(struct lw_view *v, struct all_sites *all,
			       pid_t pid)
{
	json_object *sites = json_object_new_array(), *o;
	struct lw_site **s;
	size_t n = model_ranked(v->model, &s), i;

	for (i = 0; i < n; i++) {
		json_object_array_add(sites, site_json(v, s[i]));
		if (!all)
			continue;
		o = site_json(v, s[i]);
		add_int(o, "pid", pid);
		all_add(all, o, s[i]);
	}
	free(s);
	return sites;
}

static void signal_json(json_object *o, const struct lw_proc *p,
			enum lw_signal k, const char *name, const char *rate)
{
	if (p->value[k] < 0) {
		json_object_object_add(o, name, json_object_new_null());
		json_object_object_add(o, rate, json_object_new_null());
		return;
	}
	add_int(o, name, p->value[k]);
	add_num(o, rate, p->fit[k].value_per_s);
}

/* One process of a system-wide run; its sites when it was traced. */
static json_object *proc_json(struct lw_view *v, struct lw_proc *p,
			      struct all_sites *all, uint64_t totals[3][2])
{
	json_object *o = json_object_new_object();
	struct lw_view pv = view_of_proc(v, p);

	add_int(o, "pid", p->pid);
	json_object_object_add(o, "comm", jstr(p->target.comm));
	json_object_object_add(o, "exe", jstr(p->target.exe));
	json_object_object_add(o, "cgroup", jstr(p->cgroup));
	add_int(o, "rss_bytes", p->rss);
	signal_json(o, p, LW_SIG_RSS, "anon_bytes", "rss_bytes_per_s");
	signal_json(o, p, LW_SIG_THREADS, "threads", "threads_per_s");
	signal_json(o, p, LW_SIG_GOROUTINES, "goroutines", "goroutines_per_s");
	json_object_object_add(o, "suspect",
			       json_object_new_boolean(p->suspect));
	json_object_object_add(o, "zoomed", json_object_new_boolean(p->zoomed));
	json_object_object_add(o, "zoom_reason",
			       p->planned ? jstr(p->why)
					  : json_object_new_null());
	json_object_object_add(o, "exited", json_object_new_boolean(p->exited));
	if (p->planned && p->sym) {
		json_object_object_add(o, "sites",
				       sites_json(&pv, all, p->pid));
		totals_add(&pv, totals);
	} else {
		json_object_object_add(o, "sites", json_object_new_array());
	}
	return o;
}

static json_object *system_target_json(void)
{
	json_object *o = json_object_new_object();

	add_int(o, "pid", 0);
	json_object_object_add(o, "comm", jstr("[system]"));
	json_object_object_add(o, "exe", jstr(""));
	json_object_object_add(o, "exited", json_object_new_boolean(false));
	json_object_object_add(o, "launched", json_object_new_boolean(false));
	return o;
}

/*
 * System-wide: schema 1 (its "sites" are every traced process's, each
 * with its "pid"), plus "processes": the table, each with its own sites.
 */
static void system_json(json_object *root, struct lw_view *v,
			uint64_t totals[3][2])
{
	json_object *procs = json_object_new_array();
	struct all_sites all = { 0 };
	struct lw_proc **p;
	size_t n = system_ranked(v->sys, &p), i;

	for (i = 0; i < n; i++)
		json_object_array_add(procs, proc_json(v, p[i], &all, totals));
	for (i = 0; i < v->sys->n; i++)
		if (v->sys->v[i]->exited)
			json_object_array_add(procs, proc_json(v, v->sys->v[i],
							       &all, totals));
	free(p);
	json_object_object_add(root, "sites", all_json(&all));
	json_object_object_add(root, "processes", procs);
}

static json_object *report(struct lw_view *v)
{
	json_object *root = json_object_new_object();
	uint64_t totals[3][2] = {};

	add_int(root, "schema", 1);
	json_object_object_add(root, "version", jstr(LW_VERSION));
	json_object_object_add(root, "target",
			       v->sys ? system_target_json() : target_json(v));
	add_num(root, "interval_s", v->interval);
	add_num(root, "duration_s", v->elapsed);
	json_object_object_add(root, "drops", counters_json(v, true));
	json_object_object_add(root, "stats", counters_json(v, false));
	if (v->sys) {
		system_json(root, v, totals);
	} else {
		totals_add(v, totals);
		json_object_object_add(root, "sites", sites_json(v, NULL, 0));
	}
	json_object_object_add(root, "totals", totals_json(totals));
	return root;
}

int report_json(FILE *f, const char *name, struct lw_view *v)
{
	json_object *root = report(v);
	const char *text = json_object_to_json_string_ext(
		root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int err = 0;

	if (fprintf(f, "%s\n", text) < 0 || fflush(f)) {
		lw_err("writing %s: %s", name, strerror(errno));
		err = -1;
	}
	json_object_put(root);
	return err;
}
