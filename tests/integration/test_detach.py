"""Attach and detach: however leakwatch stops, the target runs on unharmed
and no probe remains.

Probes of a leakwatch run are identified exactly: the link and program
ids in leakwatch's own fds (fdinfo), and its perf-event attachments
(bpftool perf list). After it stops none may remain, no uprobe_multi link
may filter on the target, the target may hold no BPF/perf fds, and the
target's executable text must be byte-identical to the files again (an
installed uprobe shows as int3 in /proc/PID/mem).
"""

import os
import signal
import time

import lwlib
from lwlib import Attachments, Heartbeat, check, tmpdir


def check_clean(att, pid, hb, baseline_patches):
    """The target after leakwatch is gone."""
    left = lwlib.wait_for(lambda: not att.leftovers(pid), 3)
    check(left, "probes remain after leakwatch stopped:\n  " +
          "\n  ".join(att.leftovers(pid)))
    check(lwlib.pid_alive(pid), "target %d is gone" % pid)
    check(hb.advancing(), "target heartbeat stopped advancing (%d)" % hb.value())
    patches = lwlib.text_patches(pid)
    check(patches == baseline_patches,
          "target text still patched (leftover int3?): %s" % patches)


def detach_scenario(how):
    """Trace steady with -p, stop leakwatch by `how`, check the target."""
    lwlib.require_leakwatch()
    lwlib.require_tool("bpftool")
    hb = Heartbeat()
    tgt = lwlib.start_target("steady", ["-b", hb.path])
    check(hb.advancing(), "steady's heartbeat does not advance")
    baseline = lwlib.text_patches(tgt.pid)
    out = os.path.join(tmpdir(), "report.json")
    args = ["-i", "0.5", "--json", out, "-p", str(tgt.pid)]
    if how == "duration":
        args += ["-d", "4"]
    lw = lwlib.leakwatch(args)
    att = Attachments()
    check(lwlib.wait_for(lambda: att.uprobes_attached(lw.pid), 10, step=0.2),
          "no uprobe of leakwatch visible after 10 s (bpftool link/perf list):\n" +
          lw.describe())
    check(hb.advancing(), "target heartbeat stopped while traced")
    time.sleep(1)
    att.collect(lw.pid)
    check(lw.poll() is None, "leakwatch exited early:\n" + lw.describe())

    if how == "duration":
        rc = lw.wait(15)
        took = time.monotonic() - lw.start
        check(rc is None or took < 4 + 3, "-d 4 took %.1f s" % took)
    else:
        lw.signal(how)
        rc = lw.wait(10)
    if rc is None:
        lw.kill()
        raise AssertionError("leakwatch did not stop (%s) within the timeout:\n%s" %
                             (how, lw.describe()))
    if how == signal.SIGKILL:
        check(rc == -signal.SIGKILL, "exit status %r after SIGKILL" % rc)
    else:
        check(rc == 0, "exit status %d after %s, expected 0:\n%s" %
              (rc, how if how == "duration" else signal.Signals(how).name, lw.describe()))
        rep = lwlib.load_report(out, lw)
        lwlib.check_schema(rep, 0.5)
        check(rep["target"]["pid"] == tgt.pid and rep["target"]["exited"] is False,
              "report.target is %r" % rep["target"])
    check_clean(att, tgt.pid, hb, baseline)


def test_detach_duration():
    detach_scenario("duration")


def test_detach_sigint():
    detach_scenario(signal.SIGINT)


def test_detach_sigterm():
    detach_scenario(signal.SIGTERM)


def test_detach_sigkill():
    detach_scenario(signal.SIGKILL)


def launch_scenario(how):
    """The launched command outlives leakwatch, however leakwatch stops."""
    lwlib.require_leakwatch()
    lwlib.require_tool("bpftool")
    exe = lwlib.target("steady")
    hb = Heartbeat()
    env, pidfile = lwlib.pidfile_env()
    args = ["-i", "0.5"] + (["-d", "3"] if how == "duration" else [])
    lw = lwlib.leakwatch(args + ["--", exe, "-b", hb.path], env=env)
    pid = lwlib.launched_pid(pidfile, exe)
    check(pid, "steady never started under leakwatch:\n" + lw.describe())
    att = Attachments()
    check(lwlib.wait_for(lambda: att.uprobes_attached(lw.pid), 10, step=0.2),
          "no uprobe of leakwatch visible after 10 s:\n" + lw.describe())
    check(hb.advancing(), "launched command's heartbeat does not advance")
    time.sleep(1)
    att.collect(lw.pid)
    if how == "duration":
        rc = lw.wait(15)
    else:
        lw.signal(how)
        rc = lw.wait(10)
    if rc is None:
        lw.kill()
        raise AssertionError("leakwatch did not stop:\n" + lw.describe())
    want = -signal.SIGKILL if how == signal.SIGKILL else 0
    check(rc == want, "exit status %d, expected %d:\n%s" % (rc, want, lw.describe()))
    # Exactly the file contents: the command started with no probes at all.
    check_clean(att, pid, hb, [])


def test_launch_duration_leaves_command_running():
    launch_scenario("duration")


def test_launch_sigint_leaves_command_running():
    launch_scenario(signal.SIGINT)


def test_launch_sigterm_leaves_command_running():
    launch_scenario(signal.SIGTERM)


def test_launch_sigkill_leaves_command_running():
    launch_scenario(signal.SIGKILL)


def test_detach_repeatedly_under_load():
    """Five attach/detach cycles (SIGINT and SIGKILL in turn) on a target
    whose threads are always in some allocator: it must survive them all,
    with nothing left behind."""
    lwlib.require_leakwatch()
    lwlib.require_tool("bpftool")
    hb = Heartbeat()
    tgt = lwlib.start_target("steady", ["-b", hb.path, "-j", "3"])
    check(hb.advancing(), "steady's heartbeat does not advance")
    baseline = lwlib.text_patches(tgt.pid)
    att = Attachments()
    for cycle in range(5):
        lw = lwlib.leakwatch(["-i", "0.5", "-p", str(tgt.pid)])
        check(lwlib.wait_for(lambda: att.uprobes_attached(lw.pid), 10, step=0.1),
              "cycle %d: no uprobe visible:\n%s" % (cycle, lw.describe()))
        time.sleep(0.3 + 0.2 * cycle)
        att.collect(lw.pid)
        sig = signal.SIGKILL if cycle % 2 else signal.SIGINT
        lw.signal(sig)
        rc = lw.wait(10)
        if rc is None:
            lw.kill()
            raise AssertionError("cycle %d: leakwatch ignored %s" % (cycle, sig.name))
        want = -signal.SIGKILL if sig == signal.SIGKILL else 0
        check(rc == want, "cycle %d: exit %d after %s:\n%s" %
              (cycle, rc, sig.name, lw.describe()))
        check(lwlib.pid_alive(tgt.pid) and tgt.poll() is None,
              "cycle %d: target died (status %r)\n%s" % (cycle, tgt.poll(), tgt.describe()))
    check_clean(att, tgt.pid, hb, baseline)
