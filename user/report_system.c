// SPDX-License-Identifier: GPL-2.0
/*
 * The system-wide text report: the process table, then each process
 * traced in depth as the one-process report shows it.
 */
#include <stdlib.h>
#include <string.h>
#include "safestr.h"
#include "util.h"
#include "view.h"

#define TABLE_ROWS 20 /* processes listed per report (-n raises it) */

static void proc_row(FILE *f, const struct lw_proc *p)
{
	char comm[80], cg[300], mem[96], thr[64], go[64], fd[64];

	lw_safe(p->target.comm, comm, sizeof(comm), 0);
	lw_safe(p->cgroup[0] ? p->cgroup : "-", cg, sizeof(cg), 0);
	system_signal_cell(p, LW_SIG_RSS, mem, sizeof(mem));
	system_signal_cell(p, LW_SIG_THREADS, thr, sizeof(thr));
	system_signal_cell(p, LW_SIG_GOROUTINES, go, sizeof(go));
	system_signal_cell(p, LW_SIG_FDS, fd, sizeof(fd));
	fprintf(f, "%7d %-16s %-24s %-14s %-16s %-14s %-7s %-6s %s\n", p->pid,
		comm, mem, thr, go, fd, p->suspect ? "SUSPECT" : "",
		p->zoomed ? "ZOOMED" : "", cg);
}

void report_system(FILE *f, struct lw_view *v)
{
	struct lw_proc **p;
	size_t n = system_ranked(v->sys, &p), i, suspects = 0, zoomed = 0;
	size_t rows = (size_t)v->top > TABLE_ROWS ? (size_t)v->top : TABLE_ROWS;
	struct lw_view pv;
	char buf[1024], comm[80], why[256];

	for (i = 0; i < n; i++) {
		suspects += p[i]->suspect;
		zoomed += p[i]->zoomed;
	}
	fprintf(f,
		"\n%s system at %.1fs: %zu processes, %zu suspect%s, %zu "
		"traced in depth\n",
		v->final ? "== final report:" : "==", v->elapsed, n, suspects,
		suspects == 1 ? "" : "s", zoomed);
	fprintf(f, "%7s %-16s %-24s %-14s %-16s %-14s %-7s %-6s %s\n", "PID",
		"COMM", "MEMORY (anon)", "THREADS", "GOROUTINES", "DESCRIPTORS",
		"", "", "CGROUP");
	for (i = 0; i < n && i < rows; i++) {
		proc_row(f, p[i]);
		p[i]->shown = true;
	}
	if (n > rows)
		fprintf(f, "    ... %zu more processes (-n to show more)\n",
			n - rows);
	for (i = 0; i < n; i++)
		p[i]->shown = true;
	view_drops(v, buf, sizeof(buf));
	fprintf(f, "drops:%s\n", buf);
	for (i = 0; i < v->sys->n; i++)
		if (!v->sys->v[i]->pid) /* [kernel]: losses of its own */
			fprintf(f, "kernel drops:%s\n",
				v->sys->v[i]->drops[0] ? v->sys->v[i]->drops
						       : " none");
	for (i = 0; i < v->sys->n; i++) {
		/* zoomed now, or exited while zoomed: its last word */
		if (!v->sys->v[i]->zoomed &&
		    !(v->final && v->sys->v[i]->planned))
			continue;
		pv = view_of_proc(v, v->sys->v[i]);
		if (!pv.sym)
			continue;
		fprintf(f, "\n-- pid %d (%s), traced in depth: %s\n",
			v->sys->v[i]->pid,
			lw_safe(v->sys->v[i]->target.comm, comm, sizeof(comm),
				0),
			lw_safe(v->sys->v[i]->why, why, sizeof(why), 0));
		report_text(f, &pv);
	}
	fflush(f);
	free(p);
}
