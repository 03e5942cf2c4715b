// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/PID/maps lines (user/symbolize.c's parse_map_line, static: the
 * file is included, and the link takes this copy of symbolize.o's
 * functions instead of the library's).
 */
#include "../../user/symbolize.c"
#include "fuzz.h"

LW_FUZZ(maps)
{
	struct lw_map_line ml;
	char *buf = malloc(size + 1), *line, *save = NULL;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		memset(&ml, 0, sizeof(ml));
		if (parse_map_line(line, &ml))
			(void)strlen(ml.path);
	}
	free(buf);
	return 0;
}
