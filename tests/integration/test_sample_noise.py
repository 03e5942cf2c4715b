"""--sample: sampling noise alone never makes a leak suspect.

noisy holds a constant set of small blocks in six pools, each its own
site, and replaces random blocks slowly by blocks of the same size: the
true outstanding bytes of every site are flat, nothing leaks. Sampled at
a mean of 64 KiB each pool holds ~40..140 live samples whose number
drifts as sampled blocks die and new ones are drawn, so its estimate
wanders, and over a 30 s window it often rises as steadily as a leak:
without the noise floor (TREND_NOISE_SIGMAS 0 in user/trend.h) a pool
was a suspect in 5 of 20 runs. With it, none may be, in any of RUNS runs
of their own target (run CONCURRENT at a time to keep the test short;
the sessions do not share anything but the CPUs). The report gives no
verdict per site, so the summary line only estimates how close the
pools came: z from tau, growth from the fitted rate.
"""

import math
import os

import lwlib
from lwlib import check, tmpdir

RUNS = 20
CONCURRENT = 10
MEAN = 65536
# The trend window is the last 60 samples: the last 30 s of a 40 s run.
# noisy fills its pools at the start, which with ten sessions tracing
# ten targets takes seconds; a window that saw a pool half filled would
# see real growth, not noise.
INTERVAL = 0.5
DURATION = 40
# Mann-Kendall's z from tau (no ties), for the summary only
MIN_Z = 4.4
POOLS = ["held_%s" % c for c in "abcdef"]


def start_run(exe):
    out = os.path.join(tmpdir(), "report.json")
    env, pidfile = lwlib.pidfile_env()
    lw = lwlib.leakwatch(["--sample", str(MEAN), "-i", str(INTERVAL),
                          "-d", str(DURATION), "--json", out, "--", exe,
                          "-t", str(DURATION + 30)], env=env)
    return lw, out, pidfile


def z_of(tau, n):
    return tau * math.sqrt(9.0 * n * (n - 1) / (2 * (2 * n + 5)))


def sigmas(s):
    """A site's growth over the window (its fitted rate over the span) in
    sampling errors: what TREND_NOISE_SIGMAS is compared with."""
    growth = s["bytes_per_s"] * (s["samples"] - 1) * INTERVAL
    return growth / (MEAN * math.sqrt(max(s["live_samples"], 0) + 1))


def check_run(i, lw, out, pidfile, exe):
    lwlib.finish(lw, DURATION + 60)
    pid = lwlib.launched_pid(pidfile, exe, timeout=1)
    check(pid, "run %d: noisy never wrote its pid file:\n%s" %
          (i, lw.describe()))
    rep = lwlib.load_report(out, lw)
    lwlib.check_schema(rep, INTERVAL, DURATION)
    check(rep.get("sampled") is True and rep.get("sample_bytes") == MEAN,
          "run %d: sampled %r, sample_bytes %r" %
          (i, rep.get("sampled"), rep.get("sample_bytes")))
    check(rep["stats"].get("heap_samples", 0) > 0,
          "run %d: no heap samples: stats %r" % (i, rep["stats"]))
    heap = [s for s in rep["sites"] if s["kind"] == "heap"]
    # each pool's site, by its whole stack (a few samples whose stack was
    # cut short make a site of their own, judged as any other)
    mine = {}
    for s in heap:
        fns = [f.get("symbol") for f in s["stack"][:2]]
        if (fns[0] in POOLS and fns[1:] == ["pool_tick"] and
                lwlib.frame_file(lwlib.frame0(s)) == "noisy.c"):
            mine[fns[0]] = s
    missing = [fn for fn in POOLS if fn not in mine]
    check(not missing, "run %d: no site for %s among:%s" %
          (i, missing, lwlib.fmt_sites(heap)))
    unsampled = [s for s in mine.values() if s.get("sampled") is not True or
                 not isinstance(s.get("live_samples"), int)]
    check(not unsampled, "run %d: sites not marked sampled:%s" %
          (i, lwlib.fmt_sites(unsampled)))
    few = [fn for fn in POOLS if mine[fn]["samples"] < 12]
    check(not few, "run %d: %s judged on fewer than 12 samples" % (i, few))
    return rep, heap, mine


def test_sample_noise_no_suspect():
    lwlib.require_leakwatch()
    exe = lwlib.target("noisy")
    reports, suspects = [], []
    for first in range(0, RUNS, CONCURRENT):
        batch = [start_run(exe) for _ in range(min(CONCURRENT, RUNS - first))]
        for j, (lw, out, pidfile) in enumerate(batch):
            reports.append(check_run(first + j, lw, out, pidfile, exe))
        lwlib.cleanup_procs()
    # what the rule saw, for the log: the pools' live samples, and how many
    # rose significantly (z >= 4.4 from tau), i.e. were stopped by the
    # noise floor or by the pace/giveback checks, not by z
    rising, worst = 0, 0.0
    live = [s["live_samples"] for _, _, mine in reports
            for fn, s in mine.items() if fn in POOLS]
    for i, (rep, heap, mine) in enumerate(reports):
        for s in heap:
            if s["suspect"]:
                suspects.append("run %d: %s" % (i, lwlib.fmt_site(s)))
        for fn in POOLS:
            s = mine[fn]
            if s["bytes_per_s"] > 0 and z_of(s["tau"], s["samples"]) >= MIN_Z:
                rising += 1
                worst = max(worst, sigmas(s))
    print("%d runs, %d pool sites (live samples %d..%d), %d of them rising "
          "with z >= %.1f, by at most %.1f x mean x sqrt(live samples + 1) "
          "(the floor: 5); %d suspects" %
          (len(reports), len(live), min(live), max(live), rising, MIN_Z,
           worst, len(suspects)))
    check(not suspects, "%d heap sites of %d noise-only runs are suspects "
          "(nothing leaks: sampling noise passed for growth):\n  %s" %
          (len(suspects), RUNS, "\n  ".join(suspects)))
