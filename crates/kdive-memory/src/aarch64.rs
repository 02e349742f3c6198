//! aarch64 kernel address translation: 4K/16K/64K granules, 36..52-bit virtual addresses
//! (LPA2 and 64K-page 52-bit output addresses), block mappings, KASLR, the linear map.
//!
//! Everything comes from VMCOREINFO: `PAGESIZE`, `NUMBER(TCR_EL1_T1SZ)` (the hardware's
//! virtual-address size; else `NUMBER(VA_BITS)`), `NUMBER(kimage_voffset)` (kernel image
//! virtual - physical, KASLR included), `SYMBOL(swapper_pg_dir)` (the root `TTBR1_EL1` points
//! at), `NUMBER(PHYS_OFFSET)` (the linear map's physical base).

use kdive_dump::VmcoreInfo;

use crate::mmu::{arm64_levels, AddressRange, EntryFormat, MmuDef};
use crate::{KernelMemory, MemError, Result};

/// The aarch64 page-table format of a kernel: granule `1 << page_shift`, `va_bits` of kernel
/// addresses (`64 - TCR_EL1.T1SZ`).
pub fn mmu(page_shift: u32, va_bits: u32) -> Result<MmuDef> {
    if !matches!(page_shift, 12 | 14 | 16) || !(25..=52).contains(&va_bits) || va_bits <= page_shift
    {
        return Err(MemError::NoTranslation(format!(
            "no aarch64 translation with {} KiB pages and {va_bits}-bit addresses",
            (1u64 << page_shift.min(40)) >> 10
        )));
    }
    // 4K and 16K granules reach 52 bits only with LPA2 (TCR_EL1.DS), which moves the output
    // address bits; 64K granules keep their 52-bit format whatever the address size.
    let lpa2 = page_shift != 16 && va_bits > 48;
    Ok(MmuDef {
        levels: arm64_levels(page_shift, va_bits, lpa2),
        entry: EntryFormat::Arm64 { page_shift, lpa2 },
        va_bits,
        range: AddressRange::Upper,
        bad_address: "not a kernel address (TTBR1 range of this aarch64 kernel)",
    })
}

/// The tables of a process's user half (`TTBR0_EL1`, rooted at its `mm->pgd`): the kernel's
/// format over the lower range (Linux sizes user space by the same `vabits_actual`).
pub fn user_mmu(kernel: &MmuDef) -> MmuDef {
    MmuDef {
        range: AddressRange::Lower,
        bad_address: "not a user address (TTBR0 range of this aarch64 kernel)",
        ..kernel.clone()
    }
}

/// The linear map: `[start, end)` maps physical memory from `phys_offset` up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Linear {
    pub(crate) start: u64,
    end: u64,
    phys_offset: u64,
}

impl Linear {
    fn to_phys(self, vaddr: u64) -> Option<u64> {
        (vaddr >= self.start && vaddr < self.end)
            .then(|| (vaddr - self.start).wrapping_add(self.phys_offset))
    }
}

/// What aarch64 adds to the walk: the linear map, once checked against the page tables.
pub(crate) struct Layout {
    /// The layouts the kernel may have (5.4 and later: the lower half of the kernel range;
    /// before: the upper half), tried in order.
    candidates: Vec<Linear>,
    /// The candidate the page tables agree with.
    pub(crate) linear: Option<Linear>,
}

/// The format, root and layout of an aarch64 dump.
pub(crate) fn setup(info: &VmcoreInfo) -> Result<(MmuDef, u64, Layout)> {
    let need =
        |what: &str| MemError::NoTranslation(format!("aarch64 dump without VMCOREINFO {what}"));
    let page_size = info.page_size().ok_or_else(|| need("PAGESIZE"))?;
    if !page_size.is_power_of_two() {
        return Err(MemError::NoTranslation(format!(
            "VMCOREINFO PAGESIZE={page_size}"
        )));
    }
    let page_shift = page_size.trailing_zeros();
    let config_bits = info.number("VA_BITS");
    let hw_bits = info.number("TCR_EL1_T1SZ").map(|t1sz| 64 - t1sz);
    let va_bits = hw_bits
        .or(config_bits)
        .and_then(|b| u32::try_from(b).ok())
        .ok_or_else(|| need("NUMBER(VA_BITS)"))?;
    let mmu = mmu(page_shift, va_bits)?;
    let voffset = info
        .number("kimage_voffset")
        .ok_or_else(|| need("NUMBER(kimage_voffset)"))? as u64;
    let pgd = info
        .symbol("swapper_pg_dir")
        .ok_or_else(|| need("SYMBOL(swapper_pg_dir)"))?;
    let root = pgd.wrapping_sub(voffset);
    let candidates = match (info.number("PHYS_OFFSET"), config_bits) {
        (Some(phys), Some(bits)) if (25..=52).contains(&bits) => {
            let bits = bits as u32;
            let phys_offset = phys as u64;
            // PAGE_OFFSET is the configured size's; the linear map ends halfway up the
            // smallest size the kernel supports (VA_BITS_MIN: 48 for 52-bit kernels)
            let min_bits = if bits > 48 { 48 } else { bits };
            vec![
                Linear {
                    start: u64::MAX << bits,
                    end: u64::MAX << (min_bits - 1),
                    phys_offset,
                },
                Linear {
                    start: u64::MAX << (bits - 1),
                    end: u64::MAX,
                    phys_offset,
                },
            ]
        }
        _ => Vec::new(),
    };
    Ok((
        mmu,
        root,
        Layout {
            candidates,
            linear: None,
        },
    ))
}

impl Layout {
    /// The physical address of a linear-map address, when the linear map is known.
    pub(crate) fn linear_to_phys(&self, vaddr: u64) -> Option<u64> {
        self.linear?.to_phys(vaddr)
    }

    /// The candidate layout the page tables agree with at `SYMBOL(mem_section)` (an
    /// allocation in the linear map).
    pub(crate) fn verified_linear(&self, mem: &KernelMemory) -> Option<Linear> {
        let probe = mem.vmcoreinfo()?.symbol("mem_section")?;
        self.candidates.iter().copied().find(|c| {
            c.to_phys(probe)
                .is_some_and(|p| mem.mapping(probe).is_ok_and(|m| m.paddr == p))
        })
    }
}
