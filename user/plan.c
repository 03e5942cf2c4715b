// SPDX-License-Identifier: GPL-2.0
/*
 * Where to probe: for each allocator function, the first object in
 * symbol-lookup order that defines it (a static executable, a preloaded
 * jemalloc, or libc), and on which instruction.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "elfsym.h"
#include "plan.h"
#include "util.h"

static const struct {
	enum lw_fn fn;
	const char *name;
	enum lw_prog prog;
	unsigned args; /* registers an entry-only probe reads */
} fn_table[] = {
	{ LW_FN_MALLOC, "malloc", LW_PROG_CALL, 0 },
	{ LW_FN_CALLOC, "calloc", LW_PROG_CALL, 0 },
	{ LW_FN_REALLOC, "realloc", LW_PROG_CALL, 0 },
	{ LW_FN_REALLOCARRAY, "reallocarray", LW_PROG_CALL, 0 },
	{ LW_FN_POSIX_MEMALIGN, "posix_memalign", LW_PROG_CALL, 0 },
	{ LW_FN_ALIGNED_ALLOC, "aligned_alloc", LW_PROG_CALL, 0 },
	{ LW_FN_ALIGNED_ALLOC, "memalign", LW_PROG_CALL, 0 },
	{ LW_FN_VALLOC, "valloc", LW_PROG_CALL, 0 },
	{ LW_FN_PVALLOC, "pvalloc", LW_PROG_CALL, 0 },
	{ LW_FN_MMAP, "mmap", LW_PROG_CALL, 0 },
	{ LW_FN_MREMAP, "mremap", LW_PROG_CALL, 0 },
	{ LW_FN_FREE, "free", LW_PROG_RELEASE, PP_ARG(0) },
	{ LW_FN_MUNMAP, "munmap", LW_PROG_RELEASE, PP_ARG(0) | PP_ARG(1) },
	{ LW_FN_PTHREAD_CREATE, "pthread_create", LW_PROG_THREAD,
	  PP_FRAME | PP_ARG(2) },
	/*
	 * std::thread's constructor calls this, which calls pthread_create
	 * from a frame without a frame pointer: the user's line would be
	 * lost. Its own entry still has the user's return address at [rsp].
	 */
	{ LW_FN_CXX_THREAD,
	  "_ZNSt6thread15_M_start_threadESt10unique_ptrINS_6_StateESt14default_"
	  "deleteIS1_EEPFvvE",
	  LW_PROG_THREAD, PP_FRAME | PP_ARG(1) },
};

#define NFN (sizeof(fn_table) / sizeof(fn_table[0]))

/* Aliases (memalign is aligned_alloc in glibc) share one probe. */
static bool already_planned(const struct lw_plan *plan, const char *path,
			    uint64_t off)
{
	int i;

	for (i = 0; i < plan->n; i++)
		if (plan->probes[i].func_off == off &&
		    !strcmp(plan->probes[i].path, path))
			return true;
	return false;
}

static void place(struct elf_obj *o, const struct elf_func *f,
		  struct lw_probe *p, unsigned args)
{
	uint8_t code[256];
	size_t n = elf_obj_read(o, f, code, sizeof(code));
	int err;

	memset(&p->place, 0, sizeof(p->place));
	/*
	 * Return probes hijack the return address at [rsp]: they may sit past
	 * the entry only where rsp and memory are still the caller's, and so
	 * are the four arguments the entry reads (glibc's posix_memalign,
	 * aligned_alloc, valloc, pvalloc start with a compare of a global the
	 * kernel must step; the jump after it it emulates). Entry-state
	 * probes (threads, new) keep rsp, rbp and their args.
	 */
	if (p->prog == LW_PROG_CALL)
		args = PP_ARG(0) | PP_ARG(1) | PP_ARG(2) | PP_ARG(3);
	err = !n || probe_place_entry(code, n, args, &p->place);
	if (err)
		lw_warn("cannot decode %s in %s: probing its first byte",
			p->name, p->module);
}

static void add_probe(struct lw_plan *plan, int k, struct elf_obj *o,
		      const struct elf_func *f, const char *path,
		      const char *module)
{
	struct lw_probe *p = &plan->probes[plan->n];

	if (plan->n == LW_MAX_PROBES) {
		lw_warn("too many probes: %s in %s not probed",
			fn_table[k].name, module);
		return;
	}
	p->fn = fn_table[k].fn;
	p->name = fn_table[k].name;
	p->prog = fn_table[k].prog;
	p->func_off = f->file_off;
	snprintf(p->path, sizeof(p->path), "%s", path);
	snprintf(p->module, sizeof(p->module), "%s", module);
	place(o, f, p, fn_table[k].args);
	plan->n++;
}

static void plan_object(struct lw_plan *plan, bool *done, struct elf_obj *o,
			const char *path, const char *module)
{
	struct elf_func f;
	unsigned k;

	for (k = 0; k < NFN; k++) {
		if (done[k] || !elf_obj_find_func(o, fn_table[k].name, &f))
			continue;
		done[k] = true;
		if (!already_planned(plan, path, f.file_off))
			add_probe(plan, k, o, &f, path, module);
	}
}

static bool plan_has(const struct lw_plan *plan, enum lw_fn fn)
{
	int i;

	for (i = 0; i < plan->n; i++)
		if (plan->probes[i].fn == fn)
			return true;
	return false;
}

/* Keeps the thread probe: threads are watched without an allocator too. */
static void drop_heap(struct lw_plan *plan)
{
	int i, k = 0;

	for (i = 0; i < plan->n; i++)
		if (plan->probes[i].prog == LW_PROG_THREAD)
			plan->probes[k++] = plan->probes[i];
	plan->n = k;
}

int plan_build(const struct lw_obj *objs, int nobjs, struct lw_plan *plan)
{
	bool done[NFN] = {};
	struct elf_obj *o;
	int i;

	memset(plan, 0, sizeof(*plan));
	for (i = 0; i < nobjs; i++) {
		o = elf_obj_open(objs[i].open);
		if (!o) {
			if (i == 0) {
				lw_err("cannot read %s: %s", objs[i].name,
				       strerror(errno));
				return LW_EXIT_BAD_TARGET;
			}
			lw_debug("skipping %s: %s", objs[i].name,
				 strerror(errno));
			continue;
		}
		plan_object(plan, done, o, objs[i].open, objs[i].name);
		elf_obj_close(o);
	}
	if (!plan_has(plan, LW_FN_MALLOC) || !plan_has(plan, LW_FN_FREE))
		drop_heap(
			plan); /* an allocator without malloc or free is none */
	return LW_EXIT_OK;
}

bool plan_has_heap(const struct lw_plan *plan)
{
	return plan_has(plan, LW_FN_MALLOC);
}

void plan_print(const struct lw_plan *plan)
{
	const struct lw_probe *p;
	int i;

	for (i = 0; i < plan->n; i++) {
		p = &plan->probes[i];
		lw_debug("probe %-14s %s+0x%llx%s at +%llu (%s, %s)", p->name,
			 p->module, (unsigned long long)p->func_off,
			 p->prog == LW_PROG_CALL ? " +ret" : "",
			 (unsigned long long)p->place.offset, p->place.insn,
			 p->place.emulated ? "emulated" : "single-stepped");
	}
}

/* memleak hooks the C allocator only, each function on its first byte. */
void plan_all_at_entry(struct lw_plan *plan)
{
	int i, k = 0;

	for (i = 0; i < plan->n; i++) {
		if (plan->probes[i].prog == LW_PROG_THREAD)
			continue;
		plan->probes[k] = plan->probes[i];
		plan->probes[k++].place.offset = 0;
	}
	plan->n = k;
}
