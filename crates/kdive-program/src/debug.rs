//! Debug info from a vmlinux attached to a program: checked against the dump, then source lines
//! and types.
//!
//! The file is accepted only when it is the dump's kernel: same build-id (VMCOREINFO's
//! `BUILD-ID`), or, for a dump without one, the same `linux_banner` in the file and in memory.
//! Line tables and the DWARF name index are built on first use, so commands that need none
//! never pay for them. The file's DWARF joins the program's types behind BTF: it answers the
//! type names BTF lacks and types global variables (see [`Program::global`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use kdive_debuginfo::dwarf::{
    CallFrames, CfiRow, DwarfTypes, FrameScopes, SourceFrame, SourceLines,
};
use kdive_debuginfo::elf_file::ElfFile;
use kdive_debuginfo::TypeSource;

use crate::{Program, ProgramError, Result};

/// Longest `linux_banner` compared (real ones are ~150 bytes).
const BANNER_MAX: usize = 512;

/// A vmlinux whose identity with the dump's kernel has been checked.
pub struct KernelDebug {
    file: ElfFile,
    /// Run-time address minus link-time address (the KASLR slide).
    slide: u64,
    /// Link-time ranges of the kernel's text (`_stext.._etext`, init text).
    text: Vec<(u64, u64)>,
    lines: OnceLock<Result<SourceLines, Arc<kdive_debuginfo::DebugInfoError>>>,
    /// Its DWARF as a type provider, once added to the program's types.
    types: OnceLock<Arc<DwarfTypes>>,
    /// The file's symbols by link-time address, read on first use.
    symbols: OnceLock<Vec<(u64, String)>>,
    /// The file's whole symbol table, indexed on first use.
    table: OnceLock<crate::symtab::SymbolTable>,
    /// Its `.debug_frame`, read on first use (`None`: the file has none, or it is unreadable).
    cfi: OnceLock<Option<CallFrames>>,
}

impl std::fmt::Debug for KernelDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KernelDebug({}, slide {:#x})",
            self.file.path().display(),
            self.slide
        )
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn mismatch(file: &ElfFile, why: String) -> ProgramError {
    ProgramError::DebugFile {
        path: file.path().display().to_string(),
        why,
    }
}

impl KernelDebug {
    /// Checks that `file` is `prog`'s kernel and works out where it was loaded.
    pub fn check(prog: &Program, file: ElfFile) -> Result<KernelDebug> {
        if file.is_relocatable() {
            return Err(mismatch(
                &file,
                "a relocatable object (a module?), not a vmlinux".into(),
            ));
        }
        let dump_id = prog
            .dump()
            .and_then(|d| d.vmcoreinfo())
            .and_then(|i| i.build_id())
            .map(|s| s.trim().to_ascii_lowercase());
        match (dump_id, file.build_id()) {
            (Some(d), Some(f)) if hex(&f) != d => {
                return Err(mismatch(
                    &file,
                    format!(
                        "build-id {} in the file, {d} in {}",
                        hex(&f),
                        prog.dump().map_or("the dump", |d| d.build_id_origin())
                    ),
                ))
            }
            (Some(_), Some(_)) => {}
            (Some(d), None) => {
                return Err(mismatch(
                    &file,
                    format!("the file has no build-id note; the dump's is {d}"),
                ))
            }
            (None, _) => check_banner(prog, &file)?,
        }
        let syms = file.symbol_addresses(&["_stext", "_etext", "_sinittext", "_einittext"]);
        let stext =
            syms[0].ok_or_else(|| mismatch(&file, "no _stext in its symbol table".into()))?;
        let slide = prog.symbol_address("_stext")?.wrapping_sub(stext);
        let text = [(syms[0], syms[1]), (syms[2], syms[3])]
            .into_iter()
            .filter_map(|(a, b)| Some((a?, b?)))
            .filter(|(a, b)| a < b)
            .collect();
        if !file.has_dwarf() {
            return Err(mismatch(
                &file,
                "it has no DWARF (.debug_info); use the -dbg package's vmlinux".into(),
            ));
        }
        Ok(KernelDebug {
            file,
            slide,
            text,
            lines: OnceLock::new(),
            types: OnceLock::new(),
            symbols: OnceLock::new(),
            cfi: OnceLock::new(),
            table: OnceLock::new(),
        })
    }

    /// Its DWARF types, when they were added to the program.
    pub fn types(&self) -> Option<&Arc<DwarfTypes>> {
        self.types.get()
    }

    /// The file.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Run-time minus link-time address.
    pub fn slide(&self) -> u64 {
        self.slide
    }

    /// The symbol of the file's symbol table (local labels such as `.LC0` included) at or
    /// below the run-time address `addr`, with the offset of `addr` into it.
    pub fn nearest_symbol(&self, addr: u64) -> Option<(&str, u64)> {
        let link = addr.wrapping_sub(self.slide);
        let all = self.symbols.get_or_init(|| self.file.address_symbols());
        let i = all.partition_point(|s| s.0 <= link).checked_sub(1)?;
        let (at, name) = &all[i];
        Some((name.as_str(), link - at))
    }

    /// The file's symbol table at run-time addresses, searched as ELF tools search one (see
    /// [`crate::symtab`]).
    pub fn symbol_table(&self) -> &crate::symtab::SymbolTable {
        self.table
            .get_or_init(|| crate::symtab::SymbolTable::new(self.file.table_symbols(), self.slide))
    }

    /// The nm letters of the per-CPU variables, by name (see [`ElfFile::percpu_letters`]).
    pub fn percpu_letters(&self) -> HashMap<String, char> {
        self.file.percpu_letters()
    }

    /// The size of the kernel function starting at the run-time address `start`, from the
    /// file's symbol table.
    pub fn function_size(&self, start: u64) -> Option<u64> {
        self.file.function_size(start.wrapping_sub(self.slide))
    }

    /// Source location of the kernel text address `pc` (run-time), innermost inlined function
    /// first; `Ok(None)` when `pc` is not in the kernel's own text (module code, user space).
    pub fn source(&self, pc: u64) -> Result<Option<Vec<SourceFrame>>> {
        match self.lines_for(pc)? {
            Some(lines) => Ok(Some(lines.frames(pc.wrapping_sub(self.slide))?)),
            None => Ok(None),
        }
    }

    /// The variables in scope at the kernel text address `pc` (run-time), innermost inlined
    /// function first; `Ok(None)` outside the kernel's own text or any function.
    pub fn scopes(&self, pc: u64) -> Result<Option<FrameScopes>> {
        match self.lines_for(pc)? {
            Some(lines) => Ok(lines.scopes(pc.wrapping_sub(self.slide))?),
            None => Ok(None),
        }
    }

    /// The `.debug_frame` row at the kernel text address `pc` (run-time), if the file has one.
    pub fn cfi_row(&self, pc: u64) -> Option<CfiRow> {
        let link = pc.wrapping_sub(self.slide);
        self.text
            .iter()
            .any(|&(a, b)| (a..b).contains(&link))
            .then_some(())?;
        self.cfi
            .get_or_init(|| CallFrames::new(&self.file).ok().flatten())
            .as_ref()?
            .row(link)
    }

    /// The line tables, when the run-time `pc` is in the kernel's own text.
    fn lines_for(&self, pc: u64) -> Result<Option<&SourceLines>> {
        let link = pc.wrapping_sub(self.slide);
        if !self.text.iter().any(|&(a, b)| (a..b).contains(&link)) {
            return Ok(None);
        }
        let lines = self
            .lines
            .get_or_init(|| SourceLines::new(&self.file).map_err(Arc::new))
            .as_ref()
            .map_err(|e| ProgramError::DebugInfoFile {
                path: self.file.path().to_path_buf(),
                source: e.clone(),
            })?;
        Ok(Some(lines))
    }
}

/// A module's debug file with its sections placed where the module was loaded.
pub struct ModuleDebug {
    name: String,
    file: ElfFile,
    /// Run-time ranges of the module's code.
    text: Vec<(u64, u64)>,
    lines: SourceLines,
    /// Where its allocated sections were loaded, by section name.
    bases: HashMap<String, u64>,
    /// Its DWARF as a type provider, once added to the program's types.
    types: OnceLock<Arc<DwarfTypes>>,
}

impl std::fmt::Debug for ModuleDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ModuleDebug({} from {})",
            self.name,
            self.file.path().display()
        )
    }
}

impl ModuleDebug {
    /// The debug file `file` of module `name`, its allocated sections at `bases` (by section
    /// name), its code at the run-time ranges `text`.
    pub fn new(
        name: &str,
        file: ElfFile,
        bases: &HashMap<String, u64>,
        text: Vec<(u64, u64)>,
    ) -> Result<ModuleDebug> {
        let lines = SourceLines::with_bases(&file, Some(bases))?;
        Ok(ModuleDebug {
            name: name.to_string(),
            file,
            text,
            lines,
            bases: bases.clone(),
            types: OnceLock::new(),
        })
    }

    /// Its DWARF types, when they were added to the program.
    pub fn types(&self) -> Option<&Arc<DwarfTypes>> {
        self.types.get()
    }

    /// Adds its DWARF to `prog`'s types (behind those already there).
    pub(crate) fn add_types(&self, prog: &Program) -> Result<()> {
        if self.types.get().is_some() {
            return Ok(());
        }
        prog.types().add_source_with(|src| {
            let t = Arc::new(DwarfTypes::new(&self.file, Some(&self.bases), src)?);
            let _ = self.types.set(t.clone());
            Ok::<_, ProgramError>(t as Arc<dyn TypeSource>)
        })?;
        Ok(())
    }

    /// Whether the run-time address `pc` is in the module's code.
    pub fn covers(&self, pc: u64) -> bool {
        self.text.iter().any(|&(a, b)| (a..b).contains(&pc))
    }

    /// The variables in scope at the run-time address `pc` of the module's code.
    pub fn scopes(&self, pc: u64) -> Result<Option<FrameScopes>> {
        Ok(self.lines.scopes(pc)?)
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file.
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

/// For a dump without a build-id: the file's `linux_banner` must be the one in memory.
fn check_banner(prog: &Program, file: &ElfFile) -> Result<()> {
    let link = file.symbol_address("linux_banner").ok_or_else(|| {
        mismatch(
            file,
            "no build-id in the dump, and no linux_banner in the file to compare".into(),
        )
    })?;
    let from_file = file
        .read_at_address(link, BANNER_MAX)
        .or_else(|| file.read_at_address(link, 64))
        .ok_or_else(|| mismatch(file, "its linux_banner has no contents".into()))?;
    let want = until_nul(&from_file);
    let mut got = vec![0u8; want.len()];
    prog.read(prog.symbol_address("linux_banner")?, &mut got)?;
    if got != want {
        return Err(mismatch(
            file,
            format!(
                "no build-id in the dump to compare, and linux_banner differs: {:?} in the file, {:?} in the dump",
                String::from_utf8_lossy(want).trim_end(),
                String::from_utf8_lossy(&got).trim_end()
            ),
        ));
    }
    Ok(())
}

fn until_nul(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

impl Program {
    /// Source location of the run-time code address `pc`, innermost inlined function first,
    /// from the vmlinux or the debug file of the module holding it; `Ok(None)` when no attached
    /// file covers it.
    pub fn source(&self, pc: u64) -> Result<Option<Vec<SourceFrame>>> {
        if let Some(m) = self
            .module_debug()
            .iter()
            .find(|m| m.text.iter().any(|&(a, b)| (a..b).contains(&pc)))
        {
            return Ok(Some(m.lines.frames(pc)?));
        }
        match self.debug() {
            Some(d) => d.source(pc),
            None => Ok(None),
        }
    }

    /// The source line gdb shows for the run-time code address `pc` (`(file, line)`: the
    /// line-table row that starts a statement there), from the vmlinux or the module's debug
    /// file; `Ok(None)` when no attached file covers it.
    pub fn statement_line(&self, pc: u64) -> Result<Option<(String, u32)>> {
        if let Some(m) = self
            .module_debug()
            .iter()
            .find(|m| m.text.iter().any(|&(a, b)| (a..b).contains(&pc)))
        {
            return Ok(m.lines.statement_line(pc)?);
        }
        let Some(d) = self.debug() else {
            return Ok(None);
        };
        let link = pc.wrapping_sub(d.slide);
        if !d.text.iter().any(|&(a, b)| (a..b).contains(&link)) {
            return Ok(None);
        }
        let lines = d
            .lines
            .get_or_init(|| SourceLines::new(&d.file).map_err(Arc::new))
            .as_ref()
            .map_err(|e| ProgramError::DebugInfoFile {
                path: d.file.path().to_path_buf(),
                source: e.clone(),
            })?;
        Ok(lines.statement_line(link)?)
    }

    /// Attaches the vmlinux at `path` after checking it is this dump's kernel; an error, changing
    /// nothing, for a file of another build or when a vmlinux is attached already. Its DWARF
    /// joins the types behind those already there (BTF first; it answers type names only for a
    /// kernel without BTF, see [`DwarfTypes::answer_type_names`]); nothing of it is read yet.
    pub fn attach_vmlinux(&self, path: &Path) -> Result<()> {
        let file = ElfFile::open(path)?;
        let debug = KernelDebug::check(self, file)?;
        self.set_debug(debug)?;
        let Some(d) = self.debug() else {
            return Ok(());
        };
        // with the kernel's BTF, DWARF types variables and functions; without, every name
        let names = self.vmlinux_btf().is_none();
        self.types().add_source_with(|src| {
            let t = Arc::new(DwarfTypes::new(&d.file, None, src)?.answer_type_names(names));
            let _ = d.types.set(t.clone());
            Ok::<_, ProgramError>(t as Arc<dyn TypeSource>)
        })?;
        Ok(())
    }
}
