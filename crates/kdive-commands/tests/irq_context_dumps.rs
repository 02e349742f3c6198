//! Panics raised in interrupt context, on real dumps made outside the corpus (they change with
//! every run, so only facts the kernel itself states are compared): `$KDIVE_IRQ_DUMPS` (default
//! `~/.cache/kdive-fixtures/out`) holds
//!
//! - `D/`: the fixture generator's scenario D (`make-fixtures.sh D`): a soft lockup on 6.12,
//!   `softlockup_panic=1`, so the watchdog's hrtimer panics on the IRQ stack; kdump;
//! - `nmi-panic/`: `tools/fixtures/nmi-panic.sh`: an NMI injected into a 6.12 guest booted
//!   with `unknown_nmi_panic`, so the NMI handler panics on the NMI stack; QEMU's ELF dump.
//!
//! Each test is skipped, saying so, when its dump is absent. The kernel's own report of the
//! interrupted registers (`RIP:`, `RSP:` in the log) is what the exception frame the unwinder
//! finds across the stack switch must hold.

use std::path::{Path, PathBuf};

use kdive_commands::{run, Session};
use serde_json::Value;

fn dumps_dir() -> PathBuf {
    match std::env::var_os("KDIVE_IRQ_DUMPS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into()))
            .join(".cache/kdive-fixtures/out"),
    }
}

/// The dump directory `name` with its dump file, vmlinux and kernel log, or `None` (skipped).
fn dump_or_skip(test: &str, name: &str, file: &str) -> Option<(PathBuf, PathBuf)> {
    let dir = dumps_dir().join(name);
    let dump = dir.join(file);
    let release = std::fs::read_to_string(dir.join("release"))
        .ok()
        .map(|r| r.trim().to_string())
        .or_else(|| {
            let m: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("metadata.json")).ok()?)
                    .ok()?;
            Some(m["kernel"]["release"].as_str()?.to_string())
        });
    let vmlinux = release.map(|r| kdive_testdata::kernels_dir().join(r).join("vmlinux"));
    match vmlinux.filter(|v| dump.is_file() && v.is_file()) {
        Some(v) => Some((dump, v)),
        None => {
            eprintln!(
                "{test}: skipped, no {} with its vmlinux (set KDIVE_IRQ_DUMPS; see the module doc)",
                dump.display()
            );
            None
        }
    }
}

fn open(dump: &Path, vmlinux: &Path) -> Session {
    let s = Session::open(dump).unwrap_or_else(|e| panic!("{}: {e}", dump.display()));
    s.attach_vmlinux(vmlinux).unwrap();
    for e in std::fs::read_dir(dump.parent().unwrap()).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "ko") {
            s.attach_module_debug(&e.path()).unwrap();
        }
    }
    s
}

fn hex(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// The value after `key` on the log's last line holding it (`RSP: 0018:ffffd13ec0523ee0`).
fn log_value(log: &str, key: &str) -> String {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains(key))
        .unwrap_or_else(|| panic!("no {key} in the log"));
    let v = line.split(key).nth(1).unwrap().split_whitespace().next();
    v.unwrap().to_string()
}

/// The frames as `bt` shows them: functions, `[exception RIP: f]` for the interrupted kernel
/// code of a register block, and the markers where the walk changed stacks (after the block
/// that led to another stack, as crash prints them).
fn outline(bt: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for f in bt["frames"].as_array().unwrap() {
        let name = f["function"].as_str().unwrap_or("?").to_string();
        let kernel_block = f["exception"]["user"] == false && !f["exception"]["addr"].is_null();
        if kernel_block {
            out.push(format!("[exception RIP: {name}]"));
        }
        if let Some(m) = f["transition"].as_str() {
            out.push(m.to_string());
        }
        if !f["level"].is_null() {
            out.push(name);
        }
    }
    out
}

#[test]
fn soft_lockup_walks_from_the_irq_stack_into_the_spinning_task() {
    let Some((dump, vmlinux)) = dump_or_skip("soft_lockup", "D", "vmcore") else {
        return;
    };
    let s = open(&dump, &vmlinux);
    let log = run(&s, "log").unwrap().text();
    let bt = run(&s, "bt").unwrap().json();
    let t = &bt["tasks"][0];
    assert_eq!(t["comm"], "fixture_spin");
    assert_eq!(t["complete"], true, "{}", t["end"]);
    // crash 9.0.2's `bt` on this dump (addresses change with every run; the frames do not)
    assert_eq!(
        outline(t)[3..],
        [
            "panic",
            "watchdog_timer_fn",
            "__hrtimer_run_queues",
            "hrtimer_interrupt",
            "__sysvec_apic_timer_interrupt",
            "sysvec_apic_timer_interrupt",
            "--- <IRQ stack> ---",
            "asm_sysvec_apic_timer_interrupt",
            "[exception RIP: fixture_spin_forever]",
            "fixture_spin_fn",
            "kthread",
            "ret_from_fork",
            "ret_from_fork_asm",
        ]
    );
    let frames = t["frames"].as_array().unwrap();
    let block = frames.iter().find(|f| f["level"].is_null()).unwrap();
    let regs = &block["exception"]["registers"];
    // the watchdog printed the interrupted registers: `RSP: 0018:…`, `RAX: …`
    let rsp = log_value(&log, "RSP: 0018:");
    assert_eq!(hex(&regs["rsp"]), u64::from_str_radix(&rsp, 16).unwrap());
    let rax = log_value(&log, "RAX: ");
    assert_eq!(hex(&regs["rax"]), u64::from_str_radix(&rax, 16).unwrap());
    assert_eq!(block["stack"], "task");
    // crash shows the entry function at the register block's address
    let text = run(&s, "bt").unwrap().text();
    let addr = hex(&block["exception"]["addr"]);
    let line = format!("[{addr:016x}] asm_sysvec_apic_timer_interrupt at ");
    assert!(text.contains(&line), "{text}");
    assert!(text.contains("--- <IRQ stack> ---\n"));

    let a = run(&s, "analyze").unwrap().json();
    assert_eq!(a["kind"], "soft-lockup");
    // `watchdog: BUG: soft lockup - CPU#0 stuck for 6s! [fixture_spin:677]`
    let l = log
        .lines()
        .find(|l| l.contains("soft lockup - CPU#"))
        .unwrap();
    let after = |key: &str, end: char| {
        let v = l.split(key).nth(1).unwrap();
        v[..v.find(end).unwrap()].parse::<u64>().unwrap()
    };
    let (cpu, secs) = (after("CPU#", ' '), after("stuck for ", 's'));
    assert_eq!(a["lockup"]["cpu"].as_u64(), Some(cpu));
    assert_eq!(t["cpu"].as_u64(), Some(cpu));
    assert_eq!(a["lockup"]["seconds"].as_u64(), Some(secs));
    let c = &a["culprits"][0];
    assert_eq!(c["function"], "fixture_spin_forever");
    assert_eq!(c["module"], "softlockup");
    assert_eq!(hex(&c["offset"]), hex(&block["offset"]));
    assert_eq!(c["task"]["comm"], "fixture_spin");
    assert!(a["evidence"].as_array().unwrap().iter().any(|e| e
        .as_str()
        .unwrap()
        .contains("interrupted in: fixture_spin_forever+")));
}

#[test]
fn nmi_panic_walks_from_the_nmi_stack_into_the_interrupted_task() {
    let Some((dump, vmlinux)) = dump_or_skip("nmi_panic", "nmi-panic", "vmcore.elf") else {
        return;
    };
    let s = open(&dump, &vmlinux);
    let log = run(&s, "log").unwrap().text();
    let bt = run(&s, "bt -a").unwrap().json();
    let tasks = bt["tasks"].as_array().unwrap();
    // `Uhhuh. NMI received for unknown reason 21 on CPU 0.`
    let l = log
        .lines()
        .find(|l| l.contains("NMI received for"))
        .unwrap();
    let cpu: u64 = l
        .split("on CPU ")
        .nth(1)
        .unwrap()
        .trim_end_matches('.')
        .parse()
        .unwrap();
    let t = tasks
        .iter()
        .find(|t| t["cpu"].as_u64() == Some(cpu))
        .unwrap();
    assert_eq!(t["complete"], true, "{}", t["end"]);
    let o = outline(t);
    let at = o
        .iter()
        .position(|f| f == "unknown_nmi_error")
        .expect("the NMI handler");
    let nmi_exit = [
        "exc_nmi",
        "end_repeat_nmi",
        "[exception RIP: pv_native_safe_halt]",
    ];
    assert_eq!(o[at + 1..at + 4], nmi_exit);
    assert_eq!(
        o[at + 4..at + 6],
        ["--- <NMI exception stack> ---", "pv_native_safe_halt"]
    );
    assert!(o.ends_with(&["common_startup_64".to_string()]), "{o:?}");
    let frames = t["frames"].as_array().unwrap();
    let block = frames
        .iter()
        .find(|f| !f["exception"].is_null() && f["function"] == "pv_native_safe_halt")
        .unwrap();
    assert_eq!(block["stack"], "task");
    assert!(frames[..4].iter().all(|f| f["stack"] == "nmi"));
    // the kernel's report of the interrupted registers, printed by the panic on that CPU
    let regs = &block["exception"]["registers"];
    let rsp = log_value(&log, "RSP: 0018:");
    assert_eq!(hex(&regs["rsp"]), u64::from_str_radix(&rsp, 16).unwrap());
    let rip = log_value(&log, "RIP: 0010:");
    let want = format!("pv_native_safe_halt+{:#x}/", hex(&block["offset"]));
    assert!(rip.starts_with(&want), "{rip} {want}");
    // the other CPU, stopped by the reboot IPI, left its IRQ stack for the idle task's
    let other = tasks
        .iter()
        .find(|t| t["cpu"].as_u64() != Some(cpu))
        .unwrap();
    let o = outline(other);
    let irq = o
        .iter()
        .position(|f| f == "--- <IRQ stack> ---")
        .expect("an IRQ stack");
    assert_eq!(o[irq - 1], "sysvec_reboot");
    assert_eq!(o[irq + 1], "asm_sysvec_reboot");
    assert!(o.ends_with(&["common_startup_64".to_string()]), "{o:?}");
}
