// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzers' findings, replayed by make test: every harness's entry
 * (built with gcc, ASan and UBSan) over every file of
 * tests/fuzz/regress/<harness>/, the minimized inputs of bugs fixed. A
 * bug that comes back crashes, leaks or trips the sanitizers here.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#ifndef LW_REGRESS_DIR
#error "LW_REGRESS_DIR: where tests/fuzz/regress is"
#endif

#define HARNESS(name) int lw_fuzz_##name(const uint8_t *data, size_t size);
#include "harnesses.h"
#undef HARNESS

/*
 * tests/run.py runs unit binaries under stdbuf, which preloads a library
 * ahead of the ASan runtime: harmless here, so not a reason to stop.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	/* and a bug that comes back as a huge allocation fails, quickly */
	return "verify_asan_link_order=0:max_allocation_size_mb=512:"
	       "hard_rss_limit_mb=1536";
}

static uint8_t *slurp(const char *path, size_t *n)
{
	uint8_t *b = NULL;
	long len;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		b = malloc((size_t)len + 1);
		if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
			free(b);
			b = NULL;
		}
		*n = (size_t)len;
	}
	fclose(f);
	return b;
}

static void replay(const char *name,
		   int (*fn)(const uint8_t *data, size_t size))
{
	char dir[4096], path[8192];
	struct dirent *de;
	unsigned int files = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", LW_REGRESS_DIR, name);
	d = opendir(dir);
	if (!d) {
		assert_int_equal(errno, ENOENT); /* no finding yet */
		print_message("%s: no regression inputs\n", name);
		return;
	}
	while ((de = readdir(d))) {
		uint8_t *b;
		size_t n = 0;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		b = slurp(path, &n);
		assert_non_null(b);
		print_message("%s: %s\n", name, de->d_name);
		assert_int_equal(fn(b, n), 0);
		free(b);
		files++;
	}
	closedir(d);
	print_message("%s: %u inputs replayed\n", name, files);
}

#define HARNESS(name)                                                          \
	static void test_##name(void **state)                                  \
	{                                                                      \
		replay(#name, lw_fuzz_##name);                                 \
	}
#include "harnesses.h"
#undef HARNESS

int main(void)
{
#define HARNESS(name) cmocka_unit_test(test_##name),
	const struct CMUnitTest tests[] = {
#include "harnesses.h"
	};
#undef HARNESS

	return cmocka_run_group_tests(tests, NULL, NULL);
}
