//! The running system's listings as module sources (`/proc/kallsyms`, `/sys/kernel/btf/<mod>`),
//! read under a fake root over a real dump: a module's symbols and types come from the files
//! when they are the kernel's (its `_stext` where memory has it), from memory otherwise; and the
//! root is found beside a running kernel's memory file.

use std::path::Path;
use std::sync::Arc;

use kdive_dump::Dump;
use kdive_linux::live_files::LiveFiles;
use kdive_linux::module::KernelModules;
use kdive_program::{Program, ProgramBuilder};
use kdive_testdata::btf::{BtfBuilder, INT_SIGNED};
use kdive_testdata::temp::Scratch;
use kdive_testdata::{corpus_or_skip, fixtures};

/// A fixture dump with the virtio_blk module loaded (its own type: `struct virtio_blk`).
fn virtio_blk_dump() -> Option<Arc<Dump>> {
    let fx = fixtures().into_iter().find(|fx| {
        fx.drgn()["modules"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["name"] == "virtio_blk"))
    })?;
    Some(Arc::new(Dump::open(fx.reference_dump()).unwrap()))
}

/// A program over `dump` whose module loader reads the system files under `root`.
fn program(dump: &Arc<Dump>, root: &Path) -> Program {
    ProgramBuilder::from_dump(dump.clone())
        .unwrap()
        .module_loader(Arc::new(KernelModules::with_live_files(LiveFiles::at(
            root,
        ))))
        .build()
}

/// Writes `ROOT/proc/kallsyms` (the kernel's `_stext` at `stext`, and `lines`) and
/// `ROOT/sys/kernel/btf/virtio_blk` (split BTF with `struct live_only_type`).
fn fake_root(dump: &Arc<Dump>, stext: impl Fn(u64) -> u64, lines: &str) -> Scratch {
    let root = Scratch::new("live-files");
    let alone = ProgramBuilder::from_dump(dump.clone()).unwrap().build();
    let at = stext(alone.symbol_address("_stext").unwrap());
    std::fs::create_dir_all(root.path().join("proc")).unwrap();
    std::fs::write(
        root.path().join("proc/kallsyms"),
        format!("{at:016x} T _stext\n{lines}"),
    )
    .unwrap();
    let (base, _) = alone.vmlinux_btf().unwrap();
    let mut b = BtfBuilder::new_split(base);
    let int = b.int("int", 4, INT_SIGNED);
    b.struct_("live_only_type", 4, &[("live_member", int, 0, 0)]);
    std::fs::create_dir_all(root.path().join("sys/kernel/btf")).unwrap();
    std::fs::write(root.path().join("sys/kernel/btf/virtio_blk"), b.build()).unwrap();
    root
}

/// Where the virtio_blk module's code starts, from its memory.
fn virtio_blk_base(dump: &Arc<Dump>) -> u64 {
    let prog = kdive_linux::open::kernel(dump.clone()).unwrap();
    let (mods, _) = kdive_linux::module::modules(&prog, 1000).unwrap();
    let m = mods.iter().find(|m| m.name == "virtio_blk").unwrap();
    m.regions[0].base
}

#[test]
fn module_symbols_and_types_come_from_the_running_systems_files() {
    if corpus_or_skip("module_symbols_and_types_come_from_the_running_systems_files").is_none() {
        return;
    }
    let Some(dump) = virtio_blk_dump() else {
        return;
    };
    let base = virtio_blk_base(&dump);
    let lines = format!(
        "{:016x} t live_only_function\t[virtio_blk]\n{:016x} d live_only_data\t[virtio_blk]\n",
        base + 0x10,
        base + 0x20
    );
    let root = fake_root(&dump, |a| a, &lines);
    let prog = program(&dump, root.path());
    let f = prog
        .symbols()
        .by_name("live_only_function")
        .expect("listed symbol");
    assert_eq!((f.addr, f.kind), (base + 0x10, 't'));
    assert_eq!(f.module.as_deref(), Some("virtio_blk"));
    // an address inside the module names the listed symbol below it
    let (s, off) = prog.symbols().by_addr(base + 0x18).unwrap();
    assert_eq!((s.name.as_ref(), off), ("live_only_function", 8));
    // the module's symbols are the listing's: memory's table was not read
    assert!(prog.symbols().by_name("virtblk_probe").is_none());
    // its types are the BTF file's, split over the kernel's
    let t = prog
        .type_("struct live_only_type")
        .expect("type from the BTF file");
    assert!(prog.types().has_member(t, "live_member"));
    assert!(prog.type_("struct virtio_blk").is_err());
}

#[test]
fn files_of_another_boot_or_with_hidden_addresses_are_not_believed() {
    if corpus_or_skip("files_of_another_boot_or_with_hidden_addresses_are_not_believed").is_none() {
        return;
    }
    let Some(dump) = virtio_blk_dump() else {
        return;
    };
    let base = virtio_blk_base(&dump);
    let line = format!("{:016x} t live_only_function\t[virtio_blk]\n", base + 0x10);
    // another KASLR offset: the kernel's _stext elsewhere; and a listing whose addresses
    // kptr_restrict hid (zeros)
    for (why, stext) in [
        (
            "another boot",
            &(|a: u64| a + 0x20_0000) as &dyn Fn(u64) -> u64,
        ),
        ("hidden addresses", &|_| 0),
    ] {
        let root = fake_root(&dump, stext, &line);
        let prog = program(&dump, root.path());
        assert!(
            prog.symbols().by_name("live_only_function").is_none(),
            "{why}"
        );
        // memory's symbols and BTF instead
        let probe = prog.symbols().by_name("virtblk_probe").expect(why);
        assert_eq!(probe.module.as_deref(), Some("virtio_blk"), "{why}");
        assert!(prog.type_("struct virtio_blk").is_ok(), "{why}");
        assert!(prog.type_("struct live_only_type").is_err(), "{why}");
    }
}

#[test]
fn the_running_kernels_files_are_read_under_its_memory_files_root() {
    let k = kdive_testdata::kernel::kernel();
    let dir = Scratch::new("live-root");
    std::fs::create_dir_all(dir.path().join("proc")).unwrap();
    let kcore = dir.path().join("proc/kcore");
    std::fs::write(
        &kcore,
        kdive_testdata::kernel::kcore(&k.phys, &k.vmcoreinfo, &[0u8; 64]),
    )
    .unwrap();
    let prog = kdive_linux::open::kernel(Arc::new(Dump::open(&kcore).unwrap())).unwrap();
    let live = LiveFiles::of(&prog).expect("a running kernel's memory");
    assert_eq!(live.root(), dir.path());
    // a dump is no running kernel: no system files go with it
    let vmcore = dir.write(
        "vmcore",
        &kdive_testdata::kernel::vmcore(&k.phys, &k.vmcoreinfo),
    );
    let prog = kdive_linux::open::kernel(Arc::new(Dump::open(&vmcore).unwrap())).unwrap();
    assert!(LiveFiles::of(&prog).is_none());
}
