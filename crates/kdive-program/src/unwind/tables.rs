//! The unwind tables of a program: vmlinux's ORC, read from the dump on first use, and each
//! module's, which comes with the module (see [`crate::modules`]).

use std::sync::{Arc, OnceLock};

use kdive_memory::ReadVirt;

use super::frame::FoundBy;
use super::orc::{OrcLayout, OrcTable};
use super::rows::{RowLookup, RowSource};
use crate::{Program, ProgramError, Result};

/// The kernel's own unwind information.
#[derive(Default)]
pub struct UnwindTables {
    kernel: OnceLock<std::result::Result<Arc<OrcTable>, Arc<ProgramError>>>,
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

    /// vmlinux's table, read on first use, or why it could not be.
    pub fn kernel_table(&self, prog: &Program) -> Result<&Arc<OrcTable>> {
        self.kernel
            .get_or_init(|| read_kernel_orc(prog).map(Arc::new).map_err(Arc::new))
            .as_ref()
            .map_err(|e| ProgramError::Shared(e.clone()))
    }

    /// A row source over vmlinux's table (found now if it was not yet) and the modules' tables,
    /// reading the tables left in memory through the program's memory.
    pub fn rows<'a>(&'a self, prog: &'a Program) -> OrcRows<'a> {
        OrcRows {
            mem: prog.mem(),
            kernel: self.kernel_table(prog).ok().map(|t| &**t),
            modules: Modules::Program(prog),
        }
    }
}

/// Where an [`OrcRows`] finds modules' tables.
enum Modules<'a> {
    /// The program's modules, attached on first need.
    Program(&'a Program),
    /// Tables given outright.
    Tables(&'a [Arc<OrcTable>]),
}

/// A [`RowSource`] over ORC tables.
pub struct OrcRows<'a> {
    mem: &'a dyn ReadVirt,
    kernel: Option<&'a OrcTable>,
    modules: Modules<'a>,
}

impl<'a> OrcRows<'a> {
    /// Rows from vmlinux's table (if any) and the given modules' tables, those left in memory
    /// read through `mem`.
    pub fn new(
        mem: &'a dyn ReadVirt,
        kernel: Option<&'a OrcTable>,
        modules: &'a [Arc<OrcTable>],
    ) -> OrcRows<'a> {
        OrcRows {
            mem,
            kernel,
            modules: Modules::Tables(modules),
        }
    }

    /// The table covering `pc`.
    fn table(&self, pc: u64) -> Option<TableRef<'a>> {
        if let Some(k) = self.kernel.filter(|t| t.covers(pc)) {
            return Some(TableRef::Borrowed(k));
        }
        match &self.modules {
            Modules::Tables(m) => m
                .iter()
                .find(|t| t.covers(pc))
                .map(|t| TableRef::Borrowed(t)),
            Modules::Program(prog) => {
                let t = prog.module_at(pc)?.orc()?.clone();
                t.covers(pc).then_some(TableRef::Shared(t))
            }
        }
    }
}

/// A table found for a pc: the kernel's (borrowed) or a module's (shared).
enum TableRef<'a> {
    Borrowed(&'a OrcTable),
    Shared(Arc<OrcTable>),
}

impl std::ops::Deref for TableRef<'_> {
    type Target = OrcTable;
    fn deref(&self) -> &OrcTable {
        match self {
            TableRef::Borrowed(t) => t,
            TableRef::Shared(t) => t,
        }
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
