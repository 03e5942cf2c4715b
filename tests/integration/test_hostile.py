"""Hostile input: mangled copies of the suite's own targets (C, C++, Go).

Each copy has random bytes over what the program does not need to run
(symbol tables, DWARF, CFI, notes, section headers), symbol names made
of terminal escapes and invalid UTF-8, and, for launched Go programs,
over .gopclntab, which the Go runtime needs (it may die by itself).
mangle.py writes them from a seed: a failure names the seed and the
command that rebuilds the copy. Each copy runs under leakwatch, launched
(and some attached with -p), and leakwatch must:

- not crash (no signal, no sanitizer report) and not hang;
- exit 0 with a JSON report of strict UTF-8 (and no lone surrogate in
  its strings) and text with no control character but newline, or exit
  6 with one error line;
- leave the target unharmed: still running when leakwatch detaches, then
  its normal exit code (0 after -t); a copy mangled in what it needs
  (.gopclntab) may die, and then the report says the target exited.

The parts that break are each turned off with a message, never the
whole run: a Go binary whose .symtab lies still has its goroutines and
Go heap traced from .gopclntab.
"""

import concurrent.futures
import ctypes
import json
import os
import re
import time
import zlib

import lwlib
import mangle
from lwlib import Skip, check, tmpdir

INTERVAL = 1
DURATION = 3
LIVES = DURATION + 4    # -t of the targets: they outlive leakwatch
TIMEOUT = 40            # per run, a slow start on a loaded machine included
WORKERS = 8             # runs at once: each mostly waits

GO = "1.23"
GOHEAP_SOURCES = ["goheap.go", "goheap_pprof.go", "goheap_nopprof.go"]
C_OPS = ["symtab-all", "symtab-bits", "shuffle", "names", "debug-all",
         "debug-bits", "cfi-all", "cfi-bits", "notes-all", "shstrtab",
         "shdrs", "shcount", "shoff",
         "symtab-bits+debug-bits+cfi-bits+notes-bits",
         "names+debug-all+cfi-all+notes-all+shdrs"]
NOFP_OPS = ["cfi-all", "cfi-bits", "debug-all", "debug-bits", "names",
            "shdrs", "symtab-all+cfi-all"]
CXX_OPS = ["symtab-bits", "shuffle", "names", "debug-all", "debug-bits",
           "notes-all", "shdrs", "names+debug-bits+notes-all"]
GO_OPS = ["symtab-all", "symtab-bits", "shuffle", "names", "gonames",
          "debug-all", "debug-bits", "notes-all", "shstrtab", "shdrs",
          "shcount", "shoff", "symtab-all+debug-all+notes-all",
          "shuffle+gonames+debug-bits"]
GO_PCLNTAB_OPS = ["pclntab-head", "pclntab-bits", "pclntab-all",
                  "symtab-all+pclntab-bits", "gonames+pclntab-bits"]
GOHEAP_OPS = ["shuffle", "symtab-all", "debug-bits", "gonames",
              "pclntab-bits"]
GO119_OPS = ["shuffle", "debug-all", "symtab-bits"]
ATTACH_C = ["names", "symtab-bits", "shdrs", "cfi-bits"]
ATTACH_GO = ["shuffle", "symtab-bits", "gonames", "debug-all"]


class Case:
    """One mangled copy and how it is run."""

    def __init__(self, name, src, ops, args, attach=False, lw_args=()):
        self.name, self.src, self.args, self.attach = name, src, args, attach
        self.lw_args = list(lw_args)
        self.ops = ops.split("+")
        # the seed is the case's own: adding cases changes no other one
        self.seed = zlib.crc32(("%s/%s/%s" % (name, ops, attach)).encode())
        self.may_die = any(o.startswith("pclntab") for o in self.ops)
        self.path = None

    def __str__(self):
        return "%s [%s]%s seed %d" % (self.name, "+".join(self.ops),
                                      " attached" if self.attach else "",
                                      self.seed)

    def build(self, d):
        self.path = os.path.join(d, "%s-%08x" % (self.name, self.seed))
        mangle.mangle(self.src, self.path, self.seed, self.ops)
        return self

    def rebuild(self):
        return "python3 tests/integration/mangle.py %s COPY %d %s" % (
            self.src, self.seed, "+".join(self.ops))


# ---------------------------------------------------------------------------
# Orphans: a launched target outlives leakwatch; as the subreaper of our
# children's children we can wait for it and see its exit code.

PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def subreaper(on):
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0):
        raise Skip("prctl(PR_SET_CHILD_SUBREAPER): %s" %
                   os.strerror(ctypes.get_errno()))


def wait_exit(pid, timeout):
    """Exit status (os.waitstatus_to_exitcode: -N for signal N) of an
    orphan reparented to us, or None if it still runs after timeout."""
    end = time.monotonic() + timeout
    while True:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return "not our child"
        if got == pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= end:
            return None
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# What every run must show

# C0 controls but newline, DEL, and C1 controls (as decoded from UTF-8)
_CONTROL_RE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def text_problems(label, raw):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return ["%s is not UTF-8 (%s): %r" % (label, e,
                                              raw[max(0, e.start - 40):
                                                  e.end + 40])]
    m = _CONTROL_RE.search(text)
    if m:
        return ["%s has control character %r: %r" %
                (label, m.group(0), text[max(0, m.start() - 60):
                                         m.end() + 60])]
    return []


def json_problems(path):
    """The report's bytes are strict UTF-8, it parses, has the schema, and
    no string in it is a lone surrogate (\\udcff and the like)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        return None, ["JSON report not written: %s" % e]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, ["JSON report is not UTF-8 (%s): %r" %
                      (e, raw[max(0, e.start - 60):e.end + 60])]
    try:
        rep = json.loads(text)
    except ValueError as e:
        return None, ["JSON report does not parse: %s" % e]
    problems = []
    try:
        lwlib.check_schema(rep)
    except AssertionError as e:
        problems.append("JSON report: %s" % e)
    for s in lwlib.json_strings(rep):
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            problems.append("JSON report has a lone surrogate in %r" % s)
            break
    return rep, problems


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def runs_copy(path):
    """Whether some process runs the executable at path."""
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and os.readlink("/proc/%s/exe" % p) == path:
                return True
        except OSError:
            pass
    return False


def run_case(case):
    """Runs one case; (problems, report or None, leakwatch Proc)."""
    out = os.path.join(tmpdir(), "report.json")
    args = ["-i", str(INTERVAL), "-d", str(DURATION), "-n", "20",
            "--json", out] + case.lw_args
    tgt = None
    if case.attach:
        env, pidfile = lwlib.pidfile_env()
        tgt = lwlib.spawn([case.path] + case.args, env=env)
        if not lwlib.wait_for(lambda: lwlib.read_text(pidfile).strip() or
                              "ready" in tgt.stdout, 10):
            return (["the copy did not start by itself (mangled in what "
                     "it needs?):\n" + tgt.describe()], None, None)
        args += ["-p", str(tgt.pid)]
    else:
        args += ["--"] + [case.path] + case.args
    lw = lwlib.leakwatch(args)
    rc = lw.wait(TIMEOUT)
    problems = []
    if rc is None:
        lw.kill()
        return (["leakwatch hangs: still running after %d s" % TIMEOUT],
                None, lw)
    err = read_bytes(lw.err_path)
    stdout = read_bytes(lw.out_path)
    if rc < 0:
        problems.append("leakwatch died of signal %d" % -rc)
    for word in (b"Sanitizer", b"runtime error:", b"Segmentation fault",
                 b"Assertion"):
        if word in err:
            problems.append("stderr has %r" % word.decode())
    problems += text_problems("text report (stdout)", stdout)
    # a launched target writes to the same stderr (a dying Go runtime its
    # traceback): leakwatch's own lines are those it prefixes
    ours = [l for l in err.split(b"\n") if l.startswith(b"leakwatch:")]
    problems += text_problems("stderr", b"\n".join(ours))
    errors = [l.decode("utf-8", "replace") for l in ours
              if l.startswith(b"leakwatch: error:")]
    rep = None
    if rc == 6:
        if len(errors) != 1:
            problems.append("exit 6 with %d error lines, expected one" %
                            len(errors))
    elif rc == 0:
        rep, more = json_problems(out)
        problems += more
        if errors:
            problems.append("exit 0 with error lines: %s" % errors)
    elif rc is not None and rc >= 0:
        problems.append("exit %d: expected 0 or 6" % rc)
    problems += target_problems(case, tgt, rc, stdout.decode("utf-8",
                                                              "replace"))
    return problems, rep, lw


def target_problems(case, tgt, rc, stdout):
    """The target unharmed: running when leakwatch leaves, then exiting
    by itself with 0 (after -t); or, mangled in what it needs, dead by
    itself and the report saying so."""
    if tgt is not None:  # attached: ours
        if tgt.poll() is not None:
            return ["the target exited (%d) while attached" % tgt.poll()]
        patches = lwlib.text_patches(tgt.pid)
        if patches:
            return ["the target's text is patched after leakwatch: %s" %
                    patches[:3]]
        return exit_problems(case, tgt.pid, lambda t: tgt.wait(t))
    m = re.search(r"watching pid (\d+)", stdout)
    if not m:
        # refused before the exec: the command must never have run
        if rc == 6 and not runs_copy(case.path):
            return []
        return ["no 'watching pid' line, exit %s" % rc]
    pid = int(m.group(1))
    lwlib.PidProc(pid, case.path)
    if re.search(r"detached; pid %d keeps running" % pid, stdout):
        return exit_problems(case, pid, lambda t: wait_exit(pid, t))
    if re.search(r"target %d exited" % pid, stdout):
        if not case.may_die:
            return ["the target (mangled in nothing it needs) exited "
                    "under leakwatch"]
        return []
    return ["the report says neither that pid %d keeps running nor that "
            "it exited" % pid]


def exit_problems(case, pid, wait):
    if "-t" not in case.args:  # runs until killed: it must be running
        if not lwlib.pid_alive(pid):
            return ["the target is gone after leakwatch left"]
        os.kill(pid, 9)
        wait(5)
        return []
    code = wait(LIVES + 10)
    if code is None:
        return ["the target still runs %d s after its -t %d" %
                (LIVES + 10, LIVES)]
    if code != 0 and not case.may_die:
        return ["the target exited with %s, not 0" % code]
    return []


def run_cases(cases):
    """Every case, WORKERS at once; fails with every problem found. The
    reports of the cases, by name+ops, for further checks."""
    lwlib.require_leakwatch()
    d = tmpdir()
    for c in cases:
        c.build(d)
    subreaper(True)
    try:
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(run_case, cases))
    finally:
        subreaper(False)
    problems, reports = [], {}
    for case, (probs, rep, lw) in zip(cases, results):
        reports[str(case)] = (rep, lw)
        if probs:
            problems.append("%s:\n    %s\n    rebuild: %s%s" % (
                case, "\n    ".join(probs), case.rebuild(),
                ("\n" + lwlib.tail(lw.describe(), 12)) if lw else ""))
    check(not problems, "%d of %d runs:\n%s" % (
        len(problems), len(cases), "\n".join(problems)))
    return reports


# ---------------------------------------------------------------------------
# The cases


def c_cases():
    leaky, nofp = lwlib.target("leaky"), lwlib.target("nofp")
    t = ["-q", "-t", str(LIVES)]
    return ([Case("leaky", leaky, ops, t) for ops in C_OPS] +
            [Case("nofp", nofp, ops, t) for ops in NOFP_OPS] +
            [Case("leaky", leaky, ops, t, attach=True) for ops in ATTACH_C])


def go_cases():
    goleak = lwlib.build_go(["goleak.go"], GO)
    goheap = lwlib.build_go(GOHEAP_SOURCES, GO)
    t = ["-t", str(LIVES)]
    cases = [Case("goleak", goleak, ops, t) for ops in GO_OPS]
    cases += [Case("goleak", goleak, ops, t) for ops in GO_PCLNTAB_OPS]
    cases += [Case("goheap", goheap, ops, t) for ops in GOHEAP_OPS]
    cases += [Case("goleak", goleak, ops, t, attach=True)
              for ops in ATTACH_GO]
    return cases


def test_mangled_c():
    run_cases(c_cases())


def test_mangled_cxx():
    cxx = lwlib.target("cxxleak")
    run_cases([Case("cxxleak", cxx, ops, []) for ops in CXX_OPS] +
              [Case("cxxleak", cxx, "names", [], attach=True)])


def test_mangled_go():
    cases = go_cases()
    try:
        go119 = lwlib.build_go(["goleak.go"], "1.19")
        cases += [Case("goleak-1.19", go119, ops, ["-t", str(LIVES)])
                  for ops in GO119_OPS]
    except Skip:
        pass
    run_cases(cases)


# ---------------------------------------------------------------------------
# A broken part turns off that part only, and says so


def stderr_of(lw):
    return lwlib.read_text(lw.err_path) if lw else ""


def test_go_lying_symtab_keeps_goroutines_and_heap():
    """.symtab's functions dealt out at random (a table that parses, and
    lies): goroutines and the Go heap are still traced, from .gopclntab,
    the table the Go runtime itself runs on."""
    goleak = lwlib.build_go(["goleak.go"], GO)
    goheap = lwlib.build_go(GOHEAP_SOURCES, GO)
    t = ["-t", str(LIVES)]
    leak = Case("goleak", goleak, "shuffle", t, lw_args=["-v"])
    heap = Case("goheap", goheap, "shuffle", t, lw_args=["-v"])
    reports = run_cases([leak, heap])
    # the probes are where the intact .symtab says the functions are
    for case, names in ((leak, ("runtime.newproc1", "runtime.goexit1")),
                        (heap, ("runtime.(*mcache).refill",
                                "runtime.(*mcache).allocLarge"))):
        want = mangle.func_offsets(case.src, set(names))
        err = stderr_of(reports[str(case)][1])
        for name in names:
            at = re.findall(r"probe %s \S+\+0x([0-9a-f]+) " %
                            re.escape(name), err)
            check(at and all(int(a, 16) == want[name] for a in at),
                  "%s: %s probed at %s, not at +0x%x:\n%s" %
                  (case, name, at, want[name], lwlib.tail(err, 12)))
    marks = set(lwlib.go_markers("goleak.go").values())
    rep, lw = reports[str(leak)]
    check(rep is not None, "%s: no report:\n%s" % (leak, lw.describe()))
    found = [s for s in rep["sites"] if s["kind"] == "goroutine" and
             s["stack"] and lwlib.frame_file(s["stack"][0]) == "goleak.go"
             and s["stack"][0].get("line") in marks]
    check(found, "%s: no goroutine site at a goleak.go marker:%s\n%s" %
          (leak, lwlib.fmt_sites(rep["sites"]), lw.describe()))
    rep, lw = reports[str(heap)]
    check(rep is not None, "%s: no report:\n%s" % (heap, lw.describe()))
    gh = rep.get("go_heap") or {}
    check(gh.get("mechanism") == "sample" and
          rep["stats"].get("go_heap_samples", 0) > 0,
          "%s: Go heap %r, %s samples, expected sampled:\n%s" %
          (heap, gh, rep["stats"].get("go_heap_samples"), lw.describe()))


def test_broken_parts_say_so():
    """Garbage CFI, DWARF, .gopclntab or section headers: one warning
    each, the rest traced; or, when nothing is left to trace, exit 6
    saying why."""
    goleak = lwlib.build_go(["goleak.go"], GO)
    nofp, leaky = lwlib.target("nofp"), lwlib.target("leaky")
    t, tq = ["-t", str(LIVES)], ["-q", "-t", str(LIVES)]
    cases = [
        # (case, exit, what stderr says, a function with a site)
        (Case("nofp", nofp, "cfi-all", tq), 0, "CFI is malformed",
         "leak_direct"),
        (Case("leaky", leaky, "debug-all", tq), 0, "DWARF is malformed",
         "leak_malloc"),
        (Case("goleak", goleak, "pclntab-head", t), 0,
         ".gopclntab is malformed", None),
        (Case("goleak", goleak, "shdrs", t), 6,
         "section headers are unreadable", None),
        (Case("goleak", goleak, "symtab-all+pclntab-all", t), 6,
         "goroutine probes cannot be placed", None),
    ]
    reports = run_cases([c[0] for c in cases])
    problems = []
    for case, code, says, func in cases:
        rep, lw = reports[str(case)]
        err = stderr_of(lw)
        if lw.poll() != code:
            problems.append("%s: exit %s, expected %d" %
                            (case, lw.poll(), code))
        if says not in err:
            problems.append("%s: stderr does not say %r:\n%s" %
                            (case, says, lwlib.tail(err, 5)))
        if func and not (rep and any(
                lwlib.frame0(s).get("symbol") == func for s in rep["sites"])):
            problems.append("%s: no site at %s:%s" %
                            (case, func, lwlib.fmt_sites(
                                rep["sites"] if rep else [])))
    check(not problems, "\n".join(problems))
