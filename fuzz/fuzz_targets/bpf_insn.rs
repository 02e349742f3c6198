#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kdive_robustness::fuzz::bpf_insn(data));
