// SPDX-License-Identifier: GPL-2.0
/*
 * pipeleak: opens 20 pipes a second and never closes them (each holds
 * the kernel's pipe_inode_info and its buffer array), beside pipes opened
 * and closed at once (churn): for --kernel.
 *
 *	pipeleak [-t SECONDS]
 */
#include "common.h"

int main(int argc, char **argv)
{
	double secs = argc > 2 && !strcmp(argv[1], "-t") ? atof(argv[2]) : 0;
	struct timespec t0, now;
	int fds[2], i;

	write_pidfile();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (pipe(fds)) /* LEAK:pipe */
			return 1;
		for (i = 0; i < 10; i++) { /* churn */
			int c[2];

			if (!pipe(c)) {
				close(c[0]);
				close(c[1]);
			}
		}
		usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (secs && now.tv_sec - t0.tv_sec >= secs)
			return 0;
	}
}
