// SPDX-License-Identifier: GPL-2.0
/*
 * The Go heap stage: see goheap.h. Sites are keyed by their stack (the
 * physical frames of a bucket's pcs), tagged apart from the probes' site
 * indices and the goroutine groups.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include "elfsym.h"
#include "gopclntab.h"
#include "goheap.h"
#include "gosample.h"
#include "util.h"

#define GOHEAP_ID  (1ull << 61)
#define MAX_INLINE 16

const char *goheap_mode_name(enum lw_goheap_mode mode)
{
	switch (mode) {
	case LW_GOHEAP_PROFILE:
		return "profile";
	case LW_GOHEAP_SAMPLE:
		return "sample";
	default:
		return "off";
	}
}

static int read_rate(struct lw_goheap *h, int64_t *rate)
{
	return goprof_rate(&h->prof, rate);
}

/* The linker's byte, from the file's data (0 when it is in .bss). */
static bool profile_disabled(const char *exe, uint64_t vaddr)
{
	struct elf_obj *o = elf_obj_open(exe);
	struct elf_func f;
	uint8_t b = 0;

	if (o && vaddr && elf_obj_func_at(o, vaddr, 1, &f))
		elf_obj_read(o, &f, &b, 1);
	elf_obj_close(o);
	return b != 0;
}

/* The probe reads the head of an mspan: every field it uses is there. */
static bool span_head_ok(const struct go_heap_layout *l)
{
	const uint32_t off[] = { l->sp_startaddr,  l->sp_nelems,
				 l->sp_elemsize,   l->sp_freeindex,
				 l->sp_alloccache, l->sp_alloccount,
				 l->sp_sweepgen,   l->sp_allocbits };
	unsigned i;

	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		if (off[i] > LW_GO_SPAN_HEAD - 8)
			return false;
	return true;
}

enum lw_goheap_mode goheap_choose(const char *exe, const struct go_layout *gl,
				  int want, struct go_heap_layout *l,
				  const char **why)
{
	int err;
	bool sampler;

	*why = NULL;
	if (want == LW_GOHEAP_OFF) {
		return LW_GOHEAP_OFF; /* asked for: nothing to say */
	}
	err = goheap_layout(exe, gl, l);
	if (err) {
		*why = err == -ENOTSUP ? "the runtime's heap layout of this Go "
					 "version is unknown"
				       : "the executable cannot be read";
		return LW_GOHEAP_OFF;
	}
	if (!l->memprofilerate) {
		*why = "runtime.MemProfileRate not found";
		return LW_GOHEAP_OFF;
	}
	sampler = l->mheap && l->sp_elemsize && l->span_size && span_head_ok(l);
	if (want == LW_GOHEAP_SAMPLE ||
	    (want < 0 &&
	     (!l->mbuckets || profile_disabled(exe, l->disable_memprof)))) {
		if (sampler)
			return LW_GOHEAP_SAMPLE;
		*why = "its memory profile is off, and the span layout of "
		       "this runtime is not known (no sampling)";
		return LW_GOHEAP_OFF;
	}
	if (!l->mbuckets || profile_disabled(exe, l->disable_memprof)) {
		*why = "--go-heap profile, and the linker disabled the "
		       "program's memory profile";
		return LW_GOHEAP_OFF;
	}
	return LW_GOHEAP_PROFILE;
}

struct lw_go_span goheap_span_offsets(const struct go_heap_layout *l,
				      enum lw_goheap_mode mode)
{
	if (mode != LW_GOHEAP_SAMPLE)
		return (struct lw_go_span){ 0 };
	return (struct lw_go_span){
		.startaddr = l->sp_startaddr,
		.nelems = l->sp_nelems,
		.elemsize = l->sp_elemsize,
		.freeindex = l->sp_freeindex,
		.alloccache = l->sp_alloccache,
		.alloccount = l->sp_alloccount,
		.sweepgen = l->sp_sweepgen,
		.allocbits = l->sp_allocbits,
		.nelems_size = (__u8)l->sp_nelems_size,
		.freeindex_size = (__u8)l->sp_freeindex_size,
	};
}

void goheap_init(struct lw_goheap *h, pid_t pid, uint64_t bias,
		 const struct go_heap_layout *l, enum lw_goheap_mode mode,
		 const char *why, const char *exe, int samples_fd, int spans_fd,
		 int stacks_fd)
{
	memset(h, 0, sizeof(*h));
	h->pid = pid;
	h->bias = bias;
	h->l = *l;
	h->mode = mode;
	h->why_off = why;
	h->samples_fd = samples_fd;
	h->spans_fd = spans_fd;
	h->stacks_fd = stacks_fd;
	h->tot = (struct lw_goheap_totals){ .gc_cycles = -1,
					    .heap_marked = -1,
					    .heap_inuse = -1,
					    .objects = -1 };
	h->last_err = 1;
	goprof_init(&h->prof, pid, bias, &h->l);
	/* stacks are folded into physical frames: without the table the
	 * runtime's logical frames are kept as they are */
	h->pcln = gopclntab_open(exe);
	if (mode == LW_GOHEAP_SAMPLE)
		h->tot.rate = LW_GO_SAMPLE_MEAN;
}

void goheap_free(struct lw_goheap *h)
{
	goprof_free(&h->prof);
	if (h->pcln)
		gopclntab_close(h->pcln);
	free(h->bsite);
	memset(h, 0, sizeof(*h));
}

/* ---- stacks ---- */

/*
 * The runtime records logical frames: a pc for each inlined call as well
 * (the inline tree's parent pc + 1). The views expand inlining
 * themselves, so keep one pc per physical frame: after a pc whose lookup
 * finds d inlined frames, the next d pcs of the same function are its
 * expansion. Frame 0 is looked up as is by the views: it becomes the
 * call instruction (pc - 1).
 */
static int physical(struct lw_goheap *h, const uint64_t *pcs, uint32_t n,
		    uint64_t *out)
{
	struct lw_frame fr[MAX_INLINE], fj[MAX_INLINE];
	uint32_t i = 0;
	int k = 0, d, m, skip;

	while (i < n && k < LW_MAX_STACK_DEPTH) {
		out[k++] = pcs[i];
		d = h->pcln ? gopclntab_resolve(h->pcln, pcs[i] - h->bias, true,
						fr, MAX_INLINE)
			    : 0;
		i++;
		for (skip = d - 1; skip > 0 && i < n; skip--, i++) {
			m = gopclntab_resolve(h->pcln, pcs[i] - h->bias, true,
					      fj, MAX_INLINE);
			if (m < 1 || fj[m - 1].symbol != fr[d - 1].symbol)
				break;
		}
	}
	if (k)
		out[0]--;
	return k;
}

static uint64_t stack_id(const uint64_t *ips, int n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	int i;

	for (i = 0; i < n; i++)
		h = (h ^ ips[i]) * 0x100000001b3ull;
	return GOHEAP_ID | (h & (GOHEAP_ID - 1));
}

static uint64_t *bsite_slot(struct lw_goheap *h, uint64_t addr)
{
	size_t j = (addr * 0x9e3779b97f4a7c15ull >> 20) & (h->bsite_cap - 1);

	while (h->bsite[j][0] && h->bsite[j][0] != addr)
		j = (j + 1) & (h->bsite_cap - 1);
	return h->bsite[j];
}

static int bsite_grow(struct lw_goheap *h)
{
	uint64_t(*old)[2] = h->bsite;
	size_t cap = h->bsite_cap, i;
	uint64_t *e;

	h->bsite_cap = cap ? 2 * cap : 1024;
	h->bsite = calloc(h->bsite_cap, sizeof(*h->bsite));
	if (!h->bsite) {
		h->bsite = old;
		h->bsite_cap = cap;
		return -ENOMEM;
	}
	for (i = 0; i < cap; i++) {
		if (!old[i][0])
			continue;
		e = bsite_slot(h, old[i][0]);
		e[0] = old[i][0];
		e[1] = old[i][1];
	}
	free(old);
	return 0;
}

bool goheap_known_site(struct lw_goheap *h, struct lw_model *m, uint64_t key,
		       struct lw_site **out)
{
	uint64_t *e;

	*out = NULL;
	if (2 * (h->bsite_n + 1) > h->bsite_cap && bsite_grow(h))
		return true; /* no room: the caller gets no site */
	e = bsite_slot(h, key);
	if (!e[0])
		return false;
	*out = model_find(m, e[1]);
	return true;
}

struct lw_site *goheap_new_site(struct lw_goheap *h, struct lw_model *m,
				uint64_t key, const uint64_t *ips, int n)
{
	uint64_t *e = bsite_slot(h, key);
	struct lw_site *s;

	e[0] = key;
	e[1] = stack_id(ips, n);
	h->bsite_n++;
	s = model_site(m, e[1]);
	if (!s->stack_read) {
		s->kind = LW_KIND_HEAP;
		s->go_heap = true;
		s->epoch = m->epoch;
		model_set_stack(s, ips, n);
		s->stack_read = true;
	}
	return s;
}

/* The site of a bucket: made once, when the bucket is first seen. */
static struct lw_site *bucket_site(struct lw_goheap *h, struct lw_model *m,
				   const struct goprof_rec *r)
{
	uint64_t ips[LW_MAX_STACK_DEPTH];
	struct lw_site *s;

	if (goheap_known_site(h, m, r->addr, &s))
		return s;
	return goheap_new_site(
		h, m, r->addr, ips,
		physical(h, &h->prof.snap.pcs[r->pc], r->nstk, ips));
}

/* ---- the runtime's profile ---- */

/* As pprof unsamples a heap sample: one of avg bytes taken at rate
 * stands for 1 / (1 - e^(-avg/rate)) of them. */
static double unsample(double count, double bytes, double rate)
{
	if (count <= 0 || bytes <= 0 || rate <= 1)
		return 1;
	return 1 / (1 - exp(-(bytes / count) / rate));
}

static void clear_sites(struct lw_model *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->sites[i].go_heap)
			memset(&m->sites[i].k, 0, sizeof(m->sites[i].k));
}

static void fold_rec(struct lw_site *s, const uint64_t *c, double rate)
{
	double live = (double)(c[0] - c[1]), live_b = (double)(c[2] - c[3]);
	double in = unsample(live, live_b, rate);
	double all = unsample((double)c[0], (double)c[2], rate);
	int64_t allocs = llround(c[0] * all), count = llround(live * in);

	s->k.bytes += llround(live_b * in);
	s->k.allocs += allocs;
	s->k.frees += allocs > count ? allocs - count : 0;
}

static int fold_profile(struct lw_goheap *h, struct lw_model *m)
{
	const struct goprof_snap *sn = &h->prof.snap;
	bool published = false;
	struct lw_site *s;
	uint64_t c[4];
	size_t i;
	int err;

	err = read_rate(h, &h->tot.rate);
	if (!err)
		err = goprof_snapshot(&h->prof);
	if (err)
		return err;
	for (i = 0; i < sn->n && !published; i++)
		published = sn->r[i].allocs || sn->r[i].frees;
	clear_sites(m);
	h->tot.sites_bytes = 0;
	for (i = 0; i < sn->n; i++) {
		const struct goprof_rec *r = &sn->r[i];

		/* before the first GC, as MemProfile does: the futures */
		if (published)
			memcpy(c, &r->allocs, sizeof(c));
		else
			memcpy(c, r->future, sizeof(c));
		if (c[1] > c[0] || c[3] > c[2])
			continue;
		s = bucket_site(h, m, r);
		if (!s)
			return -ENOMEM;
		fold_rec(s, c, (double)h->tot.rate);
	}
	for (i = 0; i < m->n; i++) {
		if (!m->sites[i].go_heap)
			continue;
		m->sites[i].value_t = published ? h->published_t : 0;
		h->tot.sites_bytes += m->sites[i].k.bytes;
	}
	return 0;
}

/* ---- the runtime's totals ---- */

/*
 * memstats.pause_end[256] (unix ns of each GC's end, by cycle number mod
 * 256) lies right before numgc in runtime.mstats, in every checked
 * version.
 */
#define PAUSE_END_BEFORE_NUMGC (256 * 8)

/* When GC number k (1-based) ended, in our monotonic seconds; 0 if not
 * known. */
static double gc_end(struct lw_goheap *h, uint32_t k, double now)
{
	uint64_t unix_ns, addr = h->l.numgc + h->bias - PAUSE_END_BEFORE_NUMGC;
	struct timespec rt;

	if (!k ||
	    goinfo_read(h->pid, addr + ((k - 1) % 256) * 8, &unix_ns,
			sizeof(unix_ns)) ||
	    clock_gettime(CLOCK_REALTIME, &rt))
		return 0;
	return now - (rt.tv_sec + rt.tv_nsec / 1e9 - unix_ns / 1e9);
}

#define MAX_SPANS (1u << 20) /* more: the totals of spans are not read */
#define SPAN_IOVS 3	     /* state, npages, allocCount */
#define IOV_BATCH (1020 / SPAN_IOVS)

/*
 * Heap in use and objects as the runtime counts them (HeapInuse,
 * HeapObjects): the pages and allocated objects of the in-use spans of
 * mheap_.allspans, a few words of each read in batches.
 */
static void read_span_totals(struct lw_goheap *h)
{
	const struct go_heap_layout *l = &h->l;
	struct iovec loc[IOV_BATCH * SPAN_IOVS], rem[IOV_BATCH * SPAN_IOVS];
	struct {
		uint8_t state;
		uint64_t npages;
		uint16_t count;
	} v[IOV_BATCH];
	uint64_t slice[2], *ptrs = NULL;
	int64_t inuse = 0, objects = 0;
	size_t i, k, n;
	ssize_t got;

	if (!l->mheap ||
	    goinfo_read(h->pid, l->mheap + h->bias + l->mh_allspans, slice,
			sizeof(slice)) ||
	    !slice[1] || slice[1] > MAX_SPANS)
		return;
	ptrs = malloc(slice[1] * sizeof(*ptrs));
	if (!ptrs ||
	    goinfo_read(h->pid, slice[0], ptrs, slice[1] * sizeof(*ptrs)))
		goto out;
	for (i = 0; i < slice[1]; i += n) {
		n = slice[1] - i < IOV_BATCH ? slice[1] - i : IOV_BATCH;
		for (k = 0; k < n; k++) {
			struct iovec *lo = &loc[k * SPAN_IOVS];
			struct iovec *re = &rem[k * SPAN_IOVS];
			uint64_t sp = ptrs[i + k];

			v[k].state = 0;
			lo[0] = (struct iovec){ &v[k].state, 1 };
			lo[1] = (struct iovec){ &v[k].npages, 8 };
			lo[2] = (struct iovec){ &v[k].count, 2 };
			re[0] = (struct iovec){ (void *)(sp + l->sp_state), 1 };
			re[1] = (struct iovec){ (void *)(sp + l->sp_npages),
						8 };
			re[2] = (struct iovec){ (void *)(sp + l->sp_alloccount),
						2 };
		}
		got = process_vm_readv(h->pid, loc, n * SPAN_IOVS, rem,
				       n * SPAN_IOVS, 0);
		if (got != (ssize_t)(n * 11))
			goto out; /* a span we could not read: no totals */
		for (k = 0; k < n; k++) {
			if (v[k].state != GO_SPAN_IN_USE)
				continue;
			inuse += (int64_t)(v[k].npages << GO_PAGE_SHIFT);
			objects += v[k].count;
		}
	}
	h->tot.heap_inuse = inuse;
	h->tot.objects = objects;
out:
	free(ptrs);
}

static void read_totals(struct lw_goheap *h, double now)
{
	uint32_t numgc;
	uint64_t marked;

	h->published_t = 0;
	if (h->l.numgc &&
	    !goinfo_read(h->pid, h->l.numgc + h->bias, &numgc, sizeof(numgc))) {
		h->tot.gc_cycles = numgc;
		/* both mechanisms show the heap as of the GC before last:
		 * the runtime's published cycle, the samples it judged */
		h->published_t = numgc >= 2 ? gc_end(h, numgc - 1, now) : 0;
	}
	if (h->l.heap_marked && !goinfo_read(h->pid, h->l.heap_marked + h->bias,
					     &marked, sizeof(marked)))
		h->tot.heap_marked = (int64_t)marked;
	read_span_totals(h);
}

/*
 * A cgo program's runtime maps its heap arenas and stacks through libc's
 * mmap (runtime.callCgoMmap): the mmap probes see them as mappings of
 * the program. The Go heap sites already show that memory: those
 * mappings are kept out of the ranking and counted apart.
 */
static void runtime_maps(struct lw_goheap *h, struct lw_model *m)
{
	struct lw_frame fr[MAX_INLINE];
	struct lw_site *s;
	size_t i;
	int k, n;

	h->tot.runtime_maps = 0;
	for (i = 0; i < m->n; i++) {
		s = &m->sites[i];
		if (s->kind != LW_KIND_HEAP || s->go_heap || !s->map_allocs)
			continue;
		for (k = 0; !s->classified && k < s->depth && h->pcln; k++) {
			n = gopclntab_resolve(h->pcln, s->ips[k] - h->bias,
					      k > 0, fr, MAX_INLINE);
			if (n >= 1 && fr[n - 1].symbol &&
			    !strcmp(fr[n - 1].symbol, "runtime.callCgoMmap"))
				s->shadowed = true;
		}
		s->classified = s->stack_read;
		if (s->shadowed)
			h->tot.runtime_maps += s->map_bytes;
	}
}

int goheap_update(struct lw_goheap *h, struct lw_model *m, double now)
{
	int err = 0;

	runtime_maps(h, m);
	if (h->mode == LW_GOHEAP_OFF) {
		if (!h->updates++ && h->why_off)
			lw_warn("Go heap of %d is not shown: %s", h->pid,
				h->why_off);
		return 0;
	}
	read_totals(h, now);
	if (h->mode == LW_GOHEAP_PROFILE)
		err = fold_profile(h, m);
	else
		err = gosample_update(h, m);
	if (err && err != h->last_err && err != -ESRCH)
		lw_warn("Go heap profile of %d: %s%s", h->pid, strerror(-err),
			err == -EAGAIN ? " (the runtime kept changing it "
					 "while read: the last view stands)"
				       : "");
	h->last_err = err;
	h->updates++;
	return err;
}
