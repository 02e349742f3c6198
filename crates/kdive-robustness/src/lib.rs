//! Damaged and hostile dumps.
//!
//! - [`fuzz`]: one entry function per parser (`fuzz::kdump`, `fuzz::btf`, ...). The fuzz targets in
//!   `fuzz/` call them, and so does the regression test that replays `fuzz/seeds/` and
//!   `fuzz/regressions/` on the stable toolchain; [`fuzz::TARGETS`] lists them by target name.
//! - [`synth`]: the synthetic kernel of `kdive_testdata::kernel` patched by fuzz input and run
//!   through the commands, for the command-layer target and the corruption suite.
//!
//! The corruption suite itself is `tests/corruption.rs`; the dumps, memories and writers it and
//! the targets use are `kdive-testdata`'s.

pub mod fuzz;
pub mod synth;
