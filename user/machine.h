/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What leakwatch needs of the machine, checked before anything is loaded,
 * so that a missing piece is named (and exits with its code) instead of
 * surfacing as a libbpf error. tracefs and debugfs are not needed.
 */
#ifndef LW_MACHINE_H
#define LW_MACHINE_H

#include <stdbool.h>
#include <stddef.h>

/* Capabilities: LW_EXIT_PERM with the missing ones named. */
int machine_check_privileges(bool attach_pid);
/* Kernel and system: LW_EXIT_KERNEL with what is missing and why. */
int machine_check_kernel(void);
/* Why loading failed, in words (err: a negative errno from libbpf). */
const char *machine_load_hint(int err);
/* Our memory cgroup and its limit in words, or "" when unknown. */
void machine_memcg_describe(char *buf, size_t len);

#endif
