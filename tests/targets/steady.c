// SPDX-License-Identifier: GPL-2.0
/*
 * steady: churn only (nothing leaks) plus a heartbeat, for the
 * attach/detach tests.
 *
 *	steady [-t SECONDS] [-b HEARTBEAT_FILE] [-j THREADS]
 *
 * Every 100 ms the heartbeat counter is incremented and written, as a
 * decimal number, to HEARTBEAT_FILE (rewritten in place). A test that
 * sees the counter advance knows the process is alive and not stopped.
 * -j adds THREADS threads that churn as well (default: none), so that a
 * detach is likely to find some thread inside the allocator.
 */
#include "common.h"

#include <pthread.h>

#include "churn.h"

#define HEARTBEAT_TICKS (100 / TICK_MS)
#define MAX_THREADS	16

static void *churn_thread(void *arg)
{
	struct timespec next;
	unsigned long tick;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (tick = 0;; tick++) {
		churn_tick(tick);
		ts_add_ns(&next, TICK_MS * 1000000LL);
		sleep_until(&next);
	}
	return NULL;
}

static void heartbeat(int fd, unsigned long long n)
{
	char buf[32];
	int len;

	len = snprintf(buf, sizeof(buf), "%020llu\n", n);
	if (fd >= 0 && pwrite(fd, buf, len, 0) != len) {
		perror("heartbeat");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *hb_path = NULL;
	unsigned long tick, ticks = 0;
	unsigned long long beats = 0;
	struct timespec next;
	double seconds = 0;
	int c, i, fd = -1, threads = 0;
	pthread_t tid;

	while ((c = getopt(argc, argv, "t:b:j:")) != -1) {
		switch (c) {
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		case 'b':
			hb_path = optarg;
			break;
		case 'j':
			threads = atoi(optarg);
			if (threads < 0)
				threads = 0;
			if (threads > MAX_THREADS)
				threads = MAX_THREADS;
			break;
		default:
			fprintf(stderr, "usage: steady [-t SECONDS] "
					"[-b HEARTBEAT_FILE] [-j THREADS]\n");
			return 2;
		}
	}
	if (seconds > 0)
		ticks = (unsigned long)(seconds * 1000 / TICK_MS);
	if (hb_path) {
		fd = open(hb_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0644);
		if (fd < 0) {
			perror(hb_path);
			return 1;
		}
	}

	for (i = 0; i < threads; i++) {
		if (pthread_create(&tid, NULL, churn_thread, NULL)) {
			perror("pthread_create");
			return 1;
		}
	}

	write_pidfile();
	printf("steady: pid %d, %d churn threads\n", (int)getpid(), threads);
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &next);
	heartbeat(fd, beats);
	for (tick = 0; !ticks || tick < ticks; tick++) {
		churn_tick(tick);
		if (tick % HEARTBEAT_TICKS == 0)
			heartbeat(fd, ++beats);
		ts_add_ns(&next, TICK_MS * 1000000LL);
		sleep_until(&next);
	}
	return 0;
}
