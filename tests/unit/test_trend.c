// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the growth-trend model on synthetic series. Every random
 * series comes from a seeded generator, so a failure replays exactly.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "trend.h"

#define KIB 1024.0
#define MIB (1024.0 * 1024.0)
/* A CLOCK_MONOTONIC-like epoch: large enough to expose cancellation. */
#define T0 86400.0

struct rng {
	uint64_t s;
};

static void rng_seed(struct rng *r, uint64_t seed)
{
	r->s = seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
}

/* splitmix64: small, and good enough for test noise */
static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1p-53;
}

/* uniform in [-a, a] */
static double rng_sym(struct rng *r, double a)
{
	return a * (2 * rng_unit(r) - 1);
}

static double rng_gauss(struct rng *r, double sigma)
{
	double u = 1 - rng_unit(r), v = rng_unit(r);

	return sigma * sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static struct trend_fit fit_of(const struct trend *tr)
{
	struct trend_fit f;

	trend_fit(tr, &f);
	return f;
}

/* Heap-site sample: the count follows the bytes at 1 KiB a block. */
static void add(struct trend *tr, double t, double bytes)
{
	assert_true(trend_add(tr, t, bytes, round(bytes / KIB)));
}

static void assert_near(double got, double want, double tol)
{
	if (fabs(got - want) > tol)
		fail_msg("got %.12g, want %.12g +- %.3g", got, want, tol);
}

static void test_exact_linear(void **state)
{
	struct trend tr;
	struct trend_fit f;
	unsigned int i;

	(void)state;
	trend_init(&tr);
	for (i = 0; i < 2 * TREND_WINDOW; i++) {
		double t = T0 + 0.5 * i;

		assert_true(trend_add(&tr, t, 3 * MIB + 1000.5 * (t - T0),
				      100 + 2.0 * (t - T0)));
		f = fit_of(&tr);
		if (i == 0)
			continue;
		assert_near(f.value_per_s, 1000.5, 1e-9);
		assert_near(f.count_per_s, 2.0, 1e-9);
		assert_int_equal(f.samples,
				 i < TREND_WINDOW ? i + 1 : TREND_WINDOW);
		if (i + 1 < TREND_MIN_SAMPLES) {
			assert_false(f.suspect);
			continue;
		}
		assert_near(f.r2, 1, 1e-12);
		assert_near(f.tau, 1, 0);
		assert_near(f.drawdown, 0, 0);
		assert_true(f.suspect);
		assert_int_equal(f.verdict, TREND_SUSPECT);
	}
}

static void test_noisy_linear(void **state)
{
	unsigned int seed, i;

	(void)state;
	for (seed = 1; seed <= 200; seed++) {
		struct trend tr;
		struct rng r;
		struct trend_fit f;

		rng_seed(&r, seed);
		trend_init(&tr);
		/* 10 KiB/s under +-20 KiB of noise, sampled every second */
		for (i = 0; i < TREND_WINDOW; i++)
			add(&tr, T0 + i,
			    MIB + 10 * KIB * i + rng_sym(&r, 20 * KIB));
		f = fit_of(&tr);
		assert_near(f.value_per_s, 10 * KIB, 1 * KIB);
		assert_near(f.count_per_s, 10, 1);
		assert_true(f.suspect);
	}
}

/*
 * Periods in samples, fractional ones included so peaks and troughs land
 * on different sampled heights, and every phase of each. Only windows
 * that hold a free are judged: before that a sawtooth is a plain ramp.
 */
static void run_sawtooth(double period, double phase, double noise,
			 unsigned int *checked)
{
	struct trend tr;
	struct rng r;
	unsigned int i, freed = 0;

	rng_seed(&r, (uint64_t)(period * 1000 + phase * 10));
	trend_init(&tr);
	for (i = 0; i < 3 * TREND_WINDOW; i++) {
		double x = fmod(i + phase, period) / period;
		double v = 2 * MIB + 512 * KIB * x + rng_sym(&r, noise);

		if (i && floor((i + phase) / period) >
				 floor((i - 1 + phase) / period))
			freed = i;
		add(&tr, T0 + i, v);
		/* both sides of the free inside the window */
		if (!freed || freed + trend_len(&tr) < i + 2)
			continue;
		(*checked)++;
		if (fit_of(&tr).suspect)
			fail_msg("sawtooth period %g phase %g flagged at %u",
				 period, phase, i);
	}
}

static void test_sawtooth_churn(void **state)
{
	unsigned int checked = 0;
	double period, phase;

	(void)state;
	for (period = 2; period < TREND_WINDOW; period += 0.25)
		for (phase = 0; phase < period; phase += period / 8) {
			run_sawtooth(period, phase, 0, &checked);
			run_sawtooth(period, phase, 8 * KIB, &checked);
		}
	/* guard against a generator that never drops */
	assert_true(checked > 300000);
}

/* Freed gradually rather than at once: up for rise, down for fall. */
static void test_triangle_churn(void **state)
{
	unsigned int rise, fall, i;

	(void)state;
	for (rise = 1; rise < TREND_WINDOW; rise += 3)
		for (fall = 1; rise + fall < TREND_WINDOW; fall += 2) {
			struct trend tr;
			unsigned int p = rise + fall;

			trend_init(&tr);
			for (i = 0; i < 3 * TREND_WINDOW; i++) {
				unsigned int x = i % p;
				double h = x <= rise ? (double)x / rise :
						       (double)(p - x) / fall;

				add(&tr, T0 + i, MIB + 256 * KIB * h);
				/* once a whole cycle is inside the window */
				if (i >= p)
					assert_false(fit_of(&tr).suspect);
			}
		}
}

static double stable_noise(struct rng *r, unsigned int kind)
{
	switch (kind) {
	case 0:
		return rng_sym(r, 4 * MIB);
	case 1:
		return rng_gauss(r, 1 * MIB);
	default:
		/* quiet level with rare large bursts that are freed again */
		return rng_sym(r, 64 * KIB) +
		       (rng_unit(r) < 0.1 ? 20 * MIB : 0);
	}
}

static void test_stable_noise(void **state)
{
	unsigned int seed, kind, i, positives = 0, fits = 0;

	(void)state;
	for (seed = 1; seed <= 1000; seed++)
		for (kind = 0; kind < 3; kind++) {
			struct trend tr;
			struct rng r;

			rng_seed(&r, seed * 3 + kind);
			trend_init(&tr);
			for (i = 0; i < 2 * TREND_WINDOW; i++) {
				add(&tr, T0 + i,
				    8 * MIB + stable_noise(&r, kind));
				positives += fit_of(&tr).suspect;
				fits++;
			}
		}
	assert_int_equal(fits, 1000 * 3 * 2 * TREND_WINDOW);
	assert_int_equal(positives, 0);
}

/*
 * A one-time jump, then a level: retained, but not growing. Once the flat
 * part holds two thirds of the window the model must let go of it.
 */
static void test_step_then_flat(void **state)
{
	const unsigned int step = TREND_WINDOW;
	unsigned int seed, i;

	(void)state;
	for (seed = 1; seed <= 100; seed++) {
		double noise = (seed % 4) * 16 * KIB;
		struct trend tr;
		struct rng r;

		rng_seed(&r, seed);
		trend_init(&tr);
		for (i = 0; i < step + 3 * TREND_WINDOW; i++) {
			double v = 4 * MIB + (i >= step ? 2 * MIB : 0);
			unsigned int flat = i >= step ? i - step + 1 : 0;

			add(&tr, T0 + i, v + rng_sym(&r, noise));
			if (3 * flat >= 2 * TREND_WINDOW)
				assert_false(fit_of(&tr).suspect);
		}
	}
}

/* A real leak that stops: flagged while it grows, then forgotten. */
static void test_leak_then_stop(void **state)
{
	const unsigned int stop = 2 * TREND_WINDOW;
	unsigned int seed, i;

	(void)state;
	for (seed = 1; seed <= 100; seed++) {
		struct trend tr;
		struct rng r;
		double level = MIB;

		rng_seed(&r, seed);
		trend_init(&tr);
		for (i = 0; i < stop + 2 * TREND_WINDOW; i++) {
			struct trend_fit f;

			if (i < stop)
				level += 8 * KIB;
			add(&tr, T0 + i, level + rng_sym(&r, 16 * KIB));
			f = fit_of(&tr);
			if (i >= TREND_WINDOW && i < stop)
				assert_true(f.suspect);
			if (i >= stop && 3 * (i - stop + 1) >= 2 * TREND_WINDOW)
				assert_false(f.suspect);
		}
	}
}

static void test_too_few_samples(void **state)
{
	struct trend tr;
	struct trend_fit f;
	unsigned int i;

	(void)state;
	trend_init(&tr);
	f = fit_of(&tr);
	assert_int_equal(f.samples, 0);
	assert_near(f.value_per_s, 0, 0);
	assert_false(f.suspect);

	for (i = 0; i + 1 < TREND_MIN_SAMPLES; i++) {
		add(&tr, T0 + 2.0 * i, 10 * MIB * (i + 1));
		f = fit_of(&tr);
		assert_int_equal(f.samples, i + 1);
		assert_false(f.suspect);
		assert_int_equal(f.verdict, TREND_FEW_SAMPLES);
		/* the rate is there before the verdict is */
		assert_near(f.value_per_s, i ? 5 * MIB : 0, 1e-6);
	}
	add(&tr, T0 + 2.0 * i, 10 * MIB * (i + 1));
	assert_true(fit_of(&tr).suspect);
}

/*
 * +1 KiB/s under a level jittering +-50 KiB, at the default 5 s interval:
 * 100 KiB of swing. The growth outruns it 2:1 only once the window spans
 * minutes, so early windows must stay quiet and full ones must flag.
 */
static void test_slow_leak_heavy_noise(void **state)
{
	unsigned int seed, i, early = 0;

	(void)state;
	for (seed = 1; seed <= 500; seed++) {
		struct trend tr;
		struct rng r;

		rng_seed(&r, seed);
		trend_init(&tr);
		for (i = 0; i < 2 * TREND_WINDOW; i++) {
			double t = 5.0 * i;
			struct trend_fit f;

			add(&tr, T0 + t,
			    64 * MIB + KIB * t + rng_sym(&r, 50 * KIB));
			f = fit_of(&tr);
			if (i + 1 == TREND_MIN_SAMPLES)
				early += f.suspect;
			if (i + 1 < TREND_WINDOW)
				continue;
			assert_true(f.suspect);
			assert_near(f.value_per_s, KIB, 0.2 * KIB);
		}
	}
	/* 55 s of growth, 55 KiB, is lost in 100 KiB of swing */
	assert_true(early <= 5);
}

/* Leak plus sawtooth churn from one site: the 2:1 rule, both sides. */
static void run_leak_with_churn(double swing, bool want)
{
	unsigned int phase, i;

	for (phase = 0; phase < 10; phase++) {
		struct trend tr;

		trend_init(&tr);
		for (i = 0; i < 2 * TREND_WINDOW; i++) {
			double churn = swing * ((i + phase) % 10) / 9;

			add(&tr, T0 + i, MIB + 4 * KIB * i + churn);
		}
		assert_int_equal(fit_of(&tr).suspect, want);
	}
}

static void test_leak_under_churn(void **state)
{
	/* growth over the window: 59 s * 4 KiB/s = 236 KiB */
	(void)state;
	run_leak_with_churn(64 * KIB, true);
	run_leak_with_churn(100 * KIB, true);
	run_leak_with_churn(160 * KIB, false);
	run_leak_with_churn(1 * MIB, false);
}

static void test_decreasing(void **state)
{
	unsigned int seed, i;

	(void)state;
	for (seed = 1; seed <= 100; seed++) {
		struct trend tr;
		struct rng r;
		struct trend_fit f;
		double noise = seed == 1 ? 0 : 32 * KIB;

		rng_seed(&r, seed);
		trend_init(&tr);
		for (i = 0; i < 2 * TREND_WINDOW; i++) {
			add(&tr, T0 + i,
			    256 * MIB - 16 * KIB * i + rng_sym(&r, noise));
			assert_false(fit_of(&tr).suspect);
		}
		f = fit_of(&tr);
		assert_near(f.value_per_s, -16 * KIB, 1.6 * KIB);
		assert_true(f.tau < 0);
		assert_int_equal(f.verdict, TREND_NOT_RISING);
	}
}

static void test_irregular_times(void **state)
{
	unsigned int seed, i;

	(void)state;
	for (seed = 1; seed <= 100; seed++) {
		struct trend exact, noisy;
		struct trend_fit f;
		struct rng r;
		double t = T0;

		rng_seed(&r, seed);
		trend_init(&exact);
		trend_init(&noisy);
		for (i = 0; i < TREND_WINDOW + 13; i++) {
			/* late and early wake-ups around a 1 s interval */
			t += 0.2 + 1.6 * rng_unit(&r);
			add(&exact, t, 777 * (t - T0));
			add(&noisy, t,
			    5 * KIB * (t - T0) + rng_sym(&r, 10 * KIB));
		}
		f = fit_of(&exact);
		assert_near(f.value_per_s, 777, 1e-9);
		assert_true(f.suspect);
		f = fit_of(&noisy);
		assert_near(f.value_per_s, 5 * KIB, 0.5 * KIB);
		assert_true(f.suspect);
	}
}

/* Thread sites: small integers, one leaked thread every 5 s. */
static void test_thread_staircase(void **state)
{
	struct trend tr;
	struct trend_fit f;
	unsigned int i;

	(void)state;
	trend_init(&tr);
	for (i = 0; i < TREND_WINDOW; i++) {
		double live = 4 + i / 5;

		assert_true(trend_add(&tr, T0 + i, live, live));
	}
	f = fit_of(&tr);
	assert_near(f.value_per_s, 0.2, 0.01);
	assert_true(f.suspect);

	/* a pool of 8 worker threads that come and go is not */
	trend_init(&tr);
	for (i = 0; i < TREND_WINDOW; i++) {
		double live = 4 + (i * 7 % 9);

		assert_true(trend_add(&tr, T0 + i, live, live));
		assert_false(fit_of(&tr).suspect);
	}
}

/* One block grown by realloc: the rate shows, the verdict needs blocks. */
static void test_single_block_growth(void **state)
{
	struct trend tr;
	struct trend_fit f;
	unsigned int i;

	(void)state;
	trend_init(&tr);
	for (i = 0; i < TREND_WINDOW; i++)
		assert_true(trend_add(&tr, T0 + i, 4096.0 * (i + 1), 1));
	f = fit_of(&tr);
	assert_near(f.value_per_s, 4096, 1e-9);
	/* one allocation, but growing without bound: a leak */
	assert_true(f.suspect);
}

/*
 * --sample: a steady rise of 12 samples, 20 KiB in all, is a leak of an
 * exact site; an estimate whose error is 64 KiB x sqrt(9 + 1) needs
 * TREND_NOISE_SIGMAS of those (~1 MiB) before it is one.
 */
static void test_sampled_growth_within_noise(void **state)
{
	struct trend tr;
	struct trend_fit f;
	unsigned int i;

	(void)state;
	trend_init(&tr);
	for (i = 0; i < TREND_MIN_SAMPLES; i++)
		assert_true(trend_add(&tr, T0 + i, 1 << 20 | i * 2048, i));
	f = fit_of(&tr);
	assert_true(f.suspect);
	tr.noise = TREND_NOISE_SIGMAS * 65536.0 * sqrt(10);
	f = fit_of(&tr);
	assert_false(f.suspect);
	assert_int_equal(f.verdict, TREND_NOISE);
	/* a leak of 10 x the mean per sample clears it by the 12th */
	trend_init(&tr);
	for (i = 0; i < TREND_MIN_SAMPLES; i++)
		assert_true(trend_add(&tr, T0 + i, 655360.0 * i, 10 * i));
	tr.noise = TREND_NOISE_SIGMAS * 65536.0 * sqrt(10 * i + 1);
	f = fit_of(&tr);
	assert_true(f.suspect);
}

/* One more thread over the window is no thread leak. */
static void test_growth_below_minimum(void **state)
{
	struct trend tr;
	struct trend_fit f;
	unsigned int i;

	(void)state;
	trend_init(&tr);
	for (i = 0; i < TREND_WINDOW; i++)
		assert_true(trend_add(&tr, T0 + i, 10 + i / (double)TREND_WINDOW,
				      1));
	f = fit_of(&tr);
	assert_true(f.value_per_s > 0);
	assert_false(f.suspect);
	assert_int_equal(f.verdict, TREND_TOO_SMALL);
}

/* The textbook tie-corrected Mann-Kendall, spelled out the slow way. */
static double reference_z(const double *y, unsigned int n, double *tau)
{
	double var = n * (n - 1.0) * (2 * n + 5);
	long s = 0;
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		unsigned int t = 0, first = 1;

		for (j = 0; j < n; j++) {
			if (j > i)
				s += y[j] > y[i] ? 1 : y[j] < y[i] ? -1 : 0;
			if (y[j] == y[i]) {
				first &= j >= i;
				t++;
			}
		}
		if (first)
			var -= t * (t - 1.0) * (2 * t + 5);
	}
	*tau = s / (n * (n - 1) / 2.0);
	if (!s)
		return 0;
	return (s > 0 ? s - 1 : s + 1) / sqrt(var / 18);
}

static void test_mann_kendall_ties(void **state)
{
	unsigned int seed, i;

	(void)state;
	for (seed = 1; seed <= 200; seed++) {
		double y[TREND_WINDOW], tau;
		struct trend tr;
		struct trend_fit f;
		struct rng r;

		rng_seed(&r, seed);
		trend_init(&tr);
		for (i = 0; i < TREND_WINDOW; i++) {
			/* few distinct values, so big tie groups */
			y[i] = floor(rng_unit(&r) * (2 + seed % 7)) + i / 20;
			assert_true(trend_add(&tr, T0 + i, y[i], y[i]));
		}
		f = fit_of(&tr);
		assert_near(f.z, reference_z(y, TREND_WINDOW, &tau), 1e-9);
		assert_near(f.tau, tau, 1e-12);
	}
}

static void test_ring_order(void **state)
{
	struct trend tr;
	unsigned int i, total = 2 * TREND_WINDOW + 7;

	(void)state;
	trend_init(&tr);
	for (i = 0; i < total; i++)
		add(&tr, T0 + 10 + i, i);
	assert_int_equal(trend_len(&tr), TREND_WINDOW);
	assert_int_equal(tr.total, total);
	assert_near(tr.first_t, T0 + 10, 0);
	for (i = 0; i < TREND_WINDOW; i++)
		assert_near(trend_at(&tr, i)->value, total - TREND_WINDOW + i,
			    0);
	assert_null(trend_at(&tr, TREND_WINDOW));
}

static void test_rejects_bad_samples(void **state)
{
	struct trend tr;

	(void)state;
	trend_init(&tr);
	assert_false(trend_add(&tr, NAN, 1, 1));
	assert_false(trend_add(&tr, T0, INFINITY, 1));
	assert_int_equal(trend_len(&tr), 0);
	assert_true(trend_add(&tr, T0, 1, 1));
	assert_false(trend_add(&tr, T0, 2, 2));
	assert_false(trend_add(&tr, T0 - 1, 2, 2));
	assert_false(trend_add(&tr, T0 + 1, 2, NAN));
	assert_int_equal(trend_len(&tr), 1);
	assert_int_equal(tr.total, 1);
	assert_near(trend_at(&tr, 0)->value, 1, 0);
}

/* The contract text must quote the numbers the code uses, and stay short. */
static void test_rule_help(void **state)
{
	const char *help = TREND_RULE_HELP, *p;
	unsigned int lines = 0;

	(void)state;
	assert_non_null(
		strstr(help, "last " TREND_STR(TREND_WINDOW) " samples"));
	assert_non_null(strstr(help, "z >= " TREND_STR(TREND_MIN_Z)));
	/* the prose says "half" for these two */
	assert_true(TREND_MIN_PACE == 0.5 && TREND_MAX_GIVEBACK == 0.5);
	for (p = help; (p = strchr(p, '\n')); p++)
		lines++;
	assert_non_null(strstr(help, TREND_STR(TREND_NOISE_SIGMAS) " x the "
					   "estimate's error\n"));
	assert_in_range(lines, 2, 6);
	assert_true(strlen(help) <= 80 * lines);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_linear),
		cmocka_unit_test(test_noisy_linear),
		cmocka_unit_test(test_sawtooth_churn),
		cmocka_unit_test(test_triangle_churn),
		cmocka_unit_test(test_stable_noise),
		cmocka_unit_test(test_step_then_flat),
		cmocka_unit_test(test_leak_then_stop),
		cmocka_unit_test(test_too_few_samples),
		cmocka_unit_test(test_slow_leak_heavy_noise),
		cmocka_unit_test(test_leak_under_churn),
		cmocka_unit_test(test_decreasing),
		cmocka_unit_test(test_irregular_times),
		cmocka_unit_test(test_thread_staircase),
		cmocka_unit_test(test_single_block_growth),
		cmocka_unit_test(test_growth_below_minimum),
		cmocka_unit_test(test_mann_kendall_ties),
		cmocka_unit_test(test_ring_order),
		cmocka_unit_test(test_rejects_bad_samples),
		cmocka_unit_test(test_sampled_growth_within_noise),
		cmocka_unit_test(test_rule_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
