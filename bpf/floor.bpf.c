// SPDX-License-Identifier: GPL-2.0
/*
 * The bare-probe floor: empty programs attached where the heap programs
 * are, so that `make bench` can tell the cost of the traps from the cost
 * of our BPF work.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe.multi")
int floor_enter(void *ctx)
{
	return 0;
}

SEC("uretprobe.multi")
int floor_exit(void *ctx)
{
	return 0;
}

SEC("uprobe.multi")
int floor_release(void *ctx)
{
	return 0;
}

/*
 * Every syscall's exit, where the descriptor program is: the least it
 * must do to decide it cares, read the syscall's number.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(floor_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = regs->orig_ax;

	barrier_var(nr);
	return 0;
}
