//! The subcommands about the machine, over fake roots (`KDIVE_SYSROOT`): the dumps in
//! `/var/crash` in both tools' layouts, `kdive latest`, and `kdive doctor`'s exit statuses.

use std::path::Path;
use std::process::{Command, Output};

use kdive_testdata::temp::Scratch;
use kdive_testdata::{corpus_or_skip, fixture};

fn kdive(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(args)
        .env("KDIVE_SYSROOT", root)
        .output()
        .expect("run kdive")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn link(root: &Path, rel: &str, to: &Path) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(to, p).expect("symlink");
}

#[test]
fn dumps_in_var_crash_are_listed_and_the_newest_opens() {
    let (Some(_), Some(old), Some(new)) = (
        corpus_or_skip("var_crash"),
        fixture("a-sysrq-6.1"),
        fixture("b-null-module-6.1"),
    ) else {
        return;
    };
    let root = Scratch::new("var-crash");
    let r = root.path();
    // kdump-tools' layout for the older, kdumpctl's for the newer
    link(
        r,
        "var/crash/202612010930/dump.202612010930",
        &old.reference_dump(),
    );
    std::fs::write(r.join("var/crash/202612010930/dmesg.202612010930"), "log").unwrap();
    link(
        r,
        "var/crash/127.0.0.1-2026-12-03-17:05:09/vmcore",
        &new.reference_dump(),
    );
    let o = kdive(r, &[]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    let (a, b) = (
        out.find("2026-12-01 09:30")
            .expect("kdump-tools dump listed"),
        out.find("2026-12-03 17:05:09")
            .expect("kdumpctl dump listed"),
    );
    assert!(a < b, "oldest first: {out}");
    for fx in [&old, &new] {
        let rel = fx.release().expect("fixture release");
        assert!(out.contains(&rel), "{rel}: {out}");
    }
    assert!(!out.contains("dmesg."), "{out}");
    // the null-pointer module's oops: analyze names it
    assert!(out.to_lowercase().contains("null"), "{out}");

    let o = kdive(r, &["latest", "-c", "sys"]);
    let out = text(&o.stdout);
    let rel = new.release().expect("release");
    assert!(
        out.contains(&format!("RELEASE: {rel}")),
        "{out}{}",
        text(&o.stderr)
    );
}

#[test]
fn no_dumps_and_no_latest() {
    let root = Scratch::new("no-crash");
    let o = kdive(root.path(), &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("No dumps"));
    let o = kdive(root.path(), &["latest"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("no dumps"));
}

#[test]
fn doctor_exit_statuses_and_json() {
    let root = Scratch::new("doctor-cli");
    let r = root.path();
    std::fs::create_dir_all(r.join("sys/kernel")).unwrap();
    std::fs::write(r.join("sys/kernel/kexec_crash_size"), "0\n").unwrap();
    std::fs::write(r.join("sys/kernel/kexec_crash_loaded"), "0\n").unwrap();
    let o = kdive(r, &["doctor"]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(out.contains("FAIL") && out.contains("not ready"), "{out}");
    let o = kdive(r, &["doctor", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["command"], "doctor");
    assert_eq!(v["verdict"], "not ready");
    let crash = v["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "crashkernel"))
        .expect("crashkernel check");
    assert_eq!(crash["verdict"], "fail");
    assert!(crash["fix"]
        .as_str()
        .is_some_and(|f| f.contains("crashkernel=")));
    assert_eq!(kdive(r, &["doctor", "--frob"]).status.code(), Some(2));
}
