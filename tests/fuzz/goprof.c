// SPDX-License-Identifier: GPL-2.0
/*
 * The Go runtime's memory profile read from a target (user/goprof.c): a
 * runtime.mbuckets list in target memory (the input at FUZZ_MEM) with
 * the bucket layout the binary's DWARF gave (the input's first bytes:
 * both come from the target's owner).
 *
 * Input: u16 bucket_hdr, bk_allnext, bk_size, bk_nstk; u32 offset of
 * runtime.mbuckets, u32 offset of runtime.MemProfileRate; the rest is
 * memory, pointers absolute (FUZZ_MEM + offset).
 */
#include "fuzz.h"
#include "goprof.h"

LW_FUZZ(goprof)
{
	struct go_heap_layout l;
	struct goprof g;
	int64_t rate = 0;

	if (size < 16 || !fuzz_mem(data, size))
		return 0;
	memset(&l, 0, sizeof(l));
	l.bucket_hdr = (uint16_t)fuzz_u32(data, size, 0);
	l.bk_allnext = (uint16_t)fuzz_u32(data, size, 2);
	l.bk_size = (uint16_t)fuzz_u32(data, size, 4);
	l.bk_nstk = (uint16_t)fuzz_u32(data, size, 6);
	l.mbuckets = FUZZ_MEM + fuzz_u32(data, size, 8) % FUZZ_MEM_MAX;
	l.memprofilerate = FUZZ_MEM + fuzz_u32(data, size, 12) % FUZZ_MEM_MAX;
	goprof_init(&g, getpid(), 0, &l);
	goprof_rate(&g, &rate);
	goprof_snapshot(&g);
	goprof_snapshot(&g);
	goprof_free(&g);
	return 0;
}
