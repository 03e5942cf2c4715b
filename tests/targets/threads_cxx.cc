// SPDX-License-Identifier: GPL-2.0
/*
 * Thread leaks through std::thread: a detached thread started every 50 ms
 * that blocks forever (the leak), joined short-lived threads at a higher
 * rate, and a fixed pool started once. libstdc++ starts them from a frame
 * without a frame pointer.
 *
 *	threads-cxx	prints "ready" once the pool runs
 */
#include <cstdio>
#include <thread>
#include <vector>
#include "common.h"

#define POOL 4

static __site void leak_thread()
{
	std::thread([] { pause(); }).detach(); /* LEAK:thread */
}

static __site void short_thread()
{
	std::thread([] { use(nullptr); }).join(); /* NOLEAK:short */
}

static __site void start_pool(std::vector<std::thread> &pool)
{
	for (int i = 0; i < POOL; i++)
		pool.emplace_back([] { for (;;) pause(); }); /* NOLEAK:pool */
}

int main()
{
	std::vector<std::thread> pool;

	write_pidfile();
	start_pool(pool);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		leak_thread();
		for (int i = 0; i < 3; i++)
			short_thread();
		usleep(50000);
	}
}
