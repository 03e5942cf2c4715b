// SPDX-License-Identifier: GPL-2.0
/* Probe placement on hand-assembled function prologues. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "probe_place.h"

/* glibc 2.36 free: test %rdi,%rdi; je +0xbf; push %rbp; ... */
static const uint8_t glibc_free[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf,
				      0x00, 0x00, 0x00, 0x55, 0x48, 0x8d,
				      0x77, 0xf0, 0x53, 0xc3 };

static void test_skips_test_to_emulated_jcc(void **state)
{
	struct probe_place p;

	assert_int_equal(probe_place_entry(glibc_free, sizeof(glibc_free),
					   PP_ARG(0), &p),
			 0);
	assert_int_equal(p.offset, 3);
	assert_true(p.emulated);
}

/*
 * jemalloc's free (Debian's libjemalloc2 5.3): nine register
 * instructions, shifts and a %fs load among them, before its first jump.
 */
static void test_skips_jemalloc_free_prologue(void **state)
{
	static const uint8_t code[] = {
		0x48, 0x89, 0xf8,			    /* mov %rdi,%rax */
		0x48, 0x8b, 0x15, 0x0e, 0x53, 0x0a, 0x00,   /* mov x(%rip),%rdx */
		0x48, 0x89, 0xf9,			    /* mov %rdi,%rcx */
		0x48, 0xc1, 0xe8, 0x1a,			    /* shr $0x1a,%rax */
		0x48, 0x81, 0xe1, 0x00, 0x00, 0x00, 0xc0,   /* and $..,%rcx */
		0x25, 0xf0, 0x00, 0x00, 0x00,		    /* and $0xf0,%eax */
		0x64, 0x48, 0x03, 0x04, 0x25, 0, 0, 0, 0,   /* add %fs:0,%rax */
		0x48, 0x01, 0xd0,			    /* add %rdx,%rax */
		0x48, 0x3b, 0x88, 0xb0, 0x01, 0x00, 0x00,   /* cmp 0x1b0(%rax) */
		0x0f, 0x85, 0x8a, 0x00, 0x00, 0x00,	    /* jne +0x8a */
		0xc3,
	};
	struct probe_place p;

	(void)state;
	assert_int_equal(probe_place_entry(code, sizeof(code), PP_ARG(0), &p),
			 0);
	assert_int_equal(p.offset, 48);
	assert_true(p.emulated);
}

static void test_push_first_stays_at_entry(void **state)
{
	/* push %r12; push %rbp; ret */
	static const uint8_t code[] = { 0x41, 0x54, 0x55, 0xc3 };
	struct probe_place p;

	assert_int_equal(probe_place_entry(code, sizeof(code), PP_ARG(0), &p),
			 0);
	assert_int_equal(p.offset, 0);
	assert_true(p.emulated);
}

static void test_argument_clobbered_stays_at_entry(void **state)
{
	/* mov %rsi,%rdi (writes arg0); push %rbp; ret */
	static const uint8_t code[] = { 0x48, 0x89, 0xf7, 0x55, 0xc3 };
	struct probe_place p;

	assert_int_equal(probe_place_entry(code, sizeof(code), PP_ARG(0), &p),
			 0);
	assert_int_equal(p.offset, 0);
	assert_false(p.emulated);
	/* the same code is fine when only arg1 (rsi) is read */
	assert_int_equal(probe_place_entry(code, sizeof(code), PP_ARG(1), &p),
			 0);
	assert_int_equal(p.offset, 3);
}

static void test_memory_write_stays_at_entry(void **state)
{
	/* mov %rdi,(%rax); push %rbp; ret */
	static const uint8_t code[] = { 0x48, 0x89, 0x38, 0x55, 0xc3 };
	struct probe_place p;

	assert_int_equal(probe_place_entry(code, sizeof(code), PP_ARG(0), &p),
			 0);
	assert_int_equal(p.offset, 0);
}

/* libstdc++'s operator new: endbr64; test %rdi,%rdi; mov $1,%eax;
 * push %rbx; ret */
static const uint8_t cxx_new[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85, 0xff,
				   0xb8, 0x01, 0x00, 0x00, 0x00, 0x53, 0xc3 };

static void test_endbr64_skipped(void **state)
{
	struct probe_place p;

	assert_int_equal(probe_place_entry(cxx_new, sizeof(cxx_new),
					   PP_FRAME | PP_ARG(0), &p),
			 0);
	assert_int_equal(p.offset, 12);
	assert_true(p.emulated);
}

static void test_frame_pointer_write_kept_for_frame_readers(void **state)
{
	/* endbr64; mov %rdi,%rbp; push %rbx; ret */
	static const uint8_t code[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48,
					0x89, 0xfd, 0x53, 0xc3 };
	struct probe_place p;

	assert_int_equal(probe_place_entry(code, sizeof(code), PP_FRAME, &p),
			 0);
	assert_int_equal(p.offset, 0);
	/* a probe that reads no frame may go past it */
	assert_int_equal(probe_place_entry(code, sizeof(code), PP_ARG(0), &p),
			 0);
	assert_int_equal(p.offset, 7);
}

static void test_branch_into_prologue_stays_at_entry(void **state)
{
	/* 0: test %rdi,%rdi; 3: push %rbp; 4: jmp 3 (back into the prologue) */
	static const uint8_t code[] = { 0x48, 0x85, 0xff, 0x55, 0xeb, 0xfd };
	struct probe_place p;

	assert_int_equal(probe_place_entry(code, sizeof(code), PP_ARG(0), &p),
			 0);
	assert_int_equal(p.offset, 0);
}

static void test_stack_pointer_write_stays_at_entry(void **state)
{
	/* sub $0x18,%rsp; push %rbp */
	static const uint8_t code[] = { 0x48, 0x83, 0xec, 0x18, 0x55, 0xc3 };
	struct probe_place p;

	assert_int_equal(probe_place_entry(code, sizeof(code), PP_ARG(0), &p),
			 0);
	assert_int_equal(p.offset, 0);
}

static void test_first_instruction_described(void **state)
{
	struct probe_place p;

	assert_int_equal(probe_place_first(glibc_free, sizeof(glibc_free), &p),
			 0);
	assert_int_equal(p.offset, 0);
	assert_false(p.emulated);
	assert_non_null(p.insn[0] ? p.insn : NULL);
}

static void test_undecodable(void **state)
{
	static const uint8_t code[] = { 0x0f }; /* truncated */
	struct probe_place p;

	assert_int_equal(probe_place_entry(code, sizeof(code), PP_ARG(0), &p),
			 -1);
}

/* Go 1.23 runtime.goexit1: cmp %rsp,0x10(%r14); jbe; push %rbp; ... */
static const uint8_t go123_goexit1[] = { 0x49, 0x3b, 0x66, 0x10, 0x76,
					 0x7b, 0x55, 0x48, 0x89, 0xe5,
					 0x48, 0x83, 0xec, 0x18, 0xc3 };

static void test_go_after_stack_check(void **state)
{
	/* Go 1.19: the fall-through is sub $0x30,%rsp (stepped) */
	static const uint8_t go119[] = { 0x49, 0x3b, 0x66, 0x10, 0x76,
					 0x49, 0x48, 0x83, 0xec, 0x30 };
	struct probe_place p;

	assert_int_equal(probe_place_after_stack_check(
				 go123_goexit1, sizeof(go123_goexit1), &p),
			 0);
	assert_int_equal(p.offset, 6);
	assert_true(p.emulated);
	assert_int_equal(
		probe_place_after_stack_check(go119, sizeof(go119), &p), 0);
	assert_int_equal(p.offset, 6);
	assert_false(p.emulated);
}

static void test_no_stack_check(void **state)
{
	struct probe_place p;

	/* glibc's free tests rdi, not the stack pointer */
	assert_int_equal(probe_place_after_stack_check(glibc_free,
						       sizeof(glibc_free), &p),
			 -1);
}

static void test_rets(void **state)
{
	/* xor %eax,%eax; ret; nop; mov %rdi,%rax; ret */
	static const uint8_t code[] = { 0x31, 0xc0, 0xc3, 0x90,
					0x48, 0x89, 0xf8, 0xc3 };
	uint64_t offs[4];

	assert_int_equal(probe_place_rets(code, sizeof(code), offs, 4), 2);
	assert_int_equal(offs[0], 2);
	assert_int_equal(offs[1], 7);
	assert_int_equal(probe_place_rets(code, sizeof(code), offs, 1), -1);
	assert_int_equal(
		probe_place_rets(go123_goexit1, sizeof(go123_goexit1), offs, 4),
		1);
	assert_int_equal(offs[0], 14);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skips_test_to_emulated_jcc),
		cmocka_unit_test(test_skips_jemalloc_free_prologue),
		cmocka_unit_test(test_push_first_stays_at_entry),
		cmocka_unit_test(test_argument_clobbered_stays_at_entry),
		cmocka_unit_test(test_memory_write_stays_at_entry),
		cmocka_unit_test(test_branch_into_prologue_stays_at_entry),
		cmocka_unit_test(test_endbr64_skipped),
		cmocka_unit_test(
			test_frame_pointer_write_kept_for_frame_readers),
		cmocka_unit_test(test_stack_pointer_write_stays_at_entry),
		cmocka_unit_test(test_first_instruction_described),
		cmocka_unit_test(test_undecodable),
		cmocka_unit_test(test_go_after_stack_check),
		cmocka_unit_test(test_no_stack_check),
		cmocka_unit_test(test_rets),
	};

	return cmocka_run_group_tests_name("probe_place", tests, NULL, NULL);
}
