"""--pprof: the gzipped pprof profile, read back by `go tool pprof` (Go from
Debian). In one run with --json and --pprof, the profile's samples are the
JSON report's sites: the same kinds, values (inuse_objects and inuse_space
for heap sites, goroutine/count, thread/count, fd/count) and stacks, function for
function, inlined frames as several lines of one location (innermost
first); mappings carry the binaries' GNU build IDs. The file is rewritten
each interval, replaced whole; `go tool pprof -top` reads it."""

import collections
import gzip
import os
import re
import subprocess
import time

import lwlib
from lwlib import Skip, check, tmpdir
from test_goroutines import build_go

GO_TOOLS = ["/usr/lib/go-1.23/bin/go", "/usr/lib/go-1.21/bin/go",
            "/usr/lib/go-1.19/bin/go"]
TYPES = ["inuse_objects/count", "inuse_space/bytes", "goroutine/count",
         "thread/count", "fd/count"]
# Where each kind's values go, in TYPES order: (JSON field, index).
KIND_VALUES = {"heap": (("count", 0), ("bytes", 1)),
               "goroutine": (("count", 2),),
               "thread": (("count", 3),),
               "fd": (("count", 4),)}


def go_tool():
    for go in GO_TOOLS:
        if os.access(go, os.X_OK):
            return go
    raise Skip("no Go toolchain for `go tool pprof` (%s)" % ", ".join(GO_TOOLS))


def pprof(args, path):
    """Runs `go tool pprof ARGS path`; its CompletedProcess."""
    d = tmpdir()
    cache = os.environ.get("LW_GOCACHE") or os.path.join(d, "gocache")
    env = dict(os.environ, HOME=d, GOCACHE=cache, PPROF_TMPDIR=d)
    return subprocess.run([go_tool(), "tool", "pprof"] + args + [path],
                          capture_output=True, text=True, env=env, timeout=120)


# ---------------------------------------------------------------------------
# `go tool pprof -raw` output


_SAMPLE_RE = re.compile(r"^\s*(-?\d+(?:\s+-?\d+)*):\s*([\d ]*)$")
_LOC_RE = re.compile(r"^\s*(\d+): (0x[0-9a-f]+) (?:M=(\d+) )?(.*)$")
# "name file:line[:column] s=start_line[(system name)]"
_LINE_RE = re.compile(r"^(.*) (\S*?):(-?\d+)(?::-?\d+)? s=\d+(?:\(.*\))?$")
_MAP_RE = re.compile(r"^(\d+): (0x[0-9a-f]+)/(0x[0-9a-f]+)/(0x[0-9a-f]+) "
                     r"(\S*) ?(\S*)")


def parse_line(text):
    m = _LINE_RE.match(text.strip())
    check(m, "pprof -raw location line not understood: %r" % text)
    return {"name": m.group(1), "file": m.group(2), "line": int(m.group(3))}


def parse_raw(text):
    """{"types": [...], "dflt": type, "samples": [{values, locs, labels}],
    "locations": {id: {address, mapping, lines}}, "mappings": {id: ...},
    "duration": s}"""
    out = {"types": [], "dflt": None, "samples": [], "locations": {},
           "mappings": {}, "duration": None}
    section, loc = None, None
    for raw in text.split("\n"):
        line = raw.rstrip()
        if line in ("Samples:", "Locations", "Mappings"):
            section = line
            continue
        if line.startswith("Duration:"):
            out["duration"] = float(line.split()[1])
        if section == "Samples:" and not out["types"]:
            for t in line.split():
                if t.endswith("[dflt]"):
                    t = t[:-len("[dflt]")]
                    out["dflt"] = t
                out["types"].append(t)
        elif section == "Samples:":
            m = _SAMPLE_RE.match(line)
            if m:
                out["samples"].append({
                    "values": [int(v) for v in m.group(1).split()],
                    "locs": [int(v) for v in m.group(2).split()],
                    "labels": ""})
            elif line.strip() and out["samples"]:
                out["samples"][-1]["labels"] += line.strip() + " "
        elif section == "Locations" and line.strip():
            m = _LOC_RE.match(line)
            if m:
                loc = {"address": int(m.group(2), 16),
                       "mapping": int(m.group(3) or 0), "lines": []}
                out["locations"][int(m.group(1))] = loc
                if m.group(4):
                    loc["lines"].append(parse_line(m.group(4)))
            else:
                check(loc is not None, "pprof -raw: %r before a location" % line)
                loc["lines"].append(parse_line(line))
        elif section == "Mappings" and line.strip():
            m = _MAP_RE.match(line)
            check(m, "pprof -raw mapping line not understood: %r" % line)
            out["mappings"][int(m.group(1))] = {
                "start": int(m.group(2), 16), "limit": int(m.group(3), 16),
                "offset": int(m.group(4), 16), "file": m.group(5),
                "build_id": m.group(6) if not m.group(6).startswith("[") else ""}
    return out


# ---------------------------------------------------------------------------
# Comparison with the JSON report


def frame_name(fr):
    """A JSON frame named as the profile names its function."""
    if fr.get("symbol"):
        return fr["symbol"]
    if fr.get("module"):
        return "%s+%s" % (fr["module"], fr["offset"])
    return fr["offset"]


def json_stack(site):
    """The site's frames grouped by location: a run of inlined frames and
    the frame they were inlined into."""
    if not site["stack"]:
        return (((site.get("label") or "[stack not captured]", 0),),)
    groups, cur = [], []
    for fr in site["stack"]:
        cur.append((frame_name(fr), fr.get("line") or 0))
        if not fr.get("inlined"):
            groups.append(tuple(cur))
            cur = []
    if cur:
        groups.append(tuple(cur))
    return tuple(groups)


def json_totals(rep):
    """{(kind, suspect, stack): values} summed over the JSON report's
    sites; a frame is (function, line)."""
    out = collections.defaultdict(lambda: [0] * len(TYPES))
    for s in rep["sites"]:
        vals = out[(s["kind"], "true" if s["suspect"] else "false", json_stack(s))]
        for field, i in KIND_VALUES[s["kind"]]:
            vals[i] += s[field]
    return dict(out)


def sample_kind(sample):
    m = re.search(r"\bkind:\[(\w+)\]", sample["labels"])
    check(m, "a sample has no kind label: %r" % sample)
    return m.group(1)


def sample_suspect(sample):
    m = re.search(r"\bsuspect:\[(\w+)\]", sample["labels"])
    check(m, "a sample has no suspect label: %r" % sample)
    return m.group(1)


def pprof_totals(prof):
    """{(kind, suspect, stack): values} summed over the profile's samples
    (pprof merges samples with the same stack and labels)."""
    out = collections.defaultdict(lambda: [0] * len(TYPES))
    for s in prof["samples"]:
        stack = tuple(tuple((ln["name"], ln["line"]) for ln in prof["locations"][i]["lines"])
                      for i in s["locs"])
        vals = out[(sample_kind(s), sample_suspect(s), stack)]
        for i, v in enumerate(s["values"]):
            vals[i] += v
    return dict(out)


def fmt_key(key):
    kind, suspect, stack = key
    return "%s suspect=%s %s" % (kind, suspect, " <- ".join(
        "+".join("%s:%s" % f for f in g) for g in stack[:4]))


def check_same(rep, prof):
    check(prof["types"] == TYPES, "sample types %s, expected %s" %
          (prof["types"], TYPES))
    check(prof["dflt"] == "inuse_space/bytes", "default sample type is %r" %
          prof["dflt"])
    want, got = json_totals(rep), pprof_totals(prof)
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    check(not missing and not extra,
          "profile and JSON sites differ:\n  only in JSON: %s\n  only in "
          "profile: %s" % ("\n    ".join(fmt_key(k) for k in missing[:8]),
                           "\n    ".join(fmt_key(k) for k in extra[:8])))
    bad = ["%s: JSON %s, profile %s" % (fmt_key(k), want[k], got[k])
           for k in want if want[k] != got[k]]
    check(not bad, "values differ:\n  " + "\n  ".join(bad[:8]))


def gnu_build_id(path):
    res = subprocess.run(["readelf", "-n", path], capture_output=True, text=True)
    m = re.search(r"Build ID: ([0-9a-f]+)", res.stdout)
    check(m, "%s has no GNU build ID (readelf -n):\n%s" % (path, res.stdout))
    return m.group(1)


def check_mappings(prof, exe):
    """Every location of a pc lies in its mapping; the target's own
    mapping names it, with its build ID."""
    maps = prof["mappings"]
    for i, loc in prof["locations"].items():
        if not loc["address"]:
            continue
        m = maps.get(loc["mapping"])
        check(m, "location %d (%#x) has no mapping" % (i, loc["address"]))
        check(m["start"] <= loc["address"] <= m["limit"],
              "location %d (%#x) is outside its mapping %s" %
              (i, loc["address"], m))
    own = [m for m in maps.values()
           if os.path.realpath(m["file"]) == os.path.realpath(exe)]
    check(own, "no mapping of %s: %s" % (exe, list(maps.values())))
    want = gnu_build_id(exe)
    check(all(m["build_id"] == want for m in own),
          "mapping of %s has build ID %s, readelf says %s" %
          (exe, [m["build_id"] for m in own], want))


# ---------------------------------------------------------------------------
# Runs


def run(args, duration, pprof_path, during=None, env=None):
    """leakwatch with --json and --pprof; calls during(proc) while it runs.
    Returns the JSON report."""
    lwlib.require_leakwatch()
    out = os.path.join(tmpdir(), "report.json")
    lw = lwlib.leakwatch(["-d", str(duration), "--json", out,
                          "--pprof", pprof_path] + args, env=env)
    if during:
        during(lw)
    rc = lw.wait(duration + 30)
    if rc is None:
        lw.kill()
        raise AssertionError("leakwatch still running:\n" + lw.describe())
    check(rc == 0, "leakwatch exited %d:\n%s" % (rc, lw.describe()))
    check(os.path.exists(pprof_path), "--pprof %s was not written:\n%s" %
          (pprof_path, lw.describe()))
    check(not os.path.exists(pprof_path + ".tmp"),
          "the temporary profile %s.tmp was left behind" % pprof_path)
    return lwlib.load_report(out, lw)


def read_back(path):
    res = pprof(["-raw"], path)
    check(res.returncode == 0, "go tool pprof -raw failed (%d):\n%s" %
          (res.returncode, lwlib.tail(res.stderr)))
    return parse_raw(res.stdout)


def periodic_profile(path, pidfile, exe):
    """The profile exists before the end, written at an interval: whole."""
    def check_it(lw):
        check(lwlib.launched_pid(pidfile, exe),
              "leaky never started under leakwatch:\n" + lw.describe())
        check(lwlib.wait_for(lambda: os.path.exists(path), 4),
              "no profile after the first interval:\n" + lw.describe())
        with open(path, "rb") as f:
            data = f.read()
        check(data[:2] == b"\x1f\x8b", "the profile is not gzip: %r" % data[:8])
        check(len(gzip.decompress(data)) > 0, "the profile is empty")
    return check_it


def test_pprof_heap_matches_json():
    path = os.path.join(tmpdir(), "leaky.pb.gz")
    env, pidfile = lwlib.pidfile_env()
    exe = lwlib.target("leaky")
    duration = 4
    rep = run(["-i", "1", "--", exe, "-q", "-t", str(duration + 10)],
              duration, path, during=periodic_profile(path, pidfile, exe),
              env=env)
    heap = [s for s in rep["sites"] if s["kind"] == "heap" and s["stack"]]
    check(heap, "no heap site in the JSON report:" + lwlib.fmt_sites(rep["sites"]))
    prof = read_back(path)
    check_same(rep, prof)
    check_mappings(prof, exe)
    check(prof["duration"] is not None and
          abs(prof["duration"] - duration) <= 1.5,
          "profile duration %r, ran -d %d" % (prof["duration"], duration))
    res = pprof(["-top", "-sample_index=inuse_space"], path)
    check(res.returncode == 0, "go tool pprof -top failed (%d):\n%s" %
          (res.returncode, lwlib.tail(res.stderr)))
    big = max(heap, key=lambda s: s["bytes"])
    check("Type: inuse_space" in res.stdout and
          re.search(r"\s%s\s*$" % re.escape(big["stack"][0]["symbol"]),
                    res.stdout, re.M),
          "go tool pprof -top does not show %s, the largest site:\n%s" %
          (big["stack"][0]["symbol"], res.stdout))


def test_pprof_threads_inlined_frames():
    """std::thread's constructor is inlined into the creating function:
    one location, two lines, the inlined one first; C++ names whole."""
    exe = lwlib.target("threads-cxx")
    tgt = lwlib.start_target("threads-cxx")
    check(lwlib.wait_for(lambda: "ready" in tgt.stdout, 5),
          "threads-cxx did not start:\n" + tgt.describe())
    path = os.path.join(tmpdir(), "threads.pb.gz")
    rep = run(["-i", "0.5", "-p", str(tgt.pid)], 3, path)
    inlined = [s for s in rep["sites"] if s["kind"] == "thread" and
               any(f["inlined"] for f in s["stack"])]
    check(inlined, "no thread site with an inlined frame in the JSON:" +
          lwlib.fmt_sites(rep["sites"]))
    prof = read_back(path)
    check_same(rep, prof)
    check_mappings(prof, exe)
    multi = [loc for loc in prof["locations"].values() if len(loc["lines"]) > 1]
    check(multi, "no location with inlined lines in the profile")


def test_pprof_goroutines_match_json():
    exe = build_go("1.23")
    tgt = lwlib.spawn([exe, "-rate", "10"])
    check(lwlib.wait_for(lambda: "ready" in tgt.stdout, 10),
          "goleak did not start:\n" + tgt.describe())
    time.sleep(1)
    path = os.path.join(tmpdir(), "goleak.pb.gz")
    rep = run(["-i", "0.5", "-p", str(tgt.pid)], 3, path)
    gs = [s for s in rep["sites"] if s["kind"] == "goroutine"]
    check(sum(s["count"] for s in gs) >= 10,
          "too few goroutines in the JSON report:" + lwlib.fmt_sites(gs))
    prof = read_back(path)
    check_same(rep, prof)
    res = pprof(["-top", "-sample_index=goroutine"], path)
    check(res.returncode == 0 and "Type: goroutine" in res.stdout,
          "go tool pprof -top -sample_index=goroutine failed (%d):\n%s%s" %
          (res.returncode, res.stdout, lwlib.tail(res.stderr)))


def test_pprof_go_heap_matches_json():
    """A Go program's heap (the runtime's own profile, read from outside):
    the same sites and values in pprof as in the JSON, and `go tool pprof`
    names its largest leak under inuse_space."""
    path = os.path.join(tmpdir(), "goheap.pb.gz")
    exe = lwlib.build_go(["goheap.go", "goheap_pprof.go", "goheap_nopprof.go"],
                         "1.23", tags=("withpprof",))
    duration = 6
    rep = run(["-i", "1", "--", exe, "-bps", "1e6", "-memprofilerate", "4096",
               "-churn", "30", "-gogc", "50", "-t", str(duration + 10)],
              duration, path)
    lwlib.PidProc(rep["target"]["pid"], exe)
    go = [s for s in rep["sites"] if s.get("source") == "go" and s["stack"]]
    check(go, "no Go heap site in the JSON report:" +
          lwlib.fmt_sites(rep["sites"]))
    prof = read_back(path)
    check_same(rep, prof)
    res = pprof(["-top", "-sample_index=inuse_space"], path)
    check(res.returncode == 0, "go tool pprof -top failed (%d):\n%s" %
          (res.returncode, lwlib.tail(res.stderr)))
    big = max(go, key=lambda s: s["bytes"])
    check(re.search(r"\s%s\s*$" % re.escape(big["stack"][0]["symbol"]),
                    res.stdout, re.M),
          "go tool pprof -top does not show %s, the largest Go site:\n%s" %
          (big["stack"][0]["symbol"], res.stdout))
