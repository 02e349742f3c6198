//! What the debug-file tests share: the fixture kernels' build-ids and files, running `kdive`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use kdive_testdata::fixtures::Fixture;
use kdive_testdata::fixtures_with_vmlinux;

/// The 6.12 fixture kernel's build-id (`readelf -n vmlinux`; the dump's VMCOREINFO `BUILD-ID`).
pub const ID_612: &str = "7f76f39faf07f34cfa9fadd801e131bfa8cb6dc3";
/// The 6.1 fixture kernel's build-id (`readelf -n vmlinux`).
pub const ID_61: &str = "3b43fad5034874490492495d552c0af6a5fab235";

/// The 6.12 hung-task fixture with its vmlinux, and the 6.1 kernel's vmlinux (another build);
/// `None` (skipped, or failing under `KDIVE_REQUIRE_VMLINUX=1`) without them.
pub fn kernels(test: &str) -> Option<(Fixture, PathBuf, PathBuf)> {
    let all = fixtures_with_vmlinux(test);
    let right = all.iter().find(|(f, _)| f.name == "c-hung-task-6.12")?;
    let wrong = all.iter().find(|(f, _)| f.name == "a-sysrq-6.1")?;
    Some((right.0.clone(), right.1.clone(), wrong.1.clone()))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Whether `tool` is on the PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
