//! aarch64 per-CPU stacks: the IRQ stack (`irq_stack_ptr`: its base; `IRQ_STACK_SIZE` is
//! THREAD_SIZE).

use kdive_program::unwind::{StackKind, StackRange};
use kdive_program::{Program, ProgramError};

use crate::percpu::per_cpu_address;

/// The stacks of `cpu` besides the tasks' own.
pub(crate) fn cpu_stacks(
    prog: &Program,
    cpu: u32,
    size: u64,
    problems: &mut Vec<String>,
) -> Vec<StackRange> {
    let irq = per_cpu_address(prog, "irq_stack_ptr", cpu)
        .and_then(|var| prog.read_u64(var))
        .and_then(|base| {
            if base == 0 {
                return Err(ProgramError::Walk {
                    what: "irq_stack_ptr".into(),
                    why: "NULL".into(),
                });
            }
            Ok(StackRange {
                start: base,
                end: base.wrapping_add(size),
                kind: StackKind::Irq,
            })
        });
    match irq {
        Ok(r) => vec![r],
        Err(e) => {
            problems.push(format!("IRQ stack of CPU {cpu}: {e}"));
            Vec::new()
        }
    }
}
