//! A type table built in code: a [`TypeSource`] for types no BTF or DWARF describes, such as the
//! printk structures laid out from VMCOREINFO's `SIZE()`/`OFFSET()` lines, or a test's small kernel.
//!
//! ```
//! use std::sync::Arc;
//! use kdive_debuginfo::table::TypeTable;
//! use kdive_debuginfo::{Member, Types};
//!
//! let mut types = Types::new();
//! let mut t = TypeTable::new(types.next_source_id());
//! let int = t.int("int", 4, true);
//! let node = t.fwd("node", false);
//! let next = t.pointer(node);
//! let def = t.struct_("node", 16, vec![Member::at("value", int, 0), Member::at("next", next, 8)]);
//! types.add_source(Arc::new(t));
//! assert_eq!(types.lookup("struct node").unwrap(), def);
//! assert_eq!(types.member(def, "next").unwrap().bit_offset, 64);
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use crate::{DebugInfoError, Member, NameKind, Result, Type, TypeId, TypeKind, TypeSource};

/// Types added one by one; every adder returns the new type's [`TypeId`] (index 0 is `void`).
/// A name is found in the namespace of its kind (struct, union, enum, typedef, base type); the
/// first type of a name wins, and declarations ([`TypeTable::fwd`]) are never found.
#[derive(Debug, Clone)]
pub struct TypeTable {
    src: u16,
    types: Vec<Arc<Type>>,
    names: HashMap<(NameKind, Arc<str>), u32>,
}

impl TypeTable {
    /// An empty table that will be the provider `src` of a [`crate::Types`].
    pub fn new(src: u16) -> TypeTable {
        TypeTable {
            src,
            types: vec![Arc::new(Type {
                name: None,
                kind: TypeKind::Void,
            })],
            names: HashMap::new(),
        }
    }

    /// The provider number the table's ids carry.
    pub fn src(&self) -> u16 {
        self.src
    }

    /// Number of types, `void` included.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether the table holds only `void`.
    pub fn is_empty(&self) -> bool {
        self.types.len() == 1
    }

    /// Adds a type of any kind; `""` for an anonymous one.
    pub fn add(&mut self, name: &str, kind: TypeKind) -> TypeId {
        let id = self.reserve();
        self.set(id.idx as usize, name, kind);
        id
    }

    /// A placeholder (`void` until [`TypeTable::define`]d), for types that refer to later ones
    /// or to themselves.
    pub fn reserve(&mut self) -> TypeId {
        self.types.push(self.types[0].clone());
        TypeId {
            src: self.src,
            idx: (self.types.len() - 1) as u32,
        }
    }

    /// Gives a reserved (or any earlier) type its name and kind.
    pub fn define(&mut self, id: TypeId, name: &str, kind: TypeKind) -> Result<()> {
        match usize::try_from(id.idx) {
            Ok(i) if id.src == self.src && i > 0 && i < self.types.len() => {
                self.set(i, name, kind);
                Ok(())
            }
            _ => Err(DebugInfoError::NotFound(format!(
                "type {id:?} in this table"
            ))),
        }
    }

    fn set(&mut self, idx: usize, name: &str, kind: TypeKind) {
        let space = match kind {
            TypeKind::Struct { .. } => Some(NameKind::Struct),
            TypeKind::Union { .. } => Some(NameKind::Union),
            TypeKind::Enum { .. } => Some(NameKind::Enum),
            TypeKind::Typedef { .. } => Some(NameKind::Typedef),
            TypeKind::Int { .. } | TypeKind::Float { .. } => Some(NameKind::Base),
            _ => None,
        };
        let name: Option<Arc<str>> = (!name.is_empty()).then(|| name.into());
        if let (Some(space), Some(n)) = (space, &name) {
            self.names.entry((space, n.clone())).or_insert(idx as u32);
        }
        self.types[idx] = Arc::new(Type { name, kind });
    }

    /// An integer of `size` bytes; `char`, `signed char` and `unsigned char` are characters,
    /// `_Bool` and `bool` booleans.
    pub fn int(&mut self, name: &str, size: u32, signed: bool) -> TypeId {
        let kind = TypeKind::Int {
            size,
            signed,
            is_bool: matches!(name, "_Bool" | "bool"),
            is_char: matches!(name, "char" | "signed char" | "unsigned char"),
        };
        self.add(name, kind)
    }

    /// A floating-point type of `size` bytes.
    pub fn float(&mut self, name: &str, size: u32) -> TypeId {
        self.add(name, TypeKind::Float { size })
    }

    /// `target *`.
    pub fn pointer(&mut self, target: TypeId) -> TypeId {
        self.add("", TypeKind::Pointer { target })
    }

    /// `elem[len]`.
    pub fn array(&mut self, elem: TypeId, len: u64) -> TypeId {
        self.add("", TypeKind::Array { elem, len })
    }

    /// `typedef target name`.
    pub fn typedef(&mut self, name: &str, target: TypeId) -> TypeId {
        self.add(name, TypeKind::Typedef { target })
    }

    /// A struct of `size` bytes (see [`Member::at`] and [`Member::bitfield`]); `""` for an
    /// anonymous one.
    pub fn struct_(&mut self, name: &str, size: u64, members: Vec<Member>) -> TypeId {
        self.add(name, TypeKind::Struct { size, members })
    }

    /// A union of `size` bytes.
    pub fn union_(&mut self, name: &str, size: u64, members: Vec<Member>) -> TypeId {
        self.add(name, TypeKind::Union { size, members })
    }

    /// An enum of `size` bytes with its enumerators.
    pub fn enum_(&mut self, name: &str, size: u32, signed: bool, values: &[(&str, i64)]) -> TypeId {
        let values = values.iter().map(|&(n, v)| (Arc::from(n), v)).collect();
        self.add(
            name,
            TypeKind::Enum {
                size,
                signed,
                values,
            },
        )
    }

    /// A declaration without a body (`struct name;`, or `union name;`), for pointers to a type
    /// defined later.
    pub fn fwd(&mut self, name: &str, union: bool) -> TypeId {
        self.add(name, TypeKind::Fwd { union })
    }
}

impl TypeSource for TypeTable {
    fn get(&self, idx: u32) -> Result<Arc<Type>> {
        self.types
            .get(idx as usize)
            .cloned()
            .ok_or_else(|| DebugInfoError::NotFound(format!("type {idx}")))
    }

    fn find(&self, kind: NameKind, name: &str) -> Option<u32> {
        self.names.get(&(kind, Arc::from(name))).copied()
    }

    fn named(&self, kind: NameKind) -> Option<Vec<(Arc<str>, u32)>> {
        Some(
            self.names
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, n), &id)| (n.clone(), id))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Types;

    #[test]
    fn names_kinds_and_placeholders() {
        let mut t = TypeTable::new(1);
        let char_ = t.int("char", 1, true);
        let int = t.int("int", 4, true);
        let fwd = t.fwd("list_head", false);
        let anon = t.struct_("", 4, vec![Member::at("x", int, 0)]);
        let flags = t.struct_(
            "flags",
            4,
            vec![
                Member::bitfield("low", int, 0, 3),
                Member::bitfield("high", int, 3, 5),
                Member::at("", anon, 0),
            ],
        );
        let e = t.enum_("state", 4, false, &[("RUNNING", 0), ("DEAD", 16)]);
        let later = t.reserve();
        let p = t.pointer(later);
        t.define(
            later,
            "node",
            TypeKind::Struct {
                size: 8,
                members: vec![Member::at("next", p, 0)],
            },
        )
        .unwrap();
        assert!(t
            .define(TypeId { src: 0, idx: 2 }, "x", TypeKind::Void)
            .is_err());
        assert!(t
            .define(TypeId { src: 1, idx: 99 }, "x", TypeKind::Void)
            .is_err());
        let second = t.struct_("flags", 8, Vec::new());

        assert_eq!(t.find(NameKind::Base, "char"), Some(char_.idx));
        assert_eq!(t.find(NameKind::Struct, "list_head"), None, "{fwd:?}");
        assert_eq!(t.find(NameKind::Struct, "flags"), Some(flags.idx));
        assert_ne!(second, flags);
        assert_eq!(t.find(NameKind::Enum, "state"), Some(e.idx));
        assert_eq!(t.find(NameKind::Struct, "node"), Some(later.idx));
        assert!(t.get(99).is_err());
        assert!(matches!(
            t.get(char_.idx).unwrap().kind,
            TypeKind::Int { is_char: true, .. }
        ));

        let mut types = Types::new();
        types.add_source(Arc::new(TypeTable::new(0)));
        assert_eq!(types.add_source(Arc::new(t)), 1);
        let high = types.member(flags, "high").unwrap();
        assert_eq!((high.bit_offset, high.bit_size), (3, Some(5)));
        assert_eq!(types.member(flags, "x").unwrap().bit_offset, 0);
        assert_eq!(
            types
                .lookup("struct node *")
                .map(|id| types.get(id).is_ok())
                .ok(),
            Some(true)
        );
        assert_eq!(types.size_of(later).unwrap(), 8);
    }
}
