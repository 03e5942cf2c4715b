// SPDX-License-Identifier: GPL-2.0
/*
 * nofp: leaks as packaged software does, built -O2 without frame pointers
 * (and, for comparison, with them): directly, through its own shared
 * library (libnofp), from a frame that keeps rbp as its frame pointer
 * (a variable-length array), and from a signal handler that interrupts
 * a system call. Churn beside them must never be reported.
 *
 *	nofp [-t SECONDS] [-q] [-P PLUGIN] [--table]
 *
 * -P dlopens PLUGIN (a build of libnofp under another name) after one
 * second and leaks through it too (leak_via_plugin), in a library
 * leakwatch has not seen when it attached.
 * The table says, for each leak: SITE <marker> <function> <bytes/event>
 * <bytes/s>. Leaking calls carry a LEAK:<marker> comment. Every leak
 * site's stack reaches main.
 */
#include "common.h"

#include <dlfcn.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>

#include "libnofp.h"

#define TICK 10 /* ms */

static __site void leak_direct(size_t n)
{
	void *p;

	p = malloc(n); /* LEAK:direct */
	use(p);
}

static __site void leak_via_lib(size_t n)
{
	use(lib_dup(n));
}

static const char *plugin_path;
static char *(*plugin_dup)(size_t n);

static __site void leak_via_plugin(size_t n)
{
	use(plugin_dup(n));
}

static void load_plugin(void)
{
	void *h = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "nofp: %s\n", dlerror());
		exit(1);
	}
	plugin_dup = (char *(*)(size_t))dlsym(h, "lib_dup");
	if (!plugin_dup)
		exit(1);
}

/* A variable-length array: gcc then keeps rbp as this frame's pointer
 * even with -fomit-frame-pointer, and its CFI says CFA = rbp + 16. */
static __site void leak_vla(size_t n)
{
	volatile char scratch[n / 64 + 1];
	void *p;

	scratch[0] = 1;
	p = malloc(n + scratch[0] - 1); /* LEAK:vla */
	use(p);
}

static __site void leak_in_signal(size_t n)
{
	void *p;

	p = calloc(1, n); /* LEAK:signal */
	use(p);
}

static volatile sig_atomic_t alarms;

/* Not a tail call: the handler's frame stays on the stack. */
static __site void on_alarm(int sig)
{
	leak_in_signal(1000);
	alarms += sig != 0;
}

static __site void churn(unsigned long tick)
{
	void *p = malloc(100 + tick % 1000); /* CHURN:exe */

	use(p);
	free(p);
	lib_churn(tick);
}

/* Not a constant: the array's size must be known only at run time. */
static volatile size_t vla_len = 1500;

/* One tick's leaks, a frame below main. */
static __site void tick_leaks(unsigned long tick)
{
	if (tick % 5 == 0)
		leak_direct(2000);
	if (tick % 5 == 1)
		leak_via_lib(3000);
	if (tick % 5 == 2)
		leak_vla(vla_len);
	if (plugin_path && tick == 100)
		load_plugin();
	if (plugin_dup && tick % 5 == 3)
		leak_via_plugin(2500);
	churn(tick);
}

/*
 * Waits out the rest of a tick with SIGALRM unblocked: the handler only
 * ever interrupts ppoll's system call, never the allocator.
 */
static __site void wait_tick(const sigset_t *open)
{
	struct timespec ts = { 0, TICK * 1000000L };

	ppoll(NULL, 0, &ts, open);
}

static void print_table(void)
{
	printf("SITE direct leak_direct 2000 %.1f\n", 2000 * 1000.0 / 50);
	printf("SITE lib_copy lib_copy 3000 %.1f\n", 3000 * 1000.0 / 50);
	printf("SITE vla leak_vla 1500 %.1f\n", 1500 * 1000.0 / 50);
	printf("SITE signal leak_in_signal 1000 %.1f\n", 1000 * 1000.0 / 50);
	printf("CHURN churn\nCHURN lib_churn\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "table", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct itimerval it = { { 0, 50000 }, { 0, 50000 } };
	struct sigaction sa = { .sa_handler = on_alarm };
	unsigned long tick, ticks = 0;
	sigset_t blocked, open;
	double seconds = 0;
	int c, quiet = 0;

	while ((c = getopt_long(argc, argv, "t:qP:", opts, NULL)) != -1) {
		if (c == 'P')
			plugin_path = optarg;
		else if (c == 't')
			seconds = strtod(optarg, NULL);
		else if (c == 'q')
			quiet = 1;
		else if (c == 'T')
			return print_table(), 0;
		else
			return 2;
	}
	if (seconds > 0)
		ticks = (unsigned long)(seconds * 1000 / TICK);
	write_pidfile();
	if (!quiet)
		print_table();
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGALRM);
	sigprocmask(SIG_BLOCK, &blocked, &open);
	sigdelset(&open, SIGALRM);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (tick = 0; !ticks || tick < ticks; tick++) {
		tick_leaks(tick);
		wait_tick(&open);
	}
	return 0;
}
