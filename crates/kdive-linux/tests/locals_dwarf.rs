//! Frame locals from the fixture kernels' vmlinux DWARF: location expressions evaluated with
//! each frame's registers, callee-saved ones recovered through `.debug_frame`. Checked against
//! what the kernel defines: a task switched out in `__schedule` is that frame's `prev`
//! (`context_switch(rq, prev, next, ...)`). Needs the vmlinux files; skipped without them
//! unless `KDIVE_REQUIRE_VMLINUX=1`.

use kdive_linux::open::{open, OpenOptions};
use kdive_linux::stack::BacktraceContext;
use kdive_program::locals::Local;
use kdive_testdata::fixtures_with_vmlinux;

/// Tasks looked at per dump.
const TASKS: usize = 40;

#[test]
fn schedule_prev_is_the_switched_out_task() {
    for (fx, vmlinux) in fixtures_with_vmlinux("schedule_prev_is_the_switched_out_task") {
        let prog = open(&[fx.reference_dump(), vmlinux], &OpenOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", fx.name))
            .kernel
            .unwrap_or_else(|e| panic!("{}: {e}", fx.name));
        let list = kdive_linux::task::all_tasks(&prog, kdive_linux::DEFAULT_WALK_LIMIT).unwrap();
        let ctx = BacktraceContext::new(&prog, &list.active);
        let (mut checked, mut saved) = (0, 0);
        for &task in list.tasks.iter().take(TASKS) {
            if list.active.values().any(|&a| a == task) {
                continue;
            }
            let mut frames = ctx.backtrace(&prog, task).trace.frames;
            let before: Vec<_> = frames.iter().map(|f| f.regs).collect();
            prog.recover_saved_registers(&mut frames);
            // rbx (3) and r12 (12) are known in a caller frame where ORC alone gave none
            saved += frames
                .iter()
                .zip(&before)
                .skip(1)
                .filter(|(f, b)| f.regs.get(3).is_some() && b.get(3).is_none())
                .filter(|(f, b)| f.regs.get(12).is_some() && b.get(12).is_none())
                .count();
            for (i, f) in frames.iter().enumerate() {
                let pc = if f.exact { f.pc } else { f.pc - 1 };
                let Some(fl) = prog.frame_locals(pc).unwrap() else {
                    continue;
                };
                let Some(scope) = fl
                    .scopes()
                    .iter()
                    .find(|s| s.function.as_deref() == Some("__schedule"))
                else {
                    continue;
                };
                let prev = scope.variables.iter().rfind(|v| v.name == "prev").unwrap();
                let cfa = prog
                    .frame_cfa(pc, &f.regs)
                    .or_else(|| frames.get(i + 1).map(|n| n.sp));
                if let Some(Local::Object(o)) = fl.value(&prog, prev, &f.regs, cfa) {
                    assert_eq!(o.read_u64().unwrap(), task, "{}: task {task:#x}", fx.name);
                    checked += 1;
                }
                break;
            }
        }
        assert!(checked > 0, "{}: no __schedule frame with `prev`", fx.name);
        assert!(saved > 0, "{}: no callee-saved register recovered", fx.name);
    }
}

/// A `struct fd` (`class_fd_t` since 6.12) that the compiler keeps in a register, as `ksys_read`
/// and `__sys_accept4` do, is read whole as a value: its `word` is the `struct file *` that
/// `fdget` took from the task's file table (with `FDPUT_*` flags in its low two bits).
#[test]
fn a_struct_in_a_register_is_read_as_a_value() {
    let (mut checked, mut dumps) = (0, 0);
    for (fx, vmlinux) in fixtures_with_vmlinux("a_struct_in_a_register_is_read_as_a_value") {
        dumps += 1;
        let prog = open(&[fx.reference_dump(), vmlinux], &OpenOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", fx.name))
            .kernel
            .unwrap_or_else(|e| panic!("{}: {e}", fx.name));
        let list = kdive_linux::task::all_tasks(&prog, kdive_linux::DEFAULT_WALK_LIMIT).unwrap();
        let ctx = BacktraceContext::new(&prog, &list.active);
        for &task in &list.tasks {
            let mut frames = ctx.backtrace(&prog, task).trace.frames;
            prog.recover_saved_registers(&mut frames);
            for (i, f) in frames.iter().enumerate() {
                let pc = if f.exact { f.pc } else { f.pc - 1 };
                let Some(fl) = prog.frame_locals(pc).unwrap() else {
                    continue;
                };
                let cfa = prog
                    .frame_cfa(pc, &f.regs)
                    .or_else(|| frames.get(i + 1).map(|n| n.sp));
                for scope in fl.scopes() {
                    for v in scope.variables.iter().filter(|v| v.name == "f") {
                        let Some(Local::Bytes(ty, bytes)) = fl.value(&prog, v, &f.regs, cfa) else {
                            continue;
                        };
                        let name = kdive_program::object::type_name(&prog, ty);
                        if name != "struct fd" && name != "class_fd_t" {
                            continue;
                        }
                        let word = u64::from_le_bytes(bytes[..8].try_into().unwrap());
                        let fdt = prog
                            .object("struct task_struct", task)
                            .and_then(|t| t.member("files"))
                            .and_then(|files| files.member("fdt"))
                            .unwrap();
                        let max = fdt.member("max_fds").unwrap().read_u64().unwrap();
                        let table = fdt.member("fd").unwrap().read_u64().unwrap();
                        let open_files: Vec<u64> = (0..max.min(4096))
                            .map(|i| prog.read_u64(table + 8 * i).unwrap_or(0))
                            .collect();
                        assert!(
                            open_files.contains(&(word & !3)),
                            "{}: task {task:#x} {}: {name} word {word:#x} is no open file",
                            fx.name,
                            scope.function.as_deref().unwrap_or("?")
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    eprintln!("{checked} struct fd values checked in {dumps} dumps");
    assert!(dumps == 0 || checked > 0, "no struct fd held in a register");
}
