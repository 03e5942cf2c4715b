// SPDX-License-Identifier: GPL-2.0
/* The user-space tracker of the program's anonymous mappings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "regions.h"

#define PG 4096ull

struct totals {
	int64_t bytes[4];
	int64_t count[4];
};

static void delta(void *ctx, uint64_t stack, int64_t dbytes, int dcount)
{
	struct totals *t = ctx;

	t->bytes[stack] += dbytes;
	t->count[stack] += dcount;
}

static void ev(struct lw_regions *rg, uint32_t op, uint64_t addr, uint64_t len,
	       uint64_t new_addr, uint64_t new_len, uint64_t stack)
{
	struct lw_map_event e = { .op = op,
				  .addr = addr,
				  .len = len,
				  .new_addr = new_addr,
				  .new_len = new_len,
				  .site = stack,
				  .ts_ns = addr };

	regions_apply(rg, &e);
}

static void test_map_unmap(void **state)
{
	struct totals t = {};
	struct lw_regions rg;

	regions_init(&rg, delta, &t);
	ev(&rg, LW_MAP_MMAP, 0x10000, 3 * PG, 0, 0, 1);
	ev(&rg, LW_MAP_MMAP, 0x40000, 100, 0, 0, 2); /* rounds up to a page */
	assert_int_equal(t.bytes[1], 3 * PG);
	assert_int_equal(t.bytes[2], PG);
	assert_int_equal(t.count[1], 1);
	ev(&rg, LW_MAP_MUNMAP, 0x10000, 3 * PG, 0, 0, 0);
	assert_int_equal(t.bytes[1], 0);
	assert_int_equal(t.count[1], 0);
	assert_int_equal(t.count[2], 1);
	regions_free(&rg);
}

static void test_partial_unmap_splits(void **state)
{
	struct totals t = {};
	struct lw_regions rg;

	regions_init(&rg, delta, &t);
	ev(&rg, LW_MAP_MMAP, 0x10000, 5 * PG, 0, 0, 1);
	ev(&rg, LW_MAP_MUNMAP, 0x10000 + PG, PG, 0, 0, 0);     /* a hole */
	ev(&rg, LW_MAP_MUNMAP, 0x10000 + 4 * PG, PG, 0, 0, 0); /* the tail */
	assert_int_equal(t.bytes[1], 3 * PG);
	assert_int_equal(t.count[1], 1); /* still one mapping */
	assert_int_equal(rg.n, 2);
	/* one munmap over both pieces and the gap between them */
	ev(&rg, LW_MAP_MUNMAP, 0x10000, 4 * PG, 0, 0, 0);
	assert_int_equal(t.bytes[1], 0);
	assert_int_equal(t.count[1], 0);
	assert_int_equal(rg.n, 0);
	regions_free(&rg);
}

static void test_unmap_of_unknown_range_is_ignored(void **state)
{
	struct totals t = {};
	struct lw_regions rg;

	regions_init(&rg, delta, &t);
	ev(&rg, LW_MAP_MMAP, 0x10000, PG, 0, 0, 1);
	ev(&rg, LW_MAP_MUNMAP, 0x80000, 8 * PG, 0, 0, 0);
	assert_int_equal(t.bytes[1], PG);
	assert_int_equal(rg.n, 1);
	regions_free(&rg);
}

static void test_mremap_keeps_site(void **state)
{
	struct totals t = {};
	struct lw_regions rg;

	regions_init(&rg, delta, &t);
	ev(&rg, LW_MAP_MMAP, 0x10000, 2 * PG, 0, 0, 3);
	ev(&rg, LW_MAP_MREMAP, 0x10000, 2 * PG, 0x90000, 6 * PG, 0);
	assert_int_equal(t.bytes[3], 6 * PG);
	assert_int_equal(t.count[3], 1);
	assert_int_equal(rg.r[0].start, 0x90000);
	assert_int_equal(regions_oldest_ns(&rg, 3), 0x10000);
	regions_free(&rg);
}

static void test_map_fixed_over_existing(void **state)
{
	struct totals t = {};
	struct lw_regions rg;

	regions_init(&rg, delta, &t);
	ev(&rg, LW_MAP_MMAP, 0x10000, 4 * PG, 0, 0, 1);
	ev(&rg, LW_MAP_MMAP, 0x10000 + PG, PG, 0, 0, 2); /* MAP_FIXED */
	assert_int_equal(t.bytes[1], 3 * PG);
	assert_int_equal(t.bytes[2], PG);
	assert_int_equal(rg.n, 3);
	regions_free(&rg);
}

static void test_origins_are_recycled(void **state)
{
	struct totals t = {};
	struct lw_regions rg;
	int i;

	regions_init(&rg, delta, &t);
	for (i = 0; i < 1000; i++) {
		ev(&rg, LW_MAP_MMAP, 0x10000, PG, 0, 0, 1);
		ev(&rg, LW_MAP_MUNMAP, 0x10000, PG, 0, 0, 0);
	}
	assert_true(rg.no <= 2);
	assert_int_equal(t.count[1], 0);
	regions_free(&rg);
}

/* A lost munmap: the maps of the process say what is gone. */
static void test_sync_cuts_what_maps_lacks(void **state)
{
	static char maps[] =
		"00010000-00012000 rw-p 00000000 00:00 0 \n"
		"00030000-00031000 rw-p 00000000 00:00 0 "
		"/a/path/longer/than/the/line/buffer/of/regions_sync/xxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		"\n"
		"7fff0000-7fff1000 rw-p 00000000 00:00 0 [stack]\n";
	struct totals t = {};
	struct lw_regions rg;
	FILE *f;

	regions_init(&rg, delta, &t);
	ev(&rg, LW_MAP_MMAP, 0x10000, 4 * PG, 0, 0, 1); /* half still there */
	ev(&rg, LW_MAP_MMAP, 0x20000, PG, 0, 0, 2);	/* gone */
	ev(&rg, LW_MAP_MMAP, 0x30000, PG, 0, 0, 3);	/* there */
	ev(&rg, LW_MAP_MMAP, 0x80000000, PG, 0, 0, 2);	/* gone, past all */
	f = fmemopen(maps, strlen(maps), "r");
	assert_non_null(f);
	regions_sync(&rg, f);
	fclose(f);
	assert_int_equal(t.bytes[1], 2 * PG);
	assert_int_equal(t.count[1], 1);
	assert_int_equal(t.bytes[2], 0);
	assert_int_equal(t.count[2], 0);
	assert_int_equal(t.bytes[3], PG);
	assert_int_equal(rg.n, 2);
	regions_free(&rg);
}

/* An unreadable line may hide a mapping: nothing past it is cut. */
static void test_sync_stops_at_a_bad_line(void **state)
{
	static char maps[] = "00010000-00011000 rw-p 00000000 00:00 0\n"
			     "garbage\n"
			     "00030000-00031000 rw-p 00000000 00:00 0\n";
	struct totals t = {};
	struct lw_regions rg;
	FILE *f;

	regions_init(&rg, delta, &t);
	ev(&rg, LW_MAP_MMAP, 0x20000, PG, 0, 0, 1);
	ev(&rg, LW_MAP_MMAP, 0x40000, PG, 0, 0, 2);
	f = fmemopen(maps, strlen(maps), "r");
	assert_non_null(f);
	regions_sync(&rg, f);
	fclose(f);
	assert_int_equal(t.bytes[1], PG);
	assert_int_equal(t.bytes[2], PG);
	regions_free(&rg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_unmap),
		cmocka_unit_test(test_partial_unmap_splits),
		cmocka_unit_test(test_unmap_of_unknown_range_is_ignored),
		cmocka_unit_test(test_mremap_keeps_site),
		cmocka_unit_test(test_map_fixed_over_existing),
		cmocka_unit_test(test_origins_are_recycled),
		cmocka_unit_test(test_sync_cuts_what_maps_lacks),
		cmocka_unit_test(test_sync_stops_at_a_bad_line),
	};

	return cmocka_run_group_tests_name("regions", tests, NULL, NULL);
}
