//! ELF vmcores (ELF64, and ELF32 of 32-bit machines): kdump's `/proc/vmcore` copy,
//! `makedumpfile -E` (also flattened, `-F -E`), QEMU `dump-guest-memory`, and (detected, physical
//! part only) `/proc/kcore`.
//!
//! Each `PT_LOAD` maps the physical range `p_paddr .. p_paddr + p_memsz`; its first `p_filesz`
//! bytes are stored at `p_offset`. The segments are flattened at open time into sorted,
//! non-overlapping pieces, so a page lookup is one binary search:
//!
//! * bytes in the file part of a segment are **present**;
//! * bytes in `p_filesz .. p_memsz` are **excluded**. Only `makedumpfile -E` writes such tails: it
//!   cuts every run of 256 or more filtered pages out of a segment (splitting it) and drops a
//!   filtered run at a segment's end, leaving `p_memsz > p_filesz`; shorter filtered runs stay in
//!   the file with their real contents. `/proc/vmcore`, QEMU and kcore always have
//!   `p_filesz == p_memsz`. crash and drgn read such tails as zeros; we report them as
//!   [`PageState::Excluded`] so callers know the contents are unknown;
//! * bytes of the file part that lie beyond the end of the file are **lost** (truncated copy);
//! * anything else is **not RAM**.
//!
//! Overlapping segments are normal (x86_64 vmcores map the kernel image twice: once at its
//! text address, once in the direct map); where they overlap, stored bytes win over lost ones,
//! which win over excluded ones, and among equals the earlier program header wins. A page that is
//! only partly covered (e.g. RAM ending at 0x9fc00) reads as zeros where no segment stores it,
//! as makedumpfile's `readpage_elf` does. Segments with `p_paddr == -1` (kcore's vmalloc and
//! vmemmap ranges) have no physical address and are left out of the physical index.

use object::elf::{FileHeader32, FileHeader64, EM_AARCH64, EM_X86_64, ET_CORE, PT_LOAD, PT_NOTE};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;

use crate::notes::{parse_notes_of, Notes};
use crate::{
    Arch, Codec, DumpError, DumpFormat, DumpMeta, Endian, FormatKind, PageState, Result, VmcoreInfo,
};

const NO_PADDR: u64 = u64::MAX;
const DEFAULT_PAGE_SIZE: u64 = 4096;

/// One `PT_LOAD` program header, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Segment {
    /// Physical address (`p_paddr`; `u64::MAX` when the writer had none, as kcore for vmalloc).
    pub paddr: u64,
    /// Virtual address (`p_vaddr`): the kernel mapping for kcore and kernel text, often 0 for QEMU.
    pub vaddr: u64,
    /// File offset of the stored bytes (`p_offset`).
    pub offset: u64,
    /// Bytes stored in the file (`p_filesz`).
    pub filesz: u64,
    /// Bytes of memory the segment describes (`p_memsz`, at least `filesz`).
    pub memsz: u64,
}

/// How the bytes of one piece of physical memory are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backing {
    /// Stored at this file offset (of the piece's first byte).
    File(u64),
    /// Stored beyond the end of the file.
    Lost,
    /// In `p_memsz` but not `p_filesz`: filtered out.
    Excluded,
}

impl Backing {
    /// Lower wins where segments overlap.
    fn rank(self) -> u8 {
        match self {
            Backing::File(_) => 0,
            Backing::Lost => 1,
            Backing::Excluded => 2,
        }
    }
}

/// A maximal run of physical addresses `start..end` with one backing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    start: u64,
    end: u64,
    backing: Backing,
}

/// Where an ELF core's bytes are.
enum Bytes {
    /// A mapped file (or one reassembled in memory).
    Mapped(memmap2::Mmap),
    /// A file read by offset (`/proc/kcore`).
    Read(crate::paged::PagedFile),
}

impl Bytes {
    fn len(&self) -> u64 {
        match self {
            Bytes::Mapped(m) => m.len() as u64,
            Bytes::Read(f) => f.len(),
        }
    }

    /// Copies the bytes at file offset `src` into `dst`; `false` when the file has not them all.
    fn copy(&self, src: u64, dst: &mut [u8]) -> bool {
        match self {
            Bytes::Mapped(m) => {
                let bytes = usize::try_from(src)
                    .ok()
                    .and_then(|s| m.get(s..s.checked_add(dst.len())?));
                bytes.map(|b| dst.copy_from_slice(b)).is_some()
            }
            Bytes::Read(f) => f.read_at(src, dst).is_ok(),
        }
    }
}

/// Most bytes read from the front of a file read by offset for its headers and notes.
const MAX_HEADERS: u64 = 64 << 20;

/// An ELF64 vmcore, memory-mapped or read by offset. Reads go straight to the mapping or
/// through the file's block cache.
pub struct ElfDump {
    bytes: Bytes,
    meta: DumpMeta,
    notes: Notes,
    segments: Vec<Segment>,
    pieces: Vec<Piece>,
    present_pages: u64,
    kcore: bool,
    filtered: bool,
}

fn corrupt(what: &'static str, offset: u64, detail: impl Into<String>) -> DumpError {
    DumpError::Corrupt {
        what,
        offset,
        detail: detail.into(),
    }
}

impl ElfDump {
    /// Parses the header, program headers and notes of a mapped ELF64 or ELF32 core.
    ///
    /// Errors: [`DumpError::Truncated`] when the header or program headers are cut off,
    /// [`DumpError::Unsupported`] for Xen `xc_core` files, [`DumpError::NotADump`] for ELF files
    /// that are not cores, [`DumpError::Corrupt`] for impossible header values. A file cut inside the notes
    /// or the page data opens, marked incomplete.
    pub fn parse(map: memmap2::Mmap) -> Result<ElfDump> {
        Self::parse_headers(Bytes::Mapped(map), None)
    }

    /// Parses a core read by offset (`/proc/kcore`, which cannot be mapped): its headers and
    /// notes are read from the front of the file once; page reads go through its block cache.
    /// Errors as [`parse`](Self::parse), and [`DumpError::Io`] when the front cannot be read.
    pub fn parse_read(file: crate::paged::PagedFile) -> Result<ElfDump> {
        let len = file.len();
        let io = |e| DumpError::io(file.path(), e);
        let front = |n: u64| -> Result<Vec<u8>> {
            let mut v = vec![0u8; n.min(len).min(MAX_HEADERS) as usize];
            file.read_at(0, &mut v).map_err(io)?;
            Ok(v)
        };
        // the header and program headers, then as far as the notes reach
        let mut data = front(crate::paged::BLOCK)?;
        let mut head = Head::read_any(&data);
        if let Err(DumpError::Truncated { end, .. }) = head {
            if end <= len {
                data = front(end)?;
                head = Head::read_any(&data);
            }
        }
        let notes_end = head?
            .phdrs
            .iter()
            .filter(|p| p.p_type == PT_NOTE)
            .map(|p| p.offset.saturating_add(p.filesz))
            .max()
            .unwrap_or(0);
        if notes_end > data.len() as u64 {
            data = front(notes_end)?;
        }
        Self::parse_headers(Bytes::Read(file), Some(data))
    }

    /// Whether the core is read by offset rather than mapped (`/proc/kcore`).
    pub fn is_read_by_offset(&self) -> bool {
        matches!(self.bytes, Bytes::Read(_))
    }

    /// Drops the cached blocks of a core read by offset, so later reads see memory as it is
    /// then (a running kernel's); nothing for a mapped one.
    pub fn forget_cached(&self) {
        if let Bytes::Read(f) = &self.bytes {
            f.forget();
        }
    }

    /// Parses the header, program headers and notes of the core in `bytes`, read from `front`
    /// (the front of the file, which need not hold all of it: the notes are cut where it ends)
    /// or else from the mapping.
    fn parse_headers(bytes: Bytes, front: Option<Vec<u8>>) -> Result<ElfDump> {
        let len = bytes.len();
        let data: &[u8] = match (&front, &bytes) {
            (Some(v), _) => v,
            (None, Bytes::Mapped(m)) => m,
            (None, Bytes::Read(_)) => &[],
        };
        let truncated = |what, end| DumpError::Truncated {
            what,
            offset: 0,
            end,
            len,
        };
        let ident = data
            .get(..16)
            .ok_or_else(|| truncated("ELF identification", 16))?;
        if &ident[..4] != b"\x7fELF" {
            return Err(DumpError::NotADump {
                reason: "no ELF magic".into(),
            });
        }
        let endian = match ident[5] {
            1 => Endian::Little,
            2 => Endian::Big,
            d => return Err(corrupt("ELF header", 5, format!("EI_DATA {d}"))),
        };
        let head = Head::read_any(data)?;
        if head.e_type != ET_CORE {
            return Err(DumpError::NotADump {
                reason: format!(
                    "ELF file is not a core (e_type {}): a vmlinux or module?",
                    head.e_type
                ),
            });
        }
        if head.xen {
            return Err(DumpError::Unsupported {
                what: "Xen xc_core dump (a domain saved by `xl dump-core`)".into(),
            });
        }
        let long32 = head.class32 || crate::machine::word32(head.machine);

        let mut notes = Notes::default();
        let mut incomplete = false;
        let mut segments = Vec::new();
        for ph in &head.phdrs {
            let (at, offset, filesz) = (ph.at, ph.offset, ph.filesz);
            match ph.p_type {
                PT_NOTE => {
                    let start = offset.min(len);
                    let end = offset.saturating_add(filesz);
                    incomplete |= end > len;
                    // Clamped to the file: a truncated note segment yields the notes before the cut.
                    let have = data.len() as u64;
                    let bytes = &data[start.min(have) as usize..end.min(len).min(have) as usize];
                    let mut more = parse_notes_of(bytes, endian, long32);
                    more.locate_at(start);
                    notes.extend(more);
                }
                PT_LOAD => {
                    let seg = Segment {
                        paddr: ph.paddr,
                        vaddr: ph.vaddr,
                        offset,
                        filesz,
                        memsz: ph.memsz,
                    };
                    if seg.filesz > seg.memsz {
                        return Err(corrupt(
                            "ELF program header",
                            at,
                            format!("p_filesz {:#x} > p_memsz {:#x}", seg.filesz, seg.memsz),
                        ));
                    }
                    if seg.offset.checked_add(seg.filesz).is_none()
                        || (seg.paddr != NO_PADDR && seg.paddr.checked_add(seg.memsz).is_none())
                    {
                        return Err(corrupt(
                            "ELF program header",
                            at,
                            "segment wraps around the address space",
                        ));
                    }
                    segments.push(seg);
                }
                _ => {}
            }
        }

        let page_size = notes
            .vmcoreinfo
            .as_deref()
            .and_then(|t| VmcoreInfo::parse(t).page_size())
            .filter(|p| p.is_power_of_two() && (512..=1 << 20).contains(p))
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let pieces = build_pieces(&segments, len);
        incomplete |= pieces.iter().any(|p| p.backing == Backing::Lost);
        let max_end = segments
            .iter()
            .filter(|s| s.paddr != NO_PADDR)
            .map(|s| s.paddr + s.memsz)
            .max()
            .unwrap_or(0);
        let present_pages = count_pages(&pieces, page_size);
        let kcore = detect_kcore(&notes, &segments);
        if kcore {
            // kcore's NT_PRSTATUS is all zeros: no CPU was stopped, no registers were saved
            notes.prstatus.clear();
        }
        let filtered = segments.iter().any(|s| s.filesz < s.memsz);
        let machine = head.machine;
        let format = FormatKind::Elf {
            qemu: !notes.qemu_cpus.is_empty() || notes.other.iter().any(|n| n.name == "QEMU"),
            elf32: head.class32,
            flattened: false,
        };
        let arch = match machine {
            EM_X86_64 => Arch::X86_64,
            EM_AARCH64 => Arch::Aarch64,
            0 => crate::arch_from_contents(notes.vmcoreinfo.as_deref(), &notes.prstatus)
                .unwrap_or(Arch::Other(0)),
            m => Arch::Other(m),
        };
        let meta = DumpMeta {
            max_pfn: max_end.div_ceil(page_size),
            nr_cpus: u32::try_from(notes.prstatus.len()).ok().filter(|&n| n > 0),
            incomplete,
            vmcoreinfo_raw: notes.vmcoreinfo.clone(),
            prstatus: notes.prstatus.clone(),
            qemu_cpus: notes.qemu_cpus.clone(),
            device_dumps: notes.device_dumps.clone(),
            ..DumpMeta::new(format, arch, endian, page_size)
        };
        Ok(ElfDump {
            bytes,
            meta,
            notes,
            segments,
            pieces,
            present_pages,
            kcore,
            filtered,
        })
    }

    /// Reads the ELF vmcore a flattened file (`makedumpfile -F -E`) describes, from its bytes
    /// reassembled in memory; a stream that stopped early makes the dump incomplete.
    pub fn parse_flattened(flat: &crate::flat::FlatFile) -> Result<ElfDump> {
        let mut elf = Self::parse(flat.reassemble()?)?;
        if let FormatKind::Elf { flattened, .. } = &mut elf.meta.format {
            *flattened = true;
        }
        elf.meta.incomplete |= flat.is_truncated();
        Ok(elf)
    }

    /// Length of the (reassembled) ELF file.
    pub fn file_len(&self) -> u64 {
        self.bytes.len()
    }

    /// The `PT_LOAD` segments in program-header order (physical and virtual addresses).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Every note the core carries (including PRPSINFO and undecoded ones).
    pub fn notes(&self) -> &Notes {
        &self.notes
    }

    /// Whether this looks like a copy of `/proc/kcore` (a `vmlinux` PRPSINFO, an `NT_TASKSTRUCT`
    /// note, or only virtual `PT_LOAD`s). Its segments are best used through [`Self::segments`].
    pub fn is_kcore(&self) -> bool {
        self.kcore
    }

    /// Whether some segment has `p_filesz < p_memsz`, i.e. `makedumpfile -E` filtered pages out.
    pub fn is_filtered(&self) -> bool {
        self.filtered
    }

    /// The pieces overlapping physical addresses `start..end`, in address order.
    fn pieces_in(&self, start: u64, end: u64) -> impl Iterator<Item = &Piece> {
        let i = self.pieces.partition_point(|p| p.end <= start);
        self.pieces[i..].iter().take_while(move |p| p.start < end)
    }

    /// Physical range of page `pfn`, if it is addressable.
    fn page_range(&self, pfn: u64) -> Option<(u64, u64)> {
        let start = pfn.checked_mul(self.meta.page_size)?;
        Some((start, start.saturating_add(self.meta.page_size)))
    }
}

/// One program header, whichever the ELF class.
struct Phdr {
    /// File offset of the header itself (for error messages).
    at: u64,
    p_type: u32,
    offset: u64,
    vaddr: u64,
    paddr: u64,
    filesz: u64,
    memsz: u64,
}

/// What the file header and program headers of an ELF32 or ELF64 core say.
struct Head {
    class32: bool,
    e_type: u16,
    machine: u16,
    phdrs: Vec<Phdr>,
    /// Sections name Xen's `xc_core` page and frame tables.
    xen: bool,
}

impl Head {
    /// Reads the header of whichever class the identification names.
    fn read_any(data: &[u8]) -> Result<Head> {
        match data.get(4) {
            Some(2) => Head::read::<FileHeader64<Endianness>>(data),
            Some(1) => Head::read::<FileHeader32<Endianness>>(data),
            Some(&c) => Err(corrupt("ELF header", 4, format!("EI_CLASS {c}"))),
            None => Err(DumpError::Truncated {
                what: "ELF identification",
                offset: 0,
                end: 16,
                len: data.len() as u64,
            }),
        }
    }

    /// Reads the header of class `H`, the program-header table with its size checked against
    /// the file, and the section names that tell a Xen `xc_core` file.
    fn read<H: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<Head> {
        let len = data.len() as u64;
        let ehdr_size = std::mem::size_of::<H>() as u64;
        let phdr_size = std::mem::size_of::<H::ProgramHeader>() as u64;
        if len < ehdr_size {
            return Err(DumpError::Truncated {
                what: "ELF header",
                offset: 0,
                end: ehdr_size,
                len,
            });
        }
        let hdr = H::parse(data).map_err(|e| corrupt("ELF header", 0, e.to_string()))?;
        let e = hdr
            .endian()
            .map_err(|e| corrupt("ELF header", 5, e.to_string()))?;
        let class32 = !hdr.is_class_64();
        let phoff: u64 = hdr.e_phoff(e).into();
        let phnum = hdr
            .phnum(e, data)
            .map_err(|err| corrupt("ELF e_phnum", ehdr_size - 8, err.to_string()))?
            as u64;
        let mut phdrs = Vec::new();
        if phoff != 0 && phnum != 0 {
            if u64::from(hdr.e_phentsize(e)) != phdr_size {
                return Err(corrupt(
                    "ELF header",
                    ehdr_size - 10,
                    format!("e_phentsize {} (expected {phdr_size})", hdr.e_phentsize(e)),
                ));
            }
            let end = phnum
                .checked_mul(phdr_size)
                .and_then(|n| n.checked_add(phoff))
                .ok_or_else(|| {
                    corrupt(
                        "ELF header",
                        if class32 { 28 } else { 32 },
                        format!("e_phoff {phoff:#x} with {phnum} program headers overflows"),
                    )
                })?;
            if end > len {
                return Err(DumpError::Truncated {
                    what: "ELF program headers",
                    offset: phoff,
                    end,
                    len,
                });
            }
            let table = hdr
                .program_headers(e, data)
                .map_err(|err| corrupt("ELF program headers", phoff, err.to_string()))?;
            phdrs = table
                .iter()
                .enumerate()
                .map(|(i, ph)| Phdr {
                    at: phoff + i as u64 * phdr_size,
                    p_type: ph.p_type(e),
                    offset: ph.p_offset(e).into(),
                    vaddr: ph.p_vaddr(e).into(),
                    paddr: widen_paddr(ph.p_paddr(e).into(), class32),
                    filesz: ph.p_filesz(e).into(),
                    memsz: ph.p_memsz(e).into(),
                })
                .collect();
        }
        Ok(Head {
            class32,
            e_type: hdr.e_type(e),
            machine: hdr.e_machine(e),
            phdrs,
            xen: has_xen_sections(hdr, e, data),
        })
    }
}

/// An ELF32 `p_paddr` of all ones is "no physical address", as `-1` is in ELF64.
fn widen_paddr(paddr: u64, class32: bool) -> u64 {
    if class32 && paddr == u64::from(u32::MAX) {
        NO_PADDR
    } else {
        paddr
    }
}

/// Whether the section headers name Xen `xc_core`'s tables (`.xen_pages`, `.xen_p2m`,
/// `.xen_pfn`); unreadable section headers name nothing.
fn has_xen_sections<H: FileHeader<Endian = Endianness>>(
    hdr: &H,
    e: Endianness,
    data: &[u8],
) -> bool {
    let Ok(table) = hdr.sections(e, data) else {
        return false;
    };
    table.iter().any(|s| {
        table
            .section_name(e, s)
            .is_ok_and(|n| matches!(n, b".xen_pages" | b".xen_p2m" | b".xen_pfn"))
    })
}

/// Flattens the segments into sorted, disjoint, maximal pieces (see the module doc for the rules).
fn build_pieces(segments: &[Segment], file_len: u64) -> Vec<Piece> {
    // Candidate ranges: (start, end, backing at start, rank key).
    let mut ranges: Vec<(u64, u64, Backing, (u8, usize))> = Vec::new();
    for (i, s) in segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.paddr != NO_PADDR)
    {
        let stored = s.filesz.min(file_len.saturating_sub(s.offset));
        let parts = [
            (0, stored, Backing::File(s.offset)),
            (stored, s.filesz, Backing::Lost),
            (s.filesz, s.memsz, Backing::Excluded),
        ];
        for (from, to, backing) in parts {
            if from < to {
                ranges.push((s.paddr + from, s.paddr + to, backing, (backing.rank(), i)));
            }
        }
    }
    // Sweep over range boundaries; the active range with the lowest key owns each gap.
    let mut events: Vec<(u64, usize)> = ranges
        .iter()
        .enumerate()
        .flat_map(|(r, &(a, b, ..))| [(a, r), (b, r)])
        .collect();
    events.sort_unstable();
    let mut active = std::collections::BTreeSet::new();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut k = 0;
    while k < events.len() {
        let pos = events[k].0;
        while let Some(&(p, r)) = events.get(k).filter(|(p, _)| *p == pos) {
            let (a, _, _, key) = ranges[r];
            if a == p {
                active.insert((key, r));
            } else {
                active.remove(&(key, r));
            }
            k += 1;
        }
        let (Some(&(next, _)), Some(&(_, r))) = (events.get(k), active.first()) else {
            continue;
        };
        let (a, _, backing, _) = ranges[r];
        let backing = match backing {
            Backing::File(off) => Backing::File(off + (pos - a)),
            b => b,
        };
        push_piece(
            &mut pieces,
            Piece {
                start: pos,
                end: next,
                backing,
            },
        );
    }
    pieces
}

/// Appends a piece, merging it into the previous one when they continue each other.
fn push_piece(pieces: &mut Vec<Piece>, p: Piece) {
    if let Some(last) = pieces.last_mut() {
        let continues = last.end == p.start
            && match (last.backing, p.backing) {
                (Backing::File(a), Backing::File(b)) => a + (last.end - last.start) == b,
                (x, y) => x == y,
            };
        if continues {
            last.end = p.end;
            return;
        }
    }
    pieces.push(p);
}

/// Number of distinct page frames touched by stored pieces.
fn count_pages(pieces: &[Piece], page_size: u64) -> u64 {
    let mut count = 0;
    let mut next_free = 0u64; // first pfn not yet counted
    for p in pieces
        .iter()
        .filter(|p| matches!(p.backing, Backing::File(_)))
    {
        let first = (p.start / page_size).max(next_free);
        let end = (p.end - 1) / page_size + 1;
        count += end.saturating_sub(first);
        next_free = next_free.max(end);
    }
    count
}

fn detect_kcore(notes: &Notes, segments: &[Segment]) -> bool {
    let named = notes
        .prpsinfo
        .as_ref()
        .is_some_and(|p| p.fname == "vmlinux")
        || notes.task_struct;
    let all_virtual = !segments.is_empty()
        && segments
            .iter()
            .all(|s| (s.paddr == NO_PADDR || s.paddr == 0) && s.vaddr >> 63 == 1);
    named || all_virtual
}

impl DumpFormat for ElfDump {
    fn meta(&self) -> &DumpMeta {
        &self.meta
    }

    fn page_state(&self, pfn: u64) -> PageState {
        let Some((start, end)) = self.page_range(pfn) else {
            return PageState::NotRam;
        };
        let (mut file, mut lost, mut excluded) = (false, false, false);
        for p in self.pieces_in(start, end) {
            match p.backing {
                Backing::File(_) => file = true,
                Backing::Lost => lost = true,
                Backing::Excluded => excluded = true,
            }
        }
        if lost {
            PageState::Lost
        } else if file {
            PageState::Present
        } else if excluded {
            PageState::Excluded
        } else {
            PageState::NotRam
        }
    }

    fn read_page(&self, pfn: u64, offset: usize, buf: &mut [u8]) -> Result<()> {
        let ps = self.meta.page_size;
        let Some((page, _)) = self.page_range(pfn) else {
            return Err(DumpError::NotRam { paddr: u64::MAX });
        };
        let Some(req_end) = (offset as u64)
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= ps)
        else {
            return Err(DumpError::Unsupported {
                what: format!(
                    "read of {:#x} bytes at offset {offset:#x} of a {ps:#x}-byte page",
                    buf.len()
                ),
            });
        };
        let paddr = page + offset as u64;
        match self.page_state(pfn) {
            PageState::Present => {}
            PageState::Excluded => {
                return Err(DumpError::Excluded {
                    paddr,
                    dump_level: None,
                })
            }
            PageState::NotRam => return Err(DumpError::NotRam { paddr }),
            PageState::Lost => return Err(DumpError::Lost { paddr }),
        }
        let (start, end) = (paddr, page.saturating_add(req_end));
        buf.fill(0);
        for p in self.pieces_in(start, end) {
            let Backing::File(off) = p.backing else {
                continue;
            };
            let (s, e) = (start.max(p.start), end.min(p.end));
            let dst = (s - start) as usize;
            if !self
                .bytes
                .copy(off + (s - p.start), &mut buf[dst..dst + (e - s) as usize])
            {
                return Err(DumpError::Lost { paddr: s });
            }
        }
        Ok(())
    }

    fn codec_counts(&self) -> Vec<(Codec, u64)> {
        vec![(Codec::None, self.present_pages)]
    }

    fn is_live(&self) -> bool {
        self.kcore && self.is_read_by_offset()
    }

    fn forget_cached(&self) {
        ElfDump::forget_cached(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dump;
    use kdive_testdata::bytes::{put_u16, put_u32, put_u64};
    use kdive_testdata::elf::{core, load, note, ph, prstatus, qemu};

    /// `n` bytes where byte `i` is `(i + seed) % 251`, so every page differs.
    fn pattern(n: usize, seed: usize) -> Vec<u8> {
        (0..n).map(|i| ((i + seed) % 251) as u8).collect()
    }

    fn open(bytes: &[u8]) -> Result<ElfDump> {
        let mut m = memmap2::MmapMut::map_anon(bytes.len().max(1)).expect("anonymous map");
        m[..bytes.len()].copy_from_slice(bytes);
        let m = m.make_read_only().expect("read-only map");
        // map_anon cannot map 0 bytes; an empty image is tested through a 1-byte one.
        ElfDump::parse(m)
    }

    fn dump(bytes: &[u8]) -> Dump {
        Dump::from_format(
            Vec::new(),
            Box::new(open(bytes).expect("synthetic core opens")),
        )
    }

    fn states(d: &ElfDump, pfns: std::ops::Range<u64>) -> Vec<PageState> {
        pfns.map(|p| d.page_state(p)).collect()
    }

    fn all_notes() -> Vec<u8> {
        let mut n = prstatus(565, 0xffff_ffff_8100_0000);
        n.extend(prstatus(0, 0xffff_ffff_8200_0000));
        n.extend(note(
            "VMCOREINFO",
            0,
            b"OSRELEASE=6.1.0-test\nPAGESIZE=4096\n",
        ));
        n.extend(qemu(0x10, 0xffff_8880_0000_0000, 0));
        n
    }

    #[test]
    fn two_loads_with_a_hole() {
        let img = core(
            &[],
            &[
                load(0, pattern(0x2000, 0)),
                load(0x10000, pattern(0x1000, 7)),
            ],
        );
        let d = open(&img).unwrap();
        use PageState::*;
        assert_eq!(
            states(&d, 0..18),
            [[Present; 2].as_slice(), &[NotRam; 14], &[Present, NotRam]].concat()
        );
        assert_eq!(d.meta().max_pfn, 0x11);
        assert_eq!(d.codec_counts(), [(Codec::None, 3)]);
        assert!(!d.meta().incomplete && !d.is_filtered() && !d.is_kcore());
        let dump = dump(&img);
        let mut buf = vec![0u8; 0x2000];
        dump.read_phys(0, &mut buf).unwrap();
        assert_eq!(buf, pattern(0x2000, 0));
        let mut b = [0u8; 16];
        dump.read_phys(0x10008, &mut b).unwrap();
        assert_eq!(b.as_slice(), &pattern(0x1000, 7)[8..24]);
        let err = dump.read_phys(0x1ff0, &mut [0u8; 32]).unwrap_err();
        assert!(matches!(err, DumpError::NotRam { paddr: 0x2000 }), "{err}");
    }

    #[test]
    fn elf32_cores_read_at_their_own_layout() {
        use kdive_testdata::elf::{core32, prstatus32};
        let mut notes = prstatus32(4321, 0x1000, 18);
        notes.extend(prstatus32(0, 0x2000, 18));
        let img = core32(
            crate::machine::EM_ARM,
            &notes,
            &[
                load(0x8000_0000, pattern(0x2000, 1)),
                load(0x8000_4000, pattern(0x1000, 2)),
            ],
        );
        let d = open(&img).unwrap();
        assert_eq!(d.meta().arch.to_string(), "ARM");
        assert!(matches!(
            d.meta().format,
            FormatKind::Elf { elf32: true, .. }
        ));
        let pids: Vec<u32> = d.meta().prstatus.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [4321, 0]);
        assert_eq!(d.meta().prstatus[0].regs.len(), 18);
        assert_eq!(d.meta().prstatus[1].regs[15], 0x2000 + 15); // pc
        assert_eq!(d.meta().nr_cpus, Some(2));
        let dump = dump(&img);
        let mut buf = vec![0u8; 0x1000];
        dump.read_phys(0x8000_4000, &mut buf).unwrap();
        assert_eq!(buf, pattern(0x1000, 2));
        assert!(matches!(
            dump.read_phys(0x8000_2000, &mut buf),
            Err(DumpError::NotRam { paddr: 0x8000_2000 })
        ));
    }

    #[test]
    fn flattened_elf_reads_as_the_plain_one() {
        let mut l = load(0x4000, pattern(0x1000, 3));
        l.memsz = 0x3000;
        let img = core(&all_notes(), &[l, load(0x7000, pattern(0x2000, 5))]);
        // makedumpfile writes to a pipe: records in any order
        let (a, b) = img.split_at(0x180);
        let flat = kdive_testdata::flat::flatten(&[(0x180, b), (0, a)], true);
        let f = crate::flat::FlatFile::index(flat.clone()).unwrap();
        let d = ElfDump::parse_flattened(&f).unwrap();
        let plain = open(&img).unwrap();
        assert!(matches!(
            d.meta().format,
            FormatKind::Elf {
                flattened: true,
                ..
            }
        ));
        assert!(!d.meta().incomplete);
        assert_eq!(d.meta().prstatus[0].pid, 565);
        assert_eq!(states(&d, 0..12), states(&plain, 0..12));
        let mut x = [0u8; 64];
        let mut y = [0u8; 64];
        d.read_page(8, 100, &mut x).unwrap();
        plain.read_page(8, 100, &mut y).unwrap();
        assert_eq!(x, y);
        // a stream cut before its end record: incomplete, the pages it lost are lost
        let in_order = kdive_testdata::flat::flatten(&[(0, a), (0x180, b)], true);
        let cut = &in_order[..in_order.len() - 0x1000 - 16];
        let f = crate::flat::FlatFile::index(cut.to_vec()).unwrap();
        let d = ElfDump::parse_flattened(&f).unwrap();
        assert!(d.meta().incomplete);
        assert_eq!(d.page_state(8), PageState::Lost);
    }

    #[test]
    fn xen_xc_core_is_refused_by_name() {
        let img = kdive_testdata::elf::xc_core();
        let e = open(&img).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("Xen xc_core"), "{e}");
    }

    #[test]
    fn tail_beyond_filesz_is_excluded() {
        let mut l = load(0x4000, pattern(0x1000, 3));
        l.memsz = 0x3000;
        let img = core(&[], &[l, load(0x7000, pattern(0x1000, 5))]);
        let d = open(&img).unwrap();
        use PageState::*;
        assert_eq!(
            states(&d, 3..9),
            [NotRam, Present, Excluded, Excluded, Present, NotRam]
        );
        assert!(d.is_filtered() && !d.meta().incomplete);
        let mut b = [0u8; 8];
        let err = d.read_page(5, 8, &mut b).unwrap_err();
        assert!(
            matches!(
                err,
                DumpError::Excluded {
                    paddr: 0x5008,
                    dump_level: None
                }
            ),
            "{err}"
        );
        assert!(err.is_missing_page());
        // A segment that is all tail (makedumpfile writes p_offset 0, p_filesz 0).
        let mut img = core(&[], &[load(0x100000, Vec::new())]);
        put_u64(&mut img, ph(1) + 40, 0xf00000);
        let d = open(&img).unwrap();
        assert_eq!(states(&d, 0xff..0x101), [NotRam, Excluded]);
        assert_eq!(d.page_state(0xfff), Excluded);
        assert_eq!(d.meta().max_pfn, 0x1000);
    }

    #[test]
    fn notes_and_meta() {
        let img = core(&all_notes(), &[load(0x1000, pattern(0x1000, 0))]);
        let d = open(&img).unwrap();
        let m = d.meta();
        assert!(matches!(m.format, FormatKind::Elf { qemu: true, .. }));
        assert_eq!(
            (m.arch, m.endian, m.page_size, m.nr_cpus),
            (Arch::X86_64, Endian::Little, 4096, Some(2))
        );
        assert_eq!(
            m.vmcoreinfo_raw.as_deref(),
            Some("OSRELEASE=6.1.0-test\nPAGESIZE=4096\n")
        );
        assert_eq!(m.prstatus.len(), 2);
        assert_eq!(m.prstatus[0].pid, 565);
        assert_eq!(m.prstatus[0].regs[16], 0xffff_ffff_8100_0010);
        assert_eq!(m.qemu_cpus.len(), 1);
        assert_eq!(m.qemu_cpus[0].gs_base, 0xffff_8880_0000_0000);
        assert!(m.dump_level.is_none() && m.utsname.is_none() && !m.incomplete);
        let dump = Dump::from_format(Vec::new(), Box::new(d));
        assert_eq!(
            dump.vmcoreinfo().and_then(|v| v.osrelease()),
            Some("6.1.0-test")
        );
    }

    #[test]
    fn page_size_from_vmcoreinfo() {
        for (text, want) in [
            ("PAGESIZE=16384\n", 16384),
            ("PAGESIZE=0\n", 4096),
            ("PAGESIZE=12345\n", 4096),
        ] {
            let img = core(
                &note("VMCOREINFO", 0, text.as_bytes()),
                &[load(0, pattern(0x8000, 0))],
            );
            let d = open(&img).unwrap();
            assert_eq!(d.meta().page_size, want, "{text}");
            assert_eq!(d.meta().max_pfn, 0x8000 / want);
        }
    }

    #[test]
    fn truncation_at_every_byte() {
        let notes = all_notes();
        let img = core(
            &notes,
            &[
                load(0, pattern(0x2000, 0)),
                load(0x3000, pattern(0x1000, 9)),
            ],
        );
        let (phend, notes_end) = (ph(3), ph(3) + notes.len());
        for cut in 1..img.len() {
            let r = open(&img[..cut]);
            if cut < phend {
                let what = if cut < 64 {
                    "ELF"
                } else {
                    "ELF program headers"
                };
                match r {
                    Err(DumpError::Truncated { what: w, len, .. }) => {
                        assert!(w.starts_with(what) && len == cut as u64, "{cut}: {w}")
                    }
                    Err(e) => panic!("cut {cut}: {e}"),
                    Ok(_) => panic!("cut {cut}: opened"),
                }
                continue;
            }
            let d = r.unwrap_or_else(|e| panic!("cut {cut}: {e}"));
            assert!(d.meta().incomplete, "cut {cut}");
            let notes_cut = cut < notes_end;
            assert!(d.meta().prstatus.len() <= 2);
            if notes_cut {
                assert_eq!(
                    states(&d, 0..4),
                    [
                        PageState::Lost,
                        PageState::Lost,
                        PageState::NotRam,
                        PageState::Lost
                    ]
                );
            } else {
                let data = cut - notes_end;
                assert_eq!(d.meta().prstatus.len(), 2);
                let want = |pfn_off: usize| {
                    if data >= pfn_off + 0x1000 {
                        PageState::Present
                    } else {
                        PageState::Lost
                    }
                };
                assert_eq!(
                    states(&d, 0..4),
                    [want(0), want(0x1000), PageState::NotRam, want(0x2000)],
                    "cut {cut}"
                );
                let mut b = [0u8; 4];
                match d.read_page(0, 0, &mut b) {
                    Ok(()) => assert_eq!(b, [0, 1, 2, 3]),
                    Err(e) => assert!(matches!(e, DumpError::Lost { paddr: 0 }), "{e}"),
                }
            }
        }
    }

    #[test]
    fn garbage_headers_are_errors() {
        let good = core(&all_notes(), &[load(0, pattern(0x1000, 0))]);
        let bad = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut v = good.clone();
            f(&mut v);
            open(&v)
        };
        let is = |r: Result<ElfDump>, want: fn(&DumpError) -> bool| match r {
            Err(e) => assert!(want(&e), "unexpected error {e}"),
            Ok(_) => panic!("garbage opened"),
        };
        is(bad(&|v| put_u16(v, 56, 0xfffe)), |e| {
            matches!(e, DumpError::Truncated { .. })
        });
        is(bad(&|v| put_u16(v, 56, 0xffff)), |e| {
            matches!(e, DumpError::Corrupt { .. })
        }); // PN_XNUM, no sections
        is(bad(&|v| put_u64(v, 32, 1 << 40)), |e| {
            matches!(e, DumpError::Truncated { .. })
        });
        is(bad(&|v| put_u64(v, 32, u64::MAX - 8)), |e| {
            matches!(e, DumpError::Corrupt { .. })
        });
        is(bad(&|v| put_u64(v, 32, 65)), |e| {
            matches!(e, DumpError::Corrupt { .. })
        }); // misaligned
        is(bad(&|v| put_u16(v, 54, 32)), |e| {
            matches!(e, DumpError::Corrupt { .. })
        });
        is(bad(&|v| put_u16(v, 16, 2)), |e| {
            matches!(e, DumpError::NotADump { .. })
        });
        // read as ELF32, the ELF64 header places no program headers
        assert!(bad(&|v| v[4] = 1).map_or(true, |d| d.segments().is_empty()));
        is(bad(&|v| v[5] = 9), |e| {
            matches!(e, DumpError::Corrupt { .. })
        });
        is(bad(&|v| put_u64(v, ph(1) + 32, 0x2000)), |e| {
            matches!(e, DumpError::Corrupt { .. })
        }); // filesz > memsz
        is(bad(&|v| put_u64(v, ph(1) + 8, u64::MAX - 8)), |e| {
            matches!(e, DumpError::Corrupt { .. })
        });
        is(bad(&|v| put_u64(v, ph(1) + 24, u64::MAX - 8)), |e| {
            matches!(e, DumpError::Corrupt { .. })
        });
        is(open(b"\x7fEL"), |e| {
            matches!(e, DumpError::Truncated { .. })
        });
        is(open(b"MZ\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), |e| {
            matches!(e, DumpError::NotADump { .. })
        });
        // p_offset beyond EOF: opens, the segment is lost. Same for the note segment.
        let d = bad(&|v| put_u64(v, ph(1) + 8, 1 << 40)).unwrap();
        assert_eq!(d.page_state(0), PageState::Lost);
        assert!(d.meta().incomplete);
        let d = bad(&|v| put_u64(v, ph(0) + 8, 1 << 40)).unwrap();
        assert!(d.meta().vmcoreinfo_raw.is_none() && d.meta().incomplete);
        assert_eq!(d.page_state(0), PageState::Present);
        // Huge page numbers do not overflow.
        assert_eq!(d.page_state(u64::MAX), PageState::NotRam);
        assert!(d.read_page(u64::MAX, 0, &mut [0u8; 8]).is_err());
        assert!(d.read_page(0, 4090, &mut [0u8; 8]).is_err());
    }

    #[test]
    fn extended_phnum() {
        // e_phnum = PN_XNUM: the real count is sh_info of section header 0 (makedumpfile writes
        // this for more than 65534 segments).
        let mut img = core(
            &all_notes(),
            &[
                load(0, pattern(0x1000, 0)),
                load(0x2000, pattern(0x1000, 1)),
            ],
        );
        img.resize(img.len().next_multiple_of(8), 0);
        let shoff = img.len();
        img.resize(shoff + 64, 0);
        put_u32(&mut img, shoff + 44, 3); // sh_info
        put_u64(&mut img, 40, shoff as u64);
        put_u16(&mut img, 58, 64);
        put_u16(&mut img, 56, 0xffff);
        let d = open(&img).unwrap();
        assert_eq!(d.segments().len(), 2);
        assert_eq!(
            states(&d, 0..3),
            [PageState::Present, PageState::NotRam, PageState::Present]
        );
    }

    #[test]
    fn overlapping_segments() {
        // Like an x86_64 vmcore: kernel text mapped by its own segment and again in the direct map;
        // here the direct-map copy has the text range as an excluded tail.
        let text = pattern(0x2000, 1);
        let mut direct = load(0x1000, pattern(0x1000, 2));
        direct.memsz = 0x4000;
        let mut ktext = load(0x2000, text.clone());
        ktext.vaddr = 0xffff_ffff_8100_0000;
        let dup = load(0x2000, pattern(0x1000, 99)); // a later, conflicting copy loses
        let img = core(&[], &[direct, ktext, dup]);
        let d = open(&img).unwrap();
        use PageState::*;
        assert_eq!(
            states(&d, 0..6),
            [NotRam, Present, Present, Present, Excluded, NotRam]
        );
        let mut buf = vec![0u8; 0x2000];
        dump(&img).read_phys(0x2000, &mut buf).unwrap();
        assert_eq!(buf, text);
        assert_eq!(d.codec_counts(), [(Codec::None, 3)]);
        assert_eq!(d.segments().len(), 3);
        assert_eq!(d.segments()[1].vaddr, 0xffff_ffff_8100_0000);
    }

    #[test]
    fn reads_span_segments_and_partial_pages() {
        // Two adjacent segments stored in reverse file order, then RAM ending mid-page.
        let img = core(
            &[],
            &[
                load(0x1000, pattern(0x1000, 2)),
                load(0, pattern(0x1000, 1)),
                load(0x2000, pattern(0xc00, 3)),
            ],
        );
        let dump = dump(&img);
        let mut b = vec![0u8; 32];
        dump.read_phys(0xff0, &mut b).unwrap();
        assert_eq!(b[..16], pattern(0x1000, 1)[0xff0..]);
        assert_eq!(b[16..], pattern(0x1000, 2)[..16]);
        assert_eq!(dump.page_state(0x2fff), PageState::Present);
        let mut tail = vec![0xffu8; 0x20];
        dump.read_phys(0x2bf0, &mut tail).unwrap();
        assert_eq!(tail[..16], pattern(0xc00, 3)[0xbf0..]);
        assert!(tail[16..].iter().all(|&x| x == 0));
        assert_eq!(dump.meta().max_pfn, 3);
    }

    /// A copy of the synthetic kernel's `/proc/kcore` written as `DIR/proc/kcore`.
    fn fake_kcore(tag: &str) -> (kdive_testdata::temp::Scratch, std::path::PathBuf, Vec<u8>) {
        let k = kdive_testdata::kernel::kernel();
        let img = kdive_testdata::kernel::kcore(&k.phys, &k.vmcoreinfo, &[7u8; 64]);
        let dir = kdive_testdata::temp::Scratch::new(tag);
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        let path = dir.path().join("proc/kcore");
        std::fs::write(&path, &img).unwrap();
        (dir, path, k.phys.clone())
    }

    #[test]
    fn kcore_reads_by_offset_as_a_mapping_would() {
        let (_dir, path, phys) = fake_kcore("kcore-read");
        let file = crate::paged::PagedFile::open(&path).unwrap();
        let read = ElfDump::parse_read(file).unwrap();
        let mapped = open(&std::fs::read(&path).unwrap()).unwrap();
        assert!(read.is_kcore() && read.is_read_by_offset() && !mapped.is_read_by_offset());
        assert_eq!(read.segments(), mapped.segments());
        assert_eq!(read.meta().vmcoreinfo_raw, mapped.meta().vmcoreinfo_raw);
        // kcore's NT_PRSTATUS is a zeroed placeholder, not a CPU's registers
        assert!(read.meta().prstatus.is_empty() && read.meta().nr_cpus.is_none());
        assert_eq!(read.notes().prpsinfo.as_ref().unwrap().fname, "vmlinux");
        // the vmalloc segment has no physical address: the text and RAM segments index the pages
        assert_eq!(read.segments()[1].paddr, NO_PADDR);
        let d = Dump::from_format(Vec::new(), Box::new(read));
        assert!(d.is_live());
        let mut buf = vec![0u8; phys.len()];
        d.read_phys(0, &mut buf).unwrap();
        assert_eq!(buf, phys);
        let mut b = [0u8; 24];
        d.read_phys(0x1ff8, &mut b).unwrap();
        assert_eq!(b.as_slice(), &phys[0x1ff8..0x2010]);
    }

    #[test]
    fn kcore_is_opened_live_and_reads_memory_as_it_is_after_forgetting() {
        let (_dir, path, phys) = fake_kcore("kcore-live");
        let d = Dump::open(&path).unwrap();
        assert!(d.is_live());
        let mut b = [0u8; 8];
        d.read_phys(0x1000, &mut b).unwrap();
        assert_eq!(b.as_slice(), &phys[0x1000..0x1008]);
        // the running kernel writes to that page (both mappings of it change)
        let mut img = std::fs::read(&path).unwrap();
        let segs = open(&img).unwrap().segments().to_vec();
        for s in segs.iter().filter(|s| s.paddr == 0) {
            let at = (s.offset + 0x1000) as usize;
            img[at..at + 8].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        }
        std::fs::write(&path, &img).unwrap();
        d.read_phys(0x1000, &mut b).unwrap();
        assert_eq!(
            b.as_slice(),
            &phys[0x1000..0x1008],
            "cached until forgotten"
        );
        d.forget_cached();
        d.read_phys(0x1000, &mut b).unwrap();
        assert_eq!(u64::from_le_bytes(b), 0x1122_3344_5566_7788);
        // a copy under another name is an ordinary (mapped, not live) dump
        let copy = path.with_file_name("kcore.copy");
        std::fs::write(&copy, &img).unwrap();
        assert!(!Dump::open(&copy).unwrap().is_live());
    }

    #[test]
    fn kcore_is_detected() {
        let mut ps = vec![0u8; 136];
        ps[40..47].copy_from_slice(b"vmlinux");
        let mut notes = note("CORE", crate::notes::NT_PRPSINFO, &ps);
        notes.extend(note("VMCOREINFO", 0, b"PAGESIZE=4096\n"));
        let mut vm = load(NO_PADDR, pattern(0x1000, 0));
        vm.vaddr = 0xffff_c900_0000_0000;
        let mut ram = load(0x1000, pattern(0x1000, 4));
        ram.vaddr = 0xffff_8880_0000_1000;
        let d = open(&core(&notes, &[vm, ram])).unwrap();
        assert!(d.is_kcore());
        assert_eq!(
            states(&d, 0..3),
            [PageState::NotRam, PageState::Present, PageState::NotRam]
        );
        assert_eq!(d.meta().max_pfn, 2);
        let plain = open(&core(&all_notes(), &[load(0, pattern(0x1000, 0))])).unwrap();
        assert!(!plain.is_kcore());
    }

    #[test]
    fn random_corruption_never_panics() {
        let img = core(
            &all_notes(),
            &[
                load(0, pattern(0x2000, 0)),
                load(0x1000, pattern(0x1000, 5)),
            ],
        );
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let mut v = img.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % (ph(3) as u64 + 64)) as usize % v.len();
                v[at] = next() as u8;
            }
            let Ok(d) = open(&v) else { continue };
            let mut buf = [0u8; 64];
            for s in d.segments().to_vec() {
                for pfn in [
                    s.paddr / 4096,
                    s.paddr.saturating_add(s.memsz) / 4096,
                    0,
                    1,
                    2,
                ] {
                    let _ = d.page_state(pfn);
                    let _ = d.read_page(pfn, 0, &mut buf);
                }
            }
        }
    }
}
