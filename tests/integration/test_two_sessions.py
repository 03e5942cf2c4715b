"""Two leakwatch runs on one process at once (two on-call engineers, or a
system-wide run beside a -p one): both see its allocations. Two tracers'
return probes on the same functions lose some returns; a lost return
must not leave the next calls looking nested (then nothing is recorded
for the rest of the run): it is healed at the next call and counted
(lost_exits)."""

import os
import time

import lwlib
from lwlib import check, tmpdir


def heap_sites(rep):
    return [s for s in rep["sites"] if s["kind"] == "heap"
            and lwlib.frame_file(lwlib.frame0(s)) == "leaky.c"]


def test_two_sessions_one_process():
    lwlib.require_leakwatch()
    tgt = lwlib.start_target("leaky", ["-q"])
    d = tmpdir()
    first, second = os.path.join(d, "a.json"), os.path.join(d, "b.json")
    a = lwlib.leakwatch(["-i", "0.5", "-d", "7", "--json", first, "-p",
                         str(tgt.pid)])
    time.sleep(1.5)
    b = lwlib.run_leakwatch(["-i", "0.5", "-d", "3", "--json", second, "-p",
                             str(tgt.pid)], 30)
    rc = a.wait(30)
    check(rc == 0 and b.popen.returncode == 0,
          "exit %r and %r:\n%s\n%s" % (rc, b.popen.returncode, a.describe(),
                                       b.describe()))
    for name, path, proc in (("first", first, a), ("second", second, b)):
        rep = lwlib.load_report(path, proc)
        lwlib.check_schema(rep)
        sites = heap_sites(rep)
        funcs = {lwlib.frame0(s).get("symbol") for s in sites}
        # leak_malloc leaks every 50 ms: in any 3 s it shows
        check("leak_malloc" in funcs and rep["totals"]["heap_allocs"] > 1000,
              "the %s run saw %d allocations, sites at %s (lost_exits %d, "
              "nested_calls %d)" % (name, rep["totals"]["heap_allocs"],
                                    sorted(f for f in funcs if f),
                                    rep["drops"]["lost_exits"],
                                    rep["stats"]["nested_calls"]))
