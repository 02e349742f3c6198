//! Reading crash's saved outputs, shared by the fixture tests that compare with them.
// each test binary includes this module and uses some of it
#![allow(dead_code)]

use std::path::Path;

use kdive_commands::{run, Report, Session};
use kdive_testdata::{fixtures, Fixture};

/// crash's output lines after its `crash> ...` echo, and the command.
pub fn split_reference(text: &str) -> (String, Vec<String>) {
    let mut lines = text.lines();
    let cmd = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches("crash> ")
        .to_string();
    (cmd, lines.map(str::to_string).collect())
}

/// Runs every crash output kept under `tests/data/<dir>/<fixture>/` on its fixture and asserts
/// kdive prints the same lines; how many were compared.
pub fn saved_crash_outputs_match(dir: &str) -> usize {
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(dir);
    let mut checked = 0;
    for fx in fixtures() {
        let Ok(entries) = std::fs::read_dir(data.join(&fx.name)) else {
            continue;
        };
        let s = Session::open(&fx.reference_dump()).unwrap();
        let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for path in names {
            let (cmd, want) = split_reference(&std::fs::read_to_string(&path).unwrap());
            let got = run(&s, &cmd).unwrap().text();
            assert_eq!(got.lines().collect::<Vec<_>>(), want, "{}: {cmd}", fx.name);
            checked += 1;
        }
    }
    checked
}

/// Runs `cmd` on every fixture that has crash's `reference/crash/NN-<name>.txt`, asserts kdive
/// prints crash's lines (line by line, then the count), and hands the fixture, session and
/// answer to `more` for the test's own checks; how many fixtures were compared.
pub fn each_crash_reference(
    name: &str,
    cmd: &str,
    mut more: impl FnMut(&Fixture, &Session, &dyn Report),
) -> usize {
    let mut checked = 0;
    for fx in fixtures() {
        let Some(reference) = fx.crash_ref(name) else {
            continue;
        };
        let s = Session::open(&fx.reference_dump()).unwrap();
        let got = run(&s, cmd).unwrap_or_else(|e| panic!("{}: {cmd}: {e}", fx.name));
        let text = got.text();
        let lines: Vec<&str> = text.lines().collect();
        let (_, want) = split_reference(&reference);
        for (i, (g, w)) in lines.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{}: {cmd}: line {}", fx.name, i + 2);
        }
        assert_eq!(lines.len(), want.len(), "{}: {cmd}: line count", fx.name);
        more(&fx, &s, got.as_ref());
        checked += 1;
    }
    checked
}
