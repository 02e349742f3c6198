//! Where the fields of a kdump-compressed file are: the header layouts worked out from
//! makedumpfile's C declarations (so they check the reader's own tables rather than repeat
//! them), and [`KdumpLayout`], the regions of an existing file.

use kdive_dump::Codec;

use crate::bytes::{u32_at, u64_at};

/// `struct disk_dump_header` fields after `utsname`, for one word size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MainHeader {
    /// `struct timeval timestamp` (two `long`s).
    pub timestamp: usize,
    pub status: usize,
    pub block_size: usize,
    pub sub_hdr_size: usize,
    pub bitmap_blocks: usize,
    pub max_mapnr: usize,
    pub nr_cpus: usize,
    /// Bytes of the whole structure.
    pub size: usize,
}

/// `struct kdump_sub_header` fields, for one `unsigned long` size and 64-bit alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubHeader {
    /// Size of `unsigned long`.
    pub ulong: usize,
    pub dump_level: usize,
    pub split: usize,
    pub start_pfn: usize,
    pub end_pfn: usize,
    pub offset_vmcoreinfo: usize,
    pub size_vmcoreinfo: usize,
    pub offset_note: usize,
    pub size_note: usize,
    pub start_pfn_64: usize,
    pub end_pfn_64: usize,
    pub max_mapnr_64: usize,
    /// Bytes of the whole (version 6) structure.
    pub size: usize,
}

/// Offset of `utsname` in the main header; each of its six fields is 65 bytes.
pub const UTSNAME_OFFSET: usize = 12;
/// Size of one `new_utsname` field.
pub const UTSNAME_FIELD: usize = 65;
/// Size of `struct page_desc` (`off_t offset; unsigned int size, flags; unsigned long long page_flags`).
pub const DESC_SIZE: usize = 24;

const fn align(at: usize, to: usize) -> usize {
    at.div_ceil(to) * to
}

/// The main header for `long` of `word` bytes:
/// `char signature[8]; int header_version; struct new_utsname utsname; struct timeval timestamp;
/// unsigned int status; int block_size, sub_hdr_size; unsigned int bitmap_blocks, max_mapnr,
/// total_ram_blocks, device_blocks, written_blocks, current_cpu; int nr_cpus;`
pub const fn main_header(word: usize) -> MainHeader {
    let timestamp = align(UTSNAME_OFFSET + 6 * UTSNAME_FIELD, word);
    let status = timestamp + 2 * word;
    MainHeader {
        timestamp,
        status,
        block_size: status + 4,
        sub_hdr_size: status + 8,
        bitmap_blocks: status + 12,
        max_mapnr: status + 16,
        nr_cpus: status + 36,
        size: align(status + 40, word),
    }
}

/// The sub-header for `unsigned long` of `ulong` bytes and 64-bit values aligned to `align64`:
/// `unsigned long phys_base; int dump_level, split; unsigned long start_pfn, end_pfn;
/// off_t offset_vmcoreinfo; unsigned long size_vmcoreinfo; off_t offset_note; unsigned long
/// size_note; off_t offset_eraseinfo; unsigned long size_eraseinfo; unsigned long long
/// start_pfn_64, end_pfn_64, max_mapnr_64;`
pub const fn sub_header(ulong: usize, align64: usize) -> SubHeader {
    let start_pfn = align(ulong + 8, ulong);
    let offset_vmcoreinfo = align(start_pfn + 2 * ulong, align64);
    let offset_note = align(offset_vmcoreinfo + 8 + ulong, align64);
    let offset_eraseinfo = align(offset_note + 8 + ulong, align64);
    let start_pfn_64 = align(offset_eraseinfo + 8 + ulong, align64);
    SubHeader {
        ulong,
        dump_level: ulong,
        split: ulong + 4,
        start_pfn,
        end_pfn: start_pfn + ulong,
        offset_vmcoreinfo,
        size_vmcoreinfo: offset_vmcoreinfo + 8,
        offset_note,
        size_note: offset_note + 8,
        start_pfn_64,
        end_pfn_64: start_pfn_64 + 8,
        max_mapnr_64: start_pfn_64 + 16,
        size: align(
            start_pfn_64 + 24,
            if ulong > align64 { ulong } else { align64 },
        ),
    }
}

/// The main header of a 64-bit machine.
pub const MAIN64: MainHeader = main_header(8);
/// The sub-header of a 64-bit machine.
pub const SUB64: SubHeader = sub_header(8, 8);

/// The sub-header of a machine (`utsname.machine`) with `word`-byte longs: i386 aligns 64-bit
/// values to 4 bytes, other 32-bit machines to 8.
pub fn sub_header_of(word: usize, machine: &str) -> SubHeader {
    match (word, machine) {
        (8, _) => SUB64,
        (_, "i386" | "i486" | "i586" | "i686") => sub_header(4, 4),
        _ => sub_header(4, 8),
    }
}

/// Signature of a kdump-compressed file.
pub const KDUMP_SIGNATURE: &[u8] = b"KDUMP   ";
/// Signature of an old diskdump file.
pub const DISKDUMP_SIGNATURE: &[u8] = b"DISKDUMP";
/// `status` bit: the dump was cut short.
pub const STATUS_INCOMPLETE: u32 = 0x8;

/// The `status` / page-descriptor flag of a codec (0 for raw pages).
pub fn codec_flag(codec: Codec) -> u32 {
    match codec {
        Codec::None => 0,
        Codec::Zlib => 0x1,
        Codec::Lzo => 0x2,
        Codec::Snappy => 0x4,
        Codec::Zstd => 0x20,
    }
}

/// Where the parts of an existing 64-bit little-endian kdump file are (the fixtures' kind).
#[derive(Debug, Clone)]
pub struct KdumpLayout {
    pub block_size: usize,
    pub sub_header: usize,
    pub bitmaps: usize,
    /// Offset of the 2nd (dumped pages) bitmap.
    pub dumped_bitmap: usize,
    pub desc_base: usize,
    /// Number of page descriptors (set bits of the 2nd bitmap).
    pub desc_count: usize,
    pub max_pfn: u64,
}

impl KdumpLayout {
    /// Reads the layout of a (non-split, non-diskdump) kdump file.
    pub fn parse(b: &[u8]) -> Option<KdumpLayout> {
        if !b.starts_with(KDUMP_SIGNATURE) {
            return None;
        }
        let bs = u32_at(b, MAIN64.block_size) as usize;
        let sub_blocks = u32_at(b, MAIN64.sub_hdr_size) as usize;
        let bitmap_blocks = u32_at(b, MAIN64.bitmap_blocks) as usize;
        let max_pfn = match u32_at(b, 8) {
            v if v >= 6 => u64_at(b, bs + SUB64.max_mapnr_64),
            _ => u64::from(u32_at(b, MAIN64.max_mapnr)),
        };
        let bitmaps = (1 + sub_blocks) * bs;
        let dumped_bitmap = bitmaps + bitmap_blocks * bs / 2;
        let bytes = b.get(dumped_bitmap..dumped_bitmap + (max_pfn as usize).div_ceil(8))?;
        let desc_count = bytes.iter().map(|x| x.count_ones() as usize).sum();
        Some(KdumpLayout {
            block_size: bs,
            sub_header: bs,
            bitmaps,
            dumped_bitmap,
            desc_base: bitmaps + bitmap_blocks * bs,
            desc_count,
            max_pfn,
        })
    }

    /// `(offset, size)` of the VMCOREINFO text the sub-header points at.
    pub fn vmcoreinfo(&self, b: &[u8]) -> (usize, usize) {
        let sub = self.sub_header;
        (
            u64_at(b, sub + SUB64.offset_vmcoreinfo) as usize,
            u64_at(b, sub + SUB64.size_vmcoreinfo) as usize,
        )
    }

    /// `(offset, size)` of the ELF notes the sub-header points at.
    pub fn notes(&self, b: &[u8]) -> (usize, usize) {
        let sub = self.sub_header;
        (
            u64_at(b, sub + SUB64.offset_note) as usize,
            u64_at(b, sub + SUB64.size_note) as usize,
        )
    }

    /// File offset of the descriptor of `pfn`, if the page was dumped.
    pub fn descriptor(&self, b: &[u8], pfn: u64) -> Option<usize> {
        let bm = &b[self.dumped_bitmap..];
        let (byte, bit) = ((pfn / 8) as usize, pfn % 8);
        if pfn >= self.max_pfn || bm[byte] >> bit & 1 == 0 {
            return None;
        }
        let rank: usize = bm[..byte]
            .iter()
            .map(|x| x.count_ones() as usize)
            .sum::<usize>()
            + (bm[byte] & ((1u8 << bit) - 1)).count_ones() as usize;
        Some(self.desc_base + rank * DESC_SIZE)
    }

    /// `(offset, size, flags)` of the page data of `pfn`.
    pub fn page(&self, b: &[u8], pfn: u64) -> Option<(usize, usize, u32)> {
        let d = self.descriptor(b, pfn)?;
        Some(descriptor_at(b, d))
    }

    /// `(offset, size, flags)` of the `i`-th descriptor of the table.
    pub fn nth_page(&self, b: &[u8], i: usize) -> (usize, usize, u32) {
        descriptor_at(b, self.desc_base + i * DESC_SIZE)
    }

    /// Where the page data starts (just after the descriptor table).
    pub fn data_start(&self) -> usize {
        self.desc_base + self.desc_count * DESC_SIZE
    }
}

/// A copy of the kdump file `bytes` with the VMCOREINFO its sub-header points at zeroed
/// (kdcheck's `erase_vmcoreinfo`); panics when there is none.
pub fn erase_vmcoreinfo(mut bytes: Vec<u8>) -> Vec<u8> {
    let l = KdumpLayout::parse(&bytes).expect("a kdump file");
    let (off, size) = l.vmcoreinfo(&bytes);
    assert!(size > 0, "the dump has a VMCOREINFO to erase");
    bytes[off..off + size].fill(0);
    bytes
}

fn descriptor_at(b: &[u8], d: usize) -> (usize, usize, u32) {
    (
        u64_at(b, d) as usize,
        u32_at(b, d + 8) as usize,
        u32_at(b, d + 12),
    )
}

/// Why a page of a kdump file could not be patched.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("patch at {0:#x} crosses a page")]
    CrossesPage(u64),
    #[error("pfn {0:#x} not dumped")]
    NotDumped(u64),
    #[error("pfn {pfn:#x}: page flags {flags:#x}: only raw and zlib pages are patched")]
    Codec { pfn: u64, flags: u32 },
    #[error(transparent)]
    Decompress(#[from] kdive_dump::codec::DecompressError),
}

/// Replaces bytes of the page holding physical address `paddr` in a kdump file: in place for a
/// raw page, else (zlib) the page is decompressed, patched, recompressed and appended to the file,
/// its descriptor pointed at the new copy. `data` must not cross the page's end.
pub fn patch_page(
    b: &mut Vec<u8>,
    l: &KdumpLayout,
    paddr: u64,
    data: &[u8],
) -> Result<(), PatchError> {
    let ps = l.block_size as u64;
    let (pfn, in_page) = (paddr / ps, (paddr % ps) as usize);
    if in_page + data.len() > l.block_size {
        return Err(PatchError::CrossesPage(paddr));
    }
    let desc = l.descriptor(b, pfn).ok_or(PatchError::NotDumped(pfn))?;
    let (off, size, flags) = descriptor_at(b, desc);
    match flags {
        0 => b[off + in_page..off + in_page + data.len()].copy_from_slice(data),
        1 => {
            let mut page = vec![0u8; l.block_size];
            kdive_dump::codec::decompress(Codec::Zlib, &b[off..off + size], &mut page)?;
            page[in_page..in_page + data.len()].copy_from_slice(data);
            let packed = crate::pages::compress(Codec::Zlib, &page);
            let end = b.len() as u64;
            b[desc..desc + 8].copy_from_slice(&end.to_le_bytes());
            b[desc + 8..desc + 12].copy_from_slice(&(packed.len() as u32).to_le_bytes());
            b.extend_from_slice(&packed);
        }
        flags => return Err(PatchError::Codec { pfn, flags }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layouts makedumpfile's structures have on x86_64, i386 and 32-bit arm.
    #[test]
    fn c_layouts() {
        assert_eq!(
            (MAIN64.timestamp, MAIN64.status, MAIN64.nr_cpus, MAIN64.size),
            (408, 424, 460, 464)
        );
        let m32 = main_header(4);
        assert_eq!((m32.timestamp, m32.status, m32.size), (404, 412, 452));
        let s = |l: SubHeader| (l.offset_vmcoreinfo, l.offset_note, l.start_pfn_64, l.size);
        assert_eq!(s(SUB64), (32, 48, 80, 104));
        assert_eq!(s(sub_header_of(4, "i686")), (20, 32, 56, 80));
        assert_eq!(s(sub_header_of(4, "arm")), (24, 40, 72, 96));
    }
}
