//! The kdump-compressed reader over synthetic kdump files.

use kdive_dump::flat::FlatFile;
use kdive_dump::kdump::{KdumpFile, Source};
use kdive_dump::stats::{count, count_runs};
use kdive_dump::{Codec, DumpError, DumpFormat, FormatKind, PageState, PageStats};
use kdive_testdata::flat::flatten;
use kdive_testdata::kdump::layout::{DISKDUMP_SIGNATURE, STATUS_INCOMPLETE};
use kdive_testdata::kdump::{Page, Writer};

const BS: usize = 4096;

/// Recognisable, compressible contents for `pfn`.
fn content(pfn: u64, size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| ((i as u64 / 16) ^ pfn.wrapping_mul(0x9e37)) as u8)
        .collect()
}

fn open(bytes: Vec<u8>) -> kdive_dump::Result<KdumpFile> {
    KdumpFile::parse(Source::Bytes(bytes))
}

/// One page of every kind, spread over several rank blocks, and a hole at the end.
fn sample() -> Writer {
    let codecs = [
        Codec::None,
        Codec::Zlib,
        Codec::Lzo,
        Codec::Snappy,
        Codec::Zstd,
    ];
    let mut w = Writer::new(BS as u32, 5000);
    for (i, pfn) in (0..4000u64).step_by(7).enumerate() {
        w.pages
            .insert(pfn, Page::Data(codecs[i % codecs.len()], content(pfn, BS)));
    }
    w.page(1, Page::Zero)
        .page(2, Page::Excluded)
        .page(3, Page::Zero)
        .page(4001, Page::Excluded)
}

fn expected_state(page: Option<&Page>) -> PageState {
    match page {
        None => PageState::NotRam,
        Some(Page::Excluded) => PageState::Excluded,
        Some(Page::Lost | Page::PastEof) => PageState::Lost,
        Some(_) => PageState::Present,
    }
}

/// The page statistics of the writer's pages: every state counted, the zero pages apart when
/// more than one descriptor points at the shared zero page (the writer stores it first, as
/// makedumpfile does).
fn expected_stats(w: &Writer) -> PageStats {
    let mut s = PageStats::default();
    let zeros = w
        .pages
        .range(..w.max_mapnr)
        .filter(|(_, p)| matches!(p, Page::Zero))
        .count() as u64;
    for (&pfn, page) in w.pages.range(..w.max_mapnr) {
        s.ram += 1;
        match expected_state(Some(page)) {
            PageState::Present => s.present += 1,
            PageState::Excluded => s.excluded += 1,
            PageState::Lost => {
                s.lost += 1;
                s.first_lost.get_or_insert(pfn);
            }
            PageState::NotRam => unreachable!(),
        }
    }
    if zeros > 1 {
        s.zero = zeros;
        s.present -= zeros;
    }
    s
}

/// The statistics a kdump file counts from its bitmaps and descriptor table are the ones
/// asking each pfn gives.
fn check_stats(k: &KdumpFile, what: &str) -> PageStats {
    let counted = k.page_stats().expect("a kdump file counts its pages");
    assert_eq!(counted, count_runs(k, None), "{what}");
    counted
}

/// Checks every pfn (and some past the end) of `k` against the writer's pages.
fn check_against(k: &KdumpFile, w: &Writer) {
    assert_eq!(check_stats(k, "check_against"), expected_stats(w));
    let mut buf = vec![0u8; BS];
    for pfn in 0..w.max_mapnr + 100 {
        let page = w.pages.get(&pfn).filter(|_| pfn < w.max_mapnr);
        assert_eq!(k.page_state(pfn), expected_state(page), "pfn {pfn}");
        let r = k.read_page(pfn, 0, &mut buf);
        match page {
            Some(Page::Data(_, bytes)) => {
                r.unwrap_or_else(|e| panic!("pfn {pfn}: {e}"));
                assert!(buf == *bytes, "pfn {pfn}: contents");
            }
            Some(Page::Zero) => {
                r.unwrap();
                assert!(buf.iter().all(|&b| b == 0), "pfn {pfn}: zero page");
            }
            Some(Page::Excluded) => {
                assert!(
                    matches!(
                        r,
                        Err(DumpError::Excluded {
                            dump_level: Some(31),
                            ..
                        })
                    ),
                    "pfn {pfn}: {r:?}"
                )
            }
            Some(Page::Lost | Page::PastEof) => {
                assert!(matches!(r, Err(DumpError::Lost { .. })), "pfn {pfn}: {r:?}")
            }
            Some(Page::Garbage(..)) => assert!(
                matches!(r, Err(DumpError::Decompress { .. })),
                "pfn {pfn}: {r:?}"
            ),
            None => assert!(
                matches!(r, Err(DumpError::NotRam { .. })),
                "pfn {pfn}: {r:?}"
            ),
        }
    }
}

#[test]
fn every_codec_and_state() {
    let w = sample();
    let k = open(w.build()).unwrap();
    let m = k.meta();
    assert_eq!(
        m.format,
        FormatKind::Kdump {
            header_version: 6,
            diskdump: false,
            flattened: false,
            qemu: false
        }
    );
    assert_eq!(m.arch, kdive_dump::Arch::X86_64);
    assert_eq!(m.endian, kdive_dump::Endian::Little);
    assert_eq!(
        (m.page_size, m.max_pfn, m.dump_level, m.nr_cpus),
        (4096, 5000, Some(31), Some(2))
    );
    assert_eq!(m.timestamp, Some((1_700_000_000, 123_456)));
    assert_eq!(
        m.utsname.as_ref().map(|u| u.release.as_str()),
        Some("6.1.0-test")
    );
    assert_eq!(
        m.vmcoreinfo_raw.as_deref(),
        Some("OSRELEASE=6.1.0-test\nPAGESIZE=4096\n")
    );
    assert!(!m.incomplete);
    assert_eq!(m.split_range, None);
    check_against(&k, &w);

    // Partial reads, twice (second time from the cache).
    let want = content(7, BS);
    for _ in 0..2 {
        let mut b = [0u8; 100];
        k.read_page(7, 4000 - 100, &mut b).unwrap();
        assert_eq!(&b[..], &want[3900..4000]);
    }
    assert!(matches!(
        k.read_page(7, 4000, &mut [0u8; 100]),
        Err(DumpError::Unsupported { .. })
    ));
    assert!(matches!(
        k.read_page(u64::MAX, 0, &mut [0u8; 8]),
        Err(DumpError::NotRam { .. })
    ));

    let counts = k.codec_counts();
    let data_pages = (0..4000u64).step_by(7).count() as u64;
    let total: u64 = counts.iter().map(|c| c.1).sum();
    assert_eq!(
        total,
        data_pages + 2,
        "data pages plus zero pages 1 and 3: {counts:?}"
    );
    for c in [
        Codec::None,
        Codec::Zlib,
        Codec::Lzo,
        Codec::Snappy,
        Codec::Zstd,
    ] {
        assert!(
            counts.iter().any(|&(cc, n)| cc == c && n > 0),
            "{c:?} in {counts:?}"
        );
    }
}

#[test]
fn reads_from_many_threads() {
    let w = sample();
    let k = std::sync::Arc::new(open(w.build()).unwrap());
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let k = k.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; BS];
                for pfn in (t * 7..4000).step_by(28) {
                    k.read_page(pfn, 0, &mut buf).unwrap();
                    assert!(buf == content(pfn, BS));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn flattened_out_of_order_matches_plain() {
    let w = sample();
    let bytes = w.build();
    // Cut into uneven records and write them in a scrambled order, with one duplicate.
    let mut pieces: Vec<(u64, &[u8])> = Vec::new();
    let mut at = 0usize;
    let mut n = 1usize;
    while at < bytes.len() {
        let len = (n * 1237 % 9000 + 1).min(bytes.len() - at);
        pieces.push((at as u64, &bytes[at..at + len]));
        at += len;
        n += 1;
    }
    let len = pieces.len();
    assert_ne!(
        len % 7919,
        0,
        "7919 is prime: i * 7919 % len permutes 0..len"
    );
    let mut order: Vec<(u64, &[u8])> = (0..len).map(|i| pieces[(i * 7919) % len]).collect();
    order.push(pieces[len / 2]);
    let flat = FlatFile::index(flatten(&order, true)).unwrap();
    assert_eq!(flat.len(), bytes.len() as u64);
    let k = KdumpFile::parse(Source::Flattened(flat)).unwrap();
    assert!(matches!(
        k.meta().format,
        FormatKind::Kdump {
            flattened: true,
            ..
        }
    ));
    assert!(!k.meta().incomplete);
    check_against(&k, &w);
}

#[test]
fn flattened_truncated_stream_loses_pages() {
    let w = sample();
    let bytes = w.build();
    let (head, tail) = bytes.split_at(bytes.len() * 3 / 4);
    let flat_bytes = flatten(&[(0, head), (head.len() as u64, tail)], true);
    let cut = flat_bytes.len() - tail.len() / 2;
    let k = KdumpFile::parse(Source::Flattened(
        FlatFile::index(flat_bytes[..cut].to_vec()).unwrap(),
    ))
    .unwrap();
    assert!(k.meta().incomplete);
    let states: Vec<PageState> = (0..4000).step_by(7).map(|p| k.page_state(p)).collect();
    assert!(states.contains(&PageState::Present) && states.contains(&PageState::Lost));
}

#[test]
fn incomplete_dump() {
    let mut w = sample()
        .page(14, Page::Lost)
        .page(21, Page::PastEof)
        .page(3999, Page::Lost);
    w.status |= STATUS_INCOMPLETE;
    let k = open(w.build()).unwrap();
    assert!(k.meta().incomplete);
    check_against(&k, &w);
    // Without the status bit, lost pages at the end of the table still flag the dump.
    w.status = 1;
    assert!(open(w.build()).unwrap().meta().incomplete);
}

#[test]
fn truncated_files_never_panic() {
    let w = sample();
    let (bytes, layout) = w.build_with_layout();
    let mut cuts: Vec<u64> = vec![
        0,
        7,
        100,
        463,
        464,
        4096,
        4200,
        layout.bitmap_off + 10,
        layout.desc_base - 1,
    ];
    cuts.extend([
        layout.desc_base + 24 * 100 + 5,
        layout.data_off,
        layout.data_off + 5000,
        layout.len - 1,
    ]);
    let mut buf = vec![0u8; BS];
    for cut in cuts {
        // Cut inside the headers or bitmaps: an error. Later: opens, incomplete, pages lost.
        match open(bytes[..cut as usize].to_vec()) {
            Err(e) => assert!(cut < layout.desc_base, "cut {cut:#x}: {e}"),
            Ok(k) => {
                assert!(k.meta().incomplete, "cut {cut:#x}");
                for pfn in 0..w.max_mapnr {
                    let _ = k.read_page(pfn, 0, &mut buf);
                }
                // The last page's data ends the file.
                assert_eq!(k.page_state(3997), PageState::Lost, "cut {cut:#x}");
                assert!(check_stats(&k, &format!("cut {cut:#x}")).lost > 0);
            }
        }
    }
}

/// Writes `value` (little endian) at `at` of a copy of `bytes`.
fn patched(bytes: &[u8], at: usize, value: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at..at + value.len()].copy_from_slice(value);
    b
}

#[test]
fn corrupt_headers_are_errors() {
    let bytes = sample().build();
    let st = 424; // 64-bit layout: status, block_size, sub_hdr_size, bitmap_blocks, max_mapnr...
    let sub = BS;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("signature", patched(&bytes, 0, b"KDUMPX  ")),
        (
            "header_version -1",
            patched(&bytes, 8, &(-1i32).to_le_bytes()),
        ),
        ("block_size 0", patched(&bytes, st + 4, &0u32.to_le_bytes())),
        (
            "block_size 3000",
            patched(&bytes, st + 4, &3000u32.to_le_bytes()),
        ),
        (
            "block_size 1M",
            patched(&bytes, st + 4, &(1u32 << 20).to_le_bytes()),
        ),
        (
            "sub_hdr_size huge",
            patched(&bytes, st + 8, &u32::MAX.to_le_bytes()),
        ),
        (
            "sub_hdr_size 0",
            patched(&bytes, st + 8, &0u32.to_le_bytes()),
        ),
        (
            "bitmap_blocks huge",
            patched(&bytes, st + 12, &u32::MAX.to_le_bytes()),
        ),
        (
            "bitmap_blocks 0",
            patched(&bytes, st + 12, &0u32.to_le_bytes()),
        ),
        (
            "max_mapnr_64 huge",
            patched(&bytes, sub + 96, &(1u64 << 50).to_le_bytes()),
        ),
        (
            "max_mapnr_64 max",
            patched(&bytes, sub + 96, &u64::MAX.to_le_bytes()),
        ),
        (
            "vmcoreinfo past EOF",
            patched(&bytes, sub + 32, &(1u64 << 40).to_le_bytes()),
        ),
        (
            "vmcoreinfo size huge",
            patched(&bytes, sub + 40, &u64::MAX.to_le_bytes()),
        ),
        (
            "notes past EOF",
            patched(
                &patched(&bytes, sub + 48, &u64::MAX.to_le_bytes()),
                sub + 56,
                &[1],
            ),
        ),
        ("split inverted", {
            let b = patched(&bytes, sub + 12, &1u32.to_le_bytes());
            let b = patched(&b, sub + 80, &100u64.to_le_bytes());
            patched(&b, sub + 88, &50u64.to_le_bytes())
        }),
    ];
    for (name, b) in cases {
        let r = open(b);
        assert!(r.is_err(), "{name}: opened");
    }
}

#[test]
fn corrupt_descriptors_and_data_are_errors() {
    let w = Writer::new(BS as u32, 64)
        .page(0, Page::Garbage(Codec::Zlib, vec![1, 2, 3]))
        .page(1, Page::Garbage(Codec::Zstd, vec![0; 100]))
        .page(2, Page::Garbage(Codec::Lzo, vec![0xff; 50]))
        .page(3, Page::Garbage(Codec::Snappy, vec![0x80; 10]))
        .page(4, Page::Garbage(Codec::None, vec![7; 100]))
        .page(5, Page::Data(Codec::Zlib, content(5, BS)))
        .page(6, Page::Data(Codec::Zlib, content(6, BS / 2)))
        .page(7, Page::Garbage(Codec::Zlib, vec![9; BS + 1]));
    let (bytes, layout) = w.build_with_layout();
    let k = open(bytes.clone()).unwrap();
    let mut buf = vec![0u8; BS];
    for (pfn, codec) in [
        (0, Codec::Zlib),
        (1, Codec::Zstd),
        (2, Codec::Lzo),
        (3, Codec::Snappy),
        (6, Codec::Zlib),
    ] {
        let r = k.read_page(pfn, 0, &mut buf);
        assert!(
            matches!(r, Err(DumpError::Decompress { codec: c, .. }) if c == codec),
            "pfn {pfn}: {r:?}"
        );
    }
    for pfn in [4, 7] {
        let r = k.read_page(pfn, 0, &mut buf);
        assert!(
            matches!(r, Err(DumpError::Corrupt { .. })),
            "pfn {pfn}: {r:?}"
        );
    }
    k.read_page(5, 0, &mut buf).unwrap();
    // A descriptor whose offset is negative as an off_t, and one whose size wraps.
    let d5 = (layout.desc_base + 5 * 24) as usize;
    let k = open(patched(&bytes, d5, &u64::MAX.to_le_bytes())).unwrap();
    assert!(matches!(
        k.read_page(5, 0, &mut buf),
        Err(DumpError::Lost { .. })
    ));
    let k = open(patched(&bytes, d5 + 8, &u32::MAX.to_le_bytes())).unwrap();
    assert!(k.read_page(5, 0, &mut buf).is_err());
}

#[test]
fn random_corruption_never_panics() {
    let w = Writer::new(BS as u32, 300)
        .page(0, Page::Data(Codec::Zlib, content(0, BS)))
        .page(1, Page::Data(Codec::Lzo, content(1, BS)))
        .page(2, Page::Data(Codec::Snappy, content(2, BS)))
        .page(3, Page::Data(Codec::Zstd, content(3, BS)))
        .page(4, Page::Zero)
        .page(5, Page::Excluded)
        .page(200, Page::Data(Codec::None, content(200, BS)));
    let bytes = w.build();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut buf = vec![0u8; BS];
    for _ in 0..3000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut b = bytes.clone();
        for k in 0..4 {
            // Bias towards the headers, bitmaps and descriptors.
            let span = if k % 2 == 0 { 3 * BS + 200 } else { b.len() };
            let at = (seed >> (k * 16)) as usize % span;
            b[at] ^= (seed >> 40) as u8 | 1;
        }
        if let Ok(k) = open(b) {
            for pfn in [0, 1, 2, 3, 4, 5, 6, 200, 299, 300, u64::MAX] {
                let _ = k.page_state(pfn);
                let _ = k.read_page(pfn, 0, &mut buf);
            }
            let _ = k.codec_counts();
        }
    }
}

#[test]
fn split_part() {
    let mut w = sample();
    w.split = Some((1000, 2500));
    let k = open(w.build()).unwrap();
    assert_eq!(k.meta().split_range, Some((1000, 2500)));
    let mut buf = vec![0u8; BS];
    for pfn in (0..4000u64).step_by(7) {
        if (1000..2500).contains(&pfn) {
            k.read_page(pfn, 0, &mut buf).unwrap();
            assert!(buf == content(pfn, BS), "pfn {pfn}");
        } else {
            assert_eq!(k.page_state(pfn), PageState::Lost, "pfn {pfn}");
        }
    }
    assert_eq!(k.page_state(2), PageState::Excluded);
    assert_eq!(k.page_state(4500), PageState::NotRam);
    assert!(!k.meta().incomplete);
    // the dumped pfns of the other parts are lost to this one, the first of them is pfn 0
    let s = check_stats(&k, "split part");
    let all = expected_stats(&w);
    let inside = (1000..2500u64).filter(|p| p % 7 == 0).count() as u64;
    assert_eq!(
        (s.ram, s.excluded, s.present),
        (all.ram, all.excluded, inside)
    );
    assert_eq!(
        (s.lost, s.first_lost),
        (all.present + all.zero - inside, Some(0))
    );
}

#[test]
fn other_layouts_and_writers() {
    let base = || {
        Writer::new(BS as u32, 700)
            .page(0, Page::Data(Codec::Zlib, content(0, BS)))
            .page(5, Page::Data(Codec::None, content(5, BS)))
            .page(600, Page::Data(Codec::Snappy, content(600, BS)))
            .page(9, Page::Excluded)
    };
    let check = |w: &Writer| {
        let k = open(w.build()).unwrap_or_else(|e| panic!("{}: {e}", w.utsname.machine));
        check_against(&k, w);
        k
    };

    // 32-bit i386 (packed sub-header) and arm (padded sub-header).
    for (machine, nregs) in [("i686", 17), ("arm", 18)] {
        let mut w = base();
        w.utsname.machine = machine.into();
        // the CPUs' registers at the 32-bit `elf_prstatus` layout: the pid at offset 24
        w.notes = Some(kdive_testdata::elf::prstatus32(4321, 0x100, nregs));
        let k = check(&w);
        let p = &k.meta().prstatus;
        assert_eq!((p.len(), p[0].pid, p[0].regs.len()), (1, 4321, nregs));
        assert_eq!(k.meta().timestamp, Some((1_700_000_000, 123_456)));
        assert!(k
            .meta()
            .vmcoreinfo_raw
            .as_deref()
            .is_some_and(|v| v.starts_with("OSRELEASE=")));
    }
    // Big-endian s390x; ppc64le with 64 KiB pages.
    let mut w = base();
    w.utsname.machine = "s390x".into();
    w.big_endian = true;
    let k = check(&w);
    assert_eq!(
        (k.meta().endian, k.meta().arch),
        (kdive_dump::Endian::Big, kdive_dump::Arch::Other(22))
    );
    // a big-endian header's error quotes its values as the file means them
    let mut bad = w.clone();
    bad.block_size = 3000;
    let e = open(bad.build())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("block_size 0xbb8") && e.contains("big endian"),
        "{e}"
    );
    let mut w = Writer::new(65536, 100).page(3, Page::Data(Codec::Zstd, content(3, 65536)));
    w.utsname.machine = "ppc64le".into();
    let k = open(w.build()).unwrap();
    let mut buf = vec![0u8; 65536];
    k.read_page(3, 0, &mut buf).unwrap();
    assert!(buf == content(3, 65536));

    // QEMU: only utsname.machine, no timestamp, header version 6, dump level 1.
    let mut w = base();
    let machine = w.utsname.machine.clone();
    w.utsname = kdive_dump::Utsname {
        machine,
        ..Default::default()
    };
    w.timestamp = (0, 0);
    w.dump_level = 1;
    let k = open(w.build()).unwrap();
    assert!(matches!(
        k.meta().format,
        FormatKind::Kdump { qemu: true, .. }
    ));
    assert_eq!(k.meta().timestamp, None);

    // Old diskdump with a single bitmap and no kdump sub-header fields.
    let mut w = base();
    w.signature = DISKDUMP_SIGNATURE;
    w.single_bitmap = true;
    w.pages.remove(&9); // one bitmap cannot tell excluded from not-RAM
    let k = check(&w);
    assert!(matches!(
        k.meta().format,
        FormatKind::Kdump { diskdump: true, .. }
    ));
    assert_eq!(k.meta().dump_level, None);
    assert_eq!(k.meta().vmcoreinfo_raw, None);

    // Header version 1: no VMCOREINFO, max_mapnr from the main header.
    let mut w = base();
    w.version = 1;
    let k = check(&w);
    assert_eq!(
        (k.meta().vmcoreinfo_raw.as_deref(), k.meta().max_pfn),
        (None, 700)
    );

    // Unknown machine name: the 64-bit layout is found by its sane values.
    let mut w = base();
    w.utsname.machine = "mystery64".into();
    let k = check(&w);
    assert_eq!(k.meta().arch, kdive_dump::Arch::Other(0));
}

#[test]
fn dump_wrapper_reads_across_pages() {
    let w = sample();
    let dump = kdive_dump::Dump::from_format(vec![], Box::new(open(w.build()).unwrap()));
    let mut buf = vec![0u8; 100];
    // pfn 7 and 8: 8 is a hole, so a read spanning them fails on the second page.
    dump.read_phys(7 * 4096 + 4050, &mut buf[..46]).unwrap();
    assert_eq!(&buf[..46], &content(7, BS)[4050..]);
    assert!(
        matches!(dump.read_phys(7 * 4096 + 4050, &mut buf), Err(DumpError::NotRam { paddr }) if paddr == 8 * 4096)
    );
    assert!(dump.vmcoreinfo().is_some());
}

/// 200 consecutive pages of every codec, one excluded page at 150, and a hole from 200.
fn run_of_pages() -> Writer {
    let codecs = [
        Codec::Zlib,
        Codec::Lzo,
        Codec::Snappy,
        Codec::Zstd,
        Codec::None,
    ];
    let mut w = Writer::new(BS as u32, 400);
    for pfn in 0..200u64 {
        w.pages
            .insert(pfn, Page::Data(codecs[pfn as usize % 5], content(pfn, BS)));
    }
    w.page(150, Page::Excluded)
}

#[test]
fn bulk_reads_decode_many_pages_into_the_buffer() {
    let w = run_of_pages();
    let dump = kdive_dump::Dump::from_format(vec![], Box::new(open(w.build()).unwrap()));
    // pages 3..150 and part of the pages around them: one bulk read, split over two threads
    let (start, len) = (3 * BS as u64 - 100, 146 * BS + 200);
    let mut buf = vec![0u8; len];
    dump.read_phys(start, &mut buf).unwrap();
    let want: Vec<u8> = (2..150u64).flat_map(|p| content(p, BS)).collect();
    assert!(buf == want[BS - 100..BS - 100 + len], "contents");
    // the same pages again, now through the page cache, and the bulk path straight
    let mut again = vec![0u8; len];
    for (i, c) in again.chunks_mut(BS).enumerate() {
        dump.read_phys(start + (i * BS) as u64, c).unwrap();
    }
    assert!(again == buf);
    let mut pages = vec![0u8; 60 * BS];
    dump.format().read_pages(10, &mut pages).unwrap();
    assert!(pages == want[8 * BS..68 * BS]);
}

#[test]
fn bulk_reads_fail_on_the_first_missing_page() {
    let w = run_of_pages();
    let mut dump = kdive_dump::Dump::from_format(vec![], Box::new(open(w.build()).unwrap()));
    let mut buf = vec![0u8; 100 * BS];
    // the excluded page 150 and the hole at 200: the error names the first of them
    let r = dump.read_phys(120 * BS as u64, &mut buf);
    assert!(
        matches!(r, Err(DumpError::Excluded { paddr, .. }) if paddr == 150 * BS as u64),
        "{r:?}"
    );
    assert!(dump.format().read_pages(120, &mut buf).is_err());
    dump.set_zero_excluded(true);
    let r = dump.read_phys(120 * BS as u64, &mut buf);
    assert!(
        matches!(r, Err(DumpError::NotRam { paddr }) if paddr == 200 * BS as u64),
        "{r:?}"
    );
    let mut buf = vec![0xffu8; 60 * BS];
    dump.read_phys(120 * BS as u64, &mut buf).unwrap();
    assert!(
        buf[30 * BS..31 * BS].iter().all(|&b| b == 0),
        "excluded page as zeros"
    );
    assert!(buf[31 * BS..32 * BS] == content(151, BS)[..]);
    // a buffer that is not whole pages is refused, never half read
    assert!(dump.format().read_pages(0, &mut buf[..BS + 1]).is_err());
}

#[test]
fn a_huge_hole_in_the_memory_map_is_not_copied_or_counted_twice() {
    // a "64 GiB" memory map (2 MiB bitmaps) whose only pages are the first 300
    let mut w = Writer::new(BS as u32, 1 << 24);
    for pfn in 0..300u64 {
        w.pages
            .insert(pfn, Page::Data(Codec::Zlib, content(pfn, BS)));
    }
    let k = open(w.build()).unwrap();
    let len = k.bitmap_len();
    assert_eq!(len, (1 << 24) / 8);
    // the open counts the 2nd bitmap once (the descriptor table's length) with the block
    // ranks of its first chunk (32 KiB), and reads none of the 1st
    let (ram, dumped) = k.bitmap_bytes_counted();
    assert_eq!(ram, 0);
    assert!(
        dumped <= len + (32 << 10),
        "{dumped} bytes counted of a {len}-byte bitmap"
    );
    // reading pages adds one chunk's block ranks (32 KiB of bitmap), not another pass
    let mut buf = vec![0u8; BS];
    for pfn in [0u64, 7, 299] {
        k.read_page(pfn, 0, &mut buf).unwrap();
        assert_eq!(buf, content(pfn, BS));
    }
    assert_eq!(k.page_state(1 << 23), PageState::NotRam);
    let (ram, after) = k.bitmap_bytes_counted();
    assert_eq!(ram, 0);
    assert!(
        after - dumped <= 32 << 10,
        "{} more bytes counted",
        after - dumped
    );
}

#[test]
fn counting_a_dense_dump_reads_each_descriptor_and_bitmap_word_once() {
    // every pfn RAM and dumped: raw pages, a zlib one every 16, the shared zero page at 1, 5
    // and 9 (pfn 0 holds data, as in a QEMU guest), one excluded page
    let pages = 6000u64;
    let mut w = Writer::new(BS as u32, pages);
    for pfn in 0..pages {
        let codec = if pfn % 16 == 0 {
            Codec::Zlib
        } else {
            Codec::None
        };
        w.pages.insert(pfn, Page::Data(codec, content(pfn, BS)));
    }
    let w = w
        .page(1, Page::Zero)
        .page(5, Page::Zero)
        .page(9, Page::Zero)
        .page(100, Page::Excluded);
    let k = open(w.build()).unwrap();
    let descs = k.descriptor_count();
    assert_eq!(descs, pages - 1);
    // the open counts the 2nd bitmap's words once (the table's length), the 1st not at all,
    // and reads the last 64 descriptors (the truncation check)
    let words = pages.div_ceil(64) * 8;
    assert_eq!(k.bitmap_bytes_counted(), (0, words));
    assert_eq!(k.descriptors_read(), 64);
    let s = count(&k, None);
    assert_eq!(s, expected_stats(&w));
    assert_eq!(
        (s.ram, s.present, s.zero, s.excluded),
        (pages, pages - 4, 3, 1)
    );
    let zlib = (0..pages).step_by(16).count() as u64;
    assert_eq!(
        k.codec_counts(),
        [(Codec::None, pages - 1 - zlib), (Codec::Zlib, zlib)]
    );
    assert_eq!(k.zero_page_count(), 3);
    // statistics, codecs and zero pages: one pass over the descriptors, one over the bitmaps
    assert_eq!(k.descriptors_read(), 64 + descs);
    assert_eq!(k.bitmap_bytes_counted(), (words, 2 * words));
}
