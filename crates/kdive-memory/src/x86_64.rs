//! x86_64 kernel address translation: 4- and 5-level page tables, huge pages, KASLR.
//!
//! The root is the kernel's `init_top_pgt` (VMCOREINFO), converted to physical through the
//! kernel image mapping and `phys_base`. Every kernel region (direct map, vmalloc, modules,
//! vmemmap) is translated by the same walk; kernel image addresses take a linear fast path.

use std::sync::{Arc, Mutex, OnceLock};

use kdive_dump::{Arch, Dump, DumpError, VmcoreInfo};

use crate::paging::{self, Mapping, PagingFormat, Walk, X86_64_4LEVEL, X86_64_5LEVEL};
use crate::tlb::{CacheStats, Tlb};
use crate::{MemError, ReadVirt, Result};

/// `__START_KERNEL_map`: where the kernel image is mapped.
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// Physical-address bits of a page-table entry (bits 12..51).
pub const PTE_PHYS_MASK: u64 = X86_64_4LEVEL.phys_mask;

const PAGE_SIZE: u64 = 0x1000;
/// `KERNEL_IMAGE_SIZE` when VMCOREINFO does not say (the non-KASLR value; the smaller one is safe).
const DEFAULT_KERNEL_IMAGE_SIZE: u64 = 512 << 20;
/// CR4.LA57: 5-level paging.
const CR4_LA57: u64 = 1 << 12;
const ONE_GIB: u64 = 1 << 30;

/// The kernel's address space in a dump: page-table walk from the kernel's top-level table.
pub struct KernelMemory {
    dump: Arc<Dump>,
    /// Physical address of the top-level table.
    root: u64,
    five_level: bool,
    /// `NUMBER(phys_base)`: physical address of `__START_KERNEL_map`, when known.
    phys_base: Option<u64>,
    kaslr_offset: u64,
    kernel_image_size: u64,
    /// Memory-encryption bit(s) to clear from entries (`NUMBER(sme_mask)`).
    sme_mask: u64,
    tlb: Mutex<Box<Tlb>>,
    direct_map_base: OnceLock<Option<u64>>,
}

impl KernelMemory {
    /// Sets up translation from the dump's VMCOREINFO (falling back to QEMU CPU state for the root).
    pub fn new(dump: Arc<Dump>) -> Result<KernelMemory> {
        let arch = dump.meta().arch;
        if arch != Arch::X86_64 {
            return Err(MemError::NoTranslation(format!(
                "{arch} dumps are not supported yet"
            )));
        }
        let empty = VmcoreInfo::default();
        let info = dump.vmcoreinfo().unwrap_or(&empty);
        let qemu_cpu = dump.meta().qemu_cpus.first();
        let phys_base = info.number("phys_base").map(|v| v as u64);
        let kernel_image_size = info
            .number("KERNEL_IMAGE_SIZE")
            .and_then(|v| u64::try_from(v).ok())
            .filter(|&v| v > 0 && v <= u64::MAX - START_KERNEL_MAP)
            .unwrap_or(DEFAULT_KERNEL_IMAGE_SIZE);
        let root_sym = ["init_top_pgt", "swapper_pg_dir"]
            .into_iter()
            .find_map(|s| info.symbol(s).map(|a| (s, a)));
        let root = match (root_sym, phys_base, qemu_cpu) {
            (Some((name, vaddr)), Some(pb), _) => image_to_phys(vaddr, pb, kernel_image_size).ok_or_else(|| {
                MemError::NoTranslation(format!(
                    "SYMBOL({name})={vaddr:#x} is outside the kernel image mapping at {START_KERNEL_MAP:#x}"
                ))
            })?,
            (_, _, Some(cpu)) => cpu.cr[3] & PTE_PHYS_MASK,
            (None, _, None) => {
                return Err(MemError::NoTranslation(
                    "no VMCOREINFO SYMBOL(init_top_pgt) or SYMBOL(swapper_pg_dir), and no QEMU CPU state".into(),
                ))
            }
            (Some((name, _)), None, None) => {
                return Err(MemError::NoTranslation(format!(
                    "VMCOREINFO has SYMBOL({name}) but no NUMBER(phys_base) to locate it"
                )))
            }
        };
        let five_level = match info.number("pgtable_l5_enabled") {
            Some(v) => v != 0,
            None => qemu_cpu.is_some_and(|c| c.cr[4] & CR4_LA57 != 0),
        };
        Ok(KernelMemory {
            root,
            five_level,
            phys_base,
            kaslr_offset: info.kernel_offset().unwrap_or(0),
            kernel_image_size,
            sme_mask: info.number("sme_mask").map_or(0, |v| v as u64),
            tlb: Mutex::new(Tlb::new()),
            direct_map_base: OnceLock::new(),
            dump,
        })
    }

    /// The dump underneath.
    pub fn dump(&self) -> &Arc<Dump> {
        &self.dump
    }

    /// The KASLR slide of the kernel image (`KERNELOFFSET`; 0 when the dump does not say).
    /// `SYMBOL()` values in VMCOREINFO already include it.
    pub fn kaslr_offset(&self) -> u64 {
        self.kaslr_offset
    }

    /// `NUMBER(phys_base)`: where `__START_KERNEL_map` lands in physical memory, as a wrapping
    /// `u64` (negative, i.e. `0xffff…`, when KASLR moved the kernel down).
    pub fn phys_base(&self) -> Option<u64> {
        self.phys_base
    }

    /// Physical address of the top-level page table.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// 4 or 5.
    pub fn paging_levels(&self) -> u8 {
        if self.five_level {
            5
        } else {
            4
        }
    }

    /// Start of the direct map of physical memory (`page_offset_base`, randomized by KASLR).
    ///
    /// VMCOREINFO does not carry it; it is derived from `SYMBOL(mem_section)` (an allocation in the
    /// direct map) or, failing that, the non-KASLR default, and accepted only if it maps physical 0.
    pub fn direct_map_base(&self) -> Option<u64> {
        *self
            .direct_map_base
            .get_or_init(|| self.find_direct_map_base())
    }

    fn find_direct_map_base(&self) -> Option<u64> {
        let derived = self
            .vmcoreinfo()
            .and_then(|i| i.symbol("mem_section"))
            .and_then(|v| {
                let p = self.translate(v).ok()?;
                v.checked_sub(p).filter(|b| b % ONE_GIB == 0)
            });
        let default = if self.five_level {
            0xff11_0000_0000_0000
        } else {
            0xffff_8880_0000_0000
        };
        derived
            .into_iter()
            .chain([default])
            .find(|&b| b < START_KERNEL_MAP && self.translate(b).ok() == Some(0))
    }

    /// `SYMBOL(vmemmap)`: the `struct page` array's virtual base, when VMCOREINFO has it (6.x).
    pub fn vmemmap_base(&self) -> Option<u64> {
        self.vmcoreinfo()?.symbol("vmemmap")
    }

    /// `NUMBER(VMALLOC_START)`, when VMCOREINFO has it (6.x).
    pub fn vmalloc_start(&self) -> Option<u64> {
        self.vmcoreinfo()?.number("VMALLOC_START").map(|v| v as u64)
    }

    fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        self.dump.vmcoreinfo()
    }

    /// Translates a kernel virtual address to a physical one (cached).
    ///
    /// Kernel image addresses (`__START_KERNEL_map` .. + `KERNEL_IMAGE_SIZE`) are translated
    /// linearly with `phys_base`, as crash does; everything else by the page-table walk.
    pub fn translate(&self, vaddr: u64) -> Result<u64> {
        if let Some(p) = self
            .phys_base
            .and_then(|pb| image_to_phys(vaddr, pb, self.kernel_image_size))
        {
            return Ok(p);
        }
        if let Some(p) = self.lock_tlb().lookup(vaddr) {
            return Ok(p);
        }
        let m = self.walk_with(self.root, vaddr, |_| {})?;
        self.lock_tlb().insert(vaddr, m.page_base(), m.size);
        Ok(m.paddr)
    }

    /// Translates `vaddr` through the page tables rooted at the physical address `root` (a
    /// task's `mm->pgd`, for user addresses), uncached.
    pub fn translate_in(&self, root: u64, vaddr: u64) -> Result<u64> {
        Ok(self.walk_with(root, vaddr, |_| {})?.paddr)
    }

    /// Translates by walking the page tables (no cache, no fast path), with the page size.
    pub fn mapping(&self, vaddr: u64) -> Result<Mapping> {
        self.walk_with(self.root, vaddr, |_| {})
    }

    /// Walks the kernel's page tables for `vaddr`, recording every entry read.
    /// A non-present entry ends the walk with `mapping: None`; unreadable tables, malformed
    /// entries and non-canonical addresses are errors.
    pub fn walk(&self, vaddr: u64) -> Result<Walk> {
        self.walk_from(self.root, vaddr)
    }

    /// Walks the page tables whose top-level table is at physical `root` (a process's
    /// `mm->pgd`, translated) for `vaddr`, as [`KernelMemory::walk`] does. Nothing is cached.
    pub fn walk_from(&self, root: u64, vaddr: u64) -> Result<Walk> {
        let mut steps = Vec::with_capacity(self.format().levels.len());
        let mapping = match self.walk_with(root, vaddr, |s| steps.push(s)) {
            Ok(m) => Some(m),
            Err(MemError::NotMapped { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(Walk {
            vaddr,
            root,
            steps,
            mapping,
        })
    }

    /// The page-table format in use (4- or 5-level).
    pub fn format(&self) -> &'static PagingFormat {
        if self.five_level {
            &X86_64_5LEVEL
        } else {
            &X86_64_4LEVEL
        }
    }

    /// Physical address `paddr` in the direct map (crash's `PTOV`), when the direct map's base is known.
    pub fn ptov(&self, paddr: u64) -> Option<u64> {
        self.direct_map_base()?.checked_add(paddr)
    }

    /// Translates `vaddr` through the page tables whose top-level table is at physical `root`
    /// (a process's `mm->pgd`), without the cache or the kernel image's fast path.
    pub fn mapping_in(&self, root: u64, vaddr: u64) -> Result<Mapping> {
        self.walk_with(root, vaddr, |_| {})
    }

    /// Reads physical memory straight from the dump.
    pub fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<(), DumpError> {
        self.dump.read_phys(paddr, buf)
    }

    /// Hit and miss counts of the translation cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.lock_tlb().stats()
    }

    fn lock_tlb(&self) -> std::sync::MutexGuard<'_, Box<Tlb>> {
        // the cache holds no invariant a panicking holder could break
        self.tlb.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The walk proper; `visit` sees every entry read, including a final non-present one.
    fn walk_with(
        &self,
        root: u64,
        vaddr: u64,
        visit: impl FnMut(paging::WalkStep),
    ) -> Result<Mapping> {
        paging::walk(
            self.format(),
            root,
            vaddr,
            self.sme_mask,
            |paddr| {
                let mut raw = [0u8; 8];
                self.dump.read_phys(paddr, &mut raw)?;
                Ok(u64::from_le_bytes(raw))
            },
            visit,
        )
    }
}

/// Linear translation of a kernel image address, `None` outside the image mapping.
fn image_to_phys(vaddr: u64, phys_base: u64, image_size: u64) -> Option<u64> {
    let off = vaddr
        .checked_sub(START_KERNEL_MAP)
        .filter(|&o| o < image_size)?;
    Some(off.wrapping_add(phys_base))
}

impl KernelMemory {
    /// Reads `buf` at `vaddr` one page at a time, so that an error names the page that failed.
    fn read_each_page(&self, vaddr: u64, buf: &mut [u8]) -> Result<()> {
        read_pages(&self.dump, vaddr, buf, |v| self.translate(v))
    }
}

impl ReadVirt for KernelMemory {
    /// Pages that are contiguous in physical memory too are read as one run, so that a large
    /// read reaches the dump as one bulk read.
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let Some(vaddr) = addr.checked_add(done as u64) else {
                return Err(MemError::BadAddress {
                    vaddr: addr,
                    reason: "read runs past the end of the address space",
                });
            };
            let paddr = self.translate(vaddr)?;
            let mut n = ((PAGE_SIZE - vaddr % PAGE_SIZE) as usize).min(buf.len() - done);
            while done + n < buf.len() {
                let next = vaddr.checked_add(n as u64).map(|v| self.translate(v));
                if !matches!(next, Some(Ok(p)) if Some(p) == paddr.checked_add(n as u64)) {
                    break;
                }
                n += (PAGE_SIZE as usize).min(buf.len() - done - n);
            }
            let run = &mut buf[done..done + n];
            if let Err(source) = self.dump.read_phys(paddr, run) {
                if n as u64 <= PAGE_SIZE - vaddr % PAGE_SIZE {
                    return Err(MemError::Dump {
                        vaddr,
                        level: None,
                        source,
                    });
                }
                self.read_each_page(vaddr, run)?;
            }
            done += n;
        }
        Ok(())
    }
}

/// Another address space of the same dump: a process's, through its own top-level table.
/// Reads translate every page through that table (user addresses; kernel ones too, as the
/// process's tables map the kernel).
pub struct AddressSpace {
    mem: Arc<KernelMemory>,
    root: u64,
}

impl AddressSpace {
    /// The address space whose top-level table is at physical `root`.
    pub fn new(mem: Arc<KernelMemory>, root: u64) -> AddressSpace {
        AddressSpace { mem, root }
    }

    /// Physical address of the top-level table.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Where `vaddr` lands, with the size of the page mapping it.
    pub fn mapping(&self, vaddr: u64) -> Result<Mapping> {
        self.mem.mapping_in(self.root, vaddr)
    }
}

impl ReadVirt for AddressSpace {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        read_pages(&self.mem.dump, addr, buf, |v| {
            self.mem.mapping_in(self.root, v).map(|m| m.paddr)
        })
    }
}

/// Reads `buf` at `addr` page by page, each page's physical address from `translate`.
fn read_pages(
    dump: &Dump,
    addr: u64,
    buf: &mut [u8],
    translate: impl Fn(u64) -> Result<u64>,
) -> Result<()> {
    let mut done = 0usize;
    while done < buf.len() {
        let Some(vaddr) = addr.checked_add(done as u64) else {
            return Err(MemError::BadAddress {
                vaddr: addr,
                reason: "read runs past the end of the address space",
            });
        };
        let paddr = translate(vaddr)?;
        let n = ((PAGE_SIZE - vaddr % PAGE_SIZE) as usize).min(buf.len() - done);
        dump.read_phys(paddr, &mut buf[done..done + n])
            .map_err(|source| MemError::Dump {
                vaddr,
                level: None,
                source,
            })?;
        done += n;
    }
    Ok(())
}
