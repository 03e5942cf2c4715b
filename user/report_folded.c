// SPDX-License-Identifier: GPL-2.0
/*
 * Folded stacks, what flamegraph.pl and speedscope read: one line per
 * site, its frames outermost first separated by ';', then a space and an
 * integer value:
 *
 *	[heap];main (leaky.c:229);leak_malloc (leaky.c:33) 184800
 *	[thread];main (thr.c:20);leak (thr.c:9);[runs] block (thr.c:5) 133
 *
 * All kinds share one file: the first frame names the kind ([heap],
 * [goroutine], [thread], [fd]), so each kind is a tower of its own. Goroutine
 * and thread sites end with "[runs] FUNC", what they execute; a site
 * without a stack shows its label instead. A frame is "func (file:line)",
 * "func" or "module+0xOFFSET" when unresolved; an inlined frame carries
 * flamegraph.pl's annotation "_[i]" (drawn without it, in its own color).
 *
 * Both readers take the digits after the last space as the value and cut
 * the rest at ';'; flamegraph.pl also takes a number after a space ending
 * the stack for the first column of a differential. So a frame is escaped
 * as every view escapes target strings (safestr.h: control characters and
 * invalid UTF-8 as \xNN), ';' too (\x3b), and never ends in " NUMBER"
 * (that space is made '_').
 *
 * Values are integers > 0, as both readers need: sites with nothing to
 * show are left out, growth (per second) is rounded and sites that do not
 * grow are left out, since a flame graph cannot draw a negative width.
 * Sites that print the same stack are merged (their values summed, as
 * flamegraph.pl would) and lines are sorted, so the output is stable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "safestr.h"
#include "util.h"
#include "view.h"

#define FRAME_MAX    1024
#define INLINED_MARK "_[i]"

struct folded_line {
	char *stack;
	long long value;
};

static bool is_number(const char *s)
{
	size_t n = strspn(s, "0123456789");

	if (!n)
		return false;
	if (s[n] == '.')
		n += 1 + strspn(s + n + 1, "0123456789");
	return s[n] == '\0';
}

/* raw made into s (len bytes), a frame both readers take whole (see the
 * top of this file). */
static void clean_frame(const char *raw, char *s, size_t len)
{
	size_t start, n;
	char *sp;

	lw_safe(raw, s, len, LW_SAFE_FOLDED);
	n = strlen(s);
	while (n && s[n - 1] == ' ')
		s[--n] = '\0';
	start = strspn(s, " ");
	memmove(s, s + start, n - start + 1);
	if (!*s)
		strcpy(s, "?");
	sp = strrchr(s, ' ');
	if (sp && is_number(sp + 1))
		*sp = '_';
}

/* prefix + the frame's text, cleaned, and its inline mark. */
static void frame_text(const struct lw_frame *fr, const char *prefix, char *buf,
		       size_t len)
{
	char raw[FRAME_MAX];
	size_t n = snprintf(raw, sizeof(raw), "%s", prefix);

	if (n >= sizeof(raw))
		n = sizeof(raw) - 1;
	if (!fr->symbol && fr->module)
		snprintf(raw + n, sizeof(raw) - n, "%s+0x%" PRIx64,
			 lw_base_name(fr->module), fr->offset);
	else
		symbolizer_format(fr, raw + n, sizeof(raw) - n);
	clean_frame(raw, buf, len - strlen(INLINED_MARK));
	if (fr->inlined)
		strcat(buf, INLINED_MARK);
}

static void put_text(FILE *m, const char *text)
{
	char buf[FRAME_MAX];

	clean_frame(text, buf, sizeof(buf));
	fprintf(m, ";%s", buf);
}

/* "[runs] FUNC": the function the goroutines or threads of s execute. */
static void put_start(FILE *m, struct lw_view *v, const struct lw_site *s)
{
	struct lw_frame fr[LW_MAX_FRAMES];
	char buf[FRAME_MAX];
	int n;

	if (s->kind == LW_KIND_HEAP || !s->start)
		return;
	n = symbolizer_resolve(v->sym, s->start, false, fr, LW_MAX_FRAMES);
	if (!n)
		return;
	/* The real function, not what was inlined at its entry. */
	fr[n - 1].inlined = false;
	frame_text(&fr[n - 1], "[runs] ", buf, sizeof(buf));
	fprintf(m, ";%s", buf);
}

/* The site's stack as a folded line without its value (malloc'ed). */
static char *site_stack(struct lw_view *v, struct lw_site *s)
{
	struct lw_frame fr[LW_MAX_FRAMES];
	int n = view_frames(v, s, fr, LW_MAX_FRAMES), i;
	char buf[FRAME_MAX], *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m)
		abort();
	if (v->root)
		fprintf(m, "%s;", v->root);
	fprintf(m, "[%s]", view_kind_name(s->kind));
	if (n && fr[0].pc) {
		for (i = n - 1; i >= 0; i--) {
			frame_text(&fr[i], "", buf, sizeof(buf));
			fprintf(m, ";%s", buf);
		}
	} else {
		put_text(m, s->label[0] ? s->label : "[stack not captured]");
	}
	put_start(m, v, s);
	if (fclose(m) || !text)
		abort();
	return text;
}

/* The site's value, rounded; <= 0 when it has nothing to show. */
static long long site_folded(const struct lw_site *s, enum lw_folded_value how)
{
	double x;

	switch (how) {
	case LW_FOLDED_BYTES:
		x = site_bytes(s);
		break;
	case LW_FOLDED_COUNT:
		x = site_count(s);
		break;
	case LW_FOLDED_GROWTH:
		/* What the JSON report calls bytes_per_s or count_per_s */
		x = s->kind == LW_KIND_HEAP ? s->fit.value_per_s
					    : s->fit.count_per_s;
		break;
	default:
		x = site_value(s);
		break;
	}
	/* Also false for NaN */
	if (!(x >= 0.5))
		return 0;
	if (x >= 9e18)
		return 9000000000000000000LL;
	return (long long)(x + 0.5);
}

static int by_stack(const void *a, const void *b)
{
	const struct folded_line *x = a, *y = b;

	return strcmp(x->stack, y->stack);
}

/* Prints the lines, merging equal stacks; frees their stacks. */
static int print_lines(FILE *f, struct folded_line *l, size_t n)
{
	size_t i = 0, j;
	long long sum;
	int err = 0;

	qsort(l, n, sizeof(*l), by_stack);
	while (i < n) {
		sum = 0;
		for (j = i; j < n && !strcmp(l[j].stack, l[i].stack); j++)
			sum = l[j].value > LLONG_MAX - sum ? LLONG_MAX
							   : sum + l[j].value;
		if (fprintf(f, "%s %lld\n", l[i].stack, sum) < 0)
			err = -1;
		for (; i < j; i++)
			free(l[i].stack);
	}
	return err;
}

/* The lines of one process's sites, appended to *l. */
static void collect(struct lw_view *v, enum lw_folded_value how,
		    struct folded_line **l, size_t *k, size_t *cap)
{
	struct lw_site **s;
	size_t n = model_ranked(v->model, &s), i;
	struct folded_line *p;

	if (*k + n >= *cap) {
		*cap = *k + n + 16;
		p = realloc(*l, *cap * sizeof(*p));
		if (!p)
			abort();
		*l = p;
	}
	for (i = 0; i < n; i++) {
		(*l)[*k].value = site_folded(s[i], how);
		if ((*l)[*k].value > 0) {
			(*l)[*k].stack = site_stack(v, s[i]);
			(*k)++;
		}
	}
	free(s);
}

/* System-wide, each line's root is its process: "[pid 123 comm]". */
static void collect_system(struct lw_view *v, enum lw_folded_value how,
			   struct folded_line **l, size_t *k, size_t *cap)
{
	char raw[160], root[320];
	struct lw_view pv;
	struct lw_proc *p;
	size_t i;

	for (i = 0; i < v->sys->n; i++) {
		p = v->sys->v[i];
		if (!proc_has_sites(p))
			continue;
		pv = view_of_proc(v, p);
		snprintf(raw, sizeof(raw), "[pid %d %s]", p->pid,
			 p->target.comm);
		clean_frame(raw, root, sizeof(root));
		pv.root = root;
		collect(&pv, how, l, k, cap);
	}
}

int report_folded(FILE *f, const char *name, struct lw_view *v,
		  enum lw_folded_value how)
{
	struct folded_line *l = NULL;
	size_t k = 0, cap = 0;
	int err;

	if (v->sys)
		collect_system(v, how, &l, &k, &cap);
	else
		collect(v, how, &l, &k, &cap);
	err = print_lines(f, l, k);
	if (err || fflush(f)) {
		lw_err("writing %s: %s", name, strerror(errno));
		err = -1;
	}
	free(l);
	return err;
}
