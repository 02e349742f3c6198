//! Containers opened from files as a user gives them: the ones read, and the ones refused by
//! name.

use kdive_dump::{Dump, FileKind, FormatKind};
use kdive_testdata::elf::{core, core32, load, prstatus, prstatus32, xc_core};
use kdive_testdata::temp::TempFile;

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect()
}

#[test]
fn flattened_elf_file_opens() {
    let img = core(&prstatus(77, 0), &[load(0x1000, pattern(0x3000, 9))]);
    let (a, b) = img.split_at(100);
    let f = TempFile::new(
        "flat-elf",
        &kdive_testdata::flat::flatten(&[(100, b), (0, a)], true),
    );
    assert_eq!(kdive_dump::sniff(f.path()).unwrap(), FileKind::Dump);
    let d = Dump::open(f.path()).unwrap();
    assert!(matches!(
        d.meta().format,
        FormatKind::Elf {
            flattened: true,
            ..
        }
    ));
    assert_eq!(d.meta().prstatus[0].pid, 77);
    let mut buf = vec![0u8; 0x3000];
    d.read_phys(0x1000, &mut buf).unwrap();
    assert_eq!(buf, pattern(0x3000, 9));
    assert_eq!(
        d.page_stats(),
        Dump::open(TempFile::new("plain-elf", &img).path())
            .unwrap()
            .page_stats()
    );
}

#[test]
fn elf32_file_opens() {
    let img = core32(
        3,
        &prstatus32(99, 0, 17),
        &[load(0x100000, pattern(0x2000, 1))],
    );
    let f = TempFile::new("elf32", &img);
    let d = Dump::open(f.path()).unwrap();
    assert_eq!(d.meta().arch.to_string(), "i386");
    assert_eq!(d.meta().prstatus[0].pid, 99);
    let mut buf = vec![0u8; 16];
    d.read_phys(0x101000, &mut buf).unwrap();
    assert_eq!(buf, pattern(0x2000, 1)[0x1000..0x1010]);
}

#[test]
fn formats_we_do_not_read_are_refused_by_name() {
    let lkcd = 0xa819_0173_618f_23edu64.to_le_bytes();
    let vmss = 0xbed2_bed2u32.to_le_bytes();
    let cases: [(&[u8], &str); 4] = [
        (&lkcd, "LKCD"),
        (b"sadump\0\0", "sadump"),
        (&vmss, "VMware .vmss"),
        (&xc_core(), "Xen xc_core"),
    ];
    for (head, name) in cases {
        let mut bytes = head.to_vec();
        bytes.resize(bytes.len().max(8192), 0);
        let f = TempFile::new("foreign", &bytes);
        assert_eq!(
            kdive_dump::sniff(f.path()).unwrap(),
            FileKind::Dump,
            "{name}"
        );
        let e = Dump::open(f.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains(name) && e.contains("unsupported"), "{name}: {e}");
    }
}
