// SPDX-License-Identifier: GPL-2.0
/* Anonymous mappings from mmap/munmap/mremap events (user/regions.c):
 * the input is a stream of events, as the probes report them. */
#include "fuzz.h"
#include "regions.h"

static void delta(void *ctx, uint64_t stack, int64_t dbytes, int dcount)
{
	/* unsigned: the sum may wrap, the deltas are only observed */
	*(uint64_t *)ctx += (uint64_t)dbytes + (uint64_t)dcount;
}

LW_FUZZ(regions)
{
	struct lw_map_event e;
	struct lw_regions rg;
	uint64_t sum = 0;
	size_t i;

	regions_init(&rg, delta, &sum);
	for (i = 0; i + 40 <= size; i += 40) {
		memset(&e, 0, sizeof(e));
		/* small numbers make overlapping ranges likely */
		e.op = data[i] % 4;
		e.site = data[i + 1] % 8;
		e.ts_ns = i;
		e.addr = fuzz_u64(data, size, i + 8);
		e.len = fuzz_u64(data, size, i + 16);
		e.new_addr = fuzz_u64(data, size, i + 24);
		e.new_len = fuzz_u64(data, size, i + 32);
		if (data[i + 2] & 1) { /* page-sized units */
			e.addr = (e.addr & 0xffff) << 12;
			e.len = (e.len & 0xff) << 12;
			e.new_addr = (e.new_addr & 0xffff) << 12;
			e.new_len = (e.new_len & 0xff) << 12;
		}
		regions_apply(&rg, &e);
	}
	for (i = 0; i < 8; i++)
		regions_oldest_ns(&rg, i);
	regions_free(&rg);
	return 0;
}
