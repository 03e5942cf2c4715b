// SPDX-License-Identifier: GPL-2.0
/* The kernel's allocations as one more process of the table. */
#include <stdlib.h>
#include <string.h>
#include "kernel.h"
#include "util.h"

int kernel_open(struct lw_kernel *k, long max_live, double now, uint32_t gen)
{
	memset(k, 0, sizeof(*k));
	k->kmem = kmem_open(max_live);
	if (!k->kmem)
		return LW_EXIT_KERNEL;
	if (*kmem_missing(k->kmem))
		lw_warn("--kernel: this kernel has no tracepoint %s: those "
			"allocations are not seen",
			kmem_missing(k->kmem));
	k->proc = proc_kernel(now, gen);
	if (!k->proc) {
		lw_err("--kernel: cannot read the kernel's symbols "
		       "(/proc/kallsyms)");
		kmem_close(k->kmem);
		k->kmem = NULL;
		return LW_EXIT_KERNEL;
	}
	return LW_EXIT_OK;
}

/* A kernel stack's site: its frames, once. 0 holds the stacks lost. */
static uint32_t site_of(struct lw_model *m, const struct lw_kmem_site *ks)
{
	uint32_t id = ks->id == LW_KMEM_NO_STACK ? LW_NO_SITE : ks->id + 1;
	struct lw_site *s = model_site(m, id);

	if (s->stack_read)
		return id;
	s->kind = LW_KIND_HEAP;
	s->epoch = m->epoch;
	model_set_stack(s, ks->ips, ks->depth);
	if (id == LW_NO_SITE)
		snprintf(s->label, sizeof(s->label), "[kernel stack lost]");
	s->stack_read = true;
	return id;
}

void kernel_update(struct lw_kernel *k, double now)
{
	struct lw_proc *p = k->proc;
	struct lw_drained_site *d;
	int64_t total = 0;
	size_t i;

	if (!k->kmem || kmem_drain(k->kmem, &k->sites, &k->cap, &k->n))
		return;
	if (k->n > k->dcap) {
		d = realloc(k->drained, k->n * sizeof(*d));
		if (!d)
			return;
		k->drained = d;
		k->dcap = k->n;
	}
	for (i = 0; i < k->n; i++) {
		memset(&k->drained[i], 0, sizeof(k->drained[i]));
		k->drained[i].site = site_of(&p->model, &k->sites[i]);
		k->drained[i].val.bytes = k->sites[i].bytes;
		k->drained[i].val.allocs = k->sites[i].allocs;
		k->drained[i].val.frees = k->sites[i].frees;
		total += k->sites[i].bytes > 0 ? k->sites[i].bytes : 0;
	}
	model_update(&p->model, k->drained, k->n, now);
	/* its "memory": what the kernel holds for what it allocated since */
	p->suspect = false;
	proc_signal(p, LW_SIG_RSS, total, now);
	kmem_drops(k->kmem, p->drops, sizeof(p->drops));
}

void kernel_close(struct lw_kernel *k)
{
	kmem_close(k->kmem);
	free(k->sites);
	free(k->drained);
	memset(k, 0, sizeof(*k));
}
