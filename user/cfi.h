/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stacks through code without frame pointers (Debian's libc and
 * libstdc++): for every call in such an object, how its caller's frame is
 * left at the return address, from the object's DWARF CFI (.eh_frame,
 * through libdw). The BPF walk looks return addresses up in these rules
 * and follows frame pointers elsewhere.
 */
#ifndef LW_CFI_H
#define LW_CFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "leakwatch.h"
#include "target.h"

/* The objects whose calls get rules: the C and C++ runtimes. */
bool cfi_wanted(const char *name);

/*
 * Rules of every call in the object at path, as module id, into the BPF
 * hash at rules_fd. Returns how many, or a negative errno.
 */
long cfi_build(const char *path, uint32_t id, int rules_fd);

/*
 * Where the objects (objs[i] is module id i) are mapped in pid now:
 * fills out (at most LW_MAX_CFI_MODULES) and returns the count.
 */
int cfi_modules(pid_t pid, const struct lw_obj *objs, const bool *built,
		int nobjs, struct lw_cfi_module *out);

#endif
