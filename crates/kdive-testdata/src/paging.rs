//! Physical memory with hand-built x86_64 page tables (4- or 5-level, 4K, 2M and 1G pages),
//! as a dump with VMCOREINFO, for address translation and `vtop`.

use std::sync::Arc;

use kdive_dump::{Arch, Dump, QemuCpuState};
use kdive_memory::KernelMemory;

use crate::phys::PhysMemory;

/// `__START_KERNEL_map`.
pub const SKM: u64 = 0xffff_ffff_8000_0000;
/// Entry bits: present, writable, a huge page.
pub const P: u64 = 1;
pub const RW: u64 = 2;
pub const PS: u64 = 1 << 7;
pub const KB4: u64 = 0x1000;
/// Where the page tables go (physical).
pub const TABLES: u64 = 0x10_0000;

/// Builds physical memory and the kernel's page tables.
pub struct PageTables {
    pub phys: PhysMemory,
    /// Where the next table goes.
    pub next_table: u64,
    /// LA57: 5-level paging.
    pub five_level: bool,
    /// The top-level table (`init_top_pgt`'s physical address).
    pub root: u64,
    /// `NUMBER(phys_base)`.
    pub phys_base: i64,
    /// More VMCOREINFO lines.
    pub extra_info: String,
    pub arch: Arch,
    pub qemu_cpus: Vec<QemuCpuState>,
    /// Write VMCOREINFO at all.
    pub with_vmcoreinfo: bool,
}

impl PageTables {
    /// An empty top-level table and nothing mapped.
    pub fn new(five_level: bool) -> PageTables {
        let mut b = PageTables {
            phys: PhysMemory::new(),
            next_table: TABLES,
            five_level,
            root: 0,
            phys_base: 0,
            extra_info: String::new(),
            arch: Arch::X86_64,
            qemu_cpus: Vec::new(),
            with_vmcoreinfo: true,
        };
        b.root = b.alloc_table();
        b
    }

    /// A new zeroed table page; its physical address.
    pub fn alloc_table(&mut self) -> u64 {
        let p = self.next_table;
        self.next_table += KB4;
        self.phys.write(p, &[0; KB4 as usize]);
        p
    }

    /// Writes physical memory.
    pub fn write(&mut self, paddr: u64, bytes: &[u8]) {
        self.phys.write(paddr, bytes);
    }

    /// Reads a word of a page written before.
    pub fn read_u64(&self, paddr: u64) -> u64 {
        self.phys.read_u64(paddr).expect("a page-table page")
    }

    /// Sets entry `index` of the table at `table`.
    pub fn set_entry(&mut self, table: u64, index: u64, entry: u64) {
        self.write(table + index * 8, &entry.to_le_bytes());
    }

    /// Shifts of the levels above the leaf for a page of `size`, top first.
    pub fn shifts(&self) -> Vec<u32> {
        let top = if self.five_level { 48 } else { 39 };
        (0..=((top - 12) / 9)).map(|i| top - 9 * i).collect()
    }

    /// The table holding the leaf entry for `vaddr` at `leaf_shift`, creating tables on the way.
    pub fn table_for(&mut self, vaddr: u64, leaf_shift: u32) -> u64 {
        let mut table = self.root;
        for shift in self.shifts().into_iter().take_while(|&s| s > leaf_shift) {
            let idx = (vaddr >> shift) & 0x1ff;
            let e = self.read_u64(table + idx * 8);
            table = if e & P != 0 {
                e & 0x000f_ffff_ffff_f000
            } else {
                let t = self.alloc_table();
                self.set_entry(table, idx, t | P | RW);
                t
            };
        }
        table
    }

    /// Maps the page of `size` at `vaddr` to `paddr` (both aligned), with extra entry bits.
    pub fn map(&mut self, vaddr: u64, paddr: u64, size: u64, bits: u64) {
        let shift = size.trailing_zeros();
        let table = self.table_for(vaddr, shift);
        let huge = if size > KB4 { PS } else { 0 };
        self.set_entry(
            table,
            (vaddr >> shift) & 0x1ff,
            paddr | P | RW | huge | bits,
        );
    }

    /// `SYMBOL(init_top_pgt)`: the top table in the kernel image mapping.
    pub fn init_top_pgt(&self) -> u64 {
        SKM.wrapping_add(self.root)
            .wrapping_sub(self.phys_base as u64)
    }

    /// The dump: the memory with its VMCOREINFO.
    pub fn build(self) -> Arc<Dump> {
        let info = format!(
            "OSRELEASE=6.1.0-test\nPAGESIZE=4096\nSYMBOL(init_top_pgt)={:x}\nNUMBER(phys_base)={}\n\
             NUMBER(pgtable_l5_enabled)={}\nKERNELOFFSET=2d600000\nNUMBER(KERNEL_IMAGE_SIZE)=1073741824\n{}",
            self.init_top_pgt(),
            self.phys_base,
            u8::from(self.five_level),
            self.extra_info
        );
        let mut phys = self.phys;
        let meta = phys.meta_mut();
        meta.arch = self.arch;
        meta.nr_cpus = Some(1);
        meta.vmcoreinfo_raw = self.with_vmcoreinfo.then_some(info);
        meta.qemu_cpus = self.qemu_cpus;
        Arc::new(phys.into_dump())
    }

    /// The dump read through its page tables.
    pub fn memory(self) -> KernelMemory {
        KernelMemory::new(self.build()).expect("translation set up")
    }
}
