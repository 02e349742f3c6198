//! The program layer: `Program` = memory + symbols + types; `Object` = a typed value.
//!
//! Everything above (kernel helpers, commands, front ends) reads the dump through
//! [`Program`] and [`Object`], never through page tables or type records directly.

pub mod debug;
pub mod disasm;
pub mod error;
pub mod expr;
mod globals;
mod loader;
pub mod locals;
pub mod modules;
pub mod object;
pub mod print;
pub mod program;
pub mod span;
pub mod symtab;
pub mod unwind;

pub use error::{ErrorKind, KernelOpenError, ProgramError};
pub use modules::{AttachedModule, ModuleLoader, ModuleSpan, ModuleTables, SpanRegion};
pub use object::Object;
pub use program::{Program, ProgramBuilder, ProgramSymbols};

/// Result type of the program layer.
pub type Result<T, E = ProgramError> = std::result::Result<T, E>;
