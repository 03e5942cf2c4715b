// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fdinfo.h"
#include "fds.h"
#include "util.h"

void fds_init(struct lw_fds *f, pid_t pid)
{
	memset(f, 0, sizeof(*f));
	f->pid = pid;
	f->open = -1;
	f->limit = f->limit_hard = -1;
	f->eta_s = -1;
	trend_init(&f->trend);
}

void fds_forget(struct lw_fds *f)
{
	/* the old image's entries are pruned: what survived is "at attach" */
	f->started = false;
	f->nstrike = 0;
}

void fds_free(struct lw_fds *f)
{
	free(f->attach);
	free(f->strike);
	f->attach = f->strike = NULL;
	f->nattach = f->nstrike = 0;
}

static int by_fd(const void *a, const void *b)
{
	const struct lw_fd_snap *x = a, *y = b;

	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	return x->file < y->file ? -1 : x->file > y->file;
}

static bool has(const struct lw_fd_snap *v, size_t n, uint32_t fd,
		uint64_t file)
{
	struct lw_fd_snap k = { .fd = fd, .file = file };

	return n && bsearch(&k, v, n, sizeof(*v), by_fd);
}

/* A map entry: its fd and file (the key the iterator's records match),
 * and its value. */
struct entry {
	struct lw_fd_snap k;
	struct lw_fd_val v;
};

static int entry_cmp(const void *a, const void *b)
{
	return by_fd(&((const struct entry *)a)->k,
		     &((const struct entry *)b)->k);
}

/* An entry of the image the process exec'd from: the exec program
 * counted those it closed; the rest live on, the new image's at attach. */
static void old_image(const struct lw_fd_key *key, struct lw_fd_key **gone,
		      size_t *ngone, size_t *cap)
{
	struct lw_fd_key *p;

	if (*ngone == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		p = realloc(*gone, *cap * sizeof(**gone));
		if (!p)
			return;
		*gone = p;
	}
	(*gone)[(*ngone)++] = *key;
}

/*
 * The map's open entries of (pid, epoch), sorted: the map holds every
 * traced process's descriptors. Those of an image the process exec'd
 * from are dropped.
 */
static struct entry *entries(struct lw_fds *f, int fds_fd, uint32_t epoch,
			     size_t *n)
{
	struct lw_fd_key key, *gone = NULL;
	size_t cap = 0, ngone = 0, gcap = 0, i;
	struct entry *v = NULL, *p;
	struct lw_fd_val val;
	void *prev = NULL;

	*n = 0;
	while (!bpf_map_get_next_key(fds_fd, prev, &key)) {
		prev = &key;
		if (key.tgid != (uint32_t)f->pid ||
		    bpf_map_lookup_elem(fds_fd, &key, &val))
			continue;
		if (key.epoch != epoch) {
			old_image(&key, &gone, &ngone, &gcap);
			continue;
		}
		if (!val.file) /* closed: its number's slot for the next */
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 256;
			p = realloc(v, cap * sizeof(*v));
			if (!p)
				break;
			v = p;
		}
		v[(*n)++] = (struct entry){ { .fd = key.fd, .file = val.file },
					    val };
	}
	/* deleting under get_next_key would restart the walk */
	for (i = 0; i < ngone; i++)
		bpf_map_delete_elem(fds_fd, &gone[i]);
	free(gone);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), entry_cmp);
	return v;
}

static struct entry *find_entry(struct entry *v, size_t n,
				const struct lw_fd_snap *k)
{
	struct entry key = { .k = *k };

	return n ? bsearch(&key, v, n, sizeof(*v), entry_cmp) : NULL;
}

static struct lw_site *pseudo_site(struct lw_model *m, uint64_t id,
				   const char *label)
{
	struct lw_site *s = model_site(m, id);

	if (!s->stack_read) {
		s->kind = LW_KIND_FD;
		s->epoch = m->epoch;
		s->depth = 0;
		s->stack_read = true;
		snprintf(s->label, sizeof(s->label), "%s", label);
	}
	s->scanned = 0;
	return s;
}

static void reset(struct lw_model *m)
{
	struct lw_site *s;
	size_t i;

	for (i = 0; i < m->n; i++) {
		s = &m->sites[i];
		if (s->kind != LW_KIND_FD)
			continue;
		s->scanned = 0;
		if (s->fd_types)
			fdtypes_clear(s->fd_types);
	}
}

static void tally(struct lw_site *s, struct lw_fdinfo *info, uint32_t fd)
{
	char name[256];

	if (s->scanned < 0)
		s->scanned = 0;
	s->scanned++;
	if (!s->fd_types)
		s->fd_types = calloc(1, sizeof(*s->fd_types));
	if (!s->fd_types || !info)
		return;
	if (fdinfo_describe(info, fd, name, sizeof(name)))
		snprintf(name, sizeof(name), "(closed since)");
	fdtypes_add(s->fd_types, name, 1);
}

/*
 * Entries whose file is not open: gone unseen, or closed (or opened)
 * between the iterator and the map's read. Twice in a row is no race:
 * the entry is dropped, and counted.
 */
static void strike(struct lw_fds *f, int fds_fd, uint32_t epoch,
		   const struct entry *ent, size_t nent,
		   const struct lw_fd_snap *snaps, size_t n)
{
	struct lw_fd_snap *next = nent ? malloc(nent * sizeof(*next)) : NULL;
	struct lw_fd_key key = { .tgid = f->pid, .epoch = epoch };
	struct lw_fd_val now;
	size_t i, k = 0;

	for (i = 0; i < nent; i++) {
		if (has(snaps, n, ent[i].k.fd, ent[i].k.file))
			continue;
		if (!has(f->strike, f->nstrike, ent[i].k.fd, ent[i].k.file)) {
			if (next)
				next[k++] = ent[i].k;
			continue;
		}
		key.fd = ent[i].k.fd;
		/* reopened since by a close and an open we saw: leave it */
		if (bpf_map_lookup_elem(fds_fd, &key, &now) ||
		    now.file != ent[i].v.file)
			continue;
		/* a reopen between this look and the delete loses its entry
		 * (its descriptor then shows as opened unseen): the window is
		 * a syscall long, on a path only lost closes take */
		if (!bpf_map_delete_elem(fds_fd, &key))
			f->closes_unseen++;
	}
	free(f->strike);
	f->strike = next;
	f->nstrike = k;
}

static void update_limit(struct lw_fds *f, double now)
{
	trend_add(&f->trend, now, f->open, f->open);
	trend_fit(&f->trend, &f->fit);
	fdinfo_limit(f->pid, &f->limit, &f->limit_hard);
	f->eta_s = -1;
	if (f->limit > f->open && f->fit.value_per_s > 0)
		f->eta_s = (f->limit - f->open) / f->fit.value_per_s;
}

/* Those alive at attach that are gone now (an exec's CLOEXEC, a close). */
static void first_look(struct lw_fds *f, const struct lw_fd_snap *snaps,
		       size_t n, struct entry *ent, size_t nent)
{
	struct lw_fd_snap *v = n ? malloc(n * sizeof(*v)) : NULL;
	size_t i, k = 0;

	for (i = 0; v && i < n; i++)
		if (!find_entry(ent, nent, &snaps[i]))
			v[k++] = snaps[i];
	for (i = 0; i < f->nattach; i++)
		if (!has(snaps, n, f->attach[i].fd, f->attach[i].file))
			f->attach_closed_at_exec++;
	free(f->attach);
	f->attach = v;
	f->nattach = k;
	f->started = true;
}

/* Those alive at attach that are open still: an exec's first look then
 * knows which ones the exec closed. */
static void keep_open_attach(struct lw_fds *f, const struct lw_fd_snap *snaps,
			     size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < f->nattach; i++)
		if (has(snaps, n, f->attach[i].fd, f->attach[i].file))
			f->attach[k++] = f->attach[i];
	f->nattach = k;
}

/* Which site an open descriptor counts at. */
static struct lw_site *site_for(struct lw_fds *f, struct lw_model *m,
				const struct entry *e,
				const struct lw_fd_snap *k)
{
	struct lw_site *s;

	if (e && e->v.site != LW_NO_SITE) {
		s = model_site(m, e->v.site);
		if (!s->stack_read)
			s->kind = LW_KIND_FD;
		return s;
	}
	if (e) /* opened under our eyes, its stack lost (counted) */
		return pseudo_site(m, LW_FD_LOST_ID, "[opened, stack lost]");
	if (has(f->attach, f->nattach, k->fd, k->file)) {
		f->at_attach++;
		return model_find(m, LW_FD_ATTACH_ID);
	}
	f->unseen++;
	return model_find(m, LW_FD_UNSEEN_ID);
}

void fds_begin(struct lw_fds *f, int fds_fd, uint32_t epoch,
	       struct lw_fd_snap *snaps, size_t n)
{
	struct entry *ent;
	size_t nent;

	if (n > 1)
		qsort(snaps, n, sizeof(*snaps), by_fd);
	ent = entries(f, fds_fd, epoch, &nent);
	first_look(f, snaps, n, ent, nent);
	free(ent);
}

int fds_update(struct lw_fds *f, struct lw_model *m, int fds_fd, uint32_t epoch,
	       uint32_t exec_closed, struct lw_fd_snap *snaps, size_t n,
	       double now)
{
	struct lw_fdinfo *info;
	struct entry *ent;
	size_t nent, i;

	/* the iterator came first: an entry made after it strikes once */
	if (n > 1)
		qsort(snaps, n, sizeof(*snaps), by_fd);
	ent = entries(f, fds_fd, epoch, &nent);
	if (!f->started)
		first_look(f, snaps, n, ent, nent);
	reset(m);
	pseudo_site(m, LW_FD_ATTACH_ID, "[alive at attach]");
	pseudo_site(m, LW_FD_UNSEEN_ID, "[opened unseen]");
	info = fdinfo_open(f->pid);
	f->at_attach = f->unseen = 0;
	/* model_site may move the sites: a site is looked up per fd */
	for (i = 0; i < n; i++)
		tally(site_for(f, m, find_entry(ent, nent, &snaps[i]),
			       &snaps[i]),
		      info, snaps[i].fd);
	fdinfo_close(info);
	keep_open_attach(f, snaps, n);
	strike(f, fds_fd, epoch, ent, nent, snaps, n);
	f->tracked = 0;
	for (i = 0; i < m->n; i++) {
		if (m->sites[i].kind != LW_KIND_FD)
			continue;
		if (m->sites[i].scanned > 0)
			f->tracked += m->sites[i].scanned;
		if (m->sites[i].fd_types)
			fdtypes_sort(m->sites[i].fd_types);
	}
	f->open = n;
	f->closed_at_exec = exec_closed + f->attach_closed_at_exec;
	update_limit(f, now);
	free(ent);
	return 0;
}
