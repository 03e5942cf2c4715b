"""System-wide runs (-a, or no target): every process triaged at no cost
to it, the growing ones zoomed (traced in depth) automatically and their
leak sites found; churn and steady processes never suspects and never
patched; processes started later appear, exited ones are reported once;
--comm and --cgroup restrict the run; no probe is left afterwards.

Other processes of the machine run too: the checks are about the ones
the test starts, and leave the rest alone (a run may zoom one of them if
it really grows)."""

import os
import re
import shutil
import subprocess
import time

import lwlib
from lwlib import Attachments, Skip, check, tmpdir

INTERVAL = 0.5
GO = ("/usr/lib/go-1.23/bin/go", "/usr/lib/go-1.19/bin/go")


def build_go(name):
    """tests/targets/NAME.go built by the newest Debian Go there is."""
    go = next((g for g in GO if os.access(g, os.X_OK)), None)
    if not go:
        raise Skip("no Go toolchain in %s" % ", ".join(GO))
    out = os.path.join(lwlib.build_dir(), "%s-sys" % name)
    if os.path.exists(out):
        return out
    cache = os.environ.get("LW_GOCACHE") or os.path.join(lwlib.build_dir(),
                                                         "gocache")
    env = dict(os.environ, HOME=lwlib.build_dir(), GOCACHE=cache,
               GO111MODULE="off", CGO_ENABLED="0")
    res = subprocess.run([go, "build", "-o", out + ".tmp",
                          lwlib.source(name + ".go")],
                         capture_output=True, text=True, env=env)
    check(res.returncode == 0, "building %s failed:\n%s" % (name, res.stderr))
    os.rename(out + ".tmp", out)
    return out


def start(exe, args=()):
    """A target started by the test (not by leakwatch): its Proc, once it
    wrote its pid file (C) or said "ready" (Go)."""
    pidfile = os.path.join(tmpdir(), "pid")
    p = lwlib.spawn([exe] + list(args), env={"LW_TEST_PIDFILE": pidfile})
    check(lwlib.wait_for(lambda: lwlib.read_text(pidfile).strip() or
                         "ready" in p.stdout, 10),
          "%s did not start:\n%s" % (exe, p.describe()))
    return p


def start_named(name, args=("-q",)):
    """leaky under a name of its own: --comm then finds it alone, whatever
    other leaky processes run."""
    exe = os.path.join(tmpdir(), name)
    shutil.copy(lwlib.target("leaky"), exe)
    return start(exe, args)


def processes(rep):
    check(isinstance(rep.get("processes"), list),
          "an -a report has no processes list: %r" % list(rep))
    return {p["pid"]: p for p in rep["processes"]}


def check_process_schema(rep):
    lwlib.check_schema(rep)
    check(rep["target"]["pid"] == 0, "target of -a is %r" % rep["target"])
    for p in rep["processes"]:
        for key, typ in (("pid", int), ("comm", str), ("exe", str),
                         ("cgroup", str), ("rss_bytes", int),
                         ("suspect", bool), ("zoomed", bool),
                         ("exited", bool), ("sites", list)):
            check(isinstance(p.get(key), typ),
                  "processes[pid %s].%s is %r" % (p.get("pid"), key, p.get(key)))
        for key in ("rss_bytes_per_s", "threads", "goroutines"):
            check(key in p, "processes[pid %d] lacks %s" % (p["pid"], key))
        # each traced process's sites are schema-1 sites
        lwlib.check_schema(dict(rep, sites=p["sites"]))
    # schema 1's own sites: every traced process's, with its pid
    pids = {p["pid"] for p in rep["processes"]}
    for s in rep["sites"]:
        check(s.get("pid") in pids, "a top-level site has pid %r" % s.get("pid"))


def leak_markers():
    return {m.func: m.line for (kind, _), m in lwlib.markers("leaky.c").items()
            if kind == "LEAK"}


def check_leak_found(proc, what):
    """leaky's leak sites: suspects at the right function and line."""
    marks = leak_markers()
    found = {}
    for s in proc["sites"]:
        fr = lwlib.frame0(s)
        if fr.get("symbol") in marks and lwlib.frame_file(fr) == "leaky.c":
            found.setdefault(fr["symbol"], []).append(s)
    suspects = [f for f, ss in found.items()
                if any(s["suspect"] and s["stack"][0].get("line") == marks[f]
                       for s in ss)]
    # the zoom came after the process had run a while: most, not all,
    # of its slower leaks have the samples the rule needs
    check(len(suspects) >= len(marks) // 2,
          "%s: only %d of %d leak sites are suspects at their line (%s):%s" %
          (what, len(suspects), len(marks), sorted(suspects),
           lwlib.fmt_sites(proc["sites"], 20)))
    for s in proc["sites"]:
        fr = lwlib.frame0(s)
        check(not (s["suspect"] and fr.get("symbol", "").startswith("churn")),
              "%s: churn flagged: %s" % (what, lwlib.fmt_site(s)))


def zoom_lines(text, pid):
    return [l for l in text.splitlines()
            if l.startswith("leakwatch: zoom pid %d " % pid)]


def test_system_wide():
    """Leaking and steady C and Go processes, one started later and one
    that exits mid-run: the leaking ones zoomed, their leaks found."""
    lwlib.require_leakwatch()
    lwlib.require_tool("bpftool")
    goleak, gosteady = build_go("goleak"), build_go("gosteady")
    # the steady ones first: a Go runtime's heap grows for its first
    # seconds (GC pacing, spans, the scavenger finding its level), a
    # warm-up that is not a leak; on a loaded machine it took more than
    # 4 s once (+28 KiB/s of anon memory, steady enough for the rule)
    steady = start(lwlib.target("steady"))
    gs = start(gosteady)
    time.sleep(8)
    leaky = start(lwlib.target("leaky"), ["-q"])
    gl = start(goleak, ["-rate", "20"])
    exiting = start(lwlib.target("leaky"), ["-q", "-t", "8"])
    baseline = lwlib.text_patches(steady.pid)
    out = os.path.join(tmpdir(), "rep.json")
    lw = lwlib.leakwatch(["-a", "-i", str(INTERVAL), "-d", "19", "--zoom", "8",
                          "--json", out])
    att = Attachments()
    time.sleep(2)
    late = start(lwlib.target("leaky"), ["-q"])
    # triage needs 12 samples, then the zoomed sites 12 more
    check(lwlib.wait_for(lambda: zoom_lines(lw.stdout, leaky.pid), 12),
          "leaky (pid %d) was not zoomed in 12 s:\n%s" %
          (leaky.pid, lwlib.tail(lw.stdout, 40)))
    att.collect(lw.pid)
    # a process not zoomed pays nothing per call: its text has no probe
    check(lwlib.text_patches(steady.pid) == baseline,
          "steady (not zoomed) has probes in its text")
    check(lwlib.text_patches(leaky.pid),
          "leaky is zoomed, yet no probe shows in its text")
    rc = lw.wait(30)
    check(rc == 0, "leakwatch -a exited %r:\n%s" % (rc, lw.describe()))
    rep = lwlib.load_report(out, lw)
    check_process_schema(rep)
    procs = processes(rep)
    text = lw.stdout

    p = procs.get(leaky.pid)
    check(p and p["suspect"] and p["zoomed"],
          "leaky is not a zoomed suspect: %r" %
          {k: v for k, v in (p or {}).items() if k != "sites"})
    check(p["rss_bytes_per_s"] > 100e3,
          "leaky's memory grows %.0f B/s (it leaks ~400 KB/s)" %
          p["rss_bytes_per_s"])
    check_leak_found(p, "leaky")
    check(len(zoom_lines(text, leaky.pid)) == 1,
          "leaky zoomed %d times:\n%s" % (len(zoom_lines(text, leaky.pid)),
                                          "\n".join(zoom_lines(text, leaky.pid))))
    check("suspect: memory" in zoom_lines(text, leaky.pid)[0],
          "the zoom line does not say why: %s" % zoom_lines(text, leaky.pid)[0])

    p = procs.get(gl.pid)
    check(p and p["suspect"] and p["zoomed"] and p["goroutines"] > 50,
          "goleak is not a zoomed suspect with its goroutines: %r" %
          {k: v for k, v in (p or {}).items() if k != "sites"})
    check(any(s["kind"] == "goroutine" and s["suspect"] for s in p["sites"]),
          "goleak has no suspect goroutine site:%s" % lwlib.fmt_sites(p["sites"]))

    for name, proc in (("steady", steady), ("gosteady", gs)):
        p = procs.get(proc.pid)
        check(p and not p["suspect"] and not p["zoomed"] and not p["sites"],
              "%s is a suspect or was zoomed: %r" %
              (name, {k: v for k, v in (p or {}).items() if k != "sites"}))
        check(not zoom_lines(text, proc.pid), "%s was zoomed" % name)
    check(procs[gs.pid]["goroutines"] is not None,
          "gosteady's goroutines were not counted")

    p = procs.get(late.pid)
    check(p and p["zoomed"], "the process started later was not zoomed: %r" %
          {k: v for k, v in (p or {}).items() if k != "sites"})

    exits = [l for l in text.splitlines()
             if re.match(r"leakwatch: pid %d \(leaky\) exited" % exiting.pid, l)]
    check(len(exits) == 1, "the exiting process was reported %d times" % len(exits))
    p = procs.get(exiting.pid)
    check(p and p["exited"] and not p["zoomed"],
          "the exited process in the report: %r" %
          {k: v for k, v in (p or {}).items() if k != "sites"})

    left = lwlib.wait_for(lambda: not any(att.leftovers(x.pid) for x in
                                          (leaky, gl, late)), 3)
    check(left, "probes remain after leakwatch -a stopped")
    for x in (leaky, gl, late, steady, gs):
        check(lwlib.pid_alive(x.pid), "pid %d died under leakwatch -a" % x.pid)


def test_system_comm():
    """--comm: only the processes whose comm matches, each zoomed at once."""
    lwlib.require_leakwatch()
    leaky = start_named("lwsyscomm")
    steady = start(lwlib.target("steady"))
    out = os.path.join(tmpdir(), "rep.json")
    lw = lwlib.run_leakwatch(["--comm", "lwsys*", "-i", str(INTERVAL), "-d",
                              "8", "--json", out], 30)
    check(lw.popen.returncode == 0, "exit %r:\n%s" % (lw.popen.returncode, lw.describe()))
    rep = lwlib.load_report(out, lw)
    check_process_schema(rep)
    procs = processes(rep)
    check(all(p["comm"].startswith("lwsys") for p in procs.values()),
          "--comm lwsys* lists %s" % sorted({p["comm"] for p in procs.values()}))
    check(steady.pid not in procs, "steady is listed under --comm lwsys*")
    p = procs.get(leaky.pid)
    check(p and p["zoomed"] and p["zoom_reason"] == "chosen by --comm",
          "leaky not zoomed at once: %r" %
          {k: v for k, v in (p or {}).items() if k != "sites"})
    zl = zoom_lines(lw.stdout, leaky.pid)
    check(zl and "chosen by --comm" in zl[0], "no zoom line: %s" % zl)
    # zoomed from the start: 16 samples, its leaks are suspects
    check_leak_found(p, "leaky")


def cgroup2_root():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.startswith("cgroup2 "):
                return left.split()[4]
    return None


def test_system_cgroup():
    """--cgroup: a cgroup the test makes holds one leaking process; it is
    the only one listed, zoomed at once."""
    lwlib.require_leakwatch()
    root = cgroup2_root()
    if not root:
        raise Skip("cgroup v2 is not mounted")
    name = "lwtest-%d" % os.getpid()
    path = os.path.join(root, name)
    try:
        os.mkdir(path)
    except OSError as e:
        raise Skip("cannot make a cgroup under %s: %s" % (root, e))
    leaky = start(lwlib.target("leaky"), ["-q"])
    other = start(lwlib.target("leaky"), ["-q"])
    try:
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write("%d\n" % leaky.pid)
        out = os.path.join(tmpdir(), "rep.json")
        lw = lwlib.run_leakwatch(["--cgroup", path, "-i", str(INTERVAL),
                                  "-d", "3", "--json", out], 30)
        check(lw.popen.returncode == 0, "exit %r:\n%s" % (lw.popen.returncode, lw.describe()))
        procs = processes(lwlib.load_report(out, lw))
        check(list(procs) == [leaky.pid],
              "--cgroup %s lists %s, not just %d" % (path, list(procs), leaky.pid))
        p = procs[leaky.pid]
        check(p["cgroup"] == "/" + name and p["zoomed"],
              "cgroup %r zoomed %r" % (p["cgroup"], p["zoomed"]))
        check(other.pid not in procs, "a process outside the cgroup is listed")
    finally:
        leaky.kill()
        lwlib.wait_for(lambda: not lwlib.read_text(
            os.path.join(path, "cgroup.procs")).strip(), 5)
        try:
            os.rmdir(path)
        except OSError:
            pass


def test_system_folded_and_pprof():
    """Folded stacks get the process as their root frame; pprof samples a
    pid and comm label."""
    lwlib.require_leakwatch()
    leaky = start_named("lwsysfold")
    d = tmpdir()
    folded, pprof = os.path.join(d, "f.txt"), os.path.join(d, "p.pb.gz")
    lw = lwlib.run_leakwatch(["--comm", "lwsysfold", "-i", str(INTERVAL),
                              "-d", "3", "--folded", folded, "--pprof", pprof],
                             30)
    check(lw.popen.returncode == 0, "exit %r:\n%s" % (lw.popen.returncode, lw.describe()))
    lines = lwlib.read_text(folded).splitlines()
    root = "[pid %d lwsysfold]" % leaky.pid
    check(lines and all(l.split(";")[0].startswith("[pid ") for l in lines),
          "folded lines without a process root:\n%s" % "\n".join(lines[:5]))
    check(any(l.startswith(root + ";[heap];") for l in lines),
          "no %s;[heap] line:\n%s" % (root, "\n".join(lines[:5])))
    go = next((g for g in GO if os.access(g, os.X_OK)), None)
    if not go:
        return
    res = subprocess.run([go, "tool", "pprof", "-raw", pprof],
                         capture_output=True, text=True,
                         env=dict(os.environ, HOME=d))
    check(res.returncode == 0, "go tool pprof -raw failed: %s" % res.stderr)
    check("pid:[%d]" % leaky.pid in res.stdout.replace(" ", "") or
          "pid:%d" % leaky.pid in res.stdout.replace(" ", ""),
          "no pid label in the profile:\n%s" % res.stdout[-1500:])


def test_system_kernel():
    """--kernel: a process that leaks pipes (opened, never closed) shows as
    growing kernel allocations at the pipe allocation path, under the
    pseudo-process [kernel] (pid 0)."""
    lwlib.require_leakwatch()
    leak = start(lwlib.target("pipeleak"))
    out = os.path.join(tmpdir(), "rep.json")
    lw = lwlib.run_leakwatch(["--kernel", "--comm", "pipeleak", "-i",
                              str(INTERVAL), "-d", "9", "--json", out], 40)
    check(lw.popen.returncode == 0, "exit %r:\n%s" % (lw.popen.returncode,
                                                      lw.describe()))
    rep = lwlib.load_report(out, lw)
    check_process_schema(rep)
    procs = processes(rep)
    k = procs.get(0)
    check(k and k["comm"] == "[kernel]" and k["zoomed"],
          "no [kernel] process: %s" % sorted(procs))
    check(isinstance(k.get("kernel_drops"), dict), "[kernel] has no kernel_drops")
    pipe = [s for s in k["sites"] if s["suspect"] and
            any(f.get("symbol") in ("alloc_pipe_info", "create_pipe_files")
                for f in s["stack"])]
    check(pipe, "no suspect kernel site at the pipe allocation path:%s" %
          lwlib.fmt_sites(k["sites"], 15))
    # 20 pipes a second: the pipe_inode_info objects alone grow >= 3 KB/s
    rate = max(s["bytes_per_s"] for s in pipe)
    check(rate > 3000, "the pipe path grows only %.0f B/s" % rate)
    check(leak.pid in procs, "pipeleak is not listed")


# A container in miniature: its own pid and mount namespaces, its program
# on a tmpfs mounted only in there (the host has no file at that path).
NS_SCRIPT = """set -e
mount -t tmpfs tmpfs "$1"
cp "$2" "$1/lwnsleaky"
exec "$1/lwnsleaky" -q
"""


def test_system_other_namespaces():
    """A process of other pid and mount namespaces: listed under the pid
    the host sees, its program (invisible from the host) read through the
    kernel's view of its mappings, its leaks found at their lines."""
    lwlib.require_leakwatch()
    lwlib.require_tool("unshare")
    mnt = tmpdir()
    ns = lwlib.spawn(["unshare", "--pid", "--fork", "--mount",
                      "--propagation", "private", "sh", "-c", NS_SCRIPT,
                      "sh", mnt, lwlib.target("leaky")])

    pid = lwlib.wait_for(lambda: lwlib.pgrep_one("lwnsleaky"), 10)
    check(pid, "the namespaced leaky did not start:\n" + ns.describe())
    lwlib.PidProc(pid, "/proc/%d/exe" % pid)
    with open("/proc/%d/status" % pid) as f:
        nspid = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
    check(len(nspid) == 2 and nspid[1] == "1",
          "not in a pid namespace of its own: NSpid %s" % nspid)
    check(not os.path.exists(os.path.join(mnt, "lwnsleaky")),
          "the program is visible from the host: not a private mount")
    out = os.path.join(tmpdir(), "rep.json")
    lw = lwlib.run_leakwatch(["--comm", "lwnsleaky", "-i", str(INTERVAL),
                              "-d", "8", "--json", out], 30)
    check(lw.popen.returncode == 0, "exit %r:\n%s" % (lw.popen.returncode,
                                                      lw.describe()))
    procs = processes(lwlib.load_report(out, lw))
    p = procs.get(pid)
    check(p and p["zoomed"], "host pid %d not listed and zoomed: %s" %
          (pid, sorted(procs)))
    # the kernel names a file of a mount we cannot see from its own root
    check(os.path.basename(p["exe"]) == "lwnsleaky", "exe is %r" % p["exe"])
    check_leak_found(p, "namespaced leaky")
    ns.kill()


def test_system_go_heap():
    """System-wide, a Go program chosen by --comm: its Go heap (the
    sampler: its profile is off) under its process, its leaks suspects at
    their lines, the churn beside them not."""
    import test_goheap as tg
    lwlib.require_leakwatch()
    exe = os.path.join(tmpdir(), "lwsysgoheap")
    shutil.copy(tg.build("1.23", pprof=False), exe)
    duration = tg.SAMPLE_DURATION
    tgt = start(exe, ["-bps", str(tg.SAMPLE_BPS), "-t", str(duration + 15)]
                + tg.TARGET_ARGS)
    out = os.path.join(tmpdir(), "rep.json")
    lw = lwlib.run_leakwatch(["--comm", "lwsysgo*", "-i", "1", "-d",
                              str(duration), "--json", out], duration + 30)
    check(lw.popen.returncode == 0, "exit %r:\n%s" % (lw.popen.returncode,
                                                      lw.describe()))
    rep = lwlib.load_report(out, lw)
    check_process_schema(rep)
    p = processes(rep).get(tgt.pid)
    check(p and p["zoomed"], "the Go program is not zoomed: %r" %
          {k: v for k, v in (p or {}).items() if k != "sites"})
    check(all(s.get("pid") == tgt.pid for s in rep["sites"]
              if s.get("source") == "go"),
          "Go heap sites of another process in the report")
    tg.check_heap({"go_heap": p.get("go_heap"), "stats": rep["stats"],
                   "sites": p["sites"]}, lw, "1.23 system-wide",
                  tg.SAMPLE_BPS, "sample", schema=False)


def test_system_fd_leak():
    """System-wide, a process whose only growth is its descriptors (pipes:
    kernel memory, not its own): zoomed for them, its leaking line an fd
    suspect at the rate, its descriptors in the process's "fds"."""
    lwlib.require_leakwatch()
    exe = os.path.join(tmpdir(), "lwsyspipes")
    shutil.copy(lwlib.target("pipeleak"), exe)
    tgt = start(exe, ["-t", "40"])
    out = os.path.join(tmpdir(), "rep.json")
    lw = lwlib.run_leakwatch(["-a", "-i", str(INTERVAL), "-d", "15",
                              "--zoom", "8", "--json", out], 45)
    check(lw.popen.returncode == 0, "exit %r:\n%s" % (lw.popen.returncode,
                                                      lw.describe()))
    rep = lwlib.load_report(out, lw)
    check_process_schema(rep)
    p = processes(rep).get(tgt.pid)
    brief = {k: v for k, v in (p or {}).items() if k != "sites"}
    check(p and p["zoomed"] and "descriptors" in (p["zoom_reason"] or ""),
          "the pipe leaker was not zoomed for its descriptors: %r" % brief)
    # 20 pipes a second: 40 descriptors
    check(abs(p["fd_count_per_s"] - 40) <= 8,
          "fd_count_per_s %r, it opens 40 a second" % p["fd_count_per_s"])
    line = lwlib.markers("pipeleak.c")[("LEAK", "pipe")].line
    leak = [s for s in lwlib.fd_sites(p) if s["suspect"] and
            lwlib.frame0(s).get("line") == line]
    check(len(leak) == 1 and abs(leak[0]["count_per_s"] - 40) <= 8,
          "no fd suspect at pipeleak.c:%d growing 40/s:%s" %
          (line, lwlib.fmt_sites(lwlib.fd_sites(p))))
    check(leak[0]["types"].get("pipe") == leak[0]["count"],
          "the leaking site's descriptors are not its pipes: %r" %
          leak[0]["types"])
    fds = p.get("fds") or {}
    check(fds.get("open") is not None and fds["tracked"] == fds["open"],
          "the process's fds object: %r" % fds)
