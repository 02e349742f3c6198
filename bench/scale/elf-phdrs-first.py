#!/usr/bin/env python3
"""Moves a QEMU ELF dump's program headers to right after the ELF header, in place.

QEMU 7.2's dump-guest-memory writes one section header at offset 64 and the program
headers after it (e_phoff 192). makedumpfile reads program headers at
sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr) whatever e_phoff says, so it finds no PT_LOAD
("get_elf_info: Can't get the number of PT_LOAD."). The data offsets in the program
headers are absolute, so the headers can move: this writes them at 64 and drops the
section header (e_shoff = e_shnum = e_shstrndx = 0).    elf-phdrs-first.py VMCORE.ELF
"""
import struct
import sys

with open(sys.argv[1], "r+b") as f:
    eh = bytearray(f.read(64))
    if eh[:4] != b"\x7fELF" or eh[4] != 2 or eh[5] != 1:
        sys.exit("not a little-endian ELF64 file")
    phoff, shoff = struct.unpack_from("<QQ", eh, 32)
    phentsize, phnum = struct.unpack_from("<HH", eh, 54)
    if phoff == 64:
        sys.exit(0)
    if phnum == 0xFFFF or phentsize != 56:
        sys.exit("extended program header numbering: not handled")
    f.seek(phoff)
    ph = f.read(phentsize * phnum)
    lowest = min(struct.unpack_from("<Q", ph, i * 56 + 8)[0] for i in range(phnum))
    if 64 + len(ph) > lowest:
        sys.exit("no room for the program headers before the first segment's data")
    struct.pack_into("<QQ", eh, 32, 64, 0)
    struct.pack_into("<HHH", eh, 58, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
    f.seek(0)
    f.write(eh)
    f.write(ph)
