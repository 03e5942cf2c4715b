// SPDX-License-Identifier: GPL-2.0
/*
 * A file's unwind rows: this test's own code holds functions with known
 * CFI (assembled below), whose return addresses must get the rules the
 * walk expects; and libc's signal trampoline must be found.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cfi_build.h"

/* clang-format off */
__asm__(
	".text\n"
	"lw_t_leaf: ret\n"
	/* rsp-based, rbp pushed first: CFA = rsp + 48, rbp at CFA - 16 */
	"lw_t_rsp:\n .cfi_startproc\n push %rbp\n .cfi_def_cfa_offset 16\n"
	" .cfi_offset %rbp, -16\n sub $32, %rsp\n .cfi_def_cfa_offset 48\n"
	" call lw_t_leaf\n.globl lw_t_ret_rsp\nlw_t_ret_rsp:\n"
	" add $32, %rsp\n .cfi_def_cfa_offset 16\n pop %rbp\n"
	" .cfi_def_cfa_offset 8\n ret\n .cfi_endproc\n"
	/* a frame pointer: CFA = rbp + 16, rbp at CFA - 16 */
	"lw_t_rbp:\n .cfi_startproc\n push %rbp\n .cfi_def_cfa_offset 16\n"
	" .cfi_offset %rbp, -16\n mov %rsp, %rbp\n .cfi_def_cfa_register %rbp\n"
	" call lw_t_leaf\n.globl lw_t_ret_rbp\nlw_t_ret_rbp:\n"
	" leave\n .cfi_def_cfa %rsp, 8\n ret\n .cfi_endproc\n"
	/* the outermost frame: the return address is undefined */
	"lw_t_end:\n .cfi_startproc\n .cfi_undefined %rip\n call lw_t_leaf\n"
	".globl lw_t_ret_end\nlw_t_ret_end:\n hlt\n .cfi_endproc\n"
	/* a CFA from rbx: no rule the walk can follow */
	"lw_t_rbx:\n .cfi_startproc\n push %rbx\n .cfi_def_cfa_offset 16\n"
	" mov %rsp, %rbx\n .cfi_def_cfa %rbx, 16\n call lw_t_leaf\n"
	".globl lw_t_ret_rbx\nlw_t_ret_rbx:\n pop %rbx\n .cfi_def_cfa %rsp, 8\n"
	" ret\n .cfi_endproc\n"
	/* no CFI at all */
	"lw_t_bare: call lw_t_leaf\n.globl lw_t_ret_bare\nlw_t_ret_bare: ret\n");
/* clang-format on */

extern char lw_t_ret_rsp[], lw_t_ret_rbp[], lw_t_ret_end[], lw_t_ret_rbx[],
	lw_t_ret_bare[];

/* The file offset of addr in the file mapped there, and that file. */
static uint64_t file_off(const void *addr, char *path, size_t len)
{
	unsigned long long s, e, off;
	char line[4096], file[4096];
	FILE *f = fopen("/proc/self/maps", "r");
	uint64_t a = (uintptr_t)addr, r = UINT64_MAX;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %4095s", &s, &e,
			   &off, file) == 4 &&
		    a >= s && a < e) {
			r = a - s + off;
			snprintf(path, len, "%s", file);
			break;
		}
	}
	fclose(f);
	return r;
}

static const struct cfi_row *row_at(const struct cfi_rows *r, uint64_t off)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i].off == off)
			return &r->v[i];
	return NULL;
}

static void test_own_rules(void **state)
{
	const struct cfi_row *row;
	struct cfi_rows r;
	char path[4096];
	size_t i;

	(void)state;
	file_off(lw_t_ret_rsp, path, sizeof(path));
	assert_int_equal(cfi_build_file(path, &r), 0);
	assert_true(r.n > 10);
	for (i = 1; i < r.n; i++)
		assert_true(r.v[i - 1].off < r.v[i].off); /* sorted, unique */

	row = row_at(&r, file_off(lw_t_ret_rsp, path, sizeof(path)));
	assert_non_null(row);
	assert_int_equal(row->rule.kind, LW_CFI_CFA_RSP);
	assert_int_equal(row->rule.cfa_off, 48);
	assert_int_equal(row->rule.rbp_off, -16);

	row = row_at(&r, file_off(lw_t_ret_rbp, path, sizeof(path)));
	assert_non_null(row);
	assert_int_equal(row->rule.kind, LW_CFI_CFA_RBP);
	assert_int_equal(row->rule.cfa_off, 16);
	assert_int_equal(row->rule.rbp_off, -16);

	row = row_at(&r, file_off(lw_t_ret_end, path, sizeof(path)));
	assert_non_null(row);
	assert_int_equal(row->rule.kind, LW_CFI_END);

	row = row_at(&r, file_off(lw_t_ret_rbx, path, sizeof(path)));
	assert_non_null(row);
	assert_int_equal(row->rule.kind, LW_CFI_STOP);

	/* no CFI: no row, the walk takes the frame pointer there */
	assert_null(row_at(&r, file_off(lw_t_ret_bare, path, sizeof(path))));
	assert_true(r.no_cfi >= 1);
	cfi_rows_free(&r);
}

static void test_libc_signal_trampoline(void **state)
{
	struct cfi_rows r;
	char path[4096];
	size_t i, signals = 0;

	(void)state;
	/* not fopen: ASan (make test SANITIZE=1) has its own */
	file_off((void *)&getpid, path, sizeof(path));
	assert_non_null(strstr(path, "libc.so"));
	assert_int_equal(cfi_build_file(path, &r), 0);
	for (i = 0; i < r.n; i++)
		signals += r.v[i].rule.kind == LW_CFI_SIGNAL;
	assert_int_equal(signals, 1);
	assert_int_equal(r.signals, 1);
	/* nearly every return address of libc has a rule */
	assert_true(r.n > 10000);
	assert_true(r.stops + r.no_cfi < r.n / 100);
	cfi_rows_free(&r);
}

static void test_bad_files(void **state)
{
	struct cfi_rows r;

	(void)state;
	assert_int_equal(cfi_build_file("/nonexistent/file", &r), -ENOENT);
	assert_int_equal(cfi_build_file("/proc/self/status", &r), -ENOEXEC);
	cfi_rows_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_rules),
		cmocka_unit_test(test_libc_signal_trampoline),
		cmocka_unit_test(test_bad_files),
	};

	return cmocka_run_group_tests_name("cfi_build", tests, NULL, NULL);
}
