// SPDX-License-Identifier: GPL-2.0
/*
 * Go pclntab decoder.
 *
 * Layout (runtime/symtab.go, runtime2.go, symtabinl.go of each release):
 * a header (magic, instruction quantum, pointer size, function count,
 * textStart from 1.18, then offsets of funcnametab, cutab, filetab,
 * pctab and pclntable), a functab of (entry, _func offset) pairs sorted
 * by entry and ended by the end of the last function, and one _func
 * record per function whose pc-value tables give file and line per pc.
 *
 * Inlined frames: the InlTree funcdata of the physical function is an
 * array of inlinedCall records in go:func.*, indexed by the function's
 * InlTreeIndex pcdata; each record names the inlined callee and the pc
 * (parentPc) whose file:line is the call site. go:func.* is found
 * through runtime.firstmoduledata, which points at the pclntab header;
 * that works on stripped binaries, where no symbol names it.
 *
 * Everything read from the file is bounds-checked: the tables are
 * copied into memory with a NUL appended, so a string that starts
 * inside a copy always ends inside it.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safeopen.h"
#include "gopclntab.h"

#define GO_MAGIC_116 0xfffffffaU
#define GO_MAGIC_118 0xfffffff0U
#define GO_MAGIC_120 0xfffffff1U

#define PCDATA_INL_TREE_INDEX 2
#define FUNCDATA_INL_TREE     3

/* Inline chains deeper than this are garbage (or a loop in it). */
#define GO_MAX_INLINE_DEPTH 256
/* Pointers to the pclntab tried as runtime.firstmoduledata's (md_find). */
#define GO_MAX_MD_CANDIDATES 16
/* No section we copy is this large in a sane binary. */
#define GO_MAX_COPY (1ULL << 30)
/* Offsets in runtime.moduledata (amd64/arm64, 8-byte pointers). */
#define MD_TEXT	      176
#define MD_GOFUNC_118 304
#define MD_GOFUNC_120 320 /* 1.20 added covctrs, ecovctrs */

enum go_ver {
	GO116 = 116,
	GO118 = 118,
	GO120 = 120
};

struct gopclntab {
	uint8_t *tab; /* .gopclntab */
	uint64_t len;
	uint8_t *fdata; /* go:func.* up to its section's end; NULL if unknown */
	uint64_t fdata_len;
	enum go_ver ver;
	uint32_t quantum;
	uint64_t nfunc;
	uint64_t text_start;
	uint64_t funcname, cutab, filetab, pctab, pcln; /* offsets in tab */
	uint64_t ftab_ent;				/* functab entry size */
};

/* A function: its entry and where its _func record lies in tab. */
struct go_func {
	uint64_t entry;
	uint64_t next; /* entry of the next function (bound of this one) */
	uint64_t off;
};

struct elf_file {
	int fd;
	uint64_t size;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh;
	uint16_t nsh;
	char *shstr;
	uint64_t shstr_len;
	Elf64_Rela *rela; /* dynamic relocations (PIE) */
	uint64_t nrela;
};

/* ---- bounded reads ---- */

static bool rd8(const uint8_t *p, uint64_t len, uint64_t off, uint8_t *v)
{
	if (off >= len)
		return false;
	*v = p[off];
	return true;
}

static bool rd32(const uint8_t *p, uint64_t len, uint64_t off, uint32_t *v)
{
	if (off > len || len - off < 4)
		return false;
	memcpy(v, p + off, 4);
	return true;
}

static bool rd64(const uint8_t *p, uint64_t len, uint64_t off, uint64_t *v)
{
	if (off > len || len - off < 8)
		return false;
	memcpy(v, p + off, 8);
	return true;
}

static bool tab32(const struct gopclntab *t, uint64_t off, uint32_t *v)
{
	return rd32(t->tab, t->len, off, v);
}

/* A NUL-terminated string at base+off of tab (the copy ends in NUL). */
static const char *tab_str(const struct gopclntab *t, uint64_t base,
			   int64_t off)
{
	if (off < 0 || base >= t->len || (uint64_t)off >= t->len - base)
		return NULL;
	return (const char *)t->tab + base + off;
}

/* ---- ELF ---- */

/* len bytes at file offset off into a new buffer with a NUL after them. */
static uint8_t *read_at(const struct elf_file *ef, uint64_t off, uint64_t len)
{
	uint8_t *buf;
	uint64_t done = 0;

	if (off > ef->size || len > ef->size - off || len > GO_MAX_COPY)
		return NULL;
	buf = malloc(len + 1);
	if (!buf)
		return NULL;
	while (done < len) {
		ssize_t r = pread(ef->fd, buf + done, len - done, off + done);

		if (r <= 0) {
			free(buf);
			return NULL;
		}
		done += r;
	}
	buf[len] = '\0';
	return buf;
}

static int elf_load(struct elf_file *ef)
{
	uint64_t shsz;
	struct stat st;

	if (fstat(ef->fd, &st))
		return -errno;
	ef->size = st.st_size;
	if (pread(ef->fd, &ef->eh, sizeof(ef->eh), 0) != sizeof(ef->eh) ||
	    memcmp(ef->eh.e_ident, ELFMAG, SELFMAG) ||
	    ef->eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    ef->eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    ef->eh.e_shentsize != sizeof(Elf64_Shdr) || !ef->eh.e_shnum ||
	    ef->eh.e_shstrndx >= ef->eh.e_shnum)
		return -ENOEXEC;
	ef->nsh = ef->eh.e_shnum;
	shsz = (uint64_t)ef->nsh * sizeof(Elf64_Shdr);
	ef->sh = (Elf64_Shdr *)read_at(ef, ef->eh.e_shoff, shsz);
	if (!ef->sh)
		return -ENOEXEC;
	ef->shstr_len = ef->sh[ef->eh.e_shstrndx].sh_size;
	ef->shstr = (char *)read_at(ef, ef->sh[ef->eh.e_shstrndx].sh_offset,
				    ef->shstr_len);
	return ef->shstr ? 0 : -ENOEXEC;
}

static void elf_unload(struct elf_file *ef)
{
	free(ef->sh);
	free(ef->shstr);
	free(ef->rela);
}

static const Elf64_Shdr *elf_section(const struct elf_file *ef,
				     const char *name)
{
	for (uint16_t i = 0; i < ef->nsh; i++) {
		const Elf64_Shdr *s = &ef->sh[i];

		if (s->sh_name < ef->shstr_len &&
		    !strcmp(ef->shstr + s->sh_name, name))
			return s;
	}
	return NULL;
}

/* The loaded section with file contents that holds vaddr. */
static const Elf64_Shdr *section_at(const struct elf_file *ef, uint64_t vaddr)
{
	for (uint16_t i = 0; i < ef->nsh; i++) {
		const Elf64_Shdr *s = &ef->sh[i];

		if ((s->sh_flags & SHF_ALLOC) && s->sh_type != SHT_NOBITS &&
		    vaddr >= s->sh_addr && vaddr - s->sh_addr < s->sh_size)
			return s;
	}
	return NULL;
}

/*
 * Pointers in PIE data are zero in the file and set by R_*_RELATIVE
 * relocations at load: their addend is the link-time value.
 */
static void load_relocs(struct elf_file *ef)
{
	const Elf64_Shdr *best = NULL;

	/* Go names it .rela (internal linking) or .rela.dyn (external). */
	for (uint16_t i = 0; i < ef->nsh; i++) {
		const Elf64_Shdr *s = &ef->sh[i];

		if (s->sh_type == SHT_RELA && (s->sh_flags & SHF_ALLOC) &&
		    s->sh_entsize == sizeof(Elf64_Rela) &&
		    (!best || s->sh_size > best->sh_size))
			best = s;
	}
	if (!best)
		return;
	ef->rela = (Elf64_Rela *)read_at(ef, best->sh_offset, best->sh_size);
	if (ef->rela)
		ef->nrela = best->sh_size / sizeof(Elf64_Rela);
}

static bool is_relative(const Elf64_Rela *r)
{
	uint32_t type = ELF64_R_TYPE(r->r_info);

	return type == R_X86_64_RELATIVE || type == R_AARCH64_RELATIVE;
}

static bool reloc_at(const struct elf_file *ef, uint64_t vaddr, uint64_t *v)
{
	for (uint64_t i = 0; i < ef->nrela; i++)
		if (ef->rela[i].r_offset == vaddr &&
		    is_relative(&ef->rela[i])) {
			*v = ef->rela[i].r_addend;
			return true;
		}
	return false;
}

/* The link-time value of the pointer stored at vaddr. */
static bool read_ptr(const struct elf_file *ef, uint64_t vaddr, uint64_t *v)
{
	const Elf64_Shdr *s = section_at(ef, vaddr);
	uint64_t off;

	if (reloc_at(ef, vaddr, v))
		return true;
	if (!s || s->sh_size - (vaddr - s->sh_addr) < 8)
		return false;
	off = s->sh_offset + (vaddr - s->sh_addr);
	if (off > ef->size || ef->size - off < 8)
		return false;
	return pread(ef->fd, v, 8, off) == 8;
}

/* ---- header ---- */

static int parse_magic(struct gopclntab *t)
{
	uint32_t magic;

	if (!tab32(t, 0, &magic) || t->len < 72)
		return -EINVAL;
	switch (magic) {
	case GO_MAGIC_116:
		t->ver = GO116;
		break;
	case GO_MAGIC_118:
		t->ver = GO118;
		break;
	case GO_MAGIC_120:
		t->ver = GO120;
		break;
	default:
		return -ENOTSUP;
	}
	/* pad1, pad2 zero; pointer size 8 (the only one we read). */
	if (t->tab[4] || t->tab[5] || t->tab[7] != 8)
		return -ENOTSUP;
	t->quantum = t->tab[6];
	return t->quantum == 1 || t->quantum == 2 || t->quantum == 4 ? 0
								     : -ENOTSUP;
}

static bool offset_ok(const struct gopclntab *t, uint64_t off)
{
	return off && off < t->len;
}

static int parse_header(struct gopclntab *t, const struct elf_file *ef,
			uint64_t tab_addr)
{
	uint64_t *offs[] = { &t->funcname, &t->cutab, &t->filetab, &t->pctab,
			     &t->pcln };
	uint64_t base = t->ver == GO116 ? 24 : 32;
	int err = parse_magic(t);

	if (err)
		return err;
	rd64(t->tab, t->len, 8, &t->nfunc);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		rd64(t->tab, t->len, base + 8 * i, offs[i]);
		if (!offset_ok(t, *offs[i]))
			return -EINVAL;
	}
	t->ftab_ent = t->ver == GO116 ? 16 : 8;
	if (!t->nfunc || t->nfunc >= (t->len - t->pcln) / t->ftab_ent)
		return -EINVAL;
	/* textStart is a pointer: relocated in PIE, so read it as one. */
	if (t->ver != GO116 && !read_ptr(ef, tab_addr + 24, &t->text_start))
		return -EINVAL;
	return 0;
}

/* ---- go:func.* ---- */

static bool md_match(const uint8_t *p, uint64_t len, uint64_t off,
		     uint64_t tab_addr, uint64_t names)
{
	uint64_t a, b;

	return rd64(p, len, off, &a) && a == tab_addr &&
	       rd64(p, len, off + 8, &b) && b == names;
}

/* moduledata starts with pcHeader and the funcnametab slice's pointer. */
static bool md_scan_section(const struct elf_file *ef, const Elf64_Shdr *s,
			    uint64_t tab_addr, uint64_t names, uint64_t *md)
{
	uint8_t *buf;
	bool found = false;

	if (s->sh_type != SHT_PROGBITS || (s->sh_flags & SHF_EXECINSTR) ||
	    !(s->sh_flags & SHF_ALLOC))
		return false;
	buf = read_at(ef, s->sh_offset, s->sh_size);
	if (!buf)
		return false;
	for (uint64_t off = 0; off + 16 <= s->sh_size && !found; off += 8) {
		if (md_match(buf, s->sh_size, off, tab_addr, names)) {
			*md = s->sh_addr + off;
			found = true;
		}
	}
	free(buf);
	return found;
}

static bool md_find(const struct elf_file *ef, uint64_t tab_addr,
		    uint64_t names, uint64_t *md)
{
	static const char *const where[] = { ".noptrdata", ".data",
					     ".data.rel.ro" };
	uint64_t v;

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		const Elf64_Shdr *s = elf_section(ef, where[i]);

		if (s && md_scan_section(ef, s, tab_addr, names, md))
			return true;
	}
	/*
	 * Each candidate costs a pass over the relocations: a real binary
	 * has one pointer to its pclntab (moduledata's), a hostile one may
	 * have millions; a few candidates are enough (GO_MAX_MD_CANDIDATES).
	 */
	for (uint64_t i = 0, tries = 0;
	     i < ef->nrela && tries < GO_MAX_MD_CANDIDATES; i++) {
		const Elf64_Rela *r = &ef->rela[i];

		if (!is_relative(r) || (uint64_t)r->r_addend != tab_addr)
			continue;
		tries++;
		if (reloc_at(ef, r->r_offset + 8, &v) && v == names) {
			*md = r->r_offset;
			return true;
		}
	}
	return false;
}

/*
 * Copy go:func.* (from runtime.firstmoduledata.gofunc to the end of its
 * section): FUNCDATA offsets are relative to it since Go 1.18. Without
 * it only the inlined frames are lost, so failures are not errors.
 */
/*
 * gofunc follows rodata in moduledata, and go:func.* lies in the
 * read-only data that rodata starts: a layout we do not know (a newer
 * Go) fails these checks instead of yielding garbage inline frames.
 */
static bool md_gofunc(const struct gopclntab *t, const struct elf_file *ef,
		      uint64_t md, uint64_t *gofunc)
{
	uint64_t off = t->ver == GO118 ? MD_GOFUNC_118 : MD_GOFUNC_120;
	uint64_t text, rodata;

	return read_ptr(ef, md + MD_TEXT, &text) && text == t->text_start &&
	       read_ptr(ef, md + off - 8, &rodata) &&
	       read_ptr(ef, md + off, gofunc) && rodata <= *gofunc &&
	       section_at(ef, rodata) &&
	       section_at(ef, rodata) == section_at(ef, *gofunc);
}

static void load_gofunc(struct gopclntab *t, const struct elf_file *ef,
			uint64_t tab_addr)
{
	uint64_t md, gofunc;
	const Elf64_Shdr *s;

	if (t->ver == GO116 ||
	    !md_find(ef, tab_addr, tab_addr + t->funcname, &md) ||
	    !md_gofunc(t, ef, md, &gofunc))
		return;
	s = section_at(ef, gofunc);
	t->fdata_len = s->sh_size - (gofunc - s->sh_addr);
	t->fdata =
		read_at(ef, s->sh_offset + (gofunc - s->sh_addr), t->fdata_len);
	if (!t->fdata)
		t->fdata_len = 0;
}

/* ---- open / close ---- */

static int load_table(struct gopclntab *t, struct elf_file *ef)
{
	const Elf64_Shdr *s;
	int err = elf_load(ef);

	if (err)
		return err;
	s = elf_section(ef, ".gopclntab");
	/* PIE puts it into RELRO, under a prefixed name. */
	if (!s)
		s = elf_section(ef, ".data.rel.ro.gopclntab");
	if (!s || s->sh_type == SHT_NOBITS)
		return -ENOENT;
	t->len = s->sh_size;
	t->tab = read_at(ef, s->sh_offset, s->sh_size);
	if (!t->tab)
		return -EINVAL;
	if (ef->eh.e_type == ET_DYN)
		load_relocs(ef);
	err = parse_header(t, ef, s->sh_addr);
	if (!err)
		load_gofunc(t, ef, s->sh_addr);
	return err;
}

struct gopclntab *gopclntab_open_fd(int fd)
{
	struct elf_file ef = { .fd = fd };
	struct gopclntab *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return NULL;
	err = load_table(t, &ef);
	elf_unload(&ef);
	if (err) {
		gopclntab_close(t);
		errno = -err;
		return NULL;
	}
	return t;
}

struct gopclntab *gopclntab_open(const char *path)
{
	struct gopclntab *t;
	int fd, err;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	fd = lw_open_file(path);
	if (fd < 0)
		return NULL;
	t = gopclntab_open_fd(fd);
	err = errno;
	close(fd);
	errno = err;
	return t;
}

void gopclntab_close(struct gopclntab *t)
{
	if (!t)
		return;
	free(t->tab);
	free(t->fdata);
	free(t);
}

bool gopclntab_has_inline(const struct gopclntab *t)
{
	return t && t->fdata;
}

/* ---- functions ---- */

static bool ftab_entry(const struct gopclntab *t, uint64_t i, uint64_t *entry,
		       uint64_t *funcoff)
{
	uint64_t off = t->pcln + i * t->ftab_ent;
	uint32_t e, f;

	if (t->ver == GO116)
		return rd64(t->tab, t->len, off, entry) &&
		       rd64(t->tab, t->len, off + 8, funcoff);
	if (!tab32(t, off, &e) || !tab32(t, off + 4, &f))
		return false;
	*entry = t->text_start + e;
	*funcoff = f;
	return true;
}

static bool func_at(const struct gopclntab *t, uint64_t i, struct go_func *f)
{
	uint64_t funcoff, unused;

	if (i >= t->nfunc || !ftab_entry(t, i, &f->entry, &funcoff) ||
	    !ftab_entry(t, i + 1, &f->next, &unused) || f->next < f->entry ||
	    funcoff >= t->len - t->pcln)
		return false;
	f->off = t->pcln + funcoff;
	return true;
}

/* The last function whose entry is <= pc, if pc is before the text end. */
static bool func_find(const struct gopclntab *t, uint64_t pc, struct go_func *f)
{
	uint64_t lo = 0, hi = t->nfunc, entry, unused;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (!ftab_entry(t, mid, &entry, &unused))
			return false;
		if (entry <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && func_at(t, lo - 1, f) && pc >= f->entry && pc < f->next;
}

/* _func fields: nameOff follows entry (a pointer before 1.18). */
static uint64_t fn_base(const struct gopclntab *t, const struct go_func *f)
{
	return f->off + (t->ver == GO116 ? 8 : 4);
}

static bool fn_u32(const struct gopclntab *t, const struct go_func *f,
		   uint64_t field, uint32_t *v)
{
	return tab32(t, fn_base(t, f) + field, v);
}

#define FN_NAME	   0
#define FN_PCSP	   12
#define FN_PCFILE  16
#define FN_PCLN	   20
#define FN_NPCDATA 24
#define FN_CUOFF   28

/* funcID; 1.20 put startLine before it. nfuncdata and pcdata follow. */
static uint64_t fn_tail(const struct gopclntab *t, const struct go_func *f)
{
	return fn_base(t, f) + 32 + (t->ver == GO120 ? 4 : 0);
}

static const char *fn_name(const struct gopclntab *t, const struct go_func *f)
{
	uint32_t off;

	if (!fn_u32(t, f, FN_NAME, &off))
		return NULL;
	return tab_str(t, t->funcname, (int32_t)off);
}

/* ---- pc-value tables ---- */

struct pcv_iter {
	uint64_t pos;
	uint64_t pc;
	int32_t val;
	bool first;
};

static bool uvarint(const struct gopclntab *t, uint64_t *pos, uint32_t *v)
{
	uint32_t r = 0;
	uint8_t b;

	for (unsigned int shift = 0; shift < 35; shift += 7) {
		if (!rd8(t->tab, t->len, (*pos)++, &b))
			return false;
		r |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

/*
 * One (value delta, pc delta) pair: the value is a zig-zag varint, the
 * pc advances by a uvarint times the instruction quantum. A zero value
 * byte after the first pair ends the table.
 */
static bool pcv_next(const struct gopclntab *t, struct pcv_iter *it)
{
	uint32_t uv, pcd;
	uint8_t b;

	if (!rd8(t->tab, t->len, it->pos, &b) || (!b && !it->first))
		return false;
	if (!uvarint(t, &it->pos, &uv) || !uvarint(t, &it->pos, &pcd))
		return false;
	it->val += (int32_t)((uv >> 1) ^ -(uv & 1));
	it->pc += (uint64_t)pcd * t->quantum;
	it->first = false;
	return true;
}

static void pcv_init(const struct gopclntab *t, const struct go_func *f,
		     uint32_t off, struct pcv_iter *it)
{
	*it = (struct pcv_iter){
		.pos = t->pctab + off,
		.pc = f->entry,
		.val = -1,
		.first = true,
	};
}

/* The value of table off (in pctab) at pc; false when it has none. */
static bool pcvalue(const struct gopclntab *t, const struct go_func *f,
		    uint32_t off, uint64_t pc, int32_t *val)
{
	struct pcv_iter it;

	if (!off)
		return false;
	pcv_init(t, f, off, &it);
	while (pcv_next(t, &it)) {
		if (pc < it.pc) {
			*val = it.val;
			return true;
		}
	}
	return false;
}

static bool fn_table(const struct gopclntab *t, const struct go_func *f,
		     uint64_t field, uint64_t pc, int32_t *val)
{
	uint32_t off;

	return fn_u32(t, f, field, &off) && pcvalue(t, f, off, pc, val);
}

static bool pcdata(const struct gopclntab *t, const struct go_func *f,
		   uint32_t table, uint64_t pc, int32_t *val)
{
	uint32_t npcdata, off;

	if (!fn_u32(t, f, FN_NPCDATA, &npcdata) || table >= npcdata ||
	    !tab32(t, fn_tail(t, f) + 4 + 4 * table, &off))
		return false;
	return pcvalue(t, f, off, pc, val);
}

/*
 * The exact end of the code: the pc-value tables cover the function and
 * nothing else, unlike the next entry, which comes after the padding.
 */
static uint64_t fn_end(const struct gopclntab *t, const struct go_func *f)
{
	struct pcv_iter it;
	uint32_t off;

	if (!fn_u32(t, f, FN_PCSP, &off) || !off)
		return f->next;
	pcv_init(t, f, off, &it);
	while (pcv_next(t, &it))
		;
	return it.pc > f->entry && it.pc <= f->next ? it.pc : f->next;
}

/* ---- frames ---- */

static const char *file_at(const struct gopclntab *t, const struct go_func *f,
			   uint64_t pc)
{
	uint32_t cu, fileoff;
	int32_t fileno;

	if (!fn_table(t, f, FN_PCFILE, pc, &fileno) || fileno < 0 ||
	    !fn_u32(t, f, FN_CUOFF, &cu) ||
	    !tab32(t, t->cutab + 4 * ((uint64_t)cu + (uint32_t)fileno),
		   &fileoff) ||
	    fileoff == UINT32_MAX)
		return NULL;
	return tab_str(t, t->filetab, fileoff);
}

static void line_at(const struct gopclntab *t, const struct go_func *f,
		    uint64_t pc, struct lw_frame *fr)
{
	int32_t line;

	fr->file = file_at(t, f, pc);
	fr->line = fn_table(t, f, FN_PCLN, pc, &line) && line > 0 ? line : 0;
	if (!fr->file)
		fr->line = 0;
}

/* The InlTree funcdata: an offset into go:func.*. */
static bool inl_tree(const struct gopclntab *t, const struct go_func *f,
		     uint64_t *tree)
{
	uint32_t npcdata, off;
	uint8_t nfuncdata;

	if (!t->fdata || !fn_u32(t, f, FN_NPCDATA, &npcdata) ||
	    !rd8(t->tab, t->len, fn_tail(t, f) + 3, &nfuncdata) ||
	    nfuncdata <= FUNCDATA_INL_TREE ||
	    !tab32(t,
		   fn_tail(t, f) + 4 +
			   4 * ((uint64_t)npcdata + FUNCDATA_INL_TREE),
		   &off) ||
	    off == UINT32_MAX || off >= t->fdata_len)
		return false;
	*tree = off;
	return true;
}

/*
 * inlinedCall: 1.18-1.19 {parent i16, funcID u8, _, file, line, func_,
 * parentPc} (20 bytes); 1.20+ {funcID u8, _[3], nameOff, parentPc,
 * startLine} (16 bytes).
 */
static bool inl_call(const struct gopclntab *t, uint64_t tree, int32_t ix,
		     const char **name, int32_t *parent_pc)
{
	uint64_t size = t->ver == GO118 ? 20 : 16;
	uint64_t rec = tree + (uint64_t)ix * size;
	uint32_t name_off, ppc;
	bool ok;

	if (ix < 0)
		return false;
	if (t->ver == GO118)
		ok = rd32(t->fdata, t->fdata_len, rec + 12, &name_off) &&
		     rd32(t->fdata, t->fdata_len, rec + 16, &ppc);
	else
		ok = rd32(t->fdata, t->fdata_len, rec + 4, &name_off) &&
		     rd32(t->fdata, t->fdata_len, rec + 8, &ppc);
	if (!ok)
		return false;
	*name = tab_str(t, t->funcname, (int32_t)name_off);
	*parent_pc = (int32_t)ppc;
	return true;
}

/*
 * Inlined frames at pc, innermost first, up to max of them. *pc becomes
 * the pc whose file:line is the physical function's: the call site of
 * the outermost inlined call (found even past max).
 */
static int inline_frames(const struct gopclntab *t, const struct go_func *f,
			 uint64_t *pc, struct lw_frame *out, int max)
{
	const char *name;
	int32_t ix, ppc;
	uint64_t tree;
	int n = 0;

	if (!inl_tree(t, f, &tree))
		return 0;
	for (int depth = 0; depth < GO_MAX_INLINE_DEPTH; depth++) {
		if (!pcdata(t, f, PCDATA_INL_TREE_INDEX, *pc, &ix) ||
		    !inl_call(t, tree, ix, &name, &ppc) || ppc < 0)
			break;
		if (n < max) {
			out[n].symbol = name;
			out[n].inlined = true;
			line_at(t, f, *pc, &out[n]);
			n++;
		}
		*pc = f->entry + (uint32_t)ppc;
	}
	return n;
}

int gopclntab_resolve(struct gopclntab *t, uint64_t pc, bool return_addr,
		      struct lw_frame *out, int max)
{
	uint64_t look = return_addr ? pc - 1 : pc;
	struct go_func f;
	int n;

	if (!t || !out || max <= 0 || !func_find(t, look, &f))
		return 0;
	n = inline_frames(t, &f, &look, out, max - 1);
	out[n].symbol = fn_name(t, &f);
	out[n].inlined = false;
	line_at(t, &f, look, &out[n]);
	return n + 1;
}

bool gopclntab_func(struct gopclntab *t, const char *name, uint64_t *entry,
		    uint64_t *end)
{
	struct go_func f;

	if (!t || !name)
		return false;
	for (uint64_t i = 0; i < t->nfunc; i++) {
		const char *fname;

		if (!func_at(t, i, &f))
			continue;
		fname = fn_name(t, &f);
		if (!fname || strcmp(fname, name))
			continue;
		if (entry)
			*entry = f.entry;
		if (end)
			*end = fn_end(t, &f);
		return true;
	}
	return false;
}
