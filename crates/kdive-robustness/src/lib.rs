//! Damaged and hostile dumps.
//!
//! - [`fuzz`]: one entry function per parser (`fuzz::kdump`, `fuzz::btf`, ...). The fuzz targets in
//!   `fuzz/` call them, and so does the regression test that replays `fuzz/seeds/` and
//!   `fuzz/regressions/` on the stable toolchain; [`fuzz::TARGETS`] lists them by target name.
//! - [`synth`]: a small synthetic x86_64 kernel (kallsyms, BTF, tasks, printk ring) written as an
//!   ELF vmcore, for the command-layer target and the corruption suite.
//!
//! - [`damage`]: where the parts of kdump and ELF files are, and damaged copies of them.
//!
//! The corruption suite itself is `tests/corruption.rs`.

pub mod damage;
pub mod fuzz;
pub mod synth;
