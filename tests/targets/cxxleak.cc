// SPDX-License-Identifier: GPL-2.0
/*
 * C++ heap leaks through every form of operator new, std::string and
 * strdup, 100 times a second, beside containers and strings that churn
 * and give everything back. libstdc++ and libc keep no frame pointers:
 * the site must still be the function that leaks, at its line.
 *
 *	cxxleak		prints "ready" once running
 */
#include <cstdio>
#include <cstring>
#include <list>
#include <new>
#include <string>
#include <vector>
#include "common.h"

#define RATE 100 /* of each leak, per second */

struct alignas(64) aligned_block {
	char c[256];
};

struct node {
	node *next = nullptr;
	char name[56] = "";
};

static std::vector<void *> kept;

static __site void leak_new()
{
	kept.push_back(new char[1000]); /* LEAK:array */
}

static __site void leak_object()
{
	kept.push_back(new node); /* LEAK:object */
}

static __site void leak_nothrow()
{
	kept.push_back(new (std::nothrow) int[100]); /* LEAK:nothrow */
}

static __site void leak_aligned()
{
	kept.push_back(new aligned_block); /* LEAK:aligned */
}

/* The buffer is made in libstdc++'s own code, without frame pointers. */
static __site void leak_string()
{
	kept.push_back(new std::string(300, 'z')); /* LEAK:string */
}

/* So is a copy made by libc. */
static __site void leak_strdup()
{
	kept.push_back(strdup("forty characters of text, then a NUL...")); /* LEAK:strdup */
}

static __site void churn()
{
	std::list<std::string> l;

	for (int i = 0; i < 20; i++)
		l.emplace_back(100 + i, 'y'); /* NOLEAK:churn */
	use(&l);
}

int main()
{
	struct timespec next;

	write_pidfile();
	kept.reserve(1 << 22); /* its own growth is no leak of ours */
	printf("ready\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		leak_new();
		leak_object();
		leak_nothrow();
		leak_aligned();
		leak_string();
		leak_strdup();
		churn();
		ts_add_ns(&next, NSEC_PER_SEC / RATE);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
}
