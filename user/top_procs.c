// SPDX-License-Identifier: GPL-2.0
/*
 * top -a: the process table, first. Enter opens the selected process
 * (its sites, as top -p shows them); Esc there comes back here.
 */
#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include "top_int.h"
#include "safestr.h"
#include "util.h"

static void put(int y, int x, const char *s)
{
	if (x < COLS)
		mvaddnstr(y, x, s, COLS - x);
}

void procs_refresh(struct lw_top *t, struct lw_view *v)
{
	struct lw_proc **p;
	size_t n = system_ranked(v->sys, &p), i;
	char comm[16], mem[80], thr[48], go[48];
	struct top_proc *r;

	if (n > t->nprocs_cap) {
		r = realloc(t->procs, n * sizeof(*r));
		if (!r) {
			free(p);
			return;
		}
		t->procs = r;
		t->nprocs_cap = n;
	}
	t->nprocs = n;
	t->procs_zoomed = t->procs_suspect = 0;
	for (i = 0; i < n; i++) {
		r = &t->procs[i];
		r->pid = p[i]->pid;
		r->traced = proc_has_sites(p[i]);
		t->procs_zoomed += p[i]->zoomed;
		t->procs_suspect += p[i]->suspect;
		/* cut at 15 bytes by lw_safe, never inside an escape */
		lw_safe(p[i]->target.comm, comm, sizeof(comm), 0);
		system_signal_cell(p[i], LW_SIG_RSS, mem, sizeof(mem));
		system_signal_cell(p[i], LW_SIG_THREADS, thr, sizeof(thr));
		system_signal_cell(p[i], LW_SIG_GOROUTINES, go, sizeof(go));
		snprintf(r->line, sizeof(r->line),
			 "%7d %-15.15s %-22s %-13s %-14s %-7s %s", p[i]->pid,
			 comm, mem, thr, go, p[i]->suspect ? "SUSPECT" : "",
			 p[i]->zoomed ? "ZOOMED" : "");
	}
	t->procs_elapsed = v->elapsed;
	free(p);
	if (t->proc_sel >= t->nprocs)
		t->proc_sel = t->nprocs ? t->nprocs - 1 : 0;
}

void procs_move(struct lw_top *t, long d)
{
	long pos = (long)t->proc_sel + d;

	if (pos >= (long)t->nprocs)
		pos = (long)t->nprocs - 1;
	if (pos < 0)
		pos = 0;
	t->proc_sel = pos;
}

/* The selected process, when it has sites to show; else 0 (and why). */
pid_t procs_open(struct lw_top *t)
{
	const struct top_proc *r;

	if (!t->nprocs)
		return 0;
	r = &t->procs[t->proc_sel];
	if (!r->traced) {
		snprintf(t->msg, sizeof(t->msg),
			 "pid %d is not traced in depth: triage only (it is "
			 "zoomed once it keeps growing)",
			 r->pid);
		return 0;
	}
	return r->pid;
}

void procs_draw(struct lw_top *t)
{
	int rows = LINES - TOP_HEADER - TOP_FOOTER, y;
	size_t i, first;
	char line[256];

	erase();
	snprintf(line, sizeof(line),
		 "leakwatch top  the whole system  up %.0fs  %zu processes, "
		 "%zu suspect, %zu traced in depth",
		 t->procs_elapsed, t->nprocs, t->procs_suspect,
		 t->procs_zoomed);
	put(0, 0, line);
	put(2, 0,
	    "    PID COMM            MEMORY (anon)          THREADS"
	    "       GOROUTINES");
	if (rows < 1)
		rows = 1;
	first = t->proc_sel >= (size_t)rows ? t->proc_sel - rows + 1 : 0;
	for (i = first, y = TOP_HEADER - 1;
	     i < t->nprocs && y < TOP_HEADER - 1 + rows; i++, y++) {
		if (i == t->proc_sel)
			attron(A_REVERSE);
		put(y, 0, t->procs[i].line);
		if (i == t->proc_sel)
			attroff(A_REVERSE);
	}
	put(LINES - 2, 0, t->msg);
	put(LINES - 1, 0,
	    "Enter open process  up/down select  p pause  ? keys  q quit");
	refresh();
}
