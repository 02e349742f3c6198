//! The kernel is read when a command first needs it: `info` answers from the dump file alone
//! (no page tables, kallsyms or BTF read), `log` through what VMCOREINFO says of the ring
//! buffer, the first kernel question reads it.

use kdive_commands::Session;
use kdive_linux::OpenOptions;
use kdive_testdata::kernel::{kernel, vmcore};
use kdive_testdata::temp::Scratch;

#[test]
fn info_does_not_read_the_kernel_and_sys_does() {
    let k = kernel();
    let dir = Scratch::new("info-lazy");
    let path = dir.write("vmcore", &vmcore(&k.phys, &k.vmcoreinfo));
    let s = Session::open(&path).expect("open");
    assert!(!s.kernel_known());
    let pages_at_open = s.dump().pages_read();

    let info = kdive_commands::run(&s, "info").expect("info").json();
    assert!(info["minimal"].is_null(), "{info}");
    assert!(!s.kernel_known(), "info read the kernel");
    assert_eq!(s.dump().pages_read(), pages_at_open, "info read memory");

    let sys = kdive_commands::run(&s, "sys").expect("sys").json();
    assert!(s.kernel_known());
    let release = k
        .vmcoreinfo
        .lines()
        .find_map(|l| l.strip_prefix("OSRELEASE="))
        .expect("OSRELEASE");
    assert_eq!(sys["release"], release, "{sys}");
    assert!(s.dump().pages_read() > pages_at_open);
}

#[test]
fn minimal_mode_is_said_without_reading_the_kernel() {
    let k = kernel();
    let dir = Scratch::new("info-lazy-minimal");
    let path = dir.write("vmcore", &vmcore(&k.phys, &k.vmcoreinfo));
    let opts = OpenOptions {
        minimal: true,
        ..OpenOptions::default()
    };
    let s = Session::open_with(&[&path], &opts).expect("open");
    let info = kdive_commands::run(&s, "info").expect("info").json();
    assert!(
        info["minimal"]
            .as_str()
            .is_some_and(|m| m.contains("--minimal")),
        "{info}"
    );
    assert!(!s.kernel_known());
    assert!(kdive_commands::run(&s, "ps").is_err());
    assert!(s.minimal_reason().is_some_and(|m| m.contains("--minimal")));
}

/// On every fixture (real kernels export the ring buffer's layout in VMCOREINFO), `log` as the
/// first command leaves the kernel unread and prints what it prints after the kernel is read.
#[test]
fn log_first_is_read_without_the_kernel_and_is_the_same() {
    if kdive_testdata::corpus_or_skip("log_first_is_read_without_the_kernel").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in kdive_testdata::fixtures() {
        let path = fx.reference_dump();
        let first = Session::open(&path).expect("open");
        let early = kdive_commands::run(&first, "log -m").expect("log").text();
        assert!(!first.kernel_known(), "{}: log read the kernel", fx.name);
        assert!(early.lines().count() > 100, "{}: {early}", fx.name);

        let typed = Session::open(&path).expect("open");
        kdive_commands::run(&typed, "sys").expect("sys");
        assert!(typed.kernel_known());
        let late = kdive_commands::run(&typed, "log -m").expect("log").text();
        assert_eq!(early, late, "{}", fx.name);
        // the options that need the kernel read it
        kdive_commands::run(&first, "log -T").expect("log -T");
        assert!(first.kernel_known());
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} fixtures");
}
