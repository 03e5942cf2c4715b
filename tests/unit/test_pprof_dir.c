// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of --pprof-dir's names and --pprof-keep's retention
 * (user/pprof_dir.c): a comm made a safe file name, the UTC stamp, which
 * names are a process's own, and that pruning a real directory removes
 * that process's oldest files only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "pprof_dir.h"

static void expect_prefix(const char *comm, pid_t pid, const char *want)
{
	char buf[128];

	assert_int_equal(pprof_dir_prefix(comm, pid, buf, sizeof(buf)),
			 strlen(want));
	assert_string_equal(buf, want);
}

static void test_prefix_safe(void **state)
{
	(void)state;
	expect_prefix("leaky", 42, "leaky-42.");
	expect_prefix("a-b.c_D9", 7, "a-b.c_D9-7.");
	/* a path, a hidden name, spaces, escapes, UTF-8: one '_' a byte */
	expect_prefix("../etc/x", 1, "_._etc_x-1.");
	expect_prefix("..", 1, "_.-1.");
	expect_prefix("a b\x1b[1m", 3, "a_b__1m-3.");
	expect_prefix("caf\xc3\xa9", 5, "caf__-5.");
	expect_prefix("[kernel]", 0, "_kernel_-0.");
	expect_prefix("", 9, "_-9.");
}

static void test_prefix_too_long(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(pprof_dir_prefix("leaky", 42, buf, sizeof(buf)), 0);
	assert_int_equal(pprof_dir_prefix("abcdefgh", 1, buf, sizeof(buf)), 0);
}

static void test_stamp(void **state)
{
	/* 2026-12-02 02:27:43.5069 UTC */
	struct timespec ts = { .tv_sec = 1796178463, .tv_nsec = 506999999 };
	char buf[LW_PPROF_STAMP_LEN + 1];

	(void)state;
	pprof_dir_stamp(&ts, buf, sizeof(buf));
	assert_string_equal(buf, "20261202T022743.506Z");
	ts.tv_nsec = 1000000;
	pprof_dir_stamp(&ts, buf, sizeof(buf));
	assert_string_equal(buf, "20261202T022743.001Z");
}

static void test_is_ours(void **state)
{
	(void)state;
	assert_true(pprof_dir_is_ours("leaky-42.20261202T022743.506Z.pb.gz",
				      "leaky-42."));
	/* another pid, another comm ending like ours, a longer pid */
	assert_false(pprof_dir_is_ours("leaky-43.20261202T022743.506Z.pb.gz",
				       "leaky-42."));
	assert_false(pprof_dir_is_ours("x-leaky-42.20261202T022743.506Z.pb.gz",
				       "leaky-42."));
	assert_false(pprof_dir_is_ours("leaky-421.20261202T022743.506Z.pb.gz",
				       "leaky-42."));
	/* being written, renamed by hand, not a stamp, not gzip */
	assert_false(pprof_dir_is_ours(
		"leaky-42.20261202T022743.506Z.pb.gz.tmp", "leaky-42."));
	assert_false(pprof_dir_is_ours(
		"leaky-42.20261202T022743.506Z.old.pb.gz", "leaky-42."));
	assert_false(pprof_dir_is_ours("leaky-42.latest.pb.gz", "leaky-42."));
	assert_false(pprof_dir_is_ours("leaky-42.20261202T022743.506Z.pb",
				       "leaky-42."));
	assert_false(pprof_dir_is_ours("leaky-42.20261202X022743.506Z.pb.gz",
				       "leaky-42."));
	assert_false(pprof_dir_is_ours("leaky-42.2026120xT022743.506Z.pb.gz",
				       "leaky-42."));
}

static void touch(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !access(path, F_OK);
}

static void test_prune(void **state)
{
	static const char *const ours[] = {
		/* out of order: readdir's order is no order */
		"leaky-42.20261202T022745.000Z.pb.gz",
		"leaky-42.20261202T022743.999Z.pb.gz",
		"leaky-42.20261203T000000.000Z.pb.gz",
		"leaky-42.20261202T022744.500Z.pb.gz",
		"leaky-42.20261202T022744.000Z.pb.gz",
	};
	static const char *const others[] = {
		"notes.txt",
		"leaky-43.20261202T022743.000Z.pb.gz",
		"leaky-42.20261202T022743.000Z.pb.gz.tmp",
		"leaky-42.first.pb.gz",
		"x-leaky-42.20261202T022743.000Z.pb.gz",
	};
	char dir[] = "/tmp/lw-pprof-dir-XXXXXX", path[512];
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 5; i++) {
		touch(dir, ours[i]);
		touch(dir, others[i]);
	}
	assert_int_equal(pprof_dir_check(dir), 0);
	assert_int_equal(pprof_dir_prune(dir, "leaky-42.", 5), 0);
	for (i = 0; i < 5; i++)
		assert_true(exists(dir, ours[i]));
	assert_int_equal(pprof_dir_prune(dir, "leaky-42.", 2), 0);
	/* the two newest by their stamps */
	assert_true(exists(dir, ours[0]));
	assert_true(exists(dir, ours[2]));
	assert_false(exists(dir, ours[1]));
	assert_false(exists(dir, ours[3]));
	assert_false(exists(dir, ours[4]));
	for (i = 0; i < 5; i++)
		assert_true(exists(dir, others[i]));
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ours[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", dir, others[i]);
		assert_int_equal(unlink(path), 0);
	}
	/* nothing of the check's own was left */
	assert_int_equal(rmdir(dir), 0);
}

static void test_check_refuses(void **state)
{
	(void)state;
	assert_int_equal(pprof_dir_check("/nonexistent/lw-pprof-dir"), -1);
	assert_int_equal(pprof_dir_check("/dev/null"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_safe),
		cmocka_unit_test(test_prefix_too_long),
		cmocka_unit_test(test_stamp),
		cmocka_unit_test(test_is_ours),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_check_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
