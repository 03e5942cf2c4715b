// SPDX-License-Identifier: GPL-2.0
/* Unwind rows from a file's CFI (user/cfi_build.c). */
#include "fuzz.h"
#include "cfi_build.h"

LW_FUZZ(cfi_build)
{
	struct cfi_rows r;
	char path[32];
	int fd = fuzz_file(data, size, path);

	if (fd < 0)
		return 0;
	memset(&r, 0, sizeof(r));
	if (cfi_build_file(path, &r) == 0)
		cfi_rows_free(&r);
	close(fd);
	return 0;
}
