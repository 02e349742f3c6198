//! The running kernel's side files under a fake root: `/sys/kernel/notes` gives the build-id
//! its VMCOREINFO lacks (kernels before 5.9 write no `BUILD-ID` line).

use std::path::PathBuf;

use kdive_dump::Dump;
use kdive_testdata::elf::note;
use kdive_testdata::kernel::{kcore, kernel, KBASE};
use kdive_testdata::temp::Scratch;

/// A root whose `proc/kcore` carries `vmcoreinfo` (the synthetic kernel's memory) and, when
/// given, whose `sys/kernel/notes` holds `notes`.
fn root(tag: &str, vmcoreinfo: &str, notes: Option<&[u8]>) -> (Scratch, PathBuf) {
    let k = kernel();
    let r = Scratch::new(tag);
    std::fs::create_dir_all(r.path().join("proc")).unwrap();
    let init = (k.tasks[0] - KBASE) as usize;
    let path = r.path().join("proc/kcore");
    std::fs::write(
        &path,
        kcore(&k.phys, vmcoreinfo, &k.phys[init..init + 0xc0]),
    )
    .unwrap();
    if let Some(n) = notes {
        std::fs::create_dir_all(r.path().join("sys/kernel")).unwrap();
        std::fs::write(r.path().join("sys/kernel/notes"), n).unwrap();
    }
    (r, path)
}

/// `/sys/kernel/notes` as a kernel has it: a Xen note first, then `GNU`/`NT_GNU_BUILD_ID`.
fn kernel_notes(id: &[u8]) -> Vec<u8> {
    let mut n = note("Xen", 6, &0xffff_ffff_8100_0000u64.to_le_bytes());
    n.extend(note("GNU", 3, id));
    n
}

const ID: [u8; 20] = [
    0x7f, 0x76, 0xf3, 0x9f, 0xaf, 0x07, 0xf3, 0x4c, 0xfa, 0x9f, 0xad, 0xd8, 0x01, 0xe1, 0x31, 0xbf,
    0xa8, 0xcb, 0x6d, 0xc3,
];

#[test]
fn the_running_kernels_notes_give_the_build_id_its_vmcoreinfo_lacks() {
    let k = kernel();
    assert!(!k.vmcoreinfo.contains("BUILD-ID="));
    let (_r, path) = root("live-notes", &k.vmcoreinfo, Some(&kernel_notes(&ID)));
    let d = Dump::open(&path).expect("open kcore");
    let info = d.vmcoreinfo().expect("VMCOREINFO");
    assert_eq!(
        info.build_id(),
        Some("7f76f39faf07f34cfa9fadd801e131bfa8cb6dc3")
    );
    // the rest of VMCOREINFO is as the kernel wrote it
    assert_eq!(info.osrelease(), Some("6.1.0-synthetic"));
}

#[test]
fn a_vmcoreinfo_build_id_is_kept_and_no_notes_add_none() {
    let k = kernel();
    let own = format!("{}BUILD-ID=00112233\n", k.vmcoreinfo);
    let (_r, path) = root("live-notes-own", &own, Some(&kernel_notes(&ID)));
    let d = Dump::open(&path).expect("open kcore");
    assert_eq!(d.vmcoreinfo().unwrap().build_id(), Some("00112233"));

    let (_r, path) = root("live-notes-none", &k.vmcoreinfo, None);
    let d = Dump::open(&path).expect("open kcore");
    assert_eq!(d.vmcoreinfo().unwrap().build_id(), None);
    // notes without a GNU build-id note add nothing
    let xen = note("Xen", 6, &[0u8; 8]);
    let (_r, path) = root("live-notes-xen", &k.vmcoreinfo, Some(&xen));
    let d = Dump::open(&path).expect("open kcore");
    assert_eq!(d.vmcoreinfo().unwrap().build_id(), None);
}
