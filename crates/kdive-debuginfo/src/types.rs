//! The type model shared by every type provider (BTF now, DWARF later).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::{DebugInfoError, Result};

/// Deepest array-of-array nesting [`Types::size_of`] follows.
const MAX_NESTING: u32 = 64;
/// Most members one member lookup looks at, anonymous ones included.
const MEMBER_BUDGET: usize = 1 << 16;

/// A type's identity: which provider, and the provider's own index (0 = `void` in every provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId {
    pub src: u16,
    pub idx: u32,
}

impl TypeId {
    /// Provider index used for types synthesized by [`Types`] (pointers, arrays).
    pub const SYNTH: u16 = u16::MAX;
    /// `void`.
    pub const VOID: TypeId = TypeId {
        src: Self::SYNTH,
        idx: 0,
    };
}

/// A C type qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    Const,
    Volatile,
    Restrict,
}

/// A member of a struct or union.
#[derive(Debug, Clone)]
pub struct Member {
    /// `None` for an anonymous struct/union member.
    pub name: Option<Arc<str>>,
    pub ty: TypeId,
    /// Offset from the start of the containing type, in bits.
    pub bit_offset: u64,
    /// Width of a bitfield, in bits; `None` for an ordinary member.
    pub bit_size: Option<u32>,
}

impl Member {
    /// A member `name` (`""`: anonymous) of type `ty`, `byte_offset` bytes in.
    pub fn at(name: &str, ty: TypeId, byte_offset: u64) -> Member {
        Member {
            name: (!name.is_empty()).then(|| name.into()),
            ty,
            bit_offset: byte_offset.saturating_mul(8),
            bit_size: None,
        }
    }

    /// A bitfield `name` of `bits` bits, `bit_offset` bits from the start of the containing type.
    pub fn bitfield(name: &str, ty: TypeId, bit_offset: u64, bits: u32) -> Member {
        Member {
            name: (!name.is_empty()).then(|| name.into()),
            ty,
            bit_offset,
            bit_size: Some(bits),
        }
    }
}

/// What a type is.
#[derive(Debug, Clone)]
pub enum TypeKind {
    Void,
    Int {
        size: u32,
        signed: bool,
        is_bool: bool,
        is_char: bool,
    },
    Float {
        size: u32,
    },
    Pointer {
        target: TypeId,
    },
    Array {
        elem: TypeId,
        len: u64,
    },
    Struct {
        size: u64,
        members: Vec<Member>,
    },
    Union {
        size: u64,
        members: Vec<Member>,
    },
    Enum {
        size: u32,
        signed: bool,
        values: Vec<(Arc<str>, i64)>,
    },
    Typedef {
        target: TypeId,
    },
    Qualified {
        qual: Qualifier,
        target: TypeId,
    },
    Function {
        ret: TypeId,
        params: Vec<(Option<Arc<str>>, TypeId)>,
        variadic: bool,
    },
    /// A declaration without a body (`struct foo;`).
    Fwd {
        union: bool,
    },
}

/// A type: its name (if any) and kind.
#[derive(Debug, Clone)]
pub struct Type {
    pub name: Option<Arc<str>>,
    pub kind: TypeKind,
}

/// Namespaces a type name can be looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    Struct,
    Union,
    Enum,
    Typedef,
    /// Base types (`int`, `unsigned long`, ...).
    Base,
}

/// A provider of types: BTF of vmlinux or of a module, DWARF, ...
pub trait TypeSource: Send + Sync {
    /// The type `idx` of this provider. Errors for an index the provider does not have.
    fn get(&self, idx: u32) -> Result<Arc<Type>>;
    /// Finds a complete type (not a forward declaration) by name in a namespace.
    fn find(&self, kind: NameKind, name: &str) -> Option<u32>;
    /// Finds a type by name in the first of `kinds` that has it (a typedef, else a base type).
    fn find_any(&self, kinds: &[NameKind], name: &str) -> Option<u32> {
        kinds.iter().find_map(|&k| self.find(k, name))
    }
    /// Finds an enumerator (a C constant such as `PIDTYPE_PID`): its enum type and value.
    /// Providers without such a search answer `None`.
    fn find_enumerator(&self, _name: &str) -> Option<(u32, i64)> {
        None
    }
    /// Every complete type named in namespace `kind` (the one [`TypeSource::find`] answers for
    /// each name), for searches over all types. Providers that cannot list theirs answer `None`.
    fn named(&self, _kind: NameKind) -> Option<Vec<(Arc<str>, u32)>> {
        None
    }
}

/// All type providers of a program, plus types synthesized on demand (pointer-to, array-of).
///
/// Providers can be added while the registry is shared (a module's BTF read on first use):
/// the list only grows, and reading it takes no lock.
pub struct Types {
    sources: boxcar::Vec<Arc<dyn TypeSource>>,
    /// Held while a provider is numbered and added, so numbers and places agree.
    adding: Mutex<()>,
    synth: RwLock<Synth>,
}

#[derive(Default)]
struct Synth {
    types: Vec<Arc<Type>>,
    index: HashMap<SynthKey, u32>,
}

#[derive(PartialEq, Eq, Hash)]
enum SynthKey {
    Pointer(TypeId),
    Array(TypeId, u64),
    Function(TypeId, Vec<TypeId>, bool),
}

impl Default for Types {
    fn default() -> Self {
        Self::new()
    }
}

impl Types {
    /// An empty registry (only `void`).
    pub fn new() -> Types {
        let void = Arc::new(Type {
            name: Some("void".into()),
            kind: TypeKind::Void,
        });
        Types {
            sources: boxcar::Vec::new(),
            adding: Mutex::new(()),
            synth: RwLock::new(Synth {
                types: vec![void],
                index: HashMap::new(),
            }),
        }
    }

    /// Adds a provider while the registry is being built; returns its `src` number (for the
    /// provider to tag the [`TypeId`]s it hands out). Once shared, use [`Types::add_source_with`].
    pub fn add_source(&mut self, src: Arc<dyn TypeSource>) -> u16 {
        self.sources.push(src) as u16
    }

    /// Numbers a new provider, builds it with that number (`make(src)`) and adds it; returns the
    /// number. Nothing is added when `make` fails, or when every number is taken.
    pub fn add_source_with<E: From<DebugInfoError>>(
        &self,
        make: impl FnOnce(u16) -> std::result::Result<Arc<dyn TypeSource>, E>,
    ) -> std::result::Result<u16, E> {
        let _held = self.adding.lock().unwrap_or_else(|p| p.into_inner());
        let src = u16::try_from(self.sources.count())
            .ok()
            .filter(|&s| s < TypeId::SYNTH)
            .ok_or_else(|| DebugInfoError::Missing("a free type provider number".into()))?;
        let made = make(src)?;
        self.sources.push(made);
        Ok(src)
    }

    /// The `src` number the next [`Types::add_source`] will return.
    pub fn next_source_id(&self) -> u16 {
        self.sources.count() as u16
    }

    /// Looks a type up.
    pub fn get(&self, id: TypeId) -> Result<Arc<Type>> {
        if id.src == TypeId::SYNTH {
            let s = self
                .synth
                .read()
                .map_err(|_| DebugInfoError::Missing("type table".into()))?;
            return s
                .types
                .get(id.idx as usize)
                .cloned()
                .ok_or_else(|| DebugInfoError::NotFound(format!("type {id:?}")));
        }
        match self.sources.get(id.src as usize) {
            Some(src) => src.get(id.idx),
            None => Err(DebugInfoError::NotFound(format!(
                "type provider {}",
                id.src
            ))),
        }
    }

    /// Finds a type by name, asking providers in order (vmlinux first, then modules).
    pub fn find(&self, kind: NameKind, name: &str) -> Option<TypeId> {
        self.sources
            .iter()
            .find_map(|(i, s)| s.find(kind, name).map(|idx| TypeId { src: i as u16, idx }))
    }

    /// Every named complete type of namespace `kind`, once per name (the first provider's),
    /// vmlinux first, then the modules' read so far.
    pub fn named(&self, kind: NameKind) -> Vec<(Arc<str>, TypeId)> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (i, s) in self.sources.iter() {
            for (name, idx) in s.named(kind).unwrap_or_default() {
                if seen.insert(name.clone()) {
                    out.push((name, TypeId { src: i as u16, idx }));
                }
            }
        }
        out
    }

    /// The enumerator `name`: the enum type defining it and its value, from the first provider
    /// that has it.
    pub fn find_enumerator(&self, name: &str) -> Option<(TypeId, i64)> {
        self.sources.iter().find_map(|(i, s)| {
            s.find_enumerator(name)
                .map(|(idx, v)| (TypeId { src: i as u16, idx }, v))
        })
    }

    /// Parses `struct X`, `union X`, `enum X`, or a typedef/base name, with trailing `*`s.
    pub fn lookup(&self, spec: &str) -> Result<TypeId> {
        let spec = spec.trim();
        let stars = spec
            .chars()
            .rev()
            .take_while(|c| *c == '*' || c.is_whitespace())
            .filter(|c| *c == '*')
            .count();
        let base = spec.trim_end_matches(|c: char| c == '*' || c.is_whitespace());
        let (kind, name) = if let Some(n) = base.strip_prefix("struct ") {
            (Some(NameKind::Struct), n.trim())
        } else if let Some(n) = base.strip_prefix("union ") {
            (Some(NameKind::Union), n.trim())
        } else if let Some(n) = base.strip_prefix("enum ") {
            (Some(NameKind::Enum), n.trim())
        } else {
            (None, base)
        };
        let mut id = if name == "void" && kind.is_none() {
            Some(TypeId::VOID)
        } else {
            match kind {
                Some(k) => self.find(k, name),
                // the first provider that has the name answers, as a typedef or a base type
                None => self.sources.iter().find_map(|(i, s)| {
                    s.find_any(&[NameKind::Typedef, NameKind::Base], name)
                        .map(|idx| TypeId { src: i as u16, idx })
                }),
            }
        }
        .ok_or_else(|| DebugInfoError::NotFound(format!("type '{base}'")))?;
        for _ in 0..stars {
            id = self.pointer_to(id);
        }
        Ok(id)
    }

    /// The type `T *` for `T = target`.
    pub fn pointer_to(&self, target: TypeId) -> TypeId {
        self.synthesize(SynthKey::Pointer(target), || TypeKind::Pointer { target })
    }

    /// The type `T[len]`.
    pub fn array_of(&self, elem: TypeId, len: u64) -> TypeId {
        self.synthesize(SynthKey::Array(elem, len), || TypeKind::Array { elem, len })
    }

    /// The function type `ret (params)` (`ret (params, ...)` when `variadic`), as a cast to a
    /// function pointer names it.
    pub fn function_of(&self, ret: TypeId, params: &[TypeId], variadic: bool) -> TypeId {
        let key = SynthKey::Function(ret, params.to_vec(), variadic);
        self.synthesize(key, || TypeKind::Function {
            ret,
            params: params.iter().map(|&t| (None, t)).collect(),
            variadic,
        })
    }

    fn synthesize(&self, key: SynthKey, kind: impl FnOnce() -> TypeKind) -> TypeId {
        if let Ok(s) = self.synth.read() {
            if let Some(&idx) = s.index.get(&key) {
                return TypeId {
                    src: TypeId::SYNTH,
                    idx,
                };
            }
        }
        let mut s = match self.synth.write() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if let Some(&idx) = s.index.get(&key) {
            return TypeId {
                src: TypeId::SYNTH,
                idx,
            };
        }
        let idx = s.types.len() as u32;
        s.types.push(Arc::new(Type {
            name: None,
            kind: kind(),
        }));
        s.index.insert(key, idx);
        TypeId {
            src: TypeId::SYNTH,
            idx,
        }
    }

    /// Follows typedefs and qualifiers to the underlying type.
    pub fn resolve(&self, mut id: TypeId) -> Result<(TypeId, Arc<Type>)> {
        for _ in 0..64 {
            let t = self.get(id)?;
            match t.kind {
                TypeKind::Typedef { target } | TypeKind::Qualified { target, .. } => id = target,
                _ => return Ok((id, t)),
            }
        }
        Err(DebugInfoError::Malformed {
            what: "type chain",
            offset: id.idx as u64,
            detail: "typedef loop".into(),
        })
    }

    /// Size in bytes of a type (pointers are 8 bytes; functions and void have none).
    pub fn size_of(&self, id: TypeId) -> Result<u64> {
        self.size_of_nested(id, 0)
    }

    /// [`size_of`](Self::size_of) `depth` arrays deep: corrupt type data can make an array
    /// its own element.
    fn size_of_nested(&self, id: TypeId, depth: u32) -> Result<u64> {
        if depth > MAX_NESTING {
            return Err(DebugInfoError::Malformed {
                what: "type chain",
                offset: id.idx as u64,
                detail: format!("arrays nested more than {MAX_NESTING} deep"),
            });
        }
        let (_, t) = self.resolve(id)?;
        Ok(match &t.kind {
            TypeKind::Int { size, .. } | TypeKind::Float { size } | TypeKind::Enum { size, .. } => {
                *size as u64
            }
            TypeKind::Pointer { .. } => 8,
            TypeKind::Struct { size, .. } | TypeKind::Union { size, .. } => *size,
            TypeKind::Array { elem, len } => {
                self.size_of_nested(*elem, depth + 1)?.saturating_mul(*len)
            }
            TypeKind::Void | TypeKind::Function { .. } | TypeKind::Fwd { .. } => {
                return Err(DebugInfoError::Missing(format!(
                    "size of incomplete type {}",
                    t.name.as_deref().unwrap_or("?")
                )))
            }
            TypeKind::Typedef { .. } | TypeKind::Qualified { .. } => unreachable!("resolved above"),
        })
    }

    /// Finds member `name` of a struct/union, looking through anonymous members.
    /// Returns the member with its bit offset from the start of `id`.
    pub fn member(&self, id: TypeId, name: &str) -> Result<Member> {
        self.find_member(id, name, 0, &mut { MEMBER_BUDGET })?
            .ok_or_else(|| {
                let tn = self.get(id).ok().and_then(|t| t.name.clone());
                DebugInfoError::NotFound(format!(
                    "member '{name}' in {}",
                    tn.as_deref().unwrap_or("type")
                ))
            })
    }

    /// True if the struct/union has a member of that name (for version checks: `__state` vs `state`).
    pub fn has_member(&self, id: TypeId, name: &str) -> bool {
        matches!(
            self.find_member(id, name, 0, &mut { MEMBER_BUDGET }),
            Ok(Some(_))
        )
    }

    /// Depth-first through anonymous members, at most 16 deep and `budget` members in all
    /// (corrupt types can nest a struct with many anonymous members in itself).
    fn find_member(
        &self,
        id: TypeId,
        name: &str,
        depth: u32,
        budget: &mut usize,
    ) -> Result<Option<Member>> {
        if depth > 16 || *budget == 0 {
            return Ok(None);
        }
        let (_, t) = self.resolve(id)?;
        let members = match &t.kind {
            TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => members,
            _ => {
                return Err(DebugInfoError::Missing(format!(
                    "members of non-struct type looking for '{name}'"
                )))
            }
        };
        for m in members {
            *budget = budget.saturating_sub(1);
            match &m.name {
                Some(n) if &**n == name => return Ok(Some(m.clone())),
                None => {
                    if let Some(mut inner) = self.find_member(m.ty, name, depth + 1, budget)? {
                        inner.bit_offset += m.bit_offset;
                        return Ok(Some(inner));
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::TypeTable;

    fn types_of(t: TypeTable) -> Types {
        let mut types = Types::new();
        types.add_source(Arc::new(t));
        types
    }

    /// An array that is its own element has no size, and asking does not recurse forever.
    #[test]
    fn self_nested_array_is_an_error() {
        let mut t = TypeTable::new(0);
        let a = t.reserve();
        t.define(a, "", TypeKind::Array { elem: a, len: 4 })
            .unwrap();
        assert!(types_of(t).size_of(a).is_err());
    }

    /// A struct made of many anonymous members of its own type: member lookups stay bounded.
    #[test]
    fn self_nested_anonymous_members_are_bounded() {
        let mut t = TypeTable::new(0);
        let id = t.reserve();
        let members = (0..1000).map(|i| Member::at("", id, i)).collect();
        t.define(id, "loop", TypeKind::Struct { size: 8, members })
            .unwrap();
        let t = types_of(t);
        let start = std::time::Instant::now();
        assert!(!t.has_member(id, "missing"));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
