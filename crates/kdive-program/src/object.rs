//! `Object`: a typed value, either stored in the dump's memory or computed.

use std::sync::Arc;

use kdive_debuginfo::{Member, Type, TypeId, TypeKind};
use kdive_memory::ReadVirt;

use crate::{Program, ProgramError, Result};

/// Where an object's bits live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In memory at `addr`; a bitfield starts `bit_off` bits into that byte and is `bit_size` wide.
    Ref {
        addr: u64,
        bit_off: u8,
        bit_size: Option<u32>,
    },
    /// A computed scalar (a pointer value, an integer), as raw bits.
    Value(u64),
}

/// A typed value of a [`Program`]: member access, deref, index, casts, integer and string reads.
///
/// Objects in memory are references: nothing is read until a value is asked for.
#[derive(Clone, Copy)]
pub struct Object<'p> {
    prog: &'p Program,
    ty: TypeId,
    place: Place,
}

/// An object without its program: what it is and where, to rebuild it later with
/// [`Object::from_handle`] (front ends that cannot hold a borrow, such as Python's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectHandle {
    ty: TypeId,
    place: Place,
}

impl std::fmt::Debug for Object<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Object({} {:?})", self.type_name(), self.place)
    }
}

impl<'p> Object<'p> {
    /// An object of type `ty` stored at `addr`.
    pub fn reference(prog: &'p Program, ty: TypeId, addr: u64) -> Object<'p> {
        Object {
            prog,
            ty,
            place: Place::Ref {
                addr,
                bit_off: 0,
                bit_size: None,
            },
        }
    }

    /// A computed scalar of type `ty` (pointer, integer, enum).
    pub fn value(prog: &'p Program, ty: TypeId, bits: u64) -> Object<'p> {
        Object {
            prog,
            ty,
            place: Place::Value(bits),
        }
    }

    /// This object without its program.
    pub fn handle(&self) -> ObjectHandle {
        ObjectHandle {
            ty: self.ty,
            place: self.place,
        }
    }

    /// The object `h` was taken from, in `prog`.
    pub fn from_handle(prog: &'p Program, h: ObjectHandle) -> Object<'p> {
        Object {
            prog,
            ty: h.ty,
            place: h.place,
        }
    }

    /// The program this object belongs to.
    pub fn prog(&self) -> &'p Program {
        self.prog
    }

    /// The object's type as declared (typedefs kept).
    pub fn type_id(&self) -> TypeId {
        self.ty
    }

    /// The address of an object in memory (`None` for computed values and bitfields).
    pub fn address(&self) -> Option<u64> {
        match self.place {
            Place::Ref {
                addr,
                bit_size: None,
                ..
            } => Some(addr),
            _ => None,
        }
    }

    /// The C spelling of the object's type (`struct task_struct *`).
    pub fn type_name(&self) -> String {
        type_name(self.prog, self.ty)
    }

    /// Size of the object's type in bytes.
    pub fn size(&self) -> Result<u64> {
        Ok(self.prog.types().size_of(self.ty)?)
    }

    fn resolved(&self) -> Result<(TypeId, Arc<Type>)> {
        Ok(self.prog.types().resolve(self.ty)?)
    }

    fn type_err(&self, op: &'static str, why: impl Into<String>) -> ProgramError {
        ProgramError::Type {
            op,
            ty: self.type_name(),
            why: why.into(),
        }
    }

    fn ref_addr(&self, op: &'static str) -> Result<u64> {
        match self.place {
            Place::Ref {
                addr,
                bit_size: None,
                ..
            } => Ok(addr),
            _ => Err(self.type_err(op, "not an object in memory")),
        }
    }

    /// Member `path` (`"se.sum_exec_runtime"`, dots for nesting). A pointer to a struct is
    /// dereferenced first, as `->` would.
    pub fn member(&self, path: &str) -> Result<Object<'p>> {
        let mut obj = *self;
        for name in path.split('.') {
            obj = obj.member1(name)?;
        }
        Ok(obj)
    }

    fn member1(&self, name: &str) -> Result<Object<'p>> {
        let (_, t) = self.resolved()?;
        // `->` follows one pointer, as C does (a corrupt pointer type may point to itself)
        let obj = if matches!(t.kind, TypeKind::Pointer { .. }) {
            self.deref()?
        } else {
            *self
        };
        let (rid, t) = obj.resolved()?;
        if !matches!(t.kind, TypeKind::Struct { .. } | TypeKind::Union { .. }) {
            return Err(obj.type_err("member access", format!("'{name}': not a struct or union")));
        }
        let m = obj.prog.types().member(rid, name)?;
        obj.field(&m)
    }

    /// The member `m` of this struct or union (one of its type's members, named or not).
    pub fn field(&self, m: &Member) -> Result<Object<'p>> {
        let base = self.ref_addr("member access")?;
        let addr = base.wrapping_add(m.bit_offset / 8);
        Ok(Object {
            prog: self.prog,
            ty: m.ty,
            place: match m.bit_size {
                Some(bits) => Place::Ref {
                    addr,
                    bit_off: (m.bit_offset % 8) as u8,
                    bit_size: Some(bits),
                },
                None => Place::Ref {
                    addr,
                    bit_off: 0,
                    bit_size: None,
                },
            },
        })
    }

    /// The width in bits of a bitfield member, `None` for anything else.
    pub fn bit_size(&self) -> Option<u32> {
        match self.place {
            Place::Ref { bit_size, .. } => bit_size,
            Place::Value(_) => None,
        }
    }

    /// `*ptr`: the object a pointer points to (element 0 of an array).
    pub fn deref(&self) -> Result<Object<'p>> {
        let (_, t) = self.resolved()?;
        match t.kind {
            TypeKind::Pointer { target } => {
                Ok(Object::reference(self.prog, target, self.read_u64()?))
            }
            TypeKind::Array { elem, .. } => {
                Ok(Object::reference(self.prog, elem, self.ref_addr("deref")?))
            }
            _ => Err(self.type_err("deref", "not a pointer")),
        }
    }

    /// `obj[i]` of an array or a pointer.
    pub fn index(&self, i: u64) -> Result<Object<'p>> {
        let (_, t) = self.resolved()?;
        let (elem, base) = match t.kind {
            TypeKind::Array { elem, .. } => (elem, self.ref_addr("index")?),
            TypeKind::Pointer { target } => (target, self.read_u64()?),
            _ => return Err(self.type_err("index", "not an array or pointer")),
        };
        let size = self.prog.types().size_of(elem)?;
        Ok(Object::reference(
            self.prog,
            elem,
            base.wrapping_add(i.wrapping_mul(size)),
        ))
    }

    /// Number of elements of an array type.
    pub fn array_len(&self) -> Result<u64> {
        match self.resolved()?.1.kind {
            TypeKind::Array { len, .. } => Ok(len),
            _ => Err(self.type_err("length", "not an array")),
        }
    }

    /// The same bits (or the same memory) seen as type `spec`.
    pub fn cast(&self, spec: &str) -> Result<Object<'p>> {
        Ok(self.cast_to(self.prog.type_(spec)?))
    }

    /// The same bits (or the same memory) seen as type `ty`.
    pub fn cast_to(&self, ty: TypeId) -> Object<'p> {
        Object {
            prog: self.prog,
            ty,
            place: self.place,
        }
    }

    /// `&obj`: a pointer value to this object.
    pub fn address_of(&self) -> Result<Object<'p>> {
        let addr = self.ref_addr("address-of")?;
        Ok(Object::value(
            self.prog,
            self.prog.types().pointer_to(self.ty),
            addr,
        ))
    }

    /// The object's bits as an unsigned integer (integers, enums, pointers, bools, bitfields).
    pub fn read_u64(&self) -> Result<u64> {
        let (raw, _) = self.read_scalar()?;
        Ok(raw)
    }

    /// The object's value as a signed integer (sign-extended by its type's signedness).
    pub fn read_i64(&self) -> Result<i64> {
        let (raw, bits) = self.read_scalar()?;
        let signed = match self.resolved()?.1.kind {
            TypeKind::Int { signed, .. } | TypeKind::Enum { signed, .. } => signed,
            _ => false,
        };
        if signed && bits < 64 && bits > 0 && raw >> (bits - 1) & 1 == 1 {
            Ok((raw | (!0u64 << bits)) as i64)
        } else {
            Ok(raw as i64)
        }
    }

    /// True for a NULL pointer or a zero integer.
    pub fn is_null(&self) -> Result<bool> {
        Ok(self.read_u64()? == 0)
    }

    /// Reads the scalar: its raw bits and its width in bits.
    fn read_scalar(&self) -> Result<(u64, u32)> {
        let (_, t) = self.resolved()?;
        let size = match t.kind {
            TypeKind::Int { size, .. } | TypeKind::Enum { size, .. } => size,
            TypeKind::Pointer { .. } => 8,
            _ => return Err(self.type_err("read value", "not a scalar")),
        };
        if !(1..=8).contains(&size) {
            return Err(self.type_err("read value", format!("{size}-byte scalar")));
        }
        match self.place {
            Place::Value(v) => Ok((v & mask(size * 8), size * 8)),
            Place::Ref {
                addr,
                bit_off,
                bit_size: None,
            } => {
                let _ = bit_off;
                let mut b = [0u8; 8];
                self.prog.read(addr, &mut b[..size as usize])?;
                Ok((u64::from_le_bytes(b), size * 8))
            }
            Place::Ref {
                addr,
                bit_off,
                bit_size: Some(bits),
            } => {
                if bits == 0 || bits > 64 || bit_off as u32 + bits > 128 {
                    return Err(
                        self.type_err("read bitfield", format!("{bits} bits at bit {bit_off}"))
                    );
                }
                let nbytes = (bit_off as usize + bits as usize).div_ceil(8);
                let mut b = [0u8; 16];
                self.prog.read(addr, &mut b[..nbytes])?;
                let v = u128::from_le_bytes(b) >> bit_off;
                Ok(((v as u64) & mask(bits), bits))
            }
        }
    }

    /// The object's bytes (a struct, an array, ...).
    pub fn read_bytes(&self) -> Result<Vec<u8>> {
        let addr = self.ref_addr("read bytes")?;
        let size = self.size()?;
        if size > 1 << 24 {
            return Err(self.type_err("read bytes", format!("{size} bytes is too large")));
        }
        let mut v = vec![0u8; size as usize];
        self.prog.read(addr, &mut v)?;
        Ok(v)
    }

    /// A C string: a `char[]` up to its NUL (within the array), or what a `char *` points to
    /// (at most `max` bytes).
    pub fn read_string(&self, max: usize) -> Result<String> {
        let (_, t) = self.resolved()?;
        match t.kind {
            TypeKind::Array { len, .. } => {
                let addr = self.ref_addr("read string")?;
                let n = (len as usize).min(max);
                let mut v = vec![0u8; n];
                self.prog.read(addr, &mut v)?;
                let end = v.iter().position(|&c| c == 0).unwrap_or(n);
                Ok(String::from_utf8_lossy(&v[..end]).into_owned())
            }
            TypeKind::Pointer { .. } => Ok(ReadVirt::read_cstr(self.prog, self.read_u64()?, max)?),
            _ => Err(self.type_err("read string", "not a char array or pointer")),
        }
    }

    /// The struct of type `spec` that contains this object as member `member` (`container_of`).
    /// `self` is either a pointer to the member or the member itself in memory.
    pub fn container_of(&self, spec: &str, member: &str) -> Result<Object<'p>> {
        let addr = match self.resolved()?.1.kind {
            TypeKind::Pointer { .. } => self.read_u64()?,
            _ => self.ref_addr("container_of")?,
        };
        container_of(self.prog, addr, spec, member)
    }
}

/// The object of type `spec` whose member `member` is at `member_addr`.
pub fn container_of<'p>(
    prog: &'p Program,
    member_addr: u64,
    spec: &str,
    member: &str,
) -> Result<Object<'p>> {
    let ty = prog.type_(spec)?;
    let off = offset_of(prog, ty, member)?;
    Ok(Object::reference(prog, ty, member_addr.wrapping_sub(off)))
}

/// Byte offset of a (dotted) member path within a struct type.
pub fn offset_of(prog: &Program, ty: TypeId, path: &str) -> Result<u64> {
    let mut cur = ty;
    let mut off = 0u64;
    for name in path.split('.') {
        let (rid, _) = prog.types().resolve(cur)?;
        let m = prog.types().member(rid, name)?;
        off = off.wrapping_add(m.bit_offset / 8);
        cur = m.ty;
    }
    Ok(off)
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        !0
    } else {
        (1u64 << bits) - 1
    }
}

/// The C spelling of a type (`struct task_struct *`, `char [16]`).
pub fn type_name(prog: &Program, ty: TypeId) -> String {
    let mut suffix = String::new();
    let mut cur = ty;
    for _ in 0..32 {
        let Ok(t) = prog.types().get(cur) else {
            return format!("<bad type>{suffix}");
        };
        let name = t.name.as_deref().unwrap_or("");
        match &t.kind {
            TypeKind::Pointer { target } => {
                suffix.insert(0, '*');
                cur = *target;
            }
            TypeKind::Array { elem, len } => {
                suffix.push_str(&format!("[{len}]"));
                cur = *elem;
            }
            TypeKind::Qualified { target, qual } => {
                let q = format!("{qual:?}").to_lowercase();
                return format!("{q} {}", type_name(prog, *target)) + &spaced(&suffix);
            }
            TypeKind::Struct { .. } => {
                return format!("struct {}{}", or_anon(name), spaced(&suffix))
            }
            TypeKind::Union { .. } => return format!("union {}{}", or_anon(name), spaced(&suffix)),
            TypeKind::Enum { .. } => return format!("enum {}{}", or_anon(name), spaced(&suffix)),
            TypeKind::Fwd { union } => {
                return format!(
                    "{} {}{}",
                    if *union { "union" } else { "struct" },
                    name,
                    spaced(&suffix)
                )
            }
            TypeKind::Function { .. } => return format!("function{}", spaced(&suffix)),
            _ => {
                return format!(
                    "{}{}",
                    if name.is_empty() { "void" } else { name },
                    spaced(&suffix)
                )
            }
        }
    }
    "<type loop>".into()
}

fn or_anon(name: &str) -> &str {
    if name.is_empty() {
        "<anonymous>"
    } else {
        name
    }
}

fn spaced(suffix: &str) -> String {
    if suffix.is_empty() {
        String::new()
    } else {
        format!(" {suffix}")
    }
}
