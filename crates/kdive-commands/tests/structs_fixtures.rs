//! `struct`, `task` and `whatis` against crash and drgn: the corpus's `struct task_struct.pid,comm`
//! reference on every fixture, crash's whole-structure, definition, `struct -p` and `whatis -m`
//! outputs kept in `tests/data/crash-9.0.2/`, its `whatis -r` lists, and member values against
//! drgn's for every task.

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures};

mod common;
use common::split_reference;

#[test]
fn struct_members_match_crash_on_every_fixture() {
    if corpus_or_skip("struct_members_match_crash_on_every_fixture").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let dir = fx.dir.join("reference/crash");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let s = Session::open(&fx.reference_dump()).unwrap();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.contains("-struct-") {
                continue;
            }
            let (cmd, want) = split_reference(&std::fs::read_to_string(e.path()).unwrap());
            let got = run(&s, &cmd).unwrap().text();
            assert_eq!(got.lines().collect::<Vec<_>>(), want, "{}: {cmd}", fx.name);
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} struct references compared");
}

#[test]
fn whole_structures_and_definitions_match_crash() {
    if corpus_or_skip("whole_structures_and_definitions_match_crash").is_none() {
        return;
    }
    let checked = common::saved_crash_outputs_match("crash-9.0.2");
    // c-hung-task-6.12's 18, and 7 `struct -p` on each of the six fixtures
    assert!(checked >= 60, "only {checked} crash outputs compared");
}

#[test]
fn task_members_equal_drgn_for_every_task() {
    if corpus_or_skip("task_members_equal_drgn_for_every_task").is_none() {
        return;
    }
    let mut tasks = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let drgn = fx.drgn();
        for t in drgn["tasks"].as_array().unwrap() {
            let addr = t["task"].as_str().unwrap();
            let got = run(
                &s,
                &format!("struct task_struct.pid,tgid,flags,comm {addr}"),
            )
            .unwrap();
            let j = got.json();
            let members = j["structs"][0]["members"].as_array().unwrap();
            let value = |name: &str| -> String {
                members
                    .iter()
                    .find(|m| m["name"] == name)
                    .and_then(|m| m["value"].as_str())
                    .unwrap()
                    .to_string()
            };
            assert_eq!(value("pid"), t["pid"].to_string(), "{}: {addr}", fx.name);
            assert_eq!(value("tgid"), t["tgid"].to_string(), "{}: {addr}", fx.name);
            let flags =
                u64::from_str_radix(t["flags"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap();
            assert_eq!(value("flags"), flags.to_string(), "{}: {addr}", fx.name);
            // gdb's string: the name, then escaped NULs up to the array's last byte
            let comm = value("comm");
            let name = t["comm"].as_str().unwrap();
            assert!(
                comm.starts_with(&format!("\"{name}")) && comm.ends_with('"'),
                "{}: {addr}: {comm} vs {name}",
                fx.name
            );
            tasks += 1;
        }
        // `task -R` of the same task gives the same text as `struct`
        let first = &drgn["tasks"][1];
        let pid = first["pid"].as_i64().unwrap();
        let by_task = run(&s, &format!("task -R pid,comm {pid}")).unwrap().text();
        let by_struct = run(
            &s,
            &format!(
                "struct task_struct.pid,comm {}",
                first["task"].as_str().unwrap()
            ),
        )
        .unwrap()
        .text();
        assert!(
            by_task.contains(&by_struct),
            "{}:\n{by_task}\n{by_struct}",
            fx.name
        );
    }
    assert!(tasks >= 300, "only {tasks} tasks compared");
}

#[test]
fn struct_usage_and_missing_memory() {
    if corpus_or_skip("struct_usage_and_missing_memory").is_none() {
        return;
    }
    let fx = fixtures().into_iter().next().unwrap();
    let s = Session::open(&fx.reference_dump()).unwrap();
    for bad in [
        "struct no_such_struct_anywhere",
        "struct task_struct nothex!",
        "struct task_struct ffffffffa0000000 0",
        "task -R",
        "whatis no_such_type_anywhere",
        // crash: "-p option requires address argument"
        "struct -p list_head",
    ] {
        assert!(run(&s, bad).is_err(), "{bad}");
    }
    // an address with no memory behind it is the command's error, naming the address
    let e = run(&s, "struct list_head 0x10").err().unwrap().to_string();
    assert!(e.contains("0x10"), "{e}");
    // a struct's name is a command of its own, and `*name` means the same
    let a = run(&s, "list_head").unwrap().text();
    assert_eq!(a, run(&s, "*list_head").unwrap().text());
    assert!(
        a.starts_with("struct list_head {") && a.ends_with("SIZE: 16\n"),
        "{a}"
    );
}

#[test]
fn list_of_the_task_list_equals_drgn_thread_group_leaders() {
    if corpus_or_skip("list_of_the_task_list_equals_drgn_thread_group_leaders").is_none() {
        return;
    }
    let mut compared = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let got = run(&s, "list task_struct.tasks -h init_task")
            .unwrap()
            .json();
        let init = s.kernel().unwrap().symbol_address("init_task").unwrap();
        let ours: std::collections::BTreeSet<u64> = got["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                u64::from_str_radix(e["address"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap()
            })
            .filter(|&a| a != init)
            .collect();
        let want: std::collections::BTreeSet<u64> = fx.drgn()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["pid"].as_i64() > Some(0) && t["pid"] == t["tgid"])
            .map(|t| {
                u64::from_str_radix(t["task"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap()
            })
            .collect();
        assert_eq!(ours, want, "{}", fx.name);
        assert!(
            got["problems"].as_array().unwrap().is_empty(),
            "{}",
            fx.name
        );
        compared += ours.len();
    }
    assert!(
        compared >= 200,
        "only {compared} task list entries compared"
    );
}

/// `SIZE  TYPE` rows of a `whatis -r`/`-m` table.
fn type_rows<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<(u64, String)> {
    lines
        .into_iter()
        .skip(1)
        .filter_map(|l| {
            let (size, name) = l.trim_start().split_once("  ")?;
            Some((size.parse().ok()?, name.to_string()))
        })
        .collect()
}

/// The size `whatis NAME` gives (none for an enum, which crash prints without one).
fn whatis_size(s: &Session, name: &str) -> (String, Option<u64>) {
    let text = run(s, &format!("whatis {name}")).unwrap().text();
    let size = text
        .lines()
        .find_map(|l| l.strip_prefix("SIZE: "))
        .and_then(|n| n.trim().parse().ok());
    (text, size)
}

/// `whatis -r` against crash's (kept in `tests/data/crash-9.0.2-type-sizes/`): every type crash
/// lists is listed with its size, unless kdive's type of that name has another size (types of
/// one name in different files: crash's gdb keeps the first it reads); each type kdive lists
/// beyond crash's is a typedef or an enum of that size (crash's gdb lists a typedef only once it
/// has worked out its size, and no type declared inside a function).
#[test]
fn whatis_r_lists_the_types_crash_lists_of_that_size() {
    if corpus_or_skip("whatis_r_lists_the_types_crash_lists_of_that_size").is_none() {
        return;
    }
    let data =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/crash-9.0.2-type-sizes");
    let mut checked = 0;
    for fx in fixtures() {
        let Ok(entries) = std::fs::read_dir(data.join(&fx.name)) else {
            continue;
        };
        let s = Session::open(&fx.reference_dump()).unwrap();
        for e in entries.flatten() {
            let (cmd, want) = split_reference(&std::fs::read_to_string(e.path()).unwrap());
            let want = type_rows(want.iter().map(String::as_str));
            let text = run(&s, &cmd).unwrap().text();
            let got = type_rows(text.lines());
            assert!(
                !want.is_empty() && got.len() >= want.len(),
                "{}: {cmd}",
                fx.name
            );
            for row in &want {
                if !got.contains(row) {
                    let (def, size) = whatis_size(&s, &row.1);
                    assert!(
                        size.is_some_and(|n| n != row.0),
                        "{}: {cmd}: {row:?}\n{def}",
                        fx.name
                    );
                }
            }
            for row in got.iter().filter(|r| !want.contains(r)) {
                let (def, size) = whatis_size(&s, &row.1);
                let typedef = def.starts_with("typedef ") && size == Some(row.0);
                assert!(
                    typedef || def.starts_with("enum "),
                    "{}: {cmd}: {row:?}\n{def}",
                    fx.name
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} crash outputs compared");
}
