// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include "safestr.h"
#include "view.h"

#define LW_COUNTER_NAME(id, name, is_drop) [LW_CNT_##id] = { name, is_drop },
static const struct {
	const char *name;
	bool drop;
} counters[LW_CNT_MAX] = { LW_COUNTERS(LW_COUNTER_NAME) };
#undef LW_COUNTER_NAME

const char *view_counter_name(int c)
{
	return counters[c].name ? counters[c].name : "unnamed_counter";
}

bool view_counter_is_drop(int c)
{
	return counters[c].drop;
}

const uint64_t *view_counters(const struct lw_view *v)
{
	return v->sys ? v->counters : v->model->counters;
}

unsigned long view_unresolved(const struct lw_view *v)
{
	unsigned long n = 0;
	size_t i;

	if (!v->sys)
		return symbolizer_unresolved(v->sym);
	for (i = 0; i < v->sys->n; i++)
		if (v->sys->v[i]->sym)
			n += symbolizer_unresolved(v->sys->v[i]->sym);
	return n;
}

struct lw_view view_of_proc(const struct lw_view *v, struct lw_proc *p)
{
	struct lw_view pv = *v;

	pv.sys = NULL;
	pv.target = &p->target;
	pv.model = &p->model;
	pv.sym = p->sym;
	pv.goheap = p->goheap_on ? &p->goheap : NULL;
	pv.fds = p->fds_on ? &p->fds : NULL;
	return pv;
}

void view_drops(struct lw_view *v, char *buf, size_t len)
{
	unsigned long unresolved = view_unresolved(v);
	const uint64_t *cnt = view_counters(v);
	size_t at = 0;
	int c;

	buf[0] = '\0';
	for (c = 0; c < LW_CNT_MAX && at < len; c++) {
		if (!view_counter_is_drop(c) || !cnt[c])
			continue;
		at += snprintf(buf + at, len - at, " %s=%llu",
			       view_counter_name(c),
			       (unsigned long long)cnt[c]);
	}
	if (unresolved && at < len)
		at += snprintf(buf + at, len - at, " unresolved_frames=%lu",
			       unresolved);
	if (!at)
		snprintf(buf, len, " none");
}

const char *view_kind_name(enum lw_site_kind kind)
{
	switch (kind) {
	case LW_KIND_HEAP:
		return "heap";
	case LW_KIND_GOROUTINE:
		return "goroutine";
	case LW_KIND_THREAD:
		return "thread";
	case LW_KIND_GO_HEAP: /* stacks only: their sites are heap sites */
		return "heap";
	case LW_KIND_FD:
		return "fd";
	}
	return "?";
}

void view_frame_name(const struct lw_frame *f, char *buf, size_t len)
{
	char raw[1024];

	symbolizer_format(f, raw, sizeof(raw));
	lw_safe(raw, buf, len, 0);
}

/* The runtime's own frames above a go statement say nothing. */
static bool is_go_runtime(const struct lw_frame *f)
{
	return f->symbol && !strncmp(f->symbol, "runtime.", 8);
}

/* Nor does operator new above the code that said new: it is the
 * allocator, as malloc is (whose frame a site never has). */
static bool is_cxx_new(const struct lw_frame *f)
{
	return f->symbol && !strncmp(f->symbol, "operator new", 12);
}

/* Drops the leading frames skip says nothing about; the last one stays. */
static int skip_leading(struct lw_frame *f, int n,
			bool (*skip)(const struct lw_frame *))
{
	int k = 0;

	while (k < n - 1 && skip(&f[k]))
		k++;
	memmove(f, f + k, (n - k) * sizeof(*f));
	return n - k;
}

/*
 * A descriptor's stack starts at the syscall instruction: the C
 * library's wrappers (open, fopen and what it calls) and Go's syscall
 * packages say nothing; the program's code that called them does.
 */
static bool is_syscall_wrapper(const struct lw_frame *f)
{
	const char *m = f->module ? strrchr(f->module, '/') : NULL;
	const char *sym = f->symbol ? f->symbol : "";

	if (m && (!strncmp(m, "/libc.so", 8) || !strncmp(m, "/libc-", 6)))
		return true;
	/* Go: runtime/internal/syscall up to 1.22, internal/runtime/syscall
	 * after; golang.org/x/sys/unix is the syscall package of many */
	return !strncmp(sym, "runtime.", 8) || !strncmp(sym, "runtime/", 8) ||
	       !strncmp(sym, "syscall.", 8) || !strncmp(sym, "internal/", 9) ||
	       !strncmp(sym, "golang.org/x/sys/unix.", 22);
}

int view_frames(struct lw_view *v, struct lw_site *s, struct lw_frame *out,
		int max)
{
	int i, n = 0;

	for (i = 0; i < s->depth && n < max; i++)
		n += symbolizer_resolve(v->sym, s->ips[i], true, out + n,
					max - n);
	if (s->kind == LW_KIND_GOROUTINE)
		return skip_leading(out, n, is_go_runtime);
	if (s->kind == LW_KIND_FD)
		return skip_leading(out, n, is_syscall_wrapper);
	return s->kind == LW_KIND_HEAP ? skip_leading(out, n, is_cxx_new) : n;
}

void view_fd_eta(const struct lw_fds *fds, char *buf, size_t len)
{
	double t = fds->eta_s;

	buf[0] = 0;
	if (t < 0)
		return;
	if (t < 120)
		snprintf(buf, len, "EMFILE in ~%.0f s", t);
	else if (t < 7200)
		snprintf(buf, len, "EMFILE in ~%.0f min", t / 60);
	else if (t < 172800)
		snprintf(buf, len, "EMFILE in ~%.0f h", t / 3600);
	else
		snprintf(buf, len, "EMFILE in ~%.0f days", t / 86400);
}
