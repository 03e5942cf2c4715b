"""Files of other roots: a process in a container in miniature (its own
mount namespace, a root of its own on a tmpfs the host cannot see) whose
debug file is found by its build ID under the container's
/usr/lib/debug. Its owner controls every path and symlink there: an
absolute symlink must resolve inside the container (the debug file it
names there is used), never on the host (a host file it names is not
read), and a FIFO in its place must not hang leakwatch."""

import os
import re
import subprocess

import lwlib
from lwlib import check, tmpdir

# The container: libraries bound from the host, the program stripped of
# its DWARF (its .symtab kept: names without lines), the build-ID link
# made by the case.
ROOT_SCRIPT = """set -e
root=$1 exe=$2 link=$3 mode=$4 debug=$5
mount -t tmpfs tmpfs "$root"
mkdir -p "$root/bin" "$root/dbg" "$root/lib64" \
	"$root/usr/lib/x86_64-linux-gnu" "$(dirname "$root$link")"
mount --bind /usr/lib/x86_64-linux-gnu "$root/usr/lib/x86_64-linux-gnu"
ln -s usr/lib "$root/lib"
ln -s /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/"
cp "$exe" "$root/bin/lwrootleaky"
case $mode in
inroot)	cp "$debug" "$root/dbg/lwroot.debug"
	ln -s /dbg/lwroot.debug "$root$link" ;;
escape)	ln -s "$debug" "$root$link" ;;
fifo)	mkfifo "$root/dbg/fifo"
	ln -s ../../../../../dbg/fifo "$root$link" ;;
esac
exec chroot "$root" /bin/lwrootleaky -q
"""


def split_debug():
    """leaky without DWARF, and its debug file; the build-ID link path."""
    d = tmpdir()
    exe, debug = os.path.join(d, "leaky"), os.path.join(d, "lwroot.debug")
    subprocess.run(["objcopy", "--only-keep-debug", lwlib.target("leaky"),
                    debug], check=True)
    subprocess.run(["objcopy", "--strip-debug", lwlib.target("leaky"), exe],
                   check=True)
    notes = subprocess.run(["readelf", "-n", exe], capture_output=True,
                           text=True, check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", notes)
    check(m, "leaky has no build ID:\n" + notes)
    bid = m.group(1)
    return exe, debug, "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2],
                                                                 bid[2:])


def run_case(mode):
    """The leak sites leakwatch reports of leaky in a root of its own."""
    lwlib.require_leakwatch()
    for tool in ("unshare", "chroot", "objcopy", "mkfifo"):
        lwlib.require_tool(tool)
    exe, debug, link = split_debug()
    root = tmpdir()
    ns = lwlib.spawn(["unshare", "--mount", "--propagation", "private", "sh",
                      "-c", ROOT_SCRIPT, "sh", root, exe, link, mode, debug])

    p = lwlib.wait_for(lambda: lwlib.pgrep_one("lwrootleaky"), 10)
    check(p, "the chrooted leaky did not start:\n" + ns.describe())
    lwlib.PidProc(p, "/proc/%d/exe" % p)
    check(os.readlink("/proc/%d/root" % p) != "/", "not in a root of its own")
    out = os.path.join(tmpdir(), "rep.json")
    lw = lwlib.run_leakwatch(["-p", str(p), "-i", "1", "-d", "4", "--json",
                              out], 60)
    check(lw.popen.returncode == 0, "%s: exit %r:\n%s" %
          (mode, lw.popen.returncode, lw.describe()))
    rep = lwlib.load_report(out, lw)
    ns.kill()
    marks = {m.func: m.line for (kind, _), m in
             lwlib.markers("leaky.c").items() if kind == "LEAK"}
    sites = [s for s in rep["sites"] if s["stack"] and
             lwlib.frame0(s).get("symbol") in marks]
    check(sites, "%s: no leak site of leaky named:%s" %
          (mode, lwlib.fmt_sites(rep["sites"])))
    return sites, marks


def with_lines(sites, marks):
    return [s for s in sites if lwlib.frame_file(lwlib.frame0(s)) == "leaky.c"
            and lwlib.frame0(s).get("line") == marks[lwlib.frame0(s)["symbol"]]]


def test_root_debug_link_inside():
    """An absolute symlink in the container's /usr/lib/debug names a file
    of the container: resolved there, its lines are used."""
    sites, marks = run_case("inroot")
    check(with_lines(sites, marks),
          "the container's own debug file was not used (no leaky.c lines):%s"
          % lwlib.fmt_sites(sites))


def test_root_debug_link_escape():
    """An absolute symlink naming a host file (absent in the container)
    is not followed out of the root: names from .symtab, no lines."""
    sites, marks = run_case("escape")
    lines = [s for s in sites if lwlib.frame_file(lwlib.frame0(s))]
    check(not lines, "a debug file outside the container's root was read:%s"
          % lwlib.fmt_sites(lines))


def test_root_debug_link_fifo():
    """A FIFO where the debug file should be: not opened (it would block
    until a writer came), the report written without lines."""
    sites, _ = run_case("fifo")
    lines = [s for s in sites if lwlib.frame_file(lwlib.frame0(s))]
    check(not lines, "lines from a FIFO?%s" % lwlib.fmt_sites(lines))
