"""The target exits during the run: leakwatch says so, writes the final
report with "exited": true and exits 0, without waiting for -d."""

import json
import os
import re
import time

import lwlib
from lwlib import check, tmpdir

LIFETIME = 3  # seconds leaky runs
DURATION = 30  # far beyond it: leakwatch must notice the exit


def check_exit_report(lw, rc, started, out, pid, exe):
    took = time.monotonic() - started
    if rc is None:
        lw.kill()
        raise AssertionError("leakwatch still runs %.0f s after the target exited:\n%s" %
                             (took, lw.describe()))
    check(rc == 0, "exit status %d, expected 0:\n%s" % (rc, lw.describe()))
    text = lw.stdout + lw.stderr
    check(re.search(r"exit", text, re.I),
          "leakwatch does not say the target exited:\n" + lw.describe())
    rep = lwlib.load_report(out, lw)
    lwlib.check_schema(rep, 0.5)
    t = rep["target"]
    check(t["exited"] is True, "target.exited is %r" % t["exited"])
    check(t["pid"] == pid, "target.pid is %r, expected %d" % (t["pid"], pid))
    check(os.path.realpath(t["exe"]) == os.path.realpath(exe),
          "target.exe is %r, expected %s" % (t["exe"], exe))
    check(rep["duration_s"] < DURATION - 10,
          "duration_s is %r: the run should end with the target" % rep["duration_s"])
    # What leaked before the exit is still in the final report.
    check(lwlib.sites_in(rep, "leak_malloc", "leaky.c"),
          "final report lost the leak_malloc site:" + lwlib.fmt_sites(rep["sites"]))


def test_target_exit_launch():
    lwlib.require_leakwatch()
    exe = lwlib.target("leaky")
    out = os.path.join(tmpdir(), "report.json")
    env, pidfile = lwlib.pidfile_env()
    started = time.monotonic()
    lw = lwlib.leakwatch(["-i", "0.5", "-d", str(DURATION), "--json", out,
                          "--", exe, "-q", "-t", str(LIFETIME)], env=env)
    pid = lwlib.launched_pid(pidfile, exe)
    check(pid, "leaky never started under leakwatch:\n" + lw.describe())
    rc = lw.wait(LIFETIME + 12)
    check_exit_report(lw, rc, started, out, pid, exe)


def test_target_exit_attach():
    lwlib.require_leakwatch()
    exe = lwlib.target("leaky")
    out = os.path.join(tmpdir(), "report.json")
    tgt = lwlib.start_target("leaky", ["-q", "-t", str(LIFETIME + 1)])
    started = time.monotonic()
    lw = lwlib.leakwatch(["-i", "0.5", "-d", str(DURATION), "--json", out,
                          "-p", str(tgt.pid)])
    check(tgt.wait(LIFETIME + 5) == 0, "leaky -t did not exit by itself")
    rc = lw.wait(12)
    check_exit_report(lw, rc, started, out, tgt.pid, exe)


def test_json_to_stdout():
    """--json -: the final report is written to stdout and parses (after
    any text reports), with the target that exited."""
    lwlib.require_leakwatch()
    exe = lwlib.target("leaky")
    lw = lwlib.run_leakwatch(["-i", "0.5", "-d", "20", "--json", "-",
                              "--", exe, "-q", "-t", "2"], timeout=30)
    check(lw.popen.returncode == 0, "exit %d:\n%s" % (lw.popen.returncode, lw.describe()))
    out = lw.stdout
    start = re.search(r"^\{", out, re.M)
    check(start, "no JSON object on stdout:\n" + lwlib.tail(out))
    try:
        rep = json.loads(out[start.start():])
    except ValueError as e:
        raise AssertionError("JSON on stdout does not parse (%s):\n%s" %
                             (e, lwlib.tail(out[start.start():])))
    lwlib.check_schema(rep, 0.5)
    check(rep["target"]["exited"] is True, "target.exited is %r" % rep["target"]["exited"])


def test_exec_follows_new_image():
    """sh -c 'exec leaky': the shell's allocations die with its image; the
    report names leaky, its sites and only its sites."""
    lwlib.require_leakwatch()
    exe = lwlib.target("leaky")
    out = os.path.join(tmpdir(), "report.json")
    lw = lwlib.run_leakwatch(["-i", "0.5", "-d", "20", "--json", out, "--",
                              "sh", "-c", "exec %s -q -t 3" % exe], timeout=40)
    check(lw.popen.returncode == 0, "exit %d:\n%s" % (lw.popen.returncode, lw.describe()))
    rep = lwlib.load_report(out, lw)
    lwlib.check_schema(rep, 0.5)
    t = rep["target"]
    check(os.path.realpath(t["exe"]) == os.path.realpath(exe),
          "target.exe is %r after the exec, expected %s" % (t["exe"], exe))
    check(t["comm"] == "leaky", "target.comm is %r, expected leaky" % t["comm"])
    check(lwlib.sites_in(rep, "leak_malloc", "leaky.c"),
          "no leak_malloc site after the exec:" + lwlib.fmt_sites(rep["sites"]))
    # the shell's pcs mean nothing in leaky's address space: unresolved
    strays = [s for s in rep["sites"] if s["kind"] == "heap" and
              (not s["stack"] or not s["stack"][0].get("module") or
               s["stack"][0]["module"].endswith("/dash"))]
    check(not strays, "sites of the shell's image remain:" + lwlib.fmt_sites(strays))
