"""Exact accounting: outstanding bytes and counts per site, to the byte.

exact leaks a known number of blocks through every allocator entry point
(and a partially unmapped mapping), frees or fails everything else, writes
the expected table and sleeps. leakwatch traces it from its first
instruction (launch mode) and must report exactly the table.
"""

import os

import lwlib
from lwlib import ALLOCATOR_SYMBOLS, check, markers, read_text, tmpdir
from test_targets import parse_exact_table

DURATION = 5


def run_exact(variant, line_tolerance):
    lwlib.require_leakwatch()
    exe = lwlib.target(variant)
    d = tmpdir()
    out, table_path = os.path.join(d, "report.json"), os.path.join(d, "table")
    env, pidfile = lwlib.pidfile_env()
    lw = lwlib.run_leakwatch(["-i", "0.5", "-d", str(DURATION), "--json", out,
                              "--", exe, "-o", table_path],
                             timeout=DURATION + 20, env=env)
    pid = lwlib.launched_pid(pidfile, exe, timeout=0.1)
    table_text = read_text(table_path)
    check("READY" in table_text, "exact did not finish its work:\n%s" % lw.describe())
    check(lw.popen.returncode == 0, "leakwatch exited %d:\n%s" %
          (lw.popen.returncode, lw.describe()))
    rep = lwlib.load_report(out, lw)
    lwlib.check_schema(rep, 0.5, DURATION)
    check(rep["target"]["pid"] == pid, "target.pid %r, exact ran as %r" %
          (rep["target"]["pid"], pid))

    table = parse_exact_table(table_text)
    marks = markers("exact.c")
    leak_lines = {(m.func, m.line) for m in marks.values() if m.kind == "LEAK"}
    problems = []

    def at(func, line):
        return [s for s in lwlib.sites_in(rep, func, "exact.c")
                if isinstance(lwlib.frame0(s).get("line"), int) and
                abs(lwlib.frame0(s)["line"] - line) <= line_tolerance]

    for name, (func, kind, count, nbytes) in table.items():
        line = marks[("LEAK", name)].line
        found = at(func, line)
        got_bytes = sum(s["bytes"] for s in found)
        got_count = sum(s["count"] for s in found)
        if (got_bytes, got_count) != (nbytes, count):
            others = lwlib.sites_in(rep, func, "exact.c")
            problems.append("%s (exact.c:%d in %s): %d bytes in %d, expected %d in %d%s" %
                            (name, line, func, got_bytes, got_count, nbytes, count,
                             lwlib.fmt_sites(others) if others != found else ""))
        for s in found:
            # (mmap kinds: test_leak_sites.test_mmap_site_kind)
            if kind == "heap" and s["kind"] != "heap":
                problems.append("%s: kind %r for a heap allocation" % (name, s["kind"]))

    for m in marks.values():
        if m.kind != "NOLEAK":
            continue
        for s in at(m.func, m.line):
            if (m.func, lwlib.frame0(s)["line"]) in leak_lines:
                continue
            if s["bytes"] or s["count"]:
                problems.append("%s: freed/failed/file-backed, yet outstanding: %s" %
                                (m.name, lwlib.fmt_site(s)))

    for s in rep["sites"]:
        fr = lwlib.frame0(s)
        # ld.so's inline malloc/calloc wrappers (rtld-malloc.h) are callers.
        module = os.path.basename(fr.get("module") or "")
        if fr.get("symbol") in ALLOCATOR_SYMBOLS and module.startswith("libc.so"):
            problems.append("first frame is the allocator itself (nested call "
                            "counted?): %s" % lwlib.fmt_site(s))
        # heap books balance; thread counts come from /proc instead
        if s["kind"] == "heap" and s["allocs"] - s["frees"] != s["count"]:
            problems.append("allocs %d - frees %d != count %d: %s" %
                            (s["allocs"], s["frees"], s["count"], lwlib.fmt_site(s)))
        if s["bytes"] < 0 or s["count"] < 0:
            problems.append("negative outstanding: %s" % lwlib.fmt_site(s))
    # launched and followed from its first instruction: nothing lost, no
    # stack cut short. Only glibc's own per-thread blocks (a thread's
    # tcache is made inside malloc by _int_malloc, unprobed; two blocks
    # per thread that mallocs are freed through free at its exit) are
    # frees of blocks never seen allocated.
    for name, n in rep["drops"].items():
        if n and name not in ("unresolved_frames", "unmatched_frees"):
            problems.append("drops.%s is %d in an exact run" % (name, n))
    threads = rep["totals"]["threads_created"]
    if rep["drops"]["unmatched_frees"] > 2 * threads:
        problems.append("drops.unmatched_frees is %d with %d threads made" %
                        (rep["drops"]["unmatched_frees"], threads))
    check(not problems, "\n".join(problems) + "\ndrops: %s\nsites:%s" %
          (rep["drops"], lwlib.fmt_sites(rep["sites"], 40)))


def test_exact_accounting():
    run_exact("exact", 0)


def test_exact_accounting_O2():
    run_exact("exact-O2", 1)
