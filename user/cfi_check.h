/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_CFI_CHECK_H
#define LW_CFI_CHECK_H

#include <gelf.h>
#include <stdbool.h>

/*
 * Before libdw runs a file's CFI: libdw sizes (and zeroes) a frame's
 * register table by the largest register number an instruction names, a
 * ULEB128 from the file, so one FDE naming register 2^28 costs gigabytes
 * (found by make fuzz). Registers above this are no x86-64 register.
 */
#define LW_CFI_MAX_REG 255

/*
 * Every CIE and FDE of the section named name (".eh_frame" or
 * ".debug_frame") in elf: 0 when each register they name is at most
 * LW_CFI_MAX_REG (or the section is absent), -EBADMSG when one is not or
 * an entry cannot be decoded far enough to tell.
 */
int cfi_check_registers(Elf *elf, const char *name);

#endif
