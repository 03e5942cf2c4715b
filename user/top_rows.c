// SPDX-License-Identifier: GPL-2.0
/*
 * The table's rows: a snapshot of the model at the last refresh, so that a
 * paused view still sorts, filters and scrolls what it froze.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "top_int.h"
#include "safestr.h"
#include "util.h"

static void fill_where(struct top_row *row, struct lw_view *v,
		       struct lw_site *s)
{
	struct lw_frame fr[LW_MAX_FRAMES];
	int n = view_frames(v, s, fr, LW_MAX_FRAMES);

	if (n && fr[0].pc)
		view_frame_name(&fr[0], row->where, sizeof(row->where));
	else /* a label may hold a comm */
		lw_safe(s->label[0] ? s->label : "[stack not captured]",
			row->where, sizeof(row->where), 0);
}

static void fill_spark(struct top_row *row, const struct trend *tr)
{
	unsigned int len = trend_len(tr), i;
	unsigned int from = len > TOP_SPARK ? len - TOP_SPARK : 0;

	row->nspark = len - from;
	for (i = from; i < len; i++)
		row->spark[i - from] = trend_at(tr, i)->value;
}

static void fill_row(struct top_row *row, struct lw_view *v, struct lw_site *s)
{
	row->stack = s->stack;
	row->kind = s->kind;
	row->suspect = s->fit.suspect;
	row->sampled = s->sampled;
	row->growth = s->fit.value_per_s;
	row->bytes = site_bytes(s);
	row->count = site_count(s);
	fill_spark(row, &s->trend);
	fill_where(row, v, s);
}

static void fill_totals(struct top_snap *snap)
{
	struct top_total *t;
	size_t i;

	memset(snap->total, 0, sizeof(snap->total));
	snap->suspects = 0;
	for (i = 0; i < snap->n; i++) {
		t = &snap->total[snap->rows[i].kind];
		t->value += snap->rows[i].kind == LW_KIND_HEAP
				    ? snap->rows[i].bytes
				    : snap->rows[i].count;
		t->rate += snap->rows[i].growth;
		t->sites++;
		snap->suspects += snap->rows[i].suspect;
	}
}

static int reserve(struct top_snap *snap, size_t n)
{
	struct top_row *rows;

	if (n <= snap->cap)
		return 0;
	rows = realloc(snap->rows, n * sizeof(*rows));
	if (!rows)
		return -1;
	snap->rows = rows;
	snap->cap = n;
	return 0;
}

void rows_refresh(struct top_snap *snap, struct lw_view *v)
{
	struct lw_site **s;
	size_t n = model_ranked(v->model, &s), i;
	char comm[64];

	if (reserve(snap, n)) {
		free(s);
		return; /* the last snapshot stays */
	}
	for (i = 0; i < n; i++)
		fill_row(&snap->rows[i], v, s[i]);
	snap->n = n;
	free(s);
	fill_totals(snap);
	view_drops(v, snap->drops, sizeof(snap->drops));
	snprintf(snap->target, sizeof(snap->target), "pid %d (%s)",
		 v->target->pid,
		 lw_safe(v->target->comm, comm, sizeof(comm), 0));
	snap->elapsed = v->elapsed;
	snap->interval = v->interval;
	snap->sample_bytes = v->sample_bytes;
	snap->exited = v->target->exited;
	snap->valid = true;
}

static double sort_value(const struct top_row *r, enum top_sort key)
{
	switch (key) {
	case TOP_SORT_SIZE:
		return r->bytes;
	case TOP_SORT_COUNT:
		return r->count;
	default:
		return r->growth;
	}
}

static int cmp_desc(double a, double b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

/* Kinds apart (a byte rate is no goroutine rate), then the key, then the
 * other values, then the id: equal rows keep their places. */
static int by_key(const void *pa, const void *pb, void *ctx)
{
	const struct lw_top *t = ctx;
	const struct top_row *a = &t->snap.rows[*(const size_t *)pa];
	const struct top_row *b = &t->snap.rows[*(const size_t *)pb];
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	c = cmp_desc(sort_value(a, t->sort), sort_value(b, t->sort));
	if (!c)
		c = cmp_desc(a->growth, b->growth);
	if (!c)
		c = cmp_desc(a->bytes, b->bytes);
	if (!c)
		c = cmp_desc(a->count, b->count);
	if (!c)
		c = a->stack < b->stack ? -1 : a->stack > b->stack;
	return c;
}

/* The selection follows its site, wherever the new order puts it. */
static void keep_selection(struct lw_top *t)
{
	size_t i;

	for (i = 0; i < t->norder; i++) {
		if (t->snap.rows[t->order[i]].stack == t->sel_stack) {
			t->sel = i;
			return;
		}
	}
	if (t->sel >= t->norder)
		t->sel = t->norder ? t->norder - 1 : 0;
	t->sel_stack = t->norder ? t->snap.rows[t->order[t->sel]].stack : 0;
}

void rows_order(struct lw_top *t)
{
	size_t *order = realloc(t->order, (t->snap.n + 1) * sizeof(*order));
	size_t i, n = 0;

	if (!order)
		return;
	t->order = order;
	for (i = 0; i < t->snap.n; i++)
		if (t->filter == TOP_ALL ||
		    (int)t->snap.rows[i].kind == t->filter)
			order[n++] = i;
	qsort_r(order, n, sizeof(*order), by_key, t);
	t->norder = n;
	keep_selection(t);
}

void rows_free(struct top_snap *snap)
{
	free(snap->rows);
	memset(snap, 0, sizeof(*snap));
}
