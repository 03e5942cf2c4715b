// SPDX-License-Identifier: GPL-2.0
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "unwind.h"

struct unwinder {
	pid_t pid;
	int mem_fd;
	Dwfl *dwfl;
	const struct lw_thread_snap *cur; /* the thread being unwound */
	uint64_t *pcs;
	int max, n;
};

static char *debuginfo_path;

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/* Threads are asked for one at a time, by id: never listed. */
static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	return 0;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct unwinder *u = arg;

	if (!u->cur || u->cur->tid != (uint32_t)tid)
		return false;
	*thread_argp = (void *)u->cur;
	return true;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result,
			void *arg)
{
	struct unwinder *u = arg;

	return pread(u->mem_fd, result, sizeof(*result), addr) ==
	       sizeof(*result);
}

/* DWARF's x86-64 numbering: rbx 3, rbp 6, rsp 7, r12-r15 12-15. The
 * registers a call preserves are the ones CFI may need; others are
 * left undefined. */
static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct lw_thread_snap *t = thread_arg;
	Dwarf_Word bx = t->bx, bp_sp[2] = { t->bp, t->sp };
	Dwarf_Word r12_15[4] = { t->r12, t->r13, t->r14, t->r15 };

	dwfl_thread_state_register_pc(thread, t->ip);
	return dwfl_thread_state_registers(thread, 3, 1, &bx) &&
	       dwfl_thread_state_registers(thread, 6, 2, bp_sp) &&
	       dwfl_thread_state_registers(thread, 12, 4, r12_15);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static int report(struct unwinder *u)
{
	int err;

	dwfl_report_begin(u->dwfl);
	err = dwfl_linux_proc_report(u->dwfl, u->pid);
	if (dwfl_report_end(u->dwfl, NULL, NULL) || err)
		return err > 0 ? -err : -EINVAL;
	return 0;
}

struct unwinder *unwinder_new(pid_t pid)
{
	struct unwinder *u = calloc(1, sizeof(*u));
	char path[64];
	int err = ENOMEM;

	if (!u)
		goto fail;
	u->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	u->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	err = errno;
	if (u->mem_fd < 0)
		goto fail;
	u->dwfl = dwfl_begin(&proc_callbacks);
	err = EINVAL;
	if (!u->dwfl || report(u) ||
	    !dwfl_attach_state(u->dwfl, NULL, pid, &thread_callbacks, u))
		goto fail;
	return u;
fail:
	unwinder_free(u);
	errno = err;
	return NULL;
}

int unwinder_refresh(struct unwinder *u)
{
	return u ? report(u) : -EINVAL;
}

static int on_frame(Dwfl_Frame *f, void *arg)
{
	struct unwinder *u = arg;
	Dwarf_Addr pc;

	if (!dwfl_frame_pc(f, &pc, NULL) || !pc)
		return DWARF_CB_ABORT;
	u->pcs[u->n++] = pc;
	return u->n < u->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

int unwinder_stack(struct unwinder *u, const struct lw_thread_snap *t,
		   uint64_t *pcs, int max)
{
	if (max < 1)
		return 0;
	pcs[0] = t->ip;
	if (!u)
		return 1;
	u->cur = t;
	u->pcs = pcs;
	u->max = max;
	u->n = 0;
	/* ends in an error at the outermost frame, or mid-way: both give
	 * what was unwound so far */
	dwfl_getthread_frames(u->dwfl, t->tid, on_frame, u);
	u->cur = NULL;
	return u->n ? u->n : 1;
}

void unwinder_free(struct unwinder *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	if (u->mem_fd > 0)
		close(u->mem_fd);
	free(u);
}
