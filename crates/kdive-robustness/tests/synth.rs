//! The synthetic kernel answers `sys`, `ps` and `log` like a real one.

use kdive_robustness::synth;

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
