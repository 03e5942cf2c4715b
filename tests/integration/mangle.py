"""Mangled copies of ELF64 executables, for the hostile-input tests
(python3 stdlib only).

    python3 tests/integration/mangle.py SRC DST SEED OP[+OP...]

writes DST: SRC with the parts named by the OPs overwritten, the random
bytes drawn from random.Random(SEED), so that a failing case is rebuilt
from the seed its message prints. Only what a program does not need to
run is touched (program headers, .dynsym/.dynstr, .text, .data stay),
except "pclntab*", which the Go runtime reads itself.

Operations (SPAN is "all": every byte of the part, or "bits": about one
byte in 64, in short runs, so that the structure mostly parses):

  symtab-SPAN   .symtab and .strtab contents
  shuffle       the addresses and sizes of the .symtab functions dealt
                out again: a table that parses, and lies
  names         every .strtab name replaced, same length, by terminal
                escapes and invalid UTF-8 (C1 controls, lone bytes)
  debug-SPAN    every .debug_* / .zdebug_* section
  cfi-SPAN      .eh_frame and .eh_frame_hdr (C: not needed to run)
  notes-SPAN    every SHT_NOTE section (.note.gnu.build-id, .note.go.buildid)
  shstrtab      the section names
  shdrs         the section header table itself
  shcount       e_shnum and e_shstrndx garbage
  shoff         e_shoff beyond the end of the file
  pclntab-SPAN  .gopclntab (the Go runtime needs it: it may die)
  pclntab-head  the first 64 bytes of .gopclntab
  gonames       Go function names "main.*" in .gopclntab's funcnametab
                replaced as "names" does (the runtime only prints them)
"""

import os
import random
import struct
import sys

ESCAPES = [b"\x1b[2J", b"\x1b]0;owned\x07", b"\x1b[31m", b"\x07", b"\r",
           b"\x08", b"\x9b", b"\xc2\x9b", b"\xff", b"\xfe", b"\xc3\x28",
           b"\xe2\x82", b"\xed\xa0\x80", b"\x7f", b"\x01", b"\t",
           b"\xc3\xa9", b"\"\\", b"\n", b"%s%n"]


class Elf:
    """The section table of an ELF64 little-endian file, read from a
    bytearray that the operations change in place."""

    def __init__(self, data):
        self.b = data
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise ValueError("not an ELF64 little-endian file")
        self.shoff, = struct.unpack_from("<Q", data, 0x28)
        self.shentsize, self.shnum, self.shstrndx = struct.unpack_from(
            "<HHH", data, 0x3a)
        self.sections = []
        for i in range(self.shnum):
            (name, typ, flags, addr, off, size, link, info, align,
             entsize) = struct.unpack_from("<IIQQQQIIQQ", data,
                                            self.shoff + i * self.shentsize)
            self.sections.append({"name_off": name, "type": typ,
                                  "off": off, "size": size, "flags": flags})
        strs = self.sections[self.shstrndx]
        for s in self.sections:
            at = strs["off"] + s["name_off"]
            s["name"] = bytes(data[at:data.index(b"\0", at)]).decode()

    def find(self, pred):
        return [s for s in self.sections
                if s["type"] != 8 and s["size"] and pred(s)]  # not NOBITS

    def named(self, *names):
        return self.find(lambda s: s["name"] in names)


def fill(b, rng, off, size, span):
    """Random bytes over b[off:off+size]: all of them, or ("bits") short
    runs over about one byte in 64."""
    if span == "all":
        b[off:off + size] = rng.randbytes(size)
        return
    for _ in range(max(1, size // 256)):
        at = off + rng.randrange(size)
        n = min(rng.randint(1, 8), off + size - at)
        b[at:at + n] = rng.randbytes(n)


def hostile_name(rng, n):
    """n bytes of escapes and invalid UTF-8, no NUL."""
    out = b""
    while len(out) < n:
        out += rng.choice(ESCAPES)
    return out[:n]


def replace_names(b, rng, off, size, prefix=b""):
    """Each NUL-terminated string of b[off:off+size] (that starts with
    prefix) replaced, same length, by prefix + hostile bytes."""
    end, at = off + size, off
    while at < end:
        nul = b.find(b"\0", at, end)
        if nul < 0:
            nul = end
        if nul > at and b[at:nul].startswith(prefix):
            keep = at + len(prefix)
            b[keep:nul] = hostile_name(rng, nul - keep)
        at = nul + 1


def shuffle_symbols(b, rng, off, size):
    """The (value, size) pairs of the function symbols of a .symtab dealt
    out again at random: a table that parses, and lies."""
    ents = []
    for at in range(off, off + size - 23, 24):
        info = b[at + 4]
        if info & 0xf == 2:  # STT_FUNC
            ents.append(at)
    pairs = [bytes(b[at + 8:at + 24]) for at in ents]
    rng.shuffle(pairs)
    for at, pair in zip(ents, pairs):
        b[at + 8:at + 24] = pair


def pclntab_funcnames(b, tab):
    """(offset, size) of the funcnametab in a Go 1.18+ .gopclntab."""
    magic, = struct.unpack_from("<I", b, tab["off"])
    if magic not in (0xfffffff0, 0xfffffff1):
        raise ValueError("pclntab magic %#x: not Go 1.18+" % magic)
    name_off, cu_off = struct.unpack_from("<QQ", b, tab["off"] + 32)
    return tab["off"] + name_off, cu_off - name_off


def func_offsets(path, names):
    """{name: file offset} of the named functions of path's .symtab (the
    offsets leakwatch -v shows its probes at)."""
    with open(path, "rb") as f:
        b = f.read()
    elf = Elf(b)
    tab = elf.named(".symtab")[0]
    strs = elf.sections[struct.unpack_from(
        "<I", b, elf.shoff + elf.sections.index(tab) * elf.shentsize +
        40)[0]]
    out = {}
    for at in range(tab["off"], tab["off"] + tab["size"], 24):
        name_off, info, _, shndx, value, size = struct.unpack_from(
            "<IBBHQQ", b, at)
        s = strs["off"] + name_off
        name = b[s:b.index(b"\0", s)].decode("utf-8", "replace")
        if name in names and info & 0xf == 2:
            sec = struct.unpack_from("<IIQQQ", b, elf.shoff +
                                     shndx * elf.shentsize)
            out[name] = value - sec[3] + sec[4]
    return out


def mangle_bytes(data, seed, ops):
    """The mangled copy of data (bytes) as bytes."""
    b = bytearray(data)
    elf = Elf(b)
    rng = random.Random(seed)
    header_ops = []
    for op in ops:
        kind, _, span = op.partition("-")
        parts = []
        if kind == "symtab":
            parts = elf.named(".symtab", ".strtab")
        elif kind == "debug":
            parts = elf.find(lambda s: s["name"].startswith(
                (".debug_", ".zdebug_")))
        elif kind == "cfi":
            parts = elf.named(".eh_frame", ".eh_frame_hdr")
        elif kind == "notes":
            parts = elf.find(lambda s: s["type"] == 7)
        elif kind == "shstrtab":
            parts, span = [elf.sections[elf.shstrndx]], "all"
        elif kind == "pclntab" and span == "head":
            tab = elf.named(".gopclntab")[0]
            parts, span = [dict(tab, size=64)], "all"
        elif kind == "pclntab":
            parts = elf.named(".gopclntab")
        elif kind == "names":
            for s in elf.named(".strtab"):
                replace_names(b, rng, s["off"], s["size"])
            continue
        elif kind == "shuffle":
            for s in elf.named(".symtab"):
                shuffle_symbols(b, rng, s["off"], s["size"])
            continue
        elif kind == "gonames":
            off, size = pclntab_funcnames(b, elf.named(".gopclntab")[0])
            replace_names(b, rng, off, size, b"main.")
            continue
        elif kind in ("shdrs", "shcount", "shoff"):
            header_ops.append(kind)
            continue
        else:
            raise ValueError("unknown mangle operation %r" % op)
        if not parts:
            raise ValueError("%s: the file has no such section" % op)
        for s in parts:
            fill(b, rng, s["off"], s["size"], span)
    # the section table last: the operations above need it
    for kind in header_ops:
        if kind == "shdrs":
            fill(b, rng, elf.shoff, elf.shnum * elf.shentsize, "all")
        elif kind == "shcount":
            struct.pack_into("<HH", b, 0x3c, rng.randrange(1, 0x10000),
                             rng.randrange(0x10000))
        else:
            struct.pack_into("<Q", b, 0x28,
                             len(b) + rng.randrange(1, 1 << 40))
    return bytes(b)


def mangle(src, dst, seed, ops):
    """Writes dst, an executable mangled copy of src."""
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(mangle_bytes(data, seed, ops))
    os.chmod(dst, 0o755)
    return dst


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    mangle(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split("+"))
