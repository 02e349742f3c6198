//! DWARF types read from a synthetic file (`kdive_testdata::dwarf_types`) whose every value is
//! known: layouts, bitfields of both encodings, arrays, enums, qualifiers, declarations.

use std::sync::Arc;

use kdive_debuginfo::dwarf::DwarfTypes;
use kdive_debuginfo::elf_file::ElfFile;
use kdive_debuginfo::{NameKind, Qualifier, Type, TypeId, TypeKind, TypeSource, Types};
use kdive_testdata::dwarf_types::{dwarf_types_elf, PTR_ADDR, VAR_ADDR};

fn source() -> (Types, Arc<DwarfTypes>) {
    let f = ElfFile::from_backing("types.elf".into(), Arc::new(dwarf_types_elf())).unwrap();
    let mut types = Types::new();
    let src = types.next_source_id();
    let d = Arc::new(DwarfTypes::new(&f, None, src).unwrap());
    types.add_source(d.clone());
    (types, d)
}

fn kind(t: &Types, id: TypeId) -> TypeKind {
    t.get(id).unwrap().kind.clone()
}

#[test]
fn struct_layout_with_bitfields_arrays_and_flexible_tail() {
    let (t, _) = source();
    let s = t.lookup("struct s").unwrap();
    assert_eq!(t.size_of(s).unwrap(), 56);
    let want = [
        ("magic", 0, None),
        ("name", 64, None),
        ("flag", 192, Some(1)),
        ("mode", 193, Some(3)),
        ("grid", 224, None),
        ("in", 416, None),
        ("tail", 448, None),
    ];
    for (name, bit, width) in want {
        let m = t.member(s, name).unwrap();
        assert_eq!((m.bit_offset, m.bit_size), (bit, width), "{name}");
    }
    let grid = t.member(s, "grid").unwrap().ty;
    let TypeKind::Array { elem, len: 2 } = kind(&t, grid) else {
        panic!("grid: int[2][3]")
    };
    let TypeKind::Array { len: 3, .. } = kind(&t, elem) else {
        panic!("grid[0]: int[3]")
    };
    assert_eq!(t.size_of(grid).unwrap(), 24);
    let tail = t.member(s, "tail").unwrap().ty;
    assert!(matches!(kind(&t, tail), TypeKind::Array { len: 0, .. }));
    let inner = t.member(s, "in").unwrap().ty;
    assert_eq!(t.get(inner).unwrap().name.as_deref(), Some("inner"));
}

#[test]
fn base_names_in_any_spelling_enums_and_qualifiers() {
    let (t, d) = source();
    let ul = t.lookup("unsigned long").unwrap();
    assert!(matches!(
        kind(&t, ul),
        TypeKind::Int {
            size: 8,
            signed: false,
            ..
        }
    ));
    assert!(matches!(
        kind(&t, t.lookup("char").unwrap()),
        TypeKind::Int {
            size: 1,
            signed: true,
            is_char: true,
            ..
        }
    ));
    let TypeKind::Enum {
        size: 4,
        signed: true,
        values,
    } = kind(&t, t.lookup("enum color").unwrap())
    else {
        panic!("enum color")
    };
    assert_eq!(
        values.iter().map(|(n, v)| (&**n, *v)).collect::<Vec<_>>(),
        [("RED", -1), ("BLUE", 2)]
    );
    let ptr = d.find_variable("ptr", Some(PTR_ADDR)).unwrap();
    assert!(!ptr.declaration);
    let TypeKind::Typedef { target } = kind(&t, d.type_id(ptr.die)) else {
        panic!("variable")
    };
    let TypeKind::Pointer { target: cv } = kind(&t, target) else {
        panic!("pointer")
    };
    let TypeKind::Qualified {
        qual: Qualifier::Const,
        target: v,
    } = kind(&t, cv)
    else {
        panic!("const")
    };
    let TypeKind::Qualified {
        qual: Qualifier::Volatile,
        target: td,
    } = kind(&t, v)
    else {
        panic!("volatile")
    };
    assert_eq!(t.get(td).unwrap().name.as_deref(), Some("s_t"));
    assert_eq!(t.resolve(td).unwrap().1.name.as_deref(), Some("s"));
}

#[test]
fn array_bounds_in_every_form() {
    let (t, d) = source();
    for (name, len) in [("big", 256), ("none", 0)] {
        let v = d
            .find_variable(name, None)
            .unwrap_or_else(|| panic!("{name}: {:?}", d.index_problems()));
        let TypeKind::Typedef { target } = kind(&t, d.type_id(v.die)) else {
            panic!()
        };
        assert!(
            matches!(kind(&t, target), TypeKind::Array { len: l, .. } if l == len),
            "{name}"
        );
    }
}

#[test]
fn declarations_give_way_to_definitions() {
    let (t, d) = source();
    // `struct later` is only declared in the first unit: its pointer reaches the definition
    let lp = d.find_variable("lp", None).unwrap();
    let TypeKind::Typedef { target } = kind(&t, d.type_id(lp.die)) else {
        panic!()
    };
    let TypeKind::Pointer { target: later } = kind(&t, target) else {
        panic!()
    };
    assert_eq!(t.size_of(later).unwrap(), 8);
    assert!(t.has_member(later, "x"));
    // the definition at the symbol's address wins over the declaration
    let v = d.find_variable("def_var", Some(VAR_ADDR)).unwrap();
    assert_eq!((v.declaration, v.addr), (false, Some(VAR_ADDR)));
    // a symbol elsewhere is not that definition: the declaration types it
    let v = d.find_variable("def_var", Some(VAR_ADDR + 0x100)).unwrap();
    assert!(v.declaration);
    let v = d.find_variable("ptr", Some(PTR_ADDR + 0x100));
    assert!(v.is_none(), "{v:?}");
    assert!(d.find_variable("missing", None).is_none());
    assert_eq!(d.index_problems(), Vec::<String>::new());
}

#[test]
fn functions_with_their_prototype() {
    let (t, d) = source();
    let f = d.find_function("func", None).unwrap();
    assert_eq!(f.addr, Some(0xffff_ffff_8100_2000));
    let ty: Arc<Type> = t.get(d.type_id(f.die)).unwrap();
    assert_eq!(ty.name.as_deref(), Some("func"));
    let TypeKind::Function {
        ret,
        params,
        variadic: true,
    } = &ty.kind
    else {
        panic!("variadic function")
    };
    assert_eq!(t.get(*ret).unwrap().name.as_deref(), Some("int"));
    assert_eq!(params.len(), 1);
    assert_eq!(params[0].0.as_deref(), Some("x"));
    assert!(d.find(NameKind::Struct, "no_such").is_none());
}

/// Truncated or corrupted DWARF: errors or nothing found, never a panic or a hang.
#[test]
fn damaged_dwarf_is_an_error() {
    let good = dwarf_types_elf();
    let f = ElfFile::from_backing("types.elf".into(), Arc::new(good.clone())).unwrap();
    let info = f.section_bytes(".debug_info").unwrap();
    let start = good
        .windows(info.len())
        .position(|w| w == &info[..])
        .unwrap();
    for i in (0..info.len()).step_by(3) {
        for byte in [0x00, 0xff, 0x7f] {
            let mut bad = good.clone();
            bad[start + i] = byte;
            let Ok(f) = ElfFile::from_backing("bad.elf".into(), Arc::new(bad)) else {
                continue;
            };
            let Ok(d) = DwarfTypes::new(&f, None, 0) else {
                continue;
            };
            let mut types = Types::new();
            let d = Arc::new(d);
            types.add_source(d.clone());
            for spec in [
                "struct s",
                "struct later",
                "enum color",
                "unsigned long",
                "s_t",
            ] {
                if let Ok(id) = types.lookup(spec) {
                    let _ = types.size_of(id);
                    let _ = types.member(id, "grid").map(|m| types.size_of(m.ty));
                }
            }
            for v in ["ptr", "lp", "def_var"] {
                if let Some(v) = d.find_variable(v, None) {
                    let _ = types.get(d.type_id(v.die)).map(|t| format!("{t:?}"));
                }
            }
            let _ = d
                .find_function("func", None)
                .map(|f| types.get(d.type_id(f.die)));
        }
    }
}
