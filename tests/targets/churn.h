/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allocation churn that must never be reported as a leak: every byte it
 * allocates is freed again, so no call site's outstanding bytes grow.
 */
#ifndef LW_TARGET_CHURN_H
#define LW_TARGET_CHURN_H

/* Length of one scheduler tick of the targets, in milliseconds. */
#define TICK_MS 10

/* Run one tick worth of churn (a few dozen allocator calls). */
void churn_tick(unsigned long tick);

/* Set to skip pvalloc(), which valgrind does not support. */
extern int churn_no_pvalloc;

/* Names of the churn functions, NULL terminated, for the site tables. */
extern const char *const churn_functions[];

#endif /* LW_TARGET_CHURN_H */
