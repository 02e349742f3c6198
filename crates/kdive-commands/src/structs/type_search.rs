//! `whatis -r SIZE|LOW-HIGH` and `whatis -m TYPE`: the named types of a size, or the structures
//! and unions holding a member of a type, as crash lists them (its gdb walks every type symbol:
//! struct, union and enum tags, typedefs and base types, once per name).

use std::collections::HashSet;
use std::io::{self, Write};

use kdive_debuginfo::{NameKind, TypeId, TypeKind, Types};
use serde::{Deserialize, Serialize};

/// How deep `-m` looks into structures embedded in structures.
const MAX_DEPTH: usize = 32;

/// One type found: its name (without `struct`/`union`/`enum`) and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundType {
    pub name: String,
    pub size: u64,
}

/// The types of `sizes` (inclusive; `(0, 0)` or `None`: any size) that, with `member`, are
/// structures or unions holding a member of a type whose name contains it; by size, then name.
pub fn search(types: &Types, sizes: Option<(u64, u64)>, member: Option<&str>) -> Vec<FoundType> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let kinds = [
        NameKind::Struct,
        NameKind::Union,
        NameKind::Enum,
        NameKind::Typedef,
        NameKind::Base,
    ];
    for kind in kinds {
        for (name, id) in types.named(kind) {
            if !seen.insert(name.clone()) {
                continue;
            }
            // a typedef of a function or of void has no size, and no gdb length either
            let Ok(size) = types.size_of(id) else {
                continue;
            };
            // crash asks for no size when the highest is 0
            if let Some((low, high)) = sizes.filter(|&(_, h)| h != 0) {
                if !(low..=high).contains(&size) {
                    continue;
                }
            }
            if let Some(m) = member {
                // a typedef's own type has no members: only tags are searched, as gdb's
                if !matches!(kind, NameKind::Struct | NameKind::Union) || !holds(types, id, m, 0) {
                    continue;
                }
            }
            out.push(FoundType {
                name: name.to_string(),
                size,
            });
        }
    }
    out.sort_by(|a, b| a.size.cmp(&b.size).then_with(|| a.name.cmp(&b.name)));
    out
}

/// Whether the structure or union `id` has a member whose type (or, for an array, its element;
/// for a pointer, what it points at) is named with `needle` in it, looking into embedded
/// structures (not unions) as crash's gdb does.
fn holds(types: &Types, id: TypeId, needle: &str, depth: usize) -> bool {
    let Ok(t) = types.get(id) else {
        return false;
    };
    let (TypeKind::Struct { members, .. } | TypeKind::Union { members, .. }) = &t.kind else {
        return false;
    };
    members.iter().any(|m| {
        let Some((mut id, mut mt)) = super::unqualified(types, m.ty) else {
            return false;
        };
        if let TypeKind::Array { elem, .. } = mt.kind {
            let Some(e) = super::unqualified(types, elem) else {
                return false;
            };
            (id, mt) = e;
        }
        if matches!(mt.kind, TypeKind::Struct { .. })
            && depth < MAX_DEPTH
            && holds(types, id, needle, depth + 1)
        {
            return true;
        }
        if let TypeKind::Pointer { target } = mt.kind {
            let Some((_, pt)) = super::unqualified(types, target) else {
                return false;
            };
            mt = pt;
        }
        mt.name.as_deref().is_some_and(|n| n.contains(needle))
    })
}

/// Writes crash's table: `SIZE  TYPE`, the sizes right-aligned to the widest (the last), or
/// `(none found)`.
pub fn write_table(found: &[FoundType], out: &mut dyn Write) -> io::Result<()> {
    let Some(last) = found.last() else {
        return writeln!(out, "(none found)");
    };
    let w = last.size.to_string().len().max(4);
    writeln!(out, "{:>w$}  TYPE", "SIZE")?;
    for t in found {
        writeln!(out, "{:>w$}  {}", t.size, t.name)?;
    }
    Ok(())
}
