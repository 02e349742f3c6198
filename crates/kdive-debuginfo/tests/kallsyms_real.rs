//! kallsyms decoded from real dumps, checked against the fixtures' ground truth:
//! `metadata.json` `expected.kallsyms_runtime` and crash's `sym` outputs (`reference/crash/*-sym-*.txt`).

use std::sync::Arc;
use std::time::Instant;

use kdive_debuginfo::kallsyms::Kallsyms;
use kdive_debuginfo::SymbolSource;
use kdive_dump::Dump;
use kdive_memory::{KernelMemory, ReadVirt};

/// One line of crash's `sym` output: `ffffffffaefcd06e (T) panic+317 [file: line]`.
struct SymLine {
    addr: u64,
    kind: char,
    name: String,
    offset: u64,
}

fn parse_sym_line(line: &str) -> Option<SymLine> {
    let mut it = line.split_whitespace();
    let addr = u64::from_str_radix(it.next()?, 16).ok()?;
    let kind = it
        .next()?
        .strip_prefix('(')?
        .strip_suffix(')')?
        .chars()
        .next()?;
    let sym = it.next()?;
    let (name, offset) = match sym.split_once('+') {
        Some((n, o)) => (n, o.parse().ok()?),
        None => (sym, 0),
    };
    Some(SymLine {
        addr,
        kind,
        name: name.to_string(),
        offset,
    })
}

fn check_fixture(name: &str) {
    if kdive_testdata::corpus_or_skip(name).is_none() {
        return;
    }
    let fx =
        kdive_testdata::fixture(name).unwrap_or_else(|| panic!("fixture {name} not in the corpus"));
    let path = fx.reference_dump();
    let dump = Dump::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let info = dump.vmcoreinfo().expect("VMCOREINFO").clone();
    let mem: Arc<dyn ReadVirt> = Arc::new(
        KernelMemory::new(Arc::new(dump)).unwrap_or_else(|e| panic!("{name}: KernelMemory: {e}")),
    );

    let t = Instant::now();
    let k = Kallsyms::load(mem.clone(), &info).unwrap_or_else(|e| panic!("{name}: {e}"));
    let load = t.elapsed();
    // again, with the dump's pages already decompressed: the decoding's own cost
    let warm = (0..3)
        .map(|_| {
            let t = Instant::now();
            let again =
                Kallsyms::load(mem.clone(), &info).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(again.len(), k.len());
            t.elapsed()
        })
        .min()
        .unwrap_or_default();
    let t = Instant::now();
    let _ = k.by_name("init_task");
    eprintln!(
        "{name}: {} symbols ({:?}) opened in {load:?} (warm {warm:?}); first lookup by name in {:?}",
        k.len(),
        k.encoding(),
        t.elapsed()
    );
    assert!(k.len() > 50_000, "{name}: only {} symbols", k.len());

    // lookups decoding on demand agree with the whole table, decoded at once
    let whole = Kallsyms::load(mem.clone(), &info).unwrap_or_else(|e| panic!("{name}: {e}"));
    let table = whole.table().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(table.len(), k.len());
    for s in table.iter().step_by(401) {
        assert!(
            k.lookup_all(s.name)
                .iter()
                .any(|f| f.addr == s.addr && f.kind == s.kind),
            "{name}: {} at {:#x}",
            s.name,
            s.addr
        );
        if !s.absolute {
            assert_eq!(
                k.by_addr(s.addr).map(|f| f.addr),
                Some(s.addr),
                "{name}: {}",
                s.name
            );
        }
    }

    // metadata.json: runtime addresses of a few symbols
    let meta = fx.metadata();
    let expected = meta["expected"]["kallsyms_runtime"]
        .as_object()
        .expect("expected.kallsyms_runtime");
    for (sym, addr) in expected {
        let want = u64::from_str_radix(addr.as_str().unwrap(), 16).unwrap();
        assert_eq!(k.by_name(sym).map(|s| s.addr), Some(want), "{name}: {sym}");
    }
    assert_eq!(k.by_name("_stext").map(|s| s.addr), info.symbol("_stext"));

    // crash's `sym ADDR` / `sym NAME` outputs
    let dir = fx.dir.join("reference/crash");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut checked = 0;
    for file in files
        .iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains("-sym-"))
    {
        let text = std::fs::read_to_string(file).unwrap();
        let query = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("crash> sym "))
            .expect("crash> sym line")
            .trim();
        let lines: Vec<SymLine> = text.lines().skip(1).filter_map(parse_sym_line).collect();
        let what = format!("{name}: {}", file.display());
        if let Some(module) = query.strip_prefix("-m ") {
            // module symbols are not vmlinux's: kallsyms must not claim their addresses
            assert!(!lines.is_empty(), "{what}");
            for l in &lines {
                assert_eq!(k.by_addr(l.addr), None, "{what}: {} ({module})", l.name);
            }
            continue;
        }
        let l = lines
            .first()
            .unwrap_or_else(|| panic!("{what}: no symbol line"));
        match u64::from_str_radix(query, 16) {
            Ok(addr) => {
                assert_eq!(l.addr, addr, "{what}");
                let s = k
                    .by_addr(addr)
                    .unwrap_or_else(|| panic!("{what}: {addr:#x} not found"));
                assert_eq!(
                    (s.name.as_ref(), addr - s.addr, s.kind),
                    (l.name.as_str(), l.offset, l.kind),
                    "{what}"
                );
            }
            Err(_) => {
                let s = k
                    .by_name(query)
                    .unwrap_or_else(|| panic!("{what}: {query} not found"));
                assert_eq!((s.addr, s.kind), (l.addr, l.kind), "{what}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 5, "{name}: only {checked} sym references");

    // crash's backtraces: every vmlinux frame `#N [sp] func at addr` names the function at addr
    let mut frames = 0;
    for file in files
        .iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains("-bt"))
    {
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some(at) = words.iter().position(|&w| w == "at") else {
                continue;
            };
            if !words[0].starts_with('#') || at < 1 || words.len() != at + 2 {
                continue; // not a frame line, or a module frame (`... at addr [module]`)
            }
            let Ok(addr) = u64::from_str_radix(words[at + 1], 16) else {
                continue;
            };
            let s = k
                .by_addr(addr)
                .unwrap_or_else(|| panic!("{name}: {}: {addr:#x} not found", file.display()));
            assert_eq!(
                s.name.as_ref(),
                words[at - 1],
                "{name}: {}: {line}",
                file.display()
            );
            frames += 1;
        }
    }
    eprintln!("{name}: {checked} sym references and {frames} backtrace frames match crash");
    assert!(frames >= 20, "{name}: only {frames} frames");
}

#[test]
fn a_sysrq_6_1() {
    check_fixture("a-sysrq-6.1");
}

#[test]
fn c_hung_task_6_12() {
    check_fixture("c-hung-task-6.12");
}

#[test]
fn b_null_module_6_1() {
    check_fixture("b-null-module-6.1");
}

#[test]
fn b2_null_module_6_1() {
    check_fixture("b2-null-module-6.1");
}

#[test]
fn f_healthy_6_12_qemu() {
    check_fixture("f-healthy-6.12-qemu");
}

#[test]
fn formats_6_1() {
    check_fixture("formats-6.1");
}
