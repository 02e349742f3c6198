//! `dis`, `sym -l`, `rd -s/-S/-d/-u`, `search -k`, `list -r` and the `bt` flags against crash
//! 9.0.2 on every fixture (`reference/crash-more/`), with the fixture kernel's vmlinux and the
//! module files beside the dump attached, as crash had them. Where kdive is right and crash is
//! not, the test says how and checks what still must agree. Needs the vmlinux files
//! (`tools/fetch-vmlinux`); skipped without them unless `KDIVE_REQUIRE_VMLINUX=1`.

use kdive_commands::{run, Session};
use kdive_testdata::{fixtures_with_vmlinux, Fixture};

/// The reference files compared, by number.
const FILES: &[u32] = &[
    1, 2, 3, 4, 21, 22, 41, 42, 43, 44, 48, 49, 50, 51, 52, 53, 54, 55, 56, 101,
];

/// How kdive's answer relates to crash's.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Same,
    /// crash went on past the function's end: without the module's debug info loaded under
    /// the clone's name (`fixture_poke.constprop.0`), gdb found no extent and crash read on to
    /// the next symbol, through padding and rodata. kdive stops at the symbol's size.
    Prefix,
    /// The same instructions; kdive also has the module's source lines, which crash's gdb did
    /// not find for a function in `.text.unlikely`.
    SameInstructions,
    /// One stack word differs: crash names a stale pointer into the freed init text of the
    /// module by its pseudo-symbol `_MODULE_INIT_START_null_pointer`, kdive by the function
    /// there, `init_module`.
    InitModuleName,
    /// kdive's walk finds `null_pointer_init`, which called the faulting function (its return
    /// address is on the stack; drgn finds it too), crash's does not: the frames after it are
    /// numbered one higher.
    ExtraFrame,
    /// crash prints the line of the return address itself, the statement after the call;
    /// kdive the line of the call (and the inlined calls around it), as drgn and gdb do.
    CallLines,
    /// The user page is not in the dump (dump level 31 leaves user pages out): crash printed
    /// nothing, kdive says so.
    UserPageMissing,
}

fn expect(fx: &str, n: u32) -> Expect {
    let module_oops = fx.starts_with("b-") || fx.starts_with("b2-");
    match n {
        1 if module_oops => Expect::Prefix,
        2 if module_oops => Expect::SameInstructions,
        41 | 42 if module_oops => Expect::InitModuleName,
        49..=51 | 55 if module_oops => Expect::ExtraFrame,
        // `bt -c 0`: CPU 0 ran the oops only on b2 (on b it was idle, in the NMI)
        56 if fx.starts_with("b2-") => Expect::ExtraFrame,
        54 => Expect::CallLines,
        101 if !fx.starts_with("f-") => Expect::UserPageMissing,
        _ => Expect::Same,
    }
}

/// (command, crash's output) of each `crash> ` line of a reference file.
fn segments(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(cmd) = line.strip_prefix("crash> ") {
            out.push((cmd.trim_end().to_string(), String::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push_str(line);
        }
    }
    out
}

/// `CMD | head -N` as (CMD, N).
fn split_head(cmd: &str) -> (&str, Option<usize>) {
    match cmd.split_once('|') {
        Some((c, h)) => {
            let n = h.trim().strip_prefix("head").map(str::trim).unwrap_or("");
            let n = n.trim_start_matches('-').parse().unwrap_or(10);
            (c.trim(), Some(n))
        }
        None => (cmd, None),
    }
}

/// What may differ in layout: trailing blanks, and `dis`'s whitespace and `<symbol>:` column
/// (compared as address and instruction text).
fn normalize(cmd: &str, text: &str) -> Vec<String> {
    let dis = cmd.starts_with("dis");
    let mut out: Vec<String> = text
        .lines()
        .map(|l| {
            let l = l.trim_end();
            if dis && l.starts_with("0x") {
                let (addr, rest) = l
                    .split_once(|c: char| c == ' ' || c == ':')
                    .unwrap_or((l, ""));
                let rest = match rest.trim_start().strip_prefix('<') {
                    Some(r) => r.split_once(">:").map_or(r, |x| x.1),
                    None => rest.trim_start_matches(':'),
                };
                let words: Vec<&str> = rest.split_whitespace().collect();
                format!("{addr} {}", words.join(" "))
            } else {
                l.to_string()
            }
        })
        .collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// A session on the fixture's reference dump with its vmlinux and module files attached.
fn session(fx: &Fixture, vmlinux: &std::path::Path) -> Session {
    let s = Session::open(&fx.reference_dump()).unwrap();
    s.attach_vmlinux(vmlinux)
        .unwrap_or_else(|e| panic!("{}: {e}", fx.name));
    for e in std::fs::read_dir(&fx.dir).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "ko") {
            s.attach_module_debug(&e.path())
                .unwrap_or_else(|err| panic!("{}: {err}", e.path().display()));
        }
    }
    s
}

#[test]
fn toolbox_matches_crash_on_every_fixture() {
    let mut compared = 0;
    for (fx, vmlinux) in fixtures_with_vmlinux("toolbox_matches_crash_on_every_fixture") {
        let s = session(&fx, &vmlinux);
        for (n, path) in fx.crash_more(FILES) {
            let segs = segments(&std::fs::read_to_string(&path).unwrap());
            let mut want = Vec::new();
            let mut have = Vec::new();
            let mut failed = None;
            for (cmd, crash) in &segs {
                let (base, head) = split_head(cmd);
                want.extend(normalize(base, crash));
                match run(&s, base) {
                    Ok(r) => {
                        let mut lines = normalize(base, &r.text());
                        if let Some(n) = head {
                            lines.truncate(n);
                        }
                        have.extend(lines);
                    }
                    Err(e) => failed = Some(e.to_string()),
                }
            }
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let what = format!("{}: {name}", fx.name);
            match expect(&fx.name, n) {
                Expect::Same => {
                    assert_eq!(failed, None, "{what}");
                    assert_eq!(have, want, "{what}");
                }
                Expect::Prefix => {
                    assert!(have.len() >= 10 && have.len() < want.len(), "{what}");
                    assert_eq!(have, want[..have.len()], "{what}");
                    // the function ends with its `ret` and the int3 padding after it
                    assert!(have.iter().any(|l| l.ends_with(" ret")), "{what}");
                    assert!(have.last().unwrap().ends_with(" int3"), "{what}");
                }
                Expect::SameInstructions => {
                    let code = |v: &[String]| -> Vec<String> {
                        v.iter().filter(|l| l.starts_with("0x")).cloned().collect()
                    };
                    let lines = have.len() - code(&have).len();
                    assert!(lines > 0, "{what}: kdive has the module's source lines");
                    assert_eq!(code(&have), code(&want)[..code(&have).len()], "{what}");
                }
                Expect::InitModuleName => {
                    let theirs: Vec<String> = want
                        .iter()
                        .map(|l| l.replace("_MODULE_INIT_START_null_pointer", "init_module"))
                        .collect();
                    assert_eq!(have, theirs, "{what}");
                }
                Expect::ExtraFrame => {
                    assert!(
                        have.iter().any(|l| l.contains("null_pointer_init")),
                        "{what}"
                    );
                    // the same up to the exception frame's registers
                    let upto = want
                        .iter()
                        .position(|l| l.contains("ORIG_RAX"))
                        .map_or(0, |i| i + 1);
                    assert!(upto > 5, "{what}");
                    // and `-F` names the stale init-text pointer as `InitModuleName` says
                    let theirs: Vec<String> = want[..upto]
                        .iter()
                        .map(|l| l.replace("_MODULE_INIT_START_null_pointer", "init_module"))
                        .collect();
                    assert_eq!(have[..upto], theirs, "{what}");
                }
                Expect::CallLines => {
                    // the same frames, each with at least the line crash gives or the call's
                    let frames = |v: &[String]| -> Vec<String> {
                        v.iter().filter(|l| l.contains("] ")).cloned().collect()
                    };
                    if !fx.name.starts_with("b") {
                        assert_eq!(frames(&have), frames(&want), "{what}");
                    }
                }
                Expect::UserPageMissing => {
                    let e = failed.unwrap_or_else(|| panic!("{what}: the user page was read"));
                    assert!(e.contains("excluded"), "{what}: {e}");
                    // `set`'s part agrees
                    assert_eq!(have, want, "{what}");
                }
            }
            compared += 1;
        }
    }
    if compared > 0 {
        assert!(compared >= 100, "only {compared} references compared");
    }
}
