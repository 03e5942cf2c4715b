"""The Go heap of unmodified Go programs built by the suite (goheap.go):
the leaks of the articles (an unbounded map used as a cache, a sub-slice
pinning a large buffer, a slice of pointers never trimmed, closures kept
by a ticker never stopped) beside churn (garbage, a bounded ring, large
buffers dropped at once), with Go 1.19, 1.21 and 1.23, built with and
without net/http/pprof imported: with it leakwatch reads the runtime's
own profile (no probe), without it the linker disabled the profile and
leakwatch samples the allocator's slow paths. Every leak is a suspect at
its function and line, growing at its known rate (+-25%); no churn site
is a suspect; the in-use bytes of each leak agree (+-20%) with the
program's own runtime/pprof heap profile taken at the same moment."""

import os
import time

import lwlib
from lwlib import check, tmpdir

SOURCES = ["goheap.go", "goheap_pprof.go", "goheap_nopprof.go"]
LEAKS = ("cache", "subslice", "requests", "ticker")
CHURN = ("garbage", "ring", "large")
FUNCS = {"cache": "main.leakCache", "subslice": "main.leakSubslice",
         "requests": "main.leakRequest", "ticker": "main.leakTicker"}
INTERVAL = 1
DURATION = 16     # a point per report: the suspect rule needs 12
# GCs often (the heap as of a GC is what both mechanisms show: a GC
# between the program's own profile and leakwatch's last look moves one
# by a GC interval of growth; at the default 100% a leaking heap's GCs
# grow seconds apart) and garbage the sampler must not take for live
# memory
TARGET_ARGS = ["-churn", "30", "-gogc", "10"]
# the profile, fine-grained (the program's own choice), is exact enough
# for growth checks at 1 MB/s a leak; the sampler (512 KiB between
# samples) needs more bytes to tell rates to +-25%: ~250 samples a leak
# (a rate to +-6.5%, one sigma)
PROFILE_BPS = 1e6
SAMPLE_BPS = 5e6
SAMPLE_DURATION = 26


def build(version, pprof, stripped=False):
    tags = ("withpprof",) if pprof else ()
    return lwlib.build_go(SOURCES, version, stripped, tags=tags)


def go_sites(rep, func, line):
    return [s for s in rep["sites"] if s["kind"] == "heap"
            and s.get("source") == "go" and s["stack"]
            and s["stack"][0].get("symbol") == func
            and s["stack"][0].get("line") == line]


def run(exe, bps, extra=(), memprofilerate=None, version="",
        duration=DURATION, target_args=()):
    """leakwatch on a launched goheap; the program writes its own heap
    profile half a second before leakwatch's final report (at 5 MB/s a
    leak, every second apart is ~5% of what a leak holds)."""
    lwlib.require_leakwatch()
    d = tmpdir()
    out = os.path.join(d, "report.json")
    trig = os.path.join(d, "trigger")
    args = ["-i", str(INTERVAL), "-d", str(duration), "-n", "40",
            "--json", out] + list(extra)
    cmd = [exe, "-bps", str(bps), "-t", str(duration + 10),
           "-trigger", trig] + TARGET_ARGS + list(target_args)
    if memprofilerate:
        cmd += ["-memprofilerate", str(memprofilerate)]
    lw = lwlib.leakwatch(args + ["--"] + cmd)
    check(lwlib.wait_for(lambda: "watching pid" in lw.stdout, 20),
          "Go %s: leakwatch did not start:\n%s" % (version, lw.describe()))
    time.sleep(duration - 0.5)
    open(trig, "w").close()
    rc = lw.wait(duration + 30)
    check(rc == 0, "Go %s: leakwatch exit %r:\n%s" % (version, rc,
                                                       lw.describe()))
    rep = lwlib.load_report(out, lw)
    lwlib.PidProc(rep["target"]["pid"], exe)
    check(lwlib.wait_for(lambda: os.path.exists(trig + ".held"), 5),
          "Go %s: the program wrote no .held file:\n%s" % (version,
                                                           lw.describe()))
    prof = None
    if os.path.exists(trig + ".heap"):
        with open(trig + ".heap") as f:
            prof = lwlib.parse_heap_profile(f.read())
        # for the messages: the program's GC count when it wrote it
        prof["held"] = lwlib.read_text(trig + ".held").strip()
    return rep, lw, prof


def check_heap(rep, lw, version, bps, mechanism, prof=None, schema=True):
    marks = lwlib.go_markers("goheap.go")
    gh = rep.get("go_heap")
    check(gh and gh["mechanism"] == mechanism,
          "Go %s: Go heap mechanism %r, expected %s:\n%s" %
          (version, gh and gh["mechanism"], mechanism, lw.describe()))
    samples = rep["stats"].get("go_heap_samples", 0)
    check((samples > 0) == (mechanism == "sample"),
          "Go %s: %d samples taken by the probes (%s)" % (version, samples,
                                                          mechanism))
    check(gh["gc_cycles"] and gh["gc_cycles"] >= 12,
          "Go %s: %r GC cycles: too few to judge" % (version, gh["gc_cycles"]))
    check(gh["heap_inuse_bytes"] and gh["heap_objects"]
          and gh["heap_marked_bytes"],
          "Go %s: the runtime's totals are missing: %s" % (version, gh))
    heap = [s for s in rep["sites"] if s.get("source") == "go"]
    by_line = lwlib.heap_by_line(prof, "goheap.go") if prof else {}
    for name in LEAKS:
        line = marks["LEAK:" + name]
        found = go_sites(rep, FUNCS[name], line)
        check(found, "Go %s: no Go heap site at %s line %d (%s):\n%s" %
              (version, FUNCS[name], line, name, lwlib.fmt_sites(heap, 20)))
        s = max(found, key=lambda s: s["bytes"])
        check(s["suspect"], "Go %s: leak %s is not a suspect: %s" %
              (version, name, lwlib.fmt_site(s)))
        rate = s["bytes_per_s"]
        check(abs(rate - bps) <= 0.25 * bps,
              "Go %s: leak %s grows %.0f B/s, it leaks %.0f B/s: %s" %
              (version, name, rate, bps, lwlib.fmt_site(s)))
        if prof:
            want = by_line.get((FUNCS[name], line), 0)
            check(want > 0 and abs(s["bytes"] - want) <= 0.2 * want,
                  "Go %s: leak %s holds %d bytes, the program's own heap "
                  "profile says %d (leakwatch saw %s GC cycles, the "
                  "program's line then: %s)" %
                  (version, name, s["bytes"], want, gh["gc_cycles"],
                   prof.get("held")))
    for name in CHURN:
        line = marks["CHURN:" + name]
        bad = [s for s in rep["sites"] if s.get("suspect") and s["stack"]
               and s["stack"][0].get("line") == line
               and lwlib.frame_file(s["stack"][0]) == "goheap.go"]
        check(not bad, "Go %s: churn %s is a suspect: %s" %
              (version, name, lwlib.fmt_sites(bad)))
    if schema:
        lwlib.check_schema(rep)


def check_folded(rep, folded, version):
    """Each leak's site is a folded line (innermost frame last) holding
    its JSON bytes."""
    marks = lwlib.go_markers("goheap.go")
    lines = {}
    for text in folded.splitlines():
        stack, _, value = text.rpartition(" ")
        lines[stack] = lines.get(stack, 0) + int(value)
    for name in LEAKS:
        leaf = "%s (goheap.go:%d)" % (FUNCS[name], marks["LEAK:" + name])
        got = sum(v for k, v in lines.items() if k.split(";")[-1] == leaf)
        want = sum(s["bytes"] for s in go_sites(rep, FUNCS[name],
                                                marks["LEAK:" + name]))
        check(got == want, "Go %s: folded %s holds %d bytes, the JSON %d"
              % (version, leaf, got, want))


def profile_build(version):
    return lambda: build(version, pprof=True)


def profile_run(version, views=False):
    def go(exe):
        folded = os.path.join(tmpdir(), "go.folded") if views else None
        rep, lw, prof = run(exe, PROFILE_BPS,
                            ["--folded", folded] if views else (),
                            memprofilerate=4096, version=version)
        # read now: a test's tmpdirs go when it ends, and this run's
        # test may not be the first to end
        return rep, lw, prof, folded and lwlib.read_text(folded)
    return go


def sample_run(version, bps=SAMPLE_BPS, extra=(), **kw):
    def go(exe):
        rep, lw, prof = run(exe, bps, extra, version=version,
                            duration=SAMPLE_DURATION, **kw)
        return rep, lw, prof, None
    return go


CGO_RATE = 200  # 4 KiB blocks a second
# in-use to +-20%: more samples (~400 a leak: 5% one sigma)
MATCH_BPS = 1.6 * SAMPLE_BPS

# Every run of this file, by test: each mostly waits out its duration,
# so two side by side cost about one (two CPUs: three passed too, but
# descriptor runs four at once were seen short of their counts).
RUNS = lwlib.Prefetch("test_goheap", {
    "test_go_heap_profile_go119": (profile_build("1.19"),
                                   profile_run("1.19")),
    "test_go_heap_profile_go121": (profile_build("1.21"),
                                   profile_run("1.21")),
    "test_go_heap_profile_go123": (profile_build("1.23"),
                                   profile_run("1.23", views=True)),
    "test_go_heap_sampled_go119": (lambda: build("1.19", pprof=False),
                                   sample_run("1.19")),
    "test_go_heap_sampled_go121": (lambda: build("1.21", pprof=False),
                                   sample_run("1.21")),
    "test_go_heap_sampled_matches_pprof": (
        profile_build("1.23"),
        sample_run("1.23", MATCH_BPS, ["--go-heap", "sample"],
                   memprofilerate=4096)),
    "test_go_heap_stripped": (
        lambda: build("1.23", pprof=False, stripped=True),
        sample_run("1.23 stripped")),
    "test_go_heap_pie_profile": (
        lambda: lwlib.build_go(SOURCES, "1.21", tags=("withpprof",),
                               pie=True),
        lambda exe: run(exe, PROFILE_BPS, memprofilerate=4096,
                        version="1.21 PIE") + (None,)),
    "test_go_heap_cgo": (
        lambda: lwlib.build_go(SOURCES + ["goheap_cgo.go"], "1.23",
                               tags=("withcgo",), cgo=True),
        sample_run("1.23 cgo", target_args=["-crate", str(CGO_RATE)])),
    "test_go_heap_stripped_profile": (
        lambda: build("1.19", pprof=True, stripped=True),
        lambda exe: run(exe, PROFILE_BPS, memprofilerate=4096,
                        version="1.19 stripped") + (None,)),
}, workers=2)


def profile_test(test, version):
    rep, lw, prof, folded = RUNS(test)
    check(prof, "Go %s: the pprof build wrote no heap profile" % version)
    check_heap(rep, lw, version, PROFILE_BPS, "profile", prof)
    if folded:
        check_folded(rep, folded, version)


def sample_test(test, version):
    rep, lw, _, _ = RUNS(test)
    check_heap(rep, lw, version, SAMPLE_BPS, "sample")


def test_go_heap_profile_go119():
    profile_test("test_go_heap_profile_go119", "1.19")


def test_go_heap_profile_go121():
    profile_test("test_go_heap_profile_go121", "1.21")


def test_go_heap_profile_go123():
    profile_test("test_go_heap_profile_go123", "1.23")


def test_go_heap_sampled_go119():
    sample_test("test_go_heap_sampled_go119", "1.19")


def test_go_heap_sampled_go121():
    sample_test("test_go_heap_sampled_go121", "1.21")


# Go 1.23's sampler (the profile disabled by the linker, auto) is tested
# stripped below (test_go_heap_stripped), with DWARF system-wide
# (test_system.test_system_go_heap) and against the program's own
# profile (test_go_heap_sampled_matches_pprof).


def test_go_heap_sampled_matches_pprof():
    """The sampler against the runtime's own profile of the same program
    (profile on, fine-grained: the truth), sampling forced."""
    rep, lw, prof, _ = RUNS("test_go_heap_sampled_matches_pprof")
    check(prof, "the pprof build wrote no heap profile")
    check_heap(rep, lw, "1.23", MATCH_BPS, "sample", prof)


def test_go_heap_stripped():
    """-ldflags='-s -w': no symbols, no DWARF; the layout from the
    checked tables, the variables from the code, names from .gopclntab."""
    sample_test("test_go_heap_stripped", "1.23 stripped")


def test_go_heap_pie_profile():
    """-buildmode=pie: loaded at a random base, every address biased."""
    rep, lw, prof, _ = RUNS("test_go_heap_pie_profile")
    check(prof, "the PIE pprof build wrote no heap profile")
    check_heap(rep, lw, "1.21 PIE", PROFILE_BPS, "profile", prof)


def test_go_heap_cgo():
    """cgo: the C heap (malloc) and the Go heap side by side; the
    runtime's own mappings through libc are not ranked as leaks."""
    rep, lw, _, _ = RUNS("test_go_heap_cgo")
    crate = CGO_RATE
    check_heap(rep, lw, "1.23 cgo", SAMPLE_BPS, "sample")
    line = lwlib.go_markers("goheap_cgo.go")["LEAK:cmalloc"]
    found = [s for s in rep["sites"] if s.get("source") == "malloc"
             and s["stack"] and s["stack"][0].get("symbol") == "cgo_leak"
             and s["stack"][0].get("line") == line]
    check(found and found[0]["suspect"],
          "cgo: the C leak is not a suspect malloc site at cgo_leak line "
          "%d:\n%s" % (line, lwlib.fmt_sites(rep["sites"], 20)))
    rate = found[0]["bytes_per_s"]
    check(abs(rate - crate * 4096) <= 0.1 * crate * 4096,
          "cgo: the C leak grows %.0f B/s, it leaks %d" % (rate, crate * 4096))
    mm = [s for s in rep["sites"] if s.get("suspect")
          and s.get("source") in ("mmap", "malloc+mmap")
          and any(f.get("symbol") == "runtime.callCgoMmap"
                  for f in s["stack"])]
    check(not mm, "cgo: the runtime's own mappings are ranked as leaks: %s"
          % lwlib.fmt_sites(mm))
    check(rep["go_heap"]["runtime_mappings_bytes"] > 0,
          "cgo: no runtime mappings counted: %s" % rep["go_heap"])


def test_go_heap_stripped_profile():
    """A stripped Go 1.19 program with net/http/pprof, as Debian packages
    its servers: runtime.mbuckets and the rate found through the code."""
    rep, lw, prof, _ = RUNS("test_go_heap_stripped_profile")
    check(prof, "the stripped pprof build wrote no heap profile")
    check_heap(rep, lw, "1.19 stripped", PROFILE_BPS, "profile", prof)
