//! The dump layer: which physical pages a crash dump holds, and their contents.
//!
//! Every container format (ELF vmcore / QEMU ELF, kdump-compressed incl. QEMU's,
//! flattened) implements [`DumpFormat`]; [`Dump`] wraps the one that matched and
//! adds page-spanning reads. Nothing here knows about kernel virtual memory.

pub mod bulk;
pub mod codec;
pub mod elf;
pub mod error;
pub mod flat;
pub mod foreign;
pub mod kdump;
pub mod live;
pub mod machine;
pub mod notes;
pub mod paged;
pub mod physmem;
pub mod rescue;
pub mod resident;
pub mod split;
pub mod stats;
pub mod vmcoreinfo;

use std::path::{Path, PathBuf};

pub use error::DumpError;
pub use notes::{PrStatus, QemuCpuState};
pub use split::Part;
pub use stats::PageStats;
pub use vmcoreinfo::VmcoreInfo;

/// Result type of the dump layer.
pub type Result<T, E = DumpError> = std::result::Result<T, E>;

/// CPU architecture of the dumped machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Arch {
    X86_64,
    Aarch64,
    /// Anything else, with the ELF machine number or kdump name when known.
    Other(u16),
}

/// The architecture a dump's contents imply, for containers whose header does not say:
/// VMCOREINFO entries only one architecture writes, else the size of the `NT_PRSTATUS`
/// register sets (aarch64: x0-x30, sp, pc, pstate; x86_64: 27 words).
pub fn arch_from_contents(vmcoreinfo: Option<&str>, prstatus: &[PrStatus]) -> Option<Arch> {
    if let Some(info) = vmcoreinfo.map(VmcoreInfo::parse) {
        const ARM64: [&str; 3] = ["kimage_voffset", "TCR_EL1_T1SZ", "KERNELPACMASK"];
        if ARM64.iter().any(|n| info.number(n).is_some()) {
            return Some(Arch::Aarch64);
        }
        if info.symbol("init_top_pgt").is_some() || info.number("phys_base").is_some() {
            return Some(Arch::X86_64);
        }
    }
    match prstatus.first()?.regs.len() {
        34 => Some(Arch::Aarch64),
        27 => Some(Arch::X86_64),
        _ => None,
    }
}

/// Byte order of the dumped machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Endian {
    Little,
    Big,
}

/// Which container a dump came in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum FormatKind {
    /// ELF core: `/proc/vmcore` copy, `makedumpfile -E` (`flattened` with `-F`), QEMU
    /// `dump-guest-memory` ELF, `/proc/kcore`; `elf32` for ELFCLASS32 files.
    Elf {
        qemu: bool,
        elf32: bool,
        flattened: bool,
    },
    /// makedumpfile's kdump-compressed format (`KDUMP   ` or old `DISKDUMP` signature).
    Kdump {
        header_version: u32,
        diskdump: bool,
        flattened: bool,
        qemu: bool,
    },
    /// The running machine's physical memory through a memory device (`/dev/crash`,
    /// `/dev/mem`), its RAM ranges from `/proc/iomem`.
    MemoryDevice { device: String },
}

/// Page compression as recorded per page in a kdump file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Codec {
    None,
    Zlib,
    Lzo,
    Snappy,
    Zstd,
}

/// What the dump knows about one page frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PageState {
    /// The page's contents are in the dump.
    Present,
    /// The page is RAM but the dump filtered it out (makedumpfile dump level).
    Excluded,
    /// The frame is not RAM on the dumped machine (a hole, MMIO), as far as the dump says.
    NotRam,
    /// The page should be there but is not: an incomplete or truncated dump.
    Lost,
}

/// The header's copy of `struct new_utsname` (kdump files; QEMU fills only `machine`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Utsname {
    pub sysname: String,
    pub nodename: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    pub domainname: String,
}

/// Metadata read from the container once at open time.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DumpMeta {
    pub format: FormatKind,
    pub arch: Arch,
    pub endian: Endian,
    /// Page size of the dumped machine (kdump `block_size`, else 4096 or VMCOREINFO `PAGESIZE`).
    pub page_size: u64,
    /// One past the highest page frame number the dump describes.
    pub max_pfn: u64,
    /// makedumpfile dump level (the `-d` bits), when recorded.
    pub dump_level: Option<u32>,
    /// The header's utsname (kdump files).
    pub utsname: Option<Utsname>,
    /// The header's timestamp (seconds, microseconds), kdump files.
    pub timestamp: Option<(i64, i64)>,
    /// CPU count from the header (kdump `nr_cpus`) or the number of PRSTATUS notes.
    pub nr_cpus: Option<u32>,
    /// The dump was marked incomplete by its writer (kdump status flag) or is truncated.
    pub incomplete: bool,
    /// Pfn range `[start, end)` this file covers when it is one part of a split set.
    pub split_range: Option<(u64, u64)>,
    /// Raw VMCOREINFO note text, if any.
    pub vmcoreinfo_raw: Option<String>,
    /// `NT_PRSTATUS` notes, one per CPU, in note order.
    pub prstatus: Vec<PrStatus>,
    /// QEMU CPU state notes (`QEMU` notes of `dump-guest-memory`), in note order.
    pub qemu_cpus: Vec<QemuCpuState>,
    /// Device dumps (vmcoredd notes) in note order, their offsets in the file.
    pub device_dumps: Vec<notes::DeviceDump>,
}

impl DumpMeta {
    /// The metadata of a container that records only its format, architecture, byte order and
    /// page size: no pfn bound, header fields, notes or VMCOREINFO yet.
    pub fn new(format: FormatKind, arch: Arch, endian: Endian, page_size: u64) -> DumpMeta {
        DumpMeta {
            format,
            arch,
            endian,
            page_size,
            max_pfn: 0,
            dump_level: None,
            utsname: None,
            timestamp: None,
            nr_cpus: None,
            incomplete: false,
            split_range: None,
            vmcoreinfo_raw: None,
            prstatus: Vec::new(),
            qemu_cpus: Vec::new(),
            device_dumps: Vec::new(),
        }
    }
}

/// A dump container format: pages by frame number.
pub trait DumpFormat: Send + Sync {
    /// Metadata parsed at open time.
    fn meta(&self) -> &DumpMeta;
    /// What the dump knows of page frame `pfn`.
    fn page_state(&self, pfn: u64) -> PageState;
    /// The first pfn after `pfn` whose state may differ from `pfn`'s: `pfn + 1` unless the
    /// format knows a longer run (a hole of a kdump bitmap), so page statistics need not ask
    /// every pfn of a huge, mostly empty memory map.
    fn next_change(&self, pfn: u64) -> u64 {
        pfn.saturating_add(1)
    }
    /// Reads `buf.len()` bytes at `offset` within page `pfn` (`offset + buf.len() <= page_size`).
    /// Errors: [`DumpError::Excluded`], [`DumpError::NotRam`], [`DumpError::Lost`] for absent pages,
    /// others for corrupt data.
    fn read_page(&self, pfn: u64, offset: usize, buf: &mut [u8]) -> Result<()>;
    /// Reads whole pages `pfn, pfn + 1, ...` into `buf` (a multiple of the page size): a bulk read
    /// of data read once, which formats that decode pages do without filling their page cache.
    /// Fails like [`read_page`](Self::read_page) on the first page it cannot read.
    fn read_pages(&self, pfn: u64, buf: &mut [u8]) -> Result<()> {
        let ps = self.meta().page_size;
        let Ok(size) = usize::try_from(ps) else {
            return Err(DumpError::Unsupported {
                what: format!("page size {ps:#x}"),
            });
        };
        for (i, page) in buf.chunks_mut(size.max(1)).enumerate() {
            self.read_page(pfn.saturating_add(i as u64), 0, page)?;
        }
        Ok(())
    }
    /// Page counts per codec (kdump files; ELF reports everything as `Codec::None`).
    fn codec_counts(&self) -> Vec<(Codec, u64)> {
        Vec::new()
    }
    /// Whether the pages are a running kernel's memory, read as they are at each read.
    fn is_live(&self) -> bool {
        false
    }
    /// Drops what the reader caches of the pages' contents (a running kernel's memory changes).
    fn forget_cached(&self) {}
    /// Of the present pages, how many the container stores as one shared all-zero page
    /// (kdump's `pd_zero`); 0 when it does not tell.
    fn zero_page_count(&self) -> u64 {
        0
    }
    /// Page counts over `0..max_pfn` when the format counts them without asking each pfn (a
    /// kdump file counts its bitmaps a word at a time and its descriptors in one pass); `None`:
    /// they are counted from [`page_state`](Self::page_state) runs.
    fn page_stats(&self) -> Option<PageStats> {
        None
    }
    /// Page descriptors (a container's index entry per stored page) read so far: what
    /// counting and finding pages cost, whatever the machine's speed (0 without such an index).
    fn descriptors_read(&self) -> u64 {
        0
    }
}

/// What a file is, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A crash dump (ELF core, kdump-compressed, flattened).
    Dump,
    /// An ELF file that is not a core: a vmlinux or a module.
    ElfObject,
    /// Anything else.
    Other,
}

/// Tells a dump from a vmlinux or module without parsing either.
pub fn sniff(path: impl AsRef<Path>) -> std::io::Result<FileKind> {
    use std::io::Read;
    if physmem::is_memory_device_name(path.as_ref()) {
        return Ok(FileKind::Dump);
    }
    let mut head = [0u8; 18];
    let mut f = std::fs::File::open(path)?;
    let n = f.read(&mut head)?;
    let head = &head[..n];
    if head.starts_with(b"\x7fELF") {
        let e_type = match head.get(5) {
            Some(2) => head.get(16..18).map(|b| u16::from_be_bytes([b[0], b[1]])),
            _ => head.get(16..18).map(|b| u16::from_le_bytes([b[0], b[1]])),
        };
        return Ok(if e_type == Some(object::elf::ET_CORE) {
            FileKind::Dump
        } else {
            FileKind::ElfObject
        });
    }
    let dump = [flat::SIGNATURE, b"KDUMP   ", b"DISKDUMP"]
        .iter()
        .any(|sig| head.starts_with(sig))
        || foreign::identify(head).is_some();
    Ok(if dump {
        FileKind::Dump
    } else {
        FileKind::Other
    })
}

/// Where a dump's VMCOREINFO came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum VmcoreInfoOrigin {
    /// The container's note or header copy.
    Container,
    /// Found in the dumped memory (see [`Dump::recover_vmcoreinfo`]), at this physical address.
    Memory { paddr: u64 },
}

/// One file of a dump: its length and, when the container says, the length it needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileExtent {
    pub path: PathBuf,
    pub len: u64,
    /// End of the last byte the headers place in the file (ELF: `p_offset + p_filesz`).
    pub needed: Option<u64>,
}

/// An opened crash dump: one format reader plus convenience reads.
pub struct Dump {
    paths: Vec<PathBuf>,
    inner: Box<dyn DumpFormat>,
    vmcoreinfo: Option<VmcoreInfo>,
    vmcoreinfo_origin: Option<VmcoreInfoOrigin>,
    parts: Vec<split::Part>,
    missing: Vec<(u64, u64)>,
    files: Vec<FileExtent>,
    /// Pfns where page states may change, when the container says (see [`stats::runs`]).
    bounds: Option<Vec<u64>>,
    zero_excluded: bool,
    stats: std::sync::OnceLock<PageStats>,
    /// Page reads asked of the format so far (see [`Dump::pages_read`]).
    pages_read: std::sync::atomic::AtomicU64,
}

/// The pfns at which an ELF dump's page states may change: both pages around each edge of
/// each segment's stored, lost and excluded parts.
fn elf_bounds(segments: &[elf::Segment], file_len: u64, page_size: u64) -> Vec<u64> {
    let mut b = Vec::new();
    for s in segments.iter().filter(|s| s.paddr != u64::MAX) {
        let stored = s.filesz.min(file_len.saturating_sub(s.offset));
        for len in [0, stored, s.filesz, s.memsz] {
            let edge = s.paddr.saturating_add(len);
            b.extend([edge / page_size, edge.div_ceil(page_size)]);
        }
    }
    b.sort_unstable();
    b.dedup();
    b
}

/// One opened file: its format reader, extent, and state bounds when known.
struct Opened {
    format: Box<dyn DumpFormat>,
    extent: FileExtent,
    bounds: Option<Vec<u64>>,
}

/// Whether `path` names the running kernel's memory (`/proc/kcore`, or a `kcore` under another
/// root): read by offset, never mapped, its pages not kept across [`Dump::forget_cached`].
pub fn is_live_name(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "kcore")
}

/// Opens one file as whatever format its first bytes name.
fn open_file(path: &Path) -> Result<Opened> {
    let file = std::fs::File::open(path).map_err(|e| DumpError::io(path, e))?;
    if physmem::is_memory_device_name(path) {
        let dev = physmem::PhysMem::open(file, path)?;
        return Ok(Opened {
            extent: FileExtent {
                path: path.to_path_buf(),
                len: dev.meta().max_pfn.saturating_mul(dev.meta().page_size),
                needed: None,
            },
            bounds: Some(dev.bounds()),
            format: Box::new(dev),
        });
    }
    let map = if is_live_name(path) {
        None
    } else {
        // SAFETY: the mapping is read-only; a dump file changing underneath us is outside our
        // contract.
        unsafe { memmap2::Mmap::map(&file) }.ok()
    };
    let Some(map) = map else {
        // procfs files and devices cannot be mapped: read by offset
        let len = file.metadata().map_err(|e| DumpError::io(path, e))?.len();
        let elf = elf::ElfDump::parse_read(paged::PagedFile::new(file, path, len))?;
        return Ok(Opened {
            extent: FileExtent {
                path: path.to_path_buf(),
                len,
                needed: None,
            },
            bounds: Some(elf_bounds(elf.segments(), len, elf.meta().page_size)),
            format: Box::new(elf),
        });
    };
    let mut extent = FileExtent {
        path: path.to_path_buf(),
        len: map.len() as u64,
        needed: None,
    };
    let mut bounds = None;
    let format: Box<dyn DumpFormat> = if map.starts_with(b"\x7fELF") {
        let elf = elf::ElfDump::parse(map)?;
        extent.needed = elf.segments().iter().map(|s| s.offset + s.filesz).max();
        bounds = Some(elf_bounds(elf.segments(), extent.len, elf.meta().page_size));
        Box::new(elf)
    } else if map.starts_with(flat::SIGNATURE) {
        let flat = flat::FlatFile::index(map)?;
        let mut head = [0u8; 4];
        if flat.read_at("flattened file", 0, &mut head).is_ok() && head == *b"\x7fELF" {
            // makedumpfile -F -E: an ELF vmcore, read from its reassembled bytes
            let elf = elf::ElfDump::parse_flattened(&flat)?;
            let len = elf.file_len();
            extent.needed = elf.segments().iter().map(|s| s.offset + s.filesz).max();
            bounds = Some(elf_bounds(elf.segments(), len, elf.meta().page_size));
            Box::new(elf)
        } else {
            Box::new(kdump::KdumpFile::parse_flattened(flat)?)
        }
    } else if map.starts_with(b"KDUMP   ") || map.starts_with(b"DISKDUMP") {
        Box::new(kdump::KdumpFile::parse(kdump::Source::Mapped(map))?)
    } else if let Some(what) = foreign::identify(&map) {
        return Err(DumpError::Unsupported {
            what: format!(
                "{what} ({}): kdive reads ELF, kdump-compressed and flattened dumps",
                path.display()
            ),
        });
    } else {
        return Err(DumpError::NotADump {
            reason: format!("{}: no ELF, kdump or flattened signature", path.display()),
        });
    };
    Ok(Opened {
        format,
        extent,
        bounds,
    })
}

impl Dump {
    /// Opens a dump file, detecting its format from its first bytes.
    pub fn open(path: impl AsRef<Path>) -> Result<Dump> {
        Self::open_set(&[path.as_ref()])
    }

    /// Opens one dump from one file, or from the parts of a `makedumpfile --split` set given
    /// in any order (one part alone opens too, its missing parts reported by [`Dump::missing`]).
    pub fn open_set(paths: &[impl AsRef<Path>]) -> Result<Dump> {
        let mut opened = Vec::with_capacity(paths.len());
        for p in paths {
            opened.push(open_file(p.as_ref())?);
        }
        let files = opened.iter().map(|o| o.extent.clone()).collect();
        let single = opened.len() == 1 && opened[0].format.meta().split_range.is_none();
        let mut dump = if single {
            let o = opened.remove(0);
            let mut dump = Self::from_format(vec![o.extent.path], o.format);
            dump.bounds = o.bounds;
            dump.add_running_build_id();
            dump
        } else {
            let parts = opened.into_iter().map(|o| (o.extent.path, o.format));
            let set = split::SplitDump::new(parts.collect())?;
            let parts = set.parts();
            let missing = set.missing().to_vec();
            let mut dump = Self::from_format(
                parts.iter().map(|p| p.path.clone()).collect(),
                Box::new(set),
            );
            dump.parts = parts;
            dump.missing = missing;
            dump
        };
        dump.files = files;
        Ok(dump)
    }

    /// Wraps an already parsed format (tests).
    pub fn from_format(paths: Vec<PathBuf>, inner: Box<dyn DumpFormat>) -> Dump {
        let vmcoreinfo = inner
            .meta()
            .vmcoreinfo_raw
            .as_deref()
            .map(VmcoreInfo::parse)
            .filter(|v| !v.entries().is_empty());
        Dump {
            paths,
            inner,
            vmcoreinfo_origin: vmcoreinfo.as_ref().map(|_| VmcoreInfoOrigin::Container),
            vmcoreinfo,
            parts: Vec::new(),
            missing: Vec::new(),
            files: Vec::new(),
            bounds: None,
            zero_excluded: false,
            stats: std::sync::OnceLock::new(),
            pages_read: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// On the running kernel, adds its build-id from `/sys/kernel/notes` to a VMCOREINFO
    /// without one, so that a vmlinux of another build is told apart as it is for a dump.
    fn add_running_build_id(&mut self) {
        let Some(path) = self
            .paths
            .first()
            .filter(|p| is_live_name(p) || physmem::is_memory_device_name(p))
        else {
            return;
        };
        let Some(raw) = self.inner.meta().vmcoreinfo_raw.as_deref() else {
            return;
        };
        if let Some(text) = live::with_build_id(raw, path) {
            self.vmcoreinfo = Some(VmcoreInfo::parse(&text));
        }
    }

    /// The files this dump was read from (a split set's parts in pfn order).
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The parts of a split set, in pfn order (empty for a single file).
    pub fn parts(&self) -> &[split::Part] {
        &self.parts
    }

    /// Pfn ranges `[start, end)` of a split set that no given part holds.
    pub fn missing(&self) -> &[(u64, u64)] {
        &self.missing
    }

    /// The length of each file, and what its headers need where they say.
    pub fn files(&self) -> &[FileExtent] {
        &self.files
    }

    /// Container metadata.
    pub fn meta(&self) -> &DumpMeta {
        self.inner.meta()
    }

    /// Parsed VMCOREINFO, when the dump carries it (or it was found in memory).
    pub fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        self.vmcoreinfo.as_ref()
    }

    /// Where [`Dump::vmcoreinfo`] came from.
    pub fn vmcoreinfo_origin(&self) -> Option<VmcoreInfoOrigin> {
        self.vmcoreinfo_origin
    }

    /// When the container's VMCOREINFO is missing or unusable, looks for the kernel's own copy
    /// in the dumped memory and adopts it. Returns its physical address when one was adopted.
    /// Scans every present page in the worst case.
    pub fn recover_vmcoreinfo(&mut self) -> Option<u64> {
        if self.vmcoreinfo.as_ref().is_some_and(rescue::usable) {
            return None;
        }
        let found = rescue::find_vmcoreinfo(&*self.inner, self.bounds.as_deref())?;
        self.vmcoreinfo = Some(VmcoreInfo::parse(&found.text));
        self.vmcoreinfo_origin = Some(VmcoreInfoOrigin::Memory { paddr: found.paddr });
        Some(found.paddr)
    }

    /// Makes reads of pages excluded by the dump level return zeros instead of failing
    /// (crash's `--zero_excluded`).
    pub fn set_zero_excluded(&mut self, on: bool) {
        self.zero_excluded = on;
    }

    /// Whether excluded pages read as zeros.
    pub fn zero_excluded(&self) -> bool {
        self.zero_excluded
    }

    /// The format reader.
    pub fn format(&self) -> &dyn DumpFormat {
        &*self.inner
    }

    /// Whether this is the running kernel's memory (`/proc/kcore`): pages change between
    /// reads, and there was no panic.
    pub fn is_live(&self) -> bool {
        self.inner.is_live()
    }

    /// Where [`VmcoreInfo::build_id`] came from, for messages: a dump's VMCOREINFO, or the
    /// running kernel's (whose notes in `/sys/kernel/notes` fill it in when VMCOREINFO lacks it).
    pub fn build_id_origin(&self) -> &'static str {
        if self.is_live() {
            "the running kernel"
        } else {
            "the dump's VMCOREINFO"
        }
    }

    /// Drops the cached contents of a running kernel's pages, so later reads see memory as it
    /// is then; nothing for a dump.
    pub fn forget_cached(&self) {
        self.inner.forget_cached();
    }

    /// Page size of the dumped machine.
    pub fn page_size(&self) -> u64 {
        self.inner.meta().page_size
    }

    /// The kernel's page size: VMCOREINFO `PAGESIZE` when it is sane, else the container's.
    /// They differ where the container stores larger blocks (QEMU's aarch64 kdump files use
    /// 64 KiB blocks whatever the kernel's pages).
    pub fn kernel_page_size(&self) -> u64 {
        self.vmcoreinfo
            .as_ref()
            .and_then(VmcoreInfo::page_size)
            .filter(|p| p.is_power_of_two() && (4096..=1 << 16).contains(p))
            .unwrap_or_else(|| self.page_size())
    }

    /// What the dump knows of the page holding physical address `paddr`.
    pub fn page_state(&self, paddr: u64) -> PageState {
        self.inner.page_state(paddr / self.page_size())
    }

    /// Page counts over the whole dump, computed on first use.
    pub fn page_stats(&self) -> PageStats {
        *self
            .stats
            .get_or_init(|| stats::count(&*self.inner, self.bounds.as_deref()))
    }

    /// Maximal runs `(start_pfn, end_pfn, state)` of pfns with one state, in pfn order; cheap
    /// over the huge holes an ELF dump can describe.
    pub fn page_runs(&self) -> impl Iterator<Item = (u64, u64, PageState)> + '_ {
        stats::runs(&*self.inner, self.bounds.as_deref())
    }

    /// Reads physical memory, spanning pages. Fails on the first page that is not present
    /// (excluded pages read as zeros after [`Dump::set_zero_excluded`]).
    ///
    /// A read of many whole pages (a table read once) goes to [`DumpFormat::read_pages`]:
    /// decoded straight into `buf`, in parallel where the format decodes pages.
    pub fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()> {
        let ps = self.page_size();
        // up to the first page boundary, then the whole pages, then the rest
        let head = ((ps - paddr % ps) % ps).min(buf.len() as u64) as usize;
        let whole = (buf.len() - head) / ps as usize;
        if whole < bulk::MIN_PAGES {
            return self.read_each_page(paddr, buf);
        }
        let at = |n: usize| {
            paddr
                .checked_add(n as u64)
                .ok_or(DumpError::NotRam { paddr: u64::MAX })
        };
        let (first, rest) = buf.split_at_mut(head);
        let (pages, tail) = rest.split_at_mut(whole * ps as usize);
        self.read_each_page(paddr, first)?;
        self.count_pages(whole as u64);
        if self.inner.read_pages(at(head)? / ps, pages).is_err() {
            // the page-by-page path says which page failed, or reads excluded ones as zeros
            self.read_each_page(at(head)?, pages)?;
        }
        self.read_each_page(at(head + pages.len())?, tail)
    }

    /// Page descriptors the container has read since it was opened
    /// ([`DumpFormat::descriptors_read`]).
    pub fn descriptors_read(&self) -> u64 {
        self.inner.descriptors_read()
    }

    /// How many page reads (whole or partial, cached or not) the dump has been asked for since
    /// it was opened: what a question cost in pages, whatever the machine's speed.
    pub fn pages_read(&self) -> u64 {
        self.pages_read.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_pages(&self, n: u64) {
        self.pages_read
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Reads `buf` at `paddr` one page at a time, through the format's page cache.
    fn read_each_page(&self, paddr: u64, buf: &mut [u8]) -> Result<()> {
        let ps = self.page_size();
        let mut done = 0usize;
        while done < buf.len() {
            let addr = paddr
                .checked_add(done as u64)
                .ok_or(DumpError::NotRam { paddr: u64::MAX })?;
            let off = (addr % ps) as usize;
            let n = (ps as usize - off).min(buf.len() - done);
            let chunk = &mut buf[done..done + n];
            self.count_pages(1);
            match self.inner.read_page(addr / ps, off, chunk) {
                Err(DumpError::Excluded { .. }) if self.zero_excluded => chunk.fill(0),
                r => r?,
            }
            done += n;
        }
        Ok(())
    }
}

impl Dump {
    /// Reads as much of `paddr..paddr + buf.len()` as the dump holds, from the start: the bytes
    /// read, and the error that stopped the read before the end.
    pub fn read_phys_partial(&self, paddr: u64, buf: &mut [u8]) -> (usize, Option<DumpError>) {
        let ps = self.page_size().max(1);
        let mut done = 0usize;
        while done < buf.len() {
            let at = paddr.wrapping_add(done as u64);
            let n = ((ps - at % ps) as usize).min(buf.len() - done);
            if let Err(e) = self.read_phys(at, &mut buf[done..done + n]) {
                return (done, Some(e));
            }
            done += n;
        }
        (done, None)
    }
}

/// Anything that reads physical memory: a [`Dump`], or a synthetic memory in tests.
pub trait PhysicalMemory: Send + Sync {
    /// Reads `buf.len()` bytes at physical address `paddr`.
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()>;
}

impl PhysicalMemory for Dump {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()> {
        Dump::read_phys(self, paddr, buf)
    }
}
