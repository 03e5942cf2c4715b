// SPDX-License-Identifier: GPL-2.0
/* make bench's C++ workload: new/delete pairs, timed from inside. */
#include <chrono>
#include <cstdio>
#include <cstdlib>

static void *volatile sink;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;

	for (long i = 0; i < 1000; i++) /* warm the tcache */
		delete[] new char[64 + (i & 7) * 32];
	auto t0 = std::chrono::steady_clock::now();
	for (long i = 0; i < n; i++) {
		char *p = new char[64 + (i & 7) * 32];
		sink = p;
		delete[] p;
	}
	auto t1 = std::chrono::steady_clock::now();
	printf("%.1f\n",
	       std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
	return 0;
}
