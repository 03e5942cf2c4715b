"""The Prometheus endpoint (issue 16): --prometheus ADDR.

Four leakwatch runs at once, each with `--prometheus 127.0.0.1:0` (the
port read from its "metrics at" line on stderr): leaky launched (--), a
Go program leaking goroutines (goleak, launched), promnames attached (-p:
a '"', a backslash and a newline in its names) and a system-wide run
(-a). Their /metrics, in the text format and in OpenMetrics, must pass
Debian's promtool (`promtool check metrics`: the text format's parser and
its lint) from the first second on, and a real Prometheus server started
here (its own config and storage in a tmpdir, a free port, scraping the
four every second, in OpenMetrics: the format it asks for first) must
scrape them without an error and answer, through its HTTP API, the
leaking site's growth (leaky's known rate, within 25%) and the Go
program's goroutine count (what the program itself prints). Label values
are escaped as the spec says: once the format's escaping is undone, they
are exactly the JSON report's strings. Bad addresses and an address in
use exit 2 with a message; other paths than /metrics answer 404.

Debian's prometheus package provides both promtool and the server
(scripts/deps.sh); the test never uses the service that installing it may
have started.
"""

import concurrent.futures
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import lwlib
from lwlib import Skip, check, tmpdir
from test_targets import leaky_table

INTERVAL = 1
RATE_TOLERANCE = 0.25
SITE_SAMPLES = 8        # scrapes of the leak's growth Prometheus must hold
REPORTS = 10            # intervals leakwatch must have reported by then
GO_VERSION = "1.23"
GO_RATE = 1             # goleak -rate: 5 goroutines leaked a second
LIVES = 120             # -t of the targets: bounded, they outlive the test
WAIT = 90               # seconds for all that, a loaded machine included

PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"

TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
# what Prometheus 2.42 itself sends when it scrapes
OM_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
             "application/openmetrics-text;version=0.0.1;q=0.75,"
             "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")

# promnames.c's raw names (bytes), which user/safestr.h escapes
PN_FUNC = b'leak_"q\\b'
PN_FILE = b'prom"q\\b\nname.c'
PN_COMM = b'q"b\\n\nl'

SITE_LABELS = {"pid", "comm", "kind", "site", "function", "file", "line",
               "module", "suspect"}

_LINE_RE = re.compile(r"^leakwatch: metrics at http://(\S+):(\d+)/metrics$",
                      re.M)

# ---------------------------------------------------------------------------
# HTTP, without any proxy of the environment


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(url, accept=None, method="GET", timeout=10):
    """(status, headers, body bytes) of one request; any HTTP status."""
    req = urllib.request.Request(url, method=method,
                                 headers={"Accept": accept} if accept else {})
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def safe(raw):
    """A name as every view of leakwatch shows it (user/safestr.h): valid
    UTF-8 kept, control bytes and invalid bytes as \\xNN, a backslash
    doubled."""
    out, i = [], 0
    while i < len(raw):
        b = raw[i]
        if b == 0x5c:
            out.append("\\\\")
        elif b < 0x20 or b == 0x7f:
            out.append("\\x%02x" % b)
        elif b < 0x80:
            out.append(chr(b))
        else:
            # the test's names are ASCII: anything else is out of scope
            raise ValueError("safe(): non-ASCII byte in %r" % raw)
        i += 1
    return "".join(out)


# ---------------------------------------------------------------------------
# The exposition formats


_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LNAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_VALUE_RE = re.compile(r"[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN)$")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def _labels(line, pos, where):
    """The {...} at line[pos] (after '{'): ({name: unescaped value}, the
    position after '}'). Only \\\\, \\" and \\n are escapes."""
    labels = {}
    while True:
        if line.startswith("}", pos):
            return labels, pos + 1
        m = _LNAME_RE.match(line, pos)
        check(m and line.startswith('="', m.end()),
              "%s: bad label at %d: %r" % (where, pos, line))
        name, pos, val = m.group(0), m.end() + 2, []
        while True:
            check(pos < len(line), "%s: unterminated label value: %r" %
                  (where, line))
            c = line[pos]
            if c == "\\":
                e = line[pos + 1:pos + 2]
                check(e in _ESCAPES, "%s: escape \\%s in a label value: %r" %
                      (where, e, line))
                val.append(_ESCAPES[e])
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                check(c != "\n", "%s: raw newline in a label" % where)
                val.append(c)
                pos += 1
        check(name not in labels, "%s: label %s twice: %r" % (where, name, line))
        labels[name] = "".join(val)
        if line.startswith(",", pos):
            pos += 1


def parse_exposition(text, where):
    """The samples [(name, {label: value}, float)] and the families'
    types {family: type} of an exposition (text 0.0.4 or OpenMetrics),
    label values unescaped; fails on lines neither allows, and on a
    series twice (promtool 2.42 does not: Prometheus then keeps one and
    counts the other as a duplicate sample)."""
    samples, types, seen = [], {}, {}
    for n, line in enumerate(text.split("\n"), 1):
        at = "%s line %d" % (where, n)
        if not line or line == "# EOF":
            continue
        if line.startswith("#"):
            f = line.split(" ", 3)
            if len(f) >= 4 and f[1] == "TYPE":
                check(f[2] not in types, "%s: TYPE of %s twice" % (at, f[2]))
                types[f[2]] = f[3]
            continue
        m = _NAME_RE.match(line)
        check(m, "%s: no metric name: %r" % (at, line))
        labels, pos = {}, m.end()
        if line.startswith("{", pos):
            labels, pos = _labels(line, pos + 1, at)
        rest = line[pos:].split()
        check(line[pos:pos + 1] == " " and 1 <= len(rest) <= 2 and
              _VALUE_RE.match(rest[0]), "%s: bad sample: %r" % (at, line))
        key = (m.group(0), tuple(sorted(labels.items())))
        check(key not in seen, "%s: the series of line %s again: %r" %
              (at, seen.get(key), line))
        seen[key] = n
        samples.append((m.group(0), labels, float(rest[0])))
    return samples, types


def series(samples, name, **want):
    """The samples of metric name whose labels include want."""
    return [(labels, v) for n, labels, v in samples if n == name and
            all(labels.get(k) == v for k, v in want.items())]


# Debian's python3-prometheus-client (for the system's python3): its
# OpenMetrics parser, strict where promtool 2.42 reads only the text format
OM_PYTHON = "/usr/bin/python3"
OM_PARSER = """
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
print(sum(len(f.samples) for f in
          text_string_to_metric_families(sys.stdin.read())))
"""


def om_parse(body, what):
    """The number of samples the OpenMetrics parser reads in body; fails
    on what it refuses."""
    res = subprocess.run([OM_PYTHON, "-c", OM_PARSER], input=body,
                         capture_output=True, timeout=60)
    err = res.stderr.decode("utf-8", "replace")
    check("No module named 'prometheus_client'" not in err,
          "%s has no prometheus_client (make deps installs "
          "python3-prometheus-client)" % OM_PYTHON)
    check(res.returncode == 0, "%s: the OpenMetrics parser refuses it:\n%s"
          % (what, lwlib.tail(err)))
    return int(res.stdout)


def promtool(body):
    """promtool check metrics on an exposition: (exit status, output)."""
    res = subprocess.run([PROMTOOL, "check", "metrics"], input=body,
                         capture_output=True, timeout=60)
    return res.returncode, (res.stdout + res.stderr).decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# leakwatch runs and the Prometheus server


def endpoint(lw, timeout=60):
    """(host, port) of a leakwatch run's "metrics at" line; fails if it
    exits or says nothing in time."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = _LINE_RE.search(lw.stderr)
        if m:
            return m.group(1), int(m.group(2))
        if lw.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError("no 'leakwatch: metrics at http://HOST:PORT/metrics' "
                         "line (exit %s):\n%s" % (lw.poll(), lw.describe()))


def child_of(pid, timeout=10):
    """The pid of the (first) child of pid: a program leakwatch launched."""
    path = "/proc/%d/task/%d/children" % (pid, pid)
    text = lwlib.wait_for(lambda: lwlib.read_text(path).split(), timeout)
    return int(text[0]) if text else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PromServer:
    """Debian's Prometheus, all of its files in a tmpdir, scraping each
    job's HOST:PORT every second."""

    def __init__(self, jobs):
        self.dir = tmpdir()
        conf = os.path.join(self.dir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n")
            for job, addr in sorted(jobs.items()):
                f.write("  - job_name: %s\n    static_configs:\n"
                        "      - targets: ['%s']\n" % (job, addr))
        for attempt in range(3):
            self.port = free_port()
            self.url = "http://127.0.0.1:%d" % self.port
            self.proc = lwlib.spawn(
                [PROMETHEUS, "--config.file=" + conf,
                 "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port,
                 "--log.level=warn"], cwd=self.dir, name="prometheus")
            if lwlib.wait_for(self.ready, 60, step=0.2):
                return
            # the free port taken meanwhile: another one
            if self.proc.poll() is None or "address already in use" not in \
                    self.proc.stderr:
                break
        self.proc.kill()
        raise AssertionError("Prometheus never got ready:\n" +
                             self.proc.describe())

    def ready(self):
        if self.proc.poll() is not None:
            return "exited"
        try:
            return http(self.url + "/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = "%s/api/v1/%s?%s" % (self.url, path,
                                   urllib.parse.urlencode(params, doseq=True))
        status, _, body = http(url)
        check(status == 200, "Prometheus %s: %d %s" % (url, status, body[:300]))
        doc = json.loads(body)
        check(doc.get("status") == "success", "Prometheus %s: %r" % (url, doc))
        return doc["data"]

    def query(self, expr):
        """[(labels, float value)] of an instant query."""
        return [(r["metric"], float(r["value"][1]))
                for r in self.api("query", query=expr)["result"]]

    def scrape_error(self, job):
        """The last error of Prometheus's scrape of job, "" if none."""
        for t in self.api("targets")["activeTargets"]:
            if t["labels"].get("job") == job and t.get("lastError"):
                return t["lastError"]
        return ""

    def stop(self):
        """SIGTERM, as its service would be stopped; its exit status."""
        self.proc.signal(signal.SIGTERM)
        rc = self.proc.wait(30)
        self.proc.kill()
        return rc


def scrape_all(url):
    """What the endpoint answers now: both formats, HEAD, other paths."""
    out = {}
    for key, accept in (("text", None), ("om", OM_ACCEPT),
                        ("om_plain", "application/openmetrics-text")):
        status, headers, body = http(url + "/metrics", accept)
        out[key] = (status, headers.get("Content-Type"), body)
    status, headers, body = http(url + "/metrics", method="HEAD")
    out["head"] = (status, headers.get("Content-Type"), body)
    for path in ("/", "/metricsx", "/metrics/x", "/favicon.ico"):
        out["path " + path] = http(url + path)[0]
    out["post"] = http(url + "/metrics", method="POST")[0]
    return out


def leakwatch_run(args, env=None):
    out = os.path.join(tmpdir(), "report.json")
    lw = lwlib.leakwatch(["-i", str(INTERVAL), "--prometheus", "127.0.0.1:0",
                          "--json", out] + list(args), env=env)
    return {"lw": lw, "json": out}


def _session():
    lwlib.require_leakwatch()
    for tool in (PROMTOOL, PROMETHEUS):
        if not os.access(tool, os.X_OK):
            raise Skip("%s missing (make deps installs prometheus)" % tool)
    leaky = lwlib.target("leaky")
    goleak = lwlib.build_go("goleak.go", GO_VERSION)
    pn = lwlib.start_target("promnames", ["-t", str(LIVES)])
    env, pidfile = lwlib.pidfile_env()
    runs = {
        "c": leakwatch_run(["--", leaky, "-q", "-t", str(LIVES)], env),
        "go": leakwatch_run(["--", goleak, "-rate", str(GO_RATE),
                             "-t", str(LIVES)]),
        "names": leakwatch_run(["-p", str(pn.pid)]),
        "sys": leakwatch_run(["-a"]),
    }
    runs["c"]["pid"] = lwlib.launched_pid(pidfile, leaky)
    check(runs["c"]["pid"], "leaky never started:\n" + runs["c"]["lw"].describe())
    runs["go"]["pid"] = child_of(runs["go"]["lw"].pid)
    check(runs["go"]["pid"], "goleak never started:\n" +
          runs["go"]["lw"].describe())
    lwlib.PidProc(runs["go"]["pid"], goleak)
    runs["names"]["pid"] = pn.pid
    for r in runs.values():
        r["host"], r["port"] = endpoint(r["lw"])
        r["url"] = "http://127.0.0.1:%d" % r["port"]
        # from the first second on, before any interval has passed
        r["first"] = scrape_all(r["url"])

    prom = PromServer({job: "127.0.0.1:%d" % r["port"]
                       for job, r in runs.items()})
    func = leaky_table()[0]["malloc"][0]
    # (job, what Prometheus must hold): what the tests ask it
    conds = [
        ("c", "%d samples of %s's growth" % (SITE_SAMPLES, func), lambda: any(
            v >= SITE_SAMPLES for _, v in prom.query(
                'count_over_time(leakwatch_site_growth_per_second'
                '{job="c",function="%s"}[5m])' % func))),
        ("c", "%d reports" % REPORTS, lambda: any(
            v >= REPORTS for _, v in prom.query(
                'leakwatch_reports_total{job="c"}'))),
        ("go", "5 samples of the goroutines", lambda: any(
            v >= 5 for _, v in prom.query(
                'count_over_time(leakwatch_process_goroutines{job="go"}'
                '[5m])'))),
        ("names", "the names' site", lambda: prom.query(
            'leakwatch_site_bytes{job="names",kind="heap"}')),
    ]
    unmet, end = {}, time.monotonic() + WAIT
    for job, what, cond in conds:
        if job in unmet:
            continue
        failing = []    # since when Prometheus fails to scrape the job

        def met():
            if cond():
                return "met"
            if prom.scrape_error(job):
                failing[:1] = failing[:1] or [time.monotonic()]
                # a scrape that fails for 5 s will not come right
                if time.monotonic() - failing[0] > 5:
                    return "failing"
            else:
                failing[:] = []
            return None
        got = lwlib.wait_for(met, max(0, end - time.monotonic()), step=0.5)
        if got != "met":
            unmet[job] = "Prometheus: no %s after up to %d s (its scrape of %s: " \
                "%r)\n%s" % (what, WAIT, job, prom.scrape_error(job),
                             described(runs[job]))

    res = {"runs": runs, "func": func, "unmet": unmet}
    res["targets"] = prom.api("targets")["activeTargets"]
    res["rate"] = prom.query('leakwatch_site_growth_per_second'
                             '{job="c",function="%s"}' % func)
    res["goroutines"] = prom.query('leakwatch_process_goroutines{job="go"}')
    res["goleak_out"] = runs["go"]["lw"].stdout
    # the series of now (a site's changes when it turns suspect)
    res["names_series"] = [l for l, _ in prom.query(
        'leakwatch_site_bytes{job="names",kind="heap"}')]
    for r in runs.values():
        r["last"] = scrape_all(r["url"])
    # SIGINT: leakwatch writes its report, detaches and exits 0
    for r in runs.values():
        r["lw"].signal(signal.SIGINT)
    for r in runs.values():
        r["rc"] = r["lw"].wait(60)
        if r["rc"] is None:
            r["lw"].kill()
        r["report"] = (lwlib.load_report(r["json"], r["lw"])
                       if r["rc"] == 0 else None)
    res["prom_rc"] = prom.stop()
    res["prom_stderr"] = prom.proc.stderr
    lwlib.cleanup_procs()
    return res


_memo = lwlib.Memo()


def session():
    return _memo("session", _session)


def described(r):
    return r["lw"].describe()


# ---------------------------------------------------------------------------
# Tests


def test_prometheus_runs():
    """Each run says where its metrics are (the real port of 127.0.0.1:0),
    then exits 0 on SIGINT with its JSON report; Prometheus exits 0."""
    s = session()
    for job, r in s["runs"].items():
        check(r["host"] == "127.0.0.1" and 0 < r["port"] < 65536,
              "%s: metrics at %s:%s" % (job, r["host"], r["port"]))
        check(r["rc"] == 0, "%s: leakwatch exited %s on SIGINT:\n%s" %
              (job, r["rc"], described(r)))
    check(s["prom_rc"] == 0, "Prometheus exited %s:\n%s" %
          (s["prom_rc"], lwlib.tail(s["prom_stderr"])))


def check_text(job, r, when):
    status, ctype, body = r[when]["text"]
    check(status == 200, "%s (%s): GET /metrics answered %d" %
          (job, when, status))
    check(ctype == TEXT_TYPE, "%s (%s): Content-Type %r, expected %r" %
          (job, when, ctype, TEXT_TYPE))
    rc, out = promtool(body)
    check(rc == 0 and not out.strip(),
          "%s (%s): promtool check metrics exited %d:\n%s\n--- exposition "
          "(head) ---\n%s" % (job, when, rc, lwlib.tail(out, 30),
                             body[:3000].decode("utf-8", "replace")))
    samples, types = parse_exposition(body.decode("utf-8"), job)
    return samples, types


def check_common(job, samples, types, pid):
    """The metrics every run has, and those of its process."""
    for name, typ in (("leakwatch_build_info", "gauge"),
                      ("leakwatch_interval_seconds", "gauge"),
                      ("leakwatch_reports_total", "counter"),
                      ("leakwatch_drops_total", "counter"),
                      ("leakwatch_events_total", "counter")):
        check(types.get(name) == typ, "%s: %s is of TYPE %r, expected %s" %
              (job, name, types.get(name), typ))
    check([v for _, v in series(samples, "leakwatch_interval_seconds")] ==
          [INTERVAL], "%s: leakwatch_interval_seconds is %s" %
          (job, series(samples, "leakwatch_interval_seconds")))
    got = {l.get("counter") for l, _ in series(samples, "leakwatch_drops_total")}
    missing = set(lwlib.DROP_NAMES) - got
    check(not missing, "%s: no leakwatch_drops_total for %s" %
          (job, sorted(missing)))
    got = {l.get("counter") for l, _ in series(samples, "leakwatch_events_total")}
    missing = set(lwlib.STAT_NAMES) - got
    check(not missing, "%s: no leakwatch_events_total for %s" %
          (job, sorted(missing)))
    if pid is not None:
        procs = series(samples, "leakwatch_process_threads", pid=str(pid))
        check(len(procs) == 1 and procs[0][1] >= 1 and "comm" in procs[0][0],
              "%s: leakwatch_process_threads of pid %d: %s" %
              (job, pid, procs))


def check_sites(job, samples, pid):
    sites = series(samples, "leakwatch_site_growth_per_second", pid=str(pid))
    check(sites, "%s: no leakwatch_site_growth_per_second of pid %d" %
          (job, pid))
    for labels, _ in sites:
        check(set(labels) == SITE_LABELS,
              "%s: a site's labels are %s, expected %s" %
              (job, sorted(labels), sorted(SITE_LABELS)))
        check(re.fullmatch(r"[0-9a-f]{12}", labels["site"]),
              "%s: site label %r is not 12 hex digits" % (job, labels["site"]))
    return sites


def _text_test(job, sites):
    s = session()
    r = s["runs"][job]
    check_text(job, r, "first")
    samples, types = check_text(job, r, "last")
    pid = r.get("pid")
    check_common(job, samples, types, pid)
    if sites:
        check_sites(job, samples, pid)
    return samples


def test_prometheus_text_c():
    """leaky launched (--): promtool passes on the text format, at the
    first second and after a few intervals."""
    samples = _text_test("c", True)
    heap = series(samples, "leakwatch_process_heap_bytes",
                  pid=str(session()["runs"]["c"]["pid"]))
    check(len(heap) == 1 and heap[0][1] > 0,
          "c: leakwatch_process_heap_bytes is %s" % heap)


def test_prometheus_text_go():
    """goleak launched: promtool passes; its goroutines are a metric."""
    samples = _text_test("go", True)
    g = series(samples, "leakwatch_process_goroutines",
               pid=str(session()["runs"]["go"]["pid"]))
    check(len(g) == 1, "go: leakwatch_process_goroutines is %s" % g)


def test_prometheus_text_system():
    """A system-wide run (-a): promtool passes on every process's series,
    whatever their names on this machine."""
    samples = _text_test("sys", False)
    procs = series(samples, "leakwatch_process_anon_bytes")
    check(len(procs) > 1, "sys: %d leakwatch_process_anon_bytes series" %
          len(procs))


def test_prometheus_openmetrics():
    """With Accept: application/openmetrics-text the answer is OpenMetrics
    1.0.0 ending in "# EOF", which prometheus_client's OpenMetrics parser
    reads (promtool 2.42 reads only the text format); Prometheus itself
    (which asks for OpenMetrics first) scraped every run without an
    error."""
    s = session()
    for job, r in s["runs"].items():
        for when in ("first", "last"):
            for key in ("om", "om_plain"):
                status, ctype, body = r[when][key]
                what = "%s (%s, Accept %s)" % (job, when, key)
                check(status == 200 and ctype == OM_TYPE,
                      "%s: %d, Content-Type %r, expected %r" %
                      (what, status, ctype, OM_TYPE))
                text = body.decode("utf-8")
                check(text.endswith("\n# EOF\n"),
                      "%s: does not end with '# EOF': %r" % (what, text[-200:]))
                check(text.count("# EOF") == 1 and "\n\n" not in text,
                      "%s: a second '# EOF' or a blank line" % what)
                samples, types = parse_exposition(text, what)
                n = om_parse(body, what)
                check(n == len(samples), "%s: the OpenMetrics parser reads %d "
                      "samples, %d lines are samples" % (what, n, len(samples)))
                # OpenMetrics names a counter's family without _total
                for fam in ("leakwatch_reports", "leakwatch_drops",
                            "leakwatch_events"):
                    check(types.get(fam) == "counter",
                          "%s: family %s is of TYPE %r, expected counter" %
                          (what, fam, types.get(fam)))
                check(series(samples, "leakwatch_reports_total"),
                      "%s: no leakwatch_reports_total sample" % what)
    for t in s["targets"]:
        check(t.get("health") == "up" and not t.get("lastError"),
              "Prometheus's scrape of %s (%s): health %s, error %r" %
              (t["labels"].get("job"), t.get("scrapeUrl"), t.get("health"),
               t.get("lastError")))
    check(len(s["targets"]) == len(s["runs"]),
          "Prometheus has %d targets, expected %d" % (len(s["targets"]),
                                                      len(s["runs"])))


def test_prometheus_scrape_rate():
    """Prometheus's answer for the leaking site's growth is leaky's rate."""
    s = session()
    check("c" not in s["unmet"], s["unmet"].get("c"))
    rate = leaky_table()[0]["malloc"][2]
    pid = str(s["runs"]["c"]["pid"])
    got = [(l, v) for l, v in s["rate"] if l.get("pid") == pid]
    check(len(got) == 1, "Prometheus: %d series of %s's growth of pid %s: %s"
          % (len(got), s["func"], pid, s["rate"]))
    v = got[0][1]
    check(abs(v - rate) <= RATE_TOLERANCE * rate,
          "Prometheus: %s grows %.0f B/s, leaky leaks %.0f B/s there" %
          (s["func"], v, rate))


def test_prometheus_goroutines():
    """Prometheus's answer for goleak's goroutines is what it counts
    itself (runtime.NumGoroutine, printed every second; it grows 5 a
    second, and the metric is refreshed every interval: the lines of the
    last 4 seconds bound it)."""
    s = session()
    check("go" not in s["unmet"], s["unmet"].get("go"))
    counts = [int(m) for m in re.findall(r"^goroutines (\d+) leaked \d+$",
                                         s["goleak_out"], re.M)]
    check(len(counts) >= 5, "goleak printed %d counts:\n%s" %
          (len(counts), lwlib.tail(s["goleak_out"])))
    pid = str(s["runs"]["go"]["pid"])
    got = [v for l, v in s["goroutines"] if l.get("pid") == pid]
    check(len(got) == 1, "Prometheus: leakwatch_process_goroutines of pid "
          "%s: %s" % (pid, s["goroutines"]))
    lo, hi = counts[-5] * 0.9, counts[-1] * 1.1 + 5
    check(lo <= got[0] <= hi,
          "Prometheus: goleak has %d goroutines, it counted %s lately" %
          (got[0], counts[-6:]))


def check_names(what, labels, rep, pid):
    """A heap site's and its process's labels equal the JSON report's
    strings, which are the known names, escaped."""
    site = [s for s in rep["sites"] if s["kind"] == "heap" and
            lwlib.frame0(s).get("symbol") == safe(PN_FUNC)]
    check(len(site) == 1, "the JSON report has %d heap sites in %r:%s" %
          (len(site), safe(PN_FUNC), lwlib.fmt_sites(rep["sites"])))
    fr = lwlib.frame0(site[0])
    want = {"comm": rep["target"]["comm"], "function": fr["symbol"],
            "file": fr.get("file"), "pid": str(pid)}
    check(rep["target"]["comm"] == safe(PN_COMM) and
          os.path.basename(fr.get("file") or "") == safe(PN_FILE),
          "the JSON report's names are %r, %r, %r; expected %r, %r, %r" %
          (rep["target"]["comm"], fr["symbol"], fr.get("file"),
           safe(PN_COMM), safe(PN_FUNC), safe(PN_FILE)))
    mine = [l for l in labels if l.get("function") == want["function"]]
    check(len(mine) == 1, "%s: %d heap sites whose function label is %r "
          "(functions: %s)" % (what, len(mine), want["function"],
                               sorted({l.get("function") for l in labels})))
    for key, val in want.items():
        check(mine[0].get(key) == val, "%s: label %s is %r, the JSON report "
              "says %r" % (what, key, mine[0].get(key), val))


def test_prometheus_label_escaping():
    """promnames' '"', backslash and newline (function, file, comm) come
    out escaped: the raw exposition parses (promtool passes, Prometheus
    stores the series) and each label value, unescaped, is the JSON
    report's string for the same field."""
    s = session()
    r = s["runs"]["names"]
    check(r["report"] is not None, "names: no JSON report (exit %s):\n%s" %
          (r["rc"], described(r)))
    samples, _ = check_text("names", r, "last")
    raw = r["last"]["text"][2].decode("utf-8")
    # a raw '"' as \", a raw backslash as \\\\, a raw newline as \\x0a
    for lit in ('function="leak_\\"q\\\\\\\\b"', 'comm="q\\"b\\\\\\\\n\\\\x0al"',
                'prom\\"q\\\\\\\\b\\\\x0aname.c"'):
        check(lit in raw, "names: %s is not in the exposition:\n%s" %
              (lit, "\n".join(l for l in raw.split("\n")
                              if "leak_" in l)[:2000]))
    heap = [l for l, _ in series(samples, "leakwatch_site_bytes", kind="heap")]
    check_names("names (text)", heap, r["report"], r["pid"])
    om, _ = parse_exposition(r["last"]["om"][2].decode("utf-8"), "names (om)")
    check_names("names (OpenMetrics)",
                [l for l, _ in series(om, "leakwatch_site_bytes", kind="heap")],
                r["report"], r["pid"])
    check("names" not in s["unmet"], s["unmet"].get("names"))
    check_names("Prometheus's stored series", s["names_series"], r["report"],
                r["pid"])


def test_prometheus_paths():
    """/metrics answers GET and HEAD; any other path is 404; POST is
    405."""
    s = session()
    for job, r in s["runs"].items():
        for when in ("first", "last"):
            a = r[when]
            status, ctype, body = a["head"]
            check(status == 200 and ctype == TEXT_TYPE and not body,
                  "%s: HEAD /metrics: %d %r, %d bytes" %
                  (job, status, ctype, len(body)))
            for key in [k for k in a if k.startswith("path ")]:
                check(a[key] == 404, "%s: GET %s answered %d, expected 404" %
                      (job, key[5:], a[key]))
            check(a["post"] == 405, "%s: POST /metrics answered %d, "
                  "expected 405" % (job, a["post"]))


# ---------------------------------------------------------------------------
# Bad addresses


# not HOST:PORT, :PORT or [V6]:PORT with PORT a number below 65536
BAD_ADDRS = ("", "8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
             "127.0.0.1:-1", "127.0.0.1:80x", "[::1", "[::1]", "[::1]9100",
             "no.such.host.invalid:9100", "127.0.0.1:9100:1")


def run_bad(addr):
    """leakwatch --prometheus addr on leaky (launched, if it gets that
    far): (exit status, stderr, the run described)."""
    exe = lwlib.target("leaky")
    env, pidfile = lwlib.pidfile_env()
    lw = lwlib.leakwatch(["-i", "1", "-d", "5", "--prometheus", addr,
                          "--", exe, "-q", "-t", "20"], env=env)
    rc = lw.wait(60)
    if os.path.exists(pidfile):
        lwlib.launched_pid(pidfile, exe, 1)
    if rc is None:
        lw.kill()
    return rc, lw.stderr, lw.describe()


def test_prometheus_bad_address():
    """A malformed --prometheus ADDR exits 2 with a message that names
    --prometheus (leakwatch: error: --prometheus: 'ADDR' is not ...)."""
    lwlib.require_leakwatch()
    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        results = list(ex.map(lambda a: (a, run_bad(a)), BAD_ADDRS))
    bad = []
    for addr, (rc, err, desc) in results:
        if rc != 2 or not re.search(r"^leakwatch: .*--prometheus\b", err,
                                    re.M):
            bad.append("--prometheus %r: exit %s:\n%s" % (addr, rc, desc))
    check(not bad, "\n".join(bad))


def test_prometheus_address_in_use():
    """An address in use exits 2: --prometheus ADDR: cannot listen:
    Address already in use."""
    lwlib.require_leakwatch()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        addr = "127.0.0.1:%d" % s.getsockname()[1]
        rc, err, desc = run_bad(addr)
    want = "--prometheus %s: cannot listen: Address already in use" % addr
    check(rc == 2 and re.search(r"^leakwatch: (error: )?%s$" % re.escape(want),
                                err, re.M), "--prometheus %s (in use): exit %s, "
          "expected 2 and %r:\n%s" % (addr, rc, want, desc))


def test_prometheus_site_ids_stable():
    """Two leakwatch runs at once, each launching its own leaky (another
    pid, other load addresses): every leak site has the same `site` id in
    both, so that a dashboard's series survive a restart of leakwatch or
    of the program."""
    lwlib.require_leakwatch()
    leaky = lwlib.target("leaky")
    funcs = {f for f, _, _ in leaky_table()[0].values()}
    runs = [leakwatch_run(["--", leaky, "-q", "-t", "30"]) for _ in range(2)]
    ids = []
    try:
        for r in runs:
            host, port = endpoint(r["lw"])
            url = "http://127.0.0.1:%d/metrics" % port
            got = {}

            def enough():
                samples, _ = parse_exposition(
                    http(url)[2].decode("utf-8"), url)
                for labels, _ in series(samples, "leakwatch_site_bytes",
                                        kind="heap"):
                    if labels["function"] in funcs:
                        got.setdefault((labels["function"], labels["line"]),
                                       set()).add(labels["site"])
                return len(got) >= len(funcs) - 2
            check(lwlib.wait_for(enough, 30, step=0.5),
                  "%s: leak sites after 30 s: %s\n%s" %
                  (url, sorted(got), r["lw"].describe()))
            ids.append(got)
    finally:
        for r in runs:
            r["lw"].signal(signal.SIGINT)
        for r in runs:
            if r["lw"].wait(60) is None:
                r["lw"].kill()
        lwlib.cleanup_procs()
    common = set(ids[0]) & set(ids[1])
    check(len(common) >= len(funcs) - 2,
          "the runs share %d leak sites of %d: %s / %s" %
          (len(common), len(funcs), sorted(ids[0]), sorted(ids[1])))
    differ = {k: (ids[0][k], ids[1][k]) for k in common
              if ids[0][k] != ids[1][k]}
    check(not differ, "site ids differ between two runs: %s" % differ)
