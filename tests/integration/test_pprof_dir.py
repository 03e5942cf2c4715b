"""--pprof-dir DIR and --pprof-keep N: a history of pprof profiles, one
file per process per report and one at the end, named
COMM-PID.yyyymmddThhmmss.mmmZ.pb.gz (UTC), each one `go tool pprof` reads
and `-diff_base OLD NEW` compares; --pprof-keep keeps a process's N newest
and removes nothing else; bad values and an unusable DIR exit 2 before
anything is traced; a DIR gone during the run costs a message per report,
and the files come back with it."""

import calendar
import os
import re
import shutil
import time

import lwlib
import test_views_pprof as vp
from lwlib import check, tmpdir

NAME_RE = re.compile(r"^(.+)-(\d+)\.(\d{8}T\d{6})\.(\d{3})Z\.pb\.gz$")


def stamp_time(name):
    """A file's stamp as seconds since the epoch (the stamp is UTC)."""
    m = NAME_RE.match(name)
    check(m, "%r is not COMM-PID.yyyymmddThhmmss.mmmZ.pb.gz" % name)
    t = time.strptime(m.group(3), "%Y%m%dT%H%M%S")
    return calendar.timegm(t) + int(m.group(4)) / 1000


def files_of(d, comm, pid):
    """The names of (comm, pid)'s profiles in d, oldest first."""
    out = []
    for name in os.listdir(d):
        m = NAME_RE.match(name)
        if m and m.group(1) == comm and int(m.group(2)) == pid:
            out.append(name)
    return sorted(out)


def leak_funcs():
    return {m.func for (kind, _), m in lwlib.markers("leaky.c").items()
            if kind == "LEAK"}


def check_top(path, pid):
    """go tool pprof -top reads the file, names a leak of leaky and says
    whose profile it is (the comments)."""
    res = vp.pprof(["-top", "-sample_index=inuse_space"], path)
    check(res.returncode == 0, "go tool pprof -top %s failed (%d):\n%s" %
          (os.path.basename(path), res.returncode, lwlib.tail(res.stderr)))
    named = [f for f in leak_funcs()
             if re.search(r"\s%s\s*$" % re.escape(f), res.stdout, re.M)]
    check(named, "go tool pprof -top %s names no leak of leaky (%s):\n%s" %
          (os.path.basename(path), sorted(leak_funcs()), res.stdout))
    check("target: pid %d " % pid in res.stdout,
          "%s is not pid %d's profile:\n%s" % (os.path.basename(path), pid,
                                               res.stdout[:600]))
    return res.stdout


def leak_bytes(path):
    """inuse_space of the samples whose innermost frame is a leak."""
    prof = vp.read_back(path)
    funcs, total = leak_funcs(), 0
    for s in prof["samples"]:
        first = prof["locations"][s["locs"][0]]["lines"]
        if any(ln["name"] in funcs for ln in first):
            total += s["values"][1]
    return total


def no_tmp_left(d):
    left = [n for n in os.listdir(d) if n.endswith(".tmp")]
    check(not left, "temporary files left in --pprof-dir: %s" % left)


def test_pprof_dir_history():
    """-i 1 -d 6 on a launched leaky: a file a report and one at the end
    (about 6), stamps increasing by about the interval from when the run
    began (UTC); each opens in go tool pprof and names the leaks; the
    last is the final JSON report's sites; -diff_base first last shows
    the leaks growing."""
    lwlib.require_leakwatch()
    vp.go_tool()
    d = tmpdir()
    out = os.path.join(tmpdir(), "report.json")
    env, pidfile = lwlib.pidfile_env()
    exe = lwlib.target("leaky")
    began = time.time()
    lw = lwlib.leakwatch(["-i", "1", "-d", "6", "--json", out,
                          "--pprof-dir", d, "--", exe, "-q", "-t", "20"],
                         env=env)
    pid = lwlib.launched_pid(pidfile, exe)
    check(pid, "leaky never started under leakwatch:\n" + lw.describe())
    lwlib.finish(lw, 40)
    rep = lwlib.load_report(out, lw)
    check(rep["target"]["pid"] == pid, "the report's target is %r, not %d" %
          (rep["target"], pid))
    names = files_of(d, "leaky", pid)
    others = sorted(set(os.listdir(d)) - set(names))
    check(not others, "files not of leaky-%d in --pprof-dir: %s" % (pid, others))
    check(5 <= len(names) <= 7,
          "%d profiles for -i 1 -d 6 (5 reports and the final one): %s" %
          (len(names), names))
    no_tmp_left(d)
    times = [stamp_time(n) for n in names]
    gaps = [b - a for a, b in zip(times, times[1:])]
    check(all(g > 0 for g in gaps), "stamps do not increase: %s" % names)
    check(began < times[0] < began + 4 and times[-1] < time.time() + 1,
          "stamps %s are not UTC times of the run (began %.3f)" %
          (names, began))
    check(4 <= times[-1] - times[0] <= 7,
          "stamps span %.1f s, the run 6 s: %s" % (times[-1] - times[0], names))
    for n in names:
        check_top(os.path.join(d, n), pid)
    vp.check_same(rep, vp.read_back(os.path.join(d, names[-1])))
    first, last = os.path.join(d, names[0]), os.path.join(d, names[-1])
    b0, b1 = leak_bytes(first), leak_bytes(last)
    check(b1 > b0 > 0, "leaks were %d bytes in the first profile, %d in the "
          "last" % (b0, b1))
    res = vp.pprof(["-top", "-sample_index=inuse_space", "-diff_base", first],
                   last)
    check(res.returncode == 0, "go tool pprof -diff_base failed (%d):\n%s" %
          (res.returncode, lwlib.tail(res.stderr)))
    grown = [l for l in res.stdout.splitlines()
             if l.split() and l.split()[-1] in leak_funcs() and
             re.match(r"\s*\d", l)]
    check(grown, "go tool pprof -diff_base first last shows no leak growing:"
          "\n%s" % res.stdout)


def test_pprof_dir_keep():
    """--pprof-keep 3 (-p, -i 0.5 -d 4): at most 3 of the process's files
    (and the one being added) at any time, the 3 newest at the end; an
    older file of the same process's form goes; notes.txt, a profile of
    another name and another process's file of the same form stay."""
    lwlib.require_leakwatch()
    tgt = lwlib.start_target("leaky", ["-q", "-t", "30"])
    d = tmpdir()
    old = "leaky-%d.20000101T000000.000Z.pb.gz" % tgt.pid
    keep = ["notes.txt", "another-name.pb.gz",
            "leaky-%d.20000101T000000.000Z.pb.gz" % (tgt.pid + 1),
            "leaky-%d.latest.pb.gz" % tgt.pid]
    for n in keep + [old]:
        with open(os.path.join(d, n), "w") as f:
            f.write("not leakwatch's\n")
    lw = lwlib.leakwatch(["-i", "0.5", "-d", "4", "--pprof-dir", d,
                          "--pprof-keep", "3", "-p", str(tgt.pid)])
    seen, most = set(), 0
    while lw.poll() is None:
        now = [n for n in files_of(d, "leaky", tgt.pid) if n != old]
        seen.update(now)
        most = max(most, len(now))
        time.sleep(0.05)
    lwlib.finish(lw, 5)
    left = files_of(d, "leaky", tgt.pid)
    check(len(seen) >= 6, "only %d profiles seen in a -i 0.5 -d 4 run: %s" %
          (len(seen), sorted(seen)))
    check(most <= 4, "%d of the process's files at once under --pprof-keep 3"
          % most)
    check(left == sorted(seen)[-3:],
          "left %s, not the 3 newest of %s" % (left, sorted(seen)))
    check(old not in os.listdir(d), "the older %s was kept" % old)
    gone = [n for n in keep if not os.path.exists(os.path.join(d, n))]
    check(not gone, "--pprof-keep removed files of other names: %s" % gone)
    no_tmp_left(d)
    check_top(os.path.join(d, left[-1]), tgt.pid)


def start_named(name):
    """leaky under a comm of its own (--comm finds it alone)."""
    exe = os.path.join(tmpdir(), name)
    shutil.copy(lwlib.target("leaky"), exe)
    return lwlib.spawn([exe, "-q", "-t", "30"])


def test_pprof_dir_system():
    """System-wide (-a, --comm choosing two leaky copies, each traced in
    depth at once): a file series per process, each file that process's
    own profile; the others of the machine are not written."""
    lwlib.require_leakwatch()
    vp.go_tool()
    procs = [start_named("lwpdsysa"), start_named("lwpdsysb")]
    time.sleep(0.3)
    d = tmpdir()
    lw = lwlib.leakwatch(["-a", "--comm", "lwpdsys*", "-i", "0.5", "-d", "3",
                          "--pprof-dir", d])
    lwlib.finish(lw, 40)
    for p in procs:
        names = files_of(d, p.name, p.pid)
        check(len(names) >= 3, "%d profiles of %s (pid %d) in -i 0.5 -d 3: "
              "%s\n%s" % (len(names), p.name, p.pid, sorted(os.listdir(d)),
                          lw.describe()))
        check_top(os.path.join(d, names[-1]), p.pid)
    ours = {(p.name, p.pid) for p in procs}
    for n in os.listdir(d):
        m = NAME_RE.match(n)
        check(m and (m.group(1), int(m.group(2))) in ours,
              "%s in --pprof-dir is of no process --comm chose" % n)
    no_tmp_left(d)


def test_pprof_dir_all():
    """-a, the whole machine: leaky is zoomed by triage, and from then on
    it has its series (other processes zoomed have theirs)."""
    import test_system as ts
    lwlib.require_leakwatch()
    leaky = ts.start(lwlib.target("leaky"), ["-q", "-t", "60"])
    d = tmpdir()
    lw = lwlib.leakwatch(["-a", "-i", "0.5", "-d", "11", "--zoom", "8",
                          "--pprof-dir", d])
    # triage needs 12 samples (6 s) before it zooms
    check(lwlib.wait_for(lambda: ts.zoom_lines(lw.stdout, leaky.pid), 10),
          "leaky (pid %d) was not zoomed in 10 s:\n%s" %
          (leaky.pid, lwlib.tail(lw.stdout, 40)))
    lwlib.finish(lw, 40)
    names = files_of(d, "leaky", leaky.pid)
    check(len(names) >= 3, "%d profiles of leaky (pid %d), zoomed for 1 s "
          "or more of -i 0.5: %s" % (len(names), leaky.pid,
                                     sorted(os.listdir(d))))
    bad = [n for n in os.listdir(d) if not NAME_RE.match(n)]
    check(not bad, "files of other names in --pprof-dir: %s" % bad)
    check_top(os.path.join(d, names[-1]), leaky.pid)


def test_pprof_dir_top():
    """leakwatch top writes the files too, while its view is up."""
    import test_top as tt
    lwlib.require_leakwatch()
    tgt = lwlib.start_target("leaky", ["-q", "-t", "30"])
    d = tmpdir()
    tm, pid, rcfile = tt.start_top(["-i", "0.5", "-d", "4", "--pprof-dir", d,
                                    "-p", str(tgt.pid)])
    try:
        check(lwlib.wait_for(lambda: len(files_of(d, "leaky", tgt.pid)) >= 2,
                             3.5),
              "no profiles in the view's first 3.5 s\n" +
              tt.describe(tm.screen()))
        check(not lwlib.read_text(rcfile) and lwlib.pid_alive(pid),
              "the view ended before its -d 4")
        rc = lwlib.wait_for(lambda: lwlib.read_text(rcfile).strip(), 20)
        check(rc == "rc=0", "leakwatch top -d 4 ended with %r\n%s" %
              (rc, tt.describe(tm.history())))
    finally:
        tm.kill()
    names = files_of(d, "leaky", tgt.pid)
    check(len(names) >= 5, "%d profiles from top -i 0.5 -d 4: %s" %
          (len(names), names))
    check_top(os.path.join(d, names[-1]), tgt.pid)


def test_pprof_dir_gone_and_back():
    """DIR taken away during the run: each report says it cannot write
    (leakwatch runs on); DIR back: the files are written again, and the
    run ends well."""
    lwlib.require_leakwatch()
    tgt = lwlib.start_target("leaky", ["-q", "-t", "30"])
    d = os.path.join(tmpdir(), "profiles")
    os.mkdir(d)
    lw = lwlib.leakwatch(["-i", "0.5", "-d", "5", "--pprof-dir", d,
                          "-p", str(tgt.pid)])
    check(lwlib.wait_for(lambda: files_of(d, "leaky", tgt.pid), 5),
          "no profile after the first report:\n" + lw.describe())
    os.rename(d, d + ".away")
    check(lwlib.wait_for(lambda: lw.stderr.count("cannot write %s/" % d) >= 2,
                         4),
          "no message per report with DIR gone:\n" + lw.describe())
    check(lw.poll() is None, "leakwatch ended with DIR gone:\n" + lw.describe())
    os.mkdir(d)
    check(lwlib.wait_for(lambda: files_of(d, "leaky", tgt.pid), 3),
          "no profile once DIR is back:\n" + lw.describe())
    lwlib.finish(lw, 10)


def test_pprof_dir_bad_values():
    """Exit 2 with a message, before the command is launched."""
    lwlib.require_leakwatch()
    d = tmpdir()
    plain = os.path.join(d, "file")
    with open(plain, "w") as f:
        f.write("x\n")
    cases = [
        (["--pprof-dir", d, "--pprof-keep", "-1"], "--pprof-keep"),
        (["--pprof-dir", d, "--pprof-keep", "abc"], "--pprof-keep"),
        (["--pprof-dir", d, "--pprof-keep", "1000001"], "--pprof-keep"),
        (["--pprof-dir", d, "--pprof-keep", ""], "--pprof-keep"),
        (["--pprof-keep", "3"], "--pprof-dir"),
        (["--pprof-dir", os.path.join(d, "missing")], "No such file"),
        (["--pprof-dir", plain], "not a directory"),
        (["--pprof-dir", "/proc"], "cannot create files"),
        (["--pprof-dir", ""], "--pprof-dir"),
    ]
    exe = lwlib.target("leaky")
    for args, says in cases:
        env, pidfile = lwlib.pidfile_env()
        lw = lwlib.run_leakwatch(args + ["--", exe, "-q", "-t", "5"], 20,
                                 env=env)
        what = "leakwatch %s" % " ".join(args)
        check(lw.popen.returncode == 2, "%s exited %r, not 2 (usage):\n%s" %
              (what, lw.popen.returncode, lw.describe()))
        check(says in lw.stderr, "%s: the message does not say %r:\n%s" %
              (what, says, lw.describe()))
        check(not os.path.exists(pidfile),
              "%s launched the command before refusing" % what)
    check(sorted(os.listdir(d)) == ["file"],
          "the checks left files in DIR: %s" % os.listdir(d))
