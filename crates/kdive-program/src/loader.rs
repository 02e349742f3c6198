//! Opening a kernel from a dump alone: memory from VMCOREINFO, symbols from kallsyms, types from
//! BTF (or, for a kernel without, from its vmlinux attached afterwards).

use std::sync::Arc;

use kdive_debuginfo::btf::BtfSource;
use kdive_debuginfo::kallsyms::Kallsyms;
use kdive_debuginfo::{SymbolSource, Symbols, Types};
use kdive_dump::Dump;
use kdive_memory::{KernelMemory, ReadVirt};

use crate::error::KernelOpenError;
use crate::{ProgramBuilder, Result};

/// Largest vmlinux BTF we accept (real ones are 4-6 MB).
const MAX_BTF: u64 = 256 << 20;

impl ProgramBuilder {
    /// A builder for the kernel in `dump`, from nothing but the dump: page tables, kallsyms and
    /// BTF from its memory. Modules come through a loader ([`ProgramBuilder::module_loader`]);
    /// the kernel-knowledge layer's `open` adds it.
    pub fn from_dump(dump: Arc<Dump>) -> Result<ProgramBuilder> {
        let (builder, mem, ksyms) = Self::from_dump_untyped(dump)?;
        let btf = read_vmlinux_btf(&*mem, &ksyms)?;
        let mut types = Types::new();
        let src = types.next_source_id();
        let btf = Arc::new(BtfSource::parse(btf, src).map_err(KernelOpenError::Btf)?);
        types.add_source(btf.clone());
        Ok(builder
            .types(types)
            .vmlinux_btf(btf, src)
            .symbols(symbols(ksyms)))
    }

    /// Like [`ProgramBuilder::from_dump`] for a kernel built without BTF: no types until its
    /// vmlinux is attached ([`Program::attach_vmlinux`](crate::Program::attach_vmlinux)), whose
    /// DWARF then answers every type name.
    pub fn from_dump_without_btf(dump: Arc<Dump>) -> Result<ProgramBuilder> {
        let (builder, _, ksyms) = Self::from_dump_untyped(dump)?;
        Ok(builder.symbols(symbols(ksyms)))
    }

    /// Memory and kallsyms of the kernel in `dump`.
    fn from_dump_untyped(dump: Arc<Dump>) -> Result<(ProgramBuilder, Arc<KernelMemory>, Kallsyms)> {
        let info = dump
            .vmcoreinfo()
            .cloned()
            .ok_or(KernelOpenError::NoVmcoreinfo)?;
        let mem = Arc::new(KernelMemory::new(dump.clone()).map_err(KernelOpenError::Memory)?);
        let ksyms = Kallsyms::load(mem.clone(), &info).map_err(KernelOpenError::Kallsyms)?;
        let builder = ProgramBuilder::new(mem.clone()).dump(dump, Some(mem.clone()));
        Ok((builder, mem, ksyms))
    }
}

fn symbols(ksyms: Kallsyms) -> Symbols {
    let mut symbols = Symbols::new();
    symbols.add_source(Arc::new(ksyms));
    symbols
}

/// The kernel's BTF: the bytes between `__start_BTF` and `__stop_BTF`.
fn read_vmlinux_btf(mem: &dyn ReadVirt, syms: &Kallsyms) -> Result<Vec<u8>> {
    let start = syms
        .by_name("__start_BTF")
        .ok_or(KernelOpenError::NoBtf("__start_BTF"))?;
    let stop = syms
        .by_name("__stop_BTF")
        .ok_or(KernelOpenError::NoBtf("__stop_BTF"))?;
    let len = stop
        .addr
        .checked_sub(start.addr)
        .filter(|l| *l > 0 && *l <= MAX_BTF)
        .ok_or(KernelOpenError::BtfBounds {
            start: start.addr,
            stop: stop.addr,
        })?;
    let mut buf = vec![0u8; len as usize];
    mem.read_virt(start.addr, &mut buf)
        .map_err(KernelOpenError::ReadBtf)?;
    Ok(buf)
}
