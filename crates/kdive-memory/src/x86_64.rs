//! x86_64 kernel address translation: 4- and 5-level page tables, huge pages, KASLR.
//!
//! The root is the kernel's `init_top_pgt` (VMCOREINFO), converted to physical through the
//! kernel image mapping and `phys_base`. Every kernel region (direct map, vmalloc, modules,
//! vmemmap) is translated by the same walk; kernel image addresses take a linear fast path.

use std::sync::OnceLock;

use kdive_dump::{Dump, VmcoreInfo};

use crate::mmu::{AddressRange, EntryFormat, LevelDef, MmuDef};
use crate::{KernelMemory, MemError, Result};

/// `__START_KERNEL_map`: where the kernel image is mapped.
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// Physical-address bits of a page-table entry (bits 12..51).
pub const PTE_PHYS_MASK: u64 = 0x000f_ffff_ffff_f000;

/// `KERNEL_IMAGE_SIZE` when VMCOREINFO does not say (the non-KASLR value; the smaller one is safe).
const DEFAULT_KERNEL_IMAGE_SIZE: u64 = 512 << 20;
/// CR4.LA57: 5-level paging.
const CR4_LA57: u64 = 1 << 12;
const ONE_GIB: u64 = 1 << 30;

/// Page-table levels from the top: the hardware's and Linux's names (4-level paging folds
/// Linux's P4D, its PML4 is the PGD), the shift of the address bits each one indexes and
/// whether an entry there may map a huge page.
const LEVELS: [(&str, &str, u32, bool); 5] = [
    ("PML5", "PGD", 48, false),
    ("PML4", "P4D", 39, false),
    ("PDPT", "PUD", 30, true),
    ("PD", "PMD", 21, true),
    ("PT", "PTE", 12, false),
];

/// The x86_64 page-table format: 4 or 5 levels of 512 entries.
pub fn mmu(five_level: bool, sme_mask: u64) -> MmuDef {
    let levels = if five_level {
        &LEVELS[..]
    } else {
        &LEVELS[1..]
    };
    MmuDef {
        levels: levels
            .iter()
            .enumerate()
            .map(|(i, &(name, linux, shift, block))| LevelDef {
                name,
                linux: if i == 0 { "PGD" } else { linux },
                shift,
                bits: 9,
                block,
            })
            .collect(),
        entry: EntryFormat::X86 { clear: sme_mask },
        va_bits: if five_level { 57 } else { 48 },
        range: AddressRange::Canonical,
        bad_address: if five_level {
            "not canonical (57-bit, 5-level paging)"
        } else {
            "not canonical (48-bit, 4-level paging)"
        },
    }
}

/// What x86_64 adds to the walk: the kernel image's linear mapping and the direct map's base.
pub(crate) struct Layout {
    /// `NUMBER(phys_base)`: physical address of `__START_KERNEL_map`, when known.
    pub(crate) phys_base: Option<u64>,
    kernel_image_size: u64,
    direct_map_base: OnceLock<Option<u64>>,
}

/// The format, root and layout of an x86_64 dump.
pub(crate) fn setup(dump: &Dump, info: &VmcoreInfo) -> Result<(MmuDef, u64, Layout)> {
    let qemu_cpu = dump.meta().qemu_cpus.first();
    let phys_base = info.number("phys_base").map(|v| v as u64);
    let kernel_image_size = info
        .number("KERNEL_IMAGE_SIZE")
        .and_then(|v| u64::try_from(v).ok())
        .filter(|&v| v > 0 && v <= u64::MAX - START_KERNEL_MAP)
        .unwrap_or(DEFAULT_KERNEL_IMAGE_SIZE);
    let root_sym = ["init_top_pgt", "swapper_pg_dir"]
        .into_iter()
        .find_map(|s| info.symbol(s).map(|a| (s, a)));
    let root = match (root_sym, phys_base, qemu_cpu) {
        (Some((name, vaddr)), Some(pb), _) => image_to_phys(vaddr, pb, kernel_image_size)
            .ok_or_else(|| {
                MemError::NoTranslation(format!(
                "SYMBOL({name})={vaddr:#x} is outside the kernel image mapping at {START_KERNEL_MAP:#x}"
            ))
            })?,
        (_, _, Some(cpu)) => cpu.cr[3] & PTE_PHYS_MASK,
        (None, _, None) => {
            return Err(MemError::NoTranslation(
                "no VMCOREINFO SYMBOL(init_top_pgt) or SYMBOL(swapper_pg_dir), and no QEMU CPU state".into(),
            ))
        }
        (Some((name, _)), None, None) => {
            return Err(MemError::NoTranslation(format!(
                "VMCOREINFO has SYMBOL({name}) but no NUMBER(phys_base) to locate it"
            )))
        }
    };
    let five_level = match info.number("pgtable_l5_enabled") {
        Some(v) => v != 0,
        None => qemu_cpu.is_some_and(|c| c.cr[4] & CR4_LA57 != 0),
    };
    let sme_mask = info.number("sme_mask").map_or(0, |v| v as u64);
    let layout = Layout {
        phys_base,
        kernel_image_size,
        direct_map_base: OnceLock::new(),
    };
    Ok((mmu(five_level, sme_mask), root, layout))
}

impl Layout {
    /// Linear translation of a kernel image address, `None` outside the image mapping.
    pub(crate) fn image_to_phys(&self, vaddr: u64) -> Option<u64> {
        image_to_phys(vaddr, self.phys_base?, self.kernel_image_size)
    }

    /// Start of the direct map of physical memory (`page_offset_base`, randomized by KASLR).
    ///
    /// VMCOREINFO does not carry it; it is derived from `SYMBOL(mem_section)` (an allocation in the
    /// direct map) or, failing that, the non-KASLR default, and accepted only if it maps physical 0.
    pub(crate) fn direct_map_base(&self, mem: &KernelMemory) -> Option<u64> {
        *self
            .direct_map_base
            .get_or_init(|| find_direct_map_base(mem))
    }
}

fn find_direct_map_base(mem: &KernelMemory) -> Option<u64> {
    let derived = mem
        .vmcoreinfo()
        .and_then(|i| i.symbol("mem_section"))
        .and_then(|v| {
            let p = mem.translate(v).ok()?;
            v.checked_sub(p).filter(|b| b % ONE_GIB == 0)
        });
    let default = if mem.paging_levels() == 5 {
        0xff11_0000_0000_0000
    } else {
        0xffff_8880_0000_0000
    };
    derived
        .into_iter()
        .chain([default])
        .find(|&b| b < START_KERNEL_MAP && mem.translate(b).ok() == Some(0))
}

/// Linear translation of a kernel image address, `None` outside the image mapping.
fn image_to_phys(vaddr: u64, phys_base: u64, image_size: u64) -> Option<u64> {
    let off = vaddr
        .checked_sub(START_KERNEL_MAP)
        .filter(|&o| o < image_size)?;
    Some(off.wrapping_add(phys_base))
}
