// SPDX-License-Identifier: GPL-2.0
/*
 * Finding allocator entry points in ELF objects, for placing uprobes.
 * Symbolizing stacks is symbolize.c's business; this file only answers
 * "where does this object define malloc, and what bytes are there".
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "safeopen.h"
#include "elfsym.h"
#include "util.h"

/*
 * Symbols searched per table: each lookup is a linear scan, and a
 * hostile file can hold a table of any length. Real ones hold well under
 * a million; past the cap the rest of the table is not searched (said
 * once per object).
 */
#define ELF_MAX_SYMS (1u << 22)

struct elf_obj {
	int fd;
	Elf *elf;
	bool dynamic;
	bool capped; /* a table was cut at ELF_MAX_SYMS: said */
	char *interp;
};

static char *read_interp(Elf *elf, int fd)
{
	size_t n, i;
	GElf_Phdr ph;
	char *s;

	if (elf_getphdrnum(elf, &n))
		return NULL;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz == 0 || ph.p_filesz > 4096)
			return NULL;
		s = calloc(1, ph.p_filesz + 1);
		if (s && pread(fd, s, ph.p_filesz, ph.p_offset) !=
				 (ssize_t)ph.p_filesz) {
			free(s);
			return NULL;
		}
		return s;
	}
	return NULL;
}

static bool has_dynamic(Elf *elf)
{
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (i = 0; i < n; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_DYNAMIC)
			return true;
	return false;
}

struct elf_obj *elf_obj_open(const char *path)
{
	struct elf_obj *o;

	elf_version(EV_CURRENT);
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->fd = lw_open_file(path);
	if (o->fd < 0)
		goto fail;
	o->elf = elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
	if (!o->elf || elf_kind(o->elf) != ELF_K_ELF) {
		errno = ENOEXEC;
		goto fail;
	}
	o->dynamic = has_dynamic(o->elf);
	o->interp = read_interp(o->elf, o->fd);
	return o;
fail:
	elf_obj_close(o);
	return NULL;
}

void elf_obj_close(struct elf_obj *o)
{
	int saved = errno;

	if (!o)
		return;
	if (o->elf)
		elf_end(o->elf);
	if (o->fd >= 0)
		close(o->fd);
	free(o->interp);
	free(o);
	errno = saved;
}

bool elf_obj_is_dynamic(struct elf_obj *o)
{
	return o->dynamic;
}

bool elf_obj_sections_ok(struct elf_obj *o)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	const char *name;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(o->elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(o->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(o->elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".shstrtab"))
			return true;
	}
	return false;
}

const char *elf_obj_interp(struct elf_obj *o)
{
	return o->interp;
}

bool elf_vaddr_to_off(Elf *elf, uint64_t vaddr, size_t len, uint64_t *off)
{
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr >= ph.p_filesz ||
		    len > ph.p_filesz - (vaddr - ph.p_vaddr))
			continue;
		*off = vaddr - ph.p_vaddr + ph.p_offset;
		return true;
	}
	return false;
}

static bool vaddr_to_off(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	return elf_vaddr_to_off(elf, vaddr, 1, off);
}

static bool sym_matches(GElf_Sym *sym, const char *sname, const char *name,
			bool exported_only)
{
	int bind = GELF_ST_BIND(sym->st_info);

	if (GELF_ST_TYPE(sym->st_info) != STT_FUNC)
		return false;
	if (sym->st_shndx == SHN_UNDEF || !sym->st_value)
		return false;
	if (exported_only && bind != STB_GLOBAL && bind != STB_WEAK)
		return false;
	return strcmp(sname, name) == 0;
}

static bool find_in(struct elf_obj *o, Elf_Scn *scn, GElf_Shdr *sh,
		    const char *name, bool exported_only, GElf_Sym *out)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n;
	GElf_Sym sym;
	const char *sname;

	if (!data || !sh->sh_entsize)
		return false;
	n = sh->sh_size / sh->sh_entsize;
	if (n > ELF_MAX_SYMS) {
		if (!o->capped)
			lw_warn("a symbol table of %zu symbols: only the first "
				"%u are searched",
				n, ELF_MAX_SYMS);
		o->capped = true;
		n = ELF_MAX_SYMS;
	}
	for (i = 0; i < n; i++) {
		if (!gelf_getsym(data, i, &sym))
			continue;
		sname = elf_strptr(o->elf, sh->sh_link, sym.st_name);
		if (sname && sym_matches(&sym, sname, name, exported_only)) {
			*out = sym;
			return true;
		}
	}
	return false;
}

static bool lookup_in(struct elf_obj *o, Elf32_Word type, const char *name,
		      bool exported_only, GElf_Sym *out)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(o->elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type)
			continue;
		if (find_in(o, scn, &sh, name, exported_only, out))
			return true;
	}
	return false;
}

/*
 * A dynamic object's allocator is what it exports (.dynsym); a static
 * executable has only .symtab, where the libc it linked defines it.
 */
static bool lookup(struct elf_obj *o, const char *name, GElf_Sym *out)
{
	if (o->dynamic)
		return lookup_in(o, SHT_DYNSYM, name, true, out);
	return lookup_in(o, SHT_SYMTAB, name, false, out);
}

bool elf_obj_func_at(struct elf_obj *o, uint64_t vaddr, uint64_t size,
		     struct elf_func *out)
{
	out->vaddr = vaddr;
	out->size = size;
	return vaddr_to_off(o->elf, vaddr, &out->file_off);
}

bool elf_obj_find_local(struct elf_obj *o, const char *name,
			struct elf_func *out)
{
	GElf_Sym sym;

	if (!lookup_in(o, SHT_SYMTAB, name, false, &sym))
		return false;
	return elf_obj_func_at(o, sym.st_value, sym.st_size, out);
}

bool elf_obj_find_func(struct elf_obj *o, const char *name,
		       struct elf_func *out)
{
	GElf_Sym sym;

	if (!lookup(o, name, &sym))
		return false;
	return elf_obj_func_at(o, sym.st_value, sym.st_size, out);
}

size_t elf_obj_read(struct elf_obj *o, const struct elf_func *f, uint8_t *buf,
		    size_t len)
{
	ssize_t n;

	if (f->size && f->size < len)
		len = f->size;
	n = pread(o->fd, buf, len, f->file_off);
	return n < 0 ? 0 : (size_t)n;
}

static uint64_t first_load_vaddr(Elf *elf)
{
	uint64_t lo = UINT64_MAX;
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return 0;
	for (i = 0; i < n; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD &&
		    ph.p_vaddr < lo)
			lo = ph.p_vaddr;
	return lo == UINT64_MAX ? 0 : lo & ~0xfffull;
}

uint64_t elf_obj_load_bias(struct elf_obj *o, int pid, const char *name)
{
	char path[64], line[4096 + 128], file[4096];
	unsigned long long start, off;
	uint64_t bias = 0;
	GElf_Ehdr eh;
	FILE *f;

	if (!gelf_getehdr(o->elf, &eh) || eh.e_type != ET_DYN)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%*[0-9a-f] %*s %llx %*s %*s %4095[^\n]",
			   &start, &off, file) == 3 &&
		    !off && !strcmp(file, name)) {
			bias = start - first_load_vaddr(o->elf);
			break;
		}
	}
	fclose(f);
	return bias;
}

void elf_each_object(Elf *elf, const char *prefix, elf_object_fn fn, void *ctx)
{
	size_t i, n, len = strlen(prefix);
	Elf_Scn *scn = NULL;
	const char *name;
	Elf_Data *data;
	GElf_Shdr sh;
	GElf_Sym s;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !sh.sh_entsize)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		if (n > ELF_MAX_SYMS) { /* see find_in */
			lw_warn("a symbol table of %zu symbols: only the "
				"first %u are searched for runtime variables",
				n, ELF_MAX_SYMS);
			n = ELF_MAX_SYMS;
		}
		for (i = 0; i < n; i++) {
			if (!gelf_getsym(data, i, &s) ||
			    GELF_ST_TYPE(s.st_info) != STT_OBJECT)
				continue;
			name = elf_strptr(elf, sh.sh_link, s.st_name);
			if (name && !strncmp(name, prefix, len))
				fn(ctx, name, &s);
		}
	}
}

int elf_with_file(const char *path, elf_file_fn fn, void *ctx)
{
	Elf *elf;
	int fd, err;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOTSUP;
	fd = lw_open_file(path);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	err = elf ? fn(elf, fd, ctx) : -ENOEXEC;
	elf_end(elf);
	close(fd);
	return err;
}
