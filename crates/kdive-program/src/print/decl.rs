//! Type definitions as gdb's `ptype` (and so crash's `struct`, `union`, `whatis`) prints them:
//! C declarations with declarators (`void (*func)(struct callback_head *);`, `char comm[16];`),
//! anonymous members expanded in place, optional byte offsets.

use kdive_debuginfo::{Member, TypeId, TypeKind, Types};

use crate::{ProgramError, Result};

/// Deepest nesting of anonymous members expanded (corrupt types can nest without end).
const MAX_DEPTH: usize = 16;
/// Most types one declaration spells. Depth alone does not bound it: a corrupt function type
/// whose parameters point back to it doubles the work at every level.
const MAX_DECL_TYPES: usize = 1 << 12;
/// Most member lines one definition writes: an anonymous struct that holds itself several times
/// is expanded again in each copy, `MAX_DEPTH` levels deep.
const MAX_LINES: usize = 1 << 16;

/// The declaration of `name` with type `ty` (`struct list_head *next`, `int (*f)(void)`);
/// an empty `name` gives the type's own spelling (`struct list_head *`).
pub fn declaration(types: &Types, ty: TypeId, name: &str) -> String {
    declare(types, ty, name.to_string(), 0, &mut { MAX_DECL_TYPES })
}

fn declare(types: &Types, ty: TypeId, inner: String, depth: usize, budget: &mut usize) -> String {
    if depth > 64 || *budget == 0 {
        return format!("<type loop> {inner}");
    }
    *budget -= 1;
    let Ok(t) = types.get(ty) else {
        return format!("<bad type> {inner}").trim_end().to_string();
    };
    let named = |base: String| {
        if inner.is_empty() {
            base
        } else {
            format!("{base} {inner}")
        }
    };
    let tag = |kw: &str| format!("{kw} {}", t.name.as_deref().unwrap_or("{...}"));
    match &t.kind {
        TypeKind::Pointer { target } => {
            let needs_parens = types.get(*target).is_ok_and(|t| {
                matches!(t.kind, TypeKind::Function { .. } | TypeKind::Array { .. })
            });
            let inner = if needs_parens {
                format!("(*{inner})")
            } else {
                format!("*{inner}")
            };
            declare(types, *target, inner, depth + 1, budget)
        }
        TypeKind::Array { elem, len } => {
            declare(types, *elem, format!("{inner}[{len}]"), depth + 1, budget)
        }
        TypeKind::Function {
            ret,
            params,
            variadic,
        } => {
            let mut ps: Vec<String> = Vec::new();
            for (_, p) in params {
                if *budget == 0 {
                    ps.push("<type loop>".into());
                    break;
                }
                ps.push(declare(types, *p, String::new(), depth + 1, budget));
            }
            if *variadic {
                ps.push("...".into());
            }
            if ps.is_empty() {
                ps.push("void".into());
            }
            declare(
                types,
                *ret,
                format!("{inner}({})", ps.join(", ")),
                depth + 1,
                budget,
            )
        }
        TypeKind::Qualified { qual, target } => {
            let q = format!("{qual:?}").to_lowercase();
            // a qualified pointer reads `T * const p`; a qualified base type `const T p`
            if types
                .get(*target)
                .is_ok_and(|t| matches!(t.kind, TypeKind::Pointer { .. }))
            {
                declare(types, *target, format!("{q} {inner}"), depth + 1, budget)
            } else {
                format!("{q} {}", declare(types, *target, inner, depth + 1, budget))
            }
        }
        TypeKind::Struct { .. } => named(tag("struct")),
        TypeKind::Union { .. } => named(tag("union")),
        TypeKind::Enum { .. } => named(tag("enum")),
        TypeKind::Fwd { union } => named(tag(if *union { "union" } else { "struct" })),
        TypeKind::Void => named("void".into()),
        TypeKind::Int { .. } => named(c_name(t.name.as_deref().unwrap_or("int")).to_string()),
        TypeKind::Float { .. } | TypeKind::Typedef { .. } => {
            named(t.name.as_deref().unwrap_or("<anonymous>").to_string())
        }
    }
}

/// The short C spelling crash uses for a compiler's base type name (`long unsigned int` is
/// `unsigned long`).
fn c_name(name: &str) -> &str {
    match name {
        "long unsigned int" => "unsigned long",
        "long int" => "long",
        "short unsigned int" => "unsigned short",
        "short int" => "short",
        "long long unsigned int" => "unsigned long long",
        "long long int" => "long long",
        other => other,
    }
}

/// A struct, union or enum definition as crash prints it (four spaces per level; an enum one
/// value per line), or a typedef as `typedef <definition> NAME;`. `offsets` puts each member's
/// byte offset, `[N]`, in a column on the left.
pub fn definition(types: &Types, ty: TypeId, offsets: bool) -> Result<String> {
    let t = types.get(ty)?;
    if let TypeKind::Typedef { target } = t.kind {
        let name = t.name.as_deref().unwrap_or("");
        let (_, target_t) = types.resolve(target)?;
        let body = if target_t.name.is_none()
            && matches!(
                target_t.kind,
                TypeKind::Struct { .. } | TypeKind::Union { .. } | TypeKind::Enum { .. }
            ) {
            definition(types, target, offsets)?
        } else {
            declaration(types, target, "")
        };
        return Ok(format!("typedef {body} {name};"));
    }
    if let TypeKind::Enum { values, .. } = &t.kind {
        let mut out = format!("enum {} {{\n", t.name.as_deref().unwrap_or(""));
        for (n, v) in values {
            out += &format!("  {n} = {v}\n");
        }
        return Ok(out + "};");
    }
    let column = offsets.then(|| offset_column_width(types, ty));
    let mut out = String::new();
    body(types, ty, 0, 0, column, &mut out, &mut { MAX_LINES })?;
    Ok(out)
}

/// Width of crash's offset column: that of `[SIZE]` and two spaces.
pub fn offset_column_width(types: &Types, ty: TypeId) -> usize {
    let size = types.size_of(ty).unwrap_or(0);
    format!("[{size}]").len() + 2
}

/// Writes `struct NAME {` members `}`: members `depth + 1` levels (four spaces each) deep;
/// `base` is the byte offset of this aggregate within the outermost one; `column` the width
/// of the offset column, when there is one.
fn body(
    types: &Types,
    ty: TypeId,
    depth: usize,
    base: u64,
    column: Option<usize>,
    out: &mut String,
    lines: &mut usize,
) -> Result<()> {
    let (_, t) = types.resolve(ty)?;
    let (kw, members): (&str, &[Member]) = match &t.kind {
        TypeKind::Struct { members, .. } => ("struct", members),
        TypeKind::Union { members, .. } => ("union", members),
        _ => {
            out.push_str(&declaration(types, ty, ""));
            return Ok(());
        }
    };
    match t.name.as_deref() {
        Some(n) => out.push_str(&format!("{kw} {n} {{\n")),
        None => out.push_str(&format!("{kw} {{\n")),
    }
    let pad = " ".repeat((depth + 1) * 4);
    for m in members {
        *lines = lines.checked_sub(1).ok_or_else(|| ProgramError::Type {
            op: "definition",
            ty: t.name.as_deref().unwrap_or("{...}").to_string(),
            why: format!("more than {MAX_LINES} members (corrupt type data?)"),
        })?;
        let off = base.wrapping_add(m.bit_offset / 8);
        let name = m.name.as_deref().unwrap_or("");
        let anon_aggregate = types.get(m.ty).is_ok_and(|mt| {
            mt.name.is_none() && matches!(mt.kind, TypeKind::Struct { .. } | TypeKind::Union { .. })
        });
        let expand = anon_aggregate && depth < MAX_DEPTH;
        match column {
            // an expanded anonymous member's own line has no offset, its members do
            Some(w) if expand => out.push_str(&" ".repeat(w + 1 + depth * 4)),
            Some(w) => out.push_str(&format!(
                "{:>w$} {}",
                format!("[{off}]"),
                " ".repeat(depth * 4)
            )),
            None => out.push_str(&pad),
        }
        if expand {
            body(types, m.ty, depth + 1, off, column, out, lines)?;
            if !name.is_empty() {
                out.push(' ');
                out.push_str(name);
            }
        } else {
            out.push_str(&declaration(types, m.ty, name));
        }
        if let Some(bits) = m.bit_size {
            out.push_str(&format!(" : {bits}"));
        }
        out.push_str(";\n");
    }
    match column {
        Some(w) if depth > 0 => out.push_str(&" ".repeat(w + 1 + (depth - 1) * 4)),
        _ => out.push_str(&" ".repeat(depth * 4)),
    }
    out.push('}');
    Ok(())
}
