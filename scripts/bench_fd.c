// SPDX-License-Identifier: GPL-2.0
/*
 * make bench's descriptor workload: open+close pairs of one kind, timed
 * from inside.
 *
 *	bench_fd open|socket|pipe N [HOLD_SECONDS]
 *
 * open: open("/dev/null") and close; socket: an AF_UNIX stream socket and
 * close; pipe: pipe() and both ends' close. Prints ns per pair. Each pair
 * closes the descriptor opened WINDOW pairs before it, so the last WINDOW
 * stay open: the site still holds descriptors at the end, and a report
 * lists it with every open it saw.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 8 /* a power of two */

static int win[WINDOW][2];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* fds[0] (and fds[1], when not -1) take the slot of pair i. */
static void keep(long i, int a, int b)
{
	int *w = win[i & (WINDOW - 1)];

	if (w[0] >= 0)
		close(w[0]);
	if (w[1] >= 0)
		close(w[1]);
	w[0] = a;
	w[1] = b;
}

/* One function per kind: the report's site for it is found by its name. */
static __attribute__((noinline)) void open_pairs(long n)
{
	long i;
	int fd;

	for (i = 0; i < n; i++) {
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0)
			die("open /dev/null");
		keep(i, fd, -1);
	}
}

static __attribute__((noinline)) void socket_pairs(long n)
{
	long i;
	int fd;

	for (i = 0; i < n; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		keep(i, fd, -1);
	}
}

static __attribute__((noinline)) void pipe_pairs(long n)
{
	int p[2];
	long i;

	for (i = 0; i < n; i++) {
		if (pipe(p))
			die("pipe");
		keep(i, p[0], p[1]);
	}
}

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "open";
	long n = argc > 2 ? atol(argv[2]) : 100000;
	void (*pairs)(long);
	double t0, t1;

	if (!strcmp(kind, "open"))
		pairs = open_pairs;
	else if (!strcmp(kind, "socket"))
		pairs = socket_pairs;
	else if (!strcmp(kind, "pipe"))
		pairs = pipe_pairs;
	else {
		fprintf(stderr, "usage: bench_fd open|socket|pipe N\n");
		return 2;
	}
	if (n < 1)
		n = 1;
	memset(win, -1, sizeof(win));
	pairs(1000); /* warm the file table, the dentry and slab caches */
	t0 = now();
	pairs(n);
	t1 = now();
	printf("%.1f\n", (t1 - t0) * 1e9 / n);
	fflush(stdout);
	/* the last few descriptors held, so that an observer's report after
	 * the loop sees them open (untimed) */
	if (argc > 3)
		usleep((useconds_t)(atof(argv[3]) * 1e6));
	return 0;
}
