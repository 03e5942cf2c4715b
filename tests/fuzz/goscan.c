// SPDX-License-Identifier: GPL-2.0
/*
 * Goroutines read from a target (user/goinfo.c: runtime.allgs, each g,
 * the wait-reason names, a parked goroutine's frame-pointer chain), in
 * target memory (the input at FUZZ_MEM) with the runtime.g layout the
 * binary's DWARF gave (the input's first bytes).
 *
 * Input: u16 g_status, g_goid, g_waitreason, g_gopc, g_startpc,
 * g_sched_sp, g_sched_pc, g_sched_bp; u32 offsets of runtime.allgs,
 * runtime.allglen, runtime.waitReasonStrings; u16 nwaitreasons, u8
 * minor version; the rest is memory, pointers absolute.
 */
#include "fuzz.h"
#include "goinfo.h"
#include <stdlib.h>

#define HDR 31

LW_FUZZ(goscan)
{
	struct go_waitreasons w;
	struct goroutine *gs = NULL;
	struct go_layout l;
	uint64_t pcs[64];
	size_t n = 0, i;
	pid_t pid = getpid();

	if (size < HDR || !fuzz_mem(data, size))
		return 0;
	memset(&l, 0, sizeof(l));
	l.g_status = (uint16_t)fuzz_u32(data, size, 0);
	l.g_goid = (uint16_t)fuzz_u32(data, size, 2);
	l.g_waitreason = (uint16_t)fuzz_u32(data, size, 4);
	l.g_gopc = (uint16_t)fuzz_u32(data, size, 6);
	l.g_startpc = (uint16_t)fuzz_u32(data, size, 8);
	l.g_sched_sp = (uint16_t)fuzz_u32(data, size, 10);
	l.g_sched_pc = (uint16_t)fuzz_u32(data, size, 12);
	l.g_sched_bp = (uint16_t)fuzz_u32(data, size, 14);
	l.allgs = FUZZ_MEM + fuzz_u32(data, size, 16) % FUZZ_MEM_MAX;
	l.allglen = FUZZ_MEM + fuzz_u32(data, size, 20) % FUZZ_MEM_MAX;
	l.waitreason_strings =
		FUZZ_MEM + fuzz_u32(data, size, 24) % FUZZ_MEM_MAX;
	l.nwaitreasons = (uint16_t)fuzz_u32(data, size, 28);
	l.major = 1;
	l.minor = data[30];
	if (goinfo_scan(pid, 0, &l, &gs, &n) > 0)
		for (i = 0; i < n && i < 64; i++)
			goinfo_unwind(pid, &gs[i], pcs, (int)(gs[i].goid % 80));
	free(gs);
	if (goinfo_waitreasons_load(&w, pid, 0, &l) == 0)
		for (i = 0; i < 256; i++)
			goinfo_waitreason_name(&w, (uint8_t)i);
	goinfo_waitreasons_free(&w);
	return 0;
}
