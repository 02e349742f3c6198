//! Globals typed from the fixture kernels' vmlinux DWARF (and a module's `.ko`), printed and
//! declared as crash 9.0.2 does in `reference/crash-more/` (`p`, `whatis`), and the error for a
//! global no source types. Needs the vmlinux files; skipped without them unless
//! `KDIVE_REQUIRE_VMLINUX=1`.

use kdive_linux::open::{open, OpenOptions};
use kdive_program::print::decl::declaration;
use kdive_program::print::value::{format_value, PrintOptions};
use kdive_program::{ErrorKind, Program, ProgramError};
use kdive_testdata::{fixtures_with_vmlinux, Fixture};

/// crash's output of a `reference/crash-more/NNN-<name>.txt`, without the command line.
fn crash_more(fx: &Fixture, name: &str) -> Option<String> {
    let dir = fx.dir.join("reference/crash-more");
    let entry = std::fs::read_dir(&dir).ok()?.flatten().find(|e| {
        e.file_name()
            .to_string_lossy()
            .ends_with(&format!("-{name}.txt"))
    })?;
    let text = std::fs::read_to_string(entry.path()).ok()?;
    let (_, out) = text.split_once('\n')?;
    Some(out.trim_end().to_string())
}

/// The value crash printed after `$N = `.
fn printed_value(out: &str) -> &str {
    let at = out.find("$").expect("a $N = value");
    let rest = &out[at..];
    &rest[rest.find(" = ").expect("$N = ") + 3..]
}

fn kernel(fx: &Fixture, files: &[std::path::PathBuf]) -> Program {
    let mut paths = vec![fx.reference_dump()];
    paths.extend(files.iter().cloned());
    open(&paths, &OpenOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", fx.name))
        .kernel
        .unwrap_or_else(|e| panic!("{}: {e}", fx.name))
}

fn print(prog: &Program, expr: &str) -> String {
    let mut parts = expr.split('.');
    let mut obj = prog.global(parts.next().unwrap()).unwrap();
    for m in parts {
        obj = obj.member(m).unwrap();
    }
    format_value(&obj, PrintOptions::default(), 0).unwrap()
}

#[test]
fn globals_print_and_declare_as_crash_does() {
    for (fx, vmlinux) in fixtures_with_vmlinux("globals_print_and_declare_as_crash_does") {
        let prog = kernel(&fx, &[vmlinux]);
        let d = prog.debug().and_then(|d| d.types()).expect("DWARF types");
        assert_eq!(
            d.units_indexed().0,
            0,
            "{}: nothing indexed at open",
            fx.name
        );
        let mut compared = 0;
        for (file, expr) in [
            ("p-jiffies", "jiffies"),
            ("p-init_task-comm", "init_task.comm"),
            ("p-init_uts_ns-name", "init_uts_ns.name"),
            ("p-nr_threads", "nr_threads"),
            ("p-init_task-tasks", "init_task.tasks"),
        ] {
            let Some(want) = crash_more(&fx, file) else {
                continue;
            };
            assert_eq!(
                print(&prog, expr),
                printed_value(&want),
                "{}: p {expr}",
                fx.name
            );
            compared += 1;
        }
        for (name, object) in [
            ("init_task", prog.global("init_task")),
            ("schedule", prog.function("schedule")),
        ] {
            if let Some(want) = crash_more(&fx, &format!("whatis-{name}")) {
                let ty = object.unwrap().type_id();
                assert_eq!(format!("{};", declaration(prog.types(), ty, name)), want);
                compared += 1;
            }
        }
        if let Some(want) = crash_more(&fx, "p-addr-init_task") {
            let addr = prog.global("init_task").unwrap().address().unwrap();
            assert!(
                want.contains(&format!("{addr:#x} <init_task>")),
                "{}: {want}",
                fx.name
            );
            compared += 1;
        }
        if let Some(want) = crash_more(&fx, "p-runqueues") {
            // a per-CPU variable: typed by BTF's DATASEC as crash's `PER-CPU DATA TYPE` says
            let g = prog.global("runqueues").unwrap();
            let decl = format!("{};", declaration(prog.types(), g.type_id(), "runqueues"));
            assert!(want.contains(&format!("  {decl}\n")), "{}: {decl}", fx.name);
            compared += 1;
        }
        assert!(compared >= 8, "{}: {compared} references compared", fx.name);
        // the types reached from a DWARF-typed global are BTF's, as Program::type_ gives them
        let tasks = prog.global("init_task").unwrap().member("tasks").unwrap();
        assert_eq!(
            tasks.type_id(),
            prog.type_("struct list_head").unwrap(),
            "{}",
            fx.name
        );
    }
}

#[test]
fn without_debuginfo_untyped_globals_say_how_to_cast() {
    for (fx, _) in fixtures_with_vmlinux("without_debuginfo_untyped_globals_say_how_to_cast") {
        let prog = kernel(&fx, &[]);
        let e = prog.global("init_task").unwrap_err();
        assert!(matches!(e, ProgramError::NoType(_)), "{}: {e}", fx.name);
        assert_eq!(e.kind(), ErrorKind::Lookup);
        assert!(
            // gdb's words for a symbol without debug info
            e.to_string() == "'init_task' has unknown type; cast it to its declared type",
            "{e}"
        );
        let e = prog.global("no_such_global_anywhere").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Lookup, "{e}");
        // per-CPU variables and functions are typed by BTF alone
        assert!(prog.global("runqueues").is_ok(), "{}", fx.name);
        let f = prog.function("schedule").unwrap();
        assert_eq!(
            declaration(prog.types(), f.type_id(), "schedule"),
            "void schedule(void)"
        );
    }
}

/// `hung.ko` says in the log where its mutex is; its DWARF types the module's statics.
#[test]
fn module_globals_typed_from_the_ko() {
    for (fx, vmlinux) in fixtures_with_vmlinux("module_globals_typed_from_the_ko") {
        let ko = fx.dir.join("hung.ko");
        if !ko.is_file() {
            continue;
        }
        let log = std::fs::read_to_string(fx.dir.join("vmcore-dmesg.txt")).unwrap();
        let after = |pat: &str| {
            let l = log.lines().find(|l| l.contains(pat)).unwrap();
            let rest = &l[l.find(pat).unwrap() + pat.len()..];
            rest.split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap()
                .to_string()
        };
        let mutex_addr = u64::from_str_radix(&after("fixture_mutex at "), 16).unwrap();
        for files in [vec![ko.clone()], vec![vmlinux.clone(), ko.clone()]] {
            let prog = kernel(&fx, &files);
            let m = prog.global("fixture_mutex").unwrap();
            assert_eq!(m.address(), Some(mutex_addr), "{}", fx.name);
            assert_eq!(m.type_name(), "struct mutex");
            // `static const struct proc_ops fixture_hung_ops = { .proc_read = fixture_hung_read }`
            let ops = prog.global("fixture_hung_ops").unwrap();
            let read = ops.member("proc_read").unwrap().read_u64().unwrap();
            assert_eq!(read, prog.symbol_address("fixture_hung_read").unwrap());
            // `static int fixture_hung_fn(void *data)`
            let f = prog.function("fixture_hung_fn").unwrap();
            assert_eq!(
                declaration(prog.types(), f.type_id(), "fixture_hung_fn"),
                "int fixture_hung_fn(void *)"
            );
            // `fixture_thread` is written once and never read: the compiler dropped it
            let e = prog.global("fixture_thread").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Lookup, "{e}");
        }
    }
}

/// A kernel built without BTF opens with its vmlinux, whose DWARF types everything: shown by
/// opening the fixtures as if their BTF were missing.
#[test]
fn a_kernel_without_btf_takes_its_types_from_dwarf() {
    for (fx, vmlinux) in fixtures_with_vmlinux("a_kernel_without_btf_takes_its_types_from_dwarf") {
        let dump = std::sync::Arc::new(kdive_dump::Dump::open(fx.reference_dump()).unwrap());
        let prog = kdive_linux::open::kernel_without_btf(dump).unwrap();
        assert!(prog.type_("struct task_struct").is_err(), "{}", fx.name);
        prog.attach_vmlinux(&vmlinux).unwrap();
        assert!(prog.vmlinux_btf().is_none());
        if let Some(want) = crash_more(&fx, "p-sizeof-task_struct") {
            let ts = prog.type_("struct task_struct").unwrap();
            assert_eq!(
                format!("{}", prog.types().size_of(ts).unwrap()),
                printed_value(&want)
            );
        }
        if let Some(want) = crash_more(&fx, "p-init_task-comm") {
            assert_eq!(
                print(&prog, "init_task.comm"),
                printed_value(&want),
                "{}",
                fx.name
            );
        }
        if let Some(want) = crash_more(&fx, "p-runqueues") {
            // a per-CPU variable: its DWARF address is an offset KASLR does not move
            let g = prog.global("runqueues").unwrap();
            let decl = format!("{};", declaration(prog.types(), g.type_id(), "runqueues"));
            assert!(want.contains(&format!("  {decl}\n")), "{}: {decl}", fx.name);
        }
        // the task list, walked with DWARF's types, is drgn's (which leaves out the idle tasks)
        let mut tl = kdive_linux::task::all_tasks(&prog, 1 << 16).unwrap();
        let tasks = kdive_linux::task::read_tasks(&prog, &mut tl).unwrap();
        let mut ours: Vec<i64> = tasks
            .iter()
            .filter(|t| t.pid != 0)
            .map(|t| i64::from(t.pid))
            .collect();
        let mut theirs: Vec<i64> = fx.drgn()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["pid"].as_i64().unwrap())
            .collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(ours, theirs, "{}", fx.name);
    }
}
