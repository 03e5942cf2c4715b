// SPDX-License-Identifier: GPL-2.0
/*
 * .gopclntab decoder tests on real Go binaries, built at test time from
 * tests/unit/go/leaky.go with every Go toolchain found: normal, stripped
 * (-ldflags='-s -w') and PIE. The expected names, files, lines and
 * inlined frames come from the Go runtime of the program itself
 * (runtime.CallersFrames), entries and sizes from the ELF .symtab of the
 * unstripped build: never from the decoder under test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "gopclntab.h"
#include "symbolize.h"

#define MAXF	   8
#define MAX_GROUPS 16

enum kind {
	NORMAL,
	STRIPPED,
	PIE,
	NKINDS
};

static const char *const kind_name[NKINDS] = { "normal", "stripped", "pie" };
static const char *const kind_flags[NKINDS] = { "", "-ldflags='-s -w'",
						"-buildmode=pie" };

struct exp_frame {
	char func[128];
	char file[64];
	int line;
};

/* One pc the program captured and the frames Go expands it to. */
struct group {
	char label[32];
	uint64_t pc;
	int n;
	struct exp_frame f[MAXF];
};

struct build {
	bool tried;
	bool ok;
	char path[PATH_MAX];
	uint64_t main_entry; /* runtime address printed by the program */
	int ngroups;
	struct group g[MAX_GROUPS];
};

struct toolchain {
	const char *version;
	int minor;
	const char *wrapper; /* how `go worker(...)` is wrapped */
	struct build b[NKINDS];
};

static struct toolchain chains[] = {
	{ "1.19", 19, "main.main.func1", { { 0 } } },
	{ "1.21", 21, "main.main.func1", { { 0 } } },
	{ "1.23", 23, "main.main.gowrap1", { { 0 } } },
};

static char tmpdir[256] = "";
/* GOCACHE: LW_GOCACHE if set (faster reruns), else one in tmpdir. */
static char gocache[sizeof(tmpdir) + 16] = "";

/* ---- building and running the Go program ---- */

/* Absolute: the build runs in the temporary directory. */
static const char *go_source(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("LW_GO_SRC");
	char dir[PATH_MAX], rel[PATH_MAX + 16];

	snprintf(dir, sizeof(dir), "%s", __FILE__);
	snprintf(rel, sizeof(rel), "%s/go/leaky.go", dirname(dir));
	if (env)
		snprintf(rel, sizeof(rel), "%s", env);
	else if (access(rel, R_OK))
		snprintf(rel, sizeof(rel), "tests/unit/go/leaky.go");
	if (!realpath(rel, path))
		fail_msg("Go test program %s not found (set LW_GO_SRC)", rel);
	return path;
}

static const char *go_tool(const struct toolchain *tc, char *buf, size_t len)
{
	snprintf(buf, len, "/usr/lib/go-%s/bin/go", tc->version);
	return access(buf, X_OK) ? NULL : buf;
}

static bool parse_line(struct build *b, const char *line)
{
	struct group *g = b->ngroups ? &b->g[b->ngroups - 1] : NULL;
	char name[128];
	uint64_t v;

	if (sscanf(line, "ENTRY main.main %" SCNx64, &v) == 1) {
		b->main_entry = v;
	} else if (!strncmp(line, "G ", 2)) {
		if (b->ngroups == MAX_GROUPS)
			return false;
		g = &b->g[b->ngroups++];
		memset(g, 0, sizeof(*g));
		if (sscanf(line, "G %31s %" SCNx64, g->label, &g->pc) != 2)
			return false;
	} else if (!strncmp(line, "F ", 2)) {
		if (!g || g->n == MAXF)
			return false;
		if (sscanf(line, "F %127s %63s %d", name, g->f[g->n].file,
			   &g->f[g->n].line) != 3)
			return false;
		snprintf(g->f[g->n].func, sizeof(g->f[g->n].func), "%s", name);
		g->n++;
	}
	return true;
}

static bool read_oracle(struct build *b, FILE *f)
{
	char line[512];
	bool ok = true;

	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "READY", 5))
			break;
		ok &= parse_line(b, line);
	}
	return ok && b->ngroups >= 4 && b->main_entry;
}

static bool run_oracle(struct build *b)
{
	char cmd[PATH_MAX + 16];
	FILE *f;
	bool ok;

	snprintf(cmd, sizeof(cmd), "'%s'", b->path);
	f = popen(cmd, "r");
	if (!f)
		return false;
	ok = read_oracle(b, f);
	return pclose(f) == 0 && ok;
}

/*
 * Build (once) variant k with toolchain tc; skips the test when the
 * toolchain is missing, fails it when the build does.
 */
static struct build *get_build(struct toolchain *tc, enum kind k)
{
	struct build *b = &tc->b[k];
	char go[256], cmd[4 * PATH_MAX];

	if (!go_tool(tc, go, sizeof(go))) {
		print_message("go %s not installed (%s): skipped\n",
			      tc->version, go);
		skip();
	}
	if (b->tried) {
		assert_true(b->ok);
		return b;
	}
	b->tried = true;
	snprintf(b->path, sizeof(b->path), "%s/leaky-%s-%s", tmpdir,
		 tc->version, kind_name[k]);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && HOME='%s' GOCACHE='%s' GOPATH='%s/gopath' "
		 "GOFLAGS= GOTOOLCHAIN=local GO111MODULE=off CGO_ENABLED=0 "
		 "'%s' build %s -o '%s' '%s' >'%s.log' 2>&1",
		 tmpdir, tmpdir, gocache, tmpdir, go, kind_flags[k], b->path,
		 go_source(), b->path);
	if (system(cmd)) {
		print_message("build failed: %s (see %s.log)\n", cmd, b->path);
		fail();
	}
	assert_true(run_oracle(b));
	b->ok = true;
	return b;
}

/* ---- reading the ELF symbol table (the reference) ---- */

static bool elf_symbol(const char *path, const char *name, uint64_t *value,
		       uint64_t *size)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	Elf_Scn *scn = NULL;
	bool found = false;

	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && !found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *n;

			if (!gelf_getsym(d, (int)i, &sym))
				continue;
			n = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (n && !strcmp(n, name)) {
				*value = sym.st_value;
				*size = sym.st_size;
				found = true;
				break;
			}
		}
	}
	elf_end(elf);
	close(fd);
	return found;
}

static bool section_range(const char *path, const char *name, uint64_t *off,
			  uint64_t *size)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	bool found = false;

	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && !elf_getshdrstrndx(elf, &shstrndx)) {
		while (!found && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *n;

			if (!gelf_getshdr(scn, &sh))
				continue;
			n = elf_strptr(elf, shstrndx, sh.sh_name);
			if (n && !strcmp(n, name)) {
				*off = sh.sh_offset;
				*size = sh.sh_size;
				found = true;
			}
		}
	}
	elf_end(elf);
	close(fd);
	return found;
}

/* ---- checks ---- */

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

static void check_frames(const struct group *g, const struct lw_frame *f, int n)
{
	print_message("  %s pc %" PRIx64 ": %d frames, %d expected\n", g->label,
		      g->pc, n, g->n);
	assert_int_equal(n, g->n);
	for (int i = 0; i < n; i++) {
		assert_non_null(f[i].symbol);
		assert_string_equal(f[i].symbol, g->f[i].func);
		assert_non_null(f[i].file);
		assert_string_equal(base_name(f[i].file), g->f[i].file);
		assert_int_equal(f[i].line, g->f[i].line);
		assert_int_equal(f[i].inlined, i < n - 1);
	}
}

static const struct group *find_group(const struct build *b, const char *label,
				      const char *func)
{
	for (int i = 0; i < b->ngroups; i++)
		if (!strcmp(b->g[i].label, label) &&
		    !strcmp(b->g[i].f[0].func, func))
			return &b->g[i];
	fail_msg("no group %s/%s in the program's output", label, func);
	return NULL;
}

/* Difference between where the program ran and its link-time addresses. */
static uint64_t load_bias(struct gopclntab *t, const struct build *b)
{
	uint64_t entry, end;

	assert_true(gopclntab_func(t, "main.main", &entry, &end));
	return b->main_entry - entry;
}

static void check_func(struct gopclntab *t, const char *unstripped,
		       const char *name)
{
	uint64_t entry = 0, end = 0, value, size;

	assert_true(gopclntab_func(t, name, &entry, &end));
	assert_true(entry < end);
	assert_true(elf_symbol(unstripped, name, &value, &size));
	assert_int_equal(entry, value);
	assert_int_equal(end, value + size);
}

/* ---- tests, run for each toolchain (state) ---- */

static void test_funcs(void **state)
{
	struct toolchain *tc = *state;
	static const char *const names[] = { "main.main", "runtime.newproc1",
					     "runtime.goexit1",
					     "main.leakByChannel.func1" };

	for (int k = 0; k < NKINDS; k++) {
		struct build *b = get_build(tc, k);
		/* Stripping does not move code: compare with the symtab. */
		const char *ref = get_build(tc, k == PIE ? PIE : NORMAL)->path;
		struct gopclntab *t = gopclntab_open(b->path);

		assert_non_null(t);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			check_func(t, ref, names[i]);
		check_func(t, ref, tc->wrapper);
		assert_false(
			gopclntab_func(t, "main.no_such_function", NULL, NULL));
		assert_false(gopclntab_func(t, "", NULL, NULL));
		gopclntab_close(t);
	}
}

static void check_oracle(struct build *b)
{
	struct gopclntab *t = gopclntab_open(b->path);
	struct lw_frame f[MAXF];
	uint64_t bias;

	assert_non_null(t);
	assert_true(gopclntab_has_inline(t));
	bias = load_bias(t, b);
	for (int i = 0; i < b->ngroups; i++) {
		const struct group *g = &b->g[i];
		int n;

		memset(f, 0, sizeof(f));
		n = gopclntab_resolve(t, g->pc - bias, true, f, MAXF);
		check_frames(g, f, n);
	}
	gopclntab_close(t);
}

/* Every captured pc resolves exactly as the Go runtime expands it. */
static void test_frames(void **state)
{
	struct toolchain *tc = *state;

	for (int k = 0; k < NKINDS; k++) {
		struct build *b = get_build(tc, k);
		const struct group *g;

		print_message(" %s %s\n", tc->version, kind_name[k]);
		/* The oracle itself must show what we mean to test. */
		g = find_group(b, "inline", "main.inlLeaf");
		assert_int_equal(g->n, 3);
		assert_string_equal(g->f[1].func, "main.inlMid");
		assert_string_equal(g->f[2].func, "main.physical");
		find_group(b, "closure", "main.leakByChannel.func1");
		find_group(b, "gostmt", "main.worker");
		check_oracle(b);
	}
}

/* Deeper chains than max keep the innermost frames and the function. */
static void test_inline_max(void **state)
{
	struct toolchain *tc = *state;
	struct build *b = get_build(tc, NORMAL);
	const struct group *g = find_group(b, "inline", "main.inlLeaf");
	struct gopclntab *t = gopclntab_open(b->path);
	struct lw_frame f[3];

	assert_non_null(t);
	assert_int_equal(gopclntab_resolve(t, g->pc, true, f, 1), 1);
	assert_string_equal(f[0].symbol, "main.physical");
	assert_false(f[0].inlined);
	assert_int_equal(f[0].line, g->f[2].line);
	assert_int_equal(gopclntab_resolve(t, g->pc, true, f, 2), 2);
	assert_string_equal(f[0].symbol, "main.inlLeaf");
	assert_int_equal(f[0].line, g->f[0].line);
	assert_true(f[0].inlined);
	assert_string_equal(f[1].symbol, "main.physical");
	assert_int_equal(f[1].line, g->f[2].line);
	assert_int_equal(gopclntab_resolve(t, g->pc, true, f, 0), 0);
	gopclntab_close(t);
}

/* Function entries resolve (not as return addresses) to that function. */
static void test_entries(void **state)
{
	struct toolchain *tc = *state;
	const char *names[] = { "main.main", "runtime.newproc1",
				"main.leakByChannel.func1", tc->wrapper };
	struct build *b = get_build(tc, STRIPPED);
	struct gopclntab *t = gopclntab_open(b->path);

	assert_non_null(t);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct lw_frame f[MAXF];
		uint64_t entry, end;
		int n;

		assert_true(gopclntab_func(t, names[i], &entry, &end));
		n = gopclntab_resolve(t, entry, false, f, MAXF);
		assert_true(n >= 1);
		assert_string_equal(f[n - 1].symbol, names[i]);
		n = gopclntab_resolve(t, end - 1, false, f, MAXF);
		assert_true(n >= 1);
		assert_string_equal(f[n - 1].symbol, names[i]);
		assert_non_null(f[n - 1].file);
		/* A return address at entry belongs to the function before. */
		n = gopclntab_resolve(t, entry, true, f, MAXF);
		assert_true(n == 0 || strcmp(f[n - 1].symbol, names[i]));
	}
	gopclntab_close(t);
}

static void test_outside_text(void **state)
{
	struct toolchain *tc = *state;
	struct build *b = get_build(tc, NORMAL);
	struct gopclntab *t = gopclntab_open(b->path);
	struct lw_frame f[MAXF];
	uint64_t value, size, etext;

	assert_non_null(t);
	assert_int_equal(gopclntab_resolve(t, 0, false, f, MAXF), 0);
	assert_int_equal(gopclntab_resolve(t, 0, true, f, MAXF), 0);
	assert_int_equal(gopclntab_resolve(t, 0x1000, false, f, MAXF), 0);
	assert_int_equal(gopclntab_resolve(t, UINT64_MAX, false, f, MAXF), 0);
	/* Data, not code: runtime.firstmoduledata. */
	assert_true(
		elf_symbol(b->path, "runtime.firstmoduledata", &value, &size));
	assert_int_equal(gopclntab_resolve(t, value, false, f, MAXF), 0);
	assert_true(elf_symbol(b->path, "runtime.etext", &etext, &size));
	assert_int_equal(gopclntab_resolve(t, etext + 64, false, f, MAXF), 0);
	gopclntab_close(t);
}

/*
 * The symbolizer on the running program: pcs are runtime addresses
 * (PIE: with a load bias), frames come from .gopclntab.
 */
static void check_live(struct build *b)
{
	int in[2], out[2];
	struct build live = *b;
	struct symbolizer *s;
	pid_t pid;
	FILE *f;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(b->path, b->path, "hold", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	f = fdopen(out[0], "r");
	live.ngroups = 0;
	live.main_entry = 0;
	assert_true(read_oracle(&live, f));
	s = symbolizer_new(pid);
	assert_non_null(s);
	for (int i = 0; i < live.ngroups; i++) {
		struct lw_frame fr[MAXF];
		int n = symbolizer_resolve(s, live.g[i].pc, true, fr, MAXF);

		check_frames(&live.g[i], fr, n);
		for (int j = 0; j < n; j++) {
			assert_string_equal(fr[j].module, b->path);
			assert_int_equal(fr[j].pc, live.g[i].pc);
		}
	}
	assert_int_equal(symbolizer_unresolved(s), 0);
	symbolizer_free(s);
	close(in[1]);
	fclose(f);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void test_symbolizer(void **state)
{
	struct toolchain *tc = *state;

	for (int k = 0; k < NKINDS; k++) {
		print_message(" %s %s\n", tc->version, kind_name[k]);
		check_live(get_build(tc, k));
	}
}

/* ---- not Go, damaged Go ---- */

static void test_not_go(void **state)
{
	char path[sizeof(tmpdir) + 16];
	int fd;

	(void)state;
	errno = 0;
	assert_null(gopclntab_open("/bin/true"));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(gopclntab_open("/nonexistent/leakwatch"));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(gopclntab_open(go_source()));
	assert_int_equal(errno, ENOEXEC);
	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(gopclntab_open(path));
	assert_int_equal(errno, ENOEXEC);
	assert_int_equal(gopclntab_resolve(NULL, 0x401000, false, NULL, 0), 0);
	assert_false(gopclntab_func(NULL, "main.main", NULL, NULL));
	gopclntab_close(NULL);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc(n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	fclose(f);
	*len = n;
	return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Whatever a damaged table holds, using it must not crash or overrun. */
static void exercise(const char *path, const struct build *b)
{
	struct gopclntab *t = gopclntab_open(path);
	struct lw_frame f[MAXF];
	uint64_t entry, end;

	if (!t)
		return;
	for (int i = 0; i < b->ngroups; i++)
		gopclntab_resolve(t, b->g[i].pc, true, f, MAXF);
	for (uint64_t pc = 0x400000; pc < 0x500000; pc += 0x1f3)
		gopclntab_resolve(t, pc, pc & 1, f, MAXF);
	gopclntab_func(t, "runtime.newproc1", &entry, &end);
	gopclntab_func(t, "no.such", &entry, &end);
	gopclntab_close(t);
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Random bytes over [off, off + size) of a copy of img. */
static void scribble(const char *path, const uint8_t *img, uint8_t *copy,
		     size_t len, uint64_t off, uint64_t size, int round,
		     uint32_t *seed)
{
	memcpy(copy, img, len);
	for (int j = 0; j < 64 << (round % 6); j++)
		copy[off + xorshift(seed) % size] = xorshift(seed);
	spit(path, copy, len);
}

/* Section headers pointing past the end of the file. */
static void test_bad_elf(void **state)
{
	struct toolchain *tc = *state;
	struct build *b = get_build(tc, NORMAL);
	char path[PATH_MAX];
	size_t len;
	uint8_t *img = slurp(b->path, &len), *copy = malloc(len);
	const uint32_t fields[] = { 0x28, 0x3a, 0x3c, 0x3e }; /* shoff... */

	assert_non_null(copy);
	snprintf(path, sizeof(path), "%s/badelf-%s", tmpdir, tc->version);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		memcpy(copy, img, len);
		memset(copy + fields[i], 0xff, 2);
		spit(path, copy, len);
		exercise(path, b);
	}
	free(img);
	free(copy);
}

static void test_damaged(void **state)
{
	struct toolchain *tc = *state;
	struct build *b = get_build(tc, NORMAL);
	char path[PATH_MAX];
	uint64_t off = 0, size = 1, roff = 0, rsize = 1;
	uint32_t seed = 0x1ea4;
	size_t len;
	uint8_t *img = slurp(b->path, &len), *copy = malloc(len);

	assert_non_null(copy);
	assert_true(section_range(b->path, ".gopclntab", &off, &size));
	/* go:func.* (inline trees) lives in .rodata. */
	assert_true(section_range(b->path, ".rodata", &roff, &rsize));
	snprintf(path, sizeof(path), "%s/damaged-%s", tmpdir, tc->version);
	/* Unknown magic. */
	memcpy(copy, img, len);
	copy[off] = 0xf5;
	spit(path, copy, len);
	errno = 0;
	assert_null(gopclntab_open(path));
	assert_int_equal(errno, ENOTSUP);
	/* Truncated anywhere, notably inside .gopclntab. */
	for (int i = 1; i <= 12; i++) {
		size_t cut = i <= 6 ? len * i / 7 : off + size * (i - 6) / 7;

		spit(path, img, cut);
		exercise(path, b);
	}
	/* Random bytes over the table; odd rounds keep its header. */
	for (int round = 0; round < 40; round++) {
		scribble(path, img, copy, len, off, size, round, &seed);
		if (round % 2) {
			memcpy(copy + off, img + off, 72);
			spit(path, copy, len);
		}
		exercise(path, b);
	}
	for (int round = 0; round < 12; round++) {
		scribble(path, img, copy, len, roff, rsize, round + 3, &seed);
		exercise(path, b);
	}
	free(img);
	free(copy);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/lw-gopclntab-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	if (getenv("LW_GOCACHE"))
		snprintf(gocache, sizeof(gocache), "%s", getenv("LW_GOCACHE"));
	else
		snprintf(gocache, sizeof(gocache), "%s/cache", tmpdir);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[2 * sizeof(tmpdir) + 32];

	(void)state;
	/* Go makes its module cache read-only. */
	snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s'; rm -rf '%s'", tmpdir,
		 tmpdir);
	return system(cmd) ? -1 : 0;
}

#define PER_CHAIN(fn, i, v)                                                    \
	{                                                                      \
#fn " go" v, fn, NULL, NULL, &chains[i]                        \
	}
#define ALL_CHAINS(fn)                                                         \
	PER_CHAIN(fn, 0, "1.19"), PER_CHAIN(fn, 1, "1.21"),                    \
		PER_CHAIN(fn, 2, "1.23")

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_go), ALL_CHAINS(test_funcs),
		ALL_CHAINS(test_frames),       ALL_CHAINS(test_inline_max),
		ALL_CHAINS(test_entries),      ALL_CHAINS(test_outside_text),
		ALL_CHAINS(test_symbolizer),   ALL_CHAINS(test_damaged),
		ALL_CHAINS(test_bad_elf),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
