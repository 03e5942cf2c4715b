// SPDX-License-Identifier: GPL-2.0
/*
 * Where a Go (amd64) executable keeps its heap's books: struct offsets
 * from DWARF or a table of checked versions, variable addresses from
 * .symtab or, in stripped binaries, from the runtime code that uses them.
 * See goheap_layout.h for the contract and the notes
 * (shared/notes/go-heap-checked.md) for the facts per version.
 */
#define _GNU_SOURCE
#include <Zydis/Zydis.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>

#include "elfsym.h"
#include "godwarf.h"
#include "goheap_layout.h"
#include "gopclntab.h"

#define MAX_FUNC_BYTES (64 << 10)

/* What the header does not keep: where in their structs two totals are. */
struct heap_extra {
	uint32_t numgc;	      /* runtime.mstats.numgc */
	uint32_t heap_marked; /* runtime.gcControllerState.heapMarked */
};

/* ---- offsets from DWARF ---- */

enum {
	T_BUCKET,
	T_MSPAN,
	T_MHEAP,
	T_ARENA,
	T_MSTATS,
	T_GCC,
	T_COUNT,
};

static const char *const type_names[T_COUNT] = {
	"runtime.bucket",    "runtime.mspan",  "runtime.mheap",
	"runtime.heapArena", "runtime.mstats", "runtime.gcControllerState",
};

/* A member that must be size bytes wide: catches a changed type. */
static bool member_sized(Dwarf_Die *st, const char *name, uint32_t *off,
			 uint32_t size)
{
	uint32_t s;

	return godwarf_member(st, name, off, &s, NULL) && s == size;
}

static bool bucket_from_die(Dwarf_Die *b, struct go_heap_layout *l)
{
	return godwarf_size(b, &l->bucket_hdr) &&
	       member_sized(b, "allnext", &l->bk_allnext, 8) &&
	       member_sized(b, "size", &l->bk_size, 8) &&
	       member_sized(b, "nstk", &l->bk_nstk, 8);
}

/*
 * mspan.state is an mSpanStateBox {s}: s is the uint8 itself up to 1.19,
 * an atomic.Uint8 {noCopy; value uint8} since 1.20.
 */
static bool state_from_die(Dwarf_Die *sp, uint32_t *state)
{
	Dwarf_Die box, s;
	uint32_t off, soff, voff, size;

	if (!godwarf_member(sp, "state", &off, NULL, &box) ||
	    !godwarf_member(&box, "s", &soff, &size, &s) || size != 1)
		return false;
	*state = off + soff;
	if (dwarf_tag(&s) != DW_TAG_structure_type)
		return true;
	if (!member_sized(&s, "value", &voff, 1))
		return false;
	*state += voff;
	return true;
}

static bool mspan_from_die(Dwarf_Die *sp, struct go_heap_layout *l)
{
	return godwarf_size(sp, &l->span_size) &&
	       member_sized(sp, "startAddr", &l->sp_startaddr, 8) &&
	       member_sized(sp, "npages", &l->sp_npages, 8) &&
	       godwarf_member(sp, "nelems", &l->sp_nelems, &l->sp_nelems_size,
			      NULL) &&
	       member_sized(sp, "elemsize", &l->sp_elemsize, 8) &&
	       godwarf_member(sp, "freeindex", &l->sp_freeindex,
			      &l->sp_freeindex_size, NULL) &&
	       member_sized(sp, "allocCache", &l->sp_alloccache, 8) &&
	       member_sized(sp, "allocBits", &l->sp_allocbits, 8) &&
	       member_sized(sp, "gcmarkBits", &l->sp_gcmarkbits, 8) &&
	       member_sized(sp, "allocCount", &l->sp_alloccount, 2) &&
	       member_sized(sp, "spanclass", &l->sp_spanclass, 1) &&
	       member_sized(sp, "sweepgen", &l->sp_sweepgen, 4) &&
	       state_from_die(sp, &l->sp_state);
}

static bool heap_from_die(Dwarf_Die *t, struct go_heap_layout *l,
			  struct heap_extra *x)
{
	return member_sized(&t[T_MHEAP], "sweepgen", &l->mh_sweepgen, 4) &&
	       member_sized(&t[T_MHEAP], "allspans", &l->mh_allspans, 24) &&
	       member_sized(&t[T_MHEAP], "arenas", &l->mh_arenas, 8) &&
	       godwarf_member(&t[T_ARENA], "spans", &l->ha_spans, NULL, NULL) &&
	       member_sized(&t[T_MSTATS], "numgc", &x->numgc, 4) &&
	       member_sized(&t[T_GCC], "heapMarked", &x->heap_marked, 8);
}

/* Go's linker emits its types as top-level DIEs of some CU. */
static void find_types(Dwarf_Die *cu, Dwarf_Die *t, unsigned int *found)
{
	Dwarf_Die d;
	const char *name;
	int i;

	if (dwarf_child(cu, &d))
		return;
	do {
		if (dwarf_tag(&d) != DW_TAG_structure_type)
			continue;
		name = dwarf_diename(&d);
		for (i = 0; name && i < T_COUNT; i++) {
			if (!(*found & (1u << i)) &&
			    !strcmp(name, type_names[i])) {
				t[i] = d;
				*found |= 1u << i;
			}
		}
	} while (*found != (1u << T_COUNT) - 1 && dwarf_siblingof(&d, &d) == 0);
}

static bool from_dwarf(Elf *elf, struct go_heap_layout *l, struct heap_extra *x)
{
	Dwarf *dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	Dwarf_Die t[T_COUNT], cu;
	Dwarf_Off off = 0, next;
	unsigned int found = 0;
	size_t hsize;
	bool ok;

	if (!dw)
		return false;
	while (found != (1u << T_COUNT) - 1 &&
	       dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(dw, off + hsize, &cu))
			find_types(&cu, t, &found);
		off = next;
	}
	ok = found == (1u << T_COUNT) - 1 && bucket_from_die(&t[T_BUCKET], l) &&
	     mspan_from_die(&t[T_MSPAN], l) && heap_from_die(t, l, x);
	dwarf_end(dw);
	return ok;
}

/* ---- offsets from the table, for binaries without DWARF ---- */

struct heap_row {
	int minor_lo, minor_hi; /* Go 1.minor_lo .. 1.minor_hi */
	struct go_heap_layout l;
	struct heap_extra x;
};

/*
 * Each row checked against the DWARF of real binaries by the unit test
 * (tests/unit/test_goheap_layout.c): 1.19.8, 1.21.13, 1.22.12, 1.23.5.
 * Go 1.20 is missing: no 1.20 toolchain or pristine source was at hand,
 * and its mheap (the size of mheap.pages) cannot be derived from its
 * neighbours, so a stripped 1.20 binary gets -ENOTSUP, not a guess.
 * runtime.bucket is {next, allnext, typ, hash, size, nstk} in all of them.
 */
/* clang-format off */
#define BUCKET .bucket_hdr = 48, .bk_allnext = 8, .bk_size = 32, .bk_nstk = 40
static const struct heap_row heap_table[] = {
	{ 19, 19, { BUCKET,
	  .sp_startaddr = 24, .sp_npages = 32,
	  .sp_freeindex = 48, .sp_freeindex_size = 8,
	  .sp_nelems = 56, .sp_nelems_size = 8,
	  .sp_alloccache = 64, .sp_allocbits = 72, .sp_gcmarkbits = 80,
	  .sp_sweepgen = 88, .sp_alloccount = 96, .sp_spanclass = 98,
	  .sp_state = 99, .sp_elemsize = 104, .span_size = 144,
	  .mh_sweepgen = 65848, .mh_allspans = 65856, .mh_arenas = 65936,
	  .ha_spans = 2097152 },
	  { .numgc = 7704, .heap_marked = 184 } },
	/* 1.21: mspan.pinnerBits after gcmarkBits; a smaller heapArena. */
	{ 21, 21, { BUCKET,
	  .sp_startaddr = 24, .sp_npages = 32,
	  .sp_freeindex = 48, .sp_freeindex_size = 8,
	  .sp_nelems = 56, .sp_nelems_size = 8,
	  .sp_alloccache = 64, .sp_allocbits = 72, .sp_gcmarkbits = 80,
	  .sp_sweepgen = 96, .sp_alloccount = 104, .sp_spanclass = 106,
	  .sp_state = 107, .sp_elemsize = 112, .span_size = 168,
	  .mh_sweepgen = 65856, .mh_allspans = 65864, .mh_arenas = 65944,
	  .ha_spans = 1064960 },
	  { .numgc = 7704, .heap_marked = 152 } },
	/*
	 * 1.22: freeindex, nelems, freeIndexForScan became uint16; the heap
	 * bitmap left heapArena (allocheaders): spans comes first.
	 */
	{ 22, 23, { BUCKET,
	  .sp_startaddr = 24, .sp_npages = 32,
	  .sp_freeindex = 48, .sp_freeindex_size = 2,
	  .sp_nelems = 50, .sp_nelems_size = 2,
	  .sp_alloccache = 56, .sp_allocbits = 64, .sp_gcmarkbits = 72,
	  .sp_sweepgen = 88, .sp_alloccount = 96, .sp_spanclass = 98,
	  .sp_state = 99, .sp_elemsize = 104, .span_size = 160,
	  .mh_sweepgen = 65856, .mh_allspans = 65864, .mh_arenas = 66008,
	  .ha_spans = 0 },
	  { .numgc = 7704, .heap_marked = 152 } },
};
#undef BUCKET
/* clang-format on */

static bool from_table(const struct go_layout *gl, struct go_heap_layout *l,
		       struct heap_extra *x)
{
	const struct heap_row *r;
	size_t i;

	/*
	 * A GOEXPERIMENT ("go1.22.1 X:noallocheaders") may change the
	 * layouts: without DWARF, say we do not know.
	 */
	if (!gl || gl->major != 1 || strstr(gl->version, " X:"))
		return false;
	for (i = 0; i < sizeof(heap_table) / sizeof(heap_table[0]); i++) {
		r = &heap_table[i];
		if (gl->minor < r->minor_lo || gl->minor > r->minor_hi)
			continue;
		*l = r->l;
		*x = r->x;
		return true;
	}
	return false;
}

/* ---- variables from .symtab ---- */

static void note_sym(struct go_heap_layout *l, const struct heap_extra *x,
		     const char *name, const GElf_Sym *s)
{
	if (!strcmp(name, "runtime.mbuckets") && s->st_size >= 8)
		l->mbuckets = s->st_value;
	else if (!strcmp(name, "runtime.MemProfileRate") && s->st_size == 8)
		l->memprofilerate = s->st_value;
	else if (!strcmp(name, "runtime.disableMemoryProfiling") &&
		 s->st_size == 1)
		l->disable_memprof = s->st_value;
	else if (!strcmp(name, "runtime.mheap_") &&
		 s->st_size > l->mh_arenas + 8)
		l->mheap = s->st_value;
	else if (!strcmp(name, "runtime.memstats") &&
		 s->st_size >= x->numgc + 4)
		l->numgc = s->st_value + x->numgc;
	else if (!strcmp(name, "runtime.gcController") &&
		 s->st_size >= x->heap_marked + 8)
		l->heap_marked = s->st_value + x->heap_marked;
}

struct sym_ctx {
	struct go_heap_layout *l;
	const struct heap_extra *x;
};

static void note_sym_cb(void *ctx, const char *name, const GElf_Sym *s)
{
	struct sym_ctx *c = ctx;

	note_sym(c->l, c->x, name, s);
}

/* ---- variables from the code, for stripped binaries ---- */

struct insn {
	ZydisDecodedInstruction i;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
	uint64_t pc;
	/* the RIP-relative memory operand, when there is one */
	uint64_t rip;	    /* its address, 0: none */
	unsigned int bytes; /* its width */
	bool rip_written;
	uint64_t call; /* direct call target, 0: not one */
};

struct code {
	Elf *elf;
	int fd;
	struct gopclntab *pcln;
	uint8_t *buf;
};

typedef bool (*insn_fn)(const struct insn *in, void *ctx);

static void describe(struct insn *in)
{
	const ZydisDecodedOperand *o;
	ZyanU64 a;
	unsigned int k;

	in->rip = in->call = 0;
	for (k = 0; k < in->i.operand_count_visible; k++) {
		o = &in->op[k];
		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    o->mem.base == ZYDIS_REGISTER_RIP && !in->rip &&
		    ZYAN_SUCCESS(
			    ZydisCalcAbsoluteAddress(&in->i, o, in->pc, &a))) {
			in->rip = a;
			in->bytes = o->size / 8;
			in->rip_written =
				o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
		}
	}
	if (in->i.mnemonic == ZYDIS_MNEMONIC_CALL &&
	    in->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
	    ZYAN_SUCCESS(
		    ZydisCalcAbsoluteAddress(&in->i, &in->op[0], in->pc, &a)))
		in->call = a;
}

static bool func_range(struct code *c, const char *name, uint64_t *entry,
		       uint64_t *end)
{
	return c->pcln && gopclntab_func(c->pcln, name, entry, end) &&
	       *end > *entry;
}

/*
 * Decodes the Go function name from its entry, calling fn on each
 * instruction until fn returns false. False when the function is not in
 * .gopclntab or its code cannot be read.
 */
static bool walk(struct code *c, const char *name, insn_fn fn, void *ctx)
{
	ZydisDecoder dec;
	struct insn in;
	uint64_t entry, end, foff;
	size_t len, at = 0;

	if (!func_range(c, name, &entry, &end))
		return false;
	len = end - entry < MAX_FUNC_BYTES ? end - entry : MAX_FUNC_BYTES;
	if (!elf_vaddr_to_off(c->elf, entry, len, &foff) ||
	    pread(c->fd, c->buf, len, (off_t)foff) != (ssize_t)len)
		return false;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
			 ZYDIS_STACK_WIDTH_64);
	while (at < len &&
	       ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, c->buf + at, len - at,
						   &in.i, in.op))) {
		in.pc = entry + at;
		describe(&in);
		if (!fn(&in, ctx))
			break;
		at += in.i.length;
	}
	return true;
}

static bool writes_rax(const struct insn *in)
{
	const ZydisDecodedOperand *o;
	ZydisRegister r;
	unsigned int k;

	if (in->i.mnemonic == ZYDIS_MNEMONIC_NOP)
		return false;
	/* 66 90, "xchg %ax,%ax": Go's two-byte nop */
	if (in->i.mnemonic == ZYDIS_MNEMONIC_XCHG &&
	    in->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    in->op[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    in->op[0].reg.value == in->op[1].reg.value)
		return false;
	for (k = 0; k < in->i.operand_count; k++) {
		o = &in->op[k];
		if (o->type != ZYDIS_OPERAND_TYPE_REGISTER ||
		    !(o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			continue;
		r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64,
						     o->reg.value);
		if (r == ZYDIS_REGISTER_RAX)
			return true;
	}
	return false;
}

/*
 * Method calls on a global pass the receiver in RAX (Go's register ABI):
 * `lea runtime.X(%rip), %rax` is the last write of RAX before
 * `call runtime.(*T).m`. The first such call in the function counts.
 */
struct receiver {
	uint64_t callee, lea, found;
};

static bool receiver_insn(const struct insn *in, void *ctx)
{
	struct receiver *r = ctx;

	if (in->call == r->callee) {
		r->found = r->lea;
		return false;
	}
	if (in->i.mnemonic == ZYDIS_MNEMONIC_LEA && in->rip &&
	    in->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    in->op[0].reg.value == ZYDIS_REGISTER_RAX)
		r->lea = in->rip;
	else if (writes_rax(in) || in->call)
		r->lea = 0;
	return true;
}

static uint64_t receiver_of(struct code *c, const char *caller,
			    const char *callee)
{
	struct receiver r = { 0 };
	uint64_t end;

	if (!func_range(c, callee, &r.callee, &end) ||
	    !walk(c, caller, receiver_insn, &r))
		return 0;
	return r.found;
}

/* The first 8-byte load from a global. */
static bool load8_insn(const struct insn *in, void *ctx)
{
	uint64_t *found = ctx;

	if (in->i.mnemonic != ZYDIS_MNEMONIC_MOV || !in->rip ||
	    in->rip_written || in->bytes != 8)
		return true;
	*found = in->rip;
	return false;
}

/* 32-bit increments of globals: `incl runtime.memstats+N(%rip)`. */
#define MAX_INCS 16
struct incs {
	uint64_t at[MAX_INCS];
	int n;
};

static bool inc32_insn(const struct insn *in, void *ctx)
{
	struct incs *s = ctx;

	if ((in->i.mnemonic == ZYDIS_MNEMONIC_INC ||
	     (in->i.mnemonic == ZYDIS_MNEMONIC_ADD &&
	      in->op[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
	      in->op[1].imm.value.u == 1)) &&
	    in->rip && in->rip_written && in->bytes == 4 && s->n < MAX_INCS)
		s->at[s->n++] = in->rip;
	return true;
}

/*
 * `if disableMemoryProfiling { MemProfileRate = 0 }`: a one-byte load
 * of a global, then within a few instructions and before any call an
 * 8-byte store to another global. The first such pair.
 */
#define FLAG_WINDOW 6
struct flag_store {
	uint64_t flag, word;
	int left;
};

static bool flag_insn(const struct insn *in, void *ctx)
{
	struct flag_store *f = ctx;

	if (in->call || in->i.mnemonic == ZYDIS_MNEMONIC_RET) {
		f->left = 0;
		return true;
	}
	if (f->left && in->rip && in->rip_written && in->bytes == 8 &&
	    in->rip != f->flag) {
		f->word = in->rip;
		return false;
	}
	if (in->rip && !in->rip_written && in->bytes == 1 &&
	    in->i.mnemonic != ZYDIS_MNEMONIC_LEA) {
		f->flag = in->rip;
		f->left = FLAG_WINDOW;
		return true;
	}
	if (f->left)
		f->left--;
	return true;
}

/* Only writable data can hold a variable: catches a rule gone astray. */
static bool writable(Elf *elf, uint64_t addr, uint64_t len)
{
	GElf_Phdr ph;
	size_t n, i;

	if (!addr || elf_getphdrnum(elf, &n))
		return false;
	for (i = 0; i < n; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD &&
		    (ph.p_flags & PF_W) && addr >= ph.p_vaddr &&
		    addr + len <= ph.p_vaddr + ph.p_memsz)
			return true;
	return false;
}

static void set_var(Elf *elf, uint64_t *var, uint64_t addr, uint64_t len)
{
	if (!*var && writable(elf, addr, len))
		*var = addr;
}

/*
 * Each rule below was checked on 1.19.8, 1.21.13, 1.22.12 and 1.23.5,
 * programs with and without runtime/pprof, against their .symtab; the
 * unit test keeps checking it. All six variables are found on those.
 */
static void from_code(Elf *elf, int fd, const char *path,
		      struct go_heap_layout *l, const struct heap_extra *x)
{
	struct code c = { .elf = elf, .fd = fd };
	struct flag_store f = { 0 };
	struct incs inc = { .n = 0 };
	uint64_t a = 0;
	int i, j;

	c.pcln = gopclntab_open(path);
	c.buf = malloc(MAX_FUNC_BYTES);
	if (!c.pcln || !c.buf)
		goto out;

	/*
	 * mbuckets: runtime.mProf_FlushLocked walks the bucket list from
	 * `mbuckets.Load()`, its only load from a global (linked into
	 * every program, pprof or not).
	 */
	if (walk(&c, "runtime.mProf_FlushLocked", load8_insn, &a))
		set_var(elf, &l->mbuckets, a, 8);

	/* mheap_: `s := mheap_.alloc(npages, spc)` in allocLarge. */
	set_var(elf, &l->mheap,
		receiver_of(&c, "runtime.(*mcache).allocLarge",
			    "runtime.(*mheap).alloc"),
		(uint64_t)l->mh_arenas + 8);

	/* gcController: `gcController.init(readGOGC(), ...)` in gcinit. */
	a = receiver_of(&c, "runtime.gcinit",
			"runtime.(*gcControllerState).init");
	if (a)
		set_var(elf, &l->heap_marked, a + x->heap_marked, 8);

	/*
	 * memstats.numgc: gcMarkTermination does `memstats.numforcedgc++`
	 * (when user-forced) and `memstats.numgc++`, the two uint32s side
	 * by side: the increment whose address + 4 is incremented too.
	 */
	if (walk(&c, "runtime.gcMarkTermination", inc32_insn, &inc))
		for (i = 0; i < inc.n && !l->numgc; i++)
			for (j = 0; j < inc.n; j++)
				if (inc.at[j] == inc.at[i] + 4)
					set_var(elf, &l->numgc, inc.at[i], 4);

	/*
	 * disableMemoryProfiling, MemProfileRate: schedinit does
	 * `if disableMemoryProfiling { MemProfileRate = 0 }` since 1.20
	 * (cmpb $0; je; movq $0). In 1.19 the runtime package's init does
	 * `MemProfileRate = defaultMemProfileRate(512 * 1024)`, which
	 * inlines to a movzbl of the flag, a cmov and the store.
	 */
	if (!walk(&c, "runtime.schedinit", flag_insn, &f) || !f.word) {
		memset(&f, 0, sizeof(f));
		walk(&c, "runtime.init", flag_insn, &f);
	}
	if (f.word) {
		set_var(elf, &l->disable_memprof, f.flag, 1);
		set_var(elf, &l->memprofilerate, f.word, 8);
	}
out:
	gopclntab_close(c.pcln);
	free(c.buf);
}

/* ---- the whole ---- */

static bool vars_missing(const struct go_heap_layout *l)
{
	return !l->mbuckets || !l->memprofilerate || !l->disable_memprof ||
	       !l->mheap || !l->numgc || !l->heap_marked;
}

static int layout_elf(Elf *elf, int fd, const char *path,
		      const struct go_layout *gl, struct go_heap_layout *out)
{
	struct heap_extra x = { 0 };
	GElf_Ehdr eh;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return -ENOEXEC;
	if (eh.e_machine != EM_X86_64 || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return -ENOTSUP;
	out->from_dwarf = from_dwarf(elf, out, &x);
	if (!out->from_dwarf) {
		memset(out, 0, sizeof(*out));
		if (!from_table(gl, out, &x))
			return -ENOTSUP;
	}
	elf_each_object(elf, "runtime.", note_sym_cb,
			&(struct sym_ctx){ out, &x });
	if (vars_missing(out))
		from_code(elf, fd, path, out, &x);
	return 0;
}

struct layout_ctx {
	const char *path;
	const struct go_layout *gl;
	struct go_heap_layout *out;
};

static int layout_cb(Elf *elf, int fd, void *ctx)
{
	struct layout_ctx *c = ctx;

	return layout_elf(elf, fd, c->path, c->gl, c->out);
}

int goheap_layout(const char *path, const struct go_layout *gl,
		  struct go_heap_layout *out)
{
	struct layout_ctx c;
	int err;

	memset(out, 0, sizeof(*out));
	c.path = path;
	c.gl = gl;
	c.out = out;
	err = elf_with_file(path, layout_cb, &c);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}
