// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel allocations: loading bpf/kmem.bpf.c where this kernel has its
 * tracepoints, and reading its per-stack aggregates.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kmem.skel.h"
#include "kmem.h"
#include "machine.h"
#include "util.h"

#define BATCH 1024

struct kstack {
	int depth;
	uint64_t ips[];
};

struct lw_kmem {
	struct kmem_bpf *skel;
	int sites_fd, stacks_fd, counters_fd;
	/* stack ids are bucket indices: below the map's size, rounded up to a
	 * power of two. A stack never changes under its id: read once. */
	struct kstack **stacks;
	uint32_t nids;
	char missing[256];
};

static uint32_t pow2_above(uint32_t n)
{
	uint32_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/*
 * A program's tracepoint is its section's name after "tp_btf/"; the kernel
 * has it when its BTF has the typedef btf_trace_NAME (what the verifier
 * attaches by). kmalloc_node and kmem_cache_alloc_node are gone since 6.1,
 * the others may be configured out: their programs stay unloaded.
 */
static int drop_missing(struct lw_kmem *k)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_program *p;
	char name[128];
	const char *tp;
	size_t at = 0;
	int loaded = 0;

	if (!vmlinux) {
		lw_err("reading the kernel's BTF: %s (CONFIG_DEBUG_INFO_BTF "
		       "is needed)",
		       strerror(errno));
		return -1;
	}
	bpf_object__for_each_program(p, k->skel->obj)
	{
		tp = strchr(bpf_program__section_name(p), '/');
		tp = tp ? tp + 1 : "";
		snprintf(name, sizeof(name), "btf_trace_%s", tp);
		if (btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) >
		    0) {
			loaded++;
			continue;
		}
		bpf_program__set_autoload(p, false);
		if (at < sizeof(k->missing))
			at += snprintf(k->missing + at, sizeof(k->missing) - at,
				       "%s%s", at ? " " : "", tp);
	}
	btf__free(vmlinux);
	if (!loaded)
		lw_err("this kernel has none of the kmem tracepoints");
	return loaded ? 0 : -1;
}

/* Map sizes are decided here, at load, not in the BPF source. */
static int size_maps(struct kmem_bpf *skel, long max_live)
{
	int err;

	err = bpf_map__set_max_entries(skel->maps.kmem_live, max_live);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.kmem_stacks,
					       KMEM_MAX_STACKS);
	/* every stack id and LW_KMEM_NO_STACK */
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.kmem_sites,
					       KMEM_MAX_STACKS + 1);
	return err;
}

static struct lw_kmem *load_error(struct lw_kmem *k, const char *what, int err)
{
	const char *hint = machine_load_hint(err);

	lw_err("kernel allocations: %s: %s", what, strerror(-err));
	if (hint)
		lw_err("%s", hint);
	kmem_close(k);
	return NULL;
}

struct lw_kmem *kmem_open(long max_live)
{
	struct lw_kmem *k;
	int err;

	if (max_live <= 0 || max_live > UINT32_MAX) {
		lw_err("kernel allocations: bad map size %ld", max_live);
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		lw_err("kernel allocations: %s", strerror(errno));
		return NULL;
	}
	k->skel = kmem_bpf__open();
	if (!k->skel)
		return load_error(k, "open", -errno);
	k->skel->rodata->self_tgid = getpid();
	if (drop_missing(k)) {
		kmem_close(k);
		return NULL;
	}
	err = size_maps(k->skel, max_live);
	if (!err)
		err = kmem_bpf__load(k->skel);
	if (err)
		return load_error(k, "load", err);
	k->sites_fd = bpf_map__fd(k->skel->maps.kmem_sites);
	k->stacks_fd = bpf_map__fd(k->skel->maps.kmem_stacks);
	k->counters_fd = bpf_map__fd(k->skel->maps.kmem_counters);
	k->nids = pow2_above(KMEM_MAX_STACKS);
	k->stacks = calloc(k->nids, sizeof(*k->stacks));
	if (!k->stacks)
		return load_error(k, "stack cache", -ENOMEM);
	/* the skeleton attaches the programs left to load */
	err = kmem_bpf__attach(k->skel);
	if (err)
		return load_error(k, "attach", err);
	if (k->missing[0])
		lw_debug("kernel allocations: no tracepoint %s", k->missing);
	return k;
}

static const struct kstack *stack_get(struct lw_kmem *k, uint32_t id)
{
	uint64_t ips[LW_KMEM_STACK_DEPTH];
	struct kstack *st;
	int depth;

	if (id >= k->nids)
		return NULL;
	if (k->stacks[id])
		return k->stacks[id];
	if (bpf_map_lookup_elem(k->stacks_fd, &id, ips))
		return NULL; /* not stored yet: the next drain tries again */
	for (depth = 0; depth < LW_KMEM_STACK_DEPTH && ips[depth]; depth++)
		;
	st = malloc(sizeof(*st) + depth * sizeof(ips[0]));
	if (!st)
		return NULL;
	st->depth = depth;
	memcpy(st->ips, ips, depth * sizeof(ips[0]));
	k->stacks[id] = st;
	return st;
}

static int grow(struct lw_kmem_site **out, size_t *cap, size_t need)
{
	return lw_grow((void **)out, cap, need, sizeof(**out), 256);
}

static void fill_site(struct lw_kmem *k, struct lw_kmem_site *s, uint32_t id,
		      const struct lw_kmem_agg *agg)
{
	const struct kstack *st = NULL;

	s->id = id;
	s->bytes = agg->bytes;
	s->allocs = agg->allocs;
	s->frees = agg->frees;
	if (id != LW_KMEM_NO_STACK)
		st = stack_get(k, id);
	s->depth = st ? st->depth : 0;
	if (st)
		memcpy(s->ips, st->ips, st->depth * sizeof(st->ips[0]));
}

int kmem_drain(struct lw_kmem *k, struct lw_kmem_site **out, size_t *cap,
	       size_t *n)
{
	__u32 keys[BATCH], in_batch, out_batch, count, i;
	struct lw_kmem_agg vals[BATCH];
	void *in = NULL;
	int err;

	*n = 0;
	do {
		count = BATCH;
		err = bpf_map_lookup_batch(k->sites_fd, in, &out_batch, keys,
					   vals, &count, NULL);
		if (err && errno != ENOENT)
			return -errno;
		if (grow(out, cap, *n + count))
			return -ENOMEM;
		for (i = 0; i < count; i++) {
			if (!vals[i].allocs)
				continue; /* a site still being born */
			fill_site(k, &(*out)[(*n)++], keys[i], &vals[i]);
		}
		in_batch = out_batch;
		in = &in_batch;
	} while (!err);
	return 0;
}

#define KMEM_COUNTER_NAME(id, name, is_drop)                                   \
	[LW_KMEM_CNT_##id] = { name, is_drop },
static const struct {
	const char *name;
	bool drop;
} counters[LW_KMEM_CNT_MAX] = { LW_KMEM_COUNTERS(KMEM_COUNTER_NAME) };
#undef KMEM_COUNTER_NAME

/* Sums of the per-CPU counters; zeros when they cannot be read. */
static void read_counters(struct lw_kmem *k, uint64_t out[LW_KMEM_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), c;
	uint64_t *vals;
	__u32 key;

	memset(out, 0, LW_KMEM_CNT_MAX * sizeof(out[0]));
	vals = ncpu > 0 ? calloc(ncpu, sizeof(*vals)) : NULL;
	if (!vals)
		return;
	for (key = 0; key < LW_KMEM_CNT_MAX; key++) {
		if (bpf_map_lookup_elem(k->counters_fd, &key, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[key] += vals[c];
	}
	free(vals);
}

/* Runs the kernel skipped: a program of ours was already active there. */
static uint64_t recursion_misses(struct lw_kmem *k)
{
	struct bpf_prog_info info;
	struct bpf_program *p;
	uint64_t misses = 0;
	__u32 len;

	bpf_object__for_each_program(p, k->skel->obj)
	{
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_program__fd(p) >= 0 &&
		    !bpf_prog_get_info_by_fd(bpf_program__fd(p), &info, &len))
			misses += info.recursion_misses;
	}
	return misses;
}

static void print_counters(struct lw_kmem *k, bool drops, char *buf, size_t len)
{
	uint64_t v[LW_KMEM_CNT_MAX], misses;
	size_t at = 0;
	int c;

	buf[0] = '\0';
	read_counters(k, v);
	for (c = 0; c < LW_KMEM_CNT_MAX && at < len; c++) {
		if (counters[c].drop != drops || !v[c])
			continue;
		at += snprintf(buf + at, len - at, " %s=%llu", counters[c].name,
			       (unsigned long long)v[c]);
	}
	misses = drops ? recursion_misses(k) : 0;
	if (misses && at < len)
		snprintf(buf + at, len - at, " kmem_recursion_misses=%llu",
			 (unsigned long long)misses);
}

void kmem_drops(struct lw_kmem *k, char *buf, size_t len)
{
	print_counters(k, true, buf, len);
}

void kmem_stats(struct lw_kmem *k, char *buf, size_t len)
{
	print_counters(k, false, buf, len);
}

const char *kmem_missing(const struct lw_kmem *k)
{
	return k->missing;
}

void kmem_close(struct lw_kmem *k)
{
	uint32_t i;

	if (!k)
		return;
	kmem_bpf__destroy(k->skel);
	for (i = 0; k->stacks && i < k->nids; i++)
		free(k->stacks[i]);
	free(k->stacks);
	free(k);
}
