// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "attach.h"
#include "util.h"

struct batch {
	unsigned long offsets[LW_MAX_PROBES];
	__u64 cookies[LW_MAX_PROBES];
	size_t n;
};

/* Probes of one object that one program serves. */
static void collect(const struct lw_plan *plan, const char *path,
		    enum lw_prog prog, struct batch *b)
{
	const struct lw_probe *p;
	int i;

	b->n = 0;
	for (i = 0; i < plan->n; i++) {
		p = &plan->probes[i];
		if (p->prog != prog || strcmp(p->path, path))
			continue;
		b->offsets[b->n] = p->func_off + p->place.offset;
		b->cookies[b->n] = p->fn;
		b->n++;
	}
}

static int attach_one(struct bpf_program *prog, pid_t pid, const char *path,
		      const struct batch *b, bool ret, struct lw_links *links)
{
	struct bpf_uprobe_multi_opts opts = {
		.sz = sizeof(opts),
		.offsets = b->offsets,
		.cookies = b->cookies,
		.cnt = b->n,
		.retprobe = ret,
	};
	struct bpf_link *l;

	if (!b->n)
		return 0;
	l = bpf_program__attach_uprobe_multi(prog, pid, path, NULL, &opts);
	if (!l) {
		lw_err("attaching %zu probes to %s: %s", b->n, path,
		       strerror(errno));
		return -errno;
	}
	links->l[links->n++] = l;
	return 0;
}

/*
 * Session uprobes (Linux 6.13): libbpf names them from 1.6 only, and the
 * system's UAPI header may be older still, so the link is made here:
 * BPF_LINK_CREATE with its uprobe_multi arguments, as the kernel lays
 * them out (include/uapi/linux/bpf.h, union bpf_attr, link_create).
 */
#define LW_BPF_LINK_CREATE 28

struct lw_link_create {
	__u32 prog_fd, target_fd, attach_type, flags;
	__aligned_u64 path, offsets, ref_ctr_offsets, cookies;
	__u32 cnt, upm_flags, pid;
};

static int attach_session(struct bpf_program *prog, pid_t pid, const char *path,
			  const struct batch *b, struct lw_links *links)
{
	struct lw_link_create a;
	int fd;

	if (!b->n)
		return 0;
	if (links->nfd >= LW_MAX_PROBES)
		return -E2BIG;
	memset(&a, 0, sizeof(a));
	a.prog_fd = bpf_program__fd(prog);
	a.attach_type = LW_TRACE_UPROBE_SESSION;
	a.path = (__u64)(unsigned long)path;
	a.offsets = (__u64)(unsigned long)b->offsets;
	a.cookies = (__u64)(unsigned long)b->cookies;
	a.cnt = b->n;
	a.pid = pid > 0 ? pid : 0;
	fd = syscall(SYS_bpf, LW_BPF_LINK_CREATE, &a, sizeof(a));
	if (fd < 0) {
		lw_err("attaching %zu session probes to %s: %s", b->n, path,
		       strerror(errno));
		return -errno;
	}
	links->fd[links->nfd++] = fd;
	return 0;
}

static bool seen_path(const struct lw_plan *plan, int upto)
{
	int i;

	for (i = 0; i < upto; i++)
		if (!strcmp(plan->probes[i].path, plan->probes[upto].path))
			return true;
	return false;
}

int attach_plan(const struct lw_plan *plan, pid_t pid,
		const struct lw_progs *progs, struct lw_links *links)
{
	const char *path;
	/* which program serves which probes; calls get a return probe too */
	const struct {
		enum lw_prog kind;
		struct bpf_program *prog;
		bool ret;
	} uses[] = {
		{ LW_PROG_CALL, progs->enter, false },
		{ LW_PROG_CALL, progs->exit, true },
		{ LW_PROG_RELEASE, progs->release, false },
		{ LW_PROG_GO, progs->go, false },
		{ LW_PROG_GO_HEAP, progs->go_heap, false },
		{ LW_PROG_THREAD, progs->thread, false },
	};
	struct batch b;
	unsigned k;
	int i, err;

	for (i = 0; i < plan->n; i++) {
		if (seen_path(plan, i))
			continue;
		path = plan->probes[i].path;
		if (progs->session) {
			collect(plan, path, LW_PROG_CALL, &b);
			err = attach_session(progs->session, pid, path, &b,
					     links);
			if (err)
				return err;
		}
		for (k = 0; k < sizeof(uses) / sizeof(uses[0]); k++) {
			if (progs->session && uses[k].kind == LW_PROG_CALL)
				continue;
			collect(plan, path, uses[k].kind, &b);
			err = attach_one(uses[k].prog, pid, path, &b,
					 uses[k].ret, links);
			if (err)
				return err;
		}
	}
	return 0;
}

void detach_all(struct lw_links *links)
{
	int i;

	for (i = 0; i < links->n; i++)
		bpf_link__destroy(links->l[i]);
	links->n = 0;
	for (i = 0; i < links->nfd; i++)
		close(links->fd[i]);
	links->nfd = 0;
}
