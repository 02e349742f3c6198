//! Scalar members looked up once and read from many objects of one struct type, each object's
//! members with a single memory read: a walk over 100,000 tasks resolves `pid` by name once,
//! not once per task, and reads each task's fields in one span instead of one read per field.

use kdive_debuginfo::TypeKind;

use crate::object::Object;
use crate::{Program, ProgramError, Result};

/// A scalar member at a fixed place in its struct: where it starts, how wide, and whether it
/// is signed. Integers, enums, pointers, and counters wrapped in `{ counter }` / `{ refs }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scalar {
    /// Byte offset from the start of the struct.
    pub offset: u64,
    /// Width in bytes (1 to 8).
    pub size: u8,
    pub signed: bool,
}

impl Scalar {
    /// The scalar member `path` (dotted, within embedded structs; arrays by [`Object::index`]
    /// on the template) of struct type `spec`.
    pub fn of(prog: &Program, spec: &str, path: &str) -> Result<Scalar> {
        Scalar::at(&prog.object(spec, 0)?.member(path)?)
    }

    /// The scalar `template` is: a member of an object placed at address 0 (its address is
    /// its offset). Counter wrappers (`atomic_t`, `refcount_t`) are looked through.
    pub fn at(template: &Object<'_>) -> Result<Scalar> {
        let prog = template.prog();
        let mut o = *template;
        for _ in 0..4 {
            let (_, t) = prog.types().resolve(o.type_id())?;
            let (size, signed) = match t.kind {
                TypeKind::Int { size, signed, .. } | TypeKind::Enum { size, signed, .. } => {
                    (size, signed)
                }
                TypeKind::Pointer { .. } => (8, false),
                TypeKind::Struct { .. } => {
                    o = o.member("counter").or_else(|_| o.member("refs"))?;
                    continue;
                }
                _ => break,
            };
            let offset = o
                .address()
                .ok_or_else(|| not_scalar(template, "a bitfield"))?;
            if !(1..=8).contains(&size) {
                return Err(not_scalar(template, &format!("{size} bytes wide")));
            }
            return Ok(Scalar {
                offset,
                size: size as u8,
                signed,
            });
        }
        Err(not_scalar(template, "not an integer, enum or pointer"))
    }

    /// This scalar `delta` bytes further (the next element of an array of them).
    pub fn shifted(self, delta: u64) -> Scalar {
        Scalar {
            offset: self.offset.wrapping_add(delta),
            ..self
        }
    }
}

fn not_scalar(o: &Object<'_>, why: &str) -> ProgramError {
    ProgramError::Type {
        op: "read value",
        ty: o.type_name(),
        why: format!("not a plain scalar member ({why})"),
    }
}

/// The bytes of an object from its lowest to its highest scalar of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u64,
    end: u64,
}

impl Span {
    /// The span covering `scalars` (and the `extra` byte ranges, offset and length, such as a
    /// `comm` array).
    pub fn covering<'a>(
        scalars: impl IntoIterator<Item = &'a Scalar>,
        extra: &[(u64, u64)],
    ) -> Span {
        let ranges = scalars
            .into_iter()
            .map(|s| (s.offset, u64::from(s.size)))
            .chain(extra.iter().copied());
        let (mut start, mut end) = (u64::MAX, 0);
        for (off, len) in ranges {
            start = start.min(off);
            end = end.max(off.saturating_add(len));
        }
        Span {
            start: start.min(end),
            end,
        }
    }

    /// Reads the span of the object at `addr`: as much of it as memory holds (a span that
    /// stops early still answers for the scalars before the stop).
    pub fn read(&self, prog: &Program, addr: u64) -> SpanBytes {
        let mut bytes = vec![0u8; (self.end - self.start) as usize];
        let r = prog.read_partial(addr.wrapping_add(self.start), &mut bytes);
        bytes.truncate(r.read);
        SpanBytes {
            addr,
            start: self.start,
            bytes,
            error: r.error.map(|e| e.to_string()),
        }
    }
}

/// One object's span, read.
#[derive(Debug, Clone)]
pub struct SpanBytes {
    addr: u64,
    start: u64,
    bytes: Vec<u8>,
    /// Why the read stopped early.
    error: Option<String>,
}

impl SpanBytes {
    /// `len` bytes at `offset` of the object, if the span holds them.
    pub fn bytes(&self, offset: u64, len: u64) -> Result<&[u8]> {
        let at = offset.checked_sub(self.start);
        at.and_then(|a| {
            let a = usize::try_from(a).ok()?;
            self.bytes
                .get(a..a.checked_add(usize::try_from(len).ok()?)?)
        })
        .ok_or_else(|| ProgramError::Walk {
            what: format!("{len} bytes at {:#x}", self.addr.wrapping_add(offset)),
            why: self
                .error
                .clone()
                .unwrap_or_else(|| "outside the span read".into()),
        })
    }

    /// The scalar's raw bits, zero-extended.
    pub fn u64(&self, s: &Scalar) -> Result<u64> {
        let b = self.bytes(s.offset, u64::from(s.size))?;
        let mut w = [0u8; 8];
        w[..b.len()].copy_from_slice(b);
        Ok(u64::from_le_bytes(w))
    }

    /// The scalar's value, sign-extended when its type is signed.
    pub fn i64(&self, s: &Scalar) -> Result<i64> {
        let raw = self.u64(s)?;
        let bits = u32::from(s.size) * 8;
        Ok(if s.signed && bits < 64 && raw >> (bits - 1) & 1 == 1 {
            (raw | (!0u64 << bits)) as i64
        } else {
            raw as i64
        })
    }
}

impl Scalar {
    /// Reads this scalar of the object at `base` on its own (raw bits, zero-extended).
    pub fn read_u64(&self, prog: &Program, base: u64) -> Result<u64> {
        let mut w = [0u8; 8];
        prog.read(
            base.wrapping_add(self.offset),
            &mut w[..usize::from(self.size)],
        )?;
        Ok(u64::from_le_bytes(w))
    }
}
