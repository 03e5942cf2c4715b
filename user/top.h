/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live full-screen view (leakwatch top), on ncurses. main.c polls
 * top_input_fd() beside its other descriptors and calls top_input() when
 * it is readable, top_draw() after each drain.
 */
#ifndef LW_TOP_H
#define LW_TOP_H

#include <stdbool.h>
#include "view.h"

struct lw_top;

/* NULL, with a message, when the terminal cannot hold the view. */
struct lw_top *top_open(void);
int top_input_fd(const struct lw_top *t);
/* Handles the pending keys (and resizes); false when the user quit. */
bool top_input(struct lw_top *t, struct lw_view *v);
void top_draw(struct lw_top *t, struct lw_view *v);
/* Restores the terminal. */
void top_close(struct lw_top *t);

#endif
