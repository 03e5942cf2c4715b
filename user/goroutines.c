// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "goroutines.h"
#include "util.h"

/* Creation-site ids live apart from the probes' site indices. */
#define GROUP_ID (1ull << 63)
#define BATCH	 4096

void goscan_init(struct lw_goscan *gs, pid_t pid, uint64_t bias,
		 const struct go_layout *l)
{
	memset(gs, 0, sizeof(*gs));
	gs->pid = pid;
	gs->bias = bias;
	gs->layout = *l;
}

void goscan_free(struct lw_goscan *gs)
{
	if (gs->reasons_loaded)
		goinfo_waitreasons_free(&gs->reasons);
	free(gs->gs);
	memset(gs, 0, sizeof(*gs));
}

/* The probes' goid -> site map, sorted by goid for lookups. */
struct live {
	uint64_t goid;
	struct lw_go_val val;
};

static int by_goid(const void *a, const void *b)
{
	uint64_t x = ((const struct live *)a)->goid;
	uint64_t y = ((const struct live *)b)->goid;

	return x < y ? -1 : x > y;
}

/* The map holds every traced process's goroutines: pid's only. */
static struct live *read_live(int fd, pid_t pid, size_t *n)
{
	struct lw_go_key keys[BATCH], in_batch, out_batch;
	struct lw_go_val vals[BATCH];
	struct live *v = NULL, *p;
	__u32 count, i;
	void *in = NULL;
	int err;

	*n = 0;
	do {
		count = BATCH;
		err = bpf_map_lookup_batch(fd, in, &out_batch, keys, vals,
					   &count, NULL);
		if (err && errno != ENOENT)
			break;
		p = realloc(v, (*n + count + 1) * sizeof(*v));
		if (!p)
			break;
		v = p;
		for (i = 0; i < count; i++)
			if (keys[i].tgid == (__u32)pid)
				v[(*n)++] =
					(struct live){ keys[i].goid, vals[i] };
		in_batch = out_batch;
		in = &in_batch;
	} while (!err);
	if (v)
		qsort(v, *n, sizeof(*v), by_goid);
	return v;
}

static int by_goid_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static const struct live *find_live(const struct live *v, size_t n,
				    uint64_t goid)
{
	struct live key = { .goid = goid };

	return n ? bsearch(&key, v, n, sizeof(*v), by_goid) : NULL;
}

static uint64_t group_id(const struct goroutine *g)
{
	uint64_t h = (g->gopc * 0x9e3779b97f4a7c15ull) ^ g->startpc;

	return GROUP_ID | (h & ~GROUP_ID);
}

static struct lw_site *group_site(struct lw_model *m, const struct goroutine *g)
{
	struct lw_site *s = model_site(m, group_id(g));

	if (!s->stack_read) {
		/* until the probes see one born: the go statement alone */
		s->kind = LW_KIND_GOROUTINE;
		s->epoch = m->epoch;
		s->start = g->startpc;
		model_set_stack(s, &g->gopc, 1);
		s->stack_read = true;
		s->scanned = 0;
	}
	return s;
}

/* A goroutine born under the probes lends the site its full stack. */
static void adopt_stack(struct lw_model *m, struct lw_site *s,
			const struct live *l)
{
	struct lw_site *born;

	if (s->depth > 1 || !l)
		return;
	born = model_find(m, l->val.site);
	if (!born || !born->stack_read || born->depth <= 1)
		return;
	model_set_stack(s, born->ips, born->depth);
}

static void note_blocked(struct lw_goscan *gs, struct lw_site *s,
			 const struct goroutine *g)
{
	const char *reason =
		gs->reasons_loaded
			? goinfo_waitreason_name(&gs->reasons, g->waitreason)
			: NULL;
	struct lw_blocked *b;
	bool fresh;
	int depth;

	b = model_blocked(s, reason ? reason : "waiting", g->sched_pc, &fresh);
	if (!b || !fresh)
		return;
	depth = goinfo_unwind(gs->pid, g, b->pcs, LW_MAX_STACK_DEPTH);
	if (depth >= 1)
		b->depth = depth;
	else
		b->pcs[0] = g->sched_pc;
}

/*
 * Goroutines the probes saw born but the runtime no longer lists died
 * unseen (an exit lost, or born before a restart of the map): forget
 * them, once they are old enough not to be newer than the scan.
 */
static void heal(int fd, pid_t pid, const struct live *v, size_t n,
		 const struct goroutine *gs, size_t ng, uint32_t cur_gen)
{
	struct lw_go_key key = { .tgid = pid };
	uint64_t *seen = malloc((ng + 1) * sizeof(*seen));
	size_t i, j = 0;

	if (!seen)
		return;
	for (i = 0; i < ng; i++)
		seen[i] = gs[i].goid;
	qsort(seen, ng, sizeof(*seen), by_goid_u64);
	for (i = 0; i < n; i++) {
		while (j < ng && seen[j] < v[i].goid)
			j++;
		if ((j == ng || seen[j] != v[i].goid) &&
		    v[i].val.gen + 1 < cur_gen) {
			key.goid = v[i].goid;
			bpf_map_delete_elem(fd, &key);
		}
	}
	free(seen);
}

static void reset_sites(struct lw_model *m)
{
	size_t i;

	model_clear_blocked(m);
	for (i = 0; i < m->n; i++)
		if (m->sites[i].kind == LW_KIND_GOROUTINE)
			m->sites[i].scanned = 0;
}

/* The oldest goroutine of a site: born before attach, or at a generation. */
static void note_age(struct lw_model *m, struct lw_site *s,
		     const struct live *l, double now)
{
	double age = l ? now - m->gen_start[l->val.gen < m->ngen ? l->val.gen
								 : m->ngen - 1]
		       : now - m->t0;

	if (age > s->oldest_age_s)
		s->oldest_age_s = age;
}

int goscan_update(struct lw_goscan *gs, struct lw_model *m, int goroutines_fd,
		  uint32_t cur_gen, double now)
{
	const struct live *l;
	struct lw_site *s;
	struct live *live;
	size_t nlive, i;
	int err;

	free(gs->gs);
	gs->gs = NULL;
	err = goinfo_scan(gs->pid, gs->bias, &gs->layout, &gs->gs, &gs->n);
	if (err < 0) {
		if (err != gs->unavailable)
			lw_warn("cannot read the goroutine list of %d: %s%s",
				gs->pid, strerror(-err),
				err == -ENOTSUP ? " (stripped binary: only "
						  "goroutines born since "
						  "attach are counted)"
						: "");
		gs->unavailable = err;
		return err;
	}
	if (!gs->reasons_loaded)
		gs->reasons_loaded = !goinfo_waitreasons_load(
			&gs->reasons, gs->pid, gs->bias, &gs->layout);
	live = goroutines_fd >= 0 ? read_live(goroutines_fd, gs->pid, &nlive)
				  : (nlive = 0, NULL);
	reset_sites(m);
	for (i = 0; i < m->n; i++)
		if (m->sites[i].kind == LW_KIND_GOROUTINE &&
		    !(m->sites[i].stack & GROUP_ID))
			m->sites[i].shadowed = true;
	for (i = 0; i < gs->n; i++) {
		l = find_live(live, nlive, gs->gs[i].goid);
		s = group_site(m, &gs->gs[i]);
		if (!s->scanned)
			s->oldest_age_s = -1;
		s->scanned++;
		adopt_stack(m, s, l);
		note_age(m, s, l, now);
		if (gs->gs[i].status == GO_G_WAITING)
			note_blocked(gs, s, &gs->gs[i]);
	}
	if (goroutines_fd >= 0)
		heal(goroutines_fd, gs->pid, live, nlive, gs->gs, gs->n,
		     cur_gen);
	free(live);
	gs->scans++;
	return 0;
}
