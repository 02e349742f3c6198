//! Objects in drgn's C syntax: `(pid_t)1`, `(char [16])"swapper/0"`,
//! `*(struct list_head *)0xffff… = { .next = (struct list_head *)0xffff…, … }`.
//! Members one per line, tab-indented, as drgn prints them; bounded in depth and size.

use kdive_debuginfo::{TypeId, TypeKind};
use kdive_program::object::type_name;
use kdive_program::{Object, ProgramError, Result};

/// Deepest nesting printed.
const MAX_DEPTH: usize = 16;
/// Most array elements printed.
const MAX_ELEMENTS: u64 = 4096;
/// Longest text built.
const MAX_TEXT: usize = 1 << 22;

/// Choices of one format.
#[derive(Clone, Copy)]
pub struct FormatOptions {
    pub hex: bool,
    /// Show a struct at an address as `*(T *)ADDR = {…}` (drgn's `dereference`).
    pub dereference: bool,
    /// Show the outermost type (drgn's `type_name`).
    pub type_name: bool,
}

/// The object as drgn's `str()` shows it.
pub fn format_object(o: &Object<'_>, opts: FormatOptions) -> Result<String> {
    let prog = o.prog();
    let (_, t) = prog.types().resolve(o.type_id())?;
    let tn = type_name(prog, o.type_id());
    let mut out = String::new();
    match (&t.kind, o.address()) {
        (TypeKind::Struct { .. } | TypeKind::Union { .. }, Some(a)) if opts.dereference => {
            out += &format!("*({tn} *){a:#x} = ");
            value(o, opts, 0, &mut out)?;
        }
        _ => {
            if opts.type_name {
                out += &format!("({tn})");
            }
            value(o, opts, 0, &mut out)?;
        }
    }
    Ok(out)
}

fn too_long() -> ProgramError {
    ProgramError::Unsupported("value too large to format".into())
}

/// The value without its leading type.
fn value(o: &Object<'_>, opts: FormatOptions, depth: usize, out: &mut String) -> Result<()> {
    if depth > MAX_DEPTH || out.len() > MAX_TEXT {
        return Err(too_long());
    }
    let prog = o.prog();
    let (_, t) = prog.types().resolve(o.type_id())?;
    let indent = "\t".repeat(depth + 1);
    match &t.kind {
        TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
            out.push_str("{\n");
            members_of(o, members, opts, depth, &indent, out)?;
            out.push_str(&"\t".repeat(depth));
            out.push('}');
        }
        TypeKind::Array { elem, len } => {
            let (_, et) = prog.types().resolve(*elem)?;
            // DWARF's `char` is a 1-byte integer named so (BTF marks it as a char)
            let is_char = match et.kind {
                TypeKind::Int { is_char, size, .. } => {
                    is_char
                        || (size == 1 && et.name.as_deref().is_some_and(|n| n.ends_with("char")))
                }
                _ => false,
            };
            if is_char {
                let mut b = o.read_bytes()?;
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                b.truncate(end);
                out.push_str(&c_string(&b));
                return Ok(());
            }
            let n = (*len).min(MAX_ELEMENTS);
            let scalar = !matches!(
                et.kind,
                TypeKind::Struct { .. } | TypeKind::Union { .. } | TypeKind::Array { .. }
            );
            // trailing zero elements are left out, as drgn does
            let mut elems = Vec::new();
            for i in 0..n {
                elems.push(o.index(i)?);
            }
            let mut last = elems.len();
            while last > 0 && is_zero(&elems[last - 1])? {
                last -= 1;
            }
            if last == 0 {
                out.push_str("{}");
                return Ok(());
            }
            if scalar {
                out.push_str("{ ");
                for (i, e) in elems[..last].iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    scalar_value(e, *elem, opts, out)?;
                }
                out.push_str(" }");
            } else {
                out.push_str("{\n");
                for e in &elems[..last] {
                    out.push_str(&indent);
                    value(e, opts, depth + 1, out)?;
                    out.push_str(",\n");
                }
                out.push_str(&"\t".repeat(depth));
                out.push('}');
            }
        }
        _ => scalar_value(o, o.type_id(), opts, out)?,
    }
    Ok(())
}

fn members_of(
    o: &Object<'_>,
    members: &[kdive_debuginfo::Member],
    opts: FormatOptions,
    depth: usize,
    indent: &str,
    out: &mut String,
) -> Result<()> {
    let prog = o.prog();
    for m in members {
        let f = o.field(m)?;
        match &m.name {
            Some(n) => {
                out.push_str(&format!("{indent}.{n} = "));
                out.push_str(&format!("({})", type_name(prog, m.ty)));
                match value(&f, opts, depth + 1, out) {
                    Ok(()) => {}
                    Err(e) if e.kind() == kdive_program::ErrorKind::Fault => {
                        out.push_str(&format!("<{e}>"))
                    }
                    Err(e) => return Err(e),
                }
                out.push_str(",\n");
            }
            // an anonymous struct or union: drgn prints it as a nameless member
            None => {
                out.push_str(indent);
                value(&f, opts, depth + 1, out)?;
                out.push_str(",\n");
            }
        }
    }
    Ok(())
}

fn is_zero(o: &Object<'_>) -> Result<bool> {
    if o.size()? > 1 << 16 {
        return Ok(false);
    }
    Ok(o.read_bytes()?.iter().all(|&b| b == 0))
}

fn scalar_value(o: &Object<'_>, ty: TypeId, opts: FormatOptions, out: &mut String) -> Result<()> {
    let prog = o.prog();
    let (_, t) = prog.types().resolve(ty)?;
    match &t.kind {
        TypeKind::Pointer { .. } => out.push_str(&format!("{:#x}", o.read_u64()?)),
        TypeKind::Int { is_bool: true, .. } => {
            out.push_str(if o.read_u64()? != 0 { "true" } else { "false" })
        }
        TypeKind::Enum { values, .. } => {
            let v = o.read_i64()?;
            match values.iter().find(|(_, x)| *x == v) {
                Some((n, _)) => out.push_str(n),
                None => out.push_str(&v.to_string()),
            }
        }
        TypeKind::Int { signed, .. } => {
            let v: i128 = if *signed {
                i128::from(o.read_i64()?)
            } else {
                i128::from(o.read_u64()?)
            };
            if opts.hex {
                if v < 0 {
                    out.push_str(&format!("-{:#x}", -v));
                } else {
                    out.push_str(&format!("{v:#x}"));
                }
            } else {
                out.push_str(&v.to_string());
            }
        }
        TypeKind::Float { size } => {
            let b = o.read_bytes()?;
            let f = match (size, b.len()) {
                (4, 4) => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                (8, 8) => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                _ => f64::NAN,
            };
            out.push_str(&f.to_string());
        }
        TypeKind::Function { .. } => match o.address() {
            Some(a) => out.push_str(&format!("{a:#x}")),
            None => out.push_str("<function>"),
        },
        _ => out.push_str("<unprintable>"),
    }
    Ok(())
}

/// A C string literal with escapes.
fn c_string(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}
