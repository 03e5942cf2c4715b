/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a process's open descriptors are, from /proc: the names fd sites
 * group their descriptors by (the "types" of a site, issue 13), its count
 * and its RLIMIT_NOFILE. Nothing here needs BPF; all of it needs the
 * right to read /proc/PID/fd (ptrace read access).
 *
 * Names are built from what the target controls (paths, socket names):
 * they are raw bytes, newlines and all; views escape them.
 */
#ifndef LW_FDINFO_H
#define LW_FDINFO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * One process's view, for one report: the socket tables of its network
 * namespace are read on first need, at most once each, and kept until
 * fdinfo_close(). A fresh view sees sockets opened since.
 */
struct lw_fdinfo;

/* NULL with errno set (ENOENT: no such process). */
struct lw_fdinfo *fdinfo_open(pid_t pid);
void fdinfo_close(struct lw_fdinfo *c);

/*
 * The grouping name of descriptor fd, into buf (always terminated,
 * truncated to len):
 *   regular file, dir, device: its path, runs of digits -> '*', and
 *	" (deleted)" kept after it ("/tmp/x/leak-*.log", "/dev/null")
 *   "memfd:NAME" (digits -> '*'), "pipe",
 *   "socket:TCP 127.0.0.1:* -> 127.0.0.1:8080 ESTABLISHED",
 *   "socket:TCP 0.0.0.0:8080 LISTEN", "socket:TCP [::1]:* -> [::1]:80 ...",
 *   "socket:UDP 127.0.0.1:*" (" -> remote" when connected),
 *   "socket:RAW 0.0.0.0 proto 1", "socket:UNIX", "socket:UNIX /run/x.sock",
 *   "socket:NETLINK", "socket:PACKET",
 *   "socket:NAME" for a socket in no table (not yet bound, another
 *	namespace, another family: "socket:TCP", "socket:MPTCP"), and
 *	"socket" when even its protocol is unknown,
 *   anything else: the link, digits -> '*' ("anon_inode:[eventfd]",
 *	"anon_inode:bpf-map", "net:[*]").
 * Ports in the ephemeral range (ip_local_port_range) print as '*'.
 * Returns 0, or -errno: -ENOENT the fd (or the process) is gone, -EACCES,
 * -EINVAL.
 */
int fdinfo_describe(struct lw_fdinfo *c, int fd, char *buf, size_t len);

/* Soft and hard RLIMIT_NOFILE of pid, "unlimited" as -1. 0 or -errno. */
int fdinfo_limit(pid_t pid, long long *soft, long long *hard);
/* How many descriptors /proc/PID/fd lists, or -errno. */
int fdinfo_count(pid_t pid);
/* The open descriptors, ascending, into *out (malloc'ed, NULL when none):
 * their count or -errno (*out NULL then). */
int fdinfo_list(pid_t pid, int **out);

/*
 * A tally of names -> counts (a site's "types"). Zero-initialized is
 * empty. Names are copied. slot is a hash index of v by name, so a site
 * with thousands of distinct peers still adds in constant time.
 */
struct lw_fd_type {
	char *name;
	uint32_t count;
};

struct lw_fd_types {
	struct lw_fd_type *v;
	size_t n, cap;
	uint32_t *slot; /* 0: empty, else index in v + 1 */
	size_t nslot;
};

/* Adds n (saturating) to name's count, creating it; n == 0 does nothing.
 * 0 or -ENOMEM (the tally unchanged then). */
int fdtypes_add(struct lw_fd_types *t, const char *name, uint32_t n);
/* Most first, then by name: the order views print. */
void fdtypes_sort(struct lw_fd_types *t);
/* Drops every entry, keeping the memory for the next report's tally. */
void fdtypes_clear(struct lw_fd_types *t);
void fdtypes_free(struct lw_fd_types *t);

#endif
