//! The BTF reader on synthetic blobs: every kind, split BTF, and malformed input.

use std::sync::Arc;

use kdive_debuginfo::btf::{kind, BtfSource};
use kdive_debuginfo::{DebugInfoError, NameKind, Qualifier, TypeId, TypeKind, TypeSource, Types};
use kdive_testdata::btf::{BtfBuilder, INT_BOOL, INT_CHAR, INT_SIGNED};

/// Ids of the sample's types.
struct Ids {
    int: u32,
    ulong: u32,
    char_: u32,
    bool_: u32,
    list: u32,
    fwd: u32,
    task: u32,
    u32_td: u32,
    pid_td: u32,
    state: u32,
    wide: u32,
    func: u32,
    var: u32,
    sec: u32,
    tagged_ptr: u32,
    rcu: u32,
}

/// A small kernel-like type graph.
fn sample(b: &mut BtfBuilder) -> Ids {
    let int = b.int("int", 4, INT_SIGNED);
    let ulong = b.int("long unsigned int", 8, 0);
    let char_ = b.int("char", 1, INT_SIGNED | INT_CHAR);
    let bool_ = b.int("_Bool", 1, INT_BOOL);
    b.float("double", 8);
    // Forward declaration before the definition, as in real BTF.
    let fwd = b.fwd("list_head", false);
    let fwd_ptr = b.ptr(fwd);
    let list = b.struct_(
        "list_head",
        16,
        &[("next", fwd_ptr, 0, 0), ("prev", fwd_ptr, 64, 0)],
    );
    let u32_ = b.int("unsigned int", 4, 0);
    let u32_td = b.typedef("u32", u32_);
    let pid_td = b.typedef("pid_t", u32_td); // a chain: pid_t -> u32 -> unsigned int
    let comm = b.array(char_, u32_, 16);
    let cint = b.modifier(kind::CONST, "", int);
    let vint = b.modifier(kind::VOLATILE, "", cint);
    let inner = b.union_("", 8, &[("a", ulong, 0, 0), ("b", int, 0, 0)]);
    let rcu = b.modifier(kind::TYPE_TAG, "rcu", list);
    let tagged_ptr = b.ptr(rcu);
    let task = b.struct_(
        "task_struct",
        64,
        &[
            ("pid", pid_td, 0, 0),
            ("flags", u32_, 32, 3),
            ("on_cpu", u32_, 35, 1),
            ("", inner, 64, 0),
            ("tasks", list, 128, 0),
            ("comm", comm, 256, 0),
            ("prio", vint, 384, 0),
            ("parent", tagged_ptr, 448, 0),
        ],
    );
    b.decl_tag("user", task, 0);
    let state = b.enum_("state", 4, true, &[("RUNNING", 0), ("DEAD", -1)]);
    let wide = b.enum64("wide", 8, false, &[("BIG", 1 << 40), ("ALL", -1)]);
    let proto = b.func_proto(int, &[("fmt", char_), ("", ulong)], true);
    let func = b.func("printk", proto);
    let var = b.var("runqueues", list);
    let var2 = b.var("current_task", tagged_ptr);
    let sec = b.datasec(".data..percpu", 64, &[(var, 0, 16), (var2, 32, 8)]);
    Ids {
        int,
        ulong,
        char_,
        bool_,
        list,
        fwd,
        task,
        u32_td,
        pid_td,
        state,
        wide,
        func,
        var,
        sec,
        tagged_ptr,
        rcu,
    }
}

/// A registry whose BTF is not provider 0, so provider numbers are really checked.
fn registry(blob: Vec<u8>) -> (Types, Arc<BtfSource>) {
    let mut types = Types::new();
    types.add_source(Arc::new(
        BtfSource::parse(BtfBuilder::new().build(), 0).unwrap(),
    ));
    let src = types.next_source_id();
    let btf = Arc::new(BtfSource::parse(blob, src).unwrap());
    assert_eq!(types.add_source(btf.clone()), src);
    (types, btf)
}

fn id(btf: &BtfSource, idx: u32) -> TypeId {
    TypeId {
        src: btf.src(),
        idx,
    }
}

#[test]
fn every_kind_maps_onto_the_shared_model() {
    let mut b = BtfBuilder::new();
    let ids = sample(&mut b);
    let (types, btf) = registry(b.build());
    assert_eq!(btf.first_id(), 1);
    assert_eq!(btf.type_count(), b.next_id());

    let int = btf.get(ids.int).unwrap();
    assert!(matches!(
        int.kind,
        TypeKind::Int {
            size: 4,
            signed: true,
            is_bool: false,
            is_char: false
        }
    ));
    assert!(matches!(
        btf.get(ids.char_).unwrap().kind,
        TypeKind::Int {
            size: 1,
            is_char: true,
            ..
        }
    ));
    assert!(matches!(
        btf.get(ids.bool_).unwrap().kind,
        TypeKind::Int {
            size: 1,
            is_bool: true,
            signed: false,
            ..
        }
    ));
    assert!(Arc::ptr_eq(&int, &btf.get(ids.int).unwrap()), "cached");
    assert!(matches!(btf.get(0).unwrap().kind, TypeKind::Void));

    // Struct: bitfields, anonymous union, typedef chain, qualifiers, peeled TYPE_TAG.
    let task = types.lookup("struct task_struct").unwrap();
    assert_eq!(task, id(&btf, ids.task));
    assert_eq!(types.size_of(task).unwrap(), 64);
    let flags = types.member(task, "flags").unwrap();
    assert_eq!((flags.bit_offset, flags.bit_size), (32, Some(3)));
    let on_cpu = types.member(task, "on_cpu").unwrap();
    assert_eq!((on_cpu.bit_offset, on_cpu.bit_size), (35, Some(1)));
    let pid = types.member(task, "pid").unwrap();
    assert_eq!((pid.ty, pid.bit_size), (id(&btf, ids.pid_td), None));
    let (_, pid_t) = types.resolve(pid.ty).unwrap();
    assert!(matches!(
        pid_t.kind,
        TypeKind::Int {
            size: 4,
            signed: false,
            ..
        }
    ));
    assert_eq!(
        types.get(id(&btf, ids.pid_td)).unwrap().name.as_deref(),
        Some("pid_t")
    );
    let pid_td = types.get(id(&btf, ids.pid_td)).unwrap();
    assert!(matches!(pid_td.kind, TypeKind::Typedef { target } if target == id(&btf, ids.u32_td)));
    let b_ = types.member(task, "b").unwrap();
    assert_eq!(
        b_.bit_offset, 64,
        "member of the anonymous union, offset added"
    );
    assert_eq!(types.member(task, "a").unwrap().ty, id(&btf, ids.ulong));
    let tasks = types.member(task, "tasks").unwrap();
    assert_eq!((tasks.ty, tasks.bit_offset), (id(&btf, ids.list), 128));
    let comm = types.member(task, "comm").unwrap();
    assert!(
        matches!(types.get(comm.ty).unwrap().kind, TypeKind::Array { elem, len: 16 } if elem == id(&btf, ids.char_))
    );
    assert_eq!(types.size_of(comm.ty).unwrap(), 16);
    let prio = types.get(types.member(task, "prio").unwrap().ty).unwrap();
    let TypeKind::Qualified {
        qual: Qualifier::Volatile,
        target,
    } = prio.kind
    else {
        panic!("{prio:?}")
    };
    assert!(matches!(
        types.get(target).unwrap().kind,
        TypeKind::Qualified {
            qual: Qualifier::Const,
            ..
        }
    ));
    assert_eq!(types.resolve(target).unwrap().0, id(&btf, ids.int));
    let parent = types.get(types.member(task, "parent").unwrap().ty).unwrap();
    assert!(
        matches!(parent.kind, TypeKind::Pointer { target } if target == id(&btf, ids.list)),
        "TYPE_TAG peeled"
    );
    let rcu = btf.get(ids.rcu).unwrap();
    assert!(rcu.name.is_none(), "TYPE_TAG reads as an unnamed typedef");
    assert!(matches!(rcu.kind, TypeKind::Typedef { target } if target == id(&btf, ids.list)));

    // Forward declaration vs definition: find returns the definition, the fwd stays a Fwd.
    assert_eq!(btf.find(NameKind::Struct, "list_head"), Some(ids.list));
    assert!(matches!(
        btf.get(ids.fwd).unwrap().kind,
        TypeKind::Fwd { union: false }
    ));
    let next = types.member(id(&btf, ids.list), "next").unwrap();
    let TypeKind::Pointer { target } = types.get(next.ty).unwrap().kind else {
        panic!()
    };
    assert_eq!(target, id(&btf, ids.fwd));

    // Enums.
    let TypeKind::Enum {
        size: 4,
        signed: true,
        values,
    } = &btf.get(ids.state).unwrap().kind
    else {
        panic!()
    };
    assert_eq!(
        values.iter().map(|(n, v)| (&**n, *v)).collect::<Vec<_>>(),
        [("RUNNING", 0), ("DEAD", -1)]
    );
    let TypeKind::Enum {
        size: 8,
        signed: false,
        values,
    } = &btf.get(ids.wide).unwrap().kind
    else {
        panic!()
    };
    assert_eq!(
        values.iter().map(|(n, v)| (&**n, *v)).collect::<Vec<_>>(),
        [("BIG", 1 << 40), ("ALL", -1)]
    );
    assert_eq!(types.lookup("enum wide").unwrap(), id(&btf, ids.wide));

    // Functions, variables, sections.
    assert_eq!(btf.find_func("printk"), Some(ids.func));
    let f = btf.get(ids.func).unwrap();
    assert_eq!(f.name.as_deref(), Some("printk"));
    let TypeKind::Function {
        ret,
        params,
        variadic: true,
    } = &f.kind
    else {
        panic!("{f:?}")
    };
    assert_eq!(*ret, id(&btf, ids.int));
    assert_eq!(params.len(), 2);
    assert_eq!(
        (params[0].0.as_deref(), params[0].1),
        (Some("fmt"), id(&btf, ids.char_))
    );
    assert_eq!(params[1].0, None);
    assert_eq!(btf.find_var("runqueues"), Some(ids.var));
    assert!(
        matches!(btf.get(ids.var).unwrap().kind, TypeKind::Typedef { target } if target == id(&btf, ids.list))
    );
    assert_eq!(
        btf.find(NameKind::Typedef, "runqueues"),
        None,
        "variables are not typedefs"
    );
    assert_eq!(btf.find_datasec(".data..percpu"), Some(ids.sec));
    let TypeKind::Struct { size: 64, members } = &btf.get(ids.sec).unwrap().kind else {
        panic!()
    };
    let m: Vec<_> = members
        .iter()
        .map(|m| (m.name.as_deref(), m.ty, m.bit_offset))
        .collect();
    assert_eq!(
        m,
        [
            (Some("runqueues"), id(&btf, ids.list), 0),
            (Some("current_task"), id(&btf, ids.tagged_ptr), 256)
        ]
    );

    // Base types by name, under either spelling; typedefs first.
    assert_eq!(types.lookup("unsigned long").unwrap(), id(&btf, ids.ulong));
    assert_eq!(
        types.lookup("long unsigned int").unwrap(),
        id(&btf, ids.ulong)
    );
    assert_eq!(
        types.lookup("unsigned").unwrap(),
        types.lookup("unsigned int").unwrap()
    );
    assert_eq!(types.lookup("u32").unwrap(), id(&btf, ids.u32_td));
    assert!(types.lookup("double").is_ok());
    assert!(types.lookup("struct nothing").is_err());
    assert_eq!(btf.find(NameKind::Union, ""), None);

    // Every type converts.
    for i in 0..btf.type_count() {
        btf.get(i).unwrap_or_else(|e| panic!("type {i}: {e}"));
    }
    assert!(matches!(
        btf.get(btf.type_count()),
        Err(DebugInfoError::NotFound(_))
    ));
}

#[test]
fn big_endian_blob_reads_the_same() {
    let mut le = BtfBuilder::new();
    let mut be = BtfBuilder::new().big_endian();
    let (a, b) = (sample(&mut le), sample(&mut be));
    let (le, be) = (
        BtfSource::parse(le.build(), 0).unwrap(),
        BtfSource::parse(be.build(), 0).unwrap(),
    );
    assert_eq!(le.type_count(), be.type_count());
    for i in 0..le.type_count() {
        assert_eq!(
            format!("{:?}", le.get(i).unwrap()),
            format!("{:?}", be.get(i).unwrap())
        );
    }
    assert_eq!(le.find(NameKind::Struct, "task_struct"), Some(a.task));
    assert_eq!(be.find(NameKind::Struct, "task_struct"), Some(b.task));
}

#[test]
fn split_btf_continues_the_base() {
    let mut b = BtfBuilder::new();
    let shared = b.add_str("shared"); // a string of the base that module types reuse
    let ids = sample(&mut b);
    let mut types = Types::new();
    let base_src = types.next_source_id();
    let base = Arc::new(BtfSource::parse(b.build(), base_src).unwrap());
    types.add_source(base.clone());

    let mut m = BtfBuilder::new_split(&base);
    let first = m.next_id();
    assert_eq!(first, base.type_count());
    let ptr = m.ptr(ids.task);
    let own = m.struct_(
        "module",
        24,
        &[("owner", ptr, 0, 0), ("list", ids.list, 64, 0)],
    );
    let only = m.add_str("only");
    let shadow = m.raw(shared, kind::STRUCT << 24 | 1, 8, &[only, ids.ulong, 0]);
    let mod_src = types.next_source_id();
    let module =
        Arc::new(BtfSource::new_split(base.clone(), base_src, m.build(), mod_src).unwrap());
    types.add_source(module.clone());

    assert_eq!((module.first_id(), module.type_count()), (first, first + 3));
    let t = module.get(own).unwrap();
    assert_eq!(t.name.as_deref(), Some("module"));
    let TypeKind::Struct { members, .. } = &t.kind else {
        panic!()
    };
    assert_eq!(
        members[0].ty,
        TypeId {
            src: mod_src,
            idx: ptr
        }
    );
    assert_eq!(
        members[1].ty,
        TypeId {
            src: base_src,
            idx: ids.list
        },
        "base ids carry the base's provider"
    );
    let TypeKind::Pointer { target } = module.get(ptr).unwrap().kind else {
        panic!()
    };
    assert_eq!(
        target,
        TypeId {
            src: base_src,
            idx: ids.task
        }
    );
    assert_eq!(
        types
            .size_of(TypeId {
                src: mod_src,
                idx: ptr
            })
            .unwrap(),
        8
    );

    // Names below the base's string length come from the base.
    let s = module.get(shadow).unwrap();
    assert_eq!(s.name.as_deref(), Some("shared"));
    let TypeKind::Struct { members, .. } = &s.kind else {
        panic!()
    };
    assert_eq!(members[0].name.as_deref(), Some("only"));

    // Lookups: the module answers for its own types only; the registry asks vmlinux first.
    assert_eq!(module.find(NameKind::Struct, "module"), Some(own));
    assert_eq!(module.find(NameKind::Struct, "task_struct"), None);
    assert_eq!(module.find(NameKind::Struct, "shared"), Some(shadow));
    assert_eq!(
        types.lookup("struct list_head").unwrap(),
        TypeId {
            src: base_src,
            idx: ids.list
        }
    );
    assert_eq!(
        types.lookup("struct module").unwrap(),
        TypeId {
            src: mod_src,
            idx: own
        }
    );
    assert_eq!(
        types
            .member(
                TypeId {
                    src: mod_src,
                    idx: own
                },
                "list"
            )
            .unwrap()
            .bit_offset,
        64
    );
    // Ids of the base asked of the module are answered by the base.
    assert!(Arc::ptr_eq(
        &module.get(ids.task).unwrap(),
        &base.get(ids.task).unwrap()
    ));

    // Split BTF on top of split BTF.
    let mut m2 = BtfBuilder::new_split(&module);
    let p2 = m2.ptr(own);
    let m2 = BtfSource::new_split(module.clone(), mod_src, m2.build(), 7).unwrap();
    assert_eq!(p2, module.type_count());
    let TypeKind::Pointer { target } = m2.get(p2).unwrap().kind else {
        panic!()
    };
    assert_eq!(
        target,
        TypeId {
            src: mod_src,
            idx: own
        }
    );
}

fn malformed(blob: Vec<u8>) -> String {
    match BtfSource::parse(blob, 0) {
        Err(e @ DebugInfoError::Malformed { .. }) => e.to_string(),
        Err(e) => panic!("unexpected error {e}"),
        Ok(b) => panic!("parsed: {b:?}"),
    }
}

fn put(blob: &mut [u8], off: usize, v: u32) {
    blob[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// A valid blob: int (id 1), struct of 2 members (id 2); type section is 16 + 36 bytes.
fn small() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, INT_SIGNED);
    b.struct_("s", 8, &[("a", int, 0, 0), ("b", int, 32, 0)]);
    b.build()
}

#[test]
fn malformed_headers_are_errors() {
    let good = small();
    assert!(BtfSource::parse(good.clone(), 0).is_ok());
    assert!(malformed(good[..10].to_vec()).contains("shorter than the header"));
    let mut b = good.clone();
    b[0] = 0x12;
    assert!(malformed(b).contains("bad magic"));
    let mut b = good.clone();
    b[2] = 2;
    assert!(malformed(b).contains("version 2"));
    let mut b = good.clone();
    put(&mut b, 4, 1 << 20);
    assert!(malformed(b).contains("hdr_len"));
    let mut b = good.clone();
    put(&mut b, 4, 8);
    assert!(malformed(b).contains("hdr_len"));
    let mut b = good.clone();
    put(&mut b, 20, 1 << 30); // str_len
    assert!(malformed(b).contains("string section"));
    let mut b = good.clone();
    put(&mut b, 12, u32::MAX); // type_len: overflow
    assert!(malformed(b).contains("type section"));
    let mut b = good.clone();
    put(&mut b, 16, 8); // str_off inside the type section
    assert!(malformed(b).contains("overlap"));
    let mut b = good.clone();
    *b.last_mut().unwrap() = b'x';
    assert!(malformed(b).contains("does not end with NUL"));
}

#[test]
fn malformed_type_sections_are_errors() {
    let good = small();
    // Truncated mid-record: cut the type section to 20 bytes (int's 16 + 4 of the struct's header).
    let mut b = good.clone();
    let type_len = u32::from_le_bytes(b[12..16].try_into().unwrap());
    b.drain(24 + 20..24 + type_len as usize);
    put(&mut b, 12, 20);
    put(&mut b, 16, 20);
    let e = malformed(b);
    assert!(e.contains("type 2") && e.contains("needs 12 bytes"), "{e}");
    // vlen running past the end of the type section.
    let mut b = good.clone();
    put(&mut b, 24 + 16 + 4, kind::STRUCT << 24 | 3);
    let e = malformed(b);
    assert!(
        e.contains("type 2") && e.contains("needs 48 bytes, 36 left"),
        "{e}"
    );
    // Unknown kind.
    let mut b = good.clone();
    put(&mut b, 24 + 4, 25 << 24);
    assert!(malformed(b).contains("type 1: unknown kind 25"));
}

#[test]
fn bad_references_are_errors_at_get() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, INT_SIGNED);
    let bad_name = b.raw(0x7777, kind::INT << 24, 4, &[32]);
    let bad_member = b.struct_("s", 8, &[("a", int, 0, 0), ("b", 999, 32, 0)]);
    let bad_func = b.func("f", int);
    let td1 = b.typedef("a_t", 0);
    let td2 = b.typedef("b_t", td1);
    let tag_loop = b.modifier(kind::TYPE_TAG, "t", 0);
    let ptr_to_tag_loop = b.ptr(tag_loop);
    let bad_sec = b.datasec(".data", 8, &[(0, 0, 8)]);
    let mut blob = b.build();
    // Close the cycles: a_t -> b_t -> a_t, and the TYPE_TAG onto itself.
    // Records: int and bad_name 16 bytes each, the struct 36, then 12 bytes each from id 4 on.
    let rec = |id: u32| 24 + 16 + 16 + 36 + (id as usize - 4) * 12;
    assert_eq!(bad_func, 4);
    put(&mut blob, rec(td1) + 8, td2);
    put(&mut blob, rec(tag_loop) + 8, tag_loop);
    let (types, btf) = registry(blob);

    let e = btf.get(bad_name).unwrap_err().to_string();
    assert!(e.contains("type 2") && e.contains("0x7777"), "{e}");
    let e = btf.get(bad_member).unwrap_err().to_string();
    assert!(e.contains("type 3 refers to type 999"), "{e}");
    let e = btf.get(bad_func).unwrap_err().to_string();
    assert!(
        e.contains("type 4") && e.contains("not a FUNC_PROTO"),
        "{e}"
    );
    let e = btf.get(ptr_to_tag_loop).unwrap_err().to_string();
    assert!(e.contains("TYPE_TAG chain"), "{e}");
    assert!(btf
        .get(bad_sec)
        .unwrap_err()
        .to_string()
        .contains("missing type 0"));
    // The cycle itself reads fine type by type; resolving it stops.
    let a_t = types.lookup("a_t").unwrap();
    assert!(types.get(a_t).is_ok());
    assert!(types.resolve(a_t).is_err());
    assert!(types.size_of(a_t).is_err());
    // Errors are not cached: asking again gives the same error.
    assert!(btf.get(bad_member).is_err());
    assert!(btf.get(int).is_ok());
}

#[test]
fn corrupted_blobs_never_panic() {
    let mut b = BtfBuilder::new();
    sample(&mut b);
    let good = b.build();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..3000 {
        let mut blob = good.clone();
        for _ in 0..1 + round % 4 {
            let at = (next() as usize) % blob.len();
            blob[at] = next() as u8;
        }
        if round % 7 == 0 {
            blob.truncate((next() as usize) % blob.len());
        }
        let Ok(btf) = BtfSource::parse(blob, 0) else {
            continue;
        };
        for i in 0..btf.type_count() + 2 {
            let _ = btf.get(i);
        }
        let _ = btf.find(NameKind::Struct, "task_struct");
        let _ = btf.find(NameKind::Base, "unsigned long");
        let _ = btf.find_var("runqueues");
    }
}

#[test]
fn enumerators_are_found_by_name_in_enum_and_enum64() {
    let mut b = BtfBuilder::new();
    let ids = sample(&mut b);
    let (types, btf) = registry(b.build());
    assert_eq!(
        types.find_enumerator("DEAD"),
        Some((id(&btf, ids.state), -1))
    );
    assert_eq!(
        types.find_enumerator("BIG"),
        Some((id(&btf, ids.wide), 1 << 40))
    );
    // a struct member or a type name is not an enumerator
    assert_eq!(types.find_enumerator("tasks"), None);
    assert_eq!(types.find_enumerator("state"), None);
}
