//! ELF64 vmcores: kdump's `/proc/vmcore` copy, `makedumpfile -E`, QEMU `dump-guest-memory`.

use crate::{DumpError, DumpFormat, DumpMeta, PageState, Result};

/// An ELF64 vmcore, memory-mapped.
pub struct ElfDump {
    meta: DumpMeta,
}

impl ElfDump {
    /// Parses program headers and notes of a mapped ELF core.
    pub fn parse(_map: memmap2::Mmap) -> Result<ElfDump> {
        Err(DumpError::Unsupported { what: "ELF vmcore (not yet implemented)".into() })
    }
}

impl DumpFormat for ElfDump {
    fn meta(&self) -> &DumpMeta {
        &self.meta
    }
    fn page_state(&self, _pfn: u64) -> PageState {
        PageState::NotRam
    }
    fn read_page(&self, pfn: u64, _offset: usize, _buf: &mut [u8]) -> Result<()> {
        Err(DumpError::NotRam { paddr: pfn * self.meta.page_size })
    }
}
