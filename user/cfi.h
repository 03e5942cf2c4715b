/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The unwind tables in the kernel: one per mapped file, keyed by the
 * file's (device, inode), shared by every process that maps it, loaded
 * once. Rules are deduplicated across files (a few hundred distinct
 * ones); a file's entries are 4 bytes each, grouped in 256-byte "pages"
 * of the file, its pages a range of one array. Tables are built before the
 * probes go live for what the target maps (or, launched, will map: held before
 * exec until then), and on the walk's request for files it maps later (dlopen,
 * exec).
 */
#ifndef LW_CFI_H
#define LW_CFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "leakwatch.h"

/* Map sizes, set at load. */
#define LW_CFI_MAX_FILES   4096
#define LW_CFI_MAX_PAGES   (1u << 19)
#define LW_CFI_MAX_ENTRIES (1u << 21)
#define LW_CFI_MAX_RULES   (1u << 16)

struct lw_cfi_fds {
	int files, pages, entries, rules;
};

struct cfi_file {
	struct lw_file_key key;
	uint32_t id, state;
	uint32_t entries, pages;
	char *name;
};

struct lw_cfi {
	struct lw_cfi_fds fd;
	struct lw_cfi_rule *rules;
	uint32_t nrules;
	uint32_t *rule_slot; /* open addressing: rule index + 1 */
	uint32_t used_entries, used_pages;
	struct cfi_file *files;
	int nfiles;
	bool full_said;
	double build_s; /* time spent building tables */
};

int cfi_init(struct lw_cfi *c, const struct lw_cfi_fds *fds);
/* The table of the file at path (opened as open, keyed by its stat). */
void cfi_add_path(struct lw_cfi *c, const char *open, const char *name);
/* Every file pid maps executable: before attaching, and each report. */
void cfi_add_pid(struct lw_cfi *c, pid_t pid);
/* The walk asked for a file's table. */
void cfi_on_event(struct lw_cfi *c, const struct lw_file_event *e);
/* Totals for -v and the bench: files with tables, entries, bytes. */
void cfi_summary(const struct lw_cfi *c, char *buf, size_t len);
void cfi_free(struct lw_cfi *c);

#endif
