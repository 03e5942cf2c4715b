// SPDX-License-Identifier: GPL-2.0
/*
 * Reading the kernel maps: the per-site aggregates (not the live
 * allocations: their number is what a leak makes large), the counters and
 * stacks.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "drain.h"
#include "util.h"

#define BATCH 1024

static int grow(struct lw_drained_site **out, size_t *cap, size_t need)
{
	return lw_grow((void **)out, cap, need, sizeof(**out), BATCH);
}

int drain_sites(int map_fd, uint32_t nsites, struct lw_drained_site **out,
		size_t *cap, size_t *n)
{
	__u32 keys[BATCH], in_batch, out_batch, count, i;
	struct lw_site_val vals[BATCH];
	void *in = NULL;
	int err;

	*n = 0;
	if (grow(out, cap, nsites))
		return -ENOMEM;
	do {
		count = BATCH;
		err = bpf_map_lookup_batch(map_fd, in, &out_batch, keys, vals,
					   &count, NULL);
		if (err && errno != ENOENT)
			return -errno;
		for (i = 0; i < count && keys[i] < nsites; i++) {
			if (!vals[i].allocs)
				continue; /* a hole, or a site still being born
					   */
			(*out)[*n].site = keys[i];
			(*out)[*n].val = vals[i];
			(*n)++;
		}
		if (i < count)
			break; /* the rest of the array is unused */
		in_batch = out_batch;
		in = &in_batch;
	} while (!err);
	return 0;
}

int drain_counters(int map_fd, uint64_t out[LW_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	__u32 key;
	int c;

	if (ncpu <= 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (key = 0; key < LW_CNT_MAX; key++) {
		out[key] = 0;
		if (bpf_map_lookup_elem(map_fd, &key, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[key] += vals[c];
	}
	free(vals);
	return 0;
}

int drain_stack(int map_fd, uint32_t site, struct lw_stack *st)
{
	int i;

	if (site == LW_NO_SITE)
		return -ENOENT;
	if (bpf_map_lookup_elem(map_fd, &site, st))
		return -errno;
	for (i = 0; i < LW_MAX_STACK_DEPTH && st->ips[i]; i++)
		;
	return i;
}

void drain_prune(int map_fd, size_t key_size, uint32_t tgid, uint32_t epoch)
{
	__u32 key[8]; /* tgid, epoch, then the rest */
	char *stale = NULL, *p;
	size_t n = 0, cap = 0, i;
	void *prev = NULL;

	if (key_size > sizeof(key))
		return;
	/* collect first: deleting under get_next_key restarts the walk */
	while (!bpf_map_get_next_key(map_fd, prev, key)) {
		if (key[0] == tgid &&
		    (epoch == LW_EPOCH_ALL || key[1] != epoch)) {
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				p = realloc(stale, cap * key_size);
				if (!p)
					break;
				stale = p;
			}
			memcpy(stale + n++ * key_size, key, key_size);
		}
		prev = key;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(map_fd, stale + i * key_size);
	free(stale);
}
