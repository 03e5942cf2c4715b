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
#include "fdinfo.h"
#include "safestr.h"
#include "util.h"
#include "view.h"

/*
 * Every string goes out escaped (safestr.h): JSON must be UTF-8, and a
 * name read from the report must not reach a terminal raw. Clean strings,
 * nearly all, are not copied.
 */
static json_object *jstr(const char *s)
{
	char short_copy[1024], *safe;
	json_object *o;

	if (!s)
		return json_object_new_null();
	if (lw_safe_clean(s, 0))
		return json_object_new_string(s);
	safe = lw_safe_dup(s, 0);
	/* no memory: the name cut short, still escaped */
	o = json_object_new_string(
		safe ? safe : lw_safe(s, short_copy, sizeof(short_copy), 0));
	free(safe);
	return o;
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

/* What a descriptor site's descriptors are: name -> count. */
static json_object *types_json(const struct lw_fd_types *t)
{
	json_object *o = json_object_new_object();
	char *safe;
	size_t i;

	for (i = 0; t && i < t->n; i++) {
		if (lw_safe_clean(t->v[i].name, 0)) {
			add_int(o, t->v[i].name, t->v[i].count);
			continue;
		}
		/* escaped whole: two names cut alike would be one key */
		safe = lw_safe_dup(t->v[i].name, 0);
		add_int(o, safe ? safe : "[out of memory]", t->v[i].count);
		free(safe);
	}
	return o;
}

/* A process's descriptors: open, its limit, when growth reaches it. */
static json_object *fds_json(const struct lw_fds *f)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "open",
			       f->open >= 0 ? json_object_new_int64(f->open)
					    : json_object_new_null());
	add_int(o, "tracked", f->tracked);
	add_int(o, "limit", f->limit);
	add_int(o, "limit_hard", f->limit_hard);
	add_num(o, "open_per_s", f->fit.value_per_s);
	json_object_object_add(o, "eta_s",
			       f->eta_s >= 0 ? json_object_new_double(f->eta_s)
					     : json_object_new_null());
	add_int(o, "at_attach", f->at_attach);
	add_int(o, "opened_unseen", f->unseen);
	add_int(o, "closes_unseen", f->closes_unseen);
	add_int(o, "closed_at_exec", f->closed_at_exec);
	return o;
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
	if (s->sampled) {
		/* --sample: bytes, count, allocs, frees are estimates */
		json_object_object_add(o, "sampled",
				       json_object_new_boolean(true));
		add_int(o, "live_samples", s->samples);
	}
	add_num(o, "r2", s->fit.r2);
	add_num(o, "tau", s->fit.tau);
	json_object_object_add(o, "stack", stack_json(v, s));
	if (s->label[0])
		json_object_object_add(o, "label", jstr(s->label));
	if (s->kind != LW_KIND_HEAP)
		goroutine_json(o, v, s);
	if (s->kind == LW_KIND_FD)
		json_object_object_add(o, "types", types_json(s->fd_types));
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
static void totals_add(struct lw_view *v, uint64_t n[LW_KIND_FD + 1][2])
{
	const struct lw_site *s;
	size_t i;

	for (i = 0; i < v->model->n; i++) {
		s = &v->model->sites[i];
		if (s->kind > LW_KIND_FD)
			continue;
		n[s->kind][0] += s->k.allocs + s->map_allocs;
		n[s->kind][1] += s->k.frees + s->map_frees;
	}
}

static json_object *totals_json(struct lw_view *v,
				uint64_t n[LW_KIND_FD + 1][2])
{
	json_object *o = json_object_new_object();
	bool sampled = v->sample_bytes;

	add_int(o, "heap_allocs", n[LW_KIND_HEAP][0]);
	/* calls seen, exactly (sampled: heap_allocs is an estimate) */
	add_int(o, "heap_calls",
		sampled ? view_counters(v)[LW_CNT_HEAP_CALL]
			: n[LW_KIND_HEAP][0]);
	add_int(o, "heap_frees", n[LW_KIND_HEAP][1]);
	add_int(o, "goroutines_created", n[LW_KIND_GOROUTINE][0]);
	add_int(o, "goroutines_exited", n[LW_KIND_GOROUTINE][1]);
	add_int(o, "threads_created", n[LW_KIND_THREAD][0]);
	add_int(o, "threads_exited", n[LW_KIND_THREAD][1]);
	add_int(o, "fds_opened", n[LW_KIND_FD][0]);
	add_int(o, "fds_closed", n[LW_KIND_FD][1]);
	return o;
}

/*
 * The report is written as it is made: one site's objects at a time, so
 * that 50,000 sites with their stacks never sit in memory as one tree.
 */
static void emit(FILE *f, json_object *o)
{
	fputs(json_object_to_json_string_ext(
		      o,
		      JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE),
	      f);
	json_object_put(o);
}

/* An object's members, without its closing brace: more members follow. */
static void emit_open(FILE *f, json_object *o)
{
	const char *text = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(text);

	while (n && text[n - 1] != '}')
		n--;
	if (n)
		n--; /* the brace */
	while (n && (text[n - 1] == ' ' || text[n - 1] == '\n'))
		n--;
	fwrite(text, 1, n, f);
	/* an object with no member yet needs no comma */
	fputs(json_object_object_length(o) ? ",\n" : "\n", f);
	json_object_put(o);
}

static void emit_sites(FILE *f, struct lw_view *v)
{
	struct lw_site **s;
	size_t n = model_ranked(v->model, &s), i;

	fputs("\"sites\": [", f);
	for (i = 0; i < n; i++) {
		fputs(i ? ",\n" : "\n", f);
		emit(f, site_json(v, s[i]));
	}
	fputs("\n]", f);
	free(s);
}

/* System-wide, every traced process's sites, ranked together. */
struct any_site {
	struct lw_view v; /* its process's */
	struct lw_site *s;
};

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

static void emit_all_sites(FILE *f, struct lw_view *v)
{
	struct any_site *all = NULL, *g;
	size_t n = 0, cap = 0, i, k, m;
	struct lw_site **s;
	json_object *o;

	for (i = 0; i < v->sys->n; i++) {
		if (!proc_has_sites(v->sys->v[i]))
			continue;
		m = model_ranked(&v->sys->v[i]->model, &s);
		for (k = 0; k < m; k++) {
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				g = realloc(all, cap * sizeof(*g));
				if (!g)
					break;
				all = g;
			}
			all[n].v = view_of_proc(v, v->sys->v[i]);
			all[n++].s = s[k];
		}
		free(s);
	}
	if (n)
		qsort(all, n, sizeof(*all), by_rank);
	fputs("\"sites\": [", f);
	for (i = 0; i < n; i++) {
		fputs(i ? ",\n" : "\n", f);
		o = site_json(&all[i].v, all[i].s);
		add_int(o, "pid", all[i].v.target->pid);
		emit(f, o);
	}
	fputs("\n]", f);
	free(all);
}

static void add_known(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k,
			       v >= 0 ? json_object_new_int64(v)
				      : json_object_new_null());
}

/* A Go program's heap: how it was seen, and the runtime's own totals. */
static json_object *goheap_json(const struct lw_goheap *h)
{
	json_object *o = json_object_new_object();
	const struct lw_goheap_totals *t = &h->tot;

	json_object_object_add(o, "mechanism", jstr(goheap_mode_name(h->mode)));
	json_object_object_add(o, "why_off",
			       h->why_off ? jstr(h->why_off)
					  : json_object_new_null());
	add_int(o, "rate_bytes", t->rate);
	add_known(o, "gc_cycles", t->gc_cycles);
	add_known(o, "heap_marked_bytes", t->heap_marked);
	add_known(o, "heap_inuse_bytes", t->heap_inuse);
	add_known(o, "heap_objects", t->objects);
	add_int(o, "sites_bytes", t->sites_bytes);
	if (t->heap_marked > 0)
		add_num(o, "explained",
			(double)t->sites_bytes / t->heap_marked);
	else
		json_object_object_add(o, "explained", json_object_new_null());
	add_int(o, "torn_reads", (int64_t)h->prof.torn);
	add_int(o, "samples_freed", (int64_t)h->sample_frees);
	add_int(o, "runtime_mappings_bytes", t->runtime_maps);
	return o;
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

/* [kernel]'s own losses, " name=N name=N" made an object again. */
static json_object *kernel_drops(const struct lw_proc *p)
{
	json_object *o = json_object_new_object();
	char buf[sizeof(p->drops)], *save = NULL, *tok, *eq;

	snprintf(buf, sizeof(buf), "%s", p->drops);
	for (tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		eq = strchr(tok, '=');
		if (!eq)
			continue;
		*eq = 0;
		add_int(o, tok, strtoll(eq + 1, NULL, 10));
	}
	return o;
}

/* One process of a system-wide run; its sites when it was traced. */
static void emit_proc(FILE *f, struct lw_view *v, struct lw_proc *p)
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
	signal_json(o, p, LW_SIG_FDS, "fd_count", "fd_count_per_s");
	json_object_object_add(o, "suspect",
			       json_object_new_boolean(p->suspect));
	json_object_object_add(o, "zoomed", json_object_new_boolean(p->zoomed));
	json_object_object_add(o, "zoom_reason",
			       p->planned ? jstr(p->why)
					  : json_object_new_null());
	json_object_object_add(o, "exited", json_object_new_boolean(p->exited));
	if (!p->pid)
		json_object_object_add(o, "kernel_drops", kernel_drops(p));
	if (pv.goheap)
		json_object_object_add(o, "go_heap", goheap_json(pv.goheap));
	if (pv.fds)
		json_object_object_add(o, "fds", fds_json(pv.fds));
	emit_open(f, o);
	if (proc_has_sites(p))
		emit_sites(f, &pv);
	else
		fputs("\"sites\": []", f);
	fputs("\n}", f);
}

static void emit_procs(FILE *f, struct lw_view *v)
{
	struct lw_proc **p;
	size_t n = system_ranked(v->sys, &p), i, k = 0;

	fputs("\"processes\": [", f);
	for (i = 0; i < n; i++, k++) {
		fputs(k ? ",\n" : "\n", f);
		emit_proc(f, v, p[i]);
	}
	for (i = 0; i < v->sys->n; i++) {
		if (!v->sys->v[i]->exited)
			continue;
		fputs(k++ ? ",\n" : "\n", f);
		emit_proc(f, v, v->sys->v[i]);
	}
	fputs("\n]", f);
	free(p);
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

/* Everything but the sites (and, system-wide, the processes). */
static json_object *head(struct lw_view *v)
{
	json_object *root = json_object_new_object();
	uint64_t totals[LW_KIND_FD + 1][2] = {};
	struct lw_view pv;
	size_t i;

	if (v->sys) {
		for (i = 0; i < v->sys->n; i++) {
			if (!proc_has_sites(v->sys->v[i]))
				continue;
			pv = view_of_proc(v, v->sys->v[i]);
			totals_add(&pv, totals);
		}
	} else {
		totals_add(v, totals);
	}
	add_int(root, "schema", 1);
	json_object_object_add(root, "version", jstr(LW_VERSION));
	json_object_object_add(root, "target",
			       v->sys ? system_target_json() : target_json(v));
	add_num(root, "interval_s", v->interval);
	add_num(root, "duration_s", v->elapsed);
	json_object_object_add(root, "drops", counters_json(v, true));
	json_object_object_add(root, "stats", counters_json(v, false));
	json_object_object_add(root, "totals", totals_json(v, totals));
	json_object_object_add(root, "sampled",
			       json_object_new_boolean(v->sample_bytes != 0));
	add_int(root, "sample_bytes", v->sample_bytes);
	if (v->goheap)
		json_object_object_add(root, "go_heap", goheap_json(v->goheap));
	if (v->fds)
		json_object_object_add(root, "fds", fds_json(v->fds));
	return root;
}

/*
 * System-wide: schema 1 (its "sites" are every traced process's, each
 * with its "pid"), plus "processes": the table, each with its own sites.
 */
int report_json(FILE *f, const char *name, struct lw_view *v)
{
	emit_open(f, head(v));
	if (v->sys) {
		emit_all_sites(f, v);
		fputs(",\n", f);
		emit_procs(f, v);
	} else {
		emit_sites(f, v);
	}
	fputs("\n}\n", f);
	if (ferror(f) || fflush(f)) {
		lw_err("writing %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}
