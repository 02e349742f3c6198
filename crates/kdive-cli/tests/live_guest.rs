//! kdive on a running kernel in QEMU (`tools/live-guest`): its commands on `/proc/kcore`, a
//! Python script through `--script`, a module's symbols (`/proc/kallsyms`) and type (its BTF),
//! all compared with the guest's own /proc and /sys; and what it says of `/dev/mem`. Skipped,
//! saying so, where QEMU, the fixture kernels, a static busybox or cpio are absent; the Python
//! part where libkdive.so or its interpreter is.

use std::path::Path;
use std::process::Command;

#[test]
fn kdive_and_a_python_script_agree_with_a_running_guests_proc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let o = Command::new(root.join("tools/live-guest"))
        .env("KD_BIN", env!("CARGO_BIN_EXE_kdive"))
        .output()
        .expect("run tools/live-guest");
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    if out.contains("live-guest: skipped") {
        eprintln!("{}", out.trim());
        return;
    }
    assert!(o.status.success(), "{out}{err}");
    assert!(!out.lines().any(|l| l.starts_with("FAIL ")), "{out}");
    let mut want = vec![
        "ok   sys RELEASE is uname -r",
        "ok   ps lists every pid of the guest's /proc",
        "ok   bt 1 is pid 1's saved stack",
        "ok   sym -m loop has every [loop] symbol of /proc/kallsyms at its address",
        "ok   struct loop_device (the module's BTF) has lo_number",
        "ok   /dev/mem: an answer or an error, never a crash",
    ];
    if out.contains("skip Python script") {
        eprintln!("the Python script was skipped:\n{out}");
    } else {
        want.extend([
            "ok   script ran (exit 0, one SCRIPT line)",
            "ok   script: init_uts_ns.name.release is uname -r",
            "ok   script: for_each_task has every pid of /proc/<pid>/stat",
            "ok   script: each task's comm is the one /proc/<pid>/stat shows",
        ]);
    }
    for w in want {
        assert!(out.lines().any(|l| l.starts_with(w)), "no `{w}` in:\n{out}");
    }
}
