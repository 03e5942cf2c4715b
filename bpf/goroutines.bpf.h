/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Goroutines: born at a RET of runtime.newproc1, gone at goexit1; live
 * ones by (tgid, goid) with the site of the go statement.
 */
#ifndef LW_GOROUTINES_BPF_H
#define LW_GOROUTINES_BPF_H

/* Goroutines are born far less often than blocks: not preallocated. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_GOROUTINES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lw_go_key);
	__type(value, struct lw_go_val);
} goroutines SEC(".maps");

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

#endif
