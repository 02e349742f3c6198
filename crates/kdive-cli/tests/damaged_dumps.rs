//! The `kdive` binary on damaged dumps: a cut header is an error naming the place, a dump cut
//! inside its page data still answers, and on the dump old makedumpfile damaged (slab pages
//! dropped) every command answers or says what it could not read, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use kdive_testdata::temp::TempFile;

fn kdive(dump: &Path, cmds: &[&str]) -> (Option<i32>, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kdive"));
    c.arg(dump);
    for cmd in cmds {
        c.args(["-c", cmd]);
    }
    let out = c.output().expect("run kdive");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn fixture_file(fixture: &str, file: &str) -> Option<PathBuf> {
    kdive_testdata::corpus_or_skip("damaged_dumps")?;
    Some(kdive_testdata::fixture(fixture)?.materialize(file))
}

fn no_panic(what: &str, code: Option<i32>, out: &str, err: &str) {
    assert!(code.is_some(), "{what}: killed by a signal\n{err}");
    assert!(
        !err.contains("panicked") && !out.contains("panicked"),
        "{what}: panic\n{err}"
    );
}

#[test]
fn cut_header_is_an_error_naming_the_place() {
    let Some(dump) = fixture_file("a-sysrq-6.1", "vmcore") else {
        return;
    };
    let cut = TempFile::cut(&dump, 300, "header");
    let (code, out, err) = kdive(cut.path(), &["sys"]);
    no_panic("cut header", code, &out, &err);
    assert_ne!(code, Some(0));
    assert!(err.contains("truncated kdump header"), "{err}");
}

#[test]
fn dump_cut_near_the_end_still_answers() {
    let Some(dump) = fixture_file("a-sysrq-6.1", "vmcore") else {
        return;
    };
    let len = std::fs::metadata(&dump).expect("stat").len() as usize;
    let cut = TempFile::cut(&dump, len * 97 / 100, "end");
    let (code, out, err) = kdive(cut.path(), &["sys", "log | tail -3"]);
    no_panic("cut near the end", code, &out, &err);
    assert!(out.contains("RELEASE: 6.1.0"), "{out}\n{err}");
    assert!(out.contains("Kernel panic - not syncing"), "{out}\n{err}");
}

#[test]
fn old_makedumpfile_dump_answers_or_says_what_is_missing() {
    let Some(dump) = fixture_file("c-hung-task-6.12", "vmcore-old-makedumpfile-d31") else {
        return;
    };
    for cmd in [
        "sys",
        "ps",
        "ps -t",
        "log",
        "bt",
        "bt -a",
        "foreach bt",
        "info",
        "rd init_task",
        "mod",
        "sym schedule",
        "runq",
        "mount",
        "files 1",
        "vm 1",
        "analyze",
        "kmem -i",
        "kmem -s",
        "net",
        "dev",
        "irq",
        "task",
        "struct task_struct.pid,comm init_task",
        "whatis task_struct",
        "foreach user files",
        "list task_struct.tasks -h init_task",
    ] {
        let (code, out, err) = kdive(&dump, &[cmd]);
        no_panic(cmd, code, &out, &err);
        assert!(
            !out.trim().is_empty() || !err.trim().is_empty(),
            "{cmd}: no output at all"
        );
    }
    let (_, sys, _) = kdive(&dump, &["sys"]);
    assert!(
        sys.contains("could not be read from the dump"),
        "sys must not present a partial task count as complete:\n{sys}"
    );
    let (_, ps, ps_err) = kdive(&dump, &["ps"]);
    let all = format!("{ps}{ps_err}");
    assert!(
        all.contains("this list is incomplete") && all.contains("excluded from the dump"),
        "{all}"
    );
    // init's open files live in slab pages this makedumpfile dropped: each descriptor is listed
    // as unreadable, never "No open files"
    let (_, files, _) = kdive(&dump, &["files 1"]);
    assert!(
        !files.contains("No open files") && files.contains("this list is incomplete"),
        "{files}"
    );
    let (_, vm, _) = kdive(&dump, &["vm 1"]);
    assert!(vm.contains("this VMA list is incomplete"), "{vm}");
}
