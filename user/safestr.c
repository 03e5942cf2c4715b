// SPDX-License-Identifier: GPL-2.0
/* Target strings made safe to show: see safestr.h for the rules. */
#include <stdlib.h>
#include <string.h>
#include "safestr.h"

static bool cont(unsigned char c)
{
	return c >= 0x80 && c <= 0xbf;
}

/*
 * The length of the valid UTF-8 sequence (RFC 3629) that s begins with
 * and its first byte is >= 0x80, or 0. Overlong forms (0xc0, 0xc1, 0xe0
 * 0x80..0x9f, 0xf0 0x80..0x8f), surrogates (0xed 0xa0..0xbf) and code
 * points past U+10FFFF are not. A NUL ends a sequence: nothing past the
 * string is read.
 */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		return cont(s[1]) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		lo = c == 0xe0 ? 0xa0 : lo;
		hi = c == 0xed ? 0x9f : hi;
		return s[1] >= lo && s[1] <= hi && cont(s[2]) ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		lo = c == 0xf0 ? 0x90 : lo;
		hi = c == 0xf4 ? 0x8f : hi;
		return s[1] >= lo && s[1] <= hi && cont(s[2]) && cont(s[3]) ? 4
									    : 0;
	}
	return 0;
}

/* An ASCII byte shown as it is. */
static bool plain(unsigned char c, unsigned flags)
{
	if (c >= 0x20 && c < 0x7f)
		return c != '\\' && !(c == ';' && (flags & LW_SAFE_FOLDED));
	return (c == '\n' || c == '\t') && (flags & LW_SAFE_LINES);
}

/*
 * The next piece of s: *n bytes, shown as they are (returns false) or
 * escaped, each byte as \xNN or a backslash as \\ (returns true).
 */
static bool next_piece(const unsigned char *s, unsigned flags, size_t *n)
{
	if (*s < 0x80) {
		*n = 1;
		return !plain(*s, flags);
	}
	*n = utf8_len(s);
	if (!*n) { /* a byte of no character */
		*n = 1;
		return true;
	}
	/* C1 controls: U+0080..U+009F, 0xc2 0x80..0x9f */
	return s[0] == 0xc2 && s[1] < 0xa0;
}

/* What escaped bytes take: \\ or \xNN each. */
static size_t escaped_len(const unsigned char *s, size_t n)
{
	return n == 1 && *s == '\\' ? 2 : 4 * n;
}

static void put_escaped(const unsigned char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (n == 1 && *s == '\\') {
		memcpy(out, "\\\\", 2);
		return;
	}
	for (i = 0; i < n; i++, out += 4) {
		out[0] = '\\';
		out[1] = 'x';
		out[2] = hex[s[i] >> 4];
		out[3] = hex[s[i] & 15];
	}
}

bool lw_safe_clean(const char *in, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n;

	if (!s)
		return true;
	while (*s) {
		if (*s >= 0x20 && *s < 0x7f && *s != '\\' && *s != ';') {
			s++; /* the common case, first */
			continue;
		}
		if (next_piece(s, flags, &n))
			return false;
		s += n;
	}
	return true;
}

size_t lw_safe_len(const char *in, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n, len = 0;

	while (s && *s) {
		len += next_piece(s, flags, &n) ? escaped_len(s, n) : n;
		s += n;
	}
	return len;
}

char *lw_safe(const char *in, char *out, size_t len, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n, k, at = 0;
	bool esc;

	if (!len)
		return out;
	while (s && *s) {
		esc = next_piece(s, flags, &n);
		k = esc ? escaped_len(s, n) : n;
		if (at + k >= len)
			break;
		if (esc)
			put_escaped(s, n, out + at);
		else
			memcpy(out + at, s, n);
		at += k;
		s += n;
	}
	out[at] = '\0';
	return out;
}

char *lw_safe_dup(const char *in, unsigned flags)
{
	size_t len = lw_safe_len(in, flags) + 1;
	char *out = malloc(len);

	return out ? lw_safe(in, out, len, flags) : NULL;
}

int lw_safe_fputs(const char *in, FILE *f, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)in, *run = s;
	char buf[16];
	size_t n;

	while (s && *s) {
		if (!next_piece(s, flags, &n)) {
			s += n;
			continue;
		}
		/* the run of plain text before the escape, then the escape */
		if (s > run && fwrite(run, 1, s - run, f) != (size_t)(s - run))
			return EOF;
		put_escaped(s, n, buf);
		if (fwrite(buf, 1, escaped_len(s, n), f) != escaped_len(s, n))
			return EOF;
		s += n;
		run = s;
	}
	if (s > run && fwrite(run, 1, s - run, f) != (size_t)(s - run))
		return EOF;
	return 0;
}
