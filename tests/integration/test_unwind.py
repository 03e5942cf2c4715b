"""Stacks through code without frame pointers, and no need of tracefs.

nofp is built -O2 -fomit-frame-pointer, as distributions build, with a
shared library of its own (libnofp) built the same way; nofp-fp is the
same program and library with frame pointers. Their leak sites must be
the same, each named by its function and line, each stack reaching main:
directly, through the library, from a frame that keeps rbp as its frame
pointer (CFA = rbp + 16), from a signal handler that interrupted ppoll,
and through a library dlopen'ed after attach. glibleak allocates through
Debian's libglib (no frame pointers). Churn beside the leaks is never a
suspect. Runs in a mount namespace without tracefs and debugfs find the
same leaks as runs with them, and a launched program's first allocations
are walked in full while another process keeps a core busy. Threads
mapping and unmapping beside the leaks (mapbusy) do not cut them short.
"""

import os
import subprocess
import time

import lwlib
from lwlib import check, markers, tmpdir

INTERVAL, DURATION = 1, 13  # the suspect rule needs 12 samples: one spare
RATE_TOLERANCE = 0.25

# marker -> (function, the frame below it, bytes/s); see nofp.c's table
NOFP_LEAKS = {
    "direct": ("leak_direct", "tick_leaks", 40000.0),
    "lib_copy": ("lib_copy", "lib_dup", 60000.0),
    "vla": ("leak_vla", "tick_leaks", 30000.0),
    "signal": ("leak_in_signal", "on_alarm", 20000.0),
}
NOFP_CHURN = {"churn", "lib_churn"}
PLUGIN_RATE = 2500 * 1000.0 / 50
PLUGIN_LATE = 2  # seconds: the dlopen comes a second in; one spare

def names(site):
    return [f.get("symbol") for f in site["stack"]]


def _run_report(name, args, mode, duration, env):
    lwlib.require_leakwatch()
    exe = lwlib.target(name)
    out = os.path.join(tmpdir(), "report.json")
    lw_args = ["-i", str(INTERVAL), "-d", str(duration), "-n", "30", "--json", out]
    if mode == "attach":
        tgt = lwlib.start_target(name, ["-q"] + list(args), env=env)
        time.sleep(0.5)
        lw = lwlib.run_leakwatch(lw_args + ["-p", str(tgt.pid)], duration + 30)
    else:
        e, pidfile = lwlib.pidfile_env()
        e.update(env or {})
        lw = lwlib.leakwatch(lw_args + ["--", exe, "-q"] + list(args), env=e)
        pid = lwlib.launched_pid(pidfile, exe)
        check(pid, "%s never started:\n%s" % (name, lw.describe()))
        rc = lw.wait(duration + 30)
        if rc is None:
            lw.kill()
            raise AssertionError("leakwatch still running:\n" + lw.describe())
    check(lw.poll() == 0, "leakwatch exited %s:\n%s" % (lw.poll(), lw.describe()))
    rep = lwlib.load_report(out, lw)
    lwlib.check_schema(rep, INTERVAL, duration)
    # its own target only: other runs go on beside it
    if mode == "attach":
        tgt.kill()
    else:
        lwlib.kill_pid(pid)
    return rep


# The runs the tests share, made side by side (each mostly waits out its
# duration): by name, and the tests each serves.
RUNS = lwlib.Prefetch("test_unwind", {
    "plugin": (lambda: lwlib.target("nofp"), lambda _: _run_report(
        "nofp", ["-P", plugin_path()], "launch", DURATION + PLUGIN_LATE,
        None)),
    "attach": (lambda: lwlib.target("nofp"),
               lambda _: _run_report("nofp", [], "attach", DURATION, None)),
    "fp": (lambda: lwlib.target("nofp-fp"),
           lambda _: _run_report("nofp-fp", [], "launch", DURATION, None)),
    "glib": (lambda: lwlib.target("glibleak"),
             lambda _: _run_report("glibleak", [], "launch", DURATION, None)),
}, workers=2, users={
    "plugin": ["test_nofp_launch", "test_nofp_same_as_frame_pointers",
               "test_signal_frame"],
    "attach": ["test_nofp_attach"],
    "fp": ["test_nofp_same_as_frame_pointers"],
    "glib": ["test_glib_sites"],
})


def leak_sites(rep, func, below):
    return [s for s in rep["sites"] if s["kind"] == "heap" and
            names(s)[:2] == [func, below]]


def check_nofp(rep, exe, line_tolerance=1, plugin=False):
    marks = dict(markers("nofp.c"))
    marks.update(markers("libnofp.c"))
    problems = []
    leaks = dict(NOFP_LEAKS)
    for name, (func, below, rate) in leaks.items():
        found = [s for s in leak_sites(rep, func, below)
                 if "leak_via_plugin" not in names(s)]
        line = marks[("LEAK", name)].line
        if len(found) != 1:
            problems.append("%s: %d sites %s <- %s, expected one" % (name, len(found), func, below))
            continue
        s = found[0]
        fr = lwlib.frame0(s)
        if not isinstance(fr.get("line"), int) or abs(fr["line"] - line) > line_tolerance:
            problems.append("%s: first frame at line %s, the call is at line %d" %
                            (name, fr.get("line"), line))
        if "main" not in names(s):
            problems.append("%s: stack does not reach main: %s" % (name, " <- ".join(map(str, names(s)))))
        if not s["suspect"]:
            problems.append("%s: not a suspect: %s" % (name, lwlib.fmt_site(s)))
        if abs(s["bytes_per_s"] - rate) > RATE_TOLERANCE * rate:
            problems.append("%s: %.0f B/s, leaks %.0f B/s" % (name, s["bytes_per_s"], rate))
    if plugin:
        found = [s for s in leak_sites(rep, "lib_copy", "lib_dup")
                 if "leak_via_plugin" in names(s)]
        full = [s for s in found if "main" in names(s)]
        if len(full) != 1 or not full[0]["suspect"]:
            problems.append("plugin: %d complete sites (suspect: %s)" %
                            (len(full), [s["suspect"] for s in full]))
        elif not str(full[0]["stack"][0].get("module")).endswith("libplugin.so"):
            problems.append("plugin: module %r" % full[0]["stack"][0].get("module"))
        elif abs(full[0]["bytes_per_s"] - PLUGIN_RATE) > RATE_TOLERANCE * PLUGIN_RATE:
            problems.append("plugin: %.0f B/s, leaks %.0f" % (full[0]["bytes_per_s"], PLUGIN_RATE))
    for s in rep["sites"]:
        if s["suspect"] and set(names(s)) & NOFP_CHURN:
            problems.append("churn flagged: %s" % lwlib.fmt_site(s))
        if s["suspect"] and s["kind"] == "heap" and "main" not in names(s):
            problems.append("a suspect whose stack ends short: %s" %
                            " <- ".join(map(str, names(s))))
    check(not problems, "\n".join(problems) + "\nsites:" + lwlib.fmt_sites(rep["sites"], 25))


def leak_stacks(rep):
    """Function names of every nofp leak site's stack, for comparing."""
    funcs = {f for f, _, _ in NOFP_LEAKS.values()}
    return sorted(tuple(names(s)) for s in rep["sites"]
                  if s["kind"] == "heap" and names(s) and names(s)[0] in funcs)


def plugin_path():
    return os.path.join(lwlib.target("nofp") + ".libs", "libplugin.so")


def plugin_report():
    """nofp -P: its plugin leaks from its dlopen a second in, so the run
    lasts PLUGIN_LATE longer for the plugin's site to have the samples
    (and the spare) the other sites have (seen: 11 samples, no suspect)."""
    return RUNS("plugin")


def test_nofp_launch():
    """Launched: every leak to its line and on to main, a dlopen'ed
    library's too; no stack cut short but the dlopen window's (counted)."""
    exe = lwlib.target("nofp")
    rep = plugin_report()
    check_nofp(rep, exe, plugin=True)
    drops = rep["drops"]
    # the plugin's first walks may come before its table: counted, and only
    # a handful of them (each walk that stops there is also truncated)
    check(drops["truncated_stacks"] == drops["unwind_no_table_frames"] <= 10,
          "truncated_stacks %d, unwind_no_table_frames %d: %s" %
          (drops["truncated_stacks"], drops["unwind_no_table_frames"], drops))


def test_nofp_attach():
    exe = lwlib.target("nofp")
    rep = RUNS("attach")
    check_nofp(rep, exe)
    check(rep["drops"]["truncated_stacks"] == 0 and
          rep["drops"]["unwind_no_table_frames"] == 0,
          "stacks cut short when attached: %s" % rep["drops"])


def test_nofp_same_as_frame_pointers():
    """The build without frame pointers has the sites of the build with."""
    rep = plugin_report()
    fp = RUNS("fp")
    check_nofp(fp, lwlib.target("nofp-fp"))
    # the plugin (and its dlopen window) is the launch run's own
    a = [n for n in leak_stacks(rep) if "leak_via_plugin" not in n and "main" in n]
    b = leak_stacks(fp)
    check(a == b, "sites differ:\nwithout frame pointers:\n  %s\nwith:\n  %s" %
          ("\n  ".join(map(str, a)), "\n  ".join(map(str, b))))


def test_signal_frame():
    """A leak in a signal handler: through glibc's trampoline into the
    interrupted ppoll and on to main."""
    rep = plugin_report()
    found = leak_sites(rep, "leak_in_signal", "on_alarm")
    check(found, "no leak_in_signal site:" + lwlib.fmt_sites(rep["sites"], 20))
    n = names(found[0])
    check(n[2:4] == ["__restore_rt", "ppoll"] and "wait_tick" in n and "main" in n,
          "signal stack is %s" % " <- ".join(map(str, n)))


def test_glib_sites():
    """Through Debian's libglib (no frame pointers): g_strdup_printf's
    block is charged to leak_strdup's line, and the stack reaches main."""
    rep = RUNS("glib")
    line = markers("glibleak.c")[("LEAK", "strdup")].line
    found = [s for s in rep["sites"] if "leak_strdup" in names(s)]
    check(len(found) == 1, "%d leak_strdup sites:%s" % (len(found), lwlib.fmt_sites(rep["sites"], 20)))
    s = found[0]
    n = names(s)
    at = n.index("leak_strdup")
    check("g_strdup_printf" in n[:at] and n[at + 1:at + 2] == ["main"],
          "stack is %s" % " <- ".join(map(str, n)))
    check(s["stack"][at].get("line") == line,
          "leak_strdup frame at line %s, the call is at %d" % (s["stack"][at].get("line"), line))
    check(s["suspect"], "leak_strdup not a suspect: %s" % lwlib.fmt_site(s))
    for s in rep["sites"]:
        check(not (s["suspect"] and "churn_table" in names(s)),
              "churn flagged: " + lwlib.fmt_site(s))


# ---------------------------------------------------------------------------
# Without tracefs

NS_SCRIPT = r"""
set -e
for fs in tracefs:/sys/kernel/tracing debugfs:/sys/kernel/debug; do
    t=${fs%%:*} d=${fs#*:}
    while grep -q " $d $t " /proc/self/mounts 2>/dev/null ||
          awk -v d="$d" '$5 == d' /proc/self/mountinfo | grep -q .; do
        umount -l "$d"
    done
    if [ "$MOUNT" = 1 ]; then mount -t "$t" "$t" "$d"; fi
done
echo "MOUNTS: $(awk '$9 == "tracefs" || $9 == "debugfs" {print $9}' /proc/self/mountinfo | sort -u | tr '\n' ' ')"
exec "$@"
"""


def ns_run(mount, exe, out):
    """leakwatch launching exe in a private mount namespace, with tracefs
    and debugfs mounted there or not."""
    env, pidfile = lwlib.pidfile_env()
    env["MOUNT"] = "1" if mount else "0"
    p = lwlib.spawn(["unshare", "-m", "--propagation", "private", "sh", "-c", NS_SCRIPT, "sh",
                     lwlib.LEAKWATCH, "-i", "1", "-d", "5", "--json", out, "--", exe, "-q"],
                    env=env)
    lwlib.launched_pid(pidfile, exe)
    rc = p.wait(40)
    if rc is None:
        p.kill()
        raise AssertionError("leakwatch in a namespace still running:\n" + p.describe())
    return p


def test_no_tracefs():
    lwlib.require_leakwatch()
    lwlib.require_tool("unshare")
    exe = lwlib.target("nofp")
    reps = {}
    for mount in (True, False):
        out = os.path.join(tmpdir(), "report.json")
        p = ns_run(mount, exe, out)
        want = "MOUNTS: debugfs tracefs " if mount else "MOUNTS: \n"
        check(want in p.stdout, "namespace not as meant (%r):\n%s" % (want, p.describe()))
        check(p.poll() == 0, "leakwatch exited %s %s tracefs:\n%s" %
              (p.poll(), "with" if mount else "without", p.describe()))
        reps[mount] = lwlib.load_report(out, p)
        lwlib.cleanup_procs()
    a, b = leak_stacks(reps[True]), leak_stacks(reps[False])
    check(len(a) == len(NOFP_LEAKS), "with tracefs: %d leak sites:\n  %s" % (len(a), a))
    check(a == b, "without tracefs the leaks differ:\nwith:\n  %s\nwithout:\n  %s" %
          ("\n  ".join(map(str, a)), "\n  ".join(map(str, b))))
    # the tracepoints work too: the launched program's main thread is seen
    threads = [s for s in reps[False]["sites"] if s["kind"] == "thread"]
    check(sum(s["count"] for s in threads) == 1, "thread sites without tracefs: %s" %
          lwlib.fmt_sites(threads))
    # and the syscall exit program: the loader's opens of the libraries
    fds = reps[False].get("fds") or {}
    check(reps[False]["totals"]["fds_opened"] > 0 and
          fds.get("tracked") == fds.get("open") is not None,
          "descriptors without tracefs: totals %s, fds %s" %
          (reps[False]["totals"], fds))


# ---------------------------------------------------------------------------
# No race with the launched program


def test_launch_with_busy_core():
    """With another process keeping a core busy, a launched program's first
    allocations are still walked through libc's frames: each leak is one
    site (leaky's first leak_malloc used to split into two)."""
    from test_leak_sites import _leak_run, check_leaky_report
    hog = subprocess.Popen(["sh", "-c", "end=$(( $(date +%s) + 40 )); "
                            "while [ $(date +%s) -lt $end ]; do :; done"])
    try:
        time.sleep(0.2)
        run = _leak_run("launch", "leaky-O2")
    finally:
        hog.kill()
        hog.wait()
    check_leaky_report(run, 1)
    drops = run["report"]["drops"]
    check(drops["truncated_stacks"] == 0 and drops["unwind_no_table_frames"] == 0,
          "stacks cut short: %s" % drops)


def test_walk_while_mapping():
    """Threads mapping and unmapping hold the mmap lock the walk's VMA
    lookup only try-locks: the leaks beside them are still walked to
    main (through the cache of lately found VMAs), heap and descriptors
    alike, and the busy lookups are counted."""
    lwlib.require_leakwatch()
    tgt = lwlib.start_target("mapbusy")
    out = os.path.join(tmpdir(), "report.json")
    lw = lwlib.run_leakwatch(["-i", "1", "-d", "6", "-n", "50", "--json", out,
                              "-p", str(tgt.pid)], 40)
    rep = lwlib.load_report(out, lw)
    lwlib.cleanup_procs()
    busy = rep["stats"]["vma_lookups_busy"]
    check(busy > 0, "no VMA lookup found the mmap lock busy: the test "
          "proved nothing (stats %s)" % rep["stats"])
    problems = []
    for kind, func in (("heap", "leak_block"), ("fd", "leak_socket")):
        sites = [s for s in rep["sites"] if s["kind"] == kind and
                 func in names(s)[:3]]
        whole = sum(s["count"] for s in sites if "main" in names(s))
        short = [s for s in sites if "main" not in names(s)]
        cut = sum(s["count"] for s in short)
        if whole < 100 or cut > 0.01 * (whole + cut):
            problems.append("%s: %d walked to main, %d cut short:%s" %
                            (func, whole, cut, lwlib.fmt_sites(short, 5)))
    check(not problems, "\n".join(problems) + "\n(%d busy lookups)" % busy +
          "\nsites:" + lwlib.fmt_sites(rep["sites"], 12))
