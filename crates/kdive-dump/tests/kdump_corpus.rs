//! The kdump-compressed and flattened readers on the real fixture corpus.

use std::path::{Path, PathBuf};

use kdive_dump::{Codec, Dump, FormatKind, PageState};
use kdive_testdata::{corpus_or_skip, fixture, Fixture};

/// Present pages compared byte for byte: the first ones, then every `SPREAD_STEP`th.
const FIRST_PAGES: usize = 2000;
const SPREAD_STEP: usize = 10;

fn fixture_or_skip(test: &str, name: &str) -> Option<Fixture> {
    corpus_or_skip(test)?;
    let f = fixture(name);
    assert!(
        f.is_some(),
        "{test}: fixture {name} missing from the corpus"
    );
    f
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// FNV-1a: a stable page fingerprint.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn states(dump: &Dump) -> Vec<PageState> {
    (0..dump.meta().max_pfn)
        .map(|pfn| dump.format().page_state(pfn))
        .collect()
}

/// Hashes of the sampled present pages, by pfn.
fn sample_hashes(dump: &Dump, states: &[PageState]) -> Vec<(u64, u64)> {
    let mut page = vec![0u8; dump.page_size() as usize];
    let present = states
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == PageState::Present)
        .map(|(pfn, _)| pfn as u64);
    present
        .enumerate()
        .filter(|&(i, _)| i < FIRST_PAGES || i % SPREAD_STEP == 0)
        .map(|(_, pfn)| {
            dump.format()
                .read_page(pfn, 0, &mut page)
                .unwrap_or_else(|e| panic!("pfn {pfn:#x}: {e}"));
            (pfn, fnv(&page))
        })
        .collect()
}

/// What the first file showed, for the others to match.
struct Reference {
    name: String,
    max_pfn: u64,
    states: Vec<PageState>,
    hashes: Vec<(u64, u64)>,
}

fn expected_codec(name: &str) -> Codec {
    [
        ("zlib", Codec::Zlib),
        ("lzo", Codec::Lzo),
        ("snappy", Codec::Snappy),
        ("zstd", Codec::Zstd),
    ]
    .into_iter()
    .find(|(n, _)| name.contains(n))
    .map_or(Codec::None, |(_, c)| c)
}

#[test]
fn formats_6_1_every_encoding_agrees() {
    let Some(fx) = fixture_or_skip("formats_6_1_every_encoding_agrees", "formats-6.1") else {
        return;
    };
    let files: Vec<PathBuf> = fx
        .dumps()
        .into_iter()
        .filter(|p| !file_name(p).contains("elf"))
        .collect();
    assert_eq!(files.len(), 6, "{files:?}");
    let mut reference: Option<Reference> = None;
    for path in &files {
        let name = file_name(path);
        let dump = Dump::open(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let m = dump.meta();
        let FormatKind::Kdump {
            header_version,
            diskdump,
            flattened,
            qemu,
        } = m.format
        else {
            panic!("{name}: {:?}", m.format)
        };
        assert_eq!(
            (header_version, diskdump, qemu),
            (6, false, false),
            "{name}"
        );
        assert_eq!(flattened, name.contains("flat"), "{name}");
        assert_eq!(
            (m.dump_level, m.page_size, m.incomplete, m.split_range),
            (Some(31), 4096, false, None),
            "{name}"
        );
        assert_eq!(
            m.utsname.as_ref().map(|u| u.release.as_str()),
            Some("6.1.0-56-cloud-amd64"),
            "{name}"
        );
        assert_eq!(m.nr_cpus, Some(2), "{name}");
        assert_eq!(m.prstatus.len(), 2, "{name}: PRSTATUS notes");

        let codec = expected_codec(&name);
        let counts = dump.format().codec_counts();
        assert!(
            counts.iter().any(|&(c, n)| c == codec && n > 1000),
            "{name}: {counts:?}"
        );
        assert!(
            counts.iter().all(|&(c, _)| c == codec || c == Codec::None),
            "{name}: {counts:?}"
        );

        let st = states(&dump);
        let hashes = sample_hashes(&dump, &st);
        eprintln!(
            "{name}: max_pfn {:#x}, {} pages sampled, codecs {counts:?}",
            m.max_pfn,
            hashes.len()
        );
        match &reference {
            None => {
                reference = Some(Reference {
                    name,
                    max_pfn: m.max_pfn,
                    states: st,
                    hashes,
                })
            }
            Some(r) => {
                let rname = &r.name;
                assert_eq!(m.max_pfn, r.max_pfn, "{name} vs {rname}: max_pfn");
                if let Some(pfn) = (0..st.len()).find(|&i| st[i] != r.states[i]) {
                    panic!(
                        "{name} vs {rname}: pfn {pfn:#x} is {:?} vs {:?}",
                        st[pfn], r.states[pfn]
                    );
                }
                assert!(
                    hashes == r.hashes,
                    "{name} vs {rname}: page contents differ"
                );
            }
        }
    }
    let st = reference.map(|r| r.states).unwrap_or_default();
    let count = |s| st.iter().filter(|&&x| x == s).count();
    assert!(
        count(PageState::Present) > 10_000
            && count(PageState::Excluded) > 10_000
            && count(PageState::NotRam) > 0
    );
}

#[test]
fn formats_6_1_vmcoreinfo() {
    let Some(fx) = fixture_or_skip("formats_6_1_vmcoreinfo", "formats-6.1") else {
        return;
    };
    let dump = Dump::open(fx.materialize("vmcore.kdump-zlib-d31")).unwrap();
    let raw = dump.meta().vmcoreinfo_raw.as_deref().unwrap_or_default();
    assert!(
        raw.lines().any(|l| l == "OSRELEASE=6.1.0-56-cloud-amd64"),
        "{raw}"
    );
    assert!(dump.vmcoreinfo().is_some());
    // The flattened copy carries the same text.
    let flat = Dump::open(fx.materialize("vmcore.flat-zlib-d31")).unwrap();
    assert_eq!(flat.meta().vmcoreinfo_raw.as_deref(), Some(raw));
}

#[test]
fn qemu_written_kdump() {
    let Some(fx) = fixture_or_skip("qemu_written_kdump", "f-healthy-6.12-qemu") else {
        return;
    };
    let dump = Dump::open(fx.materialize("vmcore.kdump-zlib")).unwrap();
    let m = dump.meta();
    assert!(
        matches!(
            m.format,
            FormatKind::Kdump {
                qemu: true,
                flattened: false,
                header_version: 6,
                ..
            }
        ),
        "{:?}",
        m.format
    );
    let u = m.utsname.clone().unwrap_or_default();
    assert_eq!(
        (u.machine.as_str(), u.release.as_str(), u.sysname.as_str()),
        ("x86_64", "", "")
    );
    assert_eq!(
        (m.arch, m.page_size, m.dump_level, m.timestamp, m.incomplete),
        (kdive_dump::Arch::X86_64, 4096, Some(1), None, false)
    );
    assert!(
        m.vmcoreinfo_raw
            .as_deref()
            .is_some_and(|v| v.contains("OSRELEASE=6.12")),
        "{:?}",
        m.vmcoreinfo_raw
    );
    assert_eq!(
        (m.nr_cpus, m.prstatus.len(), m.qemu_cpus.len()),
        (Some(2), 2, 2)
    );
    // QEMU writes the same bitmap twice: nothing is excluded, every RAM page is present.
    let st = states(&dump);
    assert!(!st.contains(&PageState::Excluded) && !st.contains(&PageState::Lost));
    let present = st.iter().filter(|&&s| s == PageState::Present).count();
    assert!(present > 60_000, "{present}");
    let mut page = vec![0u8; 4096];
    for (pfn, _) in st
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == PageState::Present)
    {
        dump.format()
            .read_page(pfn as u64, 0, &mut page)
            .unwrap_or_else(|e| panic!("pfn {pfn:#x}: {e}"));
    }
}

#[test]
fn old_makedumpfile_dump() {
    let Some(fx) = fixture_or_skip("old_makedumpfile_dump", "c-hung-task-6.12") else {
        return;
    };
    let old = Dump::open(fx.materialize("vmcore-old-makedumpfile-d31")).unwrap();
    let new = Dump::open(fx.materialize("vmcore")).unwrap();
    let (mo, mn) = (old.meta(), new.meta());
    assert!(matches!(
        mo.format,
        FormatKind::Kdump {
            qemu: false,
            flattened: false,
            header_version: 6,
            ..
        }
    ));
    assert_eq!(
        (mo.dump_level, mo.max_pfn, mo.incomplete),
        (Some(31), mn.max_pfn, false)
    );
    assert_eq!(
        mo.utsname.as_ref().map(|u| u.release.as_str()),
        Some("6.12.117+deb12-cloud-amd64")
    );
    // Same memory: pages present in both files are identical.
    let (so, sn) = (states(&old), states(&new));
    let mut a = vec![0u8; 4096];
    let mut b = vec![0u8; 4096];
    let mut compared = 0;
    for pfn in (0..so.len())
        .filter(|&p| so[p] == PageState::Present && sn[p] == PageState::Present)
        .step_by(3)
    {
        old.format().read_page(pfn as u64, 0, &mut a).unwrap();
        new.format().read_page(pfn as u64, 0, &mut b).unwrap();
        assert!(a == b, "pfn {pfn:#x} differs");
        compared += 1;
    }
    let only_new = (0..so.len())
        .filter(|&p| so[p] == PageState::Excluded && sn[p] == PageState::Present)
        .count();
    eprintln!("old makedumpfile: {compared} pages compared, {only_new} pages excluded that the new one kept");
    assert!(compared > 3000);
}

/// makedumpfile's shared zero page: every encoding of one memory counts the same zero pages.
#[test]
fn shared_zero_pages_are_counted_alike() {
    if kdive_testdata::corpus_or_skip("shared_zero_pages_are_counted_alike").is_none() {
        return;
    }
    let fx = kdive_testdata::fixture("formats-6.1").expect("formats-6.1");
    let mut counts = Vec::new();
    for path in fx
        .dumps()
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("elf"))
    {
        let dump = kdive_dump::Dump::open(&path).unwrap();
        counts.push((path.display().to_string(), dump.format().zero_page_count()));
    }
    assert!(counts.len() >= 6, "{counts:?}");
    assert!(
        counts.iter().all(|(_, n)| *n == counts[0].1 && *n > 0),
        "{counts:?}"
    );
}
