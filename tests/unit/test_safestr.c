// SPDX-License-Identifier: GPL-2.0
/*
 * Target strings made safe to show (user/safestr.c): valid UTF-8 kept,
 * every byte that is not (overlong forms, surrogates, past U+10FFFF,
 * truncated sequences, stray continuations), the C0 and C1 controls and
 * DEL escaped as \xNN, a backslash as \\, ';' too for folded stacks;
 * output cut before an escape or a character, never inside one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "safestr.h"

static void expect(const char *in, unsigned flags, const char *want)
{
	char out[256], *dup, *mem = NULL;
	size_t n = 0;
	FILE *f;

	assert_string_equal(lw_safe(in, out, sizeof(out), flags), want);
	assert_int_equal(lw_safe_len(in, flags), strlen(want));
	assert_int_equal(lw_safe_clean(in, flags), !strcmp(in, want));
	dup = lw_safe_dup(in, flags);
	assert_non_null(dup);
	assert_string_equal(dup, want);
	free(dup);
	f = open_memstream(&mem, &n);
	assert_non_null(f);
	assert_int_equal(lw_safe_fputs(in, f, flags), 0);
	fclose(f);
	assert_string_equal(mem, want);
	free(mem);
}

static void test_plain_and_utf8_kept(void **state)
{
	expect("", 0, "");
	expect("main (leaky.c:229)", 0, "main (leaky.c:229)");
	expect("std::vector<int>::push_back(int&&)", 0,
	       "std::vector<int>::push_back(int&&)");
	/* 2, 3 and 4 bytes; U+00A0 (first past C1), U+FFFD, U+10FFFF */
	expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9b", 0,
	       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9b");
	expect("\xc2\xa0\xef\xbf\xbd\xf4\x8f\xbf\xbf", 0,
	       "\xc2\xa0\xef\xbf\xbd\xf4\x8f\xbf\xbf");
	/* the edges of the 3-byte ranges that are valid */
	expect("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80", 0,
	       "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80");
	expect("a;b", 0, "a;b");
}

static void test_invalid_utf8_escaped(void **state)
{
	expect("leak_\xff\xfe", 0, "leak_\\xff\\xfe");
	/* overlong '/' (2 and 3 bytes) and overlong U+FFFF in 4 */
	expect("\xc0\xaf", 0, "\\xc0\\xaf");
	expect("\xc1\xbf", 0, "\\xc1\\xbf");
	expect("\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf");
	expect("\xf0\x8f\xbf\xbf", 0, "\\xf0\\x8f\\xbf\\xbf");
	/* surrogates U+D800, U+DFFF */
	expect("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");
	expect("\xed\xbf\xbf", 0, "\\xed\\xbf\\xbf");
	/* past U+10FFFF, and bytes that never start a character */
	expect("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80");
	expect("\xf5\x80\x80\x80", 0, "\\xf5\\x80\\x80\\x80");
	expect("\xf8\x88\x80\x80\x80", 0, "\\xf8\\x88\\x80\\x80\\x80");
	/* stray continuation bytes */
	expect("a\x80"
	       "b\xbf",
	       0, "a\\x80b\\xbf");
	/* truncated sequences: at the end, and before ASCII or a new start */
	expect("x\xe2\x82", 0, "x\\xe2\\x82");
	expect("\xf0\x9f\x90"
	       "A",
	       0, "\\xf0\\x9f\\x90A");
	expect("\xc3\xc3\xa9", 0, "\\xc3\xc3\xa9");
}

static void test_controls_escaped(void **state)
{
	/* an OSC title and an SGR colour: ESC and BEL */
	expect("leak_\x1b]0;owned\x07\x1b[31m", 0,
	       "leak_\\x1b]0;owned\\x07\\x1b[31m");
	expect("a\tb\nc\rd\x01", 0, "a\\x09b\\x0ac\\x0dd\\x01");
	expect("del\x7f", 0, "del\\x7f");
	/* C1: U+0080, U+009B (CSI), U+009F, each of their bytes */
	expect("\xc2\x80\xc2\x9b"
	       "2J\xc2\x9f",
	       0, "\\xc2\\x80\\xc2\\x9b2J\\xc2\\x9f");
	/* a message's lines keep their newlines and tabs, nothing else */
	expect("line 1\n\tline 2\x1b[0m", LW_SAFE_LINES,
	       "line 1\n\tline 2\\x1b[0m");
}

/* The escaping can be undone: a name's own "\x41" is not an escape. */
static void test_backslash(void **state)
{
	expect("C:\\dir\\x41", 0, "C:\\\\dir\\\\x41");
	expect("\\", LW_SAFE_FOLDED, "\\\\");
}

static void test_folded(void **state)
{
	expect("a;b", LW_SAFE_FOLDED, "a\\x3bb");
	expect("x\ny\tz;", LW_SAFE_FOLDED, "x\\x0ay\\x09z\\x3b");
	expect("\xe2\x82\xac;\xff", LW_SAFE_FOLDED, "\xe2\x82\xac\\x3b\\xff");
}

/* Cut short: never inside an escape or a character, always NUL-ended. */
static void test_cut_whole(void **state)
{
	char out[8];

	assert_string_equal(lw_safe("abcdefghij", out, sizeof(out), 0),
			    "abcdefg");
	assert_string_equal(lw_safe("abcde\x1b", out, sizeof(out), 0), "abcde");
	assert_string_equal(lw_safe("abc\x1b", out, sizeof(out), 0),
			    "abc\\x1b");
	assert_string_equal(lw_safe("abcde\xe2\x82\xac", out, sizeof(out), 0),
			    "abcde");
	assert_string_equal(lw_safe("abcd\xe2\x82\xac", out, sizeof(out), 0),
			    "abcd\xe2\x82\xac");
	assert_string_equal(lw_safe("abcdef\\", out, sizeof(out), 0), "abcdef");
	assert_string_equal(lw_safe("x", out, 1, 0), "");
	assert_string_equal(lw_safe(NULL, out, sizeof(out), 0), "");
	assert_true(lw_safe_clean(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_utf8_kept),
		cmocka_unit_test(test_invalid_utf8_escaped),
		cmocka_unit_test(test_controls_escaped),
		cmocka_unit_test(test_backslash),
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_cut_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
