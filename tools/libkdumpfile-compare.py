#!/usr/bin/env python3
"""kdive against libkdumpfile on the dump files libkdumpfile's own test suite makes.

libkdumpfile's `make check` builds its dumps with its generators (tests/mkdiskdump, mkelf,
mklkcd, mksadump) from the descriptions its test scripts hold, into tests/out/. For every such
file of a format kdive reads (ELF, kdump-compressed, flattened, split sets), this compares
  * the architecture and page size (`kdive info --json` against arch.name, arch.page_size),
  * the RAM that is there: for every page frame up to the end of memory (libkdumpfile's
    max_pfn, bounded), whether kdive reads it (`rd -p -8 -r`) against libkdumpfile's
    memory.pagemap, and
  * the bytes of every page both read (`rd -p -8 -r` against kdumpfile.read(MACHPHYSADDR)).
Files of formats kdive refuses (LKCD, sadump) must be refused with their name.

Usage: tools/libkdumpfile-compare.py LIBKDUMPFILE_BUILD_DIR [KDIVE]
  the build directory of a configured, built libkdumpfile with its Python binding importable
  (PYTHONPATH, LD_LIBRARY_PATH); `make -C DIR/tests check` is run when tests/out is missing.
Skips (exit 0) when libkdumpfile or its binding is absent; exit 1 when a file disagrees.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

if len(sys.argv) < 2 or not os.path.isdir(os.path.join(sys.argv[1], "tests")):
    print("libkdumpfile-compare: skipped: no libkdumpfile build directory given")
    sys.exit(0)
try:
    import kdumpfile
except ImportError:
    print("libkdumpfile-compare: skipped: libkdumpfile's Python binding is not importable")
    sys.exit(0)

BUILD = sys.argv[1]
KDIVE = sys.argv[2] if len(sys.argv) > 2 else "target/release/kdive"
OUT = os.path.join(BUILD, "tests", "out")
MAX_PAGES = 4096  # page frames compared per file
if not os.path.isdir(OUT):
    subprocess.run(["make", "-C", os.path.join(BUILD, "tests"), "check"],
                   stdout=subprocess.DEVNULL, check=False)

# libkdumpfile's architecture names against kdive's (kdive names the ELF machine: EM_S390
# is both s390 and s390x, EM_PPC64 both byte orders)
ARCH = {"ia32": "i386", "arm": "ARM", "ppc64": "PowerPC64", "riscv64": "RISC-V",
        "s390x": "s390"}

# Files where kdive answers otherwise on purpose, with why (matched by name prefix).
DELIBERATE = {
    "diskdump-empty-": "sub_hdr_size 0 puts the sub-header and the bitmap both at block 1: "
                       "kdive refuses the header as corrupt (makedumpfile always writes one "
                       "block or more); libkdumpfile reads the bitmap's block as a sub-header",
    "diskdump-split": "the generator stamps each part with its own time; makedumpfile --split "
                      "writes one header timestamp into every part, which is how kdive tells "
                      "parts of one dump from parts of two",
    "elf-empty-i386.dump": "an ELF32 file whose e_phentsize is ELF64's 56 (readelf refuses it "
                           "too); libkdumpfile ignores e_phentsize",
    "elf-empty-s390.dump": "an ELF32 file whose e_phentsize is ELF64's 56 (readelf refuses it "
                           "too); libkdumpfile ignores e_phentsize",
    "elf-overlap.dump": "the filesz-less tail of the LOAD at 0x18000 is excluded memory; "
                        "libkdumpfile reads 0x1b000 (the page before the next LOAD) as zeros but "
                        "not 0x18000-0x1afff of the same segment; kdive excludes all four",
}


def dump_sets():
    """Each dump: one file, or the parts of a split set (NAME.dump.1, .2, ...)."""
    names = sorted(os.listdir(OUT))
    sets = {}
    for n in names:
        m = re.fullmatch(r"(.+\.dump)(?:\.(\d+))?", n)
        if m:
            sets.setdefault(m.group(1), []).append(os.path.join(OUT, n))
    return sets


def lkf_open(parts):
    k = kdumpfile.kdumpfile(parts[0])
    if len(parts) > 1:
        fds = [os.open(p, os.O_RDONLY) for p in parts]
        k.attr["file.set.number"] = len(parts)
        for i, fd in enumerate(fds):
            k.attr[f"file.set.{i}.fd"] = fd
    return k


def kdive(parts, *args):
    return subprocess.run([KDIVE, *args, *parts], capture_output=True, text=True)


def kdive_pages(parts, pfns, page):
    """The bytes kdive reads of each page frame, or None where it reads none."""
    got = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(0, len(pfns), 256):
            chunk = pfns[i:i + 256]
            cmds = []
            for pfn in chunk:
                cmds += ["-c", f"rd -p -8 -r {tmp}/{pfn} {pfn * page:#x} {page}"]
            subprocess.run([KDIVE, "--minimal", *parts, *cmds], capture_output=True)
            for pfn in chunk:
                path = f"{tmp}/{pfn}"
                data = open(path, "rb").read() if os.path.exists(path) else b""
                got[pfn] = data if len(data) == page else None
    return got


def lkf_page(k, pfn, page):
    try:
        return k.read(kdumpfile.KDUMP_MACHPHYSADDR, pfn * page, page)
    except Exception:  # the binding raises its own error types for a page it lacks
        return None


def compare(name, parts):
    """None when both agree, else what differs."""
    try:
        k = lkf_open(parts)
    except Exception as e:
        return ("lkf-refuses", str(e))
    fmt = k.attr.get("file.format")
    if fmt not in ("elf", "diskdump"):
        r = kdive(parts, "info")
        if r.returncode == 0:
            return ("disagree", f"{fmt}: kdive opened a format it does not read")
        return ("refused", r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "")
    r = kdive(parts, "info", "--json")
    try:
        info = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return ("disagree", f"kdive info failed: {r.stderr.strip()[:300]}")
    if "error" in info:
        return ("disagree", f"kdive info: {json.dumps(info['error'])[:300]}")
    diffs = []
    arch = k.attr.get("arch.name")
    if arch is not None and ARCH.get(arch, arch) != info.get("arch"):
        diffs.append(f"arch {info.get('arch')} vs {arch}")
    page = k.attr.get("arch.page_size")
    if page is not None and page != info.get("page_size"):
        diffs.append(f"page size {info.get('page_size')} vs {page}")
    page = page or info.get("page_size") or 4096
    max_pfn = k.attr.get("max_pfn", 0)
    bmp = k.attr.get("memory.pagemap")
    pfns = list(range(min(max_pfn, MAX_PAGES)))
    theirs = {}
    for pfn in pfns:
        held = bmp.get_bits(pfn, pfn)[0] & 1 if bmp is not None else 1
        theirs[pfn] = lkf_page(k, pfn, page) if held else None
    ours = kdive_pages(parts, pfns, page)
    only_l = [p for p in pfns if theirs[p] is not None and ours[p] is None]
    only_k = [p for p in pfns if theirs[p] is None and ours[p] is not None]
    differ = [p for p in pfns if theirs[p] is not None and ours[p] is not None
              and theirs[p] != ours[p]]
    if only_l:
        diffs.append(f"pfns libkdumpfile reads, kdive not: {only_l[:8]}")
    if only_k:
        diffs.append(f"pfns kdive reads, libkdumpfile not: {only_k[:8]}")
    if differ:
        diffs.append(f"pfns read differently: {differ[:8]}")
    n = sum(1 for p in pfns if theirs[p] is not None)
    return ("disagree", "; ".join(diffs)) if diffs else ("agree", f"{arch}, {page}, {n} pages")


results = {}
for name, parts in sorted(dump_sets().items()):
    results[name] = compare(name, parts)
    why = next((w for p, w in DELIBERATE.items() if name.startswith(p)), None)
    if results[name][0] == "disagree" and why:
        results[name] = ("deliberate", results[name][1] + " -- " + why)
    verdict, detail = results[name]
    print(f"{verdict:<12} {name}: {detail}")
count = {v: sum(1 for r in results.values() if r[0] == v)
         for v in ("agree", "deliberate", "disagree", "refused", "lkf-refuses")}
read = count["agree"] + count["deliberate"] + count["disagree"]
print(f"libkdumpfile-compare: {read} files of formats kdive reads, {count['agree']} agree, "
      f"{count['deliberate']} differ on purpose, {count['disagree']} disagree; "
      f"{count['refused']} of other formats refused by name; "
      f"{count['lkf-refuses']} libkdumpfile itself does not open")
sys.exit(1 if count["disagree"] else 0)
