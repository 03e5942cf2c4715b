"""--folded FILE: folded stacks for flame graphs.

Every line of the folded output is checked against the JSON report of the
same run: the same sites, frames outermost first (the JSON stack reversed)
under a root frame naming the kind, and values equal to the JSON's bytes,
count, or rounded growth. Lines the format could misread are checked on a
real one: a thread named "a;b<TAB>c 12" (';' cuts frames, a trailing number
is a value). Then speedscope's own importer (npm, installed into build/npm
by scripts/deps.sh) reads the files and must see the same stacks and
weights. Four short runs: leaky (bytes, to a file rewritten every
interval), leaky again (growth, `--folded -` on stdout), a Python process
with that odd name that keeps starting threads (count), and goleak (Go).
"""

import json
import os
import re
import subprocess
import time

import lwlib
from lwlib import check, tmpdir

NPM_DIR = os.path.join(lwlib.ROOT, "build", "npm")
READER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "speedscope_read.js")
KINDS = {"heap", "goroutine", "thread", "fd"}
ODD_COMM = "a;b\tc 12"

# ---------------------------------------------------------------------------
# What the folded output must say, computed from the JSON report


def clean(text):
    """A frame as both readers take it whole (user/report_folded.c): the
    JSON's strings are escaped already (control characters and invalid
    UTF-8 as \\xNN, user/safestr.h), folded frames escape ';' too."""
    text = text.replace(";", "\\x3b").strip(" ")
    text = text or "?"
    m = re.search(r" (\d+(\.\d*)?)$", text)
    if m:
        text = text[:m.start()] + "_" + m.group(1)
    return text


def frame_text(fr, prefix="", inlined=None):
    sym, path = fr.get("symbol"), fr.get("file")
    if sym is not None:
        text = sym
        if path:
            where = os.path.basename(path)
            if fr.get("line", 0) > 0:
                where += ":%d" % fr["line"]
            text += " (%s)" % where
    elif fr.get("module"):
        text = "%s+%s" % (os.path.basename(fr["module"]), fr["offset"])
    else:
        raise AssertionError("frame without symbol or module: %r" % fr)
    text = clean(prefix + text)
    if fr.get("inlined") if inlined is None else inlined:
        text += "_[i]"
    return text


def site_value(s, how):
    heap = s["kind"] == "heap"
    if how == "growth":
        x = s["bytes_per_s"] if heap else s["count_per_s"]
        return int(x + 0.5) if x >= 0.5 else 0
    if how == "bytes" or (how == "auto" and heap):
        return s["bytes"]
    return s["count"]


def site_stack(s):
    frames = ["[%s]" % s["kind"]]
    if s["stack"]:
        frames += [frame_text(fr) for fr in reversed(s["stack"])]
    else:
        frames.append(clean(s.get("label") or "[stack not captured]"))
    if s["kind"] != "heap" and s.get("start"):
        frames.append(frame_text(s["start"], "[runs] ", False))
    return ";".join(frames)


def expected(rep, how):
    """stack -> value; sites that print the same stack are summed."""
    out = {}
    for s in rep["sites"]:
        v = site_value(s, how)
        if v > 0:
            stack = site_stack(s)
            out[stack] = out.get(stack, 0) + v
    return out


# ---------------------------------------------------------------------------
# Reading folded output strictly


LINE_RE = re.compile(r"^(.+) (\d+)$")
# flamegraph.pl takes a stack ending in whitespace and a number for the
# first column of a differential.
DIFF_RE = re.compile(r"\s\d+(\.\d*)?$")


def parse_folded(text, what):
    """stack -> value, checking every line for what the readers need."""
    check(text.endswith("\n"), "%s does not end with a newline: %r" %
          (what, text[-80:]))
    out, prev = {}, None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        m = LINE_RE.match(line)
        check(m, "%s line %d is not 'STACK VALUE': %r" % (what, n, line))
        stack, value = m.group(1), int(m.group(2))
        frames = stack.split(";")
        check(value > 0, "%s line %d: value %d" % (what, n, value))
        check(frames[0][1:-1] in KINDS and frames[0][0] + frames[0][-1] == "[]",
              "%s line %d: first frame %r names no kind" % (what, n, frames[0]))
        check(len(frames) >= 2, "%s line %d: no frame below the kind" % (what, n))
        for fr in frames:
            check(fr and fr == fr.strip(" ") and not re.search(r"[\x00-\x1f\x7f]", fr),
                  "%s line %d: bad frame %r" % (what, n, fr))
        check(not DIFF_RE.search(stack),
              "%s line %d: stack ends in a number: %r" % (what, n, stack))
        check(stack not in out, "%s line %d: stack repeated: %r" % (what, n, stack))
        check(prev is None or prev < stack.encode(),
              "%s line %d: not sorted after %r" % (what, n, prev))
        prev = stack.encode()
        out[stack] = value
    return out


def check_same(got, want, what):
    missing = ["%s %d" % kv for kv in sorted(want.items()) if kv[0] not in got]
    extra = ["%s %d" % kv for kv in sorted(got.items()) if kv[0] not in want]
    wrong = ["%s: %d, JSON says %d" % (k, got[k], want[k])
             for k in sorted(want) if k in got and got[k] != want[k]]
    check(not (missing or extra or wrong),
          "%s differs from the JSON report of the same run\n"
          "missing:\n  %s\nextra:\n  %s\nwrong value:\n  %s" %
          (what, "\n  ".join(missing), "\n  ".join(extra), "\n  ".join(wrong)))


def line_ending(folded, tail):
    """The stacks whose last frames are tail."""
    return [s for s in folded if s.split(";")[-len(tail):] == tail]


# ---------------------------------------------------------------------------
# Runs (memoized: a run serves several tests)

memo = lwlib.Memo()


def leaky_run(how):
    lwlib.require_leakwatch()
    exe = lwlib.target("leaky")
    d = tmpdir()
    js = os.path.join(d, "report.json")
    folded = os.path.join(d, "leaky.folded")
    args = ["-i", "1", "-d", "4", "--json", js]
    if how == "growth":
        args += ["--folded-value", "growth", "--folded", "-"]
    else:
        args += ["--folded", folded]
    env, pidfile = lwlib.pidfile_env()
    lw = lwlib.leakwatch(args + ["--", exe, "-q"], env=env)
    check(lwlib.launched_pid(pidfile, exe), "leaky never started:\n" + lw.describe())
    early, versions = None, []
    if how != "growth":
        # Rewritten at every report (a new file renamed over the old one):
        # whole and readable while leakwatch runs, in several versions.
        t0 = time.monotonic()
        while lw.poll() is None and time.monotonic() - t0 < 30:
            try:
                ino = os.stat(folded).st_ino
            except OSError:
                ino = None
            if ino is not None and (not versions or versions[-1][1] != ino):
                versions.append((time.monotonic() - t0, ino))
                early = early or lwlib.read_text(folded)
            time.sleep(0.05)
    lwlib.finish(lw, 30)
    run = {"report": lwlib.load_report(js, lw), "early": early, "lw": lw,
           "versions": versions,
           "path": folded if how != "growth" else None,
           "text": lw.stdout if how == "growth" else lwlib.read_text(folded)}
    lwlib.cleanup_procs()
    return run


# The target: renames itself, then starts a thread every 0.1 s that never
# ends, so thread sites have creation stacks and start routines.
PY_TARGET = r"""
import os, sys, threading, time
with open("/proc/self/comm", "w") as f:
    f.write(sys.argv[2])
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
stop = threading.Event()
for i in range(100):
    threading.Thread(target=stop.wait, daemon=True).start()
    time.sleep(0.1)
stop.wait(60)
"""


def python_run():
    lwlib.require_leakwatch()
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else lwlib.require_tool("python3")
    d = tmpdir()
    pidfile = os.path.join(d, "pid")
    tgt = lwlib.spawn([py, "-c", PY_TARGET, pidfile, ODD_COMM])
    check(lwlib.wait_for(lambda: lwlib.read_text(pidfile).strip(), 5),
          "python target did not start:\n" + tgt.describe())
    js = os.path.join(d, "report.json")
    folded = os.path.join(d, "py.folded")
    lw = lwlib.leakwatch(["-i", "1", "-d", "3", "--json", js, "--folded", folded,
                          "--folded-value", "count", "-p", str(tgt.pid)])
    lwlib.finish(lw, 30)
    run = {"report": lwlib.load_report(js, lw), "lw": lw, "path": folded,
           "text": lwlib.read_text(folded)}
    lwlib.cleanup_procs()
    return run


def goroutine_run():
    """goleak (Go 1.19, as test_goroutines builds it), attached to."""
    import test_goroutines as tg
    lwlib.require_leakwatch()
    exe = tg.build_go("1.19")
    tgt = lwlib.spawn([exe, "-rate", str(tg.RATE)])
    check(lwlib.wait_for(lambda: "ready" in tgt.stdout, 10),
          "goleak did not start:\n" + tgt.describe())
    d = tmpdir()
    js = os.path.join(d, "report.json")
    folded = os.path.join(d, "go.folded")
    lw = lwlib.leakwatch(["-i", "1", "-d", "3", "--json", js, "--folded", folded,
                          "-p", str(tgt.pid)])
    lwlib.finish(lw, 30)
    run = {"report": lwlib.load_report(js, lw), "lw": lw, "path": folded,
           "text": lwlib.read_text(folded), "marks": tg.markers()}
    lwlib.cleanup_procs()
    return run


def speedscope(name, text):
    """What speedscope's importer reads in a file of that name and text
    (a run's files go with the test that made it): its samples as
    {stack string: weight}, and its log."""
    node = lwlib.require_tool("node")
    if not os.path.isfile(os.path.join(NPM_DIR, "node_modules", "speedscope",
                                       "package.json")):
        raise lwlib.Skip("speedscope not installed in build/npm (make deps)")
    path = os.path.join(tmpdir(), os.path.basename(name))
    with open(path, "w") as f:
        f.write(text)
    res = subprocess.run([node, READER, NPM_DIR, path], capture_output=True,
                         text=True, timeout=60)
    check(res.returncode == 0, "speedscope_read.js failed (%d): %s" %
          (res.returncode, res.stderr[-2000:]))
    out = json.loads(res.stdout)
    check(len(out["profiles"]) == 1, "speedscope made %d profiles of %s: %s" %
          (len(out["profiles"]), path, out["log"]))
    p = out["profiles"][0]
    samples = {}
    for s in p["samples"]:
        key = ";".join(s["stack"])
        samples[key] = samples.get(key, 0) + s["weight"]
    check(p["total"] == sum(samples.values()),
          "speedscope total %s, its samples sum to %d" % (p["total"], sum(samples.values())))
    return samples, out["log"]


def check_speedscope(run):
    folded = parse_folded(run["text"], run["path"])
    samples, log = speedscope(run["path"], run["text"])
    check("Importing as collapsed stack format" in log,
          "speedscope did not take %s for collapsed stacks: %s" % (run["path"], log))
    check_same(samples, folded, "speedscope's reading of " + run["path"])
    return samples


# ---------------------------------------------------------------------------
# Tests


def test_folded_bytes_match_json():
    """Default value: outstanding bytes of heap sites, live threads; every
    line as the JSON report of the same run says; each leak of leaky at its
    marker line, called from main; the file was whole before the end."""
    run = memo("bytes", lambda: leaky_run("bytes"))
    check(run["early"], "%s not written before the final report" % run["path"])
    # -i 1 -d 4: a version per report, the first well before the end
    v = run["versions"]
    check(len(v) >= 3 and v[0][0] < 2.5,
          "%s was written %d times while leakwatch ran (at %s s)" %
          (run["path"], len(v), [round(t, 1) for t, _ in v]))
    parse_folded(run["early"], run["path"] + " (during the run)")
    folded = parse_folded(run["text"], run["path"])
    check_same(folded, expected(run["report"], "auto"), run["path"])
    problems = []
    for (kind, name), mk in lwlib.markers("leaky.c").items():
        if kind != "LEAK":
            continue
        found = [s for s in line_ending(folded, ["leak_%s (leaky.c:%d)" % (name, mk.line)])
                 if s.startswith("[heap];") and s.split(";")[-2].startswith("main (leaky.c:")]
        if not found:
            problems.append("no [heap] line ending in main;%s (leaky.c:%d)" % (mk.func, mk.line))
    check(not problems, "\n".join(problems) + "\n" + run["text"])


def test_folded_read_by_speedscope():
    """speedscope's importer takes the file for collapsed stacks and sees
    exactly its stacks and values."""
    check_speedscope(memo("bytes", lambda: leaky_run("bytes")))


def test_folded_growth_on_stdout():
    """--folded - --folded-value growth: stdout holds only folded lines
    (the text report goes to stderr), values are the JSON's bytes_per_s
    (count_per_s for threads) rounded, sites that do not grow left out."""
    run = memo("growth", lambda: leaky_run("growth"))
    check("== final report" in run["lw"].stderr,
          "the text report is not on stderr:\n" + run["lw"].describe())
    folded = parse_folded(run["text"], "stdout")
    check_same(folded, expected(run["report"], "growth"), "stdout")
    table = [m.func for (k, _), m in lwlib.markers("leaky.c").items() if k == "LEAK"]
    leafs = {s.split(";")[-1].split(" (")[0] for s in folded}
    check(set(table) <= leafs, "growth lines lack %s:\n%s" %
          (", ".join(sorted(set(table) - leafs)), run["text"]))


def test_folded_count_threads_odd_names():
    """--folded-value count on a process named "a;b<TAB>c 12" that keeps
    starting threads: live counts as in the JSON; the name is one frame
    ("a\\x3bb\\x09c_12": ';' and the tab escaped, no trailing number),
    thread sites end with the start routine ("[runs] ..."); speedscope
    reads it the same."""
    run = memo("python", python_run)
    folded = parse_folded(run["text"], run["path"])
    check_same(folded, expected(run["report"], "count"), run["path"])
    # threads alive at attach: one frame for the name, then what they run
    label = "[thread];[alive at attach] a\\x3bb\\x09c_12"
    mine = [s for s in folded if s == label or s.startswith(label + ";[runs] ")]
    check(mine, "no line %r:\n%s" % (label, run["text"]))
    runs = [s for s in folded if s.startswith("[thread];") and
            s.split(";")[-1].startswith("[runs] ")]
    check(runs, "no thread line ends with its start routine:\n" + run["text"])
    heap = [s for s in folded if s.startswith("[heap];")]
    check(heap, "no heap line:\n" + run["text"])
    samples = check_speedscope(run)
    for line in mine:
        check(samples.get(line) == folded[line],
              "speedscope reads %r as %r" % (line, [k for k in samples if "attach" in k]))


def test_folded_goroutines():
    """A Go program: goroutine sites count live goroutines, as in the JSON;
    each leaking go statement's line ends with the function it started."""
    run = memo("go", goroutine_run)
    folded = parse_folded(run["text"], run["path"])
    check_same(folded, expected(run["report"], "auto"), run["path"])
    problems = []
    for (kind, name), (func, line) in run["marks"].items():
        if kind != "LEAK":
            continue
        found = [s for s in folded if s.startswith("[goroutine];") and
                 s.split(";")[-2] == "%s (goleak.go:%d)" % (func, line) and
                 s.split(";")[-1].startswith("[runs] %s.func" % func)]
        if not found:
            problems.append("no [goroutine] line ending in %s (goleak.go:%d);[runs] %s.func..." %
                            (func, line, func))
    check(not problems, "\n".join(problems) + "\n" + run["text"])
    check_speedscope(run)
