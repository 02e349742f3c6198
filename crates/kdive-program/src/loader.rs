//! Opening a kernel from a dump alone: memory from VMCOREINFO, symbols from kallsyms, types from BTF.

use std::sync::Arc;

use kdive_debuginfo::btf::BtfSource;
use kdive_debuginfo::kallsyms::Kallsyms;
use kdive_debuginfo::{SymbolSource, Symbols, Types};
use kdive_dump::Dump;
use kdive_memory::{KernelMemory, ReadVirt};

use crate::{Program, ProgramError, Result};

/// Largest vmlinux BTF we accept (real ones are 4-6 MB).
const MAX_BTF: u64 = 256 << 20;

impl Program {
    /// Opens the kernel in `dump` with nothing but the dump: page tables, kallsyms and BTF from its memory.
    pub fn open(dump: Arc<Dump>) -> Result<Program> {
        let info = dump
            .vmcoreinfo()
            .cloned()
            .ok_or_else(|| ProgramError::Open("the dump carries no VMCOREINFO".into()))?;
        let mem = Arc::new(KernelMemory::new(dump.clone())?);
        let ksyms = Kallsyms::load(mem.clone(), &info)
            .map_err(|e| ProgramError::Open(format!("kallsyms: {e}")))?;
        let btf = read_vmlinux_btf(&*mem, &ksyms)?;
        let mut types = Types::new();
        let src = types.next_source_id();
        let btf = Arc::new(
            BtfSource::parse(btf, src).map_err(|e| ProgramError::Open(format!("BTF: {e}")))?,
        );
        types.add_source(btf.clone());
        let mut symbols = Symbols::new();
        symbols.add_source(Arc::new(ksyms));
        let mut prog = Program::new(mem.clone(), types, symbols);
        prog.set_dump(dump, Some(mem));
        prog.set_vmlinux_btf(btf, src);
        Ok(prog)
    }
}

/// The kernel's BTF: the bytes between `__start_BTF` and `__stop_BTF`.
fn read_vmlinux_btf(mem: &dyn ReadVirt, syms: &Kallsyms) -> Result<Vec<u8>> {
    let start = syms
        .by_name("__start_BTF")
        .ok_or_else(|| ProgramError::Open("no __start_BTF: kernel built without BTF".into()))?;
    let stop = syms
        .by_name("__stop_BTF")
        .ok_or_else(|| ProgramError::Open("no __stop_BTF".into()))?;
    let len = stop
        .addr
        .checked_sub(start.addr)
        .filter(|l| *l > 0 && *l <= MAX_BTF)
        .ok_or_else(|| {
            ProgramError::Open(format!(
                "BTF bounds {:#x}..{:#x} make no sense",
                start.addr, stop.addr
            ))
        })?;
    let mut buf = vec![0u8; len as usize];
    mem.read_virt(start.addr, &mut buf)
        .map_err(|e| ProgramError::Open(format!("reading BTF: {e}")))?;
    Ok(buf)
}
