//! Doctor over fake roots: each verdict checked against the files that should produce it.

use std::path::Path;

use super::sysroot::{dump_level, shell_var, SysRoot};
use super::*;
use kdive_testdata::temp::Scratch;

fn put(root: &Path, abs: &str, text: &str) {
    let p = root.join(abs.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn link(root: &Path, abs: &str, to: &str) {
    let p = root.join(abs.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(to, p).expect("symlink");
}

const MEMINFO: &str = "MemTotal:        8000000 kB\nMemFree:         4000000 kB\nBuffers:          100000 kB\nCached:          1000000 kB\nAnonPages:       1000000 kB\n";

/// A Debian machine with kdump armed: 256M reserved, capture kernel loaded, kdump-tools enabled.
fn armed() -> Scratch {
    let s = Scratch::new("doctor-armed");
    let r = s.path();
    put(r, "/proc/sys/kernel/osrelease", "6.1.0-37-amd64\n");
    put(
        r,
        "/proc/cmdline",
        "BOOT_IMAGE=/vmlinuz root=/dev/vda1 crashkernel=256M\n",
    );
    put(r, "/proc/meminfo", MEMINFO);
    put(r, "/sys/kernel/kexec_crash_size", "268435456\n");
    put(r, "/sys/kernel/kexec_crash_loaded", "1\n");
    put(
        r,
        "/etc/default/kdump-tools",
        "USE_KDUMP=1\nKDUMP_COREDIR=\"/var/crash\"\nMAKEDUMP_ARGS=\"-c -d 31\"\n",
    );
    put(r, "/lib/systemd/system/kdump-tools.service", "[Unit]\n");
    link(
        r,
        "/etc/systemd/system/multi-user.target.wants/kdump-tools.service",
        "/lib/systemd/system/kdump-tools.service",
    );
    std::fs::create_dir_all(r.join("var/crash")).expect("mkdir");
    for (k, v) in [
        ("panic", "0"),
        ("panic_on_oops", "1"),
        ("panic_on_warn", "0"),
        ("hung_task_panic", "1"),
        ("softlockup_panic", "1"),
        ("unknown_nmi_panic", "1"),
        ("sysrq", "176"),
    ] {
        put(r, &format!("/proc/sys/kernel/{k}"), v);
    }
    put(r, "/sys/module/pstore/parameters/backend", "efi_pstore\n");
    put(r, "/sys/kernel/btf/vmlinux", "BTF");
    put(r, "/usr/lib/debug/boot/vmlinux-6.1.0-37-amd64", "ELF");
    s
}

fn verdict(d: &Doctor, name: &str) -> (Verdict, String) {
    let c = d
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}"));
    (c.verdict, format!("{} / {:?}", c.found, c.fix))
}

#[test]
fn an_armed_machine_passes_every_check() {
    let s = armed();
    let d = examine(&SysRoot::new(s.path()));
    for c in &d.checks {
        assert_eq!(c.verdict, Verdict::Pass, "{}: {}", c.name, c.found);
    }
    assert_eq!(d.verdict, "ready");
    assert_eq!(d.status(), Status::Complete);
    assert_eq!(d.tooling.as_deref(), Some("kdump-tools"));
    let (_, found) = verdict(&d, "crashkernel");
    assert!(
        found.contains("256 MiB reserved") && found.contains("crashkernel=256M"),
        "{found}"
    );
    // 8000000 kB RAM less free, cache, buffers and user pages: 1900000 kB
    let (_, found) = verdict(&d, "dump target");
    assert!(found.contains("1.8 GiB"), "{found}");
}

#[test]
fn an_unarmed_machine_names_what_is_missing() {
    let s = Scratch::new("doctor-bare");
    let r = s.path();
    put(r, "/proc/sys/kernel/osrelease", "6.1.0-37-amd64\n");
    put(r, "/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1\n");
    put(r, "/proc/meminfo", MEMINFO);
    put(r, "/sys/kernel/kexec_crash_size", "0\n");
    put(r, "/sys/kernel/kexec_crash_loaded", "0\n");
    put(r, "/proc/sys/kernel/panic_on_oops", "0");
    let d = examine(&SysRoot::new(r));
    let (v, found) = verdict(&d, "crashkernel");
    assert_eq!(v, Verdict::Fail);
    assert!(
        found.contains("no memory reserved") && found.contains("crashkernel=256M"),
        "{found}"
    );
    assert_eq!(verdict(&d, "capture kernel").0, Verdict::Fail);
    let (v, found) = verdict(&d, "kdump service");
    assert_eq!(v, Verdict::Fail);
    assert!(found.contains("kdump-tools"), "{found}");
    assert_eq!(verdict(&d, "panic settings").0, Verdict::Warn);
    assert_eq!(verdict(&d, "BTF").0, Verdict::Warn);
    assert_eq!(verdict(&d, "vmlinux").0, Verdict::Info);
    assert_eq!(d.status().code(), 1);
    let mut text = Vec::new();
    d.write_text(&mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("verdict: not ready: crashkernel, capture kernel, kdump service"),
        "{text}"
    );
}

#[test]
fn half_armed_machines_get_the_right_verdicts() {
    // reserved too little for the RAM, service installed but not enabled, level 1, no dir
    let s = armed();
    let r = s.path();
    put(r, "/sys/kernel/kexec_crash_size", "134217728\n");
    std::fs::remove_file(r.join("etc/systemd/system/multi-user.target.wants/kdump-tools.service"))
        .unwrap();
    put(
        r,
        "/etc/default/kdump-tools",
        "USE_KDUMP=1\nKDUMP_COREDIR=/srv/dumps\nMAKEDUMP_ARGS=\"-c -d 1\"\n",
    );
    let d = examine(&SysRoot::new(r));
    let (v, found) = verdict(&d, "crashkernel");
    assert_eq!(v, Verdict::Warn, "{found}");
    assert!(
        found.contains("128 MiB reserved") && found.contains("256 MiB advised"),
        "{found}"
    );
    let (v, found) = verdict(&d, "kdump service");
    assert_eq!(v, Verdict::Fail);
    assert!(
        found.contains("systemctl enable --now kdump-tools.service"),
        "{found}"
    );
    assert_eq!(verdict(&d, "dump format").0, Verdict::Warn);
    let (v, found) = verdict(&d, "dump target");
    assert_eq!(v, Verdict::Fail);
    assert!(found.contains("/srv/dumps does not exist"), "{found}");
}

#[test]
fn rhel_kdump_conf_and_iomem() {
    let s = Scratch::new("doctor-rhel");
    let r = s.path();
    put(r, "/proc/meminfo", MEMINFO);
    // no kexec_crash_size: the reservation read from /proc/iomem (0x10000000 bytes)
    put(
        r,
        "/proc/iomem",
        "00100000-bffdffff : System RAM\n  a0000000-afffffff : Crash kernel\n",
    );
    put(
        r,
        "/etc/kdump.conf",
        "# comment\npath /var/crash\ncore_collector makedumpfile -l --message-level 7 -d 31\n",
    );
    link(
        r,
        "/etc/systemd/system/multi-user.target.wants/kdump.service",
        "/usr/lib/systemd/system/kdump.service",
    );
    let d = examine(&SysRoot::new(r));
    assert_eq!(d.tooling.as_deref(), Some("kdump"));
    let (v, found) = verdict(&d, "crashkernel");
    assert_eq!(v, Verdict::Pass, "{found}");
    assert!(found.contains("256 MiB reserved (/proc/iomem"), "{found}");
    assert_eq!(verdict(&d, "kdump service").0, Verdict::Pass);
    let (v, found) = verdict(&d, "dump format");
    assert_eq!(v, Verdict::Pass);
    assert!(found.contains("dump level 31"), "{found}");
    // read without root, /proc/iomem shows the reservation at address zero: size unknown
    put(
        r,
        "/proc/iomem",
        "00000000-00000000 : System RAM\n  00000000-00000000 : Crash kernel\n",
    );
    let (v, found) = verdict(&examine(&SysRoot::new(r)), "crashkernel");
    assert!(v == Verdict::Fail && found.contains("as root"), "{found}");
    // a remote target is not checked from here
    put(
        r,
        "/etc/kdump.conf",
        "ssh root@dumps.example\ncore_collector makedumpfile -F -l -d 31\n",
    );
    let d = examine(&SysRoot::new(r));
    assert_eq!(verdict(&d, "dump target").0, Verdict::Info);
}

#[test]
fn config_words() {
    assert_eq!(dump_level("-c -d 31"), Some(31));
    assert_eq!(dump_level("-l -d17 --message-level 7"), Some(17));
    assert_eq!(dump_level("-c"), None);
    assert_eq!(
        shell_var(
            "# MAKEDUMP_ARGS=x\nMAKEDUMP_ARGS=\"-c -d 1\"\n",
            "MAKEDUMP_ARGS"
        )
        .as_deref(),
        Some("-c -d 1")
    );
    assert_eq!(checks::recommended(8 << 30), 256 << 20);
}
