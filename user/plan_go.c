// SPDX-License-Identifier: GPL-2.0
/*
 * Where goroutines are born and die: every RET of runtime.newproc1 (the
 * new g is its result) and runtime.goexit1 past its stack check. Entry
 * probes only: a uretprobe's trampoline address on a goroutine stack
 * crashes the Go runtime when it copies or scans that stack.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "elfsym.h"
#include "gopclntab.h"
#include "plan.h"
#include "util.h"

#define MAX_FUNC_BYTES (64 << 10)
#define MAX_RETS       8

/* The executable's symbols: its ELF file and, if it parses, .gopclntab. */
struct go_exe {
	struct elf_obj *o;
	struct gopclntab *t;
	int pcln_err;	  /* why t is NULL: ENOENT for none */
	bool symtab_only; /* the second try: .gopclntab named wrong code */
};

static int go_exe_open(struct go_exe *g, const struct lw_obj *exe)
{
	g->o = elf_obj_open(exe->open);
	if (!g->o)
		return -errno;
	g->t = gopclntab_open(exe->open);
	g->pcln_err = g->t ? 0 : errno;
	return 0;
}

/* Once: a second try from .symtab alone, if the first read .gopclntab. */
static bool retry_symtab(struct go_exe *g)
{
	if (!g->t || g->symtab_only)
		return false;
	g->symtab_only = true;
	return true;
}

static void go_exe_close(struct go_exe *g)
{
	gopclntab_close(g->t);
	elf_obj_close(g->o);
}

/*
 * .gopclntab first: the runtime itself finds its functions there, so a
 * program that runs has a true one, while .symtab is only read by tools
 * and may be garbage that parses (or be stripped). .symtab when the
 * pclntab does not name the function (its name table garbage), and
 * on a second try when what it names does not decode as expected.
 */
static bool find_go_func(struct go_exe *g, const char *name, struct elf_func *f)
{
	uint64_t entry, end;

	if (g->t && !g->symtab_only &&
	    gopclntab_func(g->t, name, &entry, &end) && end > entry &&
	    elf_obj_func_at(g->o, entry, end - entry, f))
		return true;
	return elf_obj_find_local(g->o, name, f) && f->size;
}

static struct lw_probe *add(struct lw_plan *plan, const struct lw_obj *exe,
			    enum lw_fn fn, const char *name,
			    const struct elf_func *f)
{
	struct lw_probe *p;

	if (plan->n == LW_MAX_PROBES)
		return NULL;
	p = &plan->probes[plan->n++];
	memset(p, 0, sizeof(*p));
	p->fn = fn;
	p->name = name;
	p->prog = LW_PROG_GO;
	p->func_off = f->file_off;
	snprintf(p->path, sizeof(p->path), "%s", exe->open);
	snprintf(p->module, sizeof(p->module), "%s", exe->name);
	return p;
}

static int plan_births(struct lw_plan *plan, const struct lw_obj *exe,
		       struct go_exe *g, uint8_t *code)
{
	uint64_t rets[MAX_RETS];
	struct elf_func f;
	struct lw_probe *p;
	size_t len;
	int n, i;

	if (!find_go_func(g, "runtime.newproc1", &f))
		return -ENOENT;
	len = elf_obj_read(g->o, &f, code, MAX_FUNC_BYTES);
	n = probe_place_rets(code, len, rets, MAX_RETS);
	if (n <= 0 || len < f.size)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		p = add(plan, exe, LW_FN_GO_NEWPROC, "runtime.newproc1", &f);
		if (!p)
			return -E2BIG;
		p->place.offset = rets[i];
		snprintf(p->place.insn, sizeof(p->place.insn), "ret");
	}
	return 0;
}

static int plan_deaths(struct lw_plan *plan, const struct lw_obj *exe,
		       struct go_exe *g, uint8_t *code)
{
	struct probe_place place;
	struct elf_func f;
	struct lw_probe *p;
	size_t len;

	if (!find_go_func(g, "runtime.goexit1", &f))
		return -ENOENT;
	len = elf_obj_read(g->o, &f, code, MAX_FUNC_BYTES);
	if (probe_place_after_stack_check(code, len, &place))
		return -EINVAL;
	p = add(plan, exe, LW_FN_GO_EXIT, "runtime.goexit1", &f);
	if (!p)
		return -E2BIG;
	p->place = place;
	return 0;
}

/* Right after each call of callee in fn: where the callee's *mspan is in
 * RAX. The calls are the slow paths' own (never inlined: checked on Go
 * 1.19 to 1.23). */
static int plan_after_call(struct lw_plan *plan, const struct lw_obj *exe,
			   struct go_exe *g, uint8_t *code, const char *fn,
			   const char *callee, enum lw_fn kind)
{
	uint64_t offs[MAX_RETS];
	struct elf_func f, c;
	struct lw_probe *p;
	size_t len;
	int n, i;

	if (!find_go_func(g, fn, &f) || !find_go_func(g, callee, &c))
		return -ENOENT;
	len = elf_obj_read(g->o, &f, code, MAX_FUNC_BYTES);
	n = probe_place_after_calls(code, len, f.vaddr, c.vaddr, offs,
				    MAX_RETS);
	if (n <= 0 || len < f.size)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		p = add(plan, exe, kind, fn, &f);
		if (!p)
			return -E2BIG;
		p->prog = LW_PROG_GO_HEAP;
		/* what -v shows: the instruction, and whether it is stepped */
		if (probe_place_first(code + offs[i], len - offs[i], &p->place))
			return -EINVAL;
		p->place.offset = offs[i];
	}
	return 0;
}

/* Both slow paths, or neither: half a sampler would weigh wrong. */
static int plan_slow_paths(struct lw_plan *plan, const struct lw_obj *exe,
			   struct go_exe *g, uint8_t *code)
{
	int n = plan->n;
	int err = plan_after_call(
		plan, exe, g, code, "runtime.(*mcache).refill",
		"runtime.(*mcentral).cacheSpan", LW_FN_GO_REFILL);

	if (!err)
		err = plan_after_call(plan, exe, g, code,
				      "runtime.(*mcache).allocLarge",
				      "runtime.(*mheap).alloc", LW_FN_GO_LARGE);
	if (err)
		plan->n = n;
	return err;
}

int plan_go_heap(struct lw_plan *plan, const struct lw_obj *exe)
{
	uint8_t *code = malloc(MAX_FUNC_BYTES);
	int err = -ENOMEM;
	struct go_exe g = { 0 };

	if (code)
		err = go_exe_open(&g, exe);
	if (!err)
		err = plan_slow_paths(plan, exe, &g, code);
	if (err && err != -ENOMEM && retry_symtab(&g))
		err = plan_slow_paths(plan, exe, &g, code);
	go_exe_close(&g);
	free(code);
	return err;
}

static bool referenced(const uint64_t *v, int n, uint64_t x)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/*
 * Without .symtab, runtime.allgs is still where runtime.allgadd appends
 * to it: the one global whose three words (slice pointer, length,
 * capacity) that function all reads or writes.
 */
static uint64_t find_allgs(struct go_exe *g, uint8_t *code)
{
	uint64_t refs[256];
	struct elf_func f;
	size_t len;
	int n, i;

	if (!find_go_func(g, "runtime.allgadd", &f))
		return 0;
	len = elf_obj_read(g->o, &f, code, MAX_FUNC_BYTES);
	n = probe_rip_targets(code, len, f.vaddr, refs, 256);
	for (i = 0; i < n; i++)
		if (referenced(refs, n, refs[i] + 8) &&
		    referenced(refs, n, refs[i] + 16) &&
		    !referenced(refs, n, refs[i] - 8))
			return refs[i];
	return 0;
}

uint64_t plan_go_find_allgs(const struct lw_obj *exe)
{
	uint8_t *code = malloc(MAX_FUNC_BYTES);
	struct go_exe g = { 0 };
	uint64_t allgs = 0;

	if (code && !go_exe_open(&g, exe)) {
		allgs = find_allgs(&g, code);
		if (!allgs && retry_symtab(&g))
			allgs = find_allgs(&g, code);
	}
	go_exe_close(&g);
	free(code);
	return allgs;
}

/* Births and deaths, or neither: half a goroutine tracker is none. */
static int plan_goroutine_probes(struct lw_plan *plan, const struct lw_obj *exe,
				 struct go_exe *g, uint8_t *code)
{
	int n = plan->n;
	int err = plan_births(plan, exe, g, code);

	if (!err)
		err = plan_deaths(plan, exe, g, code);
	if (err)
		plan->n = n;
	return err;
}

int plan_go(struct lw_plan *plan, const struct lw_obj *exe)
{
	uint8_t *code = malloc(MAX_FUNC_BYTES);
	struct go_exe g = { 0 };
	int err = -ENOMEM;

	if (code)
		err = go_exe_open(&g, exe);
	/* the one message of a broken pclntab: plan_go is the first to read */
	if (!err && g.pcln_err && g.pcln_err != ENOENT)
		lw_warn("%s: .gopclntab is malformed (%s): Go functions are "
			"found and named from .symtab only",
			exe->name, strerror(g.pcln_err));
	if (!err)
		err = plan_goroutine_probes(plan, exe, &g, code);
	if (err && err != -ENOMEM && retry_symtab(&g)) {
		err = plan_goroutine_probes(plan, exe, &g, code);
		if (!err)
			lw_warn("%s: .gopclntab does not match its code: "
				"goroutine probes placed from .symtab",
				exe->name);
	}
	if (err)
		lw_warn("cannot place goroutine probes in %s: %s", exe->name,
			strerror(-err));
	go_exe_close(&g);
	free(code);
	return err;
}
