// SPDX-License-Identifier: GPL-2.0
#include "util.h"
#include "view.h"

int report_pprof(const char *path, struct lw_view *v)
{
	lw_err("--pprof: not implemented yet");
	return -1;
}
