//! The running kernel's physical memory through a memory device, for machines whose
//! `/proc/kcore` is missing or closed: `/dev/crash` (the crash driver some distributions ship:
//! the file offset is the physical address, RAM pages only) and `/dev/mem` (the same layout;
//! kernels built with `CONFIG_STRICT_DEVMEM` refuse RAM above the first MiB, which reads then
//! fail with the device's error).
//!
//! A device says nothing of itself, so the rest comes from the system's files under the same
//! root: the RAM ranges from `/proc/iomem` (its top-level `System RAM` lines) and VMCOREINFO
//! from `/sys/kernel/vmcoreinfo` (the note's physical address and size, in hex), read through
//! the device.

use std::path::{Path, PathBuf};

use crate::error::DumpError;
use crate::notes::parse_notes_of;
use crate::paged::PagedFile;
use crate::vmcoreinfo::VmcoreInfo;
use crate::{Arch, DumpFormat, DumpMeta, Endian, FormatKind, PageState, Result};

/// Largest VMCOREINFO note read (the kernel's `VMCOREINFO_NOTE_SIZE` is a few KiB).
const MAX_NOTE: u64 = 1 << 20;
/// Most `System RAM` ranges taken from `/proc/iomem`.
const MAX_RANGES: usize = 4096;

/// Whether `path` names a memory device kdive reads: `.../dev/crash` or `.../dev/mem`.
pub fn is_memory_device_name(path: &Path) -> bool {
    let dev = path
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "dev");
    dev && path.file_name().is_some_and(|n| n == "crash" || n == "mem")
}

/// The top-level `System RAM` ranges of `/proc/iomem` text, `[start, end)` in bytes, sorted.
/// Nested lines (indented: kernel code, data, crash kernel) lie inside them. Ranges whose
/// addresses read as zeros (the file read without root) are left out.
pub fn system_ram(iomem: &str) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = iomem
        .lines()
        .filter(|l| !l.starts_with(' ') && l.trim_end().ends_with(": System RAM"))
        .filter_map(|l| {
            let (a, b) = l.split(' ').next()?.split_once('-')?;
            let (a, b) = (
                u64::from_str_radix(a, 16).ok()?,
                u64::from_str_radix(b, 16).ok()?,
            );
            (b > a).then(|| (a, b.saturating_add(1)))
        })
        .take(MAX_RANGES)
        .collect();
    v.sort_unstable();
    v
}

/// The physical address and size `/sys/kernel/vmcoreinfo` gives (`"%pa %x"`: the address as
/// `0x` and 16 hex digits, the size in hex without a prefix).
fn note_place(text: &str) -> Option<(u64, u64)> {
    let hex = |w: &str| u64::from_str_radix(w.strip_prefix("0x").unwrap_or(w), 16).ok();
    let mut w = text.split_whitespace();
    let addr = hex(w.next()?)?;
    let size = hex(w.next()?)?;
    Some((addr, size.min(MAX_NOTE)))
}

/// Physical memory read through a memory device.
pub struct PhysMem {
    file: PagedFile,
    /// `System RAM`, `[start, end)` bytes, sorted.
    ram: Vec<(u64, u64)>,
    meta: DumpMeta,
}

impl PhysMem {
    /// Opens the device at `path`, reading the RAM ranges and VMCOREINFO's place from the
    /// system's files under its root.
    pub fn open(file: std::fs::File, path: &Path) -> Result<PhysMem> {
        let root = crate::live::root_of(path).unwrap_or_else(|| PathBuf::from("/"));
        let iomem_path = root.join("proc/iomem");
        let iomem =
            std::fs::read_to_string(&iomem_path).map_err(|e| DumpError::io(&iomem_path, e))?;
        let ram = system_ram(&iomem);
        let Some(&(_, end)) = ram.iter().max_by_key(|r| r.1) else {
            return Err(DumpError::NotADump {
                reason: format!(
                    "{}: {} names no System RAM (its addresses read as zeros without root)",
                    path.display(),
                    iomem_path.display()
                ),
            });
        };
        let endian = if cfg!(target_endian = "big") {
            Endian::Big
        } else {
            Endian::Little
        };
        let mut dev = PhysMem {
            file: PagedFile::new(file, path, end),
            ram,
            meta: DumpMeta::new(
                FormatKind::MemoryDevice {
                    device: path.display().to_string(),
                },
                host_arch(),
                endian,
                4096,
            ),
        };
        let place = std::fs::read_to_string(root.join("sys/kernel/vmcoreinfo"))
            .ok()
            .and_then(|t| note_place(&t));
        if let Some((addr, size)) = place {
            let mut note = vec![0u8; size as usize];
            match dev.file.read_at(addr, &mut note) {
                Ok(()) => dev.meta.vmcoreinfo_raw = parse_notes_of(&note, endian, false).vmcoreinfo,
                // the device refuses the kernel's own note, which lies in RAM (a kernel built
                // with STRICT_DEVMEM lets /dev/mem read no RAM above the first MiB): nothing
                // of the kernel can be read through it
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    let at = format!(
                        "{} (VMCOREINFO at physical address {addr:#x})",
                        path.display()
                    );
                    return Err(DumpError::io(Path::new(&at), e));
                }
                Err(_) => {}
            }
        }
        let info = dev.meta.vmcoreinfo_raw.as_deref().map(VmcoreInfo::parse);
        if let Some(ps) = info.as_ref().and_then(VmcoreInfo::page_size) {
            dev.meta.page_size = ps;
        }
        dev.meta.max_pfn = end.div_ceil(dev.meta.page_size.max(1));
        Ok(dev)
    }

    /// The pfns at which page states may change: both pages around each RAM range's edges.
    pub fn bounds(&self) -> Vec<u64> {
        let ps = self.meta.page_size.max(1);
        let mut b: Vec<u64> = self
            .ram
            .iter()
            .flat_map(|&(a, e)| [a / ps, a.div_ceil(ps), e / ps, e.div_ceil(ps)])
            .collect();
        b.sort_unstable();
        b.dedup();
        b
    }

    fn in_ram(&self, paddr: u64) -> bool {
        let i = self.ram.partition_point(|r| r.0 <= paddr);
        i > 0 && paddr < self.ram[i - 1].1
    }
}

/// The machine kdive runs on: a device is the running machine's own memory.
fn host_arch() -> Arch {
    if cfg!(target_arch = "aarch64") {
        Arch::Aarch64
    } else if cfg!(target_arch = "x86_64") {
        Arch::X86_64
    } else {
        Arch::Other(0)
    }
}

impl DumpFormat for PhysMem {
    fn meta(&self) -> &DumpMeta {
        &self.meta
    }

    fn page_state(&self, pfn: u64) -> PageState {
        match pfn.checked_mul(self.meta.page_size) {
            Some(a) if self.in_ram(a) => PageState::Present,
            _ => PageState::NotRam,
        }
    }

    fn read_page(&self, pfn: u64, offset: usize, buf: &mut [u8]) -> Result<()> {
        let paddr = pfn
            .checked_mul(self.meta.page_size)
            .and_then(|a| a.checked_add(offset as u64))
            .ok_or(DumpError::NotRam { paddr: u64::MAX })?;
        if !self.in_ram(paddr) {
            return Err(DumpError::NotRam { paddr });
        }
        self.file
            .read_at(paddr, buf)
            .map_err(|e| DumpError::io(self.file.path(), e))
    }

    fn is_live(&self) -> bool {
        true
    }

    fn forget_cached(&self) {
        self.file.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_ram_is_the_top_level_lines_of_iomem() {
        let iomem = "00000000-00000fff : Reserved\n\
                     00001000-0009fbff : System RAM\n\
                     000a0000-000bffff : PCI Bus 0000:00\n\
                     00100000-1ffdffff : System RAM\n\
                     \x20 01000000-01ffffff : Kernel code\n\
                     \x20 15000000-1effffff : Crash kernel\n\
                     100000000-17fffffff : System RAM\n";
        assert_eq!(
            system_ram(iomem),
            vec![
                (0x1000, 0x9fc00),
                (0x10_0000, 0x1ffe_0000),
                (0x1_0000_0000, 0x1_8000_0000)
            ]
        );
        // unprivileged readers see zeros
        assert!(system_ram("00000000-00000000 : System RAM\n").is_empty());
    }

    #[test]
    fn device_names() {
        assert!(is_memory_device_name(Path::new("/dev/crash")));
        assert!(is_memory_device_name(Path::new("/r/dev/mem")));
        assert!(!is_memory_device_name(Path::new("/tmp/mem")));
        assert!(!is_memory_device_name(Path::new("/dev/kmem")));
        // what a 6.12 guest's /sys/kernel/vmcoreinfo said ("%pa %x"; VMCOREINFO_NOTE_SIZE is
        // 0x1024)
        assert_eq!(
            note_place("0x000000003d248000 1024\n"),
            Some((0x3d24_8000, 0x1024))
        );
        assert_eq!(note_place("2b4a000 1024\n"), Some((0x2b4_a000, 0x1024)));
    }
}
