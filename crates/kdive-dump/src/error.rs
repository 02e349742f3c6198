//! Errors of the dump layer.

use std::path::Path;

/// Why a dump could not be read. Absent pages have their own variants.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("not a crash dump: {reason}")]
    NotADump { reason: String },
    #[error("truncated {what}: needs bytes {offset:#x}..{end:#x}, file has {len:#x}")]
    Truncated {
        what: &'static str,
        offset: u64,
        end: u64,
        len: u64,
    },
    #[error("corrupt {what} at file offset {offset:#x}: {detail}")]
    Corrupt {
        what: &'static str,
        offset: u64,
        detail: String,
    },
    #[error("unsupported {what}")]
    Unsupported { what: String },
    #[error("physical address {paddr:#x}: page excluded from the dump{}", level_text(*.dump_level))]
    Excluded { paddr: u64, dump_level: Option<u32> },
    #[error("physical address {paddr:#x}: not RAM in this dump")]
    NotRam { paddr: u64 },
    #[error("physical address {paddr:#x}: page lost (incomplete or truncated dump)")]
    Lost { paddr: u64 },
    #[error("physical address {paddr:#x}: {codec:?} page does not decompress: {detail}")]
    Decompress {
        paddr: u64,
        codec: crate::Codec,
        detail: String,
    },
}

fn level_text(level: Option<u32>) -> String {
    level
        .map(|l| format!(" by dump level {l}"))
        .unwrap_or_default()
}

impl DumpError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        DumpError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// The physical address a failed page read was for.
    pub fn paddr(&self) -> Option<u64> {
        match self {
            DumpError::Excluded { paddr, .. }
            | DumpError::NotRam { paddr }
            | DumpError::Lost { paddr }
            | DumpError::Decompress { paddr, .. } => Some(*paddr),
            _ => None,
        }
    }

    /// True for the errors that mean "this page is not in the dump" (as opposed to corrupt data).
    pub fn is_missing_page(&self) -> bool {
        matches!(
            self,
            DumpError::Excluded { .. } | DumpError::NotRam { .. } | DumpError::Lost { .. }
        )
    }
}
