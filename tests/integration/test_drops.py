"""Losses are shown, not only counted.

With the live-allocation map made small (--max-allocs), leaky's leaks
overflow it: the JSON's drops.alloc_map_full counts them, and the text
report's drops line and the pprof profile's comments name them, with
their count. Bad sizes are refused.
"""

import gzip
import os
import re

import lwlib
from lwlib import check, tmpdir

SMALL = 64


def test_map_full_is_shown():
    lwlib.require_leakwatch()
    exe = lwlib.target("leaky")
    d = tmpdir()
    js, pp = os.path.join(d, "r.json"), os.path.join(d, "r.pb.gz")
    # launched, leaky outlives leakwatch: known to the cleanup by its pid
    env, pidfile = lwlib.pidfile_env()
    p = lwlib.run_leakwatch(["--max-allocs", str(SMALL), "-i", "1", "-d", "4", "--json", js,
                             "--pprof", pp, "--", exe, "-q", "-t", "30"], 40, env=env)
    lwlib.launched_pid(pidfile, exe, timeout=1)
    check(p.popen.returncode == 0, "leakwatch exited %s:\n%s" % (p.popen.returncode, p.describe()))
    rep = lwlib.load_report(js, p)
    lwlib.check_schema(rep)
    full = rep["drops"]["alloc_map_full"]
    check(full > 0, "alloc_map_full is %d with a %d-entry map: %s" % (full, SMALL, rep["drops"]))
    # outstanding blocks are bounded by the map: the rest was not tracked
    live = sum(s["count"] for s in rep["sites"] if s["kind"] == "heap" and s.get("source") == "malloc")
    check(live <= SMALL, "%d malloc blocks tracked in a %d-entry map" % (live, SMALL))
    lines = re.findall(r"^drops:.*$", p.stdout, re.M)
    check(lines, "no drops line in the text report:\n" + lwlib.tail(p.stdout, 20))
    m = re.search(r"alloc_map_full=(\d+)", lines[-1])
    check(m and int(m.group(1)) == full,
          "final drops line %r, JSON says alloc_map_full=%d" % (lines[-1], full))
    with gzip.open(pp) as f:
        raw = f.read()
    check(b"alloc_map_full=%d" % full in raw,
          "the pprof profile's comments do not say alloc_map_full=%d" % full)


def test_max_allocs_bad_values():
    lwlib.require_leakwatch()
    for bad in ("3", "x", "-5", "99999999999"):
        p = lwlib.run_leakwatch(["--max-allocs", bad, "--", "/bin/true"], 15)
        check(p.popen.returncode == 2 and "max-allocs" in p.stderr,
              "--max-allocs %s: exit %s, %r" % (bad, p.popen.returncode, p.stderr[-200:]))
