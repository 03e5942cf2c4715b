/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_DRAIN_H
#define LW_DRAIN_H

#include <stddef.h>
#include <stdint.h>
#include "leakwatch.h"

struct lw_drained_site {
	uint32_t site;
	struct lw_site_val val;
};

/* Reads the aggregates of sites [0, nsites) that ever allocated. *out is
 * reused across calls. */
int drain_sites(int map_fd, uint32_t nsites, struct lw_drained_site **out,
		size_t *cap, size_t *n);
/* Sums the per-CPU loss counters. */
int drain_counters(int map_fd, uint64_t out[LW_CNT_MAX]);
/*
 * Deletes the entries of tgid in a map keyed by (tgid, epoch, ...) whose
 * epoch is not the current one: what its previous program image left; or,
 * with LW_EPOCH_ALL, every entry of tgid (it exited, or was released).
 */
#define LW_EPOCH_ALL UINT32_MAX
void drain_prune(int map_fd, size_t key_size, uint32_t tgid, uint32_t epoch);
/* A site's stack: innermost first. Returns its depth, or -errno. */
int drain_stack(int map_fd, uint32_t site, struct lw_stack *st);

#endif
