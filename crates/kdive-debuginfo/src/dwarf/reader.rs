//! The DWARF sections a type index reads, borrowed from the mapped file while a lookup runs.
//!
//! Readers are slices of the mapping (no reference counts touched per read, which matters when
//! two threads index a vmlinux's hundreds of megabytes at once); a module's sections carry the
//! relocations that place it where it was loaded.

use std::collections::HashMap;
use std::sync::Arc;

use gimli::{AttributeValue, EndianSlice, RunTimeEndian, SectionId};

use super::{error, Relocations};
use crate::elf_file::{Bytes, ElfFile};
use crate::{DebugInfoError, Result};

/// A section as gimli reads it during one lookup: a slice of the mapping, relocated if needed.
pub(crate) type Slice<'a> = gimli::RelocateReader<EndianSlice<'a, RunTimeEndian>, Relocations>;

/// One section: its bytes and, for a relocatable file, its relocations.
struct Section {
    bytes: Bytes,
    relocs: Relocations,
}

/// The sections types are read from, found once (windows into the mapped file).
pub(crate) struct DebugSections {
    endian: RunTimeEndian,
    info: Section,
    abbrev: Section,
    str: Section,
    line_str: Section,
    str_offsets: Section,
}

/// Which string section a name lies in (names are kept as places, not copies, while indexing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrSection {
    Info,
    Str,
    LineStr,
}

/// The gimli sections over one [`DebugSections`], for the time of a lookup.
pub(crate) struct Dw<'a> {
    pub info: gimli::DebugInfo<Slice<'a>>,
    pub abbrev: gimli::DebugAbbrev<Slice<'a>>,
    pub str: gimli::DebugStr<Slice<'a>>,
    pub line_str: gimli::DebugLineStr<Slice<'a>>,
    pub str_offsets: gimli::DebugStrOffsets<Slice<'a>>,
    sections: &'a DebugSections,
}

impl DebugSections {
    /// The sections of `file`; `bases` places a relocatable file's allocated sections.
    pub(crate) fn read(file: &ElfFile, bases: Option<&HashMap<String, u64>>) -> Result<Self> {
        let section = |id: SectionId| -> Result<Section> {
            let bytes = file.section_bytes(id.name())?;
            let relocs = match bases {
                Some(b) => {
                    let map = file.relocations(id.name(), b)?;
                    Relocations((!map.is_empty()).then(|| Arc::new(map)))
                }
                None => Relocations::default(),
            };
            Ok(Section { bytes, relocs })
        };
        let info = section(SectionId::DebugInfo)?;
        if info.bytes.is_empty() {
            return Err(DebugInfoError::Missing(format!(
                "DWARF types in {}: no .debug_info",
                file.path().display()
            )));
        }
        Ok(DebugSections {
            endian: if file.is_little_endian() {
                RunTimeEndian::Little
            } else {
                RunTimeEndian::Big
            },
            info,
            abbrev: section(SectionId::DebugAbbrev)?,
            str: section(SectionId::DebugStr)?,
            line_str: section(SectionId::DebugLineStr)?,
            str_offsets: section(SectionId::DebugStrOffsets)?,
        })
    }

    fn reader<'a>(&'a self, s: &'a Section) -> Slice<'a> {
        Slice::new(EndianSlice::new(&s.bytes, self.endian), s.relocs.clone())
    }

    /// Bytes of `.debug_info`.
    pub(crate) fn info_len(&self) -> usize {
        self.info.bytes.len()
    }

    /// Bytes of `.debug_str`.
    pub(crate) fn str_bytes(&self) -> &[u8] {
        &self.str.bytes
    }

    /// The gimli view of the sections.
    pub(crate) fn dw(&self) -> Dw<'_> {
        Dw {
            info: self.reader(&self.info).into(),
            abbrev: self.reader(&self.abbrev).into(),
            str: self.reader(&self.str).into(),
            line_str: self.reader(&self.line_str).into(),
            str_offsets: self.reader(&self.str_offsets).into(),
            sections: self,
        }
    }

    /// The bytes of a name found while indexing.
    pub(crate) fn name_bytes(&self, sec: StrSection, off: usize, len: usize) -> Option<&[u8]> {
        self.section(sec).get(off..off.checked_add(len)?)
    }

    fn section(&self, sec: StrSection) -> &[u8] {
        match sec {
            StrSection::Info => &self.info.bytes,
            StrSection::Str => &self.str.bytes,
            StrSection::LineStr => &self.line_str.bytes,
        }
    }
}

/// Where a string attribute's bytes lie: (section, offset, length).
pub(crate) type NamePlace = (StrSection, usize, usize);

impl<'a> Dw<'a> {
    /// Bytes of `.debug_info`.
    pub(crate) fn info_len(&self) -> usize {
        self.sections.info_len()
    }

    /// True for a big-endian file.
    pub(crate) fn big_endian(&self) -> bool {
        gimli::Endianity::is_big_endian(self.sections.endian)
    }

    /// The string an attribute value names (`DW_FORM_string`, `strp`, `line_strp`, `strx*`).
    pub(crate) fn string(
        &self,
        unit: &UnitCtx<'a>,
        v: AttributeValue<Slice<'a>>,
    ) -> Option<Slice<'a>> {
        match v {
            AttributeValue::String(r) => Some(r),
            AttributeValue::DebugStrRef(o) => self.str.get_str(o).ok(),
            AttributeValue::DebugLineStrRef(o) => self.line_str.get_str(o).ok(),
            AttributeValue::DebugStrOffsetsIndex(i) => {
                let o = self
                    .str_offsets
                    .get_str_offset(unit.header.format(), unit.str_offsets_base, i)
                    .ok()?;
                self.str.get_str(o).ok()
            }
            _ => None,
        }
    }

    /// Where the string of an attribute value lies, without copying it (its end found with
    /// `memchr` in the mapped section: this runs for every name a unit's top level has).
    pub(crate) fn string_place(
        &self,
        unit: &UnitCtx<'a>,
        v: AttributeValue<Slice<'a>>,
    ) -> Option<NamePlace> {
        use gimli::Reader;
        let in_section = |sec: StrSection, off: usize| {
            let bytes = self.sections.section(sec).get(off..)?;
            Some((sec, off, memchr::memchr(0, bytes)?))
        };
        match v {
            AttributeValue::String(r) => {
                let base = self.sections.reader(&self.sections.info);
                Some((StrSection::Info, r.offset_from(&base), r.len()))
            }
            AttributeValue::DebugStrRef(o) => in_section(StrSection::Str, o.0),
            AttributeValue::DebugLineStrRef(o) => in_section(StrSection::LineStr, o.0),
            AttributeValue::DebugStrOffsetsIndex(i) => {
                let o = self
                    .str_offsets
                    .get_str_offset(unit.header.format(), unit.str_offsets_base, i)
                    .ok()?;
                in_section(StrSection::Str, o.0)
            }
            _ => None,
        }
    }

    /// A string attribute as an owned string (lossy for invalid UTF-8).
    pub(crate) fn string_owned(
        &self,
        unit: &UnitCtx<'a>,
        v: AttributeValue<Slice<'a>>,
    ) -> Option<Arc<str>> {
        use gimli::Reader;
        let r = self.string(unit, v)?;
        let s = r.to_string_lossy().ok()?;
        Some(Arc::from(&*s))
    }

    /// The unit whose header starts at `start`, with its abbreviations.
    pub(crate) fn unit(&self, start: usize, abbrevs: Arc<UnitAbbrevs>) -> Result<UnitCtx<'a>> {
        let header = self
            .info
            .header_from_offset(gimli::DebugInfoOffset(start))
            .map_err(|e| at(error("DWARF unit header", e), start))?;
        Ok(UnitCtx {
            header,
            start,
            str_offsets_base: abbrevs.str_offsets_base,
            abbrevs,
        })
    }

    /// Reads the abbreviations of the unit at `start` and the bases its root DIE gives.
    pub(crate) fn unit_abbrevs(&self, start: usize) -> Result<UnitAbbrevs> {
        let header = self
            .info
            .header_from_offset(gimli::DebugInfoOffset(start))
            .map_err(|e| at(error("DWARF unit header", e), start))?;
        let abbrevs = header
            .abbreviations(&self.abbrev)
            .map_err(|e| at(error("DWARF abbreviations", e), start))?;
        let mut base = gimli::DebugStrOffsetsBase::default_for_encoding_and_file(
            header.encoding(),
            gimli::DwarfFileType::Main,
        );
        let mut raw = header
            .entries_raw(&abbrevs, None)
            .map_err(|e| at(error("DWARF unit", e), start))?;
        if let Ok(Some(root)) = raw.read_abbreviation() {
            for spec in root.attributes() {
                let a = raw
                    .read_attribute(*spec)
                    .map_err(|e| at(error("DWARF unit", e), start))?;
                if let AttributeValue::DebugStrOffsetsBase(b) = a.value() {
                    base = b;
                }
            }
        }
        Ok(UnitAbbrevs {
            abbrevs,
            str_offsets_base: base,
        })
    }
}

/// A unit's abbreviations and the string-offsets base of its root (kept across lookups).
pub(crate) struct UnitAbbrevs {
    pub abbrevs: gimli::Abbreviations,
    pub str_offsets_base: gimli::DebugStrOffsetsBase<usize>,
}

/// One unit during a lookup.
pub(crate) struct UnitCtx<'a> {
    pub header: gimli::UnitHeader<Slice<'a>>,
    /// Offset of the unit's header in `.debug_info`.
    pub start: usize,
    pub abbrevs: Arc<UnitAbbrevs>,
    pub str_offsets_base: gimli::DebugStrOffsetsBase<usize>,
}

impl UnitCtx<'_> {
    /// The `.debug_info` offset a reference attribute points at (in this unit or another).
    pub(crate) fn reference<R: gimli::Reader<Offset = usize>>(
        &self,
        v: &AttributeValue<R>,
    ) -> Option<usize> {
        match v {
            AttributeValue::UnitRef(o) => self.start.checked_add(o.0),
            AttributeValue::DebugInfoRef(o) => Some(o.0),
            _ => None,
        }
    }

    /// One past the last byte of the unit in `.debug_info`.
    pub(crate) fn end(&self) -> usize {
        self.start
            .saturating_add(self.header.length_including_self())
    }
}

/// `e` with the `.debug_info` offset it happened at.
pub(crate) fn at(e: DebugInfoError, offset: usize) -> DebugInfoError {
    match e {
        DebugInfoError::Malformed { what, detail, .. } => DebugInfoError::Malformed {
            what,
            offset: offset as u64,
            detail,
        },
        e => e,
    }
}
