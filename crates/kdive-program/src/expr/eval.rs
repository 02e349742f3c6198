//! Evaluating a parsed expression against the dump: typed objects where the types are known,
//! plain integers for literals and arithmetic.

use kdive_debuginfo::{NameKind, TypeId, TypeKind};

use super::parse::{BinOp, Expr, TypeName, UnOp};
use crate::{Object, Program, ProgramError, Result};

/// The value of an expression.
#[derive(Debug, Clone)]
pub enum Value<'p> {
    /// A typed object: in memory (a variable, a member, `*p`) or computed (`&x`, a cast).
    Object(Object<'p>),
    /// An integer without a kernel type (a literal, arithmetic, `sizeof`), 64 bits wide.
    Int { value: u64, signed: bool },
    /// A string literal's bytes.
    Bytes(Vec<u8>),
    /// A symbol no source types (gdb's "no debug info" symbol): a function's, or a variable's
    /// that only a cast can read (`(unsigned long)jiffies`).
    NoDebug(NoDebug),
}

/// A symbol without a type, as gdb keeps a minimal symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoDebug {
    pub name: String,
    pub address: u64,
    /// A text (function) symbol; else data.
    pub text: bool,
}

impl NoDebug {
    /// gdb's name of the symbol's type: `<text variable, no debug info>` or `<data variable,
    /// no debug info>`.
    pub fn type_name(&self) -> String {
        let kind = if self.text { "text" } else { "data" };
        format!("<{kind} variable, no debug info>")
    }

    fn unknown_type(&self) -> ProgramError {
        ProgramError::NoType(self.name.clone())
    }
}

/// A scalar read out of a value: its bits, signedness, and the pointed-to type of a pointer
/// (arrays and functions decay to pointers, as in C).
struct Scalar {
    bits: u64,
    signed: bool,
    target: Option<TypeId>,
}

fn type_error(op: &'static str, ty: impl Into<String>, why: impl Into<String>) -> ProgramError {
    ProgramError::Type {
        op,
        ty: ty.into(),
        why: why.into(),
    }
}

impl<'p> Value<'p> {
    fn int(value: u64, signed: bool) -> Value<'p> {
        Value::Int { value, signed }
    }

    fn describe(&self) -> String {
        match self {
            Value::Object(o) => o.type_name(),
            Value::Int { signed: true, .. } => "long".into(),
            Value::Int { signed: false, .. } => "unsigned long".into(),
            Value::Bytes(b) => format!("char [{}]", b.len() + 1),
            Value::NoDebug(n) => n.type_name(),
        }
    }

    /// The value as a 64-bit integer: an integer's bits (sign-extended), a pointer's address,
    /// an array's or function's address.
    pub fn to_u64(&self) -> Result<u64> {
        Ok(self.scalar("integer value")?.bits)
    }

    fn scalar(&self, op: &'static str) -> Result<Scalar> {
        let o = match self {
            Value::Int { value, signed } => {
                return Ok(Scalar {
                    bits: *value,
                    signed: *signed,
                    target: None,
                })
            }
            Value::Bytes(_) => return Err(type_error(op, self.describe(), "a string literal")),
            // a function is its address; a variable's value is unknown
            Value::NoDebug(n) if n.text => {
                return Ok(Scalar {
                    bits: n.address,
                    signed: false,
                    target: None,
                })
            }
            Value::NoDebug(n) => return Err(n.unknown_type()),
            Value::Object(o) => o,
        };
        let prog = o.prog();
        let (rid, t) = prog.types().resolve(o.type_id())?;
        match &t.kind {
            TypeKind::Int { signed, .. } | TypeKind::Enum { signed, .. } => Ok(Scalar {
                bits: if *signed {
                    o.read_i64()? as u64
                } else {
                    o.read_u64()?
                },
                signed: *signed,
                target: None,
            }),
            TypeKind::Pointer { target } => Ok(Scalar {
                bits: o.read_u64()?,
                signed: false,
                target: Some(*target),
            }),
            TypeKind::Array { elem, .. } => Ok(Scalar {
                bits: o
                    .address()
                    .ok_or_else(|| type_error(op, o.type_name(), "an array not in memory"))?,
                signed: false,
                target: Some(*elem),
            }),
            TypeKind::Function { .. } => Ok(Scalar {
                bits: o.address().ok_or_else(|| {
                    type_error(op, o.type_name(), "a function without an address")
                })?,
                signed: false,
                target: Some(rid),
            }),
            _ => Err(type_error(op, o.type_name(), "not a scalar")),
        }
    }

    fn object(&self, op: &'static str) -> Result<Object<'p>> {
        match self {
            Value::Object(o) => Ok(*o),
            Value::NoDebug(n) => Err(n.unknown_type()),
            _ => Err(type_error(op, self.describe(), "not an object in memory")),
        }
    }
}

/// The type a [`TypeName`] names: `struct X`, a typedef, or a C base type however it is spelt
/// (`unsigned long` is the compilers' `long unsigned int`), with its `*`s.
pub fn resolve_type(prog: &Program, t: &TypeName) -> Result<TypeId> {
    let types = prog.types();
    let mut id = match types.lookup(&t.base) {
        Ok(id) => id,
        Err(e) => match base_type_name(&t.base) {
            Some(canon) => types
                .find(NameKind::Base, &canon)
                .ok_or(ProgramError::DebugInfo(e))?,
            None => return Err(e.into()),
        },
    };
    for _ in 0..t.stars {
        id = types.pointer_to(id);
    }
    if let Some(d) = &t.function {
        let params = d
            .params
            .iter()
            .map(|p| resolve_type(prog, p))
            .collect::<Result<Vec<_>>>()?;
        id = types.function_of(id, &params, d.variadic);
        for _ in 0..d.stars {
            id = types.pointer_to(id);
        }
    }
    Ok(id)
}

/// The compilers' name of a C base type spelt with any order of its words (`unsigned long`,
/// `long unsigned`, `unsigned` → `long unsigned int`, `long unsigned int`, `unsigned int`).
fn base_type_name(spelling: &str) -> Option<String> {
    let (mut unsigned, mut signed, mut char_, mut short, mut long, mut int) =
        (false, false, false, false, 0, false);
    for w in spelling.split_whitespace() {
        match w {
            "unsigned" => unsigned = true,
            "signed" => signed = true,
            "char" => char_ = true,
            "short" => short = true,
            "long" => long += 1,
            "int" => int = true,
            _ => return None,
        }
    }
    let _ = int;
    Some(
        match (char_, short, long) {
            (true, false, 0) if unsigned => "unsigned char",
            (true, false, 0) if signed => "signed char",
            (true, false, 0) => "char",
            (false, true, 0) if unsigned => "short unsigned int",
            (false, true, 0) => "short int",
            (false, false, 0) if unsigned => "unsigned int",
            (false, false, 0) => "int",
            (false, false, 1) if unsigned => "long unsigned int",
            (false, false, 1) => "long int",
            (false, false, 2) if unsigned => "long long unsigned int",
            (false, false, 2) => "long long int",
            _ => return None,
        }
        .to_string(),
    )
}

/// Evaluates `e`: names are looked up as enum constants, then variables, then functions.
pub fn evaluate<'p>(prog: &'p Program, e: &Expr) -> Result<Value<'p>> {
    Eval { prog }.eval(e)
}

struct Eval<'p> {
    prog: &'p Program,
}

impl<'p> Eval<'p> {
    fn eval(&self, e: &Expr) -> Result<Value<'p>> {
        match e {
            Expr::Int(v) => Ok(Value::int(*v, *v <= i64::MAX as u64)),
            Expr::Char(c) => Ok(Value::int(*c as i8 as i64 as u64, true)),
            Expr::Str(s) => Ok(Value::Bytes(s.clone())),
            Expr::Ident(name) => self.ident(name),
            Expr::Member { base, name, arrow } => {
                let b = self.eval(base)?.object("member access")?;
                let (_, t) = self.prog.types().resolve(b.type_id())?;
                let is_ptr = matches!(t.kind, TypeKind::Pointer { .. });
                if *arrow && !is_ptr {
                    return Err(type_error(
                        "->",
                        b.type_name(),
                        format!("'{name}': not a pointer (use '.')"),
                    ));
                }
                // gdb, and so crash, lets `.` follow a pointer too
                Ok(Value::Object(b.member(name)?))
            }
            Expr::Index(base, i) => {
                let b = self.eval(base)?.object("index")?;
                let i = self.eval(i)?.scalar("index")?;
                Ok(Value::Object(b.index(i.bits)?))
            }
            Expr::Unary(op, x) => self.unary(*op, x),
            Expr::Binary(op, a, b) => self.binary(*op, a, b),
            Expr::Cond(c, a, b) => {
                if self.eval(c)?.scalar("?:")?.bits != 0 {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
            Expr::Cast(t, x) => self.cast(resolve_type(self.prog, t)?, self.eval(x)?),
            Expr::SizeofType(t) => {
                let id = resolve_type(self.prog, t)?;
                Ok(Value::int(self.prog.types().size_of(id)?, false))
            }
            Expr::SizeofExpr(x) => {
                let size = match self.eval(x)? {
                    Value::Object(o) => o.size()?,
                    Value::Int { .. } => 8,
                    Value::Bytes(b) => b.len() as u64 + 1,
                    Value::NoDebug(n) => return Err(n.unknown_type()),
                };
                Ok(Value::int(size, false))
            }
            Expr::Offsetof(t, path) => {
                let id = resolve_type(self.prog, t)?;
                Ok(Value::int(
                    crate::object::offset_of(self.prog, id, path)?,
                    false,
                ))
            }
        }
    }

    fn ident(&self, name: &str) -> Result<Value<'p>> {
        if let Some((_, v)) = self.prog.types().find_enumerator(name) {
            return Ok(Value::int(v as u64, true));
        }
        match self.prog.global(name) {
            Ok(o) => Ok(Value::Object(o)),
            Err(e) => match self.prog.function(name) {
                Ok(f) => Ok(Value::Object(f)),
                Err(_) => match (e, self.prog.symbols().by_name(name)) {
                    (ProgramError::NoType(_), Some(sym)) => Ok(Value::NoDebug(NoDebug {
                        name: name.to_string(),
                        address: sym.addr,
                        text: matches!(sym.kind, 'T' | 't'),
                    })),
                    (e, _) => Err(e),
                },
            },
        }
    }

    fn unary(&self, op: UnOp, x: &Expr) -> Result<Value<'p>> {
        if op == UnOp::AddrOf {
            return match self.eval(x)? {
                // `&sym` of a symbol no source types: its address, as a `void *` (gdb types
                // it `<data variable, no debug info> *`; the address is all that is known,
                // and a void pointer casts to whatever the reader knows the symbol to be)
                Value::NoDebug(n) => {
                    let ty = self.prog.types().pointer_to(TypeId::VOID);
                    Ok(Value::Object(Object::value(self.prog, ty, n.address)))
                }
                v => Ok(Value::Object(v.object("&")?.address_of()?)),
            };
        }
        let v = self.eval(x)?;
        if let (UnOp::Deref, Value::NoDebug(n)) = (op, &v) {
            // `*function` is the function; `*variable` needs its type
            return match n.text {
                true => Ok(v),
                false => Err(n.unknown_type()),
            };
        }
        if op == UnOp::Deref {
            let o = v.object("*")?;
            let (_, t) = self.prog.types().resolve(o.type_id())?;
            return match t.kind {
                // `*function` is the function, as in C
                TypeKind::Function { .. } => Ok(Value::Object(o)),
                TypeKind::Pointer { target } if target == TypeId::VOID => Err(type_error(
                    "*",
                    o.type_name(),
                    "a void pointer: cast it to a type first",
                )),
                _ => Ok(Value::Object(o.deref()?)),
            };
        }
        let s = v.scalar("unary operator")?;
        Ok(match op {
            UnOp::Neg => Value::int(s.bits.wrapping_neg(), true),
            UnOp::Plus => Value::int(s.bits, s.signed),
            UnOp::Not => Value::int(u64::from(s.bits == 0), true),
            UnOp::BitNot => Value::int(!s.bits, s.signed),
            UnOp::Deref | UnOp::AddrOf => unreachable!("handled above"),
        })
    }

    fn binary(&self, op: BinOp, a: &Expr, b: &Expr) -> Result<Value<'p>> {
        // && and || do not evaluate their right side when the left decides
        if matches!(op, BinOp::And | BinOp::Or) {
            let l = self.eval(a)?.scalar("logical operator")?.bits != 0;
            if l == (op == BinOp::Or) {
                return Ok(Value::int(u64::from(l), true));
            }
            let r = self.eval(b)?.scalar("logical operator")?.bits != 0;
            return Ok(Value::int(u64::from(r), true));
        }
        let (va, vb) = (self.eval(a)?, self.eval(b)?);
        let (x, y) = (va.scalar("arithmetic")?, vb.scalar("arithmetic")?);
        // pointer arithmetic: scaled by the size of what is pointed at
        if let (BinOp::Add | BinOp::Sub, Some(t), None) = (op, x.target, y.target) {
            let n = y.bits.wrapping_mul(self.elem_size(t)?);
            let bits = if op == BinOp::Add {
                x.bits.wrapping_add(n)
            } else {
                x.bits.wrapping_sub(n)
            };
            return Ok(Value::Object(Object::value(
                self.prog,
                self.prog.types().pointer_to(t),
                bits,
            )));
        }
        if let (BinOp::Add, None, Some(t)) = (op, x.target, y.target) {
            let bits = y.bits.wrapping_add(x.bits.wrapping_mul(self.elem_size(t)?));
            return Ok(Value::Object(Object::value(
                self.prog,
                self.prog.types().pointer_to(t),
                bits,
            )));
        }
        if let (BinOp::Sub, Some(t), Some(_)) = (op, x.target, y.target) {
            let size = self.elem_size(t)?.max(1) as i64;
            let diff = (x.bits.wrapping_sub(y.bits) as i64) / size;
            return Ok(Value::int(diff as u64, true));
        }
        let signed = x.signed && y.signed;
        let ord = if signed {
            (x.bits as i64).cmp(&(y.bits as i64))
        } else {
            x.bits.cmp(&y.bits)
        };
        let bool_ = |b: bool| Value::int(u64::from(b), true);
        let div0 = || type_error("division", va.describe(), "division by zero");
        Ok(match op {
            BinOp::Add => Value::int(x.bits.wrapping_add(y.bits), signed),
            BinOp::Sub => Value::int(x.bits.wrapping_sub(y.bits), signed),
            BinOp::Mul => Value::int(x.bits.wrapping_mul(y.bits), signed),
            BinOp::Div | BinOp::Rem if y.bits == 0 => return Err(div0()),
            BinOp::Div if signed => {
                Value::int((x.bits as i64).wrapping_div(y.bits as i64) as u64, true)
            }
            BinOp::Rem if signed => {
                Value::int((x.bits as i64).wrapping_rem(y.bits as i64) as u64, true)
            }
            BinOp::Div => Value::int(x.bits / y.bits, false),
            BinOp::Rem => Value::int(x.bits % y.bits, false),
            BinOp::Shl => Value::int(x.bits.checked_shl(shift(y.bits)).unwrap_or(0), x.signed),
            BinOp::Shr if x.signed => {
                Value::int(((x.bits as i64) >> shift(y.bits).min(63)) as u64, true)
            }
            BinOp::Shr => Value::int(x.bits.checked_shr(shift(y.bits)).unwrap_or(0), false),
            BinOp::BitAnd => Value::int(x.bits & y.bits, signed),
            BinOp::BitOr => Value::int(x.bits | y.bits, signed),
            BinOp::BitXor => Value::int(x.bits ^ y.bits, signed),
            BinOp::Eq => bool_(x.bits == y.bits),
            BinOp::Ne => bool_(x.bits != y.bits),
            BinOp::Lt => bool_(ord.is_lt()),
            BinOp::Gt => bool_(ord.is_gt()),
            BinOp::Le => bool_(ord.is_le()),
            BinOp::Ge => bool_(ord.is_ge()),
            BinOp::And | BinOp::Or => unreachable!("handled above"),
        })
    }

    /// Size of a pointed-to type for pointer arithmetic (`void *` and functions count 1, as
    /// gcc does).
    fn elem_size(&self, t: TypeId) -> Result<u64> {
        let (_, ty) = self.prog.types().resolve(t)?;
        match ty.kind {
            TypeKind::Void | TypeKind::Function { .. } => Ok(1),
            _ => Ok(self.prog.types().size_of(t)?),
        }
    }

    fn cast(&self, ty: TypeId, v: Value<'p>) -> Result<Value<'p>> {
        // gdb: a variable without a type is read as the type it is cast to
        if let Value::NoDebug(n) = &v {
            if !n.text {
                return Ok(Value::Object(Object::reference(self.prog, ty, n.address)));
            }
        }
        let types = self.prog.types();
        let (_, t) = types.resolve(ty)?;
        match &t.kind {
            TypeKind::Int { size, .. } | TypeKind::Enum { size, .. } => {
                let bits = v.scalar("cast")?.bits & mask(*size);
                Ok(Value::Object(Object::value(self.prog, ty, bits)))
            }
            TypeKind::Pointer { .. } => {
                let bits = v.scalar("cast")?.bits;
                Ok(Value::Object(Object::value(self.prog, ty, bits)))
            }
            TypeKind::Struct { .. } | TypeKind::Union { .. } | TypeKind::Array { .. } => {
                Ok(Value::Object(v.object("cast")?.cast_to(ty)))
            }
            _ => Err(type_error(
                "cast",
                v.describe(),
                format!("cannot cast to {}", crate::object::type_name(self.prog, ty)),
            )),
        }
    }
}

fn shift(n: u64) -> u32 {
    n.min(64) as u32
}

fn mask(bytes: u32) -> u64 {
    if bytes >= 8 {
        !0
    } else {
        (1u64 << (bytes * 8)) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_types_by_any_spelling() {
        let n = |s| base_type_name(s);
        assert_eq!(n("unsigned long").as_deref(), Some("long unsigned int"));
        assert_eq!(n("long unsigned").as_deref(), Some("long unsigned int"));
        assert_eq!(n("unsigned").as_deref(), Some("unsigned int"));
        assert_eq!(n("long long").as_deref(), Some("long long int"));
        assert_eq!(n("unsigned char").as_deref(), Some("unsigned char"));
        assert_eq!(n("short").as_deref(), Some("short int"));
        assert_eq!(n("u64"), None);
        assert_eq!(n("long char"), None);
    }
}
