// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "threads.h"

/* Ids of the sites of threads alive at attach, apart from site indices. */
#define ATTACH_ID (1ull << 62)

struct span {
	uint64_t lo, hi;
};

/* The target's mappings, to find the one holding a thread's stack. */
static struct span *read_maps(pid_t pid, size_t *n)
{
	char path[64], line[512];
	struct span *v = NULL, *p;
	unsigned long long lo, hi;
	size_t cap = 0;
	FILE *f;

	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx", &lo, &hi) != 2)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 256;
			p = realloc(v, cap * sizeof(*v));
			if (!p)
				break;
			v = p;
		}
		v[(*n)++] = (struct span){ lo, hi };
	}
	fclose(f);
	return v;
}

/* A blocked thread's stack pointer: /proc/PID/task/TID/syscall. */
static uint64_t stack_bytes(pid_t pid, const char *tid, const struct span *maps,
			    size_t n)
{
	unsigned long long sp = 0;
	char path[320], buf[256], *last;
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		/* "nr args... sp pc" or "-1 sp pc": sp is the next to last */
		last = strrchr(buf, ' ');
		if (last) {
			*last = 0;
			last = strrchr(buf, ' ');
			if (last)
				sp = strtoull(last + 1, NULL, 16);
		}
	}
	fclose(f);
	for (i = 0; sp && i < n; i++)
		if (sp >= maps[i].lo && sp < maps[i].hi)
			return maps[i].hi - maps[i].lo;
	return 0;
}

static void read_comm(pid_t pid, const char *tid, char *comm, size_t len)
{
	char path[320];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", pid, tid);
	comm[0] = 0;
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, len, f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
}

static struct lw_site *attach_site(struct lw_model *m, const char *comm)
{
	uint64_t h = 1469598103934665603ull;
	struct lw_site *s;
	const char *c;

	for (c = comm; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ull;
	s = model_site(m, ATTACH_ID | (h >> 3));
	if (!s->stack_read) {
		s->kind = LW_KIND_THREAD;
		s->epoch = m->epoch;
		s->depth = 0;
		s->stack_read = true;
		s->scanned = 0;
		snprintf(s->label, sizeof(s->label), "[alive at attach] %s",
			 comm);
	}
	return s;
}

static void reset(struct lw_model *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (m->sites[i].kind != LW_KIND_THREAD)
			continue;
		m->sites[i].scanned = 0;
		m->sites[i].thread_bytes = 0;
	}
}

static void count_thread(pid_t pid, struct lw_model *m, int fd, const char *tid,
			 const struct span *maps, size_t n)
{
	struct lw_go_val val;
	struct lw_site *s = NULL;
	__u32 key = strtoul(tid, NULL, 10);
	char comm[32];

	if (!bpf_map_lookup_elem(fd, &key, &val))
		s = model_find(m, val.site);
	if (!s) {
		read_comm(pid, tid, comm, sizeof(comm));
		s = attach_site(m, comm);
	}
	if (s->scanned < 0)
		s->scanned = 0;
	s->scanned++;
	s->thread_bytes += stack_bytes(pid, tid, maps, n);
}

/* Probe records of threads /proc no longer lists: an exit was lost. */
static void heal(pid_t pid, int fd, uint32_t cur_gen)
{
	__u32 key, next, *prev = NULL;
	struct lw_go_val val;
	char path[320];

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		snprintf(path, sizeof(path), "/proc/%d/task/%u", pid, key);
		if (access(path, F_OK) &&
		    !bpf_map_lookup_elem(fd, &key, &val) &&
		    val.gen + 1 < cur_gen) {
			bpf_map_delete_elem(fd, &key);
			prev = NULL; /* the walk restarts after a delete */
		}
	}
}

int threads_update(pid_t pid, struct lw_model *m, int fd, uint32_t cur_gen)
{
	struct dirent *d;
	struct span *maps;
	char path[64];
	size_t n;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	maps = read_maps(pid, &n);
	reset(m);
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			count_thread(pid, m, fd, d->d_name, maps, n);
	closedir(dir);
	free(maps);
	heal(pid, fd, cur_gen);
	return 0;
}
