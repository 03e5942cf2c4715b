// SPDX-License-Identifier: GPL-2.0
/*
 * Heap tracking: uprobes on the target's allocator keep one record per live
 * allocation and one aggregate per allocating stack. User space only reads
 * the aggregates; it never walks the live allocations. The other kinds
 * (the Go heap, goroutines, threads, descriptors) live in headers of
 * their own, compiled into this one skeleton: they share its sites.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leakwatch.h"
#include "common.bpf.h"
#include "unwind.bpf.h"
#include "sites.bpf.h"
#include "sample.bpf.h"
#include "go_heap.bpf.h"
#include "goroutines.bpf.h"
#include "threads.bpf.h"
#include "fd.bpf.h"

#define MAP_ANONYMOUS 0x20
#define MAP_FAILED    ((__u64)-1)

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_LIVE_ALLOCS);
	__type(key, struct lw_alloc_key);
	__type(value, struct lw_alloc_val);
} allocs SEC(".maps");
/* Task storage, not a hash keyed by tid: cheaper, and gone with the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lw_pending);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, LW_RINGBUF_BYTES);
} map_events SEC(".maps");

static __always_inline struct lw_pending *pending_get(__u64 flags)
{
	return bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0,
				    flags);
}

/*
 * Taken at the return probe, where the instruction pointer is the return
 * address in the caller: the immediate caller is the first frame.
 */
static __always_inline __u32 capture_site(struct pt_regs *ctx, struct owner o)
{
	return site_of(ctx->ip, ctx->bp, ctx->sp, LW_KIND_HEAP, 0, o);
}

static __always_inline void track_alloc(struct pt_regs *ctx, struct owner o,
					__u64 addr, __u64 size)
{
	struct lw_alloc_key key = { .tgid = o.tgid,
				    .epoch = o.epoch,
				    .addr = addr };
	struct lw_alloc_val val = {
		.size = size,
		.site = capture_site(ctx, o),
		.gen = cur_gen,
	};

	if (bpf_map_update_elem(&allocs, &key, &val, BPF_ANY)) {
		count(LW_CNT_ALLOC_MAP_FULL);
		return;
	}
	if (sample_bytes)
		sample_site_add(val.site, size, val.gen);
	else
		site_add(val.site, size, val.gen);
}

/* Returns false when addr was not a block we saw being allocated. */
static __always_inline bool track_free(struct owner o, __u64 addr)
{
	struct lw_alloc_key key = { .tgid = o.tgid,
				    .epoch = o.epoch,
				    .addr = addr };
	struct lw_alloc_val *a = bpf_map_lookup_elem(&allocs, &key);
	struct lw_alloc_val copy;

	if (!a)
		return false;
	copy = *a;
	if (bpf_map_delete_elem(&allocs, &key))
		return false; /* a concurrent free of the same block won */
	if (sample_bytes)
		sample_site_sub(copy.site, copy.size, copy.gen);
	else
		site_sub(copy.site, copy.size, copy.gen);
	return true;
}

static __always_inline void emit_map_event(struct pt_regs *ctx, struct owner o,
					   __u32 op, __u64 addr, __u64 len,
					   __u64 new_addr, __u64 new_len)
{
	struct lw_map_event *e;

	e = bpf_ringbuf_reserve(&map_events, sizeof(*e), 0);
	if (!e) {
		count(LW_CNT_RINGBUF_LOST);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->tgid = o.tgid;
	e->op = op;
	e->addr = addr;
	e->len = len;
	e->new_addr = new_addr;
	e->new_len = new_len;
	e->gen = cur_gen;
	e->epoch = o.epoch;
	e->site = op == LW_MAP_MUNMAP ? LW_NO_SITE : capture_site(ctx, o);
	bpf_ringbuf_submit(e, 0);
}

/*
 * Is a call entered while p is in flight inside it? A call nested in it
 * runs deeper in the stack; one above its entry is not inside it: that
 * call returned and its return probe never ran (another tracer's
 * uretprobe on the same function, a longjmp), and must be forgotten, or
 * every later call would look nested and none be recorded. At the same
 * stack pointer, a tail call (calloc jumping into malloc) finds its
 * return address already taken by the return probe; a call made after
 * the lost return finds the caller's own.
 */
static __always_inline bool nested(const struct lw_pending *p, __u64 sp,
				   __u64 ret)
{
	return sp < p->sp || (sp == p->sp && ret != p->ret);
}

/* The call p's thread is in: its return probe will finish it. */
static __always_inline void pending_begin(struct lw_pending *p, __u32 fn,
					  __u64 a0, __u64 a1, __u64 a2,
					  __u64 sp, __u64 ret)
{
	p->arg0 = a0;
	p->arg1 = a1;
	p->arg2 = a2;
	p->sp = sp;
	p->ret = ret;
	p->depth = 0;
	p->fn = fn;
}

/*
 * Allocators call each other (realloc(NULL, n) calls malloc, memalign may
 * call malloc, malloc may mmap): only the outermost call, the one the
 * program made, is accounted. Its entry state doubles as the nesting mark.
 */
SEC("uprobe.multi")
int BPF_KPROBE(alloc_enter, __u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	__u32 fn = bpf_get_attach_cookie(ctx), tgid;
	__u64 sp = ctx->sp, ret = 0;
	struct lw_pending *p;

	if (!target_of(&tgid))
		return 0;
	p = pending_get(BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!p) {
		count(LW_CNT_PENDING_FULL);
		return 0;
	}
	bpf_probe_read_user(&ret, sizeof(ret), (void *)sp);
	if (p->fn && nested(p, sp, ret)) {
		p->depth++;
		count(LW_CNT_NESTED_CALL);
		return 0;
	}
	if (p->fn) {
		count(LW_CNT_LOST_EXIT);
		p->fn = 0;
	}
	if (fn == LW_FN_MMAP && !(a3 & MAP_ANONYMOUS))
		return 0;
	pending_begin(p, fn, a0, a1, a2, sp, ret);
	return 0;
}

static __always_inline void realloc_exit(struct pt_regs *ctx, struct owner o,
					 __u64 old, __u64 size, __u64 ret,
					 bool keep)
{
	if (!ret) {
		/* realloc(p, 0) frees p (glibc through free, seen already) */
		if (old && !size)
			track_free(o, old);
		else
			count(LW_CNT_FAILED_ALLOC);
		return;
	}
	if (old && !track_free(o, old) && !sample_bytes)
		count(LW_CNT_UNMATCHED_FREE);
	if (keep)
		track_alloc(ctx, o, ret, size);
}

static __always_inline void mmap_exit(struct pt_regs *ctx, struct owner o,
				      struct lw_pending *p, __u64 ret)
{
	if (ret == MAP_FAILED) {
		count(LW_CNT_FAILED_ALLOC);
		return;
	}
	if (p->fn == LW_FN_MMAP)
		emit_map_event(ctx, o, LW_MAP_MMAP, ret, p->arg1, 0, 0);
	else
		emit_map_event(ctx, o, LW_MAP_MREMAP, p->arg0, p->arg1, ret,
			       p->arg2);
}

/* The size a call asks for (malloc, valloc, pvalloc: the first argument). */
static __always_inline __u64 call_size(__u32 fn, __u64 a0, __u64 a1, __u64 a2)
{
	switch (fn) {
	case LW_FN_CALLOC:
		return a0 * a1;
	case LW_FN_REALLOC:
	case LW_FN_ALIGNED_ALLOC:
		return a1;
	case LW_FN_REALLOCARRAY:
		return a1 * a2;
	case LW_FN_POSIX_MEMALIGN:
		return a2;
	default:
		return a0;
	}
}

static __always_inline void dispatch_exit(struct pt_regs *ctx, struct owner o,
					  struct lw_pending *p, __u64 ret)
{
	/* --sample: a call sampled, or a realloc of a sampled block */
	bool keep = !sample_bytes || p->sampled;
	__u64 addr = ret, size = call_size(p->fn, p->arg0, p->arg1, p->arg2);

	switch (p->fn) {
	case LW_FN_REALLOC:
	case LW_FN_REALLOCARRAY:
		realloc_exit(ctx, o, p->arg0, size, ret, keep);
		return;
	case LW_FN_MMAP:
	case LW_FN_MREMAP:
		mmap_exit(ctx, o, p, ret);
		return;
	case LW_FN_POSIX_MEMALIGN:
		/* returns an error number; the block comes back through arg0 */
		addr = 0;
		if (!ret)
			bpf_probe_read_user(&addr, sizeof(addr),
					    (void *)p->arg0);
		break;
	}
	if (!addr)
		count(LW_CNT_FAILED_ALLOC);
	else if (keep)
		track_alloc(ctx, o, addr, size);
}

static __always_inline int exit_common(struct pt_regs *ctx, __u64 ret)
{
	struct lw_target_val *t;
	struct lw_pending *p, copy;
	struct owner o;

	t = traced(&o);
	if (!t)
		return 0;
	p = pending_get(0);
	if (!p || !p->fn)
		return 0;
	if (p->depth) {
		p->depth--;
		return 0;
	}
	copy = *p;
	p->fn = 0;
	dispatch_exit(ctx, o, &copy, ret);
	return 0;
}

SEC("uretprobe.multi")
int BPF_KRETPROBE(alloc_exit, __u64 ret)
{
	return exit_common(ctx, ret);
}

/* Whether addr is a block recorded (sampled) for this process. */
static __always_inline bool recorded(struct owner o, __u64 addr)
{
	struct lw_alloc_key key = { .tgid = o.tgid,
				    .epoch = o.epoch,
				    .addr = addr };

	return addr && bpf_map_lookup_elem(&allocs, &key);
}

/*
 * The entry of a sampled run (--sample). Returning 1 tells the kernel to
 * skip this call's return probe: untraced processes, calls nested in
 * another and unsampled calls pay the entry trap only. mmap and mremap
 * are tracked whole (user space follows mappings exactly); a realloc of a
 * sampled block must see its return, whether the new one is kept or not.
 */
static __always_inline int sample_enter(struct pt_regs *ctx, __u64 a0, __u64 a1,
					__u64 a2, __u64 a3)
{
	__u32 fn = bpf_get_attach_cookie(ctx);
	__u64 sp = ctx->sp, ret = 0, size = call_size(fn, a0, a1, a2);
	struct lw_pending *p;
	struct owner o;
	bool take;

	if (!traced(&o))
		return 1;
	p = pending_get(BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!p) {
		count(LW_CNT_PENDING_FULL);
		return 1;
	}
	bpf_probe_read_user(&ret, sizeof(ret), (void *)sp);
	if ((p->fn && nested(p, sp, ret)) ||
	    inside_unsampled(p, sp, ret, fn, a0, size)) {
		count(LW_CNT_NESTED_CALL);
		return 1;
	}
	if (p->fn) {
		count(LW_CNT_LOST_EXIT);
		p->fn = 0;
	}
	p->u_sp = 0;
	if (fn == LW_FN_MMAP && !(a3 & MAP_ANONYMOUS))
		return 1;
	take = fn == LW_FN_MMAP || fn == LW_FN_MREMAP;
	if (!take) {
		count(LW_CNT_HEAP_CALL);
		p->sampled = sample_take(p, size);
		take = p->sampled ||
		       ((fn == LW_FN_REALLOC || fn == LW_FN_REALLOCARRAY) &&
			recorded(o, a0));
	}
	if (!take) {
		p->u_sp = sp;
		p->u_ret = ret;
		p->u_ip = ctx->ip;
		p->u_size = size;
		p->u_arg0 = a0;
		p->u_fn = fn;
		return 1;
	}
	pending_begin(p, fn, a0, a1, a2, sp, ret);
	return 0;
}

/*
 * --sample: one program for both ends of a call (a session uprobe). Its
 * expected attach type is set to BPF_TRACE_UPROBE_SESSION at load, and
 * it is attached by user space (libbpf before 1.6 has no name for it).
 */
SEC("uprobe.multi")
int BPF_KPROBE(alloc_session, __u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	if (bpf_session_is_return())
		return exit_common(ctx, PT_REGS_RC(ctx));
	return sample_enter(ctx, a0, a1, a2, a3);
}

/*
 * free and munmap need no return value: one entry probe each, placed by
 * user space on an instruction the kernel can emulate. They are counted
 * even inside another allocator call: realloc(p, 0) frees p through
 * free, and its exit then finds p gone; munmaps inside malloc or free
 * touch no mapping the program made, so user space ignores them.
 */
SEC("uprobe.multi")
int BPF_KPROBE(release_enter, __u64 addr, __u64 len)
{
	__u32 fn = bpf_get_attach_cookie(ctx);
	struct lw_target_val *t;
	struct owner o;

	t = traced(&o);
	if (!t)
		return 0;
	if (fn == LW_FN_MUNMAP) {
		emit_map_event(ctx, o, LW_MAP_MUNMAP, addr, len, 0, 0);
		return 0;
	}
	/* sampled: most blocks were never recorded, and need not be */
	if (addr && !track_free(o, addr) && !sample_bytes)
		count(LW_CNT_UNMATCHED_FREE);
	return 0;
}

/*
 * A new program image: what the old one allocated is gone with it; its
 * descriptors the exec closed (close-on-exec) are counted, now that the
 * table shows which, before the new image can reuse a number.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec)
{
	struct lw_target_val *t;
	struct owner o;

	t = traced(&o);
	if (!t)
		return 0;
	if (fds_tracked)
		fd_exec(t, o);
	__sync_fetch_and_add(&t->epoch, 1);
	return 0;
}
