// SPDX-License-Identifier: GPL-2.0
#include "util.h"
#include "view.h"

int report_folded(FILE *f, const char *name, struct lw_view *v,
		  enum lw_folded_value how)
{
	lw_err("--folded: not implemented yet");
	return -1;
}
