//! ELF vmcores of the fixture corpus: makedumpfile `-E -d 31` and QEMU `dump-guest-memory`.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use kdive_dump::elf::ElfDump;
use kdive_dump::{Arch, Dump, DumpFormat, Endian, FormatKind, PageState};

/// Opens `name` of fixture `fixture` as an [`ElfDump`] (with its path), or `None` when the corpus is absent.
fn open_elf(fixture: &str, name: &str) -> Option<(ElfDump, PathBuf)> {
    kdive_testdata::corpus_or_skip(fixture)?;
    let fx =
        kdive_testdata::fixture(fixture).unwrap_or_else(|| panic!("fixture {fixture} missing"));
    let path = fx.materialize(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // SAFETY: read-only mapping of a test fixture nobody modifies.
    let map =
        unsafe { memmap2::Mmap::map(&file) }.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some((
        ElfDump::parse(map).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        path,
    ))
}

/// x86_64 `elf_gregset_t` indices.
const RIP: usize = 16;
const RSP: usize = 19;
const KERNEL_HALF: u64 = 0xffff_8000_0000_0000;

#[test]
fn makedumpfile_elf_d31() {
    let Some((d, path)) = open_elf("formats-6.1", "vmcore.elf-d31.zst") else {
        return;
    };
    let m = d.meta();
    assert_eq!(
        m.format,
        FormatKind::Elf {
            qemu: false,
            elf32: false,
            flattened: false
        }
    );
    assert_eq!(
        (m.arch, m.endian, m.page_size),
        (Arch::X86_64, Endian::Little, 4096)
    );
    assert_eq!(
        (m.nr_cpus, m.dump_level, m.incomplete),
        (Some(2), None, false)
    );
    let vmci = kdive_dump::VmcoreInfo::parse(m.vmcoreinfo_raw.as_deref().expect("VMCOREINFO"));
    assert_eq!(vmci.osrelease(), Some("6.1.0-56-cloud-amd64"));
    assert!(d.is_filtered() && !d.is_kcore());

    // CPU 0 panicked in pid 565 (`sh`, sysrq-c): its registers were saved in the kernel.
    assert_eq!(m.prstatus.len(), 2);
    let panic_cpu = &m.prstatus[0];
    assert_eq!(panic_cpu.pid, 565);
    assert_eq!(panic_cpu.regs.len(), 27);
    assert!(
        panic_cpu.regs[RIP] >= KERNEL_HALF && panic_cpu.regs[RSP] >= KERNEL_HALF,
        "{:x?}",
        panic_cpu.regs
    );
    // CPU 1 was idle, stopped by the crash NMI.
    assert_eq!(m.prstatus[1].pid, 0);
    assert!(m.prstatus[1].regs[RIP] >= KERNEL_HALF);

    // 18 PT_LOADs: 5 for the kernel image (at its text address), 13 for the direct map. Both
    // copies of the kernel image describe the same physical pages.
    let segs = d.segments();
    assert_eq!(segs.len(), 18);
    assert_eq!(
        segs.iter()
            .filter(|s| s.vaddr >= 0xffff_ffff_8000_0000)
            .count(),
        5
    );
    assert!(
        segs.iter().any(|s| s.filesz == 0 && s.memsz > 0),
        "a wholly filtered segment"
    );
    assert_eq!(m.max_pfn, 0x1bfd7);
    let text = segs[0];
    assert_eq!(
        (text.paddr, text.vaddr),
        (0x940_0000, 0xffff_ffff_ae60_0000)
    );
    let twin = segs
        .iter()
        .skip(1)
        .find(|s| s.paddr == text.paddr)
        .expect("direct-map twin");
    assert_eq!((twin.filesz, twin.memsz), (text.filesz, text.memsz));
    for page in [0, 0x5000, text.filesz - 0x1000] {
        assert_eq!(
            file_bytes(&path, text.offset + page, 4096),
            file_bytes(&path, twin.offset + page, 4096)
        );
    }

    use PageState::*;
    assert_eq!(d.page_state(0), NotRam);
    assert_eq!(d.page_state(1), Present);
    assert_eq!(d.page_state(0x100), Excluded); // 0x100000.., a filesz-0 segment
    assert_eq!(d.page_state(text.paddr / 4096), Present);
    assert_eq!(d.page_state((text.paddr + text.filesz) / 4096), Excluded);
    assert_eq!(d.page_state(m.max_pfn), NotRam);

    // Page contents through the Dump wrapper: init_uts_ns holds the release string.
    let dump = Dump::from_format(Vec::new(), Box::new(d));
    let uts = vmci.symbol("init_uts_ns").expect("SYMBOL(init_uts_ns)");
    let phys_base = vmci.number("phys_base").expect("NUMBER(phys_base)");
    let paddr = (uts - 0xffff_ffff_8000_0000).wrapping_add(phys_base as u64);
    let mut release = [0u8; 65];
    let name = vmci
        .offset("uts_namespace.name")
        .expect("OFFSET(uts_namespace.name)");
    dump.read_phys(paddr + name + 65 * 2, &mut release).unwrap();
    assert!(
        release.starts_with(b"6.1.0-56-cloud-amd64\0"),
        "{:?}",
        String::from_utf8_lossy(&release)
    );
}

#[test]
fn qemu_elf() {
    let Some((d, path)) = open_elf("f-healthy-6.12-qemu", "vmcore.elf.zst") else {
        return;
    };
    let m = d.meta();
    assert_eq!(
        m.format,
        FormatKind::Elf {
            qemu: true,
            elf32: false,
            flattened: false
        }
    );
    assert_eq!(
        (m.arch, m.page_size, m.nr_cpus, m.incomplete),
        (Arch::X86_64, 4096, Some(2), false)
    );
    assert!(!d.is_filtered() && !d.is_kcore());
    let vmci = kdive_dump::VmcoreInfo::parse(
        m.vmcoreinfo_raw
            .as_deref()
            .expect("VMCOREINFO (-device vmcoreinfo)"),
    );
    assert_eq!(vmci.osrelease(), Some("6.12.117+deb12-cloud-amd64"));

    // 256 MiB of RAM at 0 and the 256 KiB BIOS ROM below 4 GiB; nothing filtered.
    let segs: Vec<_> = d
        .segments()
        .iter()
        .map(|s| (s.paddr, s.filesz, s.memsz))
        .collect();
    assert_eq!(
        segs,
        [
            (0, 0x1000_0000, 0x1000_0000),
            (0xfffc_0000, 0x4_0000, 0x4_0000)
        ]
    );
    assert_eq!(m.max_pfn, 0x10_0000);
    assert_eq!(
        d.codec_counts(),
        [(kdive_dump::Codec::None, 0x10000 + 0x40)]
    );
    assert_eq!(d.page_state(0xffff), PageState::Present);
    assert_eq!(d.page_state(0x10000), PageState::NotRam);
    assert_eq!(d.page_state(0xfffc0), PageState::Present);

    // QEMU numbers CPUs from 1 in pr_pid; its QEMU notes repeat the registers and add the
    // control registers and segment bases.
    assert_eq!(m.prstatus.iter().map(|p| p.pid).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(m.qemu_cpus.len(), 2);
    for (p, q) in m.prstatus.iter().zip(&m.qemu_cpus) {
        assert_eq!((q.version, q.size), (1, 440));
        assert!(p.regs[RIP] >= KERNEL_HALF, "{:x?}", p.regs);
        assert_eq!(q.regs[16], p.regs[RIP]);
        assert_eq!(q.regs[6], p.regs[RSP]);
        assert_eq!(q.gs_base, p.regs[22]); // gs_base in elf_gregset_t
        assert!(q.gs_base >= KERNEL_HALF, "per-CPU base {:#x}", q.gs_base);
        assert_eq!(q.cs.selector, 0x10);
        assert_ne!(q.cr[0] & 0x8000_0000, 0, "paging on");
        assert!(
            q.cr[3] != 0 && q.cr[3] < 0x1000_0000,
            "cr3 {:#x} in RAM",
            q.cr[3]
        );
        assert!(q.kernel_gs_base.is_some());
    }
    assert_ne!(m.qemu_cpus[0].gs_base, m.qemu_cpus[1].gs_base);

    // The file is unfiltered: physical page N is at file offset 0x14a0 + N * 4096.
    let dump = Dump::from_format(vec![path.clone()], Box::new(d));
    for paddr in [0u64, 0x10_0000, 0x123_4000, 0xfff_f000] {
        let mut page = vec![0u8; 4096];
        dump.read_phys(paddr, &mut page).unwrap();
        assert_eq!(
            page,
            file_bytes(&path, 0x14a0 + paddr, 4096),
            "paddr {paddr:#x}"
        );
    }
}

/// Page-by-page comparison of an ELF dump with a kdump-compressed encoding of the same memory.
#[derive(Debug, Default, PartialEq, Eq)]
struct Comparison {
    /// Present in both, and identical (a difference fails the test).
    same: u64,
    /// Present in the ELF only.
    elf_only: u64,
    /// Present in the kdump file only, and all zeros there (anything else fails the test).
    kdump_only_zero: u64,
}

/// Compares every page of `elf` (in the cache) with `kdump` (in the corpus), or `None` to skip.
fn compare_with_kdump(fixture: &str, elf: &str, kdump: &str) -> Option<Comparison> {
    let corpus = kdive_testdata::corpus_or_skip(fixture)?;
    let (_, elf_path) = open_elf(fixture, elf)?;
    let elf = Dump::open(&elf_path).expect("Dump::open on the ELF");
    let kdump = match Dump::open(corpus.join(fixture).join(kdump)) {
        Ok(d) => d,
        Err(kdive_dump::DumpError::Unsupported { what }) => {
            eprintln!("{fixture}: comparison skipped, kdump reader not ready ({what})");
            return None;
        }
        Err(e) => panic!("{fixture}/{kdump}: {e}"),
    };
    let (e, k) = (elf.format(), kdump.format());
    let mut c = Comparison::default();
    let (mut ebuf, mut kbuf) = (vec![0u8; 4096], vec![0u8; 4096]);
    for pfn in 0..elf.meta().max_pfn.max(kdump.meta().max_pfn) {
        match (e.page_state(pfn), k.page_state(pfn)) {
            (PageState::Present, PageState::Present) => {
                e.read_page(pfn, 0, &mut ebuf).unwrap();
                k.read_page(pfn, 0, &mut kbuf).unwrap();
                assert!(ebuf == kbuf, "{fixture}: pfn {pfn:#x} differs");
                c.same += 1;
            }
            (PageState::Present, _) => c.elf_only += 1,
            (es, PageState::Present) => {
                assert_eq!(es, PageState::Excluded, "{fixture}: pfn {pfn:#x}");
                k.read_page(pfn, 0, &mut kbuf).unwrap();
                assert!(
                    kbuf.iter().all(|&b| b == 0),
                    "{fixture}: pfn {pfn:#x}: kdump has data the ELF excluded"
                );
                c.kdump_only_zero += 1;
            }
            _ => {}
        }
    }
    eprintln!("{fixture}: {c:?}");
    Some(c)
}

/// Same makedumpfile, same input, same `-d 31`: pages present in both read the same. The ELF
/// keeps filtered runs shorter than 256 pages with their contents; the kdump file keeps zero
/// pages (as one shared zero page) that `-E` drops.
#[test]
fn makedumpfile_elf_matches_kdump() {
    let Some(c) = compare_with_kdump("formats-6.1", "vmcore.elf-d31.zst", "vmcore.kdump-zlib-d31")
    else {
        return;
    };
    assert_eq!(
        c,
        Comparison {
            same: 16637,
            elf_only: 759,
            kdump_only_zero: 989
        }
    );
}

/// QEMU wrote both files from the same stopped guest, unfiltered: identical page sets and bytes.
#[test]
fn qemu_elf_matches_qemu_kdump() {
    let Some(c) = compare_with_kdump("f-healthy-6.12-qemu", "vmcore.elf.zst", "vmcore.kdump-zlib")
    else {
        return;
    };
    assert_eq!(
        c,
        Comparison {
            same: 65600,
            elf_only: 0,
            kdump_only_zero: 0
        }
    );
}

/// `len` bytes of a file at `offset`.
fn file_bytes(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.read_exact_at(&mut v, offset)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    v
}
