//! `kdive doctor` on two running kernels in QEMU (`tools/doctor-guest`): one with kdump armed
//! (crashkernel=, `kexec -p`, kdump-tools enabled, a dump target with room) must be ready and
//! exit 0; one without crashkernel= or kdump tooling must name both and exit 1. Skipped, saying
//! so, where QEMU, the fixture kernels, kexec or a static busybox are absent.

use std::path::Path;
use std::process::Command;

#[test]
fn doctor_is_ready_in_an_armed_guest_and_names_what_a_bare_guest_lacks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let o = Command::new(root.join("tools/doctor-guest"))
        .env("KD_BIN", env!("CARGO_BIN_EXE_kdive"))
        .output()
        .expect("run tools/doctor-guest");
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    if out.contains("doctor-guest: skipped") {
        eprintln!("{}", out.trim());
        return;
    }
    assert!(o.status.success(), "{out}{err}");
    // both guests booted and were judged
    assert!(out.contains("ok   armed: exit 0"), "{out}");
    assert!(out.contains("ok   bare: exit 1 (not ready)"), "{out}");
    // the checker's lines (the doctor's own text is indented)
    assert!(!out.lines().any(|l| l.starts_with("FAIL ")), "{out}");
}
