// SPDX-License-Identifier: GPL-2.0
/*
 * From a file's DWARF CFI to its unwind rows. The code is decoded with
 * Zydis to find the return addresses; libdw says, for each, where the
 * CFA, the return address and the caller's rbp are. CFI comes from
 * .eh_frame, else .debug_frame, else the separate debug file named by
 * the build ID (/usr/lib/debug/.build-id), per address.
 */
#include <Zydis/Zydis.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cfi.h"
#include "cfi_check.h"
#include "safeopen.h"
#include "cfi_build.h"

#define DW_REG_RBP   6
#define DW_REG_RSP   7
#define DW_REG_RA    16
#define RT_SIGRETURN 15

/* The CFI sources of one file, tried in order for each address. */
struct cfi_src {
	Dwarf_CFI *cfi[3];
	const char *name[3];
	int n;
	Dwarf *dw[2]; /* owners of .debug_frame CFI */
	Elf *debug_elf;
	int debug_fd;
	int refused; /* sources whose CFI names registers no CPU has */
};

/* "CFA + n" (libdw's form of DW_CFA_offset n): n, or false. */
static bool cfa_plus(const Dwarf_Op *ops, size_t n, int64_t *off)
{
	if (n != 2 || ops[0].atom != DW_OP_call_frame_cfa ||
	    ops[1].atom != DW_OP_plus_uconst)
		return false;
	*off = (int64_t)ops[1].number;
	return true;
}

/*
 * The rule at vaddr from frame f: the CFA from rsp or rbp, the return
 * address at CFA-8 (or undefined: the outermost frame), rbp unchanged
 * or saved on the stack. Anything else becomes a STOP rule: the walk
 * then ends there, counted, rather than guessing a caller.
 */
static void rule_of_frame(Dwarf_Frame *f, struct lw_cfi_rule *r)
{
	Dwarf_Op mem[3], *ops;
	uint64_t cfa_reg;
	int64_t off;
	size_t n;

	*r = (struct lw_cfi_rule){ .kind = LW_CFI_STOP };
	if (dwarf_frame_register(f, DW_REG_RA, mem, &ops, &n))
		return;
	if (n == 0 && ops == mem) {
		r->kind = LW_CFI_END; /* DW_CFA_undefined rip */
		return;
	}
	if (!cfa_plus(ops, n, &off) || off != -8)
		return;
	if (dwarf_frame_cfa(f, &ops, &n) || n != 1 ||
	    ops[0].atom != DW_OP_bregx ||
	    (ops[0].number != DW_REG_RSP && ops[0].number != DW_REG_RBP))
		return;
	cfa_reg = ops[0].number;
	off = (int64_t)ops[0].number2;
	if (off <= 0 || off >= (1 << 24))
		return;
	r->cfa_off = off;
	if (dwarf_frame_register(f, DW_REG_RBP, mem, &ops, &n))
		return;
	if (n && !cfa_plus(ops, n, &off))
		return; /* rbp in another register, or an expression */
	r->rbp_off = n ? (int32_t)off : 0;
	r->kind = cfa_reg == DW_REG_RSP ? LW_CFI_CFA_RSP : LW_CFI_CFA_RBP;
	if (n && r->rbp_off == 0)
		r->kind = LW_CFI_STOP; /* CFA+0 is the caller's own frame */
}

/* The frame of vaddr from the first source that covers it. */
static Dwarf_Frame *frame_at(struct cfi_src *s, Dwarf_Addr vaddr,
			     const char **from)
{
	Dwarf_Frame *f;
	int i;

	for (i = 0; i < s->n; i++) {
		if (!dwarf_cfi_addrframe(s->cfi[i], vaddr, &f)) {
			*from = s->name[i];
			return f;
		}
	}
	return NULL;
}

static int add_row(struct cfi_rows *r, uint64_t off,
		   const struct lw_cfi_rule *rule)
{
	struct cfi_row *v;
	size_t cap;

	if (off > UINT32_MAX)
		return -EFBIG;
	if (r->n == r->cap) {
		cap = r->cap ? 2 * r->cap : 4096;
		v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct cfi_row){ .off = off, .rule = *rule };
	return 0;
}

/* The return address after the instruction at vaddr: its caller's rule. */
static void add_return(struct cfi_src *s, struct cfi_rows *r, uint64_t vaddr,
		       uint64_t ret_off)
{
	struct lw_cfi_rule rule;
	const char *from = NULL;
	Dwarf_Frame *f;

	r->calls++;
	f = frame_at(s, vaddr, &from);
	if (!f) {
		r->no_cfi++; /* asm without CFI, or Go code: frame pointers */
		return;
	}
	rule_of_frame(f, &rule);
	free(f);
	if (rule.kind == LW_CFI_STOP)
		r->stops++;
	if (!r->src)
		r->src = from;
	add_row(r, ret_off, &rule);
}

/*
 * glibc's __restore_rt, "mov $15, %rax; syscall", marked as a signal
 * frame ('S') in its CFI: a handler returns into its first byte.
 */
static void add_trampoline(struct cfi_src *s, struct cfi_rows *r,
			   uint64_t vaddr, uint64_t off)
{
	struct lw_cfi_rule rule = { .kind = LW_CFI_SIGNAL };
	Dwarf_Addr start, end;
	const char *from;
	Dwarf_Frame *f = frame_at(s, vaddr, &from);
	bool signalp = false;

	if (!f)
		return;
	dwarf_frame_info(f, &start, &end, &signalp);
	free(f);
	if (signalp && !add_row(r, off, &rule))
		r->signals++;
}

static bool is_sigreturn_mov(const ZydisDecodedInstruction *insn,
			     const ZydisDecodedOperand *ops)
{
	return insn->mnemonic == ZYDIS_MNEMONIC_MOV &&
	       insn->operand_count_visible == 2 &&
	       ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       (ops[0].reg.value == ZYDIS_REGISTER_RAX ||
		ops[0].reg.value == ZYDIS_REGISTER_EAX) &&
	       ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
	       ops[1].imm.value.u == RT_SIGRETURN;
}

/* Every call and syscall of one executable section, decoded in order. */
static void scan_section(struct cfi_src *s, struct cfi_rows *r,
			 const uint8_t *code, size_t len, uint64_t vaddr,
			 uint64_t off)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecodedInstruction insn;
	size_t at = 0, mov_at = SIZE_MAX;
	ZydisDecoder dec;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
			 ZYDIS_STACK_WIDTH_64);
	/* No file can use more rows than the tables hold (cfi.c): stop
	 * there rather than decode and look up a hostile file's 1e9 calls. */
	while (at < len && r->n < LW_CFI_MAX_ENTRIES) {
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(
			    &dec, code + at, len - at, &insn, ops))) {
			at++; /* padding or data: resynchronise */
			mov_at = SIZE_MAX;
			continue;
		}
		if (insn.mnemonic == ZYDIS_MNEMONIC_CALL ||
		    insn.mnemonic == ZYDIS_MNEMONIC_SYSCALL)
			add_return(s, r, vaddr + at, off + at + insn.length);
		if (insn.mnemonic == ZYDIS_MNEMONIC_SYSCALL &&
		    mov_at != SIZE_MAX)
			add_trampoline(s, r, vaddr + mov_at, off + mov_at);
		mov_at = is_sigreturn_mov(&insn, ops) ? at : SIZE_MAX;
		at += insn.length;
	}
}

static void scan_elf(struct cfi_src *s, struct cfi_rows *r, Elf *elf)
{
	Elf_Scn *scn = NULL;
	Elf_Data *d;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		d = elf_getdata(scn, NULL);
		if (d && d->d_buf)
			scan_section(s, r, d->d_buf, d->d_size, sh.sh_addr,
				     sh.sh_offset);
	}
}

static void add_src(struct cfi_src *s, Dwarf_CFI *cfi, const char *name)
{
	if (cfi && s->n < 3) {
		s->cfi[s->n] = cfi;
		s->name[s->n++] = name;
	}
}

/* .debug_frame of elf, owned by a Dwarf handle kept in s. */
static void add_debug_frame(struct cfi_src *s, Elf *elf, const char *name)
{
	int k = s->dw[0] ? 1 : 0;

	if (cfi_check_registers(elf, ".debug_frame")) {
		s->refused++;
		return;
	}
	s->dw[k] = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (s->dw[k])
		add_src(s, dwarf_getcfi(s->dw[k]), name);
}

/* The separate debug file of a build ID, as Debian's -dbg packages put it. */
static void add_debug_file(struct cfi_src *s, Elf *elf)
{
	const unsigned char *id;
	char path[512];
	ssize_t n = dwelf_elf_gnu_build_id(elf, (const void **)&id);
	int at, i;

	if (n < 2)
		return;
	at = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/",
		      id[0]);
	for (i = 1; i < n && at < (int)sizeof(path) - 8; i++)
		at += snprintf(path + at, sizeof(path) - at, "%02x", id[i]);
	snprintf(path + at, sizeof(path) - at, ".debug");
	s->debug_fd = lw_open_file(path);
	if (s->debug_fd < 0)
		return;
	s->debug_elf = elf_begin(s->debug_fd, ELF_C_READ_MMAP, NULL);
	if (s->debug_elf)
		add_debug_frame(s, s->debug_elf, "debug file");
}

static void src_free(struct cfi_src *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], ".eh_frame"))
			dwarf_cfi_end(s->cfi[i]);
	for (i = 0; i < 2; i++)
		if (s->dw[i])
			dwarf_end(s->dw[i]);
	if (s->debug_elf)
		elf_end(s->debug_elf);
	if (s->debug_fd >= 0)
		close(s->debug_fd);
}

static int row_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct cfi_row *)a)->off;
	uint32_t y = ((const struct cfi_row *)b)->off;

	return x < y ? -1 : x > y;
}

/* An .eh_frame with contents that gave nothing is garbage, not absent. */
static bool has_eh_frame(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	const char *name;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    sh.sh_size < 16)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".eh_frame"))
			return true;
	}
	return false;
}

int cfi_build_file(const char *path, struct cfi_rows *out)
{
	struct cfi_src s = { .debug_fd = -1 };
	int fd, err = 0;
	Elf *elf;

	memset(out, 0, sizeof(*out));
	fd = lw_open_file(path);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto out;
	}
	if (cfi_check_registers(elf, ".eh_frame"))
		s.refused++;
	else
		add_src(&s, dwarf_getcfi_elf(elf), ".eh_frame");
	add_debug_frame(&s, elf, ".debug_frame");
	add_debug_file(&s, elf);
	if (!s.n) {
		err = has_eh_frame(elf) || s.refused ? -EBADMSG : -ENODATA;
		goto out;
	}
	scan_elf(&s, out, elf);
	/* code that calls, and an .eh_frame that covers none of it */
	if (!out->n)
		err = out->calls && has_eh_frame(elf) ? -EBADMSG : -ENODATA;
	else if (out->n >= LW_CFI_MAX_ENTRIES)
		err = -ENOSPC; /* cfi.c says so, once: frame pointers then */
	/* sections come in address order; sort anyway: entries must be
	 * (not none: qsort's base must not be NULL, even for 0 entries) */
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), row_cmp);
out:
	src_free(&s);
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

void cfi_rows_free(struct cfi_rows *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}
