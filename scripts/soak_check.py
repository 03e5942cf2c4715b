#!/usr/bin/env python3
"""make soak's verdicts, from what scripts/soak.sh collected.

RSS and CPU are judged after a warm-up: the time the trend windows take to
fill (60 reports: at -i 5, 300 s), 60 s at least. Until then each report's
work grows (every site's Mann-Kendall test is quadratic in the samples it
holds); sites, unwind tables and symbols are found in the first seconds.
The thirds of the steps left are compared: the last third's mean may be at most SOAK_RSS_TOLERANCE
(default 5) % above the first third's for VmRSS, SOAK_CPU_TOLERANCE
(default 25) % for the CPU used per step. Both are one-sided: falling is
flat. A leak of the observer's own grows with the events it handles,
i.e. steadily with time under a steady load.

Outstanding bytes: the C server parked every thread between two
operations before it wrote its books, and leakwatch reported twice after
that before it was stopped, so nothing was in flight (no allocation
between its entry and return probes, no mmap record in the ring buffer):
leakwatch's heap sites of that process must hold exactly the books'
bytes and blocks, in total and per allocating function. Without the
pause, the two figures would be taken at different instants, apart by
what a few milliseconds of churn allocate (here ~16,000 calls a second,
up to 512 KiB each): no tolerance would be both honest and tight.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

TREND_WINDOW = 60  # user/trend.h: the samples a site's trend holds


def mib(b):
    return f"{b / 1048576:.1f} MiB"


def thirds(rows, key):
    n = len(rows) // 3
    first = statistics.mean(r[key] for r in rows[:n])
    last = statistics.mean(r[key] for r in rows[-n:])
    return first, last


def slope(rows, key):
    """Least-squares slope of key over t, per minute."""
    ts = [r["t"] for r in rows]
    vs = [r[key] for r in rows]
    mt, mv = statistics.mean(ts), statistics.mean(vs)
    var = sum((t - mt) ** 2 for t in ts)
    cov = sum((t - mt) * (v - mv) for t, v in zip(ts, vs))
    return 60 * cov / var if var else 0.0


def judge_flat(rows, warm, what, key, tol, show, rate):
    judged = [r for r in rows if r["t"] > warm]
    if len(judged) < 3:
        print(f"soak: {what} flat: no (too short: {len(judged)} steps after "
              f"the {warm:.0f} s warm-up, 3 needed)")
        return False
    first, last = thirds(judged, key)
    ok = last <= first * (1 + tol / 100)
    grow = (last / first - 1) * 100 if first else 0.0
    print(f"soak: {what} flat: {'yes' if ok else 'no'} (after {warm:.0f} s: "
          f"first third {show(first)}, last third {show(last)}, "
          f"{grow:+.1f} %, tolerance {tol:g} %; fitted slope "
          f"{rate(slope(judged, key))})")
    return ok


def read_books(path):
    books, total, work = {}, None, None
    with open(path) as f:
        for line in f:
            w = line.split()
            if w[0] == "SITE":
                books[w[1]] = (int(w[2]), int(w[3]))
            elif w[0] == "TOTAL":
                total = (int(w[1]), int(w[2]))
            elif w[0] == "WORK":
                work = dict(ops=int(w[1]), allocs=int(w[2]), frees=int(w[3]))
    return books, total, work


def check_outstanding(report, pid, books, total):
    got, stacks, other = {}, {}, {}
    for s in report["sites"]:
        if s.get("pid") != pid or s["kind"] != "heap":
            continue
        fn = s["stack"][0]["symbol"] if s["stack"] else None
        target = got if fn in books else other
        b, c = target.get(fn, (0, 0))
        target[fn] = (b + s["bytes"], c + s["count"])
        stacks[fn] = stacks.get(fn, 0) + 1
    ok = True
    print(f"soak: C server's books vs leakwatch's heap sites of pid {pid}, "
          "per allocating function:")
    print(f"  {'function':<22} {'books':>12} {'blocks':>7} "
          f"{'leakwatch':>12} {'blocks':>7} {'stacks':>7}")
    for fn, (b, c) in books.items():
        gb, gc = got.get(fn, (0, 0))
        mark = "" if (b, c) == (gb, gc) else "  MISMATCH"
        ok &= not mark
        print(f"  {fn:<22} {b:>12} {c:>7} {gb:>12} {gc:>7} "
              f"{stacks.get(fn, 0):>7}{mark}")
    for fn, (b, c) in other.items():
        if b or c:
            ok = False
            print(f"  {str(fn):<22} {0:>12} {0:>7} {b:>12} {c:>7} "
                  f"{stacks.get(fn, 0):>7}  NOT IN THE BOOKS")
    lb = sum(b for b, _ in got.values()) + sum(b for b, _ in other.values())
    lc = sum(c for _, c in got.values()) + sum(c for _, c in other.values())
    ok &= (lb, lc) == total
    print(f"soak: outstanding matches: {'yes' if ok else 'no'} (leakwatch "
          f"{lb} bytes in {lc} blocks over {sum(stacks.values())} stacks; "
          f"the server's books {total[0]} bytes in {total[1]} blocks; "
          "tolerance 0: the server was parked)")
    return ok


def check_observed(report, cpid, gpid, work, go_req, go_err):
    t, st = report["totals"], report["stats"]
    procs = {p["pid"]: p for p in report["processes"]}
    why = []
    if t["heap_allocs"] < work["allocs"]:
        why.append(f"heap_allocs {t['heap_allocs']} < the C server's "
                   f"{work['allocs']} allocations")
    if t["heap_frees"] < work["frees"]:
        why.append(f"heap_frees {t['heap_frees']} < the C server's "
                   f"{work['frees']} frees")
    for pid in (cpid, gpid):
        if not procs.get(pid, {}).get("zoomed"):
            why.append(f"pid {pid} not zoomed at the end")
    gh = procs.get(gpid, {}).get("go_heap") or {}
    go_sites = [s for s in report["sites"]
                if s.get("pid") == gpid and s.get("source") == "go"
                and s["bytes"] > 0]
    if gh.get("mechanism") != "sample" or not st.get("go_heap_samples"):
        why.append(f"Go heap not sampled (mechanism {gh.get('mechanism')}, "
                   f"go_heap_samples {st.get('go_heap_samples')})")
    if not go_sites:
        why.append("no Go heap site holding bytes")
    if go_req <= 0:
        why.append("the Go client made no request")
    if go_err:
        why.append(f"the Go client saw {go_err} failed requests")
    print(f"soak: observed: {'yes' if not why else 'no'} (heap_allocs "
          f"{t['heap_allocs']}, heap_frees {t['heap_frees']} for the C "
          f"server's {work['allocs']} and {work['frees']} since the start, "
          f"the rest the Go server's; {go_req} Go requests, "
          f"{go_err} failed; go_heap_samples {st.get('go_heap_samples')}, "
          f"goroutines_created {t['goroutines_created']})")
    for w in why:
        print(f"  not observed: {w}")
    gb = sum(s["bytes"] for s in go_sites)
    if gh:
        print(f"soak: Go heap (informational): {len(go_sites)} sites hold "
              f"{mib(gb)}; the runtime's: the last GC kept "
              f"{mib(gh.get('heap_marked_bytes') or 0)}, spans in use "
              f"{mib(gh.get('heap_inuse_bytes') or 0)}, "
              f"{gh.get('heap_objects')} objects, {gh.get('gc_cycles')} GC "
              f"cycles; explained {100 * (gh.get('explained') or 0):.0f} %")
    return not why


def check_probes(path):
    ours = {"link_id": set(), "prog_id": set()}
    with open(path) as f:
        for line in f:
            k, v = line.split()
            ours[k.rstrip(":")].add(int(v))
    left = []
    for kind, key in (("link", "link_id"), ("prog", "prog_id")):
        out = subprocess.run(["bpftool", "-j", kind, "list"], check=True,
                             capture_output=True, text=True).stdout
        now = {x["id"] for x in json.loads(out or "[]")}
        left += [f"{kind} {i}" for i in sorted(ours[key] & now)]
    ok = bool(ours["link_id"]) and not left
    if not ours["link_id"]:
        print("soak: probes left: ? (no link seen in leakwatch's descriptors)")
    elif left:
        print(f"soak: probes left: {', '.join(left)}")
    else:
        print(f"soak: probes left: none ({len(ours['link_id'])} links and "
              f"{len(ours['prog_id'])} programs of leakwatch's, seen in its "
              "descriptors, all gone)")
    return ok


def main():
    ap = argparse.ArgumentParser()
    for a in ("series", "exact", "report", "bpf-ids", "log"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--interval", type=float, required=True)
    ap.add_argument("--go-requests", type=int, required=True)
    ap.add_argument("--go-errors", type=int, required=True)
    a = ap.parse_args()

    with open(a.series) as f:
        head = f.readline().split()
        rows = [dict(zip(head, map(float, line.split()))) for line in f]
    rss_tol = float(os.environ.get("SOAK_RSS_TOLERANCE", 5))
    cpu_tol = float(os.environ.get("SOAK_CPU_TOLERANCE", 25))
    span = rows[-1]["t"] if rows else 0
    warm = max(60.0, TREND_WINDOW * a.interval)
    step = rows[0]["t"] if rows else 1
    ok = judge_flat(rows, warm, "RSS", "rss_kib", rss_tol,
                    lambda v: mib(v * 1024),
                    lambda v: f"{v:+.0f} KiB a minute")
    judged = [r for r in rows if r["t"] > warm]
    if len(judged) >= 3:
        first, last = thirds(judged, "anon_kib")
        print(f"      (VmHWM at the end {mib(rows[-1]['hwm_kib'] * 1024)}; "
              f"of VmRSS, anonymous: {mib(first * 1024)} and "
              f"{mib(last * 1024)}, "
              f"{slope(judged, 'anon_kib'):+.0f} KiB a minute; the rest is "
              "file pages)")
    ok &= judge_flat(rows, warm, "CPU", "cpu_s", cpu_tol,
                     lambda v: f"{v:.2f} s per {step:.0f} s step "
                               f"({100 * v / step:.1f} % of a CPU)",
                     lambda v: f"{1000 * v:+.0f} ms per step a minute")

    with open(a.report) as f:
        report = json.load(f)
    pids = {p["comm"]: p["pid"] for p in report["processes"]}
    cpid, gpid = pids.get("soak_cserver"), pids.get("soak_goserver")
    books, total, work = read_books(a.exact)
    ok &= check_outstanding(report, cpid, books, total)
    ok &= check_observed(report, cpid, gpid, work, a.go_requests, a.go_errors)
    drops = {k: v for k, v in report["drops"].items() if v}
    print("soak: drops (both servers): "
          + (", ".join(f"{k}={v}" for k, v in drops.items()) or "none"))
    ok &= check_probes(a.bpf_ids)
    print(f"soak: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
