//! Object semantics over a synthetic type table and memory.

use std::sync::Arc;

use kdive_debuginfo::table::TypeTable;
use kdive_debuginfo::{Member, Symbols, TypeId, TypeKind, Types};
use kdive_program::{object::container_of, Program};
use kdive_testdata::mem::SparseMemory;

/// Types: 1 int, 2 unsigned long, 3 char, 4 char[8], 5 struct node { int a; unsigned long b; node *next; char name[8]; int flag:3; int more:5; }
/// 6 node *, 7 typedef node_t, 8 struct outer { int pad; union { unsigned long u; int i; }; struct node n; }, 9 anon union, 10 char *
///
/// Corrupt ones, as a damaged BTF could describe them: 11 struct selfie { selfie a, b, c; int x; }
/// (all at offset 0), 12 an anonymous struct holding itself three times, 13 struct holder { that
/// anonymous struct }, 14 a function `int (*)(14 *, 14 *)` (parameters 15, pointers to it), 16 and
/// 17 typedefs of each other, 18 an array of itself, 19 struct far { int x at bit 2^64-8; int y : 2^32-1;
/// huge z } with 20 a 2^32-1-byte integer `huge`.
fn synthetic() -> TypeTable {
    let mut t = TypeTable::new(0);
    let ids: Vec<TypeId> = (1..=20).map(|_| t.reserve()).collect();
    for id in ids {
        let (name, kind) = synthetic_type(id.idx);
        t.define(id, name.unwrap_or(""), kind).unwrap();
    }
    t
}

fn m(name: Option<&str>, idx: u32, bit_offset: u64, bit_size: Option<u32>) -> Member {
    Member {
        name: name.map(Into::into),
        ty: TypeId { src: 0, idx },
        bit_offset,
        bit_size,
    }
}

/// Type `idx` of [`synthetic`]: its name and kind.
fn synthetic_type(idx: u32) -> (Option<&'static str>, TypeKind) {
    let id = |i| TypeId { src: 0, idx: i };
    match idx {
        1 => (
            Some("int"),
            TypeKind::Int {
                size: 4,
                signed: true,
                is_bool: false,
                is_char: false,
            },
        ),
        2 => (
            Some("unsigned long"),
            TypeKind::Int {
                size: 8,
                signed: false,
                is_bool: false,
                is_char: false,
            },
        ),
        3 => (
            Some("char"),
            TypeKind::Int {
                size: 1,
                signed: true,
                is_bool: false,
                is_char: true,
            },
        ),
        4 => (
            None,
            TypeKind::Array {
                elem: id(3),
                len: 8,
            },
        ),
        5 => (
            Some("node"),
            TypeKind::Struct {
                size: 40,
                members: vec![
                    m(Some("a"), 1, 0, None),
                    m(Some("b"), 2, 64, None),
                    m(Some("next"), 6, 128, None),
                    m(Some("name"), 4, 192, None),
                    m(Some("flag"), 1, 256, Some(3)),
                    m(Some("more"), 1, 259, Some(5)),
                ],
            },
        ),
        6 => (None, TypeKind::Pointer { target: id(7) }),
        7 => (Some("node_t"), TypeKind::Typedef { target: id(5) }),
        8 => (
            Some("outer"),
            TypeKind::Struct {
                size: 56,
                members: vec![
                    m(Some("pad"), 1, 0, None),
                    m(None, 9, 64, None),
                    m(Some("n"), 5, 128, None),
                ],
            },
        ),
        9 => (
            None,
            TypeKind::Union {
                size: 8,
                members: vec![m(Some("u"), 2, 0, None), m(Some("i"), 1, 0, None)],
            },
        ),
        10 => (None, TypeKind::Pointer { target: id(3) }),
        11 => (
            Some("selfie"),
            TypeKind::Struct {
                size: 16,
                members: vec![
                    m(Some("a"), 11, 0, None),
                    m(Some("b"), 11, 0, None),
                    m(Some("c"), 11, 0, None),
                    m(Some("x"), 1, 0, None),
                ],
            },
        ),
        12 => (
            None,
            TypeKind::Struct {
                size: 16,
                members: vec![
                    m(Some("p"), 12, 0, None),
                    m(Some("q"), 12, 0, None),
                    m(Some("r"), 12, 0, None),
                ],
            },
        ),
        13 => (
            Some("holder"),
            TypeKind::Struct {
                size: 16,
                members: vec![m(Some("in"), 12, 0, None)],
            },
        ),
        14 => (
            None,
            TypeKind::Function {
                ret: id(1),
                params: vec![(None, id(15)), (None, id(15))],
                variadic: false,
            },
        ),
        15 => (None, TypeKind::Pointer { target: id(14) }),
        16 => (Some("loop_a"), TypeKind::Typedef { target: id(17) }),
        17 => (Some("loop_b"), TypeKind::Typedef { target: id(16) }),
        18 => (
            None,
            TypeKind::Array {
                elem: id(18),
                len: 2,
            },
        ),
        19 => (
            Some("far"),
            TypeKind::Struct {
                size: 8,
                members: vec![
                    m(Some("x"), 1, u64::MAX - 7, None),
                    m(Some("y"), 1, 0, Some(u32::MAX)),
                    m(Some("z"), 20, 0, None),
                    m(Some("w"), 1, 32, None),
                ],
            },
        ),
        20 => (
            Some("huge"),
            TypeKind::Int {
                size: u32::MAX,
                signed: false,
                is_bool: false,
                is_char: false,
            },
        ),
        _ => unreachable!("the synthetic table has 20 types"),
    }
}

fn node(a: i32, b: u64, next: u64, name: &[u8], flag: u8, more: u8) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&a.to_le_bytes());
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&b.to_le_bytes());
    v.extend_from_slice(&next.to_le_bytes());
    let mut n = [0u8; 8];
    n[..name.len()].copy_from_slice(name);
    v.extend_from_slice(&n);
    v.push((flag & 7) | (more << 3));
    v.extend_from_slice(&[0; 7]);
    v
}

fn program() -> Program {
    let mut types = Types::new();
    types.add_source(Arc::new(synthetic()));
    let mut mem = SparseMemory::new();
    mem.map(0x1000, node(-5, 0xdead_beef, 0x2000, b"first", 5, 17));
    mem.map(0x2000, node(7, 2, 0, b"second!!", 2, 31));
    let mut outer = vec![0u8; 16];
    outer[8..16].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
    outer.extend(node(1, 1, 0x1000, b"in", 0, 0));
    mem.map(0x3000, outer);
    mem.map(0x4000, b"hello\0world".to_vec());
    let mut bytes = b"a\tb\xff\"".to_vec();
    bytes.resize(64, 0);
    mem.map(0x5000, bytes);
    Program::new(Arc::new(mem), types, Symbols::new())
}

#[test]
fn members_pointers_and_strings() {
    let p = program();
    let n = p.object("struct node", 0x1000).unwrap();
    assert_eq!(n.member("a").unwrap().read_i64().unwrap(), -5);
    assert_eq!(n.member("a").unwrap().read_u64().unwrap(), 0xffff_fffb);
    assert_eq!(n.member("b").unwrap().read_u64().unwrap(), 0xdead_beef);
    assert_eq!(n.member("name").unwrap().read_string(64).unwrap(), "first");
    // -> through a pointer to a typedef
    let next = n.member("next").unwrap();
    assert_eq!(next.type_name(), "node_t *");
    assert_eq!(next.member("a").unwrap().read_i64().unwrap(), 7);
    assert_eq!(
        n.member("next.name").unwrap().read_string(64).unwrap(),
        "second!!"
    );
    assert!(n.member("next.next").unwrap().is_null().unwrap());
    // reading through a NULL pointer fails with a memory error, not a panic
    assert!(n.member("next.next.a").unwrap().read_i64().is_err());
}

#[test]
fn bitfields_sign_extend() {
    let p = program();
    let n = p.object("struct node", 0x1000).unwrap();
    assert_eq!(n.member("flag").unwrap().read_u64().unwrap(), 5);
    assert_eq!(n.member("flag").unwrap().read_i64().unwrap(), -3);
    assert_eq!(n.member("more").unwrap().read_u64().unwrap(), 17);
    assert_eq!(n.member("flag").unwrap().address(), None);
}

#[test]
fn anonymous_union_and_nested() {
    let p = program();
    let o = p.object("struct outer", 0x3000).unwrap();
    assert_eq!(
        o.member("u").unwrap().read_u64().unwrap(),
        0x1122_3344_5566_7788
    );
    assert_eq!(o.member("i").unwrap().read_u64().unwrap(), 0x5566_7788);
    assert_eq!(
        o.member("n.next.name").unwrap().read_string(64).unwrap(),
        "first"
    );
    assert_eq!(o.member("n").unwrap().address(), Some(0x3010));
}

#[test]
fn index_deref_cast_container_of() {
    let p = program();
    let n = p.object("struct node", 0x1000).unwrap();
    assert_eq!(
        n.member("name")
            .unwrap()
            .index(1)
            .unwrap()
            .read_u64()
            .unwrap(),
        b'i' as u64
    );
    assert_eq!(n.member("name").unwrap().array_len().unwrap(), 8);
    let ptr = n.address_of().unwrap();
    assert_eq!(ptr.type_name(), "struct node *");
    assert_eq!(
        ptr.deref()
            .unwrap()
            .member("b")
            .unwrap()
            .read_u64()
            .unwrap(),
        0xdead_beef
    );
    assert_eq!(ptr.index(0).unwrap().address(), Some(0x1000));
    let c = container_of(&p, 0x1000 + 24, "struct node", "name").unwrap();
    assert_eq!(c.address(), Some(0x1000));
    let c2 = n
        .member("name")
        .unwrap()
        .container_of("struct node", "name")
        .unwrap();
    assert_eq!(c2.address(), Some(0x1000));
    let s = p.object("char *", 0x1000 + 8).unwrap(); // reinterpret b as a char * (0xdeadbeef: unmapped)
    assert!(s.read_string(16).is_err());
    let as_ul = n.member("next").unwrap().cast("unsigned long").unwrap();
    assert_eq!(as_ul.read_u64().unwrap(), 0x2000);
}

#[test]
fn type_errors_are_errors() {
    let p = program();
    let n = p.object("struct node", 0x1000).unwrap();
    assert!(n.member("nope").is_err());
    assert!(n.member("a.b").is_err());
    assert!(n.member("a").unwrap().deref().is_err());
    assert!(n.read_u64().is_err());
    assert!(p.object("struct missing", 0).is_err());
}

/// gdb's pretty print of a struct: signed bitfields, a char array without its last NUL, an
/// anonymous union as a nameless block.
#[test]
fn values_print_as_gdb_does() {
    use kdive_program::print::{format_value, PrintOptions};
    let p = program();
    let opts = PrintOptions::default();
    let n = p.object("struct node", 0x1000).unwrap();
    assert_eq!(
        format_value(&n, opts, 0).unwrap(),
        "{\n  a = -5,\n  b = 3735928559,\n  next = 0x2000,\n  name = \"first\\000\\000\",\n  \
         flag = -3,\n  more = -15\n}"
    );
    let o = p.object("struct outer", 0x3000).unwrap();
    let text = format_value(&o, opts, 0).unwrap();
    assert!(
        text.starts_with("{\n  pad = 0,\n  {\n    u = 1234605616436508552,\n    i = 1432778632\n  },\n  n = {\n    a = 1,"),
        "{text}"
    );
    // -x: integers in hex, two's complement of their width
    let hex = PrintOptions { hex: true, ..opts };
    assert_eq!(
        format_value(&n.member("a").unwrap(), hex, 0).unwrap(),
        "0xfffffffb"
    );
    // runs past the repeat threshold collapse; the full array has no trailing NUL to drop
    let short = PrintOptions {
        repeat_threshold: 1,
        ..opts
    };
    let second = p.object("struct node", 0x2000).unwrap();
    assert_eq!(
        format_value(&second.member("name").unwrap(), short, 0).unwrap(),
        "\"second\", '!' <repeats 2 times>"
    );
    // a char pointer shows its string; a NULL one only 0x0
    let text = kdive_program::Object::value(&p, p.type_("char *").unwrap(), 0x5000);
    assert_eq!(
        format_value(&text, opts, 0).unwrap(),
        "0x5000 \"a\\tb\\377\\\"\""
    );
    assert_eq!(
        format_value(&second.member("next").unwrap(), opts, 0).unwrap(),
        "0x0"
    );
    // an element limit cuts a string with `...`
    let two = PrintOptions {
        max_elements: 2,
        ..opts
    };
    assert_eq!(
        format_value(&second.member("name").unwrap(), two, 0).unwrap(),
        "\"se\"..."
    );
}

/// Definitions as crash prints them, with and without the offset column.
#[test]
fn definitions_print_as_crash_does() {
    use kdive_program::print::definition;
    let p = program();
    let node = p.type_("struct node").unwrap();
    assert_eq!(
        definition(p.types(), node, false).unwrap(),
        "struct node {\n    int a;\n    unsigned long b;\n    node_t *next;\n    char name[8];\n    \
         int flag : 3;\n    int more : 5;\n}"
    );
    let outer = p.type_("struct outer").unwrap();
    assert_eq!(
        definition(p.types(), outer, true).unwrap(),
        "struct outer {\n   [0] int pad;\n       union {\n   [8]     unsigned long u;\n   \
         [8]     int i;\n       };\n  [16] struct node n;\n}"
    );
    let td = p.type_("node_t").unwrap();
    assert!(definition(p.types(), td, false)
        .unwrap()
        .starts_with("typedef struct node node_t;"));
}

/// A corrupt type table: a struct that holds itself several times over, an anonymous struct
/// likewise, a function type whose parameters point back to it, typedefs of each other, an array
/// of itself, offsets and widths past any buffer. Printing values and definitions must end,
/// quickly, with an error or a marked cut, and never panic.
#[test]
fn corrupt_types_print_without_hanging() {
    use kdive_program::print::{declaration, definition, format_value, PrintOptions};
    use std::time::{Duration, Instant};
    let p = program();
    let t = |idx| TypeId { src: 0, idx };
    let opts = PrintOptions::default();
    let start = Instant::now();

    // struct selfie { selfie a, b, c; ... }: 3^32 values without a budget
    let selfie = kdive_program::Object::reference(&p, t(11), 0x5000);
    let err = format_value(&selfie, opts, 0).unwrap_err().to_string();
    assert!(err.contains("values"), "{err}");
    // the anonymous struct in `holder`: 3^16 lines without a budget
    assert!(definition(p.types(), t(13), false).is_err());
    assert!(definition(p.types(), t(13), true).is_err());
    let holder = kdive_program::Object::reference(&p, t(13), 0x5000);
    assert!(format_value(&holder, opts, 0).is_err());
    // int (*)(int (*)(...), ...): 2^32 parameter lists without a budget
    let d = declaration(p.types(), t(15), "f");
    assert!(d.contains("<type loop>"), "{d}");
    assert!(d.len() < 1 << 20);
    // typedefs of each other, an array of itself
    assert_eq!(declaration(p.types(), t(16), "v"), "loop_a v");
    assert!(definition(p.types(), t(16), false).is_err());
    assert!(format_value(
        &kdive_program::Object::reference(&p, t(16), 0x5000),
        opts,
        0
    )
    .is_err());
    assert!(declaration(p.types(), t(18), "a").contains("<type loop>"));
    assert!(definition(p.types(), t(18), false).is_ok());
    assert!(format_value(
        &kdive_program::Object::reference(&p, t(18), 0x5000),
        opts,
        0
    )
    .is_err());
    // a member 2^61 bytes in, a 2^32-bit bitfield, a 2^32-byte int: errors in their place
    let far = kdive_program::Object::reference(&p, t(19), 0x5000);
    let text = format_value(&far, opts, 0).unwrap();
    assert!(text.contains("x = <error:"), "{text}");
    assert!(text.contains("y = <error:"), "{text}");
    assert!(text.contains("z = <error:"), "{text}");
    assert!(text.contains("w = 34"), "{text}");
    let def = definition(p.types(), t(19), true).unwrap();
    assert!(def.contains("int y : 4294967295;"), "{def}");
    // an unlimited element count does not overflow
    let all = PrintOptions {
        max_elements: usize::MAX,
        ..opts
    };
    let s = kdive_program::Object::value(&p, p.type_("char *").unwrap(), 0x5000);
    assert_eq!(
        format_value(&s, all, 0).unwrap(),
        "0x5000 \"a\\tb\\377\\\"\""
    );

    assert!(
        start.elapsed() < Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
}

/// A long run of equal elements is counted once, not again for each element shown.
#[test]
fn long_runs_print_in_linear_time() {
    use kdive_program::print::{format_value, PrintOptions};
    let mut types = Types::new();
    let src = types.add_source(Arc::new(synthetic()));
    let big = types.array_of(TypeId { src, idx: 1 }, 1 << 22);
    let chars = types.array_of(TypeId { src, idx: 3 }, 1 << 24);
    let mut mem = SparseMemory::new();
    mem.map(0x10_0000, vec![b'A'; 1 << 24]);
    let p = Program::new(Arc::new(mem), types, Symbols::new());
    let start = std::time::Instant::now();
    let opts = PrintOptions::default();
    let ints = format_value(
        &kdive_program::Object::reference(&p, big, 0x10_0000),
        opts,
        0,
    )
    .unwrap();
    assert!(
        ints.starts_with("{1094795585, 1094795585,"),
        "{}",
        &ints[..64]
    );
    assert!(ints.ends_with("...}"));
    let text = format_value(
        &kdive_program::Object::reference(&p, chars, 0x10_0000),
        opts,
        0,
    )
    .unwrap();
    assert_eq!(text, format!("\"{}\"...", "A".repeat(256)));
    let short = PrintOptions {
        repeat_threshold: 10,
        ..opts
    };
    let text = format_value(
        &kdive_program::Object::reference(&p, chars, 0x10_0000),
        short,
        0,
    )
    .unwrap();
    assert_eq!(text, format!("'A' <repeats {} times>", 1 << 24));
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}
