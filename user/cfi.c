// SPDX-License-Identifier: GPL-2.0
#include <Zydis/Zydis.h>
#include <bpf/bpf.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "cfi.h"
#include "util.h"

#define X86_RBP 6
#define X86_RSP 7

static bool cfi_wanted(const char *name)
{
	return lw_base_is(name, "libc.so") || lw_base_is(name, "libstdc++.so");
}

/*
 * How the frame of the function holding the call at vaddr is left: the
 * CFA must be rsp-based (a function that keeps rbp as its frame pointer
 * is left by the frame-pointer walk), rbp unchanged or saved on the stack.
 */
static bool rule_at(Dwarf_CFI *cfi, Dwarf_Addr vaddr, struct lw_cfi_rule *r)
{
	Dwarf_Op mem[3], *ops;
	Dwarf_Frame *f;
	size_t n;
	bool ok = false;

	if (dwarf_cfi_addrframe(cfi, vaddr, &f))
		return false;
	if (dwarf_frame_cfa(f, &ops, &n) || n != 1 ||
	    ops[0].atom != DW_OP_bregx || ops[0].number != X86_RSP)
		goto out;
	r->cfa_off = (int64_t)ops[0].number2;
	r->rbp_off = 0;
	if (dwarf_frame_register(f, X86_RBP, mem, &ops, &n))
		goto out;
	if (n == 2 && ops[0].atom == DW_OP_call_frame_cfa &&
	    ops[1].atom == DW_OP_plus_uconst)
		r->rbp_off = (int64_t)ops[1].number;
	else if (n) /* some other rule: not followed */
		goto out;
	ok = r->cfa_off > 0 && r->cfa_off < (1 << 20);
out:
	free(f);
	return ok;
}

struct build {
	Dwarf_CFI *cfi;
	uint32_t id;
	struct lw_cfi_key *keys;
	struct lw_cfi_rule *rules;
	size_t n, cap;
};

static void add_call(struct build *b, uint64_t call_vaddr, uint64_t ret_off)
{
	size_t cap = b->cap ? 2 * b->cap : 4096;
	struct lw_cfi_rule r, *rules;
	struct lw_cfi_key *keys;

	if (!rule_at(b->cfi, call_vaddr, &r))
		return;
	if (b->n == b->cap) {
		keys = realloc(b->keys, cap * sizeof(*keys));
		if (keys)
			b->keys = keys;
		rules = realloc(b->rules, cap * sizeof(*rules));
		if (rules)
			b->rules = rules;
		if (!keys || !rules)
			return;
		b->cap = cap;
	}
	b->keys[b->n] = (struct lw_cfi_key){ .module = b->id, .off = ret_off };
	b->rules[b->n++] = r;
}

/* One system call for all of an object's rules, not one per rule. */
static long store(struct build *b, int fd)
{
	__u32 count = b->n;

	if (!b->n)
		return 0;
	if (bpf_map_update_batch(fd, b->keys, b->rules, &count, NULL))
		return count ? (long)count : -errno;
	return count;
}

/* Every call of one executable section, decoded in order. */
static void scan_section(struct build *b, const uint8_t *code, size_t len,
			 uint64_t vaddr, uint64_t off)
{
	ZydisDecoder dec;
	ZydisDecodedInstruction insn;
	size_t at = 0;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
			 ZYDIS_STACK_WIDTH_64);
	while (at < len) {
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(
			    &dec, NULL, code + at, len - at, &insn))) {
			at++; /* padding or data: resynchronise */
			continue;
		}
		if (insn.mnemonic == ZYDIS_MNEMONIC_CALL)
			add_call(b, vaddr + at, off + at + insn.length);
		at += insn.length;
	}
}

static void scan_elf(struct build *b, Elf *elf)
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
			scan_section(b, d->d_buf, d->d_size, sh.sh_addr,
				     sh.sh_offset);
	}
}

static long cfi_build(const char *path, uint32_t id, int rules_fd)
{
	struct build b = { .id = id };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long n = -ENODATA;
	Elf *elf;

	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	b.cfi = elf ? dwarf_getcfi_elf(elf) : NULL;
	if (b.cfi) {
		scan_elf(&b, elf);
		n = store(&b, rules_fd);
		dwarf_cfi_end(b.cfi);
	}
	if (elf)
		elf_end(elf);
	close(fd);
	free(b.keys);
	free(b.rules);
	return n;
}

struct map_line {
	uint64_t start, end, off;
	dev_t dev;
	ino_t ino;
	const char *path;
};

/* "start-end perms offset major:minor inode path": executable ones. */
static bool parse_map(const char *line, struct map_line *m)
{
	unsigned long long s, e, o, ino;
	unsigned int maj, min;
	char perms[8];
	int n = 0;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &s, &e, perms, &o,
		   &maj, &min, &ino, &n) != 7 ||
	    perms[2] != 'x' || !ino)
		return false;
	*m = (struct map_line){ s, e, o, makedev(maj, min), ino, line + n };
	return true;
}

/*
 * The same file, however each side names it (/lib or /usr/lib). Overlay
 * file systems show another device in maps than stat does: the inode and
 * the file name must then agree.
 */
static bool same_file(const struct map_line *m, const char *path)
{
	char real[PATH_MAX];
	struct stat st;

	if (stat(path, &st) || st.st_ino != m->ino)
		return false;
	if (st.st_dev == m->dev)
		return true;
	return realpath(path, real) &&
	       !strcmp(lw_base_name(real), lw_base_name(m->path));
}

/* Where the objects with rules are mapped in pid: out's count. */
static int cfi_modules(pid_t pid, const struct lw_obj *objs, const bool *built,
		       int nobjs, struct lw_cfi_module *out)
{
	char path[64], line[4096];
	struct map_line m;
	int i, k = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (k < LW_MAX_CFI_MODULES && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!parse_map(line, &m))
			continue;
		for (i = 0; i < nobjs; i++) {
			if (!built[i] || !same_file(&m, objs[i].open))
				continue;
			out[k++] = (struct lw_cfi_module){
				.start = m.start,
				.end = m.end,
				.off_base = m.start - m.off,
				.id = i,
			};
			break;
		}
	}
	fclose(f);
	return k;
}

void cfi_plan(struct lw_cfi *c, const struct lw_target *t, int rules_fd)
{
	long n;
	int i;

	memset(c, 0, sizeof(*c));
	c->built = calloc(t->nobjs, sizeof(*c->built));
	for (i = 0; c->built && i < t->nobjs; i++) {
		if (!cfi_wanted(t->objs[i].name))
			continue;
		n = cfi_build(t->objs[i].open, i, rules_fd);
		if (n < 0)
			lw_warn("no CFI rules for %s: %s: its frames end stacks",
				t->objs[i].name, strerror(-n));
		else
			lw_debug("%ld CFI rules for the calls of %s", n,
				 t->objs[i].name);
		c->built[i] = n > 0;
		c->nbuilt += n > 0;
	}
}

bool cfi_locate(struct lw_cfi *c, const struct lw_target *t)
{
	struct lw_cfi_module m[LW_MAX_CFI_MODULES];
	int n;

	if (!c->nbuilt)
		return false;
	n = cfi_modules(t->pid, t->objs, c->built, t->nobjs, m);
	if (n == c->nmods && !memcmp(m, c->mods, n * sizeof(*m)))
		return false;
	memcpy(c->mods, m, n * sizeof(*m));
	c->nmods = n;
	return true;
}

void cfi_forget(struct lw_cfi *c)
{
	c->nmods = 0;
}

void cfi_free(struct lw_cfi *c)
{
	free(c->built);
	memset(c, 0, sizeof(*c));
}
