// SPDX-License-Identifier: GPL-2.0
/* Probe placement over decoded code (user/probe_place.c): the input's
 * first byte chooses the argument registers, the rest is the code. */
#include "fuzz.h"
#include "probe_place.h"

LW_FUZZ(probe_place)
{
	uint64_t offs[64], vaddr = 0x401000;
	struct probe_place p;
	unsigned args;

	if (size < 9)
		return 0;
	args = data[0];
	/* a callee the code may call: the address in bytes 1..8 */
	uint64_t callee = fuzz_u64(data, size, 1);

	data += 9;
	size -= 9;
	probe_place_entry(data, size, args | (args & 1 ? PP_FRAME : 0), &p);
	probe_place_rets(data, size, offs, 64);
	probe_place_after_stack_check(data, size, &p);
	probe_rip_targets(data, size, vaddr, offs, 64);
	probe_place_after_calls(data, size, vaddr, callee, offs, 64);
	probe_place_after_calls(data, size, vaddr, vaddr + (callee & 0xfff),
				offs, 4);
	probe_place_first(data, size, &p);
	return 0;
}
