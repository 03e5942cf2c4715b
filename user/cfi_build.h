/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One file's unwind rows: for every return address of its code (after
 * each call, and after each syscall, where a thread waits), how the
 * caller's frame is found, from the file's DWARF CFI. Only return
 * addresses are ever unwound from, so no other pc needs a row: a table
 * holds a few hundred thousand rows where a row per instruction range
 * would hold millions, and PLT stubs (which never call) need none.
 */
#ifndef LW_CFI_BUILD_H
#define LW_CFI_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include "leakwatch.h"

struct cfi_row {
	uint32_t off; /* file offset of the return address */
	struct lw_cfi_rule rule;
};

struct cfi_rows {
	struct cfi_row *v; /* sorted by off */
	size_t n, cap;
	size_t calls;	 /* return addresses found in the code */
	size_t no_cfi;	 /* of those: no CFI covers them */
	size_t stops;	 /* of those: a rule the walk cannot follow */
	size_t signals;	 /* signal trampolines */
	const char *src; /* where the CFI came from: .eh_frame, ... */
};

/*
 * Rows for every return address of path's executable sections. Returns
 * 0, or a negative errno (-ENODATA: the file has no CFI at all, as Go
 * executables, which keep frame pointers instead; -EBADMSG: it has an
 * .eh_frame, which gave nothing: garbage).
 */
int cfi_build_file(const char *path, struct cfi_rows *out);
void cfi_rows_free(struct cfi_rows *r);

#endif
