"""Goroutine leaks in real Go programs built by the suite (goleak.go), with
the Go toolchains Debian ships (1.19) and backports (1.23): each leaking
`go` statement is a suspect creation site at the right function and line,
its live count matches the program's own count, it waits for the right
reason; no fixed twin is a suspect; goroutines born before attach are
counted; the target never crashes; a stripped build symbolizes."""

import os
import re
import shutil
import time

import lwlib
from lwlib import Skip, check, tmpdir

TOOLCHAINS = {"1.19": "/usr/lib/go-1.19/bin/go",
              "1.23": "/usr/lib/go-1.23/bin/go"}
RATE = 10        # goroutines per second per pattern
BEFORE = 2.0     # seconds the program runs before leakwatch attaches
INTERVAL = 0.5
DURATION = 8     # 16 samples: the suspect rule needs 12

# What each leak pattern waits on, by Go version.
REASONS = {"chan-range": {"chan receive"},
           "select": {"select"},
           "chan-send": {"chan send"},
           "ticker": {"chan receive"},
           "waitgroup": {"semacquire", "sync.WaitGroup.Wait"}}


def build_go(version, stripped=False):
    """goleak built by one toolchain, cached per (version, stripped)."""
    return lwlib.build_go(["goleak.go"], version, stripped)


def markers():
    """{name: (kind, function, line)} from the // LEAK: and // FIXED:
    comments on goleak.go's go statements."""
    out, func = {}, None
    with open(lwlib.source("goleak.go")) as f:
        for no, text in enumerate(f, 1):
            m = re.match(r"func (\w+)\(", text)
            if m:
                func = "main." + m.group(1)
            m = re.search(r"// (LEAK|FIXED):([\w-]+)", text)
            if m:
                out[(m.group(1), m.group(2))] = (func, no)
    return out


def program_leaked(proc):
    """The last 'leaked N' the program printed: goroutines per pattern."""
    found = re.findall(r"leaked (\d+)", proc.stdout)
    return int(found[-1]) if found else None


def site_at(rep, func, line):
    return [s for s in rep["sites"] if s["kind"] == "goroutine" and s["stack"]
            and s["stack"][0].get("symbol") == func
            and s["stack"][0].get("line") == line]


def run(version, stripped=False, attach=True, extra=()):
    lwlib.require_leakwatch()
    exe = build_go(version, stripped)
    out = os.path.join(tmpdir(), "report.json")
    args = ["-i", str(INTERVAL), "-d", str(DURATION), "-n", "30", "--json",
            out] + list(extra)
    if attach:
        tgt = lwlib.spawn([exe, "-rate", str(RATE)])
        check(lwlib.wait_for(lambda: "ready" in tgt.stdout, 10),
              "goleak did not start:\n" + tgt.describe())
        time.sleep(BEFORE)
        lw = lwlib.run_leakwatch(args + ["-p", str(tgt.pid)], DURATION + 30)
    else:
        # it outlives leakwatch: let it end by itself, and kill it anyway
        tgt = None
        lw = lwlib.run_leakwatch(args + ["--", exe, "-rate", str(RATE),
                                         "-t", str(DURATION + 5)],
                                 DURATION + 30)
    check(lw.popen.returncode == 0, "exit %d:\n%s" % (lw.popen.returncode,
                                                      lw.describe()))
    rep = lwlib.load_report(out, lw)
    if not attach:
        lwlib.PidProc(rep["target"]["pid"], exe)
    return rep, lw, tgt


def check_leaks(rep, lw, tgt, version, reasons=True):
    marks = markers()
    # a launched program writes to leakwatch's stdout
    leaked = program_leaked(tgt or lw)
    # the program prints its count every second: none is a broken run
    check(leaked is not None, "Go %s: the program printed no 'leaked N' line:\n%s" %
          (version, (tgt or lw).describe()))
    for (kind, name), (func, line) in sorted(marks.items()):
        found = site_at(rep, func, line)
        if kind == "FIXED":
            bad = [s for s in found if s["suspect"]]
            check(not bad, "Go %s: fixed twin %s is a suspect: %s" %
                  (version, name, lwlib.fmt_sites(bad)))
            continue
        check(found, "Go %s: no goroutine site at %s line %d for %s:%s" %
              (version, func, line, name, lwlib.fmt_sites(
                  [s for s in rep["sites"] if s["kind"] == "goroutine"], 20)))
        s = max(found, key=lambda s: s["count"])
        check(s["suspect"], "Go %s: %s is not a suspect: %s" %
              (version, name, lwlib.fmt_site(s)))
        rate = s["count_per_s"]
        check(abs(rate - RATE) <= 0.2 * RATE,
              "Go %s: %s grows %.1f/s, expected %d/s" % (version, name, rate, RATE))
        # the program's count is printed once a second: allow a second
        check(abs(s["count"] - leaked) <= RATE + 3,
              "Go %s: %s has %d live goroutines, the program left %d" %
              (version, name, s["count"], leaked))
        if reasons:
            got = {b["reason"] for b in s.get("blocked", [])}
            check(got & REASONS[name], "Go %s: %s blocked on %s, expected %s" %
                  (version, name, sorted(got), sorted(REASONS[name])))
            check(s.get("start") and s["start"].get("symbol", "").startswith(func),
                  "Go %s: %s starts %r" % (version, name, s.get("start")))


def check_threads(rep, version, launched):
    """The runtime's own threads: counted under their creation sites,
    never suspects, all of /proc/PID/task (read now: a few may come or
    go while the report is written)."""
    pid = rep["target"]["pid"]
    sites = [s for s in rep["sites"] if s["kind"] == "thread"]
    live = len(os.listdir("/proc/%d/task" % pid))
    total = sum(s["count"] for s in sites)
    check(abs(live - total) <= 2, "Go %s: thread sites count %d, /proc/%d/task "
          "lists %d:%s" % (version, total, pid, live, lwlib.fmt_sites(sites)))
    bad = [s for s in sites if s["suspect"]]
    check(not bad, "Go %s: runtime threads are suspects:%s" %
          (version, lwlib.fmt_sites(bad)))
    if not launched:
        return
    # traced from exec: only the main thread predates the probes
    made = [s for s in sites if any((f.get("symbol") or "").startswith(
        "runtime.newm") for f in s["stack"])]
    check(made, "Go %s: no thread site created by runtime.newm:%s" %
          (version, lwlib.fmt_sites(sites)))
    before = sum(s["count"] for s in sites if s not in made)
    check(before <= 1, "Go %s: %d threads not created by the runtime:%s" %
          (version, before, lwlib.fmt_sites(sites)))


def check_alive(tgt):
    before = tgt.stdout.count("leaked")
    time.sleep(1.5)
    check(tgt.poll() is None, "goleak died under leakwatch:\n" + tgt.describe())
    check(tgt.stdout.count("leaked") > before,
          "goleak stopped reporting after leakwatch detached")
    check("fatal error" not in tgt.stderr and "panic" not in tgt.stderr,
          "goleak crashed:\n" + tgt.describe())


def attach_test(version):
    rep, lw, tgt = run(version)
    check_leaks(rep, lw, tgt, version)
    check_threads(rep, version, False)
    # born before attach: more than the rate times what leakwatch watched
    marks = markers()
    func, line = marks[("LEAK", "chan-range")]
    s = max(site_at(rep, func, line), key=lambda s: s["count"])
    check(s["count"] >= RATE * (DURATION + BEFORE) - RATE,
          "Go %s: %d live goroutines, too few to include those born "
          "before attach" % (version, s["count"]))
    check_alive(tgt)


def test_goroutine_leaks_go119():
    attach_test("1.19")


def test_goroutine_leaks_go123():
    attach_test("1.23")


def test_goroutine_leaks_stripped_launch():
    """-ldflags='-s -w': no symbols, no DWARF. .gopclntab still names the
    sites, runtime.allgs is found through runtime.allgadd's code, and the
    wait reasons come from the version table."""
    rep, lw, _ = run("1.23", stripped=True, attach=False)
    check_leaks(rep, lw, None, "1.23 stripped")
    check_threads(rep, "1.23 stripped", True)
    check("goroutine list" not in lw.stderr,
          "the runtime's goroutine list was not read:\n" + lw.describe())


def test_goroutine_leaks_scan_only():
    """--goroutines scan: no probe on goroutine births and deaths (the
    runtime's list alone): the same leaks at their go statements, with
    their counts, reasons and start functions."""
    rep, lw, tgt = run("1.23", extra=["--goroutines", "scan"])
    check_leaks(rep, lw, tgt, "1.23 --goroutines scan")
    check(rep["totals"]["goroutines_created"] == 0,
          "goroutine probes ran under --goroutines scan: %s" % rep["totals"])
    check_alive(tgt)
