/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Growth-trend model: one bounded time series per call site, and the rule
 * that turns it into a leak suspect. The rule is a user-facing contract
 * (README, --help): change TREND_RULE_HELP together with the thresholds.
 */
#ifndef LW_TREND_H
#define LW_TREND_H

#include <stdbool.h>

/*
 * 60 samples are 5 minutes at the default 5 s interval. The window bounds
 * what can be told from churn: a leak shows once its growth over the
 * window is twice the swing of the level around it, so a longer window
 * finds slower leaks but takes longer to forget a stopped one.
 */
#define TREND_WINDOW 60
/* One minute at the default interval; see TREND_MIN_Z. */
#define TREND_MIN_SAMPLES 12
/*
 * Mann-Kendall z for a rising trend. Independent noise of any shape
 * reaches 4.4 in fewer than 1 in 100,000 windows; a perfectly steady rise
 * reaches it at 12 samples, and at a full window it means tau >= ~0.4.
 */
#define TREND_MIN_Z 4.4
/* Each third of the window must rise at least this share of the fit. */
#define TREND_MIN_PACE 0.5
/* A fall larger than this share of the net growth means churn. */
#define TREND_MAX_GIVEBACK 0.5
/*
 * Net growth over the window, in the value's unit: trivially met by bytes,
 * it keeps a single thread or goroutine from being a leak. A block grown
 * by realloc is one allocation, yet unbounded growth all the same.
 */
#define TREND_MIN_GROWTH 2
/*
 * --sample: a site's value is an estimate, off by about mean * sqrt(n)
 * for n live samples (each small sample stands for ~mean bytes, and
 * their number is Poisson). Its growth must exceed this many of those
 * errors, or a churn site's estimate drifting could pass for a leak
 * (test_sample_noise: pools of wandering estimates reached 3.2 of them
 * in 60 runs). A leak of 10 * mean per interval clears 5 by the 12th
 * sample (~110 * mean grown against 5 * mean * sqrt(111) ~ 53 * mean).
 */
#define TREND_NOISE_SIGMAS 5

#define TREND_STR_(x) #x
#define TREND_STR(x)  TREND_STR_(x)

/* The rule as --help and the README state it; the numbers are the code's. */
/* clang-format off */
#define TREND_RULE_HELP \
	"Leak suspect: over its last " TREND_STR(TREND_WINDOW) " samples (at " \
	"least " TREND_STR(TREND_MIN_SAMPLES) ") a site's value rises\n" \
	"significantly (Mann-Kendall z >= " TREND_STR(TREND_MIN_Z) "), keeps " \
	"half its fitted pace in each third\n" \
	"of the window, grows by " TREND_STR(TREND_MIN_GROWTH) "+ (bytes, " \
	"threads, goroutines) and never gives back\n" \
	"half its growth. Memory freed again in the window (churn) is never " \
	"flagged.\n" \
	"Sampled (--sample): the growth must also exceed " \
	TREND_STR(TREND_NOISE_SIGMAS) " x the estimate's error\n" \
	"(mean bytes x sqrt(live samples)).\n"
/* clang-format on */

/* What follows from the rule, for the README. */
#define TREND_LIMITS_HELP                                                      \
	"A leak shows once its growth over the window is twice the swing of "  \
	"the churn\naround it. Churn cycles longer than the window look like " \
	"growth until freed.\n"

struct trend_sample {
	double t;     /* seconds, any epoch, strictly increasing */
	double value; /* bytes, or live threads/goroutines */
	double count; /* outstanding allocations */
};

struct trend {
	struct trend_sample s[TREND_WINDOW];
	unsigned int head;   /* slot the next sample goes to */
	unsigned int n;	     /* samples held, at most TREND_WINDOW */
	unsigned long total; /* samples ever accepted */
	double first_t;	     /* time of the first sample ever accepted */
	double noise; /* growth needed to tell from sampling error, or 0 */
};

/* Why a site is or is not a suspect, first failing check wins. */
enum trend_verdict {
	TREND_SUSPECT,
	TREND_FEW_SAMPLES,
	TREND_NOT_RISING, /* slope <= 0 */
	TREND_CHURN, /* fell back by more than TREND_MAX_GIVEBACK of growth */
	TREND_NOT_SIGNIFICANT, /* z below TREND_MIN_Z */
	TREND_STALLED,	       /* a later third did not keep the pace */
	TREND_TOO_SMALL,       /* grew by less than TREND_MIN_GROWTH */
	TREND_NOISE,	       /* grew by less than the sampling error */
};

struct trend_fit {
	double value_per_s; /* least-squares slope, 0 below 2 samples */
	double count_per_s;
	double r2;	 /* of the value fit, for display; 0 for a constant */
	double tau;	 /* Kendall tau-a of value against time, in [-1, 1] */
	double z;	 /* Mann-Kendall trend statistic, ~N(0,1) for noise */
	double span;	 /* seconds from the oldest to the newest sample */
	double growth;	 /* value_per_s * span, capped at max - min */
	double drawdown; /* largest fall from an earlier high */
	unsigned int samples;
	enum trend_verdict verdict;
	bool suspect;
};

void trend_init(struct trend *tr);
/* False, and nothing stored, unless finite and later than the last one. */
bool trend_add(struct trend *tr, double t, double value, double count);
void trend_fit(const struct trend *tr, struct trend_fit *fit);
const char *trend_verdict_str(enum trend_verdict v);

/* Oldest first, i < trend_len(). */
unsigned int trend_len(const struct trend *tr);
const struct trend_sample *trend_at(const struct trend *tr, unsigned int i);

#endif
