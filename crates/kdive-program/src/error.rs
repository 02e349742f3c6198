//! Errors of the program layer.

use std::path::PathBuf;
use std::sync::Arc;

use kdive_debuginfo::DebugInfoError;
use kdive_memory::MemError;

/// Why a typed read failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// A global whose type no source gives (BTF types few globals; DWARF needs the vmlinux or
    /// the module's `.ko`): it can still be read through a cast. gdb's words.
    #[error("'{0}' has unknown type; cast it to its declared type")]
    NoType(String),
    /// The kernel in the dump cannot be made sense of.
    #[error(transparent)]
    Open(#[from] KernelOpenError),
    /// A debug-info file that cannot be used for this dump (another build, no DWARF...).
    #[error("{path} cannot be used with this dump: {why}")]
    DebugFile { path: String, why: String },
    /// A debug file that was accepted but whose DWARF cannot be read.
    #[error("{}: its DWARF cannot be read: {source}", path.display())]
    DebugInfoFile {
        path: PathBuf,
        #[source]
        source: Arc<DebugInfoError>,
    },
    /// A walk stopped: a loop, or more entries than the limit.
    #[error("{what}: {why}")]
    Walk { what: String, why: String },
    /// Something this architecture or kernel is not supported for yet.
    #[error("{0}")]
    Unsupported(String),
    /// An error kept where it happened and shared by everyone who asked (a walk done once).
    #[error(transparent)]
    Shared(Arc<ProgramError>),
}

/// Why the kernel in a dump could not be opened from the dump alone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KernelOpenError {
    #[error("the dump carries no VMCOREINFO")]
    NoVmcoreinfo,
    /// Kernel addresses cannot be translated (page tables, KASLR).
    #[error(transparent)]
    Memory(MemError),
    #[error("kallsyms: {0}")]
    Kallsyms(#[source] DebugInfoError),
    /// A symbol that bounds the BTF is missing: a kernel built without BTF.
    #[error("no {0}: kernel built without BTF")]
    NoBtf(&'static str),
    #[error("BTF bounds {start:#x}..{stop:#x} make no sense")]
    BtfBounds { start: u64, stop: u64 },
    #[error("reading BTF: {0}")]
    ReadBtf(#[source] MemError),
    #[error("BTF: {0}")]
    Btf(#[source] DebugInfoError),
}

/// The broad kind of a [`ProgramError`], for callers that act on it (Python's exception classes,
/// the JSON error object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Memory that cannot be read: a page missing from the dump, an unmapped address.
    Fault,
    /// A name or type that does not exist: symbol, type, member.
    Lookup,
    /// An operation the value's type does not allow.
    Type,
    /// Kernel data that makes no sense or a walk that does not end.
    Corrupt,
    /// Something not available: no debug info, an unsupported architecture, a kernel that cannot be read.
    Unavailable,
}

impl ErrorKind {
    /// The kind in words (`"fault"`, `"lookup"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Fault => "fault",
            ErrorKind::Lookup => "lookup",
            ErrorKind::Type => "type",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Unavailable => "unavailable",
        }
    }
}

impl ProgramError {
    /// True when the root cause is a page missing from the dump (excluded, not RAM, lost).
    pub fn is_missing_page(&self) -> bool {
        match self {
            ProgramError::Memory(m) => m.is_missing_page(),
            ProgramError::DebugInfo(DebugInfoError::Memory { source, .. }) => {
                source.is_missing_page()
            }
            ProgramError::Shared(e) => e.is_missing_page(),
            _ => false,
        }
    }

    /// The broad kind of the failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ProgramError::Memory(_) | ProgramError::DebugInfo(DebugInfoError::Memory { .. }) => {
                ErrorKind::Fault
            }
            ProgramError::DebugInfo(DebugInfoError::NotFound(_))
            | ProgramError::NoSymbol(_)
            | ProgramError::NoType(_) => ErrorKind::Lookup,
            ProgramError::DebugInfo(_) | ProgramError::Walk { .. } => ErrorKind::Corrupt,
            ProgramError::Type { .. } => ErrorKind::Type,
            ProgramError::Open(KernelOpenError::Memory(_) | KernelOpenError::ReadBtf(_)) => {
                ErrorKind::Fault
            }
            ProgramError::Open(_)
            | ProgramError::DebugFile { .. }
            | ProgramError::DebugInfoFile { .. }
            | ProgramError::Unsupported(_) => ErrorKind::Unavailable,
            ProgramError::Shared(e) => e.kind(),
        }
    }

    /// The virtual address a failed read was for.
    pub fn fault_address(&self) -> Option<u64> {
        match self {
            ProgramError::Memory(m)
            | ProgramError::DebugInfo(DebugInfoError::Memory { source: m, .. })
            | ProgramError::Open(KernelOpenError::Memory(m) | KernelOpenError::ReadBtf(m)) => {
                m.vaddr()
            }
            ProgramError::Shared(e) => e.fault_address(),
            _ => None,
        }
    }
}
