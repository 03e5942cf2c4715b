"""Names are data (issue 14): a target whose names are hostile.

tests/targets/hostile.c leaks memory and descriptors from functions whose
symbols hold a terminal title sequence (OSC 0 "owned"), an SGR colour, a
';' and bytes that are no UTF-8, in a source file whose DWARF name has an
ESC and an invalid byte; it names itself (comm) with ESC, BEL, an invalid
byte and a C0 control, and the files it leaks have an ESC, a backslash and
an invalid byte in their names. Every view must show those names escaped
the one way of user/safestr.h (\\xNN for control characters and invalid
bytes, \\\\ for a backslash): the text report and stderr hold no control
character but newlines and no invalid UTF-8, the JSON report is strict
UTF-8 with no control character in any string, folded lines stay lines of
frames, pprof's strings are UTF-8 (and `go tool pprof` reads the profile),
and `top` (in tmux) never lets the title sequence through: the pane's
title stays its own.
"""

import gzip
import json
import os
import re
import shutil
import time

import lwlib
from lwlib import check, tmpdir
import test_top as ttop
import test_views_folded as tvf
import test_views_pprof as tpp

# How the views must show the target's names (tests/targets/hostile.c).
EVIL = r"\x1b]0;owned\x07\x1b[31m;\xff\xfe"
HEAP_SYM = "leak_" + EVIL + "_heap"
FD_SYM = "leakfd_" + EVIL
SRC = r"hostile_\x1b[31m\xff.c"
COMM = r"h\x1b]0;pwn\x07\xff\x01"
# A copy of the target in a file of this name, and how it is shown.
EXE_NAME = b"hostile\x1b[32m\xfe"
EXE_SHOWN = r"hostile\x1b[32m\xfe"
FD_TYPE = r"/fd_\x1b[*J\xff\\_*"  # digits as '*', the backslash doubled

# What no view may print: C0 controls (but newline; tab where allowed),
# DEL and the C1 controls.
_BAD_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_BAD_TAB_RE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def check_safe(data, what, tabs=False):
    """data (bytes) is strict UTF-8 with no control character but '\\n'
    (and '\\t' if tabs); the text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError("%s is not valid UTF-8 at byte %d: %r" %
                             (what, e.start, data[max(0, e.start - 40):e.start + 40]))
    bad = (_BAD_TAB_RE if tabs else _BAD_RE).search(text.replace("\n", " "))
    check(not bad, "%s holds control character U+%04X at %d: %r" %
          (what, ord(bad.group()) if bad else 0, bad.start() if bad else 0,
           text[max(0, bad.start() - 40):bad.start() + 40] if bad else ""))
    return text


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def load_safe_json(path, proc):
    """The report, strict UTF-8, no control character in any string (a
    \\u001b escape would decode to one)."""
    check(os.path.exists(path), "JSON report %s was not written\n%s" %
          (path, proc.describe()))
    rep = json.loads(check_safe(read_bytes(path), path, tabs=True))
    for s in lwlib.json_strings(rep):
        check(not _BAD_TAB_RE.search(s) and "\t" not in s,
              "a string of the JSON report holds a control character: %r" % s)
    return rep


def site_at(rep, kind, symbol):
    for s in rep["sites"]:
        if s["kind"] == kind and s["stack"] and s["stack"][0].get("symbol") == symbol:
            return s
    return None


def check_report(rep, comm=True):
    """The leaking sites found, their names escaped as the views show them."""
    heap = site_at(rep, "heap", HEAP_SYM)
    check(heap, "no heap site at %r:%s" % (HEAP_SYM, lwlib.fmt_sites(rep["sites"])))
    check(os.path.basename(heap["stack"][0].get("file") or "") == SRC,
          "the heap site's file is %r, not .../%s" % (heap["stack"][0].get("file"), SRC))
    check(heap["bytes"] >= 4096 * 5, "the heap site holds %d bytes" % heap["bytes"])
    fd = site_at(rep, "fd", FD_SYM)
    check(fd, "no fd site at %r:%s" % (FD_SYM, lwlib.fmt_fd_sites(lwlib.fd_sites(rep))))
    check(any(k.endswith(FD_TYPE) for k in fd.get("types", {})),
          "the fd site's types %r name no file .../%s" % (fd.get("types"), FD_TYPE))
    if comm:
        check(rep["target"]["comm"] == COMM, "target.comm is %r, not %r" %
              (rep["target"]["comm"], COMM))


# ---------------------------------------------------------------------------
# pprof: its string table read straight from the protobuf


def _varint(b, i):
    x = shift = 0
    while True:
        c = b[i]
        i += 1
        x |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return x, i


def pprof_strings(data):
    """Profile.string_table (field 6) as raw bytes."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n, i = _varint(data, i)
            if field == 6:
                out.append(data[i:i + n])
            i += n
        else:
            raise AssertionError("profile: wire type %d at %d" % (wire, i))
    return out


# ---------------------------------------------------------------------------
# One launched run serves several tests


memo = lwlib.Memo()


def launched_run():
    lwlib.require_leakwatch()
    exe = lwlib.target("hostile")
    d = tmpdir()
    files = os.path.join(d, "files")
    os.mkdir(files)
    js, folded, prof = (os.path.join(d, n) for n in
                        ("report.json", "hostile.folded", "hostile.pb.gz"))
    env, pidfile = lwlib.pidfile_env()
    lw = lwlib.leakwatch(["-i", "1", "-d", "4", "--json", js, "--folded",
                          folded, "--pprof", prof, "--", exe, files, "-t", "30"],
                         env=env)
    check(lwlib.launched_pid(pidfile, exe), "hostile never started:\n" + lw.describe())
    lwlib.finish(lw, 40)
    run = {"lw": lw, "report": load_safe_json(js, lw),
           "stdout": read_bytes(lw.out_path), "stderr": read_bytes(lw.err_path),
           "folded": read_bytes(folded), "folded_path": folded,
           "pprof": read_bytes(prof)}
    lwlib.cleanup_procs()
    return run


# ---------------------------------------------------------------------------
# Tests


def test_hostile_names_json_and_text():
    """Launched: the JSON report is strict UTF-8, no string holds a control
    character, the sites are found under their escaped names; the text
    report (stdout) and stderr hold no control character and no invalid
    UTF-8, and show the same escaped names."""
    run = memo("launched", launched_run)
    check_report(run["report"])
    out = check_safe(run["stdout"], "leakwatch's stdout (the text report)")
    check_safe(run["stderr"], "leakwatch's stderr")
    for want in ("%s (%s:" % (HEAP_SYM, SRC), "%s (%s:" % (FD_SYM, SRC),
                 "(%s) at " % COMM, FD_TYPE):
        check(want in out, "the text report does not show %r:\n%s" %
              (want, lwlib.tail(out, 40)))


def test_hostile_names_folded():
    """Folded: strict UTF-8, no control character but the newlines, each
    line 'FRAMES VALUE' with the JSON's stacks (';' of a name escaped as
    \\x3b, so a name stays one frame); speedscope reads it the same."""
    run = memo("launched", launched_run)
    text = check_safe(run["folded"], run["folded_path"])
    folded = tvf.parse_folded(text, run["folded_path"])
    tvf.check_same(folded, tvf.expected(run["report"], "auto"), run["folded_path"])
    leaf = HEAP_SYM.replace(";", r"\x3b") + " (%s:" % SRC
    check(any(s.startswith("[heap];") and s.split(";")[-1].startswith(leaf)
              for s in folded),
          "no [heap] line ending in %r:\n%s" % (leaf, text))
    # and speedscope's importer reads the same stacks
    tvf.check_speedscope({"text": text, "path": run["folded_path"]})


def test_hostile_names_pprof():
    """pprof: every string of the profile is UTF-8 without control
    characters, the escaped names among them; `go tool pprof -raw` reads
    it and names the heap site's function so."""
    run = memo("launched", launched_run)
    strings = pprof_strings(gzip.decompress(run["pprof"]))
    check(len(strings) > 10, "the profile has %d strings" % len(strings))
    for s in strings:
        check_safe(s, "the profile's string %r" % s)
    names = {s.decode() for s in strings}
    check(HEAP_SYM in names and FD_SYM in names,
          "the profile's strings lack %r or %r: %s" %
          (HEAP_SYM, FD_SYM, sorted(n for n in names if "leak" in n)))
    # the run's files go with the test that made it: a copy of this one
    path = os.path.join(tmpdir(), "hostile.pb.gz")
    with open(path, "wb") as f:
        f.write(run["pprof"])
    prof = tpp.read_back(path)
    funcs = {ln["name"] for loc in prof["locations"].values() for ln in loc["lines"]}
    check(HEAP_SYM in funcs, "go tool pprof -raw names no function %r: %s" %
          (HEAP_SYM, sorted(f for f in funcs if "leak" in f)))


def test_hostile_names_attached_verbose():
    """Attached with -v to a copy of the target in a file of hostile name
    (ESC and an invalid byte): the 'watching pid N (comm)' line shows the
    comm escaped, the -v lines the path; nothing leakwatch says holds a
    control character or invalid UTF-8; the JSON's exe and modules are the
    path escaped."""
    lwlib.require_leakwatch()
    d = tmpdir()
    exe = os.path.join(d, os.fsdecode(EXE_NAME))
    shutil.copy(lwlib.target("hostile"), exe)
    pidfile = os.path.join(d, "pid")
    tgt = lwlib.spawn([exe, d], env={"LW_TEST_PIDFILE": pidfile}, name="hostile")
    check(lwlib.wait_for(lambda: lwlib.read_text(pidfile).strip(), 5),
          "the copy of hostile did not start:\n" + tgt.describe())
    js = os.path.join(d, "report.json")
    lw = lwlib.leakwatch(["-v", "-i", "1", "-d", "3", "--json", js,
                          "-p", str(tgt.pid)])
    lwlib.finish(lw, 40)
    out = check_safe(read_bytes(lw.out_path), "stdout of leakwatch -v")
    err = check_safe(read_bytes(lw.err_path), "stderr of leakwatch -v")
    want = "watching pid %d (%s)" % (tgt.pid, COMM)
    check(want in out, "no line %r:\n%s" % (want, lw.describe()))
    path = os.path.join(d, EXE_SHOWN)
    check("unwind table of %s:" % path in err,
          "no -v line names the unwind table of %r:\n%s" % (path, lw.describe()))
    rep = load_safe_json(js, lw)
    check_report(rep)
    check(rep["target"]["exe"] == path, "target.exe is %r, not %r" %
          (rep["target"]["exe"], path))
    check(site_at(rep, "heap", HEAP_SYM)["stack"][0]["module"] == path,
          "the heap site's module is not %r" % path)
    check(tgt.poll() is None, "the target died:\n" + tgt.describe())


def test_hostile_names_system():
    """-a --comm: the zoom message, the process table, the zoomed
    process's report, the JSON processes and the folded root frame
    ("[pid N COMM]") show the comm escaped."""
    lwlib.require_leakwatch()
    d = tmpdir()
    tgt = lwlib.start_target("hostile", [d])
    js, folded = os.path.join(d, "report.json"), os.path.join(d, "sys.folded")
    lw = lwlib.leakwatch(["-a", "--comm", "h*pwn*", "-i", "1", "-d", "4",
                          "--json", js, "--folded", folded])
    lwlib.finish(lw, 60)
    out = check_safe(read_bytes(lw.out_path), "stdout of leakwatch -a")
    check_safe(read_bytes(lw.err_path), "stderr of leakwatch -a")
    for want in ("zoom pid %d (%s)" % (tgt.pid, COMM),
                 "-- pid %d (%s), traced in depth" % (tgt.pid, COMM),
                 "%s (%s:" % (HEAP_SYM, SRC)):
        check(want in out, "leakwatch -a does not say %r:\n%s" %
              (want, lwlib.tail(out, 60)))
    check(re.search(r"^\s*%d %s" % (tgt.pid, re.escape(COMM)), out, re.M),
          "no process table row %d %s:\n%s" % (tgt.pid, COMM, lwlib.tail(out, 60)))
    rep = load_safe_json(js, lw)
    mine = [p for p in rep.get("processes", []) if p["pid"] == tgt.pid]
    check(mine and mine[0]["comm"] == COMM,
          "processes[] has no pid %d with comm %r: %r" %
          (tgt.pid, COMM, [(p["pid"], p["comm"]) for p in rep.get("processes", [])][:20]))
    text = check_safe(read_bytes(folded), folded)
    root = "[pid %d %s]" % (tgt.pid, COMM.replace(";", r"\x3b"))
    mine = [l for l in text.split("\n") if l.startswith(root + ";")]
    check(mine and all(";" not in l[len(root) + 1:].split(";", 1)[0] for l in mine),
          "no folded line under the root %r:\n%s" % (root, text))
    check(any(HEAP_SYM.replace(";", r"\x3b") in l for l in mine),
          "no folded line of %r under %r:\n%s" % (HEAP_SYM, root, text))


def test_hostile_names_top():
    """top -p in tmux: the site column shows the escaped symbol, the
    header the escaped comm, the stack page the escaped file; the title
    sequence never reaches the terminal (the pane's title is not "owned"
    or "pwn", before q and after the final report)."""
    lwlib.require_leakwatch()
    lwlib.require_tool("tmux")
    d = tmpdir()
    tgt = lwlib.start_target("hostile", [d])
    tm, pid, rcfile = ttop.start_top(["-i", "0.5", "-p", str(tgt.pid)], width=160)

    def title():
        return tm.run("display-message", "-p", "-t", "lw", "#{pane_title}")

    try:
        want = "leak_" + EVIL  # the column may cut the rest
        screen = ttop.wait_screen(
            tm, lambda s: any(r["site"].startswith(want) for r in ttop.rows(s)),
            25, "no row %r" % want)
        check("(%s)" % COMM in ttop.header(screen),
              "the header does not name %r\n%s" % (COMM, ttop.describe(screen)))
        check("owned" not in title() and "pwn" not in title(),
              "the target's name set the pane's title: %r" % title())
        # the selection onto the heap row, then its stack page
        tm.keys("h")
        ttop.wait_screen(tm, lambda s: "filter heap" in s, 5, "'h' did not filter")
        tm.keys("Enter")
        page = ttop.wait_screen(tm, lambda s: "innermost first" in s, 5,
                                "Enter opened no stack page")
        check(HEAP_SYM in page and "(%s:" % SRC in page,
              "the stack page does not show %r in %r\n%s" %
              (HEAP_SYM, SRC, ttop.describe(page)))
        tm.keys("Escape")
        time.sleep(0.3)
        tm.keys("q")
        rc = lwlib.wait_for(lambda: lwlib.read_text(rcfile).strip(), 15)
        check(rc == "rc=0", "leakwatch top after q: %r\n%s" %
              (rc, ttop.describe(tm.history())))
        hist = tm.history()
        check("== final report" in hist and "%s (%s:" % (HEAP_SYM, SRC) in hist,
              "the final report after q does not show %r\n%s" %
              (HEAP_SYM, ttop.describe(hist)))
        check("owned" not in title() and "pwn" not in title(),
              "the final report set the pane's title: %r" % title())
        check(tgt.poll() is None, "the target died:\n" + tgt.describe())
    finally:
        tm.kill()
