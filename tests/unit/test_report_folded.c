// SPDX-License-Identifier: GPL-2.0
/*
 * Folded output on a hand-made model: values by --folded-value, rounding
 * and omission, merging and order, and frames that must not break the
 * format. Sites without a stack show their label, so no symbolizer is
 * needed; real stacks are checked end to end by
 * tests/integration/test_views_folded.py.
 */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "view.h"

static struct lw_model model;
static uint64_t next_id = 1;

static int setup(void **state)
{
	next_id = 1;
	return model_init(&model, 0.0);
}

static int teardown(void **state)
{
	model_free(&model);
	return 0;
}

static struct lw_site *labelled(enum lw_site_kind kind, const char *label)
{
	struct lw_site *s = model_site(&model, next_id++);

	s->kind = kind;
	s->stack_read = true;
	snprintf(s->label, sizeof(s->label), "%s", label);
	return s;
}

static struct lw_site *heap(const char *label, int64_t bytes, uint64_t live)
{
	struct lw_site *s = labelled(LW_KIND_HEAP, label);

	s->k.bytes = bytes;
	s->k.allocs = live + 2;
	s->k.frees = 2;
	return s;
}

static struct lw_site *counted(enum lw_site_kind kind, const char *label,
			       int64_t live)
{
	struct lw_site *s = labelled(kind, label);

	s->scanned = live;
	return s;
}

/* The whole output of report_folded, which must succeed. */
static char *folded(enum lw_folded_value how)
{
	struct lw_view v = { .model = &model, .interval = 1, .top = 10 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(report_folded(f, "test", &v, how), 0);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void expect(enum lw_folded_value how, const char *want)
{
	char *got = folded(how);

	assert_string_equal(got, want);
	free(got);
}

static void test_values_by_kind(void **state)
{
	struct lw_site *h = heap("h", 4096, 3);
	struct lw_site *g = counted(LW_KIND_GOROUTINE, "g", 7);
	struct lw_site *t = counted(LW_KIND_THREAD, "t", 2);

	t->thread_bytes = 16384;
	h->fit.value_per_s = 1000.4;
	h->fit.count_per_s = 9;
	g->fit.value_per_s = 50;
	g->fit.count_per_s = 2.5;
	t->fit.count_per_s = 0.49;
	/* Default: bytes for heap sites, the live count else */
	expect(LW_FOLDED_AUTO,
	       "[goroutine];g 7\n[heap];h 4096\n[thread];t 2\n");
	/* A goroutine has no bytes: left out */
	expect(LW_FOLDED_BYTES, "[heap];h 4096\n[thread];t 16384\n");
	expect(LW_FOLDED_COUNT, "[goroutine];g 7\n[heap];h 3\n[thread];t 2\n");
	/* bytes/s for heap, count/s else; rounded; 0 left out */
	expect(LW_FOLDED_GROWTH, "[goroutine];g 3\n[heap];h 1000\n");
}

static void test_growth_never_negative(void **state)
{
	heap("shrinks", 100, 1)->fit.value_per_s = -5000;
	heap("flat", 100, 1)->fit.value_per_s = 0;
	heap("nan", 100, 1)->fit.value_per_s = NAN;
	heap("grows", 100, 1)->fit.value_per_s = 0.5;
	expect(LW_FOLDED_GROWTH, "[heap];grows 1\n");
}

/* Two sites that print the same stack are one line; lines are sorted
 * byte-wise, whatever the ranking. */
static void test_merged_and_sorted(void **state)
{
	heap("b", 10, 1);
	heap("a", 1, 1);
	heap("b", 32, 1);
	counted(LW_KIND_THREAD, "a", 1);
	expect(LW_FOLDED_AUTO, "[heap];a 1\n[heap];b 42\n[thread];a 1\n");
}

/* ';' would cut the frame, control characters the line (both escaped as
 * \xNN, as every view escapes a target's strings), and a frame ending in
 * a space and a number looks like a value (or, to flamegraph.pl, the
 * first column of a differential). */
static void test_frames_cannot_break_lines(void **state)
{
	counted(LW_KIND_THREAD, "[alive at attach] a;b\tc 12", 3);
	counted(LW_KIND_THREAD, "x\ny 1.5", 1);
	counted(LW_KIND_THREAD, "v 2.", 1);
	counted(LW_KIND_THREAD, "w 1.5x", 1);
	counted(LW_KIND_THREAD, "  ;  ", 1);
	counted(LW_KIND_THREAD, "\r\n", 1);
	counted(LW_KIND_THREAD, "   ", 1);
	counted(LW_KIND_THREAD, "\x1b]0;t\x07\xff", 1);
	expect(LW_FOLDED_COUNT,
	       "[thread];? 1\n"
	       "[thread];[alive at attach] a\\x3bb\\x09c_12 3\n"
	       "[thread];\\x0d\\x0a 1\n"
	       "[thread];\\x1b]0\\x3bt\\x07\\xff 1\n"
	       "[thread];\\x3b 1\n"
	       "[thread];v_2. 1\n"
	       "[thread];w 1.5x 1\n"
	       "[thread];x\\x0ay_1.5 1\n");
}

static void test_no_stack_no_label(void **state)
{
	heap("", 8, 1);
	expect(LW_FOLDED_AUTO, "[heap];[stack not captured] 8\n");
}

static void test_nothing_outstanding(void **state)
{
	heap("freed", 0, 0);
	counted(LW_KIND_GOROUTINE, "gone", 0);
	expect(LW_FOLDED_AUTO, "");
}

static void test_write_error(void **state)
{
	struct lw_view v = { .model = &model, .interval = 1, .top = 10 };
	FILE *f = fopen("/dev/full", "w");

	if (!f) {
		print_message("skipped: no /dev/full to fail writes with\n");
		skip();
	}
	heap("h", 8, 1);
	assert_int_equal(report_folded(f, "/dev/full", &v, LW_FOLDED_AUTO), -1);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_values_by_kind, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_growth_never_negative,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_merged_and_sorted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_frames_cannot_break_lines,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_stack_no_label, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_nothing_outstanding, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_error, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
