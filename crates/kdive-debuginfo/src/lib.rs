//! The debuginfo layer: names and shapes.
//!
//! [`Types`] answers "the type `struct task_struct`" and [`Symbols`] answers "the symbol
//! `init_task`", whichever provider (BTF or kallsyms from the dump, DWARF from a vmlinux) knows it.

pub mod btf;
pub mod dwarf;
pub mod elf_file;
pub mod error;
mod hash;
pub mod kallsyms;
pub mod symbols;
pub mod table;
pub mod types;

pub use error::DebugInfoError;
pub use symbols::{Symbol, SymbolSource, Symbols};
pub use types::{Member, NameKind, Qualifier, Type, TypeId, TypeKind, TypeSource, Types};

/// Result type of the debuginfo layer.
pub type Result<T, E = DebugInfoError> = std::result::Result<T, E>;
