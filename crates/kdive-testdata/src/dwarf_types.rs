//! A small ELF file whose DWARF describes types and variables, built in code, in two units:
//!
//! ```text
//! unit 1 (a.c)                                unit 2 (b.c)
//!   struct inner { int a; };                    struct later { long x; };   (defined here only)
//!   struct s {                                  struct s def_var;  (DW_AT_specification-less
//!       unsigned long magic;        // 0            definition at VAR_ADDR, named itself)
//!       char name[16];              // 8
//!       unsigned int flag : 1;      // bit 192 (DW_AT_data_bit_offset)
//!       unsigned int mode : 3;      // bit 193 (old DW_AT_bit_offset 28 in 4 bytes at 24)
//!       int grid[2][3];             // 28
//!       struct inner in;            // 52
//!       char tail[];                // 56 (flexible)
//!   };                              // size 56
//!   enum color { RED = -1, BLUE = 2 };          (underlying int)
//!   typedef struct s s_t;
//!   const volatile s_t *ptr;
//!   char big[256];  char none[0];               (bounds 255 as DW_FORM_data1, -1 as sdata)
//!   struct later;  struct later *lp;            (declaration only in this unit)
//!   extern struct s def_var;                    (declaration)
//!   int func(int x, ...);
//! ```

use gimli::write::{
    Address, AttributeValue, Dwarf, EndianVec, Expression, LineProgram, Sections, Unit, UnitEntryId,
};
use gimli::{constants as dw, Encoding, Format};
use object::write::Object;
use object::{Architecture, BinaryFormat, Endianness};

/// Where `def_var` lives.
pub const VAR_ADDR: u64 = 0xffff_ffff_8100_0000;
/// Where `ptr` lives.
pub const PTR_ADDR: u64 = 0xffff_ffff_8100_1000;

fn encoding() -> Encoding {
    Encoding {
        format: Format::Dwarf32,
        version: 5,
        address_size: 8,
    }
}

struct Builder<'u> {
    unit: &'u mut Unit,
}

impl Builder<'_> {
    fn add(
        &mut self,
        parent: UnitEntryId,
        tag: gimli::DwTag,
        attrs: Vec<(gimli::DwAt, AttributeValue)>,
    ) -> UnitEntryId {
        let id = self.unit.add(parent, tag);
        let e = self.unit.get_mut(id);
        for (a, v) in attrs {
            e.set(a, v);
        }
        id
    }
    fn name(n: &str) -> (gimli::DwAt, AttributeValue) {
        (
            dw::DW_AT_name,
            AttributeValue::String(n.as_bytes().to_vec()),
        )
    }
    fn size(n: u64) -> (gimli::DwAt, AttributeValue) {
        (dw::DW_AT_byte_size, AttributeValue::Udata(n))
    }
    fn ty(t: UnitEntryId) -> (gimli::DwAt, AttributeValue) {
        (dw::DW_AT_type, AttributeValue::UnitRef(t))
    }
    fn base(&mut self, root: UnitEntryId, n: &str, size: u64, enc: gimli::DwAte) -> UnitEntryId {
        self.add(
            root,
            dw::DW_TAG_base_type,
            vec![
                Self::name(n),
                Self::size(size),
                (dw::DW_AT_encoding, AttributeValue::Encoding(enc)),
            ],
        )
    }
    fn member(&mut self, parent: UnitEntryId, n: &str, t: UnitEntryId, loc: u64) -> UnitEntryId {
        self.add(
            parent,
            dw::DW_TAG_member,
            vec![
                Self::name(n),
                Self::ty(t),
                (dw::DW_AT_data_member_location, AttributeValue::Udata(loc)),
            ],
        )
    }
    fn location(addr: u64) -> (gimli::DwAt, AttributeValue) {
        let mut e = Expression::new();
        e.op_addr(Address::Constant(addr));
        (dw::DW_AT_location, AttributeValue::Exprloc(e))
    }
}

/// The ELF file's bytes.
pub fn dwarf_types_elf() -> Vec<u8> {
    let mut dwarf = Dwarf::new();
    let a = dwarf.units.add(Unit::new(encoding(), LineProgram::none()));
    let b = dwarf.units.add(Unit::new(encoding(), LineProgram::none()));
    {
        let unit = dwarf.units.get_mut(a);
        let root = unit.root();
        unit.get_mut(root)
            .set(dw::DW_AT_name, AttributeValue::String(b"a.c".to_vec()));
        let mut u = Builder { unit };
        let int = u.base(root, "int", 4, dw::DW_ATE_signed);
        let uint = u.base(root, "unsigned int", 4, dw::DW_ATE_unsigned);
        let ulong = u.base(root, "long unsigned int", 8, dw::DW_ATE_unsigned);
        let char_ = u.base(root, "char", 1, dw::DW_ATE_signed_char);
        let inner = u.add(
            root,
            dw::DW_TAG_structure_type,
            vec![Builder::name("inner"), Builder::size(4)],
        );
        u.member(inner, "a", int, 0);
        let name16 = u.add(root, dw::DW_TAG_array_type, vec![Builder::ty(char_)]);
        u.add(
            name16,
            dw::DW_TAG_subrange_type,
            vec![(dw::DW_AT_count, AttributeValue::Udata(16))],
        );
        let grid = u.add(root, dw::DW_TAG_array_type, vec![Builder::ty(int)]);
        u.add(
            grid,
            dw::DW_TAG_subrange_type,
            vec![(dw::DW_AT_upper_bound, AttributeValue::Udata(1))],
        );
        u.add(
            grid,
            dw::DW_TAG_subrange_type,
            vec![(dw::DW_AT_count, AttributeValue::Udata(3))],
        );
        let flex = u.add(root, dw::DW_TAG_array_type, vec![Builder::ty(char_)]);
        u.add(flex, dw::DW_TAG_subrange_type, vec![]);
        let s = u.add(
            root,
            dw::DW_TAG_structure_type,
            vec![Builder::name("s"), Builder::size(56)],
        );
        u.member(s, "magic", ulong, 0);
        u.member(s, "name", name16, 8);
        u.add(
            s,
            dw::DW_TAG_member,
            vec![
                Builder::name("flag"),
                Builder::ty(uint),
                (dw::DW_AT_bit_size, AttributeValue::Udata(1)),
                (dw::DW_AT_data_bit_offset, AttributeValue::Udata(192)),
            ],
        );
        u.add(
            s,
            dw::DW_TAG_member,
            vec![
                Builder::name("mode"),
                Builder::ty(uint),
                Builder::size(4),
                (dw::DW_AT_bit_size, AttributeValue::Udata(3)),
                (dw::DW_AT_bit_offset, AttributeValue::Udata(28)),
                (dw::DW_AT_data_member_location, AttributeValue::Udata(24)),
            ],
        );
        u.member(s, "grid", grid, 28);
        u.member(s, "in", inner, 52);
        u.member(s, "tail", flex, 56);
        let color = u.add(
            root,
            dw::DW_TAG_enumeration_type,
            vec![Builder::name("color"), Builder::size(4), Builder::ty(int)],
        );
        u.add(
            color,
            dw::DW_TAG_enumerator,
            vec![
                Builder::name("RED"),
                (dw::DW_AT_const_value, AttributeValue::Sdata(-1)),
            ],
        );
        u.add(
            color,
            dw::DW_TAG_enumerator,
            vec![
                Builder::name("BLUE"),
                (dw::DW_AT_const_value, AttributeValue::Data1(2)),
            ],
        );
        let s_t = u.add(
            root,
            dw::DW_TAG_typedef,
            vec![Builder::name("s_t"), Builder::ty(s)],
        );
        let v = u.add(root, dw::DW_TAG_volatile_type, vec![Builder::ty(s_t)]);
        let cv = u.add(root, dw::DW_TAG_const_type, vec![Builder::ty(v)]);
        let p = u.add(
            root,
            dw::DW_TAG_pointer_type,
            vec![Builder::size(8), Builder::ty(cv)],
        );
        u.add(
            root,
            dw::DW_TAG_variable,
            vec![
                Builder::name("ptr"),
                Builder::ty(p),
                Builder::location(PTR_ADDR),
            ],
        );
        // `char big[256]` with its bound in one byte (unsigned), `char none[0]` as -1
        let big = u.add(root, dw::DW_TAG_array_type, vec![Builder::ty(char_)]);
        u.add(
            big,
            dw::DW_TAG_subrange_type,
            vec![(dw::DW_AT_upper_bound, AttributeValue::Data1(255))],
        );
        u.add(
            root,
            dw::DW_TAG_variable,
            vec![Builder::name("big"), Builder::ty(big)],
        );
        let none = u.add(root, dw::DW_TAG_array_type, vec![Builder::ty(char_)]);
        u.add(
            none,
            dw::DW_TAG_subrange_type,
            vec![(dw::DW_AT_upper_bound, AttributeValue::Sdata(-1))],
        );
        u.add(
            root,
            dw::DW_TAG_variable,
            vec![Builder::name("none"), Builder::ty(none)],
        );
        let later = u.add(
            root,
            dw::DW_TAG_structure_type,
            vec![
                Builder::name("later"),
                (dw::DW_AT_declaration, AttributeValue::Flag(true)),
            ],
        );
        let lp = u.add(
            root,
            dw::DW_TAG_pointer_type,
            vec![Builder::size(8), Builder::ty(later)],
        );
        u.add(
            root,
            dw::DW_TAG_variable,
            vec![Builder::name("lp"), Builder::ty(lp)],
        );
        u.add(
            root,
            dw::DW_TAG_variable,
            vec![
                Builder::name("def_var"),
                Builder::ty(s),
                (dw::DW_AT_declaration, AttributeValue::Flag(true)),
            ],
        );
        let func = u.add(
            root,
            dw::DW_TAG_subprogram,
            vec![
                Builder::name("func"),
                Builder::ty(int),
                (dw::DW_AT_prototyped, AttributeValue::Flag(true)),
                (
                    dw::DW_AT_low_pc,
                    AttributeValue::Address(Address::Constant(0xffff_ffff_8100_2000)),
                ),
                (dw::DW_AT_high_pc, AttributeValue::Udata(16)),
            ],
        );
        u.add(
            func,
            dw::DW_TAG_formal_parameter,
            vec![Builder::name("x"), Builder::ty(int)],
        );
        u.add(func, dw::DW_TAG_unspecified_parameters, vec![]);
    }
    {
        let unit = dwarf.units.get_mut(b);
        let root = unit.root();
        unit.get_mut(root)
            .set(dw::DW_AT_name, AttributeValue::String(b"b.c".to_vec()));
        let mut u = Builder { unit };
        let long = u.base(root, "long int", 8, dw::DW_ATE_signed);
        let later = u.add(
            root,
            dw::DW_TAG_structure_type,
            vec![Builder::name("later"), Builder::size(8)],
        );
        u.member(later, "x", long, 0);
        let ulong = u.base(root, "long unsigned int", 8, dw::DW_ATE_unsigned);
        let s = u.add(
            root,
            dw::DW_TAG_structure_type,
            vec![Builder::name("s"), Builder::size(56)],
        );
        u.member(s, "magic", ulong, 0);
        u.add(
            root,
            dw::DW_TAG_variable,
            vec![
                Builder::name("def_var"),
                Builder::ty(s),
                Builder::location(VAR_ADDR),
            ],
        );
    }
    let mut sections = Sections::new(EndianVec::new(gimli::LittleEndian));
    dwarf.write(&mut sections).expect("synthetic DWARF");
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    crate::dwarf::add_debug_sections(&mut obj, &mut sections);
    obj.write().expect("synthetic ELF")
}
