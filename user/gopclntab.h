/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Go symbol tables: function names, file:line and inlined frames of Go
 * code from the .gopclntab section, which the Go runtime itself needs
 * and which stripped binaries (-ldflags='-s -w') therefore keep.
 *
 * Formats: Go 1.16-1.17 (no inline frames), 1.18-1.19 and 1.20+, ELF64
 * little-endian. The table is copied into memory at open: no file stays
 * open or mapped. Not thread-safe.
 */
#ifndef LW_GOPCLNTAB_H
#define LW_GOPCLNTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "symbolize.h"

struct gopclntab;

/*
 * NULL + errno: ENOENT when the ELF file has no .gopclntab section (not
 * Go), ENOTSUP for an unknown pclntab magic/version or layout, ENOEXEC
 * for a file that is no usable ELF64 little-endian file, EINVAL for a
 * table that contradicts itself, else the open/read error.
 */
struct gopclntab *gopclntab_open(const char *path);

/* Same from an open file (not closed, not needed after the call). */
struct gopclntab *gopclntab_open_fd(int fd);

/*
 * pc is a link-time virtual address (runtime pc minus load bias).
 * return_addr: look up pc-1 for line and inline info. Fills up to max
 * frames, inlined callees first, the physical function last; deeper
 * inline chains keep the innermost max-1 frames and the physical
 * function. Returns the count, 0 if pc is in no Go function. Fills
 * symbol, file, line and inlined (other fields are left alone); the
 * strings are owned by the table until gopclntab_close.
 */
int gopclntab_resolve(struct gopclntab *t, uint64_t pc, bool return_addr,
		      struct lw_frame *out, int max);

/*
 * Function entry and end (link-time addresses, end exclusive and without
 * the alignment padding after the code) by exact name, such as
 * "runtime.newproc1".
 */
bool gopclntab_func(struct gopclntab *t, const char *name, uint64_t *entry,
		    uint64_t *end);

/* Whether inlined frames can be decoded (Go 1.18+ with its data found). */
bool gopclntab_has_inline(const struct gopclntab *t);

void gopclntab_close(struct gopclntab *t);

#endif /* LW_GOPCLNTAB_H */
