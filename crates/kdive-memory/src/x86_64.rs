//! x86_64 kernel address translation.

use std::sync::Arc;

use kdive_dump::Dump;

use crate::{MemError, ReadVirt, Result};

/// The kernel's address space in a dump: page-table walk from the kernel's top-level table.
pub struct KernelMemory {
    dump: Arc<Dump>,
}

impl KernelMemory {
    /// Sets up translation from the dump's VMCOREINFO.
    pub fn new(dump: Arc<Dump>) -> Result<KernelMemory> {
        Ok(KernelMemory { dump })
    }

    /// The dump underneath.
    pub fn dump(&self) -> &Arc<Dump> {
        &self.dump
    }

    /// Translates a kernel virtual address to a physical one.
    pub fn translate(&self, vaddr: u64) -> Result<u64> {
        Err(MemError::NoTranslation(format!("{vaddr:#x}: not yet implemented")))
    }
}

impl ReadVirt for KernelMemory {
    fn read_virt(&self, addr: u64, _buf: &mut [u8]) -> Result<()> {
        self.translate(addr).map(|_| ())
    }
}
