//! Errors of the memory layer.

use kdive_dump::DumpError;

/// Why a kernel virtual address could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MemError {
    /// The page-table walk found no mapping.
    #[error("virtual address {vaddr:#x}: not mapped ({level} entry {entry:#x} not present)")]
    NotMapped {
        vaddr: u64,
        level: &'static str,
        entry: u64,
    },
    /// The physical page (of the data or of a page table) is not readable from the dump.
    #[error("virtual address {vaddr:#x}{}: {source}", walk_text(*.level))]
    Dump {
        vaddr: u64,
        level: Option<&'static str>,
        #[source]
        source: DumpError,
    },
    /// The address is not canonical or outside what this architecture can map.
    #[error("virtual address {vaddr:#x}: {reason}")]
    BadAddress { vaddr: u64, reason: &'static str },
    /// A page-table entry is present but malformed (e.g. the huge-page bit at a level that cannot map pages).
    #[error("virtual address {vaddr:#x}: bad {level} entry {entry:#x}: {reason}")]
    BadEntry {
        vaddr: u64,
        level: &'static str,
        entry: u64,
        reason: &'static str,
    },
    /// The dump does not say enough to translate addresses (no VMCOREINFO, no page-table root).
    #[error("cannot translate kernel addresses: {0}")]
    NoTranslation(String),
}

fn walk_text(level: Option<&'static str>) -> String {
    level
        .map(|l| format!(" (reading its {l} table)"))
        .unwrap_or_default()
}

impl MemError {
    /// The virtual address the failed read was for, when it had one.
    pub fn vaddr(&self) -> Option<u64> {
        match self {
            MemError::NotMapped { vaddr, .. }
            | MemError::Dump { vaddr, .. }
            | MemError::BadAddress { vaddr, .. }
            | MemError::BadEntry { vaddr, .. } => Some(*vaddr),
            MemError::NoTranslation(_) => None,
        }
    }

    /// True when the failure is a page missing from the dump (excluded, not RAM, lost).
    pub fn is_missing_page(&self) -> bool {
        matches!(self, MemError::Dump { source, .. } if source.is_missing_page())
    }

    /// True when the data page itself is missing from the dump (the page tables were readable).
    pub fn is_missing_data_page(&self) -> bool {
        matches!(self, MemError::Dump { level: None, source, .. } if source.is_missing_page())
    }
}
