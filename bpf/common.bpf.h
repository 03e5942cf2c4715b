/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every program shares: the processes traced, the generation user
 * space keeps, and the loss counters.
 */
#ifndef LW_COMMON_BPF_H
#define LW_COMMON_BPF_H

/* Written by user space at every report: the current generation. */
__u32 cur_gen;

/* Filled by user space: the target, or the zoomed processes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LW_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct lw_target_val);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(enum lw_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);

	if (v)
		*v += 1;
}

/*
 * One target (-p, a command): its entry is here, and a compare finds it;
 * a hash lookup on every probe hit costs the one-target run for nothing.
 * solo_tgid is 0 system-wide.
 */
__u32 solo_tgid;
struct lw_target_val solo;

/* The current process's entry when it is traced, else NULL. */
static __always_inline struct lw_target_val *target_of(__u32 *tgid)
{
	*tgid = bpf_get_current_pid_tgid() >> 32;
	if (solo_tgid)
		return *tgid == solo_tgid ? &solo : NULL;
	return bpf_map_lookup_elem(&targets, tgid);
}

/* Whose stack it is: the process and its epoch, part of a site's key. */
struct owner {
	__u32 tgid;
	__u32 epoch;
};

/* The current process's entry and owner when it is traced, else NULL. */
static __always_inline struct lw_target_val *traced(struct owner *o)
{
	struct lw_target_val *t = target_of(&o->tgid);

	if (t)
		o->epoch = t->epoch;
	return t;
}

#endif
