/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --prometheus ADDR: an HTTP endpoint serving /metrics (libmicrohttpd),
 * polled from the main loop: no thread of its own, so the views read the
 * model from the main thread only. The metrics are made at each report
 * (report_prom) and served as they were then: a scrape costs a copy.
 */
#ifndef LW_PROM_H
#define LW_PROM_H

#include <stdbool.h>
#include <stdio.h>

struct lw_view;
struct lw_system;
struct lw_prom;

#define LW_PROM_SITES 20 /* --prometheus-sites default */

struct lw_prom_info {
	int sites;	       /* --prometheus-sites: per process */
	unsigned long reports; /* made so far */
};

/* Listens on ADDR (HOST:PORT, :PORT, [V6]:PORT; port 0: any free one)
 * and says where on stderr. Returns an lw_exit code, printed why. */
int prom_open(struct lw_prom **out, const char *addr);
/* What the main loop polls for (POLLIN), and serves when it is ready. */
int prom_poll_fd(const struct lw_prom *p);
void prom_serve(struct lw_prom *p);
/* Remakes the metrics from v (sys: every process, or the one target). */
void prom_update(struct lw_prom *p, struct lw_view *v, struct lw_system *sys,
		 const struct lw_prom_info *info);
void prom_close(struct lw_prom *p);

/* The metrics, as text format 0.0.4 or OpenMetrics 1.0.0 (om): 0 or -1. */
int report_prom(FILE *f, struct lw_view *v, struct lw_system *sys,
		const struct lw_prom_info *info, bool om);

#endif
