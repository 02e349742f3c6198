//! makedumpfile's kdump-compressed format.

use crate::{DumpError, DumpFormat, DumpMeta, PageState, Result};

/// Where the kdump bytes come from.
pub enum Source {
    /// A mapped ordinary kdump file.
    Mapped(memmap2::Mmap),
}

/// A kdump-compressed dump.
pub struct KdumpFile {
    meta: DumpMeta,
}

impl KdumpFile {
    /// Parses a kdump-compressed file.
    pub fn parse(_src: Source) -> Result<KdumpFile> {
        Err(DumpError::Unsupported { what: "kdump-compressed (not yet implemented)".into() })
    }
    /// Indexes a flattened (`makedumpfile -F`) file and parses the kdump inside it.
    pub fn parse_flattened(_map: memmap2::Mmap) -> Result<KdumpFile> {
        Err(DumpError::Unsupported { what: "flattened (not yet implemented)".into() })
    }
}

impl DumpFormat for KdumpFile {
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
