"""Descriptor leaks in a real Go program built by the suite (gofdleak.go):
an HTTP client that never closes its response bodies, against a server of
its own run as a separate process, with Go 1.19 (Debian) and 1.23
(backports). The transport cannot reuse a connection whose body is open,
so every request dials a socket that stays open, and the connection's
readLoop and writeLoop goroutines with it. The server closes connections
idle for a second, so the leaked sockets (the client never reads again)
sit in CLOSE_WAIT; only the youngest are still ESTABLISHED.

Asserted: the dialing site (net.sysSocket, under the transport's dialConn,
and main.dial at its marker when the client has its own transport) is an
fd suspect growing at the request rate (+-25%), its descriptors typed as
TCP sockets to the server's port in CLOSE_WAIT (ESTABLISHED for at most
the last second and a bit), never closed; descriptors open before attach
are under "[alive at attach]"; no other fd site is a suspect; the
transport's readLoop and writeLoop goroutine sites are suspects at the
rate, holding what the program itself counts; the report's descriptor
totals agree with each other and with /proc/PID/fd. The fixed twin
(-close: bodies read and closed, one connection reused) has no fd or
goroutine suspect. test_gofdleak_target checks the program alone.

The server listens on a port below the ephemeral range (types show a port
in that range as *). The loops' goroutine sites are found by their
creation lines in the toolchain's own net/http/transport.go; their start
may be the compiler's wrapper of `go pconn.readLoop()`."""

import os
import random
import re
import socket
import time

import lwlib
from lwlib import check, tmpdir

RATE = 10        # requests per second: one socket and two goroutines each
BEFORE = 2.0     # seconds the client runs before leakwatch attaches
INTERVAL = 0.5
DURATION = 8     # 16 samples: the suspect rule needs 12
IDLE = 1.0       # the server closes connections idle this long
LIFETIME = BEFORE + DURATION + 60   # -t: both end by themselves anyway

LOOPS = ("readLoop", "writeLoop")    # methods of net/http.persistConn
DIAL_CONN = "net/http.(*Transport).dialConn"

_CLIENT_RE = re.compile(r"^requests (\d+) errors (\d+) unclosed (\d+) "
                        r"fds (\d+) goroutines (\d+)$", re.M)


def client_lines(proc):
    """The client's once-a-second lines: [(requests, errors, unclosed,
    fds, goroutines)]."""
    return [tuple(int(x) for x in m) for m in _CLIENT_RE.findall(proc.stdout)]


def server_ports():
    """Ports for the server outside the ephemeral range, shuffled: types
    show a port in it as * (the kernel's own choice for -serve HOST:0
    would be one)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = (int(x) for x in f.read().split())
    ports = list(range(max(1024, lo - 10000), lo)) + list(range(hi + 1, 65536))
    random.shuffle(ports)
    return ports


def start_server(exe):
    """The server on a free port outside the ephemeral range; it and its
    port."""
    tried = []
    for port in server_ports()[:20]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        srv = lwlib.spawn([exe, "-serve", "127.0.0.1:%d" % port,
                           "-idle", "%gs" % IDLE, "-t", str(LIFETIME)])
        # taken since: it says so and exits
        up = lwlib.wait_for(lambda: "ready" in srv.stdout or
                            srv.poll() is not None, 10)
        if up and "ready" in srv.stdout:
            check("listening 127.0.0.1:%d\n" % port in srv.stdout,
                  "gofdleak server: %s" % srv.describe())
            return srv, port
        tried.append(srv.describe())
        srv.kill()
    raise AssertionError("gofdleak server did not start:\n" +
                         "\n".join(tried[-3:]))


def run(version, fixed=False, default=False):
    """Server, client, leakwatch -p on the client. The report, and what
    the test saw right after leakwatch exited."""
    lwlib.require_leakwatch()
    exe = lwlib.build_go(["gofdleak.go"], version)
    srv, port = start_server(exe)
    cmd = [exe, "-url", "http://127.0.0.1:%d/" % port, "-rate", str(RATE),
           "-t", str(LIFETIME)]
    if fixed:
        cmd.append("-close")
    if default:
        cmd.append("-default")
    cli = lwlib.spawn(cmd)
    check(lwlib.wait_for(lambda: "ready" in cli.stdout, 10),
          "gofdleak client did not start:\n" + cli.describe())
    time.sleep(BEFORE)
    out = os.path.join(tmpdir(), "report.json")
    lw = lwlib.run_leakwatch(["-i", str(INTERVAL), "-d", str(DURATION),
                              "--json", out, "-p", str(cli.pid)],
                             DURATION + 30)
    # at once: the client keeps opening RATE sockets a second
    live = len(os.listdir("/proc/%d/fd" % cli.pid))
    since = time.time() - os.stat(out).st_mtime if os.path.exists(out) else 0
    check(lw.popen.returncode == 0, "Go %s: leakwatch exit %d:\n%s" %
          (version, lw.popen.returncode, lw.describe()))
    rep = lwlib.load_report(out, lw)
    return {"rep": rep, "lw": lw, "cli": cli, "srv": srv, "port": port,
            "live": live, "since": since, "version": version}


def fd_sites(rep):
    return [s for s in rep["sites"] if s["kind"] == "fd"]


def has_frame(s, symbol, line=None):
    return any(f.get("symbol") == symbol and (line is None or
                                              f.get("line") == line)
               for f in s["stack"])


def fmt_fd(s):
    """An fd or goroutine site: counts, growth, frames, and what it holds
    or runs."""
    text = "%s count=%d %+.1f/s suspect=%s allocs=%d frees=%d at %s" % (
        s["kind"], s["count"], s["count_per_s"], s["suspect"], s["allocs"],
        s["frees"], " <- ".join(lwlib.fmt_frame(f) for f in s["stack"][:4])
        or s.get("label"))
    if s["kind"] == "fd":
        return text + " types=%s" % s.get("types")
    return text + " start=%s" % (s.get("start") or {}).get("symbol")


def fmt_fds(sites, limit=12):
    lines = [fmt_fd(s) for s in sites[:limit]]
    if len(sites) > limit:
        lines.append("... %d more" % (len(sites) - limit))
    return "\n  ".join([""] + lines)


def check_client(r, fixed):
    """The program did what the test needs, whatever leakwatch says: it
    made its requests without an error, and its descriptors grew one a
    request (or, fixed, stayed put)."""
    v, cli = r["version"], r["cli"]
    lines = client_lines(cli)
    check(len(lines) >= BEFORE + DURATION - 1,
          "Go %s: the client printed %d count lines:\n%s" %
          (v, len(lines), cli.describe()))
    check(lines[-1][0] >= RATE * (BEFORE + DURATION) - RATE,
          "Go %s: the client made %d requests" % (v, lines[-1][0]))
    check_client_lines(r, fixed)


def check_client_lines(r, fixed):
    v, cli = r["version"], r["cli"]
    lines = client_lines(cli)
    last = lines[-1]
    check(last[1] == 0, "Go %s: %d requests failed:\n%s" %
          (v, last[1], cli.describe()))
    check(last[0] == RATE * len(lines),
          "Go %s: %d requests in %d s at %d/s" % (v, last[0], len(lines),
                                                  RATE))
    # a second of lines, the first few seconds left out (the runtime's
    # own descriptors, the first connection)
    grown = lines[-1][3] - lines[2][3]
    secs = len(lines) - 3
    if fixed:
        check(last[2] == 0 and abs(grown) <= 1,
              "Go %s: the fixed client's descriptors moved by %d in %d s "
              "(%d bodies open)" % (v, grown, secs, last[2]))
    else:
        check(abs(grown - RATE * secs) <= 2,
              "Go %s: the client's descriptors grew by %d in %d s, it asks "
              "%d/s" % (v, grown, secs, RATE))
        check(last[2] == last[0], "Go %s: %d bodies open of %d requests" %
              (v, last[2], last[0]))
    for p in (cli, r["srv"]):
        check(p.poll() is None, "Go %s: %s died:\n%s" %
              (v, p.name, p.describe()))
        check("panic" not in p.stderr and "fatal error" not in p.stderr,
              "Go %s: %s crashed:\n%s" % (v, p.name, p.describe()))


def check_totals(r):
    """rep["fds"]: open is what /proc/PID/fd lists, tracked the sum of the
    fd sites, which equals open."""
    v, rep = r["version"], r["rep"]
    fds = rep.get("fds")
    check(isinstance(fds, dict) and isinstance(fds.get("open"), int)
          and isinstance(fds.get("tracked"), int),
          "Go %s: report.fds is %r" % (v, fds))
    total = sum(s["count"] for s in fd_sites(rep))
    check(fds["tracked"] == total,
          "Go %s: fds.tracked %d, the fd sites hold %d:%s" %
          (v, fds["tracked"], total, fmt_fds(fd_sites(rep))))
    check(fds["tracked"] == fds["open"],
          "Go %s: fds.tracked %d, fds.open %d: %s" %
          (v, fds["tracked"], fds["open"], fds))
    # the client only ever adds descriptors, RATE a second (the fixed
    # twin none): since leakwatch's last look (a second for building the
    # report, then since it was written) at most that many more
    slack = RATE * (r["since"] + 1.0) + 2
    check(-2 <= r["live"] - fds["open"] <= slack,
          "Go %s: fds.open %d, /proc/%d/fd listed %d %.1f s after the "
          "report was written" % (v, fds["open"], rep["target"]["pid"],
                                  r["live"], r["since"]))


def check_leak(r, own_transport):
    v, rep, port = r["version"], r["rep"], r["port"]
    marks = lwlib.go_markers("gofdleak.go")
    check_client(r, fixed=False)
    check_totals(r)
    sites = fd_sites(rep)
    dials = [s for s in sites if s["stack"] and has_frame(s, DIAL_CONN)]
    check(dials, "Go %s: no fd site dialed by %s:%s" %
          (v, DIAL_CONN, fmt_fds(sites)))
    s = max(dials, key=lambda s: s["count"])
    # the program's function that called socket(): runtime., syscall.,
    # internal/ frames are left out
    check(s["stack"][0].get("symbol") == "net.sysSocket",
          "Go %s: the socket site starts at %s, not net.sysSocket" %
          (v, lwlib.fmt_frame(s["stack"][0])))
    if own_transport:
        check(has_frame(s, "main.dial", marks["LEAK:dial"]),
              "Go %s: the socket site has no frame main.dial at "
              "gofdleak.go:%d: %s" % (v, marks["LEAK:dial"], fmt_fd(s)))
    check(s["suspect"], "Go %s: the leaked sockets are not a suspect: %s" %
          (v, fmt_fd(s)))
    check(abs(s["count_per_s"] - RATE) <= 0.25 * RATE,
          "Go %s: the socket site grows %.1f/s, the client leaks %d/s: %s" %
          (v, s["count_per_s"], RATE, fmt_fd(s)))
    # opened since attach (the watch, and the attach itself), never closed
    unclosed = client_lines(r["cli"])[-1][2]
    check(0.75 * RATE * rep["duration_s"] <= s["count"] <= unclosed + RATE,
          "Go %s: the socket site holds %d: %.0f s at %d/s were watched, "
          "the client left %d bodies open: %s" %
          (v, s["count"], rep["duration_s"], RATE, unclosed, fmt_fd(s)))
    check(s["frees"] == 0 and s["allocs"] == s["count"],
          "Go %s: leaked sockets seen closed: %s allocs=%d frees=%d" %
          (v, fmt_fd(s), s["allocs"], s["frees"]))
    # typed as they are now, not as they were opened: the server closed
    # all but the last second's
    types = s.get("types")
    check(isinstance(types, dict) and sum(types.values()) == s["count"],
          "Go %s: the socket site's types %r do not add up to its %d" %
          (v, types, s["count"]))
    peer = "socket:TCP 127.0.0.1:* -> 127.0.0.1:%d" % port
    cw = types.get(peer + " CLOSE_WAIT", 0)
    est = types.get(peer + " ESTABLISHED", 0)
    check(cw + est == s["count"],
          "Go %s: the leaked sockets are not all %s CLOSE_WAIT or "
          "ESTABLISHED: %r" % (v, peer, types))
    check(est <= RATE * (IDLE + 1) + 2,
          "Go %s: %d leaked sockets ESTABLISHED (%d CLOSE_WAIT): the "
          "server closes them after %g s, the client asks %d/s" %
          (v, est, cw, IDLE, RATE))
    # no other fd site grows: the runtime's epoll and wakeup descriptors,
    # the standard streams
    bad = [o for o in sites if o["suspect"] and o not in dials]
    check(not bad, "Go %s: other fd suspects:%s" % (v, fmt_fds(bad)))
    # those of the BEFORE seconds, and the runtime's own
    alive = [o for o in sites if o.get("label") == "[alive at attach]"]
    check(alive and alive[0]["count"] >= RATE * BEFORE
          and not alive[0]["suspect"],
          "Go %s: [alive at attach] is %s, the client had opened more "
          "than %d sockets before attach" %
          (v, fmt_fds(alive), RATE * BEFORE))
    check(rep["fds"].get("at_attach", 0) >= RATE * BEFORE,
          "Go %s: fds.at_attach %r" % (v, rep["fds"].get("at_attach")))
    check_loops(r)


def loop_lines(version):
    """{"readLoop": line, "writeLoop": line}: the lines of dialConn's
    `go pconn.readLoop()` and `go pconn.writeLoop()` in this toolchain's
    net/http/transport.go."""
    goroot = os.path.dirname(os.path.dirname(lwlib.GO_TOOLCHAINS[version]))
    path = os.path.join(goroot, "src", "net", "http", "transport.go")
    found = {}
    with open(path) as f:
        for no, text in enumerate(f, 1):
            m = re.match(r"\s*go pconn\.(readLoop|writeLoop)\(\)\s*$", text)
            if m:
                check(m.group(1) not in found, "%s: two go pconn.%s()" %
                      (path, m.group(1)))
                found[m.group(1)] = no
    check(len(found) == 2, "%s: no go pconn.readLoop/writeLoop: %s" %
          (path, found))
    return found


def starts_loop(s, loop):
    """A goroutine site's start is the loop itself, or the wrapper the
    compiler makes for `go pconn.loop()` (Go 1.19: dialConn.funcN; 1.23:
    dialConn.gowrapN), the pc the runtime records as its start."""
    sym = (s.get("start") or {}).get("symbol") or ""
    return (sym == "net/http.(*persistConn)." + loop or
            re.match(re.escape(DIAL_CONN) + r"\.(func|gowrap)\d+$", sym))


def check_loops(r):
    """The transport's readLoop and writeLoop of every leaked connection:
    created at dialConn's go statements, suspects at the request rate, as
    many as the bodies the program left open (a second apart: the program
    prints its count once a second)."""
    v, rep = r["version"], r["rep"]
    gs = [s for s in rep["sites"] if s["kind"] == "goroutine"]
    unclosed = client_lines(r["cli"])[-1][2]
    lines = loop_lines(v)
    loops = []
    for start in LOOPS:
        found = [s for s in gs if s["stack"]
                 and s["stack"][0].get("symbol") == DIAL_CONN
                 and s["stack"][0].get("line") == lines[start]
                 and lwlib.frame_file(s["stack"][0]) == "transport.go"]
        check(found, "Go %s: no goroutine site created at %s "
              "(transport.go:%d, go pconn.%s()):%s" %
              (v, DIAL_CONN, lines[start], start, fmt_fds(gs, 20)))
        s = max(found, key=lambda s: s["count"])
        loops += found
        check(starts_loop(s, start), "Go %s: the goroutines of go pconn.%s() "
              "start %r" % (v, start, s.get("start")))
        check(s["suspect"], "Go %s: %s is not a suspect: %s" %
              (v, start, fmt_fd(s)))
        check(abs(s["count_per_s"] - RATE) <= 0.25 * RATE,
              "Go %s: %s grows %.1f/s, the client leaks %d/s" %
              (v, start, s["count_per_s"], RATE))
        check(abs(s["count"] - unclosed) <= RATE + 3,
              "Go %s: %d goroutines %s, the client left %d bodies open" %
              (v, s["count"], start, unclosed))
    # nothing else stays: the transport's dialing goroutines (started
    # under the request's line) exit once their connection is made
    bad = [s for s in gs if s["suspect"] and s not in loops]
    check(not bad, "Go %s: goroutine suspects besides the loops:%s" %
          (v, fmt_fds(bad)))


def leak_test(version, default=False):
    r = run(version, default=default)
    check_leak(r, own_transport=not default)


def test_go_fd_leak_go123():
    leak_test("1.23")


def test_go_fd_leak_go119():
    leak_test("1.19")


def test_go_fd_leak_default_transport():
    """http.Get through http.DefaultTransport: no frame of the program in
    the socket's stack, the same site under net/http."""
    leak_test("1.23", default=True)


def test_go_fd_fixed_twin():
    """-close: every body read to EOF and closed; one connection, opened
    before attach, reused by every request: nothing of kind fd or
    goroutine is a suspect, and the totals still agree with /proc."""
    r = run("1.23", fixed=True)
    v, rep = r["version"], r["rep"]
    check_client(r, fixed=True)
    bad = [s for s in rep["sites"] if s["kind"] in ("fd", "goroutine")
           and s["suspect"]]
    check(not bad, "Go %s: the fixed twin has suspects:%s" %
          (v, fmt_fds(bad)))
    # not for want of looking: its descriptors are in the report
    check(fd_sites(rep), "Go %s: the report has no fd site at all" % v)
    check_totals(r)


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV",
              "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT",
              "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK",
              "0A": "LISTEN", "0B": "CLOSING"}


def socket_states(pid, port):
    """{state: n} of pid's TCP sockets to 127.0.0.1:port, by the inodes of
    its descriptors in /proc/PID/net/tcp."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            m = re.match(r"socket:\[(\d+)\]$",
                         os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    states = {}
    with open("/proc/%d/net/tcp" % pid) as f:
        for line in f.readlines()[1:]:
            x = line.split()
            if x[9] in inodes and x[2] == "0100007F:%04X" % port:
                name = TCP_STATES.get(x[3], x[3])
                states[name] = states.get(name, 0) + 1
    return states


def test_gofdleak_target():
    """The target alone, without leakwatch (if this fails, the tests
    above expect the wrong thing): the leaking client's descriptors grow
    one a request, its sockets to the server CLOSE_WAIT but the last
    second's, ESTABLISHED; the fixed twin holds one connection, reused."""
    for version in ("1.19", "1.23"):
        exe = lwlib.build_go(["gofdleak.go"], version)
        srv, port = start_server(exe)
        url = "http://127.0.0.1:%d/" % port
        for fixed in (False, True):
            cli = lwlib.spawn([exe, "-url", url, "-rate", str(RATE),
                               "-t", "30"] + (["-close"] if fixed else []))
            check(lwlib.wait_for(lambda: len(client_lines(cli)) >= 4, 10),
                  "Go %s: the client printed no counts:\n%s" %
                  (version, cli.describe()))
            last = client_lines(cli)[-1]
            states = socket_states(cli.pid, port)
            r = {"version": version, "cli": cli, "srv": srv}
            if fixed:
                check(states == {"ESTABLISHED": 1},
                      "Go %s: the fixed client's sockets to the server: %s" %
                      (version, states))
                check_client_lines(r, fixed)
            else:
                check_client_lines(r, fixed)
                total = sum(states.values())
                # requests go on after the line: a second's at most
                check(last[2] <= total <= last[2] + RATE + 1 and
                      set(states) <= {"CLOSE_WAIT", "ESTABLISHED"} and
                      states.get("ESTABLISHED", 0) <= RATE * (IDLE + 1) + 2,
                      "Go %s: %d bodies open, the sockets to the server: %s"
                      % (version, last[2], states))
            cli.kill()
        srv.kill()
