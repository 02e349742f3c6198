//! DWARF from a debug file (gimli): source lines and inlined calls.
//!
//! Sections are read in place from the mapped file; nothing is indexed until asked.

pub mod lines;

use crate::elf_file::{Bytes, ElfFile};
use crate::{DebugInfoError, Result};

pub use lines::{SourceFrame, SourceLines};

/// The gimli reader over a debug file's sections.
pub type Reader = gimli::EndianReader<gimli::RunTimeEndian, Bytes>;

/// The DWARF sections of `file`, unparsed.
pub fn load(file: &ElfFile) -> Result<gimli::Dwarf<Reader>> {
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    gimli::Dwarf::load(|id| -> Result<Reader> {
        Ok(Reader::new(file.section_bytes(id.name())?, endian))
    })
}

/// A gimli error as ours, naming what was being read.
pub(crate) fn error(what: &'static str, e: gimli::Error) -> DebugInfoError {
    DebugInfoError::Malformed {
        what,
        offset: 0,
        detail: e.to_string(),
    }
}
