// SPDX-License-Identifier: GPL-2.0
#include <Zydis/Zydis.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "probe_place.h"

/*
 * Leading instructions we are willing to step over: any number would be
 * correct (none writes memory, rsp or what the probe reads), the bound
 * only keeps the search short. jemalloc's free computes its thread's
 * cache for 9 register instructions before its first jump.
 */
#define MAX_SKIP 12

static const ZydisRegister arg_regs[] = {
	ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_RSI, ZYDIS_REGISTER_RDX,
	ZYDIS_REGISTER_RCX, ZYDIS_REGISTER_R8,	ZYDIS_REGISTER_R9,
};

struct decoded {
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};

static bool decode(const ZydisDecoder *d, const uint8_t *code, size_t len,
		   struct decoded *out)
{
	return ZYAN_SUCCESS(
		ZydisDecoderDecodeFull(d, code, len, &out->insn, out->ops));
}

/* Mirrors what arch/x86/kernel/uprobes.c emulates instead of stepping. */
static bool kernel_emulates(const struct decoded *d, const uint8_t *code)
{
	const ZydisDecodedInstruction *i = &d->insn;
	uint8_t op = code[i->raw.prefix_count];

	if (i->mnemonic == ZYDIS_MNEMONIC_PUSH && i->length <= 2 &&
	    d->ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER) {
		/* 50+r, or REX.B (0x41) 50+r for r8..r15 */
		return (i->length == 1 && op >= 0x50 && op <= 0x57) ||
		       (code[0] == 0x41 && code[1] >= 0x50 && code[1] <= 0x57);
	}
	if (i->raw.prefix_count)
		return false;
	if (op == 0x90 && i->length == 1)
		return true;
	if (op == 0xe8 || op == 0xe9 || op == 0xeb)
		return true;
	if (op >= 0x70 && op <= 0x7f)
		return true;
	return op == 0x0f && i->length == 6 && code[1] >= 0x80 &&
	       code[1] <= 0x8f;
}

static bool is_protected(ZydisRegister reg, unsigned args)
{
	ZydisRegister full;
	unsigned i;

	full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64,
						reg);
	if (full == ZYDIS_REGISTER_RSP || full == ZYDIS_REGISTER_RIP)
		return true;
	if ((args & PP_FRAME) && full == ZYDIS_REGISTER_RBP)
		return true;
	for (i = 0; i < sizeof(arg_regs) / sizeof(arg_regs[0]); i++)
		if ((args & PP_ARG(i)) && full == arg_regs[i])
			return true;
	return false;
}

/*
 * An instruction may be stepped over when it cannot change control flow,
 * memory, the stack pointer or an argument the probe reads: then the
 * registers the probe sees after it are the ones the caller passed.
 */
static bool side_effect_free(const struct decoded *d, unsigned args)
{
	const ZydisDecodedInstruction *i = &d->insn;
	unsigned k;

	/* CET's landing pad: a nop to everything but indirect branches */
	if (i->mnemonic == ZYDIS_MNEMONIC_ENDBR64)
		return true;
	if (i->meta.category != ZYDIS_CATEGORY_BINARY &&
	    i->meta.category != ZYDIS_CATEGORY_LOGICAL &&
	    i->meta.category != ZYDIS_CATEGORY_SHIFT &&
	    i->meta.category != ZYDIS_CATEGORY_DATAXFER)
		return false;
	if (i->attributes & ZYDIS_ATTRIB_HAS_LOCK)
		return false;
	for (k = 0; k < i->operand_count; k++) {
		const ZydisDecodedOperand *o = &d->ops[k];

		if (!(o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			continue;
		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY)
			return false;
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    is_protected(o->reg.value, args))
			return false;
	}
	return true;
}

/* Is any branch of the function aimed into (lo, hi]? */
static bool branch_between(const ZydisDecoder *dec, const uint8_t *code,
			   size_t len, uint64_t lo, uint64_t hi)
{
	struct decoded d;
	size_t off = 0;
	ZyanU64 target;
	unsigned k;

	while (off < len && decode(dec, code + off, len - off, &d)) {
		for (k = 0; k < d.insn.operand_count_visible; k++) {
			if (d.ops[k].type != ZYDIS_OPERAND_TYPE_IMMEDIATE ||
			    !d.ops[k].imm.is_relative)
				continue;
			if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(
				    &d.insn, &d.ops[k], off, &target)) ||
			    (target > lo && target <= hi))
				return true;
		}
		off += d.insn.length;
	}
	return false;
}

/* Is any branch of the function aimed into (0, upto]? Then not every
 * path through upto started at the entry, or some pass it twice. */
static bool branch_into(const ZydisDecoder *dec, const uint8_t *code,
			size_t len, uint64_t upto)
{
	return branch_between(dec, code, len, 0, upto);
}

static void describe(const struct decoded *d, uint64_t off, char *buf,
		     size_t len)
{
	ZydisFormatter fmt;

	ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_ATT);
	if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(
		    &fmt, &d->insn, d->ops, d->insn.operand_count_visible, buf,
		    len, off, NULL)))
		snprintf(buf, len, "?");
}

int probe_place_first(const uint8_t *code, size_t len, struct probe_place *out)
{
	ZydisDecoder dec;
	struct decoded d;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
			 ZYDIS_STACK_WIDTH_64);
	memset(out, 0, sizeof(*out));
	if (!decode(&dec, code, len, &d))
		return -1;
	describe(&d, 0, out->insn, sizeof(out->insn));
	out->emulated = kernel_emulates(&d, code);
	return 0;
}

int probe_place_entry(const uint8_t *code, size_t len, unsigned args,
		      struct probe_place *out)
{
	ZydisDecoder dec;
	struct decoded d;
	uint64_t off = 0;
	int n;

	if (probe_place_first(code, len, out))
		return -1;
	if (out->emulated)
		return 0;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
			 ZYDIS_STACK_WIDTH_64);
	for (n = 0; n <= MAX_SKIP && off < len; n++) {
		if (!decode(&dec, code + off, len - off, &d))
			break;
		if (kernel_emulates(&d, code + off)) {
			if (off && branch_into(&dec, code, len, off))
				break;
			out->offset = off;
			out->emulated = 1;
			describe(&d, off, out->insn, sizeof(out->insn));
			return 0;
		}
		if (!side_effect_free(&d, args))
			break;
		off += d.insn.length;
	}
	return 0; /* the entry itself: always correct, maybe stepped */
}

/* Calls fn on each instruction of [code, code + len): -1 when one does
 * not decode or fn says stop, else 0. */
typedef bool (*insn_fn)(const struct decoded *d, uint64_t off, void *ctx);

static int for_each_insn(const uint8_t *code, size_t len, insn_fn fn, void *ctx)
{
	ZydisDecoder dec;
	struct decoded d;
	size_t off = 0;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
			 ZYDIS_STACK_WIDTH_64);
	while (off < len) {
		if (!decode(&dec, code + off, len - off, &d) ||
		    !fn(&d, off, ctx))
			return -1;
		off += d.insn.length;
	}
	return 0;
}

struct collect {
	uint64_t *out;
	uint64_t base;
	int n, max;
};

static bool collect_ret(const struct decoded *d, uint64_t off, void *ctx)
{
	struct collect *c = ctx;

	if (d->insn.mnemonic != ZYDIS_MNEMONIC_RET)
		return true;
	if (c->n == c->max)
		return false;
	c->out[c->n++] = off;
	return true;
}

int probe_place_rets(const uint8_t *code, size_t len, uint64_t *offs, int max)
{
	struct collect c = { .out = offs, .max = max };

	return for_each_insn(code, len, collect_ret, &c) ? -1 : c.n;
}

static bool reads_stack_pointer(const struct decoded *d)
{
	unsigned k;

	for (k = 0; k < d->insn.operand_count_visible; k++) {
		const ZydisDecodedOperand *o = &d->ops[k];

		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    o->reg.value == ZYDIS_REGISTER_RSP)
			return true;
		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    o->mem.base == ZYDIS_REGISTER_RSP)
			return true; /* lea -N(%rsp), %r12 for large frames */
	}
	return false;
}

int probe_place_after_stack_check(const uint8_t *code, size_t len,
				  struct probe_place *out)
{
	ZydisDecoder dec;
	struct decoded d;
	bool saw_sp = false;
	size_t off = 0;
	int n;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
			 ZYDIS_STACK_WIDTH_64);
	for (n = 0; n < 4 && off < len; n++) {
		if (!decode(&dec, code + off, len - off, &d))
			return -1;
		off += d.insn.length;
		if (d.insn.meta.category == ZYDIS_CATEGORY_COND_BR) {
			if (!saw_sp || off >= len ||
			    branch_into(&dec, code, len, off))
				return -1;
			if (!decode(&dec, code + off, len - off, &d))
				return -1;
			memset(out, 0, sizeof(*out));
			out->offset = off;
			out->emulated = kernel_emulates(&d, code + off);
			describe(&d, off, out->insn, sizeof(out->insn));
			return 0;
		}
		if (!side_effect_free(&d, 0))
			return -1;
		saw_sp |= reads_stack_pointer(&d);
	}
	return -1;
}

static bool collect_rip(const struct decoded *d, uint64_t off, void *ctx)
{
	struct collect *c = ctx;
	ZyanU64 target;
	unsigned k;

	for (k = 0; k < d->insn.operand_count_visible && c->n < c->max; k++) {
		if (d->ops[k].type != ZYDIS_OPERAND_TYPE_MEMORY ||
		    d->ops[k].mem.base != ZYDIS_REGISTER_RIP)
			continue;
		if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(
			    &d->insn, &d->ops[k], c->base + off, &target)))
			c->out[c->n++] = target;
	}
	return true;
}

int probe_rip_targets(const uint8_t *code, size_t len, uint64_t vaddr,
		      uint64_t *out, int max)
{
	struct collect c = { .out = out, .base = vaddr, .max = max };

	return for_each_insn(code, len, collect_rip, &c) ? -1 : c.n;
}

struct after_call {
	struct collect c;
	uint64_t callee;
	const uint8_t *code;
	size_t len;
};

/* Writes nothing but the flags (test, cmp): the registers stay. */
static bool only_flags(const struct decoded *d)
{
	unsigned k;

	if (d->insn.mnemonic != ZYDIS_MNEMONIC_TEST &&
	    d->insn.mnemonic != ZYDIS_MNEMONIC_CMP)
		return false;
	for (k = 0; k < d->insn.operand_count; k++) {
		const ZydisDecodedOperand *o = &d->ops[k];

		if (!(o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			continue;
		if (o->type != ZYDIS_OPERAND_TYPE_REGISTER ||
		    (o->reg.value != ZYDIS_REGISTER_RFLAGS &&
		     o->reg.value != ZYDIS_REGISTER_EFLAGS &&
		     o->reg.value != ZYDIS_REGISTER_FLAGS))
			return false;
	}
	return true;
}

/*
 * Right after a call the result is in RAX, but the instruction there is
 * mostly `test %rax,%rax`, which the kernel steps out of line (a second
 * trap). The branch that follows it is emulated: probe there when only
 * flag-setting instructions lie between and no other path jumps in.
 */
static uint64_t emulated_after(const uint8_t *code, size_t len, uint64_t at)
{
	ZydisDecoder dec;
	struct decoded d;
	uint64_t off = at;
	int n;

	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
			 ZYDIS_STACK_WIDTH_64);
	for (n = 0; n < 3 && off < len; n++) {
		if (!decode(&dec, code + off, len - off, &d))
			break;
		if (kernel_emulates(&d, code + off))
			return off == at || !branch_between(&dec, code, len, at,
							    off)
				       ? off
				       : at;
		if (!only_flags(&d))
			break;
		off += d.insn.length;
	}
	return at;
}

static bool collect_after_call(const struct decoded *d, uint64_t off, void *ctx)
{
	struct after_call *a = ctx;
	ZyanU64 target;

	if (d->insn.mnemonic != ZYDIS_MNEMONIC_CALL ||
	    d->ops[0].type != ZYDIS_OPERAND_TYPE_IMMEDIATE ||
	    !ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&d->insn, &d->ops[0],
						   a->c.base + off, &target)) ||
	    target != a->callee)
		return true;
	if (a->c.n == a->c.max)
		return false;
	a->c.out[a->c.n++] =
		emulated_after(a->code, a->len, off + d->insn.length);
	return true;
}

int probe_place_after_calls(const uint8_t *code, size_t len, uint64_t vaddr,
			    uint64_t callee, uint64_t *offs, int max)
{
	struct after_call a = { .c = { .out = offs, .base = vaddr, .max = max },
				.callee = callee,
				.code = code,
				.len = len };

	return for_each_insn(code, len, collect_after_call, &a) ? -1 : a.c.n;
}
