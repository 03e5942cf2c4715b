// SPDX-License-Identifier: GPL-2.0
/*
 * Thread leaks: a detached thread started every 50 ms that blocks
 * forever (the leak), joined short-lived threads at a higher rate, and a
 * fixed pool started once.
 *
 *	threads [-q]	prints "ready" once the pool runs
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include "common.h"

#define POOL 4

static void *block(void *arg)
{
	pause();
	return arg;
}

static void *quick(void *arg)
{
	return arg;
}

static __site void leak_thread(void)
{
	pthread_t t;

	if (!pthread_create(&t, NULL, block, NULL)) /* LEAK:thread */
		pthread_detach(t);
}

static __site void short_thread(void)
{
	pthread_t t;

	if (!pthread_create(&t, NULL, quick, NULL)) /* NOLEAK:short */
		pthread_join(t, NULL);
}

static __site void start_pool(pthread_t *pool)
{
	int i;

	for (i = 0; i < POOL; i++)
		pthread_create(&pool[i], NULL, block, NULL); /* NOLEAK:pool */
}

int main(void)
{
	pthread_t pool[POOL];
	int i;

	write_pidfile();
	start_pool(pool);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		leak_thread();
		for (i = 0; i < 3; i++)
			short_thread();
		usleep(50000);
	}
}
