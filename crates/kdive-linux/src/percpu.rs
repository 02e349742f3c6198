//! Per-CPU data and CPU masks.

use kdive_debuginfo::TypeId;
use kdive_program::{Program, Result};

/// The per-CPU offset of `cpu` (`__per_cpu_offset[cpu]`).
pub fn per_cpu_offset(prog: &Program, cpu: u32) -> Result<u64> {
    let base = prog.symbol_address("__per_cpu_offset")?;
    prog.read_u64(base.wrapping_add(8 * u64::from(cpu)))
}

/// The address of the per-CPU variable `name` on `cpu`.
pub fn per_cpu_address(prog: &Program, name: &str, cpu: u32) -> Result<u64> {
    Ok(prog
        .symbol_address(name)?
        .wrapping_add(per_cpu_offset(prog, cpu)?))
}

/// The CPUs set in a `struct cpumask` variable (`__cpu_online_mask`, `__cpu_possible_mask`...).
pub fn cpumask(prog: &Program, name: &str, nr_cpu_ids: u32) -> Result<Vec<u32>> {
    let base = prog.symbol_address(name)?;
    let words = nr_cpu_ids.div_ceil(64).max(1);
    let mut cpus = Vec::new();
    for w in 0..words {
        let bits = prog.read_u64(base.wrapping_add(8 * u64::from(w)))?;
        for b in 0..64 {
            let cpu = w * 64 + b;
            if cpu < nr_cpu_ids && bits >> b & 1 == 1 {
                cpus.push(cpu);
            }
        }
    }
    Ok(cpus)
}

/// `nr_cpu_ids`, bounded to 8192.
pub fn nr_cpu_ids(prog: &Program) -> Result<u32> {
    let addr = prog.symbol_address("nr_cpu_ids")?;
    Ok(prog.mem().read_u32(addr)?.clamp(1, 8192))
}

/// Online CPUs.
pub fn online_cpus(prog: &Program) -> Result<Vec<u32>> {
    cpumask(prog, "__cpu_online_mask", nr_cpu_ids(prog)?)
}

/// Possible CPUs.
pub fn possible_cpus(prog: &Program) -> Result<Vec<u32>> {
    cpumask(prog, "__cpu_possible_mask", nr_cpu_ids(prog)?)
}

/// How many CPUs crash counts (`kt->cpus` on x86_64): the highest present CPU plus one, or
/// the highest online one when the present mask cannot be read.
pub fn cpu_count(prog: &Program) -> Result<u32> {
    let ids = nr_cpu_ids(prog)?;
    let cpus = cpumask(prog, "__cpu_present_mask", ids).or_else(|_| online_cpus(prog))?;
    Ok(cpus.last().map_or(1, |c| c + 1))
}

/// The declared type of the per-CPU variable `name`, from the kernel's BTF (which describes
/// per-CPU variables; most other globals it leaves untyped).
pub fn per_cpu_var_type(prog: &Program, name: &str) -> Option<TypeId> {
    let (btf, src) = prog.vmlinux_btf()?;
    let idx = btf.find_var(name)?;
    // the VAR reads as a typedef named after the variable: its target is the type
    let (target, _) = prog.types().resolve(TypeId { src, idx }).ok()?;
    Some(target)
}

/// Whether the symbol `name` is a per-CPU variable: its address lies in the per-CPU section,
/// between `__per_cpu_start` and `__per_cpu_end` (an offset into each CPU's area, not an
/// address of its own).
pub fn is_per_cpu_symbol(prog: &Program, name: &str) -> bool {
    let syms = prog.symbols();
    match (
        syms.address_of(name),
        syms.address_of("__per_cpu_start"),
        syms.address_of("__per_cpu_end"),
    ) {
        (Some(a), Some(start), Some(end)) => (start..end).contains(&a),
        _ => false,
    }
}
