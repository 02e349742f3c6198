//! `Program`: one kernel image in one dump, with its memory, symbols and types.

use std::sync::Arc;

use kdive_debuginfo::btf::BtfSource;
use kdive_debuginfo::{Symbols, TypeId, Types};
use kdive_dump::Dump;
use kdive_memory::{KernelMemory, ReadVirt};

use crate::debug::{KernelDebug, ModuleDebug};
use crate::unwind::UnwindTables;
use crate::{Object, ProgramError, Result};

/// A kernel in a dump: read memory, find symbols, interpret bytes as types.
pub struct Program {
    mem: Arc<dyn ReadVirt>,
    types: Types,
    symbols: Symbols,
    dump: Option<Arc<Dump>>,
    vmlinux_btf: Option<(Arc<BtfSource>, u16)>,
    kernel_mem: Option<Arc<KernelMemory>>,
    unwind: UnwindTables,
    debug: Option<KernelDebug>,
    module_debug: Vec<ModuleDebug>,
}

impl Program {
    /// Ties a memory, types and symbols together.
    pub fn new(mem: Arc<dyn ReadVirt>, types: Types, symbols: Symbols) -> Program {
        Program {
            mem,
            types,
            symbols,
            dump: None,
            vmlinux_btf: None,
            kernel_mem: None,
            unwind: UnwindTables::new(),
            debug: None,
            module_debug: Vec::new(),
        }
    }

    /// Records the dump (and its page-table view) this program reads, for CPU notes and physical reads.
    pub fn set_dump(&mut self, dump: Arc<Dump>, kernel_mem: Option<Arc<KernelMemory>>) {
        self.dump = Some(dump);
        self.kernel_mem = kernel_mem;
    }

    /// Records the kernel's own BTF and its provider number, the base that module BTF extends.
    pub fn set_vmlinux_btf(&mut self, btf: Arc<BtfSource>, src: u16) {
        self.vmlinux_btf = Some((btf, src));
    }

    /// The kernel's own BTF and its provider number, when types came from BTF.
    pub fn vmlinux_btf(&self) -> Option<(&Arc<BtfSource>, u16)> {
        self.vmlinux_btf.as_ref().map(|(b, s)| (b, *s))
    }

    /// Records a checked vmlinux (see [`Program::attach_vmlinux`]).
    pub fn set_debug(&mut self, debug: KernelDebug) {
        self.debug = Some(debug);
    }

    /// The vmlinux attached, if any.
    pub fn debug(&self) -> Option<&KernelDebug> {
        self.debug.as_ref()
    }

    /// Adds a module's debug file (replacing an earlier one of the same module).
    pub fn add_module_debug(&mut self, m: ModuleDebug) {
        self.module_debug.retain(|o| o.name() != m.name());
        self.module_debug.push(m);
    }

    /// The module debug files attached.
    pub fn module_debug(&self) -> &[ModuleDebug] {
        &self.module_debug
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

    /// All types known to the program.
    pub fn types(&self) -> &Types {
        &self.types
    }

    /// All symbols known to the program.
    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    /// Mutable symbols (to add module symbol tables after the kernel's).
    pub fn symbols_mut(&mut self) -> &mut Symbols {
        &mut self.symbols
    }

    /// Mutable types (to add module BTF after the kernel's).
    pub fn types_mut(&mut self) -> &mut Types {
        &mut self.types
    }

    /// Unwind tables (vmlinux's ORC read on first use, modules' added by the module walk).
    pub fn unwind_tables(&self) -> &UnwindTables {
        &self.unwind
    }

    /// Mutable unwind tables (to add module tables, or tables built elsewhere).
    pub fn unwind_tables_mut(&mut self) -> &mut UnwindTables {
        &mut self.unwind
    }

    /// The address of a symbol.
    pub fn symbol_address(&self, name: &str) -> Result<u64> {
        self.symbols
            .address_of(name)
            .ok_or_else(|| ProgramError::NoSymbol(name.to_string()))
    }

    /// Looks a type up by C spelling: `struct task_struct`, `unsigned long`, `struct page *`.
    pub fn type_(&self, spec: &str) -> Result<TypeId> {
        Ok(self.types.lookup(spec)?)
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
        Ok(self.mem.read_u64(addr)?)
    }

    /// Reads bytes at `addr`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        Ok(self.mem.read_virt(addr, buf)?)
    }
}
