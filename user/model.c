// SPDX-License-Identifier: GPL-2.0
/*
 * The in-memory model every view reads: sites, their history and their
 * verdicts. Only this file turns drained numbers into trends.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fdinfo.h"
#include "model.h"

int model_init(struct lw_model *m, double t0)
{
	memset(m, 0, sizeof(*m));
	m->t0 = t0;
	m->index_cap = 1024;
	m->index = calloc(m->index_cap, sizeof(*m->index));
	if (!m->index)
		return -1;
	model_next_gen(m, t0);
	regions_init(&m->regions, model_map_delta, m);
	return 0;
}

struct lw_blocked *model_blocked(struct lw_site *s, const char *reason,
				 uint64_t pc, bool *fresh)
{
	struct lw_blocked *b;
	int i;

	*fresh = false;
	for (i = 0; i < s->nblocked; i++) {
		b = &s->blocked[i];
		if (b->pcs[0] == pc && b->reason == reason) {
			b->count++;
			return b;
		}
	}
	if (s->nblocked == LW_MAX_BLOCKED)
		return NULL;
	b = realloc(s->blocked, (s->nblocked + 1) * sizeof(*b));
	if (!b)
		return NULL;
	s->blocked = b;
	b = &b[s->nblocked++];
	memset(b, 0, sizeof(*b));
	b->reason = reason;
	b->count = 1;
	b->pcs[0] = pc;
	b->depth = 1;
	*fresh = true;
	return b;
}

void model_set_stack(struct lw_site *s, const uint64_t *ips, int depth)
{
	uint64_t *v = NULL;

	if (depth > LW_MAX_STACK_DEPTH)
		depth = LW_MAX_STACK_DEPTH;
	if (depth > 0) {
		v = malloc(depth * sizeof(*v));
		if (!v)
			abort();
		memcpy(v, ips, depth * sizeof(*v));
	}
	free(s->ips);
	s->ips = v;
	s->depth = depth;
}

static void free_stacks(struct lw_model *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->sites[i].ips);
		m->sites[i].ips = NULL;
		if (m->sites[i].fd_types)
			fdtypes_free(m->sites[i].fd_types);
		free(m->sites[i].fd_types);
		m->sites[i].fd_types = NULL;
	}
}

void model_clear_blocked(struct lw_model *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->sites[i].blocked);
		m->sites[i].blocked = NULL;
		m->sites[i].nblocked = 0;
	}
}

void model_free(struct lw_model *m)
{
	model_clear_blocked(m);
	free_stacks(m);
	free(m->sites);
	free(m->index);
	free(m->gen_start);
	regions_free(&m->regions);
	memset(m, 0, sizeof(*m));
}

void model_set_epoch(struct lw_model *m, uint32_t epoch)
{
	if (epoch == m->epoch)
		return;
	m->epoch = epoch;
	model_clear_blocked(m);
	free_stacks(m);
	m->n = 0;
	memset(m->index, 0, m->index_cap * sizeof(*m->index));
	regions_free(&m->regions);
	regions_init(&m->regions, model_map_delta, m);
}

uint32_t model_next_gen(struct lw_model *m, double t)
{
	double *p;

	if (m->ngen == m->gen_cap) {
		m->gen_cap = m->gen_cap ? 2 * m->gen_cap : 64;
		p = realloc(m->gen_start, m->gen_cap * sizeof(*p));
		if (!p)
			abort();
		m->gen_start = p;
	}
	m->gen_start[m->ngen] = t;
	return m->ngen++;
}

static size_t slot_of(const struct lw_model *m, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) &
	       (m->index_cap - 1);
}

static void reindex(struct lw_model *m)
{
	size_t i, j;

	free(m->index);
	m->index_cap *= 2;
	m->index = calloc(m->index_cap, sizeof(*m->index));
	if (!m->index)
		abort();
	for (i = 0; i < m->n; i++) {
		j = slot_of(m, m->sites[i].stack);
		while (m->index[j])
			j = (j + 1) & (m->index_cap - 1);
		m->index[j] = i + 1;
	}
}

/* The smallest generation >= from that maps to slot. */
static int64_t gen_at_or_after(int64_t from, int slot)
{
	int64_t g = from - (from % LW_NGEN) + slot;

	return g < from ? g + LW_NGEN : g;
}

static struct lw_site *add_site(struct lw_model *m, uint64_t id)
{
	struct lw_site *s;
	/* it was absent at the previous drain: nothing older than that */
	int64_t from = m->ngen >= 2 ? (int64_t)m->ngen - 2 : 0;
	int k;

	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 256;
		s = realloc(m->sites, m->cap * sizeof(*s));
		if (!s)
			abort();
		m->sites = s;
	}
	if (2 * (m->n + 1) > m->index_cap)
		reindex(m);
	s = &m->sites[m->n++];
	memset(s, 0, sizeof(*s));
	s->stack = id;
	s->kind = LW_KIND_HEAP;
	s->oldest_age_s = -1;
	s->scanned = -1;
	trend_init(&s->trend);
	for (k = 0; k < LW_NGEN; k++)
		s->lo_gen[k] = gen_at_or_after(from, k);
	return s;
}

struct lw_site *model_find(struct lw_model *m, uint64_t id)
{
	size_t j = slot_of(m, id);

	while (m->index[j]) {
		if (m->sites[m->index[j] - 1].stack == id)
			return &m->sites[m->index[j] - 1];
		j = (j + 1) & (m->index_cap - 1);
	}
	return NULL;
}

struct lw_site *model_site(struct lw_model *m, uint64_t id)
{
	struct lw_site *s = model_find(m, id);
	size_t j;

	if (s)
		return s;
	add_site(m, id);
	j = slot_of(m, id);
	while (m->index[j])
		j = (j + 1) & (m->index_cap - 1);
	m->index[j] = m->n;
	return &m->sites[m->n - 1];
}

void model_map_delta(void *ctx, uint64_t stack, int64_t dbytes, int dcount)
{
	struct lw_site *s = model_site(ctx, stack);

	s->map_bytes += dbytes;
	s->map_count += dcount;
	if (dcount > 0)
		s->map_allocs++;
	else if (dcount < 0)
		s->map_frees++;
}

/*
 * A slot seen empty can only hold allocations made from now on; the
 * oldest live allocation is in the oldest non-empty slot's generation.
 */
static void update_age(struct lw_model *m, struct lw_site *s, double t)
{
	int64_t cur = m->ngen - 1, oldest = -1;
	int k;

	if (s->kind == LW_KIND_GOROUTINE && s->scanned >= 0)
		return; /* the scan dated them */
	if (s->stack & (1ull << 62)) {
		s->oldest_age_s = t - m->t0; /* alive at attach: older */
		return;
	}
	for (k = 0; k < LW_NGEN; k++) {
		if (s->k.gen_count[k] <= 0)
			s->lo_gen[k] = gen_at_or_after(cur, k);
		else if (oldest < 0 || s->lo_gen[k] < oldest)
			oldest = s->lo_gen[k];
	}
	s->oldest_age_s = -1;
	if (oldest >= 0 && oldest <= cur)
		s->oldest_age_s = t - m->gen_start[oldest];
	if (s->map_count > 0) {
		double mt = regions_oldest_ns(&m->regions, s->stack) / 1e9;

		if (t - mt > s->oldest_age_s)
			s->oldest_age_s = t - mt;
	}
}

/*
 * --sample: a heap site's aggregate holds its samples (allocs, frees) and
 * the objects they stand for (est_allocs, est_frees); bytes is already the
 * estimate. Counts become estimates too, and the trend learns how far
 * off the estimate may be.
 */
static void fold_sampled(struct lw_model *m, struct lw_site *s)
{
	struct lw_site_val *k = &s->k;
	double live = (double)(int64_t)(k->est_allocs - k->est_frees);
	int64_t count = llround(live / LW_SAMPLE_ONE);
	uint64_t frees = llround((double)k->est_frees / LW_SAMPLE_ONE);

	s->sampled = true;
	s->samples = (int32_t)(k->allocs - k->frees);
	k->frees = frees;
	k->allocs = frees + (count > 0 ? count : 0);
	s->trend.noise = TREND_NOISE_SIGMAS * (double)m->sample_bytes *
			 sqrt((double)(s->samples > 0 ? s->samples : 0) + 1);
}

void model_update(struct lw_model *m, const struct lw_drained_site *d, size_t n,
		  double t)
{
	struct lw_site *s;
	size_t i;

	for (i = 0; i < n; i++) {
		s = model_site(m, d[i].site);
		/* a site of an image the target has exec'd away from */
		if (s->stack != LW_NO_SITE && s->epoch != m->epoch)
			continue;
		s->k = d[i].val;
		if (d[i].val.est_allocs)
			fold_sampled(m, s);
	}
	for (i = 0; i < m->n; i++) {
		s = &m->sites[i];
		update_age(m, s, t);
		/* a value as of an earlier moment counts once, then */
		trend_add(&s->trend, (s->value_t > 0 ? s->value_t : t) - m->t0,
			  site_value(s), (double)site_count(s));
		trend_fit(&s->trend, &s->fit);
	}
}

static int by_growth(const void *a, const void *b)
{
	const struct lw_site *x = *(struct lw_site *const *)a;
	const struct lw_site *y = *(struct lw_site *const *)b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->fit.value_per_s != y->fit.value_per_s)
		return x->fit.value_per_s < y->fit.value_per_s ? 1 : -1;
	if (site_bytes(x) != site_bytes(y))
		return site_bytes(x) < site_bytes(y) ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

size_t model_ranked(struct lw_model *m, struct lw_site ***out)
{
	struct lw_site **v = calloc(m->n ? m->n : 1, sizeof(*v));
	size_t i, k = 0;

	if (!v)
		abort();
	for (i = 0; i < m->n; i++)
		if (!m->sites[i].shadowed && (site_bytes(&m->sites[i]) > 0 ||
					      site_count(&m->sites[i]) > 0))
			v[k++] = &m->sites[i];
	qsort(v, k, sizeof(*v), by_growth);
	*out = v;
	return k;
}
