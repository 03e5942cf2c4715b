// SPDX-License-Identifier: GPL-2.0
/*
 * leakwatch top: the live view's entry points and its keys. A key is
 * handled when it comes, not at the next interval: main.c polls the
 * terminal beside its other descriptors.
 */
#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include "top.h"
#include "top_int.h"

#define KEY_ESC	   27
#define KEY_CTRL_L 12

struct lw_top *top_open(void)
{
	struct lw_top *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->filter = TOP_ALL;
	if (term_open(&t->term)) {
		free(t);
		return NULL;
	}
	return t;
}

int top_input_fd(const struct lw_top *t)
{
	return t->term.in ? fileno(t->term.in) : -1;
}

/* top -a with no process opened: the process table is up. */
static bool in_procs(const struct lw_top *t, const struct lw_view *v)
{
	return v->sys && !t->proc;
}

/* What the site screens show: the target, or the process opened. */
static struct lw_view cur_view(struct lw_top *t, struct lw_view *v)
{
	size_t i;

	if (!v->sys || !t->proc)
		return *v;
	for (i = 0; i < v->sys->n; i++)
		if (v->sys->v[i]->pid == t->proc && v->sys->v[i]->sym)
			return view_of_proc(v, v->sys->v[i]);
	t->proc = 0; /* gone: back to the table */
	t->mode = TOP_TABLE;
	return *v;
}

static void render(struct lw_top *t, struct lw_view *v)
{
	term_last_message(&t->term, t->msg, sizeof(t->msg));
	if (in_procs(t, v) && t->mode == TOP_TABLE)
		procs_draw(t);
	else if (t->mode == TOP_TABLE)
		draw_table(t);
	else
		page_draw(t, t->mode == TOP_HELP ? "keys" : "site stack");
}

static void refresh_sites(struct lw_top *t, struct lw_view *v)
{
	rows_refresh(&t->snap, v);
	rows_order(t);
	if (t->mode == TOP_STACK)
		page_build_stack(&t->page, v, t->page.stack);
}

void top_draw(struct lw_top *t, struct lw_view *v)
{
	struct lw_view pv;

	if (term_start(&t->term))
		return;
	if (!t->paused && v->sys)
		procs_refresh(t, v);
	pv = cur_view(t, v);
	if (!t->paused && !in_procs(t, v))
		refresh_sites(t, &pv);
	render(t, v);
}

static void select_at(struct lw_top *t, long pos)
{
	if (!t->norder)
		return;
	if (pos < 0)
		pos = 0;
	if ((size_t)pos >= t->norder)
		pos = t->norder - 1;
	t->sel = pos;
	t->sel_stack = t->snap.rows[t->order[pos]].stack;
}

static void set_order(struct lw_top *t, enum top_sort sort, int filter)
{
	t->sort = sort;
	t->filter = filter;
	rows_order(t);
}

static void open_stack(struct lw_top *t, struct lw_view *v)
{
	if (!t->norder)
		return;
	t->mode = TOP_STACK;
	t->page.first = 0;
	page_build_stack(&t->page, v, t->snap.rows[t->order[t->sel]].stack);
}

/* Keys that move: in the table the selection, in a page the text. */
static bool move_key(struct lw_top *t, int ch)
{
	long page = draw_table_rows() > 1 ? draw_table_rows() - 1 : 1;
	long d;

	switch (ch) {
	case KEY_UP:
	case 'k':
		d = -1;
		break;
	case KEY_DOWN:
	case 'j':
		d = 1;
		break;
	case KEY_PPAGE:
		d = -page;
		break;
	case KEY_NPAGE:
	case ' ':
		d = page;
		break;
	case KEY_HOME:
		d = -(1L << 30);
		break;
	case KEY_END:
		d = 1L << 30;
		break;
	default:
		return false;
	}
	if (t->mode == TOP_TABLE && !t->proc && t->nprocs)
		procs_move(t, d);
	else if (t->mode == TOP_TABLE)
		select_at(t, (long)t->sel + d);
	else
		page_scroll(&t->page, d);
	return true;
}

/* top -a's table: Enter opens a process, q quits. */
static bool procs_key(struct lw_top *t, struct lw_view *v, int ch)
{
	struct lw_view pv;

	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case '\n':
	case '\r':
	case KEY_ENTER:
		t->proc = procs_open(t);
		if (!t->proc)
			break;
		t->sel = t->first = 0;
		t->sel_stack = 0;
		pv = cur_view(t, v);
		refresh_sites(t, &pv);
		break;
	}
	return true;
}

/* False when the key quits. */
static bool table_key(struct lw_top *t, struct lw_view *v, int ch)
{
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case 'g':
		set_order(t, TOP_SORT_GROWTH, t->filter);
		break;
	case 's':
		set_order(t, TOP_SORT_SIZE, t->filter);
		break;
	case 'c':
		set_order(t, TOP_SORT_COUNT, t->filter);
		break;
	case 'h':
		set_order(t, t->sort, LW_KIND_HEAP);
		break;
	case 't':
		set_order(t, t->sort, LW_KIND_THREAD);
		break;
	case 'o':
		set_order(t, t->sort, LW_KIND_GOROUTINE);
		break;
	case 'f':
		set_order(t, t->sort, LW_KIND_FD);
		break;
	case 'a':
		set_order(t, t->sort, TOP_ALL);
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		open_stack(t, v);
		break;
	}
	return true;
}

static void page_key(struct lw_top *t, int ch)
{
	switch (ch) {
	case 'q':
	case 'Q':
	case KEY_ESC:
	case '\n':
	case '\r':
	case KEY_ENTER:
	case KEY_LEFT:
	case KEY_BACKSPACE:
		t->mode = TOP_TABLE;
		break;
	}
}

static bool key(struct lw_top *t, struct lw_view *sys, int ch)
{
	struct lw_view pv = cur_view(t, sys), *v = &pv;

	if (ch == 'p' || ch == 'P') {
		t->paused = !t->paused;
		return true;
	}
	if (ch == KEY_CTRL_L) {
		clearok(curscr, TRUE);
		return true;
	}
	if (ch == KEY_RESIZE || move_key(t, ch))
		return true;
	if (ch == '?' && t->mode == TOP_TABLE) {
		t->mode = TOP_HELP;
		page_build_help(&t->page);
		return true;
	}
	if (t->mode == TOP_TABLE && in_procs(t, sys))
		return procs_key(t, sys, ch);
	if (t->mode == TOP_TABLE && sys->sys && ch == KEY_ESC) {
		t->proc = 0; /* back to the process table */
		return true;
	}
	if (t->mode == TOP_TABLE)
		return table_key(t, v, ch);
	page_key(t, ch);
	return true;
}

bool top_input(struct lw_top *t, struct lw_view *v)
{
	bool any = false;
	int ch;

	/* no view: end, and let the final report say what there is */
	if (!t->term.started)
		return !t->term.failed;
	while ((ch = getch()) != ERR) {
		if (!key(t, v, ch))
			return false;
		any = true;
	}
	if (any)
		render(t, v);
	return true;
}

void top_close(struct lw_top *t)
{
	if (!t)
		return;
	term_close(&t->term);
	rows_free(&t->snap);
	page_free(&t->page);
	free(t->procs);
	free(t->order);
	free(t);
}
