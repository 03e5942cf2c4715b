"""--sample BYTES: byte-weighted sampling of the C heap.

- leaky, its leaks made large against the mean (-k 64: each site leaks
  ~1 to 5 MiB/s, >= 10 x 64 KiB per 1 s interval), under --sample 65536:
  every leak site is a suspect by the 13th report, as without sampling,
  and after 25 s its rate is within 25 % of the known rate; no churn
  site is a suspect.
- manylive, 100,000 live blocks of 16 B to 256 KiB (and a third of as
  many freed again): the estimate of the bytes outstanding is within
  10 % of the program's own books.
- The calls not sampled skip their return probe: the session program
  runs about once per call (twice per sample), not twice per call.
- The views say so: "sampled", "sample_bytes" and per site "sampled",
  "live_samples" in JSON; the text report's sampling line and ~ marks.
- Bad values are refused (exit 2), and nothing is left attached.
"""

import os
import re
import subprocess
import time

import lwlib
from lwlib import check, tmpdir
from test_targets import leaky_table

MEAN = 65536
TIMES = 64  # leaky -k: blocks leaked per event
INTERVAL, DURATION = 1, 25
FAST_REPORT = 13  # without sampling, every leak is a suspect by then
RATE_TOLERANCE = 0.25
TOTAL_TOLERANCE = 0.10

_memo = lwlib.Memo()


def _leak_run():
    lwlib.require_leakwatch()
    exe = lwlib.target("leaky")
    out = os.path.join(tmpdir(), "sampled.json")
    env, pidfile = lwlib.pidfile_env()
    lw = lwlib.leakwatch(["--sample", str(MEAN), "-i", str(INTERVAL), "-d",
                          str(DURATION), "-n", "40", "--json", out, "--",
                          exe, "-q", "-k", str(TIMES)], env=env)
    pid = lwlib.launched_pid(pidfile, exe)
    check(pid, "leaky never started under leakwatch:\n" + lw.describe())
    rc = lw.wait(DURATION + 30)
    if rc is None:
        lw.kill()
        raise AssertionError("leakwatch still running:\n" + lw.describe())
    check(rc == 0, "leakwatch exited %d:\n%s" % (rc, lw.describe()))
    rep = lwlib.load_report(out, lw)
    lwlib.cleanup_procs()
    return {"report": rep, "stdout": lw.stdout, "lw": lw}


def leak_run():
    return _memo("leaks", _leak_run)


def scaled_table():
    table, churn = leaky_table()
    return {m: (f, k, rate * TIMES) for m, (f, k, rate) in table.items()}, churn


def test_sampled_leaks_measured():
    run = leak_run()
    rep = run["report"]
    lwlib.check_schema(rep, INTERVAL, DURATION)
    check(rep.get("sampled") is True and rep.get("sample_bytes") == MEAN,
          "report says sampled=%r sample_bytes=%r, ran with --sample %d" %
          (rep.get("sampled"), rep.get("sample_bytes"), MEAN))
    table, churn = scaled_table()
    problems = []
    for name, (func, kind, rate) in table.items():
        found = lwlib.sites_in(rep, func, "leaky.c")
        if not found:
            problems.append("%s: no site" % name)
            continue
        for s in found:
            if not s["suspect"]:
                problems.append("%s: not a suspect: %s" % (name, lwlib.fmt_site(s)))
            # malloc's sites are estimates, mmap's are exact
            want = kind == "heap"
            if bool(s.get("sampled")) != want:
                problems.append("%s: sampled=%r for a %s site" %
                                (name, s.get("sampled"), kind))
            if want and not (isinstance(s.get("live_samples"), int) and
                             s["live_samples"] > 0):
                problems.append("%s: live_samples %r" % (name, s.get("live_samples")))
        got = sum(s["bytes_per_s"] for s in found)
        if abs(got - rate) > RATE_TOLERANCE * rate:
            problems.append("%s: bytes_per_s %.0f, leaks %.0f B/s (+-%d%%)" %
                            (name, got, rate, RATE_TOLERANCE * 100))
    for s in rep["sites"]:
        if s["suspect"] and lwlib.frame0(s).get("symbol") in churn:
            problems.append("churn flagged: %s" % lwlib.fmt_site(s))
    stats = rep["stats"]
    check(stats.get("heap_samples", 0) > 0 and
          # leaky's blocks are 1.5 to 8 KiB: 2 to 12 % of them sampled
          stats.get("heap_calls", 0) > 4 * stats["heap_samples"],
          "stats: heap_calls %r, heap_samples %r: sampling did not happen" %
          (stats.get("heap_calls"), stats.get("heap_samples")))
    check(not problems, "sampled leaky run:\n  " + "\n  ".join(problems) +
          lwlib.fmt_sites(rep["sites"], 30))


def _reports(text):
    """The periodic text reports: [(elapsed, [site lines])]."""
    out = []
    for block in re.split(r"\n(?===)", text):
        m = re.match(r"== (?:final report: )?pid \d+ \(.*?\) at ([0-9.]+)s", block)
        if m:
            out.append((float(m.group(1)), block.splitlines()))
    return out


def test_sampled_leaks_found_as_fast():
    run = leak_run()
    table, _ = scaled_table()
    reports = [r for r in _reports(run["stdout"])
               if FAST_REPORT - 0.5 <= r[0] <= FAST_REPORT + 0.9]
    check(reports, "no report at ~%d s in:\n%s" % (FAST_REPORT, lwlib.tail(run["stdout"], 40)))
    lines = reports[0][1]
    missing = []
    for name, (func, kind, _) in table.items():
        if kind != "heap":
            continue
        flagged = [ln for ln in lines if "SUSPECT" in ln and
                   re.search(r"SUSPECT\s+%s \(" % re.escape(func), ln)]
        if not flagged:
            missing.append(func)
    check(not missing, "at %.1f s these leaks are not suspects yet: %s\n%s" %
          (reports[0][0], missing, "\n".join(lines[:60])))


def test_sampled_views():
    run = leak_run()
    text = run["stdout"]
    check(re.search(r"heap sampled: one sample per 64\.0 KiB allocated on "
                    r"average; ~ marks estimates \(\d+ calls, \d+ sampled\)", text),
          "no sampling line in the text report:\n" + lwlib.tail(text, 30))
    check(re.search(r"heap ~[0-9.]+ [KMG]?i?B outstanding", text),
          "the heap total is not marked as an estimate:\n" + lwlib.tail(text, 30))
    # a malloc site's row: rate, bytes and count marked
    check(re.search(r"~[0-9.]+ [KMG]iB/s\s+~[0-9.]+ [KMG]iB\s+~\d+ ", text),
          "no heap row marked ~:\n" + lwlib.tail(text, 30))


def _books(path):
    total = None
    for line in lwlib.read_text(path).splitlines():
        f = line.split()
        if f and f[0] == "TOTAL":
            total = (int(f[1]), int(f[2]))
    check(total, "manylive wrote no TOTAL line to %s" % path)
    return total


def test_sampled_total_estimate():
    lwlib.require_leakwatch()
    exe = lwlib.target("manylive")
    books = os.path.join(tmpdir(), "books")
    out = os.path.join(tmpdir(), "manylive.json")
    env, pidfile = lwlib.pidfile_env()
    lw = lwlib.leakwatch(["--sample", str(MEAN), "-i", "1", "--json", out,
                          "--", exe, "-o", books], env=env)
    pid = lwlib.launched_pid(pidfile, exe)
    check(pid, "manylive never started:\n" + lw.describe())
    check(lwlib.wait_for(lambda: "TOTAL" in lwlib.read_text(books), 60),
          "manylive never wrote its books:\n" + lw.describe())
    # two reports after the books: everything drained
    time.sleep(2.5)
    lw.signal(2)
    rc = lw.wait(30)
    check(rc == 0, "leakwatch exited %r:\n%s" % (rc, lw.describe()))
    rep = lwlib.load_report(out, lw)
    count, nbytes = _books(books)
    heap = [s for s in rep["sites"] if s["kind"] == "heap"]
    est = sum(s["bytes"] for s in heap)
    est_count = sum(s["count"] for s in heap)
    samples = sum(s.get("live_samples", 0) for s in heap)
    print("manylive: %d blocks, %d bytes; estimate %d bytes (%.3f), %d blocks "
          "(%.3f), from %d live samples" %
          (count, nbytes, est, est / nbytes, est_count, est_count / count, samples))
    check(all(s.get("sampled") for s in heap), "a malloc site not marked sampled:%s"
          % lwlib.fmt_sites(heap))
    check(abs(est - nbytes) <= TOTAL_TOLERANCE * nbytes,
          "estimated %d bytes outstanding, the books say %d (+-%d%%)%s" %
          (est, nbytes, TOTAL_TOLERANCE * 100, lwlib.fmt_sites(heap)))
    # counts are noisier (a 16 B sample stands for ~4,000 blocks)
    check(abs(est_count - count) <= 0.3 * count,
          "estimated %d blocks outstanding, the books say %d" % (est_count, count))
    check(samples < count / 20, "%d live samples for %d blocks: not sampled" %
          (samples, count))


def _session_runs(stderr):
    m = re.search(r"bpf alloc_session: (\d+) runs", stderr)
    return int(m.group(1)) if m else None


def test_unsampled_calls_skip_return_probe():
    """Each allocator call runs the session program once at entry; only
    the sampled (and mmap) calls run it again at return."""
    lwlib.require_leakwatch()
    lwlib.skip_if_sanitized("counts BPF runs: the sanitized build is slow, "
                            "not different")
    old = subprocess.run(["sysctl", "-n", "kernel.bpf_stats_enabled"],
                         capture_output=True, text=True).stdout.strip() or "0"
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"], check=True)
    try:
        out = os.path.join(tmpdir(), "skip.json")
        lw = lwlib.run_leakwatch(["-v", "--sample", str(MEAN), "-i", "1",
                                  "-d", "3", "--json", out, "--",
                                  lwlib.target("leaky"), "-q", "-t", "60"], 40)
    finally:
        subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=" + old])
    lwlib.cleanup_procs()
    rc = lw.popen.returncode
    check(rc == 0, "leakwatch exited %r:\n%s" % (rc, lw.describe()))
    rep = lwlib.load_report(out, lw)
    runs = _session_runs(lw.stderr)
    check(runs is not None, "no run count of alloc_session in -v:\n" +
          lwlib.tail(lw.stderr, 20))
    calls = rep["stats"]["heap_calls"]
    samples = rep["stats"]["heap_samples"]
    nested = rep["stats"]["nested_calls"]
    print("alloc_session ran %d times for %d calls (%d sampled, %d nested)" %
          (runs, calls, samples, nested))
    check(calls > 1000 and samples < calls / 5,
          "heap_calls %d, heap_samples %d" % (calls, samples))
    # entries of every call, returns of sampled ones and of mmap calls
    check(runs < 1.25 * (calls + nested) + 2 * samples + 1000,
          "alloc_session ran %d times for %d calls (%d sampled): the return "
          "probe was not skipped" % (runs, calls, samples))


def test_sample_bad_values():
    lwlib.require_leakwatch()
    for bad in ("abc", "-1", "2g", "64kb", "", "1t", "99999999999999999999"):
        res = subprocess.run([lwlib.LEAKWATCH, "--sample", bad, "-d", "1",
                              "--", "true"], capture_output=True, text=True,
                             timeout=20)
        check(res.returncode == 2 and "--sample" in res.stderr,
              "--sample %r: exit %d, stderr %r" % (bad, res.returncode, res.stderr))


def test_sampled_nothing_left():
    run = leak_run()
    links = lwlib.bpftool_json("link", "list")
    mine = [l for l in links if l.get("prog_name", "").startswith("alloc_s")]
    check(not mine, "links of the sampled run left behind: %r" % mine)
