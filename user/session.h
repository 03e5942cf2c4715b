/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_SESSION_H
#define LW_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "attach.h"
#include "cfi.h"
#include "plan.h"

struct heap_bpf;
struct floor_bpf;
struct ring_buffer;

/* The BPF side of one run: loaded programs, their links and maps. */
struct lw_session {
	struct heap_bpf *heap;
	struct floor_bpf *floor; /* --floor: empty programs instead */
	struct lw_links links;
	struct ring_buffer *rb;
	int sites_fd, stacks_fd, counters_fd, allocs_fd, goroutines_fd;
	int threads_fd, targets_fd, go_samples_fd, go_spans_fd;
	int fds_fd; /* descriptors; -1 when not tracked */
	uint32_t max_sites;
	bool solo; /* one target: kept in .bss, not in the targets map */
	unsigned long long sample_bytes; /* --sample, 0: every call */
	struct lw_cfi_fds cfi; /* the unwind tables' maps; -1 under --floor */
};

typedef int (*session_event_fn)(void *ctx, void *data, size_t size);

/* Ring-buffer records: mmap-family calls, and files the walk needs. */
struct lw_session_events {
	session_event_fn map_event, file_event;
	void *ctx;
};

/* runtime.g offsets the goroutine probes read; zero for C targets. */
struct lw_go_offsets {
	uint32_t goid, startpc;
	struct lw_go_span span; /* Go heap sampling, or all 0 */
};

struct lw_session_opts {
	bool floor;	 /* the bench's empty programs */
	bool unwind_fp;	 /* walks by frame pointers only */
	long max_allocs; /* the live-allocation map's size */
	long max_sites;	 /* the site arrays' size */
	bool solo;	 /* one target (-p, a command), not the whole system */
	bool fds;	 /* descriptors tracked (the syscall exit program) */
	unsigned long long sample_bytes; /* --sample: the mean, 0: off */
};

/* Returns an lw_exit code, with the reason printed. */
int session_open(struct lw_session *s, const struct lw_session_opts *o,
		 const struct lw_session_events *ev);
/* The exec and thread tracepoints: once per session (0 or -errno). */
int session_attach_tracepoints(struct lw_session *s);
/* One process's probes, into links (its own, to detach it alone);
 * returns an lw_exit code. */
int session_attach(struct lw_session *s, const struct lw_plan *plan, pid_t pid,
		   struct lw_links *links);
/* Makes pid traced in depth (its probes then count), from epoch on;
 * go: its runtime.g offsets, or NULL. 0 or -errno. */
int session_target_add(struct lw_session *s, pid_t pid, uint32_t epoch,
		       const struct lw_go_offsets *go);
void session_target_del(struct lw_session *s, pid_t pid);
void session_set_gen(struct lw_session *s, uint32_t gen);
int session_poll_fd(struct lw_session *s); /* -1 when nothing to poll */
/* Site indices handed out so far. */
uint32_t session_nsites(struct lw_session *s);
/*
 * Every thread of process pid: where it is and its frames, from the
 * thread iterator, sorted by tid. *out is malloc'ed (free it); returns
 * the count, or a negative errno.
 */
int session_thread_snaps(struct lw_session *s, pid_t pid,
			 struct lw_thread_snap **out);
/* Every open descriptor of process pid and its file, from the file
 * iterator, in its order; like session_thread_snaps. */
int session_fd_snaps(struct lw_session *s, pid_t pid, struct lw_fd_snap **out);
/* pid's epoch: its execs (and zooms) since it was first traced. */
uint32_t session_epoch(struct lw_session *s, pid_t pid);
/* Descriptors pid's execs closed (close-on-exec) while it was traced. */
uint32_t session_exec_closed(struct lw_session *s, pid_t pid);
void session_consume(struct lw_session *s);
/* Each program's runs and run time (with kernel.bpf_stats_enabled = 1). */
void session_print_run_time(struct lw_session *s, FILE *f);
void session_close(struct lw_session *s);

#endif
