// SPDX-License-Identifier: GPL-2.0
/* Go version and goroutine layout of an executable (user/goinfo.c:
 * .go.buildinfo, the runtime.g layout from DWARF through godwarf.c, the
 * runtime's symbols), then its heap's layout (user/goheap_layout.c:
 * DWARF, else the version table and the code that references the
 * variables of a stripped binary). */
#include "fuzz.h"
#include "goheap_layout.h"
#include "goinfo.h"

LW_FUZZ(goinfo)
{
	struct go_heap_layout hl;
	struct go_layout gl;
	char path[32];
	int fd = fuzz_file(data, size, path);

	if (fd < 0)
		return 0;
	memset(&gl, 0, sizeof(gl));
	if (goinfo_detect(path, &gl) != 0) {
		/* The heap layout has a table for this version: still look
		 * for its variables in whatever the file is. */
		memset(&gl, 0, sizeof(gl));
		strcpy(gl.version, "go1.21.13");
		gl.major = 1;
		gl.minor = 21;
	}
	memset(&hl, 0, sizeof(hl));
	goheap_layout(path, &gl, &hl);
	close(fd);
	return 0;
}
