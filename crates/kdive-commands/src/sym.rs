//! `sym`: an address's symbol, or a symbol's address, as crash prints them; with a vmlinux (or a
//! module's debug file) also the source file and line.

use std::collections::HashMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::rd::parse_hex;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// One answer of `sym`.
#[derive(Debug, Serialize, Deserialize)]
pub struct SymRow {
    #[serde(with = "crate::hex")]
    pub addr: u64,
    pub name: String,
    /// Bytes from the symbol's start.
    pub offset: u64,
    /// nm-style type letter.
    pub kind: char,
    pub module: Option<String>,
    /// `file: line` of the address (the line-table row: the innermost inlined code).
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// What `sym` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Sym {
    pub symbols: Vec<SymRow>,
    pub errors: Vec<String>,
}

/// One line of `sym -m`: a symbol, or a region's start or end (`MODULE TEXT START: hung`).
#[derive(Debug, Serialize, Deserialize)]
pub struct ModuleLine {
    #[serde(with = "crate::hex")]
    pub addr: u64,
    /// The symbol's type letter; `None` for a region bound.
    pub kind: Option<char>,
    pub name: String,
    /// The module, where the listing names it (`sym -q`).
    pub module: Option<String>,
}

/// What `sym -m NAME` (the module's regions and the symbols in each), `sym -l` (every
/// symbol: the kernel's by address, then each module's as `-m` lists it) and `sym -q STRING`
/// (the symbols whose names contain it) report.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModuleSyms {
    pub lines: Vec<ModuleLine>,
    /// `sym -q` found nothing.
    #[serde(default)]
    pub none_found: bool,
}

impl Report for ModuleSyms {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for l in &self.lines {
            match l.kind {
                Some(k) => write!(out, "{:x} ({k}) {}", l.addr, l.name)?,
                None => write!(out, "{:x} {}", l.addr, l.name)?,
            }
            match &l.module {
                Some(m) => writeln!(out, " [{m}]")?,
                None => writeln!(out)?,
            }
        }
        if self.none_found {
            writeln!(out, "(none found)")?;
        }
        Ok(())
    }
}

/// `sym -m NAME`: as crash lists a module, region by region (`mem[]` kernels: TEXT, DATA,
/// RODATA... each up to its last byte; older ones: the core layout, then the init layout).
fn module_listing(s: &Session, name: &str) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let program_err = |source| CommandError::Program { cmd: "sym", source };
    let (list, _) = kdive_linux::module::modules(prog, s.walk_limit).map_err(program_err)?;
    let m = list
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| CommandError::Usage(format!("sym: {name}: no such module")))?;
    Ok(Box::new(ModuleSyms {
        lines: module_lines(prog, m)?,
        none_found: false,
    }))
}

/// `sym -l`: the kernel's symbols by address (per-CPU offsets first), then every module's;
/// `sym -M` (`kernel` false): only the modules'.
fn listing(s: &Session, kernel: bool) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let mut lines: Vec<ModuleLine> = Vec::new();
    if kernel {
        let percpu = prog.debug().map(|d| d.percpu_letters()).unwrap_or_default();
        lines.extend(
            prog.symbols()
                .kernel()
                .all()
                .into_iter()
                .map(|sym| ModuleLine {
                    addr: sym.addr,
                    kind: Some(letter(&percpu, &sym)),
                    name: sym.name.to_string(),
                    module: None,
                }),
        );
    }
    let (mut list, _) = kdive_linux::module::modules(prog, s.walk_limit)
        .map_err(|source| CommandError::Program { cmd: "sym", source })?;
    // crash keeps its modules in the order of their (core, not init) base addresses, not the
    // kernel's list order
    list.sort_by_key(|m| {
        use kdive_linux::module::RegionKind::{InitData, InitRoData, InitText};
        m.regions
            .iter()
            .filter(|r| !matches!(r.kind, InitText | InitData | InitRoData))
            .map(|r| r.base)
            .min()
            .unwrap_or(m.addr)
    });
    for m in &list {
        lines.extend(module_lines(prog, m)?);
    }
    Ok(Box::new(ModuleSyms {
        lines,
        none_found: false,
    }))
}

/// A kernel symbol's nm letter as crash shows it: a per-CPU variable, which kallsyms calls
/// absolute (`A`), gets its letter from the vmlinux's symbol table when one is attached.
fn letter(percpu: &HashMap<String, char>, sym: &kdive_debuginfo::Symbol) -> char {
    match sym.kind {
        'A' => percpu.get(&*sym.name).copied().unwrap_or('A'),
        k => k,
    }
}

/// `sym -q STRING`: every symbol whose name contains STRING, the kernel's then the modules'.
fn query(s: &Session, what: &str) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let percpu = prog.debug().map(|d| d.percpu_letters()).unwrap_or_default();
    let mut lines: Vec<ModuleLine> = Vec::new();
    let mut add = |addr: u64, kind: char, name: &str, module: Option<&str>| {
        if name.contains(what) {
            lines.push(ModuleLine {
                addr,
                kind: Some(kind),
                name: name.to_string(),
                module: module.map(String::from),
            });
        }
    };
    for sym in prog.symbols().kernel().all() {
        add(sym.addr, letter(&percpu, &sym), &sym.name, None);
    }
    let (list, _) = kdive_linux::module::modules(prog, s.walk_limit)
        .map_err(|source| CommandError::Program { cmd: "sym", source })?;
    for m in &list {
        let syms = kdive_linux::module::module_symbols(prog, m)
            .map_err(|source| CommandError::Program { cmd: "sym", source })?;
        let mut located: Vec<_> = syms.iter().filter(|s| !s.absolute).collect();
        located.sort_by_key(|s| s.addr);
        for sym in located {
            add(sym.addr, sym.kind, sym.name, Some(&m.name));
        }
    }
    let none_found = lines.is_empty();
    Ok(Box::new(ModuleSyms { lines, none_found }))
}

/// One module's lines as `sym -m` lists them.
fn module_lines(
    prog: &kdive_program::Program,
    m: &kdive_linux::module::Module,
) -> Result<Vec<ModuleLine>, CommandError> {
    use kdive_linux::module::{module_symbols, RegionKind};
    let name = m.name.as_str();
    let program_err = |source| CommandError::Program { cmd: "sym", source };
    let syms = module_symbols(prog, m).map_err(program_err)?;
    let mut located: Vec<_> = syms.iter().filter(|s| !s.absolute).collect();
    located.sort_by_key(|s| s.addr);
    let module_ty = prog.type_("struct module").map_err(program_err)?;
    // (label, start, end as printed, range) of each listed region
    let mut regions: Vec<(String, u64, u64, (u64, u64))> = Vec::new();
    if prog.types().has_member(module_ty, "mem") {
        for r in &m.regions {
            let label = r.kind.label();
            let end = r.base.saturating_add(r.size);
            regions.push((format!("MODULE {label}"), r.base, end - 1, (r.base, end)));
        }
    } else {
        for init in [false, true] {
            let parts: Vec<_> = m
                .regions
                .iter()
                .filter(|r| {
                    matches!(
                        r.kind,
                        RegionKind::InitText | RegionKind::InitData | RegionKind::InitRoData
                    ) == init
                })
                .collect();
            let (Some(start), Some(end)) = (
                parts.iter().map(|r| r.base).min(),
                parts.iter().map(|r| r.base.saturating_add(r.size)).max(),
            ) else {
                continue;
            };
            let label = if init { "MODULE INIT" } else { "MODULE" };
            // crash lists no symbols in the init layout
            let range = if init { (start, start) } else { (start, end) };
            regions.push((label.to_string(), start, end, range));
        }
    }
    let mut lines = Vec::new();
    for (label, start, end, (lo, hi)) in regions {
        lines.push(ModuleLine {
            addr: start,
            kind: None,
            name: format!("{label} START: {name}"),
            module: None,
        });
        lines.extend(
            located
                .iter()
                .filter(|s| s.addr >= lo && s.addr < hi)
                .map(|s| ModuleLine {
                    addr: s.addr,
                    kind: Some(s.kind),
                    name: s.name.to_string(),
                    module: None,
                }),
        );
        lines.push(ModuleLine {
            addr: end,
            kind: None,
            name: format!("{label} END: {name}"),
            module: None,
        });
    }
    Ok(lines)
}

/// Runs `sym ADDR|NAME ...`, or `sym -m MODULE`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::SYM, args)?;
    if let Some(name) = f.value('m') {
        return module_listing(s, name);
    }
    if let Some(what) = f.value('q') {
        return query(s, what);
    }
    if f.has('l') || f.has('M') {
        return listing(s, f.has('l'));
    }
    if f.positional.is_empty() {
        return Err(CommandError::Usage(
            "sym: give an address or a symbol name".into(),
        ));
    }
    let prog = s.kernel()?;
    let mut out = Sym {
        symbols: Vec::new(),
        errors: Vec::new(),
    };
    for w in &f.positional {
        let looked_up = match prog.symbols().by_name(w) {
            Some(sym) => Some((sym, 0)),
            None => match parse_hex(w) {
                Some(addr) => prog.symbols().by_addr(addr),
                None => {
                    out.errors.push(format!("sym: {w}: no such symbol"));
                    continue;
                }
            },
        };
        let Some((sym, offset)) = looked_up else {
            out.errors
                .push(format!("sym: {w}: no symbol at this address"));
            continue;
        };
        let (before, after) = if f.has('p') || f.has('n') {
            match neighbours(prog, &sym) {
                Some(n) => n,
                None => {
                    out.errors.push(format!(
                        "sym: {w}: -p and -n list the kernel's own symbols; {} is a module's",
                        sym.name
                    ));
                    continue;
                }
            }
        } else {
            (None, None)
        };
        if let Some(b) = before.filter(|_| f.has('p')) {
            out.symbols.push(SymRow::new(prog, &b, 0));
        }
        out.symbols.push(SymRow::new(prog, &sym, offset));
        if let Some(a) = after.filter(|_| f.has('n')) {
            out.symbols.push(SymRow::new(prog, &a, 0));
        }
    }
    Ok(Box::new(out))
}

/// The kernel symbols just before and just after `sym` in address order (`sym -p`, `sym -n`),
/// as crash takes its sorted table's neighbouring entries; `None` for a module's symbol.
fn neighbours(
    prog: &kdive_program::Program,
    sym: &kdive_debuginfo::Symbol,
) -> Option<(
    Option<kdive_debuginfo::Symbol>,
    Option<kdive_debuginfo::Symbol>,
)> {
    if sym.module.is_some() {
        return None;
    }
    let mut all = prog.symbols().kernel().all();
    all.sort_by_key(|s| s.addr);
    let at = all
        .iter()
        .position(|s| s.addr == sym.addr && s.name == sym.name)?;
    let before = at.checked_sub(1).map(|i| all[i].clone());
    let after = all.get(at + 1).cloned();
    Some((before, after))
}

impl SymRow {
    /// The row of `sym` plus `offset`, with the source line when DWARF has one.
    pub(crate) fn new(
        prog: &kdive_program::Program,
        sym: &kdive_debuginfo::Symbol,
        offset: u64,
    ) -> SymRow {
        let addr = sym.addr + offset;
        let here = prog
            .source(addr)
            .ok()
            .flatten()
            .and_then(|f| f.into_iter().next());
        SymRow {
            addr,
            name: sym.name.to_string(),
            offset,
            kind: match (sym.kind, prog.debug()) {
                ('A', Some(d)) => letter(&d.percpu_letters(), sym),
                (k, _) => k,
            },
            module: sym.module.as_deref().map(String::from),
            file: here.as_ref().and_then(|h| h.file.clone()),
            line: here.and_then(|h| h.line),
        }
    }

    /// `ffffffffaeca8a06 (t) sysrq_handle_crash+22 [module] file: line` (the address without
    /// leading zeros, as crash prints per-CPU offsets: `0 (D) fixed_percpu_data`).
    pub(crate) fn line(&self) -> String {
        let mut s = format!("{:x} ({}) {}", self.addr, self.kind, self.name);
        if self.offset != 0 {
            s += &format!("+{}", self.offset);
        }
        if let Some(m) = &self.module {
            s += &format!(" [{m}]");
        }
        if let (Some(file), Some(line)) = (&self.file, self.line) {
            s += &format!(" {file}: {line}");
        }
        s
    }
}

impl Report for Sym {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for r in &self.symbols {
            writeln!(out, "{}", r.line())?;
        }
        for e in &self.errors {
            writeln!(out, "{e}")?;
        }
        Ok(())
    }
}
