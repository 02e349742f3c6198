//! The synthetic kernel answers `sys`, `ps` and `log` like a real one.

use kdive_robustness::synth;
use kdive_testdata::kernel::{kernel, KBASE};

#[test]
fn synthetic_kernel_answers_sys_ps_log() {
    let out = synth::run_commands_patched(&[], &["sys", "ps", "log"]);
    let all = out.join("\n");
    assert!(out[0].contains("RELEASE: 6.1.0-synthetic"), "{all}");
    assert!(out[0].contains("TASKS: 3"), "{all}");
    assert!(out[0].contains("synthetic crash"), "{all}");
    assert!(
        out[1].contains("kthreadd") && out[1].contains("init"),
        "{all}"
    );
    assert!(
        out[2].contains("Kernel panic - not syncing: synthetic crash"),
        "{all}"
    );
}

/// With more tasks than are worth walking, `sys` gives the kernel's count (`nr_threads` and
/// the idle task) without walking them: the three tasks of the list are not what it counts;
/// `ps` walks them and says the rest cannot be read.
#[test]
fn sys_counts_many_tasks_without_walking_them() {
    let k = kernel();
    let nr_threads = k.symbols["nr_threads"] - KBASE;
    let off = nr_threads as usize - k.data.start;
    let mut patch = vec![4u8];
    patch.extend_from_slice(&(off as u16).to_le_bytes());
    patch.extend_from_slice(&100_000u32.to_le_bytes());
    let out = synth::run_commands_patched(&patch, &["sys", "ps"]);
    let all = out.join("\n");
    let tasks = out[0]
        .lines()
        .find(|l| l.contains("TASKS:"))
        .unwrap_or_default();
    assert_eq!(tasks.trim(), "TASKS: 100001", "{all}");
    assert!(
        out[1].contains("kthreadd") && out[1].contains("could not be read"),
        "{all}"
    );
}

/// The `commands` fuzz target reaches the disassembler: `dis` decodes `init_task`'s bytes.
#[test]
fn synthetic_kernel_disassembles_its_data() {
    let out = synth::run_commands_patched(&[], &["dis init_task 4", "sym init_task"]);
    let all = out.join("\n");
    let addr = out[1].split_whitespace().next().unwrap();
    let lines: Vec<&str> = out[0].lines().collect();
    assert_eq!(lines.len(), 4, "{all}");
    assert!(
        lines[0].starts_with(&format!("0x{addr} <init_task>:")),
        "{all}"
    );
    assert!(lines[1].contains("<init_task+"), "{all}");
}
