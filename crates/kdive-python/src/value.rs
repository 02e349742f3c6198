//! Values held by the object itself, as drgn's value objects: an aggregate (struct, union,
//! array) or a float is its type and its bytes, copied out of the dump (`obj.read_()`) or built
//! (`Object(prog, "struct path", value={...})`). [`Val`] reads either kind of object the same
//! way: a member or element of a held aggregate is a held value too, a scalar one an integer
//! value of the program layer.

use std::sync::Arc;

use kdive_debuginfo::{Member, TypeId, TypeKind};
use kdive_program::{Object, Program, ProgramError, Result};

/// Largest aggregate held by value (what [`Object::read_bytes`] reads at most).
pub const MAX_HELD: u64 = 1 << 24;

/// The bytes of a value, shared by the values of its members.
#[derive(Clone, Debug)]
pub struct Held {
    pub ty: TypeId,
    data: Arc<[u8]>,
    off: usize,
    len: usize,
}

impl Held {
    /// A value of `ty` holding `bytes` (as many as the type's size).
    pub fn new(ty: TypeId, bytes: Vec<u8>) -> Held {
        let len = bytes.len();
        Held {
            ty,
            data: bytes.into(),
            off: 0,
            len,
        }
    }

    /// The value's own bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data[self.off..self.off + self.len]
    }

    /// The `len` bytes `off` bytes in, as a value of `ty`.
    fn part(&self, ty: TypeId, off: u64, len: u64) -> Option<Held> {
        let end = off.checked_add(len)?;
        (end <= self.len as u64).then(|| Held {
            ty,
            data: self.data.clone(),
            off: self.off + off as usize,
            len: len as usize,
        })
    }
}

/// An object to read: one of the program layer (in memory, or an integer or pointer value), or
/// a value held here.
#[derive(Clone)]
pub enum Val<'p> {
    Obj(Object<'p>),
    Held(&'p Program, Held),
}

/// True for the types the program layer holds as an integer value.
fn is_int_like(prog: &Program, ty: TypeId) -> bool {
    match prog.types().resolve(ty).map(|(_, t)| t.kind.clone()) {
        Ok(TypeKind::Int { size, .. } | TypeKind::Enum { size, .. }) => (1..=8).contains(&size),
        Ok(TypeKind::Pointer { .. }) => true,
        _ => false,
    }
}

/// `bits` bits at bit `start` of little-endian `bytes`.
fn bits_at(bytes: &[u8], start: u64, bits: u32) -> Option<u64> {
    if bits == 0 || bits > 64 {
        return None;
    }
    let first = (start / 8) as usize;
    let shift = (start % 8) as u32;
    let n = (shift + bits).div_ceil(8) as usize;
    let window = bytes.get(first..first.checked_add(n)?)?;
    let mut b = [0u8; 16];
    b[..n].copy_from_slice(window);
    let v = u128::from_le_bytes(b) >> shift;
    Some((v as u64) & mask(bits))
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        !0
    } else {
        (1u64 << bits) - 1
    }
}

/// Writes the low `bits` bits of `v` at bit `start` of little-endian `bytes`.
pub fn put_bits(bytes: &mut [u8], start: u64, bits: u32, v: u64) -> bool {
    if bits == 0 || bits > 64 {
        return false;
    }
    let first = (start / 8) as usize;
    let shift = (start % 8) as u32;
    let n = (shift + bits).div_ceil(8) as usize;
    let Some(window) = first
        .checked_add(n)
        .and_then(|end| bytes.get_mut(first..end))
    else {
        return false;
    };
    let mut b = [0u8; 16];
    b[..n].copy_from_slice(window);
    let m = u128::from(mask(bits)) << shift;
    let w = (u128::from_le_bytes(b) & !m) | ((u128::from(v) << shift) & m);
    window.copy_from_slice(&w.to_le_bytes()[..n]);
    true
}

impl<'p> Val<'p> {
    /// A value of `ty` with `bytes`: an integer or pointer as the program layer's value, any
    /// other type held.
    pub fn from_bytes(prog: &'p Program, ty: TypeId, bytes: Vec<u8>) -> Val<'p> {
        Val::from_held(prog, Held::new(ty, bytes))
    }

    fn from_held(prog: &'p Program, h: Held) -> Val<'p> {
        if is_int_like(prog, h.ty) && h.len <= 8 {
            let mut b = [0u8; 8];
            b[..h.len].copy_from_slice(h.bytes());
            return Val::Obj(Object::value(prog, h.ty, u64::from_le_bytes(b)));
        }
        Val::Held(prog, h)
    }

    pub fn prog(&self) -> &'p Program {
        match self {
            Val::Obj(o) => o.prog(),
            Val::Held(p, _) => p,
        }
    }

    pub fn type_id(&self) -> TypeId {
        match self {
            Val::Obj(o) => o.type_id(),
            Val::Held(_, h) => h.ty,
        }
    }

    /// The address of an object in memory; `None` for a value.
    pub fn address(&self) -> Option<u64> {
        match self {
            Val::Obj(o) => o.address(),
            Val::Held(..) => None,
        }
    }

    pub fn size(&self) -> Result<u64> {
        Ok(self.prog().types().size_of(self.type_id())?)
    }

    fn type_err(&self, op: &'static str, why: &str) -> ProgramError {
        ProgramError::Type {
            op,
            ty: kdive_program::object::type_name(self.prog(), self.type_id()),
            why: why.into(),
        }
    }

    /// The member `m` of a struct or union (one of its type's members, named or not).
    pub fn field(&self, m: &Member) -> Result<Val<'p>> {
        let h = match self {
            Val::Obj(o) => return o.field(m).map(Val::Obj),
            Val::Held(_, h) => h,
        };
        let prog = self.prog();
        let outside = || self.type_err("member access", "member outside the value");
        if let Some(bits) = m.bit_size {
            let v = bits_at(h.bytes(), m.bit_offset, bits).ok_or_else(outside)?;
            return Ok(Val::Obj(Object::value(prog, m.ty, v)));
        }
        let size = prog.types().size_of(m.ty)?;
        let part = h.part(m.ty, m.bit_offset / 8, size).ok_or_else(outside)?;
        Ok(Val::from_held(prog, part))
    }

    /// Member `path` (dots for nesting); through a pointer as `->` for an object in memory.
    pub fn member(&self, path: &str) -> Result<Val<'p>> {
        if let Val::Obj(o) = self {
            return o.member(path).map(Val::Obj);
        }
        let mut v = self.clone();
        for name in path.split('.') {
            if let Val::Obj(o) = v {
                v = Val::Obj(o.member(name)?);
                continue;
            }
            let (rid, t) = v.prog().types().resolve(v.type_id())?;
            if !matches!(t.kind, TypeKind::Struct { .. } | TypeKind::Union { .. }) {
                return Err(v.type_err("member access", "not a struct or union"));
            }
            let m = v.prog().types().member(rid, name)?;
            v = v.field(&m)?;
        }
        Ok(v)
    }

    /// Element `i` of an array or of what a pointer points to.
    pub fn index(&self, i: u64) -> Result<Val<'p>> {
        let h = match self {
            Val::Obj(o) => return o.index(i).map(Val::Obj),
            Val::Held(_, h) => h,
        };
        let prog = self.prog();
        let TypeKind::Array { elem, .. } = prog.types().resolve(h.ty)?.1.kind else {
            return Err(self.type_err("index", "not an array"));
        };
        let size = prog.types().size_of(elem)?;
        let part = i
            .checked_mul(size)
            .and_then(|off| h.part(elem, off, size))
            .ok_or_else(|| self.type_err("index", "out of bounds of value"))?;
        Ok(Val::from_held(prog, part))
    }

    /// `*ptr` (element 0 of an array in memory).
    pub fn deref(&self) -> Result<Val<'p>> {
        match self {
            Val::Obj(o) => o.deref().map(Val::Obj),
            Val::Held(..) => Err(self.type_err("deref", "cannot get address of value")),
        }
    }

    /// The bits of an integer, enum, pointer or bitfield.
    pub fn read_u64(&self) -> Result<u64> {
        match self {
            Val::Obj(o) => o.read_u64(),
            Val::Held(..) => Err(self.type_err("read value", "not a scalar")),
        }
    }

    /// The value of an integer or enum, sign-extended by its type.
    pub fn read_i64(&self) -> Result<i64> {
        match self {
            Val::Obj(o) => o.read_i64(),
            Val::Held(..) => Err(self.type_err("read value", "not a scalar")),
        }
    }

    /// The object's bytes, as many as its type's size (an integer value's too).
    pub fn read_bytes(&self) -> Result<Vec<u8>> {
        match self {
            Val::Held(_, h) => Ok(h.bytes().to_vec()),
            Val::Obj(o) if o.address().is_some() => o.read_bytes(),
            Val::Obj(o) => {
                let size = (o.size()? as usize).min(8);
                Ok(o.read_u64()?.to_le_bytes()[..size].to_vec())
            }
        }
    }

    /// The same object read now: an aggregate's or a float's bytes held, an integer's or
    /// pointer's value.
    pub fn read(&self) -> Result<Val<'p>> {
        match self {
            Val::Held(..) => Ok(self.clone()),
            Val::Obj(o) if is_int_like(o.prog(), o.type_id()) => Ok(Val::Obj(Object::value(
                o.prog(),
                o.type_id(),
                o.read_u64()?,
            ))),
            Val::Obj(o) => {
                let held = matches!(
                    o.prog().types().resolve(o.type_id())?.1.kind,
                    TypeKind::Struct { .. }
                        | TypeKind::Union { .. }
                        | TypeKind::Array { .. }
                        | TypeKind::Float { .. }
                );
                // a function or an incomplete type has no bytes to read: it stays as it is
                if !held || o.address().is_none() {
                    return Ok(self.clone());
                }
                if o.size()? > MAX_HELD {
                    return Err(self.type_err("read", "too large to hold"));
                }
                Ok(Val::from_bytes(o.prog(), o.type_id(), o.read_bytes()?))
            }
        }
    }

    /// The same bytes seen as `ty` (drgn's `reinterpret`): where it lies for an object in
    /// memory; for a value, its first bytes, which must be enough for `ty`.
    pub fn reinterpret(&self, ty: TypeId) -> Result<Val<'p>> {
        if let (Val::Obj(o), Some(_)) = (self, self.address()) {
            return Ok(Val::Obj(o.cast_to(ty)));
        }
        let prog = self.prog();
        let size = prog.types().size_of(ty)?;
        let mut b = self.read_bytes()?;
        if size > b.len() as u64 {
            return Err(self.type_err("reinterpret", "out of bounds of value"));
        }
        b.truncate(size as usize);
        Ok(Val::from_bytes(prog, ty, b))
    }
}
