/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_SAFEOPEN_H
#define LW_SAFEOPEN_H

#include <stdint.h>

/*
 * Opening files that others control. leakwatch runs as root and reads the
 * binaries of processes it traces, some of them in containers whose owner
 * also owns every path and symlink there. Each open here:
 * - resolves the path without touching the file (O_PATH), so that a FIFO
 *   cannot block us and a device's open cannot act;
 * - takes regular files only, of at most LW_MAX_FILE_BYTES;
 * - and, inside another root, resolves every component and symlink inside
 *   that root (openat2 RESOLVE_IN_ROOT: an absolute symlink in a container
 *   points into the container, not at the host), magic links refused.
 * Errors: -1 and errno; EINVAL for a file that is not regular, EFBIG for
 * one over the limit.
 */

/* Larger than any binary or debug file Debian ships (libLLVM's: ~1.5 GB). */
#define LW_MAX_FILE_BYTES (4ULL << 30)

/* A path as our process resolves it (our root, /proc magic links). */
int lw_open_file(const char *path);
/* path relative to dirfd (AT_FDCWD allowed), as openat(2) resolves it. */
int lw_open_at(int dirfd, const char *path);
/* path (absolute or not) resolved inside the directory root_fd. */
int lw_open_in_root(int root_fd, const char *path);
/* 0 when fd is a regular file within the limit, else -1 and errno. */
int lw_check_file(int fd);

#endif
