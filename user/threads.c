// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "threads.h"
#include "util.h"

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

/* Asleep or stopped in the kernel: its saved registers are where it is. */
static bool regs_current(const char *state)
{
	return strcmp(state, "running") && strcmp(state, "waiting");
}

/* "R (running)" -> what the thread is doing, as /proc says. */
static const char *read_state(pid_t pid, const char *tid)
{
	char path[320], buf[512], *close_paren;
	FILE *f;
	int c = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, tid);
	f = fopen(path, "re");
	if (f) {
		/* "tid (comm) S ...": comm may hold anything, even ')' */
		if (fgets(buf, sizeof(buf), f)) {
			close_paren = strrchr(buf, ')');
			if (close_paren && close_paren[1])
				c = close_paren[2];
		}
		fclose(f);
	}
	switch (c) {
	case 'R':
		return "running";
	case 'S':
		return "sleeping";
	case 'D':
		return "disk sleep";
	case 'T':
	case 't':
		return "stopped";
	default:
		return "waiting";
	}
}

static const struct lw_thread_snap *find_snap(const struct lw_thread_view *tv,
					      uint32_t tid)
{
	size_t lo = 0, hi = tv ? tv->n : 0, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (tv->snaps[mid].tid == tid)
			return &tv->snaps[mid];
		if (tv->snaps[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A thread's stack, innermost first: pcs[0] is where it is. */
struct tstack {
	uint64_t pcs[LW_MAX_STACK_DEPTH];
	int depth;
};

static bool in_module(struct symbolizer *sym, uint64_t pc, const char *prefix)
{
	struct lw_frame f;

	return symbolizer_resolve(sym, pc, true, &f, 1) >= 1 &&
	       lw_base_is(f.module, prefix);
}

/* Where glibc hands a thread (or the process) to the program. */
static bool is_thread_entry(const char *sym)
{
	return sym && (!strcmp(sym, "start_thread") ||
		       !strcmp(sym, "__libc_start_call_main"));
}

/*
 * What a thread born before attach runs: the frame below glibc's
 * start_thread (main's, for the main thread). A pc inside that function,
 * not a return address (so that it resolves to the function), or 0.
 */
static uint64_t start_of(const struct lw_thread_view *tv,
			 const struct tstack *st)
{
	struct lw_frame f;
	int k;

	if (!tv || !tv->sym)
		return 0;
	for (k = st->depth - 1; k >= 1; k--) {
		if (symbolizer_resolve(tv->sym, st->pcs[k], true, &f, 1) < 1 ||
		    !is_thread_entry(f.symbol))
			continue;
		/* in libstdc++: std::thread's trampoline, which runs the
		 * callable in the next frame */
		if (k > 2 && in_module(tv->sym, st->pcs[k - 1], "libstdc++"))
			k--;
		if (k > 1 && in_module(tv->sym, st->pcs[k - 1], "libc.so"))
			return 0; /* a tail call from it: unknown */
		return k > 1 ? st->pcs[k - 1] - 1 : st->pcs[0];
	}
	return 0;
}

static struct lw_site *attach_site(struct lw_model *m, const char *comm,
				   uint64_t start)
{
	uint64_t h = lw_mix64(lw_str_hash(comm) ^ start);
	struct lw_site *s;

	s = model_site(m, ATTACH_ID | (h >> 3));
	if (!s->stack_read) {
		s->kind = LW_KIND_THREAD;
		s->epoch = m->epoch;
		s->depth = 0;
		s->start = start;
		s->stack_read = true;
		s->scanned = 0;
		snprintf(s->label, sizeof(s->label), "[alive at attach] %s",
			 comm);
	}
	return s;
}

/* Threads of a site at one place in one state count together. */
static void note_blocked(struct lw_site *s, const struct tstack *st,
			 const char *state)
{
	/* a running thread has no stack: pc 0, depth 0 */
	uint64_t pc = st->depth ? st->pcs[0] : 0;
	struct lw_blocked *b;
	bool fresh;

	b = model_blocked(s, state, pc, &fresh);
	if (!b || !fresh)
		return;
	b->depth = st->depth;
	memcpy(b->pcs, st->pcs, st->depth * sizeof(b->pcs[0]));
}

static void reset(struct lw_model *m)
{
	struct lw_site *s;
	size_t i;

	for (i = 0; i < m->n; i++) {
		s = &m->sites[i];
		if (s->kind != LW_KIND_THREAD)
			continue;
		s->scanned = 0;
		s->thread_bytes = 0;
		free(s->blocked);
		s->blocked = NULL;
		s->nblocked = 0;
	}
}

struct scan {
	struct lw_threads *th;
	struct lw_model *m;
	int fd;
	const struct span *maps;
	size_t nmaps;
	const struct lw_thread_view *tv;
};

static int tid_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct lw_tid_entry *)a)->tid;
	uint32_t y = ((const struct lw_tid_entry *)b)->tid;

	return x < y ? -1 : x > y;
}

static const struct lw_tid_entry *known_entry(const struct lw_tid_entries *k,
					      uint32_t tid)
{
	struct lw_tid_entry key = { .tid = tid };

	return k->n ? bsearch(&key, k->v, k->n, sizeof(key), tid_cmp) : NULL;
}

static struct lw_tid_entry *new_entry(struct lw_tid_entries *k, uint32_t tid)
{
	struct lw_tid_entry *v;
	size_t cap = k->cap ? 2 * k->cap : 64;

	if (k->n == k->cap) {
		v = realloc(k->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		k->v = v;
		k->cap = cap;
	}
	v = &k->v[k->n++];
	memset(v, 0, offsetof(struct lw_tid_entry, pcs));
	v->tid = tid;
	return v;
}

/* A thread asleep where it slept at the last report has the same stack:
 * thousands of leaked threads are unwound once. */
static void thread_stack(const struct scan *sc, const struct lw_thread_snap *t,
			 const struct lw_tid_entry *prev, struct tstack *st)
{
	if (prev && prev->depth && prev->ip == t->ip && prev->sp == t->sp &&
	    prev->bp == t->bp) {
		st->depth = prev->depth;
		memcpy(st->pcs, prev->pcs, prev->depth * sizeof(st->pcs[0]));
		return;
	}
	st->depth = unwinder_stack(sc->th->uw, t, st->pcs, LW_MAX_STACK_DEPTH);
}

static void keep(const struct scan *sc, const struct lw_thread_snap *t,
		 const struct tstack *st, uint64_t site)
{
	struct lw_tid_entry *e = new_entry(&sc->th->next, t->tid);

	if (!e)
		return;
	e->site = site;
	e->ip = t->ip;
	e->sp = t->sp;
	e->bp = t->bp;
	e->depth = st->depth;
	memcpy(e->pcs, st->pcs, st->depth * sizeof(e->pcs[0]));
}

/*
 * A thread the probes did not see born. What it runs is known only from
 * a stack taken asleep: until then it counts under its name alone.
 */
static struct lw_site *attach_thread(const struct scan *sc, const char *tid,
				     const struct lw_tid_entry *prev,
				     const struct tstack *st, bool current,
				     uint64_t *site)
{
	struct lw_site *s =
		prev && prev->site ? model_find(sc->m, prev->site) : NULL;
	char comm[32];

	if (!s) {
		read_comm(sc->th->pid, tid, comm, sizeof(comm));
		s = attach_site(sc->m, comm,
				current ? start_of(sc->tv, st) : 0);
	}
	if (current || (prev && prev->site))
		*site = s->stack;
	return s;
}

static void count_thread(const struct scan *sc, const char *tid)
{
	struct lw_go_val val;
	struct lw_site *s = NULL;
	__u32 key = strtoul(tid, NULL, 10);
	const struct lw_thread_snap *t = find_snap(sc->tv, key);
	const struct lw_tid_entry *prev = known_entry(&sc->th->known, key);
	const char *state = read_state(sc->th->pid, tid);
	bool current = t && regs_current(state);
	struct tstack st = { .depth = 0 };
	uint64_t site = 0;

	if (current)
		thread_stack(sc, t, prev, &st);
	if (!bpf_map_lookup_elem(sc->fd, &key, &val))
		s = model_find(sc->m, val.site);
	if (!s)
		s = attach_thread(sc, tid, prev, &st, current, &site);
	if (s->scanned < 0)
		s->scanned = 0;
	s->scanned++;
	s->thread_bytes += stack_bytes(sc->th->pid, tid, sc->maps, sc->nmaps);
	if (t) {
		note_blocked(s, &st, state);
		keep(sc, t, &st, site);
	}
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

void threads_init(struct lw_threads *t, pid_t pid)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
}

void threads_forget(struct lw_threads *t)
{
	unwinder_free(t->uw);
	t->uw = NULL;
	t->known.n = 0;
}

void threads_free(struct lw_threads *t)
{
	unwinder_free(t->uw);
	free(t->known.v);
	free(t->next.v);
	memset(t, 0, sizeof(*t));
}

int threads_update(struct lw_threads *th, struct lw_model *m, int fd,
		   uint32_t cur_gen, const struct lw_thread_view *tv)
{
	struct scan sc = { .th = th, .m = m, .fd = fd, .tv = tv };
	struct lw_tid_entries swap;
	struct span *maps;
	struct dirent *d;
	char path[64];
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", th->pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	if (th->uw)
		unwinder_refresh(th->uw); /* dlopen'ed objects */
	else
		th->uw = unwinder_new(th->pid);
	if (!th->uw && !th->uw_warned) {
		lw_warn("cannot unwind the threads of pid %d: %s", th->pid,
			strerror(errno));
		th->uw_warned = true;
	}
	maps = read_maps(th->pid, &sc.nmaps);
	sc.maps = maps;
	reset(m);
	th->next.n = 0;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			count_thread(&sc, d->d_name);
	closedir(dir);
	free(maps);
	if (th->next.n > 1)
		qsort(th->next.v, th->next.n, sizeof(*th->next.v), tid_cmp);
	swap = th->known;
	th->known = th->next;
	th->next = swap;
	heal(th->pid, fd, cur_gen);
	return 0;
}
