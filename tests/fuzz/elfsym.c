// SPDX-License-Identifier: GPL-2.0
/* ELF symbol tables (user/elfsym.c): the lookups plan.c makes. */
#include "fuzz.h"
#include <gelf.h>
#include "elfsym.h"

static void count_object(void *ctx, const char *name, const GElf_Sym *s)
{
	(*(size_t *)ctx) += strlen(name) + (s->st_size & 1);
}

static int each_object(Elf *elf, int fd, void *ctx)
{
	uint64_t off;

	elf_each_object(elf, "runtime.", count_object, ctx);
	elf_vaddr_to_off(elf, 0x401000, 64, &off);
	return 0;
}

LW_FUZZ(elfsym)
{
	static const char *const names[] = { "malloc", "free", "calloc",
					     "runtime.mallocgc", "main" };
	struct elf_func f;
	struct elf_obj *o;
	char path[32];
	uint8_t code[256];
	size_t objs = 0, i;
	int fd = fuzz_file(data, size, path);

	if (fd < 0)
		return 0;
	o = elf_obj_open(path);
	if (o) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (elf_obj_find_func(o, names[i], &f))
				elf_obj_read(o, &f, code, sizeof(code));
			if (elf_obj_find_local(o, names[i], &f))
				elf_obj_func_at(o, f.vaddr, f.size, &f);
		}
		elf_obj_is_dynamic(o);
		elf_obj_interp(o);
		elf_obj_close(o);
	}
	elf_with_file(path, each_object, &objs);
	close(fd);
	return 0;
}
