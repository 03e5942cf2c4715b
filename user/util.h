/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_UTIL_H
#define LW_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Exit codes are part of the command-line contract: scripts test them. */
enum lw_exit {
	LW_EXIT_OK = 0,
	LW_EXIT_ERROR = 1,	/* runtime failure */
	LW_EXIT_USAGE = 2,	/* bad flag, bad value, no target */
	LW_EXIT_PERM = 3,	/* not root / missing capabilities */
	LW_EXIT_KERNEL = 4,	/* no BTF, no uprobes */
	LW_EXIT_NO_TARGET = 5,	/* no such PID, command not found */
	LW_EXIT_BAD_TARGET = 6, /* binary unreadable, no allocator found */
};

void lw_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool lw_verbose;
void lw_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

double lw_now(void); /* CLOCK_MONOTONIC seconds */
uint64_t lw_now_ns(void);
void lw_fmt_bytes(double bytes, char *buf, size_t len);
/* Room for need elements of size bytes in *arr (first: the first room);
 * 0 or -ENOMEM, *arr kept then. */
int lw_grow(void **arr, size_t *cap, size_t need, size_t size, size_t first);

/* The file name of a path; and whether it begins with prefix ("libc.so"). */
static inline const char *lw_base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static inline bool lw_base_is(const char *path, const char *prefix)
{
	return path && !strncmp(lw_base_name(path), prefix, strlen(prefix));
}

/* Hashes for open addressing: a 64-bit finalizer (all bits count), and
 * FNV-1a of a string. */
static inline uint64_t lw_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

#define LW_FNV_BASIS 0xcbf29ce484222325ULL

/* FNV-1a of n more bytes, from h (LW_FNV_BASIS to begin). */
static inline uint64_t lw_fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *b = data;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static inline uint64_t lw_str_hash(const char *s)
{
	return lw_fnv(LW_FNV_BASIS, s, strlen(s));
}

/*
 * Output files rewritten each interval are replaced whole: a reader never
 * sees half a file. lw_replace_open() creates "PATH.tmp" (tmp must hold
 * len bytes); lw_replace_commit() closes it and renames it over path, or
 * removes it when ok is false. Both return 0 or -1 with errno set.
 */
FILE *lw_replace_open(const char *path, char *tmp, size_t len);
int lw_replace_commit(FILE *f, const char *tmp, const char *path, bool ok);
/* Can path be created (or replaced)? Checked before tracing starts. */
int lw_check_writable(const char *path);

#endif
