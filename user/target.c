// SPDX-License-Identifier: GPL-2.0
/*
 * The process we observe: found by PID, or launched by us and held
 * before exec until the probes are in place, so that we see it from its
 * first instruction.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "elfsym.h"
#include "target.h"
#include "util.h"

extern char **environ;

static int pidfd_open(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

static void read_comm(struct lw_target *t)
{
	char path[64];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", t->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	/* A comm may hold newlines itself (prctl PR_SET_NAME takes any
	 * byte): only the last one is the kernel's. */
	n = fread(t->comm, 1, sizeof(t->comm) - 1, f);
	t->comm[n] = 0;
	if (n && t->comm[n - 1] == '\n')
		t->comm[n - 1] = 0;
	fclose(f);
}

static void add_obj(struct lw_target *t, const char *name, const char *open)
{
	struct lw_obj *o;
	char buf[PATH_MAX];
	int i;

	for (i = 0; i < t->nobjs; i++)
		if (!strcmp(t->objs[i].name, name))
			return;
	o = realloc(t->objs, (t->nobjs + 1) * sizeof(*t->objs));
	if (!o)
		return;
	t->objs = o;
	if (!open) {
		/* a container's files are under its root, not ours */
		snprintf(buf, sizeof(buf), "%s%s", t->root, name);
		open = buf;
	}
	t->objs[t->nobjs].name = strdup(name);
	t->objs[t->nobjs].open = strdup(open);
	t->nobjs++;
}

static bool is_libc(const char *path)
{
	return lw_base_is(path, "libc.so") || lw_base_is(path, "libc-");
}

static bool is_loader(const char *path)
{
	return strstr(path, "/ld-linux") || strstr(path, "/ld64.so");
}

/*
 * Mapped objects in an order close to the dynamic linker's: the
 * executable, then libraries that may interpose (a preloaded jemalloc),
 * then libc. The loader's private malloc never serves the program.
 */
static void objs_from_maps(struct lw_target *t)
{
	char path[64], line[PATH_MAX + 128], perms[8], file[PATH_MAX];
	char range[64], open[128], libc_open[128] = "";
	bool saw_libc = false;
	char libc[PATH_MAX] = "";
	FILE *f;

	/* the link opens the executable even when its file was replaced */
	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	add_obj(t, t->exe, path);
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		file[0] = 0;
		if (sscanf(line, "%63s %7s %*s %*s %*s %4095[^\n]", range,
			   perms, file) < 3 ||
		    file[0] != '/' || !strchr(perms, 'x'))
			continue;
		if (is_loader(file) || strstr(file, " (deleted)"))
			continue;
		/*
		 * The mapped file itself, through the kernel: no path is
		 * resolved, so no symlink of a container's root can lead
		 * out of it, and a file replaced since is still the one run.
		 */
		snprintf(open, sizeof(open), "/proc/%d/map_files/%s", t->pid,
			 range);
		if (is_libc(file)) {
			saw_libc = true;
			snprintf(libc, sizeof(libc), "%s", file);
			snprintf(libc_open, sizeof(libc_open), "%s", open);
			continue;
		}
		add_obj(t, file, open);
	}
	fclose(f);
	if (saw_libc)
		add_obj(t, libc, libc_open);
}

static int open_pid(struct lw_target *t, pid_t pid, bool quiet)
{
	char path[64];
	ssize_t n;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->go_fd = t->exec_err_fd = -1;
	t->pidfd = pidfd_open(pid);
	if (t->pidfd < 0) {
		if (!quiet)
			lw_err("no such process: %d", pid);
		return LW_EXIT_NO_TARGET;
	}
	snprintf(t->root, sizeof(t->root), "/proc/%d/root", pid);
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, t->exe, sizeof(t->exe) - 1);
	if (n < 0) {
		if (!quiet)
			lw_err("cannot read %s: %s (a kernel thread?)", path,
			       strerror(errno));
		close(t->pidfd);
		t->pidfd = -1;
		return LW_EXIT_BAD_TARGET;
	}
	t->exe[n] = 0;
	read_comm(t);
	objs_from_maps(t);
	return LW_EXIT_OK;
}

int target_open_pid(struct lw_target *t, pid_t pid)
{
	return open_pid(t, pid, false);
}

int target_probe_pid(struct lw_target *t, pid_t pid)
{
	return open_pid(t, pid, true);
}

static void free_objs(struct lw_target *t)
{
	int i;

	for (i = 0; i < t->nobjs; i++) {
		free(t->objs[i].name);
		free(t->objs[i].open);
	}
	free(t->objs);
	t->objs = NULL;
	t->nobjs = 0;
}

void target_reload_objs(struct lw_target *t)
{
	free_objs(t);
	objs_from_maps(t);
}

static bool find_in_path(const char *cmd, char *out, size_t len)
{
	const char *p = getenv("PATH");
	char *dirs, *dir, *save = NULL;
	bool found = false;

	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return access(out, F_OK) == 0;
	}
	dirs = strdup(p ? p : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", *dir ? dir : ".", cmd);
		found = access(out, X_OK) == 0;
	}
	free(dirs);
	return found;
}

/* "#!/bin/sh -e": the interpreter is the ELF file that will run. */
static bool script_interp(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];
	FILE *f = fopen(path, "re");
	bool ok = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && buf[0] == '#' && buf[1] == '!') {
		ok = sscanf(buf + 2, " %4095s", out) == 1;
		(void)len;
	}
	fclose(f);
	return ok;
}

/* Ask the dynamic linker which libraries it would load, in its order. */
static void objs_from_loader(struct lw_target *t, const char *interp,
			     const char *exe)
{
	char *argv[] = { (char *)interp, "--list", (char *)exe, NULL };
	char line[PATH_MAX + 64], file[PATH_MAX];
	posix_spawn_file_actions_t fa;
	int pfd[2], status;
	pid_t pid;
	FILE *f;

	if (pipe2(pfd, O_CLOEXEC))
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, interp, &fa, NULL, argv, environ)) {
		close(pfd[0]);
		close(pfd[1]);
		posix_spawn_file_actions_destroy(&fa);
		return;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*s => %4095s", file) == 1 &&
		    file[0] == '/' && !is_loader(file))
			add_obj(t, file, NULL);
	}
	if (f)
		fclose(f);
	waitpid(pid, &status, 0);
}

static int resolve_objects(struct lw_target *t)
{
	char elf_path[PATH_MAX];
	struct elf_obj *o;

	snprintf(elf_path, sizeof(elf_path), "%s", t->exe);
	if (access(t->exe, R_OK)) {
		lw_err("cannot read %s: %s", t->exe, strerror(errno));
		return LW_EXIT_BAD_TARGET;
	}
	o = elf_obj_open(elf_path);
	if (!o && errno == ENOEXEC &&
	    script_interp(t->exe, elf_path, sizeof(elf_path)))
		o = elf_obj_open(elf_path);
	if (!o) {
		lw_err("cannot use %s: %s", t->exe,
		       errno == ENOEXEC ? "not an ELF executable or script"
					: strerror(errno));
		return LW_EXIT_BAD_TARGET;
	}
	add_obj(t, elf_path, NULL);
	if (elf_obj_interp(o)) {
		snprintf(t->interp, sizeof(t->interp), "%s", elf_obj_interp(o));
		objs_from_loader(t, t->interp, elf_path);
	}
	elf_obj_close(o);
	return LW_EXIT_OK;
}

static void child(const int *go, const int *err, const char *path, char **cmd)
{
	char c = 0;
	int e;

	/* nothing may allocate here: the probes are already watching */
	close(go[1]);
	close(err[0]);
	while (read(go[0], &c, 1) < 0 && errno == EINTR)
		;
	if (c != 'g')
		_exit(127);
	execv(path, cmd);
	e = errno;
	if (write(err[1], &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int target_launch(struct lw_target *t, char **cmd)
{
	int go[2], err[2], rc;

	memset(t, 0, sizeof(*t));
	t->launched = true;
	t->pidfd = t->go_fd = t->exec_err_fd = -1;
	if (!find_in_path(cmd[0], t->exe, sizeof(t->exe))) {
		lw_err("command not found: %s", cmd[0]);
		return LW_EXIT_NO_TARGET;
	}
	if (access(t->exe, X_OK)) {
		lw_err("cannot execute %s: %s", t->exe, strerror(errno));
		return LW_EXIT_BAD_TARGET;
	}
	rc = resolve_objects(t);
	if (rc)
		return rc;
	snprintf(t->comm, sizeof(t->comm), "%.15s", lw_base_name(t->exe));
	snprintf(t->root, sizeof(t->root), "%s", "");
	if (pipe2(go, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		lw_err("pipe: %s", strerror(errno));
		return LW_EXIT_ERROR;
	}
	fflush(NULL);
	t->pid = fork();
	if (t->pid < 0) {
		lw_err("fork: %s", strerror(errno));
		return LW_EXIT_ERROR;
	}
	if (t->pid == 0)
		child(go, err, t->exe, cmd);
	close(go[0]);
	close(err[1]);
	t->go_fd = go[1];
	t->exec_err_fd = err[0];
	t->pidfd = pidfd_open(t->pid);
	return LW_EXIT_OK;
}

int target_release(struct lw_target *t)
{
	ssize_t n;
	int e = 0;

	if (!t->launched || t->go_fd < 0)
		return LW_EXIT_OK;
	n = write(t->go_fd, "g", 1);
	close(t->go_fd);
	t->go_fd = -1;
	if (n != 1)
		return LW_EXIT_ERROR;
	/* the pipe closes on a successful exec: EOF */
	n = read(t->exec_err_fd, &e, sizeof(e));
	close(t->exec_err_fd);
	t->exec_err_fd = -1;
	if (n == sizeof(e)) {
		waitpid(t->pid, &t->status, 0);
		t->exited = true;
		lw_err("cannot execute %s: %s", t->exe, strerror(e));
		return e == ENOENT ? LW_EXIT_NO_TARGET : LW_EXIT_BAD_TARGET;
	}
	return LW_EXIT_OK;
}

void target_refresh(struct lw_target *t)
{
	char path[64], exe[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = 0;
	snprintf(t->exe, sizeof(t->exe), "%s", exe);
	read_comm(t);
}

bool target_poll_exit(struct lw_target *t)
{
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };

	if (t->exited)
		return true;
	if (t->pidfd < 0 || poll(&p, 1, 0) <= 0)
		return false;
	t->exited = true;
	if (t->launched)
		waitpid(t->pid, &t->status, 0);
	return true;
}

void target_close(struct lw_target *t)
{
	if (t->go_fd >= 0) {
		/* never released: let the child go away without exec */
		close(t->go_fd);
		waitpid(t->pid, NULL, 0);
	}
	if (t->exec_err_fd >= 0)
		close(t->exec_err_fd);
	if (t->pidfd >= 0)
		close(t->pidfd);
	free_objs(t);
}
