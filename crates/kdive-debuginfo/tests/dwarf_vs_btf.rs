//! The fixture kernels' DWARF against their BTF (pahole made the BTF from the same DWARF, so
//! every struct and union must agree: size, member names, offsets, bitfield widths, and the size
//! of every member's type). Needs the
//! vmlinux files; skipped without them unless `KDIVE_REQUIRE_VMLINUX=1`.

use std::collections::HashMap;
use std::sync::Arc;

use kdive_debuginfo::btf::BtfSource;
use kdive_debuginfo::dwarf::DwarfTypes;
use kdive_debuginfo::elf_file::ElfFile;
use kdive_debuginfo::{NameKind, Type, TypeKind, TypeSource, Types};

/// Each fixture kernel's vmlinux, once.
fn vmlinux_files() -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> =
        kdive_testdata::fixtures_with_vmlinux("every_struct_and_union_agrees_with_btf")
            .into_iter()
            .map(|(_, v)| v)
            .collect();
    out.sort();
    out.dedup();
    out
}

/// A member as compared: name, bit offset, bit size.
type Placed = (Option<Arc<str>>, u64, Option<u32>);

/// The size and members of a struct or union.
fn layout(t: &Type) -> Option<(u64, Vec<Placed>)> {
    match &t.kind {
        TypeKind::Struct { size, members } | TypeKind::Union { size, members } => Some((
            *size,
            members
                .iter()
                .map(|m| (m.name.clone(), m.bit_offset, m.bit_size))
                .collect(),
        )),
        _ => None,
    }
}

#[test]
fn every_struct_and_union_agrees_with_btf() {
    for path in vmlinux_files() {
        let file = ElfFile::open(&path).unwrap();
        let btf =
            Arc::new(BtfSource::parse(file.section_bytes(".BTF").unwrap().to_vec(), 0).unwrap());
        let dwarf = Arc::new(DwarfTypes::new(&file, None, 1).unwrap());
        let mut types = Types::new();
        types.add_source(btf.clone());
        types.add_source(dwarf.clone());
        // the size of each member's type, bitfields aside
        let sizes = |t: &Type| -> Vec<Option<u64>> {
            match &t.kind {
                TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => members
                    .iter()
                    .map(|m| {
                        m.bit_size
                            .map_or_else(|| types.size_of(m.ty).ok(), |_| None)
                    })
                    .collect(),
                _ => Vec::new(),
            }
        };
        // names BTF holds more than one struct/union of (distinct definitions in different files)
        let mut seen: HashMap<(bool, Arc<str>), usize> = HashMap::new();
        let mut all = Vec::new();
        for id in btf.first_id()..btf.type_count() {
            let t = btf.get(id).unwrap();
            let (Some(name), Some(_)) = (t.name.clone(), layout(&t)) else {
                continue;
            };
            if name.starts_with('.') {
                continue; // a DATASEC
            }
            let union = matches!(t.kind, TypeKind::Union { .. });
            *seen.entry((union, name.clone())).or_default() += 1;
            all.push((union, name, t));
        }
        let (mut same, mut ambiguous, mut local) = (0, 0, 0);
        for (union, name, bt) in all {
            if seen[&(union, name.clone())] > 1 {
                ambiguous += 1;
                continue;
            }
            let kind = if union {
                NameKind::Union
            } else {
                NameKind::Struct
            };
            let Some(idx) = dwarf.find(kind, &name) else {
                // defined inside a function: the index reads the top level of units only
                local += 1;
                continue;
            };
            let dt = dwarf.get(idx).unwrap();
            assert_eq!(layout(&dt), layout(&bt), "{}: {name}", path.display());
            assert_eq!(
                sizes(&dt),
                sizes(&bt),
                "{}: {name} member sizes",
                path.display()
            );
            same += 1;
        }
        eprintln!(
            "{}: {same} structs/unions agree ({ambiguous} with names BTF holds twice, {local} local to functions, not compared)",
            path.display()
        );
        assert!(same > 5000, "{}: only {same}", path.display());
        assert!(local * 100 < same, "{}: {local} not found", path.display());
        assert!(
            dwarf.index_problems().is_empty(),
            "{:?}",
            dwarf.index_problems()
        );
    }
}
