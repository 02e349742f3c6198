//! Errors of the program layer.

use kdive_debuginfo::DebugInfoError;
use kdive_memory::MemError;

/// Why a typed read failed.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error(transparent)]
    Memory(#[from] MemError),
    #[error(transparent)]
    DebugInfo(#[from] DebugInfoError),
    /// An operation that does not apply to the object's type (member of an int, deref of a struct...).
    #[error("{op} on {ty}: {why}")]
    Type {
        op: &'static str,
        ty: String,
        why: String,
    },
    /// A symbol the operation needs is not in the symbol table.
    #[error("symbol '{0}' not found")]
    NoSymbol(String),
    /// The kernel in the dump cannot be made sense of (no VMCOREINFO, no kallsyms, no BTF).
    #[error("{0}")]
    Open(String),
    /// A debug-info file that cannot be used for this dump (another build, no DWARF...).
    #[error("{path} cannot be used with this dump: {why}")]
    DebugFile { path: String, why: String },
    /// A walk stopped: a loop, or more entries than the limit.
    #[error("{what}: {why}")]
    Walk { what: String, why: String },
}

impl ProgramError {
    /// True when the root cause is a page missing from the dump (excluded, not RAM, lost).
    pub fn is_missing_page(&self) -> bool {
        matches!(self, ProgramError::Memory(m) if m.is_missing_page())
    }
}
