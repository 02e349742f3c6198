//! `info` on every corpus dump against the fixture's `metadata.json`, and `rd -p` of the same
//! physical ranges on every encoding of the same memory (`formats-6.1`).

use std::collections::BTreeSet;
use std::path::Path;

use kdive_commands::Session;
use kdive_dump::{Dump, PageState};
use kdive_linux::OpenOptions;
use kdive_testdata::{corpus_or_skip, fixture, fixtures};
use serde_json::Value;

fn minimal(path: &Path, zero_excluded: bool) -> Session {
    let opts = OpenOptions {
        minimal: true,
        zero_excluded,
        ..OpenOptions::default()
    };
    Session::open_with(&[path], &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(s: &Session, cmd: &str) -> Result<(String, Value), String> {
    kdive_commands::run(s, cmd)
        .map(|r| (r.text(), r.json()))
        .map_err(|e| e.to_string())
}

/// The `files[]` entry of `metadata.json` describing the dump at `path`.
fn entry<'m>(meta: &'m Value, path: &Path) -> Option<&'m Value> {
    let base = path.file_name()?.to_str()?;
    meta["files"].as_array()?.iter().find(|e| {
        ["name", "stored_as"].iter().any(|k| {
            e[k].as_str().is_some_and(|n| {
                let n = n.strip_suffix(".zst").unwrap_or(n);
                base == n || base.ends_with(&format!("-{n}"))
            })
        })
    })
}

/// The codec and dump level the entry records (kdcheck's `expected_encoding`).
fn expected(e: &Value) -> (&'static str, Option<u64>) {
    let made = &e["made_by"];
    let name = e["name"].as_str().unwrap_or_default();
    if made.get("tool").is_some() {
        return (
            if name.contains("kdump-zlib") {
                "zlib"
            } else {
                "none"
            },
            None,
        );
    }
    let args = made["args"].as_str().unwrap_or_default();
    let flags: BTreeSet<&str> = args.split_whitespace().collect();
    let codec = [
        ("-c", "zlib"),
        ("-l", "lzo"),
        ("-p", "snappy"),
        ("-z", "zstd"),
    ]
    .iter()
    .find(|(f, _)| flags.contains(f))
    .map_or("none", |&(_, c)| c);
    let elf = flags.contains("-E") || e["format"].as_str().unwrap_or_default().starts_with("ELF");
    (
        codec,
        if elf {
            None
        } else {
            made["dump_level"].as_u64()
        },
    )
}

#[test]
fn info_agrees_with_metadata() {
    if corpus_or_skip("info_agrees_with_metadata").is_none() {
        return;
    }
    let mut fail = Vec::new();
    let mut checked = 0;
    let mut ram_61 = BTreeSet::new();
    for fx in fixtures() {
        let meta = fx.metadata();
        for path in fx.dumps() {
            let Some(e) = entry(&meta, &path) else {
                continue;
            };
            let name = format!("{}/{}", fx.name, path.display());
            let s = minimal(&path, false);
            let (text, j) = match run(&s, "info") {
                Ok(r) => r,
                Err(err) => {
                    fail.push(format!("{name}: {err}"));
                    continue;
                }
            };
            checked += 1;
            let (codec, level) = expected(e);
            let packed: BTreeSet<String> = j["compression"]
                .as_object()
                .map(|m| m.keys().filter(|k| *k != "none").cloned().collect())
                .unwrap_or_default();
            let want: BTreeSet<String> = (codec != "none")
                .then(|| codec.to_string())
                .into_iter()
                .collect();
            if packed != want {
                fail.push(format!("{name}: codecs {packed:?}, metadata says {codec}"));
            }
            if level.is_some() && j["dump_level"].as_u64() != level {
                fail.push(format!(
                    "{name}: dump level {}, metadata says {level:?}",
                    j["dump_level"]
                ));
            }
            let p = &j["pages"];
            let n = |k: &str| p[k].as_u64().unwrap_or(u64::MAX / 8);
            if n("present") + n("zero") + n("excluded") + n("lost") != n("ram") {
                fail.push(format!("{name}: pages do not add up: {p}"));
            }
            if n("lost") != 0
                || !j["verdict"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("complete")
            {
                fail.push(format!("{name}: verdict {}", j["verdict"]));
            }
            for key in [
                "FORMAT:",
                "COMPRESSION:",
                "DUMP LEVEL:",
                "PAGES:",
                "NOTES:",
                "VERDICT:",
            ] {
                if !text.contains(key) {
                    fail.push(format!("{name}: no {key} line"));
                }
            }
            let format = j["format"].as_str().unwrap_or_default();
            if fx.name == "formats-6.1" && format.contains("kdump") {
                ram_61.insert(n("ram"));
            }
            if j["vmcoreinfo"]["OSRELEASE"].as_str().is_none() || j["cpus"].as_u64() != Some(2) {
                fail.push(format!("{name}: vmcoreinfo or cpus missing"));
            }
        }
    }
    assert!(checked >= 10, "only {checked} dumps checked");
    assert_eq!(
        ram_61.len(),
        1,
        "RAM pages differ across encodings: {ram_61:?}"
    );
    assert!(fail.is_empty(), "{}", fail.join("\n"));
}

/// `count` pfns spread over those of `dump` in state `state`.
fn pfns(dump: &Dump, state: PageState, count: usize) -> Vec<u64> {
    let ps = dump.page_size();
    let all: Vec<u64> = (0..dump.meta().max_pfn)
        .filter(|&p| dump.page_state(p * ps) == state)
        .collect();
    (0..count).map(|i| all[i * all.len() / count]).collect()
}

#[test]
fn rd_p_reads_the_same_bytes_on_every_encoding() {
    let Some(fx) = corpus_or_skip("rd_p_encodings").and_then(|_| fixture("formats-6.1")) else {
        return;
    };
    let reference = Dump::open(fx.materialize("vmcore.kdump-zlib-d31")).expect("zlib dump");
    let present = pfns(&reference, PageState::Present, 60);
    let excluded = pfns(&reference, PageState::Excluded, 5);
    let cmd = |pfn: u64| format!("rd -p -64 {:#x} 64", pfn << 12);
    let want: Vec<String> = {
        let s = minimal(&fx.materialize("vmcore.kdump-zlib-d31"), false);
        present
            .iter()
            .map(|&p| run(&s, &cmd(p)).expect("rd").0)
            .collect()
    };
    assert!(want.iter().all(|t| t.lines().count() == 32));
    let mut encodings = 0;
    for path in fx.dumps() {
        let s = minimal(&path, false);
        let elf = path.to_string_lossy().contains("elf");
        encodings += 1;
        for (pfn, want) in present.iter().zip(&want) {
            if elf && s.dump().page_state(pfn << 12) != PageState::Present {
                continue;
            }
            let got = run(&s, &cmd(*pfn)).map(|r| r.0);
            assert_eq!(got.as_ref(), Ok(want), "{}: pfn {pfn:#x}", path.display());
        }
        for pfn in &excluded {
            let err = run(&s, &cmd(*pfn)).err().unwrap_or_default();
            assert!(
                err.contains("excluded"),
                "{}: pfn {pfn:#x}: {err}",
                path.display()
            );
        }
    }
    assert!(encodings >= 7, "only {encodings} encodings");

    // --zero-excluded: the same pages read as zeros
    let s = minimal(&fx.materialize("vmcore.kdump-lzo-d31.zst"), true);
    let (text, j) = run(&s, &format!("rd -p -32 {:#x} 8", excluded[0] << 12)).expect("rd");
    assert!(
        text.contains("00000000 00000000 00000000 00000000"),
        "{text}"
    );
    assert!(j["values"].as_array().is_some_and(|v| v.len() == 8));
    let (info, _) = run(&s, "info").expect("info");
    assert!(info.contains("excluded pages read as zeros"), "{info}");
}

#[test]
fn search_p_finds_vmcoreinfo() {
    let Some(fx) = corpus_or_skip("search_p").and_then(|_| fixture("a-sysrq-6.1")) else {
        return;
    };
    let s = minimal(&fx.reference_dump(), false);
    let (text, j) = run(&s, "search -p -c OSRELEASE=6.1.0-56-cloud-amd64").expect("search");
    let first = j["matches"][0]["address"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!first.is_empty(), "no match: {text}");
    // the match reads back with rd -p -a
    let (line, _) = run(&s, &format!("rd -p -a {first}")).expect("rd -a");
    assert!(line.contains("OSRELEASE=6.1.0-56-cloud-amd64"), "{line}");
    let words = run(&s, &format!("search -p -s {first} -l 16 -c OSREL"))
        .expect("search -s -l")
        .0;
    assert_eq!(words.lines().count(), 1, "{words}");
}
