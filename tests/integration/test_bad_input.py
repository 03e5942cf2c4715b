"""Bad input: exit codes and messages.

2 usage error, 3 permission, 5 target not found, 6 target unusable. Every
failure must explain itself on stderr.
"""

import os
import shutil
import subprocess

import lwlib
from lwlib import check, tmpdir

TIMEOUT = 15


def run(args, **kw):
    return lwlib.run_leakwatch(args, timeout=TIMEOUT, **kw)


def expect_exit(args, codes, hints=(), **kw):
    """Run leakwatch; its exit status must be in codes, and stderr must
    mention one of hints (case-insensitive), if any are given. Returns a
    problem description, or None."""
    p = run(args, **kw)
    rc, err = p.popen.returncode, p.stderr
    cmd = "leakwatch " + " ".join(args)
    if rc not in codes:
        return "%s: exit %d, expected %s\n    stderr: %s" % (
            cmd, rc, "/".join(map(str, codes)), lwlib.tail(err, 3) or "(empty)")
    if not err.strip():
        return "%s: exit %d with nothing on stderr" % (cmd, rc)
    if hints and not any(h.lower() in err.lower() for h in hints):
        return "%s: stderr does not mention %s:\n    %s" % (
            cmd, " or ".join(map(repr, hints)), lwlib.tail(err, 3))
    return None


def check_all(problems):
    problems = [p for p in problems if p]
    check(not problems, "\n".join(problems))


def unused_pid():
    pid_max = int(open("/proc/sys/kernel/pid_max").read())
    for pid in range(pid_max - 1, 1, -1):
        if not os.path.exists("/proc/%d" % pid):
            return pid
    raise lwlib.Skip("no free pid")


def sleeper():
    """A harmless process to name with -p in the usage tests: if a bad
    flag were ignored, leakwatch would trace this and nothing else."""
    return lwlib.spawn(["sleep", "60"])


def test_no_such_pid():
    lwlib.require_leakwatch()
    pid = unused_pid()
    check_all([expect_exit(["-d", "1", "-p", str(pid)], [5], [str(pid)])])


def test_help_and_version():
    lwlib.require_leakwatch()
    problems = []
    for flag in ("-h", "--help"):
        p = run([flag])
        if p.popen.returncode != 0:
            problems.append("%s: exit %d, expected 0" % (flag, p.popen.returncode))
        elif not all(o in p.stdout for o in ("-p", "--json", "--interval")):
            problems.append("%s: usage on stdout lacks -p/--json/--interval:\n%s" %
                            (flag, lwlib.tail(p.stdout, 5)))
    p = run(["--version"])
    if p.popen.returncode != 0 or not p.stdout.strip():
        problems.append("--version: exit %d, stdout %r" % (p.popen.returncode, p.stdout))
    check_all(problems)


def test_bad_flags():
    lwlib.require_leakwatch()
    pid = str(sleeper().pid)
    cases = [
        (["--bogus-flag", "-p", pid], ["bogus"]),
        (["-Z", "-p", pid], ["-Z", "'Z'", "-- z"]),
        (["-i", "abc", "-p", pid], ["abc", "interval"]),
        (["-i", "0", "-p", pid], ["interval", "'0'", '"0"', " 0"]),
        (["-i", "-1", "-p", pid], ["interval", "-1"]),
        (["-i", "1x", "-p", pid], ["1x", "interval"]),
        (["-d", "soon", "-p", pid], ["soon", "duration"]),
        (["-d", "-5", "-p", pid], ["duration", "-5"]),
        (["-n", "many", "-p", pid], ["many", "top"]),
        (["-n", "-3", "-p", pid], ["top", "-3"]),
        (["-p", "abc"], ["abc", "pid"]),
        (["-p", "-7"], ["pid", "-7"]),
        (["-p", pid, "-i"], ["interval", "argument", "-i"]),
        (["-p", pid, "--json"], ["json", "argument"]),
        (["-p", pid, "--", "true"], ["both", "either", "-p", "command"]),
        (["-p", pid, "--top", "0"], ["top", "'0'"]),
        (["-p", pid, "--folded-value", "lots"], ["folded-value", "lots"]),
        (["-p", pid, "--pprof", "-"], ["pprof", "file"]),
        (["-p", pid, "--json", "-", "--folded", "-"], ["stdout"]),
    ]
    check_all(expect_exit(args, [2], hints) for args, hints in cases)


def test_missing_target():
    """"--" without a command is a usage error; no target at all is the
    whole system now (test_system)."""
    lwlib.require_leakwatch()
    check_all(expect_exit(args, [2]) for args in
              (["--"], ["-i", "1", "--"]))


def test_system_wide_bad_input():
    """-a is every process: with -p or a command it is a usage error, as
    are --comm/--cgroup/--kernel with one; a cgroup that does not exist
    is not found (5)."""
    lwlib.require_leakwatch()
    check_all([
        expect_exit(["-a", "-p", "1"], [2], ["-a"]),
        expect_exit(["-a", "--", "true"], [2], ["-a"]),
        expect_exit(["--comm", "x", "-p", "1"], [2], ["--comm"]),
        expect_exit(["--cgroup", "/", "--", "true"], [2], ["--cgroup"]),
        expect_exit(["--kernel", "-p", "1"], [2], ["--kernel"]),
        expect_exit(["--zoom", "0"], [2], ["--zoom"]),
        expect_exit(["--zoom", "x"], [2], ["--zoom"]),
        expect_exit(["--comm", ""], [2], ["--comm"]),
        expect_exit(["--max-sites", "1"], [2], ["--max-sites"]),
        expect_exit(["-d", "1", "--cgroup", "/lw-no-such-cgroup"], [5],
                    ["no such cgroup"]),
    ])


def test_command_not_found():
    lwlib.require_leakwatch()
    missing = "/nonexistent/lw-no-such-command"
    check_all([
        expect_exit(["-d", "1", "--", missing], [5], [missing]),
        expect_exit(["-d", "1", "--", "lw-no-such-command-xyz"], [5],
                    ["lw-no-such-command-xyz"]),
    ])


def test_unusable_executables():
    """A mode-000 executable and a non-ELF file with x bits: exit 5 or 6
    (target not found / unusable), naming the file. Nothing is run."""
    lwlib.require_leakwatch()
    d = tmpdir()
    noperm = os.path.join(d, "noperm")
    shutil.copy("/bin/true", noperm)
    os.chmod(noperm, 0)
    garbage = os.path.join(d, "garbage")
    with open(garbage, "wb") as f:
        f.write(bytes(range(256)) * 16)
    os.chmod(garbage, 0o755)
    check_all([
        expect_exit(["-d", "1", "--", noperm], [5, 6], [noperm]),
        expect_exit(["-d", "1", "--", garbage], [5, 6], [garbage]),
    ])


def test_no_allocator():
    """A stripped static binary has no allocator symbols to probe (exit 6);
    so has a kernel thread, which has no executable at all."""
    lwlib.require_leakwatch()
    static = "/sbin/ldconfig"
    kind = subprocess.run(["file", "-L", static], capture_output=True, text=True).stdout
    if "static" not in kind or "stripped" not in kind:
        raise lwlib.Skip("%s is not a stripped static binary here" % static)
    check_all([
        expect_exit(["-d", "1", "--", static, "-p"], [6], [static, "ldconfig", "allocator"]),
        expect_exit(["-d", "1", "-p", "2"], [6], ["2", "kthreadd"]),
    ])


def test_not_root():
    """As nobody: exit 3 and a message naming root or the capabilities."""
    lwlib.require_leakwatch()
    setpriv = lwlib.require_tool("setpriv")
    drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
            "--inh-caps=-all", "--"]
    probe = subprocess.run(drop + [lwlib.LEAKWATCH, "--version"], capture_output=True)
    lwlib.note_output("(as nobody) leakwatch --version",
                      probe.stderr.decode("utf-8", "replace"))
    if probe.returncode in (126, 127):
        raise lwlib.Skip("nobody cannot execute %s" % lwlib.LEAKWATCH)
    hints = ["root", "CAP_BPF", "CAP_PERFMON"]
    problems = []
    for args in (["-d", "1", "--", "/bin/true"], ["-d", "1", "-p", str(sleeper().pid)]):
        res = subprocess.run(drop + [lwlib.LEAKWATCH] + args, capture_output=True,
                             text=True, timeout=TIMEOUT)
        cmd = "(as nobody) leakwatch " + " ".join(args)
        lwlib.note_output(cmd, res.stderr)
        if res.returncode != 3:
            problems.append("%s: exit %d, expected 3\n    stderr: %s" %
                            (cmd, res.returncode, lwlib.tail(res.stderr, 3)))
        elif not any(h.lower() in res.stderr.lower() for h in hints):
            problems.append("%s: stderr does not mention root/CAP_BPF/CAP_PERFMON:\n    %s"
                            % (cmd, lwlib.tail(res.stderr, 3)))
    check_all(problems)


def test_json_unwritable():
    """--json into a directory that does not exist: the report cannot be
    written, so leakwatch must not claim success (exit 1, or 2 if it
    checks up front), and must name the file."""
    lwlib.require_leakwatch()
    path = "/nonexistent-lwtest-dir/report.json"
    check_all([expect_exit(["-d", "1", "--json", path, "-p", str(sleeper().pid)],
                           [1, 2], [path])])


def test_view_files_unwritable():
    """--folded and --pprof files that cannot be written are refused
    before anything is traced (exit 2), naming the file."""
    lwlib.require_leakwatch()
    pid = str(sleeper().pid)
    path = "/nonexistent-lwtest-dir/out"
    check_all([expect_exit(["-d", "1", flag, path, "-p", pid], [2], [path])
               for flag in ("--folded", "--pprof")])


def in_namespace(setup, args):
    """leakwatch ARGS in a private mount namespace after shell SETUP: the
    machine as a container or an odd kernel shows it, ours untouched."""
    lwlib.require_tool("unshare")
    return lwlib.spawn(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        setup + ' && exec "$@"', "sh", lwlib.LEAKWATCH] + list(args))


def test_missing_kernel_parts_exit_4():
    """No BTF, no uprobe PMU, no sysfs at all: exit 4, each named."""
    lwlib.require_leakwatch()
    cases = [
        ("mount -t tmpfs none /sys/kernel/btf", ["BTF"]),
        ("mount -t tmpfs none /sys/bus/event_source/devices", ["uprobe"]),
        ("umount -l /sys", ["sysfs is not mounted"]),
    ]
    problems = []
    for setup, hints in cases:
        p = in_namespace(setup, ["-d", "1", "--", "/bin/true"])
        rc = p.wait(TIMEOUT)
        if rc is None:
            p.kill()
            problems.append("%s: still running" % setup)
        elif rc != 4 or not any(h in p.stderr for h in hints):
            problems.append("%s: exit %s, stderr %r" % (setup, rc, lwlib.tail(p.stderr, 3)))
    check_all(problems)
