/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel symbols from /proc/kallsyms, for kernel stacks: loaded once into
 * a sorted array. (libbpf keeps its kallsyms parser internal, and libdwfl
 * names kernel addresses only from a vmlinux ELF file, which a machine
 * often lacks; kallsyms is always there.)
 *
 * kallsyms shows every address as zero unless the reader may see kernel
 * pointers (root, with kernel.kptr_restrict below 2): loading then warns
 * once and every lookup fails.
 */
#ifndef LW_KSYMS_H
#define LW_KSYMS_H

#include <stddef.h>
#include <stdint.h>

struct lw_ksyms;

/* /proc/kallsyms; NULL + errno when it cannot be read. */
struct lw_ksyms *ksyms_load(void);
/* A file in kallsyms' format ("ADDR TYPE NAME [MODULE]" lines). */
struct lw_ksyms *ksyms_load_path(const char *path);

/*
 * The function holding addr: its name, with addr's offset into it in *off
 * and its module in *module (NULL for the kernel image; "bpf" for BPF
 * programs); either pointer may be NULL. NULL when addr is below every
 * function. Strings stay valid until ksyms_free.
 */
const char *ksyms_lookup(const struct lw_ksyms *ks, uint64_t addr,
			 uint64_t *off, const char **module);
/* Functions loaded. */
size_t ksyms_count(const struct lw_ksyms *ks);
void ksyms_free(struct lw_ksyms *ks);

#endif
