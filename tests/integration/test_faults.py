"""Faults around a traced program, on real processes: leakwatch says what
happened, loses nothing silently, exits with its documented code and
leaves no probe behind.

- the target forks, execs itself and exits between two reports;
- its binary is deleted, or another renamed over its path, while traced;
- leakwatch itself runs out of memory (a memory cgroup limit): too
  little for its maps (a clear message, exit 4, nothing left), or too
  little later on (OOM-killed: nothing left, the target unharmed);
- a burst of mmaps overflows the ring buffer of map events while
  leakwatch is descheduled: the loss is counted (drops.ringbuf_lost) and
  the accounting recovers;
- 2,000 threads at once;
- a stack deeper than the walk's LW_MAX_STACK_DEPTH (64) frames.

SIGKILL of leakwatch is tested in test_detach.py (test_detach_sigkill,
test_launch_sigkill_leaves_command_running, the SIGKILL cycles of
test_detach_repeatedly_under_load); an exit or exec of the target alone
in test_target_exit.py.
"""

import os
import re
import shutil
import signal
import time

import lwlib
from lwlib import Attachments, check, tmpdir

lwlib.TARGETS.update({
    "forkexec": (["forkexec.c"], lwlib.CFLAGS_O1, []),
    "deepstack": (["deepstack.c"], lwlib.CFLAGS_O1, []),
    "manythreads": (["manythreads.c"], lwlib.CFLAGS_O1, ["-pthread"]),
    "mmapburst": (["mmapburst.c"], lwlib.CFLAGS_O1, []),
    "manystacks": (["manystacks.c"], lwlib.CFLAGS_O1, []),
})

MAX_DEPTH = 64  # include/leakwatch.h LW_MAX_STACK_DEPTH
REPORT_RE = re.compile(r"^== pid \d+ \(.*?\) at ([0-9.]+)s", re.M)


def stack_symbols(site):
    return [fr.get("symbol") for fr in site["stack"]]


def sites_with(rep, symbol, kind="heap"):
    """Sites of that kind with symbol anywhere in their stacks."""
    return [s for s in rep["sites"]
            if s["kind"] == kind and symbol in stack_symbols(s)]


def final_drops_line(text):
    lines = re.findall(r"^drops:.*$", text, re.M)
    check(lines, "no drops line in the text report:\n" + lwlib.tail(text))
    return lines[-1]


def check_no_errors(lw):
    bad = [l for l in lw.stderr.splitlines()
           if "error" in l or "Segmentation" in l or "Assertion" in l]
    check(not bad, "leakwatch complained:\n  " + "\n  ".join(bad[:10]) +
          "\n" + lw.describe())


def check_no_probes(att, pid, lw):
    left = lwlib.wait_for(lambda: not att.leftovers(pid), 3)
    check(left, "probes remain after leakwatch stopped:\n  " +
          "\n  ".join(att.leftovers(pid)) + "\n" + lw.describe())


def watch_attachments(lw):
    """Attachments of a running leakwatch, once its uprobes are in."""
    att = Attachments()
    check(lwlib.wait_for(lambda: att.uprobes_attached(lw.pid), 15, step=0.2),
          "no uprobe of leakwatch visible after 15 s:\n" + lw.describe())
    return att


def wait_report(lw, n=1, timeout=15):
    check(lwlib.wait_for(lambda: len(REPORT_RE.findall(lw.stdout)) >= n,
                         timeout),
          "no interval report within %d s:\n%s" % (timeout, lw.describe()))


# ---------------------------------------------------------------------------
# 1. fork, exec and exit mid-interval


def test_fork_exec_exit_mid_interval():
    """forkexec leaks, forks allocating children, execs itself after 2 s
    and exits 3.3 s later, between two reports (-i 0.5): the final report
    has the second image's leak and nothing of the first image or of the
    children, says the target exited, and leakwatch exits 0."""
    lwlib.require_leakwatch()
    lwlib.require_tool("bpftool")
    exe = lwlib.target("forkexec")
    marks = lwlib.markers("forkexec.c")
    after = 3.3
    out = os.path.join(tmpdir(), "report.json")
    env, pidfile = lwlib.pidfile_env()
    lw = lwlib.leakwatch(["-i", "0.5", "-d", "40", "--json", out, "--", exe,
                          "-a", "2", "-b", str(after)], env=env)
    pid = lwlib.launched_pid(pidfile, exe)
    check(pid, "forkexec never started:\n" + lw.describe())
    att = watch_attachments(lw)
    rc = lw.wait(25)
    if rc is None:
        lw.kill()
        raise AssertionError("leakwatch still runs after the target exited:\n"
                             + lw.describe())
    check(rc == 0, "exit status %d, expected 0:\n%s" % (rc, lw.describe()))
    check_no_errors(lw)
    text = lw.stdout + lw.stderr
    check(re.search(r"pid %d exec'd .*forkexec" % pid, text),
          "leakwatch does not say the target exec'd:\n" + lw.describe())
    check(re.search(r"target %d exited" % pid, text) and
          re.search(r"^== final report: .*target exited", lw.stdout, re.M),
          "leakwatch does not say the target exited:\n" + lw.describe())
    rep = lwlib.load_report(out, lw)
    lwlib.check_schema(rep, 0.5)
    t = rep["target"]
    check(t["exited"] is True and t["pid"] == pid and t["comm"] == "forkexec"
          and os.path.realpath(t["exe"]) == os.path.realpath(exe),
          "report.target is %r" % t)
    check(rep["duration_s"] < 2 + after + 4,
          "duration_s is %r: the run should end with the target" %
          rep["duration_s"])
    # the leak of the second image, up to its exit
    leak = marks[("LEAK", "after")]
    found = [s for s in lwlib.sites_in(rep, "leak_after", "forkexec.c")
             if lwlib.frame0(s).get("line") == leak.line]
    check(found, "no leak_after site at line %d:%s" %
          (leak.line, lwlib.fmt_sites(rep["sites"])))
    s = found[0]
    want = after / 0.020
    check(0.8 * want <= s["count"] <= want + 2 and
          s["bytes"] == 4096 * s["count"],
          "leak_after: %d blocks, %d bytes; the image made about %d of 4096" %
          (s["count"], s["bytes"], want))
    check(abs(s["bytes_per_s"] - 4096 / 0.020) <= 0.3 * 4096 / 0.020,
          "leak_after grows %.0f B/s, expected %.0f" %
          (s["bytes_per_s"], 4096 / 0.020))
    # the first image's blocks died with it; the children are not traced
    for sym in ("leak_before", "child_alloc"):
        stray = sites_with(rep, sym)
        check(not stray, "%s sites remain:%s" % (sym, lwlib.fmt_sites(stray)))
    check_no_probes(att, pid, lw)


# ---------------------------------------------------------------------------
# 2. binary deleted or replaced while traced


def check_symbolized(rep, lw, module):
    """leaky's leak_malloc site, named with its file and line."""
    leak = lwlib.markers("leaky.c")[("LEAK", "malloc")]
    found = [s for s in lwlib.sites_in(rep, "leak_malloc", "leaky.c")
             if lwlib.frame0(s).get("line") == leak.line]
    check(found, "no leak_malloc site at leaky.c:%d:%s\n%s" %
          (leak.line, lwlib.fmt_sites(rep["sites"]), lw.describe()))
    fr = lwlib.frame0(found[0])
    check(fr.get("module", "").startswith(module),
          "leak_malloc's module is %r, expected %s" % (fr.get("module"), module))
    check(found[0]["bytes_per_s"] > 0, "leak_malloc does not grow: " +
          lwlib.fmt_site(found[0]))


def binary_fault(how):
    """A private copy of leaky, traced while its file is removed (before
    leakwatch attaches, or after its first report) or while another
    program is renamed over its path."""
    lwlib.require_leakwatch()
    lwlib.require_tool("bpftool")
    d = tmpdir()
    exe = os.path.join(d, "leaky")
    shutil.copy2(lwlib.target("leaky"), exe)
    out = os.path.join(d, "report.json")
    env, pidfile = lwlib.pidfile_env()
    if how == "rm-then-attach":
        tgt = lwlib.spawn([exe, "-q", "-t", "60"], env=env)
        check(lwlib.wait_for(lambda: lwlib.read_text(pidfile).strip(), 5),
              "leaky did not start:\n" + tgt.describe())
        os.unlink(exe)
        pid = tgt.pid
        lw = lwlib.leakwatch(["-i", "0.5", "-d", "3", "--json", out, "-p",
                              str(pid)])
    else:
        lw = lwlib.leakwatch(["-i", "0.5", "-d", "4", "--json", out, "--",
                              exe, "-q", "-t", "60"], env=env)
        pid = lwlib.launched_pid(pidfile, exe)
        check(pid, "leaky never started:\n" + lw.describe())
    att = watch_attachments(lw)
    if how != "rm-then-attach":
        # mid-run: what the symbolizer opened at attach it keeps open; a
        # file it opens later must be the mapped one (map_files), not
        # whatever the path names by then
        wait_report(lw)
        if how == "rm":
            os.unlink(exe)
        else:
            other = os.path.join(d, "other")
            shutil.copy2(lwlib.target("steady"), other)
            os.rename(other, exe)
    rc = lw.wait(20)
    if rc is None:
        lw.kill()
        raise AssertionError("leakwatch did not stop:\n" + lw.describe())
    check(rc == 0, "exit status %d:\n%s" % (rc, lw.describe()))
    check_no_errors(lw)
    check(lwlib.pid_alive(pid), "leaky died while traced")
    rep = lwlib.load_report(out, lw)
    lwlib.check_schema(rep, 0.5)
    check(rep["target"]["pid"] == pid, "report.target is %r" % rep["target"])
    check_symbolized(rep, lw, exe)
    check_no_probes(att, pid, lw)


def test_binary_deleted_while_traced():
    binary_fault("rm")


def test_binary_deleted_before_attach():
    binary_fault("rm-then-attach")


def test_binary_replaced_while_traced():
    binary_fault("replace")


# ---------------------------------------------------------------------------
# 4. memory pressure on leakwatch itself: a memory cgroup limit

PROG_NAMES = {"alloc_enter", "alloc_exit", "release_enter", "on_exec",
              "fd_sys_exit", "fd_snap", "go_heap_probe", "go_probe",
              "thread_create", "on_newtask", "on_thread_exit", "thread_snap"}
MAP_NAMES = {"allocs", "sites", "site_stacks", "stack_sites", "map_events",
             "file_events", "cfi_files", "cfi_pages", "cfi_entries",
             "cfi_rules", "goroutines", "threads", "fds", "counters",
             "targets", "go_samples", "go_sample_spans", "stack_bufs",
             "scratch", "go_head", "go_left", "vma_caches", "creators",
             "pending"}


class MemCgroup:
    """A child memory cgroup with a limit, under the test's own one (v1)
    or a v2 cgroup whose memory controller is on for its children."""

    def __init__(self, limit):
        self.path = None
        v2 = v1 = None
        for line in lwlib.read_text("/proc/self/cgroup").splitlines():
            parts = line.split(":", 2)
            if len(parts) != 3:
                continue
            if parts[0] == "0" and parts[1] == "":
                v2 = parts[2]
            elif "memory" in parts[1].split(","):
                v1 = parts[2]
        base = None
        if v1 is not None and os.path.isdir("/sys/fs/cgroup/memory"):
            base = "/sys/fs/cgroup/memory" + v1.rstrip("/")
            self.limit_file = "memory.limit_in_bytes"
            self.oom_file, self.oom_key = "memory.oom_control", "oom_kill"
        elif v2 is not None:
            for cand in ("/sys/fs/cgroup" + v2.rstrip("/"), "/sys/fs/cgroup"):
                ctl = lwlib.read_text(os.path.join(cand,
                                                   "cgroup.subtree_control"))
                if "memory" in ctl.split():
                    base = cand
                    break
            self.limit_file = "memory.max"
            self.oom_file, self.oom_key = "memory.events", "oom_kill"
        if base is None:
            raise lwlib.Skip("no memory cgroup controller to put leakwatch "
                             "under a limit (/proc/self/cgroup: %r)" %
                             lwlib.read_text("/proc/self/cgroup"))
        path = os.path.join(base, "lwtest-faults-%d" % os.getpid())
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        except OSError as e:
            raise lwlib.Skip("cannot create a memory cgroup in %s: %s" %
                             (base, e))
        self.path = path
        with open(os.path.join(path, self.limit_file), "w") as f:
            f.write(str(limit))

    def argv(self, args):
        """leakwatch args, run inside the cgroup from its first byte."""
        return ["sh", "-c", 'echo $$ > "$0" && exec "$@"',
                os.path.join(self.path, "cgroup.procs"),
                lwlib.LEAKWATCH] + list(args)

    def oom_kills(self):
        text = lwlib.read_text(os.path.join(self.path, self.oom_file))
        m = re.search(r"^%s (\d+)" % self.oom_key, text, re.M)
        return int(m.group(1)) if m else 0

    def remove(self):
        if not self.path:
            return
        for _ in range(50):
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)  # its last process is still exiting
        raise AssertionError("cannot remove cgroup %s (procs: %r)" % (
            self.path, lwlib.read_text(os.path.join(self.path,
                                                    "cgroup.procs"))))


def bpf_objects():
    """{(kind, id): name} of every BPF program, map and link now."""
    objs = {}
    for p in lwlib.bpftool_json("prog", "list"):
        objs[("prog", p["id"])] = p.get("name", "")
    for m in lwlib.bpftool_json("map", "list"):
        objs[("map", m["id"])] = m.get("name", "")
    for l in lwlib.bpftool_json("link", "list"):
        objs[("link", l["id"])] = "prog:%s" % l.get("prog_id")
    return objs


def held_bpf_ids():
    """(kind, id) of every BPF object some process holds an fd of."""
    held = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        d = "/proc/%s/fd" % pid
        try:
            fds = os.listdir(d)
        except OSError:
            continue
        for fd in fds:
            try:
                if not os.readlink(os.path.join(d, fd)).startswith(
                        "anon_inode:bpf"):
                    continue
                info = lwlib.read_text("/proc/%s/fdinfo/%s" % (pid, fd))
            except OSError:
                continue
            for key, val in re.findall(r"^(prog|map|link)_id:\s*(\d+)",
                                       info, re.M):
                held.add((key, int(val)))
    return held


def orphans(before):
    """Objects of ours made since `before` that nobody holds: left behind."""
    now = bpf_objects()
    ours = {}
    for key, name in now.items():
        if key in before:
            continue
        kind = key[0]
        if ((kind == "prog" and name in PROG_NAMES) or
                (kind == "map" and (name in MAP_NAMES or
                                    name.startswith("heap_bpf."))) or
                (kind == "link" and
                 now.get(("prog", int(name.split(":")[1]) if
                          name.split(":")[1].isdigit() else -1))
                 in PROG_NAMES)):
            ours[key] = name
    if not ours:
        return []
    held = held_bpf_ids()
    return ["%s %d (%s)" % (k[0], k[1], n) for k, n in sorted(ours.items())
            if k not in held]


def test_memcg_too_small_for_maps():
    """96 MiB: leakwatch itself runs, its maps (some 200 MiB) cannot be
    made. It says so, naming the limit, exits 4 (README: no memory for
    the BPF maps), and leaves no program, map or link."""
    lwlib.require_leakwatch()
    lwlib.require_tool("bpftool")
    tgt = lwlib.start_target("leaky", ["-q", "-t", "60"])
    before = bpf_objects()
    cg = MemCgroup(96 << 20)
    try:
        lw = lwlib.spawn(cg.argv(["-i", "0.5", "-d", "5", "-p",
                                  str(tgt.pid)]), name="leakwatch")
        rc = lw.wait(30)
        if rc is None:
            lw.kill()
            raise AssertionError("leakwatch hangs under a 96 MiB limit:\n"
                                 + lw.describe())
        check(rc == 4, "exit status %d under a 96 MiB limit, expected 4:\n%s"
              % (rc, lw.describe()))
        err = lw.stderr
        check(re.search(r"no memory for the BPF maps", err) and
              re.search(r"memory cgroup .*lwtest-faults-\d+: memory\.\S+ is "
                        r"96 MiB", err),
              "no clear message naming the memory limit:\n" + lw.describe())
        check("descriptors are not tracked" not in err,
              "ENOMEM blamed on the descriptor program:\n" + lw.describe())
    finally:
        cg.remove()
    left = lwlib.wait_for(lambda: not orphans(before), 5)
    check(left, "BPF objects left behind: %s" % orphans(before))
    check(tgt.poll() is None and lwlib.pid_alive(tgt.pid),
          "the target died:\n" + tgt.describe())


def test_memcg_oom_later():
    """A limit that holds the maps but not the user-space model of 65,536
    stacks (manystacks): leakwatch dies of the memory cgroup's OOM kill
    (nothing to print then) or fails with a message; either way no probe
    remains and the target, outside the cgroup, runs on."""
    lwlib.require_leakwatch()
    lwlib.require_tool("bpftool")
    tgt = lwlib.start_target("manystacks", ["-t", "60"])
    before = bpf_objects()
    cg = MemCgroup(280 << 20)
    try:
        lw = lwlib.spawn(cg.argv(["-i", "1", "-d", "30", "-p",
                                  str(tgt.pid)]), name="leakwatch")
        # attached, unless the limit bit already at load (a sanitizer's
        # build is bigger): then it must have said so, below
        att = Attachments()
        lwlib.wait_for(lambda: lw.poll() is not None or
                       att.uprobes_attached(lw.pid), 15, step=0.2)
        rc = lw.wait(40)
        if rc is None:
            lw.kill()
            raise AssertionError("leakwatch survived 30 s of 65,536 stacks "
                                 "under 280 MiB: the limit no longer "
                                 "bites:\n" + lw.describe())
        kills = cg.oom_kills()
    finally:
        cg.remove()
    if rc == -signal.SIGKILL:
        check(kills >= 1, "leakwatch was SIGKILLed but the cgroup counts "
              "no OOM kill:\n" + lw.describe())
    else:
        check(rc != 0 and re.search(r"memory|Cannot allocate", lw.stderr),
              "exit %d without saying it ran out of memory:\n%s" %
              (rc, lw.describe()))
    check_no_probes(att, tgt.pid, lw)
    left = lwlib.wait_for(lambda: not orphans(before), 5)
    check(left, "BPF objects left behind: %s" % orphans(before))
    check(tgt.poll() is None and lwlib.pid_alive(tgt.pid),
          "the target died:\n" + tgt.describe())


# ---------------------------------------------------------------------------
# 5. the ring buffer of map events overflows


def test_mmap_burst_overflows_ring():
    """leakwatch is stopped (SIGSTOP: a descheduled observer) while the
    target maps and unmaps 10,000 pages, 20,000 events for a 1 MiB ring
    of some 15,000: the loss is counted in drops.ringbuf_lost (JSON and
    text), the burst leaves nothing outstanding (the unmaps that were
    lost are found in /proc/PID/maps), and the steady mmap and malloc
    leaks after it are counted at their rate."""
    lwlib.require_leakwatch()
    d = tmpdir()
    trigger = os.path.join(d, "burst")
    exe = lwlib.target("mmapburst")
    out = os.path.join(d, "report.json")
    env, pidfile = lwlib.pidfile_env()
    # launched: every leak is seen; the target writes to leakwatch's stdout
    lw = lwlib.leakwatch(["-i", "0.5", "-d", "60", "--json", out, "--", exe,
                          "-f", trigger, "-n", "10000", "-a", "4"], env=env)
    check(lwlib.launched_pid(pidfile, exe), "mmapburst never started:\n" +
          lw.describe())
    wait_report(lw)
    lw.signal(signal.SIGSTOP)
    try:
        with open(trigger, "w"):
            pass
        done = lwlib.wait_for(lambda: "burst done" in lw.stdout, 30)
    finally:
        lw.signal(signal.SIGCONT)
    check(done, "the burst did not end within 30 s:\n" + lw.describe())
    rc = lw.wait(30)
    if rc is None:
        lw.kill()
        raise AssertionError("leakwatch did not end with the target:\n" +
                             lw.describe())
    check(rc == 0, "exit %d:\n%s" % (rc, lw.describe()))
    check_no_errors(lw)
    m = re.search(r"^leaks (\d+)$", lw.stdout, re.M)
    check(m, "mmapburst did not say how many leaks:\n" + lw.describe())
    made = int(m.group(1))
    rep = lwlib.load_report(out, lw)
    lwlib.check_schema(rep, 0.5)
    lost = rep["drops"]["ringbuf_lost"]
    check(lost > 0, "ringbuf_lost is 0 after 20,000 events into a stopped "
          "reader: %s" % rep["drops"])
    line = final_drops_line(lw.stdout)
    check("ringbuf_lost=%d" % lost in line,
          "the text's drops line %r lacks ringbuf_lost=%d" % (line, lost))
    burst = [s for s in sites_with(rep, "burst_map") if s["count"]]
    check(not burst, "the burst, all unmapped, is outstanding:" +
          lwlib.fmt_sites(burst))
    leaks = {}
    for sym, per in (("leak_map", 64 * 1024), ("leak_malloc", 2000)):
        found = lwlib.sites_in(rep, sym, "mmapburst.c")
        check(found, "no %s site:%s" % (sym, lwlib.fmt_sites(rep["sites"])))
        leaks[sym] = s = found[0]
        check(s["bytes"] == per * s["count"],
              "%s: %d bytes in %d blocks" % (sym, s["bytes"], s["count"]))
        rate = per / 0.050
        check(0.6 * rate <= s["bytes_per_s"] <= 1.3 * rate,
              "%s grows %.0f B/s, expected %.0f" % (sym, s["bytes_per_s"],
                                                    rate))
    # malloc's records do not go through the ring: all of them; mmap's
    # right after the burst may still meet a full ring
    check(leaks["leak_malloc"]["count"] == made,
          "leak_malloc: %d blocks, the target made %d" %
          (leaks["leak_malloc"]["count"], made))
    check(made - 3 <= leaks["leak_map"]["count"] <= made,
          "leak_map: %d mappings, the target made %d" %
          (leaks["leak_map"]["count"], made))


# ---------------------------------------------------------------------------
# 6. 2,000 threads


def test_2000_threads():
    """2,000 threads started at once, every other one ending at once:
    the thread sites count the 1,000 that live (and /proc's count), the
    heap site counts the 2,000 blocks they leaked, stacks cut short by
    the burst are counted in truncated_stacks, and the reports keep
    their interval."""
    lwlib.require_leakwatch()
    exe = lwlib.target("manythreads")
    out = os.path.join(tmpdir(), "report.json")
    env, pidfile = lwlib.pidfile_env()
    interval, duration = 0.5, 6
    started = time.monotonic()
    lw = lwlib.run_leakwatch(["-i", str(interval), "-d", str(duration),
                              "--json", out, "--", exe, "-n", "2000",
                              "-t", "60"], duration + 30, env=env)
    took = time.monotonic() - started
    pid = lwlib.launched_pid(pidfile, exe, timeout=1)
    check(pid, "manythreads never started:\n" + lw.describe())
    check(lw.popen.returncode == 0, "exit %d:\n%s" % (lw.popen.returncode,
                                                      lw.describe()))
    check(took < duration + 10, "a %d s run took %.1f s" % (duration, took))
    check_no_errors(lw)
    check("started 2000" in lw.stdout,
          "manythreads did not start its 2,000 threads:\n" + lw.describe())
    live = len(os.listdir("/proc/%d/task" % pid))
    check(live == 1001, "/proc/%d/task lists %d threads, expected 1001" %
          (pid, live))
    rep = lwlib.load_report(out, lw)
    lwlib.check_schema(rep, interval, duration)
    drops = rep["drops"]
    threads = [s for s in rep["sites"] if s["kind"] == "thread"]
    total = sum(s["count"] for s in threads)
    check(total + drops["thread_map_full"] >= live and total <= live,
          "thread sites count %d threads (thread_map_full %d), /proc %d" %
          (total, drops["thread_map_full"], live))
    keep = sum(s["count"] for s in sites_with(rep, "keep_thread", "thread"))
    brief = sum(s["count"] for s in sites_with(rep, "brief_thread", "thread"))
    check(keep + drops["thread_map_full"] >= 1000 and keep <= 1000 and
          brief == 0, "keep_thread sites count %d live threads (1000 live), "
          "brief_thread sites %d (all ended)" % (keep, brief))
    heap = [s for s in rep["sites"] if s["kind"] == "heap" and
            lwlib.frame0(s).get("symbol") == "thread_leak"]
    blocks = sum(s["count"] for s in heap)
    lost = drops["alloc_map_full"] + drops["pending_map_full"]
    check(blocks <= 2000 and blocks + lost >= 2000,
          "thread_leak sites count %d blocks of 2000 (lost: %d)" %
          (blocks, lost))
    # a walk cut short by the burst (mmap lock held: no VMA) is counted
    short = sum(s["count"] for s in heap if "start_thread" not in
                stack_symbols(s))
    short += sum(s["count"] for s in sites_with(rep, "keep_thread", "thread")
                 if "main" not in stack_symbols(s))
    check(short <= drops["truncated_stacks"],
          "%d blocks and threads with stacks cut short, truncated_stacks "
          "%d:%s" % (short, drops["truncated_stacks"],
                     lwlib.fmt_sites(heap + threads)))
    times = [float(t) for t in REPORT_RE.findall(lw.stdout)]
    gaps = [b - a for a, b in zip(times, times[1:])]
    check(len(times) >= duration / interval - 3 and
          all(g <= interval + 1.5 for g in gaps),
          "interval reports at %s s" % times)


# ---------------------------------------------------------------------------
# 7. stacks deeper than the walk


def test_stack_deeper_than_walk():
    """Leaks at the bottom of 200 recursive calls: the site is reported
    with its 64 innermost frames (deep_leak, then recurse), each such walk
    is counted in truncated_stacks (JSON and the text's drops line), and
    the shallow leak beside it keeps its whole stack."""
    lwlib.require_leakwatch()
    exe = lwlib.target("deepstack")
    marks = lwlib.markers("deepstack.c")
    out = os.path.join(tmpdir(), "report.json")
    env, pidfile = lwlib.pidfile_env()
    lw = lwlib.run_leakwatch(["-i", "0.5", "-d", "3", "--json", out, "--",
                              exe, "-n", "200", "-t", "60"], 30, env=env)
    lwlib.launched_pid(pidfile, exe, timeout=1)
    check(lw.popen.returncode == 0, "exit %d:\n%s" % (lw.popen.returncode,
                                                      lw.describe()))
    check_no_errors(lw)
    rep = lwlib.load_report(out, lw)
    lwlib.check_schema(rep, 0.5)
    deep = lwlib.sites_in(rep, "deep_leak", "deepstack.c")
    check(len(deep) == 1, "deep_leak sites:%s" % lwlib.fmt_sites(rep["sites"]))
    d = deep[0]
    check(lwlib.frame0(d).get("line") == marks[("LEAK", "deep")].line,
          "deep_leak at line %r" % lwlib.frame0(d).get("line"))
    syms = stack_symbols(d)
    check(len(syms) == MAX_DEPTH and syms[1:] == ["recurse"] * (MAX_DEPTH - 1),
          "the deep site has %d frames: %s" % (len(syms), syms[:4] + ["..."] +
                                               syms[-3:]))
    shallow = lwlib.sites_in(rep, "shallow_leak", "deepstack.c")
    check(shallow, "no shallow_leak site:" + lwlib.fmt_sites(rep["sites"]))
    s = shallow[0]
    check("main" in stack_symbols(s) and len(s["stack"]) < MAX_DEPTH,
          "shallow_leak's stack: %s" % stack_symbols(s))
    check(abs(d["allocs"] - s["allocs"]) <= 2,
          "deep %d and shallow %d allocations: one of each per tick" %
          (d["allocs"], s["allocs"]))
    trunc = rep["drops"]["truncated_stacks"]
    check(d["allocs"] <= trunc <= d["allocs"] + 5,
          "truncated_stacks %d for %d walks deeper than %d frames" %
          (trunc, d["allocs"], MAX_DEPTH))
    line = final_drops_line(lw.stdout)
    check("truncated_stacks=%d" % trunc in line,
          "the text's drops line %r lacks truncated_stacks=%d" % (line, trunc))
