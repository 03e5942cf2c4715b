/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the live view: its state, shared by the files that make it up.
 *   top.c       keys, and what they change
 *   top_term.c  the terminal, and the output that must stay off it
 *   top_rows.c  the snapshot of the model that the table shows
 *   top_draw.c  the table screen
 *   top_page.c  the scrollable pages: a site's stack, the help
 *   top_procs.c top -a's process table
 */
#ifndef LW_TOP_INT_H
#define LW_TOP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "view.h"

#define TOP_SPARK  8	/* trend samples a sparkline shows */
#define TOP_WHERE  256	/* a row's top frame, formatted */
#define TOP_HEADER 4	/* lines above the rows, headings included */
#define TOP_FOOTER 2	/* message and help lines below them */
#define TOP_ALL	   (-1) /* the kind filter that shows every kind */

enum top_sort {
	TOP_SORT_GROWTH,
	TOP_SORT_SIZE,
	TOP_SORT_COUNT,
};

enum top_mode {
	TOP_TABLE,
	TOP_STACK, /* the selected site's full stack */
	TOP_HELP,
};

/* One site as the last refresh saw it: a pause keeps showing these. */
struct top_row {
	uint64_t stack; /* the site id, to find it again in the model */
	enum lw_site_kind kind;
	bool suspect;
	bool sampled;  /* --sample: growth, bytes and count are estimates */
	double growth; /* bytes/s for heap sites, count/s else */
	int64_t bytes, count;
	double spark[TOP_SPARK]; /* oldest first, the last nspark used */
	int nspark;
	char where[TOP_WHERE];
};

/* Sums over the sites of one kind. */
struct top_total {
	double value, rate; /* bytes (heap) or live count, and per second */
	size_t sites;
};

struct top_snap {
	struct top_row *rows;
	size_t n, cap;
	struct top_total total[LW_KIND_FD + 1]; /* by enum lw_site_kind */
	size_t suspects;
	char target[96];
	char drops[160];
	double elapsed, interval;
	unsigned long long sample_bytes; /* --sample: the mean, or 0 */
	bool exited;
	bool valid; /* a refresh has happened */
};

/* Text of a scrollable page, one line each. */
struct top_page {
	char **line;
	size_t n, cap;
	size_t first;	/* the line at the top of the screen */
	uint64_t stack; /* the site shown, for TOP_STACK */
};

struct screen; /* curses' SCREEN */

struct top_term {
	struct screen *scr;
	FILE *in, *out; /* the terminal, moved off fds 0 and 1 */
	int saved[3];	/* the original fds 0, 1, 2 */
	FILE *saved_stderr;
	int log_fd;	   /* our messages meanwhile */
	FILE *log;	   /* stderr while the view is up */
	off_t log_dropped; /* bytes of it thrown away to bound its size */
	bool started;	   /* curses owns the screen */
	bool failed;	   /* curses could not take it */
	bool utf8;
	bool color;
};

/* A process of top -a's table. */
struct top_proc {
	pid_t pid;
	bool traced; /* has sites to open */
	char line[320];
};

struct lw_top {
	struct top_term term;
	/* top -a: the process table; proc is the process opened, or 0 */
	struct top_proc *procs;
	size_t nprocs, nprocs_cap, proc_sel;
	size_t procs_zoomed, procs_suspect;
	double procs_elapsed;
	pid_t proc;
	struct top_snap snap;
	size_t *order; /* rows shown: filtered and sorted snap indexes */
	size_t norder;
	size_t sel;	    /* selected position in order */
	size_t first;	    /* position of the first row on the screen */
	uint64_t sel_stack; /* the selected site, kept across refreshes */
	enum top_sort sort;
	int filter; /* TOP_ALL or an enum lw_site_kind */
	bool paused;
	enum top_mode mode;
	struct top_page page;
	char msg[160]; /* the last message written to the log */
};

/* top_term.c */
int term_open(struct top_term *t);
/* Curses takes the screen: at the first draw, after attaching. */
int term_start(struct top_term *t);
void term_close(struct top_term *t);
/* The last line written to the captured output, if any. */
void term_last_message(struct top_term *t, char *buf, size_t len);

/* top_rows.c */
void rows_refresh(struct top_snap *s, struct lw_view *v);
/* Recomputes top->order from the filter and sort key. */
void rows_order(struct lw_top *t);
void rows_free(struct top_snap *s);

/* top_draw.c */
void draw_table(struct lw_top *t);
/* Sparkline glyph for level 0..7. */
const char *draw_spark_glyph(const struct top_term *t, int level);
/* Rows that fit on the screen. */
int draw_table_rows(void);

/* top_procs.c */
void procs_refresh(struct lw_top *t, struct lw_view *v);
void procs_move(struct lw_top *t, long d);
pid_t procs_open(struct lw_top *t);
void procs_draw(struct lw_top *t);

/* top_page.c */
void page_build_stack(struct top_page *p, struct lw_view *v, uint64_t stack);
void page_build_help(struct top_page *p);
void page_draw(struct lw_top *t, const char *title);
/* Scrolls by delta lines (clamped). */
void page_scroll(struct top_page *p, long delta);
void page_free(struct top_page *p);

#endif
