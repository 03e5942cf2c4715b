/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Descriptors of a process traced in depth: each report, what is really
 * open (the file iterator) reconciled with what the syscall exit program
 * recorded (the fds map), so every open descriptor counts at exactly one
 * site - the stack that opened it, or one of two pseudo sites:
 * "[alive at attach]" (open before we looked, or inherited across an
 * exec) and "[opened unseen]" (appeared without an open we saw: a
 * descriptor passed by SCM_RIGHTS, io_uring, a syscall not watched).
 * An entry whose file is gone without a close seen (close_range past its
 * cap, an exec's CLOEXEC, a lost event) is dropped and counted.
 */
#ifndef LW_FDS_H
#define LW_FDS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "leakwatch.h"
#include "model.h"
#include "trend.h"

/* Site ids of the pseudo sites, apart from site indices (and bit 61, the
 * Go heap's, and bit 62 alone, threads alive at attach). */
#define LW_FD_ATTACH_ID (1ull << 62 | 1ull << 60)
#define LW_FD_UNSEEN_ID (1ull << 60)
#define LW_FD_LOST_ID	(1ull << 60 | 1)

struct lw_fds {
	pid_t pid;
	bool started; /* the descriptors alive at attach are known */
	struct lw_fd_snap *attach; /* those, by fd: (fd, file) */
	size_t nattach;
	struct lw_fd_snap *strike; /* entries found gone once, by fd */
	size_t nstrike;
	uint64_t closes_unseen;	 /* entries gone twice in a row: dropped */
	uint64_t closed_at_exec; /* open before an exec, closed by it */
	uint64_t attach_closed_at_exec; /* of those, alive at attach */
	int64_t open;			/* what the iterator listed, or -1 */
	int64_t at_attach, unseen;	/* open now: alive at attach, unseen */
	int64_t tracked; /* the fd sites' counts, summed: open, when exact */
	long long limit, limit_hard; /* RLIMIT_NOFILE; -1 unlimited */
	struct trend trend;	     /* open over time */
	struct trend_fit fit;
	double eta_s; /* until the soft limit at the growth; < 0: none */
};

void fds_init(struct lw_fds *f, pid_t pid);
/* The process exec'd: what is open now is its new image's at attach. */
void fds_forget(struct lw_fds *f);
void fds_free(struct lw_fds *f);

/* Tracing begins: what is open now, and not opened under the probes
 * already, was alive at attach (snaps as for fds_update). */
void fds_begin(struct lw_fds *f, int fds_fd, uint32_t epoch,
	       struct lw_fd_snap *snaps, size_t n);

/*
 * One report: snaps (every open descriptor, from the iterator, any
 * order; sorted here) against the map's entries of (pid, epoch); sets
 * each fd site's live count (scanned) and types. exec_closed: what the
 * exec program counted (session_exec_closed). Returns 0 or -errno.
 */
int fds_update(struct lw_fds *f, struct lw_model *m, int fds_fd, uint32_t epoch,
	       uint32_t exec_closed, struct lw_fd_snap *snaps, size_t n,
	       double now);

#endif
