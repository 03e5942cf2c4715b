/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every program shares: the target, the generation and exec epoch
 * user space and the exec tracepoint keep, and the loss counters.
 */
#ifndef LW_COMMON_BPF_H
#define LW_COMMON_BPF_H

const volatile __u32 targ_tgid;

/* Written by user space at every report: the current generation. */
__u32 cur_gen;

/* Execs of the target so far: part of every key. */
__u32 exec_epoch;

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

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == targ_tgid;
}

#endif
