//! Dumps kdive cannot fully make sense of: VMCOREINFO erased, `--minimal`, truncated copies.

use std::path::Path;

use kdive_commands::Session;
use kdive_dump::{Dump, PageState};
use kdive_linux::OpenOptions;
use kdive_testdata::kdump::layout::erase_vmcoreinfo;
use kdive_testdata::temp::TempFile;
use kdive_testdata::{corpus_or_skip, fixture};
use serde_json::Value;

fn open(paths: &[&Path], minimal: bool) -> Session {
    let opts = OpenOptions {
        minimal,
        zero_excluded: false,
        ..OpenOptions::default()
    };
    Session::open_with(paths, &opts).unwrap_or_else(|e| panic!("{}: {e}", paths[0].display()))
}

fn run(s: &Session, cmd: &str) -> Result<(String, Value), String> {
    kdive_commands::run(s, cmd)
        .map(|r| (r.text(), r.json()))
        .map_err(|e| e.to_string())
}

/// `rd -p` of a spread of present pages.
fn rd_sample(s: &Session, reference: &Dump) -> Vec<Result<String, String>> {
    let ps = reference.page_size();
    (0..reference.meta().max_pfn)
        .filter(|&p| reference.page_state(p * ps) == PageState::Present)
        .step_by(97)
        .map(|p| run(s, &format!("rd -p -64 {:#x} 64", p * ps)).map(|r| r.0))
        .collect()
}

#[test]
fn erased_vmcoreinfo_is_found_in_memory() {
    let Some(fx) = corpus_or_skip("erased_vmcoreinfo").and_then(|_| fixture("a-sysrq-6.1")) else {
        return;
    };
    let intact_path = fx.reference_dump();
    let bytes = std::fs::read(&intact_path).expect("read the dump");
    let erased = TempFile::new("erased-vmcoreinfo", &erase_vmcoreinfo(bytes));
    let intact = open(&[&intact_path], false);
    let s = open(&[erased.path()], false);
    let said: Vec<String> = s.notices().iter().map(ToString::to_string).collect();
    let said = said.join("\n");
    assert!(
        said.contains("VMCOREINFO") && said.contains("in memory"),
        "notices: {said:?}"
    );
    let want = rd_sample(&intact, intact.dump());
    assert!(want.iter().all(Result::is_ok) && want.len() > 100);
    assert_eq!(rd_sample(&s, intact.dump()), want);
    let (_, info) = run(&s, "info").expect("info");
    assert!(info["vmcoreinfo_origin"]
        .as_str()
        .is_some_and(|o| o.starts_with("memory@")));
    assert_eq!(info["vmcoreinfo"]["OSRELEASE"], "6.1.0-56-cloud-amd64");
    // with VMCOREINFO back, the kernel opens as from the intact dump
    assert!(s.minimal_reason().is_none(), "{:?}", s.minimal_reason());
    assert_eq!(run(&s, "ps").map(|r| r.0), run(&intact, "ps").map(|r| r.0));
}

#[test]
fn minimal_mode_offers_what_needs_no_kernel() {
    let Some(fx) = corpus_or_skip("minimal_mode").and_then(|_| fixture("a-sysrq-6.1")) else {
        return;
    };
    let path = fx.reference_dump();
    let full = open(&[&path], false);
    let s = open(&[&path], true);
    assert!(s.minimal_reason().is_some_and(|r| r.contains("--minimal")));
    // the log from VMCOREINFO alone is the kernel's log
    assert_eq!(run(&s, "log").map(|r| r.0), run(&full, "log").map(|r| r.0));
    assert_eq!(
        run(&s, "log -m").map(|r| r.0),
        run(&full, "log -m").map(|r| r.0)
    );
    let err = run(&s, "ps").err().unwrap_or_default();
    assert!(err.contains("minimal"), "{err}");
    let (_, info) = run(&s, "info").expect("info");
    assert!(info["minimal"].as_str().is_some());
    // virtual reads need the kernel; physical ones do not
    assert!(run(&s, "rd ffffffff81000000").is_err());
    assert!(run(&s, "rd -p 0x1000 2").is_ok());
}

#[test]
fn truncated_copies_say_so_and_keep_what_is_before_the_cut() {
    let Some(fx) = corpus_or_skip("truncated_info").and_then(|_| fixture("a-sysrq-6.1")) else {
        return;
    };
    let path = fx.reference_dump();
    let intact = Dump::open(&path).expect("the intact dump");
    let bytes = std::fs::read(&path).expect("read the dump");
    let ps = intact.page_size();
    let present: Vec<u64> = (0..intact.meta().max_pfn)
        .filter(|&p| intact.page_state(p * ps) == PageState::Present)
        .collect();
    let (mut a, mut b) = (vec![0u8; ps as usize], vec![0u8; ps as usize]);
    for cut in [
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() * 9 / 10,
        bytes.len() - 4096,
    ] {
        let t = TempFile::new(&format!("trunc-{cut}"), &bytes[..cut]);
        let s = open(&[t.path()], true);
        let (text, info) = run(&s, "info").expect("info");
        let lost = info["pages"]["lost"].as_u64().unwrap_or(0);
        let verdict = info["verdict"].as_str().unwrap_or_default();
        assert!(lost > 0, "cut {cut}: nothing lost");
        assert!(
            verdict.contains("truncated") && verdict.contains(&format!("{lost} pages lost")),
            "cut {cut}: {verdict}"
        );
        assert!(text.contains(verdict));
        let first_lost = info["pages"]["first_lost"]
            .as_u64()
            .expect("first lost pfn");
        let mut read = 0;
        for &pfn in present.iter().filter(|&&p| p < first_lost).step_by(5) {
            intact.read_phys(pfn * ps, &mut a).expect("intact read");
            s.dump()
                .read_phys(pfn * ps, &mut b)
                .unwrap_or_else(|e| panic!("cut {cut}: pfn {pfn:#x} before the cut: {e}"));
            assert!(a == b, "cut {cut}: pfn {pfn:#x} differs");
            read += 1;
        }
        assert!(
            cut < bytes.len() / 2 || read > 100,
            "cut {cut}: only {read} pages read"
        );
        // pages at or past the first lost one: lost, or the shared zero page (stored first)
        let past = present.iter().filter(|&&p| p >= first_lost).count() as u64;
        assert!(
            past >= lost,
            "cut {cut}: {lost} lost but {past} pages past the cut"
        );
    }
}

#[test]
fn truncated_elf_names_the_cut() {
    let Some(fx) = corpus_or_skip("truncated_elf").and_then(|_| fixture("formats-6.1")) else {
        return;
    };
    let path = fx.materialize("vmcore.elf-d31.zst");
    let bytes = std::fs::read(&path).expect("read the ELF");
    let cut = bytes.len() * 3 / 5;
    let t = TempFile::new("trunc-elf", &bytes[..cut]);
    drop(bytes);
    let s = open(&[t.path()], true);
    let (_, info) = run(&s, "info").expect("info");
    let verdict = info["verdict"].as_str().unwrap_or_default();
    assert!(
        verdict.starts_with(&format!("truncated at byte {cut} ")),
        "{verdict}"
    );
    let p = &info["pages"];
    assert!(p["lost"].as_u64().unwrap_or(0) > 0, "{p}");
}

/// Replaces every `from` in `bytes` by `to` (same length).
fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if bytes[i..].starts_with(from) {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

#[test]
fn no_vmcoreinfo_anywhere_is_minimal() {
    let Some(fx) = corpus_or_skip("no_vmcoreinfo").and_then(|_| fixture("formats-6.1")) else {
        return;
    };
    // the uncompressed encoding: memory's own copies of VMCOREINFO are plain bytes in the file
    let path = fx.materialize("vmcore.kdump-raw-d31.zst");
    let mut bytes = erase_vmcoreinfo(std::fs::read(&path).expect("read the dump"));
    let (from, to) = (b"OSRELEASE=", b"NOVMCOREI=");
    assert!(replace_all(&mut bytes, from, to) >= 2);
    let t = TempFile::new("no-vmcoreinfo", &bytes);
    drop(bytes);
    let s = open(&[t.path()], false);
    let why = s.minimal_reason().unwrap_or_default().to_string();
    assert!(why.contains("VMCOREINFO"), "{why}");
    let intact = Dump::open(&path).expect("intact");
    let ps = intact.page_size();
    let (mut a, mut b) = (vec![0u8; ps as usize], vec![0u8; ps as usize]);
    let mut same = 0;
    for pfn in
        (0..intact.meta().max_pfn).filter(|&p| intact.page_state(p * ps) == PageState::Present)
    {
        intact.read_phys(pfn * ps, &mut a).expect("intact read");
        s.dump()
            .read_phys(pfn * ps, &mut b)
            .expect("read without VMCOREINFO");
        replace_all(&mut a, from, to);
        assert!(a == b, "pfn {pfn:#x} differs");
        same += 1;
    }
    assert!(same > 10_000);
    let (_, info) = run(&s, "info").expect("info without VMCOREINFO");
    assert_eq!(info["vmcoreinfo"], serde_json::json!({}));
    assert!(run(&s, "rd -p -8 0x1000 16").is_ok());
    let err = run(&s, "log").err().unwrap_or_default();
    assert!(err.contains("VMCOREINFO"), "{err}");
}
