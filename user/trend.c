// SPDX-License-Identifier: GPL-2.0
/*
 * Growth-trend model. Every check below has one job; together they
 * separate "memory keeps piling up" from "memory comes and goes":
 *
 *  - the least-squares slope gives the rate; Mann-Kendall's z says the
 *    rise is no accident. z looks only at the order of the samples, so
 *    its false-alarm rate on independent noise is the same whatever the
 *    noise looks like, and one outlier cannot make or break it.
 *  - the pace check compares the mean level of the window's thirds, so a
 *    leak must still be growing now: a step, or a leak that stopped, is
 *    forgotten at the latest once the flat part fills two thirds of the
 *    window.
 *  - the giveback check is what makes churn safe: a leak never returns
 *    memory, so a fall of more than half the net growth means what grew
 *    was freed again. Growth is capped at the window's range, so a window
 *    in which the level falls from its top to its bottom - every
 *    sawtooth whose free falls inside the window - can never qualify,
 *    whatever the sampling.
 *
 * What it cannot see: growth smaller than about twice the churn's swing
 * over the window, growth that arrives in bursts rarer than a third of
 * the window, and churn cycles longer than the window until their free.
 */
#include <math.h>
#include <string.h>
#include "trend.h"

/* keeps_pace() needs all three thirds populated. */
_Static_assert(TREND_MIN_SAMPLES >= 3, "thirds need 3 samples");

void trend_init(struct trend *tr)
{
	memset(tr, 0, sizeof(*tr));
}

static unsigned int slot(const struct trend *tr, unsigned int i)
{
	return (tr->head + TREND_WINDOW - tr->n + i) % TREND_WINDOW;
}

unsigned int trend_len(const struct trend *tr)
{
	return tr->n;
}

const struct trend_sample *trend_at(const struct trend *tr, unsigned int i)
{
	if (i >= tr->n)
		return NULL;
	return &tr->s[slot(tr, i)];
}

bool trend_add(struct trend *tr, double t, double value, double count)
{
	struct trend_sample *s;

	if (!isfinite(t) || !isfinite(value) || !isfinite(count))
		return false;
	/* Time order is what every statistic below relies on. */
	if (tr->n && t <= trend_at(tr, tr->n - 1)->t)
		return false;
	if (!tr->total)
		tr->first_t = t;
	s = &tr->s[tr->head];
	s->t = t;
	s->value = value;
	s->count = count;
	tr->head = (tr->head + 1) % TREND_WINDOW;
	if (tr->n < TREND_WINDOW)
		tr->n++;
	tr->total++;
	return true;
}

/* The window copied oldest first, times relative to the oldest sample. */
struct series {
	unsigned int n;
	double t[TREND_WINDOW];
	double v[TREND_WINDOW];
	double c[TREND_WINDOW];
};

static void load(const struct trend *tr, struct series *se)
{
	double t0 = tr->n ? trend_at(tr, 0)->t : 0;
	unsigned int i;

	se->n = tr->n;
	for (i = 0; i < se->n; i++) {
		const struct trend_sample *s = trend_at(tr, i);

		/* Relative times keep large clock values from cancelling. */
		se->t[i] = s->t - t0;
		se->v[i] = s->value;
		se->c[i] = s->count;
	}
}

static double mean(const double *x, unsigned int n)
{
	double sum = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		sum += x[i];
	return sum / n;
}

/* Least-squares slope of y over t; R2 of that line when r2 != NULL. */
static double slope(const double *t, const double *y, unsigned int n,
		    double *r2)
{
	double mt = mean(t, n), my = mean(y, n);
	double sxx = 0, sxy = 0, syy = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		double dt = t[i] - mt, dy = y[i] - my;

		sxx += dt * dt;
		sxy += dt * dy;
		syy += dy * dy;
	}
	if (r2)
		*r2 = syy > 0 ? fmin(sxy * sxy / (sxx * syy), 1.0) : 0;
	return sxx > 0 ? sxy / sxx : 0;
}

/*
 * Mann-Kendall: S counts rising minus falling pairs. Under independent
 * noise of any continuous distribution every order of the samples is
 * equally likely, so z bounds how often pure noise passes without any
 * assumption about its shape. Ties, common in integer thread counts,
 * get the standard variance correction.
 */
static void mann_kendall(const double *y, unsigned int n, double *tau,
			 double *z)
{
	double var = (double)n * (n - 1) * (2 * n + 5);
	long s = 0;
	unsigned int i, j;

	for (i = 0; i + 1 < n; i++) {
		unsigned int later_ties = 0;

		for (j = i + 1; j < n; j++) {
			s += (y[j] > y[i]) - (y[j] < y[i]);
			later_ties += y[j] == y[i];
		}
		/*
		 * A tie group of t takes t(t - 1)(2t + 5) off; its members
		 * see t - 1, t - 2, ..., 0 later ties e, and the sum of
		 * 6e(e + 2) over them is exactly that.
		 */
		var -= 6.0 * later_ties * (later_ties + 2);
	}
	*tau = (double)s / ((double)n * (n - 1) / 2);
	var /= 18;
	/* continuity correction: S moves in steps of 2 */
	*z = var > 0 && s ? (double)(s - (s > 0 ? 1 : -1)) / sqrt(var) : 0;
}

static double drawdown(const double *y, unsigned int n)
{
	double high = y[0], worst = 0;
	unsigned int i;

	for (i = 1; i < n; i++) {
		high = fmax(high, y[i]);
		worst = fmax(worst, high - y[i]);
	}
	return worst;
}

static double range(const double *y, unsigned int n)
{
	double lo = y[0], hi = y[0];
	unsigned int i;

	for (i = 1; i < n; i++) {
		lo = fmin(lo, y[i]);
		hi = fmax(hi, y[i]);
	}
	return hi - lo;
}

/*
 * Thirds by sample index, compared through their mean times, so uneven
 * sampling asks each third for the growth its own time span predicts.
 */
static bool keeps_pace(const struct series *se, double rate)
{
	double mt[3] = { 0 }, mv[3] = { 0 };
	unsigned int cnt[3] = { 0 };
	unsigned int i, g;

	for (i = 0; i < se->n; i++) {
		g = 3 * i / se->n;
		mt[g] += se->t[i];
		mv[g] += se->v[i];
		cnt[g]++;
	}
	for (g = 0; g < 3; g++) {
		mt[g] /= cnt[g];
		mv[g] /= cnt[g];
	}
	for (g = 1; g < 3; g++) {
		double want = rate * (mt[g] - mt[g - 1]);

		if (mv[g] - mv[g - 1] < TREND_MIN_PACE * want)
			return false;
	}
	return true;
}

static enum trend_verdict judge(const struct series *se,
				const struct trend_fit *fit, double noise)
{
	if (se->n < TREND_MIN_SAMPLES)
		return TREND_FEW_SAMPLES;
	if (!(fit->value_per_s > 0))
		return TREND_NOT_RISING;
	if (fit->drawdown > TREND_MAX_GIVEBACK * fit->growth)
		return TREND_CHURN;
	if (fit->z < TREND_MIN_Z)
		return TREND_NOT_SIGNIFICANT;
	if (!keeps_pace(se, fit->value_per_s))
		return TREND_STALLED;
	if (fit->growth < TREND_MIN_GROWTH)
		return TREND_TOO_SMALL;
	if (fit->growth < noise)
		return TREND_NOISE;
	return TREND_SUSPECT;
}

void trend_fit(const struct trend *tr, struct trend_fit *fit)
{
	struct series se;

	memset(fit, 0, sizeof(*fit));
	load(tr, &se);
	fit->samples = se.n;
	if (se.n >= 2) {
		fit->span = se.t[se.n - 1];
		fit->value_per_s = slope(se.t, se.v, se.n, &fit->r2);
		fit->count_per_s = slope(se.t, se.c, se.n, NULL);
		mann_kendall(se.v, se.n, &fit->tau, &fit->z);
		fit->growth =
			fmin(fit->value_per_s * fit->span, range(se.v, se.n));
		fit->drawdown = drawdown(se.v, se.n);
	}
	fit->verdict = judge(&se, fit, tr->noise);
	fit->suspect = fit->verdict == TREND_SUSPECT;
}

const char *trend_verdict_str(enum trend_verdict v)
{
	switch (v) {
	case TREND_SUSPECT:
		return "suspect";
	case TREND_FEW_SAMPLES:
		return "few samples";
	case TREND_NOT_RISING:
		return "not rising";
	case TREND_CHURN:
		return "churn";
	case TREND_NOT_SIGNIFICANT:
		return "not significant";
	case TREND_STALLED:
		return "stalled";
	case TREND_NOISE:
		return "within sampling noise";
	case TREND_TOO_SMALL:
		return "too small";
	}
	return "?";
}
