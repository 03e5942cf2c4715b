/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sites: a stack walked once per event, its hash mapped to a site index,
 * and the per-site aggregates every kind (heap, goroutines, threads,
 * descriptors) counts into. User space reads the aggregates only.
 */
#ifndef LW_SITES_BPF_H
#define LW_SITES_BPF_H

/* The next free site index; 0 is LW_NO_SITE. */
__u32 next_site = 1;
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

/* What a walk leaves for the memo: its thread's cache, and whether it
 * may be remembered. */
struct walk_out {
	struct vma_cache *cache;
	__u32 hit; /* the memo's site: no walk was made */
	bool memo_ok, truncated;
};

/* The buffer's word at off. */
static __always_inline __u64 buf_word(const struct stack_buf *b, __u32 off)
{
	__u64 v;

	__builtin_memcpy(&v, b->b + (off & (LW_STACK_BUF - 1)), sizeof(v));
	return v;
}

/* What a memo is looked up by: where the walk starts, whose it is. */
struct memo_key {
	__u64 mm, ip, sp, fp;
	__u32 seq, tgid, epoch, kind;
};

/*
 * The site the thread's last walk from here found, when nothing it
 * depended on has changed; else LW_NO_SITE. Global functions (and
 * memo_keep): verified once, not once per walk of every program.
 */
__noinline __u32 memo_find(struct walk_memo *m, const struct memo_key *k,
			   __u32 buf_len)
{
	struct stack_buf *b;
	__u32 zero = 0, i, n;

	if (!m || !k || !m->site || m->mm != k->mm || m->seq != k->seq ||
	    (k->seq & 1) || m->ip != k->ip || m->sp != k->sp ||
	    m->fp != k->fp || m->kind != k->kind || m->tgid != k->tgid ||
	    m->epoch != k->epoch)
		return LW_NO_SITE;
	b = bpf_map_lookup_elem(&stack_bufs, &zero);
	if (!b)
		return LW_NO_SITE;
	n = m->n;
	for (i = 0; i < LW_MEMO_WORDS; i++) {
		if (i >= n)
			break;
		/* every word in the part of the stack this walk has */
		if (m->off[i] + 8 > buf_len ||
		    buf_word(b, m->off[i]) != m->val[i])
			return LW_NO_SITE;
	}
	if (m->truncated)
		count(LW_CNT_TRUNCATED_STACK);
	return m->site;
}

/* Remembers a walk that may be: its words, from this CPU's buffer. */
__noinline int memo_keep(struct walk_memo *m, const struct memo_key *k,
			 __u32 site, __u32 truncated)
{
	struct stack_buf *b;
	__u32 zero = 0, i, n;

	if (!m || !k)
		return 0;
	m->site = LW_NO_SITE;
	b = bpf_map_lookup_elem(&stack_bufs, &zero);
	if (!b || !site || (k->seq & 1))
		return 0;
	n = b->n;
	for (i = 0; i < LW_MEMO_WORDS; i++) {
		if (i >= n)
			break;
		m->off[i] = b->off[i];
		m->val[i] = buf_word(b, b->off[i]);
	}
	m->n = n;
	m->mm = k->mm;
	m->seq = k->seq;
	m->ip = k->ip;
	m->sp = k->sp;
	m->fp = k->fp;
	m->kind = k->kind;
	m->tgid = k->tgid;
	m->epoch = k->epoch;
	m->truncated = truncated;
	m->site = site;
	return 0;
}

/*
 * The stack from (ip, sp, fp): ip a return address (or the pc itself)
 * and sp the stack pointer there. Go always keeps frame pointers, but its
 * chain crosses from the system stack into the goroutine's, anywhere in
 * the heap: there only the depth bounds the walk. A C walk that stops
 * short of its outermost frame is counted.
 */

static __always_inline __u64 walk(__u64 ip, __u64 fp, __u64 sp, __u32 kind,
				  bool go, struct owner o, struct lw_stack *st,
				  struct walk_out *out, struct memo_key *k)
{
	struct walk_state w = { .ip = ip, .sp = sp, .fp = fp };
	__u64 h = 0xcbf29ce484222325ull;
	struct vma_cache *cache = NULL;
	int i, res = STEP_NEXT;
	__u32 seq = 1;

	if (!go)
		cache = cache_load(&w, &seq);
	out->cache = cache;
	*k = (struct memo_key){ .mm = (__u64)bpf_get_current_task_btf()->mm,
				.ip = ip,
				.sp = sp,
				.fp = fp,
				.seq = seq,
				.tgid = o.tgid,
				.epoch = o.epoch,
				.kind = kind };
	if (cache && w.memo_ok) {
		out->hit = memo_find(&cache->memo, k, w.buf_len);
		if (out->hit)
			return 0;
	}
	w.lo = go ? 0 : sp;
	w.hi = go ? ~0ull : sp + LW_STACK_SPAN;
	st->ips[0] = ip;
	h = (h ^ ip) * 0x100000001b3ull;
	for (i = 1; i < LW_MAX_STACK_DEPTH; i++) {
		st->ips[i] = 0;
		res = go ? go_fp_step(&w) : lw_step(&w);
		if (res != STEP_NEXT)
			break;
		st->ips[i] = w.ip;
		h = (h ^ w.ip) * 0x100000001b3ull;
		if (!go)
			w.lo = w.sp;
	}
	out->truncated = !go && res != STEP_END;
	if (out->truncated)
		count(LW_CNT_TRUNCATED_STACK);
	out->memo_ok = w.memo_ok;
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

/*
 * go: Go code, walked by its frame pointers (Go binaries carry no CFI).
 * A C walk the thread made from the same place before, over the same
 * words, is not made again (the memo).
 */
static __always_inline __u32 site_walk(__u64 ip, __u64 fp, __u64 sp, __u32 kind,
				       bool go, __u64 start, struct owner o)
{
	struct walk_out out = {};
	struct memo_key k;
	struct lw_stack *st, *old;
	__u32 zero = 0, *idx, site;
	__u64 h;

	st = bpf_map_lookup_elem(&scratch, &zero);
	if (!st)
		return LW_NO_SITE;
	h = walk(ip, fp, sp, kind, go, o, st, &out, &k);
	if (out.hit)
		return out.hit;
	st->start = start;
	idx = bpf_map_lookup_elem(&stack_sites, &h);
	if (!idx) {
		site = new_site(h, st);
	} else {
		old = bpf_map_lookup_elem(&site_stacks, idx);
		if (!old || !same_stack(old, st)) {
			count(LW_CNT_STACK_COLLISION);
			return LW_NO_SITE;
		}
		site = *idx;
	}
	if (out.cache && out.memo_ok)
		memo_keep(&out.cache->memo, &k, site, out.truncated);
	else if (out.cache)
		out.cache->memo.site = LW_NO_SITE;
	return site;
}

/* Goroutines and the Go heap are Go code; heap and threads are C. */
static __always_inline __u32 site_of(__u64 ip, __u64 fp, __u64 sp, __u32 kind,
				     __u64 start, struct owner o)
{
	bool go = (1u << kind) &
		  (1u << LW_KIND_GOROUTINE | 1u << LW_KIND_GO_HEAP);

	return site_walk(ip, fp, sp, kind, go, start, o);
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

#endif
