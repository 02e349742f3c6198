//! `struct disk_dump_header` and `struct kdump_sub_header`, in their 32- and 64-bit layouts.
//!
//! Both are written in the dumped machine's byte order and C layout, so `struct timeval` and
//! `unsigned long` fields move with the word size. The word size comes from
//! `utsname.machine` when it is a known name, else from which layout has sane values.

use crate::{Arch, DumpError, Endian, Result, Utsname};

/// Signature of makedumpfile's (and QEMU's) kdump-compressed files.
pub(crate) const KDUMP_SIGNATURE: &[u8] = b"KDUMP   ";
/// Signature of the old diskdump format.
pub(crate) const DISKDUMP_SIGNATURE: &[u8] = b"DISKDUMP";

/// `status` bit: the writer ran out of space; page descriptors after some point are zero.
pub(crate) const STATUS_INCOMPLETE: u32 = 0x8;
/// Page descriptor `flags` (also `status` bits naming the file's codec).
pub(crate) const COMPRESSED_ZLIB: u32 = 0x1;
pub(crate) const COMPRESSED_LZO: u32 = 0x2;
pub(crate) const COMPRESSED_SNAPPY: u32 = 0x4;
pub(crate) const COMPRESSED_ZSTD: u32 = 0x20;

/// Smallest and largest accepted `block_size` (the dumped machine's page size).
const MIN_BLOCK: u64 = 4096;
const MAX_BLOCK: u64 = 65536;

pub(super) const UTSNAME_OFFSET: usize = 12;
pub(super) const UTSNAME_FIELD: usize = 65;

/// Bytes of the main header callers should pass to [`Header::parse`] (the 64-bit size).
pub(crate) const HEADER_BYTES: u64 = MAIN64.size as u64;

/// Where the fields after `utsname` sit in one layout of the main header.
pub(super) struct MainLayout {
    pub(super) word: usize,
    /// `struct timeval` (two `long`s).
    pub(super) timestamp: usize,
    /// `status`, then `block_size`, `sub_hdr_size`, `bitmap_blocks`, `max_mapnr`,
    /// `total_ram_blocks`, `device_blocks`, `written_blocks`, `current_cpu`, `nr_cpus` (4 bytes each).
    pub(super) status: usize,
    pub(super) size: usize,
}

pub(super) const MAIN64: MainLayout = MainLayout {
    word: 8,
    timestamp: 408,
    status: 424,
    size: 464,
};
pub(super) const MAIN32: MainLayout = MainLayout {
    word: 4,
    timestamp: 404,
    status: 412,
    size: 452,
};

/// Reads integers of one byte order from a header buffer (callers checked the length).
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a> {
    pub data: &'a [u8],
    pub endian: Endian,
}

impl Fields<'_> {
    #[inline]
    fn bytes<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut b = [0u8; N];
        if let Some(s) = self.data.get(at..at + N) {
            b.copy_from_slice(s);
        }
        if self.endian == Endian::Big {
            b.reverse();
        }
        b
    }
    #[inline]
    pub(crate) fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.bytes(at))
    }
    #[inline]
    pub(crate) fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.bytes(at))
    }
    /// An unsigned field of `size` (4 or 8) bytes.
    pub(crate) fn word(&self, at: usize, size: usize) -> u64 {
        if size == 4 {
            u64::from(self.u32(at))
        } else {
            self.u64(at)
        }
    }
    /// A signed field of `size` (4 or 8) bytes.
    fn signed(&self, at: usize, size: usize) -> i64 {
        if size == 4 {
            i64::from(self.u32(at) as i32)
        } else {
            self.u64(at) as i64
        }
    }
}

/// The main header, decoded.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub diskdump: bool,
    pub endian: Endian,
    /// Size of `long` on the dumped machine.
    pub word: usize,
    pub version: u32,
    pub utsname: Utsname,
    pub timestamp: (i64, i64),
    pub status: u32,
    pub block_size: u64,
    pub sub_hdr_blocks: u64,
    pub bitmap_blocks: u64,
    /// The 32-bit `max_mapnr` (truncated on big machines; version 6 has the full one).
    pub max_mapnr: u64,
    pub nr_cpus: i32,
}

/// Word size implied by a `utsname.machine` name, when known.
fn machine_word(machine: &str) -> Option<usize> {
    match machine {
        "x86_64" | "aarch64" | "arm64" | "ppc64" | "ppc64le" | "s390x" | "mips64" | "riscv64"
        | "loongarch64" | "sparc64" | "ia64" | "alpha" => Some(8),
        "i386" | "i486" | "i586" | "i686" | "ppc" | "mips" | "s390" | "riscv32" | "sparc" => {
            Some(4)
        }
        m if m.starts_with("arm") => Some(4),
        _ => None,
    }
}

/// Architecture named by `utsname.machine` (other ones by their ELF machine number).
pub(crate) fn machine_arch(machine: &str) -> Arch {
    match machine {
        "x86_64" => Arch::X86_64,
        "aarch64" | "arm64" => Arch::Aarch64,
        "i386" | "i486" | "i586" | "i686" => Arch::Other(3),
        "ppc" => Arch::Other(20),
        "ppc64" | "ppc64le" => Arch::Other(21),
        "s390" | "s390x" => Arch::Other(22),
        "mips" | "mips64" => Arch::Other(8),
        "ia64" => Arch::Other(50),
        "sparc64" => Arch::Other(43),
        "riscv32" | "riscv64" => Arch::Other(243),
        "loongarch64" => Arch::Other(258),
        m if m.starts_with("arm") => Arch::Other(40),
        _ => Arch::Other(0),
    }
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn parse_utsname(data: &[u8]) -> Utsname {
    let field = |i: usize| {
        let at = UTSNAME_OFFSET + i * UTSNAME_FIELD;
        data.get(at..at + UTSNAME_FIELD)
            .map(c_string)
            .unwrap_or_default()
    };
    Utsname {
        sysname: field(0),
        nodename: field(1),
        release: field(2),
        version: field(3),
        machine: field(4),
        domainname: field(5),
    }
}

/// The byte order a header is most likely written in: the one that makes `header_version` (a
/// small number) small.
fn likely_endian(data: &[u8]) -> Endian {
    let f = |endian| Fields { data, endian }.u32(8);
    if f(Endian::Little) > 0xffff && f(Endian::Big) <= 0xffff {
        Endian::Big
    } else {
        Endian::Little
    }
}

fn sane_block_size(bs: u64) -> bool {
    bs.is_power_of_two() && (MIN_BLOCK..=MAX_BLOCK).contains(&bs)
}

impl Header {
    /// Decodes the main header from the file's first bytes ([`HEADER_BYTES`] of them, or the
    /// whole file when shorter).
    pub(crate) fn parse(data: &[u8]) -> Result<Header> {
        let signature = data.get(..8).unwrap_or(data);
        let diskdump = match signature {
            s if s == KDUMP_SIGNATURE => false,
            s if s == DISKDUMP_SIGNATURE => true,
            _ => {
                return Err(DumpError::NotADump {
                    reason: "no KDUMP or DISKDUMP signature".into(),
                })
            }
        };
        let utsname = parse_utsname(data);
        let layouts: &[&MainLayout] = match machine_word(&utsname.machine) {
            Some(8) => &[&MAIN64],
            Some(_) => &[&MAIN32],
            None => &[&MAIN64, &MAIN32],
        };
        // The layout and byte order whose block_size is sane and whose bitmap covers max_mapnr.
        let mut found = None;
        'search: for layout in layouts {
            for endian in [Endian::Little, Endian::Big] {
                let f = Fields { data, endian };
                let bs = u64::from(f.u32(layout.status + 4));
                let covered = u64::from(f.u32(layout.status + 12))
                    .saturating_mul(bs)
                    .saturating_mul(8);
                if data.len() >= layout.size
                    && sane_block_size(bs)
                    && covered >= u64::from(f.u32(layout.status + 16))
                {
                    found = Some((*layout, f));
                    break 'search;
                }
            }
        }
        let Some((layout, f)) = found else {
            let need = layouts.iter().map(|l| l.size).min().unwrap_or(MAIN32.size);
            if data.len() < need {
                return Err(DumpError::Truncated {
                    what: "kdump header",
                    offset: 0,
                    end: need as u64,
                    len: data.len() as u64,
                });
            }
            let st = layouts[0].status;
            // quoted as the file means them: in its byte order, told by the small header_version
            let endian = likely_endian(data);
            let v = |at| Fields { data, endian }.u32(at);
            return Err(DumpError::Corrupt {
                what: "kdump header",
                offset: st as u64,
                detail: format!(
                    "no sane block_size {:#x} / bitmap_blocks {:#x} / max_mapnr {:#x} ({} endian; machine {:?})",
                    v(st + 4),
                    v(st + 12),
                    v(st + 16),
                    if endian == Endian::Big { "big" } else { "little" },
                    utsname.machine
                ),
            });
        };
        let version = f.u32(8) as i32;
        if version < 0 || (!diskdump && version == 0) {
            return Err(DumpError::Corrupt {
                what: "kdump header",
                offset: 8,
                detail: format!("header_version {version}"),
            });
        }
        let st = layout.status;
        Ok(Header {
            diskdump,
            endian: f.endian,
            word: layout.word,
            version: version as u32,
            timestamp: (
                f.signed(layout.timestamp, layout.word),
                f.signed(layout.timestamp + layout.word, layout.word),
            ),
            status: f.u32(st),
            block_size: u64::from(f.u32(st + 4)),
            sub_hdr_blocks: u64::from(f.u32(st + 8)),
            bitmap_blocks: u64::from(f.u32(st + 12)),
            max_mapnr: u64::from(f.u32(st + 16)),
            nr_cpus: f.u32(st + 36) as i32,
            utsname,
        })
    }

    /// Written by QEMU's `dump-guest-memory`: only `utsname.machine` is filled in.
    pub(crate) fn looks_like_qemu(&self) -> bool {
        let u = &self.utsname;
        !u.machine.is_empty()
            && [
                &u.sysname,
                &u.nodename,
                &u.release,
                &u.version,
                &u.domainname,
            ]
            .iter()
            .all(|s| s.is_empty())
    }

    /// The sub-header layout for this header's word size and machine.
    pub(crate) fn sub_layout(&self) -> &'static SubLayout {
        sub_layout(self.word, &self.utsname.machine)
    }
}

/// The sub-header layout for a word size and `utsname.machine`.
pub(super) fn sub_layout(word: usize, machine: &str) -> &'static SubLayout {
    match (word, machine) {
        (8, _) => &SUB64,
        (_, "i386" | "i486" | "i586" | "i686") => &SUB32_PACKED,
        _ => &SUB32_PADDED,
    }
}

/// Field offsets of one `struct kdump_sub_header` layout. `off_t` is 64-bit everywhere;
/// `unsigned long` is `ulong` bytes.
pub(crate) struct SubLayout {
    pub(super) ulong: usize,
    pub(super) dump_level: usize,
    pub(super) split: usize,
    pub(super) start_pfn: usize,
    pub(super) end_pfn: usize,
    pub(super) offset_vmcoreinfo: usize,
    pub(super) size_vmcoreinfo: usize,
    pub(super) offset_note: usize,
    pub(super) size_note: usize,
    pub(super) start_pfn_64: usize,
    pub(super) end_pfn_64: usize,
    pub(super) max_mapnr_64: usize,
    /// Bytes of the whole (version 6) structure.
    pub(super) size: usize,
}

/// 64-bit machines.
const SUB64: SubLayout = SubLayout {
    ulong: 8,
    dump_level: 8,
    split: 12,
    start_pfn: 16,
    end_pfn: 24,
    offset_vmcoreinfo: 32,
    size_vmcoreinfo: 40,
    offset_note: 48,
    size_note: 56,
    start_pfn_64: 80,
    end_pfn_64: 88,
    max_mapnr_64: 96,
    size: 104,
};
/// 32-bit machines aligning 64-bit values to 4 bytes (i386).
const SUB32_PACKED: SubLayout = SubLayout {
    ulong: 4,
    dump_level: 4,
    split: 8,
    start_pfn: 12,
    end_pfn: 16,
    offset_vmcoreinfo: 20,
    size_vmcoreinfo: 28,
    offset_note: 32,
    size_note: 40,
    start_pfn_64: 56,
    end_pfn_64: 64,
    max_mapnr_64: 72,
    size: 80,
};
/// 32-bit machines aligning 64-bit values to 8 bytes (arm, ppc, mips...).
const SUB32_PADDED: SubLayout = SubLayout {
    ulong: 4,
    dump_level: 4,
    split: 8,
    start_pfn: 12,
    end_pfn: 16,
    offset_vmcoreinfo: 24,
    size_vmcoreinfo: 32,
    offset_note: 40,
    size_note: 48,
    start_pfn_64: 72,
    end_pfn_64: 80,
    max_mapnr_64: 88,
    size: 96,
};

/// The sub-header fields kdive uses, present by header version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SubHeader {
    /// Version 1+.
    pub dump_level: Option<u32>,
    /// Version 2+, when `split` is set: the half-open pfn range this file holds.
    pub split: Option<(u64, u64)>,
    /// Version 3+: file offset and size of the VMCOREINFO text (absent when zero).
    pub vmcoreinfo: Option<(u64, u64)>,
    /// Version 4+: file offset and size of the ELF notes (absent when zero).
    pub notes: Option<(u64, u64)>,
    /// Version 6+: the full 64-bit `max_mapnr`.
    pub max_mapnr: Option<u64>,
}

impl SubHeader {
    /// Decodes the sub-header of a version-`version` file from `data` (`layout.size` bytes).
    pub(crate) fn parse(f: Fields<'_>, layout: &SubLayout, version: u32) -> SubHeader {
        let ulong = |at| f.word(at, layout.ulong);
        let region = |off, size| (off != 0 && size != 0).then_some((off, size));
        let mut sub = SubHeader {
            dump_level: Some(f.u32(layout.dump_level)),
            ..SubHeader::default()
        };
        if version >= 2 && f.u32(layout.split) != 0 {
            sub.split = Some(if version >= 6 {
                (f.u64(layout.start_pfn_64), f.u64(layout.end_pfn_64))
            } else {
                (ulong(layout.start_pfn), ulong(layout.end_pfn))
            });
        }
        if version >= 3 {
            sub.vmcoreinfo = region(
                f.u64(layout.offset_vmcoreinfo),
                ulong(layout.size_vmcoreinfo),
            );
        }
        if version >= 4 {
            sub.notes = region(f.u64(layout.offset_note), ulong(layout.size_note));
        }
        if version >= 6 {
            sub.max_mapnr = Some(f.u64(layout.max_mapnr_64));
        }
        sub
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Absurd `block_size` and `bitmap_blocks` are rejected, not multiplied into an overflow.
    #[test]
    fn huge_header_fields_do_not_overflow() {
        let mut h = vec![0u8; HEADER_BYTES as usize];
        h[..8].copy_from_slice(KDUMP_SIGNATURE);
        for layout in [&MAIN64, &MAIN32] {
            for at in [4, 12, 16] {
                h[layout.status + at..layout.status + at + 4]
                    .copy_from_slice(&u32::MAX.to_le_bytes());
            }
        }
        assert!(Header::parse(&h).is_err());
    }
}
