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
