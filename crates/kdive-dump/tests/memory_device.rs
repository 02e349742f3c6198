//! The running kernel's memory through `/dev/crash` or `/dev/mem` under a fake root: RAM
//! where `/proc/iomem` says, VMCOREINFO where `/sys/kernel/vmcoreinfo` says.

use kdive_dump::{Dump, DumpError, FormatKind, PageState};
use kdive_testdata::kernel::{kernel, memory_device_root};
use kdive_testdata::temp::Scratch;

#[test]
fn dev_crash_reads_ram_by_physical_address_and_finds_vmcoreinfo() {
    let k = kernel();
    let r = Scratch::new("memdev-crash");
    let (dev, note_at) = memory_device_root(r.path(), "crash", &k.phys, &k.vmcoreinfo).unwrap();
    let d = Dump::open(&dev).expect("open /dev/crash");
    assert!(d.is_live());
    assert!(matches!(d.meta().format, FormatKind::MemoryDevice { .. }));
    let info = d.vmcoreinfo().expect("VMCOREINFO through the device");
    assert_eq!(info.osrelease(), Some("6.1.0-synthetic"));
    assert_eq!(d.meta().page_size, 4096);
    // RAM is the System RAM line: the memory and the note's page after it
    let end = note_at + 4096;
    assert_eq!(d.meta().max_pfn, end / 4096);
    let mut buf = [0u8; 64];
    let at = 0x3000u64;
    d.read_phys(at, &mut buf).expect("read RAM");
    assert_eq!(&buf[..], &k.phys[at as usize..at as usize + 64]);
    // past RAM: the reserved range is not RAM
    assert_eq!(d.format().page_state(end / 4096), PageState::NotRam);
    assert!(matches!(
        d.read_phys(end, &mut buf),
        Err(DumpError::NotRam { .. })
    ));
}

#[test]
fn dev_mem_opens_alike_and_an_iomem_without_ram_is_refused() {
    let k = kernel();
    let r = Scratch::new("memdev-mem");
    let (dev, _) = memory_device_root(r.path(), "mem", &k.phys, &k.vmcoreinfo).unwrap();
    let d = Dump::open(&dev).expect("open /dev/mem");
    assert_eq!(
        d.vmcoreinfo().and_then(|v| v.osrelease()),
        Some("6.1.0-synthetic")
    );
    assert_eq!(d.vmcoreinfo().unwrap().build_id(), None);
    // the kernel's notes give the build-id its VMCOREINFO lacks, as beside /proc/kcore
    let id = [0xabu8, 0xcd, 0xef, 0x01];
    std::fs::write(
        r.path().join("sys/kernel/notes"),
        kdive_testdata::elf::note("GNU", 3, &id),
    )
    .unwrap();
    let d = Dump::open(&dev).expect("open /dev/mem");
    assert_eq!(d.vmcoreinfo().unwrap().build_id(), Some("abcdef01"));
    // what an unprivileged reader sees: every address zero
    std::fs::write(
        r.path().join("proc/iomem"),
        "00000000-00000000 : System RAM\n",
    )
    .unwrap();
    let e = Dump::open(&dev).err().expect("no RAM named");
    assert!(e.to_string().contains("System RAM"), "{e}");
}
