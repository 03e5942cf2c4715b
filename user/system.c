// SPDX-License-Identifier: GPL-2.0
/* The process table, its scan of /proc, and the zoom policy. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "safestr.h"
#include "system.h"
#include "util.h"

/*
 * Where cgroup v2 is mounted: /sys/fs/cgroup, or /sys/fs/cgroup/unified
 * on a hybrid system (v1 controllers beside it).
 */
static bool cgroup2_mount(char *out, size_t len)
{
	char line[PATH_MAX * 2], mnt[PATH_MAX], *sep;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SRC OPTS
		 */
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) ||
		    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		snprintf(out, len, "%s", mnt);
		found = true;
	}
	fclose(f);
	return found;
}

/* "/sys/fs/cgroup/a/b/" and "a/b" both mean "/a/b", as /proc says it. */
static void cgroup_norm(const char *in, const char *root, char *out, size_t len)
{
	size_t n = strlen(root);

	if (n > 1 && !strncmp(in, root, n) && (!in[n] || in[n] == '/'))
		in += n;
	snprintf(out, len, "%s%s", in[0] == '/' ? "" : "/", in);
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = 0;
}

int system_init(struct lw_system *s, bool all, char *const *comm,
		const char *cgroup, int zoom_max)
{
	char root[PATH_MAX], path[2 * PATH_MAX + 8];
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->all = all;
	s->comm = comm;
	s->zoom_max = zoom_max;
	s->self = getpid();
	if (!cgroup)
		return LW_EXIT_OK;
	if (!cgroup2_mount(root, sizeof(root))) {
		lw_err("--cgroup: cgroup v2 is not mounted here");
		return LW_EXIT_NO_TARGET;
	}
	cgroup_norm(cgroup, root, s->cgroup, sizeof(s->cgroup));
	snprintf(path, sizeof(path), "%s%s", root, s->cgroup);
	errno = 0;
	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		lw_err("no such cgroup: %s (%s: %s)", cgroup, path,
		       strerror(errno ? errno : ENOTDIR));
		return LW_EXIT_NO_TARGET;
	}
	return LW_EXIT_OK;
}

int system_add(struct lw_system *s, struct lw_proc *p)
{
	struct lw_proc **v;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		v = realloc(s->v, s->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
	}
	s->v[s->n++] = p;
	s->seen++;
	return 0;
}

struct lw_proc *system_find(struct lw_system *s, pid_t pid)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i]->pid == pid && !s->v[i]->exited)
			return s->v[i];
	return NULL;
}

/* Chosen by --comm or --cgroup; with neither, every process is. */
static bool chosen(const struct lw_system *s, const struct lw_proc *p)
{
	char *const *c;
	size_t n;

	if (s->cgroup[0]) {
		n = strlen(s->cgroup);
		if (strncmp(p->cgroup, s->cgroup, n) ||
		    (p->cgroup[n] && p->cgroup[n] != '/' && n > 1))
			return false;
	}
	if (!s->comm)
		return true;
	for (c = s->comm; *c; c++)
		if (!fnmatch(*c, p->target.comm, 0))
			return true;
	return false;
}

bool system_restricted(const struct lw_system *s)
{
	return s->comm || s->cgroup[0];
}

static int by_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

void system_scan(struct lw_system *s, double now, uint32_t gen)
{
	pid_t *known = malloc((s->n + 1) * sizeof(*known)), pid;
	size_t nknown = 0, i;
	struct lw_proc *p;
	struct dirent *e;
	DIR *dir;

	if (!s->all || !known || !(dir = opendir("/proc"))) {
		free(known);
		return;
	}
	for (i = 0; i < s->n; i++)
		if (!s->v[i]->exited)
			known[nknown++] = s->v[i]->pid;
	qsort(known, nknown, sizeof(*known), by_pid);
	while ((e = readdir(dir))) {
		pid = strtol(e->d_name, NULL, 10);
		if (pid <= 0 || pid == s->self ||
		    bsearch(&pid, known, nknown, sizeof(pid), by_pid))
			continue;
		p = proc_probe(pid, now, gen);
		if (!p)
			continue; /* a kernel thread, or gone already */
		if (!chosen(s, p) || system_add(s, p)) {
			proc_free(p);
			continue;
		}
		p->pinned = system_restricted(s);
	}
	closedir(dir);
	free(known);
}

static bool keep_exited(const struct lw_proc *p)
{
	return p->planned || p->ever_suspect;
}

/* A process of interest gets a line of its own; the others a count. */
static void say_exit(FILE *out, const struct lw_proc *p, unsigned *others)
{
	char rss[32], comm[80];

	if (!p->shown)
		return;
	if (!keep_exited(p)) {
		(*others)++;
		return;
	}
	lw_fmt_bytes(p->rss, rss, sizeof(rss));
	lw_safe(p->target.comm, comm, sizeof(comm), 0);
	fprintf(out,
		"\nleakwatch: pid %d (%s) exited (rss %s at the last "
		"report)\n",
		p->pid, comm, rss);
}

void system_reap(struct lw_system *s, struct lw_depth *d, FILE *out)
{
	unsigned others = 0;
	struct lw_proc *p;
	size_t i, k = 0;

	for (i = 0; i < s->n; i++) {
		p = s->v[i];
		if (!p->exited && target_poll_exit(&p->target)) {
			p->exited = true;
			depth_release(d, p);
			say_exit(out, p, &others);
			s->exits += p->shown;
			if (!keep_exited(p)) {
				proc_free(p);
				continue;
			}
		}
		s->v[k++] = p;
	}
	s->n = k;
	if (others)
		fprintf(out,
			"\nleakwatch: %u other process%s exited (never "
			"suspect)\n",
			others, others == 1 ? "" : "es");
}

/*
 * The signal rising fastest relative to its level (a suspect one first,
 * when bias), or -1; *rel its growth per second over its level.
 */
static int fastest(const struct lw_proc *p, bool bias, double *rel)
{
	double best = 0, r;
	int i, k = -1;

	for (i = 0; i < LW_SIG_MAX; i++) {
		if (p->value[i] < 0 || p->fit[i].value_per_s <= 0)
			continue;
		r = p->fit[i].value_per_s / (p->value[i] + 1.0);
		if (bias && p->fit[i].suspect)
			r += 1e6;
		if (r > best) {
			best = r;
			k = i;
		}
	}
	*rel = best;
	return k;
}

static double growth_score(const struct lw_proc *p)
{
	double rel;

	fastest(p, false, &rel);
	return rel;
}

static int by_rank(const void *a, const void *b)
{
	const struct lw_proc *x = *(struct lw_proc *const *)a;
	const struct lw_proc *y = *(struct lw_proc *const *)b;
	double gx = growth_score(x), gy = growth_score(y);

	if (x->suspect != y->suspect)
		return y->suspect - x->suspect;
	if (x->zoomed != y->zoomed)
		return y->zoomed - x->zoomed;
	if (gx != gy)
		return gy > gx ? 1 : -1;
	return x->pid - y->pid;
}

size_t system_ranked(struct lw_system *s, struct lw_proc ***out)
{
	size_t i, n = 0;

	*out = malloc((s->n + 1) * sizeof(**out));
	if (!*out)
		return 0;
	for (i = 0; i < s->n; i++)
		if (!s->v[i]->exited)
			(*out)[n++] = s->v[i];
	qsort(*out, n, sizeof(**out), by_rank);
	return n;
}

static const char *const signal_names[LW_SIG_MAX] = {
	[LW_SIG_RSS] = "memory",
	[LW_SIG_THREADS] = "threads",
	[LW_SIG_GOROUTINES] = "goroutines",
	[LW_SIG_FDS] = "descriptors",
};

void system_growth(const struct lw_proc *p, char *buf, size_t len)
{
	double rel;
	/* a suspect signal names the growth before a faster one */
	int k = fastest(p, true, &rel);
	char b[32];

	if (k < 0) {
		snprintf(buf, len, "not growing");
		return;
	}
	if (k == LW_SIG_RSS) {
		lw_fmt_bytes(p->fit[k].value_per_s, b, sizeof(b));
		snprintf(buf, len, "%s +%s/s%s", signal_names[k], b,
			 p->fit[k].suspect ? ", rising steadily" : "");
	} else {
		snprintf(buf, len, "%s %+.1f/s%s", signal_names[k],
			 p->fit[k].value_per_s,
			 p->fit[k].suspect ? ", rising steadily" : "");
	}
}

void system_signal_cell(const struct lw_proc *p, enum lw_signal k, char *buf,
			size_t len)
{
	char a[32], b[32];

	if (p->value[k] < 0) {
		snprintf(buf, len, "-");
	} else if (k == LW_SIG_RSS) {
		lw_fmt_bytes(p->value[k], a, sizeof(a));
		lw_fmt_bytes(p->fit[k].value_per_s, b, sizeof(b));
		snprintf(buf, len, "%s %s%s/s", a,
			 p->fit[k].value_per_s >= 0 ? "+" : "", b);
	} else {
		snprintf(buf, len, "%lld %+.1f/s", (long long)p->value[k],
			 p->fit[k].value_per_s);
	}
}

static bool sites_suspect(struct lw_proc *p)
{
	size_t i;

	for (i = 0; i < p->model.n; i++)
		if (p->model.sites[i].fit.suspect)
			return true;
	return false;
}

static int zoomed_count(const struct lw_system *s)
{
	size_t i;
	int n = 0;

	for (i = 0; i < s->n; i++)
		n += s->v[i]->zoomed && !s->v[i]->exited;
	return n;
}

static void zoom(struct lw_system *s, struct lw_depth *d, FILE *out,
		 struct lw_proc *p, const char *why, double now)
{
	char comm[80];

	lw_safe(p->target.comm, comm, sizeof(comm), 0);
	if (depth_zoom(d, p)) {
		p->unzoomable = true;
		fprintf(out,
			"leakwatch: pid %d (%s) cannot be traced in "
			"depth (said above): triage only\n",
			p->pid, comm);
		return;
	}
	p->zoomed_at = now;
	snprintf(p->why, sizeof(p->why), "%s", why);
	fprintf(out, "leakwatch: zoom pid %d (%s): %s\n", p->pid, comm, why);
}

/* An auto-zoomed process calm for a full trend warm-up is let go. */
static void maybe_release(struct lw_depth *d, FILE *out, struct lw_proc *p)
{
	char comm[80];

	if (!p->zoomed || p->pinned)
		return;
	p->calm = p->suspect || sites_suspect(p) ? 0 : p->calm + 1;
	if (p->calm < TREND_MIN_SAMPLES)
		return;
	depth_release(d, p);
	fprintf(out,
		"leakwatch: release pid %d (%s): nothing grew for %d "
		"reports\n",
		p->pid, lw_safe(p->target.comm, comm, sizeof(comm), 0),
		p->calm);
}

void system_policy(struct lw_system *s, struct lw_depth *d, FILE *out,
		   double now)
{
	struct lw_proc **r, *p;
	size_t n = system_ranked(s, &r), i;
	int zoomed;
	char why[128], g[96], comm[80];

	for (i = 0; i < n; i++) {
		r[i]->ever_suspect |= r[i]->suspect;
		maybe_release(d, out, r[i]);
	}
	zoomed = zoomed_count(s);
	for (i = 0; i < n; i++) {
		p = r[i];
		if (p->zoomed || p->unzoomable || (!p->pinned && !p->suspect))
			continue;
		if (zoomed >= s->zoom_max) {
			if (p->pinned && !p->said_waiting) {
				fprintf(out,
					"leakwatch: pid %d (%s) waits: --zoom "
					"%d processes traced already\n",
					p->pid,
					lw_safe(p->target.comm, comm,
						sizeof(comm), 0),
					s->zoom_max);
				p->said_waiting = true;
			}
			continue;
		}
		system_growth(p, g, sizeof(g));
		if (p->pinned)
			snprintf(why, sizeof(why), "chosen by %s",
				 s->comm ? "--comm" : "--cgroup");
		else
			snprintf(why, sizeof(why), "suspect: %s", g);
		zoom(s, d, out, p, why, now);
		zoomed += p->zoomed;
	}
	free(r);
}

void system_free(struct lw_system *s, struct lw_depth *d)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (d)
			depth_release(d, s->v[i]);
		proc_free(s->v[i]);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}
