/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The process table of a run: every process of the machine (-a), or the
 * one target. Triage ranks the processes by growth; the zoom policy
 * traces the suspect ones in depth, at most --zoom at once, and releases
 * one that stops growing.
 */
#ifndef LW_SYSTEM_H
#define LW_SYSTEM_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include "depth.h"
#include "proc.h"

struct lw_system {
	struct lw_proc **v; /* live processes, then exited ones kept */
	size_t n, cap;
	bool all;	       /* the whole machine: scanned each report */
	char *const *comm;     /* --comm patterns, NULL-terminated */
	char cgroup[PATH_MAX]; /* --cgroup, as /proc/PID/cgroup says */
	int zoom_max;	       /* --zoom */
	pid_t self;
	unsigned long seen, exits; /* processes found, exits reported */
};

/* Returns an lw_exit code (a --cgroup that does not exist is 5). */
int system_init(struct lw_system *s, bool all, char *const *comm,
		const char *cgroup, int zoom_max);
/* Adds a process the run started with (-p, a command). */
int system_add(struct lw_system *s, struct lw_proc *p);
/* --comm or --cgroup chose the processes. */
bool system_restricted(const struct lw_system *s);
/* The processes started since the last scan (all: every one). */
void system_scan(struct lw_system *s, double now, uint32_t gen);
struct lw_proc *system_find(struct lw_system *s, pid_t pid);
/* Exits: reported once on out, released, dropped unless the final
 * report must still show them (zoomed or suspect). */
void system_reap(struct lw_system *s, struct lw_depth *d, FILE *out);
/* Zooms suspects (most-growing first) and the processes the user chose;
 * releases calm ones; says why on out. */
void system_policy(struct lw_system *s, struct lw_depth *d, FILE *out,
		   double now);
/* Live processes, suspects and zoomed first, then by growth. *out is
 * malloc'ed. */
size_t system_ranked(struct lw_system *s, struct lw_proc ***out);
/* A process's growth as "rss +1.2 MiB/s" (its fastest-rising signal). */
void system_growth(const struct lw_proc *p, char *buf, size_t len);
/* A signal as the tables show it: "4.9 MiB +358.5 KiB/s", "1 +0.0/s". */
void system_signal_cell(const struct lw_proc *p, enum lw_signal k, char *buf,
			size_t len);
void system_free(struct lw_system *s, struct lw_depth *d);

#endif
