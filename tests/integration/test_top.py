"""leakwatch top: the live view, driven in a real terminal (tmux).

tmux runs on a private socket, in a pane of fixed size; keys go in with
send-keys and the screen comes back with capture-pane. Rows are read by
the table's fixed columns (KIND GROWTH/s BYTES COUNT TREND ! SITE).
"""

import os
import re
import shutil
import signal
import subprocess
import time

import lwlib
from lwlib import Attachments, check, tmpdir

# The table's columns, as user/top_draw.c lays them out.
COLS = {"kind": (0, 6), "growth": (7, 17), "bytes": (18, 27),
        "count": (28, 35), "trend": (36, 44), "mark": (45, 46)}
SITE_COL = 47
UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
SPARK_UTF8 = set("\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588")
SPARK_ASCII = set("_.:-=+*#")


class Tmux:
    """A tmux server of our own, with one session running a script."""

    def __init__(self, script, width=100, height=30):
        self.tmux = lwlib.require_tool("tmux")
        self.sock = "lwtest-top-%d-%d" % (os.getpid(), time.monotonic_ns())
        self.run("-f", "/dev/null", "new-session", "-d", "-s", "lw",
                 "-x", str(width), "-y", str(height), "sh " + script)

    def run(self, *args):
        res = subprocess.run([self.tmux, "-L", self.sock] + list(args),
                             capture_output=True, text=True, timeout=10)
        check(res.returncode == 0, "tmux %s failed: %s" %
              (" ".join(args), res.stderr.strip()))
        return res.stdout

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "lw")

    def history(self):
        return self.run("capture-pane", "-p", "-t", "lw", "-S", "-2000")

    def keys(self, *keys):
        self.run("send-keys", "-t", "lw", *keys)

    def alternate_on(self):
        return self.run("display-message", "-p", "-t", "lw",
                        "#{alternate_on}").strip() == "1"

    def kill(self):
        subprocess.run([self.tmux, "-L", self.sock, "kill-server"],
                       capture_output=True, timeout=10)


def size(text):
    """ "912.0 KiB" -> bytes; "-" -> 0."""
    text = text.strip()
    if text in ("", "-"):
        return 0
    num, _, unit = text.partition(" ")
    return float(num) * UNITS.get(unit or "B", 1)


def rows(screen):
    """The table's rows: dicts of the columns, in screen order."""
    lines = screen.split("\n")
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith("KIND "))
    except StopIteration:
        return []
    out = []
    for line in lines[start + 1:]:
        kind = line[0:6].strip()
        if kind not in ("heap", "go", "thread", "fd"):
            break
        r = {k: line[a:b] for k, (a, b) in COLS.items()}
        r["kind"] = kind
        r["site"] = line[SITE_COL:].strip()
        r["bytes_n"] = size(r["bytes"])
        r["count_n"] = int(r["count"])
        out.append(r)
    return out


def header(screen):
    return "\n".join(screen.split("\n")[:3])


def describe(screen):
    return "--- screen ---\n%s\n--------------" % screen.rstrip("\n")


def wait_screen(tm, pred, timeout, what):
    """The first screen for which pred holds; fail with the last one."""
    last = [""]

    def probe():
        last[0] = tm.screen()
        return pred(last[0])
    check(lwlib.wait_for(probe, timeout, step=0.2),
          "%s within %.0f s\n%s" % (what, timeout, describe(last[0])))
    return last[0]


def leak_sites():
    """LEAK markers of leaky.c: how top must name them."""
    return {m.func: "%s (leaky.c:%d)" % (m.func, m.line)
            for (kind, _), m in lwlib.markers("leaky.c").items()
            if kind == "LEAK"}


def start_top(args, locale="C.UTF-8", width=100, height=30):
    """leakwatch top in a tmux pane; (tmux, leakwatch pid, rc file)."""
    d = tmpdir()
    pidfile, rcfile = os.path.join(d, "pid"), os.path.join(d, "rc")
    inner = os.path.join(d, "top.sh")
    with open(inner, "w") as f:
        f.write("echo $$ > %s\nLC_ALL=%s exec %s top %s\n" %
                (pidfile, locale, lwlib.LEAKWATCH, " ".join(args)))
    outer = os.path.join(d, "pane.sh")
    with open(outer, "w") as f:
        f.write("sh %s\necho \"rc=$?\" > %s\necho TOP-SHELL-AGAIN\n"
                "exec sleep 600\n" % (inner, rcfile))
    tm = Tmux(outer, width, height)
    text = lwlib.wait_for(lambda: lwlib.read_text(pidfile).strip(), 5)
    check(text, "leakwatch top never started in tmux\n" + describe(tm.screen()))
    pid = int(text)
    lwlib.PidProc(pid, lwlib.LEAKWATCH)
    return tm, pid, rcfile


def sorted_desc(values):
    return all(a >= b for a, b in zip(values, values[1:]))


def check_sort(tm, key, name, column):
    tm.keys(key)
    screen = wait_screen(tm, lambda s: "sort %s" % name in header(s),
                         5, "'%s' did not sort by %s" % (key, name))
    heap = [r for r in rows(screen) if r["kind"] == "heap"]
    check(len(heap) >= 3, "few heap rows after '%s'\n%s" % (key, describe(screen)))
    check(sorted_desc([r[column] for r in heap]),
          "heap rows not sorted by %s after '%s'\n%s" % (name, key, describe(screen)))
    return heap


def check_filter(tm, key, kind, name):
    tm.keys(key)
    screen = wait_screen(tm, lambda s: "filter %s" % name in header(s),
                         5, "'%s' did not filter %s" % (key, name))
    kinds = {r["kind"] for r in rows(screen)}
    if kind:
        # the kind's own rows, and only those: an empty table proves nothing
        check(kinds == {kind}, "'%s' shows rows of kinds %s, expected %s only\n%s" %
              (key, sorted(kinds), kind, describe(screen)))
    else:
        check({"heap", "thread", "fd"} <= kinds, "'%s' did not bring back every "
              "kind: %s\n%s" % (key, sorted(kinds), describe(screen)))
    return screen


def check_stack_page(tm, sites):
    """Enter on the first row opens its full stack; Esc goes back."""
    tm.keys("g", "Home")
    screen = wait_screen(tm, lambda s: "sort growth" in header(s), 5, "'g'")
    first = rows(screen)[0]["site"]
    tm.keys("Enter")
    page = wait_screen(tm, lambda s: "site stack" in s.split("\n")[0], 5,
                       "Enter opened no stack page")
    check(first in page and "allocated at" in page,
          "the stack page does not show %r\n%s" % (first, describe(page)))
    check(re.search(r"<-\s+main \(leaky\.c:\d+\)", page),
          "the stack page does not reach main()\n%s" % describe(page))
    tm.keys("Escape")
    wait_screen(tm, lambda s: s.startswith("leakwatch top ") and "KIND" in s,
                5, "Esc did not go back to the table")


def check_pause(tm):
    tm.keys("p")
    screen = wait_screen(tm, lambda s: "PAUSED" in s.split("\n")[0], 5,
                         "'p' did not pause")
    time.sleep(1.5)  # three intervals: a live view would have moved
    again = tm.screen()
    check(header(again).split("\n")[0] == header(screen).split("\n")[0],
          "the paused view still changes:\n%s\n%s" % (describe(screen),
                                                       describe(again)))
    tm.keys("p")
    wait_screen(tm, lambda s: "PAUSED" not in s.split("\n")[0], 5,
                "'p' again did not resume")


def check_resize(tm):
    """A smaller window: the view lays itself out again at once."""
    tm.run("resize-window", "-t", "lw", "-x", "80", "-y", "24")
    screen = wait_screen(
        tm, lambda s: s.rstrip("\n").split("\n")[-1].startswith("q quit") and
        len(s.rstrip("\n").split("\n")) == 24, 5,
        "the view did not follow the resize to 80x24")
    shown = int(re.search(r"\| (\d+) of \d+ sites", screen).group(1))
    check(len(rows(screen)) == min(shown, 24 - 6),
          "%d rows at 80x24 for %d sites\n%s" %
          (len(rows(screen)), shown, describe(screen)))


def quit_and_check(tm, pid, rcfile, att, target, baseline):
    tm.keys("q")
    rc = lwlib.wait_for(lambda: lwlib.read_text(rcfile).strip(), 15)
    check(rc == "rc=0", "leakwatch top after q: %r\n%s" %
          (rc, describe(tm.history())))
    check(not lwlib.pid_alive(pid), "leakwatch %d still runs after q" % pid)
    check(not tm.alternate_on(), "the pane is still in the alternate screen")
    hist = tm.history()
    check("TOP-SHELL-AGAIN" in hist and "== final report" in hist,
          "after q the pane does not show the final report and the shell "
          "again\n%s" % describe(hist))
    left = lwlib.wait_for(lambda: not att.leftovers(target.pid), 3)
    check(left, "probes remain after q:\n  " + "\n  ".join(att.leftovers(target.pid)))
    check(lwlib.pid_alive(target.pid), "the target died")
    patches = lwlib.text_patches(target.pid)
    check(patches == baseline, "target text still patched: %s" % patches)


def test_top_live_view():
    """Rows for a leaking target, sort and filter keys, the stack page,
    pause, and q: terminal restored, final report, no probe left."""
    lwlib.require_leakwatch()
    lwlib.require_tool("tmux")
    lwlib.require_tool("bpftool")
    target = lwlib.start_target("leaky", ["-q"])
    baseline = lwlib.text_patches(target.pid)
    sites = leak_sites()
    tm, pid, rcfile = start_top(["-i", "0.5", "-p", str(target.pid)])
    try:
        att = Attachments()
        check(lwlib.wait_for(lambda: att.uprobes_attached(pid), 10, step=0.2),
              "no uprobe of leakwatch top after 10 s\n" + describe(tm.screen()))
        want = sites["leak_malloc"]
        screen = wait_screen(
            tm, lambda s: any(r["site"] == want and r["mark"] == "!"
                              for r in rows(s)),
            25, "no suspect row %r" % want)
        found = {r["site"] for r in rows(screen)}
        check(len(found & set(sites.values())) >= 5,
              "few leaking sites shown: %s\n%s" % (sorted(found), describe(screen)))
        trend = next(r["trend"] for r in rows(screen) if r["site"] == want)
        check(set(trend.strip()) <= SPARK_UTF8 and trend.strip(),
              "trend %r is no UTF-8 sparkline" % trend)
        att.collect(pid)

        by_size = check_sort(tm, "s", "size", "bytes_n")
        by_count = check_sort(tm, "c", "count", "count_n")
        check(by_size[0]["site"] != by_count[0]["site"],
              "sorting by size and by count put %r first both times" %
              by_size[0]["site"])
        check_filter(tm, "t", "thread", "thread")
        check_filter(tm, "f", "fd", "fd")
        screen = check_filter(tm, "h", "heap", "heap")
        check(want in screen, "'h' hid the heap site %r\n%s" % (want, describe(screen)))
        check_filter(tm, "a", None, "all")

        check_stack_page(tm, sites)
        check_pause(tm)
        check_resize(tm)
        att.collect(pid)
        quit_and_check(tm, pid, rcfile, att, target, baseline)
    finally:
        tm.kill()


def test_top_ascii_at_80x24():
    """Outside a UTF-8 locale the sparkline is ASCII; 80x24 holds the
    header, the columns and the sites' functions."""
    lwlib.require_leakwatch()
    lwlib.require_tool("tmux")
    target = lwlib.start_target("leaky", ["-q"])
    want = leak_sites()["leak_malloc"]
    tm, pid, rcfile = start_top(["-i", "0.5", "-p", str(target.pid)],
                                locale="C", width=80, height=24)
    try:
        screen = wait_screen(
            tm, lambda s: any(r["site"] == want and len(r["trend"].strip()) >= 4
                              for r in rows(s)),
            20, "no row %r with a trend" % want)
        trend = next(r["trend"] for r in rows(screen) if r["site"] == want)
        check(set(trend.strip()) <= SPARK_ASCII,
              "trend %r is not ASCII in the C locale" % trend)
        lines = screen.split("\n")
        check("heap" in lines[1] and "q quit" in screen,
              "80x24 lost the totals or the key line\n%s" % describe(screen))
        tm.keys("q")
        rc = lwlib.wait_for(lambda: lwlib.read_text(rcfile).strip(), 15)
        check(rc == "rc=0", "leakwatch top after q: %r" % rc)
    finally:
        tm.kill()


def test_top_launch_until_exit():
    """top -- CMD: the command's own output never reaches the screen; when
    it exits the view says so and stays until q, then the final report."""
    lwlib.require_leakwatch()
    lwlib.require_tool("tmux")
    exe = lwlib.target("leaky")
    want = leak_sites()["leak_malloc"]
    # leaky prints its site table ("SITE malloc ...") to stdout at start,
    # before the view is up: a command that outlives us gets /dev/null
    tm, pid, rcfile = start_top(["-i", "0.5", "--", exe, "-t", "3"])
    try:
        screen = wait_screen(tm, lambda s: "TARGET EXITED" in s.split("\n")[0],
                             15, "the view never said the target exited")
        check(any(r["site"] == want for r in rows(screen)),
              "no row %r after the exit\n%s" % (want, describe(screen)))
        check("exited" in screen.split("\n")[-3] + screen.split("\n")[-2],
              "the message line does not say the target exited\n%s" %
              describe(screen))
        time.sleep(1)
        check(lwlib.pid_alive(pid), "the view did not stay after the exit")
        # "leaky: done after" comes at its exit, while the view is up
        check("done after" not in tm.screen(),
              "the launched command wrote onto the view\n%s" %
              describe(tm.screen()))
        tm.keys("q")
        rc = lwlib.wait_for(lambda: lwlib.read_text(rcfile).strip(), 15)
        check(rc == "rc=0", "leakwatch top after q: %r" % rc)
        hist = tm.history()
        check(re.search(r"== final report: .*target exited", hist) and
              want in hist, "no final report naming %r after q\n%s" %
              (want, describe(hist)))
        check("SITE malloc" not in hist and "done after" not in hist,
              "the launched command's output reached the terminal\n%s" %
              describe(hist))
    finally:
        tm.kill()


def test_top_needs_a_terminal():
    """Without a TTY, top and --top refuse with exit 2, before attaching."""
    lwlib.require_leakwatch()
    target = lwlib.start_target("leaky", ["-q"])
    for args in (["top", "-p", str(target.pid)],
                 ["--top", "-p", str(target.pid)]):
        p = lwlib.run_leakwatch(args, timeout=10)
        check(p.popen.returncode == 2, "leakwatch %s without a TTY: exit %d\n%s" %
              (" ".join(args), p.popen.returncode, p.describe()))
        check("terminal" in p.stderr and "TTY" in p.stderr,
              "leakwatch %s: stderr does not say a terminal is needed:\n%s" %
              (" ".join(args), p.stderr))
        check("watching" not in p.stdout + p.stderr,
              "leakwatch %s attached before refusing" % " ".join(args))


def test_top_go_target_keys_and_duration():
    """A Go target: goroutine rows, 'o' shows them alone, Enter opens a
    goroutine site's page and Enter leaves it, '?' shows the keys and 'q'
    leaves that page (not the view); -d ends the view by itself, with
    the terminal restored and the final report printed."""
    import test_goroutines as tg
    lwlib.require_leakwatch()
    exe = tg.build_go("1.19")
    tgt = lwlib.spawn([exe, "-rate", str(tg.RATE)])
    check(lwlib.wait_for(lambda: "ready" in tgt.stdout, 10),
          "goleak did not start:\n" + tgt.describe())
    tm, pid, rcfile = start_top(["-i", "0.5", "-d", "12", "-p", str(tgt.pid)])
    try:
        wait_screen(tm, lambda s: any(r["kind"] == "go" for r in rows(s)), 10,
                    "no goroutine row")
        screen = check_filter(tm, "o", "go", "goroutine")
        check(any("main.leak" in r["site"] for r in rows(screen)),
              "no main.leak* goroutine site under 'o'\n%s" % describe(screen))
        tm.keys("Home", "Enter")
        page = wait_screen(tm, lambda s: "site stack" in s.split("\n")[0], 5,
                           "Enter opened no page for a goroutine site")
        check("runs " in page or "blocked" in page,
              "the goroutine page says neither what they run nor where they "
              "block\n%s" % describe(page))
        tm.keys("Enter")
        wait_screen(tm, lambda s: "KIND" in s and "filter goroutine" in header(s), 5,
                    "Enter did not leave the stack page")
        tm.keys("?")
        wait_screen(tm, lambda s: "a leak suspect" in s, 5, "'?' showed no keys")
        tm.keys("q")
        screen = wait_screen(tm, lambda s: "KIND" in s and "filter goroutine" in header(s),
                             5, "'q' did not leave the keys page")
        check(lwlib.pid_alive(pid), "'q' on the keys page quit the view")
        # -d 12: the view ends by itself
        rc = lwlib.wait_for(lambda: lwlib.read_text(rcfile).strip(), 25)
        check(rc == "rc=0", "leakwatch top -d 12 ended with %r\n%s" %
              (rc, describe(tm.history())))
        check(not tm.alternate_on(), "the pane is still in the alternate screen")
        check("== final report" in tm.history(), "no final report after -d\n" +
              describe(tm.history()))
    finally:
        tm.kill()


def page_site(tm, key):
    """The site whose stack page Enter opens after key; q goes back."""
    tm.keys(key)
    time.sleep(0.3)
    tm.keys("Enter")
    page = wait_screen(tm, lambda s: "site stack" in s.split("\n")[0], 5,
                       "Enter after %s opened no stack page" % key)
    tm.keys("q")
    wait_screen(tm, lambda s: s.startswith("leakwatch top ") and "KIND" in s, 5,
                "q did not leave the stack page")
    return page


def top_ended_by(sig):
    lwlib.require_leakwatch()
    target = lwlib.start_target("leaky", ["-q"])
    tm, pid, rcfile = start_top(["-i", "0.5", "--max-allocs", "64", "-p", str(target.pid)])
    try:
        screen = wait_screen(tm, lambda s: len(rows(s)) >= 3, 10, "few rows")
        wait_screen(tm, lambda s: re.search(r"drops:.*alloc_map_full=\d+", header(s)), 10,
                    "the header does not show alloc_map_full")
        if sig == signal.SIGTERM:
            # Home and End move the selection: Enter opens another site;
            # q leaves the stack page, not the view
            tm.keys("p")  # hold the rows still
            screen = wait_screen(tm, lambda s: "PAUSED" in s.split("\n")[0], 5, "'p'")
            first, last = rows(screen)[0]["site"], rows(screen)[-1]["site"]
            check(first != last, "one site only\n" + describe(screen))
            check(first in page_site(tm, "Home"), "Home did not select the first row")
            check(last in page_site(tm, "End"), "End did not select the last row")
            check(lwlib.pid_alive(pid), "q on the stack page quit the view")
        os.kill(pid, sig)
        rc = lwlib.wait_for(lambda: lwlib.read_text(rcfile).strip(), 15)
        check(rc == "rc=0", "leakwatch top after signal %d: %r\n%s" %
              (sig, rc, describe(tm.history())))
        check(not tm.alternate_on(), "the pane is still in the alternate screen")
        check("== final report" in tm.history(), "no final report after signal %d\n%s" %
              (sig, describe(tm.history())))
        check(lwlib.pid_alive(target.pid), "the target died")
    finally:
        tm.kill()


def test_top_sigterm():
    """The header shows what was lost (a live-allocation map made too
    small); Home/End move the selection, q leaves the stack page; SIGTERM
    ends the view as q does: terminal restored, final report."""
    top_ended_by(signal.SIGTERM)


def test_top_sigint():
    top_ended_by(signal.SIGINT)


def test_top_system():
    """top -a: the process table first; Enter opens a traced process (its
    sites, as top -p shows them), Esc comes back, q quits cleanly."""
    lwlib.require_leakwatch()
    lwlib.require_tool("tmux")
    lwlib.require_tool("bpftool")
    # a name of its own: other tests' leaky processes may still run
    exe = os.path.join(tmpdir(), "lwtopsys")
    shutil.copy(lwlib.target("leaky"), exe)
    pidfile = os.path.join(tmpdir(), "pid")
    target = lwlib.spawn([exe, "-q"], env={"LW_TEST_PIDFILE": pidfile})
    check(lwlib.wait_for(lambda: lwlib.read_text(pidfile).strip(), 5),
          "lwtopsys did not start:\n" + target.describe())
    baseline = lwlib.text_patches(target.pid)
    tm, pid, rcfile = start_top(["-a", "--comm", "lwtopsys", "-i", "0.5"],
                                width=120)
    try:
        att = Attachments()
        line = re.compile(r"^\s*%d lwtopsys\s.*ZOOMED" % target.pid, re.M)
        screen = wait_screen(tm, lambda s: "the whole system" in s and
                             line.search(s), 15,
                             "top -a shows no zoomed leaky row")
        check("PID COMM" in screen, "no process table heading\n%s" %
              describe(screen))
        att.collect(pid)
        tm.keys("Enter")
        names = set(leak_sites().values())
        screen = wait_screen(
            tm, lambda s: "KIND" in s and any(
                r["site"].startswith(n) for r in rows(s) for n in names), 10,
            "Enter did not open the leaking process's sites")
        check("pid %d" % target.pid in header(screen),
              "the site table does not name pid %d\n%s" %
              (target.pid, describe(screen)))
        tm.keys("Escape")
        wait_screen(tm, lambda s: "the whole system" in s and "KIND" not in s,
                    5, "Esc did not go back to the process table")
        quit_and_check(tm, pid, rcfile, att, target, baseline)
    finally:
        tm.kill()


def test_top_sampled():
    """--sample: the header says sampling is on and at what rate, and a
    heap row's growth, bytes and count are marked as estimates."""
    lwlib.require_leakwatch()
    lwlib.require_tool("tmux")
    target = lwlib.start_target("leaky", ["-q", "-k", "16"])
    tm, pid, rcfile = start_top(["--sample", "64k", "-i", "0.5", "-p",
                                 str(target.pid)], width=120)
    try:
        marked = re.compile(r"^heap\s+~\S+ \S+\s+~\S+ \S+\s+~\d+ ", re.M)
        screen = wait_screen(
            tm, lambda s: "sampled 1/64.0 KiB" in header(s) and
            re.search(r"heap ~[0-9.]+ ", header(s)) and marked.search(s),
            20, "no sampled header and ~ rows")
        check("leak_" in screen, "no leak site shown\n" + describe(screen))
        tm.keys("q")
        check(lwlib.wait_for(lambda: "rc=" in lwlib.read_text(rcfile), 15),
              "top did not quit\n" + describe(tm.screen()))
        check(lwlib.read_text(rcfile).strip() == "rc=0",
              "top exited %s" % lwlib.read_text(rcfile).strip())
    finally:
        tm.kill()
