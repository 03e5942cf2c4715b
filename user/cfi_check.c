// SPDX-License-Identifier: GPL-2.0
/*
 * Register numbers of CFI instructions, checked before libdw runs them:
 * see cfi_check.h. Only the operands are decoded, never a rule: what
 * libdw would reject anyway (an unknown opcode) ends an entry's scan.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <string.h>

#include "cfi_check.h"

struct cursor {
	const uint8_t *p;
	const uint8_t *end;
};

static bool take(struct cursor *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return false;
	c->p += n;
	return true;
}

static bool uleb(struct cursor *c, uint64_t *v)
{
	unsigned int shift = 0;

	*v = 0;
	while (c->p < c->end) {
		uint8_t b = *c->p++;

		if (shift < 64)
			*v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

static bool reg_ok(struct cursor *c)
{
	uint64_t reg;

	return uleb(c, &reg) && reg <= LW_CFI_MAX_REG;
}

static bool block(struct cursor *c)
{
	uint64_t n;

	return uleb(c, &n) && take(c, n);
}

/* Bytes of a pointer in DW_EH_PE encoding enc; -1 if not known. */
static int enc_size(uint8_t enc, int ptr)
{
	if (enc == DW_EH_PE_omit)
		return 0;
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
		return ptr;
	case DW_EH_PE_udata2:
	case DW_EH_PE_sdata2:
		return 2;
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		return 4;
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		return 8;
	default:
		return -1; /* LEB128 addresses: nothing emits them */
	}
}

/* One instruction stream; addr: bytes of a DW_CFA_set_loc operand. */
static int check_insns(struct cursor c, int addr)
{
	uint64_t v;

	while (c.p < c.end) {
		uint8_t op = *c.p++;
		bool ok;

		switch (op & 0xc0) {
		case DW_CFA_advance_loc:
		case DW_CFA_restore:
			continue; /* a 6-bit register at most */
		case DW_CFA_offset:
			ok = uleb(&c, &v);
			goto next;
		}
		switch (op) {
		case DW_CFA_nop:
		case DW_CFA_remember_state:
		case DW_CFA_restore_state:
		case DW_CFA_GNU_window_save:
			ok = true;
			break;
		case DW_CFA_set_loc:
			ok = addr >= 0 && take(&c, addr);
			break;
		case DW_CFA_advance_loc1:
			ok = take(&c, 1);
			break;
		case DW_CFA_advance_loc2:
			ok = take(&c, 2);
			break;
		case DW_CFA_advance_loc4:
			ok = take(&c, 4);
			break;
		case DW_CFA_def_cfa_offset:
		case DW_CFA_def_cfa_offset_sf:
		case DW_CFA_GNU_args_size:
			ok = uleb(&c, &v); /* an SLEB128 is skipped alike */
			break;
		case DW_CFA_def_cfa_expression:
			ok = block(&c);
			break;
		case DW_CFA_restore_extended:
		case DW_CFA_undefined:
		case DW_CFA_same_value:
		case DW_CFA_def_cfa_register:
			ok = reg_ok(&c);
			break;
		case DW_CFA_offset_extended:
		case DW_CFA_offset_extended_sf:
		case DW_CFA_def_cfa:
		case DW_CFA_def_cfa_sf:
		case DW_CFA_val_offset:
		case DW_CFA_val_offset_sf:
		case DW_CFA_GNU_negative_offset_extended:
			ok = reg_ok(&c) && uleb(&c, &v);
			break;
		case DW_CFA_register:
			ok = reg_ok(&c) && reg_ok(&c);
			break;
		case DW_CFA_expression:
		case DW_CFA_val_expression:
			ok = reg_ok(&c) && block(&c);
			break;
		default:
			return 0; /* libdw stops here too: an invalid CFI */
		}
	next:
		if (!ok)
			return -EBADMSG;
	}
	return 0;
}

/* The FDE encoding of a CIE's augmentation ('R'), or -1. */
static int fde_encoding(const Dwarf_CIE *cie, int ptr)
{
	const char *aug = cie->augmentation;
	struct cursor c = { cie->augmentation_data,
			    cie->augmentation_data +
				    cie->augmentation_data_size };
	int n;

	if (!aug || aug[0] != 'z')
		return aug && aug[0] ? -1 : DW_EH_PE_absptr;
	for (aug++; *aug; aug++) {
		switch (*aug) {
		case 'R':
			return c.p < c.end ? *c.p : -1;
		case 'L':
			if (!take(&c, 1))
				return -1;
			break;
		case 'P':
			if (c.p >= c.end)
				return -1;
			n = enc_size(*c.p, ptr);
			if (n < 0 || !take(&c, 1 + n))
				return -1;
			break;
		case 'S':
		case 'B':
			break;
		default:
			return -1;
		}
	}
	return DW_EH_PE_absptr;
}

static int check_fde(const unsigned char *ident, Elf_Data *d, bool eh,
		     const Dwarf_FDE *fde, int ptr)
{
	Dwarf_CFI_Entry cie;
	Dwarf_Off next;
	struct cursor c = { fde->start, fde->end };
	int enc, n;

	if (dwarf_next_cfi(ident, d, eh, fde->CIE_pointer, &next, &cie) ||
	    !dwarf_cfi_cie_p(&cie))
		return 0; /* libdw finds no CIE either: the FDE is not run */
	enc = fde_encoding(&cie.cie, ptr);
	n = enc < 0 ? -1 : enc_size(enc, ptr);
	if (n < 0 || !take(&c, 2 * n))
		return -EBADMSG;
	if (cie.cie.augmentation && cie.cie.augmentation[0] == 'z' &&
	    !block(&c))
		return -EBADMSG;
	return check_insns(c, n);
}

static Elf_Data *section_data(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	const char *s;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		s = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!s || strcmp(s, name))
			continue;
		/* libdw reads a compressed .debug_frame decompressed */
		if ((sh.sh_flags & SHF_COMPRESSED) &&
		    elf_compress(scn, 0, 0) < 0)
			return NULL;
		return elf_getdata(scn, NULL);
	}
	return NULL;
}

int cfi_check_registers(Elf *elf, const char *name)
{
	bool eh = !strcmp(name, ".eh_frame");
	const unsigned char *ident =
		(const unsigned char *)elf_getident(elf, NULL);
	Elf_Data *d = section_data(elf, name);
	Dwarf_Off off = 0, next;
	Dwarf_CFI_Entry e;
	int ptr, err;

	if (!d || !d->d_buf || !ident)
		return 0;
	ptr = ident[EI_CLASS] == ELFCLASS32 ? 4 : 8;
	while (!dwarf_next_cfi(ident, d, eh, off, &next, &e)) {
		if (dwarf_cfi_cie_p(&e))
			err = check_insns(
				(struct cursor){
					e.cie.initial_instructions,
					e.cie.initial_instructions_end },
				-1);
		else
			err = check_fde(ident, d, eh, &e.fde, ptr);
		if (err)
			return err;
		if (next <= off)
			break;
		off = next;
	}
	return 0;
}
