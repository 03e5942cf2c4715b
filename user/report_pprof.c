// SPDX-License-Identifier: GPL-2.0
/*
 * The pprof profile (--pprof): gzipped protobuf (user/profile.proto) that
 * `go tool pprof` reads.
 *
 * One profile holds every kind of site. pprof wants a value of every
 * sample type in every sample, so there are five types and each sample
 * fills those of its kind, leaving the others 0:
 *
 *   inuse_objects/count  inuse_space/bytes   heap sites
 *   goroutine/count                          goroutine sites
 *   thread/count                             thread sites
 *   fd/count                                 descriptor sites
 *
 * inuse_space is the default type, as in Go's heap profiles; choose the
 * others with -sample_index. There is one sample per site (the sites of
 * the JSON report, in its order) whose stack is the site's stack as the
 * JSON report has it: where the memory was allocated, or where the
 * goroutine or thread was created. Labels say the rest:
 *
 *   kind     heap, goroutine, thread or fd
 *   suspect  true or false (the trend rule)
 *   source   heap: malloc, mmap or malloc+mmap
 *   start    goroutine, thread: the function it runs
 *   label    a site without a stack: what it is (also its only frame)
 *   stack_bytes  threads: their stack mappings (numeric, bytes)
 *
 * Locations are program counters (return addresses) in the target, one
 * Line per function at it, inlined callees first; mappings are the
 * target's file mappings with their GNU build IDs. Every location is
 * symbolized already, so pprof never looks for the binaries; a pc without
 * a symbol is named "module+0xoffset", as the text report names it.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include "profile.pb-c.h"
#include "safestr.h"
#include "util.h"
#include "view.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;

enum {
	PP_OBJECTS,
	PP_SPACE,
	PP_GOROUTINES,
	PP_THREADS,
	PP_FDS,
	PP_NTYPES
};

static const char *const type_names[PP_NTYPES][2] = {
	[PP_OBJECTS] = { "inuse_objects", "count" },
	[PP_SPACE] = { "inuse_space", "bytes" },
	[PP_GOROUTINES] = { "goroutine", "count" },
	[PP_THREADS] = { "thread", "count" },
	[PP_FDS] = { "fd", "count" },
};

#define PP_MAX_LABELS 8
/* Stackless sites get a location of their own, keyed apart from pcs. */
#define PP_PSEUDO_KEY (1ULL << 63)

struct pp_sample {
	pb_sample s;
	int64_t val[PP_NTYPES];
	uint64_t loc[LW_MAX_FRAMES];
	pb_label lab[PP_MAX_LABELS];
	pb_label *labp[PP_MAX_LABELS];
};

/* Open addressing from a 64-bit key to a 1-based index (0: empty). */
struct pp_index {
	uint64_t *key;
	uint32_t *val;
	size_t cap, used;
};

struct pp {
	struct lw_view *v;
	pb_profile prof;
	size_t str_cap, map_cap, loc_cap, func_cap;
	struct pp_index strs, maps, locs, funcs;
	pb_value_type types[PP_NTYPES];
	pb_value_type *typep[PP_NTYPES];
	struct pp_sample *samples;
	pb_sample **samplep;
	int64_t comments[3];
	bool oom;
};

static int index_grow(struct pp_index *ix)
{
	size_t cap = ix->cap ? ix->cap * 2 : 256, i, j;
	uint64_t *key = calloc(cap, sizeof(*key));
	uint32_t *val = calloc(cap, sizeof(*val));

	if (!key || !val) {
		free(key);
		free(val);
		return -1;
	}
	for (i = 0; i < ix->cap; i++) {
		if (!ix->val[i])
			continue;
		for (j = lw_mix64(ix->key[i]) & (cap - 1); val[j];
		     j = (j + 1) & (cap - 1))
			;
		key[j] = ix->key[i];
		val[j] = ix->val[i];
	}
	free(ix->key);
	free(ix->val);
	ix->key = key;
	ix->val = val;
	ix->cap = cap;
	return 0;
}

/* The slot of key: its index, or 0 where the caller may store one. */
static uint32_t *index_slot(struct pp *p, struct pp_index *ix, uint64_t key)
{
	size_t i;

	if (2 * (ix->used + 1) > ix->cap && index_grow(ix)) {
		p->oom = true;
		return NULL;
	}
	for (i = lw_mix64(key) & (ix->cap - 1); ix->val[i];
	     i = (i + 1) & (ix->cap - 1))
		if (ix->key[i] == key)
			return &ix->val[i];
	ix->key[i] = key;
	return &ix->val[i];
}

static void index_free(struct pp_index *ix)
{
	free(ix->key);
	free(ix->val);
}

/* The array with room for n + 1 elements: arr, a larger copy, or NULL. */
static void *grow(struct pp *p, void *arr, size_t n, size_t *cap, size_t size)
{
	size_t nc;
	void *nv;

	if (n < *cap)
		return arr;
	nc = *cap ? *cap * 2 : 64;
	nv = realloc(arr, nc * size);
	if (!nv) {
		p->oom = true;
		return NULL;
	}
	*cap = nc;
	return nv;
}

/* The string's index in string_table (0 for NULL, "" or no memory). A
 * hash collision only costs a duplicate entry, which pprof allows. */
static int64_t str_id(struct pp *p, const char *raw)
{
	pb_profile *pr = &p->prof;
	char *dup = NULL, **v;
	const char *s = raw;
	uint32_t *slot;
	int64_t id = 0;

	if (!s || !*s)
		return 0;
	/* protobuf strings are UTF-8, and pprof prints them: escaped
	 * (safestr.h), the table holding and comparing the escaped text */
	if (!lw_safe_clean(raw, 0)) {
		dup = lw_safe_dup(raw, 0);
		if (!dup) {
			p->oom = true;
			return 0;
		}
		s = dup;
	}
	slot = index_slot(p, &p->strs, lw_str_hash(s));
	if (!slot)
		goto out;
	if (*slot && !strcmp(pr->string_table[*slot - 1], s)) {
		id = *slot - 1;
		goto out;
	}
	v = grow(p, pr->string_table, pr->n_string_table, &p->str_cap,
		 sizeof(*v));
	if (!v)
		goto out;
	pr->string_table = v;
	if (!dup)
		dup = strdup(s);
	if (!dup) {
		p->oom = true;
		return 0;
	}
	pr->string_table[pr->n_string_table++] = dup;
	if (!*slot)
		*slot = pr->n_string_table;
	return pr->n_string_table - 1;
out:
	free(dup);
	return id;
}

static uint64_t function_id(struct pp *p, const char *name, const char *file)
{
	int64_t n = str_id(p, name), f = str_id(p, file);
	pb_profile *pr = &p->prof;
	uint32_t *slot = index_slot(p, &p->funcs, (uint64_t)n << 32 | f);
	pb_function *fn, **v;

	if (!slot)
		return 0;
	if (*slot)
		return pr->function[*slot - 1]->id;
	fn = calloc(1, sizeof(*fn));
	v = grow(p, pr->function, pr->n_function, &p->func_cap, sizeof(*v));
	if (!fn || !v) {
		free(fn);
		p->oom = true;
		return 0;
	}
	pr->function = v;
	perftools__profiles__function__init(fn);
	fn->id = pr->n_function + 1;
	/* system_name (the linkage name) stays empty: names come demangled,
	 * and pprof would otherwise shorten C++ ones ("thread" for
	 * "thread<leak_thread()::<lambda()> >"); the reports' names stay. */
	fn->name = n;
	fn->filename = f;
	pr->function[pr->n_function++] = fn;
	*slot = fn->id;
	return fn->id;
}

static void build_id_hex(const struct lw_mapping *m, char *buf, size_t len)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < (size_t)m->build_id_len && 2 * i + 2 < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", m->build_id[i]);
}

/* The mapping holding pc (a return address: its call is at pc - 1). */
static uint64_t mapping_id(struct pp *p, uint64_t pc)
{
	pb_profile *pr = &p->prof;
	struct lw_mapping m;
	pb_mapping *pm, **v;
	uint32_t *slot;
	char bid[130];

	if (!pc || !symbolizer_mapping(p->v->sym, pc - 1, &m))
		return 0;
	slot = index_slot(p, &p->maps, m.start | p->v->salt);
	if (!slot)
		return 0;
	pm = *slot ? pr->mapping[*slot - 1] : NULL;
	if (pm && pm->memory_limit == m.end)
		return pm->id;
	pm = calloc(1, sizeof(*pm));
	v = grow(p, pr->mapping, pr->n_mapping, &p->map_cap, sizeof(*v));
	if (!pm || !v) {
		free(pm);
		p->oom = true;
		return 0;
	}
	pr->mapping = v;
	perftools__profiles__mapping__init(pm);
	build_id_hex(&m, bid, sizeof(bid));
	pm->id = pr->n_mapping + 1;
	pm->memory_start = m.start;
	pm->memory_limit = m.end;
	pm->file_offset = m.pgoff;
	pm->filename = str_id(p, m.module);
	pm->build_id = str_id(p, bid);
	pm->has_functions = true;
	pm->has_filenames = true;
	pm->has_line_numbers = true;
	pm->has_inline_frames = true;
	pr->mapping[pr->n_mapping++] = pm;
	if (!*slot)
		*slot = pm->id;
	return pm->id;
}

static uint64_t frame_function(struct pp *p, const struct lw_frame *f)
{
	char name[512];

	if (f->symbol)
		return function_id(p, f->symbol, f->file);
	symbolizer_format(f, name, sizeof(name));
	return function_id(p, name, NULL);
}

static pb_location *new_location(struct pp *p, int nlines)
{
	pb_location *l = calloc(
		1, sizeof(*l) + nlines * (sizeof(pb_line) + sizeof(pb_line *)));
	pb_profile *pr = &p->prof;
	pb_location **v;
	pb_line *lines;
	int i;

	v = grow(p, pr->location, pr->n_location, &p->loc_cap, sizeof(*v));
	if (!l || !v) {
		free(l);
		p->oom = true;
		return NULL;
	}
	pr->location = v;
	perftools__profiles__location__init(l);
	lines = (pb_line *)(l + 1);
	l->line = (pb_line **)(lines + nlines);
	for (i = 0; i < nlines; i++) {
		perftools__profiles__line__init(&lines[i]);
		l->line[i] = &lines[i];
	}
	l->n_line = nlines;
	l->id = pr->n_location + 1;
	pr->location[pr->n_location++] = l;
	return l;
}

/* Same key, other lines: a goroutine stack cut inside an inline chain. */
static bool location_is(const pb_location *l, const uint64_t *fn, int n)
{
	return l->n_line == (size_t)n && l->line[0]->function_id == fn[0];
}

/* The location of frames f[0..n): one pc, inlined callees first. */
static uint64_t location_id(struct pp *p, const struct lw_frame *f, int n,
			    uint64_t key)
{
	uint64_t fn[LW_MAX_FRAMES];
	pb_location *l;
	uint32_t *slot;
	int i;

	for (i = 0; i < n; i++)
		fn[i] = frame_function(p, &f[i]);
	slot = index_slot(p, &p->locs, key);
	if (!slot)
		return 0;
	if (*slot && location_is(p->prof.location[*slot - 1], fn, n))
		return *slot;
	l = new_location(p, n);
	if (!l)
		return 0;
	l->address = f[0].pc;
	l->mapping_id = mapping_id(p, f[0].pc);
	for (i = 0; i < n; i++) {
		l->line[i]->function_id = fn[i];
		l->line[i]->line = f[i].line;
	}
	if (!*slot)
		*slot = l->id;
	return l->id;
}

/* A site without a stack: one frame naming what it is. */
static uint64_t pseudo_location(struct pp *p, const struct lw_site *s)
{
	const char *what = s->label[0] ? s->label : "[stack not captured]";
	struct lw_frame f = { .symbol = what };

	return location_id(p, &f, 1, PP_PSEUDO_KEY | str_id(p, what));
}

/* Frames grouped by pc: a run of inlined frames and the one they end in. */
static size_t sample_stack(struct pp *p, struct lw_site *s, uint64_t *loc)
{
	struct lw_frame fr[LW_MAX_FRAMES];
	int n = view_frames(p->v, s, fr, LW_MAX_FRAMES), i = 0, j;
	size_t k = 0;

	if (!n) {
		loc[k++] = pseudo_location(p, s);
		return k;
	}
	while (i < n) {
		for (j = i;
		     j < n - 1 && fr[j].inlined && fr[j + 1].pc == fr[i].pc;
		     j++)
			;
		loc[k++] = location_id(p, fr + i, j - i + 1,
				       fr[i].pc | p->v->salt);
		i = j + 1;
	}
	return k;
}

static void add_label(struct pp *p, struct pp_sample *ps, const char *key,
		      const char *str, int64_t num, const char *unit)
{
	pb_label *l;

	if (ps->s.n_label == PP_MAX_LABELS || (!str && !unit))
		return;
	l = &ps->lab[ps->s.n_label];
	perftools__profiles__label__init(l);
	l->key = str_id(p, key);
	if (str) {
		l->str = str_id(p, str);
	} else {
		l->num = num;
		l->num_unit = str_id(p, unit);
	}
	ps->labp[ps->s.n_label++] = l;
}

static void sample_labels(struct pp *p, struct pp_sample *ps,
			  const struct lw_site *s)
{
	struct lw_frame fr[LW_MAX_FRAMES];
	char name[512];
	int n;

	add_label(p, ps, "kind", view_kind_name(s->kind), 0, NULL);
	add_label(p, ps, "suspect", s->fit.suspect ? "true" : "false", 0, NULL);
	if (s->kind == LW_KIND_HEAP)
		add_label(p, ps, "source", site_source(s), 0, NULL);
	n = s->start ? symbolizer_resolve(p->v->sym, s->start, false, fr,
					  LW_MAX_FRAMES)
		     : 0;
	if (n) {
		symbolizer_format(&fr[n - 1], name, sizeof(name));
		add_label(p, ps, "start",
			  fr[n - 1].symbol ? fr[n - 1].symbol : name, 0, NULL);
	}
	if (s->label[0])
		add_label(p, ps, "label", s->label, 0, NULL);
	if (s->kind == LW_KIND_THREAD)
		add_label(p, ps, "stack_bytes", NULL, site_bytes(s), "bytes");
	if (p->v->salt) { /* system-wide: whose site it is */
		add_label(p, ps, "pid", NULL, p->v->target->pid, "");
		add_label(p, ps, "comm", p->v->target->comm, 0, NULL);
	}
}

static void fill_sample(struct pp *p, struct pp_sample *ps, struct lw_site *s)
{
	perftools__profiles__sample__init(&ps->s);
	switch (s->kind) {
	case LW_KIND_HEAP:
		ps->val[PP_OBJECTS] = site_count(s);
		ps->val[PP_SPACE] = site_bytes(s);
		break;
	case LW_KIND_GOROUTINE:
		ps->val[PP_GOROUTINES] = site_count(s);
		break;
	case LW_KIND_THREAD:
		ps->val[PP_THREADS] = site_count(s);
		break;
	case LW_KIND_FD:
		ps->val[PP_FDS] = site_count(s);
		break;
	default: /* LW_KIND_GO_HEAP names stacks only: sites are heap */
		break;
	}
	ps->s.value = ps->val;
	ps->s.n_value = PP_NTYPES;
	ps->s.location_id = ps->loc;
	ps->s.n_location_id = sample_stack(p, s, ps->loc);
	ps->s.label = ps->labp;
	sample_labels(p, ps, s);
}

/* The samples of one process's sites (p->v is its view). */
static int add_samples(struct pp *p, size_t *cap)
{
	struct lw_site **s;
	size_t n = model_ranked(p->v->model, &s), i, at = p->prof.n_sample;
	struct pp_sample *ns;

	if (at + n > *cap) {
		*cap = at + n + 16;
		ns = realloc(p->samples, *cap * sizeof(*ns));
		if (!ns) {
			free(s);
			return -1;
		}
		p->samples = ns;
		free(p->samplep);
		p->samplep = NULL;
	}
	for (i = 0; i < n; i++) {
		memset(&p->samples[at + i], 0, sizeof(p->samples[at + i]));
		fill_sample(p, &p->samples[at + i], s[i]);
	}
	p->prof.n_sample = at + n;
	free(s);
	return 0;
}

/* Samples point into their own struct: fixed once every one is made. */
static int link_samples(struct pp *p)
{
	size_t i, k;

	free(p->samplep);
	p->samplep = calloc(p->prof.n_sample + 1, sizeof(*p->samplep));
	if (!p->samplep)
		return -1;
	for (i = 0; i < p->prof.n_sample; i++) {
		p->samples[i].s.value = p->samples[i].val;
		p->samples[i].s.location_id = p->samples[i].loc;
		p->samples[i].s.label = p->samples[i].labp;
		for (k = 0; k < p->samples[i].s.n_label; k++)
			p->samples[i].labp[k] = &p->samples[i].lab[k];
		p->samplep[i] = &p->samples[i].s;
	}
	p->prof.sample = p->samplep;
	return 0;
}

/* System-wide: every traced process's sites, pcs kept apart by a salt
 * above the user address space (47 bits). */
static int add_all_samples(struct pp *p, struct lw_view *v)
{
	struct lw_view pv;
	size_t cap = 0, i;
	int err = 0;

	if (!v->sys)
		err = add_samples(p, &cap);
	for (i = 0; v->sys && i < v->sys->n && !err; i++) {
		if (!proc_has_sites(v->sys->v[i]))
			continue;
		pv = view_of_proc(v, v->sys->v[i]);
		pv.salt = (uint64_t)(i + 1) << 47;
		p->v = &pv;
		err = add_samples(p, &cap);
	}
	p->v = v;
	return err ? err : link_samples(p);
}

static void add_comments(struct pp *p)
{
	const struct lw_target *t = p->v->target;
	char buf[PATH_MAX + 256];

	p->comments[0] = str_id(p, "leakwatch " LW_VERSION);
	if (t)
		snprintf(buf, sizeof(buf), "target: pid %d %s (%s)%s",
			 (int)t->pid, t->comm, t->exe,
			 t->exited ? ", exited" : "");
	else
		snprintf(buf, sizeof(buf), "target: the whole system");
	p->comments[1] = str_id(p, buf);
	memcpy(buf, "drops:", 6);
	view_drops(p->v, buf + 6, sizeof(buf) - 6);
	p->comments[2] = str_id(p, buf);
	p->prof.comment = p->comments;
	p->prof.n_comment = 3;
}

static void add_header(struct pp *p)
{
	struct timespec ts;
	int i;

	for (i = 0; i < PP_NTYPES; i++) {
		perftools__profiles__value_type__init(&p->types[i]);
		p->types[i].type = str_id(p, type_names[i][0]);
		p->types[i].unit = str_id(p, type_names[i][1]);
		p->typep[i] = &p->types[i];
	}
	p->prof.sample_type = p->typep;
	p->prof.n_sample_type = PP_NTYPES;
	p->prof.default_sample_type = p->types[PP_SPACE].type;
	clock_gettime(CLOCK_REALTIME, &ts);
	p->prof.time_nanos = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	p->prof.duration_nanos = (int64_t)(p->v->elapsed * 1e9);
	add_comments(p);
}

static int pp_build(struct pp *p, struct lw_view *v)
{
	perftools__profiles__profile__init(&p->prof);
	p->v = v;
	/* string_table[0] must be "": str_id() never hands out 0 else. */
	p->prof.string_table = grow(p, NULL, 0, &p->str_cap, sizeof(char *));
	if (!p->prof.string_table)
		return -1;
	p->prof.string_table[p->prof.n_string_table++] = strdup("");
	if (!p->prof.string_table[0])
		return -1;
	add_header(p);
	if (add_all_samples(p, v))
		return -1;
	return p->oom ? -1 : 0;
}

static void pp_free(struct pp *p)
{
	pb_profile *pr = &p->prof;
	size_t i;

	for (i = 0; i < pr->n_string_table; i++)
		free(pr->string_table[i]);
	for (i = 0; i < pr->n_function; i++)
		free(pr->function[i]);
	for (i = 0; i < pr->n_location; i++)
		free(pr->location[i]);
	for (i = 0; i < pr->n_mapping; i++)
		free(pr->mapping[i]);
	free(pr->string_table);
	free(pr->function);
	free(pr->location);
	free(pr->mapping);
	free(p->samples);
	free(p->samplep);
	index_free(&p->strs);
	index_free(&p->maps);
	index_free(&p->locs);
	index_free(&p->funcs);
}

/* A protobuf-c output buffer that gzips into a file as it is packed. */
struct gz_out {
	ProtobufCBuffer base;
	z_stream z;
	FILE *f;
	int err;
	unsigned char buf[1 << 16];
};

static void gz_drain(struct gz_out *g, int flush)
{
	int rc;

	do {
		g->z.next_out = g->buf;
		g->z.avail_out = sizeof(g->buf);
		rc = deflate(&g->z, flush);
		if (rc == Z_STREAM_ERROR) {
			g->err = EIO;
			return;
		}
		if (fwrite(g->buf, 1, sizeof(g->buf) - g->z.avail_out, g->f) !=
		    sizeof(g->buf) - g->z.avail_out) {
			g->err = errno ? errno : EIO;
			return;
		}
	} while (g->z.avail_out == 0 || (flush == Z_FINISH && rc == Z_OK));
}

static void gz_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	struct gz_out *g = (struct gz_out *)b;

	if (g->err)
		return;
	g->z.next_in = (Bytef *)data;
	g->z.avail_in = len;
	gz_drain(g, Z_NO_FLUSH);
}

static int write_gzip(FILE *f, const pb_profile *prof)
{
	struct gz_out *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return ENOMEM;
	g->base.append = gz_append;
	g->f = f;
	/* 15 + 16: a gzip header and trailer around the deflate stream */
	if (deflateInit2(&g->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g);
		return ENOMEM;
	}
	perftools__profiles__profile__pack_to_buffer(prof, &g->base);
	if (!g->err)
		gz_drain(g, Z_FINISH);
	deflateEnd(&g->z);
	err = g->err;
	free(g);
	return err;
}

int report_pprof(const char *path, struct lw_view *v)
{
	struct pp p = { 0 };
	char tmp[4096];
	FILE *f;
	int err;

	if (!strcmp(path, "-")) {
		lw_err("--pprof -: a profile is binary, give a file name");
		return -1;
	}
	if (pp_build(&p, v)) {
		pp_free(&p);
		lw_err("--pprof: out of memory");
		return -1;
	}
	f = lw_replace_open(path, tmp, sizeof(tmp));
	if (!f) {
		lw_err("cannot write %s: %s", path, strerror(errno));
		pp_free(&p);
		return -1;
	}
	err = write_gzip(f, &p.prof);
	pp_free(&p);
	if (lw_replace_commit(f, tmp, path, !err) && !err)
		err = errno;
	if (err) {
		lw_err("writing %s: %s", path, strerror(err));
		return -1;
	}
	return 0;
}
