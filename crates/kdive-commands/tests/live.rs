//! A session on the running kernel (`/proc/kcore`, here the synthetic kernel's written as a
//! file named `kcore`): each command reads memory as it is then, unless the session keeps it.

use kdive_commands::Session;
use kdive_testdata::temp::Scratch;

/// `ps`'s command names.
fn comms(s: &Session) -> Vec<String> {
    let r = kdive_commands::run(s, "ps").expect("ps");
    r.json()["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["comm"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Renames `kthreadd` in every mapping of its page (kcore maps RAM twice: text and direct map).
fn rename_kthreadd(path: &std::path::Path) {
    let mut img = std::fs::read(path).unwrap();
    let mut n = 0;
    while let Some(i) = img.windows(9).position(|w| w == b"kthreadd\0") {
        img[i..i + 9].copy_from_slice(b"kworker/0");
        n += 1;
    }
    assert_eq!(n, 2, "the name is in the text and the direct-map segments");
    std::fs::write(path, img).unwrap();
}

#[test]
fn each_command_reads_the_running_kernel_afresh_after_refresh() {
    let k = kdive_testdata::kernel::kernel();
    let dir = Scratch::new("live-session");
    std::fs::create_dir_all(dir.path().join("proc")).unwrap();
    let path = dir.path().join("proc/kcore");
    std::fs::write(
        &path,
        kdive_testdata::kernel::kcore(&k.phys, &k.vmcoreinfo, &[0u8; 64]),
    )
    .unwrap();
    let mut s = Session::open(&path).expect("the kcore opens");
    assert!(s.is_live());
    assert_eq!(comms(&s), ["swapper/0", "init", "kthreadd"]);
    // the kernel renames a thread (comm lies in a task structure: 16 bytes, NUL-padded)
    rename_kthreadd(&path);
    // kept: the session read tasks once (a snapshot)
    assert_eq!(comms(&s)[2], "kthreadd");
    s.refresh();
    assert_eq!(comms(&s), ["swapper/0", "init", "kworker/0"]);
}

#[test]
fn refresh_keeps_a_dump_as_it_is() {
    let k = kdive_testdata::kernel::kernel();
    let dir = Scratch::new("live-dump");
    let path = dir.write(
        "vmcore",
        &kdive_testdata::kernel::vmcore(&k.phys, &k.vmcoreinfo),
    );
    let mut s = Session::open(&path).expect("the vmcore opens");
    assert!(!s.is_live());
    assert_eq!(comms(&s)[2], "kthreadd");
    s.refresh();
    assert_eq!(comms(&s)[2], "kthreadd");
}
