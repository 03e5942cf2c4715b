/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space stack symbolizer: program counters captured in a target
 * process become function, source file:line and inlined frames, using
 * elfutils (libdwfl) on the binaries the target has mapped.
 *
 * Not thread-safe: one thread per symbolizer.
 */
#ifndef LW_SYMBOLIZE_H
#define LW_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lw_frame {
	const char *symbol; /* function name; NULL when unresolved */
	const char *module; /* path as the target maps it (no /proc/PID/root
			       prefix); NULL if pc is in no mapping */
	const char *file;   /* source file (as DWARF names it, may be a path);
			       NULL when unknown */
	int line;	    /* 0 when unknown */
	uint64_t offset; /* pc relative to the module's ELF address space (pc -
			    load bias): what `addr2line -e module` takes */
	uint64_t pc;
	bool inlined; /* this frame was inlined into the frame that follows it
		       */
};

struct symbolizer;

/*
 * Reads /proc/PID/maps once and opens every executable ELF mapping.
 * NULL + errno on failure: EINVAL for pid <= 0, ESRCH when the process
 * does not exist or has no user address space, else the open/read error.
 */
struct symbolizer *symbolizer_new(pid_t pid);
/* The kernel's: names from /proc/kallsyms (no lines, no inlines). */
struct symbolizer *symbolizer_new_kernel(void);

/*
 * Re-read /proc/PID/maps (new dlopen'ed objects). If the process is gone,
 * keep the last view and return 0: reports are written after the target
 * exits. ELF code mappings that disappear (dlclose) stay resolvable (the
 * last 1024) while no new mapping covers their addresses. Returns 0 or a
 * negative errno; on error the previous view is kept.
 */
int symbolizer_refresh(struct symbolizer *s);

/*
 * Resolve pc. return_addr: pc is a return address (every frame of a
 * captured stack is), so look up pc-1 for line and inline info. Writes
 * up to max frames, innermost (inlined callees) first, the real function
 * last; returns the count (>= 1 when max >= 1: an unresolved pc gives one
 * frame with symbol NULL). When the inline chain is deeper than max, the
 * innermost max-1 frames and the real function are written. Strings are
 * owned by the symbolizer and stay valid until symbolizer_free.
 */
int symbolizer_resolve(struct symbolizer *s, uint64_t pc, bool return_addr,
		       struct lw_frame *out, int max);

/*
 * Distinct pcs that could not be resolved to a symbol so far (shown to
 * the user as a drop counter). Cached pcs are counted once, not on every
 * report interval.
 */
unsigned long symbolizer_unresolved(const struct symbolizer *s);

/* The file mapping holding a pc, as a profile (pprof) describes it. */
struct lw_mapping {
	uint64_t start, end; /* [start, end) in the target */
	uint64_t pgoff;	     /* file offset mapped at start */
	const char *module;  /* path as the target maps it, or "[vdso]" */
	const unsigned char *build_id; /* NT_GNU_BUILD_ID bits, or NULL */
	int build_id_len;
};

/*
 * The mapping holding pc (also one unmapped since, as for resolution).
 * false when pc is in none. Strings and bits are owned by the symbolizer
 * and stay valid until symbolizer_free.
 */
bool symbolizer_mapping(struct symbolizer *s, uint64_t pc,
			struct lw_mapping *out);

/*
 * Format one frame for text output: "func (file.c:42)", "func", or
 * "module+0x1234" when unresolved ("0x<pc>" when in no mapping); the
 * basename of file is used. Always NUL-terminates when len > 0.
 */
void symbolizer_format(const struct lw_frame *f, char *buf, size_t len);

void symbolizer_free(struct symbolizer *s);

#endif /* LW_SYMBOLIZE_H */
