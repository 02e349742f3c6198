//! `sym`: an address's symbol, or a symbol's address, as crash prints them; with a vmlinux (or a
//! module's debug file) also the source file and line.

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
}

/// What `sym -m NAME` reports: the module's regions and the symbols in each.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModuleSyms {
    pub lines: Vec<ModuleLine>,
}

impl Report for ModuleSyms {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for l in &self.lines {
            match l.kind {
                Some(k) => writeln!(out, "{:016x} ({k}) {}", l.addr, l.name)?,
                None => writeln!(out, "{:016x} {}", l.addr, l.name)?,
            }
        }
        Ok(())
    }
}

/// `sym -m NAME`: as crash lists a module, region by region (`mem[]` kernels: TEXT, DATA,
/// RODATA... each up to its last byte; older ones: the core layout, then the init layout).
fn module_listing(s: &Session, name: &str) -> Result<Box<dyn Report>, CommandError> {
    use kdive_linux::module::{module_symbols, modules, RegionKind};
    let prog = s.kernel()?;
    let program_err = |source| CommandError::Program { cmd: "sym", source };
    let (list, _) = modules(prog, s.walk_limit).map_err(program_err)?;
    let m = list
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| CommandError::Usage(format!("sym: {name}: no such module")))?;
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
        });
        lines.extend(
            located
                .iter()
                .filter(|s| s.addr >= lo && s.addr < hi)
                .map(|s| ModuleLine {
                    addr: s.addr,
                    kind: Some(s.kind),
                    name: s.name.to_string(),
                }),
        );
        lines.push(ModuleLine {
            addr: end,
            kind: None,
            name: format!("{label} END: {name}"),
        });
    }
    Ok(Box::new(ModuleSyms { lines }))
}

/// Runs `sym ADDR|NAME ...`, or `sym -m MODULE`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::SYM, args)?;
    if let Some(name) = f.value('m') {
        return module_listing(s, name);
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
        out.symbols.push(SymRow::new(prog, &sym, offset));
    }
    Ok(Box::new(out))
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
            kind: sym.kind,
            module: sym.module.as_deref().map(String::from),
            file: here.as_ref().and_then(|h| h.file.clone()),
            line: here.and_then(|h| h.line),
        }
    }

    /// `ffffffffaeca8a06 (t) sysrq_handle_crash+22 [module] file: line`.
    pub(crate) fn line(&self) -> String {
        let mut s = format!("{:016x} ({}) {}", self.addr, self.kind, self.name);
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
