// SPDX-License-Identifier: GPL-2.0
/*
 * Stack symbolizer on top of libdwfl.
 *
 * Every distinct mapped binary gets its own Dwfl holding one module at
 * its link-time addresses (bias 0), so a binary is opened and parsed
 * once however many times and wherever it is mapped; a pc is turned
 * into an ELF address through the mapping's file offset and the
 * binary's program headers before it is looked up.
 *
 * Go binaries are symbolized from their .gopclntab instead of DWARF:
 * it is what the Go runtime itself uses, survives -ldflags='-s -w', is
 * far cheaper to load than Go's compressed DWARF and has the inlining
 * and closure names exactly as Go reports them.
 */
#define _GNU_SOURCE
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <libiberty/demangle.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "gopclntab.h"
#include "ksyms.h"
#include "safeopen.h"
#include "symbolize.h"
#include "util.h"

/* Inline chain kept per pc; deeper chains lose their middle frames. */
#define LW_MAX_INLINE 32
/* Unmapped (dlclose'd) mappings remembered so old stacks still resolve. */
#define LW_MAX_RETIRED 1024
/* Symbols before the nearest one checked for containing a pc. */
#define LW_SYM_LOOKBACK 16

struct lw_seg {
	uint64_t vaddr;
	uint64_t off;
	uint64_t filesz;
	uint64_t align;
	bool exec;
};

/* A function symbol; sizeless ones end at the next symbol or section end. */
struct lw_sym {
	uint64_t start;
	uint64_t end;
	const char *name;
	int rank; /* lower is the better name among aliases */
	bool sized;
};

struct lw_bin {
	struct lw_bin *next;
	dev_t dev;
	ino_t ino;
	Dwfl *dwfl; /* NULL: not a usable ELF file, don't retry */
	Dwfl_Module *mod;
	struct lw_seg *segs;
	size_t nsegs;
	struct lw_sym *syms; /* sorted by start, then rank */
	size_t nsyms;
	struct gopclntab *go; /* NULL unless a Go binary */
};

struct lw_map {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff;
	const char *module; /* interned path or "[vdso]"-style name */
	struct lw_bin *bin; /* NULL unless an executable ELF mapping */
	bool special;	    /* [vdso], [stack]...: pgoff means nothing */
};

/* One resolved pc, valid while the mapping it was resolved in is. */
struct lw_ent {
	uint64_t pc;
	bool ra;
	bool mapped;
	unsigned int gen;
	struct lw_map map;
	int n;
	struct lw_frame f[];
};

struct lw_strset {
	char **slot;
	size_t cap;
	size_t used;
};

struct symbolizer {
	pid_t pid;
	int proc_fd;	 /* pins the process: no confusion on pid reuse */
	int root_fd;	 /* its root: paths it names resolve inside it */
	bool other_root; /* a container's: not our root */
	Dwfl_Callbacks cb;
	struct lw_bin *bins;
	struct lw_map *maps; /* sorted by start, as /proc lists them */
	size_t nmaps;
	struct lw_map *retired; /* oldest first */
	size_t nretired;
	unsigned int gen; /* bumped when the mapping view changes */
	struct lw_ent **tab;
	size_t tab_cap;
	size_t tab_used;
	struct lw_strset strs;
	unsigned long unresolved;
	struct lw_ksyms *ksyms; /* the kernel's symbolizer: kallsyms only */
};

struct lw_map_line {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff;
	uint64_t ino;
	unsigned int maj;
	unsigned int min;
	char perms[5];
	char *path;
	bool deleted;
};

/* ---- string interning: module names must outlive the mapping view ---- */

static int strset_grow(struct lw_strset *ss)
{
	size_t cap = ss->cap ? ss->cap * 2 : 64;
	char **slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < ss->cap; i++) {
		size_t j;

		if (!ss->slot[i])
			continue;
		j = lw_str_hash(ss->slot[i]) & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = ss->slot[i];
	}
	free(ss->slot);
	ss->slot = slot;
	ss->cap = cap;
	return 0;
}

static const char *strset_intern(struct lw_strset *ss, const char *s)
{
	size_t i;

	if ((ss->used + 1) * 2 > ss->cap && strset_grow(ss))
		return NULL;
	i = lw_str_hash(s) & (ss->cap - 1);
	while (ss->slot[i]) {
		if (!strcmp(ss->slot[i], s))
			return ss->slot[i];
		i = (i + 1) & (ss->cap - 1);
	}
	ss->slot[i] = strdup(s);
	if (!ss->slot[i])
		return NULL;
	ss->used++;
	return ss->slot[i];
}

static void strset_free(struct lw_strset *ss)
{
	for (size_t i = 0; i < ss->cap; i++)
		free(ss->slot[i]);
	free(ss->slot);
}

/* ---- opening binaries ---- */

static int open_in_root(struct symbolizer *s, const char *path)
{
	return lw_open_in_root(s->root_fd, path);
}

static int open_map_file(struct symbolizer *s, const struct lw_map_line *ml)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "map_files/%" PRIx64 "-%" PRIx64, ml->start,
		 ml->end);
	return lw_open_at(s->proc_fd, buf);
}

static bool is_mapped_file(int fd, const struct lw_map_line *ml)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_ino == ml->ino;
}

/*
 * Maps paths are relative to the reader's root where it can reach the
 * file: a chroot in our mount namespace shows our paths, not its own.
 */
static int open_in_our_root(const struct lw_map_line *ml)
{
	int fd = lw_open_file(ml->path);

	if (fd >= 0 && !is_mapped_file(fd, ml)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * In a container the path in maps is relative to the target's root, so
 * open it there. It may name another file by now (package upgrade,
 * "(deleted)") or an overlayfs view with other inode numbers; map_files/
 * gives the very file that is mapped but needs privileges, so it comes
 * next, and a path that named an unverifiable file comes last.
 */
static int open_target_file(struct symbolizer *s, const struct lw_map_line *ml)
{
	int fd = -1;
	int mfd;

	if (!ml->deleted) {
		fd = open_in_root(s, ml->path);
		if (fd >= 0 && is_mapped_file(fd, ml))
			return fd;
	}
	mfd = open_map_file(s, ml);
	if (mfd < 0 && !ml->deleted)
		mfd = open_in_our_root(ml);
	if (mfd < 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return mfd;
}

static int load_segments(struct lw_bin *b)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(b->mod, &bias);
	size_t phnum;

	if (!elf || elf_getphdrnum(elf, &phnum))
		return -1;
	b->segs = calloc(phnum ? phnum : 1, sizeof(*b->segs));
	if (!b->segs)
		return -1;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);

		if (!ph || ph->p_type != PT_LOAD)
			continue;
		b->segs[b->nsegs++] = (struct lw_seg){
			.vaddr = ph->p_vaddr,
			.off = ph->p_offset,
			.filesz = ph->p_filesz,
			.align = ph->p_align & (ph->p_align - 1) ? 1
								 : ph->p_align,
			.exec = ph->p_flags & PF_X,
		};
	}
	return b->nsegs ? 0 : -1;
}

/* Debug symtabs name versioned symbols "glob64@@GLIBC_2.27". */
static const char *unversioned(struct symbolizer *s, const char *sym)
{
	const char *at = strchr(sym, '@');
	char buf[512];

	if (!at || at == sym || (size_t)(at - sym) >= sizeof(buf))
		return sym;
	memcpy(buf, sym, at - sym);
	buf[at - sym] = '\0';
	at = strset_intern(&s->strs, buf);
	return at ? at : sym;
}

/* Of aliases, the exported name and then the least internal one wins. */
static int sym_rank(const GElf_Sym *sym, const char *name)
{
	int bind = GELF_ST_BIND(sym->st_info);
	int rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;

	return rank * 64 + (int)(strspn(name, "_") & 63);
}

static int sym_cmp(const void *a, const void *b)
{
	const struct lw_sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->name, y->name);
}

static bool is_code_sym(const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);

	/* Sizeless untyped symbols are mostly markers, not functions. */
	return type == STT_FUNC || type == STT_GNU_IFUNC ||
	       (type == STT_NOTYPE && sym->st_size);
}

static uint64_t section_end(Elf *elf, GElf_Word shndx, Dwarf_Addr bias)
{
	GElf_Shdr mem, *sh = gelf_getshdr(elf_getscn(elf, shndx), &mem);

	return sh ? sh->sh_addr + sh->sh_size + bias : UINT64_MAX;
}

static bool sym_entry(struct symbolizer *s, Dwfl_Module *mod, int i,
		      struct lw_sym *y)
{
	GElf_Sym sym;
	GElf_Addr addr;
	GElf_Word shndx;
	Dwarf_Addr bias;
	Elf *elf;
	const char *name;

	name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf,
				       &bias);
	if (!name || !*name || !is_code_sym(&sym) || shndx == SHN_UNDEF ||
	    shndx >= SHN_LORESERVE)
		return false;
	y->start = addr;
	y->sized = sym.st_size;
	y->end = sym.st_size ? addr + sym.st_size
			     : section_end(elf, shndx, bias);
	y->name = unversioned(s, name);
	y->rank = sym_rank(&sym, y->name);
	return true;
}

/*
 * A sizeless symbol (assembly label, crt's frame_dummy) only covers code
 * up to the next symbol: what follows is some stripped function.
 */
static void bound_sizeless(struct lw_bin *b)
{
	uint64_t next = UINT64_MAX;
	size_t i = b->nsyms;

	while (i > 0) {
		uint64_t start = b->syms[i - 1].start;

		for (; i > 0 && b->syms[i - 1].start == start; i--) {
			struct lw_sym *y = &b->syms[i - 1];

			if (!y->sized && y->end > next)
				y->end = next;
		}
		next = start;
	}
}

/*
 * dwfl_module_addrinfo scans the whole symbol table on every call, which
 * is far too slow for big binaries; index the same symbols once instead.
 */
static void load_symbols(struct symbolizer *s, struct lw_bin *b)
{
	int n = dwfl_module_getsymtab(b->mod);

	if (n <= 1)
		return;
	b->syms = calloc(n, sizeof(*b->syms));
	if (!b->syms)
		return;
	for (int i = 1; i < n; i++)
		if (sym_entry(s, b->mod, i, &b->syms[b->nsyms]))
			b->nsyms++;
	qsort(b->syms, b->nsyms, sizeof(*b->syms), sym_cmp);
	bound_sizeless(b);
}

/*
 * The nearest symbol at or below addr that contains it; among aliases
 * the best ranked. A few earlier ones are tried for nested symbols.
 */
static const char *sym_lookup(const struct lw_bin *b, uint64_t addr)
{
	const struct lw_sym *best = NULL;
	size_t lo = 0, hi = b->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t j = lo; j-- > 0 && lo - j <= LW_SYM_LOOKBACK;) {
		const struct lw_sym *y = &b->syms[j];

		if (best && y->start != best->start)
			break;
		if (addr < y->end)
			best = y;
	}
	return best ? best->name : NULL;
}

/*
 * libdw opens garbage .debug_* sections without a word (and then finds
 * nothing in them): the first unit must be one.
 */
static bool dwarf_sane(Dwarf *dw)
{
	Dwarf_Off next;
	Dwarf_Half version;
	size_t hsize;
	Dwarf_Die cu;
	int tag;

	if (dwarf_next_unit(dw, 0, &next, &hsize, &version, NULL, NULL, NULL,
			    NULL, NULL) ||
	    version < 2 || version > 5 || !dwarf_offdie(dw, hsize, &cu))
		return false;
	tag = dwarf_tag(&cu);
	return tag == DW_TAG_compile_unit || tag == DW_TAG_partial_unit ||
	       tag == DW_TAG_type_unit || tag == DW_TAG_skeleton_unit;
}

/*
 * Load symbols and DWARF now: libdwfl does it lazily, and by the time a
 * report is symbolized the target (and the /proc/PID/root paths the
 * debuginfo search uses) may be gone. Only the open fds must survive.
 */
static void preload_debuginfo(struct symbolizer *s, struct lw_bin *b)
{
	Dwarf_Addr bias;
	Dwarf *dw;

	load_symbols(s, b);
	/*
	 * Go code needs no DWARF; cgo's C code in the same file still
	 * can, and libdwfl reads it lazily from the fd it keeps.
	 */
	if (b->go)
		return;
	dw = dwfl_module_getdwarf(b->mod, &bias);
	if (dw && !dwarf_sane(dw))
		lw_warn("%s: its DWARF is malformed: its frames are named "
			"from its symbol table, without file:line",
			dwfl_module_info(b->mod, NULL, NULL, NULL, NULL, NULL,
					 NULL, NULL));
}

/* Not Go (ENOENT) is the common case; no failure here is fatal. */
static void open_go(struct lw_bin *b, int fd)
{
	int err = errno;

	b->go = gopclntab_open_fd(fd);
	errno = err;
}

static void bin_open_elf(struct symbolizer *s, struct lw_bin *b,
			 const struct lw_map_line *ml)
{
	char fname[PATH_MAX + 32];
	int fd = open_target_file(s, ml);
	void **ud;

	if (fd < 0)
		return;
	snprintf(fname, sizeof(fname), "/proc/%d/root%s", (int)s->pid,
		 ml->path);
	open_go(b, fd);
	b->dwfl = dwfl_begin(&s->cb);
	if (b->dwfl)
		b->mod = dwfl_report_elf(b->dwfl, ml->path, fname, fd, 0, true);
	if (!b->mod) {
		/* Not ELF (or not usable): the Dwfl did not take the fd. */
		close(fd);
		goto fail;
	}
	dwfl_module_info(b->mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
	*ud = s; /* for find_debuginfo */
	dwfl_report_end(b->dwfl, NULL, NULL);
	if (load_segments(b))
		goto fail;
	preload_debuginfo(s, b);
	return;
fail:
	if (b->dwfl)
		dwfl_end(b->dwfl);
	b->dwfl = NULL;
	b->mod = NULL;
	gopclntab_close(b->go);
	b->go = NULL;
}

/* Binaries are keyed by (dev, inode): one parse per file, failures too. */
static struct lw_bin *bin_get(struct symbolizer *s,
			      const struct lw_map_line *ml)
{
	dev_t dev = makedev(ml->maj, ml->min);
	struct lw_bin *b;

	for (b = s->bins; b; b = b->next)
		if (b->dev == dev && b->ino == ml->ino)
			return b->dwfl ? b : NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->dev = dev;
	b->ino = ml->ino;
	errno = 0;
	bin_open_elf(s, b, ml);
	/* Out of fds is no verdict on the file: try again next refresh. */
	if (!b->dwfl && (errno == EMFILE || errno == ENFILE)) {
		free(b);
		return NULL;
	}
	b->next = s->bins;
	s->bins = b;
	return b->dwfl ? b : NULL;
}

static void bin_free(struct lw_bin *b)
{
	if (b->dwfl)
		dwfl_end(b->dwfl);
	gopclntab_close(b->go);
	free(b->segs);
	free(b->syms);
	free(b);
}

/* ---- /proc/PID/maps ---- */

static bool parse_map_line(char *line, struct lw_map_line *ml)
{
	static const char del[] = " (deleted)";
	size_t len;
	int n = 0;

	if (sscanf(line,
		   "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64
		   " %n",
		   &ml->start, &ml->end, ml->perms, &ml->pgoff, &ml->maj,
		   &ml->min, &ml->ino, &n) < 7 ||
	    !n)
		return false;
	ml->path = line + n;
	len = strcspn(ml->path, "\n");
	ml->path[len] = '\0';
	ml->deleted = len >= sizeof(del) - 1 &&
		      !strcmp(ml->path + len - (sizeof(del) - 1), del);
	if (ml->deleted)
		ml->path[len - (sizeof(del) - 1)] = '\0';
	return ml->path[0] != '\0';
}

static int map_from_line(struct symbolizer *s, struct lw_map_line *ml,
			 struct lw_map *m)
{
	*m = (struct lw_map){
		.start = ml->start,
		.end = ml->end,
		.pgoff = ml->pgoff,
		.special = ml->path[0] != '/',
	};
	m->module = strset_intern(&s->strs, ml->path);
	if (!m->module)
		return -ENOMEM;
	/* Only code is ever symbolized: data-only files are never parsed. */
	if (!m->special && ml->perms[2] == 'x')
		m->bin = bin_get(s, ml);
	return 0;
}

static int maps_push(struct lw_map **v, size_t *n, size_t *cap,
		     const struct lw_map *m)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 128;
		struct lw_map *nv = realloc(*v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = *m;
	return 0;
}

static int read_maps(struct symbolizer *s, FILE *f, struct lw_map **out,
		     size_t *nout)
{
	struct lw_map *v = NULL;
	size_t n = 0, cap = 0, lsz = 0;
	char *line = NULL;
	int err = 0;

	while (!err && getline(&line, &lsz, f) > 0) {
		struct lw_map_line ml;
		struct lw_map m;

		if (!parse_map_line(line, &ml))
			continue;
		err = map_from_line(s, &ml, &m);
		if (!err)
			err = maps_push(&v, &n, &cap, &m);
	}
	free(line);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	*nout = n;
	return 0;
}

static bool map_equal(const struct lw_map *a, const struct lw_map *b)
{
	return a->start == b->start && a->end == b->end &&
	       a->pgoff == b->pgoff && a->module == b->module &&
	       a->bin == b->bin;
}

static const struct lw_map *map_bsearch(const struct lw_map *v, size_t n,
					uint64_t pc)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pc < v[mid].start)
			hi = mid;
		else if (pc >= v[mid].end)
			lo = mid + 1;
		else
			return &v[mid];
	}
	return NULL;
}

static void retire(struct symbolizer *s, const struct lw_map *m)
{
	const struct lw_map *cur = map_bsearch(s->maps, s->nmaps, m->start);

	if (cur && map_equal(cur, m))
		return;
	if (!s->retired) {
		s->retired = calloc(LW_MAX_RETIRED, sizeof(*s->retired));
		if (!s->retired)
			return;
	}
	if (s->nretired == LW_MAX_RETIRED) {
		memmove(s->retired, s->retired + 1,
			(LW_MAX_RETIRED - 1) * sizeof(*s->retired));
		s->nretired--;
	}
	s->retired[s->nretired++] = *m;
}

static void install_maps(struct symbolizer *s, struct lw_map *v, size_t n)
{
	struct lw_map *old = s->maps;
	size_t nold = s->nmaps;
	bool same = n == nold;

	for (size_t i = 0; same && i < n; i++)
		same = map_equal(&v[i], &old[i]);
	if (same) {
		free(v);
		return;
	}
	s->maps = v;
	s->nmaps = n;
	for (size_t i = 0; i < nold; i++)
		if (old[i].bin)
			retire(s, &old[i]);
	free(old);
	s->gen++;
}

static bool process_gone(int err)
{
	return err == ENOENT || err == ESRCH;
}

int symbolizer_refresh(struct symbolizer *s)
{
	struct lw_map *v;
	size_t n;
	FILE *f;
	int fd, err;

	if (!s)
		return -EINVAL;
	if (s->ksyms)
		return 0; /* the kernel's symbols do not move */
	fd = openat(s->proc_fd, "maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return process_gone(errno) ? 0 : -errno;
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	err = read_maps(s, f, &v, &n);
	fclose(f);
	if (err)
		return err;
	/* A zombie or exiting process shows no mappings: keep what we had. */
	if (!n) {
		free(v);
		return 0;
	}
	install_maps(s, v, n);
	return 0;
}

/* ---- resolution ---- */

static const struct lw_map *map_find(const struct symbolizer *s, uint64_t pc)
{
	const struct lw_map *m = map_bsearch(s->maps, s->nmaps, pc);

	for (size_t i = s->nretired; !m && i-- > 0;)
		if (pc >= s->retired[i].start && pc < s->retired[i].end)
			m = &s->retired[i];
	return m;
}

/*
 * The segment holding a file offset gives its ELF address. With
 * page_start, the page-aligned start the loader maps from counts too.
 */
static const struct lw_seg *seg_of(const struct lw_bin *b, uint64_t off,
				   bool page_start)
{
	const struct lw_seg *best = NULL;

	for (size_t i = 0; i < b->nsegs; i++) {
		const struct lw_seg *g = &b->segs[i];
		uint64_t lo = page_start ? g->off & ~(g->align - 1) : g->off;

		if (off < lo || off >= g->off + g->filesz)
			continue;
		/* Without separate-code layouts, segments share file pages. */
		if (!best || (g->exec && !best->exec))
			best = g;
	}
	return best;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(
		dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(
			die, DW_AT_MIPS_linkage_name, &attr));
	return name ? name : dwarf_diename(die);
}

static void call_site(Dwarf_Die *inl, Dwarf_Files *files, struct lw_frame *f)
{
	Dwarf_Attribute attr;
	Dwarf_Word val;

	if (files &&
	    !dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr), &val))
		f->file = dwarf_filesrc(files, val, NULL, NULL);
	if (!dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &val))
		f->line = (int)val;
	if (f->line <= 0) {
		f->file = NULL;
		f->line = 0;
	}
}

static bool is_function(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_entry_point;
}

static bool has_inlined(Dwarf_Die *scopes, int n)
{
	for (int i = 0; i < n; i++)
		if (dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine)
			return true;
	return false;
}

static bool is_container(int tag)
{
	return tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
	       tag == DW_TAG_structure_type;
}

/*
 * dwarf_getscopes prunes every DIE without pc attributes, so it never
 * finds functions that clang nests in namespaces and classes; starting
 * the search at each of those containers gets below them.
 */
static int scopes_in_containers(Dwarf_Die *parent, Dwarf_Addr pc,
				Dwarf_Die **scopes, int depth)
{
	Dwarf_Die child;
	int n;

	if (depth > 8 || dwarf_child(parent, &child))
		return 0;
	do {
		if (!is_container(dwarf_tag(&child)))
			continue;
		n = dwarf_getscopes(&child, pc, scopes);
		if (n <= 0)
			n = scopes_in_containers(&child, pc, scopes, depth + 1);
		if (n > 0)
			return n;
	} while (!dwarf_siblingof(&child, &child));
	return 0;
}

/* With split DWARF the skeleton unit has no DIEs; the .dwo unit does. */
static Dwarf_Die *split_unit(Dwarf_Die *cu, Dwarf_Die *mem)
{
	uint8_t type;

	if (dwarf_cu_info(cu->cu, NULL, &type, NULL, mem, NULL, NULL, NULL) ||
	    type != DW_UT_skeleton || !mem->addr)
		return cu;
	return mem;
}

/*
 * The concrete DIE chain enclosing addr, innermost first. dwarf_getscopes
 * alone stops at the innermost inlined instance and continues with its
 * abstract origin, so the outer inline callers come from a second walk.
 */
static int scope_chain(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Die **scopes,
		       Dwarf_Files **files)
{
	Dwarf_Die *tmp = NULL, inner, split, *cu;
	Dwarf_Addr bias;
	int n;

	cu = dwfl_module_addrdie(mod, addr, &bias);
	if (!cu)
		return 0;
	cu = split_unit(cu, &split);
	n = dwarf_getscopes(cu, addr - bias, &tmp);
	if (n <= 0)
		n = scopes_in_containers(cu, addr - bias, &tmp, 0);
	if (n <= 0)
		return 0;
	if (dwarf_getsrcfiles(cu, files, NULL))
		*files = NULL;
	if (!has_inlined(tmp, n)) {
		*scopes = tmp;
		return n;
	}
	inner = tmp[0];
	free(tmp);
	return dwarf_getscopes_die(&inner, scopes);
}

/*
 * Frames from DWARF: each inlined instance, then the function it sits
 * in. A frame's line is where its callee was inlined (DW_AT_call_*); the
 * innermost frame's line comes from the line table. Past max-1 inlined
 * frames only the call site of the last one is kept, so the real
 * function always ends the chain.
 */
static int dwarf_frames(Dwfl_Module *mod, Dwarf_Addr addr, struct lw_frame *f,
			int max)
{
	Dwarf_Die *scopes = NULL, *callee = NULL;
	Dwarf_Files *files = NULL;
	int n = scope_chain(mod, addr, &scopes, &files);
	int k = 0;

	for (int i = 0; i < n; i++) {
		int tag = dwarf_tag(&scopes[i]);
		bool inl = tag == DW_TAG_inlined_subroutine;

		if (!is_function(tag))
			continue;
		if (inl && k == max - 1) {
			callee = &scopes[i];
			continue;
		}
		f[k].symbol = die_name(&scopes[i]);
		f[k].inlined = inl;
		if (callee)
			call_site(callee, files, &f[k]);
		k++;
		if (!inl)
			break;
		callee = &scopes[i];
	}
	free(scopes);
	return k;
}

static void line_info(Dwfl_Module *mod, Dwarf_Addr addr, struct lw_frame *f)
{
	Dwfl_Line *l = dwfl_module_getsrc(mod, addr);

	if (l)
		f->file = dwfl_lineinfo(l, NULL, &f->line, NULL, NULL, NULL);
	/* Line 0 marks compiler-generated code: no source to point at. */
	if (!f->file || f->line <= 0) {
		f->file = NULL;
		f->line = 0;
	}
}

static int resolve_elf(const struct lw_bin *b, uint64_t addr, bool ra,
		       struct lw_frame *f, int max)
{
	Dwarf_Addr look = ra ? addr - 1 : addr;
	const char *sym;
	int n;

	/* Go functions; anything else in the file (cgo) goes on below. */
	n = gopclntab_resolve(b->go, addr, ra, f, max);
	if (n > 0)
		return n;
	sym = sym_lookup(b, look);
	n = dwarf_frames(b->mod, look, f, max);
	/* No DWARF, or an inline chain without its function (broken DWARF). */
	if (!n || (sym && f[n - 1].inlined && n < max))
		n++;
	line_info(b->mod, look, &f[0]);
	/* ELF symbol tables name the real function (foo.cold, static foo). */
	if (sym)
		f[n - 1].symbol = sym;
	return n;
}

/*
 * lpc is the pc the mapping was looked up with (pc - 1 for return
 * addresses, so a call ending a mapping still finds its caller).
 */
static int resolve_uncached(const struct lw_map *m, uint64_t pc, bool ra,
			    struct lw_frame *f, int max)
{
	uint64_t lpc = ra ? pc - 1 : pc;
	const struct lw_seg *g;
	uint64_t addr;
	int n;

	memset(f, 0, max * sizeof(*f));
	f[0].pc = pc;
	f[0].offset = pc;
	if (!m)
		return 1;
	f[0].module = m->module;
	f[0].offset = pc - m->start + (m->special ? 0 : m->pgoff);
	if (!m->bin)
		return 1;
	g = seg_of(m->bin, lpc - m->start + m->pgoff, false);
	if (!g) {
		/* Page slack around a segment: no code, but still an offset. */
		g = seg_of(m->bin, m->pgoff, true);
		if (g)
			f[0].offset += g->vaddr - g->off;
		return 1;
	}
	addr = pc - m->start + m->pgoff - g->off + g->vaddr;
	n = resolve_elf(m->bin, addr, ra, f, max);
	for (int i = 0; i < n; i++) {
		f[i].pc = pc;
		f[i].module = m->module;
		f[i].offset = addr;
	}
	return n;
}

/*
 * C++ names as people write them, without the parameter list (as pprof
 * and flame graphs show them): "std::thread::_State_impl<...>::_M_run".
 */
static const char *demangle(struct symbolizer *s, const char *sym)
{
	const char *out;
	char *d;

	if (!sym || strncmp(sym, "_Z", 2))
		return sym;
	d = cplus_demangle(sym, DMGL_ANSI | DMGL_GNU_V3);
	if (!d)
		return sym;
	out = strset_intern(&s->strs, d);
	free(d);
	return out ? out : sym;
}

/* ---- pc cache ---- */

static size_t ent_slot(const struct symbolizer *s, uint64_t pc, bool ra)
{
	return lw_mix64(pc ^ (uint64_t)ra << 63) & (s->tab_cap - 1);
}

static struct lw_ent **cache_lookup(struct symbolizer *s, uint64_t pc, bool ra)
{
	size_t i = ent_slot(s, pc, ra);

	while (s->tab[i] && (s->tab[i]->pc != pc || s->tab[i]->ra != ra))
		i = (i + 1) & (s->tab_cap - 1);
	return &s->tab[i];
}

static int cache_grow(struct symbolizer *s)
{
	struct lw_ent **old = s->tab;
	size_t ncap = s->tab_cap ? s->tab_cap * 2 : 1024, ocap = s->tab_cap;

	s->tab = calloc(ncap, sizeof(*s->tab));
	if (!s->tab) {
		s->tab = old;
		return -ENOMEM;
	}
	s->tab_cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			*cache_lookup(s, old[i]->pc, old[i]->ra) = old[i];
	free(old);
	return 0;
}

/* A hit is stale once its pc belongs to another mapping than it did. */
static bool ent_valid(struct symbolizer *s, struct lw_ent *e,
		      const struct lw_map *m)
{
	if (e->gen == s->gen)
		return true;
	if (m ? !e->mapped || !map_equal(m, &e->map) : e->mapped)
		return false;
	e->gen = s->gen;
	return true;
}

static void cache_store(struct symbolizer *s, uint64_t pc, bool ra,
			const struct lw_map *m, const struct lw_frame *f, int n)
{
	struct lw_ent **slot, *e;

	if ((s->tab_used + 1) * 2 > s->tab_cap && cache_grow(s))
		return;
	e = malloc(sizeof(*e) + n * sizeof(e->f[0]));
	if (!e)
		return;
	*e = (struct lw_ent){ .pc = pc, .ra = ra, .gen = s->gen, .n = n };
	if (m) {
		e->mapped = true;
		e->map = *m;
	}
	memcpy(e->f, f, n * sizeof(*f));
	slot = cache_lookup(s, pc, ra);
	if (*slot)
		free(*slot);
	else
		s->tab_used++;
	*slot = e;
}

static int copy_frames(const struct lw_frame *f, int n, struct lw_frame *out,
		       int max)
{
	if (n <= max) {
		memcpy(out, f, n * sizeof(*f));
		return n;
	}
	memcpy(out, f, (max - 1) * sizeof(*f));
	out[max - 1] = f[n - 1];
	return max;
}

/* A kernel address: its function (and module) from kallsyms, no lines. */
static int resolve_kernel(struct symbolizer *s, uint64_t pc, bool return_addr,
			  struct lw_frame *out)
{
	const char *module = NULL;
	uint64_t off = 0;
	const char *sym = ksyms_lookup(s->ksyms, return_addr ? pc - 1 : pc,
				       &off, &module);

	memset(out, 0, sizeof(*out));
	out->pc = pc;
	out->symbol = sym;
	out->module = module ? module : "[kernel]";
	out->offset = return_addr ? off + 1 : off;
	if (!sym)
		s->unresolved++;
	return 1;
}

int symbolizer_resolve(struct symbolizer *s, uint64_t pc, bool return_addr,
		       struct lw_frame *out, int max)
{
	struct lw_frame f[LW_MAX_INLINE];
	const struct lw_map *m;
	struct lw_ent *e = NULL;
	int n;

	if (!out || max <= 0)
		return 0;
	if (!s)
		return resolve_uncached(NULL, pc, return_addr, out, 1);
	if (s->ksyms)
		return resolve_kernel(s, pc, return_addr, out);
	m = map_find(s, return_addr ? pc - 1 : pc);
	if (s->tab_cap)
		e = *cache_lookup(s, pc, return_addr);
	if (e && ent_valid(s, e, m))
		return copy_frames(e->f, e->n, out, max);
	n = resolve_uncached(m, pc, return_addr, f, LW_MAX_INLINE);
	/* a signal trampoline is returned into at its first byte, never
	 * called: the byte before it belongs to no function */
	if (!f[n - 1].symbol && return_addr && m)
		n = resolve_uncached(m, pc, false, f, LW_MAX_INLINE);
	if (!f[n - 1].symbol)
		s->unresolved++;
	for (int i = 0; i < n; i++)
		f[i].symbol = demangle(s, f[i].symbol);
	cache_store(s, pc, return_addr, m, f, n);
	return copy_frames(f, n, out, max);
}

unsigned long symbolizer_unresolved(const struct symbolizer *s)
{
	return s ? s->unresolved : 0;
}

bool symbolizer_mapping(struct symbolizer *s, uint64_t pc,
			struct lw_mapping *out)
{
	const struct lw_map *m = s && !s->ksyms ? map_find(s, pc) : NULL;
	GElf_Addr vaddr;
	int len = 0;

	if (!m)
		return false;
	*out = (struct lw_mapping){
		.start = m->start,
		.end = m->end,
		.pgoff = m->special ? 0 : m->pgoff,
		.module = m->module,
	};
	if (m->bin)
		len = dwfl_module_build_id(m->bin->mod, &out->build_id, &vaddr);
	out->build_id_len = len > 0 ? len : 0;
	if (len <= 0)
		out->build_id = NULL;
	return true;
}

void symbolizer_format(const struct lw_frame *f, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	if (!f)
		buf[0] = '\0';
	else if (f->symbol && f->file && f->line > 0)
		snprintf(buf, len, "%s (%s:%d)", f->symbol,
			 lw_base_name(f->file), f->line);
	else if (f->symbol && f->file)
		snprintf(buf, len, "%s (%s)", f->symbol, lw_base_name(f->file));
	else if (f->symbol)
		snprintf(buf, len, "%s", f->symbol);
	else if (f->module)
		snprintf(buf, len, "%s+0x%" PRIx64, f->module, f->offset);
	else
		snprintf(buf, len, "0x%" PRIx64, f->pc);
}

/* ---- lifetime ---- */

static bool same_root(pid_t pid)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	if (stat(path, &a) || stat("/", &b))
		return true;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The debug file of a build ID under dir/.build-id, opened by open_fn. */
static int open_build_id(Dwfl_Module *mod, int (*open_fn)(int, const char *),
			 int dirfd, const char *dir)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	char path[PATH_MAX];
	int n = dwfl_module_build_id(mod, &id, &vaddr);
	int at, i;

	if (n < 2)
		return -1;
	at = snprintf(path, sizeof(path), "%s/.build-id/%02x/", dir, id[0]);
	for (i = 1; i < n && at < (int)sizeof(path) - 8; i++)
		at += snprintf(path + at, sizeof(path) - at, "%02x", id[i]);
	snprintf(path + at, sizeof(path) - at, ".debug");
	return open_fn(dirfd, path);
}

/*
 * A container's debug files are looked up inside its root, every symlink
 * resolved there (an absolute one must not reach the host's files), as
 * Debian places them: by build ID, then by .gnu_debuglink beside the
 * binary, in its .debug/ and under /usr/lib/debug. The host's own
 * /usr/lib/debug is searched by build ID too: the same ID is the same
 * binary, and those files are root's.
 */
static int find_debuginfo_in_root(struct symbolizer *s, Dwfl_Module *mod,
				  const char *modname, const char *link)
{
	static const char *const fmts[] = { "%.*s/%s", "%.*s/.debug/%s",
					    "/usr/lib/debug%.*s/%s" };
	const char *slash = strrchr(modname, '/');
	int dirlen = slash ? (int)(slash - modname) : 0;
	char path[PATH_MAX];
	int fd;

	fd = open_build_id(mod, lw_open_in_root, s->root_fd, "/usr/lib/debug");
	if (fd >= 0)
		return fd;
	for (size_t i = 0; link && *link && i < sizeof(fmts) / sizeof(*fmts);
	     i++) {
		if (snprintf(path, sizeof(path), fmts[i], dirlen, modname,
			     link) >= (int)sizeof(path))
			continue;
		if (strcmp(path, modname) == 0)
			continue; /* a debuglink naming the binary itself */
		fd = lw_open_in_root(s->root_fd, path);
		if (fd >= 0)
			return fd;
	}
	return open_build_id(mod, lw_open_at, AT_FDCWD, "/usr/lib/debug");
}

static int find_debuginfo(Dwfl_Module *mod, void **userdata,
			  const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	/* the module's user data, set when it was reported */
	struct symbolizer *s = userdata ? *userdata : NULL;

	if (!s || !s->other_root)
		return dwfl_standard_find_debuginfo(
			mod, userdata, modname, base, file_name, debuglink_file,
			debuglink_crc, debuginfo_file_name);
	*debuginfo_file_name = NULL;
	return find_debuginfo_in_root(s, mod, modname, debuglink_file);
}

static int init_callbacks(struct symbolizer *s)
{
	s->other_root = !same_root(s->pid);
	s->cb.find_elf = dwfl_build_id_find_elf;
	s->cb.find_debuginfo = find_debuginfo;
	s->cb.section_address = dwfl_offline_section_address;
	return 0;
}

struct symbolizer *symbolizer_new(pid_t pid)
{
	struct symbolizer *s;
	char path[64];
	int err;

	if (pid <= 0) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->pid = pid;
	s->root_fd = -1;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	s->proc_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd >= 0)
		s->root_fd = openat(s->proc_fd, "root",
				    O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd < 0 || s->root_fd < 0) {
		err = process_gone(errno) ? ESRCH : errno;
		goto fail;
	}
	err = -init_callbacks(s);
	if (!err)
		err = -symbolizer_refresh(s);
	if (!err && !s->nmaps)
		err = ESRCH;
	if (!err)
		return s;
fail:
	symbolizer_free(s);
	errno = err;
	return NULL;
}

struct symbolizer *symbolizer_new_kernel(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->proc_fd = -1;
	s->root_fd = -1;
	s->ksyms = ksyms_load();
	if (!s->ksyms) {
		free(s);
		return NULL;
	}
	return s;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	ksyms_free(s->ksyms);
	for (size_t i = 0; i < s->tab_cap; i++)
		free(s->tab[i]);
	free(s->tab);
	while (s->bins) {
		struct lw_bin *b = s->bins;

		s->bins = b->next;
		bin_free(b);
	}
	free(s->maps);
	free(s->retired);
	strset_free(&s->strs);
	if (s->root_fd >= 0)
		close(s->root_fd);
	if (s->proc_fd >= 0)
		close(s->proc_fd);
	free(s);
}
