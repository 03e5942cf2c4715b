// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"
#include "util.h"

struct ksym {
	uint64_t addr;
	uint32_t name;	 /* offset into the pool */
	uint32_t module; /* index into modules; 0: the kernel image */
	uint32_t order;	 /* line number: ties keep the file's order */
	bool local;	 /* 't': a global name at the same address wins */
};

struct lw_ksyms {
	struct ksym *syms;
	size_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
	char **modules; /* [0] is NULL: the kernel image */
	uint32_t nmodules;
};

static int pool_add(struct lw_ksyms *ks, const char *s, uint32_t *at)
{
	size_t len = strlen(s) + 1, cap = ks->pool_cap ? ks->pool_cap : 1 << 20;
	char *p;

	while (ks->pool_len + len > cap)
		cap *= 2;
	if (cap != ks->pool_cap) {
		p = realloc(ks->pool, cap);
		if (!p)
			return -ENOMEM;
		ks->pool = p;
		ks->pool_cap = cap;
	}
	memcpy(ks->pool + ks->pool_len, s, len);
	*at = ks->pool_len;
	ks->pool_len += len;
	return 0;
}

/* A module's lines are contiguous: the last one named is the likely one. */
static int module_index(struct lw_ksyms *ks, const char *name, uint32_t *idx)
{
	char **p;

	if (!name || !*name) {
		*idx = 0;
		return 0;
	}
	if (ks->nmodules > 1 && !strcmp(ks->modules[ks->nmodules - 1], name)) {
		*idx = ks->nmodules - 1;
		return 0;
	}
	for (*idx = 1; *idx < ks->nmodules; (*idx)++)
		if (!strcmp(ks->modules[*idx], name))
			return 0;
	p = realloc(ks->modules, (ks->nmodules + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	ks->modules = p;
	p[ks->nmodules] = strdup(name);
	if (!p[ks->nmodules])
		return -ENOMEM;
	*idx = ks->nmodules++;
	return 0;
}

/* Code only: data symbols would name addresses no stack holds. */
static bool is_text(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

/* The "[MODULE]" after a name, cut out in place; NULL if none. */
static char *module_of(char *rest)
{
	char *mod = strchr(rest, '[');

	if (!mod)
		return NULL;
	mod[strcspn(mod, "]\n")] = '\0';
	return mod + 1;
}

/* "ADDR TYPE NAME", then "\t[MODULE]" for a module's; 1 when not code. */
static int parse_line(struct lw_ksyms *ks, char *line, uint32_t order)
{
	char *name, *end, *mod = NULL;
	struct ksym *sym, *p;
	uint64_t addr;
	size_t len;
	char type;

	addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ' || !end[1] || end[2] != ' ')
		return 1;
	type = end[1];
	name = end + 3;
	len = strcspn(name, " \t\n");
	if (!is_text(type) || !len)
		return 1;
	if (name[len])
		mod = module_of(name + len + 1);
	name[len] = '\0';
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? 2 * ks->cap : 65536;
		p = realloc(ks->syms, ks->cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ks->syms = p;
	}
	sym = &ks->syms[ks->n];
	sym->addr = addr;
	sym->order = order;
	sym->local = type == 't' || type == 'w';
	if (pool_add(ks, name, &sym->name) ||
	    module_index(ks, mod, &sym->module))
		return -ENOMEM;
	ks->n++;
	return 0;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->local != y->local)
		return x->local ? 1 : -1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Every address zero: kernel pointers are hidden from this reader. */
static void warn_hidden(const char *path)
{
	static bool warned;
	char restrict_buf[16] = "?";
	FILE *f;

	if (warned)
		return;
	warned = true;
	f = fopen("/proc/sys/kernel/kptr_restrict", "re");
	if (f && fgets(restrict_buf, sizeof(restrict_buf), f))
		restrict_buf[strcspn(restrict_buf, "\n")] = '\0';
	if (f)
		fclose(f);
	lw_warn("%s shows every address as 0 (kernel.kptr_restrict = %s): "
		"kernel frames stay unnamed; run as root with "
		"kernel.kptr_restrict below 2",
		path, restrict_buf);
}

static int read_file(struct lw_ksyms *ks, FILE *f)
{
	uint32_t order = 0;
	size_t len = 0;
	char *line = NULL;
	int err = 0;

	while (!err && getline(&line, &len, f) > 0)
		err = parse_line(ks, line, order++) < 0 ? -ENOMEM : 0;
	free(line);
	return err;
}

struct lw_ksyms *ksyms_load_path(const char *path)
{
	struct lw_ksyms *ks = calloc(1, sizeof(*ks));
	FILE *f = fopen(path, "re");
	size_t i;
	int err;

	if (!ks || !f) {
		err = errno;
		goto fail;
	}
	/* module 0, NULL, stands for the kernel image */
	ks->modules = calloc(1, sizeof(*ks->modules));
	if (!ks->modules) {
		err = ENOMEM;
		goto fail;
	}
	ks->nmodules = 1;
	err = -read_file(ks, f);
	if (err)
		goto fail;
	fclose(f);
	f = NULL;
	for (i = 0; i < ks->n && !ks->syms[i].addr; i++)
		;
	if (ks->n && i == ks->n) {
		warn_hidden(path);
		ks->n = 0;
	}
	if (ks->n) /* qsort wants an array, even of nothing */
		qsort(ks->syms, ks->n, sizeof(*ks->syms), sym_cmp);
	return ks;
fail:
	if (f)
		fclose(f);
	ksyms_free(ks);
	errno = err ? err : ENOMEM;
	return NULL;
}

struct lw_ksyms *ksyms_load(void)
{
	return ksyms_load_path("/proc/kallsyms");
}

const char *ksyms_lookup(const struct lw_ksyms *ks, uint64_t addr,
			 uint64_t *off, const char **module)
{
	size_t lo = 0, hi = ks->n, mid;
	const struct ksym *s;

	/* the first entry above addr; the one before it holds addr */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &ks->syms[lo - 1];
	/* aliases: the first of the address (a global name, or the first) */
	while (s > ks->syms && s[-1].addr == s->addr)
		s--;
	if (off)
		*off = addr - s->addr;
	if (module)
		*module = ks->modules[s->module];
	return ks->pool + s->name;
}

size_t ksyms_count(const struct lw_ksyms *ks)
{
	return ks->n;
}

void ksyms_free(struct lw_ksyms *ks)
{
	uint32_t i;

	if (!ks)
		return;
	for (i = 0; i < ks->nmodules; i++)
		free(ks->modules[i]);
	free(ks->modules);
	free(ks->syms);
	free(ks->pool);
	free(ks);
}
