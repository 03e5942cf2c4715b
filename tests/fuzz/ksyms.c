// SPDX-License-Identifier: GPL-2.0
/* /proc/kallsyms (user/ksyms.c), then lookups at the listed addresses. */
#include "fuzz.h"
#include "ksyms.h"

LW_FUZZ(ksyms)
{
	struct lw_ksyms *ks;
	const char *mod;
	uint64_t off;
	char path[32];
	size_t i;
	int fd = fuzz_file(data, size, path);

	if (fd < 0)
		return 0;
	ks = ksyms_load_path(path);
	close(fd);
	if (!ks)
		return 0;
	ksyms_count(ks);
	for (i = 0; i + 8 <= size && i < 512; i += 8) {
		ksyms_lookup(ks, fuzz_u64(data, size, i), &off, &mod);
		ksyms_lookup(ks, fuzz_u64(data, size, i) + 1, NULL, NULL);
	}
	ksyms_lookup(ks, 0, &off, &mod);
	ksyms_lookup(ks, UINT64_MAX, &off, &mod);
	ksyms_free(ks);
	return 0;
}
