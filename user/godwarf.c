// SPDX-License-Identifier: GPL-2.0
/* Struct layouts from a Go binary's DWARF: see godwarf.h. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdint.h>
#include <string.h>
#include "godwarf.h"

bool godwarf_size(Dwarf_Die *d, uint32_t *size)
{
	Dwarf_Word w;

	if (dwarf_aggregate_size(d, &w) || w > UINT32_MAX)
		return false;
	*size = (uint32_t)w;
	return true;
}

bool godwarf_member(Dwarf_Die *st, const char *name, uint32_t *off,
		    uint32_t *size, Dwarf_Die *type)
{
	Dwarf_Die m, t;
	Dwarf_Attribute a;
	Dwarf_Word w;
	const char *mn;
	uint32_t ssize, msize;

	/*
	 * The offsets index buffers sized by the struct (a g, a span read
	 * from the target): a member that does not lie inside its struct
	 * is a malformed DWARF, refused here for every caller.
	 */
	if (!godwarf_size(st, &ssize) || dwarf_child(st, &m))
		return false;
	do {
		if (dwarf_tag(&m) != DW_TAG_member)
			continue;
		mn = dwarf_diename(&m);
		if (!mn || strcmp(mn, name))
			continue;
		/* Go emits plain constants, never location expressions. */
		if (!dwarf_attr(&m, DW_AT_data_member_location, &a) ||
		    dwarf_formudata(&a, &w) || w >= ssize)
			return false;
		*off = (uint32_t)w;
		if (!size && !type)
			return true;
		if (!dwarf_attr(&m, DW_AT_type, &a) ||
		    !dwarf_formref_die(&a, &t) || dwarf_peel_type(&t, &t))
			return false;
		if (type)
			*type = t;
		if (!size)
			return true;
		if (!godwarf_size(&t, &msize) || msize > ssize - *off)
			return false;
		*size = msize;
		return true;
	} while (dwarf_siblingof(&m, &m) == 0);
	return false;
}
