/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_TARGET_H
#define LW_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

/* An object the target maps: its name, and a path that opens it. */
struct lw_obj {
	char *name;
	char *open;
};

struct lw_target {
	pid_t pid;
	char comm[64];
	char exe[PATH_MAX];    /* as the target names it */
	char root[64];	       /* prefix to open the target's files */
	char interp[PATH_MAX]; /* launch: the executable's loader, if any */
	bool launched;
	int pidfd;	 /* readable once the target exits */
	int go_fd;	 /* launch: releases the child into exec */
	int exec_err_fd; /* launch: carries exec's errno, if it fails */
	bool exited;
	int status;	     /* launch: wait status */
	struct lw_obj *objs; /* mapped objects, lookup priority order */
	int nobjs;
};

/* Each returns an lw_exit code and prints why when it is not 0. */
int target_open_pid(struct lw_target *t, pid_t pid);
/* The same, quiet: for the system scan, where processes come and go. */
int target_probe_pid(struct lw_target *t, pid_t pid);
/* Its mapped objects read anew (an exec, before it is traced). */
void target_reload_objs(struct lw_target *t);
int target_launch(struct lw_target *t, char **cmd);
int target_release(struct lw_target *t); /* lets a launched child exec */
bool target_poll_exit(struct lw_target *t);
/* A launched shell may exec the real program: follow its name. */
void target_refresh(struct lw_target *t);
void target_close(struct lw_target *t);

#endif
