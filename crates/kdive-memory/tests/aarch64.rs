//! aarch64 translation over hand-built page tables, for the granule and address-size
//! combinations a kernel can be built with. Shifts and level counts follow the kernel's
//! `pgtable-hwdef.h` (`ARM64_HW_PGTABLE_LEVELS`, `ARM64_HW_PGTABLE_LEVEL_SHIFT`); descriptor
//! formats the Arm ARM (VMSAv8-64: table/block/page, LPA2 and 64K 52-bit output addresses).

use std::sync::Arc;

use kdive_dump::{Arch, Dump};
use kdive_memory::{KernelMemory, MemError, ReadVirt};
use kdive_testdata::phys::PhysMemory;

const VALID: u64 = 1;
const TABLE: u64 = 2; // table, or page at the last level
const AF: u64 = 1 << 10;

struct Arm {
    phys: PhysMemory,
    page_shift: u32,
    va_bits: u32,
    root: u64,
    next: u64,
}

impl Arm {
    fn new(page_shift: u32, va_bits: u32) -> Arm {
        let mut a = Arm {
            phys: PhysMemory::new(),
            page_shift,
            va_bits,
            root: 0,
            next: 0x4010_0000,
        };
        a.root = a.alloc();
        a
    }
    fn page(&self) -> u64 {
        1 << self.page_shift
    }
    fn alloc(&mut self) -> u64 {
        let p = self.next;
        self.next += self.page();
        self.phys.write(p, &vec![0; self.page() as usize]);
        p
    }
    /// `ARM64_HW_PGTABLE_LEVEL_SHIFT(n)` for the levels in use, top first.
    fn shifts(&self) -> Vec<u32> {
        let per = self.page_shift - 3;
        let levels = (self.va_bits - 4) / per;
        (4 - levels as i32..=3)
            .map(|n| per * (4 - n) as u32 + 3)
            .collect()
    }
    fn lpa2(&self) -> bool {
        self.page_shift != 16 && self.va_bits > 48
    }
    /// A descriptor pointing at `paddr` in this granule's format.
    fn desc(&self, paddr: u64, low: u64) -> u64 {
        let mut e = low | AF;
        if self.page_shift == 16 {
            e |= (paddr & ((1 << 48) - 1)) | ((paddr >> 48) & 0xf) << 12;
        } else if self.lpa2() {
            e |= (paddr & ((1 << 50) - 1)) | ((paddr >> 50) & 3) << 8;
        } else {
            e |= paddr & ((1 << 48) - 1) | (3 << 8); // inner shareable
        }
        e
    }
    /// Maps `vaddr` to `paddr` with an entry at the level of `leaf_shift`.
    fn map(&mut self, vaddr: u64, paddr: u64, leaf_shift: u32) {
        let mut table = self.root;
        let shifts = self.shifts();
        let top = shifts[0];
        for &s in &shifts {
            let bits = if s == top {
                self.va_bits - s
            } else {
                self.page_shift - 3
            };
            let idx = (vaddr >> s) & ((1 << bits) - 1);
            let at = table + idx * 8;
            if s == leaf_shift {
                let low = if s == self.page_shift {
                    VALID | TABLE
                } else {
                    VALID
                };
                let e = self.desc(paddr, low);
                self.phys.write(at, &e.to_le_bytes());
                return;
            }
            let e = self.phys.read_u64(at).unwrap_or(0);
            table = if e & 1 == 1 {
                kdive_memory::mmu::arm64_output_address(e, self.page_shift, self.lpa2())
            } else {
                let t = self.alloc();
                let d = self.desc(t, VALID | TABLE);
                self.phys.write(at, &d.to_le_bytes());
                t
            };
        }
    }
    fn memory(mut self, extra: &str) -> KernelMemory {
        let voffset: u64 = 0xffff_8000_0000_0000u64.wrapping_sub(0x4000_0000);
        let pgd_v = self.root.wrapping_add(voffset);
        let info = format!(
            "PAGESIZE={}\nNUMBER(VA_BITS)={}\nNUMBER(TCR_EL1_T1SZ)={:#x}\nNUMBER(kimage_voffset)={voffset:#x}\n\
             SYMBOL(swapper_pg_dir)={pgd_v:x}\nNUMBER(PHYS_OFFSET)=0x40000000\n{extra}",
            self.page(),
            self.va_bits,
            64 - self.va_bits
        );
        let meta = self.phys.meta_mut();
        meta.arch = Arch::Aarch64;
        meta.vmcoreinfo_raw = Some(info);
        let dump: Arc<Dump> = Arc::new(self.phys.into_dump());
        KernelMemory::new(dump).expect("aarch64 translation set up")
    }
}

#[test]
fn every_granule_and_address_size() {
    for (page_shift, va_bits) in [
        (12, 39),
        (12, 48),
        (12, 52),
        (14, 36),
        (14, 47),
        (14, 48),
        (16, 42),
        (16, 48),
        (16, 52),
    ] {
        let ctx = format!("{} KiB pages, {va_bits}-bit", 1 << (page_shift - 10));
        let mut a = Arm::new(page_shift, va_bits);
        let page = a.page();
        let base = u64::MAX << va_bits;
        // a page, with a physical address above 48 bits where the format can hold one
        let high = if va_bits == 52 {
            0x000d_0000_0000_0000
        } else {
            0x0000_8000_0000_0000
        };
        let v_page = base + 0x7_0000_0000 + 3 * page;
        a.map(v_page, high + 5 * page, page_shift);
        a.phys.write(high + 5 * page + 0x18, b"page\0");
        // a block one level up (2M, 32M, 512M)
        let block = 1u64 << (2 * page_shift - 3);
        let v_block = base + 16 * block;
        a.map(v_block, 0x8000_0000, 2 * page_shift - 3);
        a.phys.write(0x8000_0000 + block - 0x20, b"block\0");
        let levels = a.shifts().len();
        let m = a.memory("");
        assert_eq!(m.paging_levels() as usize, levels, "{ctx}");
        assert_eq!(m.read_cstr(v_page + 0x18, 8).unwrap(), "page", "{ctx}");
        assert_eq!(
            m.translate(v_page + 0x18).unwrap(),
            high + 5 * page + 0x18,
            "{ctx}"
        );
        assert_eq!(m.mapping(v_page).unwrap().size, page, "{ctx}");
        assert_eq!(
            m.read_cstr(v_block + block - 0x20, 8).unwrap(),
            "block",
            "{ctx}"
        );
        assert_eq!(m.mapping(v_block).unwrap().size, block, "{ctx}");
        // an unmapped neighbour and a user address
        assert!(
            matches!(m.translate(v_page + page), Err(MemError::NotMapped { .. })),
            "{ctx}"
        );
        assert!(
            matches!(m.translate(0x4000_0000), Err(MemError::BadAddress { .. })),
            "{ctx}"
        );
    }
}

#[test]
fn linear_map_checked_against_the_tables() {
    // 4K pages, 48 bits: PAGE_OFFSET 0xffff000000000000, RAM at PHYS_OFFSET 0x40000000
    let mut a = Arm::new(12, 48);
    let v = 0xffff_0000_0123_4000u64;
    let p = 0x4000_0000 + 0x0123_4000;
    a.map(v, p, 12);
    a.phys.write(p + 8, b"linear\0");
    // a linear address the page tables do not map is still translated by the linear map
    a.phys.write(0x4000_0000 + 0x0200_0000, b"fast\0");
    let m = a.memory(&format!("SYMBOL(mem_section)={:x}\n", v + 8));
    assert_eq!(m.direct_map_base(), Some(0xffff_0000_0000_0000));
    assert_eq!(m.read_cstr(v + 8, 8).unwrap(), "linear");
    assert_eq!(m.read_cstr(0xffff_0000_0200_0000, 8).unwrap(), "fast");

    // without a probe that agrees, nothing is assumed: only the walk translates
    let mut a = Arm::new(12, 48);
    a.map(v, p, 12);
    let m = a.memory("");
    assert_eq!(m.direct_map_base(), None);
    assert!(m.translate(0xffff_0000_0200_0000).is_err());
}

#[test]
fn missing_vmcoreinfo_facts_are_errors() {
    let a = Arm::new(12, 48);
    let mut phys = a.phys;
    phys.meta_mut().arch = Arch::Aarch64;
    phys.meta_mut().vmcoreinfo_raw = Some("PAGESIZE=4096\nNUMBER(VA_BITS)=48\n".into());
    let r = KernelMemory::new(Arc::new(phys.into_dump()));
    assert!(matches!(r, Err(MemError::NoTranslation(m)) if m.contains("kimage_voffset")));
}
