// SPDX-License-Identifier: GPL-2.0
/*
 * The metrics a Prometheus server scrapes (--prometheus), in the text
 * exposition format 0.0.4 or OpenMetrics 1.0.0: per process the heap,
 * threads, goroutines and descriptors leakwatch sees, and the top
 * --prometheus-sites sites of each by the report's ranking. Names are
 * data: every label value is escaped as every view escapes names
 * (safestr.h), then as the format requires. The metric list is a
 * contract (README "Prometheus metrics"): add, never rename or drop.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "prom.h"
#include "safestr.h"
#include "util.h"
#include "view.h"

#ifndef LW_VERSION
#define LW_VERSION "unknown"
#endif

/* One exported site: its labels made once, used by three families. */
struct prom_site {
	struct lw_site *s;
	char *labels; /* pid="..",comm="..",kind=..,...: no braces */
};

/* One process: its own view, its ranked sites, the exported ones. */
struct prom_proc {
	struct lw_proc *p;
	struct lw_view v;
	bool sites; /* traced in depth: it has sites */
	struct lw_site **ranked;
	size_t nranked;
	struct prom_site *top;
	size_t ntop;
	char *labels; /* pid="..",comm=".." */
};

/* The exposition format's escaping of a label value (already safe). */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void put_label(FILE *f, bool first, const char *name, const char *val)
{
	char buf[512], *dup = NULL;
	const char *safe = val ? val : "";

	if (!lw_safe_clean(safe, 0)) {
		dup = lw_safe_dup(safe, 0);
		safe = dup ? dup : lw_safe(safe, buf, sizeof(buf), 0);
	}
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	put_escaped(f, safe);
	fputc('"', f);
	free(dup);
}

/* A label list made into a string: NULL only when out of memory. */
static char *labels_of(void (*fill)(FILE *f, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fill(f, arg);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void fill_proc(FILE *f, const void *arg)
{
	const struct lw_proc *p = arg;
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", p->pid);
	put_label(f, true, "pid", pid);
	put_label(f, false, "comm", p->target.comm);
}

/* A frame's part of a site's id: what does not change across runs (the
 * file and the offset in it, not the load address). */
static uint64_t hash_frame(uint64_t h, const struct lw_frame *f)
{
	if (f->module)
		h = lw_fnv(h, f->module, strlen(f->module) + 1);
	return lw_fnv(h, &f->offset, sizeof(f->offset));
}

struct site_arg {
	const struct prom_proc *pp;
	struct lw_site *s;
};

static void fill_site(FILE *f, const void *arg)
{
	const struct site_arg *a = arg;
	struct lw_view v = a->pp->v;
	struct lw_frame fr[LW_MAX_FRAMES], st[LW_MAX_FRAMES];
	uint64_t h = LW_FNV_BASIS;
	const struct lw_frame *top = NULL;
	char id[24], line[16], unresolved[PATH_MAX + 24];
	int n, i;

	n = view_frames(&v, a->s, fr, LW_MAX_FRAMES);
	h = lw_fnv(h, &a->s->kind, sizeof(a->s->kind));
	for (i = 0; i < n; i++)
		if (!fr[i].inlined) /* the same pc as the frame that follows */
			h = hash_frame(h, &fr[i]);
	if (a->s->start) {
		/* goroutines made at one place (the runtime's own, all at
		 * runtime.goexit) are sites apart by what they run: so are
		 * their series */
		i = symbolizer_resolve(v.sym, a->s->start, false, st,
				       LW_MAX_FRAMES);
		if (i)
			h = hash_frame(h, &st[i - 1]);
	}
	if (n) {
		top = &fr[0];
	} else {
		/* no stack: its label, and which of such sites it is (two
		 * with one label must not make one series twice) */
		h = lw_fnv(h, a->s->label, strlen(a->s->label));
		h = lw_fnv(h, &a->s->stack, sizeof(a->s->stack));
	}
	snprintf(id, sizeof(id), "%012llx",
		 (unsigned long long)(h & 0xffffffffffffull));
	snprintf(line, sizeof(line), "%d", top ? top->line : 0);
	fputs(a->pp->labels, f);
	put_label(f, false, "kind", view_kind_name(a->s->kind));
	put_label(f, false, "site", id);
	if (top && !top->symbol) /* as the text report names it */
		snprintf(unresolved, sizeof(unresolved), "%s+0x%llx",
			 top->module ? top->module : "",
			 (unsigned long long)top->offset);
	put_label(f, false, "function",
		  top ? (top->symbol ? top->symbol : unresolved) : a->s->label);
	put_label(f, false, "file", top ? top->file : "");
	put_label(f, false, "line", line);
	put_label(f, false, "module", top ? top->module : "");
	put_label(f, false, "suspect", a->s->fit.suspect ? "true" : "false");
}

static int prepare_proc(struct prom_proc *pp, const struct lw_view *base,
			struct lw_proc *p, int nsites)
{
	struct site_arg a = { pp, NULL };
	size_t i;

	memset(pp, 0, sizeof(*pp));
	pp->p = p;
	pp->labels = labels_of(fill_proc, p);
	if (!pp->labels)
		return -1;
	pp->sites = proc_has_sites(p);
	if (!pp->sites)
		return 0;
	pp->v = view_of_proc(base, p);
	pp->nranked = model_ranked(&p->model, &pp->ranked);
	pp->ntop = pp->nranked < (size_t)nsites ? pp->nranked : (size_t)nsites;
	pp->top = calloc(pp->ntop ? pp->ntop : 1, sizeof(*pp->top));
	if (!pp->top)
		return -1;
	for (i = 0; i < pp->ntop; i++) {
		a.s = pp->ranked[i];
		pp->top[i].s = a.s;
		pp->top[i].labels = labels_of(fill_site, &a);
		if (!pp->top[i].labels)
			return -1;
	}
	return 0;
}

static void free_proc(struct prom_proc *pp)
{
	size_t i;

	for (i = 0; pp->top && i < pp->ntop; i++)
		free(pp->top[i].labels);
	free(pp->top);
	free(pp->ranked);
	free(pp->labels);
}

enum fam_type {
	FAM_GAUGE,
	FAM_COUNTER,
	FAM_INFO
};

/*
 * HELP and TYPE of a family. name is the sample's name: a counter's ends
 * in _total, an info's in _info; OpenMetrics names the family without it.
 */
static void family(FILE *f, bool om, const char *name, enum fam_type t,
		   const char *help)
{
	static const char *const types[] = { "gauge", "counter", "info" };
	size_t n = strlen(name);

	if (om && t == FAM_COUNTER)
		n -= strlen("_total");
	else if (om && t == FAM_INFO)
		n -= strlen("_info");
	fprintf(f, "# HELP %.*s %s\n", (int)n, name, help);
	fprintf(f, "# TYPE %.*s %s\n", (int)n, name,
		om || t != FAM_INFO ? types[t] : "gauge");
}

static void sample(FILE *f, const char *name, const char *labels, double v)
{
	fputs(name, f);
	if (labels && *labels)
		fprintf(f, "{%s}", labels);
	if (isnan(v))
		fputs(" NaN\n", f);
	else if (isinf(v))
		fputs(v > 0 ? " +Inf\n" : " -Inf\n", f);
	else if (v == (double)(long long)v && fabs(v) < 1e15)
		fprintf(f, " %lld\n", (long long)v);
	else
		fprintf(f, " %.10g\n", v);
}

/* What a traced process's sites add up to, of one kind. */
static double sum_kind(const struct prom_proc *pp, enum lw_site_kind k,
		       bool bytes, bool *any)
{
	double sum = 0;
	size_t i;

	for (i = 0; i < pp->nranked; i++) {
		if (pp->ranked[i]->kind != k)
			continue;
		*any = true;
		sum += bytes ? (double)site_bytes(pp->ranked[i])
			     : (double)site_count(pp->ranked[i]);
	}
	return sum;
}

/* A process's signal: the system scan's value when it has one, else what
 * its sites say (a -p or launched target is not scanned). */
static bool signal_of(const struct prom_proc *pp, enum lw_signal sig,
		      double *out)
{
	bool any = false;

	if (pp->p->value[sig] >= 0) {
		*out = (double)pp->p->value[sig];
		return true;
	}
	if (!pp->sites)
		return false;
	switch (sig) {
	case LW_SIG_THREADS:
		*out = sum_kind(pp, LW_KIND_THREAD, false, &any);
		return any;
	case LW_SIG_GOROUTINES:
		*out = sum_kind(pp, LW_KIND_GOROUTINE, false, &any);
		return any || pp->p->is_go;
	case LW_SIG_FDS:
		if (pp->v.fds && pp->v.fds->open >= 0) {
			*out = (double)pp->v.fds->open;
			return true;
		}
		*out = sum_kind(pp, LW_KIND_FD, false, &any);
		return any;
	default:
		return false;
	}
}

static bool proc_suspect(const struct prom_proc *pp)
{
	size_t i;

	if (pp->p->suspect)
		return true;
	for (i = 0; i < pp->nranked; i++)
		if (pp->ranked[i]->fit.suspect)
			return true;
	return false;
}

static const struct {
	const char *name;
	enum lw_signal sig;
	const char *help;
} signals[] = {
	{ "leakwatch_process_threads", LW_SIG_THREADS, "Live threads." },
	{ "leakwatch_process_goroutines", LW_SIG_GOROUTINES,
	  "Live goroutines (Go programs)." },
	{ "leakwatch_process_fds", LW_SIG_FDS, "Open file descriptors." },
	{ "leakwatch_process_anon_bytes", LW_SIG_RSS,
	  "Resident anonymous memory (the system-wide scan)." },
};

static void emit_procs(FILE *f, bool om, struct prom_proc *pp, size_t n)
{
	bool any;
	double v;
	size_t i, k;

	family(f, om, "leakwatch_process_heap_bytes", FAM_GAUGE,
	       "Outstanding heap bytes leakwatch tracks (C malloc and mmap, "
	       "the Go heap) of a process traced in depth.");
	for (i = 0; i < n; i++) {
		if (!pp[i].sites)
			continue;
		any = false;
		v = sum_kind(&pp[i], LW_KIND_HEAP, true, &any);
		sample(f, "leakwatch_process_heap_bytes", pp[i].labels, v);
	}
	for (k = 0; k < sizeof(signals) / sizeof(signals[0]); k++) {
		family(f, om, signals[k].name, FAM_GAUGE, signals[k].help);
		for (i = 0; i < n; i++)
			if (signal_of(&pp[i], signals[k].sig, &v))
				sample(f, signals[k].name, pp[i].labels, v);
	}
	family(f, om, "leakwatch_process_suspect", FAM_GAUGE,
	       "1 when a signal or a site of the process is a leak suspect.");
	for (i = 0; i < n; i++)
		sample(f, "leakwatch_process_suspect", pp[i].labels,
		       proc_suspect(&pp[i]));
	family(f, om, "leakwatch_sites_omitted", FAM_GAUGE,
	       "Sites of a process traced in depth not exported "
	       "(beyond --prometheus-sites).");
	for (i = 0; i < n; i++)
		if (pp[i].sites)
			sample(f, "leakwatch_sites_omitted", pp[i].labels,
			       (double)(pp[i].nranked - pp[i].ntop));
}

enum site_value {
	SITE_BYTES,
	SITE_COUNT,
	SITE_GROWTH
};

static double site_metric(const struct lw_site *s, enum site_value what)
{
	switch (what) {
	case SITE_BYTES:
		return (double)site_bytes(s);
	case SITE_COUNT:
		return (double)site_count(s);
	default: /* the JSON report's bytes_per_s, or count_per_s */
		return s->kind == LW_KIND_HEAP ? s->fit.value_per_s
					       : s->fit.count_per_s;
	}
}

static void emit_sites(FILE *f, bool om, struct prom_proc *pp, size_t n)
{
	static const struct {
		const char *name;
		enum site_value what;
		const char *help;
	} fams[] = {
		{ "leakwatch_site_bytes", SITE_BYTES,
		  "Outstanding bytes of a site (heap; a thread's stack)." },
		{ "leakwatch_site_live", SITE_COUNT,
		  "Live blocks, goroutines, threads or descriptors of a site." },
		{ "leakwatch_site_growth_per_second", SITE_GROWTH,
		  "A site's growth: bytes/s for heap sites, count/s else." },
	};
	size_t i, j, k;

	for (k = 0; k < sizeof(fams) / sizeof(fams[0]); k++) {
		family(f, om, fams[k].name, FAM_GAUGE, fams[k].help);
		for (i = 0; i < n; i++)
			for (j = 0; j < pp[i].ntop; j++)
				sample(f, fams[k].name, pp[i].top[j].labels,
				       site_metric(pp[i].top[j].s,
						   fams[k].what));
	}
}

static void emit_counters(FILE *f, bool om, const struct lw_view *v)
{
	const uint64_t *cnt = view_counters(v);
	char labels[96];
	int pass, c;

	for (pass = 0; pass < 2; pass++) {
		const char *name = pass ? "leakwatch_events_total"
					: "leakwatch_drops_total";

		family(f, om, name, FAM_COUNTER,
		       pass ? "Events counted (the JSON report's stats)."
			    : "Losses counted (the JSON report's drops).");
		for (c = 0; c < LW_CNT_MAX; c++) {
			if (view_counter_is_drop(c) == !!pass)
				continue;
			snprintf(labels, sizeof(labels), "counter=\"%s\"",
				 view_counter_name(c));
			sample(f, name, labels, (double)cnt[c]);
		}
		if (!pass)
			sample(f, name, "counter=\"unresolved_frames\"",
			       (double)view_unresolved(v));
	}
}

static void emit_head(FILE *f, bool om, const struct lw_view *v,
		      const struct lw_prom_info *info)
{
	struct timespec ts;

	family(f, om, "leakwatch_build_info", FAM_INFO,
	       "The leakwatch build (its version).");
	fputs("leakwatch_build_info{version=\"", f);
	put_escaped(f, LW_VERSION);
	fputs("\"} 1\n", f);
	family(f, om, "leakwatch_interval_seconds", FAM_GAUGE,
	       "The drain and report period (-i).");
	sample(f, "leakwatch_interval_seconds", NULL, v->interval);
	family(f, om, "leakwatch_sample_bytes", FAM_GAUGE,
	       "--sample: mean bytes per C heap sample; 0: every allocation.");
	sample(f, "leakwatch_sample_bytes", NULL, (double)v->sample_bytes);
	family(f, om, "leakwatch_reports_total", FAM_COUNTER,
	       "Reports (drains of the kernel's maps) since start.");
	sample(f, "leakwatch_reports_total", NULL, (double)info->reports);
	family(f, om, "leakwatch_last_report_timestamp_seconds", FAM_GAUGE,
	       "When these values were made (Unix time).");
	clock_gettime(CLOCK_REALTIME, &ts);
	sample(f, "leakwatch_last_report_timestamp_seconds", NULL,
	       ts.tv_sec + ts.tv_nsec / 1e9);
}

int report_prom(FILE *f, struct lw_view *v, struct lw_system *sys,
		const struct lw_prom_info *info, bool om)
{
	struct prom_proc *pp;
	size_t i, n = 0;
	int rc = 0;

	pp = calloc(sys->n ? sys->n : 1, sizeof(*pp));
	if (!pp)
		return -1;
	for (i = 0; i < sys->n && !rc; i++) {
		if (sys->v[i]->exited)
			continue; /* its series end: Prometheus marks them stale
				   */
		rc = prepare_proc(&pp[n++], v, sys->v[i], info->sites);
	}
	if (!rc) {
		emit_head(f, om, v, info);
		emit_procs(f, om, pp, n);
		emit_sites(f, om, pp, n);
		emit_counters(f, om, v);
		if (om)
			fputs("# EOF\n", f);
	}
	for (i = 0; i < n; i++)
		free_proc(&pp[i]);
	free(pp);
	return rc || ferror(f) ? -1 : 0;
}
