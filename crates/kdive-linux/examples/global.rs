//! Prints a global (or a member path under one) as gdb prints it, typed from the dump's BTF and
//! the debug files given: `cargo run --release -p kdive-linux --example global -- VMCORE
//! [VMLINUX] [MODULE.ko...] init_task.comm`. Used to time a first typed read (BENCHMARKS.md).

use kdive_linux::open::{open, OpenOptions};
use kdive_program::print::{format_value, PrintOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let expr = args
        .pop()
        .ok_or("usage: global VMCORE [DEBUG FILES...] NAME[.MEMBER...]")?;
    let opened = open(&args, &OpenOptions::default())?;
    let prog = opened.kernel.map_err(|e| e.to_string())?;
    let mut path = expr.split('.');
    let mut obj = prog.global(path.next().unwrap_or_default())?;
    for m in path {
        obj = obj.member(m)?;
    }
    println!(
        "({}){}",
        obj.type_name(),
        format_value(&obj, PrintOptions::default(), 0)?
    );
    Ok(())
}
