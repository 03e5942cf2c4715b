"""Leak sites of the leaky target: found, placed and measured right.

leaky leaks through every allocator family at a known rate among heavy
churn. Under `leakwatch -i 1 -d 13 --json`, every leak site must be a
suspect whose first frame is the leaking function at the marker line
(exact at -O1, where valgrind confirms the DWARF line of every call is
the marker line; +-1 at -O2 for code motion), with bytes_per_s within 20%
of the rate; no churn function may be the first frame of a suspect.
"""

import os
import re
import time

import lwlib
from lwlib import check, markers, tmpdir
from test_targets import leaky_event_bytes, leaky_table

INTERVAL, DURATION = 1, 13  # the suspect rule needs 12 samples: one spare
RATE_TOLERANCE = 0.20

_runs = {}


def leak_run(mode, variant="leaky"):
    """Run leakwatch on leaky once per (mode, variant); memoized so the text
    report test reuses the launch run. Returns a dict, or raises."""
    key = (mode, variant)
    if key in _runs:
        if isinstance(_runs[key], BaseException):
            raise _runs[key]
        return _runs[key]
    try:
        _runs[key] = _leak_run(mode, variant)
    except BaseException as e:
        _runs[key] = e
        raise
    return _runs[key]


def _leak_run(mode, variant):
    lwlib.require_leakwatch()
    exe = lwlib.target(variant)
    out = os.path.join(tmpdir(), "report.json")
    args = ["-i", str(INTERVAL), "-d", str(DURATION), "-n", "20", "--json", out]
    if mode == "attach":
        tgt = lwlib.start_target(variant, ["-q"])
        time.sleep(0.5)
        pid = tgt.pid
        lw = lwlib.leakwatch(args + ["-p", str(pid)])
    else:
        env, pidfile = lwlib.pidfile_env()
        lw = lwlib.leakwatch(args + ["--", exe, "-q"], env=env)
        pid = lwlib.launched_pid(pidfile, exe)
        check(pid, "leaky never started under leakwatch:\n" + lw.describe())
    # The periodic report, well before the final one.
    rc = lw.wait(DURATION * 0.6)
    periodic = lw.stdout
    check(rc is None, "leakwatch exited early (%s):\n%s" % (rc, lw.describe()))
    rc = lw.wait(DURATION + 20)
    if rc is None:
        lw.kill()
        raise AssertionError("leakwatch -d %d still running:\n%s" % (DURATION, lw.describe()))
    check(rc == 0, "leakwatch exited %d:\n%s" % (rc, lw.describe()))
    rep = lwlib.load_report(out, lw)
    run = {"report": rep, "pid": pid, "exe": exe, "periodic": periodic,
           "final": lw.stdout, "stderr": lw.stderr}
    # Kill the target now: the files of this run outlive this test (memo).
    lwlib.cleanup_procs()
    return run


def check_target(rep, pid, exe):
    t = rep["target"]
    check(t["pid"] == pid, "target.pid is %r, expected %d" % (t["pid"], pid))
    check(os.path.realpath(t["exe"]) == os.path.realpath(exe),
          "target.exe is %r, expected %s" % (t["exe"], exe))
    check(t["comm"] == os.path.basename(exe)[:15],
          "target.comm is %r, expected %r" % (t["comm"], os.path.basename(exe)[:15]))
    check(t["exited"] is False, "target.exited is %r, it still runs" % t["exited"])


# A single block grown by realloc is checked on its own (test_growing_block_
# is_suspect), so that one verdict does not mask all the others.
SEPARATE_SUSPECT = {"realloc_grow"}


def check_leaky_report(run, line_tolerance):
    rep, exe = run["report"], run["exe"]
    lwlib.check_schema(rep, INTERVAL, DURATION)
    check_target(rep, run["pid"], exe)
    table, churn = leaky_table()
    table_bytes = leaky_event_bytes()
    marks = markers("leaky.c")
    problems = []
    for name, (func, kind, rate) in table.items():
        line = marks[("LEAK", name)].line
        found = lwlib.sites_in(rep, func, "leaky.c")
        if not found:
            problems.append("%s: no site with first frame %s (leaky.c:%d)" % (name, func, line))
            continue
        for s in found:
            fr = lwlib.frame0(s)
            if not s["suspect"] and name not in SEPARATE_SUSPECT:
                problems.append("%s: site not suspect: %s" % (name, lwlib.fmt_site(s)))
            if not isinstance(fr.get("line"), int) or abs(fr["line"] - line) > line_tolerance:
                problems.append("%s: first frame at line %s, call is at leaky.c:%d" %
                                (name, fr.get("line"), line))
            # Innermost first: the leaking function's caller comes next.
            if len(s["stack"]) < 2 or s["stack"][1].get("symbol") != "main":
                problems.append("%s: stack[1] is not main: %s" % (name, lwlib.fmt_site(s)))
            if os.path.realpath(fr.get("module") or "") != os.path.realpath(exe):
                problems.append("%s: module is %r, expected %s" % (name, fr.get("module"), exe))
            if kind == "heap" and s["kind"] != "heap":
                problems.append("%s: kind %r for a heap allocation" % (name, s["kind"]))
        got = sum(s["bytes_per_s"] for s in found)
        if abs(got - rate) > RATE_TOLERANCE * rate:
            problems.append("%s: bytes_per_s %.1f, leaks %.1f B/s (+-%d%%)" %
                            (name, got, rate, RATE_TOLERANCE * 100))
        # One block per event, except for the one block grown in place.
        events = 0.0 if name == "realloc_grow" else rate / table_bytes[name]
        got = sum(s["count_per_s"] for s in found)
        if abs(got - events) > max(RATE_TOLERANCE * events, 0.5):
            problems.append("%s: count_per_s %.2f, leaks %.2f blocks/s" % (name, got, events))
        # Leaking since before the trace began: as old as the run (but the
        # block that realloc keeps moving is always young).
        for s in found if name != "realloc_grow" else []:
            if not 0.7 * rep["duration_s"] <= s["oldest_age_s"] <= rep["duration_s"] + 1:
                problems.append("%s: oldest_age_s %.1f in a %.1f s run" %
                                (name, s["oldest_age_s"], rep["duration_s"]))
    leak_funcs = {row[0] for row in table.values()}
    for s in rep["sites"]:
        fr = lwlib.frame0(s)
        if not s["suspect"]:
            continue
        if fr.get("symbol") in churn:
            problems.append("churn flagged: %s" % lwlib.fmt_site(s))
        elif (lwlib.frame_file(fr) in ("leaky.c", "churn.c") and
              fr.get("symbol") not in leak_funcs):
            problems.append("non-leak flagged: %s" % lwlib.fmt_site(s))
    check(not problems, "\n".join(problems) + "\nsites:" + lwlib.fmt_sites(rep["sites"], 25) +
          "\nleakwatch's stderr:\n" + lwlib.tail(run["stderr"], 10) +
          "\nits first report:\n" + "\n".join(run["periodic"].split("\n")[:6]))


def test_leak_sites_attach():
    run = leak_run("attach")
    check_leaky_report(run, 0)
    # churn frees blocks allocated before the attach: counted, not hidden
    drops = run["report"]["drops"]
    check(drops["unmatched_frees"] > 0,
          "attached to a running leaky, unmatched_frees is %d" % drops["unmatched_frees"])


def test_leak_sites_launch():
    check_leaky_report(leak_run("launch"), 0)


def test_leak_sites_launch_O2():
    check_leaky_report(leak_run("launch", "leaky-O2"), 1)


def test_text_report_names_leaks():
    """The periodic text report (stdout, ~7 s into the run) names every
    leaking function of leaky."""
    run = leak_run("launch")
    table, _ = leaky_table()
    text = run["periodic"]
    # whole names: leak_realloc must not be found inside leak_realloc_grow
    missing = [func for func, _, _ in table.values()
               if not re.search(r"\b%s\b" % re.escape(func), text)]
    where = ""
    if missing and all(f in run["stderr"] for f in missing):
        where = " (they are on stderr, not stdout)"
    check(not missing, "periodic report lacks %s%s:\n%s" %
          (", ".join(missing), where, lwlib.tail(text, 40)))
    # Ranked by growth: the two fastest leaks (160 and 80 KiB/s, twice the
    # next one) head the last periodic report.
    leak_funcs = {row[0] for row in table.values()}
    blocks = [b for b in report_blocks(text, leak_funcs) if len(b) >= len(leak_funcs) - 1]
    check(blocks, "no periodic report names the leaking functions together")
    check(blocks[-1][:2] == ["leak_mmap", "leak_pvalloc"],
          "periodic report ranks %s first, expected leak_mmap, leak_pvalloc" %
          ", ".join(blocks[-1][:3]))


def test_text_marks_suspects():
    """The final text report marks every leak SUSPECT, and no churn."""
    run = leak_run("launch")
    table, churn = leaky_table()
    text = run["final"]
    unmarked = [func for func, _, _ in table.values()
                if not re.search(r"SUSPECT +%s \(" % re.escape(func), text)]
    check(not unmarked, "final text report does not mark %s SUSPECT:\n%s" %
          (", ".join(unmarked), lwlib.tail(text, 60)))
    marked = [func for func in churn if re.search(r"SUSPECT +%s \(" % re.escape(func), text)]
    check(not marked, "churn marked SUSPECT: %s" % ", ".join(marked))


def test_growing_block_is_suspect():
    """One block that realloc grows by 20 KiB/s and never frees: its
    outstanding bytes keep growing, so the site is a suspect although its
    count stays 1."""
    run = leak_run("launch")
    found = lwlib.sites_in(run["report"], "leak_realloc_grow", "leaky.c")
    check(found, "no leak_realloc_grow site:" + lwlib.fmt_sites(run["report"]["sites"]))
    check(all(s["suspect"] for s in found),
          "growing block not suspect:" + lwlib.fmt_sites(found))


def test_mmap_site_source():
    """Anonymous mmap sites are heap sites whose source says mmap."""
    run = leak_run("launch")
    found = lwlib.sites_in(run["report"], "leak_mmap", "leaky.c")
    check(found, "no leak_mmap site:" + lwlib.fmt_sites(run["report"]["sites"]))
    for s in found:
        check(s["kind"] == "heap", "leak_mmap site has kind %r" % s["kind"])
        check(s.get("source") == "mmap",
              "leak_mmap site has source %r, not 'mmap'" % s.get("source"))
    mallocs = lwlib.sites_in(run["report"], "leak_malloc", "leaky.c")
    check(mallocs and all(s.get("source") == "malloc" for s in mallocs),
          "leak_malloc sites' source is not 'malloc': %r" %
          [s.get("source") for s in mallocs])


def test_top_n_limits_text_report():
    """--top 3 (the long form of -n, whose number may follow as its own
    word: "--top" alone asks for the live view): no periodic report block
    names more than 3 sites of leaky; the -n 20 run names all of leaky's
    leaking functions in one block."""
    lwlib.require_leakwatch()
    exe = lwlib.target("leaky")
    env, pidfile = lwlib.pidfile_env()
    lw = lwlib.run_leakwatch(["-i", "1", "-d", "4", "--top", "3", "--", exe,
                              "-q"], timeout=25, env=env)
    lwlib.launched_pid(pidfile, exe, timeout=0.1)
    check(lw.popen.returncode == 0, "exit %d:\n%s" % (lw.popen.returncode, lw.describe()))
    table, churn = leaky_table()
    names = {row[0] for row in table.values()} | set(churn)
    blocks = report_blocks(lw.stdout, names)
    check(blocks, "no report names any site of leaky:\n" + lwlib.tail(lw.stdout, 30))
    worst = max(blocks, key=len)
    check(len(worst) <= 3, "-n 3, yet a report shows %d sites: %s" %
          (len(worst), ", ".join(worst)))
    full = report_blocks(leak_run("launch")["periodic"], names)
    leak_funcs = {row[0] for row in table.values()}
    check(any(leak_funcs <= set(b) for b in full),
          "-n 20: no report block names all %d leaking functions" % len(leak_funcs))


def report_blocks(text, names):
    """For each blank-line separated block of text, the known function
    names that start a site (a line without a caller arrow "<-")."""
    blocks = []
    for block in re.split(r"\n\s*\n", text):
        shown = []
        for line in block.splitlines():
            if "<-" in line:
                continue
            shown += [n for n in re.findall(r"\b\w+\b", line) if n in names]
        if shown:
            blocks.append(shown)
    return blocks


def test_launched_main_thread_runs_main():
    """Launched, the program's one thread predates the probes: it counts
    at a site of its name that says it runs main, unwound from a stack
    taken asleep, with libc's symbols known from the first report on."""
    rep = leak_run("launch")["report"]
    threads = [s for s in rep["sites"] if s["kind"] == "thread"]
    check(len(threads) == 1 and threads[0]["count"] == 1,
          "thread sites of a one-thread program:%s" % lwlib.fmt_sites(threads))
    s = threads[0]
    check(s.get("label", "").startswith("[alive at attach]") and
          (s.get("start") or {}).get("symbol") == "main",
          "the main thread's site: label %r, start %r" %
          (s.get("label"), s.get("start")))
    # a thread on a CPU when the report is taken has no stack to tell
    check(s["blocked"] and all(b["stack"] or b["reason"] == "running"
                               for b in s["blocked"]),
          "no stack of where the main thread is: %r" % s["blocked"])
