//! Exit statuses on a dump built in code: complete 0, error 1, usage 2, partial 3; a run of
//! several commands exits with its worst.

use std::process::Command;

use kdive_testdata::elf::{core, load};
use kdive_testdata::temp::TempFile;

/// RAM at 0..0x2000, then nothing: a read from 0x1000 on crosses into a page not in the dump.
fn dump() -> TempFile {
    let ram: Vec<u8> = (0..0x2000u32).map(|i| (i % 251) as u8).collect();
    TempFile::new("exit-status", &core(&[], &[load(0, ram)]))
}

fn kdive(dump: &TempFile, cmds: &[&str]) -> (Option<i32>, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kdive"));
    c.arg(dump.path());
    for cmd in cmds {
        c.args(["-c", cmd]);
    }
    let out = c.output().expect("run kdive");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_copy_cut_by_an_unreadable_page_is_partial() {
    let d = dump();
    let out = d.scratch().path().join("copy.bin");
    let cmd = format!("rd -p -r {} 0x1000 0x2000", out.display());
    let (code, stdout, stderr) = kdive(&d, &[&cmd]);
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("4096 bytes copied"), "{stdout}");
    assert!(
        stderr.contains("0x2000") && stderr.contains("not RAM"),
        "{stderr}"
    );
    assert!(
        !stdout.contains("not RAM"),
        "the error belongs on stderr: {stdout}"
    );
    let copied = std::fs::read(&out).expect("copy written");
    assert_eq!(copied.len(), 0x1000);
    assert_eq!(copied[0], (0x1000 % 251) as u8);
}

#[test]
fn each_outcome_has_its_status_and_a_run_exits_with_its_worst() {
    let d = dump();
    assert_eq!(kdive(&d, &["rd -p 0x1000 4"]).0, Some(0));
    let (code, stdout, stderr) = kdive(&d, &["rd -p 0x1ff8 4"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stdout.contains("1ff8:"), "what was read is shown: {stdout}");
    assert_eq!(kdive(&d, &["rd -p 0x5000 4"]).0, Some(1));
    assert_eq!(kdive(&d, &["nosuchcommand"]).0, Some(2));
    assert_eq!(kdive(&d, &["rd -p 0x1000 4", "rd -p 0x1ff8 4"]).0, Some(3));
    assert_eq!(kdive(&d, &["rd -p 0x1ff8 4", "rd -p 0x5000 4"]).0, Some(1));
    assert_eq!(kdive(&d, &["rd -p 0x5000 4", "nosuchcommand"]).0, Some(2));
}
