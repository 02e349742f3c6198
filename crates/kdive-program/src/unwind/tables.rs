//! The unwind tables of a program: vmlinux's ORC, read from the dump on first use, and each
//! module's, added by whoever walks the module list.

use std::sync::{Arc, OnceLock};

use kdive_memory::ReadVirt;

use super::frame::FoundBy;
use super::orc::{OrcLayout, OrcTable};
use super::rows::{RowLookup, RowSource};
use crate::{Program, ProgramError, Result};

/// All unwind information of a program.
#[derive(Default)]
pub struct UnwindTables {
    kernel: OnceLock<std::result::Result<Arc<OrcTable>, String>>,
    modules: Vec<Arc<OrcTable>>,
}

impl UnwindTables {
    /// No tables yet; vmlinux's is read from the program's memory on first use.
    pub fn new() -> UnwindTables {
        UnwindTables::default()
    }

    /// Tables given outright (tests, or a table read elsewhere): vmlinux's is not looked for.
    pub fn with_kernel_table(table: OrcTable) -> UnwindTables {
        let t = UnwindTables::default();
        let _ = t.kernel.set(Ok(Arc::new(table)));
        t
    }

    /// Adds a module's table.
    pub fn add_module_table(&mut self, table: OrcTable) {
        self.modules.retain(|m| m.name() != table.name());
        self.modules.push(Arc::new(table));
    }

    /// The modules' tables.
    pub fn module_tables(&self) -> &[Arc<OrcTable>] {
        &self.modules
    }

    /// vmlinux's table, read on first use, or why it could not be.
    pub fn kernel_table(&self, prog: &Program) -> std::result::Result<&Arc<OrcTable>, &str> {
        self.kernel
            .get_or_init(|| {
                read_kernel_orc(prog)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// A row source over every table (vmlinux's found now if it was not yet), reading the
    /// tables left in memory through the program's memory.
    pub fn rows<'a>(&'a self, prog: &'a Program) -> OrcRows<'a> {
        OrcRows {
            mem: prog.mem(),
            kernel: self.kernel_table(prog).ok().map(|t| &**t),
            modules: &self.modules,
        }
    }
}

/// A [`RowSource`] over ORC tables.
pub struct OrcRows<'a> {
    mem: &'a dyn ReadVirt,
    kernel: Option<&'a OrcTable>,
    modules: &'a [Arc<OrcTable>],
}

impl<'a> OrcRows<'a> {
    /// Rows from vmlinux's table (if any) and the modules' tables, those left in memory read
    /// through `mem`.
    pub fn new(
        mem: &'a dyn ReadVirt,
        kernel: Option<&'a OrcTable>,
        modules: &'a [Arc<OrcTable>],
    ) -> OrcRows<'a> {
        OrcRows {
            mem,
            kernel,
            modules,
        }
    }

    fn table(&self, pc: u64) -> Option<&OrcTable> {
        self.kernel
            .filter(|t| t.covers(pc))
            .or_else(|| self.modules.iter().map(|m| &**m).find(|t| t.covers(pc)))
    }
}

impl RowSource for OrcRows<'_> {
    fn row(&self, pc: u64) -> RowLookup {
        match self.table(pc).and_then(|t| t.lookup(self.mem, pc)) {
            Some(e) => RowLookup::Found(e.to_row(), FoundBy::Orc),
            None => RowLookup::NoInfo,
        }
    }

    fn is_text(&self, pc: u64) -> bool {
        self.table(pc).is_some()
    }
}

/// vmlinux's ORC table: `__start_orc_unwind_ip`..`__stop_orc_unwind_ip` and
/// `__start_orc_unwind`, covering `_stext`..`_etext` and `_sinittext`..`_einittext`, left in
/// memory; lookups in `_stext`..`_etext` start from the kernel's `orc_lookup` blocks.
fn read_kernel_orc(prog: &Program) -> Result<OrcTable> {
    let start_ip = prog.symbol_address("__start_orc_unwind_ip")?;
    let stop_ip = prog.symbol_address("__stop_orc_unwind_ip")?;
    let start_orc = prog.symbol_address("__start_orc_unwind")?;
    let layout = OrcLayout::from_types(prog.types());
    let count = stop_ip.saturating_sub(start_ip) / 4;
    if let (Ok(stop_orc), Some(l)) = (prog.symbol_address("__stop_orc_unwind"), &layout) {
        let want = count * l.size() as u64;
        if stop_orc.saturating_sub(start_orc) != want {
            return Err(ProgramError::Walk {
                what: "vmlinux ORC table".into(),
                why: format!(
                    "{count} ips but {} bytes of {}-byte entries",
                    stop_orc.saturating_sub(start_orc),
                    l.size()
                ),
            });
        }
    }
    let range =
        |a: &str, b: &str| Some((prog.symbol_address(a).ok()?, prog.symbol_address(b).ok()?));
    let ranges = [range("_stext", "_etext"), range("_sinittext", "_einittext")]
        .into_iter()
        .flatten()
        .filter(|(a, b)| a < b)
        .collect();
    let table = OrcTable::read(
        prog.mem(),
        "vmlinux",
        start_ip,
        start_orc,
        count as usize,
        layout,
        ranges,
    )?;
    let index = (|| {
        let start = prog.symbol_address("orc_lookup").ok()?;
        let end = prog.symbol_address("orc_lookup_end").ok()?;
        Some((
            start,
            prog.symbol_address("_stext").ok()?,
            end.checked_sub(start)? / 4,
        ))
    })();
    Ok(match index {
        Some((lookup, text, blocks)) => table.with_block_index(lookup, text, blocks),
        None => table,
    })
}
