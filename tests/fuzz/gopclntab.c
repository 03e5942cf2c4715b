// SPDX-License-Identifier: GPL-2.0
/* Go symbol tables (user/gopclntab.c): open, then resolve the pcs of a
 * few functions found by name, and pcs the input's tail names. */
#include "fuzz.h"
#include "gopclntab.h"

static void resolve_range(struct gopclntab *t, uint64_t lo, uint64_t hi)
{
	struct lw_frame fr[8];
	uint64_t pc, step = (hi - lo) / 64 + 1;

	for (pc = lo; pc < hi && pc >= lo; pc += step) {
		gopclntab_resolve(t, pc, false, fr, 8);
		gopclntab_resolve(t, pc, true, fr, 8);
	}
}

LW_FUZZ(gopclntab)
{
	static const char *const names[] = { "main.main", "runtime.mallocgc",
					     "runtime.newproc1",
					     "runtime.goexit1" };
	struct lw_frame fr[4];
	struct gopclntab *t;
	uint64_t entry, end;
	char path[32];
	size_t i;
	int fd = fuzz_file(data, size, path);

	if (fd < 0)
		return 0;
	t = gopclntab_open_fd(fd);
	close(fd);
	if (!t)
		return 0;
	gopclntab_has_inline(t);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (gopclntab_func(t, names[i], &entry, &end))
			resolve_range(t, entry, end);
	/* pcs the input names: its last 64 bytes */
	for (i = size > 64 ? size - 64 : 0; i + 8 <= size; i += 8)
		gopclntab_resolve(t, fuzz_u64(data, size, i), i & 8, fr, 4);
	gopclntab_close(t);
	return 0;
}
