//! The running kernel through `/proc/kcore`, over fake roots (`KDIVE_SYSROOT`) holding the
//! synthetic kernel's kcore: opened by name or with no dump given, read live.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kdive_testdata::temp::Scratch;

mod common;

fn kdive(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(args)
        .env("KDIVE_SYSROOT", root)
        .env("KDIVE_DEBUGINFO_PATH", root)
        .env_remove("DEBUGINFOD_URLS")
        .output()
        .expect("run kdive")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A root whose `proc/kcore` is the synthetic kernel's.
fn fake_root(tag: &str) -> (Scratch, PathBuf) {
    let k = kdive_testdata::kernel::kernel();
    let root = Scratch::new(tag);
    std::fs::create_dir_all(root.path().join("proc")).expect("mkdir proc");
    let kcore = root.path().join("proc/kcore");
    let init = k.tasks[0] - kdive_testdata::kernel::KBASE;
    let task = &k.phys[init as usize..init as usize + 0xc0];
    std::fs::write(
        &kcore,
        kdive_testdata::kernel::kcore(&k.phys, &k.vmcoreinfo, task),
    )
    .expect("write kcore");
    (root, kcore)
}

#[test]
fn no_dump_opens_the_running_kernel_which_has_no_panic() {
    let (root, _) = fake_root("live-none");
    let o = kdive(root.path(), &["-c", "sys", "--json"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    let sys: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON document");
    assert_eq!(sys["release"], "6.1.0-synthetic");
    assert_eq!(sys["live"], true);
    // the synthetic kernel's log ends in a panic line; a running kernel has not panicked
    assert_eq!(sys["panic"], "");
    assert_eq!(sys["panic_kind"], "none");
    assert!(sys["dumpfile"].as_str().unwrap().ends_with("proc/kcore"));
    let o = kdive(root.path(), &["-c", "sys", "-c", "ps"]);
    let out = text(&o.stdout);
    assert!(
        !out.contains("PANIC:"),
        "crash prints no PANIC line live: {out}"
    );
    assert!(out.contains("[kthreadd]"), "{out}");
}

#[test]
fn kdive_alone_opens_the_running_kernel_only_without_dumps() {
    let (root, _) = fake_root("live-alone");
    // the prompt reads no command from an empty stdin and ends
    let o = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .env("KDIVE_SYSROOT", root.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run kdive");
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(!out.contains("No dumps in"), "{out}");
    // with a dump under /var/crash, that is listed instead
    let k = kdive_testdata::kernel::kernel();
    let d = root.path().join("var/crash/202612010930");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("dump.202612010930"),
        kdive_testdata::kernel::vmcore(&k.phys, &k.vmcoreinfo),
    )
    .unwrap();
    let o = kdive(root.path(), &[]);
    assert!(
        text(&o.stdout).contains("2026-12-01 09:30"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn a_kcore_copy_by_another_name_is_a_dump() {
    let (root, kcore) = fake_root("live-copy");
    let copy = root.path().join("kcore.saved");
    std::fs::copy(&kcore, &copy).unwrap();
    let o = kdive(
        root.path(),
        &[copy.to_str().unwrap(), "-c", "sys", "--json"],
    );
    let sys: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(sys["live"], false);
    assert_eq!(sys["panic"], "Kernel panic - not syncing: synthetic crash");
}

#[test]
fn without_kcore_the_running_kernel_is_read_through_dev_crash() {
    let k = kdive_testdata::kernel::kernel();
    let root = Scratch::new("live-devcrash");
    kdive_testdata::kernel::memory_device_root(root.path(), "crash", &k.phys, &k.vmcoreinfo)
        .expect("fake root");
    assert!(!root.path().join("proc/kcore").exists());
    let o = kdive(root.path(), &["-c", "sys", "--json"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    let sys: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON document");
    assert_eq!(sys["release"], "6.1.0-synthetic");
    assert_eq!(sys["live"], true);
    assert_eq!(sys["panic"], "");
    assert!(sys["dumpfile"].as_str().unwrap().ends_with("dev/crash"));
    let o = kdive(root.path(), &["-c", "ps"]);
    assert!(
        text(&o.stdout).contains("[kthreadd]"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn a_vmlinux_of_another_build_than_the_running_kernels_notes_is_refused() {
    // the 6.1 fixture kernel's vmlinux; the running kernel's notes name the 6.12 build
    let Some((_, _, vmlinux)) = common::kernels("live notes build-id") else {
        return;
    };
    let (root, kcore) = fake_root("live-buildid");
    let running: Vec<u8> = (0..common::ID_612.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&common::ID_612[i..i + 2], 16).unwrap())
        .collect();
    std::fs::create_dir_all(root.path().join("sys/kernel")).unwrap();
    std::fs::write(
        root.path().join("sys/kernel/notes"),
        kdive_testdata::elf::note("GNU", 3, &running),
    )
    .unwrap();
    let o = kdive(
        root.path(),
        &[
            kcore.to_str().unwrap(),
            vmlinux.to_str().unwrap(),
            "-c",
            "sys",
        ],
    );
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(
        all.contains(common::ID_61) && all.contains(common::ID_612),
        "{all}"
    );
    assert_ne!(o.status.code(), Some(0), "{all}");
}

/// `--script` reads a running kernel as it is at each read: the memory changing between two
/// reads of one value (the kcore file rewritten) shows in the second; with `--snapshot` the
/// pages first read are kept. Skipped without a `python3`.
#[test]
fn python_reads_a_running_kernel_as_it_changes() {
    let python = std::env::var("KDIVE_PYTHON").unwrap_or_else(|_| "python3".into());
    if !Command::new(&python)
        .arg("-c")
        .arg("import sys")
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: no {python}");
        return;
    }
    for (snapshot, want) in [(false, "changed!!"), (true, "swapper/0")] {
        let (root, kcore) = fake_root(if snapshot { "live-py-snap" } else { "live-py" });
        let script = root.path().join("reread.py");
        std::fs::write(
            &script,
            r#"import sys
from drgn import Object
kcore = sys.argv[1]
task = Object(prog, "struct task_struct", address=prog.symbol("init_task").address)
before = task.comm.string_()
data = open(kcore, "rb").read()
with open(kcore, "r+b") as f:
    f.write(data.replace(before + b"\0", b"changed!!\0"))
after = task.comm.string_()
print(before.decode(), after.decode())
"#,
        )
        .unwrap();
        let (k, s) = (kcore.display().to_string(), script.display().to_string());
        let mut args = vec![k.as_str(), "--script", s.as_str(), k.as_str()];
        if snapshot {
            args.insert(1, "--snapshot");
        }
        let o = kdive(root.path(), &args);
        let (out, err) = (text(&o.stdout), text(&o.stderr));
        if err.contains("module is not available") {
            eprintln!("skipped: the kdive Python module is not built beside the binary");
            return;
        }
        assert_eq!(o.status.code(), Some(0), "{out}{err}");
        assert_eq!(out.trim(), format!("swapper/0 {want}"), "{err}");
    }
}
