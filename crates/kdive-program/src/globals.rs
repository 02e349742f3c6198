//! Global variables and functions by name, typed by whichever source can: BTF's `VAR`s (per-CPU
//! variables; every global on kernels whose BTF has them) and `FUNC`s, the DWARF of the vmlinux
//! or of the module holding the symbol. The address is the dump's own (kallsyms); the DWARF's
//! is used only for a name kallsyms lacks.
//!
//! A type read from DWARF is replaced by BTF's type of the same name when their shapes agree, so
//! objects reached from a global compare equal, type for type, with those reached from
//! `Program::type_` (which asks BTF first).

use std::sync::Arc;

use kdive_debuginfo::dwarf::DwarfTypes;
use kdive_debuginfo::{NameKind, Symbol, TypeId, TypeKind, TypeSource};

use crate::{Object, Program, ProgramError, Result};

/// Pointer and array levels followed when swapping DWARF types for BTF's.
const MAX_CANONICAL_DEPTH: u32 = 16;

/// Where a name was typed: the type, and the address the typing source gives (if any).
struct Typed {
    ty: TypeId,
    addr: Option<u64>,
}

/// What is looked up: a variable or a function.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Variable,
    Function,
}

impl Program {
    /// The global variable `name` as an object (a reference to its memory): at its address in
    /// the dump's symbols, typed by BTF or by the DWARF of the vmlinux or module holding it.
    /// A name no source types is a [`ProgramError::NoType`]; an unknown name a
    /// [`ProgramError::NoSymbol`] (both [`ErrorKind::Lookup`](crate::ErrorKind::Lookup)).
    pub fn global(&self, name: &str) -> Result<Object<'_>> {
        self.named(name, Want::Variable)
    }

    /// The function `name` as an object of its function type at its entry address, typed by
    /// BTF's `FUNC` prototype or by DWARF; errors as [`Program::global`].
    pub fn function(&self, name: &str) -> Result<Object<'_>> {
        self.named(name, Want::Function)
    }

    fn named(&self, name: &str, want: Want) -> Result<Object<'_>> {
        let sym = self.symbols().by_name(name);
        let typed = match &sym {
            Some(s) => self.type_symbol(s, want),
            None => self.type_unlisted(name, want),
        };
        match (typed, sym) {
            (Some(t), Some(s)) => Ok(Object::reference(self, t.ty, s.addr)),
            (Some(Typed { ty, addr: Some(a) }), None) => Ok(Object::reference(self, ty, a)),
            (_, Some(_)) => Err(ProgramError::NoType(name.to_string())),
            (_, None) => Err(ProgramError::NoSymbol(name.to_string())),
        }
    }

    /// The type of a symbol of the kernel or of a module.
    fn type_symbol(&self, s: &Symbol, want: Want) -> Option<Typed> {
        if let Some(m) = &s.module {
            let d = self.module_debug().into_iter().find(|d| d.name() == &**m)?;
            return self.typed_by_dwarf(d.types()?, &s.name, Some(s.addr), 0, want);
        }
        if let Some(t) = self.typed_by_btf(&s.name, want) {
            return Some(t);
        }
        let d = self.debug()?;
        // per-CPU symbols are offsets into the per-CPU area, which KASLR does not move
        let slide = if s.addr >> 63 == 1 { d.slide() } else { 0 };
        let link = s.addr.wrapping_sub(slide);
        self.typed_by_dwarf(d.types()?, &s.name, Some(link), slide, want)
    }

    /// The type and address of a name the symbols lack, from DWARF alone.
    fn type_unlisted(&self, name: &str, want: Want) -> Option<Typed> {
        if let Some(d) = self.debug() {
            if let Some(t) = d
                .types()
                .and_then(|t| self.typed_by_dwarf(t, name, None, d.slide(), want))
            {
                return Some(t);
            }
        }
        self.module_debug()
            .iter()
            .find_map(|d| self.typed_by_dwarf(d.types()?, name, None, 0, want))
    }

    fn typed_by_btf(&self, name: &str, want: Want) -> Option<Typed> {
        let (btf, src) = self.vmlinux_btf()?;
        let ty = match want {
            Want::Variable => {
                let idx = btf.find_var(name)?;
                match btf.get(idx).ok()?.kind {
                    TypeKind::Typedef { target } => target,
                    _ => return None,
                }
            }
            Want::Function => TypeId {
                src,
                idx: btf.find_func(name)?,
            },
        };
        Some(Typed { ty, addr: None })
    }

    /// From a file's DWARF: `addr` is where the symbol is, as the file counts addresses; `slide`
    /// turns the file's addresses into the dump's.
    fn typed_by_dwarf(
        &self,
        d: &Arc<DwarfTypes>,
        name: &str,
        addr: Option<u64>,
        slide: u64,
        want: Want,
    ) -> Option<Typed> {
        let found = match want {
            Want::Variable => d.find_variable(name, addr)?,
            Want::Function => d.find_function(name, addr)?,
        };
        let id = d.type_id(found.die);
        let ty = match want {
            Want::Variable => match d.get(found.die).ok()?.kind {
                TypeKind::Typedef { target } => self.canonical(target, 0),
                _ => return None,
            },
            Want::Function => id,
        };
        Some(Typed {
            ty,
            addr: found.addr.map(|a| a.wrapping_add(slide)),
        })
    }

    /// `id`, with named types (and pointers to and arrays of them) swapped for the kernel BTF's
    /// type of the same name and shape.
    fn canonical(&self, id: TypeId, depth: u32) -> TypeId {
        let Some((btf, btf_src)) = self.vmlinux_btf() else {
            return id;
        };
        if id.src == btf_src || depth > MAX_CANONICAL_DEPTH {
            return id;
        }
        let types = self.types();
        let Ok(t) = types.get(id) else { return id };
        let kind = match &t.kind {
            TypeKind::Pointer { target } => {
                return types.pointer_to(self.canonical(*target, depth + 1))
            }
            TypeKind::Array { elem, len } => {
                return types.array_of(self.canonical(*elem, depth + 1), *len)
            }
            TypeKind::Struct { .. } => NameKind::Struct,
            TypeKind::Union { .. } => NameKind::Union,
            TypeKind::Enum { .. } => NameKind::Enum,
            TypeKind::Typedef { .. } => NameKind::Typedef,
            TypeKind::Int { .. } | TypeKind::Float { .. } => NameKind::Base,
            _ => return id,
        };
        let Some(name) = t.name.as_deref() else {
            return id;
        };
        match btf.find(kind, name) {
            Some(idx) => {
                let other = TypeId { src: btf_src, idx };
                if self.same_shape(id, other) {
                    other
                } else {
                    id
                }
            }
            None => id,
        }
    }

    /// Same size, and for structs and unions the same member names in the same places.
    fn same_shape(&self, a: TypeId, b: TypeId) -> bool {
        let types = self.types();
        let size = |id| types.size_of(id).ok();
        if size(a) != size(b) {
            return false;
        }
        let (Ok((_, ta)), Ok((_, tb))) = (types.resolve(a), types.resolve(b)) else {
            return false;
        };
        match (&ta.kind, &tb.kind) {
            (
                TypeKind::Struct { members: ma, .. } | TypeKind::Union { members: ma, .. },
                TypeKind::Struct { members: mb, .. } | TypeKind::Union { members: mb, .. },
            ) => {
                ma.len() == mb.len()
                    && ma
                        .iter()
                        .zip(mb)
                        .all(|(x, y)| x.name == y.name && x.bit_offset == y.bit_offset)
            }
            (TypeKind::Enum { values: va, .. }, TypeKind::Enum { values: vb, .. }) => va == vb,
            (TypeKind::Int { signed: sa, .. }, TypeKind::Int { signed: sb, .. }) => sa == sb,
            (ka, kb) => std::mem::discriminant(ka) == std::mem::discriminant(kb),
        }
    }
}
