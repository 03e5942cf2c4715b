/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Descriptors: the stack that opened each live one, by (process, epoch,
 * fd). This kernel has no kprobes and refuses fentry (EPERM), and no
 * tracepoint marks an fd's installation: the raw syscall exit tracepoint
 * (by BTF: no tracefs) sees every call that makes or drops one, with the
 * user registers it entered with - its arguments and its stack.
 *
 * Every syscall of the machine passes here: the number is the first and,
 * for all but a few, the only thing looked at.
 */
#ifndef LW_FD_BPF_H
#define LW_FD_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_FDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lw_fd_key);
	__type(value, struct lw_fd_val);
} fds SEC(".maps");

/* x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl) */
enum {
	NR_OPEN = 2,
	NR_CLOSE = 3,
	NR_PIPE = 22,
	NR_DUP = 32,
	NR_DUP2 = 33,
	NR_SOCKET = 41,
	NR_ACCEPT = 43,
	NR_SOCKETPAIR = 53,
	NR_FCNTL = 72,
	NR_CREAT = 85,
	NR_EPOLL_CREATE = 213,
	NR_INOTIFY_INIT = 253,
	NR_OPENAT = 257,
	NR_SIGNALFD = 282,
	NR_TIMERFD_CREATE = 283,
	NR_EVENTFD = 284,
	NR_ACCEPT4 = 288,
	NR_SIGNALFD4 = 289,
	NR_EVENTFD2 = 290,
	NR_EPOLL_CREATE1 = 291,
	NR_DUP3 = 292,
	NR_PIPE2 = 293,
	NR_INOTIFY_INIT1 = 294,
	NR_PERF_EVENT_OPEN = 298,
	NR_FANOTIFY_INIT = 300,
	NR_OPEN_BY_HANDLE_AT = 304,
	NR_MEMFD_CREATE = 319,
	NR_USERFAULTFD = 323,
	NR_IO_URING_SETUP = 425,
	NR_OPEN_TREE = 428,
	NR_FSOPEN = 430,
	NR_FSMOUNT = 432,
	NR_FSPICK = 433,
	NR_PIDFD_OPEN = 434,
	NR_CLOSE_RANGE = 436,
	NR_OPENAT2 = 437,
	NR_PIDFD_GETFD = 438,
	NR_MEMFD_SECRET = 447,
};

#define F_DUPFD		    0
#define F_DUPFD_CLOEXEC	    1030
#define CLOSE_RANGE_CLOEXEC 4

enum fd_call {
	FD_NONE,
	FD_RET,	  /* the result is a new descriptor */
	FD_PAIR,  /* two, written to an int[2] the caller passed */
	FD_CLOSE, /* close(fd) */
	FD_RANGE, /* close_range(first, last, flags) */
};

static __always_inline enum fd_call fd_call_of(long nr, struct pt_regs *regs)
{
	switch (nr) {
	case NR_OPEN:
	case NR_DUP:
	case NR_DUP2:
	case NR_SOCKET:
	case NR_ACCEPT:
	case NR_CREAT:
	case NR_EPOLL_CREATE:
	case NR_INOTIFY_INIT:
	case NR_OPENAT:
	case NR_SIGNALFD:
	case NR_TIMERFD_CREATE:
	case NR_EVENTFD:
	case NR_ACCEPT4:
	case NR_SIGNALFD4:
	case NR_EVENTFD2:
	case NR_EPOLL_CREATE1:
	case NR_DUP3:
	case NR_INOTIFY_INIT1:
	case NR_PERF_EVENT_OPEN:
	case NR_FANOTIFY_INIT:
	case NR_OPEN_BY_HANDLE_AT:
	case NR_MEMFD_CREATE:
	case NR_USERFAULTFD:
	case NR_IO_URING_SETUP:
	case NR_OPEN_TREE:
	case NR_FSOPEN:
	case NR_FSMOUNT:
	case NR_FSPICK:
	case NR_PIDFD_OPEN:
	case NR_OPENAT2:
	case NR_PIDFD_GETFD:
	case NR_MEMFD_SECRET:
		return FD_RET;
	case NR_FCNTL: /* only its dup commands return a descriptor */
		return regs->si == F_DUPFD || regs->si == F_DUPFD_CLOEXEC
			       ? FD_RET
			       : FD_NONE;
	case NR_PIPE:
	case NR_PIPE2:
	case NR_SOCKETPAIR:
		return FD_PAIR;
	case NR_CLOSE:
		return FD_CLOSE;
	case NR_CLOSE_RANGE:
		return FD_RANGE;
	}
	return FD_NONE;
}

/* The struct file descriptor fd of the current process names, or 0. */
static __always_inline __u64 fd_file(__u32 fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	/* BTF pointers: plain loads the JIT guards, no helper calls */
	struct fdtable *fdt = task->files->fdt;
	struct file **v;
	__u64 f = 0;

	if (!fdt || fd >= fdt->max_fds)
		return 0;
	v = fdt->fd;
	if (bpf_probe_read_kernel(&f, sizeof(f), v + fd))
		count(LW_CNT_FD_READ_ERROR);
	return f;
}

/*
 * Entries are never deleted here: a close marks its entry closed (file
 * 0) and the next open of the number fills it in place. An entry's file
 * changes by compare-and-swap only, so a close and a reopen of the
 * number on two CPUs (threads share their table) settle who takes the
 * old file's count off its site: exactly one of them. Closed entries
 * are at most the numbers a process ever used; user space skips them,
 * and drops them with the process.
 */

/*
 * fd names a new file, opened at site. An entry of the same number with
 * another file was closed without a close seen: dup2/dup3 over an open
 * descriptor does that, as does a close this program missed.
 */
static __always_inline void fd_opened(struct owner o, __u32 fd, __u32 site)
{
	struct lw_fd_key key = { .tgid = o.tgid, .epoch = o.epoch, .fd = fd };
	struct lw_fd_val val = { .file = fd_file(fd),
				 .site = site,
				 .gen = cur_gen };
	struct lw_fd_val *v = bpf_map_lookup_elem(&fds, &key);
	__u32 old_site, old_gen;
	__u64 old;

	if (!v) {
		if (!bpf_map_update_elem(&fds, &key, &val, BPF_NOEXIST)) {
			site_add(site, 0, val.gen);
			return;
		}
		v = bpf_map_lookup_elem(&fds, &key); /* made meanwhile */
		if (!v) {
			count(LW_CNT_FD_MAP_FULL);
			return;
		}
	}
	old = v->file;
	if (old && old == val.file)
		return; /* dup2(fd, fd): the same descriptor */
	old_site = v->site;
	old_gen = v->gen;
	if (old && __sync_val_compare_and_swap(&v->file, old, 0) == old)
		site_sub(old_site, 0, old_gen);
	v->site = site;
	v->gen = val.gen;
	v->file = val.file;
	site_add(site, 0, val.gen);
}

/*
 * fd was closed, or was meant to be: the entry closes unless the number
 * names its file still (the close failed). Looked at after the call, so
 * another thread may have reopened the number: its entry names the file
 * the table holds, and stays.
 */
static __always_inline void fd_closed(struct owner o, __u32 fd)
{
	struct lw_fd_key key = { .tgid = o.tgid, .epoch = o.epoch, .fd = fd };
	struct lw_fd_val *v = bpf_map_lookup_elem(&fds, &key);
	__u32 site, gen;
	__u64 f;

	if (!v)
		return;
	f = v->file;
	if (!f || f == fd_file(fd))
		return;
	site = v->site;
	gen = v->gen;
	if (__sync_val_compare_and_swap(&v->file, f, 0) == f)
		site_sub(site, 0, gen);
}

/* Set by user space when the syscall exit program is attached. */
bool fds_tracked;

struct exec_ctx {
	struct lw_target_val *t;
	struct owner o;
};

static long exec_one(struct bpf_map *map, struct lw_fd_key *key,
		     struct lw_fd_val *v, struct exec_ctx *c)
{
	__u64 f = v->file;
	__u32 site = v->site, gen = v->gen;

	if (key->tgid != c->o.tgid || key->epoch != c->o.epoch || !f ||
	    f == fd_file(key->fd))
		return 0;
	if (__sync_val_compare_and_swap(&v->file, f, 0) == f) {
		site_sub(site, 0, gen);
		__sync_fetch_and_add(&c->t->exec_closed, 1);
	}
	return 0;
}

/* The exec's close-on-exec closes: entries of the old image whose
 * number is empty now (their entries go when user space follows it). */
static __always_inline void fd_exec(struct lw_target_val *t, struct owner o)
{
	struct exec_ctx c = { .t = t, .o = o };

	bpf_for_each_map_elem(&fds, exec_one, &c, 0);
}

struct range_ctx {
	struct owner o;
	__u32 first;
};

static long close_one(__u64 i, void *data)
{
	struct range_ctx *c = data;

	fd_closed(c->o, c->first + (__u32)i);
	return 0;
}

/* close_range: the descriptors the table can hold, one pass at most. */
static __always_inline void fd_range_closed(struct owner o,
					    struct pt_regs *regs)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 first = regs->di, last = regs->si, max;
	struct range_ctx c = { .o = o, .first = first };

	if (regs->dx & CLOSE_RANGE_CLOEXEC)
		return; /* only marked: closed at exec, which reconciles */
	max = task->files->fdt->max_fds;
	if (last >= max)
		last = max ? max - 1 : 0;
	if (first > last)
		return;
	if (last - first >= LW_FD_RANGE_MAX) {
		count(LW_CNT_FD_RANGE_CAPPED);
		last = first + LW_FD_RANGE_MAX - 1;
	}
	bpf_loop(last - first + 1, close_one, &c, 0);
}

/*
 * The stack of the call: C by its CFI (or frame pointers), Go by its
 * frame pointers - Go's syscall wrappers run on the goroutine's stack.
 */
static __always_inline __u32 fd_site(const struct lw_target_val *t,
				     struct pt_regs *regs, struct owner o)
{
	return site_walk(regs->ip, regs->bp, regs->sp, LW_KIND_FD,
			 t->go_goid_off != 0, 0, o);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(fd_sys_exit, struct pt_regs *regs, long ret)
{
	enum fd_call call = fd_call_of(regs->orig_ax, regs);
	struct lw_target_val *t;
	int pair[2] = { -1, -1 };
	struct owner o;
	__u32 site;

	/* a failed close may have closed it still (EINTR): closes look */
	if (call == FD_NONE || (ret < 0 && call != FD_CLOSE))
		return 0;
	t = traced(&o);
	if (!t)
		return 0;
	switch (call) {
	case FD_RET:
		fd_opened(o, ret, fd_site(t, regs, o));
		break;
	case FD_PAIR:
		if (bpf_probe_read_user(pair, sizeof(pair),
					(void *)(regs->orig_ax == NR_SOCKETPAIR
							 ? regs->r10
							 : regs->di))) {
			count(LW_CNT_FD_READ_ERROR);
			break;
		}
		site = fd_site(t, regs, o);
		fd_opened(o, pair[0], site);
		fd_opened(o, pair[1], site);
		break;
	case FD_CLOSE:
		fd_closed(o, regs->di);
		break;
	case FD_RANGE:
		if (!ret)
			fd_range_closed(o, regs);
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Each report: every open descriptor of the process and its file, from
 * which user space reconciles the map (what closed unseen, what opened
 * unseen, what was open before attach).
 */
SEC("iter/task_file")
int fd_snap(struct bpf_iter__task_file *ctx)
{
	struct lw_fd_snap s = {};

	if (!ctx->task || !ctx->file)
		return 0;
	s.fd = ctx->fd;
	s.file = (__u64)ctx->file;
	bpf_seq_write(ctx->meta->seq, &s, sizeof(s));
	return 0;
}

#endif
