"""C++ heap leaks: every form of operator new (plain, array, nothrow,
aligned), a std::string's buffer (made inside libstdc++) and a strdup
(inside libc) are charged to the function that leaks, at its line, though
neither library keeps frame pointers; churning containers are not
suspects."""

import os
import time

import lwlib
from lwlib import check, tmpdir

RATE = 100  # of each leak, per second (cxxleak.cc)
SIZES = {"array": 1000, "object": 64, "nothrow": 400, "aligned": 256,
         "string": 301, "strdup": 40}
RUNTIMES = ("libc.so", "libstdc++.so")
DURATION = 8  # at -i 0.5: 16 samples, the suspect rule needs 12


def user_frame(site):
    """The first frame of the program's own code: templates inlined from
    system headers, and the C and C++ runtimes' frames, sit above it."""
    for fr in site["stack"]:
        module = os.path.basename(fr.get("module") or "")
        if not (fr.get("file") or "").startswith("/usr/") and \
                not module.startswith(RUNTIMES):
            return fr
    return {}


def run(launch):
    lwlib.require_leakwatch()
    exe = lwlib.target("cxxleak")
    out = os.path.join(tmpdir(), "report.json")
    args = ["-i", "0.5", "-d", str(DURATION), "-n", "20", "--json", out]
    if launch:
        # the libraries are mapped after exec: their rules must be live
        # before the first allocations
        env, pidfile = lwlib.pidfile_env()
        lw = lwlib.run_leakwatch(args + ["--", exe], DURATION + 30, env=env)
        lwlib.launched_pid(pidfile, exe)
        tgt = None
    else:
        tgt = lwlib.start_target("cxxleak")
        check(lwlib.wait_for(lambda: "ready" in tgt.stdout, 5),
              "cxxleak did not start:\n" + tgt.describe())
        time.sleep(0.3)
        lw = lwlib.run_leakwatch(args + ["-p", str(tgt.pid)], DURATION + 30)
    check(lw.popen.returncode == 0, "exit %d:\n%s" % (lw.popen.returncode,
                                                      lw.describe()))
    return lwlib.load_report(out, lw), tgt


def check_sites(rep, how):
    heap = [s for s in rep["sites"] if s["kind"] == "heap"]
    marks = lwlib.markers("cxxleak.cc")
    for name, size in sorted(SIZES.items()):
        m = marks[("LEAK", name)]
        found = [s for s in heap if s["stack"] and
                 user_frame(s).get("symbol") == m.func and
                 user_frame(s).get("line") == m.line]
        check(found, "%s, %s: no heap site at %s:%d:%s" %
              (how, name, m.func, m.line, lwlib.fmt_sites(heap)))
        # a new std::string is two blocks: the object, then its buffer
        s = min(found, key=lambda x: abs(x["bytes"] - x["count"] * size))
        top = lwlib.frame0(s).get("symbol") or ""
        check(not top.startswith("operator new") and
              top not in lwlib.ALLOCATOR_SYMBOLS,
              "%s, %s: the site starts in the allocator: %s" %
              (how, name, lwlib.fmt_site(s)))
        check(s["suspect"], "%s, %s is no suspect: %s" %
              (how, name, lwlib.fmt_site(s)))
        want = RATE * size
        check(abs(s["bytes_per_s"] - want) <= 0.2 * want,
              "%s, %s grows %.0f B/s, expected %d" %
              (how, name, s["bytes_per_s"], want))
        check(s["bytes"] == s["count"] * size,
              "%s, %s: %d bytes in %d blocks of %d" %
              (how, name, s["bytes"], s["count"], size))
    churn = marks[("NOLEAK", "churn")]
    bad = [s for s in heap if s["suspect"] and
           user_frame(s).get("symbol") == churn.func]
    check(not bad, "%s: churn is a suspect:%s" % (how, lwlib.fmt_sites(bad)))


def test_cxx_new_sites():
    rep, tgt = run(False)
    check_sites(rep, "attached")
    check(tgt.poll() is None, "cxxleak died:\n" + tgt.describe())


def test_cxx_new_sites_launched():
    rep, _ = run(True)
    check_sites(rep, "launched")
