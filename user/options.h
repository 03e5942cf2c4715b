/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LW_OPTIONS_H
#define LW_OPTIONS_H

#include <stdbool.h>
#include <sys/types.h>

/* The bench's bare-probe floors: empty programs where probes would go. */
enum lw_floor {
	LW_FLOOR_NONE,
	LW_FLOOR_OWN,	  /* leakwatch's placements */
	LW_FLOOR_MEMLEAK, /* memleak's: every probe on the first byte */
};

/* What a folded line's value is (--folded-value). */
enum lw_folded_value {
	LW_FOLDED_AUTO, /* bytes for heap sites, the live count else */
	LW_FOLDED_BYTES,
	LW_FOLDED_COUNT,
	LW_FOLDED_GROWTH, /* per second: bytes for heap, count else */
};

struct lw_opts {
	pid_t pid;
	char **cmd; /* NULL-terminated argv of the command to launch */
	double interval;
	bool interval_set; /* -i given: the live view keeps it */
	double duration;   /* 0: until interrupted or the target exits */
	int top;
	const char *json_path;
	bool live;		 /* leakwatch top: the full-screen view */
	const char *folded_path; /* --folded FILE */
	enum lw_folded_value folded_value;
	const char *pprof_path; /* --pprof FILE */
	enum lw_floor floor;	/* make bench: empty programs only */
	bool unwind_fp;		/* --unwind fp: no unwind tables */
	int go_heap;		/* --go-heap: enum lw_goheap_mode, or -1 auto */
	bool go_scan_only;	/* --goroutines scan: no birth/death probes */
	bool no_fds;		/* --fds off: descriptors not tracked */
	long max_allocs;	/* --max-allocs: live allocations tracked */
	long max_sites;		/* --max-sites: stacks (sites) kept */
	bool all;		/* -a, or no target: the whole system */
	char **comm;		/* --comm patterns, NULL-terminated */
	const char *cgroup;	/* --cgroup PATH */
	int zoom;		/* --zoom: processes traced in depth */
	bool kernel;		/* --kernel: kernel allocations too */
	unsigned long long sample_bytes; /* --sample: mean bytes, 0: all */
	const char *prom_addr;		 /* --prometheus ADDR */
	int prom_sites;			 /* --prometheus-sites N */

	/* --pprof-dir DIR, and --pprof-keep: the newest files kept per
	 * process (0: all) */
	const char *pprof_dir;
	long pprof_keep;
};

#define LW_PPROF_KEEP_MAX 1000000

enum lw_parse {
	LW_PARSE_RUN,
	LW_PARSE_EXIT_OK,   /* --help or --version printed */
	LW_PARSE_EXIT_USAGE /* message printed */
};

enum lw_parse lw_parse_options(int argc, char **argv, struct lw_opts *o);

#endif
