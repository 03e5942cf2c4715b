/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_PROBE_PLACE_H
#define LW_PROBE_PLACE_H

#include <stddef.h>
#include <stdint.h>

/* Argument registers a probe reads, by System V position. */
#define PP_ARG(n) (1u << (n))
/* The probe reads the caller's frame: rbp (rsp and [rsp] always hold). */
#define PP_FRAME (1u << 8)

struct probe_place {
	uint64_t offset; /* from the function's start */
	char insn[64];	 /* the instruction probed, for -v */
	int emulated;	 /* 1: the kernel emulates it, no single-step */
};

/*
 * Chooses where an entry-only probe on a function goes. A breakpoint on
 * an instruction the kernel cannot emulate is single-stepped out of
 * line: a second trap, ~4x the cost. So skip leading instructions that
 * only read (test, cmp, mov into a scratch register) until one the kernel
 * emulates (push, jmp, jcc, call, nop), when it is proven that every call
 * passes through it with the argument registers untouched. Otherwise the
 * function's first instruction. Returns 0, or -1 when the code cannot
 * be decoded at all.
 */
int probe_place_entry(const uint8_t *code, size_t len, unsigned args,
		      struct probe_place *out);

/*
 * Offsets of every RET of a function: where entry probes read a return
 * value without a uretprobe (which Go's stack copying would trip over).
 * Returns how many, or -1 when the code cannot be decoded to its end.
 */
int probe_place_rets(const uint8_t *code, size_t len, uint64_t *offs, int max);

/*
 * Go functions open with a stack check (cmp sp, g.stackguard; jbe
 * morestack) that restarts the function after growing the stack: a probe
 * on the entry would fire twice. Places the probe on the instruction the
 * check falls through to. Returns 0, or -1 when no such check is found.
 */
int probe_place_after_stack_check(const uint8_t *code, size_t len,
				  struct probe_place *out);

/*
 * Link-time addresses of the RIP-relative memory operands of a function
 * at vaddr: the globals it reads and writes. Returns how many (at most
 * max), or -1 when the code cannot be decoded.
 */
int probe_rip_targets(const uint8_t *code, size_t len, uint64_t vaddr,
		      uint64_t *out, int max);

/*
 * Offsets of the instructions right after each direct call to callee (a
 * link-time address) in a function at vaddr: where a called function's
 * result is in RAX, without a probe on its return (past a test of it, on
 * the branch the kernel emulates, when nothing else jumps there).
 * Returns how many, or -1 when the code cannot be decoded (or has more
 * than max).
 */
int probe_place_after_calls(const uint8_t *code, size_t len, uint64_t vaddr,
			    uint64_t callee, uint64_t *offs, int max);

/* Describes the first instruction: where return probes must go. */
int probe_place_first(const uint8_t *code, size_t len, struct probe_place *out);

#endif
