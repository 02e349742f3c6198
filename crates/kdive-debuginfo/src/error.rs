//! Errors of the debuginfo layer.

/// Why symbols or types could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DebugInfoError {
    #[error("reading {what}: {source}")]
    Memory {
        what: String,
        #[source]
        source: kdive_memory::MemError,
    },
    #[error("malformed {what} at offset {offset:#x}: {detail}")]
    Malformed {
        what: &'static str,
        offset: u64,
        detail: String,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("missing {0}")]
    Missing(String),
}
