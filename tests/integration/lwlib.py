"""Helpers for the leakwatch integration tests (python3 stdlib only).

A test is a function named test_* in a tests/integration/test_*.py module.
It passes by returning, fails by raising AssertionError (use check()), and
is skipped by raising Skip. Everything a test starts goes through spawn()
(or, when leakwatch launched it, launched_pid()), so that tests/run.py can
kill it afterwards, whatever happened.
"""

import atexit
import concurrent.futures
import json
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS_SRC = os.path.join(ROOT, "tests", "targets")
BUILD = os.path.join(ROOT, "build", "tests")

# tests/run.py --leakwatch overrides this.
LEAKWATCH = os.environ.get("LEAKWATCH", os.path.join(ROOT, "leakwatch"))

CFLAGS_O1 = ["-O1", "-g", "-fno-omit-frame-pointer"]
CFLAGS_O2 = ["-O2", "-g", "-fno-omit-frame-pointer"]
# As distributions build: no frame pointers (CFI in .eh_frame only).
CFLAGS_NOFP = ["-O2", "-g", "-fomit-frame-pointer"]

# Target binaries: name -> (sources, cflags, extra link flags).
TARGETS = {
    "leaky": (["leaky.c", "churn.c"], CFLAGS_O1, ["-pthread"]),
    "leaky-O2": (["leaky.c", "churn.c"], CFLAGS_O2, ["-pthread"]),
    "exact": (["exact.c"], CFLAGS_O1, ["-pthread"]),
    "exact-O2": (["exact.c"], CFLAGS_O2, ["-pthread"]),
    "steady": (["steady.c", "churn.c"], CFLAGS_O1, ["-pthread"]),
    # many live blocks of known total: the sampler's estimate
    "manylive": (["manylive.c"], CFLAGS_O1, []),
    "mapbusy": (["mapbusy.c"], CFLAGS_O1, ["-pthread"]),
    # churn only, whose --sample estimates wander (test_sample_noise.py)
    "noisy": (["noisy.c"], CFLAGS_O1, []),
    "threads": (["threads.c"], CFLAGS_O1, ["-pthread"]),
    "threads-cxx": (["threads_cxx.cc"], CFLAGS_O2, ["-pthread"]),
    "cxxleak": (["cxxleak.cc"], CFLAGS_O2, []),
    "pipeleak": (["pipeleak.c"], CFLAGS_O1, []),
    # hostile names: escape sequences and invalid UTF-8 in its symbols,
    # file name, comm and the paths it opens (test_hostile_names.py)
    "hostile": (["hostile.c"], CFLAGS_O1, []),
    # a '"', a backslash and a newline in its names (test_prometheus.py)
    "promnames": (["promnames.c"], CFLAGS_O1, ["-rdynamic"]),
    # the same program and its own shared library, without and with
    # frame pointers: the sites must be the same
    # ("dl:" libraries are built, not linked: dlopen'ed by -P)
    "nofp": (["nofp.c"], CFLAGS_NOFP, [],
             {"libnofp": ["libnofp.c"], "dl:libplugin": ["libnofp.c"]}),
    "nofp-fp": (["nofp.c"], CFLAGS_O2, [], {"libnofp": ["libnofp.c"]}),
    # through Debian's libglib, built without frame pointers
    "glibleak": (["glibleak.c"], CFLAGS_NOFP, ["pkg-config:glib-2.0"]),
}

# Public allocator entry points: never the first frame of a site (the
# stack starts at the allocator's caller, nested calls are not counted).
ALLOCATOR_SYMBOLS = {
    "malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
    "aligned_alloc", "memalign", "valloc", "pvalloc", "mmap", "mmap64",
    "munmap", "mremap", "__libc_malloc", "__libc_calloc", "__libc_realloc",
    "__libc_memalign", "__libc_valloc", "__libc_pvalloc", "__libc_free",
    "__posix_memalign", "__mmap", "__munmap", "__mremap",
}


class Skip(Exception):
    """The test cannot run here; the message says why."""


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


# ---------------------------------------------------------------------------
# Preconditions


def require_root():
    if os.geteuid() != 0:
        raise Skip("needs root")


def require_btf():
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        raise Skip("kernel has no BTF (/sys/kernel/btf/vmlinux)")


def require_leakwatch():
    """Skip unless leakwatch can run at all: binary, root, BTF."""
    if not os.path.isfile(LEAKWATCH):
        raise Skip("%s missing (run make)" % LEAKWATCH)
    if not os.access(LEAKWATCH, os.X_OK):
        raise Skip("%s is not executable" % LEAKWATCH)
    require_root()
    require_btf()


def require_tool(name):
    path = shutil.which(name)
    if not path:
        raise Skip("%s not installed" % name)
    return path


# ---------------------------------------------------------------------------
# Targets

_built = {}


def build_dir():
    """build/tests/, or a private directory if that is not writable."""
    global BUILD
    try:
        os.makedirs(BUILD, exist_ok=True)
        if not os.access(BUILD, os.W_OK):
            raise PermissionError(BUILD)
    except OSError:
        BUILD = tempfile.mkdtemp(prefix="lwtest-build-")
        atexit.register(shutil.rmtree, BUILD, True)
    return BUILD


def target(name):
    """Path of a target binary, built on first use into build/tests/."""
    if name in _built:
        return _built[name]
    srcs, cflags, ldflags = TARGETS[name][:3]
    shared = TARGETS[name][3] if len(TARGETS[name]) > 3 else {}
    if any(s.endswith(".cc") for s in srcs):
        cc = shutil.which("c++") or shutil.which("g++")
        if not cc:
            raise Skip("no C++ compiler (c++)")
    else:
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            raise Skip("no C compiler (cc)")
    out = os.path.join(build_dir(), name)
    ldflags = _pkg_flags(ldflags)
    if shared:
        # each variant's libraries in a directory of its own, found by rpath
        libdir = out + ".libs"
        os.makedirs(libdir, exist_ok=True)
        for lib, lsrcs in shared.items():
            dl = lib.startswith("dl:")
            lib = lib[3:] if dl else lib
            so = os.path.join(libdir, lib + ".so")
            _compile([cc] + cflags + ["-fPIC", "-shared", "-Wall", "-Wextra",
                                      "-I", TARGETS_SRC, "-o", so] +
                     [os.path.join(TARGETS_SRC, s) for s in lsrcs], name)
            if not dl:
                ldflags = ldflags + ["-L", libdir, "-l" + lib[3:],
                                     "-Wl,-rpath," + libdir]
    cmd = [cc] + cflags + ["-Wall", "-Wextra", "-o", out]
    cmd += [os.path.join(TARGETS_SRC, s) for s in srcs] + ldflags
    _compile(cmd, name)
    _built[name] = out
    return out


def _pkg_flags(flags):
    """"pkg-config:NAME" becomes NAME's compile and link flags."""
    out = []
    for f in flags:
        if not f.startswith("pkg-config:"):
            out.append(f)
            continue
        pkg = f.split(":", 1)[1]
        res = subprocess.run(["pkg-config", "--cflags", "--libs", pkg],
                             capture_output=True, text=True)
        # make deps installs it: its absence is a bug in the suite
        check(res.returncode == 0, "pkg-config %s: %s (make deps installs it)"
              % (pkg, res.stderr.strip()))
        out += res.stdout.split()
    return out


def _compile(cmd, name):
    res = subprocess.run(cmd, capture_output=True, text=True)
    # A target that does not build is a bug in the suite: fail, not skip.
    check(res.returncode == 0, "building %s failed: %s\n%s" %
          (name, " ".join(cmd), res.stderr))
    check("warning" not in res.stderr,
          "building %s warns:\n%s" % (name, res.stderr))


def source(name):
    return os.path.join(TARGETS_SRC, name)


class Marker:
    """A LEAK:<name> or NOLEAK:<name> comment in a target source file."""

    def __init__(self, kind, name, file, line, func):
        self.kind, self.name, self.file = kind, name, file
        self.line, self.func = line, func

    def __repr__(self):
        return "%s:%s (%s:%d in %s)" % (self.kind, self.name,
                                        os.path.basename(self.file),
                                        self.line, self.func)


_FUNC_RE = re.compile(r"^[A-Za-z_].*?\b([A-Za-z_]\w*)\s*\(")
_MARK_RE = re.compile(r"/\*\s*(LEAK|NOLEAK):([\w]+)\s*\*/")


def markers(filename):
    """All markers of a target source, keyed by (kind, name).

    The enclosing function of a marker is the last line above it that
    starts in column 0 with a declaration containing '(' (kernel style).
    """
    path = source(filename)
    found, func = {}, None
    with open(path) as f:
        for lineno, text in enumerate(f, 1):
            m = _FUNC_RE.match(text)
            if m and not text.startswith(("#", "/*", " *")):
                func = m.group(1)
            for m in _MARK_RE.finditer(text):
                key = (m.group(1), m.group(2))
                check(key not in found, "marker %s:%s appears twice in %s" %
                      (key[0], key[1], filename))
                found[key] = Marker(m.group(1), m.group(2), path, lineno, func)
    return found


# ---------------------------------------------------------------------------
# Go targets

# The Go toolchains Debian ships (1.19) and backports (1.21..1.23).
GO_TOOLCHAINS = {v: "/usr/lib/go-%s/bin/go" % v
                 for v in ("1.19", "1.21", "1.22", "1.23")}

_go_built = {}
_GO_BUILD_RE = re.compile(r"^//go:build\s+(.*)$")
_GO_EXPR_RE = re.compile(r"\s*(\(|\)|!|&&|\|\||[\w.]+)")


def _go_constraint_ok(path, tags, version):
    """Whether the //go:build line of a Go file (if any) holds for these
    tags: `go build` ignores the constraints of files named on its command
    line, so build_go applies them itself."""
    expr = None
    with open(path) as f:
        for text in f:
            if text.startswith("package "):
                break
            m = _GO_BUILD_RE.match(text.strip())
            if m:
                expr = m.group(1)
    if expr is None:
        return True
    minor = int(version.split(".")[1])
    have = set(tags) | {"linux", "unix", "gc", "amd64"} | {
        "go1.%d" % i for i in range(1, minor + 1)}
    words = {"(": "(", ")": ")", "!": " not ", "&&": " and ", "||": " or "}
    py, pos = [], 0
    while pos < len(expr.rstrip()):
        m = _GO_EXPR_RE.match(expr, pos)
        check(m is not None, "%s: cannot read //go:build %s" % (path, expr))
        tok = m.group(1)
        py.append(words.get(tok, " %s " % (tok in have)))
        pos = m.end()
    return bool(eval("".join(py), {"__builtins__": {}}))


def build_go(src_names, version, stripped=False, tags=(), out_name=None,
             pie=False, cgo=False):
    """A Go program of tests/targets/ sources built by one toolchain, cached
    per (sources, version, stripped, tags, pie, cgo). Sources whose
    //go:build line the tags do not satisfy are left out, as `go build`
    would in a package directory. The binary is build/tests/<out_name>, by
    default <first source>-<version>[-stripped][-pie][-cgo][-<tag>...]."""
    if isinstance(src_names, str):
        src_names = [src_names]
    tags = tuple(sorted(tags))
    key = (tuple(src_names), version, stripped, tags, out_name, pie, cgo)
    if key in _go_built:
        return _go_built[key]
    go = GO_TOOLCHAINS.get(version, "/usr/lib/go-%s/bin/go" % version)
    if not os.access(go, os.X_OK):
        raise Skip("Go %s is not installed (%s)" % (version, go))
    if out_name is None:
        out_name = "%s-%s%s%s%s%s" % (
            os.path.splitext(src_names[0])[0], version,
            "-stripped" if stripped else "", "-pie" if pie else "",
            "-cgo" if cgo else "", "".join("-" + t for t in tags))
    out = os.path.join(build_dir(), out_name)
    cache = os.environ.get("LW_GOCACHE") or os.path.join(build_dir(),
                                                         "gocache")
    env = dict(os.environ, HOME=build_dir(), GOCACHE=cache,
               GOFLAGS="-mod=mod", GO111MODULE="off",
               CGO_ENABLED="1" if cgo else "0")
    cmd = [go, "build", "-o", out]
    if pie:
        cmd.append("-buildmode=pie")
    if tags:
        cmd.append("-tags=" + ",".join(tags))
    if stripped:
        cmd.append("-ldflags=-s -w")
    cmd += [source(s) for s in src_names
            if _go_constraint_ok(source(s), tags, version)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    check(res.returncode == 0, "building %s with Go %s failed:\n%s" %
          (" ".join(src_names), version, res.stderr))
    _go_built[key] = out
    return out


_GO_MARK_RE = re.compile(r"//\s*((?:LEAK|CHURN|FIXED):[\w-]+)")


def go_markers(filename):
    """{"LEAK:name" or "CHURN:name" (or "FIXED:name"): line} from the marker
    comments of a Go source in tests/targets/."""
    found = {}
    with open(source(filename)) as f:
        for lineno, text in enumerate(f, 1):
            for m in _GO_MARK_RE.finditer(text):
                check(m.group(1) not in found, "marker %s appears twice in %s"
                      % (m.group(1), filename))
                found[m.group(1)] = lineno
    return found


_HEAP_HEADER_RE = re.compile(
    r"heap profile: (\d+): (\d+) \[(\d+): (\d+)\] @ heap/(\d+)")
_HEAP_RECORD_RE = re.compile(r"(\d+): (\d+) \[(\d+): (\d+)\] @((?: 0x[0-9a-f]+)*)\s*$")
_HEAP_FRAME_RE = re.compile(r"#\t(0x[0-9a-f]+)(?:\t(\S+)\+0x[0-9a-f]+\t(.*):(\d+))?\s*$")


def parse_heap_profile(text):
    """A Go heap profile in its debug=1 text form (pprof.Lookup("heap")
    .WriteTo(w, 1)): {"rate": MemProfileRate, "records": [{"inuse_objects",
    "inuse_bytes", "alloc_objects", "alloc_bytes", "frames": [(func, file,
    line), ...]}]}. The numbers are the sampled ones, not scaled (see
    scale_heap_sample); a frame without a symbol is (None, None, 0)."""
    lines = text.splitlines()
    check(lines and _HEAP_HEADER_RE.match(lines[0]),
          "not a Go heap profile: %r" % (lines[:1],))
    out = {"rate": int(_HEAP_HEADER_RE.match(lines[0]).group(5)) // 2,
           "records": []}
    rec = None
    for text in lines[1:]:
        m = _HEAP_RECORD_RE.match(text)
        if m:
            rec = {"inuse_objects": int(m.group(1)),
                   "inuse_bytes": int(m.group(2)),
                   "alloc_objects": int(m.group(3)),
                   "alloc_bytes": int(m.group(4)), "frames": []}
            out["records"].append(rec)
            continue
        m = _HEAP_FRAME_RE.match(text)
        if m and rec is not None:
            rec["frames"].append((m.group(2), m.group(3),
                                  int(m.group(4) or 0)))
            continue
        rec = None      # a blank line, or the "# runtime.MemStats" trailer
    return out


def scale_heap_sample(count, size, rate):
    """A heap record's sampled (objects, bytes) scaled to estimates of the
    real ones, as Go's runtime/pprof does (protomem.go scaleHeapSample)."""
    if count == 0 or size == 0:
        return 0, 0
    if rate <= 1:
        return count, size
    avg = size / count
    scale = 1 / (1 - math.exp(-avg / rate))
    return int(count * scale), int(size * scale)


def heap_by_line(profile, filename):
    """{(func, line): scaled in-use bytes} of a parsed heap profile, each
    record counted at its first frame in `filename` (basenames compared);
    records with no frame there are left out."""
    base = os.path.basename(filename)
    out = {}
    for rec in profile["records"]:
        for func, file, line in rec["frames"]:
            if file and os.path.basename(file) == base:
                _, size = scale_heap_sample(rec["inuse_objects"],
                                            rec["inuse_bytes"],
                                            profile["rate"])
                out[(func, line)] = out.get((func, line), 0) + size
                break
    return out


# ---------------------------------------------------------------------------
# Processes

_procs = []
_tmpdirs = []


def tmpdir():
    d = tempfile.mkdtemp(prefix="lwtest-")
    _tmpdirs.append(d)
    return d


class Proc:
    """A process started by a test, its output going to files."""

    def __init__(self, argv, env=None, cwd=None, name=None):
        self.argv = argv
        self.dir = tmpdir()
        self.name = name or os.path.basename(argv[0])
        self.out_path = os.path.join(self.dir, "stdout")
        self.err_path = os.path.join(self.dir, "stderr")
        full_env = dict(os.environ)
        full_env["LC_ALL"] = "C"
        full_env.update(env or {})
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            # Own session: signals to the harness do not reach it, and a
            # cleanup can kill its whole group.
            self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=err, env=full_env,
                                          cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid
        self.start = time.monotonic()
        _procs.append(self)
        if LEAKWATCH in argv:     # directly or through a wrapper (unshare)
            _san_watched.append(("leakwatch " + " ".join(
                argv[argv.index(LEAKWATCH) + 1:]), self.err_path))

    def poll(self):
        return self.popen.poll()

    def wait(self, timeout):
        """Exit status, or None if still running after timeout seconds."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig):
        if self.popen.poll() is None:
            os.kill(self.pid, sig)

    def kill(self):
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait()

    @property
    def stdout(self):
        return read_text(self.out_path)

    @property
    def stderr(self):
        return read_text(self.err_path)

    def describe(self):
        return "%s\n--- stdout (tail) ---\n%s\n--- stderr (tail) ---\n%s" % (
            " ".join(self.argv), tail(self.stdout), tail(self.stderr))


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def tail(text, lines=15):
    return "\n".join(text.rstrip("\n").split("\n")[-lines:])


def spawn(argv, **kw):
    return Proc(argv, **kw)


def kill_pid(pid):
    """Kill the process of pid that a test started (a PidProc, a Proc)."""
    for p in list(_procs):
        if p.pid == pid:
            p.kill()


class PidProc:
    """A process we did not fork ourselves (launched by leakwatch)."""

    def __init__(self, pid, exe):
        self.pid, self.exe = pid, os.path.realpath(exe)
        _procs.append(self)

    def alive(self):
        return pid_alive(self.pid, self.exe)

    def kill(self):
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def pid_alive(pid, exe=None):
    """True if pid runs (not a zombie) and, if given, runs exe."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
        if exe and os.path.realpath("/proc/%d/exe" % pid) != os.path.realpath(exe):
            return False
        return True
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def cleanup_procs():
    """Kill every process started so far."""
    while _procs:
        p = _procs.pop()
        try:
            p.kill()
        except Exception:
            pass


def cleanup():
    """Kill everything the last test started, remove its files."""
    cleanup_procs()
    del _san_watched[:], _san_noted[:]
    while _tmpdirs:
        shutil.rmtree(_tmpdirs.pop(), ignore_errors=True)


def wait_for(pred, timeout, step=0.05):
    """Poll pred() until it returns something true; that, or None."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            return None
        time.sleep(step)


def start_target(name, args=(), env=None):
    """Start a target directly (for -p); wait until it wrote its pid file."""
    exe = target(name)
    d = tmpdir()
    pidfile = os.path.join(d, "pid")
    e = {"LW_TEST_PIDFILE": pidfile}
    e.update(env or {})
    p = spawn([exe] + list(args), env=e)
    check(wait_for(lambda: read_text(pidfile).strip(), 5),
          "target %s did not start:\n%s" % (name, p.describe()))
    return p


def pidfile_env():
    """Env for a target launched by leakwatch, and the pid file it writes."""
    path = os.path.join(tmpdir(), "pid")
    return {"LW_TEST_PIDFILE": path}, path


def launched_pid(pidfile, exe, timeout=10):
    """Pid of a target launched by leakwatch, registered for cleanup."""
    text = wait_for(lambda: read_text(pidfile).strip(), timeout)
    if not text:
        return None
    pid = int(text)
    PidProc(pid, exe)
    return pid


# ---------------------------------------------------------------------------
# Sanitized runs (make test SANITIZE=1: tests/run.py --sanitize)
#
# leakwatch and the unit tests are built with ASan (LeakSanitizer in it)
# and UBSan. Every report fails the test that was running: ASan and LSan
# write theirs to files in SAN_LOG_DIR (log_path), whatever ran the binary
# (a Popen, subprocess.run, a tmux pane, another user); UBSan writes to
# stderr only (gcc's separate libubsan takes no log_path), so the stderr of
# every leakwatch run (Proc) and whatever a test passes to note_output()
# is searched for its "FILE:LINE:COL: runtime error:" lines. Reports end the
# process (halt_on_error) with SAN_EXITCODE, which no path of leakwatch
# uses: a report that went nowhere (fd 2 is /dev/null while top's view is
# up) still shows as that exit status.

SANITIZE = False
SAN_EXITCODE = 86
SAN_LOG_DIR = None
SAN_SUPPRESSIONS = os.path.join(ROOT, "tests", "sanitize", "lsan.supp")
_SAN_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)\b.*|"
                     r"^\S+:\d+:\d+: runtime error: .*", re.M)
_san_watched = []       # (what, stderr file) of this test's leakwatch runs
_san_noted = []         # (what, text) given to note_output
_san_seen = set()       # log files already reported


def enable_sanitizers(log_dir):
    """The runtime options of the sanitized binaries, in the environment
    that every process of the tests inherits (targets are not sanitized:
    to them it is nothing)."""
    global SANITIZE, SAN_LOG_DIR
    SANITIZE, SAN_LOG_DIR = True, log_dir
    common = "halt_on_error=1:abort_on_error=0:exitcode=%d" % SAN_EXITCODE
    os.environ["ASAN_OPTIONS"] = common + ":detect_leaks=1:log_path=%s" % (
        os.path.join(log_dir, "asan"))
    os.environ["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % (
        SAN_SUPPRESSIONS)
    os.environ["UBSAN_OPTIONS"] = common + ":print_stacktrace=1"


def skip_if_sanitized(why):
    """For the rare test that cannot run under the sanitizers."""
    if SANITIZE:
        raise Skip("not in sanitized runs: %s" % why)


def note_output(what, text):
    """Output of a leakwatch run that did not go through spawn() (e.g.
    subprocess.run), to be searched for sanitizer reports."""
    if SANITIZE:
        _san_noted.append((what, text or ""))


def _san_excerpt(text, limit=24):
    """The report's first line and frames, and its SUMMARY."""
    lines = text.splitlines()
    first = next((i for i, l in enumerate(lines) if _SAN_RE.search(l)), 0)
    out = []
    for l in lines[first:first + limit]:
        if l.startswith(("SUMMARY:", "Shadow bytes")):
            break
        out.append(l)
    out += [l for l in lines[first + limit:] if l.startswith("SUMMARY:")]
    return "\n".join(out)


def sanitizer_findings(extra=()):
    """The sanitizer reports since the last call, each one string that
    names the sanitizer, the error and where: from the log files, the
    stderr of this test's leakwatch runs, noted output and extra (pairs of
    what, text). Call it after the processes are gone, so that every
    report is complete."""
    if not SANITIZE:
        return []
    found = []
    for name in sorted(os.listdir(SAN_LOG_DIR)):
        path = os.path.join(SAN_LOG_DIR, name)
        if path in _san_seen or not os.path.isfile(path):
            continue
        _san_seen.add(path)
        text = read_text(path)
        kind = _SAN_RE.search(text)
        found.append("%s (pid %s, kept in %s):\n%s" % (
            kind.group(0).strip() if kind else "sanitizer output",
            name.rsplit(".", 1)[-1], path, _san_excerpt(text)))
    texts = [(what, read_text(path)) for what, path in _san_watched]
    for what, text in texts + _san_noted + list(extra):
        m = _SAN_RE.search(text)
        if m:
            found.append("%s in the output of %s:\n%s" % (
                m.group(0).strip(), what, _san_excerpt(text)))
    del _san_watched[:], _san_noted[:]
    return found


# ---------------------------------------------------------------------------
# Running leakwatch


def leakwatch(args, env=None):
    """Start leakwatch with args; a Proc."""
    return spawn([LEAKWATCH] + list(args), env=env, name="leakwatch")


def run_leakwatch(args, timeout, env=None):
    """Run leakwatch to completion; fail (after killing it) on timeout."""
    p = leakwatch(args, env=env)
    rc = p.wait(timeout)
    if rc is None:
        p.kill()
        raise AssertionError("leakwatch still running after %.0f s:\n%s" %
                             (timeout, p.describe()))
    return p


def load_report(path, proc=None):
    where = ("\n" + proc.describe()) if proc else ""
    check(os.path.exists(path), "JSON report %s was not written%s" % (path, where))
    text = read_text(path)
    try:
        return json.loads(text)
    except ValueError as e:
        raise AssertionError("JSON report %s does not parse: %s\n%s%s" %
                             (path, e, tail(text), where))


# The JSON contract's counters (README "JSON report"): only ever added to.
DROP_NAMES = ("alloc_map_full", "site_map_full", "pending_map_full",
              "stack_collisions", "stack_map_full", "ringbuf_lost",
              "unmatched_frees", "goroutine_map_full", "goroutine_read_errors",
              "thread_map_full", "truncated_stacks", "unwind_no_table_frames",
              "unwind_file_requests_lost", "lost_exits",
              "go_heap_sample_map_full", "go_heap_samples_unplaced",
              "fd_map_full", "fd_read_errors", "unresolved_frames")
STAT_NAMES = ("failed_allocs", "nested_calls", "goroutine_exits_unseen_birth",
              "go_heap_samples", "fd_close_ranges_capped", "heap_calls",
              "heap_samples", "vma_lookups_busy")


def check_schema(rep, interval=None, duration=None):
    """The schema-1 structure of a report, and its sort order."""
    check(isinstance(rep, dict), "report is not an object")
    check(rep.get("schema") == 1, "schema is %r, not 1" % rep.get("schema"))
    t = rep.get("target")
    check(isinstance(t, dict), "report.target missing")
    for key, typ in (("pid", int), ("comm", str), ("exe", str), ("exited", bool)):
        check(isinstance(t.get(key), typ),
              "report.target.%s is %r, expected %s" % (key, t.get(key), typ.__name__))
    for key in ("interval_s", "duration_s"):
        check(isinstance(rep.get(key), (int, float)),
              "report.%s is %r" % (key, rep.get(key)))
    if interval is not None:
        check(abs(rep["interval_s"] - interval) < 1e-6,
              "interval_s is %r, asked for %r" % (rep["interval_s"], interval))
    if duration is not None:
        check(abs(rep["duration_s"] - duration) <= max(1.5, 0.1 * duration),
              "duration_s is %r, ran with -d %r" % (rep["duration_s"], duration))
    drops = rep.get("drops")
    check(isinstance(drops, dict) and
          all(isinstance(v, int) and v >= 0 for v in drops.values()),
          "report.drops is %r" % drops)
    missing = [k for k in DROP_NAMES if k not in drops]
    check(not missing, "report.drops lacks %s: %r" % (missing, drops))
    stats = rep.get("stats")
    check(isinstance(stats, dict) and all(k in stats for k in STAT_NAMES),
          "report.stats is %r, expected %s" % (stats, STAT_NAMES))
    sites = rep.get("sites")
    check(isinstance(sites, list), "report.sites is %r" % sites)
    fields = (("kind", str), ("bytes", int), ("count", int),
              ("bytes_per_s", (int, float)), ("count_per_s", (int, float)),
              ("suspect", bool), ("oldest_age_s", (int, float)),
              ("allocs", int), ("frees", int), ("stack", list))
    for i, s in enumerate(sites):
        for key, typ in fields:
            check(isinstance(s.get(key), typ) and not
                  (typ is int and isinstance(s.get(key), bool)),
                  "sites[%d].%s is %r" % (i, key, s.get(key)))
        # the trend model's own numbers, in range; a suspect had its samples
        for key, lo, hi in (("r2", 0, 1), ("tau", -1, 1)):
            v = s.get(key)
            check(isinstance(v, (int, float)) and lo - 1e-9 <= v <= hi + 1e-9,
                  "sites[%d].%s is %r" % (i, key, v))
        check(isinstance(s.get("samples"), int) and s["samples"] >= 0,
              "sites[%d].samples is %r" % (i, s.get("samples")))
        check(not s["suspect"] or s["samples"] >= 12,
              "sites[%d] is a suspect after %d samples (the rule needs 12)" %
              (i, s["samples"]))
        # only a site that was there before attach (threads) has no stack,
        # and it says so
        check(s["stack"] or s.get("label"),
              "sites[%d] has an empty stack and no label" % i)
        for j, fr in enumerate(s["stack"]):
            check(isinstance(fr, dict) and "symbol" in fr and "module" in fr,
                  "sites[%d].stack[%d] is %r" % (i, j, fr))
        # Frees of blocks allocated before the attach must not go negative.
        check(s["bytes"] >= 0 and s["count"] >= 0,
              "sites[%d] has negative outstanding: %s" % (i, fmt_site(s)))
        if s["count"] > 0:
            check(0 <= s["oldest_age_s"] <= rep["duration_s"] + 1,
                  "sites[%d].oldest_age_s is %r in a %.1f s run" %
                  (i, s["oldest_age_s"], rep["duration_s"]))
    # kinds in turn (heap, goroutine, thread), each by its own growth
    order = {"heap": 0, "goroutine": 1, "thread": 2}
    kinds = [order.get(s["kind"], 9) for s in sites]
    check(kinds == sorted(kinds), "sites are not grouped by kind: %s" %
          [s["kind"] for s in sites])
    for kind, key in (("heap", "bytes_per_s"), ("goroutine", "count_per_s"),
                      ("thread", "count_per_s")):
        rates = [s[key] for s in sites if s["kind"] == kind]
        check(rates == sorted(rates, reverse=True),
              "%s sites are not sorted by %s descending: %s" %
              (kind, key, [round(r, 1) for r in rates]))


def frame0(site):
    return site["stack"][0] if site["stack"] else {}


def frame_file(fr):
    return os.path.basename(fr.get("file") or "")


def sites_in(rep, func, filename):
    """Sites whose first frame is function func of source filename."""
    return [s for s in rep["sites"]
            if frame0(s).get("symbol") == func and frame_file(frame0(s)) == filename]


def fmt_frame(fr):
    return "%s (%s:%s in %s)" % (fr.get("symbol"), frame_file(fr) or "?",
                                 fr.get("line"), os.path.basename(fr.get("module") or "?"))


def fmt_site(s):
    return "%s bytes=%s count=%s rate=%.1f B/s suspect=%s at %s" % (
        s["kind"], s["bytes"], s["count"], s["bytes_per_s"], s["suspect"],
        " <- ".join(fmt_frame(f) for f in s["stack"][:3]))


def fmt_sites(sites, limit=12):
    lines = [fmt_site(s) for s in sites[:limit]]
    if len(sites) > limit:
        lines.append("... %d more" % (len(sites) - limit))
    return "\n  ".join([""] + lines)


# ---------------------------------------------------------------------------
# Probes left behind


def bpftool_json(*args):
    """bpftool's JSON answer. A bpftool that cannot answer fails the test:
    "no probes remain" must never be said without having looked."""
    res = subprocess.run(["bpftool", "-j"] + list(args), capture_output=True,
                         text=True)
    check(res.returncode == 0, "bpftool %s failed (%d): %s" %
          (" ".join(args), res.returncode, res.stderr.strip()[:300]))
    try:
        return json.loads(res.stdout or "[]") or []
    except ValueError as e:
        raise AssertionError("bpftool %s: no JSON (%s): %r" %
                             (" ".join(args), e, res.stdout[:300]))


def fd_bpf_ids(pid):
    """Link and program ids held open by pid, from /proc/PID/fdinfo."""
    links, progs = set(), set()
    d = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(d)
    except OSError:
        return links, progs
    for fd in fds:
        try:
            kind = os.readlink(os.path.join(d, fd))
            if not kind.startswith("anon_inode:bpf"):
                continue
            info = read_text("/proc/%d/fdinfo/%s" % (pid, fd))
        except OSError:
            continue
        for key, val in re.findall(r"^(link_id|prog_id):\s*(\d+)", info, re.M):
            if key == "link_id":
                links.add(int(val))
            else:
                progs.add(int(val))
    return links, progs


class Attachments:
    """The probes a leakwatch process holds, seen while it runs.

    Links and programs come from the fds of leakwatch itself (fdinfo),
    perf-event attachments from bpftool: exact, whatever else runs.
    """

    def __init__(self):
        self.links, self.progs = set(), set()

    def collect(self, lw_pid):
        links, progs = fd_bpf_ids(lw_pid)
        for p in bpftool_json("perf", "list"):
            if p.get("pid") == lw_pid:
                progs.add(p.get("prog_id"))
        for l in bpftool_json("link", "list"):
            if l.get("id") in links:
                progs.add(l.get("prog_id"))
        self.links |= links
        self.progs |= progs
        return self

    def uprobes_attached(self, lw_pid):
        """True once leakwatch holds uprobe attachments (links or perf)."""
        self.collect(lw_pid)
        for l in bpftool_json("link", "list"):
            if l.get("id") in self.links and l.get("type") in ("perf_event", "uprobe_multi"):
                return True
        return any(p.get("pid") == lw_pid and p.get("fd_type") in ("uprobe", "uretprobe")
                   for p in bpftool_json("perf", "list"))

    def leftovers(self, target_pid):
        """What remains of those probes, or of any probe on the target."""
        found = []
        for l in bpftool_json("link", "list"):
            if (l.get("id") in self.links or l.get("prog_id") in self.progs or
                    (l.get("type") == "uprobe_multi" and l.get("pid") == target_pid)):
                found.append("link %s" % json.dumps(l)[:300])
        for p in bpftool_json("perf", "list"):
            if p.get("prog_id") in self.progs or p.get("pid") == target_pid:
                found.append("perf %s" % json.dumps(p)[:300])
        found += ["target fd %s" % f for f in bpf_fds(target_pid)]
        return found


def bpf_fds(pid):
    """fds of pid that hold BPF objects or perf events."""
    out = []
    d = "/proc/%d/fd" % pid
    try:
        for fd in os.listdir(d):
            try:
                link = os.readlink(os.path.join(d, fd))
            except OSError:
                continue
            if link.startswith("anon_inode:") and ("bpf" in link or "perf_event" in link):
                out.append("%s -> %s" % (fd, link))
    except OSError:
        pass
    return out


def text_patches(pid):
    """Executable file mappings of pid whose bytes differ from the file.

    Installed uprobes put int3 (0xcc) into the process's copy of the text;
    after a clean detach every byte is the file's again. A list of
    "path+offset: mem xx file yy" strings (first difference per mapping).
    """
    diffs = []
    # a target that is gone cannot be checked: that is a failure, not a pass
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read().splitlines()
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for line in maps:
            parts = line.split(None, 5)
            if len(parts) < 6 or "x" not in parts[1] or not parts[5].startswith("/"):
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            off, path = int(parts[2], 16), parts[5]
            # the mapped file itself, even when replaced on disk since
            try:
                # named without the leading zeros /proc/PID/maps shows
                with open("/proc/%d/map_files/%x-%x" % (pid, start, end),
                          "rb") as f:
                    f.seek(off)
                    want = f.read(end - start)
                mem.seek(start)
                have = mem.read(len(want))
            except OSError as e:
                diffs.append("%s: unreadable (%s)" % (path, e))
                continue
            if have != want:
                i = next(i for i in range(len(want)) if have[i] != want[i])
                diffs.append("%s+0x%x: mem %02x file %02x" %
                             (path, off + i, have[i], want[i]))
    return diffs


class Heartbeat:
    """The counter that the steady target rewrites every 100 ms."""

    def __init__(self):
        self.path = os.path.join(tmpdir(), "heartbeat")

    def value(self):
        text = read_text(self.path).strip()
        return int(text) if text else -1

    def advancing(self, within=2.0):
        """True if the counter moves forward within `within` seconds."""
        v0 = self.value()
        return bool(wait_for(lambda: self.value() > v0, within))


# ---------------------------------------------------------------------------
# Descriptors (issue 13)

# descriptor leaks at known rates among churn, and the release paths
TARGETS["fdleak"] = (["fdleak.c"], CFLAGS_O1, ["-pthread"])

FD_ALIVE_LABEL = "[alive at attach]"
FD_UNSEEN_LABEL = "[opened unseen]"


def fd_sites(rep):
    """The sites of kind "fd" of a report (or of a process of one)."""
    return [s for s in rep.get("sites", []) if s.get("kind") == "fd"]


def fd_labelled(sites, label):
    """The pseudo sites of that label ("[alive at attach]", ...)."""
    return [s for s in sites if (s.get("label") or "").startswith(label)]


def _fd_word(m):
    w = m.group(0)
    # a hex id (6+ hex digits, a digit among them: mkdtemp's, a hash) is
    # one '*'; elsewhere each run of digits is
    if len(w) >= 6 and re.fullmatch(r"[0-9A-Fa-f]+", w) and re.search(r"[0-9]", w):
        return "*"
    return re.sub(r"[0-9]+", "*", w)


def fd_pattern(name):
    """A descriptor's grouping name as leakwatch writes it (user/fdinfo.c
    sb_pattern): in each word (a run of ASCII letters and digits) a hex
    id becomes one '*', else each run of digits does
    ("/tmp/lwtest-x1y/leak-12.log" -> "/tmp/lwtest-x*y/leak-*.log",
    "cache-3fa9c2d1e0.tmp" -> "cache-*.tmp")."""
    return re.sub(r"[A-Za-z0-9]+", _fd_word, name)


def proc_fd_links(pid):
    """{fd: readlink of /proc/PID/fd/N} (entries gone meanwhile left out)."""
    out = {}
    d = "/proc/%d/fd" % pid
    for name in os.listdir(d):
        try:
            out[int(name)] = os.readlink(os.path.join(d, name))
        except OSError:
            pass
    return out


def proc_nofile(pid):
    """(soft, hard) RLIMIT_NOFILE of pid from /proc/PID/limits; -1 for
    unlimited."""
    for line in read_text("/proc/%d/limits" % pid).splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return tuple(-1 if v == "unlimited" else int(v)
                         for v in (soft, hard))
    raise AssertionError("/proc/%d/limits has no 'Max open files'" % pid)


def fmt_fd_types(types, limit=4):
    items = sorted((types or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join("%d x %s" % (n, name) for name, n in items[:limit])
    if len(items) > limit:
        text += ", ... %d more" % (len(items) - limit)
    return "{%s}" % text


def fmt_fd_site(s):
    where = s.get("label") or " <- ".join(fmt_frame(f)
                                          for f in s.get("stack", [])[:3])
    return "fd count=%s rate=%.1f/s suspect=%s opens=%s closes=%s at %s %s" % (
        s.get("count"), s.get("count_per_s") or 0, s.get("suspect"),
        s.get("allocs"), s.get("frees"), where, fmt_fd_types(s.get("types")))


def fmt_fd_sites(sites, limit=30):
    lines = [fmt_fd_site(s) for s in sites[:limit]]
    if len(sites) > limit:
        lines.append("... %d more" % (len(sites) - limit))
    return "\n  ".join([""] + lines)


class Memo:
    """Results of runs that serve several tests, by key: a failed run
    fails each test that asks for it with the same error."""

    def __init__(self):
        self.runs = {}

    def __call__(self, key, fn):
        if key not in self.runs:
            try:
                self.runs[key] = fn()
            except BaseException as e:
                self.runs[key] = e
        if isinstance(self.runs[key], BaseException):
            raise self.runs[key]
        return self.runs[key]


# The integration tests this run runs ("module.test"; run.py sets it),
# None: every one.
SELECTED = None


class Prefetch:
    """Runs of one module's tests, started together at the first test's
    asking, at most `workers` at once: each run mostly waits out its
    duration, so runs side by side cost little more than one. specs:
    {test name: (build, run)}, build() -> what run(built) takes; builds
    go one by one first (two tests may build the same binary). A run
    serves the test of its name, or the tests users[run] names; only
    runs serving a test of this run (SELECTED) are made. A run's
    exception fails the tests it serves, and only them."""

    def __init__(self, module, specs, workers, users=None):
        self.module, self.specs, self.workers = module, specs, workers
        self.users = users or {}
        self.res = None

    def _wanted(self):
        return [r for r in self.specs if SELECTED is None or
                any("%s.%s" % (self.module, t) in SELECTED
                    for t in self.users.get(r, [r]))]

    def _start(self):
        self.res, built = {}, {}
        dirs, san = len(_tmpdirs), len(_san_watched)
        try:
            self._run_all(built)
        finally:
            # kept until the last of these tests is served: the first
            # test's cleanup must not take the others' files (their
            # runs' output, sanitizer reports)
            self.kept = (_tmpdirs[dirs:], _san_watched[san:])
            del _tmpdirs[dirs:], _san_watched[san:]
            self.served = set()

    def _run_all(self, built):
        for r in self._wanted():
            b = outcome(self.specs[r][0])
            (self.res if isinstance(b, BaseException) else built)[r] = b
        with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
            futs = {r: pool.submit(self.specs[r][1], b)
                    for r, b in built.items()}
            for r, f in futs.items():
                self.res[r] = outcome(f.result)

    def __call__(self, run):
        if self.res is None:
            self._start()
        if run not in self.res:  # serves no selected test, yet asked
            self.res[run] = outcome(
                lambda: self.specs[run][1](self.specs[run][0]()))
        self.served.add(run)
        if self.kept and self.served >= set(self.res):
            _tmpdirs.extend(self.kept[0])
            _san_watched.extend(self.kept[1])
            self.kept = None
        if isinstance(self.res[run], BaseException):
            raise self.res[run]
        return self.res[run]


def outcome(fn):
    """fn()'s value, or the exception it raised."""
    try:
        return fn()
    except BaseException as e:
        return e


def json_strings(o):
    """Every string of a decoded JSON document, keys too."""
    if isinstance(o, str):
        yield o
    elif isinstance(o, dict):
        for k, v in o.items():
            yield k
            yield from json_strings(v)
    elif isinstance(o, list):
        for v in o:
            yield from json_strings(v)


def finish(lw, timeout):
    """Wait for a leakwatch run to end by itself; it must exit 0."""
    rc = lw.wait(timeout)
    if rc is None:
        lw.kill()
        raise AssertionError("leakwatch still running:\n" + lw.describe())
    check(rc == 0, "leakwatch exited %d:\n%s" % (rc, lw.describe()))


def pgrep_one(comm):
    """The pid of a process named exactly comm (as the host sees it)."""
    out = subprocess.run(["pgrep", "-x", comm], capture_output=True,
                         text=True).stdout.split()
    return int(out[0]) if out else None
