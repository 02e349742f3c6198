#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer and SanitizerCoverage on the stable toolchain (no
# cargo-fuzz, no nightly): the flags below are the ones cargo-fuzz passes, minus ASan (kdive is
# safe Rust). Binaries land in fuzz/target/x86_64-unknown-linux-gnu/release/<target>.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# --target keeps RUSTFLAGS off build scripts and proc macros, as cargo-fuzz does.
cargo build --release --target x86_64-unknown-linux-gnu --bins "$@"
