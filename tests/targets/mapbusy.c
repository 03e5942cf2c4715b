// SPDX-License-Identifier: GPL-2.0
/*
 * mapbusy: leaks while other threads map and unmap, so that the mmap
 * lock is often held (or awaited) for writing when a stack is walked.
 *
 *	mapbusy [-t THREADS]
 *
 * THREADS threads (default 2) map and unmap 1 MiB over and over; the main
 * thread leaks a 64 B block (leak_block) every millisecond and a socket
 * (leak_socket) every tenth, until killed.
 */
#include <pthread.h>
#include <sys/socket.h>

#include "common.h"

static void *remap(void *arg)
{
	for (;;) {
		void *p = mmap_anon(1 << 20);

		if (p != MAP_FAILED)
			munmap(p, 1 << 20);
		usleep(20);
	}
	return arg;
}

static __site void leak_block(void)
{
	void *volatile p = malloc(64);

	(void)p;
}

static __site void leak_socket(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	(void)s;
}

int main(int argc, char **argv)
{
	int i, n = 2, opt;
	pthread_t t;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			return 2;
		n = atoi(optarg);
	}
	for (i = 0; i < n; i++)
		if (pthread_create(&t, NULL, remap, NULL))
			return 1;
	write_pidfile();
	for (i = 0;; i++) {
		leak_block();
		if (i % 10 == 0)
			leak_socket();
		usleep(1000);
	}
}
