// SPDX-License-Identifier: GPL-2.0
/*
 * fdleak: descriptor leaks at known rates beside heavy descriptor churn,
 * and every way a descriptor is released (issue 13).
 *
 *	fdleak [-dir DIR] [-rate R] [-t SECONDS] [-stop-after SECONDS]
 *	       [-churn-threads N] [-churn N] [-pool N] [-nofile N]
 *	       [-release] [-exec SECONDS] [-every] [-scm N]
 *
 * Before "fdleak: ready" it opens a fixed set kept forever: 3 files
 * DIR/fixed-N.dat, 2 pipes, 1 eventfd and a TCP listener on 127.0.0.1
 * (attached to later, these are "alive at attach"). Then, on absolute
 * deadlines (start + k/R), R times a second each:
 *   leak_file	 opens DIR/leak-N.log and never closes it,
 *   leak_socket connects a TCP socket to the listener and never closes
 *		 it; the accepted end is closed at once, so the leaked
 *		 socket sits in CLOSE_WAIT,
 *   leak_pipe	 pipe2(), both ends never closed (2 descriptors a call).
 * -rate 0 leaks nothing. Beside them -churn-threads threads (1) churn:
 * each 10 ms tick -churn times (1) a batch of open, openat, fopen,
 * socket, a TCP connect+accept, pipe, pipe2, dup, socketpair, eventfd,
 * epoll_create1, memfd_create, timerfd_create, each closed at once.
 * Churn that still holds descriptors when a report is taken, in the main
 * thread every tick: a pool of -pool (12; 0: none) files rotating (the
 * oldest closed for a new one), half as many UDP sockets, a quarter as
 * many pipes, and eventfds piling up to 2 x -pool and closed together.
 *
 * -release: 10 times a second the release paths, each leaving the count
 * it found: dup2 and dup3 over an open descriptor (a fresh one and a
 * rolling slot that always holds the latest), dup2(fd, fd), fcntl
 * F_DUPFD / F_DUPFD_CLOEXEC, close_range over a block (bounded,
 * unbounded, partial, empty), a close in another thread, a failing open
 * and close, and a forked child that closes every inherited copy (by
 * close_range or one by one) and opens one of its own. Once: a kept
 * F_DUPFD copy and 3 kept descriptors made CLOEXEC by close_range
 * (CLOSE_RANGE_CLOEXEC: not a close).
 * -exec SECONDS: then it stops its churn, opens descriptors without
 * O_CLOEXEC and with it (or FD_CLOEXEC set later, by fcntl, FIOCLEX,
 * CLOSE_RANGE_CLOEXEC, or cleared again), prints
 *	fdleak: exec fds=N cloexec=M
 * (/proc/self/fd then, and how many of those were close-on-exec) and
 * execs itself, which checks that exactly the CLOEXEC ones are gone and
 * prints "fdleak: after exec ok kept=K gone=G" (or a BAD line), then
 * goes on leaking and churning. Counts and deadlines carry over.
 * -every: once, one descriptor (or pair) kept through every descriptor-
 * creating syscall of the contract (open, creat, openat2, accept,
 * signalfd, perf_event_open, io_uring_setup, fsopen, pidfd_getfd, ...);
 * one the kernel refuses is listed SKIPPED. -scm N: N descriptors
 * received through SCM_RIGHTS (opened without any open of ours).
 * -nofile N sets the soft RLIMIT_NOFILE (never above the hard one).
 *
 * SIGUSR2 (or -stop-after SECONDS) makes it quiet: it stops leaking and
 * churning (the churn threads are joined, nothing of theirs stays open;
 * the pool keeps what it holds), checks its own bookkeeping against
 * /proc/self/fd and prints, in one write:
 *	fdleak: quiet fds=N own=T inherited=I untracked=U bad=B files=F
 *	    sockets=S pipes=P cycles=C
 *	EXPECT <marker> <open descriptors made there> <LEAK|NOLEAK> <group>
 *	SKIPPED <marker> <errno name>
 *	fdleak: quiet end
 * fds: entries of /proc/self/fd; own: opened by this image (EXPECT
 * totals); inherited: there when this image started (at exec: stdio, or
 * what survived its own exec), minus those it closed since; untracked
 * (not ours nor inherited) and bad (a bookkeeping mismatch, also
 * printed as "fdleak: BAD ...") must be 0; files, sockets, pipes: leak
 * events (pipe2 calls) over both images. Then it idles until -t.
 *
 * Every descriptor-creating call is on a line with a LEAK:<marker> or
 * NOLEAK:<marker> comment (the EXPECT names): the tests learn from it
 * the function and line leakwatch must report. Writes its pid to
 * $LW_TEST_PIDFILE.
 */
#include "common.h"

#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <linux/fanotify.h>
#include <linux/io_uring.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/perf_event.h>

/* The legacy syscalls -every calls by number (x86-64 has them all). */
#ifndef SYS_open
#define SYS_open -1 /* syscall(-1): ENOSYS, listed SKIPPED */
#endif
#ifndef SYS_creat
#define SYS_creat -1
#endif
#ifndef SYS_accept
#define SYS_accept -1
#endif
#ifndef SYS_pipe
#define SYS_pipe -1
#endif
#ifndef SYS_eventfd
#define SYS_eventfd -1
#endif
#ifndef SYS_epoll_create
#define SYS_epoll_create -1
#endif
#ifndef SYS_inotify_init
#define SYS_inotify_init -1
#endif
#ifndef SYS_signalfd
#define SYS_signalfd -1
#endif

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define TICK_NS	      (10 * 1000 * 1000LL)
#define REL_RATE      10    /* release cycles a second */
#define FD_SLOTS      65536 /* descriptors the bookkeeping covers */
#define RELEASE_BLOCK 64    /* numbers below the soft limit -release uses */
#define RWC	      (O_RDWR | O_CREAT)
#define RDC	      (O_RDONLY | O_CREAT)
#define RDIR	      (O_RDONLY | O_DIRECTORY)
#define DGRAM_CX      (SOCK_DGRAM | SOCK_CLOEXEC)

/*
 * Markers: kind, name, group. The group says who makes them: "churn"
 * descriptors are the churn threads' (never kept), the others the main
 * thread's, counted by track().
 */
/* clang-format off */
#define MARKERS(X)							\
	X(LEAK, file, leak)						\
	X(LEAK, socket, leak)						\
	X(LEAK, pipe, leak)						\
	X(NOLEAK, leak_accept, leak)					\
	X(NOLEAK, fixed_file, fixed)					\
	X(NOLEAK, fixed_pipe, fixed)					\
	X(NOLEAK, fixed_eventfd, fixed)					\
	X(NOLEAK, listen, fixed)					\
	X(NOLEAK, churn_open, churn)					\
	X(NOLEAK, churn_openat, churn)					\
	X(NOLEAK, churn_fopen, churn)					\
	X(NOLEAK, churn_socket, churn)					\
	X(NOLEAK, churn_listen, churn)					\
	X(NOLEAK, churn_tcp, churn)					\
	X(NOLEAK, churn_tcp_accept, churn)				\
	X(NOLEAK, churn_pipe, churn)					\
	X(NOLEAK, churn_pipe2, churn)					\
	X(NOLEAK, churn_dup, churn)					\
	X(NOLEAK, churn_spair, churn)				\
	X(NOLEAK, churn_eventfd, churn)					\
	X(NOLEAK, churn_epoll, churn)					\
	X(NOLEAK, churn_memfd, churn)					\
	X(NOLEAK, churn_timerfd, churn)					\
	X(NOLEAK, pool_file, pool)					\
	X(NOLEAK, pool_pipe, pool)					\
	X(NOLEAK, pool_socket, pool)					\
	X(NOLEAK, pool_burst, pool)					\
	X(NOLEAK, rel_dup2_src, release)				\
	X(NOLEAK, rel_dup2_victim, release)				\
	X(NOLEAK, rel_dup2_over, release)				\
	X(NOLEAK, rel_dup2_roll, release)				\
	X(NOLEAK, rel_dup2_self, release)				\
	X(NOLEAK, rel_dup3_roll, release)				\
	X(NOLEAK, rel_fdup_src, release)				\
	X(NOLEAK, rel_fdup, release)					\
	X(NOLEAK, rel_fdup_cx, release)					\
	X(NOLEAK, rel_range_open, release)				\
	X(NOLEAK, rel_range_pipe, release)				\
	X(NOLEAK, rel_range_socket, release)				\
	X(NOLEAK, rel_range_eventfd, release)				\
	X(NOLEAK, rel_range_memfd, release)				\
	X(NOLEAK, rel_range_move, release)				\
	X(NOLEAK, rel_dupfd_src, release)				\
	X(NOLEAK, rel_dupfd_kept, release)				\
	X(NOLEAK, rel_rangecx_src, release)				\
	X(NOLEAK, rel_rangecx_kept, release)				\
	X(NOLEAK, rel_thread_src, release)				\
	X(NOLEAK, rel_open_fail, release)				\
	X(NOLEAK, rel_child_open, release)				\
	X(NOLEAK, exec_keep_open, exec)					\
	X(NOLEAK, exec_keep_pipe, exec)					\
	X(NOLEAK, exec_keep_socket, exec)				\
	X(NOLEAK, exec_keep_cleared, exec)				\
	X(NOLEAK, exec_keep_fionclex, exec)				\
	X(NOLEAK, exec_gone_open, exec)					\
	X(NOLEAK, exec_gone_pipe, exec)					\
	X(NOLEAK, exec_gone_socket, exec)				\
	X(NOLEAK, exec_gone_eventfd, exec)				\
	X(NOLEAK, exec_gone_dupfd, exec)				\
	X(NOLEAK, exec_gone_dup3, exec)					\
	X(NOLEAK, exec_gone_setfd, exec)				\
	X(NOLEAK, exec_gone_fioclex, exec)				\
	X(NOLEAK, exec_gone_range, exec)				\
	X(NOLEAK, exec_gone_memfd, exec)				\
	X(NOLEAK, exec_gone_epoll, exec)				\
	X(NOLEAK, every_open, every)					\
	X(NOLEAK, every_openat, every)					\
	X(NOLEAK, every_openat2, every)					\
	X(NOLEAK, every_creat, every)					\
	X(NOLEAK, every_socket, every)					\
	X(NOLEAK, every_spair, every)				\
	X(NOLEAK, every_client, every)					\
	X(NOLEAK, every_accept, every)					\
	X(NOLEAK, every_accept4, every)					\
	X(NOLEAK, every_dup, every)					\
	X(NOLEAK, every_dup2, every)					\
	X(NOLEAK, every_dup3, every)					\
	X(NOLEAK, every_fdupfd, every)					\
	X(NOLEAK, every_fdupfd_cx, every)				\
	X(NOLEAK, every_pipe, every)					\
	X(NOLEAK, every_pipe2, every)					\
	X(NOLEAK, every_eventfd, every)					\
	X(NOLEAK, every_eventfd2, every)				\
	X(NOLEAK, every_epoll, every)					\
	X(NOLEAK, every_epoll1, every)					\
	X(NOLEAK, every_timerfd, every)					\
	X(NOLEAK, every_signalfd, every)				\
	X(NOLEAK, every_signalfd4, every)				\
	X(NOLEAK, every_memfd, every)					\
	X(NOLEAK, every_inotify, every)					\
	X(NOLEAK, every_inotify1, every)				\
	X(NOLEAK, every_pidfd, every)					\
	X(NOLEAK, every_getfd, every)				\
	X(NOLEAK, every_perf, every)					\
	X(NOLEAK, every_fanotify, every)				\
	X(NOLEAK, every_userfaultfd, every)				\
	X(NOLEAK, every_io_uring, every)				\
	X(NOLEAK, every_mountfd, every)					\
	X(NOLEAK, every_by_handle, every)				\
	X(NOLEAK, every_fsopen, every)					\
	X(NOLEAK, every_fsmount, every)					\
	X(NOLEAK, every_fspick, every)					\
	X(NOLEAK, every_open_tree, every)				\
	X(NOLEAK, every_memfd_secret, every)				\
	X(NOLEAK, scm_pair, scm)					\
	X(NOLEAK, unseen_scm, scm)
/* clang-format on */

#define MARK_ENUM(kind, name, group) M_##name,
enum mark {
	MARKERS(MARK_ENUM) NMARKS
};

#define MARK_INFO(kind, name, group) { #name, #kind, #group },
static const struct {
	const char *name, *kind, *group;
} marks[] = { MARKERS(MARK_INFO) };

_Static_assert(NMARKS < 255, "owner[] holds a mark + 1 in a byte");
#define OWN_INHERITED 255

/* Bookkeeping of the main thread: who made each open descriptor. */
static unsigned char owner[FD_SLOTS]; /* mark + 1, OWN_INHERITED, 0 */
static unsigned int live[NMARKS];
static unsigned int inherited;
static int skipped_errno[NMARKS]; /* -every: why a syscall gave nothing */

/* Options */
static char dir[PATH_MAX];
static double rate = 10, secs, stop_after, exec_at;
static int churn_threads = 1, churn_mult = 1, scm_count, pool = 12;
static long nofile;
static bool release, every, after_exec;
static char *keep_list, *gone_list; /* after exec: what must be, or not */

/* State, carried over an exec by -state */
static long long t0_ns;
static struct {
	unsigned long files, sockets, pipes; /* leak events */
	unsigned long events;		     /* leak deadlines passed */
	unsigned long cycles;		     /* release cycles */
	unsigned long bad;
} st;

static int lsn_fd = -1, fixed_efd = -1;
static struct sockaddr_in lsn_addr;
static long soft_limit;
static int blk; /* -release's numbers: blk .. blk + RELEASE_BLOCK - 1 */
static bool leaking = true;
static volatile sig_atomic_t quiet_req;

static void die(const char *what)
{
	fprintf(stderr, "fdleak: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void bad(const char *fmt, ...)
{
	va_list ap;

	st.bad++;
	fputs("fdleak: BAD ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* A failure counted by bad(), and out of the (void) function. */
#define BAIL(...)                                                              \
	do {                                                                   \
		bad(__VA_ARGS__);                                              \
		return;                                                        \
	} while (0)

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* DIR/name, into a buffer of PATH_MAX */
static char *dpath(char *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static char *dpath(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(buf, PATH_MAX, "%s/", dir);
	va_start(ap, fmt);
	vsnprintf(buf + n, PATH_MAX - n, fmt, ap);
	va_end(ap);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Bookkeeping (main thread only) */

/* fd was made at mark m; returns fd (negative: nothing was made). */
static int track(int fd, enum mark m)
{
	if (fd < 0)
		return fd;
	if (fd >= FD_SLOTS) {
		bad("fd %d beyond the bookkeeping (%d)", fd, FD_SLOTS);
		return fd;
	}
	if (owner[fd])
		bad("fd %d made at %s is still open as %s's", fd, marks[m].name,
		    owner[fd] == OWN_INHERITED ? "inherited"
					       : marks[owner[fd] - 1].name);
	owner[fd] = m + 1;
	live[m]++;
	return fd;
}

/* fd is no longer open (closed by us, or replaced by a dup2). */
static void forget(int fd)
{
	if (fd < 0 || fd >= FD_SLOTS || !owner[fd])
		return;
	if (owner[fd] == OWN_INHERITED)
		inherited--;
	else
		live[owner[fd] - 1]--;
	owner[fd] = 0;
}

static void xclose(int fd)
{
	if (fd < 0)
		return;
	/* a second close could close another thread's reuse of the number */
	if (fd >= FD_SLOTS || !owner[fd])
		bad("close(%d): not open here", fd);
	forget(fd);
	if (close(fd))
		bad("close(%d): %s", fd, strerror(errno));
}

/* A dup2/dup3 that returned r for newfd: newfd's old file is closed. */
static void tracked_dup(int r, int newfd, enum mark m)
{
	if (r != newfd) {
		bad("%s: dup to %d returned %d (%s)", marks[m].name, newfd, r,
		    strerror(errno));
		return;
	}
	forget(newfd);
	track(newfd, m);
}

/* close_range(lo, hi, 0) succeeded */
static void forget_range(unsigned int lo, unsigned int hi)
{
	unsigned int fd;

	for (fd = lo; fd <= hi && fd < FD_SLOTS; fd++)
		forget(fd);
}

/* -every: a syscall that made fd (or failed, and why) */
static void every_fd(int fd, enum mark m)
{
	if (fd < 0)
		skipped_errno[m] = errno ? errno : EINVAL;
	else
		track(fd, m);
}

/* The entries of /proc/self/fd, without the directory's own. */
typedef void (*fd_fn)(int fd, void *arg);

static int each_fd(fd_fn fn, void *arg)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		die("/proc/self/fd");
	while ((e = readdir(d))) {
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd == dirfd(d))
			continue;
		if (fn)
			fn(fd, arg);
		n++;
	}
	closedir(d);
	return n;
}

static void mark_inherited(int fd, void *arg)
{
	(void)arg;
	if (fd < FD_SLOTS) {
		owner[fd] = OWN_INHERITED;
		inherited++;
	}
}

/* ------------------------------------------------------------------ */
/* Sockets */

/* bind fd to 127.0.0.1:0 and listen; its address into *a */
static void listen_on(int fd, struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int one = 1;

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)a, sizeof(*a)) || listen(fd, 512) ||
	    getsockname(fd, (struct sockaddr *)a, &len))
		die("listen on 127.0.0.1");
}

/* A connection is waiting on lfd (a connect to it has succeeded). */
static bool acceptable(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int r;

	while ((r = poll(&p, 1, 2000)) < 0 && errno == EINTR)
		;
	return r == 1;
}

static bool dial(int s, const struct sockaddr_in *a)
{
	struct pollfd p = { .fd = s, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0, r;

	if (!connect(s, (const struct sockaddr *)a, sizeof(*a)))
		return true;
	if (errno != EINTR)
		return false;
	/* interrupted (SIGUSR2): the connection goes on, wait for it */
	while ((r = poll(&p, 1, 2000)) < 0 && errno == EINTR)
		;
	if (r != 1 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		errno = err ? err : ETIMEDOUT;
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* The fixed set */

static __site void open_fixed(void)
{
	char path[PATH_MAX];
	int fd, i, r, p[2];

	for (i = 0; i < 3; i++) {
		dpath(path, "fixed-%d.dat", i);
		fd = open(path, RWC, 0644); /* NOLEAK:fixed_file */
		if (track(fd, M_fixed_file) < 0)
			die(path);
	}
	for (i = 0; i < 2; i++) {
		r = pipe(p); /* NOLEAK:fixed_pipe */
		if (r)
			die("pipe");
		track(p[0], M_fixed_pipe);
		track(p[1], M_fixed_pipe);
	}
	fd = eventfd(0, 0); /* NOLEAK:fixed_eventfd */
	if (track(fd, M_fixed_eventfd) < 0)
		die("eventfd");
	fixed_efd = fd;
}

static __site void open_listener(void)
{
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0); /* NOLEAK:listen */
	if (track(fd, M_listen) < 0)
		die("socket");
	listen_on(fd, &lsn_addr);
	lsn_fd = fd;
}

/* ------------------------------------------------------------------ */
/* The leaks */

/* Leaks may never reach -release's numbers. */
static void leak_guard(int fd)
{
	if (fd >= blk - 16 && leaking) {
		bad("leaked fd %d reaches the release block at %d: "
		    "leaks stop (raise -nofile)",
		    fd, blk);
		leaking = false;
	}
}

static __site void leak_file(void)
{
	char path[PATH_MAX];
	int fd;

	dpath(path, "leak-%lu.log", st.files);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* LEAK:file */
	if (track(fd, M_file) < 0) {
		bad("open %s: %s", path, strerror(errno));
		return;
	}
	st.files++;
	leak_guard(fd);
}

static __site void leak_socket(void)
{
	int s, a;

	s = socket(AF_INET, SOCK_STREAM, 0); /* LEAK:socket */
	if (track(s, M_socket) < 0) {
		bad("socket: %s", strerror(errno));
		return;
	}
	st.sockets++;
	leak_guard(s);
	if (!dial(s, &lsn_addr) || !acceptable(lsn_fd)) {
		bad("connect to the listener: %s", strerror(errno));
		return;
	}
	a = accept(lsn_fd, NULL, NULL); /* NOLEAK:leak_accept */
	if (track(a, M_leak_accept) < 0) {
		bad("accept: %s", strerror(errno));
		return;
	}
	/* the peer's FIN puts the leaked end in CLOSE_WAIT */
	xclose(a);
}

static __site void leak_pipe(void)
{
	int p[2], r;

	r = pipe2(p, 0); /* LEAK:pipe */
	if (r) {
		bad("pipe2: %s", strerror(errno));
		return;
	}
	track(p[0], M_pipe);
	track(p[1], M_pipe);
	st.pipes++;
	leak_guard(p[1]);
}

/* ------------------------------------------------------------------ */
/* Churn: every descriptor closed again at once (churn threads) */

static atomic_int churn_stop;
static pthread_t churn_tid[64];
static int churn_running;

static __site void churn_files(void)
{
	char path[PATH_MAX];
	FILE *f;
	int fd;

	fd = open("/dev/null", O_RDONLY); /* NOLEAK:churn_open */
	if (fd >= 0)
		close(fd);
	fd = openat(AT_FDCWD, dir, RDIR); /* NOLEAK:churn_openat */
	if (fd >= 0)
		close(fd);
	dpath(path, "churn.txt");
	f = fopen(path, "w"); /* NOLEAK:churn_fopen */
	if (f) {
		fputs("churn\n", f);
		fclose(f);
	}
}

static __site void churn_sockets(int lfd, const struct sockaddr_in *a)
{
	int s, c, sv[2];

	s = socket(AF_INET, SOCK_DGRAM, 0); /* NOLEAK:churn_socket */
	if (s >= 0)
		close(s);
	c = socket(AF_INET, SOCK_STREAM, 0); /* NOLEAK:churn_tcp */
	if (c < 0)
		return;
	if (dial(c, a) && acceptable(lfd)) {
		s = accept4(lfd, NULL, NULL, 0); /* NOLEAK:churn_tcp_accept */
		if (s >= 0)
			close(s);
	}
	close(c);
	if (!socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) { /* NOLEAK:churn_spair */
		close(sv[0]);
		close(sv[1]);
	}
}

static __site void churn_pipes(void)
{
	int p[2];

	if (!pipe(p)) { /* NOLEAK:churn_pipe */
		close(p[0]);
		close(p[1]);
	}
	if (!pipe2(p, O_CLOEXEC)) { /* NOLEAK:churn_pipe2 */
		close(p[0]);
		close(p[1]);
	}
}

static __site void churn_misc(int lfd)
{
	int fd;

	fd = dup(lfd); /* NOLEAK:churn_dup */
	if (fd >= 0)
		close(fd);
	fd = eventfd(0, EFD_NONBLOCK); /* NOLEAK:churn_eventfd */
	if (fd >= 0)
		close(fd);
	fd = epoll_create1(0); /* NOLEAK:churn_epoll */
	if (fd >= 0)
		close(fd);
	fd = memfd_create("fdleak-churn", 0); /* NOLEAK:churn_memfd */
	if (fd >= 0)
		close(fd);
	fd = timerfd_create(CLOCK_MONOTONIC, 0); /* NOLEAK:churn_timerfd */
	if (fd >= 0)
		close(fd);
}

static __site int churn_listener(struct sockaddr_in *a)
{
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0); /* NOLEAK:churn_listen */
	if (fd < 0)
		die("socket");
	listen_on(fd, a);
	return fd;
}

static void *churn_main(void *arg)
{
	struct sockaddr_in a;
	struct timespec next;
	int lfd, i;

	(void)arg;
	lfd = churn_listener(&a);
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&churn_stop)) {
		for (i = 0; i < churn_mult; i++) {
			churn_files();
			churn_sockets(lfd, &a);
			churn_pipes();
			churn_misc(lfd);
		}
		ts_add_ns(&next, TICK_NS);
		sleep_until(&next);
	}
	close(lfd);
	return NULL;
}

static void start_churn(void)
{
	sigset_t all, old;
	int i;

	/* the main thread takes SIGUSR2 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	atomic_store(&churn_stop, 0);
	for (i = 0; i < churn_threads; i++)
		if (pthread_create(&churn_tid[i], NULL, churn_main, NULL))
			die("pthread_create");
	churn_running = churn_threads;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void stop_churn(void)
{
	int i;

	atomic_store(&churn_stop, 1);
	for (i = 0; i < churn_running; i++)
		pthread_join(churn_tid[i], NULL);
	churn_running = 0;
}

/*
 * Churn that holds descriptors when the report is taken (main thread,
 * every tick): a pool of -pool files whose oldest is closed for a new
 * one, half as many sockets, a quarter as many pipes, and a burst of
 * eventfds that grows to -pool * 2 and is closed at once (a sawtooth).
 */
#define POOL_MAX 64

static int pool_files[POOL_MAX], pool_socks[POOL_MAX], pool_pipes[POOL_MAX][2];
static int burst[2 * POOL_MAX], nburst;

static __site void churn_pool(unsigned long tick)
{
	char path[PATH_MAX];
	int fd, p[2], r, i;

	i = tick % pool;
	xclose(pool_files[i]);
	dpath(path, "pool-%d.dat", i);
	fd = open(path, RWC, 0644); /* NOLEAK:pool_file */
	pool_files[i] = track(fd, M_pool_file);
	i = tick % (pool / 2);
	xclose(pool_socks[i]);
	fd = socket(AF_INET, SOCK_DGRAM, 0); /* NOLEAK:pool_socket */
	pool_socks[i] = track(fd, M_pool_socket);
	if (tick % 2 == 0) {
		i = tick / 2 % (pool / 4);
		xclose(pool_pipes[i][0]);
		xclose(pool_pipes[i][1]);
		r = pipe(p); /* NOLEAK:pool_pipe */
		if (r)
			p[0] = p[1] = -1;
		pool_pipes[i][0] = track(p[0], M_pool_pipe);
		pool_pipes[i][1] = track(p[1], M_pool_pipe);
	}
	fd = eventfd(0, 0); /* NOLEAK:pool_burst */
	if (track(fd, M_pool_burst) >= 0)
		burst[nburst++] = fd;
	if (nburst == 2 * pool)
		while (nburst)
			xclose(burst[--nburst]);
}

static void pool_init(void)
{
	int i;

	for (i = 0; i < POOL_MAX; i++)
		pool_files[i] = pool_socks[i] = pool_pipes[i][0] =
			pool_pipes[i][1] = -1;
}

/* ------------------------------------------------------------------ */
/* -release */

static __site void rel_dup2(void)
{
	char path[PATH_MAX];
	int a, b, r;

	dpath(path, "rel-src.dat");
	a = open(path, RDC, 0644); /* NOLEAK:rel_dup2_src */
	if (track(a, M_rel_dup2_src) < 0)
		BAIL("open %s: %s", path, strerror(errno));
	dpath(path, "rel-victim.dat");
	b = open(path, RDC, 0644); /* NOLEAK:rel_dup2_victim */
	track(b, M_rel_dup2_victim);
	/* b's file closed by the dup2, b a copy of a */
	r = dup2(a, b); /* NOLEAK:rel_dup2_over */
	tracked_dup(r, b, M_rel_dup2_over);
	/* the slot always holds the latest copy: the one before is closed */
	r = dup2(a, blk); /* NOLEAK:rel_dup2_roll */
	tracked_dup(r, blk, M_rel_dup2_roll);
	/* dup2(fd, fd) changes nothing */
	r = dup2(blk, blk); /* NOLEAK:rel_dup2_self */
	if (r != blk)
		bad("dup2(%d, %d) returned %d", blk, blk, r);
	r = dup3(a, blk + 1, O_CLOEXEC); /* NOLEAK:rel_dup3_roll */
	tracked_dup(r, blk + 1, M_rel_dup3_roll);
	xclose(a);
	xclose(b);
}

static __site void rel_fdup(void)
{
	char path[PATH_MAX];
	int a, d, c;

	dpath(path, "rel-fdup.dat");
	a = open(path, RDC, 0644); /* NOLEAK:rel_fdup_src */
	if (track(a, M_rel_fdup_src) < 0)
		BAIL("open %s: %s", path, strerror(errno));
	d = fcntl(a, F_DUPFD, blk + 16); /* NOLEAK:rel_fdup */
	track(d, M_rel_fdup);
	c = fcntl(a, F_DUPFD_CLOEXEC, 3); /* NOLEAK:rel_fdup_cx */
	track(c, M_rel_fdup_cx);
	xclose(d);
	xclose(c);
	xclose(a);
}

/* Six descriptors moved into blk + 16.., closed by close_range. */
static __site void rel_range(unsigned long cycle)
{
	unsigned int lo = blk + 16, hi = blk + 21;
	char path[PATH_MAX];
	int fds[6], p[2], i, r;

	dpath(path, "rel-range.dat");
	fds[0] = open(path, RDC, 0644); /* NOLEAK:rel_range_open */
	track(fds[0], M_rel_range_open);
	r = pipe2(p, 0); /* NOLEAK:rel_range_pipe */
	if (r)
		p[0] = p[1] = -1;
	fds[1] = track(p[0], M_rel_range_pipe);
	fds[2] = track(p[1], M_rel_range_pipe);
	fds[3] = socket(AF_UNIX, SOCK_DGRAM, 0); /* NOLEAK:rel_range_socket */
	track(fds[3], M_rel_range_socket);
	fds[4] = eventfd(0, 0); /* NOLEAK:rel_range_eventfd */
	track(fds[4], M_rel_range_eventfd);
	fds[5] = memfd_create("fdleak-range", 0); /* NOLEAK:rel_range_memfd */
	track(fds[5], M_rel_range_memfd);
	for (i = 0; i < 6; i++) {
		int m;

		if (fds[i] < 0) {
			bad("rel_range: descriptor %d not made: %s", i,
			    strerror(errno));
			continue;
		}
		m = fcntl(fds[i], F_DUPFD, lo); /* NOLEAK:rel_range_move */
		if (track(m, M_rel_range_move) != (int)lo + i)
			bad("rel_range: moved to %d, not %u", m, lo + i);
		xclose(fds[i]);
	}
	switch (cycle % 3) {
	case 0:
		r = close_range(lo, hi, 0);
		if (!r)
			forget_range(lo, hi);
		break;
	case 1: /* everything from lo up */
		r = close_range(lo, ~0U, 0);
		if (!r)
			forget_range(lo, ~0U);
		break;
	default: /* the middle, then the ends one by one */
		r = close_range(lo + 1, hi - 1, 0);
		if (!r)
			forget_range(lo + 1, hi - 1);
		xclose(lo);
		xclose(hi);
		break;
	}
	if (r)
		bad("close_range: %s", strerror(errno));
	/* a range with nothing in it, a close of nothing */
	if (close_range(blk + 48, blk + 56, 0))
		bad("close_range (empty): %s", strerror(errno));
	if (!close(blk + 50) || errno != EBADF)
		bad("close(%d) of nothing did not fail with EBADF", blk + 50);
}

/* Once per image: copies kept at numbers of the block. */
static __site void rel_keep(void)
{
	char path[PATH_MAX];
	int a, k, i;

	dpath(path, "rel-kept.dat");
	a = open(path, RDC, 0644); /* NOLEAK:rel_dupfd_src */
	if (track(a, M_rel_dupfd_src) < 0)
		BAIL("open %s: %s", path, strerror(errno));
	/* after an exec the copy of the first image may hold blk + 4 */
	k = fcntl(a, F_DUPFD, blk + 4); /* NOLEAK:rel_dupfd_kept */
	track(k, M_rel_dupfd_kept);
	xclose(a);
	/* CLOSE_RANGE_CLOEXEC closes nothing: they stay open till exec */
	for (i = 0; i < 3; i++) {
		dpath(path, "rel-cx-%d.dat", i);
		a = open(path, RDC, 0644); /* NOLEAK:rel_rangecx_src */
		track(a, M_rel_rangecx_src);
		k = fcntl(a, F_DUPFD, blk + 8); /* NOLEAK:rel_rangecx_kept */
		if (track(k, M_rel_rangecx_kept) != blk + 8 + i)
			bad("rel_keep: kept at %d, not %d", k, blk + 8 + i);
		xclose(a);
	}
	if (close_range(blk + 8, blk + 10, CLOSE_RANGE_CLOEXEC))
		bad("close_range CLOEXEC: %s", strerror(errno));
}

static void *closer(void *arg)
{
	close((int)(intptr_t)arg);
	return NULL;
}

/* Opened here, closed by another thread of the process. */
static __site void rel_thread(void)
{
	char path[PATH_MAX];
	pthread_t t;
	int a;

	dpath(path, "rel-thread.dat");
	a = open(path, RDC, 0644); /* NOLEAK:rel_thread_src */
	if (track(a, M_rel_thread_src) < 0)
		BAIL("open %s: %s", path, strerror(errno));
	forget(a);
	if (pthread_create(&t, NULL, closer, (void *)(intptr_t)a)) {
		close(a);
		return;
	}
	pthread_join(t, NULL);
}

static __site void rel_fail(void)
{
	char path[PATH_MAX];
	int fd;

	dpath(path, "no/such.dat");
	fd = open(path, O_RDONLY); /* NOLEAK:rel_open_fail */
	if (fd >= 0) {
		bad("open %s did not fail", path);
		close(fd);
	}
}

/* A child closes all of its copies and opens one of its own. */
static __site void rel_fork(unsigned long cycle)
{
	int status, fd, last = blk + RELEASE_BLOCK;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		BAIL("fork: %s", strerror(errno));
	if (!pid) {
		/* async-signal-safe calls only: the churn threads hold locks */
		if (cycle & 1)
			close_range(3, ~0U, 0);
		else
			for (fd = 3; fd < last; fd++)
				close(fd);
		fd = open("/dev/null", O_RDONLY); /* NOLEAK:rel_child_open */
		_exit(fd >= 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		bad("the forked child failed (status %#x)", status);
}

static void release_cycle(unsigned long cycle)
{
	rel_dup2();
	rel_fdup();
	rel_range(cycle);
	rel_thread();
	rel_fail();
	rel_fork(cycle);
}

/* ------------------------------------------------------------------ */
/* -exec */

struct fdlist {
	int v[32];
	int n;
};

static void add_fd(struct fdlist *l, int fd, enum mark m)
{
	if (track(fd, m) < 0) {
		bad("%s: %s", marks[m].name, strerror(errno));
		return;
	}
	if (l->n < 32)
		l->v[l->n++] = fd;
}

static void list_str(char *buf, size_t len, const struct fdlist *l)
{
	size_t off = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < l->n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%d", i ? "," : "",
				l->v[i]);
}

static __site void exec_keep(struct fdlist *keep)
{
	char path[PATH_MAX];
	int fd, p[2];

	dpath(path, "exec-keep.dat");
	fd = open(path, RWC, 0644); /* NOLEAK:exec_keep_open */
	add_fd(keep, fd, M_exec_keep_open);
	if (!pipe2(p, 0)) { /* NOLEAK:exec_keep_pipe */
		add_fd(keep, p[0], M_exec_keep_pipe);
		add_fd(keep, p[1], M_exec_keep_pipe);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM, 0); /* NOLEAK:exec_keep_socket */
	add_fd(keep, fd, M_exec_keep_socket);
	/* opened close-on-exec, then cleared */
	dpath(path, "exec-cleared.dat");
	fd = open(path, RWC | O_CLOEXEC, 0644); /* NOLEAK:exec_keep_cleared */
	if (fd >= 0 && fcntl(fd, F_SETFD, 0))
		bad("F_SETFD 0: %s", strerror(errno));
	add_fd(keep, fd, M_exec_keep_cleared);
	dpath(path, "exec-fionclex.dat");
	fd = open(path, RWC | O_CLOEXEC, 0644); /* NOLEAK:exec_keep_fionclex */
	if (fd >= 0 && ioctl(fd, FIONCLEX))
		bad("FIONCLEX: %s", strerror(errno));
	add_fd(keep, fd, M_exec_keep_fionclex);
}

static __site void exec_gone(struct fdlist *gone, int src)
{
	static const char mname[] = "fdleak-exec-gone";
	char path[PATH_MAX];
	int fd, p[2];

	dpath(path, "exec-gone-open.dat");
	fd = open(path, RWC | O_CLOEXEC, 0644); /* NOLEAK:exec_gone_open */
	add_fd(gone, fd, M_exec_gone_open);
	if (!pipe2(p, O_CLOEXEC)) { /* NOLEAK:exec_gone_pipe */
		add_fd(gone, p[0], M_exec_gone_pipe);
		add_fd(gone, p[1], M_exec_gone_pipe);
	}
	fd = socket(AF_UNIX, DGRAM_CX, 0); /* NOLEAK:exec_gone_socket */
	add_fd(gone, fd, M_exec_gone_socket);
	fd = eventfd(0, EFD_CLOEXEC); /* NOLEAK:exec_gone_eventfd */
	add_fd(gone, fd, M_exec_gone_eventfd);
	fd = fcntl(src, F_DUPFD_CLOEXEC, 0); /* NOLEAK:exec_gone_dupfd */
	add_fd(gone, fd, M_exec_gone_dupfd);
	fd = dup3(src, blk + 24, O_CLOEXEC); /* NOLEAK:exec_gone_dup3 */
	add_fd(gone, fd, M_exec_gone_dup3);
	/* made close-on-exec after the open, three ways */
	dpath(path, "exec-gone-setfd.dat");
	fd = open(path, RWC, 0644); /* NOLEAK:exec_gone_setfd */
	if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC))
		bad("F_SETFD: %s", strerror(errno));
	add_fd(gone, fd, M_exec_gone_setfd);
	dpath(path, "exec-gone-fioclex.dat");
	fd = open(path, RWC, 0644); /* NOLEAK:exec_gone_fioclex */
	if (fd >= 0 && ioctl(fd, FIOCLEX))
		bad("FIOCLEX: %s", strerror(errno));
	add_fd(gone, fd, M_exec_gone_fioclex);
	dpath(path, "exec-gone-range.dat");
	fd = open(path, RWC, 0644); /* NOLEAK:exec_gone_range */
	if (fd >= 0 && close_range(fd, fd, CLOSE_RANGE_CLOEXEC))
		bad("close_range CLOEXEC: %s", strerror(errno));
	add_fd(gone, fd, M_exec_gone_range);
	fd = memfd_create(mname, MFD_CLOEXEC); /* NOLEAK:exec_gone_memfd */
	add_fd(gone, fd, M_exec_gone_memfd);
	fd = epoll_create1(EPOLL_CLOEXEC); /* NOLEAK:exec_gone_epoll */
	add_fd(gone, fd, M_exec_gone_epoll);
}

static void count_cloexec(int fd, void *arg)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl >= 0 && (fl & FD_CLOEXEC))
		++*(int *)arg;
}

static void do_exec(void)
{
	static char keep_s[512], gone_s[512], state[256], fixed[64];
	static char rate_s[32], t_s[32], stop_s[32], ct_s[16], cm_s[16];
	static char nofile_s[32], pool_s[16];
	struct fdlist keep = { 0 }, gone = { 0 };
	char self[PATH_MAX];
	char *argv[40];
	int argc = 0, n, cx = 0;
	sigset_t usr2;
	ssize_t len;

	stop_churn();
	exec_keep(&keep);
	exec_gone(&gone, keep.n ? keep.v[0] : fixed_efd);
	n = each_fd(count_cloexec, &cx);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		die("/proc/self/exe");
	self[len] = 0;
	list_str(keep_s, sizeof(keep_s), &keep);
	list_str(gone_s, sizeof(gone_s), &gone);
	snprintf(state, sizeof(state), "%lld,%lu,%lu,%lu,%lu,%lu,%lu", t0_ns,
		 st.files, st.sockets, st.pipes, st.events, st.cycles, st.bad);
	snprintf(fixed, sizeof(fixed), "%d,%d", lsn_fd, fixed_efd);
	snprintf(rate_s, sizeof(rate_s), "%g", rate);
	snprintf(t_s, sizeof(t_s), "%g", secs);
	snprintf(stop_s, sizeof(stop_s), "%g", stop_after);
	snprintf(ct_s, sizeof(ct_s), "%d", churn_threads);
	snprintf(cm_s, sizeof(cm_s), "%d", churn_mult);
	snprintf(nofile_s, sizeof(nofile_s), "%ld", nofile);
	snprintf(pool_s, sizeof(pool_s), "%d", pool);
	argv[argc++] = "fdleak";
	argv[argc++] = "-dir";
	argv[argc++] = dir;
	argv[argc++] = "-rate";
	argv[argc++] = rate_s;
	argv[argc++] = "-t";
	argv[argc++] = t_s;
	argv[argc++] = "-stop-after";
	argv[argc++] = stop_s;
	argv[argc++] = "-churn-threads";
	argv[argc++] = ct_s;
	argv[argc++] = "-churn";
	argv[argc++] = cm_s;
	argv[argc++] = "-nofile";
	argv[argc++] = nofile_s;
	argv[argc++] = "-pool";
	argv[argc++] = pool_s;
	if (release)
		argv[argc++] = "-release";
	argv[argc++] = "-after-exec";
	argv[argc++] = "-state";
	argv[argc++] = state;
	argv[argc++] = "-fixed";
	argv[argc++] = fixed;
	argv[argc++] = "-keep";
	argv[argc++] = keep_s;
	argv[argc++] = "-gone";
	argv[argc++] = gone_s;
	argv[argc] = NULL;
	printf("fdleak: exec fds=%d cloexec=%d keep=%s gone=%s\n", n, cx,
	       keep_s, gone_s);
	fflush(stdout);
	/* a quiet request during the exec waits for the new image */
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	execv(self, argv);
	die("exec");
}

/* The new image: what the old one kept is here, the CLOEXEC ones gone. */
static void check_after_exec(void)
{
	int kept = 0, gone = 0, fd;
	char *s;

	for (s = keep_list; s && *s; s += strcspn(s, ","), s += !!*s) {
		fd = atoi(s);
		if (fd < 0 || fd >= FD_SLOTS || owner[fd] != OWN_INHERITED ||
		    fcntl(fd, F_GETFD) != 0)
			bad("after exec: fd %d (not close-on-exec) is gone",
			    fd);
		else
			kept++;
	}
	for (s = gone_list; s && *s; s += strcspn(s, ","), s += !!*s) {
		fd = atoi(s);
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			bad("after exec: fd %d (close-on-exec) is open", fd);
		else
			gone++;
	}
	printf("fdleak: after exec %s kept=%d gone=%d\n", st.bad ? "BAD" : "ok",
	       kept, gone);
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* -every, -scm */

/*
 * One call per line, the marker beside it: short names below keep each
 * line in 80 columns (a call broken over lines has no one line).
 */
static __site void every_files(void)
{
	struct open_how how = { .flags = O_RDONLY };
	size_t hsz = sizeof(how);
	char p[PATH_MAX], cpath[PATH_MAX];
	int fd, cwd = AT_FDCWD;

	dpath(p, "fixed-0.dat");
	fd = syscall(SYS_open, p, O_RDONLY); /* NOLEAK:every_open */
	every_fd(fd, M_every_open);
	fd = openat(cwd, p, O_RDONLY); /* NOLEAK:every_openat */
	every_fd(fd, M_every_openat);
	fd = syscall(SYS_openat2, cwd, p, &how, hsz); /* NOLEAK:every_openat2 */
	every_fd(fd, M_every_openat2);
	dpath(cpath, "every-creat.dat");
	fd = syscall(SYS_creat, cpath, 0644); /* NOLEAK:every_creat */
	every_fd(fd, M_every_creat);
}

/* A client connected to the listener: true when one waits there. */
static __site bool every_client(enum mark m)
{
	int c;

	c = socket(AF_INET, SOCK_STREAM, 0); /* NOLEAK:every_client */
	every_fd(c, m);
	return c >= 0 && dial(c, &lsn_addr) && acceptable(lsn_fd);
}

static __site void every_accept(void)
{
	int fd, l = lsn_fd;

	if (!every_client(M_every_client)) {
		skipped_errno[M_every_accept] = errno ? errno : EIO;
		return;
	}
	fd = syscall(SYS_accept, l, NULL, NULL); /* NOLEAK:every_accept */
	every_fd(fd, M_every_accept);
}

static __site void every_accept4(void)
{
	int fd, l = lsn_fd;

	if (!every_client(M_every_client)) {
		skipped_errno[M_every_accept4] = errno ? errno : EIO;
		return;
	}
	fd = accept4(l, NULL, NULL, SOCK_CLOEXEC); /* NOLEAK:every_accept4 */
	every_fd(fd, M_every_accept4);
}

static __site void every_sockets(void)
{
	int fd, sv[2];

	fd = socket(AF_INET, SOCK_DGRAM, 0); /* NOLEAK:every_socket */
	every_fd(fd, M_every_socket);
	if (!socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) { /* NOLEAK:every_spair */
		track(sv[0], M_every_spair);
		track(sv[1], M_every_spair);
	} else {
		skipped_errno[M_every_spair] = errno;
	}
	every_accept();
	every_accept4();
}

static __site void every_dups(void)
{
	int fd, p[2], src = fixed_efd;

	fd = dup(src); /* NOLEAK:every_dup */
	every_fd(fd, M_every_dup);
	fd = dup2(src, blk - 4); /* NOLEAK:every_dup2 */
	every_fd(fd, M_every_dup2);
	fd = dup3(src, blk - 3, O_CLOEXEC); /* NOLEAK:every_dup3 */
	every_fd(fd, M_every_dup3);
	fd = fcntl(src, F_DUPFD, 0); /* NOLEAK:every_fdupfd */
	every_fd(fd, M_every_fdupfd);
	fd = fcntl(src, F_DUPFD_CLOEXEC, 0); /* NOLEAK:every_fdupfd_cx */
	every_fd(fd, M_every_fdupfd_cx);
	if (!syscall(SYS_pipe, p)) { /* NOLEAK:every_pipe */
		track(p[0], M_every_pipe);
		track(p[1], M_every_pipe);
	} else {
		skipped_errno[M_every_pipe] = errno;
	}
	if (!pipe2(p, O_NONBLOCK)) { /* NOLEAK:every_pipe2 */
		track(p[0], M_every_pipe2);
		track(p[1], M_every_pipe2);
	} else {
		skipped_errno[M_every_pipe2] = errno;
	}
}

static __site void every_events(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	fd = syscall(SYS_eventfd, 0); /* NOLEAK:every_eventfd */
	every_fd(fd, M_every_eventfd);
	fd = eventfd(0, 0); /* NOLEAK:every_eventfd2 */
	every_fd(fd, M_every_eventfd2);
	fd = syscall(SYS_epoll_create, 1); /* NOLEAK:every_epoll */
	every_fd(fd, M_every_epoll);
	fd = epoll_create1(0); /* NOLEAK:every_epoll1 */
	every_fd(fd, M_every_epoll1);
	fd = timerfd_create(CLOCK_MONOTONIC, 0); /* NOLEAK:every_timerfd */
	every_fd(fd, M_every_timerfd);
	fd = syscall(SYS_signalfd, -1, &mask, 8); /* NOLEAK:every_signalfd */
	every_fd(fd, M_every_signalfd);
	fd = signalfd(-1, &mask, 0); /* NOLEAK:every_signalfd4 */
	every_fd(fd, M_every_signalfd4);
	fd = memfd_create("fdleak-every", 0); /* NOLEAK:every_memfd */
	every_fd(fd, M_every_memfd);
	fd = syscall(SYS_inotify_init); /* NOLEAK:every_inotify */
	every_fd(fd, M_every_inotify);
	fd = inotify_init1(0); /* NOLEAK:every_inotify1 */
	every_fd(fd, M_every_inotify1);
}

static __site void every_kernel(void)
{
	struct perf_event_attr pe = { .type = PERF_TYPE_SOFTWARE };
	struct io_uring_params up = { 0 };
	unsigned int cls = FAN_CLASS_NOTIF;
	int fd, pfd, efd = fixed_efd, perf = SYS_perf_event_open;

	pfd = syscall(SYS_pidfd_open, getpid(), 0); /* NOLEAK:every_pidfd */
	every_fd(pfd, M_every_pidfd);
	fd = syscall(SYS_pidfd_getfd, pfd, efd, 0); /* NOLEAK:every_getfd */
	every_fd(fd, M_every_getfd);
	pe.size = sizeof(pe);
	pe.config = PERF_COUNT_SW_DUMMY;
	pe.disabled = 1;
	fd = syscall(perf, &pe, 0, -1, -1, 0); /* NOLEAK:every_perf */
	every_fd(fd, M_every_perf);
	fd = syscall(SYS_fanotify_init, cls, 0); /* NOLEAK:every_fanotify */
	every_fd(fd, M_every_fanotify);
	fd = syscall(SYS_userfaultfd, O_CLOEXEC); /* NOLEAK:every_userfaultfd */
	every_fd(fd, M_every_userfaultfd);
	fd = syscall(SYS_io_uring_setup, 4, &up); /* NOLEAK:every_io_uring */
	every_fd(fd, M_every_io_uring);
}

/* open_by_handle_at: a handle of fixed-0.dat, opened through DIR */
static __site void every_by_handle(void)
{
	struct {
		struct file_handle fh;
		unsigned char buf[MAX_HANDLE_SZ];
	} h;
	struct file_handle *fh = &h.fh;
	char path[PATH_MAX];
	int fd, m, mnt;

	m = open(dir, RDIR); /* NOLEAK:every_mountfd */
	every_fd(m, M_every_mountfd);
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	dpath(path, "fixed-0.dat");
	if (m < 0 || name_to_handle_at(AT_FDCWD, path, fh, &mnt, 0)) {
		skipped_errno[M_every_by_handle] = errno;
		return;
	}
	fd = open_by_handle_at(m, fh, O_RDONLY); /* NOLEAK:every_by_handle */
	every_fd(fd, M_every_by_handle);
}

/* fsopen, then the mount it creates */
static __site void every_fsmount(void)
{
	int fd, fs, cmd = FSCONFIG_CMD_CREATE;

	fs = syscall(SYS_fsopen, "tmpfs", 0); /* NOLEAK:every_fsopen */
	every_fd(fs, M_every_fsopen);
	if (fs < 0 || syscall(SYS_fsconfig, fs, cmd, NULL, NULL, 0)) {
		skipped_errno[M_every_fsmount] = errno;
		return;
	}
	fd = syscall(SYS_fsmount, fs, 0, 0); /* NOLEAK:every_fsmount */
	every_fd(fd, M_every_fsmount);
}

static __site void every_mounts(void)
{
	int fd, cwd = AT_FDCWD;

	every_by_handle();
	every_fsmount();
	fd = syscall(SYS_fspick, cwd, "/", 0); /* NOLEAK:every_fspick */
	every_fd(fd, M_every_fspick);
	fd = syscall(SYS_open_tree, cwd, dir, 0); /* NOLEAK:every_open_tree */
	every_fd(fd, M_every_open_tree);
	fd = syscall(SYS_memfd_secret, 0); /* NOLEAK:every_memfd_secret */
	every_fd(fd, M_every_memfd_secret);
}

/* n copies of the fixed eventfd received through SCM_RIGHTS. */
static __site void open_unseen(int n)
{
	char data = 'x', cbuf[CMSG_SPACE(sizeof(int) * 64)];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	int sv[2], i, r, fds[64];

	if (n > 64)
		n = 64;
	r = socketpair(AF_UNIX, SOCK_DGRAM, 0, sv); /* NOLEAK:scm_pair */
	if (r)
		BAIL("socketpair: %s", strerror(errno));
	track(sv[0], M_scm_pair);
	track(sv[1], M_scm_pair);
	for (i = 0; i < n; i++)
		fds[i] = fixed_efd;
	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_control = cbuf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	if (sendmsg(sv[0], &msg, 0) != 1)
		BAIL("sendmsg: %s", strerror(errno));
	msg.msg_controllen = sizeof(cbuf);
	r = recvmsg(sv[1], &msg, 0); /* NOLEAK:unseen_scm */
	c = CMSG_FIRSTHDR(&msg);
	if (r != 1 || !c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int) * n))
		BAIL("recvmsg: %d descriptors?", r);
	memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
	for (i = 0; i < n; i++)
		track(fds[i], M_unseen_scm);
	xclose(sv[0]);
	xclose(sv[1]);
}

/* ------------------------------------------------------------------ */
/* Quiet */

struct verify {
	int untracked;
};

static void verify_fd(int fd, void *arg)
{
	struct verify *v = arg;

	if (fd >= FD_SLOTS || !owner[fd]) {
		if (v->untracked++ < 8)
			bad("fd %d is open, made by nobody known", fd);
	}
}

static void do_quiet(void)
{
	struct verify v = { 0 };
	unsigned int own = 0;
	size_t cap = 64 * 1024, off = 0;
	char *buf;
	int fds, fd, i;

	stop_churn();
	/* everything we think is open is open */
	for (fd = 0; fd < FD_SLOTS; fd++)
		if (owner[fd] && fcntl(fd, F_GETFD) < 0)
			bad("fd %d (%s) is not open", fd,
			    owner[fd] == OWN_INHERITED
				    ? "inherited"
				    : marks[owner[fd] - 1].name);
	fds = each_fd(verify_fd, &v);
	for (i = 0; i < NMARKS; i++)
		own += live[i];
	buf = malloc(cap);
	if (!buf)
		die("malloc");
#define OUT(...)                                                               \
	(off += snprintf(buf + off, off < cap ? cap - off : 0, __VA_ARGS__))
	OUT("\nfdleak: quiet fds=%d own=%u inherited=%u untracked=%d bad=%lu "
	    "files=%lu sockets=%lu pipes=%lu cycles=%lu\n",
	    fds, own, inherited, v.untracked, st.bad, st.files, st.sockets,
	    st.pipes, st.cycles);
	for (i = 0; i < NMARKS; i++)
		OUT("EXPECT %s %u %s %s\n", marks[i].name, live[i],
		    marks[i].kind, marks[i].group);
	for (i = 0; i < NMARKS; i++)
		if (skipped_errno[i])
			OUT("SKIPPED %s %s\n", marks[i].name,
			    strerrorname_np(skipped_errno[i]) ?: "?");
	OUT("fdleak: quiet end\n");
#undef OUT
	if (off >= cap)
		die("quiet report too long");
	fflush(stdout);
	/* one write: a launched target shares leakwatch's stdout */
	if (write(1, buf, off) != (ssize_t)off)
		die("write");
	free(buf);
}

/* ------------------------------------------------------------------ */

static void on_usr2(int sig)
{
	(void)sig;
	quiet_req = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fdleak [-dir DIR] [-rate R] [-t SECONDS] "
		"[-stop-after SECONDS]\n"
		"              [-churn-threads N] [-churn N] [-pool N] "
		"[-nofile N]\n"
		"              [-release] [-exec SECONDS] [-every] [-scm N]\n");
	exit(2);
}

enum {
	OPT_DIR = 256,
	OPT_RATE,
	OPT_T,
	OPT_STOP,
	OPT_CHURN_THREADS,
	OPT_CHURN,
	OPT_NOFILE,
	OPT_RELEASE,
	OPT_EXEC,
	OPT_EVERY,
	OPT_SCM,
	OPT_POOL,
	OPT_AFTER_EXEC,
	OPT_STATE,
	OPT_FIXED,
	OPT_KEEP,
	OPT_GONE,
};

static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "t", required_argument, NULL, OPT_T },
		{ "stop-after", required_argument, NULL, OPT_STOP },
		{ "churn-threads", required_argument, NULL, OPT_CHURN_THREADS },
		{ "churn", required_argument, NULL, OPT_CHURN },
		{ "nofile", required_argument, NULL, OPT_NOFILE },
		{ "release", no_argument, NULL, OPT_RELEASE },
		{ "exec", required_argument, NULL, OPT_EXEC },
		{ "every", no_argument, NULL, OPT_EVERY },
		{ "scm", required_argument, NULL, OPT_SCM },
		{ "pool", required_argument, NULL, OPT_POOL },
		/* what an exec of itself passes on */
		{ "after-exec", no_argument, NULL, OPT_AFTER_EXEC },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "fixed", required_argument, NULL, OPT_FIXED },
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "gone", required_argument, NULL, OPT_GONE },
		{ NULL, 0, NULL, 0 },
	};
	const char *d = NULL;
	int c;

	while ((c = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR:
			d = optarg;
			break;
		case OPT_RATE:
			rate = strtod(optarg, NULL);
			break;
		case OPT_T:
			secs = strtod(optarg, NULL);
			break;
		case OPT_STOP:
			stop_after = strtod(optarg, NULL);
			break;
		case OPT_CHURN_THREADS:
			churn_threads = atoi(optarg);
			break;
		case OPT_CHURN:
			churn_mult = atoi(optarg);
			break;
		case OPT_NOFILE:
			nofile = atol(optarg);
			break;
		case OPT_RELEASE:
			release = true;
			break;
		case OPT_EXEC:
			exec_at = strtod(optarg, NULL);
			break;
		case OPT_EVERY:
			every = true;
			break;
		case OPT_SCM:
			scm_count = atoi(optarg);
			break;
		case OPT_POOL:
			pool = atoi(optarg);
			break;
		case OPT_AFTER_EXEC:
			after_exec = true;
			break;
		case OPT_STATE:
			if (sscanf(optarg, "%lld,%lu,%lu,%lu,%lu,%lu,%lu",
				   &t0_ns, &st.files, &st.sockets, &st.pipes,
				   &st.events, &st.cycles, &st.bad) != 7)
				usage();
			break;
		case OPT_FIXED:
			if (sscanf(optarg, "%d,%d", &lsn_fd, &fixed_efd) != 2)
				usage();
			break;
		case OPT_KEEP:
			keep_list = optarg;
			break;
		case OPT_GONE:
			gone_list = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || rate < 0 || churn_threads < 0 ||
	    churn_threads > 64 || churn_mult < 1 || scm_count < 0 ||
	    (pool && (pool < 4 || pool > POOL_MAX)) ||
	    (after_exec && lsn_fd < 0))
		usage();
	if (!d) {
		static char tmpl[] = "/tmp/fdleak-XXXXXX";

		d = mkdtemp(tmpl);
		if (!d)
			die("mkdtemp");
	}
	/* the path leakwatch reads back from /proc/PID/fd */
	if (!realpath(d, dir))
		die(d);
}

static void set_limit(void)
{
	struct rlimit rl;
	long soft;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		die("getrlimit");
	if (nofile > 0) {
		rl.rlim_cur = (rlim_t)nofile < rl.rlim_max ? (rlim_t)nofile
							   : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			die("setrlimit");
	}
	soft_limit = rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
	soft = rl.rlim_cur > FD_SLOTS ? FD_SLOTS : (long)rl.rlim_cur;
	blk = soft - RELEASE_BLOCK;
	if (blk < 256) {
		fprintf(stderr, "fdleak: RLIMIT_NOFILE %ld is too low\n", soft);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct timespec next;
	sigset_t usr2;
	unsigned long tick;
	bool quiet = false;

	/* handler first, then unblock: an exec of ours left it blocked */
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_UNBLOCK, &usr2, NULL);

	parse(argc, argv);
	/* before anything of ours: what we were given */
	each_fd(mark_inherited, NULL);
	if (!t0_ns)
		t0_ns = now_ns();
	set_limit();
	write_pidfile();
	if (after_exec) {
		socklen_t len = sizeof(lsn_addr);

		if (getsockname(lsn_fd, (struct sockaddr *)&lsn_addr, &len))
			die("the listener after exec");
		check_after_exec();
	} else {
		open_fixed();
		open_listener();
	}
	start_churn();
	if (!after_exec) {
		printf("fdleak: ready pid=%d port=%d inherited=%u nofile=%ld "
		       "block=%d dir=%s\n",
		       (int)getpid(), ntohs(lsn_addr.sin_port), inherited,
		       soft_limit, blk, dir);
		fflush(stdout);
	}
	if (every) {
		every_files();
		every_sockets();
		every_dups();
		every_events();
		every_kernel();
		every_mounts();
	}
	if (scm_count)
		open_unseen(scm_count);
	if (release)
		rel_keep();

	pool_init();
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (tick = 0;; tick++) {
		long long now = now_ns();
		double t = (now - t0_ns) / 1e9;

		if (!quiet &&
		    (quiet_req || (stop_after > 0 && t >= stop_after))) {
			do_quiet();
			quiet = true;
		}
		if (!quiet && exec_at > 0 && !after_exec && t >= exec_at)
			do_exec();
		/* absolute deadlines: t0 + k / rate */
		while (!quiet && leaking && rate > 0 && st.events < t * rate) {
			leak_file();
			leak_socket();
			leak_pipe();
			st.events++;
		}
		while (!quiet && release && st.cycles < t * REL_RATE)
			release_cycle(st.cycles++);
		if (!quiet && pool)
			churn_pool(tick);
		if (secs > 0 && t >= secs)
			break;
		ts_add_ns(&next, TICK_NS);
		sleep_until(&next);
	}
	stop_churn();
	return 0;
}
