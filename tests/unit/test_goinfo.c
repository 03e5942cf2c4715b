// SPDX-License-Identifier: GPL-2.0
/*
 * goinfo tests on real Go programs: tests/unit/goinfo/parked.go is built
 * at test time with each installed toolchain, normal and stripped, then
 * run and scanned. Expected facts come from elsewhere than goinfo: the
 * version from `go env GOVERSION`, the counts from the program itself,
 * addresses from the binary's .symtab (read here with libelf).
 * A synthetic allgs in this very process covers garbage handling.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "goinfo.h"

#define GO_SRC_REL "goinfo/parked.go"
#define N_SEND	   50
#define N_SELECT   30
#define N_SLEEP	   20
#define N_MANY	   20000

struct gobuild {
	const char *ver;    /* "1.19" */
	bool tool;	    /* the toolchain is installed */
	bool ok;	    /* both binaries built */
	char goversion[32]; /* from `go env GOVERSION` */
	char bin[PATH_MAX];
	char stripped[PATH_MAX];
	char pie[PATH_MAX]; /* -buildmode=pie: loaded at a random base */
};

static char tmpdir[] = "/tmp/lw-goinfo-XXXXXX";
static struct gobuild builds[] = {
	{ .ver = "1.19" },
	{ .ver = "1.21" },
	{ .ver = "1.23" },
};
static pid_t child = -1;

/* ---- helpers: building and running the Go program ---- */

/* Next to this source file, or (run from elsewhere) next to the binary. */
static const char *go_source(void)
{
	static char path[PATH_MAX + 64];
	const char *slash = strrchr(__FILE__, '/');
	int dlen = slash ? (int)(slash - __FILE__) : 1;
	char exe[PATH_MAX];
	ssize_t len;

	snprintf(path, sizeof(path), "%.*s/%s", dlen, slash ? __FILE__ : ".",
		 GO_SRC_REL);
	if (access(path, R_OK) == 0)
		return path;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return path;
	exe[len] = '\0';
	*strrchr(exe, '/') = '\0';
	/* make puts unit tests in build/unit/ */
	snprintf(path, sizeof(path), "%s/../../tests/unit/%s", exe, GO_SRC_REL);
	return path;
}

static bool read_line_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok = f && fgets(buf, (int)len, f);

	if (f)
		fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/*
 * GOTOOLCHAIN=local and GOPROXY=off: never try the network. GOCACHE is
 * LW_GOCACHE when make sets it (shared, warm), else one in tmpdir.
 */
static bool go_build(struct gobuild *b, const char *src)
{
	char cmd[8 * PATH_MAX], vfile[PATH_MAX], cache[PATH_MAX];
	const char *env = getenv("LW_GOCACHE");

	if (env && *env)
		snprintf(cache, sizeof(cache), "%s", env);
	else
		snprintf(cache, sizeof(cache), "%s/cache", tmpdir);

	snprintf(b->bin, sizeof(b->bin), "%s/parked-%s", tmpdir, b->ver);
	snprintf(b->stripped, sizeof(b->stripped), "%s/parked-%s-s", tmpdir,
		 b->ver);
	snprintf(b->pie, sizeof(b->pie), "%s/parked-%s-pie", tmpdir, b->ver);
	snprintf(vfile, sizeof(vfile), "%s/version-%s", tmpdir, b->ver);
	snprintf(cmd, sizeof(cmd),
		 "export HOME=%1$s GOCACHE='%8$s' GOPATH=%1$s/gopath "
		 "GOTOOLCHAIN=local GOPROXY=off GOFLAGS= CGO_ENABLED=0; "
		 "G=/usr/lib/go-%2$s/bin/go; $G env GOVERSION > %3$s && "
		 "$G build -o %4$s %5$s && "
		 "$G build -ldflags='-s -w' -o %6$s %5$s && "
		 "$G build -buildmode=pie -o %7$s %5$s",
		 tmpdir, b->ver, vfile, b->bin, src, b->stripped, b->pie,
		 cache);
	if (system(cmd) != 0) {
		print_message("go %s: build failed\n", b->ver);
		return false;
	}
	return read_line_file(vfile, b->goversion, sizeof(b->goversion));
}

static int group_setup(void **state)
{
	char gobin[64];
	const char *src = go_source();
	size_t i;

	(void)state;
	if (access(src, R_OK)) {
		fprintf(stderr,
			"test_goinfo: %s not found (run from the "
			"directory the test was compiled in)\n",
			src);
		return -1;
	}
	if (!mkdtemp(tmpdir))
		return -1;
	for (i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		snprintf(gobin, sizeof(gobin), "/usr/lib/go-%s/bin/go",
			 builds[i].ver);
		builds[i].tool = access(gobin, X_OK) == 0;
		if (builds[i].tool)
			builds[i].ok = go_build(&builds[i], src);
	}
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void stop_child(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	child = -1;
}

/* A failed assertion longjmps out of the test: kill the target here. */
static int test_teardown(void **state)
{
	(void)state;
	stop_child();
	return 0;
}

struct ready {
	int pid, send, select, sleep, nilrecv;
};

/* Reads the ready line (10 s at most: building the stacks is quick). */
static bool wait_ready(int fd, struct ready *r)
{
	char buf[256] = "";
	size_t len = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t got;

	while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
		if (poll(&p, 1, 10000) <= 0)
			return false;
		got = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (got <= 0)
			return false;
		len += (size_t)got;
	}
	buf[len] = '\0';
	return sscanf(buf, "ready pid=%d send=%d select=%d sleep=%d nilrecv=%d",
		      &r->pid, &r->send, &r->select, &r->sleep,
		      &r->nilrecv) == 5;
}

static pid_t start_go(const char *bin, int extra, struct ready *r)
{
	char arg[16];
	int fds[2];
	bool ok;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	snprintf(arg, sizeof(arg), "%d", extra);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(bin, bin, arg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	ok = wait_ready(fds[0], r);
	close(fds[0]);
	assert_true(ok);
	assert_int_equal(r->pid, child);
	return child;
}

/* ---- helpers: .symtab, read independently of goinfo ---- */

struct sym {
	uint64_t lo, hi;
	char name[128];
};

/* exact name, or (when addr != 0) the function containing addr */
static bool find_sym(const char *path, const char *name, uint64_t addr,
		     struct sym *out)
{
	int fd = open(path, O_RDONLY);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym s;
	Elf_Data *d;
	const char *n;
	bool found = false;
	size_t i;

	while (elf && !found && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		for (i = 0; d && !found && i < sh.sh_size / sh.sh_entsize;
		     i++) {
			if (!gelf_getsym(d, i, &s) ||
			    GELF_ST_TYPE(s.st_info) != STT_FUNC)
				continue;
			n = elf_strptr(elf, sh.sh_link, s.st_name);
			if (!n || (name && strcmp(n, name)) ||
			    (addr && (addr < s.st_value ||
				      addr >= s.st_value + s.st_size)))
				continue;
			out->lo = s.st_value;
			out->hi = s.st_value + s.st_size;
			snprintf(out->name, sizeof(out->name), "%s", n);
			found = true;
		}
	}
	elf_end(elf);
	close(fd);
	return found;
}

static struct sym must_sym(const char *path, const char *name)
{
	struct sym s;

	if (!find_sym(path, name, 0, &s))
		fail_msg("%s: no symbol %s", path, name);
	return s;
}

/* ---- the checks on one toolchain ---- */

static struct gobuild *need_build(const char *ver)
{
	size_t i;

	for (i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		if (strcmp(builds[i].ver, ver))
			continue;
		if (builds[i].ok)
			return &builds[i];
		/* a toolchain that is there must build: that is no skip */
		if (builds[i].tool)
			fail_msg("go %s: the build failed", ver);
		print_message("skipped: go %s is not installed (make deps)\n",
			      ver);
		return NULL;
	}
	return NULL;
}

static void check_layouts(const struct gobuild *b, struct go_layout *l,
			  struct go_layout *s)
{
	assert_int_equal(goinfo_detect(b->bin, l), 0);
	assert_int_equal(goinfo_detect(b->stripped, s), 0);
	assert_string_equal(l->version, b->goversion);
	assert_string_equal(s->version, b->goversion);
	assert_true(l->from_dwarf);
	assert_false(s->from_dwarf);
	/* The version table must agree with DWARF, field by field. */
	assert_int_equal(l->g_status, s->g_status);
	assert_int_equal(l->g_goid, s->g_goid);
	assert_int_equal(l->g_waitreason, s->g_waitreason);
	assert_int_equal(l->g_gopc, s->g_gopc);
	assert_int_equal(l->g_startpc, s->g_startpc);
	assert_int_equal(l->g_sched_sp, s->g_sched_sp);
	assert_int_equal(l->g_sched_pc, s->g_sched_pc);
	assert_int_equal(l->g_sched_bp, s->g_sched_bp);
	assert_true(l->allgs && l->allglen && l->waitreason_strings);
	assert_true(l->nwaitreasons > 20);
	assert_true(!s->allgs && !s->allglen && !s->waitreason_strings);
	print_message("%s: status %u goid %u waitreason %u gopc %u startpc %u "
		      "sched sp %u pc %u bp %u, %u wait reasons\n",
		      l->version, l->g_status, l->g_goid, l->g_waitreason,
		      l->g_gopc, l->g_startpc, l->g_sched_sp, l->g_sched_pc,
		      l->g_sched_bp, l->nwaitreasons);
}

static int count_reason(const struct goroutine *gs, size_t n,
			const struct go_waitreasons *w, const char *name)
{
	const char *s;
	int c = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		s = goinfo_waitreason_name(w, gs[i].waitreason);
		c += gs[i].status == GO_G_WAITING && s && !strcmp(s, name);
	}
	return c;
}

/* Every sender came from the one go statement in main.startSenders. */
static const struct goroutine *check_senders(const char *bin,
					     const struct goroutine *gs,
					     size_t n,
					     const struct go_waitreasons *w)
{
	struct sym start = must_sym(bin, "main.startSenders"), wrap;
	const struct goroutine *first = NULL;
	const char *s;
	size_t i;

	for (i = 0; i < n; i++) {
		s = goinfo_waitreason_name(w, gs[i].waitreason);
		if (!s || strcmp(s, "chan send"))
			continue;
		if (!first)
			first = &gs[i];
		assert_int_equal(gs[i].gopc, first->gopc);
		assert_int_equal(gs[i].startpc, first->startpc);
	}
	assert_non_null(first);
	assert_in_range(first->gopc, start.lo + 1, start.hi - 1);
	/* `go f(ch)` starts a compiler-made wrapper inside startSenders. */
	assert_true(find_sym(bin, NULL, first->startpc, &wrap));
	assert_int_equal(strncmp(wrap.name, "main.startSenders.", 18), 0);
	return first;
}

static bool pc_in(const uint64_t *pcs, int n, const struct sym *f)
{
	int i;

	/* pcs past the first are return addresses: pc - 1 is the call. */
	for (i = 1; i < n; i++)
		if (pcs[i] - 1 >= f->lo && pcs[i] - 1 < f->hi)
			return true;
	return false;
}

static void check_unwind(const char *bin, const struct goroutine *g)
{
	struct sym park = must_sym(bin, "runtime.gopark");
	struct sym blocked = must_sym(bin, "main.blockedSend");
	struct sym goexit = must_sym(bin, "runtime.goexit.abi0");
	uint64_t pcs[64];
	int n = goinfo_unwind(child, g, pcs, 64), tiny, i;
	struct sym f;

	for (i = 0; i < n; i++)
		print_message("  #%d %" PRIx64 " %s\n", i, pcs[i],
			      find_sym(bin, NULL, pcs[i] - (i > 0), &f) ? f.name
									: "?");
	assert_true(n >= 4);
	assert_int_equal(pcs[0], g->sched_pc);
	assert_in_range(pcs[0], park.lo, park.hi - 1);
	assert_true(pc_in(pcs, n, &blocked));
	assert_true(pc_in(pcs, n, &goexit));
	tiny = goinfo_unwind(child, g, pcs, 2);
	assert_int_equal(tiny, 2);
}

/* Names from the process must match the fallback table where it exists. */
static void check_names(const struct go_waitreasons *w,
			const struct go_layout *stripped)
{
	struct go_waitreasons t;
	unsigned int i;

	assert_true(w->from_process);
	assert_int_equal(goinfo_waitreasons_load(&t, child, 0, stripped), 0);
	assert_false(t.from_process);
	assert_int_equal(t.n, w->n);
	for (i = 0; i < w->n; i++)
		assert_string_equal(t.name[i], w->name[i]);
	goinfo_waitreasons_free(&t);
}

/*
 * The ready line comes a moment before every goroutine is parked for good
 * (the reporter may still be exiting, main may be between wake-ups): scan
 * until main sits in "chan receive", for 2 s at most.
 */
static struct goroutine *scan_settled(uint64_t bias, const struct go_layout *l,
				      const struct go_waitreasons *w, size_t *n)
{
	struct goroutine *gs;
	int ret, tries;

	for (tries = 0;; tries++) {
		ret = goinfo_scan(child, bias, l, &gs, n);
		assert_int_equal(ret, (int)*n);
		if (count_reason(gs, *n, w, "chan receive") == 1 || tries == 40)
			return gs;
		free(gs);
		usleep(50000);
	}
}

/* What the scan saw, by status and wait reason: shown when a test fails. */
static void print_census(const struct goroutine *gs, size_t n,
			 const struct go_waitreasons *w)
{
	static unsigned int cnt[12][256];
	const char *s;
	size_t i, st, wr;

	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < n; i++)
		if (gs[i].status < 12)
			cnt[gs[i].status][gs[i].waitreason]++;
	for (st = 0; st < 12; st++) {
		for (wr = 0; wr < 256; wr++) {
			if (!cnt[st][wr])
				continue;
			s = goinfo_waitreason_name(w, (uint8_t)wr);
			print_message("  %5u status %zu reason %zu (%s)\n",
				      cnt[st][wr], st, wr, s ? s : "?");
		}
	}
}

static void check_live(const struct gobuild *b, const struct go_layout *l,
		       const struct go_layout *s)
{
	struct goroutine *gs;
	struct go_waitreasons w;
	struct ready r;
	size_t n, i, j;

	start_go(b->bin, 0, &r);
	assert_int_equal(goinfo_waitreasons_load(&w, child, 0, l), 0);
	gs = scan_settled(0, l, &w, &n);
	assert_true(n >= (size_t)(r.send + r.select + r.sleep + 1));
	print_census(gs, n, &w);
	assert_int_equal(count_reason(gs, n, &w, "chan send"), r.send);
	assert_int_equal(count_reason(gs, n, &w, "select (no cases)"),
			 r.select);
	assert_int_equal(count_reason(gs, n, &w, "sleep"), r.sleep);
	assert_int_equal(count_reason(gs, n, &w, "chan receive"), 1);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			assert_int_not_equal(gs[i].goid, gs[j].goid);
	check_unwind(b->bin, check_senders(b->bin, gs, n, &w));
	check_names(&w, s);
	goinfo_waitreasons_free(&w);
	free(gs);
	stop_child();
	/* Gone: a clean error, nothing left allocated. */
	assert_int_equal(goinfo_scan(r.pid, 0, l, &gs, &n), -ESRCH);
	assert_null(gs);
}

/* Without .symtab there is no sound way to find allgs: say so. */
static void check_stripped_live(const struct gobuild *b,
				const struct go_layout *s)
{
	struct goroutine *gs;
	struct ready r;
	size_t n;

	start_go(b->stripped, 0, &r);
	assert_int_equal(goinfo_scan(child, 0, s, &gs, &n), -ENOTSUP);
	assert_null(gs);
	assert_int_equal(n, 0);
	stop_child();
}

static void check_toolchain(const char *ver)
{
	struct gobuild *b = need_build(ver);
	struct go_layout l, s;

	if (!b)
		skip();
	check_layouts(b, &l, &s);
	check_live(b, &l, &s);
	check_stripped_live(b, &s);
}

static void test_go119(void **state)
{
	(void)state;
	check_toolchain("1.19");
}

static void test_go121(void **state)
{
	(void)state;
	check_toolchain("1.21");
}

static void test_go123(void **state)
{
	(void)state;
	check_toolchain("1.23");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 20,000 extra goroutines must scan in well under a second. */
static void test_many(void **state)
{
	struct gobuild *b = need_build("1.23");
	struct go_waitreasons w;
	struct go_layout l;
	struct goroutine *gs;
	struct ready r;
	size_t n;
	double t;

	(void)state;
	if (!b && !(b = need_build("1.21")) && !(b = need_build("1.19")))
		skip();
	assert_int_equal(goinfo_detect(b->bin, &l), 0);
	start_go(b->bin, N_MANY, &r);
	t = now();
	assert_true(goinfo_scan(child, 0, &l, &gs, &n) > N_MANY);
	t = now() - t;
	/* how long it took is make bench's business, not a verdict here */
	print_message("%zu goroutines scanned in %.1f ms\n", n, t * 1e3);
	assert_int_equal(goinfo_waitreasons_load(&w, child, 0, &l), 0);
	assert_int_equal(count_reason(gs, n, &w, "chan receive (nil chan)"),
			 N_MANY);
	assert_int_equal(count_reason(gs, n, &w, "chan send"), N_SEND);
	goinfo_waitreasons_free(&w);
	free(gs);
	stop_child();
}

/* ---- PIE: the caller's bias ---- */

/* Lowest PT_LOAD address: what the mapping at file offset 0 holds. */
static uint64_t link_base(const char *path)
{
	int fd = open(path, O_RDONLY);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	uint64_t base = UINT64_MAX;
	GElf_Phdr ph;
	size_t i, n = 0;

	if (elf)
		elf_getphdrnum(elf, &n);
	for (i = 0; i < n; i++)
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    ph.p_vaddr < base)
			base = ph.p_vaddr & ~(uint64_t)0xfff;
	elf_end(elf);
	close(fd);
	return base;
}

static uint64_t load_bias(pid_t pid, const char *path)
{
	char maps[64], line[PATH_MAX + 128], file[PATH_MAX];
	unsigned long long start, off;
	uint64_t bias = 0;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %4095s", &start,
			   &off, file) == 3 &&
		    off == 0 && !strcmp(file, path)) {
			bias = start - link_base(path);
			break;
		}
	}
	fclose(f);
	return bias;
}

static void check_pie(const struct gobuild *b)
{
	struct go_waitreasons w;
	struct go_layout l;
	struct goroutine *gs;
	struct sym start = must_sym(b->pie, "main.startSenders");
	struct ready r;
	uint64_t bias;
	const char *s;
	size_t n, i;

	assert_int_equal(goinfo_detect(b->pie, &l), 0);
	assert_true(l.from_dwarf);
	start_go(b->pie, 0, &r);
	bias = load_bias(child, b->pie);
	print_message("%s pie: bias %" PRIx64 "\n", b->goversion, bias);
	assert_true(bias != 0);
	/* Without the bias, nothing is where the symbols say. */
	assert_true(goinfo_scan(child, 0, &l, &gs, &n) < 0);
	assert_int_equal(goinfo_waitreasons_load(&w, child, bias, &l), 0);
	assert_true(w.from_process);
	gs = scan_settled(bias, &l, &w, &n);
	assert_int_equal(count_reason(gs, n, &w, "chan send"), r.send);
	assert_int_equal(count_reason(gs, n, &w, "select (no cases)"),
			 r.select);
	assert_int_equal(count_reason(gs, n, &w, "sleep"), r.sleep);
	for (i = 0; i < n; i++) {
		s = goinfo_waitreason_name(&w, gs[i].waitreason);
		if (s && !strcmp(s, "chan send"))
			assert_in_range(gs[i].gopc - bias, start.lo + 1,
					start.hi - 1);
	}
	goinfo_waitreasons_free(&w);
	free(gs);
	stop_child();
}

static void test_pie(void **state)
{
	size_t i;
	int done = 0;

	(void)state;
	for (i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		if (!builds[i].ok)
			continue;
		check_pie(&builds[i]);
		done++;
	}
	if (!done) {
		print_message("no Go toolchain\n");
		skip();
	}
}

/* ---- an unknown version: DWARF or nothing, never a guess ---- */

/* Copies src to dst with "go1.NN" in .go.buildinfo turned into "go1.99". */
static void copy_as_go199(const char *src, const char *dst)
{
	static const char magic[] = "\xff Go buildinf:";
	FILE *f = fopen(src, "rb");
	char *buf, *bi, *v;
	long len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	bi = memmem(buf, (size_t)len, magic, sizeof(magic) - 1);
	assert_non_null(bi);
	v = bi + 33; /* after the uvarint length at offset 32 */
	assert_int_equal(memcmp(v, "go1.", 4), 0);
	memcpy(v + 4, "99", 2);
	f = fopen(dst, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	free(buf);
}

static void test_unknown_version(void **state)
{
	struct gobuild *b = need_build("1.23");
	char path[PATH_MAX + 16];
	struct go_layout l, known;

	(void)state;
	if (!b && !(b = need_build("1.21")) && !(b = need_build("1.19")))
		skip();
	assert_int_equal(goinfo_detect(b->bin, &known), 0);
	snprintf(path, sizeof(path), "%s-v99", b->stripped);
	copy_as_go199(b->stripped, path);
	assert_int_equal(goinfo_detect(path, &l), -ENOTSUP);
	snprintf(path, sizeof(path), "%s-v99", b->bin);
	copy_as_go199(b->bin, path);
	assert_int_equal(goinfo_detect(path, &l), 0);
	assert_int_equal(l.major, 1);
	assert_int_equal(l.minor, 99);
	assert_true(l.from_dwarf);
	assert_int_equal(l.g_gopc, known.g_gopc);
	assert_int_equal(l.g_sched_bp, known.g_sched_bp);
}

/* ---- not Go ---- */

static void test_not_go(void **state)
{
	struct go_layout l;
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)state;
	assert_true(len > 0);
	self[len] = '\0';
	assert_int_equal(goinfo_detect(self, &l), -ENOEXEC);
	assert_string_equal(l.version, "");
	assert_int_equal(goinfo_detect("/etc/hostname", &l), -ENOEXEC);
	assert_int_equal(goinfo_detect("/nonexistent/x", &l), -ENOENT);
}

/* ---- garbage: a synthetic allgs in this process ---- */

/* The 1.23 layout, as the table gives it. */
static const struct go_layout fake_layout = {
	.version = "go1.23.5",
	.major = 1,
	.minor = 23,
	.g_status = 152,
	.g_goid = 160,
	.g_waitreason = 184,
	.g_gopc = 288,
	.g_startpc = 304,
	.g_sched_sp = 56,
	.g_sched_pc = 64,
	.g_sched_bp = 104,
};

struct fake_g {
	uint8_t b[432];
};

static void fake_set(struct fake_g *g, uint32_t status, uint64_t goid)
{
	uint8_t reason = 15;

	memset(g, 0, sizeof(*g));
	memcpy(g->b + fake_layout.g_status, &status, 4);
	memcpy(g->b + fake_layout.g_goid, &goid, 8);
	memcpy(g->b + fake_layout.g_waitreason, &reason, 1);
}

static void test_garbage_allgs(void **state)
{
	static struct fake_g gs[5];
	uint64_t ptrs[8], hdr[3], len;
	struct go_layout l = fake_layout;
	struct goroutine *out;
	size_t n;

	(void)state;
	fake_set(&gs[0], GO_G_WAITING, 7);
	fake_set(&gs[1], GO_G_WAITING | GO_G_SCAN, 8);
	fake_set(&gs[2], GO_G_DEAD, 9);
	fake_set(&gs[3], 77, 10); /* not a status: garbage */
	fake_set(&gs[4], GO_G_RUNNABLE, 11);
	ptrs[0] = (uintptr_t)&gs[0];
	ptrs[1] = 0; /* NULL */
	ptrs[2] = (uintptr_t)&gs[1];
	ptrs[3] = 0x10; /* unmapped */
	ptrs[4] = (uintptr_t)&gs[2];
	ptrs[5] = (uintptr_t)&gs[3];
	ptrs[6] = ~0ull - 4095; /* kernel space */
	ptrs[7] = (uintptr_t)&gs[4];
	hdr[0] = (uintptr_t)ptrs;
	hdr[1] = 8;
	hdr[2] = 8;
	len = 8;
	l.allgs = (uintptr_t)hdr;
	l.allglen = (uintptr_t)&len;
	assert_int_equal(goinfo_scan(getpid(), 0, &l, &out, &n), 3);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].goid, 7);
	assert_int_equal(out[1].goid, 8);
	assert_int_equal(out[1].status, GO_G_WAITING);
	assert_int_equal(out[2].goid, 11);
	assert_int_equal(out[2].g, (uintptr_t)&gs[4]);
	free(out);

	len = 3; /* allglen lags the slice: trust the smaller */
	assert_int_equal(goinfo_scan(getpid(), 0, &l, &out, &n), 2);
	free(out);
	len = 8;
	hdr[1] = 9; /* len > cap */
	assert_int_equal(goinfo_scan(getpid(), 0, &l, &out, &n), -EBADMSG);
	hdr[1] = hdr[2] = 1ull << 40;
	assert_int_equal(goinfo_scan(getpid(), 0, &l, &out, &n), -EBADMSG);
	/* A wrong bias lands on unmapped memory. */
	assert_int_equal(goinfo_scan(getpid(), 0x10 - l.allglen, &l, &out, &n),
			 -EFAULT);
	hdr[0] = 0x10; /* the pointer array itself is unreadable */
	hdr[1] = hdr[2] = 8;
	assert_int_equal(goinfo_scan(getpid(), 0, &l, &out, &n), -EFAULT);
	assert_null(out);
}

/* Process names when readable, else the table, else nothing. */
static void test_waitreason_sources(void **state)
{
	static const char a[] = "a", bb[] = "bb";
	uint64_t hdr[3][2] = { { 0, 0 },
			       { (uintptr_t)a, 1 },
			       { (uintptr_t)bb, 2 } };
	struct go_layout l = fake_layout;
	struct go_waitreasons w;

	(void)state;
	l.waitreason_strings = (uintptr_t)hdr;
	l.nwaitreasons = 3;
	assert_int_equal(goinfo_waitreasons_load(&w, getpid(), 0, &l), 0);
	assert_true(w.from_process);
	assert_int_equal(w.n, 3);
	assert_string_equal(goinfo_waitreason_name(&w, 0), "");
	assert_string_equal(goinfo_waitreason_name(&w, 2), "bb");
	assert_null(goinfo_waitreason_name(&w, 3));
	goinfo_waitreasons_free(&w);

	hdr[1][1] = 1000; /* garbage length: use the 1.23 table */
	assert_int_equal(goinfo_waitreasons_load(&w, getpid(), 0, &l), 0);
	assert_false(w.from_process);
	assert_int_equal(w.n, 38);
	assert_string_equal(goinfo_waitreason_name(&w, 15), "chan send");
	goinfo_waitreasons_free(&w);

	l.minor = 22; /* no checked table for 1.22 */
	assert_int_equal(goinfo_waitreasons_load(&w, getpid(), 0, &l), -ENOENT);
	assert_null(goinfo_waitreason_name(&w, 15));
	goinfo_waitreasons_free(&w);
}

/* A frame chain that loops, runs off the stack or goes down must stop. */
static void test_garbage_unwind(void **state)
{
	uint64_t stack[64] = { 0 }, pcs[GO_UNWIND_MAX + 8];
	struct goroutine g = { .status = GO_G_WAITING, .sched_pc = 0x401000 };
	int i;

	(void)state;
	for (i = 0; i < 60; i += 2) { /* 30 good frames, upward */
		stack[i] = (uintptr_t)&stack[i + 2];
		stack[i + 1] = 0x402000 + (uint64_t)i;
	}
	stack[58] = (uintptr_t)&stack[0]; /* last one loops back */
	g.sched_sp = (uintptr_t)stack;
	g.sched_bp = (uintptr_t)stack;
	assert_int_equal(goinfo_unwind(getpid(), &g, pcs, 64), 31);
	assert_int_equal(pcs[0], 0x401000);
	assert_int_equal(pcs[30], 0x402000 + 58);
	assert_int_equal(goinfo_unwind(getpid(), &g, pcs, 5), 5);
	assert_int_equal(goinfo_unwind(getpid(), &g, pcs, 0), 0);
	g.sched_bp = 0x10; /* below sp: stale */
	assert_int_equal(goinfo_unwind(getpid(), &g, pcs, 64), 1);
	g.sched_bp = (uintptr_t)stack + 3; /* misaligned */
	assert_int_equal(goinfo_unwind(getpid(), &g, pcs, 64), 1);
	g.status = GO_G_RUNNING;
	assert_int_equal(goinfo_unwind(getpid(), &g, pcs, 64), -EBUSY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_go),
		cmocka_unit_test(test_garbage_allgs),
		cmocka_unit_test(test_garbage_unwind),
		cmocka_unit_test(test_unknown_version),
		cmocka_unit_test(test_waitreason_sources),
		cmocka_unit_test_teardown(test_go119, test_teardown),
		cmocka_unit_test_teardown(test_go121, test_teardown),
		cmocka_unit_test_teardown(test_go123, test_teardown),
		cmocka_unit_test_teardown(test_many, test_teardown),
		cmocka_unit_test_teardown(test_pie, test_teardown),
	};

	elf_version(EV_CURRENT);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
