/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every harness shares. A harness is one file per parser with one
 * entry, LW_FUZZ(name): built with clang and libFuzzer it is
 * LLVMFuzzerTestOneInput (make fuzz); built with gcc into the regression
 * replay (tests/fuzz/replay.c, run by make test) it is lw_fuzz_<name>,
 * given every file of tests/fuzz/regress/<name>/.
 */
#ifndef LW_FUZZ_H
#define LW_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef LW_FUZZ_REPLAY
#define LW_FUZZ(name) int lw_fuzz_##name(const uint8_t *data, size_t size)
#else
#define LW_FUZZ(name)                                                          \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#endif

/*
 * The input as a file, for entry points that open a path: a memfd, seen
 * through /proc/self/fd (path must hold 32 bytes). -1 on failure; close
 * the fd after the call.
 */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path)
{
	int fd = memfd_create("lwfuzz", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, 32, "/proc/self/fd/%d", fd);
	return fd;
}

/*
 * Target memory for the parsers of a process's structures (goprof,
 * goinfo_scan): they read with process_vm_readv, here on this very
 * process, from a fixed address the inputs' pointers can name. The
 * input is copied to FUZZ_MEM; reads outside it fail as a target's
 * unmapped memory would (the pages after it are left unmapped).
 */
#define FUZZ_MEM     0x300000000000ull /* above ASan's shadow */
#define FUZZ_MEM_MAX (1u << 20)

static inline void *fuzz_mem(const uint8_t *data, size_t size)
{
	static void *mem;
	size_t page = 4096, len;

	if (!mem) {
		mem = mmap((void *)(uintptr_t)FUZZ_MEM, FUZZ_MEM_MAX,
			   PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			   -1, 0);
		if (mem == MAP_FAILED || mem != (void *)(uintptr_t)FUZZ_MEM) {
			mem = NULL;
			return NULL;
		}
	}
	if (size > FUZZ_MEM_MAX)
		size = FUZZ_MEM_MAX;
	/* Only the pages the input covers are readable. */
	len = (size + page - 1) & ~(page - 1);
	mprotect(mem, FUZZ_MEM_MAX, PROT_NONE);
	if (len)
		mprotect(mem, len, PROT_READ | PROT_WRITE);
	memset(mem, 0, len);
	memcpy(mem, data, size);
	return mem;
}

/* Little-endian fields of the input, zero past its end. */
static inline uint64_t fuzz_u64(const uint8_t *data, size_t size, size_t off)
{
	uint64_t v = 0;

	if (off < size)
		memcpy(&v, data + off, size - off < 8 ? size - off : 8);
	return v;
}

static inline uint32_t fuzz_u32(const uint8_t *data, size_t size, size_t off)
{
	return (uint32_t)fuzz_u64(data, size, off);
}

#endif
