/* SPDX-License-Identifier: GPL-2.0 */
/* Struct layouts from a Go binary's DWARF (libdw). */
#ifndef LW_GODWARF_H
#define LW_GODWARF_H

#include <stdbool.h>
#include <stdint.h>
#include <elfutils/libdw.h>

/* The byte size of a type. */
bool godwarf_size(Dwarf_Die *d, uint32_t *size);
/* Offset, and optionally size and type (typedefs peeled: Go names gobuf
 * through one), of the member name of struct st. false also when the
 * member does not lie inside st's byte size (malformed DWARF). */
bool godwarf_member(Dwarf_Die *st, const char *name, uint32_t *off,
		    uint32_t *size, Dwarf_Die *type);

#endif
