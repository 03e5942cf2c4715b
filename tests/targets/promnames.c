// SPDX-License-Identifier: GPL-2.0
/*
 * promnames: a leak whose names need the escaping of the Prometheus
 * exposition formats (issue 16): a double quote and a backslash in its
 * leaking function's symbol, a double quote, a backslash and a newline in
 * its source file name (the DWARF line table's, set by #line) and in its
 * comm.
 *
 *	promnames [-t SECONDS]
 *
 * 10 times a second the leaking function mallocs 4 KiB and keeps it
 * (40960 B/s).
 *
 * No code refers to the function by its name: the assembler (binutils
 * 2.40) takes a '"' in a quoted symbol where a symbol is defined, not in
 * an operand ("junk after expression"), and warns of a newline anywhere;
 * so main finds it by dlsym (the binary is linked -rdynamic) and the
 * newline is only in the file name and the comm.
 */
#include <dlfcn.h>
#include <sys/prctl.h>
#include "common.h"

/* tests/integration/test_prometheus.py knows these names too. */
#define FUNC "leak_\"q\\b"
#define COMM "q\"b\\n\nl"

void *leak_named(size_t n) __asm__("\"leak_\\\"q\\\\b\"");

#line 1 "prom\"q\\b\nname.c"
__site void *leak_named(size_t n)
{
	void *p = malloc(n); /* the leak */

	if (p)
		memset(p, 1, n);
	use(p);
	return p;
}

int main(int argc, char **argv)
{
	double secs = argc > 2 && !strcmp(argv[1], "-t") ? atof(argv[2]) : 0;
	void *(*leak)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, FUNC);
	struct timespec t0, now;

	if (!leak) {
		fprintf(stderr, "promnames: no symbol %s: %s\n", FUNC,
			dlerror());
		return 1;
	}
	prctl(PR_SET_NAME, COMM, 0, 0, 0);
	write_pidfile();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		leak(4096);
		usleep(100000);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (secs && now.tv_sec - t0.tv_sec >= secs)
			return 0;
	}
}
