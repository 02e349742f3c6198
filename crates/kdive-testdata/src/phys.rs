//! Physical memory made in code, as a dump format: [`PhysMemory`].

use std::collections::{HashMap, HashSet};

use kdive_dump::{
    Arch, Dump, DumpError, DumpFormat, DumpMeta, Endian, FormatKind, PageState, Result,
};

/// Page size of [`PhysMemory`].
pub const PAGE: u64 = 4096;

/// x86_64 little-endian physical memory of 4 KiB pages: the pages written are present (some
/// of them stored as a shared zero page, as kdump does), pages marked excluded read as filtered
/// out (dump level 31), pages marked lost as missing from an incomplete dump, everything else
/// is not RAM. The metadata says "ELF vmcore" and is the caller's to adjust
/// ([`PhysMemory::meta_mut`]).
pub struct PhysMemory {
    meta: DumpMeta,
    pages: HashMap<u64, Box<[u8; PAGE as usize]>>,
    excluded: HashSet<u64>,
    lost: HashSet<u64>,
    shared_zero: HashSet<u64>,
}

impl Default for PhysMemory {
    fn default() -> Self {
        PhysMemory::new()
    }
}

impl PhysMemory {
    /// No pages yet, no VMCOREINFO.
    pub fn new() -> PhysMemory {
        PhysMemory {
            meta: DumpMeta::new(
                FormatKind::Elf {
                    qemu: false,
                    elf32: false,
                    flattened: false,
                },
                Arch::X86_64,
                Endian::Little,
                PAGE,
            ),
            pages: HashMap::new(),
            excluded: HashSet::new(),
            lost: HashSet::new(),
            shared_zero: HashSet::new(),
        }
    }

    /// `bytes` from physical address 0, every page present (the last one padded with zeros),
    /// with `vmcoreinfo` as the dump's VMCOREINFO text.
    pub fn from_bytes(bytes: &[u8], vmcoreinfo: Option<String>) -> PhysMemory {
        let mut m = PhysMemory::new();
        for (pfn, chunk) in bytes.chunks(PAGE as usize).enumerate() {
            m.page(pfn as u64)[..chunk.len()].copy_from_slice(chunk);
        }
        m.meta.vmcoreinfo_raw = vmcoreinfo;
        m
    }

    /// The page `pfn`, made present (zeros) if it was not.
    fn page(&mut self, pfn: u64) -> &mut [u8; PAGE as usize] {
        self.meta.max_pfn = self.meta.max_pfn.max(pfn + 1);
        self.pages
            .entry(pfn)
            .or_insert_with(|| Box::new([0; PAGE as usize]))
    }

    /// Writes `bytes` at `paddr`, making the pages present.
    pub fn write(&mut self, paddr: u64, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            let a = paddr + i as u64;
            self.page(a / PAGE)[(a % PAGE) as usize] = b;
        }
    }

    /// The little-endian word at `paddr`, if its page is present.
    pub fn read_u64(&self, paddr: u64) -> Option<u64> {
        let page = self.pages.get(&(paddr / PAGE))?;
        let at = (paddr % PAGE) as usize;
        Some(u64::from_le_bytes(page.get(at..at + 8)?.try_into().ok()?))
    }

    /// Marks the page `pfn` as filtered out of the dump.
    pub fn exclude(&mut self, pfn: u64) {
        self.meta.max_pfn = self.meta.max_pfn.max(pfn + 1);
        self.excluded.insert(pfn);
    }

    /// Marks the page `pfn` as lost: RAM the dump should hold but does not.
    pub fn lose(&mut self, pfn: u64) {
        self.meta.max_pfn = self.meta.max_pfn.max(pfn + 1);
        self.lost.insert(pfn);
    }

    /// Makes the page `pfn` present as the shared zero page.
    pub fn zero(&mut self, pfn: u64) {
        self.page(pfn).fill(0);
        self.shared_zero.insert(pfn);
    }

    /// The metadata the dump reports (architecture, VMCOREINFO, CPU notes...).
    pub fn meta_mut(&mut self) -> &mut DumpMeta {
        &mut self.meta
    }

    /// A [`Dump`] of this memory.
    pub fn into_dump(self) -> Dump {
        Dump::from_format(Vec::new(), Box::new(self))
    }
}

impl DumpFormat for PhysMemory {
    fn meta(&self) -> &DumpMeta {
        &self.meta
    }

    fn page_state(&self, pfn: u64) -> PageState {
        if self.excluded.contains(&pfn) {
            PageState::Excluded
        } else if self.lost.contains(&pfn) {
            PageState::Lost
        } else if self.pages.contains_key(&pfn) {
            PageState::Present
        } else {
            PageState::NotRam
        }
    }

    fn read_page(&self, pfn: u64, offset: usize, buf: &mut [u8]) -> Result<()> {
        let paddr = pfn.saturating_mul(PAGE).saturating_add(offset as u64);
        if self.excluded.contains(&pfn) {
            return Err(DumpError::Excluded {
                paddr,
                dump_level: Some(31),
            });
        }
        if self.lost.contains(&pfn) {
            return Err(DumpError::Lost { paddr });
        }
        let src = self
            .pages
            .get(&pfn)
            .and_then(|p| p.get(offset..offset.checked_add(buf.len())?))
            .ok_or(DumpError::NotRam { paddr })?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn zero_page_count(&self) -> u64 {
        self.shared_zero.len() as u64
    }
}
