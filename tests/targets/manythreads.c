// SPDX-License-Identifier: GPL-2.0
/*
 * manythreads: a burst of threads, half of which never end.
 *
 *	manythreads [-n THREADS] [-t SECONDS]
 *
 * Starts THREADS (default 2000) threads as fast as it can, in turn at
 * keep_thread() (the thread blocks forever: the leak) and at
 * brief_thread() (the thread ends at once, detached). Every thread
 * leaks THREAD_BYTES at thread_leak() before it blocks or ends. Prints
 * "started N" once all are created, then sleeps until -t seconds
 * (default 30) have passed.
 */
#include <pthread.h>
#include "common.h"

#define THREAD_BYTES 1000
#define STACK_BYTES  (64 * 1024) /* 2000 default stacks would be 16 GiB */

static __site void thread_leak(void)
{
	void *p;

	p = malloc(THREAD_BYTES); /* LEAK:thread_heap */
	use(p);
}

static void *block(void *arg)
{
	thread_leak();
	for (;;)
		pause();
	return arg;
}

static void *brief(void *arg)
{
	thread_leak();
	return arg;
}

static __site int keep_thread(const pthread_attr_t *a)
{
	pthread_t t;

	return pthread_create(&t, a, block, NULL); /* LEAK:keep */
}

static __site int brief_thread(const pthread_attr_t *a)
{
	pthread_t t;

	return pthread_create(&t, a, brief, NULL); /* NOLEAK:brief */
}

int main(int argc, char **argv)
{
	double seconds = 30;
	int n = 2000, i, made = 0;
	pthread_attr_t a;
	int c;

	while ((c = getopt(argc, argv, "n:t:")) != -1) {
		switch (c) {
		case 'n':
			n = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		default:
			fprintf(stderr, "usage: manythreads [-n N] [-t S]\n");
			return 2;
		}
	}
	write_pidfile();
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, STACK_BYTES);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < n; i++) {
		if (!(i % 2 ? brief_thread(&a) : keep_thread(&a)))
			made++;
	}
	printf("started %d\n", made);
	fflush(stdout);
	usleep((useconds_t)(seconds * 1e6));
	return 0;
}
