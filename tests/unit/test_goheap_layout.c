// SPDX-License-Identifier: GPL-2.0
/*
 * goheap_layout tests on real Go programs, built at test time with each
 * installed toolchain: one that imports runtime/pprof (memory profiling
 * stays on; it sets MemProfileRate = 1) and one that does not (the linker
 * turns profiling off), each normal and stripped (-ldflags='-s -w').
 *
 * Expected facts come from elsewhere than goheap_layout: variable
 * addresses from the unstripped build's .symtab (read here with libelf),
 * moved to the stripped build section by section (-s -w changes the
 * build info's size, so later sections shift); values from the running
 * program itself (what it prints) and from walking its heap the way a
 * reader outside would: mheap_.arenas -> heapArena.spans -> the mspan
 * of an object whose address the program printed, and the profile's
 * bucket list from mbuckets. The stripped path (version table, code
 * rules) must agree with DWARF and .symtab field by field.
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
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "goheap_layout.h"

#define N_KEEP	  1000 /* objects the programs keep */
#define OBJ_BYTES 1024 /* their size: a size class of its own */

/* The program: MARK is replaced by the pprof lines or nothing. */
static const char go_prof[] =
	"package main\n"
	"\n"
	"import (\n"
	"	\"os\"\n"
	"	\"runtime\"\n"
	"	\"runtime/pprof\"\n"
	"	\"strconv\"\n"
	"	\"time\"\n"
	"	\"unsafe\"\n"
	")\n"
	"\n"
	"var keep [][]byte\n"
	"\n"
	"func main() {\n"
	"	runtime.MemProfileRate = 1\n"
	"	if len(os.Args) > 5 {\n"
	"		pprof.WriteHeapProfile(os.Stdout)\n"
	"	}\n"
	"	body()\n"
	"}\n";

static const char go_plain[] = "package main\n"
			       "\n"
			       "import (\n"
			       "	\"os\"\n"
			       "	\"runtime\"\n"
			       "	\"strconv\"\n"
			       "	\"time\"\n"
			       "	\"unsafe\"\n"
			       ")\n"
			       "\n"
			       "var keep [][]byte\n"
			       "\n"
			       "func main() {\n"
			       "	body()\n"
			       "}\n";

/* Allocates, collects (profile records reach `active` after 2 GCs). */
static const char go_body[] =
	"\n"
	"func body() {\n"
	"	for i := 0; i < 1000; i++ {\n"
	"		keep = append(keep, make([]byte, 1024))\n"
	"	}\n"
	"	runtime.GC()\n"
	"	runtime.GC()\n"
	"	runtime.GC()\n"
	"	var ms runtime.MemStats\n"
	"	runtime.ReadMemStats(&ms)\n"
	"	p := uint64(uintptr(unsafe.Pointer(&keep[500][0])))\n"
	"	os.Stdout.WriteString(\"ready pid=\" + strconv.Itoa(os.Getpid()) +\n"
	"		\" numgc=\" + strconv.FormatUint(uint64(ms.NumGC), 10) +\n"
	"		\" rate=\" + strconv.Itoa(runtime.MemProfileRate) +\n"
	"		\" obj=\" + strconv.FormatUint(p, 16) + \"\\n\")\n"
	"	time.Sleep(time.Hour)\n"
	"}\n";

enum { PROF, PLAIN, NPROG };
enum { NORMAL, STRIPPED, NKIND };

static const char *const prog_name[NPROG] = { "prof", "plain" };

struct gobuild {
	const char *ver;    /* "1.19" */
	bool tool;	    /* the toolchain is installed */
	bool ok;	    /* all binaries built */
	char goversion[32]; /* from `go env GOVERSION` */
	char bin[NPROG][NKIND][PATH_MAX];
};

static char tmpdir[] = "/tmp/lw-goheap-XXXXXX";
static struct gobuild builds[] = {
	{ .ver = "1.19" },
	{ .ver = "1.21" },
	{ .ver = "1.22" },
	{ .ver = "1.23" },
};
static pid_t child = -1;

/* ---- building and running ---- */

static bool write_file(const char *path, const char *a, const char *b)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(a, f) >= 0 && fputs(b, f) >= 0;
	return fclose(f) == 0 && ok;
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
 * GOTOOLCHAIN=local and GOPROXY=off: never the network. GO111MODULE=off:
 * a lone file, no module. GOCACHE is LW_GOCACHE when make sets it.
 */
static bool go_build(struct gobuild *b)
{
	char cmd[8 * PATH_MAX], cache[PATH_MAX], vfile[PATH_MAX];
	const char *env = getenv("LW_GOCACHE");
	int p;

	if (env && *env)
		snprintf(cache, sizeof(cache), "%s", env);
	else
		snprintf(cache, sizeof(cache), "%s/cache", tmpdir);
	snprintf(vfile, sizeof(vfile), "%s/version-%s", tmpdir, b->ver);
	for (p = 0; p < NPROG; p++) {
		snprintf(b->bin[p][NORMAL], PATH_MAX, "%s/%s-%s", tmpdir,
			 prog_name[p], b->ver);
		snprintf(b->bin[p][STRIPPED], PATH_MAX, "%s/%s-%s-s", tmpdir,
			 prog_name[p], b->ver);
		snprintf(cmd, sizeof(cmd),
			 "export HOME=%1$s GOCACHE='%2$s' GOPATH=%1$s/gopath "
			 "GO111MODULE=off GOTOOLCHAIN=local GOPROXY=off "
			 "GOFLAGS= CGO_ENABLED=0; G=/usr/lib/go-%3$s/bin/go; "
			 "$G env GOVERSION > %4$s && "
			 "$G build -o %5$s %1$s/%7$s.go && "
			 "$G build -ldflags='-s -w' -o %6$s %1$s/%7$s.go",
			 tmpdir, cache, b->ver, vfile, b->bin[p][NORMAL],
			 b->bin[p][STRIPPED], prog_name[p]);
		if (system(cmd) != 0) {
			print_message("go %s: build of %s failed\n", b->ver,
				      prog_name[p]);
			return false;
		}
	}
	return read_line_file(vfile, b->goversion, sizeof(b->goversion));
}

static int group_setup(void **state)
{
	char gobin[64], src[PATH_MAX];
	size_t i;

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(src, sizeof(src), "%s/prof.go", tmpdir);
	if (!write_file(src, go_prof, go_body))
		return -1;
	snprintf(src, sizeof(src), "%s/plain.go", tmpdir);
	if (!write_file(src, go_plain, go_body))
		return -1;
	for (i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		snprintf(gobin, sizeof(gobin), "/usr/lib/go-%s/bin/go",
			 builds[i].ver);
		builds[i].tool = access(gobin, X_OK) == 0;
		if (builds[i].tool)
			builds[i].ok = go_build(&builds[i]);
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

/* A failed assertion longjmps out of the test: kill the program here. */
static int test_teardown(void **state)
{
	(void)state;
	stop_child();
	return 0;
}

struct ready {
	int pid;
	unsigned int numgc;
	long rate;
	unsigned long long obj;
};

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
	return sscanf(buf, "ready pid=%d numgc=%u rate=%ld obj=%llx", &r->pid,
		      &r->numgc, &r->rate, &r->obj) == 4;
}

static void start_go(const char *bin, struct ready *r)
{
	int fds[2];
	bool ok;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	ok = wait_ready(fds[0], r);
	close(fds[0]);
	assert_true(ok);
	assert_int_equal(r->pid, child);
}

static void rd(uint64_t addr, void *buf, size_t len)
{
	struct iovec loc = { buf, len };
	struct iovec rem = { (void *)(uintptr_t)addr, len };

	if (process_vm_readv(child, &loc, 1, &rem, 1, 0) != (ssize_t)len)
		fail_msg("cannot read %zu bytes at %" PRIx64 ": %s", len, addr,
			 strerror(errno));
}

static uint64_t rd_u(uint64_t addr, size_t len)
{
	uint64_t v = 0;

	rd(addr, &v, len);
	return v;
}

static uint64_t field(const uint8_t *b, uint32_t off, uint32_t len)
{
	uint64_t v = 0;

	memcpy(&v, b + off, len);
	return v;
}

/* ---- .symtab and sections, read independently of goheap_layout ---- */

static Elf *open_elf(const char *path, int *fd)
{
	Elf *elf;

	*fd = open(path, O_RDONLY);
	assert_true(*fd >= 0);
	elf = elf_begin(*fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	return elf;
}

static uint64_t sym_value(const char *path, const char *name)
{
	int fd;
	Elf *elf = open_elf(path, &fd);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym s;
	Elf_Data *d;
	const char *n;
	uint64_t v = 0;
	size_t i;

	while (!v && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		for (i = 0; d && !v && i < sh.sh_size / sh.sh_entsize; i++) {
			if (!gelf_getsym(d, i, &s) ||
			    GELF_ST_TYPE(s.st_info) != STT_OBJECT)
				continue;
			n = elf_strptr(elf, sh.sh_link, s.st_name);
			if (n && !strcmp(n, name))
				v = s.st_value;
		}
	}
	elf_end(elf);
	close(fd);
	if (!v)
		fail_msg("%s: no symbol %s", path, name);
	return v;
}

/* The section holding addr: its name and the offset of addr in it. */
static void section_of(const char *path, uint64_t addr, char *name,
		       size_t nlen, uint64_t *off)
{
	int fd;
	Elf *elf = open_elf(path, &fd);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstr;
	bool found = false;

	assert_int_equal(elf_getshdrstrndx(elf, &shstr), 0);
	while (!found && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    addr < sh.sh_addr || addr >= sh.sh_addr + sh.sh_size)
			continue;
		snprintf(name, nlen, "%s", elf_strptr(elf, shstr, sh.sh_name));
		*off = addr - sh.sh_addr;
		found = true;
	}
	elf_end(elf);
	close(fd);
	if (!found)
		fail_msg("%s: %" PRIx64 " is in no section", path, addr);
}

static uint64_t section_addr(const char *path, const char *name)
{
	int fd;
	Elf *elf = open_elf(path, &fd);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstr;
	uint64_t a = 0;
	const char *n;

	assert_int_equal(elf_getshdrstrndx(elf, &shstr), 0);
	while (!a && (scn = elf_nextscn(elf, scn))) {
		n = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstr, sh.sh_name)
					   : NULL;
		if (n && !strcmp(n, name))
			a = sh.sh_addr;
	}
	elf_end(elf);
	close(fd);
	if (!a)
		fail_msg("%s: no section %s", path, name);
	return a;
}

/* Where the variable at addr of the normal build is in the stripped one. */
static uint64_t moved(const char *normal, const char *stripped, uint64_t addr)
{
	char name[64];
	uint64_t off = 0;

	section_of(normal, addr, name, sizeof(name), &off);
	return section_addr(stripped, name) + off;
}

/* ---- the checks ---- */

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
		print_message("skipped: go %s is not installed\n", ver);
		return NULL;
	}
	return NULL;
}

/* DWARF and .symtab, against the symbols read here. */
static void check_normal(const struct gobuild *b, int p,
			 struct go_heap_layout *h)
{
	const char *bin = b->bin[p][NORMAL];
	struct go_layout gl;
	uint64_t memstats, gcc;

	assert_int_equal(goinfo_detect(bin, &gl), 0);
	assert_string_equal(gl.version, b->goversion);
	assert_int_equal(goheap_layout(bin, &gl, h), 0);
	assert_true(h->from_dwarf);
	assert_int_equal(h->mbuckets, sym_value(bin, "runtime.mbuckets"));
	assert_int_equal(h->memprofilerate,
			 sym_value(bin, "runtime.MemProfileRate"));
	assert_int_equal(h->disable_memprof,
			 sym_value(bin, "runtime.disableMemoryProfiling"));
	assert_int_equal(h->mheap, sym_value(bin, "runtime.mheap_"));
	memstats = sym_value(bin, "runtime.memstats");
	gcc = sym_value(bin, "runtime.gcController");
	assert_in_range(h->numgc, memstats, memstats + 16384);
	assert_in_range(h->heap_marked, gcc, gcc + 1024);
	assert_true(h->sp_freeindex_size == 8 || h->sp_freeindex_size == 2);
	assert_int_equal(h->sp_nelems_size, h->sp_freeindex_size);
	print_message("%s %s: bucket %u (allnext %u size %u nstk %u); mspan "
		      "%u: start %u npages %u freeindex %u/%u nelems %u/%u "
		      "elemsize %u cache %u alloc %u mark %u count %u class %u "
		      "state %u sweepgen %u; mheap sweepgen %u allspans %u "
		      "arenas %u; heapArena.spans %u; numgc +%" PRIu64
		      " heapMarked +%" PRIu64 "\n",
		      gl.version, prog_name[p], h->bucket_hdr, h->bk_allnext,
		      h->bk_size, h->bk_nstk, h->span_size, h->sp_startaddr,
		      h->sp_npages, h->sp_freeindex, h->sp_freeindex_size,
		      h->sp_nelems, h->sp_nelems_size, h->sp_elemsize,
		      h->sp_alloccache, h->sp_allocbits, h->sp_gcmarkbits,
		      h->sp_alloccount, h->sp_spanclass, h->sp_state,
		      h->sp_sweepgen, h->mh_sweepgen, h->mh_allspans,
		      h->mh_arenas, h->ha_spans, h->numgc - memstats,
		      h->heap_marked - gcc);
}

/* The version table and the code rules, against DWARF and .symtab. */
static void check_stripped(const struct gobuild *b, int p,
			   const struct go_heap_layout *n,
			   struct go_heap_layout *s)
{
	const char *nb = b->bin[p][NORMAL], *sb = b->bin[p][STRIPPED];
	struct go_heap_layout t;
	struct go_layout gl;

	assert_int_equal(goinfo_detect(sb, &gl), 0);
	assert_int_equal(goheap_layout(sb, &gl, s), 0);
	assert_false(s->from_dwarf);
	/* Offsets: field by field, every one the header has. */
	assert_int_equal(s->bucket_hdr, n->bucket_hdr);
	assert_int_equal(s->bk_allnext, n->bk_allnext);
	assert_int_equal(s->bk_size, n->bk_size);
	assert_int_equal(s->bk_nstk, n->bk_nstk);
	assert_int_equal(s->sp_startaddr, n->sp_startaddr);
	assert_int_equal(s->sp_npages, n->sp_npages);
	assert_int_equal(s->sp_nelems, n->sp_nelems);
	assert_int_equal(s->sp_elemsize, n->sp_elemsize);
	assert_int_equal(s->sp_freeindex, n->sp_freeindex);
	assert_int_equal(s->sp_freeindex_size, n->sp_freeindex_size);
	assert_int_equal(s->sp_nelems_size, n->sp_nelems_size);
	assert_int_equal(s->sp_alloccache, n->sp_alloccache);
	assert_int_equal(s->sp_allocbits, n->sp_allocbits);
	assert_int_equal(s->sp_gcmarkbits, n->sp_gcmarkbits);
	assert_int_equal(s->sp_alloccount, n->sp_alloccount);
	assert_int_equal(s->sp_spanclass, n->sp_spanclass);
	assert_int_equal(s->sp_state, n->sp_state);
	assert_int_equal(s->sp_sweepgen, n->sp_sweepgen);
	assert_int_equal(s->span_size, n->span_size);
	assert_int_equal(s->mh_sweepgen, n->mh_sweepgen);
	assert_int_equal(s->mh_allspans, n->mh_allspans);
	assert_int_equal(s->mh_arenas, n->mh_arenas);
	assert_int_equal(s->ha_spans, n->ha_spans);
	/* Variables: found through the code, where .symtab says. */
	assert_int_equal(s->mbuckets, moved(nb, sb, n->mbuckets));
	assert_int_equal(s->memprofilerate, moved(nb, sb, n->memprofilerate));
	assert_int_equal(s->disable_memprof, moved(nb, sb, n->disable_memprof));
	assert_int_equal(s->mheap, moved(nb, sb, n->mheap));
	assert_int_equal(s->numgc, moved(nb, sb, n->numgc));
	assert_int_equal(s->heap_marked, moved(nb, sb, n->heap_marked));
	/* No DWARF and a version outside the table: no guess. */
	gl.minor = 99;
	assert_int_equal(goheap_layout(sb, &gl, &t), -ENOTSUP);
	assert_int_equal(t.mheap, 0);
	assert_int_equal(goheap_layout(sb, NULL, &t), -ENOTSUP);
	/* Nor with an experiment, which may change the layouts. */
	assert_int_equal(goinfo_detect(sb, &gl), 0);
	strcat(gl.version, " X:foo");
	assert_int_equal(goheap_layout(sb, &gl, &t), -ENOTSUP);
	/* With DWARF, the version does not matter. */
	gl.minor = 99;
	assert_int_equal(goheap_layout(nb, &gl, &t), 0);
	assert_true(t.from_dwarf);
	assert_int_equal(t.mheap, n->mheap);
}

/* The span of the object at obj, found as a reader outside would. */
static void check_span(const struct go_heap_layout *h, uint64_t obj)
{
	uint64_t l2, arena, span, start, npages, idx, freeindex, bits;
	uint8_t sp[512], bit;

	assert_true(h->span_size <= sizeof(sp));
	l2 = rd_u(h->mheap + h->mh_arenas, 8); /* arenas[0]: arenaL1Bits 0 */
	assert_true(l2 != 0);
	idx = (obj + GO_ARENA_BASE) >> GO_ARENA_SHIFT;
	assert_true(idx < (1ull << GO_ARENA_L2_BITS));
	arena = rd_u(l2 + idx * 8, 8);
	assert_true(arena != 0);
	idx = (obj >> GO_PAGE_SHIFT) &
	      ((1ull << (GO_ARENA_SHIFT - GO_PAGE_SHIFT)) - 1);
	span = rd_u(arena + h->ha_spans + idx * 8, 8);
	assert_true(span != 0);
	rd(span, sp, h->span_size);
	start = field(sp, h->sp_startaddr, 8);
	npages = field(sp, h->sp_npages, 8);
	assert_in_range(obj, start, start + (npages << GO_PAGE_SHIFT) - 1);
	assert_int_equal(field(sp, h->sp_state, 1), GO_SPAN_IN_USE);
	assert_int_equal(field(sp, h->sp_elemsize, 8), OBJ_BYTES);
	assert_int_equal(field(sp, h->sp_nelems, h->sp_nelems_size),
			 (npages << GO_PAGE_SHIFT) / OBJ_BYTES);
	assert_true(field(sp, h->sp_spanclass, 1) >> 1 != 0);
	assert_in_range(field(sp, h->sp_alloccount, 2), 1,
			(npages << GO_PAGE_SHIFT) / OBJ_BYTES);
	/* runtime.GC() returns swept: the span is of this sweep generation */
	assert_int_equal(field(sp, h->sp_sweepgen, 4),
			 rd_u(h->mheap + h->mh_sweepgen, 4));
	/* kept, so allocated: below freeindex or its allocBits bit set */
	idx = (obj - start) / OBJ_BYTES;
	freeindex = field(sp, h->sp_freeindex, h->sp_freeindex_size);
	bits = field(sp, h->sp_allocbits, 8);
	assert_true(bits != 0 && field(sp, h->sp_gcmarkbits, 8) != 0);
	rd(bits + idx / 8, &bit, 1);
	assert_true(idx < freeindex || (bit >> (idx % 8)) & 1);
	/* allspans: a slice whose length counts this span too */
	assert_true(rd_u(h->mheap + h->mh_allspans + 8, 8) > 0);
}

/* The profile's buckets: the kept objects are in there, at size 1024. */
static void check_buckets(const struct go_heap_layout *h, bool prof)
{
	uint64_t b = rd_u(h->mbuckets, 8), nstk, rec[4];
	uint64_t live = 0, n = 0;
	uint8_t hdr[128];

	if (!prof) {
		assert_int_equal(b, 0); /* profiling off: never a bucket */
		return;
	}
	assert_true(h->bucket_hdr <= sizeof(hdr));
	for (; b && n < 100000; n++) {
		rd(b, hdr, h->bucket_hdr);
		nstk = field(hdr, h->bk_nstk, 8);
		assert_in_range(nstk, 1, 1024);
		if (field(hdr, h->bk_size, 8) == OBJ_BYTES) {
			/* memRecord.active {allocs, frees, ...} after the pcs */
			rd(b + h->bucket_hdr + nstk * 8, rec, sizeof(rec));
			live += rec[0] - rec[1];
		}
		b = field(hdr, h->bk_allnext, 8);
	}
	print_message("  %" PRIu64 " buckets, %" PRIu64
		      " live objects of %d bytes\n",
		      n, live, OBJ_BYTES);
	assert_true(live >= N_KEEP);
}

static void check_live(const char *bin, const struct go_heap_layout *h,
		       bool prof)
{
	struct ready r;
	uint64_t marked;

	start_go(bin, &r);
	assert_int_equal(r.rate, prof ? 1 : 0);
	assert_int_equal(rd_u(h->memprofilerate, 8), (uint64_t)r.rate);
	assert_int_equal(rd_u(h->disable_memprof, 1), prof ? 0 : 1);
	assert_true(r.numgc >= 3);
	assert_int_equal(rd_u(h->numgc, 4), r.numgc);
	/* what the last GC marked holds the kept objects, and not much more */
	marked = rd_u(h->heap_marked, 8);
	assert_in_range(marked, N_KEEP * OBJ_BYTES, 1ull << 30);
	check_span(h, r.obj);
	check_buckets(h, prof);
	stop_child();
}

static void check_toolchain(const char *ver)
{
	struct gobuild *b = need_build(ver);
	struct go_heap_layout n, s;
	int p;

	if (!b)
		skip();
	for (p = 0; p < NPROG; p++) {
		check_normal(b, p, &n);
		check_stripped(b, p, &n, &s);
		check_live(b->bin[p][NORMAL], &n, p == PROF);
		check_live(b->bin[p][STRIPPED], &s, p == PROF);
	}
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

static void test_go122(void **state)
{
	(void)state;
	check_toolchain("1.22");
}

static void test_go123(void **state)
{
	(void)state;
	check_toolchain("1.23");
}

/* Not Go, not there, not ELF: errors, and nothing left in *out. */
static void test_not_go(void **state)
{
	struct go_heap_layout h;
	char path[PATH_MAX];

	(void)state;
	memset(&h, 0xff, sizeof(h));
	assert_int_equal(goheap_layout("/nonexistent/x", NULL, &h), -ENOENT);
	assert_int_equal(h.mheap, 0);
	snprintf(path, sizeof(path), "%s/prof.go", tmpdir);
	assert_int_equal(goheap_layout(path, NULL, &h), -ENOEXEC);
	/* this test: ELF with DWARF, but no Go runtime in it */
	memset(&h, 0xff, sizeof(h));
	assert_int_equal(goheap_layout("/proc/self/exe", NULL, &h), -ENOTSUP);
	assert_false(h.from_dwarf);
	assert_int_equal(h.span_size, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_go),
		cmocka_unit_test_teardown(test_go119, test_teardown),
		cmocka_unit_test_teardown(test_go121, test_teardown),
		cmocka_unit_test_teardown(test_go122, test_teardown),
		cmocka_unit_test_teardown(test_go123, test_teardown),
	};

	elf_version(EV_CURRENT);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
