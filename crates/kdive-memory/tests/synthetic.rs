//! KernelMemory over a synthetic physical memory with hand-built page tables.

use kdive_dump::{Arch, DumpError, QemuCpuState};
use kdive_memory::{KernelMemory, MemError, ReadVirt};
use kdive_testdata::paging::{PageTables as Builder, KB4, P, PS, RW, SKM};

const NX: u64 = 1 << 63;
const MB2: u64 = 0x20_0000;
const GB1: u64 = 0x4000_0000;

fn assert_not_mapped(err: MemError, want_vaddr: u64, want_level: &str, want_entry: u64) {
    match err {
        MemError::NotMapped {
            vaddr,
            level,
            entry,
        } => {
            assert_eq!(
                (vaddr, level, entry),
                (want_vaddr, want_level, want_entry),
                "{err}"
            )
        }
        other => panic!("expected NotMapped at {want_level}, got {other:?}"),
    }
}

#[test]
fn four_level_4k_2m_1g_pages() {
    let mut b = Builder::new(false);
    let v4k = 0xffff_8880_0001_2000;
    let v2m = 0xffff_c900_0040_0000;
    let v1g = 0xffff_8881_c000_0000;
    b.map(v4k, 0x0300_5000, KB4, NX);
    b.map(v2m, 0x0460_0000, MB2, 0);
    b.map(v1g, 0x8000_0000, GB1, NX);
    b.write(0x0300_5ff0, b"four-k!\0");
    b.write(0x0460_0000 + 0x1_2345, b"two-m!\0");
    b.write(
        0x8000_0000 + 0x1234_5678,
        &0x1122_3344_5566_7788u64.to_le_bytes(),
    );
    let m = b.memory();

    assert_eq!(m.paging_levels(), 4);
    assert_eq!(m.kaslr_offset(), 0x2d60_0000);
    assert_eq!(m.translate(v4k + 0xff0).unwrap(), 0x0300_5ff0);
    assert_eq!(m.read_cstr(v4k + 0xff0, 64).unwrap(), "four-k!");
    assert_eq!(m.mapping(v4k).unwrap().size, KB4);

    let mm = m.mapping(v2m + 0x1_2345).unwrap();
    assert_eq!(
        (mm.paddr, mm.size, mm.page_base()),
        (0x0461_2345, MB2, 0x0460_0000)
    );
    assert_eq!(m.read_cstr(v2m + 0x1_2345, 64).unwrap(), "two-m!");

    assert_eq!(m.mapping(v1g).unwrap().size, GB1);
    assert_eq!(
        m.read_u64(v1g + 0x1234_5678).unwrap(),
        0x1122_3344_5566_7788
    );
    assert_eq!(m.translate(v1g + 0x3fff_ffff).unwrap(), 0xbfff_ffff);
}

#[test]
fn huge_page_entries_mask_pat_and_reserved_bits() {
    let mut b = Builder::new(false);
    let v = 0xffff_c900_0000_0000;
    // bit 12 is PAT in a 2M entry, not an address bit
    b.map(v, 0x0460_0000 | 0x1000, MB2, 0);
    let m = b.memory();
    assert_eq!(m.translate(v + 0x10).unwrap(), 0x0460_0010);
}

#[test]
fn non_present_entry_at_each_level() {
    let mut b = Builder::new(false);
    let base = 0xffff_c900_0000_0000u64;
    b.map(base, 0x0300_0000, KB4, 0);
    // same PT, next entry: a swap-like non-present value
    let pt = b.table_for(base, 12);
    b.set_entry(pt, 1, 0xdead_0000);
    let pd = b.table_for(base, 21);
    b.set_entry(pd, 1, 0xbeef_0000);
    let pdpt = b.table_for(base, 30);
    b.set_entry(pdpt, 1, 0);
    let m = b.memory();

    assert_not_mapped(
        m.translate(base + KB4).unwrap_err(),
        base + KB4,
        "PT",
        0xdead_0000,
    );
    assert_not_mapped(
        m.translate(base + MB2).unwrap_err(),
        base + MB2,
        "PD",
        0xbeef_0000,
    );
    assert_not_mapped(m.translate(base + GB1).unwrap_err(), base + GB1, "PDPT", 0);
    let far = 0xffff_d000_0000_0000;
    assert_not_mapped(m.translate(far).unwrap_err(), far, "PML4", 0);
    assert!(m.read_u64(far).unwrap_err().to_string().contains("PML4"));
}

#[test]
fn table_entry_outside_ram_names_the_level() {
    let mut b = Builder::new(false);
    let v = 0xffff_c900_0000_0000u64;
    b.map(v, 0x0300_0000, KB4, 0);
    let pdpt = b.table_for(v, 30);
    // the PDPT entry points at a PD table in a physical hole
    b.set_entry(pdpt, (v >> 30) & 0x1ff, 0x7_0000_0000 | P | RW);
    let m = b.memory();
    let err = m.translate(v).unwrap_err();
    match &err {
        MemError::Dump {
            vaddr,
            level: Some("PD"),
            source: DumpError::NotRam { paddr },
        } => {
            assert_eq!(
                (*vaddr, *paddr),
                (v, 0x7_0000_0000 + ((v >> 21) & 0x1ff) * 8)
            );
        }
        other => panic!("expected a PD read failure, got {other:?}"),
    }
    assert!(err.to_string().contains("PD table"), "{err}");
    assert!(!err.is_missing_data_page());
}

#[test]
fn missing_data_page_is_distinguishable() {
    let mut b = Builder::new(false);
    let v = 0xffff_8880_0300_0000u64;
    b.map(v, 0x0300_0000, KB4, 0);
    b.map(v + KB4, 0x0300_1000, KB4, 0);
    b.write(0x0300_1000, b"x");
    b.phys.exclude(0x0300_0000 / KB4);
    let m = b.memory();
    assert_eq!(m.translate(v).unwrap(), 0x0300_0000);
    let err = m.read_u64(v + 8).unwrap_err();
    assert!(
        err.is_missing_page() && err.is_missing_data_page(),
        "{err:?}"
    );
    assert!(
        matches!(err, MemError::Dump { vaddr, level: None, source: DumpError::Excluded { .. } } if vaddr == v + 8)
    );
    assert_eq!(m.read_u8(v + KB4).unwrap(), b'x');
}

#[test]
fn reads_spanning_pages() {
    let mut b = Builder::new(false);
    let v = 0xffff_c900_0010_0000u64;
    // two virtually adjacent pages, physically apart and in reverse order, then a hole
    b.map(v, 0x0500_0000, KB4, 0);
    b.map(v + KB4, 0x0400_0000, KB4, 0);
    b.write(0x0500_0ffc, b"abcd");
    b.write(0x0400_0000, b"efgh");
    let m = b.memory();

    let mut buf = [0u8; 8];
    m.read_virt(v + 0xffc, &mut buf).unwrap();
    assert_eq!(&buf, b"abcdefgh");
    assert_eq!(m.read_cstr(v + 0xffc, 6).unwrap(), "abcdef");

    let err = m.read_virt(v + 2 * KB4 - 4, &mut buf).unwrap_err();
    assert_not_mapped(err, v + 2 * KB4, "PT", 0);
    m.read_virt(v, &mut []).unwrap();
}

/// A read over many pages contiguous in physical memory reaches the dump as one run; an
/// excluded page inside it is still named by its own virtual address.
#[test]
fn long_contiguous_reads_name_the_failing_page() {
    let mut b = Builder::new(false);
    let v = 0xffff_c900_0020_0000u64;
    let p = 0x0600_0000u64;
    for i in 0..40 {
        b.map(v + i * KB4, p + i * KB4, KB4, 0);
        b.write(p + i * KB4, &[i as u8; 8]);
    }
    // then a page mapped elsewhere: the run stops there
    b.map(v + 40 * KB4, 0x0700_0000, KB4, 0);
    b.write(0x0700_0000, &[0xee; 8]);
    b.phys.exclude(p / KB4 + 30);
    let m = b.memory();
    let mut buf = vec![0u8; 30 * KB4 as usize];
    m.read_virt(v, &mut buf).unwrap();
    assert!((0..30).all(|i| buf[i * KB4 as usize] == i as u8));
    let mut buf = vec![0u8; 41 * KB4 as usize];
    let err = m.read_virt(v + 8, &mut buf[8..]).unwrap_err();
    assert!(
        matches!(err, MemError::Dump { vaddr, source: DumpError::Excluded { .. }, .. } if vaddr == v + 30 * KB4),
        "{err:?}"
    );
    m.read_virt(v + 31 * KB4, &mut buf[..10 * KB4 as usize])
        .unwrap();
    assert_eq!(buf[9 * KB4 as usize], 0xee);
}

#[test]
fn read_at_the_top_of_the_address_space_does_not_wrap() {
    let mut b = Builder::new(false);
    b.map(0xffff_ffff_ffff_f000, 0x0300_0000, KB4, 0);
    b.write(0x0300_0ff8, &[7; 8]);
    let m = b.memory();
    let mut buf = [0u8; 16];
    let err = m.read_virt(0xffff_ffff_ffff_fff8, &mut buf).unwrap_err();
    assert!(matches!(err, MemError::BadAddress { .. }), "{err:?}");
    m.read_virt(0xffff_ffff_ffff_fff8, &mut buf[..8]).unwrap();
}

#[test]
fn five_level_paging() {
    let mut b = Builder::new(true);
    // a 5-level direct-map address: bits 48..56 in use
    let v = 0xff11_0000_0123_4000u64;
    b.map(v, 0x0600_0000, KB4, 0);
    b.write(0x0600_0010, b"la57\0");
    let m = b.memory();
    assert_eq!(m.paging_levels(), 5);
    assert_eq!(m.read_cstr(v + 0x10, 16).unwrap(), "la57");
    let w = m.walk(v).unwrap();
    let levels: Vec<_> = w.steps.iter().map(|s| s.level).collect();
    assert_eq!(levels, ["PML5", "PML4", "PDPT", "PD", "PT"]);
    assert_eq!(w.steps[0].index, 0x111);
    // canonical for 57 bits, not for 48
    assert_not_mapped(
        m.translate(0xfff0_0000_0000_0000).unwrap_err(),
        0xfff0_0000_0000_0000,
        "PML5",
        0,
    );
    assert!(matches!(
        m.translate(0x0100_0000_0000_0000),
        Err(MemError::BadAddress { .. })
    ));
}

#[test]
fn non_canonical_addresses_are_rejected() {
    let m = Builder::new(false).memory();
    for v in [
        0x0000_8000_0000_0000u64,
        0xff11_0000_0000_0000,
        0x8000_0000_0000_0000,
    ] {
        let err = m.translate(v).unwrap_err();
        assert!(
            matches!(err, MemError::BadAddress { vaddr, .. } if vaddr == v),
            "{err:?}"
        );
        assert!(m.walk(v).is_err());
    }
}

#[test]
fn self_referencing_table_terminates() {
    let mut b = Builder::new(false);
    let root = b.root;
    // recursive slot: PML4[0x1ed] points back at the PML4
    b.set_entry(root, 0x1ed, root | P | RW);
    let m = b.memory();
    let i = 0x1edu64;
    let v = 0xffff_0000_0000_0000 | (i << 39) | (i << 30) | (i << 21) | (i << 12) | (0x1ed * 8);
    // four hops through the same table land on the table itself
    assert_eq!(m.translate(v).unwrap(), root + 0x1ed * 8);
    assert_eq!(m.read_u64(v).unwrap(), root | P | RW);
    assert_eq!(m.walk(v).unwrap().steps.len(), 4);
    // and a different index at the last hop is simply not mapped
    assert!(matches!(
        m.translate(v - (1 << 12)),
        Err(MemError::NotMapped { level: "PT", .. })
    ));
}

#[test]
fn huge_bit_at_pml4_is_a_bad_entry() {
    let mut b = Builder::new(false);
    let v = 0xffff_c900_0000_0000u64;
    b.set_entry(b.root, (v >> 39) & 0x1ff, 0x4000_0000 | P | PS);
    let m = b.memory();
    assert!(matches!(
        m.translate(v),
        Err(MemError::BadEntry { level: "PML4", .. })
    ));
}

#[test]
fn sme_mask_is_cleared_from_entries() {
    let sme = 1u64 << 47;
    let mut b = Builder::new(false);
    b.extra_info = format!("NUMBER(sme_mask)={sme}\n");
    let v = 0xffff_c900_0000_0000u64;
    b.map(v, 0x0300_0000, KB4, 0);
    // encrypt every table pointer and the leaf
    let mut table = b.root;
    for shift in [39u32, 30, 21, 12] {
        let idx = (v >> shift) & 0x1ff;
        let e = b.read_u64(table + idx * 8);
        b.set_entry(table, idx, e | sme);
        table = e & 0x000f_ffff_ffff_f000;
    }
    let m = b.memory();
    assert_eq!(m.translate(v + 8).unwrap(), 0x0300_0008);
}

/// A kernel-image layout like a KASLR'd 6.1: negative phys_base, image mapped with 2M pages.
fn kaslr_image() -> (Builder, u64) {
    let mut b = Builder::new(false);
    b.phys_base = -0x2520_0000;
    let image_phys = 0x0ae0_0000u64;
    let image_virt = SKM
        .wrapping_add(image_phys)
        .wrapping_sub(b.phys_base as u64);
    for i in 0..4 {
        b.map(image_virt + i * MB2, image_phys + i * MB2, MB2, 0);
    }
    b.write(image_phys + 0x1_0b60, b"Linux\0");
    (b, image_virt)
}

#[test]
fn kernel_image_fast_path_agrees_with_the_walk() {
    let (b, image_virt) = kaslr_image();
    let root = b.root;
    let m = b.memory();
    assert_eq!(m.root(), root);
    assert_eq!(m.phys_base(), Some((-0x2520_0000i64) as u64));
    assert_eq!(image_virt, 0xffff_ffff_b000_0000);
    for off in [0u64, 0x1_0b60, MB2 + 0x123, 4 * MB2 - 1] {
        let v = image_virt + off;
        let walked = m.mapping(v).unwrap();
        assert_eq!(m.translate(v).unwrap(), walked.paddr, "{v:#x}");
        assert_eq!(walked.size, MB2);
    }
    let before = m.cache_stats();
    assert_eq!(m.read_cstr(image_virt + 0x1_0b60, 65).unwrap(), "Linux");
    assert_eq!(m.cache_stats(), before, "image reads bypass the cache");
}

#[test]
fn translation_cache_hits_on_repeated_reads() {
    let mut b = Builder::new(false);
    let v = 0xffff_8880_0300_0000u64;
    b.map(v, 0x0300_0000, KB4, 0);
    b.write(0x0300_0000, &42u64.to_le_bytes());
    let m = b.memory();
    for _ in 0..10 {
        assert_eq!(m.read_u64(v).unwrap(), 42);
        m.read_u32(v + 0x100).unwrap();
    }
    let s = m.cache_stats();
    assert_eq!((s.hits, s.misses), (19, 1));
}

#[test]
fn walk_reports_every_entry() {
    let mut b = Builder::new(false);
    let v = 0xffff_c900_0000_3000u64;
    b.map(v, 0x0300_0000, KB4, NX);
    let m = b.memory();
    let w = m.walk(v + 0x10).unwrap();
    assert_eq!(w.root, m.root());
    let levels: Vec<_> = w.steps.iter().map(|s| s.level).collect();
    assert_eq!(levels, ["PML4", "PDPT", "PD", "PT"]);
    assert_eq!(w.steps[0].table, m.root());
    assert_eq!(w.steps[0].index, 0x192);
    assert_eq!(w.steps[3].index, 3);
    assert_eq!(w.steps[3].entry, 0x0300_0000 | P | RW | NX);
    assert_eq!(
        w.steps[1].entry_addr(),
        w.steps[1].table + u64::from(w.steps[1].index) * 8
    );
    let mp = w.mapping.unwrap();
    assert_eq!((mp.paddr, mp.size), (0x0300_0010, KB4));

    let w = m.walk(v + KB4).unwrap();
    assert_eq!(w.mapping, None);
    assert_eq!(w.steps.last().map(|s| (s.level, s.entry)), Some(("PT", 0)));
}

#[test]
fn direct_map_base_from_mem_section() {
    let mut b = Builder::new(false);
    let base = 0xffff_9b40_0000_0000u64;
    b.map(base, 0, GB1, 0);
    b.map(base + GB1, GB1, GB1, 0);
    b.extra_info = format!("SYMBOL(mem_section)={:x}\n", base + GB1 + 0x3f_d300);
    let m = b.memory();
    assert_eq!(m.direct_map_base(), Some(base));
}

#[test]
fn direct_map_base_default_and_absent() {
    let mut b = Builder::new(false);
    b.map(0xffff_8880_0000_0000, 0, MB2, 0);
    assert_eq!(b.memory().direct_map_base(), Some(0xffff_8880_0000_0000));
    assert_eq!(Builder::new(false).memory().direct_map_base(), None);
}

#[test]
fn setup_errors() {
    let mut b = Builder::new(false);
    b.with_vmcoreinfo = false;
    assert!(matches!(
        KernelMemory::new(b.build()),
        Err(MemError::NoTranslation(_))
    ));

    let mut b = Builder::new(false);
    b.arch = Arch::Aarch64;
    assert!(matches!(
        KernelMemory::new(b.build()),
        Err(MemError::NoTranslation(_))
    ));
}

#[test]
fn qemu_cr3_when_vmcoreinfo_is_missing() {
    let mut b = Builder::new(false);
    let v = 0xffff_8880_0300_0000u64;
    b.map(v, 0x0300_0000, KB4, 0);
    b.write(0x0300_0000, b"qemu\0");
    b.with_vmcoreinfo = false;
    let cr = [0x8005_0033, 0, 0, b.root | 0x1000_0000_0000_0000, 0x3606f0];
    b.qemu_cpus = vec![QemuCpuState {
        cr,
        ..Default::default()
    }];
    let m = b.memory();
    assert_eq!(m.phys_base(), None);
    assert_eq!(m.read_cstr(v, 8).unwrap(), "qemu");
}
