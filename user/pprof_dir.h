/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --pprof-dir DIR: at every report, one gzipped pprof profile per process
 * traced in depth (report_pprof's, of that process alone), each under a
 * name of its own,
 *
 *	<comm>-<pid>.<yyyymmddThhmmss.mmmZ>.pb.gz	(UTC)
 *
 * so that a directory holds a history that continuous-profiling agents
 * pick up and `go tool pprof -diff_base OLD NEW` compares. The comm keeps
 * [A-Za-z0-9._-] only (others, and a leading '.', become '_'); the stamp
 * is fixed width, so a process's names sort by time.
 *
 * --pprof-keep N: after each write, that process's files beyond its N
 * newest are removed; only names of exactly that form (its comm and pid),
 * never another file of DIR. 0 keeps every file.
 */
#ifndef LW_PPROF_DIR_H
#define LW_PPROF_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "view.h"

#define LW_PPROF_DIR_SUFFIX ".pb.gz"
#define LW_PPROF_STAMP_LEN  20 /* yyyymmddThhmmss.mmmZ */

/* DIR is a directory leakwatch can create files in: 0, or -1 with a
 * message (checked before anything is traced). */
int pprof_dir_check(const char *dir);

/* The profiles of v's processes (the target, or system-wide each one
 * traced in depth; at the end also those traced before) at one stamp,
 * then each one's oldest beyond keep removed. 0, or -1 when a file could
 * not be written or removed (each said why; the others are written). */
int pprof_dir_write(const char *dir, long keep, struct lw_view *v);

/* "<comm>-<pid>." with the comm made safe: what starts a process's names.
 * Its length, or 0 when len is too short. */
size_t pprof_dir_prefix(const char *comm, pid_t pid, char *buf, size_t len);
/* "yyyymmddThhmmss.mmmZ" of ts in UTC (len > LW_PPROF_STAMP_LEN). */
void pprof_dir_stamp(const struct timespec *ts, char *buf, size_t len);
/* name is prefix, a stamp and LW_PPROF_DIR_SUFFIX: a file of ours. */
bool pprof_dir_is_ours(const char *name, const char *prefix);
/* Removes the files of prefix in dir beyond the keep newest (keep > 0):
 * 0, or -1 with a message. */
int pprof_dir_prune(const char *dir, const char *prefix, long keep);

#endif
