// SPDX-License-Identifier: GPL-2.0
/*
 * Symbolizer tests on this very process (and a fork of it): the expected
 * names, lines and offsets come from the test source (__LINE__) and from
 * the dynamic loader (dl_iterate_phdr), never from libdw itself.
 *
 * Build with -O2 -g: the inline tests need always_inline to happen and
 * the DWARF to describe it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <search.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "symbolize.h"

/* No inlining, cloning (foo.constprop.0) or other IPA renaming. */
#if defined(__clang__)
#define NOIPA __attribute__((noinline, used, optnone))
#else
#define NOIPA __attribute__((noipa, used))
#endif
#define ALWAYS_INLINE static inline __attribute__((always_inline))

#define MAXF 8

/* ---- code to be symbolized ---- */

static const int target_fn_line = __LINE__ + 1;
static NOIPA int lw_target_fn(int x)
{
	return x * 3 + 1;
}

static NOIPA uint64_t lw_get_ra(void)
{
	return (uint64_t)__builtin_return_address(0);
}

/* The store after the call keeps it from becoming a tail call. */
static NOIPA uint64_t lw_call_site(int *line)
{
	uint64_t ra = lw_get_ra(); *line = __LINE__;
	return ra;
}

ALWAYS_INLINE uint64_t lw_inl_leaf(int *line)
{
	uint64_t ra = lw_get_ra(); *line = __LINE__;
	return ra;
}

ALWAYS_INLINE uint64_t lw_inl_mid(int *lines)
{
	uint64_t ra = lw_inl_leaf(&lines[0]); lines[1] = __LINE__;
	return ra;
}

static NOIPA uint64_t lw_inl_caller(int *lines)
{
	uint64_t ra = lw_inl_mid(lines); lines[2] = __LINE__;
	return ra;
}

/*
 * A call ending its function: the return address is already past it,
 * only pc-1 finds the caller.
 */
static jmp_buf noreturn_jb;
static uint64_t noreturn_ra;
static int noreturn_line;

static NOIPA __attribute__((noreturn)) void lw_noreturn(void)
{
	noreturn_ra = (uint64_t)__builtin_return_address(0);
	longjmp(noreturn_jb, 1);
}

static NOIPA void lw_call_noreturn(void)
{
	noreturn_line = __LINE__; lw_noreturn();
}

static uint64_t libc_ra;

static NOIPA int lw_cmp(const void *a, const void *b)
{
	if (!libc_ra)
		libc_ra = (uint64_t)__builtin_return_address(0);
	return *(const int *)a - *(const int *)b;
}

/* ---- what the loader says about an address ---- */

struct obj_info {
	uint64_t addr;
	bool found;
	uint64_t bias;
	uint64_t file_off;
	char path[PATH_MAX];
	char build_id[2 * 64 + 1];
};

static void note_build_id(const struct dl_phdr_info *info,
			  const ElfW(Phdr) *ph, struct obj_info *o)
{
	const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
	const char *end = p + ph->p_memsz;

	while (p + sizeof(ElfW(Nhdr)) <= end) {
		const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
		const unsigned char *desc;
		size_t name = (nh->n_namesz + 3) & ~3u;

		desc = (const unsigned char *)(nh + 1) + name;
		if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
		    !memcmp(nh + 1, "GNU", 4) && nh->n_descsz <= 64) {
			for (size_t i = 0; i < nh->n_descsz; i++)
				sprintf(o->build_id + 2 * i, "%02x", desc[i]);
			return;
		}
		p = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
	}
}

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct obj_info *o = data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || o->addr < lo ||
		    o->addr >= lo + ph->p_memsz)
			continue;
		o->found = true;
		o->bias = info->dlpi_addr;
		o->file_off = o->addr - lo + ph->p_offset;
		for (int j = 0; j < info->dlpi_phnum; j++)
			if (info->dlpi_phdr[j].p_type == PT_NOTE)
				note_build_id(info, &info->dlpi_phdr[j], o);
		/* The main program has an empty name here. */
		if (info->dlpi_name[0]) {
			if (!realpath(info->dlpi_name, o->path))
				o->path[0] = '\0';
		} else {
			ssize_t n = readlink("/proc/self/exe", o->path,
					     sizeof(o->path) - 1);
			o->path[n > 0 ? n : 0] = '\0';
		}
		return 1;
	}
	return 0;
}

static struct obj_info find_obj(uint64_t addr)
{
	struct obj_info o = { .addr = addr };

	dl_iterate_phdr(phdr_cb, &o);
	assert_true(o.found);
	assert_true(o.path[0] != '\0');
	return o;
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

static void assert_this_file(const struct lw_frame *f)
{
	assert_non_null(f->file);
	assert_string_equal(base_name(f->file), base_name(__FILE__));
}

/* ---- fixtures ---- */

static int setup_self(void **state)
{
	*state = symbolizer_new(getpid());
	return *state ? 0 : -1;
}

static int teardown_self(void **state)
{
	symbolizer_free(*state);
	return 0;
}

/* ---- tests ---- */

static void test_new_bad_pid(void **state)
{
	pid_t child;

	(void)state;
	errno = 0;
	assert_null(symbolizer_new(-1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(symbolizer_new(0));
	assert_int_equal(errno, EINVAL);
	/* Above PID_MAX_LIMIT: can never exist. */
	errno = 0;
	assert_null(symbolizer_new(INT_MAX));
	assert_int_equal(errno, ESRCH);

	child = fork();
	assert_true(child >= 0);
	if (!child)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	errno = 0;
	assert_null(symbolizer_new(child));
	assert_int_equal(errno, ESRCH);
}

static void test_function_address(void **state)
{
	uint64_t pc = (uint64_t)&lw_target_fn;
	struct obj_info o = find_obj(pc);
	struct lw_frame f[MAXF];
	int n;

	n = symbolizer_resolve(*state, pc, false, f, MAXF);
	assert_int_equal(n, 1);
	assert_non_null(f[0].symbol);
	assert_string_equal(f[0].symbol, "lw_target_fn");
	assert_non_null(f[0].module);
	assert_string_equal(f[0].module, o.path);
	assert_this_file(&f[0]);
	/* Declarator, brace or (optimized, no prologue) first statement. */
	assert_in_range(f[0].line, target_fn_line, target_fn_line + 2);
	assert_int_equal(f[0].offset, pc - o.bias);
	assert_int_equal(f[0].pc, pc);
	assert_false(f[0].inlined);
}

static void test_return_address_line(void **state)
{
	struct lw_frame f[MAXF];
	char buf[256], want[256];
	int line = 0, n;
	uint64_t ra = lw_call_site(&line);
	struct obj_info o = find_obj(ra);

	n = symbolizer_resolve(*state, ra, true, f, MAXF);
	assert_int_equal(n, 1);
	assert_non_null(f[0].symbol);
	assert_string_equal(f[0].symbol, "lw_call_site");
	assert_this_file(&f[0]);
	assert_int_equal(f[0].line, line);
	/* offset is the return address itself, not pc-1 */
	assert_int_equal(f[0].offset, ra - o.bias);
	assert_int_equal(f[0].pc, ra);

	symbolizer_format(&f[0], buf, sizeof(buf));
	snprintf(want, sizeof(want), "lw_call_site (%s:%d)",
		 base_name(__FILE__), line);
	assert_string_equal(buf, want);
}

static void test_noreturn_call(void **state)
{
	struct lw_frame f[MAXF];
	struct obj_info o;

	if (!setjmp(noreturn_jb))
		lw_call_noreturn();
	o = find_obj(noreturn_ra - 1);
	assert_int_equal(symbolizer_resolve(*state, noreturn_ra, true, f,
					    MAXF), 1);
	assert_non_null(f[0].symbol);
	assert_string_equal(f[0].symbol, "lw_call_noreturn");
	assert_int_equal(f[0].line, noreturn_line);
	assert_int_equal(f[0].offset, noreturn_ra - o.bias);
}

static void check_inline_frames(const struct lw_frame *f, int n,
				const int *lines, uint64_t ra)
{
	assert_int_equal(n, 3);
	assert_string_equal(f[0].symbol, "lw_inl_leaf");
	assert_int_equal(f[0].line, lines[0]);
	assert_true(f[0].inlined);
	assert_string_equal(f[1].symbol, "lw_inl_mid");
	assert_int_equal(f[1].line, lines[1]);
	assert_true(f[1].inlined);
	assert_string_equal(f[2].symbol, "lw_inl_caller");
	assert_int_equal(f[2].line, lines[2]);
	assert_false(f[2].inlined);
	for (int i = 0; i < n; i++) {
		assert_this_file(&f[i]);
		assert_int_equal(f[i].pc, ra);
		assert_ptr_equal(f[i].module, f[0].module);
	}
}

static void test_inlined_frames(void **state)
{
	struct lw_frame f[MAXF];
	int lines[3] = { 0 };
	uint64_t ra = lw_inl_caller(lines);
	int n;

	n = symbolizer_resolve(*state, ra, true, f, MAXF);
	check_inline_frames(f, n, lines, ra);

	/* Truncated: the innermost frame, then still the real function. */
	n = symbolizer_resolve(*state, ra, true, f, 2);
	assert_int_equal(n, 2);
	assert_string_equal(f[0].symbol, "lw_inl_leaf");
	assert_int_equal(f[0].line, lines[0]);
	assert_string_equal(f[1].symbol, "lw_inl_caller");
	assert_int_equal(f[1].line, lines[2]);

	n = symbolizer_resolve(*state, ra, true, f, 1);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].symbol, "lw_inl_caller");
	assert_false(f[0].inlined);
}

static bool debug_file_exists(const char *build_id)
{
	char path[PATH_MAX];

	if (strlen(build_id) < 3)
		return false;
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug",
		 build_id, build_id + 2);
	return !access(path, R_OK);
}

static void test_libc(void **state)
{
	int v[] = { 3, 1, 2 };
	struct lw_frame f[MAXF];
	struct obj_info o;
	size_t nv = 3;
	int key = 2, n;

	/* lfind, not qsort: ASan (make test SANITIZE=1) intercepts qsort,
	 * and its wrapper would be the comparator's caller, not libc */
	lfind(&key, v, &nv, sizeof(v[0]), lw_cmp);
	assert_int_not_equal(libc_ra, 0);
	o = find_obj(libc_ra);
	assert_string_not_equal(o.path, find_obj((uint64_t)&lw_cmp).path);

	n = symbolizer_resolve(*state, libc_ra, true, f, MAXF);
	assert_true(n >= 1);
	assert_non_null(f[n - 1].symbol);
	assert_non_null(f[n - 1].module);
	assert_string_equal(f[n - 1].module, o.path);
	assert_int_equal(f[n - 1].offset, libc_ra - o.bias);
	/* Separate debug info (libc6-dbg, which make deps installs) gives
	 * lines: its absence is a failure, not a quiet pass. */
	if (!debug_file_exists(o.build_id))
		fail_msg("no debug file for %s's build ID (libc6-dbg)", o.path);
	assert_non_null(f[0].file);
	assert_true(f[0].line > 0);
}

static void test_libc_function_address(void **state)
{
	uint64_t pc = (uint64_t)&printf;
	struct obj_info o = find_obj(pc);
	struct lw_frame f[MAXF];
	int n;

	/* Non-PIE programs take the address of the PLT stub instead. */
	if (!strcmp(o.path, find_obj((uint64_t)&lw_cmp).path)) {
		print_message("skipped: &printf is a PLT stub (non-PIE)\n");
		skip();
	}
	n = symbolizer_resolve(*state, pc, false, f, MAXF);
	assert_true(n >= 1);
	assert_non_null(f[n - 1].symbol);
	assert_non_null(strstr(f[n - 1].symbol, "printf"));
	assert_string_equal(f[n - 1].module, o.path);
	assert_int_equal(f[n - 1].offset, pc - o.bias);
}

/* libcmocka comes without debug info: .dynsym is all there is. */
static void test_dynsym_only(void **state)
{
	uint64_t pc = (uint64_t)&_cmocka_run_group_tests;
	struct obj_info o = find_obj(pc);
	struct lw_frame f[MAXF];

	if (!strcmp(o.path, find_obj((uint64_t)&lw_cmp).path)) {
		print_message("skipped: cmocka is linked statically\n");
		skip();
	}
	assert_int_equal(symbolizer_resolve(*state, pc + 1, false, f, MAXF),
			 1);
	assert_non_null(f[0].symbol);
	assert_string_equal(f[0].symbol, "_cmocka_run_group_tests");
	assert_string_equal(f[0].module, o.path);
	assert_int_equal(f[0].offset, pc + 1 - o.bias);
}

static void test_unmapped(void **state)
{
	unsigned long before = symbolizer_unresolved(*state);
	struct lw_frame f[MAXF];
	char buf[64];

	/* Page zero is never mapped (mmap_min_addr). */
	assert_int_equal(symbolizer_resolve(*state, 0x10, false, f, MAXF), 1);
	assert_null(f[0].symbol);
	assert_null(f[0].module);
	assert_null(f[0].file);
	assert_int_equal(f[0].line, 0);
	assert_int_equal(f[0].pc, 0x10);
	assert_int_equal(symbolizer_unresolved(*state), before + 1);
	symbolizer_format(&f[0], buf, sizeof(buf));
	assert_string_equal(buf, "0x10");

	/* Counted once per pc, not per lookup. */
	assert_int_equal(symbolizer_resolve(*state, 0x10, false, f, MAXF), 1);
	assert_null(f[0].symbol);
	assert_int_equal(symbolizer_unresolved(*state), before + 1);

	assert_int_equal(symbolizer_resolve(*state, UINT64_MAX - 5, true,
					    f, MAXF), 1);
	assert_null(f[0].module);
	assert_int_equal(symbolizer_unresolved(*state), before + 2);
}

static void *map_file(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);

	/* noexec /tmp: a read-only mapping still has a module to report. */
	if (p == MAP_FAILED)
		p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

/*
 * A data file, unlinked at once so a failing test leaves nothing
 * behind; maps then names it "path (deleted)".
 */
static int make_file(char *path, size_t len)
{
	char tmpl[] = "/tmp/lw-symbolize-XXXXXX", data[8192];
	int fd = mkstemp(tmpl);

	assert_true(fd >= 0);
	assert_non_null(realpath(tmpl, path));
	unlink(tmpl);
	memset(data, 'x', sizeof(data));
	assert_true(len <= sizeof(data));
	assert_int_equal(write(fd, data, len), len);
	return fd;
}

static void check_unresolved_in(struct symbolizer *s, uint64_t pc,
				const char *path, uint64_t off)
{
	char buf[PATH_MAX + 32], want[PATH_MAX + 32];
	struct lw_frame f[MAXF];

	assert_int_equal(symbolizer_resolve(s, pc, false, f, MAXF), 1);
	assert_null(f[0].symbol);
	assert_non_null(f[0].module);
	assert_string_equal(f[0].module, path);
	assert_int_equal(f[0].offset, off);
	symbolizer_format(&f[0], buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s+0x%" PRIx64, path, off);
	assert_string_equal(buf, want);
}

/* Also: a cached pc follows a remap of its address to another file. */
static void test_non_elf_mapping(void **state)
{
	char p1[PATH_MAX], p2[PATH_MAX];
	int fd1 = make_file(p1, 8192), fd2 = make_file(p2, 8192);
	unsigned long before = symbolizer_unresolved(*state);
	char *p = map_file(fd1, 8192), *q;

	assert_int_equal(symbolizer_refresh(*state), 0);
	check_unresolved_in(*state, (uint64_t)p + 0x1123, p1, 0x1123);
	assert_int_equal(symbolizer_unresolved(*state), before + 1);
	check_unresolved_in(*state, (uint64_t)p + 0x123, p1, 0x123);

	q = mmap(p, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd2, 4096);
	assert_ptr_equal(q, p);
	assert_int_equal(symbolizer_refresh(*state), 0);
	check_unresolved_in(*state, (uint64_t)p + 0x123, p2, 0x1123);
	/* The second page still maps the first file. */
	check_unresolved_in(*state, (uint64_t)p + 0x1123, p1, 0x1123);

	munmap(p, 8192);
	close(fd1);
	close(fd2);
}

/* Loaded code only: libelf itself maps the files it reads. */
static bool self_maps_code(const char *needle)
{
	char line[PATH_MAX + 128];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " r-xp ") && strstr(line, needle);
	fclose(f);
	return found;
}

/* A library with a known exported function that the test does not map yet. */
static const struct {
	const char *soname, *tag, *func;
} plugins[] = {
	{ "libbpf.so.1", "/libbpf.so", "libbpf_major_version" },
	{ "libresolv.so.2", "/libresolv.so", "__b64_ntop" },
};

/* Outstanding allocations of an unloaded plugin still need names. */
static void test_dlclose_keeps_symbols(void **state)
{
	struct lw_frame f[MAXF];
	struct obj_info o;
	void *h = NULL, *fn;
	unsigned i;

	for (i = 0; i < sizeof(plugins) / sizeof(plugins[0]) && !h; i++)
		if (!self_maps_code(plugins[i].tag))
			h = dlopen(plugins[i].soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		print_message("skipped: no unmapped library to dlopen\n");
		skip();
	}
	i--;
	fn = dlsym(h, plugins[i].func);
	assert_non_null(fn);
	o = find_obj((uint64_t)fn);
	assert_int_equal(symbolizer_refresh(*state), 0);
	assert_true(symbolizer_resolve(*state, (uint64_t)fn, false, f,
				       MAXF) >= 1);
	assert_string_equal(f[0].module, o.path);

	assert_int_equal(dlclose(h), 0);
	if (self_maps_code(plugins[i].tag)) {
		print_message("skipped: dlclose kept %s mapped\n",
			      plugins[i].soname);
		skip();
	}
	assert_int_equal(symbolizer_refresh(*state), 0);
	/* A pc never resolved before: found through the retired mapping. */
	assert_true(symbolizer_resolve(*state, (uint64_t)fn + 1, false, f,
				       MAXF) >= 1);
	assert_non_null(f[0].module);
	assert_string_equal(f[0].module, o.path);
	assert_int_equal(f[0].offset, (uint64_t)fn + 1 - o.bias);
	assert_non_null(f[0].symbol);
	assert_non_null(strstr(f[0].symbol, plugins[i].func));
}

static int copy_file(const char *from, int to)
{
	char buf[65536];
	int in = open(from, O_RDONLY);
	ssize_t n;

	if (in < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(to, buf, n) != n)
			break;
	close(in);
	return n == 0 ? 0 : -1;
}

/* A deleted binary is still reachable through map_files/ (privileged). */
static bool map_files_usable(const void *p, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)p, (unsigned long)((char *)p + len));
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void test_deleted_elf(void **state)
{
	char tmpl[] = "/tmp/lw-symbolize-XXXXXX", path[PATH_MAX];
	struct obj_info o = find_obj((uint64_t)&lw_target_fn);
	struct lw_frame f[MAXF];
	struct stat st;
	int fd = mkstemp(tmpl);
	char *p;
	int n;

	assert_true(fd >= 0);
	assert_non_null(realpath(tmpl, path));
	unlink(tmpl);
	assert_int_equal(copy_file("/proc/self/exe", fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = mmap(NULL, st.st_size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		print_message("skipped: cannot map a copy of the test\n");
		skip();
	}
	if (!map_files_usable(p, (st.st_size + 4095) & ~4095L)) {
		munmap(p, st.st_size);
		print_message("skipped: /proc/self/map_files needs root\n");
		skip();
	}
	assert_int_equal(symbolizer_refresh(*state), 0);

	n = symbolizer_resolve(*state, (uint64_t)p + o.file_off, false, f,
			       MAXF);
	assert_int_equal(n, 1);
	assert_non_null(f[0].symbol);
	assert_string_equal(f[0].symbol, "lw_target_fn");
	/* Reported without the " (deleted)" suffix. */
	assert_string_equal(f[0].module, path);
	assert_int_equal(f[0].offset, (uint64_t)&lw_target_fn - o.bias);
	munmap(p, st.st_size);
}

static void test_format(void **state)
{
	struct lw_frame f = { .symbol = "foo", .file = "/src/a/b.c",
			      .line = 42, .module = "/lib/x.so",
			      .offset = 0x1234, .pc = 0x7f0000001234 };
	char buf[64];

	(void)state;
	symbolizer_format(&f, buf, sizeof(buf));
	assert_string_equal(buf, "foo (b.c:42)");
	f.line = 0;
	symbolizer_format(&f, buf, sizeof(buf));
	assert_string_equal(buf, "foo (b.c)");
	f.file = NULL;
	symbolizer_format(&f, buf, sizeof(buf));
	assert_string_equal(buf, "foo");
	f.symbol = NULL;
	symbolizer_format(&f, buf, sizeof(buf));
	assert_string_equal(buf, "/lib/x.so+0x1234");
	symbolizer_format(&f, buf, 5);
	assert_string_equal(buf, "/lib");
	f.module = NULL;
	symbolizer_format(&f, buf, sizeof(buf));
	assert_string_equal(buf, "0x7f0000001234");
}

/* Each pc resolved only after the target is gone uses the kept Dwfls. */
static void test_after_exit(void **state)
{
	struct lw_frame f[MAXF];
	struct symbolizer *s;
	int line = 0, lines[3] = { 0 };
	uint64_t ra = lw_call_site(&line);
	uint64_t inl = lw_inl_caller(lines);
	char path[PATH_MAX], *data;
	siginfo_t si;
	pid_t child;
	int fd, n;

	(void)state;
	fd = make_file(path, 4096);
	data = map_file(fd, 4096);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		/* Not left behind should an assertion end the test early. */
		alarm(60);
		for (;;)
			pause();
	}
	munmap(data, 4096);
	close(fd);
	s = symbolizer_new(child);
	assert_non_null(s);
	n = symbolizer_resolve(s, (uint64_t)&lw_target_fn, false, f, MAXF);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].symbol, "lw_target_fn");

	assert_int_equal(kill(child, SIGKILL), 0);
	/*
	 * A zombie has no mappings left to show: the old view must stay,
	 * data files included (only code mappings are kept when unmapped).
	 */
	assert_int_equal(waitid(P_PID, child, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(symbolizer_refresh(s), 0);
	check_unresolved_in(s, (uint64_t)data + 0x10, path, 0x10);

	assert_int_equal(waitpid(child, NULL, 0), child);
	assert_int_equal(symbolizer_refresh(s), 0);

	n = symbolizer_resolve(s, (uint64_t)&lw_target_fn, false, f, MAXF);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].symbol, "lw_target_fn");
	assert_string_equal(f[0].module, find_obj(ra).path);

	n = symbolizer_resolve(s, ra, true, f, MAXF);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].symbol, "lw_call_site");
	assert_int_equal(f[0].line, line);

	n = symbolizer_resolve(s, inl, true, f, MAXF);
	check_inline_frames(f, n, lines, inl);

	n = symbolizer_resolve(s, (uint64_t)&malloc, false, f, MAXF);
	assert_non_null(f[n - 1].symbol);
	assert_string_equal(f[n - 1].module, find_obj((uint64_t)&malloc).path);
	symbolizer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_bad_pid),
		cmocka_unit_test(test_format),
		cmocka_unit_test_setup_teardown(test_function_address,
						setup_self, teardown_self),
		cmocka_unit_test_setup_teardown(test_return_address_line,
						setup_self, teardown_self),
		cmocka_unit_test_setup_teardown(test_noreturn_call,
						setup_self, teardown_self),
		cmocka_unit_test_setup_teardown(test_inlined_frames,
						setup_self, teardown_self),
		cmocka_unit_test_setup_teardown(test_libc,
						setup_self, teardown_self),
		cmocka_unit_test_setup_teardown(test_libc_function_address,
						setup_self, teardown_self),
		cmocka_unit_test_setup_teardown(test_dynsym_only,
						setup_self, teardown_self),
		cmocka_unit_test_setup_teardown(test_unmapped,
						setup_self, teardown_self),
		cmocka_unit_test_setup_teardown(test_non_elf_mapping,
						setup_self, teardown_self),
		cmocka_unit_test_setup_teardown(test_deleted_elf,
						setup_self, teardown_self),
		cmocka_unit_test_setup_teardown(test_dlclose_keeps_symbols,
						setup_self, teardown_self),
		cmocka_unit_test(test_after_exit),
	};

	/* Keep the tests hermetic: no network lookups for missing debuginfo. */
	unsetenv("DEBUGINFOD_URLS");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
