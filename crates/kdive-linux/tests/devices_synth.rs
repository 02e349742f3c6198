//! `dev`, `irq` and `net` helpers over small hand-built programs with hostile values: pointers
//! near the top of the address space, long chains shared by many entries. Run under the
//! `checked` profile too (overflow checks): nothing may panic, and the work must stay linear.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kdive_debuginfo::table::TypeTable;
use kdive_debuginfo::{Member, TypeKind};
use kdive_program::Program;
use kdive_testdata::mem::SparseMemory;
use kdive_testdata::symbols::SymbolList;

/// The members these helpers read, at made-up offsets.
fn types() -> TypeTable {
    let mut t = TypeTable::new(0);
    let char_ = t.int("char", 1, false);
    let uint = t.int("unsigned int", 4, false);
    let ulong = t.int("unsigned long", 8, false);
    let vp = t.pointer(ulong);
    let name64 = t.array(char_, 64);
    let name16 = t.array(char_, 16);
    let cstr = t.pointer(char_);
    let lh = t.reserve();
    let lhp = t.pointer(lh);
    let list_head = TypeKind::Struct {
        size: 16,
        members: vec![Member::at("next", lhp, 0), Member::at("prev", lhp, 8)],
    };
    t.define(lh, "list_head", list_head).unwrap();
    let at = Member::at;
    t.struct_(
        "char_device_struct",
        88,
        vec![
            at("next", vp, 0),
            at("major", uint, 8),
            at("baseminor", uint, 12),
            at("name", name64, 16),
            at("cdev", vp, 80),
        ],
    );
    t.struct_("cdev", 8, vec![at("ops", vp, 0)]);
    t.struct_("kobj_map", 8, vec![at("probes", vp, 0)]);
    t.struct_(
        "probe",
        24,
        vec![at("next", vp, 0), at("dev", uint, 8), at("data", vp, 16)],
    );
    t.struct_("irq_desc", 16, vec![at("action", vp, 8)]);
    t.struct_(
        "irqaction",
        16,
        vec![at("next", vp, 0), at("name", cstr, 8)],
    );
    let net = t.struct_("net", 32, vec![at("dev_base_head", lh, 16)]);
    let netp = t.pointer(net);
    let nsproxy = t.struct_("nsproxy", 8, vec![at("net_ns", netp, 0)]);
    let nsp = t.pointer(nsproxy);
    t.struct_("task_struct", 8, vec![at("nsproxy", nsp, 0)]);
    t.struct_(
        "net_device",
        48,
        vec![at("name", name16, 0), at("dev_list", lh, 16)],
    );
    t
}

type Mem = SparseMemory;

fn program(mem: Mem, syms: &[(&str, u64, u64)]) -> Program {
    Program::new(
        Arc::new(mem),
        kdive_testdata::types_of(types()),
        SymbolList::data(syms).into_symbols(),
    )
}

const CHRDEVS: u64 = 0xffff_ffff_8100_0000;
const CDEV_MAP: u64 = 0xffff_ffff_8100_1000;
const REGIONS: u64 = 0xffff_8880_0100_0000;
const PROBES: u64 = 0xffff_8880_0200_0000;

/// `n` character device regions of major 255 (minors 0..n) in bucket 0 of `chrdevs`; bucket 0
/// of `cdev_map` holds `n` probes of which only the last is a region's (the last one's).
/// Reading the probe chain once per region made this quadratic.
#[test]
fn char_devices_read_a_shared_probe_chain_once() {
    let n = 4000u64;
    let mut mem = Mem::default();
    let mut buckets = vec![0u64; 255];
    buckets[0] = REGIONS;
    mem.words(CHRDEVS, &buckets);
    for i in 0..n {
        let next = if i + 1 < n {
            REGIONS + (i + 1) * 0x100
        } else {
            0
        };
        let mut w = vec![next, 255 | (i << 32)];
        w.extend([u64::from_le_bytes(*b"region\0\0")]);
        w.resize(11, 0);
        mem.words(REGIONS + i * 0x100, &w);
    }
    let map = 0xffff_8880_0300_0000u64;
    mem.words(CDEV_MAP, &[map]);
    let mut probes = vec![0u64; 255];
    probes[0] = PROBES;
    mem.words(map, &probes);
    let cdev = 0xffff_8880_0400_0000u64;
    mem.words(cdev, &[0xffff_ffff_8200_0000]);
    for i in 0..n {
        let next = if i + 1 < n {
            PROBES + (i + 1) * 0x100
        } else {
            0
        };
        // the last probe is the last region's (major 255, minor n - 1)
        let dev = if i + 1 == n { (255 << 20) | (n - 1) } else { 1 };
        mem.words(PROBES + i * 0x100, &[next, dev, cdev]);
    }
    let p = program(
        mem,
        &[("chrdevs", CHRDEVS, 255 * 8), ("cdev_map", CDEV_MAP, 8)],
    );
    let start = Instant::now();
    let (devs, problems) = kdive_linux::dev::char_devices(&p, 1 << 20).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(devs.len(), n as usize);
    assert!(devs[..n as usize - 1]
        .iter()
        .all(|d| d.cdev == 0 && d.fops == 0 && d.lookup_error.is_none()));
    let last = devs.last().unwrap();
    assert_eq!((last.major, last.baseminor), (255, n as u32 - 1));
    assert_eq!((last.cdev, last.fops), (cdev, 0xffff_ffff_8200_0000));
}

/// A `cdev_map` pointer at the top of the address space: an error for each region, no panic.
#[test]
fn char_devices_survive_a_wild_cdev_map() {
    let mut mem = Mem::default();
    let mut buckets = vec![0u64; 255];
    buckets[3] = REGIONS;
    mem.words(CHRDEVS, &buckets);
    mem.words(
        REGIONS,
        &[
            0,
            3,
            u64::from_le_bytes(*b"wild\0\0\0\0"),
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
    );
    mem.words(CDEV_MAP, &[u64::MAX - 3]);
    let p = program(
        mem,
        &[("chrdevs", CHRDEVS, 255 * 8), ("cdev_map", CDEV_MAP, 8)],
    );
    let (devs, problems) = kdive_linux::dev::char_devices(&p, 1 << 20).unwrap();
    assert_eq!(devs.len(), 1);
    assert_eq!(devs[0].name, "wild");
    assert!(devs[0].lookup_error.is_some());
    assert_eq!(problems.len(), 1, "{problems:?}");
}

const NR_IRQS: u64 = 0xffff_ffff_8300_0000;
const IRQ_DESC: u64 = 0xffff_ffff_8300_1000;
const ACTIONS: u64 = 0xffff_8880_0500_0000;

/// Every descriptor of `irq_desc[]` points into the same long action chain: the chains read
/// in all stay bounded (2^16 irqactions, or the walk limit if higher), where each IRQ's own
/// limit made it `nr_irqs` times the limit.
#[test]
fn irq_actions_are_bounded_in_all() {
    let (nr, chain_len, limit) = (512u64, 2000u64, 4096usize);
    let all = 1 << 16;
    let mut mem = Mem::default();
    mem.words(NR_IRQS, &[nr]);
    let descs: Vec<u64> = (0..nr).flat_map(|_| [0, ACTIONS]).collect();
    mem.words(IRQ_DESC, &descs);
    for i in 0..chain_len {
        let next = if i + 1 < chain_len {
            ACTIONS + (i + 1) * 0x10
        } else {
            0
        };
        mem.words(ACTIONS + i * 0x10, &[next, 0]);
    }
    let p = program(
        mem,
        &[("nr_irqs", NR_IRQS, 4), ("irq_desc", IRQ_DESC, nr * 16)],
    );
    let start = Instant::now();
    let (irqs, problems) = kdive_linux::irq::irqs(&p, limit).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(irqs.len(), nr as usize);
    let read: usize = irqs.iter().map(|i| i.actions.len()).sum();
    assert!(read <= all, "{read} actions read");
    assert!(irqs.iter().all(|i| i.actions.len() <= limit));
    // the first two IRQs are read whole (their names cannot be read: problems say so)...
    assert_eq!(irqs[0].actions.len(), chain_len as usize);
    assert!(irqs[0].error.is_none());
    // ... and the IRQs past the limit say they were not
    let last = irqs.last().unwrap();
    assert!(last.actions.is_empty());
    assert!(
        last.error.as_deref().unwrap().contains("in all"),
        "{:?}",
        last.error
    );
    assert!(problems.iter().any(|p| p.contains("in all")));
}

/// A descriptor array whose symbol sits at the top of the address space, and `init_task`'s
/// network namespace pointer likewise: errors, no overflow.
#[test]
fn wild_addresses_do_not_overflow() {
    let mut mem = Mem::default();
    mem.words(NR_IRQS, &[4]);
    let top = u64::MAX - 0x1f;
    let p = program(mem, &[("nr_irqs", NR_IRQS, 4), ("irq_desc", top, 64)]);
    let (irqs, problems) = kdive_linux::irq::irqs(&p, 16).unwrap();
    assert_eq!(irqs.len(), 4);
    assert!(irqs.iter().all(|i| i.error.is_some()));
    assert_eq!(problems.len(), 4, "{problems:?}");

    let mut mem = Mem::default();
    let task = 0xffff_ffff_8400_0000u64;
    let nsproxy = 0xffff_8880_0600_0000u64;
    mem.words(task, &[nsproxy]);
    mem.words(nsproxy, &[u64::MAX - 7]);
    let p = program(mem, &[("init_task", task, 8)]);
    if let Ok((devs, problems)) = kdive_linux::net::net_devices(&p, 16) {
        assert!(devs.is_empty() && !problems.is_empty());
    }
}
