//! What `bt` is built on, on the real dumps: modules (names, memory, symbols, ORC tables)
//! against drgn's and crash's lists, the kernel's `crash_notes` against the dump's
//! `NT_PRSTATUS` notes, the stacks of each CPU, and the ORC tables' layout.

use std::sync::Arc;

use kdive_dump::Dump;
use kdive_linux::module::{modules, RegionKind};
use kdive_linux::stack::{crash_note, BacktraceContext};
use kdive_program::unwind::orc::OrcGeneration;
use kdive_program::unwind::{ExceptionStack, StackKind};
use kdive_program::Program;
use kdive_testdata::{corpus_or_skip, fixtures};

fn hex(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn program(path: &std::path::Path) -> Program {
    let dump = Arc::new(Dump::open(path).unwrap());
    kdive_linux::open::kernel(dump).unwrap()
}

/// Module names and core regions agree with drgn's; text bases with crash's `mod`; every
/// module has symbols and an ORC table.
#[test]
fn modules_agree_with_drgn_and_crash() {
    if corpus_or_skip("modules_agree_with_drgn_and_crash").is_none() {
        return;
    }
    for fx in fixtures() {
        let p = program(&fx.reference_dump());
        let (mods, problems) = modules(&p, 1000).unwrap();
        assert!(problems.is_empty(), "{}: {problems:?}", fx.name);
        let drgn = fx.drgn();
        let want = drgn["modules"].as_array().unwrap();
        assert_eq!(mods.len(), want.len(), "{}", fx.name);
        for w in want {
            let name = w["name"].as_str().unwrap();
            let m = mods
                .iter()
                .find(|m| m.name == name)
                .unwrap_or_else(|| panic!("{name}"));
            let text = m
                .regions
                .iter()
                .find(|r| r.kind == RegionKind::Text)
                .unwrap();
            assert_eq!(text.base, hex(&w["base"]), "{name}");
            assert_eq!(m.core_size(), w["size"].as_u64().unwrap(), "{name}");
            // each module's symbols are in the program, named with the module
            let (sym, _) = p.symbols().by_addr(text.base + 1).unwrap();
            assert_eq!(sym.module.as_deref(), Some(name), "{name}");
            // and its ORC table covers its code
            let attached = p.module_at(text.base).unwrap();
            assert_eq!(&*attached.span().name, name);
            let orc = attached
                .orc()
                .unwrap_or_else(|| panic!("{name}: no ORC table"));
            assert!(orc.name() == name && orc.covers(text.base), "{name}");
        }
        if let Some(crash) = fx.crash_ref("mod") {
            for line in crash.lines().skip(2) {
                let cols: Vec<&str> = line.split_whitespace().collect();
                let m = mods.iter().find(|m| m.name == cols[1]).unwrap();
                assert_eq!(format!("{:x}", m.addr), cols[0]);
                assert_eq!(format!("{:x}", m.text_ranges()[0].0), cols[2]);
                assert_eq!(m.core_size().to_string(), cols[3], "{}", m.name);
            }
        }
    }
}

/// The module still initialising when the oops hit (`null_pointer`, state COMING) has its init
/// code and the init function's symbol (its live symbol table is the full one).
#[test]
fn initialising_module_has_init_symbols() {
    let Some(fx) = corpus_or_skip("initialising_module_has_init_symbols")
        .and_then(|_| kdive_testdata::fixture("b-null-module-6.1"))
    else {
        return;
    };
    let p = program(&fx.reference_dump());
    let (mods, _) = modules(&p, 1000).unwrap();
    let m = mods.iter().find(|m| m.name == "null_pointer").unwrap();
    assert_eq!(m.state, "MODULE_STATE_COMING");
    assert!(m.regions.iter().any(|r| r.kind == RegionKind::InitText));
    let (s, off) = p.symbols().by_addr(0xffffffffc0485030).unwrap();
    assert_eq!(
        (&*s.name, off, s.module.as_deref()),
        ("null_pointer_init", 0x30, Some("null_pointer"))
    );
}

/// The registers the kernel kept in `crash_notes` are the ones kdump wrote to the dump.
#[test]
fn crash_notes_match_prstatus() {
    if corpus_or_skip("crash_notes_match_prstatus").is_none() {
        return;
    }
    for name in ["a-sysrq-6.1", "b-null-module-6.1", "c-hung-task-6.12"] {
        let fx = kdive_testdata::fixture(name).unwrap();
        let p = program(&fx.reference_dump());
        let notes = p.dump().unwrap().meta().prstatus.clone();
        assert_eq!(notes.len(), 2, "{name}");
        for (cpu, want) in notes.iter().enumerate() {
            let got = crash_note(&p, cpu as u32).unwrap().expect("a saved note");
            assert_eq!(
                (got.pid, &got.regs),
                (want.pid, &want.regs),
                "{name} CPU {cpu}"
            );
        }
    }
    // no kdump, no crash notes: QEMU's dump of a healthy machine
    let fx = kdive_testdata::fixture("f-healthy-6.12-qemu").unwrap();
    let p = program(&fx.reference_dump());
    assert!(crash_note(&p, 0).unwrap().is_none());
}

/// Each CPU has an IRQ stack and exception stacks; the ORC layout is the kernel's own
/// (legacy on 6.1, current on 6.12); the NMI frames of a stopped CPU lie on its NMI stack.
#[test]
fn cpu_stacks_and_orc_layout() {
    if corpus_or_skip("cpu_stacks_and_orc_layout").is_none() {
        return;
    }
    for (name, generation) in [
        ("a-sysrq-6.1", OrcGeneration::Legacy),
        ("c-hung-task-6.12", OrcGeneration::Current),
    ] {
        let fx = kdive_testdata::fixture(name).unwrap();
        let p = program(&fx.reference_dump());
        let t = p.unwind_tables().kernel_table(&p).unwrap();
        assert_eq!(t.layout().generation(), generation, "{name}");
        assert!(t.len() > 100_000);
        let mut tl = kdive_linux::task::all_tasks(&p, 1 << 20).unwrap();
        let _ = kdive_linux::task::read_tasks(&p, &mut tl).unwrap();
        let ctx = BacktraceContext::new(&p, &tl.active);
        assert!(ctx.problems.is_empty(), "{name}: {:?}", ctx.problems);
        assert_eq!(ctx.thread_size(), 16384);
        for cpu in 0..2 {
            let kinds: Vec<StackKind> = ctx.cpu_stacks[&cpu].iter().map(|r| r.kind).collect();
            assert!(kinds.contains(&StackKind::Irq), "{name} {cpu}: {kinds:?}");
            assert!(kinds.contains(&StackKind::Exception(ExceptionStack::Nmi)));
            assert!(kinds.contains(&StackKind::Entry));
        }
        // the CPU stopped by NMI: its first frames are on the NMI stack
        let stopped = (0..2).find(|c| Some(*c) != ctx.panic_cpu).unwrap();
        let bt = ctx.backtrace(&p, ctx.active[&stopped]);
        assert_eq!(
            bt.trace.frames[0].stack,
            Some(StackKind::Exception(ExceptionStack::Nmi))
        );
        assert!(bt.trace.complete(), "{name}: {:?}", bt.trace.end);
    }
}
