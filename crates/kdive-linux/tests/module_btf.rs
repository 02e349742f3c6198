//! Module BTF (split on top of the kernel's) makes module-only types visible, read when a
//! type name is not among the kernel's own.

use std::sync::Arc;

use kdive_dump::Dump;
use kdive_program::ProgramBuilder;
use kdive_testdata::{corpus_or_skip, fixtures};

#[test]
fn module_types_come_from_module_btf() {
    if corpus_or_skip("module_types_come_from_module_btf").is_none() {
        return;
    }
    for fx in fixtures() {
        let modules: Vec<String> = fx.drgn()["modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect();
        if !modules.iter().any(|m| m == "virtio_blk") {
            continue;
        }
        let dump = Arc::new(Dump::open(fx.reference_dump()).unwrap());
        // struct virtio_blk is defined in the virtio_blk module, not in vmlinux
        let alone = ProgramBuilder::from_dump(dump.clone()).unwrap().build();
        assert!(
            alone.type_("struct virtio_blk").is_err(),
            "{}: vmlinux BTF alone",
            fx.name
        );
        let prog = kdive_linux::open::kernel(dump).unwrap();
        let vblk = prog
            .type_("struct virtio_blk")
            .unwrap_or_else(|e| panic!("{}: {e}", fx.name));
        assert!(prog.types().has_member(vblk, "vdev"), "{}", fx.name);
        // its members resolve into vmlinux types through the base provider
        let vdev = prog
            .object("struct virtio_blk", 0)
            .unwrap()
            .member("vdev")
            .unwrap();
        assert_eq!(vdev.type_name(), "struct virtio_device *", "{}", fx.name);
    }
}
