// SPDX-License-Identifier: GPL-2.0
/* Opening files that others control: see safeopen.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "safeopen.h"

int lw_check_file(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)st.st_size > LW_MAX_FILE_BYTES) {
		errno = EFBIG;
		return -1;
	}
	return 0;
}

/*
 * From an O_PATH descriptor to a readable one once it is known to be a
 * regular file: the reopen goes through our own /proc/self/fd link, which
 * names the very inode checked, so nothing can be swapped in between.
 */
static int reopen_checked(int pfd)
{
	char path[32];
	int fd, err;

	if (pfd < 0)
		return -1;
	if (lw_check_file(pfd)) {
		err = errno;
		close(pfd);
		errno = err;
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", pfd);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	err = errno;
	close(pfd);
	errno = err;
	return fd;
}

int lw_open_at(int dirfd, const char *path)
{
	return reopen_checked(openat(dirfd, path, O_PATH | O_CLOEXEC));
}

int lw_open_file(const char *path)
{
	return lw_open_at(AT_FDCWD, path);
}

int lw_open_in_root(int root_fd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return reopen_checked(
		(int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how)));
}
