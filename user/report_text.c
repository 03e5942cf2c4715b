// SPDX-License-Identifier: GPL-2.0
/* The periodic and final text reports. */
#include <stdlib.h>
#include <string.h>
#include "fdinfo.h"
#include "safestr.h"
#include "util.h"
#include "view.h"

#define INTERVAL_FRAMES 4 /* a periodic report stays short */

static void header(FILE *f, struct lw_view *v, struct lw_site **s, size_t n)
{
	char total[32], rate[32], comm[80];
	double bytes = 0, growth = 0;
	size_t i, suspects = 0;

	for (i = 0; i < n; i++) {
		bytes += site_bytes(s[i]);
		growth += s[i]->fit.value_per_s;
		suspects += s[i]->fit.suspect;
	}
	lw_fmt_bytes(bytes, total, sizeof(total));
	lw_fmt_bytes(growth, rate, sizeof(rate));
	lw_safe(v->target->comm, comm, sizeof(comm), 0);
	fprintf(f,
		"\n%s pid %d (%s) at %.1fs%s: heap %s%s outstanding (%s%s/s) "
		"in %zu sites, %zu suspect%s\n",
		v->final ? "== final report:" : "==", v->target->pid, comm,
		v->elapsed, v->target->exited ? ", target exited" : "",
		v->sample_bytes ? "~" : "", total, growth >= 0 ? "+" : "", rate,
		n, suspects, suspects == 1 ? "" : "s");
}

/* --sample: that the heap figures are estimates, and from how much. */
static void sampling_line(FILE *f, struct lw_view *v)
{
	const uint64_t *c = view_counters(v);
	char mean[32];

	if (!v->sample_bytes)
		return;
	lw_fmt_bytes((double)v->sample_bytes, mean, sizeof(mean));
	fprintf(f,
		"heap sampled: one sample per %s allocated on average; ~ marks "
		"estimates (%llu calls, %llu sampled)\n",
		mean, (unsigned long long)c[LW_CNT_HEAP_CALL],
		(unsigned long long)c[LW_CNT_HEAP_SAMPLE]);
}

static void drops(FILE *f, struct lw_view *v)
{
	char buf[1024];

	view_drops(v, buf, sizeof(buf));
	fprintf(f, "drops:%s\n", buf);
}

/* A Go program's heap: what its sites hold beside the runtime's totals. */
static void goheap_line(FILE *f, const struct lw_goheap *h)
{
	const struct lw_goheap_totals *t = &h->tot;
	char sites[32], marked[32], inuse[32], why[256];

	if (h->mode == LW_GOHEAP_OFF) {
		/* why may quote the binary (its Go version) */
		if (h->why_off)
			fprintf(f, "Go heap: not shown (%s)\n",
				lw_safe(h->why_off, why, sizeof(why), 0));
		return;
	}
	lw_fmt_bytes((double)t->sites_bytes, sites, sizeof(sites));
	lw_fmt_bytes((double)t->heap_marked, marked, sizeof(marked));
	lw_fmt_bytes((double)t->heap_inuse, inuse, sizeof(inuse));
	fprintf(f, "Go heap (%s): sites hold %s as of the GC before last",
		h->mode == LW_GOHEAP_PROFILE ? "the runtime's profile"
					     : "sampled on its slow paths",
		sites);
	if (t->heap_marked > 0)
		fprintf(f, " (%.0f%% of the %s the last GC kept)",
			100.0 * t->sites_bytes / t->heap_marked, marked);
	if (t->heap_inuse >= 0)
		fprintf(f, "; spans in use %s, %lld objects", inuse,
			(long long)t->objects);
	if (t->gc_cycles >= 0)
		fprintf(f, ", %lld GC cycles", (long long)t->gc_cycles);
	fputc('\n', f);
	if (t->runtime_maps > 0) {
		lw_fmt_bytes((double)t->runtime_maps, inuse, sizeof(inuse));
		fprintf(f,
			"  (and %s the runtime mapped through libc for its "
			"heap and stacks: not ranked, its sites show it)\n",
			inuse);
	}
}

static void site_line(FILE *f, struct lw_view *v, struct lw_site *s, int rank,
		      int max_frames)
{
	struct lw_frame fr[LW_MAX_FRAMES];
	char rate[32], out[32], age[32], name[512];
	int n = view_frames(v, s, fr, LW_MAX_FRAMES), i;

	char count[32];

	/* sampled: an estimate, and marked as one */
	lw_fmt_bytes(s->fit.value_per_s, rate + s->sampled,
		     sizeof(rate) - s->sampled);
	lw_fmt_bytes(site_bytes(s), out + s->sampled, sizeof(out) - s->sampled);
	snprintf(count, sizeof(count), "%s%lld", s->sampled ? "~" : "",
		 (long long)site_count(s));
	if (s->sampled)
		rate[0] = out[0] = '~';
	if (s->oldest_age_s >= 0)
		snprintf(age, sizeof(age), "%.1fs", s->oldest_age_s);
	else
		snprintf(age, sizeof(age), "-");
	if (n && fr[0].pc)
		view_frame_name(&fr[0], name, sizeof(name));
	else
		snprintf(name, sizeof(name), "[stack not captured]");
	fprintf(f, "%3d %11s/s %11s %9s %8s  %-7s %s\n", rank, rate, out, count,
		age, s->fit.suspect ? "SUSPECT" : "", name);
	for (i = 1; i < n && i < max_frames; i++) {
		view_frame_name(&fr[i], name, sizeof(name));
		fprintf(f, "%57s %s\n", fr[i].inlined ? "(inlined)" : "<-",
			name);
	}
	if (n > max_frames)
		fprintf(f, "%57s ... %d more frames\n", "", n - max_frames);
}

/* Heap sites come first in the ranking; goroutine sites follow. */
static size_t count_kind(struct lw_site **s, size_t n, enum lw_site_kind k)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += s[i]->kind == k;
	return c;
}

static void heap_table(FILE *f, struct lw_view *v, struct lw_site **s, size_t n,
		       int frames)
{
	size_t i;

	if (n)
		fprintf(f, "  # %13s %11s %9s %8s  %-7s %s\n", "GROWTH",
			"OUTSTANDING", "COUNT", "OLDEST", "", "SITE");
	for (i = 0; i < n && i < (size_t)v->top; i++)
		site_line(f, v, s[i], i + 1, frames);
	if (n > (size_t)v->top)
		fprintf(f, "    ... %zu more sites (-n to show more)\n",
			n - v->top);
}

/* Go's parking machinery, or the C library's system call wrappers. */
static bool is_plumbing(const struct lw_frame *f)
{
	if (f->symbol && !strncmp(f->symbol, "runtime.", 8))
		return true;
	return lw_base_is(f->module, "libc.so");
}

/* Where the program itself waits: its first frame past the plumbing. */
static void blocked_at(struct lw_view *v, const struct lw_blocked *b,
		       char *name, size_t len)
{
	struct lw_frame fr[LW_MAX_FRAMES];
	int i, n;

	snprintf(name, len, "?");
	for (i = 0; i < b->depth; i++) {
		n = symbolizer_resolve(v->sym, b->pcs[i], i > 0, fr,
				       LW_MAX_FRAMES);
		if (!n)
			continue;
		view_frame_name(&fr[0], name, len);
		if (!is_plumbing(&fr[n - 1]))
			return;
	}
}

static void blocked_lines(FILE *f, struct lw_view *v, struct lw_site *s)
{
	char name[512], reason[128];
	int i;

	for (i = 0; i < s->nblocked; i++) {
		/* Go's wait reasons are strings of the binary's */
		lw_safe(s->blocked[i].reason, reason, sizeof(reason), 0);
		if (!s->blocked[i].depth) { /* running: no stack to tell */
			fprintf(f, "%42s %u %s\n",
				"blocked:", s->blocked[i].count, reason);
			continue;
		}
		blocked_at(v, &s->blocked[i], name, sizeof(name));
		fprintf(f, "%42s %u %s at %s\n",
			"blocked:", s->blocked[i].count, reason, name);
	}
}

/* What a descriptor site's descriptors are, most first. */
static void fd_types_lines(FILE *f, const struct lw_site *s, int max)
{
	char name[512];
	size_t i;

	if (!s->fd_types)
		return;
	for (i = 0; i < s->fd_types->n && i < (size_t)max; i++) {
		lw_safe(s->fd_types->v[i].name, name, sizeof(name), 0);
		fprintf(f, "%42s %u x %s\n", "open:", s->fd_types->v[i].count,
			name);
	}
	if (s->fd_types->n > (size_t)max)
		fprintf(f, "%42s %zu more kinds\n",
			"open:", s->fd_types->n - max);
}

/* Goroutine, thread and descriptor sites: live counts by the code that
 * made them. */
static void counted_line(FILE *f, struct lw_view *v, struct lw_site *s,
			 int rank, int max_frames)
{
	struct lw_frame fr[LW_MAX_FRAMES], start;
	char name[512], first[512], age[32];
	int n = view_frames(v, s, fr, LW_MAX_FRAMES), i;

	if (s->oldest_age_s >= 0)
		snprintf(age, sizeof(age), "%.1fs", s->oldest_age_s);
	else
		snprintf(age, sizeof(age), "-");
	if (n && fr[0].pc)
		view_frame_name(&fr[0], first, sizeof(first));
	else /* a label may hold a comm */
		lw_safe(s->label[0] ? s->label : "[stack not captured]", first,
			sizeof(first), 0);
	fprintf(f, "%3d %11.1f/s %9lld %8s  %-7s %s %s\n", rank,
		s->fit.value_per_s, (long long)site_count(s), age,
		s->fit.suspect ? "SUSPECT" : "",
		s->kind == LW_KIND_GOROUTINE ? "go"
		: s->kind == LW_KIND_FD	     ? "fd"
					     : "thread",
		first);
	for (i = 1; i < n && i < max_frames; i++) {
		view_frame_name(&fr[i], name, sizeof(name));
		fprintf(f, "%42s %s\n", fr[i].inlined ? "(inlined)" : "<-",
			name);
	}
	if (s->start &&
	    symbolizer_resolve(v->sym, s->start, false, &start, 1)) {
		view_frame_name(&start, name, sizeof(name));
		fprintf(f, "%42s %s\n", "runs", name);
	}
	blocked_lines(f, v, s);
	if (s->kind == LW_KIND_FD)
		fd_types_lines(f, s, max_frames);
}

static void counted_table(FILE *f, struct lw_view *v, struct lw_site **s,
			  size_t n, int frames)
{
	double live = 0, growth = 0, bytes = 0;
	size_t i, suspects = 0;
	char stacks[32] = "";

	for (i = 0; i < n; i++) {
		live += site_count(s[i]);
		growth += s[i]->fit.value_per_s;
		suspects += s[i]->fit.suspect;
		bytes += site_bytes(s[i]);
	}
	if (s[0]->kind == LW_KIND_THREAD) {
		lw_fmt_bytes(bytes, stacks, sizeof(stacks));
		strcat(stacks, " of stacks, ");
	}
	fprintf(f,
		"%s: %.0f %s (%+.1f/s), %sin %zu %s sites, "
		"%zu suspect%s\n",
		s[0]->kind == LW_KIND_THREAD ? "threads"
		: s[0]->kind == LW_KIND_FD   ? "descriptors"
					     : "goroutines",
		live, s[0]->kind == LW_KIND_FD ? "open" : "live", growth,
		stacks, n, s[0]->kind == LW_KIND_FD ? "opening" : "creation",
		suspects, suspects == 1 ? "" : "s");
	fprintf(f, "  # %13s %9s %8s  %-7s %s\n", "GROWTH", "LIVE", "OLDEST",
		"", s[0]->kind == LW_KIND_FD ? "OPENED AT" : "CREATED AT");
	for (i = 0; i < n && i < (size_t)v->top; i++)
		counted_line(f, v, s[i], i + 1, frames);
	if (n > (size_t)v->top)
		fprintf(f, "    ... %zu more sites (-n to show more)\n",
			n - v->top);
}

/* The process's descriptors against its limit. */
static void fds_line(FILE *f, const struct lw_fds *fds)
{
	char eta[64], lim[32];

	if (fds->open < 0)
		return;
	view_fd_eta(fds, eta, sizeof(eta));
	if (fds->limit >= 0)
		snprintf(lim, sizeof(lim), "%lld", fds->limit);
	else
		snprintf(lim, sizeof(lim), "unlimited");
	fprintf(f, "descriptors: %lld open of limit %s (%+.1f/s%s%s)",
		(long long)fds->open, lim, fds->fit.value_per_s,
		eta[0] ? ": " : "", eta);
	if (fds->at_attach || fds->unseen || fds->closes_unseen)
		fprintf(f,
			"; %lld alive at attach, %lld opened unseen, "
			"%llu closed unseen",
			(long long)fds->at_attach, (long long)fds->unseen,
			(unsigned long long)fds->closes_unseen);
	fprintf(f, "\n");
}

void report_text(FILE *f, struct lw_view *v)
{
	int frames = v->final ? LW_MAX_FRAMES : INTERVAL_FRAMES;
	size_t n, nheap, ngo, nthr;
	struct lw_site **s;

	if (v->sys) {
		report_system(f, v);
		return;
	}
	n = model_ranked(v->model, &s);
	nheap = count_kind(s, n, LW_KIND_HEAP);
	ngo = count_kind(s, n, LW_KIND_GOROUTINE);
	nthr = count_kind(s, n, LW_KIND_THREAD);

	header(f, v, s, nheap);
	sampling_line(f, v);
	heap_table(f, v, s, nheap, frames);
	if (v->goheap)
		goheap_line(f, v->goheap);
	if (ngo)
		counted_table(f, v, s + nheap, ngo, frames);
	if (nthr)
		counted_table(f, v, s + nheap + ngo, nthr, frames);
	if (v->fds)
		fds_line(f, v->fds);
	if (n > nheap + ngo + nthr)
		counted_table(f, v, s + nheap + ngo + nthr,
			      n - nheap - ngo - nthr, frames);
	drops(f, v);
	fflush(f);
	free(s);
}
