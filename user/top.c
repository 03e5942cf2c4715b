// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include "top.h"
#include "util.h"

struct lw_top *top_open(void)
{
	lw_err("top: not implemented yet");
	return NULL;
}

int top_input_fd(const struct lw_top *t)
{
	return -1;
}

bool top_input(struct lw_top *t, struct lw_view *v)
{
	return false;
}

void top_draw(struct lw_top *t, struct lw_view *v)
{
}

void top_close(struct lw_top *t)
{
}
