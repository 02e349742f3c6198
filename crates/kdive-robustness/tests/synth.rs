//! The synthetic kernel answers `sys`, `ps` and `log` like a real one.

use kdive_robustness::synth;

#[test]
fn synthetic_kernel_answers_sys_ps_log() {
    let out = synth::run_commands_patched(&[], &["sys", "ps", "log"]);
    let all = out.join("\n");
    assert!(out[0].contains("RELEASE: 6.1.0-synthetic"), "{all}");
    assert!(out[0].contains("TASKS: 3"), "{all}");
    assert!(out[0].contains("synthetic crash"), "{all}");
    assert!(out[1].contains("kthreadd") && out[1].contains("init"), "{all}");
    assert!(out[2].contains("Kernel panic - not syncing: synthetic crash"), "{all}");
}

#[test]
#[ignore]
fn print_synthetic() {
    for o in synth::run_commands_patched(&[], &["sys", "ps", "log -m", "ps -t"]) {
        println!("{o}");
    }
}

#[test]
#[ignore]
fn print_layout() {
    let k = synth::kernel();
    println!("data {:x?}", k.data);
    for (n, a) in &k.symbols {
        println!("{n} {:x}", a - synth::KBASE);
    }
    let input = std::fs::read(std::env::var("INPUT").unwrap()).unwrap();
    for c in ["sys", "ps", "ps -t", "log", "log -T -m"] {
        let t = std::time::Instant::now();
        let out = synth::run_commands_patched(&input, &[c]);
        println!("{c}: {:?} {}", t.elapsed(), out[0].lines().take(3).collect::<Vec<_>>().join(" | "));
    }
}
