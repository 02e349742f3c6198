//! The investigation flags of `struct`, `rd`, `search` and `bt` on every fixture, each against
//! an independent answer: crash's output kept in `tests/data/crash-8.0.2/` (formats that do not
//! depend on the task list, which crash 8.0.2 cannot walk on these kernels), the dump file's own
//! bytes, drgn's task list, or the same memory read another way.

use std::os::unix::fs::FileExt;

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures};

mod common;

fn hex(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[test]
fn raw_reverse_file_and_count_outputs_match_crash() {
    if corpus_or_skip("raw_reverse_file_and_count_outputs_match_crash").is_none() {
        return;
    }
    let checked = common::saved_crash_outputs_match("crash-8.0.2");
    assert!(checked >= 6, "only {checked} crash outputs compared");
}

#[test]
fn struct_l_c_and_r_agree_with_the_plain_struct() {
    if corpus_or_skip("struct_l_c_and_r_agree_with_the_plain_struct").is_none() {
        return;
    }
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let drgn = fx.drgn();
        // `[2192] struct list_head tasks;`
        let off: u64 = run(&s, "struct -o task_struct.tasks")
            .unwrap()
            .text()
            .split(['[', ']'])
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        for t in drgn["tasks"].as_array().unwrap().iter().take(8) {
            let task = hex(&t["task"]);
            let want = run(&s, &format!("struct task_struct.pid,comm {task:x}"))
                .unwrap()
                .text();
            // -l: ADDR is the task's `tasks` member, by name or by offset
            for l in [
                "task_struct.tasks".to_string(),
                off.to_string(),
                format!("{off:#x}"),
            ] {
                let got = run(
                    &s,
                    &format!("struct -l {l} task_struct.pid,comm {:x}", task + off),
                )
                .unwrap();
                assert_eq!(got.text(), want, "{}: -l {l}", fx.name);
            }
            assert!(
                want.contains(&format!("pid = {},", t["pid"])),
                "{}",
                fx.name
            );
            // -r of the comm member: its 16 bytes, the name first
            let raw = run(&s, &format!("struct -r task_struct.comm {task:x}"))
                .unwrap()
                .json();
            let bytes: Vec<u8> = raw["blocks"][0]["values"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|v| hex(v).to_le_bytes())
                .collect();
            let name = t["comm"].as_str().unwrap().as_bytes();
            assert_eq!(&bytes[..name.len()], name, "{}", fx.name);
        }
        // -c COUNT: consecutive structures, a blank line between; a negative COUNT ends at ADDR
        let init = hex(&drgn["tasks"][0]["task"]);
        let one = |a: u64| run(&s, &format!("struct list_head {a:x}")).unwrap().text();
        let two = format!("{}\n{}", one(init), one(init + 16));
        assert_eq!(
            run(&s, &format!("struct -c 2 list_head {init:x}"))
                .unwrap()
                .text(),
            two,
            "{}",
            fx.name
        );
        assert_eq!(
            run(&s, &format!("struct list_head {init:x} 2"))
                .unwrap()
                .text(),
            two
        );
        assert_eq!(
            run(&s, &format!("struct -c -2 list_head {:x}", init + 16))
                .unwrap()
                .text(),
            two,
            "{}",
            fx.name
        );
        // -r: the structure's words as rd shows them
        let size = run(&s, "struct task_struct").unwrap().json()["size"]
            .as_u64()
            .unwrap();
        assert_eq!(
            run(&s, &format!("struct -r task_struct {init:x}"))
                .unwrap()
                .text(),
            run(&s, &format!("rd {init:x} {}", size.div_ceil(8)))
                .unwrap()
                .text(),
            "{}",
            fx.name
        );
        for bad in [
            "struct -r task_struct.pid,comm ffffffff81000000",
            "struct -l nosuch.member list_head ffffffff81000000",
            "struct -c 2 list_head ffffffff81000000 2",
            "struct -c x list_head ffffffff81000000",
            "struct -u -f list_head 0",
            "struct -c 2 list_head",
            "struct task_struct.pid, ffffffff81000000",
        ] {
            assert!(run(&s, bad).is_err(), "{}: {bad}", fx.name);
        }
    }
}

#[test]
fn dump_file_offsets_read_the_file() {
    if corpus_or_skip("dump_file_offsets_read_the_file").is_none() {
        return;
    }
    for fx in fixtures() {
        let path = fx.reference_dump();
        let s = Session::open(&path).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        for off in [0u64, 0x1000, 0x2008, len - 16] {
            let mut want = [0u8; 16];
            file.read_exact_at(&mut want, off).unwrap();
            let words = |j: serde_json::Value| -> Vec<u8> {
                j["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|v| hex(v).to_le_bytes())
                    .collect()
            };
            let rd = run(&s, &format!("rd -f {off:x} 2")).unwrap().json();
            assert_eq!(words(rd.clone()), want, "{}: rd -f {off:x}", fx.name);
            assert_eq!(rd["dump_file"], true);
            // struct -f takes the offset in decimal
            let st = run(&s, &format!("struct -f list_head {off}"))
                .unwrap()
                .json();
            let m = &st["structs"][0]["members"];
            let next = u64::from_le_bytes(want[..8].try_into().unwrap());
            let prev = u64::from_le_bytes(want[8..].try_into().unwrap());
            assert_eq!(m[0]["value"], format!("{next:#x}"), "{}", fx.name);
            assert_eq!(m[1]["value"], format!("{prev:#x}"), "{}", fx.name);
            assert_eq!(st["memory"], "dump-file");
        }
        // past the end: what could be read, and why it stopped
        let r = run(&s, &format!("rd -f {:x} 4", len - 16)).unwrap();
        assert_eq!(r.json()["values"].as_array().unwrap().len(), 2);
        assert!(r.json()["stopped_by"]
            .as_str()
            .unwrap()
            .contains("end of the dump file"));
        assert!(run(&s, &format!("rd -f {:x}", len + 8)).is_err());
        assert!(run(&s, "rd -f -p 0").is_err());
    }
}

#[test]
fn rd_reverse_ends_at_the_address() {
    if corpus_or_skip("rd_reverse_ends_at_the_address").is_none() {
        return;
    }
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let init = hex(&fx.drgn()["tasks"][0]["task"]);
        for (flag, size, n) in [("", 8u64, 5u64), ("-32", 4, 7), ("-8", 1, 3), ("", 8, 1)] {
            let got = run(&s, &format!("rd -R {flag} {init:x} {n}")).unwrap();
            let want = run(&s, &format!("rd {flag} {:x} {n}", init - (n - 1) * size)).unwrap();
            assert_eq!(got.text(), want.text(), "{}: rd -R {flag} {n}", fx.name);
            assert_eq!(got.json()["reversed"], true);
        }
    }
}

#[test]
fn search_t_finds_return_addresses_on_the_stacks() {
    if corpus_or_skip("search_t_finds_return_addresses_on_the_stacks").is_none() {
        return;
    }
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let bt = run(&s, "bt").unwrap().json();
        let task = &bt["tasks"][0];
        // a frame's return address, in the slot bt found it in
        let Some(frame) = task["frames"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["slot"].is_string() && f["stack"] == "task")
        else {
            continue;
        };
        let (slot, pc) = (hex(&frame["slot"]), hex(&frame["pc"]));
        for flags in ["-t", "-T"] {
            let got = run(&s, &format!("search {flags} {pc:x}")).unwrap();
            let j = got.json();
            let hit = j["matches"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| hex(&m["address"]) == slot)
                .unwrap_or_else(|| {
                    panic!("{}: search {flags} {pc:x}: no match at {slot:x}", fx.name)
                });
            assert_eq!(hit["task"], task["task"], "{}", fx.name);
            // every match lies on its task's stack, under the task's header
            for m in j["matches"].as_array().unwrap() {
                let st = j["stacks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t["task"] == m["task"])
                    .unwrap();
                let a = hex(&m["address"]);
                assert!(hex(&st["start"]) <= a && a < hex(&st["end"]), "{}", fx.name);
            }
            let header = format!(
                "PID: {:<8} TASK: {:016x}",
                task["pid"].as_i64().unwrap(),
                hex(&task["task"])
            );
            let text = got.text();
            assert!(text.contains(&header), "{}: {text}", fx.name);
            assert!(
                text.contains(&format!("{slot:x}: {pc:x} \n")),
                "{}",
                fx.name
            );
        }
        // -T searches only the tasks running on a CPU, -t every task
        let t = run(&s, "search -t 0").unwrap().json()["stacks"]
            .as_array()
            .unwrap()
            .len();
        let big_t = run(&s, "search -T 0").unwrap().json()["stacks"]
            .as_array()
            .unwrap()
            .len();
        let drgn_tasks = fx.drgn()["tasks"].as_array().unwrap().len();
        assert!(big_t >= 1 && big_t < t, "{}: {big_t} {t}", fx.name);
        assert!(
            t + 8 >= drgn_tasks,
            "{}: {t} of {drgn_tasks} stacks",
            fx.name
        );
        for bad in ["search -t -T 0", "search -t -k 0", "search -T -s 0 0"] {
            assert!(run(&s, bad).is_err(), "{}: {bad}", fx.name);
        }
    }
}

#[test]
fn bt_p_is_the_panic_task_and_n_idle_leaves_out_idle_stacks() {
    if corpus_or_skip("bt_p_is_the_panic_task_and_n_idle_leaves_out_idle_stacks").is_none() {
        return;
    }
    let mut panics = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let crashed = fx.drgn()["crashed_thread"]["task"]
            .as_str()
            .map(str::to_string);
        match crashed {
            Some(task) => {
                // the task drgn's crashed_thread() names, with the frames plain bt shows
                let p = run(&s, "bt -p").unwrap();
                assert_eq!(p.json()["tasks"][0]["task"].as_str(), Some(task.as_str()));
                assert_eq!(p.text(), run(&s, &format!("bt {task}")).unwrap().text());
                panics += 1;
            }
            None => assert!(run(&s, "bt -p").is_err(), "{}", fx.name),
        }
        assert!(run(&s, "bt -p 1").is_err());
        assert!(run(&s, "bt -n busy").is_err());
        let all = run(&s, "bt -a").unwrap().json();
        let skipped = run(&s, "bt -a -n idle").unwrap();
        let j = skipped.json();
        for (a, b) in all["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .zip(j["tasks"].as_array().unwrap())
        {
            assert_eq!(a["task"], b["task"]);
            if a["pid"] == 0 {
                assert_eq!(b["left_out"], true, "{}", fx.name);
                assert!(b["frames"].as_array().unwrap().is_empty());
            } else {
                assert_eq!(a["frames"], b["frames"], "{}", fx.name);
            }
        }
        // an idle task is its header alone
        let idle = run(&s, "bt -n idle 0").unwrap().text();
        assert!(
            idle.lines()
                .all(|l| l.starts_with("PID: 0 ") || l.is_empty()),
            "{}: {idle}",
            fx.name
        );
    }
    assert!(panics >= 4, "only {panics} fixtures with a panic task");
}

/// `bt -o`/`-O` (crash's old method: frame pointers on x86_64, permitted by crash only on
/// kernels built with them): every x86_64 fixture kernel unwinds by ORC, so it is refused
/// saying why; on aarch64, whose kernels always keep frame records, it is `bt`'s walk.
#[test]
fn bt_old_method_is_refused_on_orc_kernels_and_is_the_frame_record_walk_on_aarch64() {
    if corpus_or_skip("bt_old_method_is_refused_on_orc_kernels").is_none() {
        return;
    }
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        // the kernel's own ORC table is there (the reason for the refusal)
        assert!(
            run(&s, "sym __start_orc_unwind_ip").is_ok(),
            "{}: no ORC table",
            fx.name
        );
        for cmd in ["bt -o", "bt -O", "bt -o -a"] {
            let err = run(&s, cmd).err().unwrap().to_string();
            assert!(
                err.contains("ORC") && err.contains("frame pointers"),
                "{}: {cmd}: {err}",
                fx.name
            );
        }
    }
    let Some(corpus) = kdive_testdata::fixtures::corpus_arm64() else {
        eprintln!("bt -o on aarch64: skipped, no aarch64 corpus");
        return;
    };
    let mut checked = 0;
    for e in std::fs::read_dir(&corpus).unwrap().flatten() {
        let dump = e.path().join("vmcore.kdump-zlib");
        if !dump.is_file() {
            continue;
        }
        let s = Session::open(&dump).unwrap();
        assert_eq!(
            run(&s, "bt -o -a").unwrap().text(),
            run(&s, "bt -a").unwrap().text()
        );
        checked += 1;
    }
    assert!(checked >= 1);
}

/// `sym -p` / `sym -n`: the kernel symbols just before and after, as the vmlinux's own symbol
/// table orders them (its text symbols by address; kallsyms in memory lists the same ones).
#[test]
fn sym_p_and_n_are_the_vmlinux_symbol_table_neighbours() {
    use object::{Object, ObjectSymbol};
    if corpus_or_skip("sym_p_and_n_are_the_vmlinux_symbol_table_neighbours").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let Some(vmlinux) = fx.vmlinux() else {
            assert!(
                std::env::var_os("KDIVE_REQUIRE_VMLINUX").is_none(),
                "{}: no vmlinux",
                fx.name
            );
            continue;
        };
        let bytes = std::fs::read(&vmlinux).unwrap();
        let elf = object::File::parse(&*bytes).unwrap();
        let mut text: Vec<(u64, String)> = elf
            .symbols()
            .filter(|s| s.kind() == object::SymbolKind::Text && s.size() > 0)
            .filter_map(|s| Some((s.address(), s.name().ok()?.to_string())))
            .collect();
        text.sort();
        let at = text
            .iter()
            .position(|(_, n)| n == "sysrq_handle_crash")
            .unwrap();
        let (prev, next) = (&text[at - 1], &text[at + 1]);
        // only where the neighbours have an address of their own (no alias to order)
        if text[at - 2].0 == prev.0 || text[at + 2].0 == next.0 {
            continue;
        }
        let s = Session::open(&fx.reference_dump()).unwrap();
        let j = run(&s, "sym -p -n sysrq_handle_crash").unwrap().json();
        let names: Vec<&str> = j["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            vec![prev.1.as_str(), "sysrq_handle_crash", next.1.as_str()],
            "{}",
            fx.name
        );
        checked += 1;
    }
    if std::env::var_os("KDIVE_REQUIRE_VMLINUX").is_some() {
        assert!(checked >= 1, "no fixture compared");
    }
}

/// `sym -M` against crash's (kept in `tests/data/crash-9.0.2-module-symbols/`): the same
/// modules in the same (address) order with the same region bounds, and the same symbol
/// addresses in the same order, each named as crash names it or with the compiler's suffix
/// crash drops (`virtblk_prep_rq.isra.0`). The type letters are not compared: crash gives a
/// 6.1 kernel's module symbols `T` or `?`, kdive the letters the kernel's own kallsyms gives.
#[test]
fn sym_m_lists_every_module_symbol_as_crash() {
    if corpus_or_skip("sym_m_lists_every_module_symbol_as_crash").is_none() {
        return;
    }
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/crash-9.0.2-module-symbols");
    let mut checked = 0;
    for fx in fixtures() {
        let Ok(text) = std::fs::read_to_string(data.join(&fx.name).join("sym-M.txt")) else {
            continue;
        };
        let (cmd, want) = common::split_reference(&text);
        let s = Session::open(&fx.reference_dump()).unwrap();
        let got = run(&s, &cmd).unwrap().text();
        let got: Vec<&str> = got.lines().collect();
        assert_eq!(got.len(), want.len(), "{}: {cmd}", fx.name);
        // lines of one address (a symbol's aliases) may come in another order
        let runs = |lines: Vec<&str>| {
            let mut runs: Vec<(String, Vec<String>)> = Vec::new();
            for l in lines {
                let (addr, rest) = l.split_once(' ').unwrap();
                let what = match rest.split_once(") ") {
                    Some((_, name)) if !rest.starts_with("MODULE ") => name.to_string(),
                    _ => rest.to_string(),
                };
                match runs.last_mut() {
                    Some((a, names)) if a == addr => names.push(what),
                    _ => runs.push((addr.to_string(), vec![what])),
                }
            }
            runs
        };
        let want_runs = runs(want.iter().map(String::as_str).collect());
        for ((ga, mut gnames), (wa, wnames)) in runs(got).into_iter().zip(want_runs) {
            assert_eq!(ga, wa, "{}", fx.name);
            assert_eq!(gnames.len(), wnames.len(), "{}: {ga}", fx.name);
            for w in &wnames {
                let i = gnames
                    .iter()
                    .position(|g| g == w || g.starts_with(&format!("{w}.")))
                    .unwrap_or_else(|| panic!("{}: {wa} {w} not in {gnames:?}", fx.name));
                gnames.remove(i);
            }
        }
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} fixtures compared");
}
