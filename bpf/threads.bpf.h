/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Threads: the stack that created each one (pthread_create, std::thread,
 * or the clone itself), live ones by tid; and the iterator user space
 * reads where every thread is from.
 */
#ifndef LW_THREADS_BPF_H
#define LW_THREADS_BPF_H

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

/* How far below an entry probe's sp its nested call's sp may be. */
#define LW_NEST_FRAME_MAX 256

static __always_inline bool nested_in(__u64 outer_sp, __u64 sp)
{
	return outer_sp > sp && outer_sp - sp <= LW_NEST_FRAME_MAX;
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
	/* a BTF pointer: three loads, not a copy of every register */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

	if (!regs)
		return LW_NO_SITE;
	return site_of(regs->ip, regs->bp, regs->sp, LW_KIND_THREAD, 0, o);
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

#endif
