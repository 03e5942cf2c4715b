/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_MODEL_H
#define LW_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "drain.h"
#include "leakwatch.h"
#include "regions.h"
#include "trend.h"

struct lw_fd_types;

#define LW_MAX_BLOCKED 16 /* distinct (reason, pc) groups kept per site */

/* Goroutines (threads) of a site parked for one reason (in one state) at
 * one place. */
struct lw_blocked {
	const char *reason;
	uint32_t count;
	int depth;
	uint64_t pcs[LW_MAX_STACK_DEPTH]; /* pcs[0] is where it parked */
};

/*
 * One call site: a captured stack. Its outstanding totals come from the
 * kernel's aggregate (malloc family) plus the user-space mapping tracker
 * (mmap family); its history feeds the trend model.
 */
struct lw_site {
	enum lw_site_kind kind;
	bool go_heap;	  /* heap: the Go runtime's heap, not malloc's */
	bool sampled;	  /* --sample: bytes, count are estimates */
	int32_t samples;  /* --sample: its live samples */
	int64_t go_freed; /* Go heap samples: objects found freed */
	double value_t;	  /* > 0: when its value was true (the Go runtime's
			     profile is as of a GC), else at the update */
	uint64_t start;	  /* goroutines: pc of the start function */
	uint64_t stack;	  /* the site index */
	uint32_t epoch; /* the exec epoch of the program image it belongs to */
	struct lw_site_val k; /* last kernel aggregate */
	int64_t map_bytes, map_count;
	uint64_t map_allocs, map_frees;
	int32_t lo_gen[LW_NGEN]; /* oldest generation a slot may hold */
	uint64_t *ips; /* depth frames (model_set_stack), innermost first */
	int depth;     /* < 0: stack not readable */
	bool stack_read;
	struct trend trend;
	struct trend_fit fit;
	struct lw_blocked *blocked; /* goroutines: from the last scan */
	int nblocked;
	int64_t scanned; /* goroutines: live count from the last scan, or -1 */
	bool shadowed;	 /* goroutines: counted in a creation site instead;
			    cgo: the Go runtime's own mappings (its heap) */
	bool classified; /* mmap sites of a Go program: looked at once */
	uint64_t thread_bytes;	      /* threads: their stack mappings */
	char label[48];		      /* a site without a stack: what it is */
	struct lw_fd_types *fd_types; /* descriptors: what they are */
	double oldest_age_s;	      /* < 0: nothing outstanding */
};

struct lw_model {
	struct lw_site *sites;
	size_t n, cap;
	uint32_t *index; /* open addressing: 1-based site index, 0 empty */
	size_t index_cap;
	double t0;	   /* monotonic seconds at attach */
	double *gen_start; /* monotonic seconds each generation began */
	size_t ngen, gen_cap;
	uint32_t epoch; /* the target's execs: sites of older images are gone */
	uint64_t counters[LW_CNT_MAX];
	struct lw_regions regions;	 /* the program's anonymous mappings */
	unsigned long long sample_bytes; /* --sample: the mean, 0: exact */
};

int model_init(struct lw_model *m, double t0);
/* The target exec'd: forget the sites of its previous program image. */
void model_set_epoch(struct lw_model *m, uint32_t epoch);
void model_free(struct lw_model *m);
/* Forgets where goroutines were blocked, before a new scan says. */
void model_clear_blocked(struct lw_model *m);
/*
 * Counts one more goroutine or thread of s blocked for reason at pc, in
 * its group. *fresh: the group is new, its stack (pcs[0] = pc, depth 1)
 * the caller's to fill. NULL when s holds LW_MAX_BLOCKED groups already.
 */
struct lw_blocked *model_blocked(struct lw_site *s, const char *reason,
				 uint64_t pc, bool *fresh);
/* Starts generation gen at time t; returns its number. */
uint32_t model_next_gen(struct lw_model *m, double t);
/* Folds a drain taken at time t, while generation cur was current. */
void model_update(struct lw_model *m, const struct lw_drained_site *d, size_t n,
		  double t);
/* Mapping tracker callback (regions_delta_fn). */
void model_map_delta(void *ctx, uint64_t stack, int64_t dbytes, int dcount);
/* The site with this id, created when new: pointers to sites held
 * across this call may move. */
struct lw_site *model_site(struct lw_model *m, uint64_t stack);
/* The site with this id, or NULL: never creates one. */
struct lw_site *model_find(struct lw_model *m, uint64_t stack);
/* A site's frames, copied (depth < 0: not readable). A site keeps room
 * for its own frames only: 50,000 sites are many. */
void model_set_stack(struct lw_site *s, const uint64_t *ips, int depth);

static inline int64_t site_bytes(const struct lw_site *s)
{
	if (s->kind == LW_KIND_THREAD)
		return s->thread_bytes;
	return s->k.bytes + s->map_bytes;
}

/* A scan of the runtime's goroutines, when there is one, is the truth:
 * it sees goroutines born before attach and heals lost events. */
static inline int64_t site_count(const struct lw_site *s)
{
	/* descriptors: what the last reconcile found open, nothing else */
	if (s->kind == LW_KIND_FD)
		return s->scanned > 0 ? s->scanned : 0;
	if (s->kind != LW_KIND_HEAP && s->scanned >= 0)
		return s->scanned;
	return (int64_t)(s->k.allocs - s->k.frees) + s->map_count;
}

/* Which allocator made a heap site's memory (as the views name it). */
static inline const char *site_source(const struct lw_site *s)
{
	if (s->go_heap)
		return "go";
	if (s->map_allocs && s->k.allocs)
		return "malloc+mmap";
	return s->map_allocs ? "mmap" : "malloc";
}

/* What the trend follows: bytes for heap sites, the live count else. */
static inline double site_value(const struct lw_site *s)
{
	return s->kind == LW_KIND_HEAP ? (double)site_bytes(s)
				       : (double)site_count(s);
}

/* Sites with something outstanding, by kind (heap first), then by growth
 * (bytes/s, or live goroutines/s) and size. */
size_t model_ranked(struct lw_model *m, struct lw_site ***out);

#endif
