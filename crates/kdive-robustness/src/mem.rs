//! Memories made of plain bytes: physical memory as a [`DumpFormat`], and a kernel virtual range
//! as a [`ReadVirt`].

use kdive_dump::{
    Arch, DumpError, DumpFormat, DumpMeta, Endian, FormatKind, PageState, Result as DumpResult,
};
use kdive_memory::{MemError, ReadVirt, Result as MemResult};

/// Page size of [`PhysBytes`].
pub const PAGE: u64 = 4096;

/// x86_64 physical memory starting at address 0, all of it present, with a VMCOREINFO note.
pub struct PhysBytes {
    meta: DumpMeta,
    bytes: Vec<u8>,
}

impl PhysBytes {
    /// `bytes` at physical address 0; `vmcoreinfo` becomes the dump's VMCOREINFO text.
    pub fn new(bytes: Vec<u8>, vmcoreinfo: Option<String>) -> PhysBytes {
        PhysBytes {
            meta: DumpMeta {
                format: FormatKind::Elf { qemu: false },
                arch: Arch::X86_64,
                endian: Endian::Little,
                page_size: PAGE,
                max_pfn: (bytes.len() as u64).div_ceil(PAGE),
                dump_level: None,
                utsname: None,
                timestamp: None,
                nr_cpus: None,
                incomplete: false,
                split_range: None,
                vmcoreinfo_raw: vmcoreinfo,
                prstatus: Vec::new(),
                qemu_cpus: Vec::new(),
            },
            bytes,
        }
    }
}

impl DumpFormat for PhysBytes {
    fn meta(&self) -> &DumpMeta {
        &self.meta
    }

    fn page_state(&self, pfn: u64) -> PageState {
        if pfn < self.meta.max_pfn {
            PageState::Present
        } else {
            PageState::NotRam
        }
    }

    fn read_page(&self, pfn: u64, offset: usize, buf: &mut [u8]) -> DumpResult<()> {
        let paddr = pfn.saturating_mul(PAGE).saturating_add(offset as u64);
        if pfn >= self.meta.max_pfn || offset + buf.len() > PAGE as usize {
            return Err(DumpError::NotRam { paddr });
        }
        // The last page may be short: the rest reads as zeros.
        buf.fill(0);
        let start = (paddr as usize).min(self.bytes.len());
        let end = (start + buf.len()).min(self.bytes.len());
        buf[..end - start].copy_from_slice(&self.bytes[start..end]);
        Ok(())
    }
}

/// Kernel virtual memory holding `bytes` (borrowed or owned) at `base` and nothing else.
pub struct VirtBytes<B> {
    pub base: u64,
    pub bytes: B,
}

impl<B: AsRef<[u8]> + Send + Sync> ReadVirt for VirtBytes<B> {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> MemResult<()> {
        let range = addr
            .checked_sub(self.base)
            .and_then(|off| usize::try_from(off).ok())
            .and_then(|off| Some(off..off.checked_add(buf.len())?));
        match range.and_then(|r| self.bytes.as_ref().get(r)) {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(MemError::Dump {
                vaddr: addr,
                level: None,
                source: DumpError::NotRam { paddr: addr },
            }),
        }
    }
}

/// Memory that holds `bytes` repeated at every address: every read succeeds, with values from
/// the fuzz input (for printers that follow pointers and read strings).
pub struct Repeating(pub Vec<u8>);

impl ReadVirt for Repeating {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> MemResult<()> {
        let n = self.0.len() as u64;
        for (i, b) in buf.iter_mut().enumerate() {
            *b = match n {
                0 => 0,
                _ => self.0[(addr.wrapping_add(i as u64) % n) as usize],
            };
        }
        Ok(())
    }
}
