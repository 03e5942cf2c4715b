// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "leakwatch.h"
#include "goheap.h"
#include "options.h"
#include "prom.h"
#include "trend.h"
#include "util.h"

#ifndef LW_VERSION
#define LW_VERSION "unknown"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: leakwatch [options]                 the whole system (-a)\n"
		"       leakwatch [options] -p PID\n"
		"       leakwatch [options] -- COMMAND [ARGS...]\n"
		"       leakwatch top [options] [-a | -p PID | -- COMMAND [ARGS...]]\n"
		"\n"
		"Attach to a running process, or launch a command traced from its\n"
		"first instruction, and show the call sites whose outstanding heap\n"
		"bytes keep growing, ranked by growth, with symbolized stacks; and\n"
		"live threads by the code that created them and where they are. In\n"
		"Go programs, also live goroutines by the go statement that created\n"
		"them, and where they are blocked. Without a target, every process:\n"
		"memory, threads and goroutines of each are followed at no cost to\n"
		"it, and the ones that keep growing are traced in depth.\n"
		"\n"
		"  -a, --all                every process (the default without -p or a\n"
		"                           command)\n"
		"      --comm NAME          only processes whose comm matches NAME (a\n"
		"                           shell pattern; repeatable): each is traced\n"
		"                           in depth at once\n"
		"      --cgroup PATH        only processes in this cgroup v2 (a\n"
		"                           container, a unit), traced in depth at once\n"
		"      --zoom N             processes traced in depth at once, at most\n"
		"                           (default 4)\n"
		"      --kernel             kernel allocations too, as process [kernel]\n"
		"  -p, --pid PID            attach to this process\n"
		"  -i, --interval SECONDS   drain and report period (default 5; 2 for\n"
		"                           the live view)\n"
		"  -d, --duration SECONDS   stop after this long and write the final report\n"
		"  -n, --top N              sites shown per report (default 10)\n"
		"      --top                without N: the live full-screen view, as\n"
		"                           'leakwatch top' (needs a terminal)\n"
		"      --json FILE          final report as JSON (\"-\" = stdout)\n"
		"      --folded FILE        folded stacks for flame graphs, rewritten\n"
		"                           each interval (\"-\" = stdout at the end)\n"
		"      --folded-value V     bytes, count or growth (default: bytes for\n"
		"                           heap sites, live count for threads and\n"
		"                           goroutines)\n"
		"      --pprof FILE         gzipped pprof profile, rewritten each\n"
		"                           interval (go tool pprof FILE)\n"
		"      --prometheus ADDR    serve /metrics for Prometheus at ADDR\n"
		"                           (HOST:PORT, :PORT for every interface,\n"
		"                           [IPV6]:PORT; port 0: a free one, said on\n"
		"                           stderr), refreshed each interval\n"
		"      --prometheus-sites N sites exported per process, the top ones\n"
		"                           by growth (default 20; 0: none)\n"
		"      --pprof-dir DIR      a pprof profile per process each interval,\n"
		"                           and at the end, into DIR (which must\n"
		"                           exist): COMM-PID.yyyymmddThhmmss.mmmZ.pb.gz\n"
		"                           (UTC), a history for profiling agents and\n"
		"                           go tool pprof -diff_base OLD NEW\n"
		"      --pprof-keep N       --pprof-dir keeps each process's N newest\n"
		"                           files, removes its older ones (never other\n"
		"                           files); default 0: keeps all\n"
		"      --unwind MODE        tables: leave frames by unwind tables\n"
		"                           built from each file's DWARF CFI (the\n"
		"                           default), frame pointers elsewhere; fp:\n"
		"                           by frame pointers only (cheaper, for\n"
		"                           programs built with them)\n"
		"      --go-heap MODE       the Go heap of Go programs: auto (the\n"
		"                           default): the runtime's own memory\n"
		"                           profile when the program has it on (it\n"
		"                           imports runtime/pprof), else sampling\n"
		"                           probes on its allocator's slow paths;\n"
		"                           profile, sample: only that way; off\n"
		"      --goroutines MODE    probes (the default): the runtime's\n"
		"                           goroutine list each report, and probes on\n"
		"                           goroutine births and deaths for full\n"
		"                           creation stacks; scan: the list only (no\n"
		"                           probe: creation sites are the go\n"
		"                           statements; for programs that start a\n"
		"                           goroutine per request)\n"
		"      --fds MODE           on (the default): open descriptors by\n"
		"                           the stack that opened them (files,\n"
		"                           sockets, pipes...), from the syscalls\n"
		"                           that make and close them; off: not\n"
		"      --sample BYTES       sample the C heap: on average one sample per\n"
		"                           BYTES allocated (suffixes k, m, g: KiB, MiB,\n"
		"                           GiB), a Poisson process over bytes; bytes\n"
		"                           and counts shown are estimates (~). Calls\n"
		"                           not sampled skip their return probe\n"
		"                           (Linux 6.13+). Default 0: every call\n"
		"      --max-allocs N       live allocations tracked at most (default\n"
		"                           1048576; more are counted as\n"
		"                           alloc_map_full)\n"
		"      --max-sites N        distinct stacks kept at most (default\n"
		"                           65536; more are counted as site_map_full)\n"
		"  -v, --verbose            say what is attached where (and, at the\n"
		"                           end, the BPF programs' run time)\n"
		"  -h, --help               this text\n"
		"      --version            print the version\n"
		"\n"
		"%s%s"
		"\n"
		"Exit codes: 0 ok (also when the target exits), 1 runtime error,\n"
		"2 usage, 3 permission (needs root, or CAP_BPF and CAP_PERFMON, and\n"
		"CAP_SYS_PTRACE for -p and the whole system),\n"
		"4 unsupported kernel or system (no sysfs, BTF, uprobes or\n"
		"bpf_find_vma; lockdown), 5 target (or --cgroup) not found,\n"
		"6 target unusable (binary unreadable, no allocator found).\n",
		TREND_RULE_HELP, TREND_LIMITS_HELP);
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 1e7)
		return false;
	*out = v;
	return true;
}

static bool parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* BYTES, with an optional k, m or g (KiB, MiB, GiB); 0 turns it off. */
static bool parse_bytes(const char *s, unsigned long long max,
			unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1ull << 10;
		break;
	case 'm':
	case 'M':
		mul = 1ull << 20;
		break;
	case 'g':
	case 'G':
		mul = 1ull << 30;
		break;
	case 0:
		break;
	default:
		return false;
	}
	if (*end && end[1])
		return false;
	if (v > max / mul)
		return false;
	*out = v * mul;
	return true;
}

static enum lw_parse bad_value(const char *flag, const char *val)
{
	fprintf(stderr, "leakwatch: invalid value for %s: '%s'\n", flag, val);
	fprintf(stderr, "Try 'leakwatch --help'.\n");
	return LW_PARSE_EXIT_USAGE;
}

static enum lw_parse usage_error(const char *msg)
{
	fprintf(stderr, "leakwatch: %s\nTry 'leakwatch --help'.\n", msg);
	return LW_PARSE_EXIT_USAGE;
}

enum {
	OPT_JSON = 256,
	OPT_VERSION,
	OPT_FLOOR,
	OPT_TOP,
	OPT_FOLDED,
	OPT_FOLDED_VALUE,
	OPT_PPROF,
	OPT_PPROF_DIR,
	OPT_PPROF_KEEP,
	OPT_UNWIND,
	OPT_MAX_ALLOCS,
	OPT_MAX_SITES,
	OPT_COMM,
	OPT_CGROUP,
	OPT_ZOOM,
	OPT_KERNEL,
	OPT_GO_HEAP,
	OPT_GOROUTINES,
	OPT_FDS,
	OPT_SAMPLE,
	OPT_PROMETHEUS,
	OPT_PROMETHEUS_SITES,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "interval", required_argument, NULL, 'i' },
	{ "duration", required_argument, NULL, 'd' },
	{ "top", optional_argument, NULL, OPT_TOP },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "folded", required_argument, NULL, OPT_FOLDED },
	{ "folded-value", required_argument, NULL, OPT_FOLDED_VALUE },
	{ "pprof", required_argument, NULL, OPT_PPROF },
	{ "pprof-dir", required_argument, NULL, OPT_PPROF_DIR },
	{ "pprof-keep", required_argument, NULL, OPT_PPROF_KEEP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "floor", optional_argument, NULL, OPT_FLOOR },
	{ "unwind", required_argument, NULL, OPT_UNWIND },
	{ "max-allocs", required_argument, NULL, OPT_MAX_ALLOCS },
	{ "max-sites", required_argument, NULL, OPT_MAX_SITES },
	{ "all", no_argument, NULL, 'a' },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "zoom", required_argument, NULL, OPT_ZOOM },
	{ "kernel", no_argument, NULL, OPT_KERNEL },
	{ "go-heap", required_argument, NULL, OPT_GO_HEAP },
	{ "goroutines", required_argument, NULL, OPT_GOROUTINES },
	{ "fds", required_argument, NULL, OPT_FDS },
	{ "sample", required_argument, NULL, OPT_SAMPLE },
	{ "prometheus", required_argument, NULL, OPT_PROMETHEUS },
	{ "prometheus-sites", required_argument, NULL, OPT_PROMETHEUS_SITES },
	{},
};

static enum lw_parse parse_top_count(const char *s, struct lw_opts *o)
{
	long v;

	if (!parse_int(s, 1, 100000, &v))
		return bad_value("--top", s);
	o->top = v;
	return LW_PARSE_RUN;
}

/*
 * "--top N" (sites per report) is older than the live view: "--top" alone,
 * not followed by a number, asks for the view instead.
 */
static enum lw_parse parse_top(int argc, char **argv, struct lw_opts *o)
{
	const char *next = optind < argc ? argv[optind] : NULL;

	if (optarg)
		return parse_top_count(optarg, o);
	if (next && next[0] >= '0' && next[0] <= '9') {
		optind++;
		return parse_top_count(next, o);
	}
	o->live = true;
	return LW_PARSE_RUN;
}

static enum lw_parse parse_folded_value(const char *s, struct lw_opts *o)
{
	if (!strcmp(s, "bytes"))
		o->folded_value = LW_FOLDED_BYTES;
	else if (!strcmp(s, "count"))
		o->folded_value = LW_FOLDED_COUNT;
	else if (!strcmp(s, "growth"))
		o->folded_value = LW_FOLDED_GROWTH;
	else
		return bad_value("--folded-value (bytes, count, growth)", s);
	return LW_PARSE_RUN;
}

static enum lw_parse add_comm(struct lw_opts *o, const char *name)
{
	size_t n = 0;
	char **v;

	if (!*name)
		return bad_value("--comm", name);
	while (o->comm && o->comm[n])
		n++;
	v = realloc(o->comm, (n + 2) * sizeof(*v));
	if (!v)
		return usage_error("out of memory");
	v[n] = (char *)name;
	v[n + 1] = NULL;
	o->comm = v;
	return LW_PARSE_RUN;
}

static enum lw_parse parse_one(int c, struct lw_opts *o)
{
	long v;

	switch (c) {
	case 'p':
		if (!parse_int(optarg, 1, INT_MAX, &v))
			return bad_value("--pid", optarg);
		o->pid = v;
		return LW_PARSE_RUN;
	case 'i':
		if (!parse_seconds(optarg, &o->interval) || o->interval < 0.1)
			return bad_value("--interval (>= 0.1)", optarg);
		o->interval_set = true;
		return LW_PARSE_RUN;
	case 'd':
		if (!parse_seconds(optarg, &o->duration))
			return bad_value("--duration", optarg);
		return LW_PARSE_RUN;
	case 'n':
		return parse_top_count(optarg, o);
	case OPT_JSON:
		o->json_path = optarg;
		return LW_PARSE_RUN;
	case OPT_FOLDED:
		o->folded_path = optarg;
		return LW_PARSE_RUN;
	case OPT_FOLDED_VALUE:
		return parse_folded_value(optarg, o);
	case OPT_PPROF:
		o->pprof_path = optarg;
		return LW_PARSE_RUN;
	case OPT_PPROF_DIR:
		if (!*optarg)
			return bad_value("--pprof-dir", optarg);
		o->pprof_dir = optarg;
		return LW_PARSE_RUN;
	case OPT_PPROF_KEEP:
		if (!parse_int(optarg, 0, LW_PPROF_KEEP_MAX, &v))
			return bad_value("--pprof-keep (0 to 1000000)", optarg);
		o->pprof_keep = v;
		return LW_PARSE_RUN;
	case OPT_FLOOR:
		if (!optarg || !strcmp(optarg, "own"))
			o->floor = LW_FLOOR_OWN;
		else if (!strcmp(optarg, "memleak"))
			o->floor = LW_FLOOR_MEMLEAK;
		else
			return bad_value("--floor", optarg);
		return LW_PARSE_RUN;
	case OPT_MAX_ALLOCS:
		if (!parse_int(optarg, 16, 1L << 26, &v))
			return bad_value("--max-allocs (16 to 67108864)",
					 optarg);
		o->max_allocs = v;
		return LW_PARSE_RUN;
	case OPT_MAX_SITES:
		if (!parse_int(optarg, 64, 1L << 24, &v))
			return bad_value("--max-sites (64 to 16777216)",
					 optarg);
		o->max_sites = v;
		return LW_PARSE_RUN;
	case 'a':
		o->all = true;
		return LW_PARSE_RUN;
	case OPT_COMM:
		return add_comm(o, optarg);
	case OPT_CGROUP:
		if (!*optarg)
			return bad_value("--cgroup", optarg);
		o->cgroup = optarg;
		return LW_PARSE_RUN;
	case OPT_ZOOM:
		if (!parse_int(optarg, 1, LW_MAX_TARGETS, &v))
			return bad_value("--zoom (1 to 1024)", optarg);
		o->zoom = v;
		return LW_PARSE_RUN;
	case OPT_KERNEL:
		o->kernel = true;
		return LW_PARSE_RUN;
	case OPT_GO_HEAP:
		if (!strcmp(optarg, "auto"))
			o->go_heap = -1;
		else if (!strcmp(optarg, "profile"))
			o->go_heap = LW_GOHEAP_PROFILE;
		else if (!strcmp(optarg, "sample"))
			o->go_heap = LW_GOHEAP_SAMPLE;
		else if (!strcmp(optarg, "off"))
			o->go_heap = LW_GOHEAP_OFF;
		else
			return bad_value(
				"--go-heap (auto, profile, sample, off)",
				optarg);
		return LW_PARSE_RUN;
	case OPT_GOROUTINES:
		if (strcmp(optarg, "probes") && strcmp(optarg, "scan"))
			return bad_value("--goroutines (probes, scan)", optarg);
		o->go_scan_only = !strcmp(optarg, "scan");
		return LW_PARSE_RUN;
	case OPT_FDS:
		if (strcmp(optarg, "on") && strcmp(optarg, "off"))
			return bad_value("--fds (on, off)", optarg);
		o->no_fds = !strcmp(optarg, "off");
		return LW_PARSE_RUN;
	case OPT_SAMPLE:
		if (!parse_bytes(optarg, LW_SAMPLE_MAX, &o->sample_bytes))
			return bad_value("--sample (bytes, 0 to 1g)", optarg);
		return LW_PARSE_RUN;
	case OPT_PROMETHEUS:
		if (!*optarg)
			return bad_value(
				"--prometheus (HOST:PORT, :PORT, [IPV6]:PORT)",
				optarg);
		o->prom_addr = optarg;
		return LW_PARSE_RUN;
	case OPT_PROMETHEUS_SITES:
		if (!parse_int(optarg, 0, 100000, &v))
			return bad_value("--prometheus-sites (0 to 100000)",
					 optarg);
		o->prom_sites = v;
		return LW_PARSE_RUN;
	case OPT_UNWIND:
		if (strcmp(optarg, "tables") && strcmp(optarg, "fp"))
			return bad_value("--unwind (tables, fp)", optarg);
		o->unwind_fp = !strcmp(optarg, "fp");
		return LW_PARSE_RUN;
	case 'v':
		lw_verbose = true;
		return LW_PARSE_RUN;
	case 'h':
		usage(stdout);
		return LW_PARSE_EXIT_OK;
	case OPT_VERSION:
		printf("leakwatch %s\n", LW_VERSION);
		return LW_PARSE_EXIT_OK;
	default: /* getopt printed what was wrong */
		fprintf(stderr, "Try 'leakwatch --help'.\n");
		return LW_PARSE_EXIT_USAGE;
	}
}

enum lw_parse lw_parse_options(int argc, char **argv, struct lw_opts *o)
{
	enum lw_parse r;
	int c;

	*o = (struct lw_opts){ .interval = 5,
			       .top = 10,
			       .max_allocs = LW_MAX_LIVE_ALLOCS,
			       .max_sites = LW_MAX_SITES,
			       .go_heap = -1,
			       .pprof_keep = -1,
			       .zoom = 4,
			       .prom_sites = LW_PROM_SITES };
	if (argc > 1 && !strcmp(argv[1], "top")) {
		o->live = true;
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	/* '+': options end at the command, whose own flags are its own */
	while ((c = getopt_long(argc, argv, "+p:i:d:n:avh", long_opts, NULL)) !=
	       -1) {
		r = c == OPT_TOP ? parse_top(argc, argv, o) : parse_one(c, o);
		if (r != LW_PARSE_RUN)
			return r;
	}
	if (optind < argc)
		o->cmd = &argv[optind];
	else if (optind > 1 && !strcmp(argv[optind - 1], "--"))
		return usage_error("-- without a command");
	if (o->pid && o->cmd)
		return usage_error("give either -p PID or a command, not both");
	if (o->all && (o->pid || o->cmd))
		return usage_error("-a is every process: not with -p PID or a "
				   "command");
	if ((o->comm || o->cgroup) && (o->pid || o->cmd))
		return usage_error("--comm and --cgroup choose among every "
				   "process: not with -p PID or a command");
	if (o->sample_bytes && o->floor)
		return usage_error("--floor runs empty programs: no --sample");
	if (o->kernel && (o->pid || o->cmd))
		return usage_error("--kernel is for the whole system (-a)");
	if (!o->pid && !o->cmd)
		o->all = true;
	if (o->live && !o->interval_set)
		o->interval = 2; /* a live view must move */
	if (o->live && o->json_path && !strcmp(o->json_path, "-"))
		return usage_error("the live view owns the terminal: "
				   "--json - cannot share it");
	if (o->pprof_path && !strcmp(o->pprof_path, "-"))
		return usage_error("--pprof needs a file: a profile is binary");
	if (o->pprof_keep >= 0 && !o->pprof_dir)
		return usage_error("--pprof-keep is for --pprof-dir DIR");
	if (o->pprof_keep < 0)
		o->pprof_keep = 0; /* keep all: nothing is removed unasked */
	if (o->folded_path && o->json_path && !strcmp(o->folded_path, "-") &&
	    !strcmp(o->json_path, "-"))
		return usage_error(
			"--json - and --folded - cannot share stdout");
	return LW_PARSE_RUN;
}
