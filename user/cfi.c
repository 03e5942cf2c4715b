// SPDX-License-Identifier: GPL-2.0
/*
 * The unwind tables' store: files, pages, entries and rules in the BPF
 * maps the walk reads (see include/leakwatch.h for their layout). A file
 * is published last: the walk uses its table only once the file's state
 * says READY, when every page and entry of it is in place.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "cfi.h"
#include "cfi_build.h"
#include "util.h"

#define RULE_SLOTS (2 * LW_CFI_MAX_RULES) /* a power of two */

int cfi_init(struct lw_cfi *c, const struct lw_cfi_fds *fds)
{
	memset(c, 0, sizeof(*c));
	c->fd = *fds;
	c->rules = calloc(LW_CFI_MAX_RULES, sizeof(*c->rules));
	c->rule_slot = calloc(RULE_SLOTS, sizeof(*c->rule_slot));
	if (!c->rules || !c->rule_slot)
		return -ENOMEM;
	return 0;
}

/* The kernel's dev_t (MAJOR << 20 | MINOR) of a user-space one. */
static uint64_t kdev(dev_t d)
{
	return (uint64_t)major(d) << 20 | minor(d);
}

static struct cfi_file *find_file(struct lw_cfi *c, const struct lw_file_key *k)
{
	int i;

	for (i = 0; i < c->nfiles; i++)
		if (c->files[i].key.dev == k->dev &&
		    c->files[i].key.ino == k->ino)
			return &c->files[i];
	return NULL;
}

/* The index of rule r, added to the rule map when new; -1 when full. */
static int64_t rule_index(struct lw_cfi *c, const struct lw_cfi_rule *r)
{
	uint64_t h = lw_mix64((uint64_t)(uint32_t)r->cfa_off << 32 ^
			      (uint64_t)(uint32_t)r->rbp_off << 8 ^ r->kind);
	uint32_t i = h & (RULE_SLOTS - 1), idx;

	for (;; i = (i + 1) & (RULE_SLOTS - 1)) {
		idx = c->rule_slot[i];
		if (!idx)
			break;
		if (!memcmp(&c->rules[idx - 1], r, sizeof(*r)))
			return idx - 1;
	}
	if (c->nrules == LW_CFI_MAX_RULES)
		return -1;
	idx = c->nrules;
	if (bpf_map_update_elem(c->fd.rules, &idx, r, BPF_ANY))
		return -1;
	c->rules[c->nrules++] = *r;
	c->rule_slot[i] = idx + 1;
	return idx;
}

/*
 * Entries (page offset << 20 | rule), then the file's pages (a range of
 * cfi_pages from its first page with entries to its last), then the file.
 */
static int publish(struct lw_cfi *c, struct cfi_file *f,
		   const struct cfi_rows *rows)
{
	uint32_t lo = rows->v[0].off >> LW_CFI_PAGE_SHIFT;
	uint32_t np = (rows->v[rows->n - 1].off >> LW_CFI_PAGE_SHIFT) - lo + 1;
	struct lw_cfi_page *pv = calloc(np, sizeof(*pv));
	uint32_t *pk = calloc(np, sizeof(*pk));
	uint32_t *keys = calloc(rows->n, sizeof(*keys));
	uint32_t *vals = calloc(rows->n, sizeof(*vals));
	uint32_t i, page, count, n = rows->n;
	struct lw_file_val fv;
	int64_t rule;
	int err = -ENOMEM;

	if (!pk || !pv || !keys || !vals)
		goto out;
	err = -ENOSPC;
	if (c->used_entries + n > LW_CFI_MAX_ENTRIES ||
	    c->used_pages + np > LW_CFI_MAX_PAGES)
		goto out;
	for (i = 0; i < n; i++) {
		rule = rule_index(c, &rows->v[i].rule);
		if (rule < 0)
			goto out;
		page = (rows->v[i].off >> LW_CFI_PAGE_SHIFT) - lo;
		if (!pv[page].count)
			pv[page].first = c->used_entries + i;
		pv[page].count++;
		keys[i] = c->used_entries + i;
		vals[i] = (rows->v[i].off & ((1u << LW_CFI_PAGE_SHIFT) - 1))
				  << LW_CFI_RULE_BITS |
			  (uint32_t)rule;
	}
	for (i = 0; i < np; i++)
		pk[i] = c->used_pages + i;
	count = n;
	if (bpf_map_update_batch(c->fd.entries, keys, vals, &count, NULL))
		goto fail;
	count = np;
	if (bpf_map_update_batch(c->fd.pages, pk, pv, &count, NULL))
		goto fail;
	fv = (struct lw_file_val){ .id = f->id,
				   .state = LW_FILE_READY,
				   .page_base = c->used_pages,
				   .page_lo = lo,
				   .npages = np };
	c->used_entries += n;
	c->used_pages += np;
	f->entries = n;
	f->pages = np;
	err = bpf_map_update_elem(c->fd.files, &f->key, &fv, BPF_ANY) ? -errno
								      : 0;
	goto out;
fail:
	err = -errno;
out:
	free(pk);
	free(pv);
	free(keys);
	free(vals);
	return err;
}

static void mark(struct lw_cfi *c, struct cfi_file *f, uint32_t state)
{
	struct lw_file_val fv = { .id = f->id, .state = state };

	f->state = state;
	bpf_map_update_elem(c->fd.files, &f->key, &fv, BPF_ANY);
}

static void load(struct lw_cfi *c, const struct lw_file_key *key,
		 const char *open, const char *name)
{
	struct cfi_rows rows;
	struct cfi_file *f, *files;
	double t0 = lw_now();
	int err;

	if (find_file(c, key))
		return;
	files = realloc(c->files, (c->nfiles + 1) * sizeof(*files));
	if (!files)
		return;
	c->files = files;
	f = &c->files[c->nfiles];
	*f = (struct cfi_file){ .key = *key,
				.id = c->nfiles,
				.name = strdup(name) };
	c->nfiles++;
	err = cfi_build_file(open, &rows);
	if (!err)
		err = publish(c, f, &rows);
	c->build_s += lw_now() - t0;
	if (!err) {
		f->state = LW_FILE_READY;
		lw_debug("unwind table of %s: %u entries (%zu return "
			 "addresses, %zu without CFI, %zu not followed, %zu "
			 "signal trampolines) in %u pages, from %s",
			 name, f->entries, rows.calls, rows.no_cfi, rows.stops,
			 rows.signals, f->pages, rows.src ? rows.src : "-");
	} else if (err == -ENOSPC && !c->full_said) {
		lw_warn("unwind tables full (%u files, %u entries): %s and "
			"later files are walked by frame pointers",
			c->nfiles - 1, c->used_entries, name);
		c->full_said = true;
	} else if (err == -EBADMSG) {
		lw_warn("%s: its CFI is malformed: its frames are walked by "
			"frame pointers",
			name);
	} else if (err != -ENOSPC) {
		lw_debug("no unwind table for %s: %s: frame pointers", name,
			 err == -ENODATA ? "no CFI" : strerror(-err));
	}
	if (err)
		mark(c, f, LW_FILE_NONE);
	cfi_rows_free(&rows);
}

void cfi_add_path(struct lw_cfi *c, const char *open, const char *name)
{
	struct lw_file_key key;
	struct stat st;

	if (stat(open, &st))
		return;
	key = (struct lw_file_key){ kdev(st.st_dev), st.st_ino };
	load(c, &key, open, name);
}

void cfi_add_pid(struct lw_cfi *c, pid_t pid)
{
	char path[64], line[PATH_MAX + 128], open[96];
	unsigned long long s, e, ino;
	unsigned int maj, min;
	struct lw_file_key key;
	char perms[8];
	int at = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%llx-%llx %7s %*x %x:%x %llu %n", &s, &e,
			   perms, &maj, &min, &ino, &at) != 6 ||
		    perms[2] != 'x' || !ino || line[at] != '/')
			continue;
		key = (struct lw_file_key){ (uint64_t)maj << 20 | min, ino };
		/* the mapped file itself: in a container, replaced, deleted */
		snprintf(open, sizeof(open), "/proc/%d/map_files/%llx-%llx",
			 pid, s, e);
		load(c, &key, open, line + at);
	}
	fclose(f);
}

void cfi_on_event(struct lw_cfi *c, const struct lw_file_event *e)
{
	char open[96], name[PATH_MAX];
	ssize_t n;

	snprintf(open, sizeof(open), "/proc/%u/map_files/%llx-%llx", e->tgid,
		 (unsigned long long)e->start, (unsigned long long)e->end);
	n = readlink(open, name, sizeof(name) - 1);
	if (n < 0) {
		/* unmapped already: let the walk ask again if it comes back */
		bpf_map_delete_elem(c->fd.files, &e->key);
		return;
	}
	name[n] = 0;
	load(c, &e->key, open, name);
}

void cfi_summary(const struct lw_cfi *c, char *buf, size_t len)
{
	int i, ready = 0;

	for (i = 0; i < c->nfiles; i++)
		ready += c->files[i].state == LW_FILE_READY;
	size_t used = (size_t)c->used_entries * 4 +
		      (size_t)c->used_pages * sizeof(struct lw_cfi_page) +
		      (size_t)c->nrules * sizeof(struct lw_cfi_rule);
	size_t reserved =
		(size_t)LW_CFI_MAX_ENTRIES * 4 +
		(size_t)LW_CFI_MAX_PAGES * sizeof(struct lw_cfi_page) +
		(size_t)LW_CFI_MAX_RULES * sizeof(struct lw_cfi_rule);

	snprintf(buf, len,
		 "unwind tables: %d files (%d without), %u entries, %u pages, "
		 "%u rules: %zu KiB of %zu KiB reserved; built in %.2f s",
		 ready, c->nfiles - ready, c->used_entries, c->used_pages,
		 c->nrules, used / 1024, reserved / 1024, c->build_s);
}

void cfi_free(struct lw_cfi *c)
{
	int i;

	for (i = 0; i < c->nfiles; i++)
		free(c->files[i].name);
	free(c->files);
	free(c->rules);
	free(c->rule_slot);
	memset(c, 0, sizeof(*c));
}
