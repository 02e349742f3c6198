//! `struct -p`: a structure's pointer members followed one step, as crash shows them: the
//! member's declaration and value, then `-> ` and what it points at (`NULL`, the symbol there,
//! the string, or the target printed as gdb prints it).

use std::io::{self, Write};

use kdive_debuginfo::{TypeId, TypeKind};
use kdive_memory::ReadVirt;
use kdive_program::print::value::{format_value_in, PrintBudget};
use kdive_program::print::{declaration, PrintOptions};
use kdive_program::{Object, Program};
use serde::{Deserialize, Serialize};

use super::StructValue;

/// Most bytes of a `char *` target shown (crash reads its string into a 1500-byte buffer).
const MAX_STRING: usize = 1499;
/// Column of the lines of a target after its first (crash's `  -> ` plus one space).
const TARGET_INDENT: usize = 5;

/// One pointer member followed by `-p`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Dereference {
    /// The member's declaration: `struct task_struct *parent`, `void (*func)(void)`.
    pub declaration: String,
    #[serde(with = "crate::hex")]
    pub pointer: u64,
    /// The symbol exactly at the pointer, if any.
    pub symbol: Option<String>,
    pub kind: PointerKind,
    pub target: Target,
}

/// How crash shows a pointer's target: by what the member's declaration points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointerKind {
    /// A function pointer: only the symbol.
    Function,
    /// `char *` (any qualifiers or signedness): the string.
    String,
    /// `void *`: only the symbol.
    Void,
    /// `T **`: the pointer stored at the target.
    PointerToPointer,
    /// Anything else (a structure, an integer, a typedef of a pointer): the target's value.
    Object,
}

/// What was found at a followed pointer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Target {
    Null,
    NotAccessible,
    /// Nothing to show beyond the symbol (a function or `void *`, or a target gdb prints on the
    /// `$N =` line as a cast, which crash leaves out).
    Untyped,
    /// The target's type has no definition (`struct foo;` only).
    NoDefinition {
        type_name: String,
    },
    /// The string (without quotes), the pointer stored there (`ffff...`, empty when it cannot be
    /// read), or the target as gdb prints it (lines after the first indented 5 columns).
    Value {
        text: String,
    },
}

impl Dereference {
    /// Writes crash's two (or more) lines for the member.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "  {} = {:#x}", self.declaration, self.pointer)?;
        out.write_all(b"  -> ")?;
        let sym = self.symbol.as_deref();
        let symbol_prefix = |out: &mut dyn Write| match sym {
            Some(s) => write!(out, "<{s}> "),
            None => Ok(()),
        };
        match (self.kind, &self.target) {
            (PointerKind::Function | PointerKind::Void, _) => match sym {
                Some(s) => writeln!(out, "<{s}>"),
                None if self.pointer == 0 => writeln!(out, "NULL"),
                None if self.kind == PointerKind::Function => writeln!(out, "(unknown)"),
                None => writeln!(out, "(unknown target type)"),
            },
            (PointerKind::String, t) => {
                symbol_prefix(out)?;
                match t {
                    Target::Null => writeln!(out, "NULL"),
                    Target::Value { text } => writeln!(out, "\"{text}\""),
                    _ => writeln!(out, "(not accessible)"),
                }
            }
            (_, Target::Null) => writeln!(out, "NULL"),
            (_, Target::NotAccessible) => writeln!(out, "(not accessible)"),
            (_, Target::NoDefinition { type_name }) => {
                writeln!(out, "({type_name}: no debuginfo data)")
            }
            (_, Target::Untyped) => {
                symbol_prefix(out)?;
                writeln!(out)
            }
            (_, Target::Value { text }) => {
                symbol_prefix(out)?;
                writeln!(out, "{text}")
            }
        }
    }
}

/// Follows the pointer members of `obj` printed in `value`: every member when all are shown
/// (those printed on one line, as crash's), else the chosen `paths` that name members of the
/// structure itself (crash follows neither `a.b` paths nor members of anonymous members).
pub(crate) fn follow_pointers(
    obj: &Object<'_>,
    value: &mut StructValue,
    paths: Option<&[&str]>,
    opts: PrintOptions,
) {
    let prog = obj.prog();
    let Ok((_, t)) = prog.types().resolve(obj.type_id()) else {
        return;
    };
    let members = match &t.kind {
        TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => members,
        _ => return,
    };
    let budget = PrintBudget::new();
    for (i, mv) in value.members.iter_mut().enumerate() {
        let name = match paths {
            Some(paths) => paths.get(i).copied(),
            None if mv.value.contains(['{', '}']) => None,
            None => mv.name.as_deref(),
        };
        let Some(m) = name.and_then(|n| members.iter().find(|m| m.name.as_deref() == Some(n)))
        else {
            continue;
        };
        let Ok(field) = obj.field(m) else {
            continue;
        };
        let name = m.name.as_deref().unwrap_or_default();
        mv.deref = dereference(prog, &field, m.ty, name, opts, &budget);
    }
}

/// The `-p` answer for the member `field` (declared `ty name`), or `None` when it is no pointer
/// or its target cannot be printed (then it shows as a plain member, as crash's).
fn dereference(
    prog: &Program,
    field: &Object<'_>,
    ty: TypeId,
    name: &str,
    opts: PrintOptions,
    budget: &PrintBudget,
) -> Option<Dereference> {
    let types = prog.types();
    let declared = types.get(ty).ok()?;
    let typedef = matches!(declared.kind, TypeKind::Typedef { .. });
    let (_, resolved) = types.resolve(ty).ok()?;
    let TypeKind::Pointer { target: pointee } = resolved.kind else {
        return None;
    };
    // a pointer written in the declaration itself, or a typedef of one (crash's two cases)
    if !typedef && !matches!(declared.kind, TypeKind::Pointer { .. }) {
        return None;
    }
    let (_, target_type) = types.resolve(pointee).ok()?;
    // what the declaration spells before its `*`: a typedef of a char is no `char *`
    let (_, direct) = super::unqualified(types, pointee)?;
    let kind = match &direct.kind {
        _ if typedef => PointerKind::Object,
        TypeKind::Function { .. } => PointerKind::Function,
        TypeKind::Pointer { .. } => PointerKind::PointerToPointer,
        TypeKind::Int {
            size: 1, is_char, ..
        } if *is_char || direct.name.as_deref().is_some_and(|n| n.contains("char")) => {
            PointerKind::String
        }
        TypeKind::Void => PointerKind::Void,
        // `T (*name)[N]`: crash does not follow a pointer to an array
        TypeKind::Array { .. } => return None,
        _ => PointerKind::Object,
    };
    let pointer = field.read_u64().ok()?;
    let symbol = prog
        .symbols()
        .by_addr(pointer)
        .filter(|(_, off)| *off == 0)
        .map(|(s, _)| s.name.to_string());
    let readable = |len: usize| {
        let mut b = vec![0u8; len];
        prog.read(pointer, &mut b).is_ok()
    };
    let target = match kind {
        PointerKind::Function | PointerKind::Void => Target::Untyped,
        _ if pointer == 0 => Target::Null,
        _ if !readable(1) => Target::NotAccessible,
        PointerKind::String => match ReadVirt::read_cstr(prog, pointer, MAX_STRING) {
            Ok(text) => Target::Value { text },
            Err(_) => Target::NotAccessible,
        },
        PointerKind::PointerToPointer => Target::Value {
            text: Object::reference(prog, pointee, pointer)
                .read_u64()
                .map(|v| format!("{v:x}"))
                .unwrap_or_default(),
        },
        PointerKind::Object => match &target_type.kind {
            TypeKind::Fwd { .. } => Target::NoDefinition {
                type_name: kdive_program::object::type_name(prog, pointee),
            },
            // gdb prints these as `{type} 0x...` or `(type *) 0x...`; crash leaves that line out
            TypeKind::Function { .. } | TypeKind::Pointer { .. } => Target::Untyped,
            _ => {
                let obj = Object::reference(prog, pointee, pointer);
                Target::Value {
                    text: format_value_in(&obj, opts, TARGET_INDENT, budget).ok()?,
                }
            }
        },
    };
    Some(Dereference {
        declaration: declaration(types, ty, name),
        pointer,
        symbol,
        kind,
        target,
    })
}
