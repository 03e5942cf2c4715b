// SPDX-License-Identifier: GPL-2.0
/*
 * The kallsyms symbolizer on small files in kallsyms' format (written
 * here, so the expected names and offsets are known), then on this
 * machine's /proc/kallsyms when its addresses are visible.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "ksyms.h"

/*
 * Out of order (modules and BPF programs are listed after the image, and
 * not always sorted), with aliases, data symbols, a malformed line and no
 * newline at the end.
 */
static const char fake[] =
	"0000000000000000 A fixed_percpu_data\n"
	"ffffffff81000000 t startup_64\n"
	"ffffffff81000000 T _stext\n"
	"ffffffff81000000 T _text\n"
	"ffffffff81000100 T do_one\n"
	"ffffffff81000200 D some_data\n"
	"ffffffff81000300 t local_fn\n"
	"not a kallsyms line\n"
	"ffffffff81000400 W weak_fn\n"
	"ffffffffc0002000 T mod_fn2\t[ext4]\n"
	"ffffffffc0001000 t mod_fn\t[ext4]\n"
	"ffffffff81000080 T late_entry\n"
	"ffffffffc0003000 t bpf_prog_6deef7357e7b4530_kmem_kmalloc\t[bpf]";

static char *write_file(const char *text)
{
	char *path = strdup("/tmp/lw_ksyms_XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), strlen(text));
	close(fd);
	return path;
}

struct fixture {
	char *path;
	struct lw_ksyms *ks;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->path = write_file(fake);
	f->ks = ksyms_load_path(f->path);
	*state = f;
	return f->ks ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ksyms_free(f->ks);
	unlink(f->path);
	free(f->path);
	free(f);
	return 0;
}

static void expect(const struct lw_ksyms *ks, uint64_t addr, const char *name,
		   uint64_t off, const char *module)
{
	const char *mod = "unset", *got;
	uint64_t o = ~0ull;

	got = ksyms_lookup(ks, addr, &o, &mod);
	assert_non_null(got);
	assert_string_equal(got, name);
	assert_int_equal(o, off);
	if (module)
		assert_string_equal(mod, module);
	else
		assert_null(mod);
}

static void test_code_only(void **state)
{
	struct fixture *f = *state;

	/* 3 aliases, do_one, local_fn, weak_fn, 2 ext4, late_entry, bpf */
	assert_int_equal(ksyms_count(f->ks), 10);
	/* some_data is no function: its address is inside do_one */
	expect(f->ks, 0xffffffff81000250, "do_one", 0x150, NULL);
}

static void test_offsets(void **state)
{
	struct fixture *f = *state;

	expect(f->ks, 0xffffffff81000100, "do_one", 0, NULL);
	expect(f->ks, 0xffffffff810000ff, "late_entry", 0x7f, NULL);
	expect(f->ks, 0xffffffff81000301, "local_fn", 1, NULL);
	expect(f->ks, 0xffffffff81000400, "weak_fn", 0, NULL);
}

/* Aliases: a global name before a local one, then the file's order. */
static void test_aliases(void **state)
{
	struct fixture *f = *state;

	expect(f->ks, 0xffffffff81000000, "_stext", 0, NULL);
	expect(f->ks, 0xffffffff81000010, "_stext", 0x10, NULL);
}

static void test_modules(void **state)
{
	struct fixture *f = *state;

	expect(f->ks, 0xffffffffc0001010, "mod_fn", 0x10, "ext4");
	expect(f->ks, 0xffffffffc0002000, "mod_fn2", 0, "ext4");
	/* the last line, without a newline */
	expect(f->ks, 0xffffffffc0003044,
	       "bpf_prog_6deef7357e7b4530_kmem_kmalloc", 0x44, "bpf");
}

static void test_below_everything(void **state)
{
	struct fixture *f = *state;

	assert_null(ksyms_lookup(f->ks, 0xffffffff80ffffff, NULL, NULL));
	assert_null(ksyms_lookup(f->ks, 0, NULL, NULL));
}

/* What an unprivileged reader sees: names, every address zero. */
static void test_hidden_addresses(void **state)
{
	char *path = write_file("0000000000000000 T _stext\n"
				"0000000000000000 T do_one\n"
				"0000000000000000 t mod_fn\t[ext4]\n");
	struct lw_ksyms *ks = ksyms_load_path(path);

	assert_non_null(ks);
	assert_int_equal(ksyms_count(ks), 0);
	assert_null(ksyms_lookup(ks, 0, NULL, NULL));
	assert_null(ksyms_lookup(ks, 0xffffffff81000000, NULL, NULL));
	ksyms_free(ks);
	unlink(path);
	free(path);
}

static void test_no_file(void **state)
{
	errno = 0;
	assert_null(ksyms_load_path("/nonexistent/kallsyms"));
	assert_int_equal(errno, ENOENT);
}

/*
 * This kernel: a function's own kallsyms line names the address, and one
 * byte further is that function at offset 1.
 */
static void test_proc_kallsyms(void **state)
{
	char line[512], name[256], type;
	unsigned long long addr = 0, a;
	FILE *f = fopen("/proc/kallsyms", "re");
	const char *got, *mod;
	struct lw_ksyms *ks;
	uint64_t off;

	while (!addr && f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &a, &type, name) == 3 &&
		    !strcmp(name, "__x64_sys_pipe2"))
			addr = a;
	if (f)
		fclose(f);
	if (!addr) {
		print_message("skipped: /proc/kallsyms hides its addresses "
			      "(not root, or kernel.kptr_restrict = 2), or "
			      "has no __x64_sys_pipe2\n");
		skip();
	}
	ks = ksyms_load();
	assert_non_null(ks);
	assert_true(ksyms_count(ks) > 1000);
	got = ksyms_lookup(ks, addr + 1, &off, &mod);
	assert_non_null(got);
	assert_string_equal(got, "__x64_sys_pipe2");
	assert_int_equal(off, 1);
	assert_null(mod);
	ksyms_free(ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_code_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_offsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_below_everything, setup,
						teardown),
		cmocka_unit_test(test_hidden_addresses),
		cmocka_unit_test(test_no_file),
		cmocka_unit_test(test_proc_kallsyms),
	};

	return cmocka_run_group_tests_name("ksyms", tests, NULL, NULL);
}
