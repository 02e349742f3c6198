//! kdump-compressed files written in code: a few pages in every state and codec, every header
//! version, both byte orders, split parts ([`Writer`]); and where the parts of an existing
//! file are ([`layout`]).

use std::collections::BTreeMap;

use kdive_dump::{Codec, Utsname};

pub mod layout;

use layout::{
    codec_flag, main_header, sub_header_of, DESC_SIZE, KDUMP_SIGNATURE, UTSNAME_FIELD,
    UTSNAME_OFFSET,
};

use crate::pages::compress;

/// What the writer stores for one pfn.
#[derive(Debug, Clone)]
pub enum Page {
    /// Contents stored with a codec (`Codec::None`: raw).
    Data(Codec, Vec<u8>),
    /// All zeros: the descriptor points at the shared zero page.
    Zero,
    /// RAM filtered out: set in the 1st bitmap only.
    Excluded,
    /// Dumped, but its descriptor is all zeros (an incomplete dump).
    Lost,
    /// Dumped, descriptor pointing past the end of the file.
    PastEof,
    /// Dumped with `codec` flags over these bytes, which do not decode.
    Garbage(Codec, Vec<u8>),
}

/// A kdump file to be built. Fields are public so tests can bend them.
#[derive(Debug, Clone)]
pub struct Writer {
    pub signature: &'static [u8],
    pub version: i32,
    pub block_size: u32,
    pub max_mapnr: u64,
    pub utsname: Utsname,
    pub timestamp: (i64, i64),
    pub status: u32,
    pub dump_level: u32,
    pub nr_cpus: i32,
    pub split: Option<(u64, u64)>,
    pub big_endian: bool,
    /// Write one bitmap serving as both (old diskdump style).
    pub single_bitmap: bool,
    pub vmcoreinfo: Option<String>,
    pub notes: Option<Vec<u8>>,
    pub pages: BTreeMap<u64, Page>,
}

/// Offsets of the regions of a built file.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub bitmap_off: u64,
    pub desc_base: u64,
    pub data_off: u64,
    pub len: u64,
}

struct Out {
    bytes: Vec<u8>,
    big: bool,
}

impl Out {
    fn put(&mut self, at: usize, le: &[u8]) {
        if self.bytes.len() < at + le.len() {
            self.bytes.resize(at + le.len(), 0);
        }
        let dst = &mut self.bytes[at..at + le.len()];
        dst.copy_from_slice(le);
        if self.big {
            dst.reverse();
        }
    }
    fn u32(&mut self, at: usize, v: u32) {
        self.put(at, &v.to_le_bytes());
    }
    fn u64(&mut self, at: usize, v: u64) {
        self.put(at, &v.to_le_bytes());
    }
    fn word(&mut self, at: usize, size: usize, v: u64) {
        if size == 4 {
            self.u32(at, v as u32)
        } else {
            self.u64(at, v)
        }
    }
    fn raw(&mut self, at: usize, bytes: &[u8]) {
        if self.bytes.len() < at + bytes.len() {
            self.bytes.resize(at + bytes.len(), 0);
        }
        self.bytes[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

impl Writer {
    /// An x86_64 makedumpfile-style (version 6, dump level 31) file with no pages yet.
    pub fn new(block_size: u32, max_mapnr: u64) -> Writer {
        Writer {
            signature: KDUMP_SIGNATURE,
            version: 6,
            block_size,
            max_mapnr,
            utsname: Utsname {
                sysname: "Linux".into(),
                nodename: "synth".into(),
                release: "6.1.0-test".into(),
                version: "#1 SMP".into(),
                machine: "x86_64".into(),
                domainname: "(none)".into(),
            },
            timestamp: (1_700_000_000, 123_456),
            status: codec_flag(Codec::Zlib),
            dump_level: 31,
            nr_cpus: 2,
            split: None,
            big_endian: false,
            single_bitmap: false,
            vmcoreinfo: Some("OSRELEASE=6.1.0-test\nPAGESIZE=4096\n".into()),
            notes: None,
            pages: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) page `pfn`.
    pub fn page(mut self, pfn: u64, page: Page) -> Writer {
        self.pages.insert(pfn, page);
        self
    }

    fn word(&self) -> usize {
        match self.utsname.machine.as_str() {
            "i686" | "i386" | "arm" | "armv7l" | "ppc" | "s390" => 4,
            _ => 8,
        }
    }

    fn dumped(&self, pfn: u64) -> bool {
        !matches!(self.pages.get(&pfn), None | Some(Page::Excluded))
    }

    /// The file's bytes and where its regions start.
    pub fn build_with_layout(&self) -> (Vec<u8>, Layout) {
        let bs = self.block_size as usize;
        let word = self.word();
        let main = main_header(word);
        let sub = sub_header_of(word, &self.utsname.machine);
        let mut out = Out {
            bytes: Vec::new(),
            big: self.big_endian,
        };

        // Main header.
        out.raw(0, self.signature);
        out.u32(8, self.version as u32);
        let uts = [
            &self.utsname.sysname,
            &self.utsname.nodename,
            &self.utsname.release,
            &self.utsname.version,
            &self.utsname.machine,
            &self.utsname.domainname,
        ];
        for (i, s) in uts.iter().enumerate() {
            out.raw(UTSNAME_OFFSET + i * UTSNAME_FIELD, s.as_bytes());
        }
        out.word(main.timestamp, word, self.timestamp.0 as u64);
        out.word(main.timestamp + word, word, self.timestamp.1 as u64);

        // Sub-header, then notes and VMCOREINFO inside the sub-header blocks.
        let notes_off = bs + sub.size;
        let notes = self.notes.clone().unwrap_or_default();
        let vmci_off = notes_off + notes.len();
        let vmci = self.vmcoreinfo.clone().unwrap_or_default();
        let sub_blocks = (sub.size + notes.len() + vmci.len()).div_ceil(bs);
        let bitmap_bytes = self.max_mapnr.div_ceil(8) as usize;
        let per_bitmap = bitmap_bytes.div_ceil(bs).max(1);
        let bitmap_blocks = if self.single_bitmap {
            per_bitmap
        } else {
            2 * per_bitmap
        };
        let st = main.status;
        for (i, v) in [
            self.status,
            self.block_size,
            sub_blocks as u32,
            bitmap_blocks as u32,
            self.max_mapnr.min(u64::from(u32::MAX)) as u32,
            0,
            0,
            0,
            0,
            self.nr_cpus as u32,
        ]
        .into_iter()
        .enumerate()
        {
            out.u32(st + 4 * i, v);
        }
        out.word(bs, word, 0x1000_0000); // phys_base
        out.u32(bs + sub.dump_level, self.dump_level);
        let (start, end) = self.split.unwrap_or((0, self.max_mapnr));
        out.u32(bs + sub.split, u32::from(self.split.is_some()));
        out.word(bs + sub.start_pfn, sub.ulong, start);
        out.word(bs + sub.end_pfn, sub.ulong, end);
        if self.vmcoreinfo.is_some() {
            out.u64(bs + sub.offset_vmcoreinfo, vmci_off as u64);
            out.word(bs + sub.size_vmcoreinfo, sub.ulong, vmci.len() as u64);
        }
        if self.notes.is_some() {
            out.u64(bs + sub.offset_note, notes_off as u64);
            out.word(bs + sub.size_note, sub.ulong, notes.len() as u64);
        }
        out.u64(bs + sub.start_pfn_64, start);
        out.u64(bs + sub.end_pfn_64, end);
        out.u64(bs + sub.max_mapnr_64, self.max_mapnr);
        out.raw(notes_off, &notes);
        out.raw(vmci_off, vmci.as_bytes());

        // Bitmaps.
        let bitmap_off = (1 + sub_blocks) * bs;
        let second = if self.single_bitmap {
            bitmap_off
        } else {
            bitmap_off + per_bitmap * bs
        };
        let mut first_map = vec![0u8; per_bitmap * bs];
        let mut second_map = vec![0u8; per_bitmap * bs];
        for &pfn in self.pages.keys().filter(|&&p| p < self.max_mapnr) {
            first_map[(pfn / 8) as usize] |= 1 << (pfn % 8);
            if self.dumped(pfn) {
                second_map[(pfn / 8) as usize] |= 1 << (pfn % 8);
            }
        }
        out.raw(bitmap_off, &first_map);
        if !self.single_bitmap {
            out.raw(second, &second_map);
        }

        // Descriptors for the dumped pfns of the range, then the zero page, then page data.
        let desc_base = bitmap_off + bitmap_blocks * bs;
        let described: Vec<(u64, &Page)> = self
            .pages
            .iter()
            .filter(|(&pfn, _)| pfn >= start && pfn < end.min(self.max_mapnr) && self.dumped(pfn))
            .map(|(&pfn, p)| (pfn, p))
            .collect();
        let data_off = desc_base + described.len() * DESC_SIZE;
        let zero_off = data_off;
        let mut data = vec![0u8; bs];
        let mut descs = Vec::new();
        for (_, page) in &described {
            let desc = match page {
                Page::Data(codec, bytes) => {
                    let packed = compress(*codec, bytes);
                    let at = data_off + data.len();
                    data.extend_from_slice(&packed);
                    (at as u64, packed.len() as u32, codec_flag(*codec))
                }
                Page::Garbage(codec, bytes) => {
                    let at = data_off + data.len();
                    data.extend_from_slice(bytes);
                    (at as u64, bytes.len() as u32, codec_flag(*codec))
                }
                Page::Zero => (zero_off as u64, bs as u32, 0),
                Page::Lost => (0, 0, 0),
                Page::PastEof => (u64::MAX / 4, bs as u32, 0), // fixed up below
                Page::Excluded => unreachable!("excluded pages have no descriptor"),
            };
            descs.push(desc);
        }
        let len = data_off + data.len();
        for (i, (offset, size, flags)) in descs.into_iter().enumerate() {
            let at = desc_base + i * DESC_SIZE;
            let offset = if offset == u64::MAX / 4 {
                (len + bs * (i + 1)) as u64
            } else {
                offset
            };
            out.u64(at, offset);
            out.u32(at + 8, size);
            out.u32(at + 12, flags);
        }
        out.raw(data_off, &data);
        out.bytes.resize(len, 0);
        let layout = Layout {
            bitmap_off: bitmap_off as u64,
            desc_base: desc_base as u64,
            data_off: data_off as u64,
            len: len as u64,
        };
        (out.bytes, layout)
    }

    /// The file's bytes.
    pub fn build(&self) -> Vec<u8> {
        self.build_with_layout().0
    }
}
