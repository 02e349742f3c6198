//! The `kdive` binary on real dumps: `info`, several dump files, `--minimal`, `--zero-excluded`.

use std::path::Path;
use std::process::{Command, Output};

use kdive_testdata::kdump::layout::erase_vmcoreinfo;
use kdive_testdata::temp::{makedumpfile_split, Scratch, TempFile};
use kdive_testdata::{corpus_or_skip, fixture};

fn kdive(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(args)
        .output()
        .expect("run kdive")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The result in the first `--json` envelope of `o`.
fn first_json(o: &Output) -> serde_json::Value {
    let out = stdout(o);
    let line = out.lines().next().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{e}: {line:?} (stderr {})", stderr(o)));
    assert_eq!(v["schema_version"], 1, "{line}");
    assert!(v.get("error").is_none(), "{line}");
    v
}

#[test]
fn info_forms_and_debuginfo_files() {
    let Some(fx) = corpus_or_skip("cli_info").and_then(|_| fixture("b-null-module-6.1")) else {
        return;
    };
    let dump = fx.reference_dump();
    let ko = fx.dir.join("null-pointer.ko");
    let a = kdive(&["info", s(&dump), "--json"]);
    assert!(a.status.success(), "{}", stderr(&a));
    let b = kdive(&[s(&dump), "--json", "-c", "info"]);
    assert_eq!(first_json(&a), first_json(&b));
    let j = first_json(&a);
    assert_eq!(j["format"], "kdump-compressed");
    assert_eq!(j["dump_level"], 31);
    assert!(j["compression"]["zlib"].as_u64().is_some_and(|n| n > 0));
    // a module after the dump is not a dump part
    let c = kdive(&[s(&dump), s(&ko), "-c", "info"]);
    assert!(c.status.success(), "{}", stderr(&c));
    assert!(stdout(&c).contains("VERDICT: complete"));
    // the module's debug file is attached: bt -l names the module's source lines
    let l = kdive(&[s(&dump), s(&ko), "-c", "bt -l"]);
    assert!(l.status.success(), "{}", stderr(&l));
    assert!(stdout(&l).contains("null-pointer.c: "), "{}", stdout(&l));
    // crash's order, debug info first, works too
    let d = kdive(&[s(&ko), s(&dump), "-c", "info"]);
    assert_eq!(stdout(&d), stdout(&c));
    let missing = kdive(&["/nonexistent/vmcore", "-c", "info"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn split_parts_in_any_order() {
    let Some(fx) = corpus_or_skip("cli_split").and_then(|_| fixture("a-sysrq-6.1")) else {
        return;
    };
    let dump = fx.reference_dump();
    let Some((dir, parts)) = makedumpfile_split(&dump, 3, "cli-split") else {
        return;
    };
    let one = kdive(&[s(&dump), "-c", "sys", "-c", "ps"]);
    let many = kdive(&[
        s(&parts[1]),
        s(&parts[0]),
        s(&parts[2]),
        "-c",
        "sys",
        "-c",
        "ps",
    ]);
    let strip = |o: &Output| -> Vec<String> {
        stdout(o)
            .lines()
            .filter(|l| !l.trim_start().starts_with("DUMPFILE"))
            .map(str::to_string)
            .collect()
    };
    assert!(many.status.success(), "{}", stderr(&many));
    assert!(strip(&one).len() > 20);
    assert_eq!(strip(&many), strip(&one));
    drop(dir);
}

#[test]
fn erased_vmcoreinfo_minimal_and_zero_excluded() {
    let Some(fx) = corpus_or_skip("cli_minimal").and_then(|_| fixture("a-sysrq-6.1")) else {
        return;
    };
    let dump = fx.reference_dump();
    let erased = TempFile::new(
        "erased",
        &erase_vmcoreinfo(std::fs::read(&dump).expect("read the dump")),
    );
    let cmds = ["-c", "rd -p -64 0x11e0000 8", "-c", "rd -p -8 0x2000 20"];
    let want = kdive(&[&[s(&dump)][..], &cmds].concat());
    let got = kdive(&[&[s(erased.path())][..], &cmds].concat());
    assert!(
        !matches!(got.status.code(), Some(101) | None),
        "{}",
        stderr(&got)
    );
    assert_eq!(stdout(&got), stdout(&want));
    assert!(stdout(&want).lines().count() == 6, "{}", stdout(&want));
    assert!(
        stderr(&got).to_lowercase().contains("vmcoreinfo"),
        "{}",
        stderr(&got)
    );

    let min = kdive(&[s(&dump), "--minimal", "-c", "log", "-c", "ps"]);
    assert!(stderr(&min).contains("minimal mode"), "{}", stderr(&min));
    assert_eq!(min.status.code(), Some(1)); // ps fails without the kernel
    let full = kdive(&[s(&dump), "-c", "log"]);
    assert_eq!(stdout(&min), stdout(&full));

    // an excluded page: refused, or zeros with --zero-excluded
    let info = first_json(&kdive(&[s(&dump), "--json", "-c", "info"]));
    assert!(info["pages"]["excluded"].as_u64().unwrap_or(0) > 0);
    let excluded = "rd -p -64 0x5000000 2";
    let refused = kdive(&[s(&dump), "--minimal", "-c", excluded]);
    assert!(
        stderr(&refused).contains("excluded"),
        "{}",
        stderr(&refused)
    );
    assert!(stdout(&refused).is_empty());
    let zeros = kdive(&[s(&dump), "--minimal", "--zero-excluded", "-c", excluded]);
    assert_eq!(
        stdout(&zeros),
        "         5000000:  0000000000000000 0000000000000000   ................\n"
    );
}

#[test]
fn json_envelopes_pipes_and_files() {
    let Some(fx) = corpus_or_skip("cli_json").and_then(|_| fixture("b-null-module-6.1")) else {
        return;
    };
    let dump = fx.reference_dump();
    // one envelope per command line, errors included; a failed command fails the run, and an
    // unknown command (a usage error, status 2) is the worst outcome of this one
    let o = kdive(&[
        s(&dump),
        "--json",
        "-c",
        "sys",
        "-c",
        "bt 999999",
        "-c",
        "frob",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let docs: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(docs.len(), 3, "{}", stdout(&o));
    assert!(docs.iter().all(|d| d["schema_version"] == 1));
    assert_eq!(docs[0]["command"], "sys");
    assert_eq!(docs[0]["nodename"], "fixture-b");
    assert!(docs[0].get("error").is_none());
    assert_eq!(docs[1]["command"], "bt 999999");
    assert_eq!(docs[1]["error"]["kind"], "usage");
    assert_eq!(docs[2]["error"]["kind"], "unknown_command");
    assert_eq!(docs[2]["error"]["message"], "frob: command not found");
    assert!(docs[1].get("nodename").is_none());
    let ok = kdive(&[s(&dump), "--json", "-c", "sys"]);
    assert_eq!(ok.status.code(), Some(0));

    // a reader that stops early is not an error; the text reaches pipes and files whole
    // (900 kB of rd: more than a pipe holds, so the writer sees the reader go)
    let head = kdive(&[
        s(&dump),
        "-c",
        "rd -64 linux_banner 20000 | head -1",
        "-c",
        "log | head -1",
        "-c",
        "sys | wc -l",
    ]);
    assert_eq!(head.status.code(), Some(0), "{}", stderr(&head));
    assert!(!stderr(&head).contains("pipe"), "{}", stderr(&head));
    let out = stdout(&head);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].ends_with("Linux version 6."), "{out}");
    assert!(
        lines[1].starts_with("[    0.000000] Linux version 6.1.0"),
        "{out}"
    );
    let sys_text = stdout(&kdive(&[s(&dump), "-c", "sys"]));
    assert_eq!(lines[2].trim(), sys_text.lines().count().to_string());
    let dir = Scratch::new("json-file");
    let file = dir.path().join("out.txt");
    let redirect = format!("sys > {}", s(&file));
    let to_file = kdive(&[
        s(&dump),
        "-c",
        &redirect,
        "-c",
        &redirect.replace('>', ">>"),
    ]);
    assert_eq!(to_file.status.code(), Some(0), "{}", stderr(&to_file));
    assert!(stdout(&to_file).is_empty());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{sys_text}{sys_text}")
    );
}
