//! Objects in drgn's C syntax: `(pid_t)1`, `(char [16])"swapper/0"`,
//! `*(struct list_head *)0xffff… = { .next = (struct list_head *)0xffff…, … }`.
//! Members one per line, tab-indented, as drgn prints them; bounded in depth and size.

use kdive_debuginfo::btf::canonical_int_name;
use kdive_debuginfo::{TypeId, TypeKind};
use kdive_program::{Program, ProgramError, Result};

use crate::value::Val;

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

/// Deepest type nesting spelled.
const MAX_TYPE_DEPTH: usize = 32;

/// A type's C spelling as drgn writes it: integer names in their short form (`unsigned long`
/// for GCC's `long unsigned int`), pointers to functions and arrays as declarators
/// (`void (*)(struct rq *, int)`, `char (*)[16]`).
pub fn c_type_name(prog: &Program, ty: TypeId) -> String {
    let (base, decl) = declarator(prog, ty, String::new(), 0);
    if decl.is_empty() {
        base
    } else {
        format!("{base} {decl}")
    }
}

/// The type `ty` with its qualifiers peeled.
fn unqualified(prog: &Program, mut ty: TypeId) -> Option<std::sync::Arc<kdive_debuginfo::Type>> {
    for _ in 0..MAX_TYPE_DEPTH {
        let t = prog.types().get(ty).ok()?;
        match t.kind {
            TypeKind::Qualified { target, .. } => ty = target,
            _ => return Some(t),
        }
    }
    None
}

/// The base type's name and the declarator around `inner` (`*`, `[16]`, `(*)(int)`).
fn declarator(prog: &Program, ty: TypeId, inner: String, depth: usize) -> (String, String) {
    if depth > MAX_TYPE_DEPTH {
        return ("<type loop>".into(), inner);
    }
    let Ok(t) = prog.types().get(ty) else {
        return ("<bad type>".into(), inner);
    };
    let name = t.name.as_deref().unwrap_or("");
    let tagged = |tag: &str| {
        let n = if name.is_empty() { "<anonymous>" } else { name };
        (format!("{tag} {n}"), inner.clone())
    };
    match &t.kind {
        TypeKind::Pointer { target } => {
            // qualifiers looked through (`const char (*)[16]`), typedefs not: a pointer to a
            // typedef of a function type is `fn_t *`
            let grouped = matches!(
                unqualified(prog, *target).map(|t| t.kind.clone()),
                Some(TypeKind::Array { .. } | TypeKind::Function { .. })
            );
            let inner = if grouped {
                format!("(*{inner})")
            } else {
                format!("*{inner}")
            };
            declarator(prog, *target, inner, depth + 1)
        }
        TypeKind::Array { elem, len } => {
            let dim = if *len == 0 {
                String::new()
            } else {
                len.to_string()
            };
            declarator(prog, *elem, format!("{inner}[{dim}]"), depth + 1)
        }
        TypeKind::Function {
            ret,
            params,
            variadic,
        } => {
            let mut list: Vec<String> = params.iter().map(|(_, p)| c_type_name(prog, *p)).collect();
            if *variadic {
                list.push("...".into());
            }
            if list.is_empty() {
                list.push("void".into());
            }
            declarator(
                prog,
                *ret,
                format!("{inner}({})", list.join(", ")),
                depth + 1,
            )
        }
        // a qualified array is an array of qualified elements (C11 6.7.3): the elements say it
        TypeKind::Qualified { target, .. }
            if matches!(
                prog.types().get(*target).map(|t| t.kind.clone()),
                Ok(TypeKind::Array { .. })
            ) =>
        {
            declarator(prog, *target, inner, depth + 1)
        }
        // a qualified pointer: the qualifier follows the `*` (`struct list_head * const`)
        TypeKind::Qualified { target, qual }
            if matches!(
                prog.types().get(*target).map(|t| t.kind.clone()),
                Ok(TypeKind::Pointer { .. })
            ) =>
        {
            let q = format!("{qual:?}").to_lowercase();
            declarator(prog, *target, format!(" {q}{inner}"), depth + 1)
        }
        TypeKind::Qualified { target, qual } => {
            let (b, d) = declarator(prog, *target, inner, depth + 1);
            (format!("{} {b}", format!("{qual:?}").to_lowercase()), d)
        }
        TypeKind::Struct { .. } => tagged("struct"),
        TypeKind::Union { .. } => tagged("union"),
        TypeKind::Enum { .. } => tagged("enum"),
        TypeKind::Fwd { union } => tagged(if *union { "union" } else { "struct" }),
        TypeKind::Int { .. } => (
            canonical_int_name(name).unwrap_or_else(|| name.into()),
            inner,
        ),
        TypeKind::Void => ("void".into(), inner),
        _ => ((if name.is_empty() { "void" } else { name }).into(), inner),
    }
}

/// `sym+0xoff = 0xADDR` for an address inside a symbol, else `0xADDR`.
fn symbolized(prog: &Program, addr: u64) -> String {
    match prog.symbols().by_addr(addr) {
        Some((sym, off)) => format!("{}+{off:#x} = {addr:#x}", sym.name),
        None => format!("{addr:#x}"),
    }
}

/// The object as drgn's `str()` shows it: a pointer to a complete type followed
/// (`*(T *)0x… = …`), a `char *` with its string, other pointers symbolized.
pub fn format_object(o: &Val<'_>, opts: FormatOptions) -> Result<String> {
    let prog = o.prog();
    let (_, t) = prog.types().resolve(o.type_id())?;
    let tn = c_type_name(prog, o.type_id());
    let mut out = String::new();
    if let TypeKind::Pointer { target } = t.kind {
        let addr = o.read_u64()?;
        let (_, tt) = prog.types().resolve(target)?;
        let is_char = is_char_type(prog, target);
        let complete = !matches!(
            tt.kind,
            TypeKind::Void | TypeKind::Function { .. } | TypeKind::Fwd { .. }
        ) && prog.types().size_of(target).is_ok_and(|n| n > 0);
        if is_char {
            if let Some(text) = pointed_string(prog, addr) {
                return Ok(format!("({tn}){addr:#x}{text}"));
            }
        } else if complete && opts.dereference {
            if let Ok(target_obj) = o.deref() {
                let mut v = String::new();
                if value(&target_obj, opts, 0, &mut v).is_ok() {
                    let at = match prog.symbols().by_addr(addr) {
                        Some(_) => format!("({})", symbolized(prog, addr)),
                        None => format!("{addr:#x}"),
                    };
                    return Ok(format!("*({tn}){at} = {v}"));
                }
            }
        }
        if opts.type_name {
            out += &format!("({tn})");
        }
        out += &symbolized(prog, addr);
        return Ok(out);
    }
    if opts.type_name {
        out += &format!("({tn})");
    }
    value(o, opts, 0, &mut out)?;
    Ok(out)
}

/// True for `char`, `signed char` and `unsigned char`, qualified or not (a typedef of one,
/// such as `u8`, is no character type to drgn: a `u8 *` is shown without its string).
fn is_char_type(prog: &Program, ty: TypeId) -> bool {
    unqualified(prog, ty).is_some_and(|t| {
        matches!(t.kind, TypeKind::Int { size: 1, .. })
            && matches!(
                t.name.as_deref(),
                Some("char" | "signed char" | "unsigned char")
            )
    })
}

/// ` = "text"`: the string a character pointer points to, as drgn shows it after the
/// pointer; `None` when it cannot be read.
fn pointed_string(prog: &Program, addr: u64) -> Option<String> {
    let text = prog.mem().read_cstr(addr, MAX_STRING_SHOWN).ok()?;
    Some(format!(" = {}", c_string(text.as_bytes())))
}

/// Longest string shown after a `char *`.
const MAX_STRING_SHOWN: usize = 1 << 16;

fn too_long() -> ProgramError {
    ProgramError::Unsupported("value too large to format".into())
}

/// The value without its leading type.
fn value(o: &Val<'_>, opts: FormatOptions, depth: usize, out: &mut String) -> Result<()> {
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
    o: &Val<'_>,
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
                out.push_str(&format!("({})", c_type_name(prog, m.ty)));
                match value(&f, opts, depth + 1, out) {
                    Ok(()) => {}
                    Err(e) if e.kind() == kdive_program::ErrorKind::Fault => {
                        out.push_str(&format!("<{e}>"))
                    }
                    Err(e) => return Err(e),
                }
                out.push_str(",\n");
            }
            // an anonymous struct or union: its members are printed as the outer one's
            None => {
                let (_, t) = prog.types().resolve(m.ty)?;
                if let TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } = &t.kind
                {
                    members_of(&f, members, opts, depth, indent, out)?;
                }
            }
        }
    }
    Ok(())
}

fn is_zero(o: &Val<'_>) -> Result<bool> {
    if o.size()? > 1 << 16 {
        return Ok(false);
    }
    Ok(o.read_bytes()?.iter().all(|&b| b == 0))
}

fn scalar_value(o: &Val<'_>, ty: TypeId, opts: FormatOptions, out: &mut String) -> Result<()> {
    let prog = o.prog();
    let (_, t) = prog.types().resolve(ty)?;
    match &t.kind {
        TypeKind::Pointer { target } => {
            let addr = o.read_u64()?;
            out.push_str(&symbolized(prog, addr));
            if is_char_type(prog, *target) {
                out.push_str(&pointed_string(prog, addr).unwrap_or_default());
            }
        }
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
