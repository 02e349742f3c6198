//! Loaded modules: the `modules` list, each module's memory and in-memory symbol table, and
//! the symbols and ORC unwind tables they add to a program.
//!
//! Layouts are asked of the types: `mem[MOD_TEXT..]` (`struct module_memory`, Linux 6.4+) or
//! `core_layout`/`init_layout` before; the live symbol table `kallsyms` (the full table while
//! the module initialises, the core one after) or the embedded `core_kallsyms`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use kdive_debuginfo::elf_file::ElfFile;
use kdive_debuginfo::kallsyms::ModuleSymbols;
use kdive_debuginfo::{SymbolSource, TypeKind};
use kdive_program::debug::ModuleDebug;
use kdive_program::unwind::orc::{OrcLayout, OrcTable};
use kdive_program::{
    ModuleLoader, ModuleSpan, ModuleTables, Object, Program, ProgramError, Result, SpanRegion,
};

use crate::list::list_entries;
use crate::live_files::LiveFiles;

/// Most symbols read from one module's symtab.
const MAX_MODULE_SYMS: u64 = 1 << 20;
/// Longest symbol name the kernel allows (`KSYM_NAME_LEN`).
const KSYM_NAME_LEN: u64 = 512;
/// `sizeof(Elf64_Sym)`.
const ELF64_SYM: u64 = 24;
/// Most bytes of a module's string table read.
const MAX_STRTAB: u64 = 16 << 20;

/// What a region of a module's memory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum RegionKind {
    Text,
    Data,
    RoData,
    RoAfterInit,
    InitText,
    InitData,
    InitRoData,
}

impl RegionKind {
    fn from_mem_type(name: &str) -> Option<RegionKind> {
        Some(match name {
            "MOD_TEXT" => RegionKind::Text,
            "MOD_DATA" => RegionKind::Data,
            "MOD_RODATA" => RegionKind::RoData,
            "MOD_RO_AFTER_INIT" => RegionKind::RoAfterInit,
            "MOD_INIT_TEXT" => RegionKind::InitText,
            "MOD_INIT_DATA" => RegionKind::InitData,
            "MOD_INIT_RODATA" => RegionKind::InitRoData,
            _ => return None,
        })
    }

    /// crash's word for the region (`TEXT`, `RODATA`, `INIT_TEXT`...).
    pub fn label(self) -> &'static str {
        match self {
            RegionKind::Text => "TEXT",
            RegionKind::Data => "DATA",
            RegionKind::RoData => "RODATA",
            RegionKind::RoAfterInit => "RO_AFTER_INIT",
            RegionKind::InitText => "INIT_TEXT",
            RegionKind::InitData => "INIT_DATA",
            RegionKind::InitRoData => "INIT_RODATA",
        }
    }

    /// Code (core or init).
    pub fn is_text(self) -> bool {
        matches!(self, RegionKind::Text | RegionKind::InitText)
    }
}

/// One region of a module's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Region {
    pub kind: RegionKind,
    pub base: u64,
    pub size: u64,
}

/// A loaded module.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Module {
    /// Address of its `struct module`.
    pub addr: u64,
    pub name: String,
    /// `MODULE_STATE_LIVE`, `MODULE_STATE_COMING`, ... (the number when the enum is unknown).
    pub state: String,
    /// Non-empty regions.
    pub regions: Vec<Region>,
}

impl Module {
    /// `[start, end)` of its code.
    pub fn text_ranges(&self) -> Vec<(u64, u64)> {
        self.regions
            .iter()
            .filter(|r| r.kind.is_text())
            .map(|r| (r.base, r.base.saturating_add(r.size)))
            .collect()
    }

    /// Whether `addr` lies in one of its regions.
    pub fn contains(&self, addr: u64) -> bool {
        self.regions
            .iter()
            .any(|r| addr >= r.base && addr - r.base < r.size)
    }

    /// Core size in bytes (what crash's `mod` shows): every region but the init ones.
    pub fn core_size(&self) -> u64 {
        self.regions
            .iter()
            .filter(|r| {
                !matches!(
                    r.kind,
                    RegionKind::InitText | RegionKind::InitData | RegionKind::InitRoData
                )
            })
            .map(|r| r.size)
            .fold(0, u64::saturating_add)
    }
}

/// Every module on the `modules` list, and what could not be read.
pub fn modules(prog: &Program, limit: usize) -> Result<(Vec<Module>, Vec<String>)> {
    let head = prog.symbol_address("modules")?;
    let (addrs, err) = list_entries(prog, head, "struct module", "list", limit)?;
    let mut problems: Vec<String> = err.iter().map(|e| format!("module list: {e}")).collect();
    let mut out = Vec::new();
    for a in addrs {
        match read_module(prog, a) {
            Ok(m) => out.push(m),
            Err(e) => problems.push(format!("struct module at {a:#x}: {e}")),
        }
    }
    Ok((out, problems))
}

fn read_module(prog: &Program, addr: u64) -> Result<Module> {
    let m = prog.object("struct module", addr)?;
    let name = m.member("name")?.read_string(64)?;
    let state = m.member("state")?;
    let state_v = state.read_i64()?;
    let state = enum_name(prog, &state, state_v).unwrap_or_else(|| state_v.to_string());
    let mut regions = if prog.types().has_member(m.type_id(), "mem") {
        memory_regions(prog, &m)?
    } else {
        let mut v = layout_regions(&m.member("core_layout")?, false)?;
        v.extend(layout_regions(&m.member("init_layout")?, true)?);
        v
    };
    regions.retain(|r| r.size > 0 && r.base != 0);
    Ok(Module {
        addr,
        name,
        state,
        regions,
    })
}

/// The name of an enum object's value.
fn enum_name(prog: &Program, o: &Object<'_>, v: i64) -> Option<String> {
    let (_, t) = prog.types().resolve(o.type_id()).ok()?;
    match &t.kind {
        TypeKind::Enum { values, .. } => values
            .iter()
            .find(|(_, x)| *x == v)
            .map(|(n, _)| n.to_string()),
        _ => None,
    }
}

/// `mem[]` of Linux 6.4+: one `struct module_memory { base, size }` per `enum mod_mem_type`.
fn memory_regions(prog: &Program, m: &Object<'_>) -> Result<Vec<Region>> {
    let mem = m.member("mem")?;
    let n = mem.array_len()?.min(16);
    let names: Vec<(String, i64)> = prog
        .type_("enum mod_mem_type")
        .ok()
        .and_then(|t| prog.types().resolve(t).ok())
        .and_then(|(_, t)| match &t.kind {
            TypeKind::Enum { values, .. } => {
                Some(values.iter().map(|(n, v)| (n.to_string(), *v)).collect())
            }
            _ => None,
        })
        .unwrap_or_default();
    let default_order = [
        "MOD_TEXT",
        "MOD_DATA",
        "MOD_RODATA",
        "MOD_RO_AFTER_INIT",
        "MOD_INIT_TEXT",
        "MOD_INIT_DATA",
        "MOD_INIT_RODATA",
    ];
    let mut out = Vec::new();
    for i in 0..n {
        let name = names
            .iter()
            .find(|(_, v)| *v == i as i64)
            .map(|(n, _)| n.as_str())
            .or_else(|| default_order.get(i as usize).copied());
        let Some(kind) = name.and_then(RegionKind::from_mem_type) else {
            continue;
        };
        let e = mem.index(i)?;
        out.push(Region {
            kind,
            base: e.member("base")?.read_u64()?,
            size: e.member("size")?.read_u64()?,
        });
    }
    Ok(out)
}

/// `core_layout`/`init_layout` before 6.4: text, then rodata, ro-after-init and data.
fn layout_regions(l: &Object<'_>, init: bool) -> Result<Vec<Region>> {
    let base = l.member("base")?.read_u64()?;
    let size = l.member("size")?.read_u64()?;
    let text = l.member("text_size")?.read_u64()?.min(size);
    let ro = l
        .member("ro_size")
        .and_then(|o| o.read_u64())
        .unwrap_or(text)
        .clamp(text, size);
    let ro_after = l
        .member("ro_after_init_size")
        .and_then(|o| o.read_u64())
        .unwrap_or(ro)
        .clamp(ro, size);
    let k = |core, initk| if init { initk } else { core };
    Ok(vec![
        Region {
            kind: k(RegionKind::Text, RegionKind::InitText),
            base,
            size: text,
        },
        Region {
            kind: k(RegionKind::RoData, RegionKind::InitRoData),
            base: base + text,
            size: ro - text,
        },
        Region {
            kind: RegionKind::RoAfterInit,
            base: base + ro,
            size: if init { 0 } else { ro_after - ro },
        },
        Region {
            kind: k(RegionKind::Data, RegionKind::InitData),
            base: base + ro_after,
            size: size - ro_after,
        },
    ])
}

/// The module's symbols: its live `kallsyms` table, else the embedded `core_kallsyms`.
pub fn module_symbols(prog: &Program, module: &Module) -> Result<ModuleSymbols> {
    let m = prog.object("struct module", module.addr)?;
    let table = match m.member("kallsyms").and_then(|p| p.read_u64()) {
        Ok(p) if p != 0 => prog.object("struct mod_kallsyms", p)?,
        _ => m.member("core_kallsyms")?,
    };
    let symtab = table.member("symtab")?.read_u64()?;
    let num = table.member("num_symtab")?.read_u64()?;
    let strtab = table.member("strtab")?.read_u64()?;
    if num > MAX_MODULE_SYMS {
        return Err(ProgramError::Walk {
            what: format!("symbol table of module {}", module.name),
            why: format!("{num} symbols"),
        });
    }
    let mut syms = vec![0u8; (num * ELF64_SYM) as usize];
    prog.read(symtab, &mut syms)?;
    let max_name = syms
        .chunks_exact(ELF64_SYM as usize)
        .map(|s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
        .max()
        .unwrap_or(0);
    // the table may end before the longest name's bound: keep what is readable
    let mut strs = vec![0u8; (max_name + KSYM_NAME_LEN).min(MAX_STRTAB) as usize];
    let got = prog.read_partial(strtab, &mut strs);
    strs.truncate(got.read);
    let typetab = table
        .member("typetab")
        .and_then(|o| o.read_u64())
        .ok()
        .filter(|&p| p != 0);
    let parsed = match typetab {
        Some(t) => {
            let mut types = vec![0u8; num as usize];
            prog.read(t, &mut types)?;
            ModuleSymbols::from_elf_symtab_typed(&module.name, &syms, &strs, &types)
        }
        None => ModuleSymbols::from_elf_symtab(&module.name, &syms, &strs),
    };
    Ok(parsed?)
}

/// The module's ORC table (`arch.orc_unwind_ip`, `arch.orc_unwind`, `arch.num_orcs`), covering
/// its code; `None` for a module without one.
pub fn module_orc(
    prog: &Program,
    module: &Module,
    text: Vec<(u64, u64)>,
) -> Result<Option<OrcTable>> {
    let arch = prog.object("struct module", module.addr)?.member("arch")?;
    let Ok(n) = arch.member("num_orcs").and_then(|o| o.read_u64()) else {
        return Ok(None);
    };
    let ip = arch.member("orc_unwind_ip")?.read_u64()?;
    let orc = arch.member("orc_unwind")?.read_u64()?;
    if n == 0 || ip == 0 || orc == 0 {
        return Ok(None);
    }
    let table = OrcTable::read(
        prog.mem(),
        &module.name,
        ip,
        orc,
        n as usize,
        OrcLayout::from_types(prog.types()),
        text,
    )?;
    Ok(Some(table))
}

impl Module {
    /// Where the module lives, as a program's module registry keeps it.
    pub fn span(&self) -> ModuleSpan {
        ModuleSpan {
            name: self.name.as_str().into(),
            addr: self.addr,
            regions: self
                .regions
                .iter()
                .map(|r| SpanRegion {
                    label: r.kind.label(),
                    base: r.base,
                    size: r.size,
                    text: r.kind.is_text(),
                })
                .collect(),
        }
    }
}

/// Finds a kernel's loaded modules on the `modules` list and reads each one's symbols, ORC table
/// and BTF when the program first needs them ([`kdive_program::ModuleLoader`]). On the running
/// kernel, a module's symbols and BTF come from the system's own listings when they are there
/// ([`LiveFiles`]: `/proc/kallsyms`, `/sys/kernel/btf/<module>`), else from its memory.
#[derive(Default)]
pub struct KernelModules {
    /// The kernel's `btf_modules` list: (`struct module` address, data, size), read once.
    btf: std::sync::OnceLock<Result<Vec<(u64, u64, u64)>, Arc<ProgramError>>>,
    /// The running system's files: found beside the program's memory file on first use, unless
    /// given ([`KernelModules::with_live_files`]).
    live: std::sync::OnceLock<Option<LiveFiles>>,
}

impl KernelModules {
    /// A loader that takes modules' symbols and BTF from the system files under `live`'s root
    /// (where present) whatever the program reads its memory from.
    pub fn with_live_files(live: LiveFiles) -> KernelModules {
        KernelModules {
            live: Some(live).into(),
            ..KernelModules::default()
        }
    }

    fn live(&self, prog: &Program) -> Option<&LiveFiles> {
        self.live.get_or_init(|| LiveFiles::of(prog)).as_ref()
    }

    /// The module's BTF as the kernel's `btf_modules` list keeps it in memory.
    fn memory_btf(
        &self,
        prog: &Program,
        span: &ModuleSpan,
        problems: &mut Vec<String>,
    ) -> Option<Vec<u8>> {
        let all = match self.btf.get_or_init(|| module_btfs(prog).map_err(Arc::new)) {
            Ok(all) => all,
            Err(e) => {
                problems.push(format!("module BTF list: {e}"));
                return None;
            }
        };
        let &(_, data, size) = all.iter().find(|(owner, ..)| *owner == span.addr)?;
        read_btf(prog, data, size).unwrap_or_else(|e| {
            problems.push(format!("BTF of module {}: {e}", span.name));
            None
        })
    }
}

impl ModuleLoader for KernelModules {
    fn list(&self, prog: &Program) -> Result<(Vec<ModuleSpan>, Vec<String>)> {
        let (mods, problems) = modules(prog, crate::DEFAULT_WALK_LIMIT)?;
        Ok((mods.iter().map(Module::span).collect(), problems))
    }

    fn load(&self, prog: &Program, span: &ModuleSpan) -> ModuleTables {
        let mut t = ModuleTables::default();
        let module = Module {
            addr: span.addr,
            name: span.name.to_string(),
            state: String::new(),
            regions: Vec::new(),
        };
        let live = self.live(prog);
        match live.and_then(|l| l.module_symbols(prog, &span.name)) {
            Some(s) => t.symbols = Some(Arc::new(s)),
            None => match module_symbols(prog, &module) {
                Ok(s) => t.symbols = Some(Arc::new(s)),
                Err(e) => t
                    .problems
                    .push(format!("symbols of module {}: {e}", span.name)),
            },
        }
        match module_orc(prog, &module, span.text_ranges()) {
            Ok(orc) => t.orc = orc,
            Err(e) => t
                .problems
                .push(format!("ORC table of module {}: {e}", span.name)),
        }
        t.btf = match live.and_then(|l| l.module_btf(prog, &span.name)) {
            Some(btf) => Some(btf),
            None => self.memory_btf(prog, span, &mut t.problems),
        };
        t
    }
}

/// `key=value` of a module file's `.modinfo`.
fn modinfo(file: &ElfFile, key: &str) -> Option<String> {
    let bytes = file.section_bytes(".modinfo").ok()?;
    bytes.split(|&b| b == 0).find_map(|kv| {
        let kv = std::str::from_utf8(kv).ok()?;
        kv.strip_prefix(key)?.strip_prefix('=').map(str::to_string)
    })
}

/// Attaches the debug file of a loaded module (its `.ko`, or `.ko.debug`) and returns the
/// module's name. The file's sections are placed where the module's own symbols say they were
/// loaded; a file whose `srcversion` or symbol layout differs from the loaded module's is
/// refused (another build).
pub fn attach_module_debug(prog: &Program, path: &Path) -> Result<String> {
    let refuse = |why: String| ProgramError::DebugFile {
        path: path.display().to_string(),
        why,
    };
    let file = ElfFile::open(path)?;
    if !file.is_relocatable() {
        return Err(refuse("not a module (not a relocatable object)".into()));
    }
    let name = modinfo(&file, "name").unwrap_or_else(|| {
        let stem = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        stem.split('.').next().unwrap_or_default().replace('-', "_")
    });
    let (mods, _) = modules(prog, crate::DEFAULT_WALK_LIMIT)?;
    let m = mods
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| refuse(format!("module {name} is not loaded in this dump")))?;
    if let Some(want) = modinfo(&file, "srcversion") {
        let loaded = prog
            .object("struct module", m.addr)
            .and_then(|o| o.member("srcversion"))
            .ok()
            .filter(|p| p.read_u64().is_ok_and(|a| a != 0))
            .and_then(|p| p.read_string(64).ok());
        if let Some(got) = loaded.filter(|g| *g != want) {
            return Err(refuse(format!(
                "srcversion {want} in the file, {got} in the loaded module {name}"
            )));
        }
    }
    let syms = module_symbols(prog, m)?;
    // every symbol the file and the loaded module share votes for its section's base
    let mut votes: HashMap<String, HashMap<u64, usize>> = HashMap::new();
    for (sym, section, value) in file.section_symbols() {
        if let Some(s) = syms.by_name(&sym) {
            *votes
                .entry(section)
                .or_default()
                .entry(s.addr.wrapping_sub(value))
                .or_default() += 1;
        }
    }
    let (mut agree, mut all) = (0, 0);
    let mut bases = HashMap::new();
    for (section, v) in votes {
        all += v.values().sum::<usize>();
        if let Some((&base, &n)) = v.iter().max_by_key(|(_, &n)| n) {
            agree += n;
            bases.insert(section, base);
        }
    }
    if bases.is_empty() {
        return Err(refuse(format!(
            "none of its symbols is in the loaded module {name}'s symbol table"
        )));
    }
    if agree * 10 < all * 9 {
        return Err(refuse(format!(
            "its symbols are not laid out as in the loaded module {name} ({agree} of {all} agree): another build?"
        )));
    }
    let debug = ModuleDebug::new(&m.name, file, &bases, m.text_ranges())?;
    prog.attach_module_debug(debug);
    Ok(m.name.clone())
}

/// Largest module BTF read (real ones are a few KB to a few hundred KB).
const MAX_MODULE_BTF: u64 = 64 << 20;

/// The BTF the kernel keeps for each module: `btf_modules` entries (`struct btf_module`), as
/// (`struct module` address, `btf->data`, `btf->data_size`). The module's own `btf_data` is
/// cleared once it is loaded, so this list is where module types live. Empty without it.
pub fn module_btfs(prog: &Program) -> Result<Vec<(u64, u64, u64)>> {
    let Ok(head) = prog.symbol_address("btf_modules") else {
        return Ok(Vec::new());
    };
    if prog.type_("struct btf_module").is_err() {
        return Ok(Vec::new());
    }
    let (entries, err) = list_entries(
        prog,
        head,
        "struct btf_module",
        "list",
        crate::DEFAULT_WALK_LIMIT,
    )?;
    let mut out = Vec::new();
    for e in entries {
        let bm = prog.object("struct btf_module", e)?;
        let owner = bm.member("module")?.read_u64()?;
        let btf = bm.member("btf")?;
        out.push((
            owner,
            btf.member("data")?.read_u64()?,
            btf.member("data_size")?.read_u64()?,
        ));
    }
    match err {
        Some(e) if out.is_empty() => Err(e),
        _ => Ok(out),
    }
}

/// The `size` bytes of a module's BTF at `data`; `None` when it has none.
fn read_btf(prog: &Program, data: u64, size: u64) -> Result<Option<Vec<u8>>> {
    if data == 0 || size == 0 {
        return Ok(None);
    }
    if size > MAX_MODULE_BTF {
        return Err(ProgramError::Walk {
            what: format!("module BTF at {data:#x}"),
            why: format!("{size} bytes"),
        });
    }
    let mut bytes = vec![0u8; size as usize];
    prog.read(data, &mut bytes)?;
    Ok(Some(bytes))
}
