/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What leakwatch needs to know about an unmodified Go (amd64) executable
 * and its live goroutines: the toolchain version, the runtime.g layout,
 * where runtime.allgs lives, and the wait-reason names.
 *
 * The target is only ever read (process_vm_readv): never written, never
 * signalled, never stopped. Its goroutines keep running while we read, so
 * a snapshot is not atomic: a g may change state between two reads.
 *
 * Not thread-safe per object; distinct objects may be used concurrently.
 */
#ifndef LW_GOINFO_H
#define LW_GOINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* runtime.g atomicstatus values (amd64, Go 1.17 and later). */
enum {
	GO_G_IDLE = 0,
	GO_G_RUNNABLE = 1,
	GO_G_RUNNING = 2,
	GO_G_SYSCALL = 3,
	GO_G_WAITING = 4,
	GO_G_DEAD = 6,
	GO_G_COPYSTACK = 8,
	GO_G_PREEMPTED = 9,
	GO_G_SCAN = 0x1000,
};

struct go_layout {
	char version[32]; /* "go1.23.5" from .go.buildinfo */
	int major, minor; /* 0, 0 for "devel" and other odd versions */
	bool from_dwarf;  /* offsets read from DWARF, else the version table */
	/* runtime.g field offsets (bytes) */
	uint32_t g_status, g_goid, g_waitreason, g_gopc, g_startpc;
	uint32_t g_sched_sp, g_sched_pc, g_sched_bp;
	/* link-time addresses from .symtab, 0 when stripped */
	uint64_t allgs, allglen, waitreason_strings;
	uint32_t nwaitreasons; /* entries of runtime.waitReasonStrings */
};

/*
 * Reads len bytes at addr of pid (process_vm_readv): 0, -EFAULT when
 * fewer could be read, other -errno (-ESRCH: gone).
 */
int goinfo_read(pid_t pid, uint64_t addr, void *buf, size_t len);

/*
 * 0: a Go executable, *out filled.
 * -ENOEXEC: not a Go executable (or not ELF at all).
 * -ENOTSUP: Go, but the g layout is unknown (no DWARF and a version outside
 *	     the table, or not amd64): the caller must say so, never guess.
 * Other -errno: the file cannot be read.
 */
int goinfo_detect(const char *path, struct go_layout *out);

struct goroutine {
	uint64_t g; /* address of the runtime.g in the target */
	uint64_t goid, gopc, startpc;
	uint64_t sched_sp, sched_pc, sched_bp;
	uint32_t status;    /* GO_G_SCAN bit cleared */
	uint8_t waitreason; /* meaningful when status == GO_G_WAITING */
};

/*
 * Live goroutines of pid, from runtime.allgs. bias: runtime minus link-time
 * address (0 for non-PIE executables). Skips idle and dead gs, and gs whose
 * memory cannot be read or whose status is garbage. *out is malloc'ed (free
 * it; NULL when the count is 0).
 * Returns the count, or -ENOTSUP (allgs unknown: stripped binary), -ESRCH
 * (the process is gone), -EFAULT (wrong bias, not this binary), -EBADMSG
 * (the slice header is garbage), -ENOMEM.
 */
int goinfo_scan(pid_t pid, uint64_t bias, const struct go_layout *l,
		struct goroutine **out, size_t *n);

/* Wait-reason names, resolved once per process and cached here. */
struct go_waitreasons {
	bool from_process; /* read from runtime.waitReasonStrings */
	unsigned int n;
	char *name[256]; /* indexed by waitreason; NULL past n */
};

/*
 * Fills *w from the process's runtime.waitReasonStrings when the symbol is
 * known, else from the table of versions whose names were checked on real
 * binaries. 0, or -ENOENT when neither is available (all names NULL).
 * Always call goinfo_waitreasons_free() afterwards.
 */
int goinfo_waitreasons_load(struct go_waitreasons *w, pid_t pid, uint64_t bias,
			    const struct go_layout *l);
/* NULL when unknown: print the number instead. */
const char *goinfo_waitreason_name(const struct go_waitreasons *w,
				   uint8_t reason);
void goinfo_waitreasons_free(struct go_waitreasons *w);

/*
 * The stack a parked goroutine will resume on: pcs[0] = sched.pc, then the
 * return addresses along the frame-pointer chain from sched.bp (pc - 1 is
 * the call site). Bounded by max and by GO_UNWIND_MAX frames; stops at the
 * first unreadable or implausible frame. Returns the pc count, -EBUSY for a
 * running g (its sched is stale), -ESRCH when the process is gone.
 */
#define GO_UNWIND_MAX 256
int goinfo_unwind(pid_t pid, const struct goroutine *g, uint64_t *pcs, int max);

#endif
