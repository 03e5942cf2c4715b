/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_GOROUTINES_H
#define LW_GOROUTINES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "goinfo.h"
#include "model.h"

/*
 * The runtime's own goroutine list, read each report: it counts the
 * goroutines born before attach, says where they wait, and heals events
 * the probes lost. Goroutine sites are then creation sites: the `go`
 * statement (gopc) and the function it started; the full creation stack
 * comes from the probes when one of the site's goroutines was born under
 * them.
 */
struct lw_goscan {
	pid_t pid;
	uint64_t bias;
	struct go_layout layout;
	struct go_waitreasons reasons;
	bool reasons_loaded;
	int unavailable; /* -errno of the last failed scan, reported once */
	struct goroutine *gs;
	size_t n;
	uint64_t scans;
};

void goscan_init(struct lw_goscan *gs, pid_t pid, uint64_t bias,
		 const struct go_layout *l);
/*
 * Scans and folds the result into the model. goroutines_fd: the probes'
 * map of live goroutines (goid -> site). Returns 0, or -errno when the
 * runtime's list cannot be read (the probes' counts stand then).
 */
int goscan_update(struct lw_goscan *gs, struct lw_model *m, int goroutines_fd,
		  uint32_t cur_gen, double now);
void goscan_free(struct lw_goscan *gs);

#endif
