/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_ELFSYM_H
#define LW_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

/* A function defined by an ELF object, located for a uprobe. */
struct elf_func {
	uint64_t vaddr;
	uint64_t size;
	uint64_t file_off; /* what a uprobe takes */
};

struct elf_obj;
typedef struct Elf Elf;

/* File offset of [vaddr, vaddr + len) when one PT_LOAD holds it all. */
bool elf_vaddr_to_off(Elf *elf, uint64_t vaddr, size_t len, uint64_t *off);

/* Calls fn on every data object (STT_OBJECT) of .symtab whose name begins
 * with prefix ("runtime."). */
typedef void (*elf_object_fn)(void *ctx, const char *name, const GElf_Sym *s);
void elf_each_object(Elf *elf, const char *prefix, elf_object_fn fn, void *ctx);

/* Opens path read-only as ELF and calls fn on it: fn's result, -errno
 * when the file cannot be opened, -ENOEXEC when it is not ELF. */
typedef int (*elf_file_fn)(Elf *elf, int fd, void *ctx);
int elf_with_file(const char *path, elf_file_fn fn, void *ctx);

/* NULL and errno set when the file cannot be opened or is not ELF. */
struct elf_obj *elf_obj_open(const char *path);
void elf_obj_close(struct elf_obj *o);
/* Exported (or, for static executables, any) definition of name. */
bool elf_obj_find_func(struct elf_obj *o, const char *name,
		       struct elf_func *out);
/* Any definition in .symtab, local ones included: Go's runtime functions. */
bool elf_obj_find_local(struct elf_obj *o, const char *name,
			struct elf_func *out);
/* A function known by its address range only (stripped Go binaries). */
bool elf_obj_func_at(struct elf_obj *o, uint64_t vaddr, uint64_t size,
		     struct elf_func *out);
/*
 * Where the loader put the object in pid: runtime minus link-time
 * addresses. 0 for executables linked at a fixed address.
 */
uint64_t elf_obj_load_bias(struct elf_obj *o, int pid, const char *name);
/* Copies up to len bytes of code at the function's start. */
size_t elf_obj_read(struct elf_obj *o, const struct elf_func *f, uint8_t *buf,
		    size_t len);
bool elf_obj_is_dynamic(struct elf_obj *o);

/* Whether the section header table is usable: it names a .shstrtab.
 * Only tools read it (never the kernel, the loader or a Go runtime), so
 * a program runs with it garbage; what is found by section is lost. */
bool elf_obj_sections_ok(struct elf_obj *o);
/* PT_INTERP of an executable, or NULL. */
const char *elf_obj_interp(struct elf_obj *o);

#endif
