//! Page-table formats described as data, and the one walker that reads them.
//!
//! A [`PagingFormat`] says how many levels there are, which address bits each one indexes,
//! which levels can map a block (a huge page), and which entry bits mean "present" and
//! "block". [`walk`] follows any of them; an architecture is a table, not a code path.

use kdive_dump::DumpError;

use crate::{MemError, Result};

/// One level of a page-table format, top level first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// The hardware's name for the table (`PML4`), used in errors.
    pub name: &'static str,
    /// Linux's name for the level (`PGD`, `P4D`, `PUD`, `PMD`, `PTE`), as crash's `vtop` prints it.
    pub linux: &'static str,
    /// The lowest address bit the level indexes.
    pub shift: u32,
    /// An entry at this level may map a block of `1 << shift` bytes.
    pub block: bool,
}

/// A page-table format: its levels and the meaning of entry bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagingFormat {
    /// Top level first; the last one maps pages.
    pub levels: &'static [Level],
    /// Index bits per level (9 for 512 eight-byte entries in a 4K table).
    pub index_bits: u32,
    /// The bits of an entry holding the next table's or the page's physical address.
    pub phys_mask: u64,
    /// The bit that says an entry is present (valid).
    pub present: u64,
    /// The bit that tells a block (huge page) entry from a table entry above the last level.
    pub block_bit: u64,
    /// True when `block_bit` set means a block (x86's PS); false when set means a table
    /// (aarch64's table bit).
    pub block_if_set: bool,
}

/// An x86_64 level: the hardware's and Linux's names, the address bit it starts at, whether
/// it maps blocks.
const fn x86_level(name: &'static str, linux: &'static str, shift: u32, block: bool) -> Level {
    Level {
        name,
        linux,
        shift,
        block,
    }
}

/// The levels below the top of both x86_64 formats: PUD and PMD map 1G and 2M pages.
const X86_PDPT: Level = x86_level("PDPT", "PUD", 30, true);
const X86_PD: Level = x86_level("PD", "PMD", 21, true);
const X86_PT: Level = x86_level("PT", "PTE", 12, false);

/// x86_64 with 4-level paging (48-bit addresses); Linux folds its P4D level.
pub const X86_64_4LEVEL: PagingFormat = PagingFormat {
    levels: &[
        x86_level("PML4", "PGD", 39, false),
        X86_PDPT,
        X86_PD,
        X86_PT,
    ],
    ..X86_64_5LEVEL
};

/// x86_64 with 5-level paging (LA57, 57-bit addresses).
pub const X86_64_5LEVEL: PagingFormat = PagingFormat {
    levels: &[
        x86_level("PML5", "PGD", 48, false),
        x86_level("PML4", "P4D", 39, false),
        X86_PDPT,
        X86_PD,
        X86_PT,
    ],
    index_bits: 9,
    phys_mask: 0x000f_ffff_ffff_f000,
    present: 1,
    block_bit: 1 << 7,
    block_if_set: true,
};

impl PagingFormat {
    /// Address bits the format translates (48 for 4-level x86_64).
    pub fn va_bits(&self) -> u32 {
        self.levels.first().map_or(0, |l| l.shift + self.index_bits)
    }

    /// The size of the smallest page.
    pub fn page_size(&self) -> u64 {
        self.levels.last().map_or(0, |l| 1u64 << l.shift)
    }

    /// True when the entry marks a block (huge page) rather than the next table.
    fn is_block(&self, entry: u64) -> bool {
        (entry & self.block_bit != 0) == self.block_if_set
    }

    /// Refuses an address outside the sign-extended range the format translates.
    pub fn check_canonical(&self, vaddr: u64) -> Result<()> {
        let bits = self.va_bits();
        if bits == 0 || bits >= 64 {
            return Ok(());
        }
        let upper = (vaddr as i64) >> (bits - 1);
        if upper == 0 || upper == -1 {
            return Ok(());
        }
        Err(MemError::BadAddress {
            vaddr,
            reason: match bits {
                48 => "not canonical (48-bit, 4-level paging)",
                57 => "not canonical (57-bit, 5-level paging)",
                _ => "outside the translated address range",
            },
        })
    }
}

/// Where a virtual address lands: its physical address and the size of the page mapping it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// Physical address of the virtual address (page base + offset).
    pub paddr: u64,
    /// Size of the mapping page: 4K, 2M or 1G.
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
    /// The hardware's name of the table (`PML5`, `PML4`, `PDPT`, `PD`, `PT` on x86_64).
    pub level: &'static str,
    /// Linux's name of the level (`PGD`, `P4D`, `PUD`, `PMD`, `PTE`).
    pub linux: &'static str,
    /// Physical address of the table.
    pub table: u64,
    /// Index of the entry in the table (0..512).
    pub index: u16,
    /// The entry's raw value (memory-encryption bits cleared).
    pub entry: u64,
}

impl WalkStep {
    /// Physical address of the entry.
    pub fn entry_addr(&self) -> u64 {
        self.table + u64::from(self.index) * 8
    }
}

/// A full page-table walk, as `vtop` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    pub vaddr: u64,
    /// Physical address of the top-level table.
    pub root: u64,
    /// Each entry read, top level first. The last one is the leaf, or the entry that was not present.
    pub steps: Vec<WalkStep>,
    /// The mapping, or `None` when the walk stopped at a non-present entry.
    pub mapping: Option<Mapping>,
}

/// Walks `format`'s tables from the table at physical `root` for `vaddr`, reading each entry
/// with `read_entry` (a physical address in, the raw entry out) and clearing `clear_mask`
/// (memory-encryption bits) from it. `visit` sees every entry read, including a final
/// non-present one. A non-present entry is [`MemError::NotMapped`]; an unreadable table, a
/// block entry at a level that cannot map blocks, and a non-canonical address are errors too.
pub fn walk(
    format: &PagingFormat,
    root: u64,
    vaddr: u64,
    clear_mask: u64,
    read_entry: impl Fn(u64) -> Result<u64, DumpError>,
    mut visit: impl FnMut(WalkStep),
) -> Result<Mapping> {
    format.check_canonical(vaddr)?;
    let index_mask = (1u64 << format.index_bits) - 1;
    let mut table = root;
    let last = format.levels.len().saturating_sub(1);
    for (i, lvl) in format.levels.iter().enumerate() {
        let index = (vaddr >> lvl.shift) & index_mask;
        // Only the root can be this far out (a corrupt VMCOREINFO): entries are 52-bit.
        let entry = table
            .checked_add(index * 8)
            .ok_or(DumpError::NotRam { paddr: table })
            .and_then(&read_entry)
            .map_err(|source| MemError::Dump {
                vaddr,
                level: Some(lvl.name),
                source,
            })?
            & !clear_mask;
        visit(WalkStep {
            level: lvl.name,
            linux: lvl.linux,
            table,
            index: index as u16,
            entry,
        });
        if entry & format.present == 0 {
            return Err(MemError::NotMapped {
                vaddr,
                level: lvl.name,
                entry,
            });
        }
        let next = entry & format.phys_mask;
        let leaf = i == last || format.is_block(entry);
        if leaf && i != last && !lvl.block {
            return Err(MemError::BadEntry {
                vaddr,
                level: lvl.name,
                entry,
                reason: "huge-page bit set at a level that cannot map pages",
            });
        }
        if leaf {
            let size = 1u64 << lvl.shift;
            // for huge pages bit 12 is PAT and the low address bits are reserved
            return Ok(Mapping {
                paddr: (next & !(size - 1)) | (vaddr & (size - 1)),
                size,
            });
        }
        table = next;
    }
    Err(MemError::NotMapped {
        vaddr,
        level: format.levels.last().map_or("?", |l| l.name),
        entry: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_consistent() {
        for f in [X86_64_4LEVEL, X86_64_5LEVEL] {
            assert_eq!(f.page_size(), 4096);
            let shifts: Vec<u32> = f.levels.iter().map(|l| l.shift).collect();
            for w in shifts.windows(2) {
                assert_eq!(w[0] - w[1], f.index_bits);
            }
            assert_eq!(f.levels[0].linux, "PGD");
            assert_eq!(f.levels.last().map(|l| l.linux), Some("PTE"));
        }
        assert_eq!(X86_64_4LEVEL.va_bits(), 48);
        assert_eq!(X86_64_5LEVEL.va_bits(), 57);
    }

    #[test]
    fn canonical_addresses() {
        let f = X86_64_4LEVEL;
        assert!(f.check_canonical(0x0000_7fff_ffff_f000).is_ok());
        assert!(f.check_canonical(0xffff_8000_0000_0000).is_ok());
        assert!(f.check_canonical(0x0000_8000_0000_0000).is_err());
        assert!(X86_64_5LEVEL.check_canonical(0xff11_0000_0000_0000).is_ok());
    }
}
