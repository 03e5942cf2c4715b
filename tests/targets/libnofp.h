/* SPDX-License-Identifier: GPL-2.0 */
/* libnofp: a shared library of the nofp target, built like it. */
#ifndef LW_TARGET_LIBNOFP_H
#define LW_TARGET_LIBNOFP_H

#include <stddef.h>

/* A copy of n bytes of a pattern, allocated two frames down. */
char *lib_dup(size_t n);
/* Allocates and frees: never a leak. */
void lib_churn(unsigned long tick);

#endif
