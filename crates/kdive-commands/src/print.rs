//! `p` and `ptype`, and the symbols and expressions of `whatis`: C expressions evaluated on the
//! dump (see `kdive_program::expr`) and printed as crash's gdb prints them.
//!
//! - `p [-x|-d] EXPR`, `p/x EXPR`: the value, numbered `$N` in the session's value history;
//!   a variable's name before it (`jiffies = $1 = 4294896543`).
//! - `p PERCPU`: the per-CPU variable's type and its address on each CPU; `p PERCPU:CPUS`
//!   (`:1`, `:0,2-3`, `:a`) its value on those CPUs.
//! - `ptype TYPE|EXPR`: a type expanded as gdb's `ptype` does (`type = struct list_head {`...).
//! - `whatis SYMBOL|EXPR`: a variable's or function's declaration, an expression's type.

use std::io::{self, Write};

use kdive_debuginfo::{TypeId, TypeKind};
use kdive_linux::percpu::{cpu_count, is_per_cpu_symbol, per_cpu_offset};
use kdive_program::expr::{evaluate, parse, resolve_type, Expr, NoDebug, TypeName, Value};
use kdive_program::print::value::format_string;
use kdive_program::print::{declaration, definition, format_value, PrintOptions};
use kdive_program::{Object, Program, ProgramError};
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table;
use crate::{CommandError, Hex, Report, Session, TextOptions};

/// Deepest nesting the structured (JSON) form of a value follows.
const MAX_JSON_DEPTH: usize = 24;
/// Most scalars the structured form of one value holds; the rest are null.
const MAX_JSON_VALUES: usize = 1 << 16;

/// One printed value.
#[derive(Debug, Serialize, Deserialize)]
pub struct PrintedValue {
    /// What crash names before `$N = `: the variable (`jiffies`), or `per_cpu(NAME, CPU)`.
    pub label: Option<String>,
    /// The value-history number (`$N`).
    pub history: u32,
    /// The value's C type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Where the value is in memory, if it is there.
    #[serde(with = "crate::hex_opt")]
    pub address: Option<u64>,
    /// The value as gdb prints it after `$N = `.
    pub text: String,
    /// The value as data: numbers, `"0x…"` pointers, strings, lists and member maps.
    pub value: serde_json::Value,
}

/// One CPU's copy of a per-CPU variable.
#[derive(Debug, Serialize, Deserialize)]
pub struct PerCpuAddress {
    pub cpu: u32,
    pub address: Hex,
}

/// What `p` reports.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrintReport {
    /// Values (one, or one per CPU for `NAME:CPUS`).
    Values { values: Vec<PrintedValue> },
    /// A per-CPU variable without a CPU: its declaration and each CPU's address.
    PerCpu {
        symbol: String,
        /// `struct rq runqueues` (none when no source types the variable).
        declaration: Option<String>,
        addresses: Vec<PerCpuAddress>,
    },
}

impl Report for PrintReport {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        match self {
            PrintReport::Values { values } => {
                for v in values {
                    if let Some(l) = &v.label {
                        write!(out, "{l} = ")?;
                    }
                    writeln!(out, "${} = {}", v.history, v.text)?;
                }
            }
            PrintReport::PerCpu {
                declaration,
                addresses,
                ..
            } => {
                if let Some(d) = declaration {
                    writeln!(out, "PER-CPU DATA TYPE:\n  {d};")?;
                }
                writeln!(out, "PER-CPU ADDRESSES:")?;
                for a in addresses {
                    writeln!(out, "  [{}]: {:x}", a.cpu, a.address.0)?;
                }
            }
        }
        Ok(())
    }
}

/// What `ptype` reports, and `whatis` of a symbol or an expression.
#[derive(Debug, Serialize, Deserialize)]
pub struct TypeReport {
    /// `type = struct list_head {`…, or `struct task_struct init_task;`.
    pub text: String,
}

impl Report for TypeReport {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", self.text)
    }
}

fn program_error(cmd: &'static str, source: ProgramError) -> CommandError {
    CommandError::Program { cmd, source }
}

/// Parses `text` as an expression of `prog` (its typedef names make casts).
pub(crate) fn parse_expression(
    cmd: &'static str,
    prog: &Program,
    text: &str,
) -> Result<Expr, CommandError> {
    let types = prog.types();
    parse(text, &|w| types.lookup(w).is_ok())
        .map_err(|e| CommandError::Usage(format!("{cmd}: {text}: {e}")))
}

/// Runs `p`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::P, args)?;
    let prog = s.kernel()?;
    let text = f.positional.join(" ");
    if text.trim().is_empty() {
        return Err(CommandError::Usage("p: print what?".into()));
    }
    let opts = PrintOptions {
        hex: f.has('x'),
        ..PrintOptions::default()
    };
    if let Some(report) = per_cpu(s, prog, text.trim(), opts)? {
        return Ok(Box::new(report));
    }
    let expr = parse_expression("p", prog, &text)?;
    let print = || -> Result<PrintedValue, CommandError> {
        let value = evaluate(prog, &expr).map_err(|e| program_error("p", e))?;
        // crash names a variable printed on its own (`jiffies = $1 = ...`)
        let label = match (&expr, &value) {
            (Expr::Ident(name), Value::Object(_) | Value::NoDebug(_)) => Some(name.clone()),
            _ => None,
        };
        printed(s, prog, &value, label, opts).map_err(|e| program_error("p", e))
    };
    // -u: user addresses are read in the current context's address space, while the value
    // is read and written out
    let printed = if f.has('u') {
        let (space, _) = crate::tasks::current_user_space(s, "p")?;
        prog.with_user_space(std::sync::Arc::new(space), print)?
    } else {
        print()?
    };
    Ok(Box::new(PrintReport::Values {
        values: vec![printed],
    }))
}

/// `NAME` or `NAME:CPUS` of a per-CPU variable; `None` for anything else.
fn per_cpu(
    s: &Session,
    prog: &Program,
    text: &str,
    opts: PrintOptions,
) -> Result<Option<PrintReport>, CommandError> {
    let (name, spec) = match text.split_once(':') {
        Some((n, c)) => (n.trim(), Some(c.trim())),
        None => (text, None),
    };
    let is_name = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !is_name {
        return Ok(None);
    }
    if !is_per_cpu_symbol(prog, name) {
        return match spec {
            Some(_) if prog.symbols().address_of(name).is_some() => Err(CommandError::Usage(
                format!("p: {name} is not a per-CPU variable (NAME:CPUS is only for those)"),
            )),
            _ => Ok(None),
        };
    }
    let ncpus = cpu_count(prog).map_err(|e| program_error("p", e))?;
    let var = prog.global(name);
    let Some(spec) = spec else {
        let base = prog
            .symbols()
            .address_of(name)
            .ok_or_else(|| program_error("p", ProgramError::NoSymbol(name.into())))?;
        let mut addresses = Vec::new();
        for cpu in 0..ncpus {
            let off = per_cpu_offset(prog, cpu).map_err(|e| program_error("p", e))?;
            addresses.push(PerCpuAddress {
                cpu,
                address: Hex(base.wrapping_add(off)),
            });
        }
        return Ok(Some(PrintReport::PerCpu {
            symbol: name.into(),
            declaration: var
                .ok()
                .map(|v| declaration(prog.types(), v.type_id(), name)),
            addresses,
        }));
    };
    let cpus = parse_cpus(spec, ncpus)
        .ok_or_else(|| CommandError::Usage(format!("p: invalid cpu specification: {spec}")))?;
    let var = var.map_err(|e| program_error("p", e))?;
    let base = var
        .address()
        .ok_or_else(|| CommandError::Usage(format!("p: {name} is not in memory")))?;
    let mut values = Vec::new();
    for cpu in cpus {
        let off = per_cpu_offset(prog, cpu).map_err(|e| program_error("p", e))?;
        let obj = Object::reference(prog, var.type_id(), base.wrapping_add(off));
        let label = Some(format!("per_cpu({name}, {cpu})"));
        values.push(
            printed(s, prog, &Value::Object(obj), label, opts)
                .map_err(|e| program_error("p", e))?,
        );
    }
    Ok(Some(PrintReport::Values { values }))
}

/// crash's CPU list: `a` (or `all`) for every CPU, else numbers and ranges (`0,2-3`), each
/// below `ncpus`.
fn parse_cpus(spec: &str, ncpus: u32) -> Option<Vec<u32>> {
    if spec == "a" || spec == "all" {
        return Some((0..ncpus).collect());
    }
    let mut cpus = Vec::new();
    for part in spec.split(',') {
        let (a, b): (u32, u32) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let c = part.trim().parse().ok()?;
                (c, c)
            }
        };
        if a > b || b >= ncpus {
            return None;
        }
        cpus.extend(a..=b);
    }
    (!cpus.is_empty()).then_some(cpus)
}

/// A value as `p` prints it, with the next history number.
fn printed(
    s: &Session,
    prog: &Program,
    value: &Value<'_>,
    label: Option<String>,
    opts: PrintOptions,
) -> Result<PrintedValue, ProgramError> {
    let text = value_text(prog, value, opts)?;
    let (type_name, address) = match value {
        Value::Object(o) => (declaration(prog.types(), o.type_id(), ""), o.address()),
        Value::Int { signed: true, .. } => ("long".into(), None),
        Value::Int { signed: false, .. } => ("unsigned long".into(), None),
        Value::Bytes(b) => (format!("char [{}]", b.len() + 1), None),
        Value::NoDebug(n) => (n.type_name(), None),
    };
    let value = match value {
        Value::Object(o) => structured(o, 0, &mut MAX_JSON_VALUES.clone()),
        Value::Int {
            value,
            signed: true,
        } => (*value as i64).into(),
        Value::Int { value, .. } => (*value).into(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned().into(),
        Value::NoDebug(n) => format!("{:#x}", n.address).into(),
    };
    Ok(PrintedValue {
        label,
        history: s.next_history(),
        type_name,
        address,
        text,
        value,
    })
}

/// gdb's text of a value after `$N = `: a pointer with its type (`(struct task_struct *)
/// 0x… <init_task>`), a function as `{void (void)} 0x… <schedule>`, the rest as members print.
fn value_text(prog: &Program, v: &Value<'_>, opts: PrintOptions) -> Result<String, ProgramError> {
    let o = match v {
        Value::Int { value, .. } if opts.hex => return Ok(format!("{value:#x}")),
        Value::Int {
            value,
            signed: true,
        } => return Ok((*value as i64).to_string()),
        Value::Int { value, .. } => return Ok(value.to_string()),
        Value::Bytes(b) => return Ok(format_string(b)),
        Value::NoDebug(n) => return no_debug_text(prog, n),
        Value::Object(o) => o,
    };
    let types = prog.types();
    let (_, t) = types.resolve(o.type_id())?;
    match t.kind {
        TypeKind::Pointer { target } => {
            let body = format_value(o, opts, 0)?;
            // gdb gives a char pointer's string without the type
            if is_char(prog, target) {
                Ok(body)
            } else {
                Ok(format!("({}) {body}", declaration(types, o.type_id(), "")))
            }
        }
        TypeKind::Function { .. } => {
            let addr = o.address().unwrap_or(0);
            let mut text = format!("{{{}}} {addr:#x}", declaration(types, o.type_id(), ""));
            if let Some((sym, off)) = prog.symbols().by_addr(addr) {
                text += &match off {
                    0 => format!(" <{}>", sym.name),
                    _ => format!(" <{}+{off}>", sym.name),
                };
            }
            Ok(text)
        }
        _ => format_value(o, opts, 0),
    }
}

/// gdb's text of a symbol without a type: a function `{<text variable, no debug info>} 0x…
/// <name>`; a variable has no value to print until it is cast.
fn no_debug_text(prog: &Program, n: &NoDebug) -> Result<String, ProgramError> {
    let at = match prog.symbols().by_addr(n.address) {
        Some((sym, 0)) => format!(" <{}>", sym.name),
        Some((sym, off)) => format!(" <{}+{off}>", sym.name),
        None => String::new(),
    };
    match n.text {
        true => Ok(format!("{{{}}} {:#x}{at}", n.type_name(), n.address)),
        false => Err(ProgramError::NoType(n.name.clone())),
    }
}

fn is_char(prog: &Program, ty: TypeId) -> bool {
    prog.types()
        .resolve(ty)
        .is_ok_and(|(_, t)| matches!(t.kind, TypeKind::Int { size: 1, .. }))
}

/// The value of `o` as JSON: integers as numbers, pointers as `"0x…"`, enums by name, `char`
/// arrays as strings (up to the NUL), other arrays as lists, structs and unions as maps (an
/// anonymous member's members merged in). Unreadable parts, and parts beyond the bounds, are
/// null.
fn structured(o: &Object<'_>, depth: usize, budget: &mut usize) -> serde_json::Value {
    use serde_json::Value as J;
    if depth > MAX_JSON_DEPTH || *budget == 0 {
        return J::Null;
    }
    *budget -= 1;
    let prog = o.prog();
    let Ok((_, t)) = prog.types().resolve(o.type_id()) else {
        return J::Null;
    };
    match &t.kind {
        TypeKind::Int { is_bool: true, .. } => o.read_u64().map_or(J::Null, |v| J::Bool(v != 0)),
        TypeKind::Int { signed: true, .. } => o.read_i64().map_or(J::Null, J::from),
        TypeKind::Int { .. } => o.read_u64().map_or(J::Null, J::from),
        TypeKind::Enum { values, .. } => match o.read_i64() {
            Ok(v) => match values.iter().find(|(_, x)| *x == v) {
                Some((name, _)) => J::String(name.to_string()),
                None => J::from(v),
            },
            Err(_) => J::Null,
        },
        TypeKind::Pointer { .. } => o
            .read_u64()
            .map_or(J::Null, |v| J::String(format!("{v:#x}"))),
        TypeKind::Array { elem, len } => {
            if is_char(prog, *elem) {
                return o.read_string(*len as usize).map_or(J::Null, J::String);
            }
            let n = (*len).min(*budget as u64);
            J::Array(
                (0..n)
                    .map(|i| {
                        o.index(i)
                            .map_or(J::Null, |e| structured(&e, depth + 1, budget))
                    })
                    .collect(),
            )
        }
        TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
            let mut map = serde_json::Map::new();
            for m in members {
                let v = o
                    .field(m)
                    .map_or(J::Null, |f| structured(&f, depth + 1, budget));
                match (&m.name, v) {
                    (Some(n), v) => {
                        map.insert(n.to_string(), v);
                    }
                    (None, J::Object(inner)) => map.extend(inner),
                    (None, _) => {}
                }
            }
            J::Object(map)
        }
        TypeKind::Function { .. } => o
            .address()
            .map_or(J::Null, |a| J::String(format!("{a:#x}"))),
        _ => J::Null,
    }
}

/// Runs `ptype`.
pub fn run_ptype(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::PTYPE, args)?;
    let prog = s.kernel()?;
    let text = f.positional.join(" ");
    if text.trim().is_empty() {
        return Err(CommandError::Usage(
            "ptype: which type or expression?".into(),
        ));
    }
    let body = match type_named(prog, &text) {
        Some(ty) => expanded(prog, ty),
        None => {
            let expr = parse_expression("ptype", prog, &text)?;
            let value = evaluate(prog, &expr).map_err(|e| program_error("ptype", e))?;
            match value {
                Value::Object(o) => expanded(prog, o.type_id()),
                // gdb's ptype of a function without a type is `int (void)`
                Value::NoDebug(n) if n.text => Ok("int (void)".into()),
                Value::NoDebug(n) => Ok(n.type_name()),
                other => Ok(int_type_name(&other).into()),
            }
        }
    }
    .map_err(|e| program_error("ptype", e))?;
    Ok(Box::new(TypeReport {
        text: format!("type = {body}"),
    }))
}

/// The type `text` names, if it names one (`struct list_head`, `u64 *`, `unsigned long`).
fn type_named(prog: &Program, text: &str) -> Option<TypeId> {
    let text = text.trim();
    let base = text.trim_end_matches(|c: char| c == '*' || c.is_whitespace());
    let stars = text[base.len()..].chars().filter(|c| *c == '*').count() as u32;
    let t = TypeName::new(base.split_whitespace().collect::<Vec<_>>().join(" "), stars);
    resolve_type(prog, &t)
        .ok()
        .or_else(|| (stars == 0).then(|| crate::structs::find_aggregate(prog, base, None))?)
}

/// A type as `ptype` expands it: typedefs followed, a struct, union or enum written out in
/// full (also behind pointers: `struct rq {`…`} *`).
fn expanded(prog: &Program, ty: TypeId) -> Result<String, ProgramError> {
    let types = prog.types();
    let (rid, t) = types.resolve(ty)?;
    let mut stars = String::new();
    let (mut cur, mut kind) = (rid, t);
    for _ in 0..8 {
        let TypeKind::Pointer { target } = kind.kind else {
            break;
        };
        let (next, nt) = types.resolve(target)?;
        if !matches!(
            nt.kind,
            TypeKind::Pointer { .. }
                | TypeKind::Struct { .. }
                | TypeKind::Union { .. }
                | TypeKind::Enum { .. }
        ) {
            break;
        }
        stars.push('*');
        cur = next;
        kind = nt;
    }
    match kind.kind {
        TypeKind::Struct { .. } | TypeKind::Union { .. } | TypeKind::Enum { .. } => {
            let def = definition(types, cur, false)?;
            Ok(if stars.is_empty() {
                def
            } else {
                format!("{def} {stars}")
            })
        }
        _ => Ok(declaration(types, rid, "")),
    }
}

fn int_type_name(v: &Value<'_>) -> &'static str {
    match v {
        Value::Int { signed: false, .. } => "unsigned long",
        Value::Bytes(_) => "char []",
        _ => "long",
    }
}

/// `whatis NAME` of a variable or function (`struct task_struct init_task;`,
/// `void schedule(void);`), or `type = T` of an expression; `None` when `text` is neither a
/// symbol nor an expression that evaluates.
pub(crate) fn whatis(prog: &Program, text: &str) -> Result<TypeReport, CommandError> {
    let name = text.trim();
    let is_name = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if is_name && prog.types().find_enumerator(name).is_none() {
        // a symbol without a type goes on to the expression: gdb's `<data variable, no debug
        // info>`
        if let Ok(o) = prog.global(name).or_else(|_| prog.function(name)) {
            return Ok(TypeReport {
                text: format!("{};", declaration(prog.types(), o.type_id(), name)),
            });
        }
    }
    let expr = parse_expression("whatis", prog, text)?;
    let value = evaluate(prog, &expr).map_err(|e| program_error("whatis", e))?;
    let ty = match &value {
        Value::Object(o) => declaration(prog.types(), o.type_id(), ""),
        Value::NoDebug(n) => n.type_name(),
        other => int_type_name(other).into(),
    };
    Ok(TypeReport {
        text: format!("type = {ty}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpus("a", 3), Some(vec![0, 1, 2]));
        assert_eq!(parse_cpus("all", 2), Some(vec![0, 1]));
        assert_eq!(parse_cpus("1", 2), Some(vec![1]));
        assert_eq!(parse_cpus("0,2-3", 4), Some(vec![0, 2, 3]));
        assert_eq!(parse_cpus("2", 2), None);
        assert_eq!(parse_cpus("3-1", 4), None);
        assert_eq!(parse_cpus("x", 4), None);
        assert_eq!(parse_cpus("", 4), None);
    }
}
