// SPDX-License-Identifier: GPL-2.0
/*
 * The table screen: a header with the totals, one row per site, a message
 * line and a key line. Laid out for 80 columns; wider terminals give the
 * site column the rest.
 */
#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include "top_int.h"
#include "util.h"

#define MIN_LINES 8
#define MIN_COLS  40

/* KIND GROWTH BYTES COUNT TREND ! : the site column starts after them */
#define ROW_FMT	 "%-6s %10s %9s %7s "
#define SITE_COL (6 + 1 + 10 + 1 + 9 + 1 + 7 + 1 + TOP_SPARK + 1 + 2)

static const char *const sort_names[] = { "growth", "size", "count" };

const char *draw_spark_glyph(const struct top_term *t, int level)
{
	static const char *const utf8[] = { "\u2581", "\u2582", "\u2583",
					    "\u2584", "\u2585", "\u2586",
					    "\u2587", "\u2588" };
	static const char *const ascii[] = { "_", ".", ":", "-",
					     "=", "+", "*", "#" };

	level = level < 0 ? 0 : level > 7 ? 7 : level;
	return t->utf8 ? utf8[level] : ascii[level];
}

int draw_table_rows(void)
{
	int n = LINES - TOP_HEADER - TOP_FOOTER;

	return n > 0 ? n : 0;
}

/* Writes s from column x on line y, clipped to the screen's width. */
static void put(int y, int x, const char *s)
{
	if (x < COLS)
		mvaddnstr(y, x, s, COLS - x);
}

static const char *kind_short(enum lw_site_kind k)
{
	return k == LW_KIND_HEAP	? "heap"
	       : k == LW_KIND_GOROUTINE ? "go"
	       : k == LW_KIND_FD	? "fd"
					: "thread";
}

static const char *filter_name(int filter)
{
	return filter == TOP_ALL ? "all" : view_kind_name(filter);
}

static void fmt_duration(double s, char *buf, size_t len)
{
	long t = (long)s;

	if (t >= 3600)
		snprintf(buf, len, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60,
			 t % 60);
	else if (t >= 60)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, len, "%.1fs", s);
}

static void header_title(struct lw_top *t)
{
	const struct top_snap *s = &t->snap;
	char up[32], line[256];
	int at;

	fmt_duration(s->elapsed, up, sizeof(up));
	snprintf(line, sizeof(line), "leakwatch top  %s  up %s  every %gs",
		 s->valid ? s->target : "", up, s->interval);
	attron(A_BOLD);
	put(0, 0, line);
	attroff(A_BOLD);
	at = strlen(line) + 2;
	attron(A_REVERSE | A_BOLD);
	if (t->paused) {
		put(0, at, "PAUSED");
		at += 8;
	}
	if (s->exited)
		put(0, at, "TARGET EXITED");
	attroff(A_REVERSE | A_BOLD);
}

static void header_totals(const struct top_snap *s)
{
	const struct top_total *h = &s->total[LW_KIND_HEAP];
	const struct top_total *th = &s->total[LW_KIND_THREAD];
	const struct top_total *g = &s->total[LW_KIND_GOROUTINE];
	const struct top_total *fd = &s->total[LW_KIND_FD];
	char bytes[32], rate[32], mean[48] = "", line[256];

	lw_fmt_bytes(h->value, bytes, sizeof(bytes));
	lw_fmt_bytes(h->rate, rate, sizeof(rate));
	if (s->sample_bytes) {
		lw_fmt_bytes((double)s->sample_bytes, rate, sizeof(rate));
		snprintf(mean, sizeof(mean), "  sampled 1/%s", rate);
		lw_fmt_bytes(h->rate, rate, sizeof(rate));
	}
	snprintf(line, sizeof(line),
		 "heap %s%s (%s%s/s)  threads %.0f (%+.1f/s)  "
		 "goroutines %.0f (%+.1f/s)  fds %.0f (%+.1f/s)%s",
		 s->sample_bytes ? "~" : "", bytes, h->rate >= 0 ? "+" : "",
		 rate, th->value, th->rate, g->value, g->rate, fd->value,
		 fd->rate, mean);
	put(1, 0, line);
}

static void header_state(struct lw_top *t)
{
	char line[384];

	snprintf(line, sizeof(line),
		 "sort %s | filter %s | %zu of %zu sites | %zu suspect%s | "
		 "drops:%s",
		 sort_names[t->sort], filter_name(t->filter), t->norder,
		 t->snap.n, t->snap.suspects, t->snap.suspects == 1 ? "" : "s",
		 t->snap.drops[0] ? t->snap.drops : " none");
	put(2, 0, line);
}

static void headings(void)
{
	char line[256];

	snprintf(line, sizeof(line), ROW_FMT "%-*s %c %s", "KIND", "GROWTH/s",
		 "BYTES", "COUNT", TOP_SPARK, "TREND", '!', "SITE");
	attron(A_REVERSE);
	mvhline(3, 0, ' ', COLS);
	put(3, 0, line);
	attroff(A_REVERSE);
}

static void spark(struct lw_top *t, const struct top_row *r, int y, int x)
{
	double lo = r->spark[0], hi = r->spark[0];
	int i, level, pad = TOP_SPARK - r->nspark;

	for (i = 1; i < r->nspark; i++) {
		lo = r->spark[i] < lo ? r->spark[i] : lo;
		hi = r->spark[i] > hi ? r->spark[i] : hi;
	}
	for (i = 0; i < r->nspark && x + pad + i < COLS; i++) {
		level = hi > lo ? (int)((r->spark[i] - lo) / (hi - lo) * 7 +
					0.5)
				: 0;
		mvaddstr(y, x + pad + i, draw_spark_glyph(&t->term, level));
	}
}

static void row_values(const struct top_row *r, char *growth, char *bytes,
		       size_t len)
{
	char b[24];

	const char *est = r->sampled ? "~" : "";

	if (r->kind == LW_KIND_HEAP) {
		lw_fmt_bytes(r->growth, b, sizeof(b));
		snprintf(growth, len, "%s%s", est, b);
	} else {
		snprintf(growth, len, "%.1f", r->growth);
	}
	if (r->kind == LW_KIND_GOROUTINE && !r->bytes) {
		snprintf(bytes, len, "-");
	} else {
		lw_fmt_bytes(r->bytes, b, sizeof(b));
		snprintf(bytes, len, "%s%s", est, b);
	}
}

static void draw_row(struct lw_top *t, const struct top_row *r, int y,
		     bool selected)
{
	char growth[32], bytes[32], count[32], line[128];
	int attr = (selected ? A_REVERSE : 0) | (r->suspect ? A_BOLD : 0);

	row_values(r, growth, bytes, sizeof(growth));
	snprintf(count, sizeof(count), "%s%lld", r->sampled ? "~" : "",
		 (long long)r->count);
	snprintf(line, sizeof(line), ROW_FMT, kind_short(r->kind), growth,
		 bytes, count);
	attron(attr);
	if (selected)
		mvhline(y, 0, ' ', COLS);
	put(y, 0, line);
	spark(t, r, y, strlen(line));
	put(y, SITE_COL, r->where);
	if (r->suspect) {
		if (t->term.color)
			attron(COLOR_PAIR(1));
		put(y, SITE_COL - 2, "!");
		if (t->term.color)
			attroff(COLOR_PAIR(1));
	}
	attroff(attr);
}

/* Keeps the selected row on the screen. */
static void scroll_to_selection(struct lw_top *t, int rows)
{
	if (t->sel < t->first)
		t->first = t->sel;
	if (rows > 0 && t->sel >= t->first + rows)
		t->first = t->sel - rows + 1;
	if (t->first + rows > t->norder)
		t->first = t->norder > (size_t)rows ? t->norder - rows : 0;
}

static void empty_table(struct lw_top *t)
{
	const char *why = !t->snap.valid ? "waiting for the first interval..."
			  : t->snap.n	 ? "no site of this kind (a: all kinds)"
					 : "nothing outstanding yet";

	put(TOP_HEADER + 1, 2, why);
}

static void rows(struct lw_top *t)
{
	int n = draw_table_rows(), i;

	scroll_to_selection(t, n);
	if (!t->norder)
		empty_table(t);
	for (i = 0; i < n && t->first + i < t->norder; i++)
		draw_row(t, &t->snap.rows[t->order[t->first + i]],
			 TOP_HEADER + i, t->first + i == t->sel);
}

static void footer(struct lw_top *t)
{
	if (t->msg[0]) {
		if (t->term.color)
			attron(COLOR_PAIR(2));
		put(LINES - 2, 0, t->msg);
		if (t->term.color)
			attroff(COLOR_PAIR(2));
	}
	attron(A_REVERSE);
	mvhline(LINES - 1, 0, ' ', COLS);
	put(LINES - 1, 0,
	    "q quit  g/s/c sort  h/t/o/f/a filter  Enter stack  p pause  ? help");
	attroff(A_REVERSE);
}

void draw_table(struct lw_top *t)
{
	erase();
	if (LINES < MIN_LINES || COLS < MIN_COLS) {
		put(0, 0, "leakwatch top: terminal too small");
		refresh();
		return;
	}
	header_title(t);
	header_totals(&t->snap);
	header_state(t);
	headings();
	rows(t);
	footer(t);
	refresh();
}
