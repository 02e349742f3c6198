//! DWARF from a debug file (gimli): source lines and inlined calls, types, variables and
//! functions by name, a frame's local variables, call frame information.
//!
//! Sections are read in place from the mapped file; nothing is indexed until asked. A
//! relocatable file (a module) has its debug sections' relocations applied as they are read,
//! with its code and data sections placed where the kernel loaded them.

pub mod cfi;
mod convert;
mod index;
pub mod lines;
pub mod locals;
mod reader;
pub mod types;

use std::collections::HashMap;
use std::sync::Arc;

use crate::elf_file::{Bytes, ElfFile};
use crate::{DebugInfoError, Result};

pub use cfi::{CallFrames, CfiRow, SavedAt};
pub use lines::{SourceFrame, SourceLines};
pub use locals::{FrameAccess, FrameScopes, Located, Scope, VarLocation, Variable};
pub use types::{DwarfTypes, Found};

/// A section's bytes as gimli reads them.
pub type RawReader = gimli::EndianReader<gimli::RunTimeEndian, Bytes>;

/// The gimli reader over a debug file's sections (relocations applied, if any).
pub type Reader = gimli::RelocateReader<RawReader, Relocations>;

/// Relocated values of one section, by offset: (value, added to the stored one).
#[derive(Debug, Clone, Default)]
pub struct Relocations(Option<Arc<HashMap<usize, (u64, bool)>>>);

impl gimli::read::Relocate<usize> for Relocations {
    fn relocate_address(&self, offset: usize, value: u64) -> gimli::Result<u64> {
        Ok(match self.0.as_ref().and_then(|m| m.get(&offset)) {
            Some(&(v, true)) => v.wrapping_add(value),
            Some(&(v, false)) => v,
            None => value,
        })
    }

    fn relocate_offset(&self, offset: usize, value: usize) -> gimli::Result<usize> {
        let v = self.relocate_address(offset, value as u64)?;
        usize::try_from(v).map_err(|_| gimli::Error::UnsupportedOffset)
    }
}

/// The DWARF sections of `file`, unparsed. `bases` places a relocatable file's allocated
/// sections (by name); `None` reads the sections as stored (a linked vmlinux).
pub fn load(file: &ElfFile, bases: Option<&HashMap<String, u64>>) -> Result<gimli::Dwarf<Reader>> {
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    gimli::Dwarf::load(|id| -> Result<Reader> {
        let raw = RawReader::new(file.section_bytes(id.name())?, endian);
        let relocs = match bases {
            Some(b) => {
                let map = file.relocations(id.name(), b)?;
                Relocations((!map.is_empty()).then(|| Arc::new(map)))
            }
            None => Relocations(None),
        };
        Ok(Reader::new(raw, relocs))
    })
}

/// A linked file's DWARF sections, each found once (windows into the mapped file), from which
/// the DWARF of the whole file or of one unit is made without going back to the ELF headers.
pub(crate) struct Sections {
    map: HashMap<gimli::SectionId, Bytes>,
    endian: gimli::RunTimeEndian,
}

impl Sections {
    /// The sections of `file` gimli reads.
    pub(crate) fn read(file: &ElfFile) -> Result<Sections> {
        let mut map = HashMap::new();
        gimli::Dwarf::load(|id| -> Result<()> {
            map.insert(id, file.section_bytes(id.name())?);
            Ok(())
        })?;
        let endian = if file.is_little_endian() {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        };
        Ok(Sections { map, endian })
    }

    /// The file's DWARF; with `unit`, a `.debug_info` of that unit alone (and no aranges, whose
    /// offsets name the whole section).
    pub(crate) fn dwarf(&self, unit: Option<Bytes>) -> Result<gimli::Dwarf<Reader>> {
        let empty = || Bytes::new(Arc::new(Vec::<u8>::new()));
        gimli::Dwarf::load(|id| -> Result<Reader> {
            let bytes = match (&unit, id) {
                (Some(u), gimli::SectionId::DebugInfo) => u.clone(),
                (Some(_), gimli::SectionId::DebugAranges) => empty(),
                _ => self.map.get(&id).cloned().unwrap_or_else(empty),
            };
            Ok(Reader::new(
                RawReader::new(bytes, self.endian),
                Relocations(None),
            ))
        })
    }

    /// Section `id`, empty when the file has none.
    pub(crate) fn get(&self, id: gimli::SectionId) -> Option<&Bytes> {
        self.map.get(&id)
    }
}

/// A gimli error as ours, naming what was being read.
pub(crate) fn error(what: &'static str, e: gimli::Error) -> DebugInfoError {
    DebugInfoError::Malformed {
        what,
        offset: 0,
        detail: e.to_string(),
    }
}
