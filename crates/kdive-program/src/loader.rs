//! Opening a kernel from a dump alone: memory from VMCOREINFO, symbols from kallsyms, types from BTF.

use std::sync::Arc;

use kdive_dump::Dump;

use crate::{Program, ProgramError, Result};

impl Program {
    /// Opens the kernel in `dump` with nothing but the dump: page tables, kallsyms and BTF from its memory.
    pub fn open(dump: Arc<Dump>) -> Result<Program> {
        let _ = dump;
        Err(ProgramError::Walk { what: "Program::open".into(), why: "not yet wired".into() })
    }
}
