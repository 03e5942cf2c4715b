// SPDX-License-Identifier: GPL-2.0
/*
 * --pprof-dir and --pprof-keep (pprof_dir.h): names, the start check and
 * the retention. The profile itself is report_pprof's, one per process.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pprof_dir.h"
#include "proc.h"
#include "util.h"

/* The longest name: a whole comm, a pid, the stamp, ".tmp" while it is
 * written (lw_replace_open). */
#define PD_NAME_MAX                                                            \
	(sizeof(((struct lw_target *)0)->comm) + 1 + 10 + 1 +                  \
	 LW_PPROF_STAMP_LEN + sizeof(LW_PPROF_DIR_SUFFIX) + sizeof(".tmp"))

int pprof_dir_check(const char *dir)
{
	char probe[PATH_MAX];
	struct stat st;
	int fd;

	if (stat(dir, &st)) {
		lw_err("--pprof-dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		lw_err("--pprof-dir %s: not a directory", dir);
		return -1;
	}
	if (strlen(dir) + 1 + PD_NAME_MAX > sizeof(probe)) {
		lw_err("--pprof-dir %s: %s", dir, strerror(ENAMETOOLONG));
		return -1;
	}
	/* a file of a name nobody has: nothing of DIR is touched */
	snprintf(probe, sizeof(probe), "%s/.leakwatch-check-XXXXXX", dir);
	fd = mkstemp(probe);
	if (fd < 0) {
		lw_err("--pprof-dir %s: cannot create files in it: %s", dir,
		       strerror(errno));
		return -1;
	}
	close(fd);
	unlink(probe);
	return 0;
}

/* What a file name may hold of a comm; a leading '.' would hide it. */
static bool safe_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       (c == '.' && !first);
}

size_t pprof_dir_prefix(const char *comm, pid_t pid, char *buf, size_t len)
{
	size_t n = 0, i;
	int w;

	for (i = 0; comm[i] && n + 1 < len; i++, n++)
		buf[n] = safe_char(comm[i], !i) ? comm[i] : '_';
	if (!i && n + 1 < len) /* an empty comm (prctl can set one) */
		buf[n++] = '_';
	if (comm[i] || n >= len)
		return 0;
	w = snprintf(buf + n, len - n, "-%d.", (int)pid);
	if (w < 0 || (size_t)w >= len - n)
		return 0;
	return n + w;
}

void pprof_dir_stamp(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	size_t n;

	gmtime_r(&ts->tv_sec, &tm);
	n = strftime(buf, len, "%Y%m%dT%H%M%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts->tv_nsec / 1000000);
}

static bool is_stamp(const char *s)
{
	static const char form[] = "ddddddddTdddddd.dddZ";
	int i;

	for (i = 0; i < LW_PPROF_STAMP_LEN; i++)
		if (form[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != form[i])
			return false;
	return true;
}

bool pprof_dir_is_ours(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(name, prefix, n))
		return false;
	name += n;
	return strlen(name) ==
		       LW_PPROF_STAMP_LEN + strlen(LW_PPROF_DIR_SUFFIX) &&
	       is_stamp(name) &&
	       !strcmp(name + LW_PPROF_STAMP_LEN, LW_PPROF_DIR_SUFFIX);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of prefix's files in dir, sorted: oldest first. */
static int list_ours(const char *dir, const char *prefix, char ***out,
		     size_t *n)
{
	size_t cap = 0;
	struct dirent *e;
	char **v = NULL;
	DIR *d;
	int err = 0;

	*n = 0;
	*out = NULL;
	d = opendir(dir);
	if (!d)
		return errno;
	while (!err && (errno = 0, e = readdir(d))) {
		if (!pprof_dir_is_ours(e->d_name, prefix))
			continue;
		if (lw_grow((void **)&v, &cap, *n + 1, sizeof(*v), 16) ||
		    !(v[*n] = strdup(e->d_name)))
			err = ENOMEM;
		else
			(*n)++;
	}
	if (!err && errno)
		err = errno;
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_names);
	*out = v;
	return err;
}

int pprof_dir_prune(const char *dir, const char *prefix, long keep)
{
	char path[PATH_MAX], **v;
	size_t n, i;
	int err, rc = 0;

	err = list_ours(dir, prefix, &v, &n);
	if (err) {
		lw_err("--pprof-keep: reading %s: %s", dir, strerror(err));
		rc = -1;
	}
	for (i = 0; !err && n > (size_t)keep && i < n - keep; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, v[i]);
		/* gone already: whoever reads DIR may take files away */
		if (unlink(path) && errno != ENOENT) {
			lw_err("--pprof-keep: removing %s: %s", path,
			       strerror(errno));
			rc = -1;
		}
	}
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

/* One process's profile at stamp, then its files beyond keep. */
static int write_one(const char *dir, long keep, const char *stamp,
		     struct lw_view *v)
{
	char prefix[NAME_MAX + 1], path[PATH_MAX];

	if (!pprof_dir_prefix(v->target->comm, v->target->pid, prefix,
			      sizeof(prefix)) ||
	    snprintf(path, sizeof(path), "%s/%s%s%s", dir, prefix, stamp,
		     LW_PPROF_DIR_SUFFIX) >= (int)sizeof(path)) {
		lw_err("--pprof-dir %s: %s", dir, strerror(ENAMETOOLONG));
		return -1;
	}
	if (report_pprof(path, v))
		return -1;
	return keep ? pprof_dir_prune(dir, prefix, keep) : 0;
}

int pprof_dir_write(const char *dir, long keep, struct lw_view *v)
{
	char stamp[LW_PPROF_STAMP_LEN + 1];
	struct timespec ts;
	struct lw_view pv;
	struct lw_proc *p;
	size_t i;
	int rc = 0;

	/* one stamp for the report: its files go together */
	clock_gettime(CLOCK_REALTIME, &ts);
	pprof_dir_stamp(&ts, stamp, sizeof(stamp));
	if (!v->sys)
		return write_one(dir, keep, stamp, v);
	for (i = 0; i < v->sys->n; i++) {
		p = v->sys->v[i];
		/* as the text report: zoomed now, or at the end, traced
		 * before (exited or let go) */
		if (!p->zoomed && !(v->final && p->planned))
			continue;
		if (!proc_has_sites(p))
			continue;
		pv = view_of_proc(v, p);
		if (write_one(dir, keep, stamp, &pv))
			rc = -1;
	}
	return rc;
}
