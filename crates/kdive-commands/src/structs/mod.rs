//! `struct`, `union`, `*`, `task` and `whatis`: kernel data through its types, printed as crash
//! prints it (gdb's pretty format for values, `ptype`'s for definitions).
//!
//! - `struct NAME[.member[,member...]] [-o] [-x|-d] [-r] [-p] [-u|-f] [-l OFFSET] [-c COUNT]
//!   [ADDRESS|SYMBOL [COUNT]]`: without an address the definition and `SIZE:`; with one, the
//!   contents (or the named members) of COUNT consecutive structures (a negative COUNT: the
//!   structures that end with the one at ADDRESS), or with `-r` their bytes as `rd` shows them.
//!   `-l` says ADDRESS points at a member; `-u` reads the current context's user memory, `-f`
//!   the dump file at an offset; `-p` follows pointer members ([`deref`]).
//! - `task [-R member[,member...]] [-x|-d] [PID|TASK ...]`: the `task_struct` of tasks (the
//!   current one by default).
//! - `whatis NAME`: the definition of a struct, union, enum or typedef (variables, functions
//!   and expressions are `print`'s).

use kdive_debuginfo::{NameKind, TypeId, TypeKind};
use kdive_program::print::value::{format_value_in, PrintBudget};
use kdive_program::print::{definition, PrintOptions};
use kdive_program::{Object, Program};
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::task_header;
use crate::table;
use crate::tasks::tasks_named;
use crate::{CommandError, Report, Session, TextOptions};

pub mod deref;
pub mod type_search;
pub use deref::{Dereference, PointerKind, Target};
pub use type_search::FoundType;

/// Most structures one `struct ... COUNT` prints.
const MAX_COUNT: u64 = 4096;
/// Most bytes `struct -r` shows of one structure.
const MAX_RAW: u64 = 1 << 20;

/// One printed member: its name (`None` for an anonymous one) and gdb's text of its value.
#[derive(Debug, Serialize, Deserialize)]
pub struct MemberValue {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub type_name: String,
    pub value: String,
    /// `-p`: the pointer followed (then shown instead of `name = value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deref: Option<Dereference>,
}

/// One structure's contents.
#[derive(Debug, Serialize, Deserialize)]
pub struct StructValue {
    /// crash's header for `task` (`PID: ...`), none for `struct`.
    pub header: Option<String>,
    /// `struct task_struct`.
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// Only some members were asked for (printed without the enclosing braces).
    pub selected: bool,
    pub members: Vec<MemberValue>,
}

impl StructValue {
    /// Writes the contents as crash prints them: `struct NAME {` ... `}`, or the chosen
    /// members' `  name = value,` lines (without the `task` header).
    pub fn write_body(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.selected {
            for m in &self.members {
                match &m.deref {
                    Some(d) => d.write(out)?,
                    None => writeln!(out, "  {} = {},", m.name.as_deref().unwrap_or(""), m.value)?,
                }
            }
            return Ok(());
        }
        writeln!(out, "{} {{", self.type_name)?;
        let n = self.members.len();
        for (i, m) in self.members.iter().enumerate() {
            if let Some(d) = &m.deref {
                d.write(out)?;
                continue;
            }
            out.write_all(b"  ")?;
            if let Some(name) = &m.name {
                write!(out, "{name} = ")?;
            }
            out.write_all(m.value.as_bytes())?;
            out.write_all(if i + 1 < n { b",\n" } else { b"\n" })?;
        }
        writeln!(out, "}}")
    }
}

/// What `struct` / `task` print: contents, raw bytes, or a definition.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StructReport {
    Values {
        structs: Vec<StructValue>,
        /// Where the structures were read (`-u`, `-f`).
        #[serde(default)]
        memory: StructMemory,
    },
    /// `-r`: each structure's (or its one member's) bytes, as `rd` shows them.
    Raw {
        blocks: Vec<RawBlock>,
        #[serde(default)]
        memory: StructMemory,
        /// The byte order the values were read in.
        endian: crate::rd::ByteOrder,
    },
    Definition {
        text: String,
        size: Option<u64>,
    },
    /// `whatis -r`/`-m`: the named types of those sizes, or holding such a member.
    Search {
        /// `-r`: the smallest and largest size asked for (the same for one size).
        sizes: Option<(u64, u64)>,
        /// `-m`: what the member's type name contains.
        member: Option<String>,
        types: Vec<FoundType>,
    },
}

/// Where `struct` reads a structure at an address from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StructMemory {
    /// Kernel virtual memory.
    #[default]
    Kernel,
    /// `-u`: the current context's user memory.
    User,
    /// `-f`: the dump file's bytes, the address an offset in it.
    DumpFile,
}

/// `struct -r`: the bytes of one structure or member, as `rd` shows them.
#[derive(Debug, Serialize, Deserialize)]
pub struct RawBlock {
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// Bytes per value: 1, 2 or 4 for a member of exactly that size, else 8.
    pub size: usize,
    /// The values from `address` on (the last 8-byte value may reach past the structure, as
    /// crash's does).
    pub values: Vec<crate::Hex>,
}

/// Runs `struct` (`kind` = struct), `union` (union) or `*` (either).
pub fn run(
    s: &Session,
    args: &[String],
    kind: Option<NameKind>,
) -> Result<Box<dyn Report>, CommandError> {
    let entry = match kind {
        Some(NameKind::Struct) => &table::STRUCT,
        Some(NameKind::Union) => &table::UNION,
        _ => &table::POINTER,
    };
    let cmd = entry.name;
    let f = Flags::parse(entry, args)?;
    let prog = s.kernel()?;
    let mut words = f.positional.iter();
    let spec = words
        .next()
        .ok_or_else(|| CommandError::Usage(format!("{cmd}: which {cmd}?")))?;
    let (name, members) = match spec.split_once('.') {
        Some((n, m)) => (n, Some(m)),
        None => (spec.as_str(), None),
    };
    let ty = find_aggregate(prog, name, kind).ok_or_else(|| {
        CommandError::Usage(format!("{cmd}: invalid data structure reference: {name}"))
    })?;
    let members: Option<Vec<&str>> = members.map(|m| m.split(',').collect());
    if members
        .as_ref()
        .is_some_and(|m| m.iter().any(|m| m.is_empty()))
    {
        return Err(CommandError::Usage(format!(
            "{cmd}: invalid format: {spec}"
        )));
    }
    let memory = match (f.has('u'), f.has('f')) {
        (true, true) => {
            return Err(CommandError::Usage(format!(
                "{cmd}: -u and -f are mutually exclusive"
            )))
        }
        (true, _) => StructMemory::User,
        (_, true) => StructMemory::DumpFile,
        _ => StructMemory::Kernel,
    };
    let Some(at) = words.next() else {
        if f.has('c') || f.has('r') || f.has('l') || f.has('p') || memory != StructMemory::Kernel {
            return Err(CommandError::Usage(format!(
                "{cmd}: -c, -r, -l, -p, -u and -f need an address"
            )));
        }
        return Ok(Box::new(definition_report(
            prog,
            ty,
            members.as_deref(),
            f.has('o'),
        )?));
    };
    if f.has('o') {
        return Err(CommandError::Usage(format!(
            "{cmd}: -o with an address is not implemented yet"
        )));
    }
    let addr = match memory {
        // an offset in the file: decimal unless it reads as hexadecimal only, as crash's
        StructMemory::DumpFile => parse_number(at),
        _ => address_of(prog, at),
    }
    .ok_or_else(|| CommandError::Usage(format!("{cmd}: invalid address or symbol: {at}")))?;
    let count = match (words.next().map(String::as_str), f.value('c')) {
        (Some(_), Some(_)) => {
            return Err(CommandError::Usage(format!("{cmd}: too many arguments!")))
        }
        (Some(c), _) | (_, Some(c)) => c
            .parse::<i64>()
            .ok()
            .filter(|c| (1..=MAX_COUNT).contains(&c.unsigned_abs()))
            .ok_or_else(|| CommandError::Usage(format!("{cmd}: invalid count: {c}")))?,
        (None, None) => 1,
    };
    // -l: ADDR points at a member (`list_head` of a list, usually); the structure starts before
    let addr = match f.value('l') {
        Some(l) => addr.wrapping_sub(
            member_offset(prog, l)
                .ok_or_else(|| CommandError::Usage(format!("{cmd}: invalid -l option: {l}")))?,
        ),
        None => addr,
    };
    let size = prog
        .types()
        .size_of(ty)
        .map_err(|e| program_error(cmd, e.into()))?;
    // a negative count: the structures that end with the one at ADDR, in address order
    let first = if count < 0 {
        addr.wrapping_sub((count.unsigned_abs() - 1).wrapping_mul(size))
    } else {
        addr
    };
    let starts: Vec<u64> = (0..count.unsigned_abs())
        .map(|i| first.wrapping_add(i.wrapping_mul(size)))
        .collect();
    let build = || -> Result<StructReport, CommandError> {
        if f.has('r') {
            return raw_blocks(prog, ty, &starts, members.as_deref(), cmd).map(|blocks| {
                StructReport::Raw {
                    endian: s.dump().meta().endian.into(),
                    blocks,
                    memory,
                }
            });
        }
        let opts = options(&f);
        let mut structs = Vec::new();
        for &at in &starts {
            let obj = Object::reference(prog, ty, at);
            let mut value = struct_value(&obj, members.as_deref(), opts, None)
                .map_err(|e| program_error(cmd, e))?;
            if f.has('p') {
                deref::follow_pointers(&obj, &mut value, members.as_deref(), opts);
            }
            structs.push(value);
        }
        Ok(StructReport::Values { structs, memory })
    };
    let report = match memory {
        StructMemory::Kernel => build(),
        StructMemory::User => {
            let (space, _) = crate::tasks::current_user_space(s, cmd)?;
            prog.with_user_space(std::sync::Arc::new(space), build)
        }
        StructMemory::DumpFile => {
            if first >> 63 != 0 {
                return Err(CommandError::Usage(format!(
                    "{cmd}: -f: invalid dump file offset: {at}"
                )));
            }
            let file = crate::dumpfile::DumpFileBytes::open(s, cmd)?;
            prog.with_user_space(std::sync::Arc::new(file), build)
        }
    }?;
    Ok(Box::new(report))
}

/// A number as crash's `stol` reads one: decimal when it is all digits, else hexadecimal (with
/// or without `0x`).
fn parse_number(word: &str) -> Option<u64> {
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
        return word.parse().ok();
    }
    u64::from_str_radix(
        word.strip_prefix("0x")
            .or_else(|| word.strip_prefix("0X"))
            .unwrap_or(word),
        16,
    )
    .ok()
}

/// `-l`: a member's offset, given as a number or as `struct.member` (`task_struct.tasks`).
fn member_offset(prog: &Program, spec: &str) -> Option<u64> {
    if let Some(n) = parse_number(spec) {
        return Some(n);
    }
    let (name, path) = spec.split_once('.')?;
    let ty = find_aggregate(prog, name, None)?;
    kdive_program::object::offset_of(prog, ty, path).ok()
}

/// `-r`: the bytes of each structure at `starts` (or of its one chosen member) as `rd` reads
/// them: 8-byte values rounded up, or one value when the member is 1, 2 or 4 bytes.
fn raw_blocks(
    prog: &Program,
    ty: TypeId,
    starts: &[u64],
    members: Option<&[&str]>,
    cmd: &'static str,
) -> Result<Vec<RawBlock>, CommandError> {
    let (offset, len) = match members {
        Some([one]) => {
            let off = kdive_program::object::offset_of(prog, ty, one)
                .map_err(|e| program_error(cmd, e))?;
            let m = Object::reference(prog, ty, 0)
                .member(one)
                .and_then(|m| m.size())
                .map_err(|e| program_error(cmd, e))?;
            (off, m)
        }
        Some(_) => {
            return Err(CommandError::Usage(format!(
                "{cmd}: only one structure member allowed with -r"
            )))
        }
        None => (
            0,
            prog.types()
                .size_of(ty)
                .map_err(|e| program_error(cmd, e.into()))?,
        ),
    };
    if len > MAX_RAW {
        return Err(CommandError::Usage(format!(
            "{cmd}: -r: {len} bytes is more than it shows; use rd -r FILE"
        )));
    }
    let size = match len {
        1 | 2 | 4 => len as usize,
        _ => 8,
    };
    let endian = prog
        .dump()
        .map_or(crate::rd::ByteOrder::Little, |d| d.meta().endian.into());
    let mut blocks = Vec::new();
    for &start in starts {
        let address = start.wrapping_add(offset);
        let mut buf = vec![0u8; len.div_ceil(size as u64) as usize * size];
        prog.read(address, &mut buf)
            .map_err(|e| program_error(cmd, e))?;
        blocks.push(RawBlock {
            address,
            size,
            values: crate::rd::values(&buf, size, endian),
        });
    }
    Ok(blocks)
}

/// Runs `task`.
pub fn run_task(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::TASK, args)?;
    let prog = s.kernel()?;
    let words = f.positional.as_slice();
    let members: Option<Vec<&str>> = f.value('R').map(|m| m.split(',').collect());
    let ty = prog
        .type_("struct task_struct")
        .map_err(|e| program_error("task", e))?;
    let mut structs = Vec::new();
    // crash also shows the thread_info, which x86_64 keeps at the start of the task
    let thread_info = members.is_none() && prog.types().has_member(ty, "thread_info");
    for t in tasks_named(s, "task", words)? {
        let obj = Object::reference(prog, ty, t.addr);
        let header = task_header(t.pid, t.addr, t.cpu, &t.comm);
        structs.push(
            struct_value(&obj, members.as_deref(), options(&f), Some(header))
                .map_err(|e| program_error("task", e))?,
        );
        if thread_info {
            let ti = obj
                .member("thread_info")
                .and_then(|ti| struct_value(&ti, None, options(&f), None))
                .map_err(|e| program_error("task", e))?;
            structs.push(ti);
        }
    }
    Ok(Box::new(StructReport::Values {
        structs,
        memory: StructMemory::Kernel,
    }))
}

/// Runs `whatis`.
pub fn run_whatis(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::WHATIS, args)?;
    let prog = s.kernel()?;
    if f.has('r') || f.has('m') {
        return whatis_search(prog, &f);
    }
    let name = f.positional.join(" ");
    if name.is_empty() {
        return Err(CommandError::Usage("whatis: which type?".into()));
    }
    let types = prog.types();
    let bare = name.trim_start_matches("enum ").trim();
    let found = types
        .lookup(&name)
        .ok()
        .or_else(|| find_aggregate(prog, &name, None))
        .or_else(|| types.find(NameKind::Enum, bare));
    match found {
        Some(ty) => Ok(Box::new(definition_report(prog, ty, None, f.has('o'))?)),
        None => Ok(Box::new(crate::print::whatis(prog, &name)?)),
    }
}

/// `whatis -r SIZE|LOW-HIGH` and/or `-m TYPE`.
fn whatis_search(prog: &Program, f: &Flags) -> Result<Box<dyn Report>, CommandError> {
    if !f.positional.is_empty() {
        return Err(CommandError::Usage(
            "whatis: -r and -m take no other argument".into(),
        ));
    }
    let sizes = match f.value('r') {
        None => None,
        Some(r) => {
            let (low, high) = r.split_once('-').unwrap_or((r, r));
            match (parse_number(low), parse_number(high)) {
                (Some(l), Some(h)) => Some((l, h)),
                _ => {
                    return Err(CommandError::Usage(format!(
                        "whatis: invalid size or range: {r}"
                    )))
                }
            }
        }
    };
    let member = f.value('m').map(str::to_string);
    let types = type_search::search(prog.types(), sizes, member.as_deref());
    Ok(Box::new(StructReport::Search {
        sizes,
        member,
        types,
    }))
}

/// `ty` without `const`/`volatile` (typedefs are kept): the type as its declaration spells it.
pub(crate) fn unqualified(
    types: &kdive_debuginfo::Types,
    ty: TypeId,
) -> Option<(TypeId, std::sync::Arc<kdive_debuginfo::Type>)> {
    let mut id = ty;
    for _ in 0..8 {
        let t = types.get(id).ok()?;
        match t.kind {
            TypeKind::Qualified { target, .. } => id = target,
            _ => return Some((id, t)),
        }
    }
    None
}

pub(crate) fn options(f: &Flags) -> PrintOptions {
    PrintOptions {
        hex: f.has('x'),
        ..PrintOptions::default()
    }
}

fn program_error(cmd: &'static str, source: kdive_program::ProgramError) -> CommandError {
    CommandError::Program { cmd, source }
}

/// A struct or union by name (`task_struct`, `struct task_struct`, a typedef of one).
pub(crate) fn find_aggregate(prog: &Program, name: &str, kind: Option<NameKind>) -> Option<TypeId> {
    let types = prog.types();
    let bare = name
        .trim_start_matches("struct ")
        .trim_start_matches("union ")
        .trim();
    let kinds: &[NameKind] = match kind {
        Some(k) => &[k, NameKind::Typedef],
        None => &[NameKind::Struct, NameKind::Union, NameKind::Typedef],
    };
    kinds.iter().find_map(|&k| {
        let id = types.find(k, bare)?;
        let (_, t) = types.resolve(id).ok()?;
        matches!(t.kind, TypeKind::Struct { .. } | TypeKind::Union { .. }).then_some(id)
    })
}

/// Whether `name` names a struct or union (or a typedef of one).
pub fn is_aggregate(prog: &Program, name: &str) -> bool {
    find_aggregate(prog, name, None).is_some()
}

/// A hex address (with or without `0x`) or a symbol's address.
pub(crate) fn address_of(prog: &Program, word: &str) -> Option<u64> {
    if let Some(a) = prog.symbols().address_of(word) {
        return Some(a);
    }
    u64::from_str_radix(word.trim_start_matches("0x"), 16).ok()
}

/// The members (all, or the named ones) of the structure `obj`, each as gdb prints it.
pub(crate) fn struct_value(
    obj: &Object<'_>,
    members: Option<&[&str]>,
    opts: PrintOptions,
    header: Option<String>,
) -> kdive_program::Result<StructValue> {
    let prog = obj.prog();
    let types = prog.types();
    let (rid, t) = types.resolve(obj.type_id())?;
    let address = obj.address().unwrap_or(0);
    let type_name = kdive_program::object::type_name(prog, rid);
    // read the whole structure first: a missing page is the command's error, not a member's
    obj.read_bytes()?;
    // one budget for all the members: corrupt types can make each of thousands of members
    // overlap the whole structure
    let budget = PrintBudget::new();
    let mut out = Vec::new();
    match members {
        Some(names) => {
            for path in names {
                let m = obj.member(path)?;
                out.push(MemberValue {
                    // crash names a nested member by its whole path (`se.on_rq = 0,`)
                    name: Some(path.to_string()),
                    type_name: m.type_name(),
                    value: format_value_in(&m, opts, 2, &budget)?,
                    deref: None,
                });
            }
        }
        None => {
            let all = match &t.kind {
                TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => members,
                _ => &Vec::new(),
            };
            for m in all {
                let field = obj.field(m)?;
                out.push(MemberValue {
                    name: m.name.as_deref().map(str::to_string),
                    type_name: field.type_name(),
                    value: format_value_in(&field, opts, 2, &budget)
                        .unwrap_or_else(|e| format!("<error: {e}>")),
                    deref: None,
                });
            }
        }
    }
    Ok(StructValue {
        header,
        type_name,
        address,
        selected: members.is_some(),
        members: out,
    })
}

/// A definition and its size; with members, only those members and their offsets.
fn definition_report(
    prog: &Program,
    ty: TypeId,
    members: Option<&[&str]>,
    offsets: bool,
) -> Result<StructReport, CommandError> {
    let types = prog.types();
    // crash gives no size under an enum's definition
    let is_enum = types
        .get(ty)
        .is_ok_and(|t| matches!(t.kind, TypeKind::Enum { .. }));
    let size = types.size_of(ty).ok().filter(|_| !is_enum);
    let text = match members {
        None => definition(types, ty, offsets).map_err(|e| program_error("struct", e))?,
        Some(names) => {
            let (rid, _) = types
                .resolve(ty)
                .map_err(|e| program_error("struct", e.into()))?;
            let mut text = format!("{} {{\n", kdive_program::object::type_name(prog, rid));
            for path in names {
                let off = kdive_program::object::offset_of(prog, rid, path)
                    .map_err(|e| program_error("struct", e))?;
                let obj = Object::reference(prog, rid, 0)
                    .member(path)
                    .map_err(|e| program_error("struct", e))?;
                let last = path.rsplit('.').next().unwrap_or(path);
                let decl = kdive_program::print::declaration(types, obj.type_id(), last);
                text += &format!("  [{off}] {decl};\n");
            }
            text + "}"
        }
    };
    Ok(StructReport::Definition {
        text,
        size: members.is_none().then_some(size).flatten(),
    })
}

impl Report for StructReport {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        match self {
            StructReport::Definition { text, size } => {
                writeln!(out, "{text}")?;
                if let Some(n) = size {
                    writeln!(out, "SIZE: {n}")?;
                }
            }
            StructReport::Search { types, .. } => type_search::write_table(types, out)?,
            StructReport::Raw { blocks, endian, .. } => {
                let opts = crate::rd::RdOptions {
                    size: 8,
                    radix: crate::rd::Radix::Hex,
                    ascii_column: true,
                    symbols: crate::rd::Symbolic::None,
                    network_order: false,
                };
                for (i, b) in blocks.iter().enumerate() {
                    if i > 0 {
                        writeln!(out)?;
                    }
                    let opts = crate::rd::RdOptions {
                        size: b.size,
                        ..opts
                    };
                    crate::rd::write_words(out, b.address, &b.values, &[], opts, *endian)?;
                }
            }
            StructReport::Values { structs, .. } => {
                for (i, s) in structs.iter().enumerate() {
                    // a blank line between structures: a task's thread_info follows its
                    // task_struct after one, and so does each of COUNT structures the one
                    // before it
                    if i > 0 {
                        writeln!(out)?;
                    }
                    if let Some(h) = &s.header {
                        writeln!(out, "{h}")?;
                    }
                    s.write_body(out)?;
                }
                if structs.first().is_some_and(|s| s.header.is_some()) {
                    writeln!(out)?;
                }
            }
        }
        Ok(())
    }
}
