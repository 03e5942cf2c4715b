// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "safestr.h"
#include "util.h"

bool lw_verbose;

/* Messages quote targets' names and paths: escaped, as every view does.
 * On the stack: a message must get out when memory is short. */
static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	char msg[4096];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "leakwatch: %s", prefix);
	lw_safe_fputs(msg, stderr, LW_SAFE_LINES);
	fputc('\n', stderr);
}

void lw_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("error: ", fmt, ap);
	va_end(ap);
}

void lw_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("warning: ", fmt, ap);
	va_end(ap);
}

void lw_debug(const char *fmt, ...)
{
	va_list ap;

	if (!lw_verbose)
		return;
	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

uint64_t lw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

double lw_now(void)
{
	return lw_now_ns() / 1e9;
}

void lw_fmt_bytes(double bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = fabs(bytes);
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%s%.0f B", bytes < 0 ? "-" : "", v);
	else
		snprintf(buf, len, "%s%.1f %s", bytes < 0 ? "-" : "", v,
			 units[u]);
}

FILE *lw_replace_open(const char *path, char *tmp, size_t len)
{
	if (snprintf(tmp, len, "%s.tmp", path) >= (int)len) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return fopen(tmp, "we");
}

int lw_replace_commit(FILE *f, const char *tmp, const char *path, bool ok)
{
	int err = 0;

	if (fflush(f) || ferror(f))
		err = errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno;
	if (ok && !err && rename(tmp, path))
		err = errno;
	if (!ok || err)
		unlink(tmp);
	errno = err;
	return err || !ok ? -1 : 0;
}

int lw_check_writable(const char *path)
{
	char tmp[4096];
	FILE *f = lw_replace_open(path, tmp, sizeof(tmp));

	if (!f)
		return -1;
	fclose(f);
	unlink(tmp);
	return 0;
}

int lw_grow(void **arr, size_t *cap, size_t need, size_t size, size_t first)
{
	size_t c = *cap ? *cap : first;
	void *p;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}
