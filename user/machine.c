// SPDX-License-Identifier: GPL-2.0
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "machine.h"
#include "util.h"

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

int machine_check_privileges(bool attach_pid)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {};
	char missing[128] = "";
	bool admin;

	if (syscall(SYS_capget, &h, d))
		return LW_EXIT_OK; /* let the BPF calls tell */
	admin = has_cap(d, CAP_SYS_ADMIN);
	if (!admin && !has_cap(d, CAP_BPF))
		strcat(missing, " CAP_BPF");
	if (!admin && !has_cap(d, CAP_PERFMON))
		strcat(missing, " CAP_PERFMON");
	if (attach_pid && !has_cap(d, CAP_SYS_PTRACE))
		strcat(missing, " CAP_SYS_PTRACE");
	if (!missing[0])
		return LW_EXIT_OK;
	lw_err("permission denied: run as root (missing%s)", missing);
	return LW_EXIT_PERM;
}

/* The first line of a small file, or "" when it cannot be read. */
static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (f && fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = 0;
	if (f)
		fclose(f);
}

static bool helper_ok(enum bpf_prog_type type, enum bpf_func_id id)
{
	return libbpf_probe_bpf_helper(type, id, NULL) == 1;
}

int machine_check_kernel(void)
{
	char buf[256];

	if (access("/sys/kernel", F_OK)) {
		lw_err("sysfs is not mounted on /sys (mount -t sysfs sysfs "
		       "/sys): the kernel's BTF and the uprobe PMU live there");
		return LW_EXIT_KERNEL;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		lw_err("this kernel has no BTF (/sys/kernel/btf/vmlinux): "
		       "CONFIG_DEBUG_INFO_BTF is needed");
		return LW_EXIT_KERNEL;
	}
	if (access("/sys/bus/event_source/devices/uprobe", F_OK)) {
		lw_err("this kernel has no uprobes (CONFIG_UPROBE_EVENTS)");
		return LW_EXIT_KERNEL;
	}
	/* not mounted (securityfs) is fine: lockdown then shows at load */
	read_line("/sys/kernel/security/lockdown", buf, sizeof(buf));
	if (strstr(buf, "[confidentiality]")) {
		lw_err("kernel lockdown is in confidentiality mode: BPF may not "
		       "read memory (boot with lockdown=integrity or none)");
		return LW_EXIT_KERNEL;
	}
	if (!helper_ok(BPF_PROG_TYPE_KPROBE, BPF_FUNC_find_vma)) {
		lw_err("this kernel's BPF lacks bpf_find_vma (Linux 5.17+), "
		       "which the stack walk needs");
		return LW_EXIT_KERNEL;
	}
	read_line("/proc/sys/net/core/bpf_jit_enable", buf, sizeof(buf));
	if (!strcmp(buf, "0"))
		lw_warn("the BPF JIT is off (net.core.bpf_jit_enable = 0): "
			"every probe costs several times more");
	return LW_EXIT_OK;
}

const char *machine_load_hint(int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		return "needs root, or CAP_BPF and CAP_PERFMON (in a container: "
		       "also a seccomp profile that allows bpf())";
	case -ENOMEM:
		return "no memory for the BPF maps: a memory cgroup limit may "
		       "be too small (the maps take some 200 MiB at the "
		       "default --max-allocs and --max-sites, which make them "
		       "smaller)";
	case -E2BIG:
	case -EINVAL:
		return "the kernel's verifier refused a program: it may be "
		       "older than Linux 6.6";
	default:
		return NULL;
	}
}

/*
 * Our memory cgroup and its limit, in words: the maps are charged to it,
 * so a load that failed for want of memory names the limit it hit. v2's
 * "0::PATH" with memory.max, or v1's memory controller line.
 */
void machine_memcg_describe(char *buf, size_t len)
{
	char line[4096], path[4096 + 64], limit[64], *cg = NULL, *name;
	const char *file = NULL;
	double mib;
	FILE *f;

	buf[0] = '\0';
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return;
	while (!cg && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		name = strchr(line, ':');
		if (!name || !strchr(name + 1, ':'))
			continue;
		if (!strncmp(line, "0::", 3)) {
			snprintf(path, sizeof(path),
				 "/sys/fs/cgroup%s/memory.max", line + 3);
			if (!access(path, R_OK))
				cg = line + 3, file = "memory.max";
		} else if (!strncmp(strchr(line, ':'), ":memory:", 8)) {
			cg = strchr(line, ':') + 8;
			file = "memory.limit_in_bytes";
			snprintf(path, sizeof(path),
				 "/sys/fs/cgroup/memory%s/%s", cg, file);
		}
	}
	fclose(f);
	if (!cg)
		return;
	read_line(path, limit, sizeof(limit));
	if (!limit[0])
		return;
	mib = strtod(limit, NULL) / (1 << 20);
	if (!strcmp(limit, "max") || mib >= (double)(1ull << 40))
		snprintf(buf, len, "memory cgroup %s: no limit (%s)", cg, file);
	else
		snprintf(buf, len, "memory cgroup %s: %s is %.0f MiB", cg, file,
			 mib);
}
