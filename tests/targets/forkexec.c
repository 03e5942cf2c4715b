// SPDX-License-Identifier: GPL-2.0
/*
 * forkexec: a leaking program that forks, execs itself and exits while
 * traced (tests/integration/test_faults.py).
 *
 *	forkexec [-a SECONDS] [-b SECONDS]
 *
 * The first image leaks LEAK_BYTES every LEAK_MS at leak_before() for -a
 * seconds (default 2), then execs its own file (by path, so that comm
 * stays "forkexec") as the second image, which leaks as much at
 * leak_after() for -b seconds (default 3) and exits without freeing.
 * Both fork a child every FORK_MS that allocates at child_alloc() and
 * exits: the children are other processes, never the target. Each
 * image writes $LW_TEST_PIDFILE (the same pid) and prints "image N".
 */
#include "common.h"

#include <stdbool.h>
#include <sys/wait.h>

#define LEAK_BYTES 4096
#define LEAK_MS	   20
#define FORK_MS	   100

static __site void leak_before(size_t n)
{
	void *p;

	p = malloc(n); /* LEAK:before */
	use(p);
}

static __site void leak_after(size_t n)
{
	void *p;

	p = malloc(n); /* LEAK:after */
	use(p);
}

static __site void child_alloc(void)
{
	int i;

	for (i = 0; i < 64; i++) {
		void *p = malloc(16384); /* NOLEAK:child */

		use(p);
	}
	usleep(30 * 1000);
	_exit(0);
}

/* Runs one image for `seconds`: leaks at `leak`, forks, reaps. */
static void run(void (*leak)(size_t), double seconds)
{
	struct timespec start, next, now;
	long tick = 0;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &start);
	next = start;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_diff_s(&now, &start) >= seconds)
			return;
		leak(LEAK_BYTES);
		if (tick++ % (FORK_MS / LEAK_MS) == 0) {
			pid = fork();
			if (pid == 0)
				child_alloc();
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		ts_add_ns(&next, LEAK_MS * 1000000LL);
		sleep_until(&next);
	}
}

int main(int argc, char **argv)
{
	double before = 2, after = 3;
	bool second = false;
	char arg[32], self[4096];
	ssize_t n;
	int c;

	while ((c = getopt(argc, argv, "a:b:2")) != -1) {
		switch (c) {
		case 'a':
			before = atof(optarg);
			break;
		case 'b':
			after = atof(optarg);
			break;
		case '2':
			second = true;
			break;
		default:
			fprintf(stderr, "usage: forkexec [-a S] [-b S]\n");
			return 2;
		}
	}
	write_pidfile();
	printf("image %d\n", second ? 2 : 1);
	fflush(stdout);
	if (second) {
		run(leak_after, after);
		while (wait(NULL) > 0)
			;
		return 0;
	}
	run(leak_before, before);
	while (wait(NULL) > 0)
		;
	snprintf(arg, sizeof(arg), "%g", after);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	execl(self, "forkexec", "-2", "-b", arg, (char *)NULL);
	perror("exec");
	return 1;
}
