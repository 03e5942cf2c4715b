// SPDX-License-Identifier: GPL-2.0
/*
 * Scrollable pages over the table: the selected site's full stack (and,
 * for goroutines, what they run and where they are blocked), and the help.
 */
#include <curses.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "fdinfo.h"
#include "top_int.h"
#include "safestr.h"
#include "util.h"

static void page_clear(struct top_page *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->line[i]);
	p->n = 0;
}

static void __attribute__((format(printf, 2, 3)))
add(struct top_page *p, const char *fmt, ...)
{
	char buf[1024], **line;
	va_list ap;

	if (p->n == p->cap) {
		line = realloc(p->line, (p->cap * 2 + 16) * sizeof(*line));
		if (!line)
			return;
		p->line = line;
		p->cap = p->cap * 2 + 16;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p->line[p->n] = strdup(buf);
	if (p->line[p->n])
		p->n++;
}

static void add_frame(struct top_page *p, const char *lead,
		      const struct lw_frame *f)
{
	char name[512], module[256];

	view_frame_name(f, name, sizeof(name));
	if (f->symbol && f->module)
		add(p, "  %-10s %s  [%s]", f->inlined ? "(inlined)" : lead,
		    name,
		    lw_safe(lw_base_name(f->module), module, sizeof(module),
			    0));
	else
		add(p, "  %-10s %s", f->inlined ? "(inlined)" : lead, name);
}

/* A descriptor site: what its descriptors are (names are the target's:
 * escaped). */
static void add_fd_types(struct top_page *p, const struct lw_site *s)
{
	char name[512];
	size_t i;

	if (s->kind != LW_KIND_FD || !s->fd_types)
		return;
	for (i = 0; i < s->fd_types->n && i < 20; i++) {
		lw_safe(s->fd_types->v[i].name, name, sizeof(name), 0);
		add(p, "open: %u x %s", s->fd_types->v[i].count, name);
	}
	if (s->fd_types->n > 20)
		add(p, "open: %zu more kinds", s->fd_types->n - 20);
}

static void add_values(struct top_page *p, const struct lw_site *s)
{
	char bytes[32], rate[32];

	lw_fmt_bytes(site_bytes(s), bytes, sizeof(bytes));
	if (s->kind == LW_KIND_HEAP) {
		lw_fmt_bytes(s->fit.value_per_s, rate, sizeof(rate));
		add(p, "%s%s outstanding in %s%lld allocations, %s%s/s",
		    s->sampled ? "~" : "", bytes, s->sampled ? "~" : "",
		    (long long)site_count(s), s->sampled ? "~" : "", rate);
		if (s->sampled)
			add(p, "estimates from %lld live samples (--sample)",
			    (long long)s->samples);
		add(p, "allocations %llu, frees %llu",
		    (unsigned long long)(s->k.allocs + s->map_allocs),
		    (unsigned long long)(s->k.frees + s->map_frees));
	} else {
		add(p, "%lld live %ss, %+.1f/s%s%s", (long long)site_count(s),
		    view_kind_name(s->kind), s->fit.value_per_s,
		    s->kind == LW_KIND_THREAD ? ", stacks " : "",
		    s->kind == LW_KIND_THREAD ? bytes : "");
	}
	if (s->oldest_age_s >= 0)
		add(p, "oldest %.1fs", s->oldest_age_s);
	add_fd_types(p, s);
	add(p, "trend: %s (%u samples, Mann-Kendall z %.1f, r2 %.2f)",
	    s->fit.suspect ? "SUSPECT" : trend_verdict_str(s->fit.verdict),
	    s->fit.samples, s->fit.z, s->fit.r2);
}

static void add_stack(struct top_page *p, struct lw_view *v, struct lw_site *s)
{
	struct lw_frame fr[LW_MAX_FRAMES];
	int n = view_frames(v, s, fr, LW_MAX_FRAMES), i;
	char label[sizeof(s->label) * 4];

	add(p, "%s", "");
	add(p, "%s, innermost first:",
	    s->kind == LW_KIND_HEAP ? "allocated at"
	    : s->kind == LW_KIND_FD ? "opened at"
				    : "created at");
	if (!n || !fr[0].pc)
		add(p, "  %s",
		    lw_safe(s->label[0] ? s->label : "[stack not captured]",
			    label, sizeof(label), 0));
	for (i = 0; i < n && fr[0].pc; i++)
		add_frame(p, i ? "<-" : "at", &fr[i]);
	if (s->start && symbolizer_resolve(v->sym, s->start, false, fr, 1)) {
		add(p, "%s", "");
		add_frame(p, "runs", &fr[0]);
	}
}

/* A parked goroutine's stack: pcs[0] is where it parked, the rest are
 * return addresses. */
static void add_blocked(struct top_page *p, struct lw_view *v,
			const struct lw_blocked *b)
{
	struct lw_frame fr[LW_MAX_FRAMES];
	int i, k, n, shown = 0;
	char reason[128];

	add(p, "%s", "");
	add(p, "blocked: %u in %s", b->count,
	    lw_safe(b->reason ? b->reason : "?", reason, sizeof(reason), 0));
	for (i = 0; i < b->depth; i++) {
		n = symbolizer_resolve(v->sym, b->pcs[i], i > 0, fr,
				       LW_MAX_FRAMES);
		for (k = 0; k < n; k++)
			add_frame(p, shown++ ? "<-" : "at", &fr[k]);
	}
}

void page_build_stack(struct top_page *p, struct lw_view *v, uint64_t stack)
{
	struct lw_site *s = model_find(v->model, stack);
	int i;

	page_clear(p);
	p->stack = stack;
	if (!s) {
		add(p, "%s", "this site is gone (the target exec'd)");
		return;
	}
	add(p, "%s site%s", view_kind_name(s->kind),
	    s->fit.suspect ? ": leak SUSPECT" : "");
	add_values(p, s);
	add_stack(p, v, s);
	for (i = 0; i < s->nblocked; i++)
		add_blocked(p, v, &s->blocked[i]);
}

void page_build_help(struct top_page *p)
{
	static const char *const text[] = {
		"Keys",
		"",
		"  g            sort by growth per second (default)",
		"  s            sort by size (outstanding bytes)",
		"  c            sort by count (live allocations, threads, "
		"goroutines, descriptors)",
		"  h / t / o / f  show heap / thread / goroutine / descriptor "
		"sites only",
		"  a            show all kinds (heap, then goroutines, threads, "
		"descriptors)",
		"  Up/Down j/k  move the selection; PgUp/PgDn, Home/End",
		"  Enter        the selected site's full stack (goroutines: "
		"where they block)",
		"  p            pause the display (tracing goes on)",
		"  q            quit: detach, then print the final report",
		"",
		"Columns",
		"",
		"  GROWTH/s     bytes per second (heap), threads or goroutines "
		"per second",
		"  BYTES COUNT  outstanding bytes and live allocations or live "
		"count",
		"  TREND        the last samples, scaled to their own range",
		"  !            a leak suspect (see leakwatch --help for the "
		"rule)",
		"  SITE         the innermost frame: function (file:line)",
		"",
		"In a page: Up/Down, PgUp/PgDn scroll; Esc, Enter or q go back.",
	};
	size_t i;

	page_clear(p);
	p->first = 0;
	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		add(p, "%s", text[i]);
}

static size_t page_rows(void)
{
	return LINES > 2 ? LINES - 2 : 0;
}

void page_scroll(struct top_page *p, long delta)
{
	size_t rows = page_rows();
	size_t last = p->n > rows ? p->n - rows : 0;
	long first = (long)p->first + delta;

	if (first < 0)
		p->first = 0;
	else
		p->first = (size_t)first > last ? last : (size_t)first;
}

void page_draw(struct lw_top *t, const char *title)
{
	struct top_page *p = &t->page;
	size_t rows = page_rows(), i;
	char line[256];

	page_scroll(p, 0);
	erase();
	snprintf(line, sizeof(line), "leakwatch top: %s%s", title,
		 t->paused ? "  [PAUSED]" : "");
	attron(A_REVERSE | A_BOLD);
	mvhline(0, 0, ' ', COLS);
	mvaddnstr(0, 0, line, COLS);
	attroff(A_REVERSE | A_BOLD);
	for (i = 0; i < rows && p->first + i < p->n; i++)
		mvaddnstr(1 + i, 0, p->line[p->first + i], COLS);
	snprintf(line, sizeof(line),
		 "lines %zu-%zu of %zu  Up/Down PgUp/PgDn scroll  "
		 "Esc/Enter/q back",
		 p->n ? p->first + 1 : 0,
		 p->first + rows < p->n ? p->first + rows : p->n, p->n);
	attron(A_REVERSE);
	mvhline(LINES - 1, 0, ' ', COLS);
	mvaddnstr(LINES - 1, 0, line, COLS);
	attroff(A_REVERSE);
	refresh();
}

void page_free(struct top_page *p)
{
	page_clear(p);
	free(p->line);
	memset(p, 0, sizeof(*p));
}
