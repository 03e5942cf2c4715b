// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdarg.h>
#include <time.h>
#include "util.h"

bool lw_verbose;

static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "leakwatch: %s", prefix);
	vfprintf(stderr, fmt, ap);
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
