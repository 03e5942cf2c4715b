// SPDX-License-Identifier: GPL-2.0
/*
 * A process's descriptors as /proc shows them, named for grouping: what a
 * leaking site keeps open, without the numbers that differ per instance.
 */
#define _GNU_SOURCE /* O_PATH */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "fdinfo.h"
#include "util.h"

/* The kernel's own default, when the sysctl can't be read. */
#define PORT_LO_DEFAULT 32768
#define PORT_HI_DEFAULT 60999

/* The socket tables of /proc/PID/net this module reads. */
enum sock_table {
	T_TCP,
	T_TCP6,
	T_UDP,
	T_UDP6,
	T_UDPLITE,
	T_UDPLITE6,
	T_RAW,
	T_RAW6,
	T_UNIX,
	T_NETLINK,
	T_PACKET,
	T_MAX,
};

enum table_how {
	H_INET,	 /* tcp, udp, raw: "sl: addr:port addr:port st ... inode" */
	H_UNIX,	 /* "sk: ref proto flags type st inode [path]" */
	H_FIELD, /* netlink, packet: the inode is a numbered field */
};

static const struct table_kind {
	const char *file;  /* under /proc/PID/net */
	const char *proto; /* system.sockprotoname of its sockets */
	const char *label; /* after "socket:" */
	enum table_how how;
	bool v6;
	int ino_field; /* H_FIELD: the inode's field, from 0 */
} kinds[T_MAX] = {
	[T_TCP] = { "tcp", "TCP", "TCP", H_INET, false, 0 },
	[T_TCP6] = { "tcp6", "TCPv6", "TCP", H_INET, true, 0 },
	[T_UDP] = { "udp", "UDP", "UDP", H_INET, false, 0 },
	[T_UDP6] = { "udp6", "UDPv6", "UDP", H_INET, true, 0 },
	[T_UDPLITE] = { "udplite", "UDP-Lite", "UDPLITE", H_INET, false, 0 },
	[T_UDPLITE6] = { "udplite6", "UDPLITEv6", "UDPLITE", H_INET, true, 0 },
	[T_RAW] = { "raw", "RAW", "RAW", H_INET, false, 0 },
	[T_RAW6] = { "raw6", "RAWv6", "RAW", H_INET, true, 0 },
	[T_UNIX] = { "unix", "UNIX", "UNIX", H_UNIX, false, 0 },
	[T_NETLINK] = { "netlink", "NETLINK", "NETLINK", H_FIELD, false, 9 },
	[T_PACKET] = { "packet", "PACKET", "PACKET", H_FIELD, false, 8 },
};

struct sock_ent {
	unsigned long long ino;
	char *path; /* unix: the bound name, raw bytes; NULL: none */
	uint8_t laddr[16], raddr[16]; /* network order, IPv4 in 4 bytes */
	uint16_t lport, rport;	      /* raw: rport unused, lport = proto */
	uint8_t state;
	bool ambiguous; /* two different lines claim the inode */
};

struct sock_table_data {
	bool read;
	bool reread;	    /* read again once, for a socket made since */
	struct sock_ent *v; /* by inode */
	size_t n, cap;
};

struct lw_fdinfo {
	pid_t pid;
	/*
	 * /proc/PID itself, held open: should the process die and its pid
	 * be reused within the report, every read through it fails instead
	 * of describing another process's descriptors.
	 */
	int dirfd;
	bool ports_read;
	unsigned int port_lo, port_hi;
	struct sock_table_data t[T_MAX];
};

/* A bounded string being built: always terminated, silently truncated. */
struct sbuf {
	char *s;
	size_t len, at;
};

static void sb_putc(struct sbuf *b, char ch)
{
	if (b->at + 1 < b->len) {
		b->s[b->at++] = ch;
		b->s[b->at] = 0;
	}
}

static void sb_puts(struct sbuf *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->at + 1 >= b->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->at, b->len - b->at, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->s[b->at] = 0;
		return;
	}
	b->at += (size_t)n < b->len - b->at ? (size_t)n : b->len - b->at - 1;
}

/* A word (letters and digits between separators) from i on: its end. */
static size_t word_end(const char *s, size_t i, size_t n)
{
	while (i < n && isalnum((unsigned char)s[i]))
		i++;
	return i;
}

/* Hex with a digit in it, 6 or more long: a hash, an id, a temp name. */
static bool is_hex_id(const char *s, size_t n)
{
	bool digit = false;
	size_t i;

	if (n < 6)
		return false;
	for (i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
		digit |= isdigit((unsigned char)s[i]) != 0;
	}
	return digit;
}

/*
 * n bytes of s, each run of decimal digits as one '*': the instance
 * numbers (pids, counters, ports in names) that differ per descriptor;
 * and a word that is a hex id (mkdtemp's, a hash, a UUID's parts) as one
 * '*', not a '*' per run of its digits.
 */
static void sb_pattern(struct sbuf *b, const char *s, size_t n)
{
	size_t i, end;

	for (i = 0; i < n; i++) {
		/* words are judged whole, from their start */
		end = i && isalnum((unsigned char)s[i - 1]) ? i
							    : word_end(s, i, n);
		if (end > i && is_hex_id(s + i, end - i)) {
			sb_putc(b, '*');
			i = end - 1;
		} else if (s[i] >= '0' && s[i] <= '9') {
			while (i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
				i++;
			sb_putc(b, '*');
		} else {
			sb_putc(b, s[i]);
		}
	}
}

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

struct lw_fdinfo *fdinfo_open(pid_t pid)
{
	struct lw_fdinfo *c;
	char path[64];
	int err;

	if (pid <= 0) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	c->dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0) {
		err = errno;
		free(c);
		errno = err;
		return NULL;
	}
	return c;
}

void fdinfo_close(struct lw_fdinfo *c)
{
	size_t i;
	int t;

	if (!c)
		return;
	for (t = 0; t < T_MAX; t++) {
		for (i = 0; i < c->t[t].n; i++)
			free(c->t[t].v[i].path);
		free(c->t[t].v);
	}
	close(c->dirfd);
	free(c);
}

/*
 * The ephemeral range, read once per view. The sysctl is per network
 * namespace but /proc/sys shows the reader's: a target in a namespace of
 * its own with another range gets ours, which at worst prints a port.
 */
static void read_ports(struct lw_fdinfo *c)
{
	unsigned int lo, hi;
	FILE *f;

	if (c->ports_read)
		return;
	c->ports_read = true;
	c->port_lo = PORT_LO_DEFAULT;
	c->port_hi = PORT_HI_DEFAULT;
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (!f)
		return;
	/* "32768\t60999\n": tab-separated on current kernels */
	if (fscanf(f, "%u %u", &lo, &hi) == 2 && lo <= hi && hi <= 65535) {
		c->port_lo = lo;
		c->port_hi = hi;
	}
	fclose(f);
}

static bool ephemeral(const struct lw_fdinfo *c, unsigned int port)
{
	return port && port >= c->port_lo && port <= c->port_hi;
}

/*
 * An address as the inet tables print it: each 32-bit word of the
 * network-order bytes as a host-order number ("0100007F" is 127.0.0.1 on
 * little-endian). Storing each word back as a host number undoes it on
 * any byte order. words: 1 (IPv4) or 4 (IPv6).
 */
static bool parse_addr(const char *hex, int words, uint8_t *out)
{
	char word[9];
	uint32_t w;
	char *end;
	int i;

	if (strlen(hex) != (size_t)words * 8)
		return false;
	for (i = 0; i < words; i++) {
		memcpy(word, hex + 8 * i, 8);
		word[8] = 0;
		w = (uint32_t)strtoul(word, &end, 16);
		if (*end)
			return false;
		memcpy(out + 4 * i, &w, 4);
	}
	return true;
}

static bool parse_inet(const char *line, bool v6, struct sock_ent *e)
{
	char la[40], ra[40];
	unsigned int lp, rp, st;
	unsigned long long ino;

	/*
	 * "sl: local rem st tx:rx tr:when retrnsmt uid timeout inode ...":
	 * the same columns for tcp, udp and raw, and for time-wait and
	 * request sockets (whose inode is 0: no descriptor holds them).
	 */
	if (sscanf(line,
		   " %*d: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u %*d %llu",
		   la, &lp, ra, &rp, &st, &ino) != 6)
		return false;
	if (!parse_addr(la, v6 ? 4 : 1, e->laddr) ||
	    !parse_addr(ra, v6 ? 4 : 1, e->raddr) || lp > 0xffff ||
	    rp > 0xffff || st > 0xff)
		return false;
	e->lport = lp;
	e->rport = rp;
	e->state = st;
	e->ino = ino;
	return true;
}

/*
 * "%pK: %08X %08X %08X %04X %02X %5lu" then " path" when bound. The path
 * is printed raw ('@' for an abstract name's NULs): *path_at is where it
 * starts in line, or NULL.
 */
static bool parse_unix(char *line, struct sock_ent *e, char **path_at)
{
	unsigned long long ino;
	int end = -1;

	if (sscanf(line, "%*x: %*x %*x %*x %*x %*x %llu%n", &ino, &end) != 1 ||
	    end < 0)
		return false;
	*path_at = NULL;
	if (line[end] == ' ')
		*path_at = line + end + 1;
	else if (line[end])
		return false;
	e->ino = ino;
	return true;
}

/* The inode is field nr of whitespace-separated fields (netlink, packet:
 * no strings a process controls). */
static bool parse_field(const char *line, int nr, struct sock_ent *e)
{
	const char *p = line;
	unsigned long long ino;
	char *end;
	int i;

	for (i = 0; i < nr; i++) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return false;
		while (*p && !isspace((unsigned char)*p))
			p++;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	errno = 0;
	ino = strtoull(p, &end, 10);
	if (errno || (*end && !isspace((unsigned char)*end)))
		return false;
	e->ino = ino;
	return true;
}

static int cmp_ent(const void *a, const void *b)
{
	const struct sock_ent *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static bool same_path(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/*
 * Sorted by inode, one entry each. A socket may show twice when the
 * kernel's walk of a changing table restarts: one is kept. Two
 * different unix paths for one inode mean one line was forged by a path
 * holding a newline and a made-up record: trust neither path.
 */
static void dedup(struct sock_table_data *td)
{
	size_t i, out = 0;

	if (td->n < 2)
		return;
	qsort(td->v, td->n, sizeof(*td->v), cmp_ent);
	for (i = 0; i < td->n; i++) {
		if (out && td->v[out - 1].ino == td->v[i].ino) {
			if (!same_path(td->v[out - 1].path, td->v[i].path))
				td->v[out - 1].ambiguous = true;
			free(td->v[i].path);
			continue;
		}
		td->v[out++] = td->v[i];
	}
	td->n = out;
}

/* Appends "\n" and more to the last unix path: its name held a newline. */
static int continue_path(struct sock_table_data *td, const char *more)
{
	struct sock_ent *e;
	size_t a, b;
	char *p;

	if (!td->n || !td->v[td->n - 1].path)
		return 0; /* not a continuation: a line we don't know */
	e = &td->v[td->n - 1];
	a = strlen(e->path);
	b = strlen(more);
	p = realloc(e->path, a + b + 2);
	if (!p)
		return -ENOMEM;
	p[a] = '\n';
	memcpy(p + a + 1, more, b + 1);
	e->path = p;
	return 0;
}

/* Reads table t of the target's network namespace, once. A table that
 * can't be read (no IPv6, the process gone) stays empty. */
static void read_table(struct lw_fdinfo *c, enum sock_table t)
{
	const struct table_kind *k = &kinds[t];
	struct sock_table_data *td = &c->t[t];
	struct sock_ent e;
	char path[32], *line = NULL, *at;
	size_t cap = 0;
	ssize_t n;
	bool ok, first = true;
	FILE *f;
	int fd;

	if (td->read)
		return;
	td->read = true;
	snprintf(path, sizeof(path), "net/%s", k->file);
	fd = openat(c->dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		lw_debug("fdinfo: pid %d: %s: %s", (int)c->pid, path,
			 strerror(errno));
		return;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = 0;
		if (first) { /* the column header */
			first = false;
			continue;
		}
		memset(&e, 0, sizeof(e));
		at = NULL;
		switch (k->how) {
		case H_INET:
			ok = parse_inet(line, k->v6, &e);
			break;
		case H_UNIX:
			ok = parse_unix(line, &e, &at);
			if (!ok && continue_path(td, line))
				goto nomem;
			break;
		default:
			ok = parse_field(line, k->ino_field, &e);
			break;
		}
		if (!ok || !e.ino)
			continue;
		if (at) {
			e.path = strdup(at);
			if (!e.path)
				goto nomem;
		}
		if (lw_grow((void **)&td->v, &td->cap, td->n + 1, sizeof(e),
			    64)) {
			free(e.path);
			goto nomem;
		}
		td->v[td->n++] = e;
	}
	goto done;
nomem:
	/* what was read still describes its sockets */
	lw_warn("fdinfo: pid %d: %s: out of memory", (int)c->pid, path);
done:
	free(line);
	fclose(f);
	dedup(td);
}

static const struct sock_ent *find(const struct sock_table_data *td,
				   unsigned long long ino)
{
	struct sock_ent key = { .ino = ino };

	return td->n ? bsearch(&key, td->v, td->n, sizeof(key), cmp_ent) : NULL;
}

/*
 * A socket not in the table read at the first need was made since (a
 * server accepts all the time): the table is read once more per view.
 */
static const struct sock_ent *lookup(struct lw_fdinfo *c, enum sock_table t,
				     unsigned long long ino)
{
	struct sock_table_data *td = &c->t[t];
	const struct sock_ent *e;
	size_t i;

	read_table(c, t);
	e = find(td, ino);
	if (e || td->reread)
		return e;
	for (i = 0; i < td->n; i++)
		free(td->v[i].path);
	td->n = 0;
	td->read = false;
	td->reread = true;
	read_table(c, t);
	return find(td, ino);
}

static const char *tcp_state(unsigned int st)
{
	static const char *const names[] = {
		[1] = "ESTABLISHED",	 [2] = "SYN_SENT",
		[3] = "SYN_RECV",	 [4] = "FIN_WAIT1",
		[5] = "FIN_WAIT2",	 [6] = "TIME_WAIT",
		[7] = "CLOSE",		 [8] = "CLOSE_WAIT",
		[9] = "LAST_ACK",	 [10] = "LISTEN",
		[11] = "CLOSING",	 [12] = "NEW_SYN_RECV",
		[13] = "BOUND_INACTIVE",
	};

	return st < sizeof(names) / sizeof(names[0]) ? names[st] : NULL;
}

static void sb_host(struct sbuf *b, bool v6, const uint8_t *a, bool brackets)
{
	char host[INET6_ADDRSTRLEN];

	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, a, host, sizeof(host)))
		snprintf(host, sizeof(host), "?");
	if (v6 && brackets)
		sb_printf(b, "[%s]", host);
	else
		sb_puts(b, host);
}

static void sb_endpoint(struct sbuf *b, const struct lw_fdinfo *c, bool v6,
			const uint8_t *a, unsigned int port)
{
	sb_host(b, v6, a, true);
	if (ephemeral(c, port))
		sb_puts(b, ":*");
	else
		sb_printf(b, ":%u", port);
}

static bool is_any(const uint8_t *a, bool v6)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, v6 ? 16 : 4);
}

static void sb_socket(struct sbuf *b, struct lw_fdinfo *c, enum sock_table t,
		      const struct sock_ent *e)
{
	const struct table_kind *k = &kinds[t];
	const char *st;

	sb_printf(b, "socket:%s", k->label);
	switch (t) {
	case T_TCP:
	case T_TCP6:
		read_ports(c);
		sb_putc(b, ' ');
		sb_endpoint(b, c, k->v6, e->laddr, e->lport);
		if (e->state != 10) { /* a listener has no peer */
			sb_puts(b, " -> ");
			sb_endpoint(b, c, k->v6, e->raddr, e->rport);
		}
		st = tcp_state(e->state);
		if (st)
			sb_printf(b, " %s", st);
		else
			sb_printf(b, " state-%02X", e->state);
		break;
	case T_UDP:
	case T_UDP6:
	case T_UDPLITE:
	case T_UDPLITE6:
		/* connectionless: its state says nothing a peer doesn't */
		read_ports(c);
		sb_putc(b, ' ');
		sb_endpoint(b, c, k->v6, e->laddr, e->lport);
		if (e->rport || !is_any(e->raddr, k->v6)) {
			sb_puts(b, " -> ");
			sb_endpoint(b, c, k->v6, e->raddr, e->rport);
		}
		break;
	case T_RAW:
	case T_RAW6:
		/* the "port" of a raw socket is its IP protocol */
		sb_putc(b, ' ');
		sb_host(b, k->v6, e->laddr, false);
		sb_printf(b, " proto %u", e->lport);
		break;
	case T_UNIX:
		if (e->path && !e->ambiguous) {
			sb_putc(b, ' ');
			sb_pattern(b, e->path, strlen(e->path));
		}
		break;
	default:
		break;
	}
}

/*
 * The socket's protocol, as sockfs names it: it says which one table to
 * read, where searching them all would read a busy host's whole TCP
 * table to find a unix socket. Through /proc/self/fd/DIRFD, to stay on
 * the process opened. Length without the NUL, or -1.
 */
static int proto_name(const struct lw_fdinfo *c, int fd, char *buf, size_t len)
{
	char path[96];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d/fd/%d", c->dirfd, fd);
	n = getxattr(path, "system.sockprotoname", buf, len - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return (int)strlen(buf);
}

static int table_of(const char *proto)
{
	int t;

	/* unix stream sockets are "UNIX-STREAM", the others "UNIX" */
	if (!strncmp(proto, "UNIX", 4))
		return T_UNIX;
	for (t = 0; t < T_MAX; t++)
		if (!strcmp(proto, kinds[t].proto))
			return t;
	return -1;
}

static void describe_socket(struct lw_fdinfo *c, int fd, unsigned long long ino,
			    struct sbuf *b)
{
	const struct sock_ent *e;
	char proto[64];
	int t, n;

	n = proto_name(c, fd, proto, sizeof(proto));
	t = n > 0 ? table_of(proto) : -1;
	if (t >= 0) {
		e = lookup(c, t, ino);
		if (e) {
			sb_socket(b, c, t, e);
			return;
		}
		/* not bound yet, or in another namespace's table */
		sb_printf(b, "socket:%s", kinds[t].label);
		return;
	}
	if (n > 0) { /* a family without a table: "MPTCP", "AF_VSOCK" */
		sb_printf(b, "socket:%s", proto);
		return;
	}
	/* sockfs said nothing: every table, each read only if needed */
	for (t = 0; t < T_MAX; t++) {
		e = lookup(c, t, ino);
		if (e) {
			sb_socket(b, c, t, e);
			return;
		}
	}
	sb_puts(b, "socket");
}

int fdinfo_describe(struct lw_fdinfo *c, int fd, char *buf, size_t len)
{
	static const char deleted[] = " (deleted)";
	/* a path is at most PATH_MAX, " (deleted)" may follow */
	char link[PATH_MAX + sizeof(deleted)], rel[32], *end;
	struct sbuf b = { buf, len, 0 };
	unsigned long long ino;
	size_t n;
	ssize_t got;

	if (!c || !buf || !len || fd < 0)
		return -EINVAL;
	buf[0] = 0;
	snprintf(rel, sizeof(rel), "fd/%d", fd);
	got = readlinkat(c->dirfd, rel, link, sizeof(link) - 1);
	if (got < 0) /* ESRCH: the process died, and its descriptors too */
		return errno == ESRCH ? -ENOENT : -errno;
	n = (size_t)got;
	link[n] = 0;

	if (!strncmp(link, "socket:[", 8)) {
		errno = 0;
		ino = strtoull(link + 8, &end, 10);
		if (!errno && end != link + 8 && !strcmp(end, "]")) {
			describe_socket(c, fd, ino, &b);
			return 0;
		}
	}
	if (!strncmp(link, "pipe:[", 6)) {
		sb_puts(&b, "pipe");
		return 0;
	}
	/* "/memfd:NAME (deleted)": memfds are always unlinked */
	if (!strncmp(link, "/memfd:", 7) && has_suffix(link, n, deleted)) {
		sb_puts(&b, "memfd:");
		sb_pattern(&b, link + 7, n - 7 - strlen(deleted));
		return 0;
	}
	if (link[0] == '/' && has_suffix(link, n, deleted)) {
		sb_pattern(&b, link, n - strlen(deleted));
		sb_puts(&b, deleted);
		return 0;
	}
	/* paths, "anon_inode:[eventfd]", "net:[4026531840]" */
	sb_pattern(&b, link, n);
	return 0;
}

/*
 * Whether listing /proc/PID/fd shows the listing's own descriptor: PID is
 * this process, or shares its descriptor table (kcmp, where built in).
 */
static bool shares_files(pid_t pid)
{
	pid_t self = getpid();

	if (pid == self)
		return true;
#ifdef SYS_kcmp
	return syscall(SYS_kcmp, self, pid, KCMP_FILES, 0, 0) == 0;
#else
	return false;
#endif
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* The numbers /proc/PID/fd lists: into *out when out, else only counted. */
static int walk_fds(pid_t pid, int **out)
{
	size_t n = 0, cap = 0;
	struct dirent *de;
	char path[64], *end;
	int *v = NULL, own = -1, err = 0;
	long fd;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	if (shares_files(pid))
		own = dirfd(d);
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			err = errno; /* 0: the end */
			break;
		}
		if (!isdigit((unsigned char)de->d_name[0]))
			continue; /* "." and ".." */
		errno = 0;
		fd = strtol(de->d_name, &end, 10);
		if (errno || *end || fd > INT_MAX || fd == own)
			continue;
		if (out) {
			if (lw_grow((void **)&v, &cap, n + 1, sizeof(*v), 64)) {
				err = ENOMEM;
				break;
			}
			v[n] = (int)fd;
		}
		n++;
	}
	closedir(d);
	if (err) {
		free(v);
		return -err;
	}
	if (n > INT_MAX) {
		free(v);
		return -EOVERFLOW;
	}
	if (out) {
		if (v)
			qsort(v, n, sizeof(*v), cmp_int);
		*out = v;
	}
	return (int)n;
}

int fdinfo_count(pid_t pid)
{
	return walk_fds(pid, NULL);
}

int fdinfo_list(pid_t pid, int **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	return walk_fds(pid, out);
}

static bool parse_limit(const char *s, long long *v)
{
	char *end;

	if (!strcmp(s, "unlimited")) {
		*v = -1;
		return true;
	}
	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return !errno && !*end;
}

int fdinfo_limit(pid_t pid, long long *soft, long long *hard)
{
	static const char name[] = "Max open files";
	char path[64], s[32], h[32], *line = NULL;
	size_t cap = 0;
	int err = -EINVAL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* "Max open files            1024                 524288  files" */
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, name, sizeof(name) - 1))
			continue;
		if (sscanf(line + sizeof(name) - 1, "%31s %31s", s, h) == 2 &&
		    parse_limit(s, soft) && parse_limit(h, hard))
			err = 0;
		break;
	}
	free(line);
	fclose(f);
	return err;
}

static size_t slot_of(const struct lw_fd_types *t, const char *name)
{
	size_t mask = t->nslot - 1, i = lw_str_hash(name) & mask;

	while (t->slot[i] && strcmp(t->v[t->slot[i] - 1].name, name))
		i = (i + 1) & mask;
	return i;
}

/* The index rebuilt for nslot slots (a power of two, above n). */
static int reindex(struct lw_fd_types *t, size_t nslot)
{
	uint32_t *s;
	size_t i;

	if (nslot != t->nslot) {
		s = calloc(nslot, sizeof(*s));
		if (!s)
			return -ENOMEM;
		free(t->slot);
		t->slot = s;
		t->nslot = nslot;
	} else if (t->slot) {
		memset(t->slot, 0, nslot * sizeof(*t->slot));
	}
	for (i = 0; i < t->n; i++)
		t->slot[slot_of(t, t->v[i].name)] = i + 1;
	return 0;
}

int fdtypes_add(struct lw_fd_types *t, const char *name, uint32_t n)
{
	size_t i, nslot;
	char *copy;

	if (!name || !n)
		return 0;
	if (t->nslot) {
		i = slot_of(t, name);
		if (t->slot[i]) {
			struct lw_fd_type *e = &t->v[t->slot[i] - 1];

			e->count = n > UINT32_MAX - e->count ? UINT32_MAX
							     : e->count + n;
			return 0;
		}
	}
	if (t->n >= UINT32_MAX - 1)
		return -ENOMEM;
	/* at most half full, so probes stay short */
	if (2 * (t->n + 1) > t->nslot) {
		nslot = t->nslot ? 2 * t->nslot : 16;
		while (2 * (t->n + 1) > nslot)
			nslot *= 2;
		if (reindex(t, nslot))
			return -ENOMEM;
	}
	if (lw_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v), 8))
		return -ENOMEM;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	t->v[t->n].name = copy;
	t->v[t->n].count = n;
	t->slot[slot_of(t, name)] = ++t->n;
	return 0;
}

static int cmp_type(const void *a, const void *b)
{
	const struct lw_fd_type *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

void fdtypes_sort(struct lw_fd_types *t)
{
	if (t->n < 2)
		return;
	qsort(t->v, t->n, sizeof(*t->v), cmp_type);
	/* same size: rebuilding in place can't fail */
	reindex(t, t->nslot);
}

void fdtypes_clear(struct lw_fd_types *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].name);
	t->n = 0;
	if (t->slot)
		memset(t->slot, 0, t->nslot * sizeof(*t->slot));
}

void fdtypes_free(struct lw_fd_types *t)
{
	fdtypes_clear(t);
	free(t->v);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}
