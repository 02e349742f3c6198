//! Page-table formats described as data, and the one walker that runs them all.
//!
//! An [`MmuDef`] lists the levels of a translation (top first: the address bits each indexes)
//! and how an entry reads ([`EntryFormat`]: present, next table, leaf, output address). x86_64
//! 4- and 5-level paging and aarch64's 4K/16K/64K granules at 36..52 bits are instances of it.

use kdive_dump::{DumpError, PhysicalMemory};

use crate::{MemError, Result};

/// One level of a page-table walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelDef {
    /// The hardware's name for the level (`PML4`, `PGD`, `PTE`...), used in errors.
    pub name: &'static str,
    /// Linux's name for the level (`PGD`, `P4D`, `PUD`, `PMD`, `PTE`), as crash's `vtop` prints it.
    pub linux: &'static str,
    /// Lowest address bit this level indexes (its entries each map `1 << shift` bytes).
    pub shift: u32,
    /// Address bits it indexes (the table has `1 << bits` entries).
    pub bits: u32,
    /// An entry here may map a block (huge page) instead of pointing at a table.
    pub block: bool,
}

/// How page-table entries are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryFormat {
    /// x86_64: bit 0 present, bit 7 page size (huge), address bits 12..51; `clear` holds bits
    /// to drop first (the memory-encryption mask).
    X86 { clear: u64 },
    /// aarch64 VMSAv8-64 descriptors: bit 0 valid, bit 1 table (or page at the last level).
    /// `lpa2`: 52-bit output addresses of 4K/16K granules keep address bits 50..51 in entry bits
    /// 8..9 (`TCR_EL1.DS`); 64K granules keep bits 48..51 in entry bits 12..15 (`FEAT_LPA`).
    Arm64 { page_shift: u32, lpa2: bool },
}

/// What one entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoded {
    NotPresent,
    Table(u64),
    Leaf(u64),
    Bad(&'static str),
}

impl EntryFormat {
    /// The physical address an entry points at (next table, block or page), page-aligned;
    /// memory-encryption bits and attribute bits dropped.
    pub fn output_address(&self, entry: u64) -> u64 {
        match *self {
            EntryFormat::X86 { clear } => entry & !clear & 0x000f_ffff_ffff_f000,
            EntryFormat::Arm64 { page_shift, lpa2 } => {
                arm64_output_address(entry, page_shift, lpa2)
            }
        }
    }

    fn decode(&self, entry: u64, level: &LevelDef, last: bool) -> Decoded {
        match *self {
            EntryFormat::X86 { .. } => {
                if entry & 1 == 0 {
                    return Decoded::NotPresent;
                }
                let addr = self.output_address(entry);
                match (last, entry & (1 << 7) != 0) {
                    (true, _) => Decoded::Leaf(addr),
                    (false, false) => Decoded::Table(addr),
                    (false, true) if level.block => Decoded::Leaf(addr),
                    (false, true) => {
                        Decoded::Bad("huge-page bit set at a level that cannot map pages")
                    }
                }
            }
            EntryFormat::Arm64 { .. } => {
                if entry & 1 == 0 {
                    return Decoded::NotPresent;
                }
                let addr = self.output_address(entry);
                match (last, entry & 2 != 0) {
                    (true, true) => Decoded::Leaf(addr),
                    // reserved at the last level: the hardware faults on it
                    (true, false) => Decoded::NotPresent,
                    (false, true) => Decoded::Table(addr),
                    (false, false) if level.block => Decoded::Leaf(addr),
                    (false, false) => {
                        Decoded::Bad("block descriptor at a level that cannot map blocks")
                    }
                }
            }
        }
    }
}

/// The output address of an aarch64 descriptor (table, block or page), page-aligned.
pub fn arm64_output_address(entry: u64, page_shift: u32, lpa2: bool) -> u64 {
    let low = |hi: u32| entry & ((1u64 << hi) - 1) & !((1u64 << page_shift) - 1);
    match (page_shift, lpa2) {
        (16, _) => low(48) | ((entry >> 12) & 0xf) << 48,
        (_, true) => low(50) | ((entry >> 8) & 0x3) << 50,
        _ => low(48),
    }
}

/// A translation format: its levels, top first, and its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmuDef {
    pub levels: Vec<LevelDef>,
    pub entry: EntryFormat,
    /// Bits of virtual address translated.
    pub va_bits: u32,
    /// Which addresses the tables translate.
    pub range: AddressRange,
    /// Why an address outside the range is refused.
    pub bad_address: &'static str,
}

/// The virtual addresses one set of page tables translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressRange {
    /// Sign-extended from bit `va_bits - 1`, either half: one set of tables for user and
    /// kernel (x86_64).
    Canonical,
    /// Every bit from `va_bits` up set: the kernel's half (aarch64's `TTBR1_EL1`).
    Upper,
    /// Every bit from `va_bits` up clear: user space (aarch64's `TTBR0_EL1`).
    Lower,
}

impl AddressRange {
    /// Whether `vaddr` is in the range, with `bits` (1..=63) of address translated.
    pub fn holds(self, vaddr: u64, bits: u32) -> bool {
        match self {
            AddressRange::Canonical => {
                let upper = (vaddr as i64) >> (bits - 1);
                upper == 0 || upper == -1
            }
            AddressRange::Upper => (vaddr as i64) >> bits == -1,
            AddressRange::Lower => vaddr >> bits == 0,
        }
    }
}

/// Where a virtual address lands: its physical address and the size of the page mapping it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// Physical address of the virtual address (page base + offset).
    pub paddr: u64,
    /// Size of the mapping page (4K, 2M, 1G on x86_64; 4K..4T on aarch64).
    pub size: u64,
}

impl Mapping {
    /// Physical address of the start of the page.
    pub fn page_base(&self) -> u64 {
        self.paddr & !(self.size - 1)
    }
}

/// One entry read during a page-table walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkStep {
    /// The hardware's name of the level: `PML5`, `PML4`, `PDPT`, `PD`, `PT` (x86_64); `PGD`,
    /// `P4D`, `PUD`, `PMD`, `PTE` (aarch64).
    pub level: &'static str,
    /// Linux's name of the level (`PGD`, `P4D`, `PUD`, `PMD`, `PTE`).
    pub linux: &'static str,
    /// Physical address of the table.
    pub table: u64,
    /// Index of the entry in the table.
    pub index: u16,
    /// The entry's raw value.
    pub entry: u64,
}

impl WalkStep {
    /// Physical address of the entry.
    pub fn entry_addr(&self) -> u64 {
        self.table + u64::from(self.index) * 8
    }
}

impl MmuDef {
    /// Bytes of the smallest page.
    pub fn page_size(&self) -> u64 {
        self.levels.last().map_or(4096, |l| 1 << l.shift)
    }

    /// The physical page an entry points at (next table, block or page), aligned to the
    /// smallest page.
    pub fn output_address(&self, entry: u64) -> u64 {
        self.entry.output_address(entry) & !(self.page_size() - 1)
    }

    /// Refuses an address this format cannot translate.
    pub fn check_address(&self, vaddr: u64) -> Result<()> {
        if self.range.holds(vaddr, self.va_bits.clamp(1, 63)) {
            Ok(())
        } else {
            Err(MemError::BadAddress {
                vaddr,
                reason: self.bad_address,
            })
        }
    }

    /// Walks from the table at `root` for `vaddr`; `visit` sees every entry read, including a
    /// final non-present one.
    pub fn walk(
        &self,
        mem: &dyn PhysicalMemory,
        root: u64,
        vaddr: u64,
        mut visit: impl FnMut(WalkStep),
    ) -> Result<Mapping> {
        self.check_address(vaddr)?;
        let mut table = root;
        let n = self.levels.len();
        for (i, level) in self.levels.iter().enumerate() {
            let index = (vaddr >> level.shift) & ((1u64 << level.bits) - 1);
            let mut raw = [0u8; 8];
            // Only the root can be this far out (a corrupt VMCOREINFO): entries are 52-bit.
            table
                .checked_add(index * 8)
                .ok_or(DumpError::NotRam { paddr: table })
                .and_then(|a| mem.read_phys(a, &mut raw))
                .map_err(|source| MemError::Dump {
                    vaddr,
                    level: Some(level.name),
                    source,
                })?;
            let entry = u64::from_le_bytes(raw);
            visit(WalkStep {
                level: level.name,
                linux: level.linux,
                table,
                index: index as u16,
                entry,
            });
            let size = 1u64 << level.shift;
            match self.entry.decode(entry, level, i + 1 == n) {
                Decoded::NotPresent => {
                    return Err(MemError::NotMapped {
                        vaddr,
                        level: level.name,
                        entry,
                    })
                }
                Decoded::Bad(reason) => {
                    return Err(MemError::BadEntry {
                        vaddr,
                        level: level.name,
                        entry,
                        reason,
                    })
                }
                // for huge pages the low address bits are reserved (x86: bit 12 is PAT)
                Decoded::Leaf(addr) => {
                    return Ok(Mapping {
                        paddr: (addr & !(size - 1)) | (vaddr & (size - 1)),
                        size,
                    })
                }
                Decoded::Table(addr) => table = addr,
            }
        }
        Err(MemError::NotMapped {
            vaddr,
            level: self.levels.last().map_or("PT", |l| l.name),
            entry: 0,
        })
    }
}

/// The aarch64 levels for a granule of `1 << page_shift` bytes and `va_bits` of address:
/// each level indexes `page_shift - 3` bits up to `va_bits`, the top one what is left.
/// Blocks are allowed where the architecture allows them (`lpa2`: one level higher).
pub fn arm64_levels(page_shift: u32, va_bits: u32, lpa2: bool) -> Vec<LevelDef> {
    const NAMES: [&str; 4] = ["PTE", "PMD", "PUD", "P4D"];
    let per = page_shift - 3;
    // the highest level that may hold a block: 4K 1G (512G with LPA2), 16K 32M (64G),
    // 64K 512M (4T with 52-bit output addresses)
    let block_levels = match (page_shift, lpa2) {
        (12, false) | (14, true) | (16, _) => 2,
        (12, true) => 3,
        _ => 1,
    };
    let mut out = Vec::new();
    let mut shift = page_shift;
    while shift < va_bits && out.len() < 5 {
        let i = out.len();
        let name = NAMES.get(i).copied().unwrap_or("PGD");
        out.push(LevelDef {
            name,
            linux: name,
            shift,
            bits: per.min(va_bits - shift),
            block: i > 0 && i <= block_levels,
        });
        shift += per;
    }
    if let Some(top) = out.last_mut() {
        top.name = "PGD";
        top.linux = "PGD";
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(page_shift: u32, va: u32) -> Vec<(u32, u32)> {
        arm64_levels(page_shift, va, va > 48)
            .iter()
            .map(|l| (l.shift, l.bits))
            .collect()
    }

    #[test]
    fn arm64_level_shapes() {
        // the kernel's pgtable-hwdef.h: ARM64_HW_PGTABLE_LEVELS and the shifts per level
        assert_eq!(shape(12, 39), [(30, 9), (21, 9), (12, 9)]);
        assert_eq!(shape(12, 48), [(39, 9), (30, 9), (21, 9), (12, 9)]);
        assert_eq!(shape(12, 52), [(48, 4), (39, 9), (30, 9), (21, 9), (12, 9)]);
        assert_eq!(shape(14, 36), [(25, 11), (14, 11)]);
        assert_eq!(shape(14, 47), [(36, 11), (25, 11), (14, 11)]);
        assert_eq!(shape(14, 48), [(47, 1), (36, 11), (25, 11), (14, 11)]);
        assert_eq!(shape(16, 42), [(29, 13), (16, 13)]);
        assert_eq!(shape(16, 48), [(42, 6), (29, 13), (16, 13)]);
        assert_eq!(shape(16, 52), [(42, 10), (29, 13), (16, 13)]);
        let names: Vec<_> = arm64_levels(12, 52, true).iter().map(|l| l.name).collect();
        assert_eq!(names, ["PGD", "P4D", "PUD", "PMD", "PTE"]);
        let names: Vec<_> = arm64_levels(16, 42, false).iter().map(|l| l.name).collect();
        assert_eq!(names, ["PGD", "PTE"]);
    }

    #[test]
    fn arm64_output_addresses() {
        // 4K, LPA2: OA[49:12] in place, OA[51:50] in bits 9:8
        let e = (1 << 49) | 0x3_1234_5000 | (0b10 << 8) | (1 << 10) | 0b11;
        assert_eq!(
            arm64_output_address(e, 12, true),
            (1 << 51) | (1 << 49) | 0x3_1234_5000
        );
        // without LPA2 bits 9:8 are shareability and bits 50.. attributes
        assert_eq!(
            arm64_output_address(0x0060_0000_4123_4f03, 12, false),
            0x4123_4000
        );
        // 64K: OA[51:48] in bits 15:12
        assert_eq!(
            arm64_output_address(0x0000_1234_5678_3703, 16, false),
            0x0003_1234_5678_0000
        );
    }
}
