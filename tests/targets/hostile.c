// SPDX-License-Identifier: GPL-2.0
/*
 * hostile: a target whose names are hostile (issue 14, "names are data").
 * Its leaking functions' symbols hold an OSC sequence that sets a
 * terminal's title ("owned"), an SGR colour, a ';' and bytes that are no
 * UTF-8; its source file name (the DWARF line table's, set by #line) has
 * an ESC and an invalid byte; it names itself (comm) with control
 * characters; and the files it leaks have an ESC, a backslash and
 * invalid bytes in their names.
 *
 *	hostile DIR [-t SECONDS]
 *
 * 10 times a second: leak_heap...() mallocs 4 KiB and keeps it, and
 * leak_fd...() opens DIR/fd_<ESC>[2J<0xff>\_N and never closes it.
 */
#include <sys/prctl.h>
#include "common.h"

/* The names the reports must show escaped (tests/integration/
 * test_hostile_names.py knows them too). */
#define EVIL	 "\x1b]0;owned\x07\x1b[31m;\xff\xfe"
#define EVIL_FILE "\x1b[31m\xff"

/* quoted: the assembler takes any byte in a quoted symbol name */
void *leak_heap(size_t n) __asm__("\"leak_" EVIL "_heap\"");
int leak_fd(const char *dir, int i) __asm__("\"leakfd_" EVIL "\"");

/* The frames below are in a source file of a hostile name. */
#line 1 "hostile_\x1b[31m\xff.c"
__site void *leak_heap(size_t n)
{
	void *p = malloc(n); /* a leak of hostile name */

	if (p)
		memset(p, 1, n);
	use(p);
	return p;
}

__site int leak_fd(const char *dir, int i)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/fd_\x1b[2J\xff\\_%d", dir, i);
	return open(path, O_RDONLY | O_CREAT, 0600); /* kept open */
}

int main(int argc, char **argv)
{
	double secs = argc > 3 && !strcmp(argv[2], "-t") ? atof(argv[3]) : 0;
	struct timespec t0, now;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: hostile DIR [-t SECONDS]\n");
		return 2;
	}
	/* comm: 15 bytes at most, ESC and BEL and an invalid byte in them */
	prctl(PR_SET_NAME, "h\x1b]0;pwn\x07\xff\x01", 0, 0, 0);
	write_pidfile();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0;; i++) {
		leak_heap(4096);
		if (leak_fd(argv[1], i) < 0) {
			perror("hostile: open");
			return 1;
		}
		usleep(100000);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (secs && now.tv_sec - t0.tv_sec >= secs)
			return 0;
	}
}
