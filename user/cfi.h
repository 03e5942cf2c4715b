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

/* Which of the target's objects have rules, and where they are mapped. */
struct lw_cfi {
	bool *built; /* by object index, which is the rules' module id */
	int nbuilt;
	struct lw_cfi_module mods[LW_MAX_CFI_MODULES];
	int nmods;
};

/*
 * Rules for every call of the C and C++ runtimes among t's objects, into
 * the BPF hash at rules_fd. Says what it could not do.
 */
void cfi_plan(struct lw_cfi *c, const struct lw_target *t, int rules_fd);
/*
 * Reads where the objects with rules are mapped now, into mods and
 * nmods: true when that changed (the BPF side is to be told).
 */
bool cfi_locate(struct lw_cfi *c, const struct lw_target *t);
/* The target exec'd: its objects are to be found again. */
void cfi_forget(struct lw_cfi *c);
void cfi_free(struct lw_cfi *c);

#endif
