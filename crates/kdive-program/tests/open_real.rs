//! A program built from real dumps alone: the kernel's identity read through kallsyms + BTF + page tables.

use std::sync::Arc;

use kdive_dump::Dump;
use kdive_program::ProgramBuilder;
use kdive_testdata::{corpus_or_skip, fixtures};

#[test]
fn opens_every_dump_and_reads_init_task() {
    if corpus_or_skip("opens_every_dump_and_reads_init_task").is_none() {
        return;
    }
    for fx in fixtures() {
        let drgn = fx.drgn();
        let meta = fx.metadata();
        for path in fx.dumps() {
            let what = format!("{}", path.display());
            let dump = Arc::new(Dump::open(&path).unwrap_or_else(|e| panic!("{what}: {e}")));
            let prog = ProgramBuilder::from_dump(dump)
                .unwrap_or_else(|e| panic!("{what}: {e}"))
                .build();
            // kallsyms agrees with the console's view of the running kernel
            let init_task = prog.symbol_address("init_task").unwrap();
            let want = meta["expected"]["kallsyms_runtime"]["init_task"]
                .as_str()
                .unwrap();
            assert_eq!(format!("{init_task:x}"), want, "{what}: init_task");
            // BTF types over memory: init_task is swapper/0 with pid 0, its utsname is drgn's
            let t = prog.object("struct task_struct", init_task).unwrap();
            assert_eq!(
                t.member("comm").unwrap().read_string(16).unwrap(),
                "swapper/0",
                "{what}"
            );
            assert_eq!(t.member("pid").unwrap().read_i64().unwrap(), 0, "{what}");
            let uts = prog
                .variable("init_uts_ns", "struct uts_namespace")
                .unwrap()
                .member("name")
                .unwrap();
            assert_eq!(
                uts.member("release").unwrap().read_string(65).unwrap(),
                drgn["uts"]["release"].as_str().unwrap(),
                "{what}"
            );
            assert_eq!(
                uts.member("nodename").unwrap().read_string(65).unwrap(),
                drgn["uts"]["nodename"].as_str().unwrap(),
                "{what}"
            );
        }
    }
}
