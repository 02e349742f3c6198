//! [`KernelMemory`]: the kernel's address space in a dump, for every architecture.
//!
//! The architecture is chosen once from the dump ([`kdive_dump::Arch`]); its module sets up
//! the page-table format ([`MmuDef`]), the root table and the linear fast paths (x86_64: the
//! kernel image at `__START_KERNEL_map`; aarch64: the linear map). Everything else — the walk,
//! the translation cache, reads spanning pages — is shared.

use std::sync::{Arc, Mutex};

use kdive_dump::{Arch, Dump, DumpError, VmcoreInfo};

use crate::mmu::{Mapping, MmuDef, WalkStep};
use crate::tlb::{CacheStats, Tlb};
use crate::{aarch64, x86_64, MemError, ReadVirt, Result};

/// Granularity of reads and of the translation cache's smallest pages.
const PAGE_SIZE: u64 = 0x1000;

/// A full page-table walk, as `vtop` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    pub vaddr: u64,
    /// Physical address of the top-level table.
    pub root: u64,
    /// Each entry read, top level first. The last one is the leaf, or the entry that was not present.
    pub steps: Vec<WalkStep>,
    /// The mapping, or `None` when the walk stopped at a non-present entry.
    pub mapping: Option<Mapping>,
}

/// What one architecture adds to the walk: its fixed linear mappings and layout facts.
pub(crate) enum Layout {
    X86(x86_64::Layout),
    Arm64(aarch64::Layout),
}

/// The kernel's address space in a dump: page-table walk from the kernel's top-level table.
pub struct KernelMemory {
    pub(crate) dump: Arc<Dump>,
    pub(crate) mmu: MmuDef,
    /// The format of processes' own tables where they translate only the user half
    /// (aarch64's `TTBR0`); `None` where a process's tables hold the kernel's too (x86_64).
    pub(crate) user_mmu: Option<MmuDef>,
    /// Physical address of the top-level table.
    pub(crate) root: u64,
    pub(crate) kaslr_offset: u64,
    pub(crate) layout: Layout,
    tlb: Mutex<Box<Tlb>>,
}

impl KernelMemory {
    /// Sets up translation for the dump's architecture from its VMCOREINFO (x86_64 falls back
    /// to QEMU CPU state for the root).
    pub fn new(dump: Arc<Dump>) -> Result<KernelMemory> {
        let empty = VmcoreInfo::default();
        let info = dump.vmcoreinfo().unwrap_or(&empty);
        let (mmu, root, layout) = match dump.meta().arch {
            Arch::X86_64 => {
                let (mmu, root, l) = x86_64::setup(&dump, info)?;
                (mmu, root, Layout::X86(l))
            }
            Arch::Aarch64 => {
                let (mmu, root, l) = aarch64::setup(info)?;
                (mmu, root, Layout::Arm64(l))
            }
            arch => {
                return Err(MemError::NoTranslation(format!(
                    "{arch:?} dumps are not supported yet"
                )))
            }
        };
        let user_mmu = matches!(layout, Layout::Arm64(_)).then(|| aarch64::user_mmu(&mmu));
        let mut m = KernelMemory {
            kaslr_offset: info.kernel_offset().unwrap_or(0),
            user_mmu,
            mmu,
            root,
            layout,
            tlb: Mutex::new(Tlb::new()),
            dump,
        };
        if let Layout::Arm64(l) = &m.layout {
            let linear = l.verified_linear(&m);
            if let Layout::Arm64(l) = &mut m.layout {
                l.linear = linear;
            }
        }
        Ok(m)
    }

    /// The dump underneath.
    pub fn dump(&self) -> &Arc<Dump> {
        &self.dump
    }

    /// The architecture translated for.
    pub fn arch(&self) -> Arch {
        match self.layout {
            Layout::X86(_) => Arch::X86_64,
            Layout::Arm64(_) => Arch::Aarch64,
        }
    }

    /// The page-table format in use.
    pub fn mmu(&self) -> &MmuDef {
        &self.mmu
    }

    /// The kernel's page size.
    pub fn page_size(&self) -> u64 {
        self.mmu.page_size()
    }

    /// The KASLR slide of the kernel image (`KERNELOFFSET`; 0 when the dump does not say).
    /// `SYMBOL()` values in VMCOREINFO already include it.
    pub fn kaslr_offset(&self) -> u64 {
        self.kaslr_offset
    }

    /// `NUMBER(phys_base)` (x86_64): where `__START_KERNEL_map` lands in physical memory, as a
    /// wrapping `u64` (negative, i.e. `0xffff…`, when KASLR moved the kernel down).
    pub fn phys_base(&self) -> Option<u64> {
        match &self.layout {
            Layout::X86(l) => l.phys_base,
            Layout::Arm64(_) => None,
        }
    }

    /// Physical address of the top-level page table.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Levels of the walk (x86_64: 4 or 5; aarch64: 2 to 5).
    pub fn paging_levels(&self) -> u8 {
        self.mmu.levels.len() as u8
    }

    /// Start of the direct (linear) map of physical memory: x86_64's `page_offset_base`
    /// (randomized by KASLR), aarch64's `PAGE_OFFSET` when the linear map was verified.
    pub fn direct_map_base(&self) -> Option<u64> {
        match &self.layout {
            Layout::X86(l) => l.direct_map_base(self),
            Layout::Arm64(l) => l.linear.map(|lin| lin.start),
        }
    }

    /// `SYMBOL(vmemmap)`: the `struct page` array's virtual base, when VMCOREINFO has it.
    pub fn vmemmap_base(&self) -> Option<u64> {
        self.vmcoreinfo()?.symbol("vmemmap")
    }

    /// `NUMBER(VMALLOC_START)`, when VMCOREINFO has it.
    pub fn vmalloc_start(&self) -> Option<u64> {
        self.vmcoreinfo()?.number("VMALLOC_START").map(|v| v as u64)
    }

    pub(crate) fn vmcoreinfo(&self) -> Option<&VmcoreInfo> {
        self.dump.vmcoreinfo()
    }

    /// The architecture's linear translation of `vaddr`, when it has one for it.
    fn linear(&self, vaddr: u64) -> Option<u64> {
        match &self.layout {
            Layout::X86(l) => l.image_to_phys(vaddr),
            Layout::Arm64(l) => l.linear_to_phys(vaddr),
        }
    }

    /// Translates a kernel virtual address to a physical one (cached).
    ///
    /// Addresses with a fixed linear mapping (x86_64's kernel image, aarch64's linear map)
    /// are translated by it, as crash does; everything else by the page-table walk.
    pub fn translate(&self, vaddr: u64) -> Result<u64> {
        if let Some(p) = self.linear(vaddr) {
            return Ok(p);
        }
        if let Some(p) = self.lock_tlb().lookup(vaddr) {
            return Ok(p);
        }
        let m = self.walk_with(self.root, vaddr, |_| {})?;
        self.lock_tlb().insert(vaddr, m.page_base(), m.size);
        Ok(m.paddr)
    }

    /// Translates by walking the page tables (no cache, no fast path), with the page size.
    pub fn mapping(&self, vaddr: u64) -> Result<Mapping> {
        self.walk_with(self.root, vaddr, |_| {})
    }

    /// Translates `vaddr` through the page tables whose top-level table is at physical `root`
    /// (a process's `mm->pgd`), without the cache or the linear fast paths. Where a process's
    /// tables hold only the user half (aarch64), kernel addresses go through the kernel's.
    pub fn mapping_in(&self, root: u64, vaddr: u64) -> Result<Mapping> {
        let (mmu, root) = self.process_tables(root, vaddr);
        mmu.walk(&*self.dump, root, vaddr, |_| {})
    }

    /// The format and root that translate `vaddr` for a process whose tables are at `root`.
    fn process_tables(&self, root: u64, vaddr: u64) -> (&MmuDef, u64) {
        match &self.user_mmu {
            Some(user) if !self.mmu.range.holds(vaddr, self.mmu.va_bits.clamp(1, 63)) => {
                (user, root)
            }
            Some(_) => (&self.mmu, self.root),
            None => (&self.mmu, root),
        }
    }

    /// Translates `vaddr` through the page tables rooted at physical `root`, uncached.
    pub fn translate_in(&self, root: u64, vaddr: u64) -> Result<u64> {
        Ok(self.mapping_in(root, vaddr)?.paddr)
    }

    /// Walks the kernel's page tables for `vaddr`, recording every entry read.
    /// A non-present entry ends the walk with `mapping: None`; unreadable tables, malformed
    /// entries and addresses outside the translated range are errors.
    pub fn walk(&self, vaddr: u64) -> Result<Walk> {
        self.record_walk(&self.mmu, self.root, vaddr)
    }

    /// Walks the page tables whose top-level table is at physical `root` (a process's
    /// `mm->pgd`, translated) for `vaddr`, as [`KernelMemory::walk`] does. Nothing is cached.
    pub fn walk_from(&self, root: u64, vaddr: u64) -> Result<Walk> {
        let (mmu, root) = self.process_tables(root, vaddr);
        self.record_walk(mmu, root, vaddr)
    }

    /// Walks `mmu`'s tables at `root`, recording every entry read.
    fn record_walk(&self, mmu: &MmuDef, root: u64, vaddr: u64) -> Result<Walk> {
        let mut steps = Vec::with_capacity(mmu.levels.len());
        let mapping = match mmu.walk(&*self.dump, root, vaddr, |s| steps.push(s)) {
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

    /// Physical address `paddr` in the direct map (crash's `PTOV`), when the direct map's base
    /// is known.
    pub fn ptov(&self, paddr: u64) -> Option<u64> {
        self.direct_map_base()?.checked_add(paddr)
    }

    /// Reads physical memory straight from the dump.
    pub fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<(), DumpError> {
        self.dump.read_phys(paddr, buf)
    }

    /// Drops the cached translations and the dump's cached pages: a running kernel's page
    /// tables and memory change, and later reads must see them as they are then.
    pub fn forget_cached(&self) {
        *self.lock_tlb() = Tlb::new();
        self.dump.forget_cached();
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
    pub(crate) fn walk_with(
        &self,
        root: u64,
        vaddr: u64,
        visit: impl FnMut(WalkStep),
    ) -> Result<Mapping> {
        self.mmu.walk(&*self.dump, root, vaddr, visit)
    }

    /// Reads `buf` at `vaddr` one page at a time, so that an error names the page that failed.
    fn read_each_page(&self, vaddr: u64, buf: &mut [u8]) -> Result<()> {
        read_pages(&self.dump, vaddr, buf, |v| self.translate(v))
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
