//! makedumpfile's kdump-compressed format (also written by QEMU), plain or flattened.
//!
//! Layout: the main header at 0, the sub-header at `block_size`, then the bitmaps (1st: which
//! pfns are RAM, 2nd: which were dumped; each half of `bitmap_blocks`), then one 24-byte page
//! descriptor per dumped pfn in pfn order, then page data. The descriptor of a pfn is found by
//! the rank of its bit in the 2nd bitmap (counted per 512 bits where first needed; the
//! bitmaps are read in place, never copied). Raw pages are read straight
//! from the mapping; decompressed ones go through a bounded LRU cache.
//!
//! Absent pages: 2nd-bitmap bit clear → [`PageState::Excluded`] when the 1st has it,
//! else [`PageState::NotRam`]; pfn at or past `max_pfn` → `NotRam`. A dumped pfn whose
//! descriptor or data is missing (descriptor offset 0 as written by an incomplete dump,
//! descriptor table or data past the end of the file) → [`PageState::Lost`]. In one part of
//! a split set (`split_range`), dumped pfns outside the part's range are also `Lost`: their data
//! lives in another part.

mod bitmap;
mod header;

use std::borrow::Cow;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use bitmap::Bitmap;
use header::{Fields, Header, SubHeader};

use crate::flat::FlatFile;
use crate::resident::BoundedMap;
use crate::{
    Arch, Codec, DumpError, DumpFormat, DumpMeta, Endian, FormatKind, PageState, PageStats, Result,
};

/// Size of `struct page_desc`.
const DESC_SIZE: u64 = 24;
/// Bytes of decompressed pages kept in the cache.
const CACHE_BYTES: usize = 8 << 20;
/// Descriptors checked at the end of the table when looking for truncation at open time.
const TAIL_CHECK: u64 = 64;
/// Descriptors read per slice of the table by the one pass that counts them (96 KiB).
const CENSUS_BATCH: u64 = 4096;
/// The codecs [`Census`] counts, in the order [`DumpFormat::codec_counts`] lists them.
const CODECS: [Codec; 5] = [
    Codec::None,
    Codec::Zlib,
    Codec::Lzo,
    Codec::Snappy,
    Codec::Zstd,
];

/// Where the kdump bytes come from.
pub enum Source {
    /// A mapped ordinary kdump file.
    Mapped(memmap2::Mmap),
    /// A kdump file in memory (tests, decompressed copies).
    Bytes(Vec<u8>),
    /// The virtual kdump file of an indexed flattened file.
    Flattened(FlatFile),
}

/// The bytes of the (possibly virtual) kdump file.
enum Store {
    /// A mapped file, its resident pages bounded.
    Mapped(BoundedMap),
    Plain(Box<dyn AsRef<[u8]> + Send + Sync>),
    Flat(FlatFile),
}

impl Store {
    fn len(&self) -> u64 {
        match self {
            Store::Mapped(m) => m.bytes().len() as u64,
            Store::Plain(b) => (**b).as_ref().len() as u64,
            Store::Flat(f) => f.len(),
        }
    }

    /// `len` bytes at `offset`, or [`DumpError::Truncated`] naming `what`.
    fn slice(&self, what: &'static str, offset: u64, len: u64) -> Result<Cow<'_, [u8]>> {
        let truncated = || DumpError::Truncated {
            what,
            offset,
            end: offset.saturating_add(len),
            len: self.len(),
        };
        let n = usize::try_from(len).map_err(|_| truncated())?;
        let bytes = match self {
            Store::Mapped(m) => m.bytes(),
            Store::Plain(b) => (**b).as_ref(),
            Store::Flat(f) => return f.slice(what, offset, n),
        };
        let start = usize::try_from(offset).map_err(|_| truncated())?;
        let range = start
            .checked_add(n)
            .map(|end| start..end)
            .ok_or_else(truncated)?;
        bytes.get(range).map(Cow::Borrowed).ok_or_else(truncated)
    }

    /// The stored data of one page (counted against a mapping's residency bound).
    fn page_data(&self, offset: u64, len: u64) -> Result<Cow<'_, [u8]>> {
        let data = self.slice("page data", offset, len)?;
        if let Store::Mapped(m) = self {
            m.note_read(offset, len);
        }
        Ok(data)
    }

    /// The whole file as one slice, unless it is flattened.
    fn plain_bytes(&self) -> Option<&[u8]> {
        match self {
            Store::Mapped(m) => Some(m.bytes()),
            Store::Plain(b) => Some((**b).as_ref()),
            Store::Flat(_) => None,
        }
    }
}

/// Where the two bitmaps' bytes are: in the file (offsets), or copied out of a flattened file.
struct Bits {
    ram_off: u64,
    dumped_off: u64,
    /// Bytes of each bitmap.
    len: u64,
    /// (1st, 2nd) when the file is flattened (its bytes are not one slice).
    copy: Option<(Vec<u8>, Vec<u8>)>,
}

impl Bits {
    fn at<'a>(&'a self, store: &'a Store, off: u64, copy: Option<&'a [u8]>) -> &'a [u8] {
        copy.or_else(|| {
            let all = store.plain_bytes()?;
            all.get(usize::try_from(off).ok()?..usize::try_from(off + self.len).ok()?)
        })
        .unwrap_or(&[])
    }

    fn ram<'a>(&'a self, store: &'a Store) -> &'a [u8] {
        self.at(store, self.ram_off, self.copy.as_ref().map(|c| &c.0[..]))
    }

    fn dumped<'a>(&'a self, store: &'a Store) -> &'a [u8] {
        self.at(store, self.dumped_off, self.copy.as_ref().map(|c| &c.1[..]))
    }
}

/// One `struct page_desc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageDesc {
    offset: u64,
    size: u32,
    flags: u32,
}

impl PageDesc {
    /// A `struct page_desc` from its 24 bytes, in the byte order `BIG` says (a parameter of
    /// the type, so a pass over the table does not ask the order per field).
    #[inline(always)]
    fn from_raw<const BIG: bool>(raw: &[u8]) -> PageDesc {
        fn field<const N: usize, const BIG: bool>(raw: &[u8], at: usize) -> [u8; N] {
            let mut b: [u8; N] = raw
                .get(at..at + N)
                .and_then(|s| s.try_into().ok())
                .unwrap_or([0; N]);
            if BIG {
                b.reverse();
            }
            b
        }
        PageDesc {
            offset: u64::from_le_bytes(field::<8, BIG>(raw, 0)),
            size: u32::from_le_bytes(field::<4, BIG>(raw, 8)),
            flags: u32::from_le_bytes(field::<4, BIG>(raw, 12)),
        }
    }

    /// Whether the page's data lies within a file of `file_len` bytes: offset 0 marks pages an
    /// incomplete dump lost.
    #[inline(always)]
    fn within(&self, file_len: u64) -> bool {
        self.offset != 0
            && self
                .offset
                .checked_add(u64::from(self.size))
                .is_some_and(|end| end <= file_len)
    }

    /// The page's place in [`CODECS`]: the first compression flag set, in makedumpfile's order
    /// of preference, else none.
    #[inline(always)]
    fn codec_slot(&self) -> usize {
        let f = self.flags;
        if f & header::COMPRESSED_ZLIB != 0 {
            1
        } else if f & header::COMPRESSED_LZO != 0 {
            2
        } else if f & header::COMPRESSED_SNAPPY != 0 {
            3
        } else if f & header::COMPRESSED_ZSTD != 0 {
            4
        } else {
            0
        }
    }

    fn codec(&self) -> Codec {
        CODECS[self.codec_slot()]
    }
}

/// What one pass over the page descriptor table finds.
#[derive(Debug, Clone, Default)]
struct Census {
    /// Descriptors with data, per codec of [`CODECS`].
    codecs: [u64; 5],
    /// The lowest data offset of the descriptors with data, and how many share it.
    lowest_data: Option<(u64, u64)>,
    /// Descriptors missing or without data.
    lost: u64,
    /// Index of the first of them.
    first_lost: Option<u64>,
}

impl Census {
    #[inline(always)]
    fn add(&mut self, index: u64, desc: Option<PageDesc>) {
        let Some(d) = desc else {
            self.lost += 1;
            self.first_lost.get_or_insert(index);
            return;
        };
        self.codecs[d.codec_slot()] += 1;
        match &mut self.lowest_data {
            Some((off, n)) if *off == d.offset => *n += 1,
            Some((off, _)) if *off < d.offset => {}
            _ => self.lowest_data = Some((d.offset, 1)),
        }
    }

    /// The census of the raw descriptors `table` from index `first`, in a file of `file_len`
    /// bytes, in the byte order `BIG` says.
    fn of_table<const BIG: bool>(first: u64, table: &[u8], file_len: u64) -> Census {
        let mut c = Census::default();
        for (i, raw) in table.chunks_exact(DESC_SIZE as usize).enumerate() {
            let d = PageDesc::from_raw::<BIG>(raw);
            c.add(first + i as u64, d.within(file_len).then_some(d));
        }
        c
    }

    /// The census of two disjoint parts of the table.
    fn merge(mut self, other: Census) -> Census {
        for (a, b) in self.codecs.iter_mut().zip(other.codecs) {
            *a += b;
        }
        self.lowest_data = match (self.lowest_data, other.lowest_data) {
            (Some((a, n)), Some((b, m))) if a == b => Some((a, n + m)),
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        self.lost += other.lost;
        self.first_lost = match (self.first_lost, other.first_lost) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self
    }

    /// Present pages stored as the shared zero page: makedumpfile (and QEMU) write one all-zero
    /// page at the start of the page data and point every zero page's descriptor at it, so it
    /// is the lowest data offset, shared by more than one descriptor. (Not the first
    /// descriptor's offset: pfn 0 of a QEMU guest holds data, and its millions of zero pages
    /// would count as none.)
    fn zero_pages(&self) -> u64 {
        match self.lowest_data {
            Some((_, n)) if n > 1 => n,
            _ => 0,
        }
    }
}

/// What the bitmaps and descriptors say about one pfn.
enum Lookup {
    Present(PageDesc),
    Absent(PageState),
}

/// A kdump-compressed dump.
pub struct KdumpFile {
    meta: DumpMeta,
    store: Store,
    header: Header,
    page_size: usize,
    /// 1st bitmap: RAM.
    ram: Bitmap,
    /// 2nd bitmap: dumped pages.
    dumped: Bitmap,
    /// Where the bitmaps' bytes are.
    bits: Bits,
    /// Half-open pfn range whose descriptors this file holds (all of memory unless split).
    range: (u64, u64),
    /// Rank of `range.0` in `dumped`: descriptor index = rank(pfn) - first_rank.
    first_rank: u64,
    /// File offset of the first page descriptor.
    desc_base: u64,
    /// Number of descriptors the file should hold.
    desc_count: u64,
    cache: Mutex<lru::LruCache<u64, Box<[u8]>>>,
    census: OnceLock<Census>,
    /// Page descriptors read so far (each of a pass counts).
    descriptors_read: AtomicU64,
}

impl std::fmt::Debug for KdumpFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KdumpFile")
            .field("meta", &self.meta)
            .field("range", &self.range)
            .field("desc_base", &self.desc_base)
            .field("desc_count", &self.desc_count)
            .finish_non_exhaustive()
    }
}

fn corrupt(what: &'static str, offset: u64, detail: impl Into<String>) -> DumpError {
    DumpError::Corrupt {
        what,
        offset,
        detail: detail.into(),
    }
}

/// `a * b + c` for header-derived offsets, or a [`DumpError::Corrupt`].
fn offset_of(what: &'static str, a: u64, b: u64, c: u64) -> Result<u64> {
    a.checked_mul(b)
        .and_then(|x| x.checked_add(c))
        .ok_or_else(|| {
            corrupt(
                what,
                0,
                format!("offset {a:#x} * {b:#x} + {c:#x} overflows"),
            )
        })
}

impl KdumpFile {
    /// Parses a kdump-compressed file: headers, bitmaps, VMCOREINFO and ELF notes.
    pub fn parse(src: Source) -> Result<KdumpFile> {
        let (store, flattened) = match src {
            Source::Mapped(m) => (Store::Mapped(BoundedMap::new(m)), false),
            Source::Bytes(b) => (Store::Plain(Box::new(b)), false),
            Source::Flattened(f) => (Store::Flat(f), true),
        };
        let head = store.slice("kdump header", 0, header::HEADER_BYTES.min(store.len()))?;
        let header = Header::parse(&head)?;
        drop(head);
        let bs = header.block_size;

        let sub = if header.diskdump {
            SubHeader::default() // diskdump's own sub-header has nothing kdive uses
        } else {
            if header.sub_hdr_blocks == 0 {
                return Err(corrupt("kdump header", 0, "sub_hdr_size is 0"));
            }
            let layout = header.sub_layout();
            let data = store.slice("kdump sub-header", bs, layout.size as u64)?;
            SubHeader::parse(
                Fields {
                    data: &data,
                    endian: header.endian,
                },
                layout,
                header.version,
            )
        };
        let max_pfn = sub.max_mapnr.unwrap_or(header.max_mapnr);

        // Bitmaps: two halves of `bitmap_blocks`, or (old diskdump) one bitmap serving as both.
        let bitmap_off = offset_of("kdump header", 1 + header.sub_hdr_blocks, bs, 0)?;
        let bitmap_len = offset_of("kdump header", header.bitmap_blocks, bs, 0)?;
        let bitmap_bytes = max_pfn.div_ceil(8);
        let blocks_per_bitmap = bitmap_bytes.div_ceil(bs);
        let (ram_off, dumped_off) = if header.bitmap_blocks >= 2 * blocks_per_bitmap {
            (bitmap_off, bitmap_off + bitmap_len / 2)
        } else if header.bitmap_blocks >= blocks_per_bitmap {
            (bitmap_off, bitmap_off)
        } else {
            return Err(corrupt(
                "kdump header",
                0,
                format!(
                    "bitmap_blocks {} cannot cover max_mapnr {max_pfn:#x}",
                    header.bitmap_blocks
                ),
            ));
        };
        // the bitmaps are read where they lie (checked to be there, never copied from a mapped
        // file): a memory map of 1 TiB has 32 MiB bitmaps, mostly a hole
        let ram = Bitmap::new(max_pfn);
        let dumped = Bitmap::new(max_pfn);
        let bitmap_copy = match &store {
            Store::Flat(_) => Some((
                store
                    .slice("1st bitmap", ram_off, bitmap_bytes)?
                    .into_owned(),
                store
                    .slice("2nd bitmap", dumped_off, bitmap_bytes)?
                    .into_owned(),
            )),
            _ => {
                store.slice("1st bitmap", ram_off, bitmap_bytes)?;
                store.slice("2nd bitmap", dumped_off, bitmap_bytes)?;
                None
            }
        };
        let bits = Bits {
            ram_off,
            dumped_off,
            len: bitmap_bytes,
            copy: bitmap_copy,
        };
        let dumped_bytes = bits.dumped(&store);

        let range = match sub.split {
            Some((start, end)) if start <= end => (start.min(max_pfn), end.min(max_pfn)),
            Some((start, end)) => {
                return Err(corrupt(
                    "kdump sub-header",
                    bs,
                    format!("split range {start:#x}..{end:#x}"),
                ));
            }
            None => (0, max_pfn),
        };
        let first_rank = dumped.rank(dumped_bytes, range.0);
        let desc_count = dumped.rank(dumped_bytes, range.1) - first_rank;
        if let Store::Mapped(m) = &store {
            // counting the 2nd bitmap mapped all of it: a 1 TiB memory map has 32 MiB of it
            m.release();
        }
        let desc_base = bitmap_off + bitmap_len;
        // The table's end must be representable; whether it is in the file is checked per page.
        offset_of("page descriptor table", desc_count, DESC_SIZE, desc_base)?;

        let vmcoreinfo = match sub.vmcoreinfo {
            Some((off, size)) => {
                let text = store.slice("VMCOREINFO", off, size)?;
                Some(
                    String::from_utf8_lossy(&text)
                        .trim_end_matches('\0')
                        .to_string(),
                )
            }
            None => None,
        };
        let notes = match sub.notes {
            Some((off, size)) => {
                let mut notes = crate::notes::parse_notes_of(
                    &store.slice("ELF notes", off, size)?,
                    header.endian,
                    header.word == 4,
                );
                notes.locate_at(off);
                notes
            }
            None => Default::default(),
        };

        let page_size =
            usize::try_from(bs).map_err(|_| corrupt("kdump header", 0, "block_size"))?;
        let cache_pages =
            NonZeroUsize::new((CACHE_BYTES / page_size).max(16)).unwrap_or(NonZeroUsize::MIN);
        let nr_cpus = u32::try_from(header.nr_cpus)
            .ok()
            .filter(|&n| n > 0)
            .or_else(|| u32::try_from(notes.prstatus.len()).ok().filter(|&n| n > 0));
        let vmcoreinfo = vmcoreinfo.or(notes.vmcoreinfo);
        let arch = match header::machine_arch(&header.utsname.machine) {
            // QEMU writes "Unknown" for some architectures: the contents tell
            Arch::Other(0) => crate::arch_from_contents(vmcoreinfo.as_deref(), &notes.prstatus)
                .unwrap_or(Arch::Other(0)),
            a => a,
        };
        let meta = DumpMeta {
            format: FormatKind::Kdump {
                header_version: header.version,
                diskdump: header.diskdump,
                flattened,
                qemu: header.looks_like_qemu(),
            },
            arch,
            endian: header.endian,
            page_size: bs,
            max_pfn,
            dump_level: sub.dump_level,
            utsname: Some(header.utsname.clone()),
            timestamp: (header.timestamp != (0, 0)).then_some(header.timestamp),
            nr_cpus,
            incomplete: false, // set below
            split_range: sub.split.map(|_| range),
            vmcoreinfo_raw: vmcoreinfo,
            prstatus: notes.prstatus,
            qemu_cpus: notes.qemu_cpus,
            device_dumps: notes.device_dumps,
        };
        let flat_truncated = matches!(&store, Store::Flat(f) if f.is_truncated());
        let mut kdump = KdumpFile {
            meta,
            store,
            header,
            page_size,
            ram,
            dumped,
            bits,
            range,
            first_rank,
            desc_base,
            desc_count,
            cache: Mutex::new(lru::LruCache::new(cache_pages)),
            census: OnceLock::new(),
            descriptors_read: AtomicU64::new(0),
        };
        kdump.meta.incomplete = kdump.header.status & header::STATUS_INCOMPLETE != 0
            || flat_truncated
            || kdump.tail_truncated();
        Ok(kdump)
    }

    /// Bytes of the (1st, 2nd) bitmap counted so far: ranks are counted where first needed,
    /// so this stays far below the bitmaps' size when memory is one huge hole.
    pub fn bitmap_bytes_counted(&self) -> (u64, u64) {
        (self.ram.scanned(), self.dumped.scanned())
    }

    /// Bytes of each bitmap in the file.
    pub fn bitmap_len(&self) -> u64 {
        self.dumped.byte_len()
    }

    /// Number of page descriptors the file should hold.
    pub fn descriptor_count(&self) -> u64 {
        self.desc_count
    }

    /// Indexes a flattened (`makedumpfile -F`) file and parses the kdump inside it.
    pub fn parse_flattened(flat: FlatFile) -> Result<KdumpFile> {
        let mut head = [0u8; 8];
        flat.read_at("flattened kdump header", 0, &mut head)
            .map_err(|_| DumpError::NotADump {
                reason: "flattened file holds no data at offset 0".into(),
            })?;
        if head.starts_with(b"\x7fELF") {
            return Err(DumpError::NotADump {
                reason: "a flattened ELF vmcore, not a kdump-compressed one".into(),
            });
        }
        KdumpFile::parse(Source::Flattened(flat))
    }

    /// Descriptor number `index` of this file, if the file holds it.
    fn descriptor(&self, index: u64) -> Option<PageDesc> {
        if index >= self.desc_count {
            return None;
        }
        let at = self.desc_base + index * DESC_SIZE;
        let data = self.store.slice("page descriptor", at, DESC_SIZE).ok()?;
        if let Store::Mapped(m) = &self.store {
            m.note_read(at, DESC_SIZE);
        }
        self.descriptors_read.fetch_add(1, Ordering::Relaxed);
        Some(self.parse_descriptor(&data))
    }

    /// One `struct page_desc` from its 24 bytes.
    fn parse_descriptor(&self, data: &[u8]) -> PageDesc {
        match self.header.endian {
            Endian::Little => PageDesc::from_raw::<false>(data),
            Endian::Big => PageDesc::from_raw::<true>(data),
        }
    }

    /// Counts the descriptor table in one pass, slices of [`CENSUS_BATCH`] counted on every
    /// core and their counts merged (one by one where the table is cut short).
    fn census(&self) -> &Census {
        use rayon::prelude::*;
        self.census.get_or_init(|| {
            (0..self.desc_count.div_ceil(CENSUS_BATCH))
                .into_par_iter()
                .map(|b| self.census_of(b * CENSUS_BATCH))
                .reduce(Census::default, Census::merge)
        })
    }

    /// The census of the [`CENSUS_BATCH`] descriptors from index `first`.
    fn census_of(&self, first: u64) -> Census {
        let n = CENSUS_BATCH.min(self.desc_count - first);
        let at = self.desc_base + first * DESC_SIZE;
        match self.store.slice("page descriptors", at, n * DESC_SIZE) {
            Ok(table) => {
                if let Store::Mapped(m) = &self.store {
                    m.note_read(at, n * DESC_SIZE);
                }
                self.descriptors_read.fetch_add(n, Ordering::Relaxed);
                let file_len = self.store.len();
                match self.header.endian {
                    Endian::Little => Census::of_table::<false>(first, &table, file_len),
                    Endian::Big => Census::of_table::<true>(first, &table, file_len),
                }
            }
            Err(_) => {
                let mut c = Census::default();
                for i in first..first + n {
                    c.add(i, self.descriptor(i).filter(|d| self.has_data(d)));
                }
                c
            }
        }
    }

    /// Whether a descriptor's data is there: offset 0 marks pages an incomplete dump lost.
    fn has_data(&self, d: &PageDesc) -> bool {
        d.within(self.store.len())
    }

    /// Truncation visible at the end of the descriptor table: missing descriptors, or data of
    /// the last ones missing.
    fn tail_truncated(&self) -> bool {
        let first = self.desc_count.saturating_sub(TAIL_CHECK);
        (first..self.desc_count).any(|i| !self.descriptor(i).is_some_and(|d| self.has_data(&d)))
    }

    fn lookup(&self, pfn: u64) -> Lookup {
        let dumped = self.bits.dumped(&self.store);
        if !self.dumped.get(dumped, pfn) {
            return Lookup::Absent(if self.ram.get(self.bits.ram(&self.store), pfn) {
                PageState::Excluded
            } else {
                PageState::NotRam
            });
        }
        if pfn < self.range.0 || pfn >= self.range.1 {
            return Lookup::Absent(PageState::Lost);
        }
        match self.descriptor(self.dumped.rank(dumped, pfn) - self.first_rank) {
            Some(d) if self.has_data(&d) => Lookup::Present(d),
            _ => Lookup::Absent(PageState::Lost),
        }
    }

    fn absent_error(&self, state: PageState, paddr: u64) -> DumpError {
        match state {
            PageState::Excluded => DumpError::Excluded {
                paddr,
                dump_level: self.meta.dump_level,
            },
            PageState::NotRam => DumpError::NotRam { paddr },
            PageState::Lost | PageState::Present => DumpError::Lost { paddr },
        }
    }

    /// The descriptor of present page `pfn`, checked; or why the page cannot be read.
    fn present(&self, pfn: u64, paddr: u64) -> Result<PageDesc> {
        let ps = self.page_size as u64;
        let desc = match self.lookup(pfn) {
            Lookup::Present(d) => d,
            Lookup::Absent(state) => return Err(self.absent_error(state, paddr)),
        };
        let codec = desc.codec();
        let size = u64::from(desc.size);
        if size > ps || (codec == Codec::None && size != ps) || size == 0 {
            return Err(corrupt(
                "page descriptor",
                self.desc_base
                    + (self.dumped.rank(self.bits.dumped(&self.store), pfn) - self.first_rank)
                        * DESC_SIZE,
                format!("pfn {pfn:#x}: {codec:?} page of {size} bytes, page size {ps}"),
            ));
        }
        Ok(desc)
    }

    /// Decodes the data of `desc` into `page` (one page); errors name `paddr`.
    fn decode(&self, paddr: u64, desc: &PageDesc, page: &mut [u8]) -> Result<()> {
        let codec = desc.codec();
        let src = self.store.page_data(desc.offset, u64::from(desc.size))?;
        crate::codec::decompress(codec, &src, page).map_err(|e| DumpError::Decompress {
            paddr,
            codec,
            detail: e.0,
        })
    }

    /// Page `pfn` in full: from the cache when it is there, else decoded into `page` and not cached.
    fn read_whole_page(&self, pfn: u64, page: &mut [u8]) -> Result<()> {
        let paddr = pfn.saturating_mul(self.page_size as u64);
        let desc = self.present(pfn, paddr)?;
        if desc.codec() != Codec::None {
            if let Some(cached) = self.cache().peek(&pfn) {
                page.copy_from_slice(cached);
                return Ok(());
            }
        }
        self.decode(paddr, &desc, page)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, lru::LruCache<u64, Box<[u8]>>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl DumpFormat for KdumpFile {
    fn meta(&self) -> &DumpMeta {
        &self.meta
    }

    fn page_state(&self, pfn: u64) -> PageState {
        match self.lookup(pfn) {
            Lookup::Present(_) => PageState::Present,
            Lookup::Absent(state) => state,
        }
    }

    fn next_change(&self, pfn: u64) -> u64 {
        let (ram, dumped) = (self.bits.ram(&self.store), self.bits.dumped(&self.store));
        if self.dumped.get(dumped, pfn) || self.ram.get(ram, pfn) {
            return pfn.saturating_add(1);
        }
        // neither RAM nor dumped: the state stays NotRam up to the next bit of either bitmap
        self.ram
            .next_set(ram, pfn)
            .min(self.dumped.next_set(dumped, pfn))
            .max(pfn.saturating_add(1))
    }

    fn read_page(&self, pfn: u64, offset: usize, buf: &mut [u8]) -> Result<()> {
        let ps = self.page_size;
        let paddr = pfn.saturating_mul(ps as u64).saturating_add(offset as u64);
        let Some(end) = offset.checked_add(buf.len()).filter(|&e| e <= ps) else {
            return Err(DumpError::Unsupported {
                what: format!(
                    "read of {:#x} bytes at offset {offset:#x} of a {ps:#x}-byte page",
                    buf.len()
                ),
            });
        };
        let desc = self.present(pfn, paddr)?;
        if desc.codec() == Codec::None {
            let data = self.store.page_data(desc.offset, u64::from(desc.size))?;
            buf.copy_from_slice(&data[offset..end]);
            return Ok(());
        }
        if let Some(page) = self.cache().get(&pfn) {
            buf.copy_from_slice(&page[offset..end]);
            return Ok(());
        }
        // A full cache gives its least recently used buffer to this page: no allocation.
        let recycled = {
            let mut cache = self.cache();
            if cache.len() >= cache.cap().get() {
                cache.pop_lru().map(|(_, b)| b)
            } else {
                None
            }
        };
        let mut page = recycled.unwrap_or_else(|| vec![0u8; ps].into_boxed_slice());
        self.decode(paddr, &desc, &mut page)?;
        buf.copy_from_slice(&page[offset..end]);
        self.cache().put(pfn, page);
        Ok(())
    }

    /// Whole pages decoded straight into `buf`, without filling the page cache (bulk reads
    /// of tables that are read once); on two threads when there are enough of them.
    fn read_pages(&self, pfn: u64, buf: &mut [u8]) -> Result<()> {
        let ps = self.page_size;
        if !buf.len().is_multiple_of(ps) {
            return Err(DumpError::Unsupported {
                what: format!("bulk read of {:#x} bytes: not whole pages", buf.len()),
            });
        }
        let run = |first: u64, out: &mut [u8]| -> Result<()> {
            for (i, page) in out.chunks_exact_mut(ps).enumerate() {
                self.read_whole_page(first + i as u64, page)?;
            }
            Ok(())
        };
        crate::bulk::split_pages(pfn, buf, ps, run)
    }
    fn codec_counts(&self) -> Vec<(Codec, u64)> {
        CODECS
            .into_iter()
            .zip(self.census().codecs)
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    fn zero_page_count(&self) -> u64 {
        self.census().zero_pages()
    }

    /// The open's truncation check reads the last [`TAIL_CHECK`]; page statistics, codec and
    /// zero page counts read each descriptor once between them.
    fn descriptors_read(&self) -> u64 {
        self.descriptors_read.load(Ordering::Relaxed)
    }

    /// The bitmaps counted a word at a time and the descriptors once, where asking each pfn
    /// would rank it and read its descriptor: RAM is what either bitmap has, present what the
    /// descriptors of this file's range hold data for, lost the rest of the dumped pfns.
    fn page_stats(&self) -> Option<PageStats> {
        let (ram, dumped) = (self.bits.ram(&self.store), self.bits.dumped(&self.store));
        let excluded = self.ram.count_and_not(ram, &self.dumped, dumped);
        let all_dumped = self.dumped.rank(dumped, u64::MAX);
        let c = self.census();
        let present = self.desc_count - c.lost;
        // dumped pfns of another part of a split set
        let outside = all_dumped - self.desc_count;
        let first_outside = (outside > 0).then(|| {
            let low = self.dumped.next_set(dumped, 0);
            if low < self.range.0 {
                low
            } else {
                self.dumped.next_set(dumped, self.range.1)
            }
        });
        let first_lost = c
            .first_lost
            .and_then(|i| self.dumped.select(dumped, self.first_rank + i));
        if let Store::Mapped(m) = &self.store {
            // the word pass mapped both bitmaps: 64 MiB for a 1 TiB memory map
            m.release();
        }
        let zero = c.zero_pages().min(present);
        Some(PageStats {
            ram: all_dumped + excluded,
            present: present - zero,
            zero,
            excluded,
            lost: c.lost + outside,
            first_lost: first_lost.into_iter().chain(first_outside).min(),
        })
    }
}
