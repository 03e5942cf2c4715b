// SPDX-License-Identifier: GPL-2.0
/*
 * Heap tracking: uprobes on the target's allocator keep one record per live
 * allocation and one aggregate per allocating stack. User space only reads
 * the aggregates; it never walks the live allocations.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "leakwatch.h"
#include "common.bpf.h"
#include "unwind.bpf.h"

#define MAP_ANONYMOUS 0x20
#define MAP_FAILED    ((__u64)-1)

char LICENSE[] SEC("license") = "GPL";

/* The next free site index; 0 is LW_NO_SITE. */
__u32 next_site = 1;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_LIVE_ALLOCS);
	__type(key, struct lw_alloc_key);
	__type(value, struct lw_alloc_val);
} allocs SEC(".maps");

/* Site index of each stack seen, by a hash of its frames and epoch. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_SITES);
	__type(key, __u64);
	__type(value, __u32);
} stack_sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LW_MAX_SITES);
	__type(key, __u32);
	__type(value, struct lw_stack);
} site_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LW_MAX_SITES);
	__type(key, __u32);
	__type(value, struct lw_site_val);
} sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_stack);
} scratch SEC(".maps");

/* Live threads born since attach, by tid: their site and generation. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_THREADS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct lw_go_val);
} threads SEC(".maps");

/*
 * The site of a thread being created, until the clone that makes it names
 * the new thread. outer_sp: std::thread's entry stack pointer while its
 * nested pthread_create is to come.
 */
struct lw_creator {
	__u32 site;
	__u64 outer_sp;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lw_creator);
} creators SEC(".maps");

/* Goroutines are born far less often than blocks: not preallocated. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_GOROUTINES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lw_go_key);
	__type(value, struct lw_go_val);
} goroutines SEC(".maps");

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
 * The stack from (ip, sp, fp): ip a return address (or the pc itself)
 * and sp the stack pointer there. Go always keeps frame pointers, but its
 * chain crosses from the system stack into the goroutine's, anywhere in
 * the heap: there only the depth bounds the walk. A C walk that stops
 * short of its outermost frame is counted.
 */

static __always_inline __u64 walk(__u64 ip, __u64 fp, __u64 sp, __u32 kind,
				  struct owner o, struct lw_stack *st)
{
	struct walk_state w = { .ip = ip, .sp = sp, .fp = fp };
	/* Go code: its frame pointers (no CFI in Go binaries) */
	bool go = (1u << kind) &
		  (1u << LW_KIND_GOROUTINE | 1u << LW_KIND_GO_HEAP);
	__u64 h = 0xcbf29ce484222325ull;
	struct vma_cache *cache = NULL;
	int i, res = STEP_NEXT;
	__u32 seq = 1;

	if (!go)
		cache = cache_load(&w, &seq);
	w.lo = go ? 0 : sp;
	w.hi = go ? ~0ull : sp + LW_STACK_SPAN;
	st->ips[0] = ip;
	h = (h ^ ip) * 0x100000001b3ull;
	for (i = 1; i < LW_MAX_STACK_DEPTH; i++) {
		st->ips[i] = 0;
		res = go ? fp_step(&w) : lw_step(&w);
		if (res != STEP_NEXT)
			break;
		st->ips[i] = w.ip;
		h = (h ^ w.ip) * 0x100000001b3ull;
		if (!go)
			w.lo = w.sp;
	}
	if (!go && res != STEP_END)
		count(LW_CNT_TRUNCATED_STACK);
	cache_store(cache, &w, seq);
	/* what follows the 0 terminator is never read */
	st->epoch = o.epoch;
	st->kind = kind;
	st->tgid = o.tgid;
	h = (h ^ ((__u64)kind << 32 | o.epoch)) * 0x100000001b3ull;
	h = (h ^ o.tgid) * 0x100000001b3ull;
	return h ^ (h >> 33);
}

static __always_inline bool same_stack(const struct lw_stack *a,
				       const struct lw_stack *b)
{
	int i;

	if (a->epoch != b->epoch || a->kind != b->kind || a->tgid != b->tgid)
		return false;
	for (i = 0; i < LW_MAX_STACK_DEPTH; i++) {
		if (a->ips[i] != b->ips[i])
			return false;
		if (!a->ips[i])
			break;
	}
	return true;
}

/* A stack never seen: give it the next site index, then publish it. */
static __always_inline __u32 new_site(__u64 h, const struct lw_stack *st)
{
	__u32 idx = __sync_fetch_and_add(&next_site, 1), *won;
	struct lw_stack *slot;

	slot = bpf_map_lookup_elem(&site_stacks, &idx);
	if (!slot) {
		count(LW_CNT_SITE_MAP_FULL);
		return LW_NO_SITE;
	}
	bpf_probe_read_kernel(slot, sizeof(*slot), st);
	if (!bpf_map_update_elem(&stack_sites, &h, &idx, BPF_NOEXIST))
		return idx;
	/* another CPU published the same stack first: its index wins */
	won = bpf_map_lookup_elem(&stack_sites, &h);
	if (won)
		return *won;
	count(LW_CNT_STACK_MAP_FULL);
	return LW_NO_SITE;
}

static __always_inline __u32 site_of(__u64 ip, __u64 fp, __u64 sp, __u32 kind,
				     __u64 start, struct owner o)
{
	struct lw_stack *st, *old;
	__u32 zero = 0, *idx;
	__u64 h;

	st = bpf_map_lookup_elem(&scratch, &zero);
	if (!st)
		return LW_NO_SITE;
	h = walk(ip, fp, sp, kind, o, st);
	st->start = start;
	idx = bpf_map_lookup_elem(&stack_sites, &h);
	if (!idx)
		return new_site(h, st);
	old = bpf_map_lookup_elem(&site_stacks, idx);
	if (old && same_stack(old, st))
		return *idx;
	count(LW_CNT_STACK_COLLISION);
	return LW_NO_SITE;
}

#include "go_heap.bpf.h"

/* How far below an entry probe's sp its nested call's sp may be. */
#define LW_NEST_FRAME_MAX 256

static __always_inline bool nested_in(__u64 outer_sp, __u64 sp)
{
	return outer_sp > sp && outer_sp - sp <= LW_NEST_FRAME_MAX;
}

/*
 * Taken at the return probe, where the instruction pointer is the return
 * address in the caller: the immediate caller is the first frame.
 */
static __always_inline __u32 capture_site(struct pt_regs *ctx, struct owner o)
{
	return site_of(ctx->ip, ctx->bp, ctx->sp, LW_KIND_HEAP, 0, o);
}

static __always_inline void site_add(__u32 idx, __u64 size, __u32 gen)
{
	struct lw_site_val *site = bpf_map_lookup_elem(&sites, &idx);

	if (!site)
		return;
	__sync_fetch_and_add(&site->bytes, size);
	__sync_fetch_and_add(&site->allocs, 1);
	__sync_fetch_and_add(&site->gen_count[gen % LW_NGEN], 1);
}

static __always_inline void site_sub(__u32 idx, __u64 size, __u32 gen)
{
	struct lw_site_val *site = bpf_map_lookup_elem(&sites, &idx);

	if (!site)
		return;
	__sync_fetch_and_add(&site->bytes, -(__s64)size);
	__sync_fetch_and_add(&site->frees, 1);
	__sync_fetch_and_add(&site->gen_count[gen % LW_NGEN], -1);
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
	p->arg0 = a0;
	p->arg1 = a1;
	p->arg2 = a2;
	p->sp = sp;
	p->ret = ret;
	p->depth = 0;
	p->fn = fn;
	return 0;
}

static __always_inline void realloc_exit(struct pt_regs *ctx, struct owner o,
					 __u64 old, __u64 size, __u64 ret)
{
	if (!ret) {
		/* realloc(p, 0) frees p (glibc through free, seen already) */
		if (old && !size)
			track_free(o, old);
		else
			count(LW_CNT_FAILED_ALLOC);
		return;
	}
	if (old && !track_free(o, old))
		count(LW_CNT_UNMATCHED_FREE);
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

static __always_inline void dispatch_exit(struct pt_regs *ctx, struct owner o,
					  struct lw_pending *p, __u64 ret)
{
	__u64 addr = 0, size;

	switch (p->fn) {
	case LW_FN_REALLOC:
		realloc_exit(ctx, o, p->arg0, p->arg1, ret);
		return;
	case LW_FN_REALLOCARRAY:
		realloc_exit(ctx, o, p->arg0, p->arg1 * p->arg2, ret);
		return;
	case LW_FN_MMAP:
	case LW_FN_MREMAP:
		mmap_exit(ctx, o, p, ret);
		return;
	case LW_FN_POSIX_MEMALIGN:
		/* returns an error number; the block comes back through arg0 */
		if (!ret)
			bpf_probe_read_user(&addr, sizeof(addr),
					    (void *)p->arg0);
		size = p->arg2;
		break;
	case LW_FN_CALLOC:
		addr = ret;
		size = p->arg0 * p->arg1;
		break;
	case LW_FN_ALIGNED_ALLOC:
		addr = ret;
		size = p->arg1;
		break;
	default: /* malloc, valloc, pvalloc: the size is the first argument */
		addr = ret;
		size = p->arg0;
		break;
	}
	if (addr)
		track_alloc(ctx, o, addr, size);
	else
		count(LW_CNT_FAILED_ALLOC);
}

SEC("uretprobe.multi")
int BPF_KRETPROBE(alloc_exit, __u64 ret)
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
	if (addr && !track_free(o, addr))
		count(LW_CNT_UNMATCHED_FREE);
	return 0;
}

/* A new program image: what the old one allocated is gone with it. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec)
{
	struct lw_target_val *t;
	__u32 tgid;

	t = target_of(&tgid);
	if (t)
		__sync_fetch_and_add(&t->epoch, 1);
	return 0;
}

/*
 * At a RET of runtime.newproc1 (entry probes found by decoding it: never a
 * uretprobe on Go code). It runs on the system stack; the return address
 * at [rsp] leads through systemstack into the goroutine that ran `go`.
 */
static __always_inline void
go_created(struct pt_regs *ctx, const struct lw_target_val *t, struct owner o)
{
	struct lw_go_key key = { .tgid = o.tgid };
	struct lw_go_val val = { .gen = cur_gen };
	__u64 ret, start = 0;

	if (bpf_probe_read_user(&key.goid, sizeof(key.goid),
				(void *)(ctx->ax + t->go_goid_off)) ||
	    bpf_probe_read_user(&ret, sizeof(ret), (void *)ctx->sp)) {
		count(LW_CNT_GO_READ_ERROR);
		return;
	}
	bpf_probe_read_user(&start, sizeof(start),
			    (void *)(ctx->ax + t->go_startpc_off));
	val.site = site_of(ret, ctx->bp, ctx->sp, LW_KIND_GOROUTINE, start, o);
	if (bpf_map_update_elem(&goroutines, &key, &val, BPF_ANY)) {
		count(LW_CNT_GO_MAP_FULL);
		return;
	}
	site_add(val.site, 0, val.gen);
}

/* runtime.goexit1, past its stack check (a morestack retry would run the
 * prologue twice): the dying g is in R14. */
static __always_inline void
go_exited(struct pt_regs *ctx, const struct lw_target_val *t, struct owner o)
{
	struct lw_go_key key = { .tgid = o.tgid };
	struct lw_go_val *v, copy;

	if (bpf_probe_read_user(&key.goid, sizeof(key.goid),
				(void *)(ctx->r14 + t->go_goid_off))) {
		count(LW_CNT_GO_READ_ERROR);
		return;
	}
	v = bpf_map_lookup_elem(&goroutines, &key);
	if (!v) {
		count(LW_CNT_GO_UNSEEN_EXIT);
		return;
	}
	copy = *v;
	if (!bpf_map_delete_elem(&goroutines, &key))
		site_sub(copy.site, 0, copy.gen);
}

SEC("uprobe.multi")
int BPF_KPROBE(go_probe)
{
	struct lw_target_val *t;
	struct owner o;

	t = traced(&o);
	if (!t)
		return 0;
	if (bpf_get_attach_cookie(ctx) == LW_FN_GO_NEWPROC)
		go_created(ctx, t, o);
	else
		go_exited(ctx, t, o);
	return 0;
}

/*
 * std::thread::_M_start_thread(this, unique_ptr<_State> *state, ...): the
 * thread will run (*state)->_M_run(), the third slot of _State's vtable
 * (after the two destructors).
 */
static __always_inline __u64 cxx_run_fn(__u64 state_ptr)
{
	__u64 state, vtable, run;

	if (bpf_probe_read_user(&state, sizeof(state), (void *)state_ptr) ||
	    bpf_probe_read_user(&vtable, sizeof(vtable), (void *)state) ||
	    bpf_probe_read_user(&run, sizeof(run), (void *)(vtable + 16)))
		return 0;
	return run;
}

/*
 * Entry of pthread_create or of std::thread's _M_start_thread: [rsp] is
 * the return address into the code that creates the thread, rbp that
 * code's frame; rdx is pthread_create's start routine. The pthread_create
 * that std::thread makes keeps std::thread's site: its caller has no frame
 * pointer, the user's line would be lost.
 */
SEC("uprobe.multi")
int BPF_KPROBE(thread_create, void *a0, __u64 a1, __u64 a2)
{
	bool cxx = bpf_get_attach_cookie(ctx) == LW_FN_CXX_THREAD;
	__u64 ret, start, sp = ctx->sp, bp = ctx->bp;
	struct lw_target_val *t;
	struct lw_creator *c;
	struct owner o;

	barrier_var(sp); /* one ctx load: the verifier rejects offset ones */
	t = target_of(&o.tgid);
	if (!t || bpf_probe_read_user(&ret, sizeof(ret), (void *)sp))
		return 0;
	o.epoch = t->epoch;
	c = bpf_task_storage_get(&creators, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c)
		return 0;
	if (!cxx && nested_in(c->outer_sp, sp)) {
		c->outer_sp = 0; /* named once: a failed call leaves no trace */
		return 0;
	}
	start = cxx ? cxx_run_fn(a1) : a2;
	c->site = site_of(ret, bp, sp + 8, LW_KIND_THREAD, start, o);
	c->outer_sp = cxx ? sp : 0;
	return 0;
}

/* A thread made without pthread_create: the stack of its clone call. */
static __always_inline __u32 clone_site(struct task_struct *task,
					struct owner o)
{
	struct pt_regs regs;

	if (bpf_probe_read_kernel(&regs, sizeof(regs),
				  (void *)bpf_task_pt_regs(task)))
		return LW_NO_SITE;
	return site_of(regs.ip, regs.bp, regs.sp, LW_KIND_THREAD, 0, o);
}

SEC("tp_btf/task_newtask")
int BPF_PROG(on_newtask, struct task_struct *child, __u64 clone_flags)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct lw_go_val val = { .gen = cur_gen };
	struct lw_target_val *t;
	struct lw_creator *c;
	__u32 tid = child->pid;
	struct owner o;

	if (!(clone_flags & 0x00010000 /* CLONE_THREAD */))
		return 0;
	t = traced(&o);
	if (!t)
		return 0;
	c = bpf_task_storage_get(&creators, task, 0, 0);
	if (c && c->site) {
		val.site = c->site;
		c->site = 0;
	} else {
		val.site = clone_site(task, o);
	}
	if (bpf_map_update_elem(&threads, &tid, &val, BPF_ANY)) {
		count(LW_CNT_THREAD_MAP_FULL);
		return 0;
	}
	site_add(val.site, 0, val.gen);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_thread_exit)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), tgid;
	struct lw_go_val *v, copy;

	if (!target_of(&tgid))
		return 0;
	v = bpf_map_lookup_elem(&threads, &tid);
	if (!v)
		return 0;
	copy = *v;
	if (!bpf_map_delete_elem(&threads, &tid))
		site_sub(copy.site, 0, copy.gen);
	return 0;
}

/*
 * Each report: every thread of the target and its saved user registers,
 * from which user space unwinds its stack (what threads born before
 * attach run, where threads are blocked).
 */
SEC("iter/task")
int thread_snap(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct lw_thread_snap s = {};
	struct pt_regs regs;

	/* the iterator's link names the process (bpf_iter_link_info) */
	if (!task || !task->mm ||
	    bpf_probe_read_kernel(&regs, sizeof(regs),
				  (void *)bpf_task_pt_regs(task)))
		return 0;
	s.tid = task->pid;
	s.ip = regs.ip;
	s.sp = regs.sp;
	s.bp = regs.bp;
	s.bx = regs.bx;
	s.r12 = regs.r12;
	s.r13 = regs.r13;
	s.r14 = regs.r14;
	s.r15 = regs.r15;
	bpf_seq_write(ctx->meta->seq, &s, sizeof(s));
	return 0;
}
