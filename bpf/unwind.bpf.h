/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stack walk. C and C++ frames are left by the unwind tables user
 * space builds from each mapped file's DWARF CFI (one table per file,
 * shared by every process mapping it); the file and file offset of a
 * return address come from its VMA, so no user-space view of the target's
 * mappings can be stale. Frames without a table entry are left by their
 * frame pointer, as Go code and code built with frame pointers allow.
 */
#ifndef LW_UNWIND_BPF_H
#define LW_UNWIND_BPF_H

#include "common.bpf.h"

/* --unwind fp: frame pointers only, no VMA or table lookups at all. */
const volatile bool use_tables = true;

/* Sizes are set at load (session.c); 1 here only keeps libbpf happy. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct lw_file_key);
	__type(value, struct lw_file_val);
} cfi_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_cfi_page);
} cfi_pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cfi_entries SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_cfi_rule);
} cfi_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} file_events SEC(".maps");

/* A VMA the walk has looked up: its file's table, or none. */
/* A walk's code mostly lies in a few files: the program, libc, libstdc++. */
#define LW_VMA_SLOTS 4

struct vma_slot {
	__u64 start, end;
	__u64 bias;		 /* file offset = pc - bias */
	struct lw_file_val file; /* its table */
};

struct vma_found {
	__u64 start, end, bias;
	struct lw_file_key key;
	__u32 has_file;
	__u64 mm; /* the address space it was found in (for the cache) */
};

/*
 * The VMAs walks found lately, by process and 2 MiB of address space.
 * bpf_find_vma only try-locks the target's mmap lock: while any thread
 * of the target maps or unmaps (or waits to: a queued writer fails the
 * try-lock too), every walk in that process would stop at its first
 * frame (seen: a fifth of a program's stacks one frame long beside two
 * threads calling mmap). Such a lookup asks here instead. The answer is
 * the VMA of the last successful lookup in those 2 MiB, used only if it
 * holds the address and the process still has that address space (an
 * exec or a reused pid brings another mm); a mapping replaced since is
 * the one way it can be wrong, and only while the lock is held.
 */
#ifndef EBUSY
#define EBUSY 16
#endif
#define LW_VMA_CACHE_SHIFT   21
#define LW_VMA_CACHE_ENTRIES 16384

struct vma_cache_key {
	__u32 tgid;
	__u32 pad;
	__u64 granule;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, LW_VMA_CACHE_ENTRIES);
	__type(key, struct vma_cache_key);
	__type(value, struct vma_found);
} vma_cache SEC(".maps");

static long vma_cb(struct task_struct *task, struct vm_area_struct *vma,
		   void *data)
{
	struct vma_found *f = data;
	struct file *file = vma->vm_file;

	f->start = vma->vm_start;
	f->end = vma->vm_end;
	f->bias = vma->vm_start - (vma->vm_pgoff << 12);
	if (file) {
		f->key.dev = file->f_inode->i_sb->s_dev;
		f->key.ino = file->f_inode->i_ino;
		f->has_file = 1;
	}
	return 0;
}

/* A file nobody asked for yet: ask user space for its table, once. */
static __always_inline void ask_for_table(const struct vma_found *f)
{
	struct lw_file_val pending = { .state = LW_FILE_PENDING };
	struct lw_file_event *e;

	if (bpf_map_update_elem(&cfi_files, &f->key, &pending, BPF_NOEXIST))
		return; /* asked already, or the map is full */
	e = bpf_ringbuf_reserve(&file_events, sizeof(*e), 0);
	if (!e) {
		count(LW_CNT_FILE_EVENT_LOST);
		bpf_map_delete_elem(&cfi_files, &f->key); /* ask again later */
		return;
	}
	e->key = f->key;
	e->start = f->start;
	e->end = f->end;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
}

/* Fills *s for the VMA holding ip; false when there is none (or the
 * target's mmap lock is held for writing just now). */
static __always_inline bool vma_lookup(__u64 ip, struct vma_slot *s)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct vma_cache_key ck = {
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.granule = ip >> LW_VMA_CACHE_SHIFT,
	};
	struct vma_found f = {}, *c;
	struct lw_file_val *v;
	long err;

	err = bpf_find_vma(task, ip, vma_cb, &f, 0);
	c = bpf_map_lookup_elem(&vma_cache, &ck);
	if (err == -EBUSY) {
		count(LW_CNT_VMA_BUSY);
		if (!c || c->mm != (__u64)task->mm || ip < c->start ||
		    ip >= c->end)
			return false;
		f = *c;
	} else if (err) {
		return false;
	} else if (!c || c->start != f.start || c->end != f.end ||
		   c->mm != (__u64)task->mm) {
		f.mm = (__u64)task->mm;
		bpf_map_update_elem(&vma_cache, &ck, &f, BPF_ANY);
	}
	s->start = f.start;
	s->end = f.end;
	s->bias = f.bias;
	s->file = (struct lw_file_val){ .state = LW_FILE_NONE };
	if (!f.has_file)
		return true; /* anonymous code (a JIT): frame pointers */
	v = bpf_map_lookup_elem(&cfi_files, &f.key);
	if (v) {
		s->file = *v;
		return true;
	}
	s->file.state = LW_FILE_PENDING;
	ask_for_table(&f);
	return true;
}

/* The rule of the return address at file offset off, if it has one. */
static __always_inline struct lw_cfi_rule *
rule_of(const struct lw_file_val *file, __u64 off)
{
	__u32 want = off & ((1u << LW_CFI_PAGE_SHIFT) - 1);
	__u64 page = off >> LW_CFI_PAGE_SHIFT;
	__u32 lo, end, n, half, idx, *e;
	struct lw_cfi_page *pg;
	int i;

	if (page < file->page_lo || page - file->page_lo >= file->npages)
		return NULL;
	idx = file->page_base + (__u32)(page - file->page_lo);
	pg = bpf_map_lookup_elem(&cfi_pages, &idx);
	if (!pg || pg->count > LW_CFI_PAGE_MAX)
		return NULL;
	lo = pg->first;
	n = pg->count;
	end = lo + n;
	/* the first entry not below want */
	for (i = 0; i < LW_CFI_PAGE_HALVINGS; i++) {
		if (!n)
			break;
		half = n / 2;
		idx = lo + half;
		e = bpf_map_lookup_elem(&cfi_entries, &idx);
		if (!e)
			return NULL;
		if ((*e >> LW_CFI_RULE_BITS) < want) {
			lo = idx + 1;
			n -= half + 1;
		} else {
			n = half;
		}
	}
	if (lo >= end)
		return NULL;
	e = bpf_map_lookup_elem(&cfi_entries, &lo);
	if (!e || (*e >> LW_CFI_RULE_BITS) != want)
		return NULL;
	idx = *e & ((1u << LW_CFI_RULE_BITS) - 1);
	return bpf_map_lookup_elem(&cfi_rules, &idx);
}

enum step_result {
	STEP_NEXT,
	STEP_END,
	STEP_TRUNCATED
};

/*
 * A user read costs as much here as a whole frame's table lookups, and a
 * walk reads a word or two per frame, mostly within a few hundred bytes
 * above the first sp: one read of up to LW_STACK_BUF bytes of the stack
 * there, never past the end of the stack's mapping (a read that faults
 * costs many times more), serves them. Reads outside it go to the user
 * memory one by one.
 */
#define LW_STACK_BUF 4096

/*
 * A walk is a function of its registers, the VMAs (the mmap lock's
 * sequence says when they changed), the tables of the files it crosses
 * (never changed once built) and the stack words it read: the walk
 * records where those lie in the buffer (off[]), so that the next walk
 * of the thread from the same registers finds the same words there and
 * takes the same site without walking (sites.bpf.h: the memo).
 */
#define LW_MEMO_WORDS 128 /* two reads a frame at most */

struct stack_buf {
	__u8 b[LW_STACK_BUF + 64]; /* + the largest read (signal frame) */
	__u16 off[LW_MEMO_WORDS];
	__u32 n;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_buf);
} stack_bufs SEC(".maps");

struct walk_state {
	__u64 ip, sp, fp;
	__u64 buf_lo;  /* the stack bytes [buf_lo, buf_lo + buf_len) are in */
	__u32 buf_len; /* this CPU's stack_buf */
	__u32 memo_ok; /* every word read came from the buffer, no table was
			  missing: the walk may be remembered */
	/* where fp is saved, when it is still to be read (0: fp is read);
	 * most frames never need the caller's rbp, so it is read lazily */
	__u64 fp_at;
	__u64 lo, hi; /* the next frame lies in [lo, hi) */
	struct vma_slot vma[LW_VMA_SLOTS];
	__u32 flip;
	/* the pc is no return address (a signal interrupted it): only an
	 * exact rule may leave its frame */
	__u32 exact;
};

/*
 * A thread's VMAs from its last walk, valid while the process's
 * mm_lock_seq (bumped whenever the mmap lock is taken for writing, as
 * every change of a VMA needs) is what it was: most walks then look no
 * VMA up at all. Files whose table is still being built are not kept.
 */
/* A thread's last C walk: what it started from, read, and led to. */
struct walk_memo {
	__u64 mm, ip, sp, fp;
	__u32 seq, tgid, epoch, kind;
	__u32 site;	 /* LW_NO_SITE: nothing remembered */
	__u32 truncated; /* counted again at each use */
	__u32 n, pad;
	__u16 off[LW_MEMO_WORDS];
	__u64 val[LW_MEMO_WORDS];
};

struct vma_cache {
	__u64 mm; /* whose VMAs: an exec brings another mm, its own sequence */
	__u32 seq;
	__u32 flip;
	struct vma_slot vma[LW_VMA_SLOTS];
	__u64 stack_lo, stack_hi; /* the mapping the thread's stack is in */
	struct walk_memo memo;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct vma_cache);
} vma_caches SEC(".maps");

/* The mmap lock's sequence: odd while written, or when unknown. */
static __always_inline __u32 mm_seq(__u64 *which)
{
	struct mm_struct *mm = bpf_get_current_task_btf()->mm;

	*which = (__u64)mm;
	if (!mm || !bpf_core_field_exists(mm->mm_lock_seq))
		return 1;
	return mm->mm_lock_seq.sequence;
}

struct span {
	__u64 lo, hi;
};

static long stack_vma_cb(struct task_struct *task, struct vm_area_struct *vma,
			 void *data)
{
	struct span *sp = data;

	sp->lo = vma->vm_start;
	sp->hi = vma->vm_end;
	return 0;
}

/* The stack above sp, into this CPU's buffer, as far as its mapping goes. */
static __always_inline void stack_fill(struct walk_state *w,
				       struct vma_cache *c)
{
	struct stack_buf *b;
	__u32 zero = 0;
	__u64 len;

	struct span vs = {};

	if (w->sp < c->stack_lo || w->sp >= c->stack_hi) {
		c->stack_lo = c->stack_hi = 0;
		if (bpf_find_vma(bpf_get_current_task_btf(), w->sp,
				 stack_vma_cb, &vs, 0) ||
		    w->sp < vs.lo || w->sp >= vs.hi)
			return;
		c->stack_lo = vs.lo;
		c->stack_hi = vs.hi;
	}
	b = bpf_map_lookup_elem(&stack_bufs, &zero);
	len = c->stack_hi - w->sp;
	if (!b || len < 8)
		return;
	if (len > LW_STACK_BUF)
		len = LW_STACK_BUF;
	if (bpf_probe_read_user(b->b, len, (void *)w->sp))
		return;
	w->buf_lo = w->sp;
	w->buf_len = len;
	w->memo_ok = 1;
	b->n = 0;
}

/* A word of the buffer the walk read, at off: the memo compares it. */
static __always_inline void memo_note(struct walk_state *w, struct stack_buf *b,
				      __u64 off)
{
	__u32 n = b->n;

	if (n >= LW_MEMO_WORDS) {
		w->memo_ok = 0;
		return;
	}
	b->off[n & (LW_MEMO_WORDS - 1)] = off;
	b->n = n + 1;
}

/* size bytes at the user address addr: from the buffer when it has them. */
static __always_inline long user_read(struct walk_state *w, void *dst,
				      __u32 size, __u64 addr)
{
	struct stack_buf *b;
	__u32 zero = 0;
	__u64 off;

	if (addr >= w->buf_lo && addr + size <= w->buf_lo + w->buf_len &&
	    size <= 64) {
		b = bpf_map_lookup_elem(&stack_bufs, &zero);
		if (b) {
			/* plain loads: a helper call costs what a user
			 * read does */
			off = (addr - w->buf_lo) & (LW_STACK_BUF - 1);
			__builtin_memcpy(dst, b->b + off, size);
			if (size == 8 || size == 16)
				memo_note(w, b, off);
			if (size == 16)
				memo_note(w, b, off + 8);
			if (size != 8 && size != 16)
				w->memo_ok = 0;
			return 0;
		}
	}
	w->memo_ok = 0;
	return bpf_probe_read_user(dst, size, (void *)addr);
}

static __always_inline struct vma_cache *cache_load(struct walk_state *w,
						    __u32 *seq)
{
	struct vma_cache *c;
	__u64 mm;

	if (!use_tables)
		return NULL;
	c = bpf_task_storage_get(&vma_caches, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	*seq = mm_seq(&mm);
	if (c && c->mm == mm && c->seq == *seq && !(*seq & 1)) {
		__builtin_memcpy(w->vma, c->vma, sizeof(w->vma));
		w->flip = c->flip;
	} else if (c) {
		c->stack_lo = c->stack_hi = 0; /* the mappings may have moved */
	}
	if (c)
		stack_fill(w, c);
	return c;
}

static __always_inline void cache_store(struct vma_cache *c,
					const struct walk_state *w, __u32 seq)
{
	__u64 mm;
	int i;

	if (!c || (seq & 1) || mm_seq(&mm) != seq)
		return;
	c->mm = mm;
	c->seq = seq;
	c->flip = w->flip;
	for (i = 0; i < LW_VMA_SLOTS; i++) {
		c->vma[i] = w->vma[i];
		if (c->vma[i].file.state == LW_FILE_PENDING)
			c->vma[i].end = 0; /* ask again next time */
	}
}

static __always_inline struct vma_slot *vma_for(struct walk_state *w)
{
	struct vma_slot *s = NULL;
	int i;

	for (i = 0; i < LW_VMA_SLOTS; i++)
		if (w->ip >= w->vma[i].start && w->ip < w->vma[i].end)
			return &w->vma[i];
	/* replaced in turn */
	for (i = 0; i < LW_VMA_SLOTS; i++)
		if ((w->flip % LW_VMA_SLOTS) == i)
			s = &w->vma[i];
	w->flip++;
	return s && vma_lookup(w->ip, s) ? s : NULL;
}

static __always_inline bool need_fp(struct walk_state *w)
{
	if (!w->fp_at)
		return true;
	if (user_read(w, &w->fp, sizeof(w->fp), w->fp_at))
		return false;
	w->fp_at = 0;
	return true;
}

/* fp, where the next frame must lie: in range and aligned. */
static __always_inline bool fp_ok(const struct walk_state *w)
{
	return w->fp >= w->lo && w->fp < w->hi && !(w->fp & 7);
}

/* Leaves a frame by its record: [rbp] the caller's rbp, [rbp+8] the
 * return address. */
static __always_inline int fp_leave(struct walk_state *w, const __u64 *frame)
{
	if (!frame[1])
		return STEP_END;
	w->ip = frame[1];
	w->sp = w->fp + 2 * sizeof(__u64);
	w->fp = frame[0];
	return STEP_NEXT;
}

/*
 * Go code's frame pointers: read one by one (a Go walk crosses from the
 * system stack into the goroutine's, no one buffer holds both; and a
 * plain loop verifies at a fraction of the cost).
 */
static __always_inline int go_fp_step(struct walk_state *w)
{
	__u64 frame[2];

	if (!w->fp)
		return STEP_END;
	if (!fp_ok(w) ||
	    bpf_probe_read_user(frame, sizeof(frame), (void *)w->fp))
		return STEP_TRUNCATED;
	return fp_leave(w, frame);
}

/* Frame-pointer code: [rbp] is the caller's rbp, [rbp+8] the return. */
static __always_inline int fp_step(struct walk_state *w)
{
	__u64 frame[2];

	if (!need_fp(w))
		return STEP_TRUNCATED;
	if (!w->fp)
		return STEP_END; /* _start and thread starts clear rbp */
	if (!fp_ok(w) || user_read(w, frame, sizeof(frame), w->fp))
		return STEP_TRUNCATED;
	return fp_leave(w, frame);
}

/*
 * A signal handler returned into the trampoline: sp is the ucontext the
 * kernel saved, its mcontext 40 bytes in (gregs: rbp, rsp, rip at 10,
 * 15, 16). The interrupted pc is no return address.
 */
static __always_inline int signal_step(struct walk_state *w)
{
	__u64 mc = w->sp + 40, regs[7];

	if (user_read(w, regs, sizeof(regs), mc + 10 * 8))
		return STEP_TRUNCATED;
	w->fp = regs[0];
	w->fp_at = 0;
	w->sp = regs[5];
	w->ip = regs[6];
	w->lo = w->sp; /* it may have run on an alternate signal stack */
	w->hi = w->sp + LW_STACK_SPAN;
	w->exact = 1;
	return w->ip ? STEP_NEXT : STEP_TRUNCATED;
}

/*
 * One frame up from (ip, sp, fp) in C or C++ code: by the rule of the
 * return address where its file's table has one, else by the frame
 * pointer. Frames only ever lie above the previous one, within
 * LW_STACK_SPAN of the stack pointer: code without frame pointers leaves
 * other data in rbp, and a read that faults costs microseconds.
 *
 * A global function: the verifier checks it once, for any walk state,
 * instead of once per frame of every walk of every program.
 */
__noinline int lw_step(struct walk_state *w)
{
	struct lw_cfi_rule *r = NULL;
	struct vma_slot *v;
	__u64 cfa;

	if (!w)
		return STEP_TRUNCATED;
	if (!use_tables)
		return fp_step(w);
	v = vma_for(w);
	if (!v)
		return STEP_TRUNCATED;
	if (v->file.state == LW_FILE_PENDING) {
		/* its table is being built: stop rather than guess a caller */
		count(LW_CNT_UNWIND_NO_TABLE);
		w->memo_ok = 0;
		return STEP_TRUNCATED;
	}
	if (v->file.state == LW_FILE_READY)
		r = rule_of(&v->file, w->ip - v->bias);
	if (!r)
		return w->exact ? STEP_TRUNCATED : fp_step(w);
	switch (r->kind) {
	case LW_CFI_CFA_RSP:
		cfa = w->sp + r->cfa_off;
		break;
	case LW_CFI_CFA_RBP:
		if (!need_fp(w))
			return STEP_TRUNCATED;
		cfa = w->fp + r->cfa_off;
		break;
	case LW_CFI_END:
		return STEP_END;
	case LW_CFI_SIGNAL:
		return signal_step(w);
	default:
		return STEP_TRUNCATED;
	}
	if (cfa <= w->sp || cfa < w->lo || cfa >= w->hi)
		return STEP_TRUNCATED;
	if (user_read(w, &w->ip, sizeof(w->ip), cfa - 8))
		return STEP_TRUNCATED;
	if (r->rbp_off)
		w->fp_at = cfa + (__s64)r->rbp_off;
	w->sp = cfa;
	w->exact = 0;
	return w->ip ? STEP_NEXT : STEP_END;
}

#endif
