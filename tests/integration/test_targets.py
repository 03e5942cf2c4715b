"""Self-checks of the test targets, independent of leakwatch.

If these fail, the other tests' expectations are wrong, not leakwatch.
valgrind serves as the independent referee for the heap part.
"""

import os
import re
import subprocess

from lwlib import (TARGETS, check, markers, read_text, require_tool,
                   source, target, tmpdir)

# Allocator called on each marker line, by marker name prefix.
CALLS = ("malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
         "aligned_alloc", "memalign", "valloc", "pvalloc", "mmap")


def leaky_table(name="leaky"):
    """leaky --table: {marker: (function, kind, bytes/s)}, churn functions."""
    out = subprocess.run([target(name), "--table"], capture_output=True,
                         text=True, check=True).stdout
    sites, churn = {}, []
    for line in out.splitlines():
        f = line.split()
        if f[0] == "SITE":
            sites[f[1]] = (f[2], f[3], float(f[6]))
        elif f[0] == "CHURN":
            churn.append(f[1])
    return sites, churn


def leaky_event_bytes(name="leaky"):
    """leaky --table: {marker: bytes leaked per event}."""
    out = subprocess.run([target(name), "--table"], capture_output=True,
                         text=True, check=True).stdout
    return {f[1]: int(f[4]) for f in map(str.split, out.splitlines()) if f[0] == "SITE"}


def exact_table(name="exact", extra=()):
    """Run exact -x; {marker: (function, kind, count, bytes)}."""
    path = os.path.join(tmpdir(), "table")
    subprocess.run([target(name), "-x", "-o", path] + list(extra), check=True,
                   timeout=30)
    return parse_exact_table(read_text(path))


def parse_exact_table(text):
    table = {}
    for line in text.splitlines():
        f = line.split()
        if f and f[0] == "EXPECT":
            table[f[1]] = (f[2], f[3], int(f[4]), int(f[5]))
    return table


def test_targets_build():
    for name in TARGETS:
        check(os.access(target(name), os.X_OK), "%s not built" % name)


# Markers whose name does not contain the allocator called on their line.
CALL_OF = {"realloc_fail_keep": "malloc"}


def check_marker_line(m, text):
    # mmap_anon() (common.h) is mmap() called on the line of its use.
    calls = re.findall(r"\b(%s)(?:_anon)?\(" % "|".join(CALLS), text)
    want = CALL_OF.get(m.name)
    check(len(calls) == 1 and (calls[0] == want or
                               (not want and calls[0] in m.name)),
          "%r: line calls %s: %s" % (m, calls, text.strip()))


def test_target_markers():
    """Every table entry has its LEAK marker, in the named function, on a
    line that calls the named allocator; marker lines are far apart."""
    for filename, table in (("leaky.c", leaky_table()[0]),
                            ("exact.c", exact_table())):
        marks = markers(filename)
        lines = open(source(filename)).read().splitlines()
        leak_names = {name for kind, name in marks if kind == "LEAK"}
        check(leak_names == set(table),
              "%s: LEAK markers %s != table %s" % (filename, sorted(leak_names),
                                                   sorted(table)))
        for name, row in table.items():
            m = marks[("LEAK", name)]
            check(m.func == row[0], "%r is in %s, table says %s" % (m, m.func, row[0]))
            check_marker_line(m, lines[m.line - 1])
        # +-1 line matching (for -O2) must never confuse two markers.
        by_func = {}
        for m in marks.values():
            by_func.setdefault(m.func, []).append(m)
        for func, ms in by_func.items():
            for a in ms:
                for b in ms:
                    if a is not b and a.kind != b.kind:
                        check(abs(a.line - b.line) > 1,
                              "%r and %r are adjacent" % (a, b))


def valgrind_losses(argv, files):
    """Run argv under valgrind; {(function, file, line): [bytes, blocks]}
    of the first frame in one of files, over all leak kinds."""
    require_tool("valgrind")
    res = subprocess.run(["valgrind", "--leak-check=full", "--show-leak-kinds=all",
                          "--num-callers=8"] + argv, capture_output=True, text=True,
                         timeout=120)
    check(res.returncode == 0, "valgrind %s failed (%d):\n%s" %
          (" ".join(argv), res.returncode, res.stderr[-3000:]))
    check("Program aborting" not in res.stderr, res.stderr[-3000:])
    losses, current = {}, None
    frame_re = re.compile(r"(?:at|by) 0x[0-9A-F]+: (\w+) \((%s):(\d+)\)" %
                          "|".join(re.escape(f) for f in files))
    for line in res.stderr.splitlines():
        m = re.search(r"([\d,]+) bytes in ([\d,]+) blocks are .* in loss record", line)
        if m:
            current = [int(m.group(1).replace(",", "")),
                       int(m.group(2).replace(",", ""))]
            continue
        m = frame_re.search(line)
        if m and current:
            key = (m.group(1), m.group(2), int(m.group(3)))
            acc = losses.setdefault(key, [0, 0])
            acc[0] += current[0]
            acc[1] += current[1]
            current = None
    return losses, res.stdout


def test_exact_heap_matches_valgrind():
    """valgrind sees exactly the heap leaks of exact's table, at the marker
    lines, and nothing at NOLEAK lines (pvalloc skipped: valgrind lacks it)."""
    path = os.path.join(tmpdir(), "table")
    losses, _ = valgrind_losses([target("exact"), "-x", "-V", "-o", path], ["exact.c"])
    table = parse_exact_table(read_text(path))
    marks = markers("exact.c")
    check("pvalloc" not in table, "-V still leaked through pvalloc")
    for name, (func, kind, count, nbytes) in table.items():
        if kind != "heap":
            continue
        line = marks[("LEAK", name)].line
        got = losses.pop((func, "exact.c", line), None)
        check(got == [nbytes, count],
              "valgrind: %s at exact.c:%d lost %s, table says [%d bytes, %d blocks]; "
              "all: %s" % (name, line, got, nbytes, count, losses))
    check(not losses, "valgrind found other leaks in exact.c: %s" % losses)


def test_leaky_matches_valgrind():
    """Over 300 ticks leaky leaks exactly 300/period events per site, and
    the churn functions lose nothing."""
    sites, churn = leaky_table()
    losses, out = valgrind_losses([target("leaky"), "-V", "-t", "3"],
                                  ["leaky.c", "churn.c"])
    # 300 ticks on absolute deadlines: never sooner than 3 s (later under
    # load is fine: what is checked below counts ticks, not seconds)
    m = re.search(r"done after ([\d.]+) s", out)
    check(m and float(m.group(1)) >= 2.99,
          "leaky -t 3 under valgrind did not run its 300 ticks: %r" % (m and m.group(0)))
    marks = markers("leaky.c")
    for name, (func, kind, rate) in sites.items():
        if kind != "heap" or name == "pvalloc":
            continue
        got = losses.get((func, "leaky.c", marks[("LEAK", name)].line), [0, 0])
        check(abs(got[0] - rate * 3.0) <= 0.02 * rate * 3.0,
              "%s leaked %d bytes in 3 s, expected %.0f" % (name, got[0], rate * 3.0))
    # Churn keeps at most its pool (64 blocks) and one sawtooth of cache.
    for (func, f, line), (nbytes, blocks) in losses.items():
        if func in churn:
            check(blocks <= 64 + 6 * 37,
                  "churn %s:%d holds %d blocks at exit" % (func, line, blocks))
