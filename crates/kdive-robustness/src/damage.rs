//! Surgery on dump files for the corruption suite: where a kdump file keeps its headers,
//! bitmaps, descriptors and page data (64-bit little-endian files, as the fixtures are), where an
//! ELF vmcore keeps its program headers and notes, and damaged copies in a scratch directory.

use std::path::{Path, PathBuf};

/// `struct disk_dump_header` offsets (64-bit layout).
pub const KDUMP_STATUS: usize = 424;
pub const KDUMP_BLOCK_SIZE: usize = 428;
pub const KDUMP_SUB_HDR_SIZE: usize = 432;
pub const KDUMP_BITMAP_BLOCKS: usize = 436;
pub const KDUMP_MAX_MAPNR: usize = 440;
pub const KDUMP_NR_CPUS: usize = 460;
/// `struct kdump_sub_header` offsets, from the start of the sub-header (64-bit layout).
pub const SUB_OFFSET_VMCOREINFO: usize = 32;
pub const SUB_SIZE_VMCOREINFO: usize = 40;
pub const SUB_OFFSET_NOTE: usize = 48;
pub const SUB_SIZE_NOTE: usize = 56;
pub const SUB_MAX_MAPNR_64: usize = 96;
/// Size of `struct page_desc`.
pub const DESC_SIZE: usize = 24;

pub fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
pub fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        u64::from_le_bytes(w)
    })
}
pub fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Where the parts of a kdump-compressed file are.
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
        if !b.starts_with(b"KDUMP   ") {
            return None;
        }
        let bs = u32_at(b, KDUMP_BLOCK_SIZE) as usize;
        let sub_blocks = u32_at(b, KDUMP_SUB_HDR_SIZE) as usize;
        let bitmap_blocks = u32_at(b, KDUMP_BITMAP_BLOCKS) as usize;
        let max_pfn = match u32_at(b, 8) {
            v if v >= 6 => u64_at(b, bs + SUB_MAX_MAPNR_64),
            _ => u64::from(u32_at(b, KDUMP_MAX_MAPNR)),
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
        Some((
            u64_at(b, d) as usize,
            u32_at(b, d + 8) as usize,
            u32_at(b, d + 12),
        ))
    }

    /// Where the page data starts (just after the descriptor table).
    pub fn data_start(&self) -> usize {
        self.desc_base + self.desc_count * DESC_SIZE
    }
}

/// Replaces bytes of the page holding physical address `paddr` in a kdump file: in place for a
/// raw page, else (zlib) the page is decompressed, patched, recompressed and appended to the file,
/// its descriptor pointed at the new copy. `data` must not cross the page's end.
pub fn patch_kdump_page(
    b: &mut Vec<u8>,
    l: &KdumpLayout,
    paddr: u64,
    data: &[u8],
) -> Result<(), String> {
    let ps = l.block_size as u64;
    let (pfn, in_page) = (paddr / ps, (paddr % ps) as usize);
    if in_page + data.len() > l.block_size {
        return Err(format!("patch at {paddr:#x} crosses a page"));
    }
    let desc = l
        .descriptor(b, pfn)
        .ok_or_else(|| format!("pfn {pfn:#x} not dumped"))?;
    let (off, size, flags) = (
        u64_at(b, desc) as usize,
        u32_at(b, desc + 8) as usize,
        u32_at(b, desc + 12),
    );
    match flags {
        0 => b[off + in_page..off + in_page + data.len()].copy_from_slice(data),
        1 => {
            let mut page = vec![0u8; l.block_size];
            kdive_dump::codec::decompress(kdive_dump::Codec::Zlib, &b[off..off + size], &mut page)
                .map_err(|e| e.to_string())?;
            page[in_page..in_page + data.len()].copy_from_slice(data);
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut z, &page).map_err(|e| e.to_string())?;
            let packed = z.finish().map_err(|e| e.to_string())?;
            let end = b.len() as u64;
            put_u64(b, desc, end);
            b[desc + 8..desc + 12].copy_from_slice(&(packed.len() as u32).to_le_bytes());
            b.extend_from_slice(&packed);
        }
        f => {
            return Err(format!(
                "pfn {pfn:#x}: page flags {f:#x}: only raw and zlib pages are patched"
            ))
        }
    }
    Ok(())
}

/// Where the parts of an ELF64 vmcore are.
#[derive(Debug, Clone)]
pub struct ElfLayout {
    pub phoff: usize,
    pub phnum: usize,
    /// `(offset, size)` of the first `PT_NOTE`.
    pub notes: (usize, usize),
    /// File offset of the first `PT_LOAD`'s data.
    pub data_start: usize,
}

impl ElfLayout {
    pub fn parse(b: &[u8]) -> Option<ElfLayout> {
        if !b.starts_with(b"\x7fELF") {
            return None;
        }
        let phoff = u64_at(b, 32) as usize;
        let phnum = usize::from(u16::from_le_bytes([b[56], b[57]]));
        let ph = |i: usize| phoff + 56 * i;
        let notes = (0..phnum)
            .find(|&i| u32_at(b, ph(i)) == 4)
            .map_or((0, 0), |i| {
                (
                    u64_at(b, ph(i) + 8) as usize,
                    u64_at(b, ph(i) + 32) as usize,
                )
            });
        let data_start = (0..phnum)
            .filter(|&i| u32_at(b, ph(i)) == 1)
            .map(|i| u64_at(b, ph(i) + 8) as usize)
            .min()?;
        Some(ElfLayout {
            phoff,
            phnum,
            notes,
            data_start,
        })
    }
}

/// A scratch directory for damaged copies (tmpfs when there is one: copies of large dumps are
/// written often), removed on drop.
pub struct Scratch {
    dir: PathBuf,
    n: std::cell::Cell<usize>,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = base.join(format!("kdive-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Scratch {
            dir,
            n: std::cell::Cell::new(0),
        }
    }

    /// Writes `bytes` as a new file named after `name`.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        self.n.set(self.n.get() + 1);
        let p = self.dir.join(format!("{}-{name}", self.n.get()));
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
