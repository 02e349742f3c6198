//! `Program`: one kernel image in one dump, with its memory, symbols and types.
//!
//! A program is put together once by a [`ProgramBuilder`] and is read-only after: what it
//! learns later — a module's tables, a checked debug file — is attached through `&self`
//! methods that only add.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use kdive_debuginfo::btf::BtfSource;
use kdive_debuginfo::{DebugInfoError, Symbol, Symbols, TypeId, Types};
use kdive_dump::Dump;
use kdive_memory::{KernelMemory, ReadVirt};

use crate::debug::{KernelDebug, ModuleDebug};
use crate::modules::{ModuleLoader, Modules};
use crate::unwind::UnwindTables;
use crate::{Object, ProgramError, Result};

/// A kernel in a dump: read memory, find symbols, interpret bytes as types.
pub struct Program {
    mem: Arc<dyn ReadVirt>,
    types: Types,
    /// The kernel's own symbols (modules' are in `modules`).
    symbols: Symbols,
    dump: Option<Arc<Dump>>,
    vmlinux_btf: Option<(Arc<BtfSource>, u16)>,
    kernel_mem: Option<Arc<KernelMemory>>,
    unwind: UnwindTables,
    debug: OnceLock<KernelDebug>,
    module_debug: RwLock<Vec<Arc<ModuleDebug>>>,
    pub(crate) modules: Modules,
    /// `[_text, _end)`: addresses whose symbols only the kernel's own table holds.
    image: OnceLock<Option<(u64, u64)>>,
    /// While set ([`Program::with_user_space`]), where the lower half of the address space is
    /// read: a process's memory.
    user: RwLock<Option<Arc<dyn ReadVirt>>>,
    /// `user` is set (read without taking the lock on every read otherwise).
    user_set: AtomicBool,
}

/// Puts a [`Program`] together: memory first, then its symbols, types, unwind tables and the
/// loader of its modules.
///
/// ```
/// use std::sync::Arc;
/// use kdive_debuginfo::{Symbols, Types};
/// use kdive_program::ProgramBuilder;
///
/// struct Zeros;
/// impl kdive_memory::ReadVirt for Zeros {
///     fn read_virt(&self, _addr: u64, buf: &mut [u8]) -> kdive_memory::Result<()> {
///         buf.fill(0);
///         Ok(())
///     }
/// }
///
/// let prog = ProgramBuilder::new(Arc::new(Zeros))
///     .types(Types::new())
///     .symbols(Symbols::new())
///     .build();
/// assert_eq!(prog.read_u64(0xffff_8880_0000_0000).unwrap(), 0);
/// ```
pub struct ProgramBuilder {
    prog: Program,
}

impl ProgramBuilder {
    /// A program reading `mem`, with no symbols or types yet.
    pub fn new(mem: Arc<dyn ReadVirt>) -> ProgramBuilder {
        ProgramBuilder {
            prog: Program {
                mem,
                types: Types::new(),
                symbols: Symbols::new(),
                dump: None,
                vmlinux_btf: None,
                kernel_mem: None,
                unwind: UnwindTables::new(),
                debug: OnceLock::new(),
                module_debug: RwLock::new(Vec::new()),
                modules: Modules::default(),
                image: OnceLock::new(),
                user: RwLock::new(None),
                user_set: AtomicBool::new(false),
            },
        }
    }

    /// The dump the program reads (CPU notes, physical reads) and its page-table view.
    pub fn dump(mut self, dump: Arc<Dump>, kernel_mem: Option<Arc<KernelMemory>>) -> Self {
        self.prog.dump = Some(dump);
        self.prog.kernel_mem = kernel_mem;
        self
    }

    /// The type providers.
    pub fn types(mut self, types: Types) -> Self {
        self.prog.types = types;
        self
    }

    /// The kernel's own BTF, with its provider number in the types: the base module BTF extends.
    pub fn vmlinux_btf(mut self, btf: Arc<BtfSource>, src: u16) -> Self {
        self.prog.vmlinux_btf = Some((btf, src));
        self
    }

    /// The kernel's own symbols.
    pub fn symbols(mut self, symbols: Symbols) -> Self {
        self.prog.symbols = symbols;
        self
    }

    /// The unwind tables (by default vmlinux's ORC is read from memory on first use).
    pub fn unwind_tables(mut self, tables: UnwindTables) -> Self {
        self.prog.unwind = tables;
        self
    }

    /// What finds loaded modules and reads their tables, on first need.
    pub fn module_loader(mut self, loader: Arc<dyn ModuleLoader>) -> Self {
        self.prog.modules = Modules::new(Some(loader));
        self
    }

    /// The program.
    pub fn build(self) -> Program {
        self.prog
    }
}

/// The symbols of a program: the kernel's own, then its modules' (attached on first need).
#[derive(Clone, Copy)]
pub struct ProgramSymbols<'a> {
    prog: &'a Program,
}

impl ProgramSymbols<'_> {
    /// Looks a symbol up by name: the kernel's first, then every module's.
    pub fn by_name(&self, name: &str) -> Option<Symbol> {
        self.prog
            .symbols
            .by_name(name)
            .or_else(|| self.prog.module_symbol_by_name(name))
    }

    /// The address of a symbol.
    pub fn address_of(&self, name: &str) -> Option<u64> {
        self.by_name(name).map(|s| s.addr)
    }

    /// The symbol containing `addr`, with the offset of `addr` into it. Outside the kernel
    /// image, the module holding `addr` is asked too (and attached if it was not yet).
    pub fn by_addr(&self, addr: u64) -> Option<(Symbol, u64)> {
        let kernel = self.prog.symbols.by_addr(addr).map(|(s, _)| s);
        let in_image = self
            .prog
            .image()
            .is_some_and(|(a, b)| (a..b).contains(&addr));
        let module = if in_image {
            None
        } else {
            self.prog.module_symbol_by_addr(addr)
        };
        // the nearest below wins; at the same address, the module's
        let best = match (kernel, module) {
            (Some(k), Some(m)) if k.addr > m.addr => Some(k),
            (k, m) => m.or(k),
        }?;
        let off = addr - best.addr;
        Some((best, off))
    }

    /// The kernel's own symbols only.
    pub fn kernel(&self) -> &Symbols {
        &self.prog.symbols
    }
}

impl Program {
    /// A program over `mem` with these types and symbols, nothing more (a shorthand for
    /// [`ProgramBuilder`]).
    pub fn new(mem: Arc<dyn ReadVirt>, types: Types, symbols: Symbols) -> Program {
        ProgramBuilder::new(mem)
            .types(types)
            .symbols(symbols)
            .build()
    }

    /// The dump, when the program was opened from one.
    pub fn dump(&self) -> Option<&Arc<Dump>> {
        self.dump.as_ref()
    }

    /// The page-table view of the dump, when the program was opened from one.
    pub fn kernel_memory(&self) -> Option<&Arc<KernelMemory>> {
        self.kernel_mem.as_ref()
    }

    /// Kernel virtual memory.
    pub fn mem(&self) -> &dyn ReadVirt {
        &*self.mem
    }

    /// Kernel virtual memory, shared: for a reader that outlives a borrow of the program (a
    /// result that reads its rows while it is written out).
    pub fn shared_mem(&self) -> Arc<dyn ReadVirt> {
        self.mem.clone()
    }

    /// All types known to the program (modules' BTF is added when a name is not found in the
    /// kernel's: look names up with [`Program::type_`]).
    pub fn types(&self) -> &Types {
        &self.types
    }

    /// The kernel's own BTF and its provider number, when types came from BTF.
    pub fn vmlinux_btf(&self) -> Option<(&Arc<BtfSource>, u16)> {
        self.vmlinux_btf.as_ref().map(|(b, s)| (b, *s))
    }

    /// All symbols known to the program.
    pub fn symbols(&self) -> ProgramSymbols<'_> {
        ProgramSymbols { prog: self }
    }

    /// `[_text, _end)` of the kernel image, when the symbols say.
    fn image(&self) -> Option<(u64, u64)> {
        *self.image.get_or_init(|| {
            let a = self.symbols.address_of("_text")?;
            let b = self.symbols.address_of("_end")?;
            (a < b).then_some((a, b))
        })
    }

    /// Unwind tables (vmlinux's ORC read on first use; modules' come with the modules).
    pub fn unwind_tables(&self) -> &UnwindTables {
        &self.unwind
    }

    /// The vmlinux attached, if any.
    pub fn debug(&self) -> Option<&KernelDebug> {
        self.debug.get()
    }

    /// Records a checked vmlinux; an error when one is attached already.
    pub(crate) fn set_debug(&self, debug: KernelDebug) -> Result<()> {
        let path = debug.path().display().to_string();
        self.debug.set(debug).map_err(|_| ProgramError::DebugFile {
            path,
            why: "a vmlinux is already attached".into(),
        })
    }

    /// Attaches a module's debug file (replacing an earlier one of the same module); its DWARF
    /// joins the types behind those already there. A file whose DWARF types cannot be set up
    /// still gives source lines.
    pub fn attach_module_debug(&self, m: ModuleDebug) {
        let _ = m.add_types(self);
        let mut all = self.module_debug.write().unwrap_or_else(|p| p.into_inner());
        all.retain(|o| o.name() != m.name());
        all.push(Arc::new(m));
    }

    /// Detaches the debug file of module `name` (all of them with `None`): its source lines,
    /// locals and globals are no longer used (the types already read from it stay known, as
    /// types the kernel describes do). Returns the names of the modules detached.
    pub fn detach_module_debug(&self, name: Option<&str>) -> Vec<String> {
        let mut all = self.module_debug.write().unwrap_or_else(|p| p.into_inner());
        let (gone, kept): (Vec<_>, Vec<_>) = all
            .drain(..)
            .partition(|m| name.is_none_or(|n| m.name() == n));
        *all = kept;
        gone.iter().map(|m| m.name().to_string()).collect()
    }

    /// The module debug files attached.
    pub fn module_debug(&self) -> Vec<Arc<ModuleDebug>> {
        self.module_debug
            .read()
            .map(|m| m.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The address of a symbol.
    pub fn symbol_address(&self, name: &str) -> Result<u64> {
        self.symbols()
            .address_of(name)
            .ok_or_else(|| ProgramError::NoSymbol(name.to_string()))
    }

    /// Looks a type up by C spelling: `struct task_struct`, `unsigned long`, `struct page *`.
    /// A name the kernel's types lack is looked for in the modules' (read on first need).
    pub fn type_(&self, spec: &str) -> Result<TypeId> {
        match self.types.lookup(spec) {
            Err(DebugInfoError::NotFound(_)) if self.load_module_types() => {
                Ok(self.types.lookup(spec)?)
            }
            r => Ok(r?),
        }
    }

    /// An object of type `spec` stored at `addr` (a reference: nothing is read yet).
    pub fn object(&self, spec: &str, addr: u64) -> Result<Object<'_>> {
        Ok(Object::reference(self, self.type_(spec)?, addr))
    }

    /// The global variable `name`, which has the type `spec` (BTF does not type most globals).
    pub fn variable(&self, name: &str, spec: &str) -> Result<Object<'_>> {
        self.object(spec, self.symbol_address(name)?)
    }

    /// Reads a little-endian u64 at `addr`.
    pub fn read_u64(&self, addr: u64) -> Result<u64> {
        match self.user_memory(addr) {
            Some(user) => Ok(user.read_u64(addr)?),
            None => Ok(self.mem.read_u64(addr)?),
        }
    }

    /// Reads bytes at `addr`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        match self.user_memory(addr) {
            Some(user) => Ok(user.read_virt(addr, buf)?),
            None => Ok(self.mem.read_virt(addr, buf)?),
        }
    }

    /// Reads as much of `addr..addr + buf.len()` as can be read, from the start.
    pub fn read_partial(&self, addr: u64, buf: &mut [u8]) -> kdive_memory::PartialRead {
        match self.user_memory(addr) {
            Some(user) => user.read_partial(addr, buf),
            None => self.mem.read_partial(addr, buf),
        }
    }

    /// Runs `f` with the lower half of the address space (user addresses, top bit clear on
    /// x86_64 and aarch64) read through `space`, a process's memory: crash's `-u`. Kernel
    /// addresses are read as always. Meant for one command at a time: a second caller on
    /// another thread would see the same process's memory meanwhile.
    pub fn with_user_space<R>(&self, space: Arc<dyn ReadVirt>, f: impl FnOnce() -> R) -> R {
        struct Reset<'a>(&'a Program);
        impl Drop for Reset<'_> {
            fn drop(&mut self) {
                self.0.user_set.store(false, Ordering::Release);
                match self.0.user.write() {
                    Ok(mut u) => *u = None,
                    Err(p) => *p.into_inner() = None,
                }
            }
        }
        match self.user.write() {
            Ok(mut u) => *u = Some(space),
            Err(p) => *p.into_inner() = Some(space),
        }
        self.user_set.store(true, Ordering::Release);
        let _reset = Reset(self);
        f()
    }

    /// The process memory `addr` is read from, when one is set and `addr` is a user address.
    /// Reads through the program itself ([`ReadVirt`] for `Program`) honour it too.
    fn user_memory(&self, addr: u64) -> Option<Arc<dyn ReadVirt>> {
        if addr >> 63 != 0 || !self.user_set.load(Ordering::Acquire) {
            return None;
        }
        match self.user.read() {
            Ok(u) => u.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// Kernel virtual memory, and while [`Program::with_user_space`] runs, that process's memory
/// for user addresses.
impl ReadVirt for Program {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> kdive_memory::Result<()> {
        match self.user_memory(addr) {
            Some(user) => user.read_virt(addr, buf),
            None => self.mem.read_virt(addr, buf),
        }
    }

    fn read_partial(&self, addr: u64, buf: &mut [u8]) -> kdive_memory::PartialRead {
        Program::read_partial(self, addr, buf)
    }
}
