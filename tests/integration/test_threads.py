"""Thread leaks in C and C++ programs: the creating site of threads that
never end is a suspect at the right function and line, with a live count
that matches /proc/PID/task; short-lived and pooled threads are not
suspects; the thread sites together count every thread /proc lists."""

import os
import resource

import lwlib
from lwlib import check, tmpdir

RATE = 20       # leaked threads per second
DURATION = 8    # at -i 0.5: 16 samples, the suspect rule needs 12


def thread_sites(rep):
    return [s for s in rep["sites"] if s["kind"] == "thread"]


def user_frame(site):
    """The first frame of the program's own code: std::thread's
    constructor is inlined from a system header above it."""
    for fr in site["stack"]:
        if not (fr.get("file") or "").startswith("/usr/"):
            return fr
    return {}


def watch(name):
    """Runs leakwatch on a fresh target; its report, live threads, target."""
    lwlib.require_leakwatch()
    lwlib.target(name)
    tgt = lwlib.start_target(name)
    check(lwlib.wait_for(lambda: "ready" in tgt.stdout, 5),
          "%s did not start:\n%s" % (name, tgt.describe()))
    out = os.path.join(tmpdir(), "report.json")
    lw = lwlib.run_leakwatch(["-i", "0.5", "-d", str(DURATION), "-n", "20",
                              "--json", out, "-p", str(tgt.pid)], DURATION + 30)
    live = len(os.listdir("/proc/%d/task" % tgt.pid))
    check(lw.popen.returncode == 0, "exit %d:\n%s" % (lw.popen.returncode,
                                                      lw.describe()))
    return lwlib.load_report(out, lw), live, tgt


def starts(site):
    return (site.get("start") or {}).get("symbol") or ""


def check_snapshots(sites, leak_site, before_starts):
    """Where threads are (the thread iterator, unwound by CFI): every
    thread of a site is somewhere; those alive at attach are told apart
    by what they run."""
    for s in sites:
        # a thread born between the iterator and /proc is not placed
        n = sum(b["count"] for b in s.get("blocked", []))
        check(s["count"] - 2 <= n <= s["count"],
              "%s: %d threads, %d placed by blocked[]: %s" %
              (lwlib.fmt_site(s), s["count"], n, s.get("blocked")))
    where = [f.get("symbol") for b in leak_site["blocked"]
             if b["reason"] == "sleeping" for f in b["stack"]]
    check("pause" in where, "the leaked threads are not seen asleep in "
          "pause(): %s" % leak_site["blocked"])
    before = [s for s in sites
              if s.get("label", "").startswith("[alive at attach]")]
    for want, least in before_starts:
        got = [s for s in before if want(starts(s))]
        check(got and got[0]["count"] >= least,
              "no site of %d+ threads alive at attach running the expected "
              "function: %s" % (least, [(starts(s), s["count"])
                                        for s in before]))


def check_leak(name, source, start_ok, before_starts):
    rep, live, tgt = watch(name)
    sites = thread_sites(rep)
    marks = lwlib.markers(source)
    leak = marks[("LEAK", "thread")]
    found = [s for s in sites if s["stack"] and
             user_frame(s).get("symbol") == leak.func and
             user_frame(s).get("line") == leak.line]
    check(found, "no thread site at %s:%d:%s" % (leak.func, leak.line,
                                                 lwlib.fmt_sites(sites)))
    s = found[0]
    check(s["suspect"], "the leaking site is no suspect: " + lwlib.fmt_site(s))
    check(abs(s["count_per_s"] - RATE) <= 0.2 * RATE,
          "grows %.1f threads/s, expected %d" % (s["count_per_s"], RATE))
    check(start_ok(starts(s)), "start routine %r" % s.get("start"))
    check_snapshots(sites, s, before_starts)
    # each thread's stack is one mapping of pthread's default size (the
    # stack rlimit) plus its guard page: not less than a page, not more
    soft = resource.getrlimit(resource.RLIMIT_STACK)[0]
    per = soft if 0 < soft < (1 << 40) else 8 << 20
    check(s["count"] * 4096 <= s["bytes"] <= s["count"] * (per + (1 << 20)),
          "%d bytes of stacks for %d threads (default stack %d)" %
          (s["bytes"], s["count"], per))
    for what in ("short", "pool"):
        m = marks[("NOLEAK", what)]
        bad = [x for x in sites if x["suspect"] and x["stack"] and
               user_frame(x).get("symbol") == m.func]
        check(not bad, "%s threads are a suspect: %s" %
              (what, lwlib.fmt_sites(bad)))
    # the pool, the main thread and the first leaks were there before attach
    before = [x for x in sites
              if x.get("label", "").startswith("[alive at attach]")]
    check(sum(x["count"] for x in before) >= 4 + 1 and
          not any(x["suspect"] for x in before),
          "threads alive at attach: %s" % before)
    total = sum(x["count"] for x in sites)
    # the program goes on leaking while /proc is read after the report
    check(0 <= live - total <= RATE // 2 + 3,
          "thread sites count %d threads, /proc/%d/task lists %d" %
          (total, tgt.pid, live))
    check(tgt.poll() is None, "the target died:\n" + tgt.describe())


def test_thread_leak():
    # the pool, the leaks before attach, and main
    check_leak("threads", "threads.c", lambda start: start == "block",
               [(lambda f: f == "block", 4 + 1), (lambda f: f == "main", 1)])


def test_thread_leak_cxx():
    """std::thread: libstdc++ calls pthread_create from a frame without a
    frame pointer; the site still names the user's line, and the start
    routine names the lambda the thread runs."""
    check_leak("threads-cxx", "threads_cxx.cc",
               lambda start: "leak_thread" in start and "lambda" in start,
               [(lambda f: "start_pool" in f, 4), (lambda f: f == "main", 1)])
