// SPDX-License-Identifier: GPL-2.0
/*
 * libnofp: the nofp target's own shared library. Built, as the target,
 * either with or without frame pointers; its allocations must be charged
 * through its frames to the target's code either way.
 */
#include "common.h"
#include "libnofp.h"

static __site char *lib_copy(size_t n)
{
	char *p;

	p = malloc(n); /* LEAK:lib_copy */
	if (p)
		memset(p, 'x', n);
	return p;
}

__site char *lib_dup(size_t n)
{
	char *p = lib_copy(n);

	use(p);
	return p;
}

__site void lib_churn(unsigned long tick)
{
	void *p[8];
	int i;

	for (i = 0; i < 8; i++)
		p[i] = malloc(64 + (tick + i) % 512); /* CHURN:lib */
	for (i = 0; i < 8; i++)
		free(p[i]);
}
