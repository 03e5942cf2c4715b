/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_SAFESTR_H
#define LW_SAFESTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Names are data: every string a target controls (symbols, file names,
 * comm, paths, wait reasons, cgroups, descriptor types) goes through
 * here before any view shows it, so that no name can put an escape
 * sequence into a terminal, break a JSON or protobuf string (both must be
 * UTF-8) or a folded line. Every view escapes the same way:
 *
 *   - valid UTF-8 passes, multibyte characters included;
 *   - a byte that is not part of a valid UTF-8 sequence (stray
 *     continuation, overlong form, surrogate, beyond U+10FFFF, truncated
 *     sequence), a C0 control (U+0000..U+001F), DEL and a C1 control
 *     (U+0080..U+009F, each of its two bytes) becomes the text \xNN, NN
 *     the byte in lower-case hex;
 *   - a backslash becomes \\, so that the escaping can be undone: \xNN
 *     is always an escape, never the name's own text.
 *
 * The escaped text is plain printable UTF-8. The model keeps the raw
 * bytes; views escape at their output.
 */
enum lw_safe_flags {
	LW_SAFE_LINES = 1 << 0,	 /* keep '\n' and '\t': a message's lines */
	LW_SAFE_FOLDED = 1 << 1, /* also ';' (folded stacks' separator) */
};

/* in escaped into out: at most len - 1 bytes and a NUL, cut before an
 * escape or a character, never inside one. Returns out. NULL in: "". */
char *lw_safe(const char *in, char *out, size_t len, unsigned flags);
/* Whether in is shown as it is (nothing to escape): the fast path. */
bool lw_safe_clean(const char *in, unsigned flags);
/* The escaped length of in, without the NUL. */
size_t lw_safe_len(const char *in, unsigned flags);
/* A malloc'ed escaped copy, NULL when out of memory. */
char *lw_safe_dup(const char *in, unsigned flags);
/* Writes in escaped to f; 0 or EOF. */
int lw_safe_fputs(const char *in, FILE *f, unsigned flags);

#endif
