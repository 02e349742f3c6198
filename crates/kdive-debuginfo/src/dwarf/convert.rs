//! One DWARF type DIE into the shared [`Type`] model.
//!
//! How tags map onto [`TypeKind`]:
//! - `base_type` → `Int` (`DW_ATE_boolean` is a bool, `*_char` a char) or `Float`;
//! - `pointer_type`/`reference_type` → `Pointer` (no `DW_AT_type`: to `void`);
//! - `structure_type`/`class_type`/`union_type` → `Struct`/`Union`, members at bit offsets from
//!   `DW_AT_data_member_location` (a constant or `DW_OP_plus_uconst`), `DW_AT_data_bit_offset`,
//!   or the older `DW_AT_bit_offset` counted from the storage unit's most significant bit; a
//!   declaration → `Fwd` (the caller looks for the definition by name);
//! - `enumeration_type` → `Enum`, signed when its underlying type is (values as raw bits in `i64`);
//! - `typedef` → `Typedef`; `const_type`/`volatile_type`/`restrict_type` → `Qualified`;
//!   `atomic_type` and `unspecified_type` → an unnamed `Typedef` of their target / `Void`;
//! - `array_type` → `Array`, one per `subrange_type` (`DW_AT_count`, or `DW_AT_upper_bound` minus
//!   `DW_AT_lower_bound` plus one; neither: a flexible array of length 0); the inner dimensions of
//!   `T a[2][3]` are the types of the later subrange DIEs;
//! - `subroutine_type` → unnamed `Function`, `subprogram` → `Function` named after the function
//!   (parameters from `formal_parameter`, `unspecified_parameters` makes it variadic; an
//!   out-of-line copy or a definition takes what it lacks from `DW_AT_abstract_origin` or
//!   `DW_AT_specification`);
//! - `variable` → `Typedef` named after the variable, targeting its type (as BTF's `VAR`).

use std::sync::Arc;

use gimli::{constants as dw, AttributeValue, UnitOffset};

use super::error;
use super::index::UnitList;
use super::reader::{at, Dw, Slice, UnitCtx};
use crate::{DebugInfoError, Member, NameKind, Qualifier, Result, Type, TypeId, TypeKind};

/// Links followed from a definition to the declaration or abstract DIE it completes.
const MAX_ORIGIN_CHAIN: usize = 4;
/// Typedefs and qualifiers followed to find a bitfield's storage size.
const MAX_SIZE_CHAIN: usize = 16;
/// Most dimensions of one array type.
const MAX_DIMENSIONS: usize = 64;

type Die<'abbrev, 'unit, 'a> = gimli::DebuggingInformationEntry<'abbrev, 'unit, Slice<'a>>;

/// A converted DIE: its type, the types of the inner dimensions of an array (by the offsets of
/// their subrange DIEs), and for a declaration, the name to look a definition up by.
pub(crate) struct Converted {
    pub ty: Type,
    pub inner: Vec<(u32, Type)>,
    pub declaration_of: Option<(NameKind, Arc<str>)>,
}

/// Reads DIEs of one unit into types tagged with provider number `src`.
pub(crate) struct Converter<'c, 'a> {
    pub dw: &'c Dw<'a>,
    pub unit: &'c UnitCtx<'a>,
    pub src: u16,
    /// The units of the file.
    pub units: &'c UnitList,
}

fn malformed(off: usize, detail: impl Into<String>) -> DebugInfoError {
    DebugInfoError::Malformed {
        what: "DWARF type",
        offset: off as u64,
        detail: detail.into(),
    }
}

impl<'c, 'a> Converter<'c, 'a> {
    fn fail(&self, off: usize) -> impl Fn(gimli::Error) -> DebugInfoError {
        move |e| at(error("DWARF type", e), off)
    }

    /// The DIE at section offset `off`, which must lie in this unit.
    fn die(&self, off: usize) -> Result<Die<'c, 'c, 'a>> {
        let rel = off
            .checked_sub(self.unit.start)
            .filter(|_| off < self.unit.end())
            .ok_or_else(|| malformed(off, "not in the unit expected"))?;
        self.unit
            .header
            .entry(&self.unit.abbrevs.abbrevs, UnitOffset(rel))
            .map_err(self.fail(off))
    }

    /// The DIE at `off`, in this unit or another.
    fn with_die<T>(
        &self,
        off: usize,
        f: impl FnOnce(&Converter<'_, 'a>, &Die<'_, '_, 'a>) -> Result<T>,
    ) -> Result<T> {
        if off >= self.unit.start && off < self.unit.end() {
            let d = self.die(off)?;
            return f(self, &d);
        }
        let start = self.units.containing(self.dw, off)?;
        let abbrevs = Arc::new(self.dw.unit_abbrevs(start)?);
        let unit = self.dw.unit(start, abbrevs)?;
        let other = Converter {
            dw: self.dw,
            unit: &unit,
            src: self.src,
            units: self.units,
        };
        let d = other.die(off)?;
        f(&other, &d)
    }

    fn attr(
        &self,
        d: &Die<'_, '_, 'a>,
        at: gimli::DwAt,
    ) -> Result<Option<AttributeValue<Slice<'a>>>> {
        d.attr_value(at)
            .map_err(self.fail(d.offset().0 + self.unit.start))
    }

    fn udata(&self, d: &Die<'_, '_, 'a>, at: gimli::DwAt) -> Result<Option<u64>> {
        Ok(self.attr(d, at)?.and_then(|v| v.udata_value()))
    }

    fn name(&self, d: &Die<'_, '_, 'a>) -> Result<Option<Arc<str>>> {
        Ok(self
            .attr(d, dw::DW_AT_name)?
            .and_then(|v| self.dw.string_owned(self.unit, v)))
    }

    fn flag(&self, d: &Die<'_, '_, 'a>, at: gimli::DwAt) -> Result<bool> {
        Ok(matches!(
            self.attr(d, at)?,
            Some(AttributeValue::Flag(true))
        ))
    }

    /// The type an attribute refers to (`void` without one).
    fn type_ref(&self, d: &Die<'_, '_, 'a>, at: gimli::DwAt) -> Result<TypeId> {
        match self.attr(d, at)? {
            None => Ok(TypeId::VOID),
            Some(v) => {
                let off = self
                    .unit
                    .reference(&v)
                    .ok_or_else(|| malformed(self.off(d), format!("{at}: not a reference")))?;
                self.id(off)
            }
        }
    }

    /// The type id of the DIE at section offset `off`.
    pub(crate) fn id(&self, off: usize) -> Result<TypeId> {
        let idx = u32::try_from(off)
            .map_err(|_| malformed(off, "DIE beyond the first 4 GiB of .debug_info"))?;
        Ok(TypeId { src: self.src, idx })
    }

    fn off(&self, d: &Die<'_, '_, 'a>) -> usize {
        self.unit.start + d.offset().0
    }

    /// The DIE `d` completes (`DW_AT_abstract_origin`, `DW_AT_specification`), if any.
    fn origin(&self, d: &Die<'_, '_, 'a>) -> Result<Option<usize>> {
        for at in [dw::DW_AT_abstract_origin, dw::DW_AT_specification] {
            if let Some(v) = self.attr(d, at)? {
                return Ok(self.unit.reference(&v));
            }
        }
        Ok(None)
    }

    /// An attribute of `d`, or of the DIEs it completes.
    fn inherited(
        &self,
        d: &Die<'_, '_, 'a>,
        at: gimli::DwAt,
    ) -> Result<Option<(usize, AttributeValue<Slice<'a>>)>> {
        if let Some(v) = self.attr(d, at)? {
            return Ok(Some((self.unit.start, v)));
        }
        let mut next = self.origin(d)?;
        for _ in 0..MAX_ORIGIN_CHAIN {
            let Some(o) = next else { break };
            if o < self.unit.start || o >= self.unit.end() {
                break; // across units: rare in C, not followed
            }
            let od = self.die(o)?;
            if let Some(v) = self.attr(&od, at)? {
                return Ok(Some((self.unit.start, v)));
            }
            next = self.origin(&od)?;
        }
        Ok(None)
    }

    /// Converts the DIE at section offset `off`.
    pub(crate) fn convert(&self, off: usize) -> Result<Converted> {
        let d = self.die(off)?;
        let mut out = Converted {
            ty: Type {
                name: None,
                kind: TypeKind::Void,
            },
            inner: Vec::new(),
            declaration_of: None,
        };
        let name = self.name(&d)?;
        let target = |at| self.type_ref(&d, at);
        let kind = match d.tag() {
            dw::DW_TAG_base_type => self.base(&d)?,
            dw::DW_TAG_pointer_type
            | dw::DW_TAG_reference_type
            | dw::DW_TAG_rvalue_reference_type => TypeKind::Pointer {
                target: target(dw::DW_AT_type)?,
            },
            dw::DW_TAG_structure_type | dw::DW_TAG_class_type | dw::DW_TAG_union_type => {
                let union = d.tag() == dw::DW_TAG_union_type;
                if self.flag(&d, dw::DW_AT_declaration)? {
                    let k = if union {
                        NameKind::Union
                    } else {
                        NameKind::Struct
                    };
                    out.declaration_of = name.clone().map(|n| (k, n));
                    TypeKind::Fwd { union }
                } else {
                    let size = self.udata(&d, dw::DW_AT_byte_size)?.unwrap_or(0);
                    let members = self.members(off)?;
                    if union {
                        TypeKind::Union { size, members }
                    } else {
                        TypeKind::Struct { size, members }
                    }
                }
            }
            dw::DW_TAG_enumeration_type => {
                if self.flag(&d, dw::DW_AT_declaration)? {
                    out.declaration_of = name.clone().map(|n| (NameKind::Enum, n));
                    TypeKind::Fwd { union: false }
                } else {
                    self.enumeration(&d, off)?
                }
            }
            dw::DW_TAG_typedef => TypeKind::Typedef {
                target: target(dw::DW_AT_type)?,
            },
            dw::DW_TAG_const_type => TypeKind::Qualified {
                qual: Qualifier::Const,
                target: target(dw::DW_AT_type)?,
            },
            dw::DW_TAG_volatile_type => TypeKind::Qualified {
                qual: Qualifier::Volatile,
                target: target(dw::DW_AT_type)?,
            },
            dw::DW_TAG_restrict_type => TypeKind::Qualified {
                qual: Qualifier::Restrict,
                target: target(dw::DW_AT_type)?,
            },
            dw::DW_TAG_atomic_type | dw::DW_TAG_immutable_type | dw::DW_TAG_packed_type => {
                out.ty.kind = TypeKind::Typedef {
                    target: target(dw::DW_AT_type)?,
                };
                return Ok(out);
            }
            dw::DW_TAG_unspecified_type => TypeKind::Void,
            dw::DW_TAG_array_type => {
                let (kind, inner) = self.array(&d, off)?;
                out.inner = inner;
                kind
            }
            dw::DW_TAG_subroutine_type | dw::DW_TAG_subprogram => self.function(&d, off)?,
            dw::DW_TAG_variable => {
                let ty = match self.inherited(&d, dw::DW_AT_type)? {
                    Some((_, v)) => {
                        let o = self
                            .unit
                            .reference(&v)
                            .ok_or_else(|| malformed(off, "variable type: not a reference"))?;
                        self.id(o)?
                    }
                    None => TypeId::VOID,
                };
                TypeKind::Typedef { target: ty }
            }
            t => return Err(malformed(off, format!("{t} is not a type"))),
        };
        let name = match (name, d.tag()) {
            (None, dw::DW_TAG_subprogram | dw::DW_TAG_variable) => {
                match self.inherited(&d, dw::DW_AT_name)? {
                    Some((_, v)) => self.dw.string_owned(self.unit, v),
                    None => None,
                }
            }
            (n, _) => n,
        };
        out.ty = Type { name, kind };
        Ok(out)
    }

    fn base(&self, d: &Die<'_, '_, 'a>) -> Result<TypeKind> {
        let size = self.udata(d, dw::DW_AT_byte_size)?.unwrap_or(0);
        let size = u32::try_from(size).map_err(|_| malformed(self.off(d), "base type size"))?;
        let enc = match self.attr(d, dw::DW_AT_encoding)? {
            Some(AttributeValue::Encoding(e)) => e,
            _ => dw::DW_ATE_signed,
        };
        Ok(match enc {
            dw::DW_ATE_float | dw::DW_ATE_complex_float | dw::DW_ATE_decimal_float => {
                TypeKind::Float { size }
            }
            e => TypeKind::Int {
                size,
                signed: matches!(e, dw::DW_ATE_signed | dw::DW_ATE_signed_char),
                is_bool: e == dw::DW_ATE_boolean,
                is_char: matches!(e, dw::DW_ATE_signed_char | dw::DW_ATE_unsigned_char),
            },
        })
    }

    /// Members of the struct/union at `off`.
    fn members(&self, off: usize) -> Result<Vec<Member>> {
        let mut out = Vec::new();
        self.children(off, |m| {
            if m.tag() != dw::DW_TAG_member {
                return Ok(());
            }
            let byte = match self.attr(m, dw::DW_AT_data_member_location)? {
                None => 0,
                Some(v) => member_location(&v, self.unit.header.encoding())
                    .ok_or_else(|| malformed(self.off(m), "member location is not a constant"))?,
            };
            let ty = self.type_ref(m, dw::DW_AT_type)?;
            let bit_size = self
                .udata(m, dw::DW_AT_bit_size)?
                .map(|s| u32::try_from(s).map_err(|_| malformed(self.off(m), "bit size")))
                .transpose()?;
            let bit_offset = if let Some(b) = self.udata(m, dw::DW_AT_data_bit_offset)? {
                b
            } else if let (Some(old), Some(width)) =
                (self.udata(m, dw::DW_AT_bit_offset)?, bit_size)
            {
                // counted from the most significant bit of the storage unit
                let storage = match self.udata(m, dw::DW_AT_byte_size)? {
                    Some(s) => s,
                    None => self.storage_size(m)?,
                };
                let from_msb = old.saturating_add(u64::from(width));
                let within = if self.big_endian() {
                    old
                } else {
                    storage
                        .saturating_mul(8)
                        .checked_sub(from_msb)
                        .ok_or_else(|| malformed(self.off(m), "bit offset past its storage unit"))?
                };
                byte.saturating_mul(8).saturating_add(within)
            } else {
                byte.saturating_mul(8)
            };
            out.push(Member {
                name: self.name(m)?,
                ty,
                bit_offset,
                bit_size,
            });
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f` with each child of the DIE at `off` (in this unit).
    fn children(
        &self,
        off: usize,
        mut f: impl FnMut(&Die<'_, '_, 'a>) -> Result<()>,
    ) -> Result<()> {
        let rel = off
            .checked_sub(self.unit.start)
            .ok_or_else(|| malformed(off, "not in the unit expected"))?;
        let mut tree = self
            .unit
            .header
            .entries_tree(&self.unit.abbrevs.abbrevs, Some(UnitOffset(rel)))
            .map_err(self.fail(off))?;
        let root = tree.root().map_err(self.fail(off))?;
        let mut children = root.children();
        while let Some(child) = children.next().map_err(self.fail(off))? {
            f(child.entry())?;
        }
        Ok(())
    }

    fn big_endian(&self) -> bool {
        self.dw.big_endian()
    }

    /// The byte size of a member's type, through typedefs and qualifiers.
    fn storage_size(&self, m: &Die<'_, '_, 'a>) -> Result<u64> {
        let mut next = self
            .attr(m, dw::DW_AT_type)?
            .and_then(|v| self.unit.reference(&v));
        for _ in 0..MAX_SIZE_CHAIN {
            let Some(o) = next else { break };
            let found = self.with_die(o, |c, d| {
                Ok(match c.udata(d, dw::DW_AT_byte_size)? {
                    Some(s) => Ok(s),
                    None => Err(c
                        .attr(d, dw::DW_AT_type)?
                        .and_then(|v| c.unit.reference(&v))),
                })
            })?;
            match found {
                Ok(s) => return Ok(s),
                Err(n) => next = n,
            }
        }
        Err(malformed(self.off(m), "bitfield storage of unknown size"))
    }

    fn enumeration(&self, d: &Die<'_, '_, 'a>, off: usize) -> Result<TypeKind> {
        let size = self.udata(d, dw::DW_AT_byte_size)?.unwrap_or(4);
        let size = u32::try_from(size).map_err(|_| malformed(off, "enum size"))?;
        let under = self
            .attr(d, dw::DW_AT_type)?
            .and_then(|v| self.unit.reference(&v));
        let mut signed = match under {
            Some(u) => self.with_die(u, |c, ud| {
                Ok(matches!(
                    c.attr(ud, dw::DW_AT_encoding)?,
                    Some(AttributeValue::Encoding(
                        dw::DW_ATE_signed | dw::DW_ATE_signed_char
                    ))
                ))
            })?,
            None => false,
        };
        let mut values = Vec::new();
        self.children(off, |e| {
            if e.tag() != dw::DW_TAG_enumerator {
                return Ok(());
            }
            let v = match self.attr(e, dw::DW_AT_const_value)? {
                Some(AttributeValue::Sdata(v)) => {
                    signed |= v < 0 && under.is_none();
                    v
                }
                Some(AttributeValue::Udata(v)) => v as i64,
                Some(AttributeValue::Data1(v)) => widen(u64::from(v), 1, signed),
                Some(AttributeValue::Data2(v)) => widen(u64::from(v), 2, signed),
                Some(AttributeValue::Data4(v)) => widen(u64::from(v), 4, signed),
                Some(AttributeValue::Data8(v)) => v as i64,
                _ => {
                    return Err(malformed(
                        self.off(e),
                        "enumerator without a constant value",
                    ))
                }
            };
            values.push((self.name(e)?.unwrap_or_else(|| "".into()), v));
            Ok(())
        })?;
        Ok(TypeKind::Enum {
            size,
            signed,
            values,
        })
    }

    /// An array and the types of its inner dimensions.
    fn array(&self, d: &Die<'_, '_, 'a>, off: usize) -> Result<(TypeKind, Vec<(u32, Type)>)> {
        let elem = self.type_ref(d, dw::DW_AT_type)?;
        let mut dims = Vec::new();
        self.children(off, |s| {
            if !matches!(
                s.tag(),
                dw::DW_TAG_subrange_type | dw::DW_TAG_enumeration_type
            ) {
                return Ok(());
            }
            if dims.len() >= MAX_DIMENSIONS {
                return Err(malformed(
                    off,
                    format!("more than {MAX_DIMENSIONS} dimensions"),
                ));
            }
            let len = if let Some(c) = self.udata(s, dw::DW_AT_count)? {
                c
            } else if let Some(u) = self.attr(s, dw::DW_AT_upper_bound)? {
                let lower = self.udata(s, dw::DW_AT_lower_bound)?.unwrap_or(0);
                match u {
                    // -1 (or below the lower bound) for `[0]` in some producers
                    AttributeValue::Sdata(v) => u64::try_from(v)
                        .ok()
                        .and_then(|v| v.checked_sub(lower))
                        .map_or(0, |n| n.saturating_add(1)),
                    // `DW_FORM_dataN` is unsigned here: 255 in one byte is `[256]`
                    u => u
                        .udata_value()
                        .and_then(|v| v.checked_sub(lower))
                        .map_or(0, |n| n.saturating_add(1)),
                }
            } else {
                0 // a flexible array
            };
            dims.push((self.off(s), len));
            Ok(())
        })?;
        if dims.is_empty() {
            return Ok((TypeKind::Array { elem, len: 0 }, Vec::new()));
        }
        // innermost first: each dimension's element is the next one's array
        let mut inner = Vec::new();
        let mut el = elem;
        for &(soff, len) in dims[1..].iter().rev() {
            inner.push((
                self.id(soff)?.idx,
                Type {
                    name: None,
                    kind: TypeKind::Array { elem: el, len },
                },
            ));
            el = self.id(soff)?;
        }
        Ok((
            TypeKind::Array {
                elem: el,
                len: dims[0].1,
            },
            inner,
        ))
    }

    fn function(&self, d: &Die<'_, '_, 'a>, off: usize) -> Result<TypeKind> {
        let ret = match self.inherited(d, dw::DW_AT_type)? {
            Some((_, v)) => self.id(self
                .unit
                .reference(&v)
                .ok_or_else(|| malformed(off, "return type: not a reference"))?)?,
            None => TypeId::VOID,
        };
        // parameters: from this DIE, or from the one it completes
        let mut at = off;
        for _ in 0..MAX_ORIGIN_CHAIN {
            let (params, variadic, any) = self.parameters(at)?;
            if any {
                return Ok(TypeKind::Function {
                    ret,
                    params,
                    variadic,
                });
            }
            let od = self.die(at)?;
            match self.origin(&od)? {
                Some(o) if o >= self.unit.start && o < self.unit.end() && o != at => at = o,
                _ => break,
            }
        }
        let prototyped = self.flag(d, dw::DW_AT_prototyped)?;
        Ok(TypeKind::Function {
            ret,
            params: Vec::new(),
            variadic: !prototyped,
        })
    }

    /// The parameters of the subprogram or subroutine type at `off`: (params, variadic, whether
    /// it lists any at all).
    #[allow(clippy::type_complexity)]
    fn parameters(&self, off: usize) -> Result<(Vec<(Option<Arc<str>>, TypeId)>, bool, bool)> {
        let (mut params, mut variadic, mut any) = (Vec::new(), false, false);
        self.children(off, |p| {
            match p.tag() {
                dw::DW_TAG_formal_parameter => {
                    any = true;
                    let ty = match self.inherited(p, dw::DW_AT_type)? {
                        Some((_, v)) => self
                            .id(self.unit.reference(&v).ok_or_else(|| {
                                malformed(off, "parameter type: not a reference")
                            })?)?,
                        None => TypeId::VOID,
                    };
                    let name = match self.inherited(p, dw::DW_AT_name)? {
                        Some((_, v)) => self.dw.string_owned(self.unit, v),
                        None => None,
                    };
                    params.push((name, ty));
                }
                dw::DW_TAG_unspecified_parameters => {
                    any = true;
                    variadic = true;
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok((params, variadic, any))
    }
}

/// Sign-extends the `bytes`-byte value `v` when `signed`.
fn widen(v: u64, bytes: u32, signed: bool) -> i64 {
    let shift = 64 - 8 * bytes;
    if signed {
        ((v << shift) as i64) >> shift
    } else {
        v as i64
    }
}

/// A member's byte offset: a constant, or an expression of one `DW_OP_plus_uconst`/`DW_OP_constu`.
fn member_location(v: &AttributeValue<Slice<'_>>, encoding: gimli::Encoding) -> Option<u64> {
    if let Some(c) = v.udata_value() {
        return Some(c);
    }
    let AttributeValue::Exprloc(e) = v else {
        return None;
    };
    let mut r = e.0.clone();
    match gimli::Operation::parse(&mut r, encoding).ok()? {
        gimli::Operation::PlusConstant { value } => Some(value),
        gimli::Operation::UnsignedConstant { value } => Some(value),
        _ => None,
    }
}
