#!/usr/bin/env python3
"""leakwatch test runner (python3 stdlib only).

    python3 tests/run.py [--unit BIN ...] [-k SUBSTRING] [--leakwatch PATH]
                         [--no-integration] [--list] [--sanitize]

Runs the given cmocka unit-test binaries, then every test_* function of
tests/integration/test_*.py. Prints one line per test:

    PASS name
    FAIL name: why
    SKIP name: why

and ends with the line "N passed, N failed, N skipped". Exits 1 if any
test failed. A test that cannot run here (not root, no BTF, leakwatch not
built) is skipped, never passed. LW_TEST_TIMES=1 adds each passing
integration test's duration. Everything a test starts is killed after it.
--sanitize (make test SANITIZE=1) is for binaries built with ASan and
UBSan: any sanitizer report fails the test (or unit binary) that was
running, naming the report (lwlib.py, "Sanitized runs").
"""

import argparse
import glob
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "integration"))

import lwlib  # noqa: E402


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def report(self, status, name, why=""):
        if status == "PASS":
            self.passed += 1
            print("PASS %s" % name)
        elif status == "FAIL":
            self.failed += 1
            print("FAIL %s: %s" % (name, indent(why)))
        else:
            self.skipped += 1
            print("SKIP %s: %s" % (name, why))
        sys.stdout.flush()


def indent(text):
    """Keep multi-line reasons readable and clearly part of one entry."""
    return text.rstrip("\n").replace("\n", "\n    ")


# ---------------------------------------------------------------------------
# cmocka unit tests

RUN_RE = re.compile(r"^\[ RUN      \] (.+)$")
RESULT_RE = re.compile(r"^\[ *(OK|FAILED|SKIPPED|ERROR) *\] (.+)$")
SUMMARY_RE = re.compile(r"^\[ *(PASSED|FAILED|SKIPPED) *\] (\d+) test\(s\)")


def run_unit(path, tally, timeout=300):
    name = os.path.basename(path)
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        tally.report("SKIP", "unit:%s" % name, "%s not found or not executable" % path)
        return
    try:
        # cmocka prints results to stdout and failures to stderr: line
        # buffering keeps the two in order in the merged output.
        # (Not under the sanitizers: stdbuf's LD_PRELOAD library would
        # come before ASan's runtime, which ASan refuses.)
        stdbuf = None if lwlib.SANITIZE else shutil.which("stdbuf")
        cmd = ([stdbuf, "-oL", "-eL"] if stdbuf else []) + [os.path.abspath(path)]
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=timeout, env=dict(os.environ, CMOCKA_MESSAGE_OUTPUT="STDOUT"))
        out, rc = res.stdout.decode("utf-8", "replace"), res.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        tally.report("FAIL", "unit:%s" % name, "timed out after %d s\n%s" %
                     (timeout, lwlib.tail(out)))
        return

    # Per-test lines give names; the summaries give the authoritative counts.
    counts = {"PASSED": 0, "FAILED": 0, "SKIPPED": 0}
    seen_summary = False
    results, current, log = [], None, []
    for line in out.splitlines():
        m = SUMMARY_RE.match(line)
        if m:
            counts[m.group(1)] += int(m.group(2))
            seen_summary = True
            current = None
            continue
        m = RUN_RE.match(line)
        if m:
            current, log = m.group(1).strip(), []
            continue
        m = RESULT_RE.match(line)
        if m and current is not None and m.group(2).strip() == current:
            results.append((m.group(1), current, log))
            current = None
            continue
        if current is not None:
            log.append(line)

    if current is not None:  # started, never finished: it crashed
        results.append(("CRASHED", current, log + ["(no result; exit status %d)" % rc]))
        tally.failed += 1

    for status, test, log in results:
        full = "unit:%s:%s" % (name, test)
        if status == "OK":
            print("PASS %s" % full)
        elif status == "SKIPPED":
            # the test's own words (print_message) say why
            why = [l.strip() for l in log if l.strip()]
            print("SKIP %s: %s" % (full, indent("\n".join(why[-3:])) or
                                  "skipped by the test, which printed no reason"))
        else:
            print("FAIL %s: %s" % (full, indent("\n".join(log[-10:]) or status)))
    sys.stdout.flush()
    tally.passed += counts["PASSED"]
    tally.failed += counts["FAILED"]
    tally.skipped += counts["SKIPPED"]

    # A crash or a non-zero exit without reported failures is a failure too.
    if not seen_summary:
        tally.report("FAIL", "unit:%s" % name, "no cmocka summary (exit %d)\n%s" %
                     (rc, lwlib.tail(out)))
    elif rc != 0 and counts["FAILED"] == 0:
        tally.report("FAIL", "unit:%s" % name, "exit status %d but no failed test\n%s" %
                     (rc, lwlib.tail(out)))
    for report in lwlib.sanitizer_findings(extra=[("unit:%s" % name, out)]):
        tally.report("FAIL", "unit:%s" % name, "sanitizer: " + report)


# ---------------------------------------------------------------------------
# Integration tests


def load_tests():
    tests = []
    # The targets' self-checks first: if they fail, so will the rest.
    paths = sorted(glob.glob(os.path.join(HERE, "integration", "test_*.py")),
                   key=lambda p: (not p.endswith("test_targets.py"), p))
    for path in paths:
        modname = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for attr, fn in vars(mod).items():  # definition order
            if attr.startswith("test_") and callable(fn):
                tests.append(("%s.%s" % (modname, attr), fn))
    return tests


def run_test(name, fn, tally):
    start = time.monotonic()
    status, why = "PASS", ""
    try:
        fn()
    except lwlib.Skip as e:
        status, why = "SKIP", str(e)
    except AssertionError as e:
        status, why = "FAIL", str(e) or traceback.format_exc()
    except Exception:
        status, why = "FAIL", "error in test:\n" + traceback.format_exc()
    finally:
        # the processes gone first: their reports are complete then
        lwlib.cleanup_procs()
        found = lwlib.sanitizer_findings()
        lwlib.cleanup()
    if found:
        # whatever the test concluded, a sanitizer report fails it
        why = "\n".join(["sanitizer: " + r for r in found] +
                        (["(and the test: %s)" % why] if status != "PASS" else []))
        status = "FAIL"
    elif (status == "FAIL" and lwlib.SANITIZE and
          re.search(r"\b%d\b" % lwlib.SAN_EXITCODE, why)):
        why += ("\n(sanitized run: exit status %d is a sanitizer's; its report "
                "went nowhere, e.g. while top's view had fd 2 on /dev/null)"
                % lwlib.SAN_EXITCODE)
    if status == "PASS":
        why = ""
        name += (" (%.1f s)" % (time.monotonic() - start)
                 if os.environ.get("LW_TEST_TIMES") else "")
    tally.report(status, name, why)


def main():
    ap = argparse.ArgumentParser(description="Run the leakwatch tests.")
    ap.add_argument("--unit", nargs="+", action="extend", default=[], metavar="BIN",
                    help="cmocka unit-test binaries to run")
    ap.add_argument("-k", dest="pattern", action="append", default=[],
                    help="only integration tests whose name contains this")
    ap.add_argument("--leakwatch", help="leakwatch binary (default: ./leakwatch)")
    ap.add_argument("--no-integration", action="store_true",
                    help="run only the unit-test binaries")
    ap.add_argument("--list", action="store_true", help="list the integration tests")
    ap.add_argument("--sanitize", action="store_true",
                    help="binaries built with SANITIZE=1: sanitizer reports fail tests")
    args = ap.parse_args()

    if args.leakwatch:
        lwlib.LEAKWATCH = os.path.abspath(args.leakwatch)
    san_dir = None
    if args.sanitize and not args.list:
        # any user may write there: leakwatch also runs as nobody
        san_dir = tempfile.mkdtemp(prefix="lwtest-sanitizers-")
        os.chmod(san_dir, 0o1777)
        lwlib.enable_sanitizers(san_dir)

    tests = [] if args.no_integration else load_tests()
    if args.pattern:
        tests = [t for t in tests if any(p in t[0] for p in args.pattern)]
    lwlib.SELECTED = {name for name, _ in tests}
    if args.list:
        for name, _ in tests:
            print(name)
        return 0

    # Never leave anything running behind, even when interrupted.
    def interrupted(signum, frame):
        lwlib.cleanup()
        print("interrupted")
        sys.exit(130)

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    tally = Tally()
    for path in args.unit:
        run_unit(path, tally)
    for name, fn in tests:
        run_test(name, fn, tally)

    if san_dir:
        if os.listdir(san_dir):
            print("sanitizer reports kept in %s" % san_dir)
        else:
            os.rmdir(san_dir)
    print("%d passed, %d failed, %d skipped" % (tally.passed, tally.failed, tally.skipped))
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
