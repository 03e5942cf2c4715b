// SPDX-License-Identifier: GPL-2.0
/*
 * The descriptor describer against this very process: it opens files,
 * pipes, an eventfd, a memfd and sockets of each kind, and checks the
 * names /proc gives them. No privilege is needed; what needs some (raw
 * and packet sockets) is skipped without it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "fdinfo.h"

static char dir[64]; /* a fresh temp dir per test */
static unsigned int port_lo = 32768, port_hi = 60999;

/* The expected pattern, written apart from the module's. */
static void stars(const char *in, char *out, size_t len)
{
	size_t at = 0;

	for (; *in && at + 1 < len; in++) {
		if (*in >= '0' && *in <= '9') {
			while (in[1] >= '0' && in[1] <= '9')
				in++;
			out[at++] = '*';
		} else {
			out[at++] = *in;
		}
	}
	out[at] = 0;
}

/* ":*" or ":PORT", as the module prints a port. */
static const char *port_str(unsigned int port)
{
	static char buf[4][16];
	static int next;
	char *b = buf[next++ % 4];

	if (port >= port_lo && port <= port_hi)
		snprintf(b, 16, "*");
	else
		snprintf(b, 16, "%u", port);
	return b;
}

/* A fresh view each time: a view reads each socket table once. */
static int describe_rc(int fd, char *buf, size_t len)
{
	struct lw_fdinfo *c = fdinfo_open(getpid());
	int rc;

	assert_non_null(c);
	rc = fdinfo_describe(c, fd, buf, len);
	fdinfo_close(c);
	return rc;
}

static const char *describe(int fd)
{
	static char buf[4096];

	assert_int_equal(describe_rc(fd, buf, sizeof(buf)), 0);
	return buf;
}

static void assert_describes(int fd, const char *want)
{
	const char *got = describe(fd);

	if (strcmp(got, want))
		fail_msg("fd %d: got \"%s\", want \"%s\"", fd, got, want);
}

static int setup(void **state)
{
	FILE *f;

	/* a suffix of hex digits only would be one '*' (a hex id): stars()
	 * below knows only digit runs */
	for (;;) {
		snprintf(dir, sizeof(dir), "/tmp/lw-fdinfo-XXXXXX");
		if (!mkdtemp(dir))
			return -1;
		if (strspn(dir + 15, "0123456789abcdefABCDEF") < 6)
			break;
		rmdir(dir);
	}
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (f) {
		if (fscanf(f, "%u %u", &port_lo, &port_hi) != 2) {
			port_lo = 32768;
			port_hi = 60999;
		}
		fclose(f);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

static int open_in_dir(const char *name, int flags)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, flags | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	return fd;
}

static void test_paths(void **state)
{
	char pat[256], want[300];
	int a, b, gone, d, nl, null, hex;

	a = open_in_dir("leak-17.log", O_CREAT | O_WRONLY);
	b = open_in_dir("leak-2.log", O_CREAT | O_WRONLY);
	stars(dir, pat, sizeof(pat));
	snprintf(want, sizeof(want), "%s/leak-*.log", pat);
	assert_describes(a, want);
	assert_describes(b, want);

	/* a hex id is one word: one '*'; a short one is not an id */
	hex = open_in_dir("cache-3fa9c2d1e0.tmp", O_CREAT | O_WRONLY);
	snprintf(want, sizeof(want), "%s/cache-*.tmp", pat);
	assert_describes(hex, want);
	close(hex);
	hex = open_in_dir("x7f3.tmp", O_CREAT | O_WRONLY);
	snprintf(want, sizeof(want), "%s/x*f*.tmp", pat);
	assert_describes(hex, want);
	close(hex);

	gone = open_in_dir("gone-123.txt", O_CREAT | O_WRONLY);
	snprintf(want, sizeof(want), "%s/gone-123.txt", dir);
	assert_int_equal(unlink(want), 0);
	snprintf(want, sizeof(want), "%s/gone-*.txt (deleted)", pat);
	assert_describes(gone, want);

	d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(d >= 0);
	assert_describes(d, pat);

	/* a name is data: its newline stays, unescaped */
	nl = open_in_dir("a\nb7", O_CREAT | O_WRONLY);
	snprintf(want, sizeof(want), "%s/a\nb*", pat);
	assert_describes(nl, want);

	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_describes(null, "/dev/null");

	close(a);
	close(b);
	close(gone);
	close(d);
	close(nl);
	close(null);
}

static void test_pipe_eventfd_memfd(void **state)
{
	int p[2], e, m;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_describes(p[0], "pipe");
	assert_describes(p[1], "pipe");
	e = eventfd(0, EFD_CLOEXEC);
	assert_true(e >= 0);
	assert_describes(e, "anon_inode:[eventfd]");
	m = memfd_create("buf-42.x7", MFD_CLOEXEC);
	assert_true(m >= 0);
	assert_describes(m, "memfd:buf-*.x*");
	close(p[0]);
	close(p[1]);
	close(e);
	close(m);
}

static void test_errors_and_truncation(void **state)
{
	struct lw_fdinfo *c;
	char buf[8], pidmax[32] = "4194304";
	int p[2], fd, *v;
	FILE *f;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	/* closed after the view opens, which would take the lowest number */
	c = fdinfo_open(getpid());
	assert_non_null(c);
	close(p[1]);
	assert_int_equal(fdinfo_describe(c, p[1], buf, sizeof(buf)), -ENOENT);
	assert_int_equal(fdinfo_describe(c, -1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(fdinfo_describe(c, p[0], buf, 0), -EINVAL);
	/* truncated, always terminated */
	assert_int_equal(fdinfo_describe(c, p[0], buf, 3), 0);
	assert_string_equal(buf, "pi");
	assert_int_equal(fdinfo_describe(c, p[0], buf, 1), 0);
	assert_string_equal(buf, "");
	fdinfo_close(c);
	fdinfo_close(NULL);
	close(p[0]);

	/* a pid above pid_max never exists */
	f = fopen("/proc/sys/kernel/pid_max", "re");
	if (f) {
		if (!fgets(pidmax, sizeof(pidmax), f))
			strcpy(pidmax, "4194304");
		fclose(f);
	}
	fd = atoi(pidmax) + 1;
	errno = 0;
	assert_null(fdinfo_open(fd));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(fdinfo_count(fd), -ENOENT);
	v = &fd;
	assert_int_equal(fdinfo_list(fd, &v), -ENOENT);
	assert_null(v);
	assert_null(fdinfo_open(0));
}

static int tcp_listener(const char *ip, unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(s >= 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, ip, &a.sin_addr);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16)) {
		close(s);
		return -1;
	}
	return s;
}

static unsigned int local_port(int s)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);

	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	if (a.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
	return ntohs(((struct sockaddr_in *)&a)->sin_port);
}

static int tcp_connect(unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	return s;
}

static void test_tcp(void **state)
{
	unsigned int lp, cp, fixed = 0, p;
	int l, cl, sv, l2 = -1, c2, c3, s3, fresh, tries;
	char want[160];
	struct pollfd pfd;
	const char *got;

	l = tcp_listener("127.0.0.1", 0);
	assert_true(l >= 0);
	lp = local_port(l);
	cl = tcp_connect(lp);
	sv = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(sv >= 0);
	cp = local_port(cl);
	/* the kernel picks a client's port in the range: it prints as '*' */
	assert_true(cp >= port_lo && cp <= port_hi);

	snprintf(want, sizeof(want), "socket:TCP 127.0.0.1:%s LISTEN",
		 port_str(lp));
	assert_describes(l, want);
	snprintf(want, sizeof(want),
		 "socket:TCP 127.0.0.1:* -> 127.0.0.1:%s ESTABLISHED",
		 port_str(lp));
	assert_describes(cl, want);
	snprintf(want, sizeof(want),
		 "socket:TCP 127.0.0.1:%s -> 127.0.0.1:* ESTABLISHED",
		 port_str(lp));
	assert_describes(sv, want);

	/* a service port outside the range prints as a number */
	for (p = 20000; p < 30000 && l2 < 0; p += 97) {
		if (p >= port_lo && p <= port_hi)
			continue;
		l2 = tcp_listener("0.0.0.0", p);
		fixed = p;
	}
	if (l2 >= 0) {
		c2 = tcp_connect(fixed);
		snprintf(want, sizeof(want), "socket:TCP 0.0.0.0:%u LISTEN",
			 fixed);
		assert_describes(l2, want);
		snprintf(want, sizeof(want),
			 "socket:TCP 127.0.0.1:* -> 127.0.0.1:%u ESTABLISHED",
			 fixed);
		assert_describes(c2, want);
		close(c2);
		close(l2);
	}

	/* the peer closed, this end didn't: CLOSE_WAIT, the leak to see */
	c3 = tcp_connect(lp);
	s3 = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(s3 >= 0);
	close(s3);
	pfd = (struct pollfd){ .fd = c3, .events = POLLRDHUP };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	snprintf(want, sizeof(want),
		 "socket:TCP 127.0.0.1:* -> 127.0.0.1:%s CLOSE_WAIT",
		 port_str(lp));
	for (tries = 0; tries < 100; tries++) {
		got = describe(c3);
		if (!strcmp(got, want))
			break;
		usleep(10000);
	}
	assert_describes(c3, want);

	/* in no table until bound: named by its protocol alone */
	fresh = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fresh >= 0);
	assert_describes(fresh, "socket:TCP");

	close(fresh);
	close(c3);
	close(cl);
	close(sv);
	close(l);
}

static void test_tcp6(void **state)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int l = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), c, s;
	char want[160];
	unsigned int lp;

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(l, 4)) {
		if (l >= 0)
			close(l);
		skip(); /* no IPv6 loopback here */
	}
	lp = local_port(l);
	snprintf(want, sizeof(want), "socket:TCP [::1]:%s LISTEN",
		 port_str(lp));
	assert_describes(l, want);
	c = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	a.sin6_port = htons(lp);
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(s >= 0);
	snprintf(want, sizeof(want),
		 "socket:TCP [::1]:* -> [::1]:%s ESTABLISHED", port_str(lp));
	assert_describes(c, want);
	close(s);
	close(c);
	close(l);
}

static void test_udp(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	int u, uc, u6;
	char want[160];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(u >= 0);
	assert_int_equal(bind(u, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(want, sizeof(want), "socket:UDP 127.0.0.1:%s",
		 port_str(local_port(u)));
	assert_describes(u, want);

	uc = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(uc >= 0);
	a.sin_port = htons(9);
	assert_int_equal(connect(uc, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_describes(uc, "socket:UDP 127.0.0.1:* -> 127.0.0.1:9");

	/* v4-mapped on a v6 socket */
	u6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u6 >= 0) {
		inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
		a6.sin6_port = htons(53);
		if (!connect(u6, (struct sockaddr *)&a6, sizeof(a6)))
			assert_describes(u6, "socket:UDP [::ffff:127.0.0.1]:* "
					     "-> [::ffff:127.0.0.1]:53");
		close(u6);
	}
	close(u);
	close(uc);
}

static int unix_bound(const char *name, bool abstract)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	if (abstract) {
		assert_true(strlen(name) + 1 < sizeof(a.sun_path));
		memcpy(a.sun_path + 1, name, strlen(name));
		len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
	} else {
		assert_true((size_t)snprintf(a.sun_path, sizeof(a.sun_path),
					     "%s/%s", dir,
					     name) < sizeof(a.sun_path));
		len = sizeof(a);
	}
	assert_int_equal(bind(s, (struct sockaddr *)&a, len), 0);
	return s;
}

static void test_unix(void **state)
{
	char pat[256], want[300], forged[128];
	int sp[2], b, nl, ab, forger;
	struct stat st;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp),
			 0);
	assert_describes(sp[0], "socket:UNIX");
	assert_describes(sp[1], "socket:UNIX");

	stars(dir, pat, sizeof(pat));
	b = unix_bound("s-5.sock", false);
	snprintf(want, sizeof(want), "socket:UNIX %s/s-*.sock", pat);
	assert_describes(b, want);

	/* a newline in the name: the table's record spans two lines */
	nl = unix_bound("n\nx-3", false);
	snprintf(want, sizeof(want), "socket:UNIX %s/n\nx-*", pat);
	assert_describes(nl, want);

	ab = unix_bound("lw-test-99", true);
	assert_describes(ab, "socket:UNIX @lw-test-*");

	/*
	 * A name whose second line is a made-up record claiming b's inode
	 * with another path: neither is trusted then.
	 */
	assert_int_equal(fstat(b, &st), 0);
	snprintf(
		forged, sizeof(forged),
		"f\n0000000000000000: 00000002 00000000 00000000 0001 01 %lu /evil",
		(unsigned long)st.st_ino);
	forger = unix_bound(forged, true);
	assert_describes(b, "socket:UNIX");
	assert_describes(forger, "socket:UNIX @f");

	close(forger);
	close(ab);
	close(nl);
	close(b);
	close(sp[0]);
	close(sp[1]);
}

static void test_other_sockets(void **state)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	int n, nb, r, pk;

	/* unbound: in no table, named by sockfs */
	n = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	assert_true(n >= 0);
	assert_describes(n, "socket:NETLINK");
	nb = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	assert_true(nb >= 0);
	assert_int_equal(bind(nb, (struct sockaddr *)&nl, sizeof(nl)), 0);
	assert_describes(nb, "socket:NETLINK");
	close(n);
	close(nb);

	r = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (r >= 0) {
		assert_describes(r, "socket:RAW 0.0.0.0 proto 1");
		close(r);
	}
	pk = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (pk >= 0) {
		assert_describes(pk, "socket:PACKET");
		close(pk);
	}
}

/* What /proc/self/fd lists, without the listing's own descriptor. */
static int own_list(int *v, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0, fd;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd != dirfd(d) && n < max)
			v[n++] = fd;
	}
	closedir(d);
	return n;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void test_list_and_count(void **state)
{
	int mine[512], n, k, *v, extra[20], i, fd;

	for (i = 0; i < 20; i++) {
		extra[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(extra[i] >= 0);
	}
	/* a hole in the middle */
	close(extra[5]);
	extra[5] = -1;

	n = own_list(mine, 512);
	qsort(mine, n, sizeof(*mine), cmp_int);
	k = fdinfo_list(getpid(), &v);
	assert_int_equal(k, n);
	assert_non_null(v);
	assert_memory_equal(v, mine, n * sizeof(*v));
	assert_int_equal(fdinfo_count(getpid()), n);
	/* each is open; every open one below the top is listed */
	for (i = 0, fd = 0; fd <= v[k - 1]; fd++) {
		if (i < k && v[i] == fd) {
			assert_true(fcntl(fd, F_GETFD) >= 0);
			i++;
		} else {
			assert_int_equal(fcntl(fd, F_GETFD), -1);
		}
	}
	free(v);

	for (i = 0; i < 20; i++)
		if (extra[i] >= 0)
			close(extra[i]);
	assert_int_equal(fdinfo_count(getpid()), n - 19);
}

static void test_other_process(void **state)
{
	int go[2], fd, n, *v, i;
	bool found = false;
	struct lw_fdinfo *c;
	char buf[256], pat[256], want[300];
	pid_t child;

	assert_int_equal(pipe(go), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		close(go[0]);
		fd = open_in_dir("child-8.dat", O_CREAT | O_WRONLY);
		/* tell the parent which, then wait to be killed */
		if (write(go[1], &fd, sizeof(fd)) != sizeof(fd))
			_exit(1);
		pause();
		_exit(0);
	}
	close(go[1]);
	assert_int_equal(read(go[0], &fd, sizeof(fd)), sizeof(fd));
	close(go[0]);

	c = fdinfo_open(child);
	assert_non_null(c);
	assert_int_equal(fdinfo_describe(c, fd, buf, sizeof(buf)), 0);
	stars(dir, pat, sizeof(pat));
	snprintf(want, sizeof(want), "%s/child-*.dat", pat);
	assert_string_equal(buf, want);
	n = fdinfo_list(child, &v);
	assert_true(n > 0);
	for (i = 0; i < n; i++)
		found |= v[i] == fd;
	assert_true(found);
	assert_int_equal(fdinfo_count(child), n);
	free(v);

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* the view was of that process: gone now, whoever gets its pid */
	assert_int_equal(fdinfo_describe(c, fd, buf, sizeof(buf)), -ENOENT);
	fdinfo_close(c);
}

static void test_limit(void **state)
{
	struct rlimit rl, low;
	long long soft, hard;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(fdinfo_limit(getpid(), &soft, &hard), 0);
	assert_true(
		soft ==
		(rl.rlim_cur == RLIM_INFINITY ? -1 : (long long)rl.rlim_cur));
	assert_true(
		hard ==
		(rl.rlim_max == RLIM_INFINITY ? -1 : (long long)rl.rlim_max));

	/* a changed soft limit shows at once */
	low = rl;
	low.rlim_cur = rl.rlim_cur > 200 ? 200 : rl.rlim_cur;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(fdinfo_limit(getpid(), &soft, &hard), 0);
	assert_int_equal(soft, (long long)low.rlim_cur);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

static void test_types(void **state)
{
	struct lw_fd_types t = { 0 };
	char name[32];
	size_t i;

	assert_int_equal(fdtypes_add(&t, "pipe", 3), 0);
	assert_int_equal(fdtypes_add(&t, "/tmp/x/leak-*.log", 5), 0);
	assert_int_equal(fdtypes_add(&t, "pipe", 4), 0);
	assert_int_equal(fdtypes_add(&t, "anon_inode:[eventfd]", 5), 0);
	assert_int_equal(fdtypes_add(&t, "nothing", 0), 0);
	assert_int_equal(t.n, 3);
	fdtypes_sort(&t);
	assert_string_equal(t.v[0].name, "pipe");
	assert_int_equal(t.v[0].count, 7);
	/* a tie goes by name */
	assert_string_equal(t.v[1].name, "/tmp/x/leak-*.log");
	assert_string_equal(t.v[2].name, "anon_inode:[eventfd]");
	/* after sorting, adds still find their entry */
	assert_int_equal(fdtypes_add(&t, "anon_inode:[eventfd]", 1), 0);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.v[2].count, 6);
	/* saturates */
	assert_int_equal(fdtypes_add(&t, "pipe", UINT32_MAX), 0);
	assert_int_equal(t.v[0].count, UINT32_MAX);

	fdtypes_clear(&t);
	assert_int_equal(t.n, 0);
	assert_int_equal(fdtypes_add(&t, "pipe", 1), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.v[0].count, 1);

	/* many distinct names: each tallied once, order by count */
	fdtypes_clear(&t);
	for (i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "peer-%zu", i % 5000);
		assert_int_equal(
			fdtypes_add(&t, name, (uint32_t)(i % 5000) + 1), 0);
	}
	assert_int_equal(t.n, 5000);
	fdtypes_sort(&t);
	assert_string_equal(t.v[0].name, "peer-4999");
	assert_int_equal(t.v[0].count, 4 * 5000);
	for (i = 1; i < t.n; i++)
		assert_true(t.v[i - 1].count > t.v[i].count);
	fdtypes_free(&t);
	assert_null(t.v);
	assert_int_equal(t.n, 0);
	fdtypes_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_pipe_eventfd_memfd),
		cmocka_unit_test(test_errors_and_truncation),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_tcp6),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_other_sockets),
		cmocka_unit_test(test_list_and_count),
		cmocka_unit_test(test_other_process),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_types),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
