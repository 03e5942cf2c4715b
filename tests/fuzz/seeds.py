#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Seeds every harness's corpus (build/fuzz/corpus/<harness>/) from real
inputs made on the spot: the C and C++ test targets built plain, stripped,
PIE, non-PIE and static, Go 1.19/1.21/1.23 programs (plain, stripped,
PIE), this machine's /proc files, and, for the harnesses that read a
target's memory, structures laid out as the Go runtime lays them out.

    seeds.py BUILD_DIR HARNESS...
"""
import glob
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = os.path.join(ROOT, "tests", "targets")
FUZZ_MEM = 0x300000000000  # tests/fuzz/fuzz.h
MAX_ELF = 4 << 20          # the ELF harnesses' -max_len (scripts/fuzz.sh)


def log(msg):
    print("seeds: %s" % msg, file=sys.stderr)


def run(cmd, env=None):
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode:
        log("%s failed: %s" % (" ".join(cmd[:3]), res.stderr.strip()[:300]))
    return res.returncode == 0


def build_bins(out):
    """Paths of the binaries built (what fails to build is left out)."""
    os.makedirs(out, exist_ok=True)
    bins = []
    t = lambda *s: [os.path.join(TARGETS, x) for x in s]
    c = [("leaky", t("leaky.c", "churn.c"), ["-O1", "-g", "-pthread"]),
         ("exact", t("exact.c"), ["-O1", "-g", "-pthread"]),
         ("fdleak", t("fdleak.c"), ["-O1", "-pthread"])]
    variants = [("", []), ("-stripped", ["-s"]), ("-nopie", ["-no-pie"]),
                ("-static", ["-static"]), ("-O2", ["-O2", "-fomit-frame-pointer"])]
    for name, srcs, flags in c:
        for suffix, extra in variants:
            o = os.path.join(out, name + suffix)
            if os.path.exists(o) or run(["gcc"] + flags + extra + ["-I", TARGETS, "-o", o] + srcs):
                bins.append(o)
    for suffix, extra in [("", ["-g"]), ("-stripped", ["-s"]), ("-static", ["-static"])]:
        o = os.path.join(out, "cxxleak" + suffix)
        if os.path.exists(o) or run(["g++", "-O2"] + extra + ["-o", o] + t("cxxleak.cc")):
            bins.append(o)
    cache = os.environ.get("GOCACHE") or os.path.join(ROOT, "build", "gocache")
    env = dict(os.environ, HOME=out, GOCACHE=cache, GOFLAGS="-mod=mod",
               GO111MODULE="off", CGO_ENABLED="0")
    for ver in ("1.19", "1.21", "1.23"):
        go = "/usr/lib/go-%s/bin/go" % ver
        if not os.access(go, os.X_OK):
            log("no Go %s: its binaries are left out" % ver)
            continue
        for suffix, extra in [("", []), ("-stripped", ["-ldflags=-s -w"]),
                              ("-pie", ["-buildmode=pie"])]:
            o = os.path.join(out, "goleak-%s%s" % (ver, suffix))
            if os.path.exists(o) or run([go, "build", "-o", o] + extra + t("goleak.go"), env):
                bins.append(o)
    return bins


def put(corpus, data):
    os.makedirs(corpus, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(corpus, name), "wb") as f:
        f.write(data)


def read(path, limit=None):
    try:
        with open(path, "rb") as f:
            return f.read(limit) if limit else f.read()
    except OSError:  # a process gone, another root's file
        return None


def sections(path):
    """{name: (vaddr, offset, size)} from readelf."""
    res = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True)
    out = {}
    for line in res.stdout.splitlines():
        f = line.replace("[ ", "[").split()
        if len(f) > 6 and f[0].startswith("[") and f[0].endswith("]"):
            try:
                out[f[1]] = (int(f[3], 16), int(f[4], 16), int(f[5], 16))
            except ValueError:
                pass
    return out


def functions(path, dynamic=False):
    """[(name, vaddr, size)] of defined functions."""
    cmd = ["nm", "-S", "--defined-only"] + (["-D"] if dynamic else []) + [path]
    res = subprocess.run(cmd, capture_output=True, text=True)
    out = []
    for line in res.stdout.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tTW":
            out.append((f[3], int(f[0], 16), int(f[1], 16)))
    return out


def code_seeds(corpus, path, names, dynamic=False):
    """probe_place: [args][callee u64][code] of named functions."""
    data = read(path)
    text = sections(path).get(".text")
    if not data or not text:
        return
    fns = functions(path, dynamic)
    callees = [a for _, a, _ in fns]
    for name, vaddr, size in fns:
        if names and name.split("@")[0] not in names:
            continue
        off = vaddr - text[0] + text[1]
        if not size or off < 0 or off + size > len(data):
            continue
        code = data[off:off + min(size, 2048)]
        callee = random.choice(callees) - vaddr + 0x401000 if callees else 0
        for args in (0x01, 0x03, 0x0f):
            put(corpus, bytes([args]) + struct.pack("<Q", callee & (2**64 - 1)) + code)


def goprof_seed(nbuckets, nstk):
    """A runtime.mbuckets list as goprof reads it (see test_goprof.c)."""
    hdr = 48  # next, allnext, type, hash, size, nstk
    rec = hdr + nstk * 8 + 4 * 32
    base = 64
    mem = bytearray(base + nbuckets * rec)
    struct.pack_into("<HHHHII", mem, 0, hdr, 8, 32, 40, 16, 24)
    struct.pack_into("<Q", mem, 16, FUZZ_MEM + base if nbuckets else 0)
    struct.pack_into("<q", mem, 24, 512 * 1024)
    for i in range(nbuckets):
        at = base + i * rec
        nxt = FUZZ_MEM + at + rec if i + 1 < nbuckets else 0
        size = 64 << (i % 4)
        struct.pack_into("<QQQQQQ", mem, at, 0, nxt, 0, i, size, nstk)
        for k in range(nstk):
            struct.pack_into("<Q", mem, at + hdr + 8 * k, 0x401000 + 16 * k + i)
        r = at + hdr + nstk * 8
        struct.pack_into("<QQQQ", mem, r, 10 + i, i, (10 + i) * size, i * size)
    return bytes(mem)


def goscan_seed(ngs, minor):
    """runtime.allgs, its gs and runtime.waitReasonStrings, in Go 1.21's
    runtime.g layout (status 144, goid 152, waitreason 176, gopc 280,
    startpc 296, sched sp/pc/bp 56/64/104)."""
    offs = (144, 152, 176, 280, 296, 56, 64, 104)
    gsize = 320
    allglen, allgs, wrs = 64, 72, 96
    names = [b"", b"IO wait", b"chan receive", b"select", b"sleep"]
    strings = 96 + 16 * len(names)
    arr = strings + 64
    gbase = arr + 8 * ngs
    stack = gbase + gsize * ngs
    mem = bytearray(stack + 64 * ngs)
    struct.pack_into("<8H", mem, 0, *offs)
    struct.pack_into("<IIIHB", mem, 16, allgs, allglen, wrs, len(names), minor)
    struct.pack_into("<Q", mem, allglen, ngs)
    struct.pack_into("<QQQ", mem, allgs, FUZZ_MEM + arr, ngs, ngs)
    at = strings
    for i, n in enumerate(names):
        struct.pack_into("<QQ", mem, wrs + 16 * i, FUZZ_MEM + at if n else 0, len(n))
        mem[at:at + len(n)] = n
        at += len(n)
    for i in range(ngs):
        g = gbase + gsize * i
        struct.pack_into("<Q", mem, arr + 8 * i, FUZZ_MEM + g)
        struct.pack_into("<I", mem, g + offs[0], (2, 4, 1, 3)[i % 4])
        struct.pack_into("<Q", mem, g + offs[1], i + 1)
        mem[g + offs[2]] = i % len(names)
        struct.pack_into("<Q", mem, g + offs[3], 0x401000 + i)
        struct.pack_into("<Q", mem, g + offs[4], 0x402000 + i)
        sp = stack + 64 * i
        struct.pack_into("<QQQ", mem, g + offs[5], FUZZ_MEM + sp, 0x403000, FUZZ_MEM + sp)
        struct.pack_into("<QQ", mem, g + offs[7], FUZZ_MEM + sp, 0)
        # one frame record: saved bp (above), return address
        struct.pack_into("<QQ", mem, sp, FUZZ_MEM + sp + 32, 0x404000 + i)
    return bytes(mem)


def text_chunks(path, lines_per, count, rnd):
    data = read(path)
    if not data:
        return []
    lines = data.splitlines(True)
    out = [b"".join(lines[:lines_per])]
    for _ in range(count):
        at = rnd.randrange(max(1, len(lines) - lines_per))
        out.append(b"".join(lines[at:at + lines_per]))
    return out


NET = ["tcp", "tcp6", "udp", "udp6", "udplite", "udplite6", "raw", "raw6",
       "unix", "netlink", "packet"]  # fdinfo.c's kinds[], in order


def main():
    build, harnesses = sys.argv[1], sys.argv[2:]
    rnd = random.Random(14)
    random.seed(14)
    corpus = lambda h: os.path.join(build, "corpus", h)
    elf_harnesses = [h for h in ("elfsym", "gopclntab", "goinfo", "cfi_build") if h in harnesses]
    bins = build_bins(os.path.join(build, "seedbin")) if elf_harnesses else []
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    for h in elf_harnesses:
        for b in bins + [libc, "/lib/x86_64-linux-gnu/libm.so.6"]:
            if h == "gopclntab" and "goleak" not in b:
                continue
            data = read(b)
            if data and len(data) <= MAX_ELF:
                put(corpus(h), data)
    # Go's tables without the code: a mutation then lands in them far
    # more often than in a whole binary's text.
    for b in bins:
        if "goleak" not in b or not [h for h in ("gopclntab", "goinfo") if h in harnesses]:
            continue
        o = b + ".tables"
        if os.path.exists(o) or run(["objcopy"] + sum((["-j", s] for s in (
                ".gopclntab", ".data.rel.ro.gopclntab", ".noptrdata", ".data",
                ".data.rel.ro", ".go.buildinfo", ".rela", ".rela.dyn",
                ".symtab", ".strtab", ".debug_info", ".debug_abbrev",
                ".zdebug_info", ".zdebug_abbrev")), []) + [b, o]):
            for h in ("gopclntab", "goinfo"):
                if h in harnesses and read(o):
                    put(corpus(h), read(o))
    if "probe_place" in harnesses:
        code_seeds(corpus("probe_place"), libc, {"malloc", "free", "calloc", "realloc",
                                                 "memalign", "posix_memalign", "mmap",
                                                 "munmap", "pthread_create"}, True)
        for b in bins:
            if "goleak" in b and "stripped" not in b:
                code_seeds(corpus("probe_place"), b,
                           {"runtime.mallocgc", "runtime.newproc1", "runtime.goexit1",
                            "runtime.mProf_Malloc", "runtime.profilealloc",
                            "runtime.casgstatus", "main.main"})
            elif "leaky" in b and "stripped" not in b:
                code_seeds(corpus("probe_place"), b, set())
    if "ksyms" in harnesses:
        for chunk in text_chunks("/proc/kallsyms", 300, 12, rnd):
            put(corpus("ksyms"), chunk)
        mods = [l for l in (read("/proc/kallsyms") or b"").splitlines(True) if b"[" in l]
        if mods:
            put(corpus("ksyms"), b"".join(mods[:300]))
    if "maps" in harnesses:
        # kernel threads show none, and other roots' may be denied
        found = 0
        for p in ["/proc/self/maps"] + glob.glob("/proc/[0-9]*/maps"):
            data = read(p)
            if data and found < 20:
                put(corpus("maps"), data[:65536])
                found += 1
        put(corpus("maps"), b"55d0c0a00000-55d0c0a01000 r-xp 00001000 fd:01 1234 "
            b"/tmp/x (deleted)\n7f0000000000-7f0000001000 rw-p 00000000 00:00 0 "
            b"[stack]\n7f0000001000-7f0000002000 r--s 00000000 00:05 7 /memfd:a b (deleted)\n")
    if "fdinfo" in harnesses:
        for p in ["/proc/self"] + glob.glob("/proc/[0-9]*")[:10]:
            links = []
            for fd in glob.glob(p + "/fd/*")[:16]:
                try:
                    links.append(os.readlink(fd).encode())
                except OSError:
                    pass
            parts = [b"\n".join(links)]
            for n in NET:
                parts.append((read(p + "/net/" + n) or b"")[:16384].replace(b"\0", b""))
            parts.append(b"unlimited\n1024\n524288\n")
            put(corpus("fdinfo"), b"\0".join(parts))
    if "goprof" in harnesses:
        for nb, ns in ((0, 1), (1, 1), (3, 2), (8, 32), (2, 200)):
            put(corpus("goprof"), goprof_seed(nb, ns))
    if "goscan" in harnesses:
        for ngs, minor in ((1, 21), (4, 19), (16, 23), (40, 21)):
            put(corpus("goscan"), goscan_seed(ngs, minor))
    if "regions" in harnesses:
        for n in (4, 32, 200):
            ev = bytearray()
            for i in range(n):
                op = rnd.choice((1, 1, 2, 3))
                ev += struct.pack("<BBBx4xQQQQ", op, rnd.randrange(8), 1,
                                  rnd.randrange(64), rnd.randrange(1, 16),
                                  rnd.randrange(64), rnd.randrange(1, 16))
            put(corpus("regions"), bytes(ev))
    for h in harnesses:
        os.makedirs(corpus(h), exist_ok=True)


if __name__ == "__main__":
    main()
