//! SPARSEMEM: the `mem_section` table that maps page frame numbers to `struct page`s.
//!
//! Memory is cut into sections of `1 << SECTION_SIZE_BITS` bytes; each present section's
//! `section_mem_map` holds its `mem_map` pointer, coded as `mem_map - first_pfn * sizeof(page)`
//! with state bits in the low bits. Under SPARSEMEM_EXTREME (every x86_64 kernel), sections are
//! grouped in roots of one page each, reached through the `mem_section` pointer array.

use kdive_program::{Program, ProgramError, Result};

/// `SECTION_MARKED_PRESENT`: the section exists.
pub const SECTION_MARKED_PRESENT: u64 = 1 << 0;
/// `SECTION_HAS_MEM_MAP`: its `struct page`s are allocated.
pub const SECTION_HAS_MEM_MAP: u64 = 1 << 1;
/// `SECTION_IS_ONLINE`.
pub const SECTION_IS_ONLINE: u64 = 1 << 2;
/// `SECTION_IS_EARLY`: present at boot.
pub const SECTION_IS_EARLY: u64 = 1 << 3;
/// `SECTION_TAINT_ZONE_DEVICE`.
pub const SECTION_TAINT_ZONE_DEVICE: u64 = 1 << 4;
/// The state bits below the coded `mem_map` (the pointer keeps at least 6 bits free).
const SECTION_MAP_MASK: u64 = !0x3f;
/// Most root pointers read (`NR_SECTION_ROOTS` is 2048 with 46 physical address bits, 64K
/// with 52).
const MAX_ROOTS: u64 = 1 << 17;

/// One present memory section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// Section number: physical address `>> SECTION_SIZE_BITS`.
    pub nr: u64,
    /// Address of its `struct mem_section`.
    pub addr: u64,
    /// `section_mem_map` as stored: the coded `mem_map` and the state bits.
    pub raw: u64,
    /// The coded `mem_map` (state bits cleared): the `struct page` of pfn 0, were it in this section.
    pub coded_mem_map: u64,
    /// The `struct page` of the section's first pfn.
    pub mem_map: u64,
    /// The section's first page frame number.
    pub start_pfn: u64,
}

/// The kernel's `mem_section` table, read once: where every present section's pages are.
#[derive(Debug, Clone)]
pub struct MemSections {
    /// `log2` of the page size.
    pub page_shift: u32,
    /// `SECTION_SIZE_BITS`.
    pub section_size_bits: u32,
    /// `sizeof(struct page)`.
    pub page_struct_size: u64,
    /// Present sections, by section number.
    pub sections: Vec<Section>,
}

impl MemSections {
    /// Reads the section table; an error on a kernel without SPARSEMEM.
    pub fn new(prog: &Program, page_size: u64) -> Result<MemSections> {
        let info = prog.dump().and_then(|d| d.vmcoreinfo());
        let number = |key: &str| info.and_then(|i| i.number(key)).map(|v| v as u64);
        let page_shift = page_size.max(1).trailing_zeros();
        let section_size_bits = number("SECTION_SIZE_BITS").unwrap_or(27) as u32;
        let max_physmem_bits = number("MAX_PHYSMEM_BITS").unwrap_or(46) as u32;
        if !(page_shift < section_size_bits && section_size_bits < max_physmem_bits)
            || max_physmem_bits > 64
        {
            return Err(unsupported(format!(
                "SECTION_SIZE_BITS {section_size_bits} and MAX_PHYSMEM_BITS {max_physmem_bits} \
                 do not make sense"
            )));
        }
        let page_struct_size = prog.types().size_of(prog.type_("struct page")?)?;
        let sec_ty = prog.type_("struct mem_section")?;
        let sec_size = prog.types().size_of(sec_ty)?;
        if page_struct_size == 0 || sec_size == 0 || sec_size > page_size {
            return Err(unsupported(format!(
                "struct page of {page_struct_size} bytes, struct mem_section of {sec_size}"
            )));
        }
        let map_off = kdive_program::object::offset_of(prog, sec_ty, "section_mem_map")?;
        // SPARSEMEM_EXTREME: one page of sections per root
        let per_root = page_size / sec_size;
        let nr_sections = 1u64 << (max_physmem_bits - section_size_bits);
        let nr_roots = info
            .and_then(|i| i.length("mem_section"))
            .unwrap_or_else(|| nr_sections.div_ceil(per_root))
            .min(MAX_ROOTS);
        let roots_addr = match info.and_then(|i| i.symbol("mem_section")) {
            Some(a) => a,
            None => prog.read_u64(prog.symbol_address("mem_section")?)?,
        };
        if roots_addr == 0 {
            return Err(unsupported("mem_section is NULL".into()));
        }
        let mut roots = vec![0u8; (nr_roots * 8) as usize];
        prog.read(roots_addr, &mut roots)?;
        let mut sections = Vec::new();
        let mut buf = vec![0u8; (per_root * sec_size) as usize];
        for (r, chunk) in roots.chunks_exact(8).enumerate() {
            let root = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            if root == 0 {
                continue;
            }
            prog.read(root, &mut buf)?;
            for i in 0..per_root {
                let at = (i * sec_size + map_off) as usize;
                let Some(word) = buf.get(at..at + 8) else {
                    break;
                };
                let raw = u64::from_le_bytes(word.try_into().unwrap_or_default());
                if raw & SECTION_MARKED_PRESENT == 0 {
                    continue;
                }
                let nr = r as u64 * per_root + i;
                let start_pfn = nr << (section_size_bits - page_shift);
                let coded_mem_map = raw & SECTION_MAP_MASK;
                sections.push(Section {
                    nr,
                    addr: root.wrapping_add(i * sec_size),
                    raw,
                    coded_mem_map,
                    mem_map: coded_mem_map.wrapping_add(start_pfn.wrapping_mul(page_struct_size)),
                    start_pfn,
                });
            }
        }
        Ok(MemSections {
            page_shift,
            section_size_bits,
            page_struct_size,
            sections,
        })
    }

    /// Pages in one section.
    pub fn pages_per_section(&self) -> u64 {
        1 << (self.section_size_bits - self.page_shift)
    }

    /// The present section holding `pfn`.
    pub fn section_of_pfn(&self, pfn: u64) -> Option<&Section> {
        let nr = pfn >> (self.section_size_bits - self.page_shift);
        self.sections
            .binary_search_by_key(&nr, |s| s.nr)
            .ok()
            .map(|i| &self.sections[i])
    }

    /// The `struct page` of `pfn`, when its section is present and has a `mem_map`.
    pub fn pfn_to_page(&self, pfn: u64) -> Option<u64> {
        let s = self.section_of_pfn(pfn)?;
        if s.raw & SECTION_HAS_MEM_MAP == 0 {
            return None;
        }
        Some(
            s.mem_map
                .wrapping_add((pfn - s.start_pfn).wrapping_mul(self.page_struct_size)),
        )
    }

    /// The page frame number of the `struct page` at `page`: `None` when `page` is not the
    /// start of a `struct page` of a present section.
    pub fn page_to_pfn(&self, page: u64) -> Option<u64> {
        let span = self.pages_per_section() * self.page_struct_size;
        self.sections.iter().find_map(|s| {
            let off = page.checked_sub(s.mem_map).filter(|&o| o < span)?;
            (off % self.page_struct_size == 0).then(|| s.start_pfn + off / self.page_struct_size)
        })
    }

    /// The `struct page` of the page holding physical address `paddr`.
    pub fn phys_to_page(&self, paddr: u64) -> Option<u64> {
        self.pfn_to_page(paddr >> self.page_shift)
    }
}

fn unsupported(why: String) -> ProgramError {
    ProgramError::Walk {
        what: "mem_section (SPARSEMEM)".into(),
        why,
    }
}

/// crash's letters for a section's state bits: `P`resent, has `M`em_map, `O`nline, `E`arly,
/// zone `D`evice.
pub fn section_state(raw: u64) -> String {
    [
        (SECTION_MARKED_PRESENT, 'P'),
        (SECTION_HAS_MEM_MAP, 'M'),
        (SECTION_IS_ONLINE, 'O'),
        (SECTION_IS_EARLY, 'E'),
        (SECTION_TAINT_ZONE_DEVICE, 'D'),
    ]
    .iter()
    .filter(|(bit, _)| raw & bit != 0)
    .map(|(_, c)| *c)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_letters() {
        assert_eq!(section_state(0xf), "PMOE");
        assert_eq!(section_state(0x13), "PMD");
        assert_eq!(section_state(0), "");
    }
}
