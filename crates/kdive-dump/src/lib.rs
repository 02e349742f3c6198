//! The dump layer: which physical pages a crash dump holds, and their contents.
//!
//! Every container format (ELF vmcore / QEMU ELF, kdump-compressed incl. QEMU's,
//! flattened) implements [`DumpFormat`]; [`Dump`] wraps the one that matched and
//! adds page-spanning reads. Nothing here knows about kernel virtual memory.

pub mod codec;
pub mod elf;
pub mod error;
pub mod flat;
pub mod kdump;
pub mod notes;
pub mod vmcoreinfo;

use std::path::{Path, PathBuf};

pub use error::DumpError;
pub use notes::{PrStatus, QemuCpuState};
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

/// Byte order of the dumped machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Endian {
    Little,
    Big,
}

/// Which container a dump came in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum FormatKind {
    /// ELF64 core: `/proc/vmcore` copy, `makedumpfile -E`, QEMU `dump-guest-memory` ELF, `/proc/kcore`.
    Elf { qemu: bool },
    /// makedumpfile's kdump-compressed format (`KDUMP   ` or old `DISKDUMP` signature).
    Kdump {
        header_version: u32,
        diskdump: bool,
        flattened: bool,
        qemu: bool,
    },
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
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
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
}

/// A dump container format: pages by frame number.
pub trait DumpFormat: Send + Sync {
    /// Metadata parsed at open time.
    fn meta(&self) -> &DumpMeta;
    /// What the dump knows of page frame `pfn`.
    fn page_state(&self, pfn: u64) -> PageState;
    /// Reads `buf.len()` bytes at `offset` within page `pfn` (`offset + buf.len() <= page_size`).
    /// Errors: [`DumpError::Excluded`], [`DumpError::NotRam`], [`DumpError::Lost`] for absent pages,
    /// others for corrupt data.
    fn read_page(&self, pfn: u64, offset: usize, buf: &mut [u8]) -> Result<()>;
    /// Page counts per codec (kdump files; ELF reports everything as `Codec::None`).
    fn codec_counts(&self) -> Vec<(Codec, u64)> {
        Vec::new()
    }
}

/// An opened crash dump: one format reader plus convenience reads.
pub struct Dump {
    paths: Vec<PathBuf>,
    inner: Box<dyn DumpFormat>,
    vmcoreinfo: Option<VmcoreInfo>,
}

impl Dump {
    /// Opens a dump file, detecting its format from its first bytes.
    pub fn open(path: impl AsRef<Path>) -> Result<Dump> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| DumpError::io(path, e))?;
        // SAFETY: the mapping is read-only; a dump file changing underneath us is outside our contract.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| DumpError::io(path, e))?;
        let inner: Box<dyn DumpFormat> = if map.starts_with(b"\x7fELF") {
            Box::new(elf::ElfDump::parse(map)?)
        } else if map.starts_with(flat::SIGNATURE) {
            Box::new(kdump::KdumpFile::parse_flattened(map)?)
        } else if map.starts_with(b"KDUMP   ") || map.starts_with(b"DISKDUMP") {
            Box::new(kdump::KdumpFile::parse(kdump::Source::Mapped(map))?)
        } else {
            return Err(DumpError::NotADump {
                reason: format!("{}: no ELF, kdump or flattened signature", path.display()),
            });
        };
        Ok(Self::from_format(vec![path.to_path_buf()], inner))
    }

    /// Wraps an already parsed format (tests, split sets).
    pub fn from_format(paths: Vec<PathBuf>, inner: Box<dyn DumpFormat>) -> Dump {
        let vmcoreinfo = inner
            .meta()
            .vmcoreinfo_raw
            .as_deref()
            .map(VmcoreInfo::parse);
        Dump {
            paths,
            inner,
            vmcoreinfo,
        }
    }

    /// The files this dump was read from.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Container metadata.
    pub fn meta(&self) -> &DumpMeta {
        self.inner.meta()
    }

    /// Parsed VMCOREINFO, when the dump carries it.
    pub fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        self.vmcoreinfo.as_ref()
    }

    /// The format reader.
    pub fn format(&self) -> &dyn DumpFormat {
        &*self.inner
    }

    /// Page size of the dumped machine.
    pub fn page_size(&self) -> u64 {
        self.inner.meta().page_size
    }

    /// What the dump knows of the page holding physical address `paddr`.
    pub fn page_state(&self, paddr: u64) -> PageState {
        self.inner.page_state(paddr / self.page_size())
    }

    /// Reads physical memory, spanning pages. Fails on the first page that is not present.
    pub fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<()> {
        let ps = self.page_size();
        let mut done = 0usize;
        while done < buf.len() {
            let addr = paddr
                .checked_add(done as u64)
                .ok_or(DumpError::NotRam { paddr: u64::MAX })?;
            let off = (addr % ps) as usize;
            let n = (ps as usize - off).min(buf.len() - done);
            self.inner
                .read_page(addr / ps, off, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(())
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
