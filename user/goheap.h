/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Go heap of an unmodified Go program, by allocation stack: in-use
 * bytes and objects per site, folded into the process's model as heap
 * sites of source "go", beside the runtime's own totals.
 *
 * Two mechanisms, chosen per process:
 *  - profile: the program's memory profile is live (MemProfileRate > 0,
 *    as in anything importing runtime/pprof): its buckets are read from
 *    outside (goprof.h), no probe, no cost to the program;
 *  - sample: the linker disabled the profile: the runtime's slow paths
 *    (a span refilled, a large object) are sampled by probes, each sample
 *    an object whose liveness is read from the span state (gospan.h).
 */
#ifndef LW_GOHEAP_H
#define LW_GOHEAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "goheap_layout.h"
#include "goinfo.h"
#include "goprof.h"
#include "model.h"

struct gopclntab;

enum lw_goheap_mode {
	LW_GOHEAP_OFF,	   /* not Go, or the layout is unknown */
	LW_GOHEAP_PROFILE, /* the runtime's own profile */
	LW_GOHEAP_SAMPLE,  /* probes on the slow paths */
};

/* The runtime's own figures, read each report (-1: not known). */
struct lw_goheap_totals {
	int64_t gc_cycles;    /* memstats.numgc */
	int64_t heap_marked;  /* live heap at the end of the last GC */
	int64_t heap_inuse;   /* bytes of in-use spans */
	int64_t objects;      /* allocated objects of in-use spans */
	int64_t sites_bytes;  /* the sum of the sites (in-use, scaled) */
	int64_t rate;	      /* MemProfileRate (profile) or sampling mean */
	int64_t runtime_maps; /* cgo: bytes the runtime mapped via libc */
};

struct lw_goheap {
	pid_t pid;
	uint64_t bias;
	enum lw_goheap_mode mode;
	const char *why_off; /* the reason, when off */
	struct go_heap_layout l;
	struct goprof prof;
	struct gopclntab *pcln;
	struct lw_goheap_totals tot;
	/* bucket -> site id, for buckets seen before */
	uint64_t (*bsite)[2];
	size_t bsite_cap, bsite_n;
	uint64_t updates;
	int last_err;	    /* reported once per value */
	double published_t; /* when the profile's published cycle was true */
	int samples_fd, spans_fd, stacks_fd;
	uint32_t samples_epoch; /* the epoch the samples map was pruned to */
	uint64_t sample_frees;	/* samples found freed */
	uint64_t sample_unreadable; /* live samples whose span was unreadable */
	struct goheap_span_cache *spans; /* sample mode: see gospan.c */
};

/*
 * From the executable, before its process runs: the heap layout and the
 * mechanism its process will need (the linker's disableMemoryProfiling
 * is in the file's data). want: a mode the user chose, or -1 (auto).
 * *why: the reason when LW_GOHEAP_OFF.
 */
enum lw_goheap_mode goheap_choose(const char *exe, const struct go_layout *gl,
				  int want, struct go_heap_layout *l,
				  const char **why);
/* The probes' view of the span layout (all 0 unless sampling). */
struct lw_go_span goheap_span_offsets(const struct go_heap_layout *l,
				      enum lw_goheap_mode mode);
/* exe: a path that opens the program's executable; l and mode from
 * goheap_choose; samples_fd: the probes' samples (sample mode). */
void goheap_init(struct lw_goheap *h, pid_t pid, uint64_t bias,
		 const struct go_heap_layout *l, enum lw_goheap_mode mode,
		 const char *why, const char *exe, int samples_fd, int spans_fd,
		 int stacks_fd);
/* Folds the heap's state into m (before model_update). 0 or -errno. */
int goheap_update(struct lw_goheap *h, struct lw_model *m, double now);
const char *goheap_mode_name(enum lw_goheap_mode mode);
/* The site of a stack known by key (a bucket, a probe site): found, or
 * made with the frames ips (physical, frame 0 looked up as is). */
bool goheap_known_site(struct lw_goheap *h, struct lw_model *m, uint64_t key,
		       struct lw_site **out);
struct lw_site *goheap_new_site(struct lw_goheap *h, struct lw_model *m,
				uint64_t key, const uint64_t *ips, int n);
void goheap_free(struct lw_goheap *h);

#endif
