//! The hot path of attribute access and value reads (`task.pid.value_()` over every task):
//! what each type is, resolved once; members by the attribute's interned name, without
//! decoding it; the dump's pages copied once into a small cache, so that the members of one
//! struct are read with one translation.

use hashbrown::HashMap;
use kdive_debuginfo::{Member, TypeId, TypeKind, Types};
use kdive_program::{Object, Program, ProgramError};
use pyo3::prelude::*;
use pyo3::types::PyString;

/// What the hot paths need of a type (typedefs and qualifiers resolved).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// An integer or enum of `size` bytes (1–8); `bool` is kept apart (its value is a `bool`).
    Int {
        size: u8,
        signed: bool,
    },
    Pointer {
        target: TypeId,
    },
    /// A struct or union: its members are looked up on the resolved id.
    Record,
    Array {
        elem: TypeId,
        len: u64,
    },
    /// Anything else (floats, `bool`, functions, void, incomplete types): the general path.
    Other,
}

/// A type's shape and its resolved id.
#[derive(Clone, Copy, Debug)]
pub struct Info {
    pub rid: TypeId,
    pub shape: Shape,
}

/// `ty`'s shape, from the type tables.
fn shape_of(types: &Types, ty: TypeId) -> Result<Info, ProgramError> {
    let (rid, t) = types.resolve(ty).map_err(ProgramError::from)?;
    let shape = match t.kind {
        TypeKind::Int {
            size,
            signed,
            is_bool: false,
            ..
        }
        | TypeKind::Enum { size, signed, .. }
            if (1..=8).contains(&size) =>
        {
            Shape::Int {
                size: size as u8,
                signed,
            }
        }
        TypeKind::Pointer { target } => Shape::Pointer { target },
        TypeKind::Struct { .. } | TypeKind::Union { .. } => Shape::Record,
        TypeKind::Array { elem, len } => Shape::Array { elem, len },
        _ => Shape::Other,
    };
    Ok(Info { rid, shape })
}

/// A member's place in its struct (the member without its name).
#[derive(Clone, Copy)]
struct Field {
    ty: TypeId,
    bit_offset: u64,
    bit_size: Option<u32>,
}

impl Field {
    fn member(self) -> Member {
        Member {
            name: None,
            ty: self.ty,
            bit_offset: self.bit_offset,
            bit_size: self.bit_size,
        }
    }
}

/// Most entries each map keeps; past it the map starts again (names made at run time, such as
/// `getattr(o, "f%d" % i)`, would otherwise grow it without end).
const MAX_ENTRIES: usize = 1 << 14;
/// Pages the page cache holds (direct-mapped by page number): 1 MiB.
const PAGES: usize = 1024;
const PAGE: u64 = 4096;

/// Attribute names by their Python string: the string is kept alive by the map, so its
/// address names it for as long as the entry exists.
#[derive(Default)]
pub struct Names {
    /// Per attribute name: `None` for a Python attribute (a method, `__class__`), else the
    /// members found under that name by resolved struct type.
    by_ptr: HashMap<usize, (Py<PyString>, Option<Members>)>,
}

/// The members one attribute name finds, by resolved struct type.
type Members = HashMap<TypeId, Field>;

/// How an attribute name is answered.
pub enum Attr {
    /// A method or attribute of the class: ends in `_`, or a dunder.
    Python,
    Member(Member),
    /// A member name asked of an object that is not a struct or union (or a pointer to one).
    NoRecord,
}

impl Names {
    /// Attribute `name` of the resolved struct `rid`: Python's own, or a member (found once).
    pub fn lookup(
        &mut self,
        types: &Types,
        rid: Option<TypeId>,
        name: &Bound<'_, PyString>,
    ) -> PyResult<Result<Attr, ProgramError>> {
        let key = name.as_ptr() as usize;
        if !self.by_ptr.contains_key(&key) {
            if self.by_ptr.len() >= MAX_ENTRIES {
                self.by_ptr.clear();
            }
            let n = name.to_cow()?;
            let python = n.ends_with('_') || (n.starts_with("__") && n.ends_with("__"));
            let members = (!python).then(HashMap::default);
            self.by_ptr.insert(key, (name.clone().unbind(), members));
        }
        let Some((_, Some(members))) = self.by_ptr.get_mut(&key) else {
            return Ok(Ok(Attr::Python));
        };
        let Some(rid) = rid else {
            return Ok(Ok(Attr::NoRecord));
        };
        if let Some(f) = members.get(&rid) {
            return Ok(Ok(Attr::Member(f.member())));
        }
        let m = match types.member(rid, &name.to_cow()?) {
            Ok(m) => m,
            Err(e) => return Ok(Err(e.into())),
        };
        let f = Field {
            ty: m.ty,
            bit_offset: m.bit_offset,
            bit_size: m.bit_size,
        };
        members.insert(rid, f);
        Ok(Ok(Attr::Member(f.member())))
    }
}

/// Type shapes by id.
#[derive(Default)]
pub struct Shapes(HashMap<TypeId, Info>);

impl Shapes {
    pub fn get(&mut self, types: &Types, ty: TypeId) -> Result<Info, ProgramError> {
        if let Some(i) = self.0.get(&ty) {
            return Ok(*i);
        }
        let i = shape_of(types, ty)?;
        if self.0.len() >= MAX_ENTRIES {
            self.0.clear();
        }
        self.0.insert(ty, i);
        Ok(i)
    }
}

/// Kernel pages read whole, by virtual page number (a dump does not change; on a running
/// kernel the cache is emptied before each top-level read, see [`crate::state::State::fresh`]).
pub struct Pages {
    slots: Vec<Option<(u64, Box<[u8; PAGE as usize]>)>>,
}

impl Default for Pages {
    fn default() -> Pages {
        Pages {
            slots: (0..PAGES).map(|_| None).collect(),
        }
    }
}

impl Pages {
    /// Reads `buf.len()` bytes at kernel virtual `addr`: from cached pages, a page read whole
    /// on a miss; a page that cannot be read whole is read as asked, with the program's error.
    pub fn read(&mut self, prog: &Program, addr: u64, buf: &mut [u8]) -> Result<(), ProgramError> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = addr.wrapping_add(done as u64);
            let page = at & !(PAGE - 1);
            let off = (at - page) as usize;
            let n = (PAGE as usize - off).min(buf.len() - done);
            let slot = &mut self.slots[(page / PAGE) as usize % PAGES];
            if !matches!(slot, Some((p, _)) if *p == page) {
                let mut data = Box::new([0u8; PAGE as usize]);
                if page.checked_add(PAGE).is_none() || prog.read(page, &mut data[..]).is_err() {
                    return prog.read(at, &mut buf[done..]);
                }
                *slot = Some((page, data));
            }
            if let Some((_, data)) = slot {
                buf[done..done + n].copy_from_slice(&data[off..off + n]);
            }
            done += n;
        }
        Ok(())
    }
}

/// Everything the hot paths remember, behind one lock.
#[derive(Default)]
pub struct Hot {
    pub names: Names,
    pub shapes: Shapes,
    pub pages: Pages,
}

impl Hot {
    /// The raw bits of an integer or pointer object of `size` bytes: a value's own, or read
    /// through the page cache (a bitfield through the object's own read).
    pub fn bits(&mut self, o: &Object<'_>, size: u8) -> Result<u64, ProgramError> {
        match (o.address(), o.bit_size()) {
            (Some(addr), None) => {
                let mut b = [0u8; 8];
                self.pages
                    .read(o.prog(), addr, &mut b[..usize::from(size.min(8))])?;
                Ok(u64::from_le_bytes(b))
            }
            _ => o.read_u64(),
        }
    }
}
