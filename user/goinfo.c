// SPDX-License-Identifier: GPL-2.0
/*
 * Go executables and their goroutines, seen from outside: the version from
 * .go.buildinfo, the runtime.g layout from DWARF (or a table of checked
 * versions), runtime.allgs from .symtab, then the live gs read with
 * process_vm_readv. See goinfo.h for the contract.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>

#include "elfsym.h"
#include "godwarf.h"
#include "goinfo.h"

/* Bounds that keep garbage from turning into huge reads. */
#define GO_MAX_GS	   (1u << 22)	/* allgs entries we accept */
#define GO_MAX_STACK	   (1ull << 30) /* runtime's maxstacksize on 64-bit */
#define GO_IOV_BATCH	   1024		/* UIO_MAXIOV */
#define GO_MAX_WRNAME	   64		/* longest wait-reason name we keep */
#define GO_MAX_G	   4096		/* bytes read per g (Go's is < 512) */
#define GO_BUILDINFO_MAGIC "\xff Go buildinf:"
#define GO_BUILDINFO_HDR   32

/* ---- reading the target ---- */

/* Bytes read, or -errno when not even the first byte could be read. */
static ssize_t rd_iov(pid_t pid, struct iovec *loc, struct iovec *rem,
		      unsigned long cnt)
{
	ssize_t r = process_vm_readv(pid, loc, cnt, rem, cnt, 0);

	return r < 0 ? -errno : r;
}

int goinfo_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec loc = { buf, len };
	struct iovec rem = { (void *)(uintptr_t)addr, len };
	ssize_t r = rd_iov(pid, &loc, &rem, 1);

	if (r < 0)
		return (int)r;
	return (size_t)r == len ? 0 : -EFAULT;
}

/* ---- the version: .go.buildinfo ---- */

static Elf_Scn *find_scn(Elf *elf, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	const char *s;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, sh))
			continue;
		s = elf_strptr(elf, shstrndx, sh->sh_name);
		if (s && !strcmp(s, name))
			return scn;
	}
	return NULL;
}

/* Copies len bytes at link-time address vaddr from the file's PT_LOADs. */
static bool file_read_vaddr(Elf *elf, int fd, uint64_t vaddr, void *buf,
			    size_t len)
{
	uint64_t off;

	return elf_vaddr_to_off(elf, vaddr, len, &off) &&
	       pread(fd, buf, len, off) == (ssize_t)len;
}

static bool set_version(struct go_layout *l, const char *s, size_t len)
{
	if (len < 3)
		return false;
	/* "go1.21.0 X:loopvar" and the like: keep the start. */
	if (len >= sizeof(l->version))
		len = sizeof(l->version) - 1;
	memcpy(l->version, s, len);
	l->version[len] = '\0';
	/* "devel go1.24-abc" and the like leave major = 0: no table entry. */
	if (sscanf(l->version, "go%d.%d", &l->major, &l->minor) != 2)
		l->major = l->minor = 0;
	return true;
}

/* Go 1.18+: the version is inline, a uvarint length then the bytes. */
static bool parse_inline(const uint8_t *b, size_t len, struct go_layout *l)
{
	size_t i = GO_BUILDINFO_HDR, vlen = 0;
	unsigned int shift = 0;

	for (; i < len && shift < 63; i++, shift += 7) {
		vlen |= (size_t)(b[i] & 0x7f) << shift;
		if (!(b[i] & 0x80))
			break;
	}
	if (i >= len)
		return false;
	if (vlen > len - i - 1) /* longer than we read: keep the start */
		vlen = len - i - 1;
	return set_version(l, (const char *)b + i + 1, vlen);
}

/* Go 1.13-1.17: a pointer to a string header {ptr, len} at offset 16. */
static bool parse_pointer(Elf *elf, int fd, const uint8_t *b,
			  struct go_layout *l)
{
	uint64_t hdr[2], sp;
	char s[32];

	if (b[14] != 8 || b[15] & 1) /* 64-bit little-endian only */
		return false;
	memcpy(&sp, b + 16, 8);
	if (!file_read_vaddr(elf, fd, sp, hdr, sizeof(hdr)) ||
	    hdr[1] >= sizeof(s) || !hdr[1] ||
	    !file_read_vaddr(elf, fd, hdr[0], s, hdr[1]))
		return false;
	return set_version(l, s, hdr[1]);
}

static int read_version(Elf *elf, int fd, struct go_layout *l)
{
	GElf_Shdr sh;
	Elf_Scn *scn = find_scn(elf, ".go.buildinfo", &sh);
	uint8_t b[GO_BUILDINFO_HDR + 48];
	size_t len;

	if (!scn || sh.sh_type == SHT_NOBITS)
		return -ENOEXEC;
	len = sh.sh_size < sizeof(b) ? sh.sh_size : sizeof(b);
	if (len < GO_BUILDINFO_HDR ||
	    pread(fd, b, len, sh.sh_offset) != (ssize_t)len ||
	    memcmp(b, GO_BUILDINFO_MAGIC, 14))
		return -ENOEXEC;
	/*
	 * The magic says Go. An unreadable version (an old PIE, whose string
	 * header is only filled by a relocation) leaves major = 0: DWARF may
	 * still give the layout, the table cannot.
	 */
	if (!(b[15] & 2 ? parse_inline(b, len, l)
			: parse_pointer(elf, fd, b, l)))
		memset(l->version, 0, sizeof(l->version));
	return 0;
}

/* ---- the g layout: DWARF ---- */

static uint64_t g_span(const struct go_layout *l);

static bool g_from_die(Dwarf_Die *g, struct go_layout *l)
{
	Dwarf_Die gobuf;
	uint32_t sched, sp, pc, bp;

	if (!godwarf_member(g, "atomicstatus", &l->g_status, NULL, NULL) ||
	    !godwarf_member(g, "goid", &l->g_goid, NULL, NULL) ||
	    !godwarf_member(g, "waitreason", &l->g_waitreason, NULL, NULL) ||
	    !godwarf_member(g, "gopc", &l->g_gopc, NULL, NULL) ||
	    !godwarf_member(g, "startpc", &l->g_startpc, NULL, NULL) ||
	    !godwarf_member(g, "sched", &sched, NULL, &gobuf) ||
	    !godwarf_member(&gobuf, "sp", &sp, NULL, NULL) ||
	    !godwarf_member(&gobuf, "pc", &pc, NULL, NULL) ||
	    !godwarf_member(&gobuf, "bp", &bp, NULL, NULL))
		return false;
	l->g_sched_sp = sched + sp;
	l->g_sched_pc = sched + pc;
	l->g_sched_bp = sched + bp;
	/* Members lie inside their structs (godwarf_member); a g this large
	 * is still no runtime.g: the version's table then, not this. */
	return g_span(l) <= GO_MAX_G;
}

/* Go's linker emits its types as top-level DIEs; look only there. */
static bool find_g_in_cu(Dwarf_Die *cu, struct go_layout *l)
{
	Dwarf_Die d;
	const char *name;

	if (dwarf_child(cu, &d))
		return false;
	do {
		if (dwarf_tag(&d) != DW_TAG_structure_type)
			continue;
		name = dwarf_diename(&d);
		if (name && !strcmp(name, "runtime.g"))
			return g_from_die(&d, l);
	} while (dwarf_siblingof(&d, &d) == 0);
	return false;
}

/* libdw inflates SHF_COMPRESSED and .zdebug sections by itself. */
static bool layout_from_dwarf(Elf *elf, struct go_layout *l)
{
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	Dwarf_Off off = 0, next;
	size_t hsize;
	Dwarf_Die cu;
	bool ok = false;

	if (!dw)
		return false;
	while (!ok &&
	       dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(dw, off + hsize, &cu))
			ok = find_g_in_cu(&cu, l);
		off = next;
	}
	dwarf_end(dw);
	return ok;
}

/* ---- the g layout: the table, for binaries without DWARF ---- */

struct g_offsets {
	int major, min_minor, max_minor;
	uint32_t status, goid, waitreason, gopc, startpc, sp, pc, bp;
};

/*
 * From the team's notes (shared/notes/go-runtime.md). The unit tests check
 * these rows against DWARF for 1.19.8, 1.21.13 and 1.23.5; the rest are the
 * notes' word (1.17, 1.18, 1.20 from the runtime source, 1.22 and 1.24-1.26
 * from binaries). A version outside every row gets -ENOTSUP, not a guess.
 */
static const struct g_offsets g_table[] = {
	{ 1, 17, 20, 144, 152, 176, 296, 312, 56, 64, 104 },
	{ 1, 21, 22, 144, 152, 176, 280, 296, 56, 64, 104 },
	{ 1, 23, 24, 152, 160, 184, 288, 304, 56, 64, 104 },
	{ 1, 25, 25, 144, 152, 176, 280, 296, 56, 64, 96 },
	{ 1, 26, 26, 144, 152, 176, 288, 304, 56, 64, 96 },
};

static bool layout_from_table(struct go_layout *l)
{
	const struct g_offsets *t;
	size_t i;

	for (i = 0; i < sizeof(g_table) / sizeof(g_table[0]); i++) {
		t = &g_table[i];
		if (l->major != t->major || l->minor < t->min_minor ||
		    l->minor > t->max_minor)
			continue;
		l->g_status = t->status;
		l->g_goid = t->goid;
		l->g_waitreason = t->waitreason;
		l->g_gopc = t->gopc;
		l->g_startpc = t->startpc;
		l->g_sched_sp = t->sp;
		l->g_sched_pc = t->pc;
		l->g_sched_bp = t->bp;
		return true;
	}
	return false;
}

/* ---- symbols ---- */

static void note_sym(struct go_layout *l, const char *name, const GElf_Sym *s)
{
	if (!strcmp(name, "runtime.allgs") && s->st_size >= 24)
		l->allgs = s->st_value;
	else if (!strcmp(name, "runtime.allglen") && s->st_size >= 8)
		l->allglen = s->st_value;
	else if (!strcmp(name, "runtime.waitReasonStrings") &&
		 s->st_size >= 16 && s->st_size / 16 <= 256) {
		l->waitreason_strings = s->st_value;
		l->nwaitreasons = (uint32_t)(s->st_size / 16);
	}
}

static void note_sym_cb(void *ctx, const char *name, const GElf_Sym *s)
{
	note_sym(ctx, name, s);
}

static int detect_elf(Elf *elf, int fd, struct go_layout *l)
{
	GElf_Ehdr eh;
	int err;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return -ENOEXEC;
	err = read_version(elf, fd, l);
	if (err)
		return err;
	/* The offsets and the frame-pointer walk are amd64 facts. */
	if (eh.e_machine != EM_X86_64 || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return -ENOTSUP;
	l->from_dwarf = layout_from_dwarf(elf, l);
	if (!l->from_dwarf && !layout_from_table(l))
		return -ENOTSUP;
	elf_each_object(elf, "runtime.", note_sym_cb, l);
	return 0;
}

static int detect_cb(Elf *elf, int fd, void *ctx)
{
	return detect_elf(elf, fd, ctx);
}

int goinfo_detect(const char *path, struct go_layout *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	err = elf_with_file(path, detect_cb, out);
	if (err) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	return 0;
}

/* ---- goroutines ---- */

static uint64_t end_of(uint64_t m, uint32_t off, uint32_t size)
{
	return (uint64_t)off + size > m ? (uint64_t)off + size : m;
}

/* One read per g covers every field we decode. 64 bits: the offsets come
 * from the binary's DWARF, and their sum must not wrap. */
static uint64_t g_span(const struct go_layout *l)
{
	uint64_t m = end_of(0, l->g_status, 4);

	m = end_of(m, l->g_goid, 8);
	m = end_of(m, l->g_waitreason, 1);
	m = end_of(m, l->g_gopc, 8);
	m = end_of(m, l->g_startpc, 8);
	m = end_of(m, l->g_sched_sp, 8);
	m = end_of(m, l->g_sched_pc, 8);
	return end_of(m, l->g_sched_bp, 8);
}

static uint64_t u64_at(const uint8_t *b, uint32_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

/* false for gs that are not live goroutines (or not gs at all). */
static bool decode_g(const uint8_t *b, uint64_t addr, const struct go_layout *l,
		     struct goroutine *g)
{
	uint32_t st;

	memcpy(&st, b + l->g_status, sizeof(st));
	st &= ~(uint32_t)GO_G_SCAN;
	/* 1.26 adds statuses 10 and 11; above that it is garbage. */
	if (st == GO_G_IDLE || st == GO_G_DEAD || st > 11)
		return false;
	g->g = addr;
	g->status = st;
	g->goid = u64_at(b, l->g_goid);
	g->gopc = u64_at(b, l->g_gopc);
	g->startpc = u64_at(b, l->g_startpc);
	g->sched_sp = u64_at(b, l->g_sched_sp);
	g->sched_pc = u64_at(b, l->g_sched_pc);
	g->sched_bp = u64_at(b, l->g_sched_bp);
	g->waitreason = b[l->g_waitreason];
	return true;
}

/*
 * Reads up to GO_IOV_BATCH gs starting at ptrs[0] into buf. Returns how many
 * of them were read in full; the one after those could not be read
 * (process_vm_readv stops at the first failing iovec).
 */
static ssize_t read_g_batch(pid_t pid, const uint64_t *ptrs, size_t cnt,
			    uint8_t *buf, uint32_t span)
{
	struct iovec loc[GO_IOV_BATCH], rem[GO_IOV_BATCH];
	ssize_t r;
	size_t i;

	for (i = 0; i < cnt; i++) {
		loc[i].iov_base = buf + i * span;
		loc[i].iov_len = span;
		rem[i].iov_base = (void *)(uintptr_t)ptrs[i];
		rem[i].iov_len = span;
	}
	r = rd_iov(pid, loc, rem, cnt);
	if (r == -EFAULT)
		return 0;
	return r < 0 ? r : r / span;
}

static int scan_gs(pid_t pid, const struct go_layout *l, const uint64_t *ptrs,
		   size_t cnt, struct goroutine *out)
{
	uint64_t span = g_span(l);
	uint8_t *buf;
	size_t i = 0, j, batch;
	ssize_t done;
	int n = 0;

	/* A layout no g has (see g_from_die): never a batch of huge reads. */
	if (span > GO_MAX_G)
		return -EBADMSG;
	buf = malloc(span * GO_IOV_BATCH);
	if (!buf)
		return -ENOMEM;
	while (i < cnt) {
		batch = cnt - i < GO_IOV_BATCH ? cnt - i : GO_IOV_BATCH;
		done = read_g_batch(pid, ptrs + i, batch, buf, span);
		if (done < 0) {
			free(buf);
			return (int)done;
		}
		for (j = 0; j < (size_t)done; j++)
			n += decode_g(buf + j * span, ptrs[i + j], l, &out[n]);
		/* Skip the g that could not be read: freed or garbage. */
		i += (size_t)done < batch ? (size_t)done + 1 : batch;
	}
	free(buf);
	return n;
}

/* allglen and the allgs slice header, read in one call. */
static int read_allgs(pid_t pid, uint64_t bias, const struct go_layout *l,
		      uint64_t *arr, size_t *cnt)
{
	uint64_t len, hdr[3];
	struct iovec loc[2] = { { &len, 8 }, { hdr, 24 } };
	struct iovec rem[2] = { { (void *)(uintptr_t)(l->allglen + bias), 8 },
				{ (void *)(uintptr_t)(l->allgs + bias), 24 } };
	ssize_t r = rd_iov(pid, loc, rem, 2);

	if (r < 0)
		return (int)r;
	if (r != 32)
		return -EFAULT;
	/* allglen is published after the slice grows: trust the smaller. */
	if (hdr[1] > hdr[2] || hdr[1] > GO_MAX_GS || (hdr[1] && !hdr[0]))
		return -EBADMSG;
	*arr = hdr[0];
	*cnt = len < hdr[1] ? len : hdr[1];
	return 0;
}

int goinfo_scan(pid_t pid, uint64_t bias, const struct go_layout *l,
		struct goroutine **out, size_t *n)
{
	uint64_t arr, *ptrs = NULL;
	struct goroutine *gs = NULL;
	size_t cnt;
	int err;

	*out = NULL;
	*n = 0;
	if (!l->allgs || !l->allglen)
		return -ENOTSUP;
	err = read_allgs(pid, bias, l, &arr, &cnt);
	if (err || !cnt)
		return err;
	/* The gs' array only once the pointers were read: a garbage header
	 * (up to GO_MAX_GS) costs no allocation of its size. */
	ptrs = malloc(cnt * sizeof(*ptrs));
	err = ptrs ? goinfo_read(pid, arr, ptrs, cnt * sizeof(*ptrs)) : -ENOMEM;
	if (!err) {
		gs = malloc(cnt * sizeof(*gs));
		err = gs ? scan_gs(pid, l, ptrs, cnt, gs) : -ENOMEM;
	}
	free(ptrs);
	if (err <= 0) {
		free(gs);
		return err;
	}
	*out = gs;
	*n = (size_t)err;
	return err;
}

/* ---- unwinding a parked goroutine ---- */

int goinfo_unwind(pid_t pid, const struct goroutine *g, uint64_t *pcs, int max)
{
	uint64_t fp = g->sched_bp, fr[2];
	int n = 0, err;

	if (g->status == GO_G_RUNNING)
		return -EBUSY;
	if (max > GO_UNWIND_MAX)
		max = GO_UNWIND_MAX;
	if (max <= 0 || !g->sched_pc)
		return 0;
	pcs[n++] = g->sched_pc;
	/*
	 * Frames live on the goroutine's own stack, above sched.sp, and each
	 * saved frame pointer is above the previous one: anything else is a
	 * stale or garbage chain, and we stop rather than wander.
	 */
	while (n < max && fp && !(fp & 7) && fp >= g->sched_sp &&
	       fp - g->sched_sp < GO_MAX_STACK) {
		err = goinfo_read(pid, fp, fr, sizeof(fr));
		if (err == -ESRCH)
			return err;
		if (err || !fr[1])
			break;
		pcs[n++] = fr[1];
		if (fr[0] <= fp)
			break;
		fp = fr[0];
	}
	return n;
}

/* ---- wait-reason names ---- */

/*
 * runtime.waitReasonStrings as read from go1.19.8, go1.21.13 and go1.23.5
 * binaries. 1.21's 32 names are the first 32 of 1.23's; other versions
 * differ or were not checked, and get no fallback.
 */
static const char *const wr_1_19[] = {
	"",
	"GC assist marking",
	"IO wait",
	"chan receive (nil chan)",
	"chan send (nil chan)",
	"dumping heap",
	"garbage collection",
	"garbage collection scan",
	"panicwait",
	"select",
	"select (no cases)",
	"GC assist wait",
	"GC sweep wait",
	"GC scavenge wait",
	"chan receive",
	"chan send",
	"finalizer wait",
	"force gc (idle)",
	"semacquire",
	"sleep",
	"sync.Cond.Wait",
	"timer goroutine (idle)",
	"trace reader (blocked)",
	"wait for GC cycle",
	"GC worker (idle)",
	"preempted",
	"debug call",
};

static const char *const wr_1_23[] = {
	"",
	"GC assist marking",
	"IO wait",
	"chan receive (nil chan)",
	"chan send (nil chan)",
	"dumping heap",
	"garbage collection",
	"garbage collection scan",
	"panicwait",
	"select",
	"select (no cases)",
	"GC assist wait",
	"GC sweep wait",
	"GC scavenge wait",
	"chan receive",
	"chan send",
	"finalizer wait",
	"force gc (idle)",
	"semacquire",
	"sleep",
	"sync.Cond.Wait",
	"sync.Mutex.Lock",
	"sync.RWMutex.RLock",
	"sync.RWMutex.Lock",
	"trace reader (blocked)",
	"wait for GC cycle",
	"GC worker (idle)",
	"GC worker (active)",
	"preempted",
	"debug call",
	"GC mark termination",
	"stopping the world",
	"flushing proc caches",
	"trace goroutine status",
	"trace proc status",
	"page trace flush",
	"coroutine",
	"GC weak to strong wait",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int wr_from_table(struct go_waitreasons *w, const struct go_layout *l)
{
	const char *const *t;
	unsigned int i, n;

	if (l->major != 1)
		return -ENOENT;
	if (l->minor == 19) {
		t = wr_1_19;
		n = ARRAY_LEN(wr_1_19);
	} else if (l->minor == 21 || l->minor == 23) {
		t = wr_1_23;
		n = l->minor == 21 ? 32 : ARRAY_LEN(wr_1_23);
	} else {
		return -ENOENT;
	}
	for (i = 0; i < n; i++) {
		w->name[i] = strdup(t[i]);
		if (!w->name[i])
			return -ENOMEM;
	}
	w->n = n;
	return 0;
}

/*
 * The string headers, then every string's bytes in one batch, straight
 * into the name buffers (zeroed, so each stays terminated). On error the
 * caller frees what was allocated.
 */
static int wr_from_process(struct go_waitreasons *w, pid_t pid, uint64_t bias,
			   const struct go_layout *l)
{
	uint64_t hdr[256][2];
	struct iovec loc[256], rem[256];
	unsigned int i, n = l->nwaitreasons, cnt = 0;
	ssize_t want = 0, got;
	int err;

	if (!l->waitreason_strings || !n || n > 256)
		return -ENOENT;
	err = goinfo_read(pid, l->waitreason_strings + bias, hdr, n * 16);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		if (hdr[i][1] > GO_MAX_WRNAME || (hdr[i][1] && !hdr[i][0]))
			return -EBADMSG;
		w->name[i] = calloc(1, hdr[i][1] + 1);
		if (!w->name[i])
			return -ENOMEM;
		if (!hdr[i][1])
			continue;
		loc[cnt] = (struct iovec){ w->name[i], hdr[i][1] };
		rem[cnt++] = (struct iovec){ (void *)(uintptr_t)hdr[i][0],
					     hdr[i][1] };
		want += (ssize_t)hdr[i][1];
	}
	got = cnt ? rd_iov(pid, loc, rem, cnt) : 0;
	if (got != want)
		return got < 0 ? (int)got : -EFAULT;
	w->n = n;
	return 0;
}

int goinfo_waitreasons_load(struct go_waitreasons *w, pid_t pid, uint64_t bias,
			    const struct go_layout *l)
{
	memset(w, 0, sizeof(*w));
	if (wr_from_process(w, pid, bias, l) == 0) {
		w->from_process = true;
		return 0;
	}
	goinfo_waitreasons_free(w);
	if (wr_from_table(w, l) == 0)
		return 0;
	goinfo_waitreasons_free(w);
	return -ENOENT;
}

const char *goinfo_waitreason_name(const struct go_waitreasons *w,
				   uint8_t reason)
{
	return reason < w->n ? w->name[reason] : NULL;
}

void goinfo_waitreasons_free(struct go_waitreasons *w)
{
	unsigned int i;

	for (i = 0; i < 256; i++)
		free(w->name[i]);
	memset(w, 0, sizeof(*w));
}
