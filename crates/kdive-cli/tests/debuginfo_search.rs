//! The vmlinux found without being named: under a fake root's distribution paths
//! (`/usr/lib/debug/boot/vmlinux-REL`, `/usr/lib/debug/.build-id/xx/rest.debug`), in
//! `--debuginfo DIR` and `KDIVE_DEBUGINFO_PATH`, and a file of another build in each place
//! refused with both build-ids named. Needs the fixture vmlinux files (`tools/fetch-vmlinux`).

use std::path::Path;
use std::process::{Command, Output};

use kdive_testdata::fixtures::Fixture;
use kdive_testdata::temp::Scratch;

mod common;
use common::{kernels, stderr, ID_61, ID_612};

/// `kdive` with no debug-file environment of the machine running the tests.
fn kdive(root: &Path, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kdive"));
    c.args(args)
        .env("KDIVE_SYSROOT", root)
        .env("DEBUGINFOD_CACHE_PATH", root.join("no-cache"))
        .env_remove("KDIVE_DEBUGINFO_PATH")
        .env_remove("DEBUGINFOD_URLS");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("run kdive")
}

fn link(target: &Path, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(at);
    std::os::unix::fs::symlink(target, at).unwrap();
}

/// drgn's source locations of the panicking task (`khungtaskd`, pid 34), as `bt -l` writes them.
fn drgn_sources(fx: &Fixture) -> Vec<String> {
    let drgn = fx.drgn();
    let task = drgn["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["pid"] == 34)
        .expect("pid 34 in drgn.json");
    let out: Vec<String> = task["stack"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            let (file, line) = f["source"].as_str()?.rsplit_once(':')?;
            Some(format!("{file}: {line}"))
        })
        .collect();
    assert!(out.len() >= 3, "{out:?}");
    out
}

/// Whether `bt -l`'s text shows every source location drgn gives for the task.
fn has_dwarf_lines(o: &Output, want: &[String]) -> bool {
    let text = String::from_utf8_lossy(&o.stdout);
    want.iter().all(|w| text.contains(w.as_str()))
}

#[test]
fn vmlinux_found_in_distribution_paths() {
    let Some((fx, right, wrong)) = kernels("vmlinux_found_in_distribution_paths") else {
        return;
    };
    let rel = fx.release().unwrap();
    let dump = fx.reference_dump();
    let dump = dump.to_str().unwrap();
    let want = drgn_sources(&fx);
    let root = Scratch::new("sysroot");
    let r = root.path();
    // nothing installed: no source lines
    let none = kdive(r, &[dump, "-c", "bt -l"], &[]);
    assert!(none.status.success(), "{}", stderr(&none));
    assert!(!has_dwarf_lines(&none, &want));

    // Debian/Ubuntu's -dbg package
    let boot = r.join(format!("usr/lib/debug/boot/vmlinux-{rel}"));
    link(&right, &boot);
    let o = kdive(r, &[dump, "-c", "bt -l"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(has_dwarf_lines(&o, &want), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(boot.to_str().unwrap()),
        "{}",
        stderr(&o)
    );

    // another build there: refused, both build-ids named, the dump still opens
    link(&wrong, &boot);
    let o = kdive(r, &[dump, "-c", "bt -l"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!has_dwarf_lines(&o, &want));
    let e = stderr(&o);
    assert!(e.contains(ID_61) && e.contains(ID_612), "{e}");

    // the .build-id tree (Fedora, RHEL, SUSE) is looked at first
    let by_id = r.join(format!(
        "usr/lib/debug/.build-id/{}/{}.debug",
        &ID_612[..2],
        &ID_612[2..]
    ));
    link(&right, &by_id);
    let o = kdive(r, &[dump, "-c", "bt -l"], &[]);
    assert!(has_dwarf_lines(&o, &want), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(by_id.to_str().unwrap()),
        "{}",
        stderr(&o)
    );
    link(&wrong, &by_id);
    std::fs::remove_file(&boot).unwrap();
    let o = kdive(r, &[dump, "-c", "bt -l"], &[]);
    assert!(!has_dwarf_lines(&o, &want));
    let e = stderr(&o);
    assert!(e.contains(ID_61) && e.contains(ID_612), "{e}");
    assert!(e.contains(by_id.to_str().unwrap()), "{e}");
}

#[test]
fn vmlinux_found_in_directories_named() {
    let Some((fx, right, wrong)) = kernels("vmlinux_found_in_directories_named") else {
        return;
    };
    let rel = fx.release().unwrap();
    let dump = fx.reference_dump();
    let dump = dump.to_str().unwrap();
    let want = drgn_sources(&fx);
    let root = Scratch::new("debugdirs");
    let r = root.path();
    let (a, b) = (r.join("a"), r.join("b"));
    link(&wrong, &a.join("vmlinux"));
    link(&right, &b.join(format!("vmlinux-{rel}")));
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
    // the first directory's file is of another build: refused, the second one's used
    let o = kdive(
        r,
        &[dump, "--debuginfo", a_s, "--debuginfo", b_s, "-c", "bt -l"],
        &[],
    );
    assert!(has_dwarf_lines(&o, &want), "{}", stderr(&o));
    assert!(stderr(&o).contains(ID_61), "{}", stderr(&o));
    let path = std::env::join_paths([&a, &b]).unwrap();
    let o = kdive(
        r,
        &[dump, "-c", "bt -l"],
        &[("KDIVE_DEBUGINFO_PATH", Path::new(&path))],
    );
    assert!(has_dwarf_lines(&o, &want), "{}", stderr(&o));
    // a vmlinux named on the command line is the only one used: no search
    let o = kdive(r, &[dump, wrong.to_str().unwrap(), "--debuginfo", b_s], &[]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains(ID_61) && e.contains(ID_612), "{e}");
}
