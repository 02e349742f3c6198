//! `dev -i`/`-V`, `set -a`, `foreach ... set`/`vtop` and `mod -d`/`-D`/`-R` against crash 9.0.2's
//! outputs on every fixture (`tests/data/crash-9.0.2-flags/`), and `dev -i` against the dump's
//! own memory map.

use kdive_commands::{run, Session};
use kdive_testdata::{corpus_or_skip, fixtures};

mod common;

#[test]
fn saved_outputs_match_crash() {
    if corpus_or_skip("saved_outputs_match_crash").is_none() {
        return;
    }
    let checked = common::saved_crash_outputs_match("crash-9.0.2-flags");
    assert!(checked >= 12, "only {checked} crash outputs compared");
}

/// The top-level `System RAM` regions of `iomem_resource` are the machine's E820 RAM ranges
/// (`mach -m`), and a kdump dump ends its page frames where the last one ends (kexec-tools
/// makes the dump's memory map from them).
#[test]
fn iomem_ram_is_the_dumps_memory_map() {
    if corpus_or_skip("iomem_ram_is_the_dumps_memory_map").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let io = run(&s, "dev -i").unwrap().json();
        let ram: Vec<(u64, u64)> = io["iomem"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["depth"] == 1 && r["name"] == "System RAM")
            .map(|r| {
                let hex = |k: &str| {
                    u64::from_str_radix(r[k].as_str().unwrap().trim_start_matches("0x"), 16)
                        .unwrap()
                };
                (hex("start"), hex("end") + 1)
            })
            .collect();
        let e820: Vec<(u64, u64)> = run(&s, "mach -m")
            .unwrap()
            .text()
            .lines()
            .filter(|l| l.ends_with("E820_RAM"))
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let hex = |t: &str| u64::from_str_radix(t, 16).unwrap();
                (hex(w[0]), hex(w[2]))
            })
            .collect();
        assert!(!ram.is_empty(), "{}", fx.name);
        assert_eq!(ram, e820, "{}", fx.name);
        let meta = s.dump().meta();
        if matches!(meta.format, kdive_dump::FormatKind::Kdump { .. }) {
            let end = ram.last().unwrap().1;
            assert_eq!(meta.max_pfn * meta.page_size, end, "{}", fx.name);
        }
        checked += 1;
    }
    assert!(checked >= 5);
}

/// `set -a` refuses a PID several tasks share (the idle tasks) and an unknown one, as crash.
#[test]
fn set_a_refuses_ambiguous_and_unknown_tasks() {
    let Some(fx) = fixtures().into_iter().next() else {
        return;
    };
    let s = Session::open(&fx.reference_dump()).unwrap();
    let cpus = run(&s, "ps 0").unwrap().text().lines().count() - 1;
    let e = run(&s, "set -a 0").err().unwrap().to_string();
    assert_eq!(
        e,
        format!("set: pid 0 has {cpus} tasks: use a task address")
    );
    let e = run(&s, "set -a 99999").err().unwrap().to_string();
    assert_eq!(e, "set: invalid task or pid value: 99999");
    // nothing was marked: ps shows the runqueues' tasks
    assert_eq!(run(&s, "ps").unwrap().text().matches("\n>").count(), cpus);
}

/// `mod -d`, `-D`, `-R` change what later commands use: a module's source line in `sym` goes
/// with its debug file and comes back with `mod -s`; `mod` shows the file attached or not.
#[test]
fn mod_detach_changes_later_commands() {
    if corpus_or_skip("mod_detach_changes_later_commands").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let Some(ko) = ["null-pointer.ko", "hung.ko"]
            .iter()
            .map(|k| fx.dir.join(k))
            .find(|p| p.exists())
        else {
            continue;
        };
        let (name, sym) = if ko.ends_with("hung.ko") {
            ("hung", "fixture_hung_fn")
        } else {
            ("null_pointer", "fixture_poke.constprop.0")
        };
        let s = Session::open(&fx.reference_dump()).unwrap();
        let line = |s: &Session| run(s, &format!("sym {sym}")).unwrap().text();
        let object = |s: &Session| {
            let j = run(s, "mod").unwrap().json();
            j["modules"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == name)
                .unwrap()["object_file"]
                .clone()
        };
        // the .ko beside the dump was attached when the dump was opened
        assert!(line(&s).contains(".c: "), "{}: {}", fx.name, line(&s));
        assert!(object(&s).is_string(), "{}", fx.name);
        let d = run(&s, &format!("mod -d {name}")).unwrap();
        assert_eq!(d.text(), "");
        assert_eq!(d.json()["detached"], serde_json::json!([name]));
        assert!(!line(&s).contains(".c: "), "{}", fx.name);
        assert!(object(&s).is_null(), "{}", fx.name);
        // attached again, then every one detached
        let ko = ko.display().to_string();
        run(&s, &format!("mod -s {name} {ko}")).unwrap();
        assert!(line(&s).contains(".c: "), "{}", fx.name);
        assert_eq!(object(&s), serde_json::json!(ko));
        assert_eq!(
            run(&s, "mod -D").unwrap().json()["detached"],
            serde_json::json!([name])
        );
        assert!(object(&s).is_null());
        run(&s, &format!("mod -s {name} {ko}")).unwrap();
        let r = run(&s, "mod -R").unwrap();
        assert_eq!(r.json()["detached"], serde_json::json!([name]));
        assert!(!r.text().contains(&ko));
        assert!(!line(&s).contains(".c: "));
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} fixtures with a module file");
}

/// `bpf -t`, `-T` and `-s` refuse to run without the programs or maps they apply to, with
/// crash's words.
#[test]
fn bpf_flags_need_their_objects() {
    let Some(fx) = fixtures().into_iter().next() else {
        return;
    };
    let s = Session::open(&fx.reference_dump()).unwrap();
    let err = |c: &str| run(&s, c).err().unwrap().to_string();
    assert_eq!(
        err("bpf -t"),
        "bpf: -t option only applicable with -p or -P"
    );
    assert_eq!(
        err("bpf -T"),
        "bpf: -t option only applicable with -p or -P"
    );
    assert_eq!(
        err("bpf -s"),
        "bpf: -s option requires either -p, -P, -m or -M"
    );
    assert_eq!(err("bpf -P -x"), "bpf: -x option requires -s");
    assert_eq!(
        err("bpf -P -s -x -d"),
        "bpf: -d and -x are mutually exclusive"
    );
}

/// Helper calls are named from the kernel's own `func_id_str[]`: helper 1 is
/// `BPF_FUNC_map_lookup_elem` and 6 `BPF_FUNC_trace_printk` in the UAPI's numbering; a call's
/// immediate relative to `__bpf_call_base` names the kernel function it reaches.
#[test]
fn bpf_helper_calls_are_named_from_the_kernel() {
    use kdive_linux::bpf_insn::{disassemble, Names};
    if corpus_or_skip("bpf_helper_calls_are_named_from_the_kernel").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let prog = s.kernel().unwrap();
        let names = kdive_linux::bpf::KernelNames {
            prog,
            maps: vec![(0xffff_8880_0000_1000, 7)],
        };
        // BPF_JMP | BPF_CALL with imm 1 and 6, then a 64-bit load of a map's address
        let mut code = vec![0x85, 0, 0, 0, 1, 0, 0, 0, 0x85, 0, 0, 0, 6, 0, 0, 0];
        code.extend([0x18, 0x01, 0, 0, 0x00, 0x10, 0, 0]);
        code.extend([0, 0, 0, 0, 0x80, 0x88, 0xff, 0xff]);
        let text: Vec<String> = disassemble(&code, false, &names)
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert_eq!(
            text,
            [
                "(85) call bpf_map_lookup_elem#1",
                "(85) call bpf_trace_printk#6",
                "(18) r1 = map[id:7]"
            ],
            "{}",
            fx.name
        );
        // a kernel function by its distance from __bpf_call_base (how the verifier patches
        // a helper call into a direct one)
        let base = prog.symbol_address("__bpf_call_base").unwrap();
        let target = prog.symbol_address("panic").unwrap();
        let imm = i32::try_from(target as i64 - base as i64).unwrap();
        assert!(!(0..300).contains(&imm));
        let insn = kdive_linux::bpf_insn::Insn {
            code: 0x85,
            dst: 0,
            src: 0,
            off: 0,
            imm,
        };
        assert_eq!(names.helper(&insn).as_deref(), Some("panic"), "{}", fx.name);
        checked += 1;
    }
    assert!(checked >= 5);
}

/// `bpf -j` disassembles a JITed image's byte range through `dis`: on a kernel function, the
/// instructions `dis` shows for the whole function, cut where the range ends.
#[test]
fn jited_ranges_are_cut_from_dis() {
    if corpus_or_skip("jited_ranges_are_cut_from_dis").is_none() {
        return;
    }
    let mut checked = 0;
    for fx in fixtures() {
        let s = Session::open(&fx.reference_dump()).unwrap();
        let whole = run(&s, "dis sysrq_handle_crash").unwrap().json();
        let whole = whole["instructions"].as_array().unwrap();
        let addr = |i: &serde_json::Value| {
            u64::from_str_radix(
                i["at"]["address"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("0x"),
                16,
            )
            .unwrap()
        };
        let start = addr(&whole[0]);
        // the range ends in the fourth instruction's first byte: it is the last shown
        let len = addr(&whole[3]) - start + 1;
        let got = kdive_commands::bpf::disassemble_range(&s, start, len).unwrap();
        assert_eq!(got.instructions.len(), 4, "{}", fx.name);
        for (g, w) in got.instructions.iter().zip(whole) {
            assert_eq!(g.at.address, addr(w));
            assert_eq!(g.mnemonic, w["mnemonic"].as_str().unwrap());
        }
        checked += 1;
    }
    assert!(checked >= 5);
}
