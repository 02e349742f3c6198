//! `mod`: the loaded modules, as crash lists them, with the debug file attached to each.

use kdive_linux::module::{modules, RegionKind};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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
    /// `mod -R`: the modules whose debug file was detached first.
    #[serde(default)]
    pub detached: Vec<String>,
    /// The longest name of every loaded module: crash sizes the NAME column by it even when
    /// it lists one module (`mod -s`).
    #[serde(skip)]
    name_width: usize,
}

/// `mod -d NAME`, `mod -D`: the modules whose debug file was detached (crash prints nothing).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Detached {
    pub detached: Vec<String>,
}

impl Report for Detached {
    fn write_text(&self, _: &TextOptions, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
}

/// `mod -t`: the modules that taint the kernel.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModTaints {
    pub modules: Vec<ModTaint>,
}

/// One tainting module.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModTaint {
    pub name: String,
    /// `struct module.taints`.
    #[serde(with = "crate::hex")]
    pub taints: u64,
    /// Their letters (`OE`).
    pub letters: String,
}

impl Report for ModTaints {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        if self.modules.is_empty() {
            return writeln!(out, "no tainted modules");
        }
        let w = self.modules.iter().map(|m| m.name.len()).max().unwrap_or(0);
        writeln!(out, "{:<w$}  TAINTS", "NAME")?;
        for m in &self.modules {
            writeln!(out, "{:<w$}  {}", m.name, m.letters)?;
        }
        Ok(())
    }
}

fn program_error(e: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "mod",
        source: e,
    }
}

/// The modules that carry taints, in `mod`'s order.
fn taints(s: &Session) -> Result<ModTaints, CommandError> {
    let prog = s.kernel()?;
    let flags = kdive_linux::taint::taint_flags(prog).map_err(program_error)?;
    let (mut list, _) = modules(prog, s.walk_limit).map_err(program_error)?;
    list.sort_by_key(|m| (text_base(m), m.addr));
    let mut out = Vec::new();
    for m in list {
        let t = prog
            .object("struct module", m.addr)
            .and_then(|o| o.member("taints")?.read_u64())
            .map_err(program_error)?;
        if t != 0 {
            out.push(ModTaint {
                letters: kdive_linux::taint::module_taint_letters(&flags, t),
                name: m.name,
                taints: t,
            });
        }
    }
    Ok(ModTaints { modules: out })
}

fn text_base(m: &kdive_linux::module::Module) -> u64 {
    m.regions
        .iter()
        .find(|r| r.kind == RegionKind::Text)
        .map_or(0, |r| r.base)
}

/// The module debug files under `dir` (at most a few levels deep), by module name (`-` read
/// as `_`, as module names are).
fn debug_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut todo = vec![(dir.to_path_buf(), 0)];
    let mut seen = 0usize;
    while let Some((d, depth)) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            seen += 1;
            if seen > 200_000 {
                return out;
            }
            let p = e.path();
            if p.is_dir() && depth < 6 {
                todo.push((p, depth + 1));
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name
                .strip_suffix(".ko.debug")
                .or_else(|| name.strip_suffix(".ko"));
            if let Some(stem) = stem {
                out.push((stem.replace('-', "_"), p));
            }
        }
    }
    out.sort();
    out
}

/// `mod -s NAME [FILE]`, `mod -S [DIR]`: attaches module debug files, then lists the
/// modules (only NAME for -s) as `mod` does.
fn load(s: &Session, f: &Flags) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let (list, _) = modules(prog, s.walk_limit).map_err(program_error)?;
    let beside = s
        .paths()
        .first()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut notes = Vec::new();
    let only = f.value('s').map(str::to_string);
    if let Some(name) = &only {
        let m = list
            .iter()
            .find(|m| &m.name == name)
            .ok_or_else(|| CommandError::Usage(format!("mod: {name}: no such module loaded")))?;
        let file = match f.positional.first() {
            Some(p) => PathBuf::from(p),
            None => debug_files(&beside)
                .into_iter()
                .find(|(n, _)| *n == m.name)
                .map(|(_, p)| p)
                .ok_or_else(|| {
                    CommandError::Unavailable(format!(
                        "mod: {name}: no {name}.ko beside the dump; give its file: mod -s {name} FILE"
                    ))
                })?,
        };
        s.attach_module_debug(&file)?;
    } else {
        let dir = f.positional.first().map(PathBuf::from).unwrap_or(beside);
        if !dir.is_dir() {
            return Err(CommandError::Usage(format!(
                "mod: {} is not a directory",
                dir.display()
            )));
        }
        let files = debug_files(&dir);
        for m in &list {
            let Some((_, p)) = files.iter().find(|(n, _)| *n == m.name) else {
                continue;
            };
            if let Err(e) = s.attach_module_debug(p) {
                notes.push(format!("{}: {e}", p.display()));
            }
        }
    }
    let mut report = listing(s)?;
    if let Some(name) = only {
        report.modules.retain(|m| m.name == name);
    }
    report.problems.extend(notes);
    Ok(Box::new(report))
}

/// Runs `mod`: the modules, `-t` their taints, `-s`/`-S` attaching their debug files, `-d`/`-D`
/// detaching them, `-R` detaching them all and listing the modules again.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::MOD, args)?;
    if f.has('t') {
        return Ok(Box::new(taints(s)?));
    }
    if f.has('s') || f.has('S') {
        return load(s, &f);
    }
    if let Some(name) = f.value('d') {
        // crash says nothing, and nothing either for a module without a debug file
        let detached = s.detach_module_debug(Some(name))?;
        return Ok(Box::new(Detached { detached }));
    }
    if f.has('D') {
        let detached = s.detach_module_debug(None)?;
        return Ok(Box::new(Detached { detached }));
    }
    if f.has('R') {
        // every debug file forgotten, then the list read again, as crash shows it
        let gone = s.detach_module_debug(None)?;
        let mut report = listing(s)?;
        report.detached = gone;
        return Ok(Box::new(report));
    }
    if let Some(w) = f.positional.first() {
        return Err(CommandError::Usage(format!(
            "mod: unexpected argument {w}\nusage: {}",
            table::MOD.synopsis()
        )));
    }
    Ok(Box::new(listing(s)?))
}

/// The module listing.
fn listing(s: &Session) -> Result<Mod, CommandError> {
    let prog = s.kernel()?;
    let (list, problems) = modules(prog, s.walk_limit).map_err(|e| CommandError::Program {
        cmd: "mod",
        source: e,
    })?;
    let mut rows: Vec<ModRow> = list
        .into_iter()
        .map(|m| ModRow {
            module: m.addr,
            base: text_base(&m),
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
    let name_width = rows.iter().map(|m| m.name.len()).max().unwrap_or(0);
    Ok(Mod {
        modules: rows,
        problems,
        per_kind_memory: per_kind,
        detached: Vec::new(),
        name_width,
    })
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
            .max(self.name_width)
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
