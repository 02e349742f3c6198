//! `mod`: the loaded modules, as crash lists them, with the debug file attached to each.

use kdive_linux::module::{modules, RegionKind};
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// One loaded module.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModRow {
    /// Address of its `struct module`.
    #[serde(with = "crate::hex")]
    pub module: u64,
    pub name: String,
    /// Start of its core code.
    #[serde(with = "crate::hex")]
    pub base: u64,
    /// Bytes of its core (code and data; init sections excluded).
    pub size: u64,
    /// `MODULE_STATE_LIVE`, `MODULE_STATE_COMING`, ...
    pub state: String,
    /// The debug file attached (`.ko`), if any.
    pub object_file: Option<String>,
}

/// What `mod` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Mod {
    pub modules: Vec<ModRow>,
    /// What could not be read (the list, a module).
    pub problems: Vec<String>,
    /// The kernel keeps each kind of module memory apart (`struct module_memory`): crash then
    /// names the base column `TEXT_BASE` rather than `BASE`.
    pub per_kind_memory: bool,
}

/// Runs `mod`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Flags::parse(&table::MOD, args)?;
    let prog = s.kernel()?;
    let (list, problems) = modules(prog, s.walk_limit).map_err(|e| CommandError::Program {
        cmd: "mod",
        source: e,
    })?;
    let mut rows: Vec<ModRow> = list
        .into_iter()
        .map(|m| ModRow {
            module: m.addr,
            base: m
                .regions
                .iter()
                .find(|r| r.kind == RegionKind::Text)
                .map_or(0, |r| r.base),
            size: m.core_size(),
            object_file: prog
                .module_debug()
                .iter()
                .find(|d| d.name() == m.name)
                .map(|d| d.path().display().to_string()),
            state: m.state,
            name: m.name,
        })
        .collect();
    // crash lists modules in the order of their code
    rows.sort_by_key(|r| (r.base, r.module));
    let per_kind = prog
        .type_("struct module")
        .is_ok_and(|t| prog.types().has_member(t, "mem"));
    Ok(Box::new(Mod {
        modules: rows,
        problems,
        per_kind_memory: per_kind,
    }))
}

/// `s` centred in `width` columns (left-biased), as crash centres its column titles.
fn centred(s: &str, width: usize) -> String {
    let left = width.saturating_sub(s.len()) / 2;
    format!(
        "{}{s}{}",
        " ".repeat(left),
        " ".repeat(width.saturating_sub(s.len() + left))
    )
}

impl Report for Mod {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let w = self
            .modules
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let base_label = if self.per_kind_memory {
            "TEXT_BASE"
        } else {
            "BASE"
        };
        writeln!(
            out,
            "{}  {:<w$}  {}  {:>5}  OBJECT FILE",
            centred("MODULE", 16),
            "NAME",
            centred(base_label, 16),
            "SIZE"
        )?;
        for m in &self.modules {
            // crash ends a loaded object file's name with a blank
            let object = m.object_file.as_ref().map_or_else(
                || "(not loaded)  [CONFIG_KALLSYMS]".into(),
                |f| format!("{f} "),
            );
            writeln!(
                out,
                "{:016x}  {:<w$}  {:016x}  {:>5}  {object}",
                m.module, m.name, m.base, m.size
            )?;
        }
        for p in &self.problems {
            writeln!(out, "mod: {p}")?;
        }
        Ok(())
    }
}
