//! `sym`: an address's symbol, or a symbol's address, as crash prints them; with a vmlinux (or a
//! module's debug file) also the source file and line.

use serde::Serialize;

use crate::args::Flags;
use crate::rd::parse_hex;
use crate::{CommandError, Report, Session};

/// One answer of `sym`.
#[derive(Debug, Serialize)]
pub struct SymRow {
    #[serde(serialize_with = "crate::hex")]
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
#[derive(Debug, Serialize)]
pub struct Sym {
    pub symbols: Vec<SymRow>,
    pub errors: Vec<String>,
}

/// Runs `sym ADDR|NAME ...`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse("sym", args, "").map_err(CommandError::Usage)?;
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
        let addr = sym.addr + offset;
        let here = prog
            .source(addr)
            .ok()
            .flatten()
            .and_then(|f| f.into_iter().next());
        out.symbols.push(SymRow {
            addr,
            name: sym.name.to_string(),
            offset,
            kind: sym.kind,
            module: sym.module.as_deref().map(String::from),
            file: here.as_ref().and_then(|h| h.file.clone()),
            line: here.and_then(|h| h.line),
        });
    }
    Ok(Box::new(out))
}

impl Report for Sym {
    fn text(&self) -> String {
        let mut out = String::new();
        for r in &self.symbols {
            out += &format!("{:016x} ({}) {}", r.addr, r.kind, r.name);
            if r.offset != 0 {
                out += &format!("+{}", r.offset);
            }
            if let Some(m) = &r.module {
                out += &format!(" [{m}]");
            }
            if let (Some(file), Some(line)) = (&r.file, r.line) {
                out += &format!(" {file}: {line}");
            }
            out += "\n";
        }
        for e in &self.errors {
            out += &format!("{e}\n");
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
