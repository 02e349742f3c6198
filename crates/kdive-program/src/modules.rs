//! Loaded modules as a program sees them: where each lives, and the symbols, types and unwind
//! table it adds — attached when an address or a name first needs them.
//!
//! Finding modules is kernel knowledge (the `modules` list, `struct module`'s layout), so a
//! [`ModuleLoader`] from the layer above lists them and reads their tables; the program only
//! decides *when*: a module is attached the first time an address inside it is looked up (a
//! symbol, an unwind row), and every module when a name is not found in the kernel's own
//! tables. [`Program::attach_module`] is the one way tables get in, lazily or not.

use std::cell::Cell;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use kdive_debuginfo::btf::BtfSource;
use kdive_debuginfo::{Symbol, SymbolSource};

use crate::unwind::orc::OrcTable;
use crate::{Program, ProgramError, Result};

/// Largest module BTF parsed (real ones are a few KB to a few hundred KB).
const MAX_MODULE_BTF: usize = 64 << 20;

/// One region of a loaded module's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanRegion {
    /// crash's word for the region (`TEXT`, `RODATA`, `INIT_TEXT`...): the region's start is the
    /// symbol `_MODULE_{label}_START_{module}`.
    pub label: &'static str,
    pub base: u64,
    pub size: u64,
    /// The region holds code.
    pub text: bool,
}

/// Where a loaded module lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSpan {
    pub name: Arc<str>,
    /// Address of its `struct module`.
    pub addr: u64,
    /// Its non-empty regions.
    pub regions: Vec<SpanRegion>,
}

impl ModuleSpan {
    /// Whether `addr` lies in one of its regions.
    pub fn contains(&self, addr: u64) -> bool {
        self.regions
            .iter()
            .any(|r| addr >= r.base && addr - r.base < r.size)
    }

    /// `[start, end)` of its code.
    pub fn text_ranges(&self) -> Vec<(u64, u64)> {
        self.regions
            .iter()
            .filter(|r| r.text)
            .map(|r| (r.base, r.base.saturating_add(r.size)))
            .collect()
    }
}

/// What a module adds to a program. Each part is optional: what could not be read is said in
/// `problems`.
#[derive(Default)]
pub struct ModuleTables {
    /// Its symbol table.
    pub symbols: Option<Arc<dyn SymbolSource>>,
    /// Its ORC unwind table.
    pub orc: Option<OrcTable>,
    /// Its BTF, split BTF on top of the kernel's (parsed when attached).
    pub btf: Option<Vec<u8>>,
    /// What could not be read.
    pub problems: Vec<String>,
}

/// Lists the loaded modules and reads their tables (implemented by the kernel-knowledge layer).
pub trait ModuleLoader: Send + Sync {
    /// Every loaded module, and what could not be read of the list.
    fn list(&self, prog: &Program) -> Result<(Vec<ModuleSpan>, Vec<String>)>;
    /// One module's tables.
    fn load(&self, prog: &Program, module: &ModuleSpan) -> ModuleTables;
}

/// A module attached to a program.
pub struct AttachedModule {
    span: ModuleSpan,
    symbols: Option<Arc<dyn SymbolSource>>,
    /// Region starts, named as crash names them, by address.
    region_symbols: Vec<Symbol>,
    orc: Option<Arc<OrcTable>>,
    problems: Vec<String>,
}

impl AttachedModule {
    /// Where it lives.
    pub fn span(&self) -> &ModuleSpan {
        &self.span
    }

    /// Its ORC table, if it has one.
    pub fn orc(&self) -> Option<&Arc<OrcTable>> {
        self.orc.as_ref()
    }

    /// What could not be read of its tables.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// The region symbol or module symbol nearest at or below `addr` (a module's own symbol
    /// wins over a region start at the same address).
    fn by_addr(&self, addr: u64) -> Option<Symbol> {
        let i = self.region_symbols.partition_point(|s| s.addr <= addr);
        let region = i
            .checked_sub(1)
            .and_then(|i| self.region_symbols.get(i))
            .filter(|s| s.size.is_some_and(|n| addr - s.addr < n))
            .cloned();
        let own = self.symbols.as_ref().and_then(|s| s.by_addr(addr));
        match (region, own) {
            (Some(r), Some(o)) if r.addr > o.addr => Some(r),
            (r, o) => o.or(r),
        }
    }

    fn by_name(&self, name: &str) -> Option<Symbol> {
        self.region_symbols
            .iter()
            .find(|s| &*s.name == name)
            .cloned()
            .or_else(|| self.symbols.as_ref()?.by_name(name))
    }
}

thread_local! {
    /// Set while a loader runs on this thread: the lookups it makes must not start another load.
    static LOADING: Cell<bool> = const { Cell::new(false) };
}

/// The program's modules: the loader, the list it gave, and the modules attached so far.
#[derive(Default)]
pub(crate) struct Modules {
    loader: Option<Arc<dyn ModuleLoader>>,
    listed: OnceLock<std::result::Result<(Vec<ModuleSpan>, Vec<String>), Arc<ProgramError>>>,
    attached: RwLock<Vec<Arc<AttachedModule>>>,
    /// Held while a module is loaded, so two threads do not read the same tables.
    load: Mutex<()>,
    all: OnceLock<()>,
}

impl Modules {
    pub(crate) fn new(loader: Option<Arc<dyn ModuleLoader>>) -> Modules {
        Modules {
            loader,
            ..Modules::default()
        }
    }

    fn attached(&self) -> Vec<Arc<AttachedModule>> {
        self.attached
            .read()
            .map(|a| a.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn find_attached(&self, f: impl Fn(&AttachedModule) -> bool) -> Option<Arc<AttachedModule>> {
        let a = self.attached.read().unwrap_or_else(|p| p.into_inner());
        a.iter().find(|m| f(m)).cloned()
    }
}

/// Runs `f` with this thread marked as loading; `None` when it already is (no nested loads).
fn loading<T>(f: impl FnOnce() -> T) -> Option<T> {
    if LOADING.with(Cell::get) {
        return None;
    }
    LOADING.with(|l| l.set(true));
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            LOADING.with(|l| l.set(false));
        }
    }
    let _reset = Reset;
    Some(f())
}

impl Program {
    /// Attaches a module's symbols, types and unwind table (replacing an earlier attach of the
    /// same module). A module's BTF that cannot be parsed is listed in its problems.
    pub fn attach_module(&self, span: ModuleSpan, tables: ModuleTables) -> Arc<AttachedModule> {
        let mut problems = tables.problems;
        if let Some(bytes) = tables.btf {
            if let Err(e) = self.add_module_btf(bytes) {
                problems.push(format!("BTF of module {}: {e}", span.name));
            }
        }
        let mut region_symbols: Vec<Symbol> = span
            .regions
            .iter()
            .map(|r| Symbol {
                name: format!("_MODULE_{}_START_{}", r.label, span.name).into(),
                addr: r.base,
                size: Some(r.size),
                kind: 'm',
                module: Some(span.name.clone()),
            })
            .collect();
        region_symbols.sort_by_key(|s| s.addr);
        let m = Arc::new(AttachedModule {
            region_symbols,
            symbols: tables.symbols,
            orc: tables.orc.map(Arc::new),
            problems,
            span,
        });
        let mut all = self
            .modules
            .attached
            .write()
            .unwrap_or_else(|p| p.into_inner());
        all.retain(|o| o.span.name != m.span.name);
        all.push(m.clone());
        m
    }

    /// Parses a module's split BTF on top of the kernel's and adds it to the types.
    fn add_module_btf(&self, bytes: Vec<u8>) -> Result<()> {
        let Some((base, base_src)) = self.vmlinux_btf() else {
            return Ok(());
        };
        if bytes.len() > MAX_MODULE_BTF {
            return Err(ProgramError::Walk {
                what: "module BTF".into(),
                why: format!("{} bytes", bytes.len()),
            });
        }
        let base = base.clone();
        self.types().add_source_with(|src| {
            let btf = BtfSource::new_split(base, base_src, bytes, src)?;
            Ok::<_, ProgramError>(Arc::new(btf) as Arc<_>)
        })?;
        Ok(())
    }

    /// The loaded modules as the loader lists them (read once), and what could not be read;
    /// empty for a program without a loader.
    pub fn module_spans(&self) -> Result<&[ModuleSpan]> {
        let Some(loader) = &self.modules.loader else {
            return Ok(&[]);
        };
        if LOADING.with(Cell::get) && self.modules.listed.get().is_none() {
            // a loader's own lookups never start the list
            return Ok(&[]);
        }
        let listed = self.modules.listed.get_or_init(|| {
            loading(|| loader.list(self))
                .unwrap_or_else(|| Ok((Vec::new(), Vec::new())))
                .map_err(Arc::new)
        });
        match listed {
            Ok((spans, _)) => Ok(spans),
            Err(e) => Err(ProgramError::Shared(e.clone())),
        }
    }

    /// The module whose memory holds `addr`, its tables attached on first use.
    pub fn module_at(&self, addr: u64) -> Option<Arc<AttachedModule>> {
        if let Some(m) = self.modules.find_attached(|m| m.span.contains(addr)) {
            return Some(m);
        }
        let span = self
            .module_spans()
            .ok()?
            .iter()
            .find(|s| s.contains(addr))?
            .clone();
        self.load_module(&span)
    }

    /// Loads and attaches one listed module, unless it already is.
    fn load_module(&self, span: &ModuleSpan) -> Option<Arc<AttachedModule>> {
        let loader = self.modules.loader.as_ref()?;
        let _held = self.modules.load.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = self.modules.find_attached(|m| m.span.name == span.name) {
            return Some(m);
        }
        let tables = loading(|| loader.load(self, span))?;
        Some(self.attach_module(span.clone(), tables))
    }

    /// Every module attached (all listed modules are loaded first), in the order of the
    /// module list, then those attached from elsewhere.
    pub fn modules(&self) -> Vec<Arc<AttachedModule>> {
        self.load_all_modules();
        let mut all = self.modules.attached();
        let order = self.module_spans().unwrap_or_default();
        all.sort_by_key(|m| {
            order
                .iter()
                .position(|s| s.name == m.span.name)
                .unwrap_or(usize::MAX)
        });
        all
    }

    /// Loads every listed module not attached yet (once).
    fn load_all_modules(&self) {
        if self.modules.loader.is_none() || LOADING.with(Cell::get) {
            return;
        }
        self.modules.all.get_or_init(|| {
            if let Ok(spans) = self.module_spans() {
                for s in spans {
                    self.load_module(s);
                }
            }
        });
    }

    /// What could not be read of the module list and of the modules attached so far.
    pub fn module_problems(&self) -> Vec<String> {
        let mut out = match self.modules.listed.get() {
            Some(Ok((_, p))) => p.clone(),
            Some(Err(e)) => vec![format!("module list: {e}")],
            None => Vec::new(),
        };
        for m in self.modules.attached() {
            out.extend(m.problems.iter().cloned());
        }
        out
    }

    /// A symbol by name in the modules (all loaded first).
    pub(crate) fn module_symbol_by_name(&self, name: &str) -> Option<Symbol> {
        if LOADING.with(Cell::get) {
            return None;
        }
        self.modules().iter().find_map(|m| m.by_name(name))
    }

    /// The module symbol nearest at or below `addr`, in the module holding `addr`.
    pub(crate) fn module_symbol_by_addr(&self, addr: u64) -> Option<Symbol> {
        if LOADING.with(Cell::get) {
            return self
                .modules
                .find_attached(|m| m.span.contains(addr))?
                .by_addr(addr);
        }
        self.module_at(addr)?.by_addr(addr)
    }

    /// Makes sure every module's types are there before a name is declared missing; true when
    /// something may have been added.
    pub(crate) fn load_module_types(&self) -> bool {
        if self.modules.loader.is_none() || self.modules.all.get().is_some() {
            return false;
        }
        self.load_all_modules();
        true
    }
}
