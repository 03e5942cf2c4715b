// SPDX-License-Identifier: GPL-2.0
/*
 * A process's descriptors and socket tables (user/fdinfo.c, included:
 * its parsers are static, and the link takes this copy instead of the
 * library's). The "process" is a directory the input fills: fd/N
 * symlinks (their targets are what a process's paths may be) and the
 * net/ tables, as /proc/PID shows them.
 *
 * Input: parts separated by NUL bytes: the first holds one link target
 * per line, the next ones the tables in the order of kinds[], the last
 * /proc/PID/limits lines.
 */
#include "../../user/fdinfo.c"
#include "fuzz.h"
#include <sys/stat.h>

#define MAX_FDS 16

static char dir[64];

/* The directory goes when the harness ends: /dev/shm is memory. */
static void cleanup(void)
{
	char p[128];
	int i;

	for (i = 0; i < MAX_FDS; i++) {
		snprintf(p, sizeof(p), "%s/fd/%d", dir, i);
		unlink(p);
	}
	for (i = 0; i < T_MAX; i++) {
		snprintf(p, sizeof(p), "%s/net/%s", dir, kinds[i].file);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/fd", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/net", dir);
	rmdir(p);
	rmdir(dir);
}

static int setup(void)
{
	char p[128];

	if (dir[0])
		return 0;
	atexit(cleanup);
	snprintf(dir, sizeof(dir), "/dev/shm/lwfuzz-fdinfo-%d", (int)getpid());
	snprintf(p, sizeof(p), "%s/fd", dir);
	mkdir(dir, 0700);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/net", dir);
	mkdir(p, 0700);
	return 0;
}

static void put(const char *rel, const uint8_t *b, size_t n)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "we");
	if (!f)
		return;
	if (n)
		fwrite(b, 1, n, f);
	fclose(f);
}

LW_FUZZ(fdinfo)
{
	const uint8_t *part = data, *end = data + size, *nul;
	struct lw_fdinfo *c;
	char p[128], rel[32], name[256], link[PATH_MAX];
	long long v;
	int fds = 0, k = 0, i;

	setup();
	for (i = 0; i < MAX_FDS; i++) {
		snprintf(p, sizeof(p), "%s/fd/%d", dir, i);
		unlink(p);
	}
	for (; part <= end && k <= T_MAX + 1; k++, part = nul + 1) {
		size_t n;

		nul = memchr(part, 0, (size_t)(end - part));
		if (!nul)
			nul = end;
		n = (size_t)(nul - part);
		if (k == 0) { /* link targets, one a line */
			const uint8_t *l = part, *nl;

			while (l < nul && fds < MAX_FDS) {
				nl = memchr(l, '\n', (size_t)(nul - l));
				if (!nl)
					nl = nul;
				if (nl > l && (size_t)(nl - l) < sizeof(link)) {
					memcpy(link, l, (size_t)(nl - l));
					link[nl - l] = 0;
					snprintf(p, sizeof(p), "%s/fd/%d", dir,
						 fds);
					if (!symlink(link, p))
						fds++;
				}
				l = nl + 1;
			}
		} else if (k <= T_MAX) {
			snprintf(rel, sizeof(rel), "net/%s", kinds[k - 1].file);
			put(rel, part, n);
		} else { /* limits */
			char *s = strndup((const char *)part, n), *line, *sv;

			for (line = s ? strtok_r(s, "\n", &sv) : NULL; line;
			     line = strtok_r(NULL, "\n", &sv))
				parse_limit(line, &v);
			free(s);
		}
		if (nul == end)
			break;
	}
	for (k++; k <= T_MAX; k++) { /* tables the input left out: empty */
		snprintf(rel, sizeof(rel), "net/%s", kinds[k - 1].file);
		put(rel, NULL, 0);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return 0;
	c->pid = getpid();
	c->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0) {
		free(c);
		return 0;
	}
	for (i = 0; i < fds; i++)
		fdinfo_describe(c, i, name, sizeof(name));
	/* every table, by the inodes its lines name */
	for (k = 0; k < T_MAX; k++) {
		read_table(c, k);
		for (size_t j = 0; j < c->t[k].n && j < 64; j++) {
			struct sbuf b = { name, sizeof(name), 0 };

			sb_socket(&b, c, k, &c->t[k].v[j]);
		}
		lookup(c, k, 12345);
	}
	fdinfo_close(c);
	return 0;
}
