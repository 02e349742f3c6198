//! A small ELF file with DWARF, built in code (gimli::write + object::write): the program
//!
//! ```text
//! /src/kernel/demo.c
//!  10  void outer(void)        0x1000..0x1040 (text)
//!  12      inner();            inlined at 0x1010..0x1020, inner's body at line 30
//!  14      ...                 0x1020..0x1040
//! ```
//!
//! with a `.note.gnu.build-id`, symbols `_stext`/`_etext`/`linux_banner`, and a banner string.

use gimli::write::{
    Address, AttributeValue, DwarfUnit, EndianVec, LineProgram, LineString, Sections,
};
use object::write::{Object, StandardSection, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};

/// The link-time address `outer` starts at.
pub const TEXT: u64 = 0x1000;
/// Bytes of text.
pub const TEXT_LEN: u64 = 0x40;
/// The inlined call covers `INLINED.0 .. INLINED.1`.
pub const INLINED: (u64, u64) = (0x1010, 0x1020);
/// The build-id note's bytes.
pub const BUILD_ID: [u8; 20] = *b"kdive-synthetic-id!!";
/// The `linux_banner` string.
pub const BANNER: &str = "Linux version 6.0.0-synthetic (kdive) #1\n";
/// Source lines: `outer` starts at 10, calls `inner` on 12, goes on at 14; `inner`'s body is 30.
pub const LINES: (u32, u32, u32, u32) = (10, 12, 14, 30);

/// Sets a DIE's `DW_AT_low_pc`/`DW_AT_high_pc` to `len` bytes at `start`.
fn code_range(d: &mut gimli::write::DebuggingInformationEntry, start: u64, len: u64) {
    d.set(
        gimli::DW_AT_low_pc,
        AttributeValue::Address(Address::Constant(start)),
    );
    d.set(gimli::DW_AT_high_pc, AttributeValue::Udata(len));
}

/// The ELF file's bytes, DWARF version `version` (4 or 5).
pub fn dwarf_elf(version: u16) -> Vec<u8> {
    let encoding = gimli::Encoding {
        format: gimli::Format::Dwarf32,
        version,
        address_size: 8,
    };
    let mut dwarf = DwarfUnit::new(encoding);
    let dir = LineString::String(b"/src".to_vec());
    let name = LineString::String(b"kernel/demo.c".to_vec());
    let mut lp = LineProgram::new(
        encoding,
        gimli::LineEncoding::default(),
        dir,
        name.clone(),
        None,
    );
    let file = lp.add_file(name, lp.default_directory(), None);
    lp.begin_sequence(Some(Address::Constant(TEXT)));
    let (start, call, after, body) = LINES;
    for (off, line) in [
        (0, start),
        (INLINED.0 - TEXT, body),
        (INLINED.1 - TEXT, after),
    ] {
        lp.row().address_offset = off;
        lp.row().file = file;
        lp.row().line = u64::from(line);
        lp.generate_row();
    }
    lp.end_sequence(TEXT_LEN);
    dwarf.unit.line_program = lp;

    let root = dwarf.unit.root();
    let r = dwarf.unit.get_mut(root);
    r.set(
        gimli::DW_AT_name,
        AttributeValue::String(b"kernel/demo.c".to_vec()),
    );
    r.set(
        gimli::DW_AT_comp_dir,
        AttributeValue::String(b"/src".to_vec()),
    );
    code_range(r, TEXT, TEXT_LEN);

    let inner = dwarf.unit.add(root, gimli::DW_TAG_subprogram);
    let d = dwarf.unit.get_mut(inner);
    d.set(gimli::DW_AT_name, AttributeValue::String(b"inner".to_vec()));
    d.set(
        gimli::DW_AT_inline,
        AttributeValue::Inline(gimli::DW_INL_inlined),
    );

    let outer = dwarf.unit.add(root, gimli::DW_TAG_subprogram);
    let d = dwarf.unit.get_mut(outer);
    d.set(gimli::DW_AT_name, AttributeValue::String(b"outer".to_vec()));
    code_range(d, TEXT, TEXT_LEN);

    let call_site = dwarf.unit.add(outer, gimli::DW_TAG_inlined_subroutine);
    let d = dwarf.unit.get_mut(call_site);
    d.set(gimli::DW_AT_abstract_origin, AttributeValue::UnitRef(inner));
    code_range(d, INLINED.0, INLINED.1 - INLINED.0);
    d.set(
        gimli::DW_AT_call_file,
        AttributeValue::FileIndex(Some(file)),
    );
    d.set(
        gimli::DW_AT_call_line,
        AttributeValue::Udata(u64::from(call)),
    );

    let mut sections = Sections::new(EndianVec::new(gimli::LittleEndian));
    dwarf.write(&mut sections).expect("synthetic DWARF");

    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.set_section_data(text, vec![0x90; TEXT_LEN as usize], 16);
    obj.section_mut(text).flags = object::SectionFlags::None;
    let rodata = obj.section_id(StandardSection::ReadOnlyData);
    let mut banner = BANNER.as_bytes().to_vec();
    banner.push(0);
    let banner_off = obj.append_section_data(rodata, &banner, 8);
    for (name, section, value) in [
        ("_stext", text, 0),
        ("_etext", text, TEXT_LEN),
        ("linux_banner", rodata, banner_off),
    ] {
        obj.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value,
            size: 0,
            kind: SymbolKind::Data,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(section),
            flags: SymbolFlags::None,
        });
    }
    let mut note = Vec::new();
    note.extend_from_slice(&4u32.to_le_bytes());
    note.extend_from_slice(&(BUILD_ID.len() as u32).to_le_bytes());
    note.extend_from_slice(&3u32.to_le_bytes()); // NT_GNU_BUILD_ID
    note.extend_from_slice(b"GNU\0");
    note.extend_from_slice(&BUILD_ID);
    let notes = obj.add_section(
        Vec::new(),
        b".note.gnu.build-id".to_vec(),
        SectionKind::Note,
    );
    obj.set_section_data(notes, note, 4);
    add_debug_sections(&mut obj, &mut sections);
    obj.write().expect("synthetic ELF")
}

/// Adds the non-empty DWARF sections written to `sections` to `obj`.
pub(crate) fn add_debug_sections(
    obj: &mut Object<'_>,
    sections: &mut Sections<EndianVec<gimli::LittleEndian>>,
) {
    sections
        .for_each(|id, data| {
            if !data.slice().is_empty() {
                let s = obj.add_section(
                    Vec::new(),
                    id.name().as_bytes().to_vec(),
                    SectionKind::Debug,
                );
                obj.set_section_data(s, data.slice().to_vec(), 1);
            }
            Ok::<(), gimli::write::Error>(())
        })
        .expect("sections");
}
