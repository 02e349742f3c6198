//! The unwinder over synthetic ORC tables, code and stacks built in code: call chains,
//! exception frames (full, partial, user mode), stack switches, the frame-pointer fallback,
//! recovery through call sites, and garbage (loops, bad return addresses, unreadable or
//! off-stack memory, random bytes) that must end the walk cleanly.

use std::sync::Arc;

use kdive_program::unwind::orc::{OrcLayout, OrcTable, OrcType};
use kdive_program::unwind::x86_64::reg;
use kdive_program::unwind::{
    ExceptionStack, FoundBy, Limits, RegSet, StackKind, StackRange, Stacks, Start, StopReason,
    Trace, TraceEnd, UnwindTables,
};
use kdive_program::{Program, ProgramBuilder};
use kdive_testdata::mem::SparseMemory;
use kdive_testdata::symbols::SymbolList;

// ---------- a tiny machine: memory, symbols, ORC ----------

// ORC register numbers and types (current layout: type:3 signal:1)
const SP: u8 = 5;
const BP: u8 = 4;
const PREV_SP: u8 = 1;
const SP_INDIRECT: u8 = 9;
const T_UNDEFINED: u8 = 0;
const T_END: u8 = 1;
const T_CALL: u8 = 2;
const T_REGS: u8 = 3;
const T_PARTIAL: u8 = 4;

fn orc(sp_reg: u8, sp_off: i16, bp_reg: u8, bp_off: i16, ty: u8) -> [u8; 6] {
    let mut b = [0u8; 6];
    b[0..2].copy_from_slice(&sp_off.to_le_bytes());
    b[2..4].copy_from_slice(&bp_off.to_le_bytes());
    let signal = u16::from(matches!(ty, T_REGS | T_PARTIAL));
    let bits = u16::from(sp_reg) | u16::from(bp_reg) << 4 | u16::from(ty) << 8 | signal << 11;
    b[4..6].copy_from_slice(&bits.to_le_bytes());
    b
}

fn call(sp_off: i16) -> [u8; 6] {
    orc(SP, sp_off, 0, 0, T_CALL)
}

// The text: one function every 0x100 bytes.
const TEXT: u64 = 0xffff_ffff_8100_0000;
const A: u64 = TEXT; // leaf: CFA = sp + 16
const B: u64 = TEXT + 0x100; // CFA = sp + 32
const C: u64 = TEXT + 0x200; // thread entry: end of stack
const E: u64 = TEXT + 0x300; // exception entry: pt_regs at sp
const P: u64 = TEXT + 0x400; // partial regs: iret frame at sp
const H: u64 = TEXT + 0x500; // runs on the IRQ stack; caller's sp saved at sp
const U: u64 = TEXT + 0x600; // no unwind information (undefined)
const F: u64 = TEXT + 0x700; // frame-pointer function: CFA = bp + 16, bp saved at CFA - 16
const L: u64 = TEXT + 0x800; // loops: CFA = sp
                             // after the kernel's IRQ stack switch (`mov %rsp, (%tos); mov %tos, %rsp`): the old sp is
                             // saved at the sp, and the CFA is 16 bytes above it (one register pushed before the switch)
const S: u64 = TEXT + 0x900;
const TEXT_END: u64 = TEXT + 0xa00;

const TASK: u64 = 0xffff_c900_0000_0000;
const IRQ: u64 = 0xffff_8880_0001_0000;
const SIZE: u64 = 0x4000;

fn table() -> OrcTable {
    let rows: Vec<(u64, [u8; 6])> = vec![
        (A, call(16)),
        (B, call(32)),
        (C, orc(0, 0, 0, 0, T_END)),
        (E, orc(SP, 0, 0, 0, T_REGS)),
        (P, orc(SP, 0, 0, 0, T_PARTIAL)),
        (H, orc(SP_INDIRECT, 0, 0, 0, T_CALL)),
        (U, orc(0, 0, 0, 0, T_UNDEFINED)),
        (F, orc(BP, 16, PREV_SP, -16, T_CALL)),
        (L, call(0)),
        (S, orc(SP_INDIRECT, 16, 0, 0, T_CALL)),
        (TEXT_END, orc(0, 0, 0, 0, T_UNDEFINED)),
    ];
    let ips = rows.iter().map(|r| r.0).collect();
    let raw = rows.iter().flat_map(|r| r.1).collect();
    OrcTable::new(
        "vmlinux",
        ips,
        raw,
        OrcLayout::current(),
        vec![(TEXT, TEXT_END)],
    )
    .unwrap()
}

/// A machine with text (NOPs), a task stack and an IRQ stack, and the symbols of the functions.
fn machine() -> SparseMemory {
    let mut m = SparseMemory::default();
    m.fill(TEXT, (TEXT_END - TEXT) as usize, 0x90);
    m.fill(TASK, SIZE as usize, 0);
    m.fill(IRQ, SIZE as usize, 0);
    m
}

fn program(m: SparseMemory) -> Program {
    program_with(m, table())
}

fn program_with(m: SparseMemory, table: OrcTable) -> Program {
    let mut syms = SymbolList::new();
    for (i, n) in ["A", "B", "C", "E", "P", "H", "U", "F", "L", "S"]
        .iter()
        .enumerate()
    {
        syms.add(n, TEXT + 0x100 * i as u64, 0x100, 'T');
    }
    ProgramBuilder::new(Arc::new(m))
        .symbols(syms.into_symbols())
        .unwind_tables(UnwindTables::with_kernel_table(table))
        .build()
}

fn stacks() -> Stacks {
    Stacks::new(vec![
        StackRange {
            start: TASK,
            end: TASK + SIZE,
            kind: StackKind::Task,
        },
        StackRange {
            start: IRQ,
            end: IRQ + SIZE,
            kind: StackKind::Irq,
        },
    ])
}

/// Registers at an exact pc (a CPU's registers).
fn at(pc: u64, sp: u64) -> Start {
    let mut regs = RegSet::new();
    regs.set(reg::RIP, pc);
    regs.set(reg::RSP, sp);
    Start {
        regs,
        return_address: false,
        ra_slot: None,
        found: FoundBy::Regs,
    }
}

fn walk(m: SparseMemory, start: &Start) -> Trace {
    walk_with(m, start, &stacks(), Limits::default())
}

fn walk_with(m: SparseMemory, start: &Start, stacks: &Stacks, limits: Limits) -> Trace {
    program(m).unwind(start, stacks, limits).unwrap()
}

fn pcs(t: &Trace) -> Vec<u64> {
    t.frames.iter().map(|f| f.pc).collect()
}

/// A `pt_regs` block (21 words) with rip, cs, rflags, rsp, ss and rbp.
fn pt_regs(m: &mut SparseMemory, at: u64, rip: u64, rsp: u64, cs: u64, rbp: u64) {
    for i in 0..21 {
        m.put_u64(at + 8 * i, 0x1000 + i);
    }
    m.put_u64(at + 4 * 8, rbp);
    m.put_u64(at + 16 * 8, rip);
    m.put_u64(at + 17 * 8, cs);
    m.put_u64(at + 18 * 8, 0x246);
    m.put_u64(at + 19 * 8, rsp);
    m.put_u64(at + 20 * 8, 0x18);
}

// ---------- walks that succeed ----------

#[test]
fn call_chain_to_end_of_stack() {
    let mut m = machine();
    let sp = TASK + 0x3000;
    m.put_u64(sp + 8, B + 0x20); // A: CFA = sp + 16
    m.put_u64(sp + 16 + 24, C + 0x30); // B: CFA = (sp + 16) + 32
    let t = walk(m, &at(A + 0x10, sp));
    assert_eq!(t.end, TraceEnd::EndOfStack);
    assert_eq!(pcs(&t), [A + 0x10, B + 0x20, C + 0x30]);
    let slots: Vec<_> = t.frames.iter().map(|f| f.ra_slot).collect();
    assert_eq!(slots, [None, Some(sp + 8), Some(sp + 40)]);
    assert_eq!(t.frames[1].sp, sp + 16);
    assert!(t.frames.iter().all(|f| f.reliable));
    assert_eq!(t.frames[1].found, FoundBy::Orc);
}

#[test]
fn sleeping_start_looks_return_addresses_up_before_them() {
    // a return address at the very start of C would find B's... no: the pc - 1 rule puts
    // the lookup in B's last byte, whose row is B's (CFA = sp + 32)
    let mut m = machine();
    let sp = TASK + 0x3000;
    m.put_u64(sp + 24, C + 0x10);
    let start = Start {
        return_address: true,
        ra_slot: Some(sp - 8),
        ..at(C, sp)
    };
    let t = walk(m, &start);
    assert_eq!(pcs(&t), [C, C + 0x10]);
    assert_eq!(t.end, TraceEnd::EndOfStack);
}

#[test]
fn irq_stack_to_exception_frame_to_task() {
    let mut m = machine();
    // on the IRQ stack: A called from H; H's caller sp was saved at H's sp
    let isp = IRQ + SIZE - 0x100;
    m.put_u64(isp + 8, H + 0x10);
    let task_sp = TASK + 0x3800;
    m.put_u64(isp + 16, task_sp);
    // H's CFA = task_sp; its return address (into E) at task_sp - 8
    m.put_u64(task_sp - 8, E + 0x08);
    // E: pt_regs at its sp (= task_sp), interrupted B at B + 0x40 with rsp
    let interrupted_sp = TASK + 0x3a00;
    pt_regs(&mut m, task_sp, B + 0x40, interrupted_sp, 0x10, 0xbbbb);
    m.put_u64(interrupted_sp + 24, C + 0x30);
    let t = walk(m, &at(A + 0x10, isp));
    assert_eq!(t.end, TraceEnd::EndOfStack, "{t:#?}");
    assert_eq!(pcs(&t), [A + 0x10, H + 0x10, E + 0x08, B + 0x40, C + 0x30]);
    let kinds: Vec<_> = t.frames.iter().map(|f| f.stack).collect();
    let (irq, task) = (Some(StackKind::Irq), Some(StackKind::Task));
    assert_eq!(kinds, [irq, irq, task, task, task]);
    let exc = t.frames[3].exception.as_ref().expect("exception frame");
    assert_eq!((exc.addr, exc.partial, exc.user), (task_sp, false, false));
    assert_eq!(t.frames[3].regs.get(reg::RBP), Some(0xbbbb));
    assert_eq!(t.frames[3].found, FoundBy::Regs);
    assert!(t.frames[3].exact);
}

// ---------- stack transitions, laid out as the x86_64 kernel lays them out ----------

/// An exception (IST) stack: 4 KiB, as `EXCEPTION_STKSZ` (the NMI, #DF, #MC and #DB stacks).
const IST: u64 = 0xffff_fe00_0000_1000;
const IST_SIZE: u64 = 0x1000;
/// The entry trampoline stack of the CPU entry area: one page.
const ENTRY: u64 = 0xffff_fe00_0000_8000;

fn with_stacks(extra: &[(u64, u64, StackKind)]) -> Stacks {
    let mut r = stacks().ranges().to_vec();
    r.extend(extra.iter().map(|&(start, size, kind)| StackRange {
        start,
        end: start + size,
        kind,
    }));
    Stacks::new(r)
}

fn kinds(t: &Trace) -> Vec<Option<StackKind>> {
    t.frames.iter().map(|f| f.stack).collect()
}

/// An interrupt entry on the task stack: the entry code (E) pushed a `pt_regs` at `regs` for
/// interrupted B (at B + 0x40, sp `b_sp`, whose caller C ends the stack) and called the
/// handler, pushing the return address E + 0x08 at `regs - 8`.
fn interrupt_on_task(m: &mut SparseMemory, regs: u64, b_sp: u64) {
    pt_regs(m, regs, B + 0x40, b_sp, 0x10, 0xbbbb);
    m.put_u64(regs - 8, E + 0x08);
    m.put_u64(b_sp + 24, C + 0x30);
}

/// The handler S switched to the IRQ stack: it pushed one register (its CFA is 16 above the
/// old sp), saved the old sp in the top slot and called A there. Returns A's sp.
fn switch_to_irq_stack(m: &mut SparseMemory, old_sp: u64) -> u64 {
    let tos = IRQ + SIZE - 8;
    m.put_u64(tos, old_sp);
    m.put_u64(tos - 8, S + 0x10); // S's call of A
    tos - 16 // A: CFA = sp + 16 = tos
}

#[test]
fn hardirq_stack_switch_reads_the_saved_sp_then_adds_the_offset() {
    let mut m = machine();
    let regs = TASK + 0x3800;
    interrupt_on_task(&mut m, regs, TASK + 0x3a00);
    // S was called by E: its CFA is `regs`, the old sp one push and the return address below
    let a_sp = switch_to_irq_stack(&mut m, regs - 16);
    let t = walk(m, &at(A + 0x10, a_sp));
    assert_eq!(t.end, TraceEnd::EndOfStack, "{t:#?}");
    assert_eq!(pcs(&t), [A + 0x10, S + 0x10, E + 0x08, B + 0x40, C + 0x30]);
    let (irq, task) = (Some(StackKind::Irq), Some(StackKind::Task));
    assert_eq!(kinds(&t), [irq, irq, task, task, task]);
    // S's frame is at the saved-sp slot; E's return address was read from below the pt_regs
    assert_eq!(t.frames[1].sp, IRQ + SIZE - 8);
    assert_eq!(t.frames[2].ra_slot, Some(regs - 8));
    let exc = t.frames[3]
        .exception
        .as_ref()
        .expect("the interrupted context");
    assert_eq!((exc.addr, exc.partial, exc.user), (regs, false, false));
    assert_eq!(t.frames[3].regs.get(reg::RSP), Some(TASK + 0x3a00));
    assert!(t.frames.iter().all(|f| f.reliable));
}

#[test]
fn softirq_on_the_irq_stack_returns_to_the_calling_task_frame() {
    // `do_softirq_own_stack` from task context: B called S (return address B + 0x40), which
    // switched to the IRQ stack; no register block, the caller's frame continues on the task
    let mut m = machine();
    let cfa = TASK + 0x3a00;
    m.put_u64(cfa - 8, B + 0x40);
    m.put_u64(cfa + 24, C + 0x30); // B: CFA = sp + 32
    let a_sp = switch_to_irq_stack(&mut m, cfa - 16);
    let t = walk(m, &at(A + 0x10, a_sp));
    assert_eq!(t.end, TraceEnd::EndOfStack, "{t:#?}");
    assert_eq!(pcs(&t), [A + 0x10, S + 0x10, B + 0x40, C + 0x30]);
    let (irq, task) = (Some(StackKind::Irq), Some(StackKind::Task));
    assert_eq!(kinds(&t), [irq, irq, task, task]);
    assert!(t.frames.iter().all(|f| f.exception.is_none()));
}

#[test]
fn ist_exception_stacks_return_to_the_interrupted_stack() {
    // an NMI (or #DF, #MC, #DB) taken on its own stack: the entry code E saved the interrupted
    // context's pt_regs on the IST stack and called handler A
    for ist in [
        ExceptionStack::Nmi,
        ExceptionStack::DoubleFault,
        ExceptionStack::MachineCheck,
        ExceptionStack::Debug,
    ] {
        let mut m = machine();
        m.fill(IST, IST_SIZE as usize, 0);
        let regs = IST + IST_SIZE - 168;
        interrupt_on_task(&mut m, regs, TASK + 0x3a00);
        let stacks = with_stacks(&[(IST, IST_SIZE, StackKind::Exception(ist))]);
        let t = walk_with(m, &at(A + 0x10, regs - 16), &stacks, Limits::default());
        assert_eq!(t.end, TraceEnd::EndOfStack, "{ist:?}: {t:#?}");
        assert_eq!(pcs(&t), [A + 0x10, E + 0x08, B + 0x40, C + 0x30], "{ist:?}");
        let (e, task) = (Some(StackKind::Exception(ist)), Some(StackKind::Task));
        assert_eq!(kinds(&t), [e, e, task, task], "{ist:?}");
        assert_eq!(t.frames[2].exception.as_ref().map(|x| x.addr), Some(regs));
    }
}

#[test]
fn nmi_over_an_irq_over_a_task_crosses_three_stacks() {
    let mut m = machine();
    m.fill(IST, IST_SIZE as usize, 0);
    // the task was interrupted in B; the IRQ handler S switched stacks and called B, which
    // the NMI interrupted at B + 0x40 with its sp 32 below S's return address slot
    let task_regs = TASK + 0x3800;
    interrupt_on_task(&mut m, task_regs, TASK + 0x3a00);
    let irq_b_sp = switch_to_irq_stack(&mut m, task_regs - 16) - 16;
    let nmi_regs = IST + IST_SIZE - 168;
    pt_regs(&mut m, nmi_regs, B + 0x40, irq_b_sp, 0x10, 0xcccc);
    m.put_u64(nmi_regs - 8, E + 0x08);
    // B's return address (CFA - 8 = irq_b_sp + 24) is S's call: the slot at the IRQ stack's top
    assert_eq!(irq_b_sp + 24, IRQ + SIZE - 16);
    let stacks = with_stacks(&[(IST, IST_SIZE, StackKind::Exception(ExceptionStack::Nmi))]);
    let t = walk_with(m, &at(A + 0x10, nmi_regs - 16), &stacks, Limits::default());
    assert_eq!(t.end, TraceEnd::EndOfStack, "{t:#?}");
    assert_eq!(
        pcs(&t),
        [
            A + 0x10,
            E + 0x08,
            B + 0x40,
            S + 0x10,
            E + 0x08,
            B + 0x40,
            C + 0x30
        ]
    );
    let nmi = Some(StackKind::Exception(ExceptionStack::Nmi));
    let (irq, task) = (Some(StackKind::Irq), Some(StackKind::Task));
    assert_eq!(kinds(&t), [nmi, nmi, irq, irq, task, task, task]);
    let blocks: Vec<_> = t
        .frames
        .iter()
        .filter_map(|f| f.exception.as_ref().map(|e| e.addr))
        .collect();
    assert_eq!(blocks, [nmi_regs, task_regs]);
}

#[test]
fn entry_trampoline_stack_iret_frame_leads_to_the_task_stack() {
    // on the entry stack, P's CFA is the hardware's iret frame (ip, cs, flags, sp, ss)
    let mut m = machine();
    m.fill(ENTRY, 0x1000, 0);
    let frame = ENTRY + 0x1000 - 40;
    let b_sp = TASK + 0x3a00;
    for (i, v) in [B + 0x40, 0x10, 0x246, b_sp, 0x18].iter().enumerate() {
        m.put_u64(frame + 8 * i as u64, *v);
    }
    m.put_u64(frame - 8, P + 0x10);
    m.put_u64(b_sp + 24, C + 0x30);
    let stacks = with_stacks(&[(ENTRY, 0x1000, StackKind::Entry)]);
    let t = walk_with(m, &at(A + 0x10, frame - 16), &stacks, Limits::default());
    assert_eq!(t.end, TraceEnd::EndOfStack, "{t:#?}");
    assert_eq!(pcs(&t), [A + 0x10, P + 0x10, B + 0x40, C + 0x30]);
    let (entry, task) = (Some(StackKind::Entry), Some(StackKind::Task));
    assert_eq!(kinds(&t), [entry, entry, task, task]);
    let exc = t.frames[2].exception.as_ref().unwrap();
    assert!(exc.partial && !exc.user);
    // from user mode, the same frame ends the walk
    let mut m = machine();
    m.fill(ENTRY, 0x1000, 0);
    for (i, v) in [0x40_1000, 0x33, 0x246, 0x7fff_0000, 0x2b]
        .iter()
        .enumerate()
    {
        m.put_u64(frame + 8 * i as u64, *v);
    }
    m.put_u64(frame - 8, P + 0x10);
    let t = walk_with(m, &at(A + 0x10, frame - 16), &stacks, Limits::default());
    assert_eq!(t.end, TraceEnd::UserMode);
    assert_eq!(t.frames.last().unwrap().pc, 0x40_1000);
}

#[test]
fn a_saved_sp_pointing_back_to_the_irq_stack_is_a_loop() {
    // the IRQ stack's saved sp points into the IRQ stack itself: no progress, an error
    let mut m = machine();
    let a_sp = switch_to_irq_stack(&mut m, IRQ + 0x100);
    m.put_u64(IRQ + 0x110 - 8, B + 0x40);
    let t = walk(m, &at(A + 0x10, a_sp));
    assert!(matches!(stopped(&t), StopReason::Loop { .. }), "{t:#?}");
}

#[test]
fn user_mode_exception_frame_ends_the_walk() {
    let mut m = machine();
    let sp = TASK + SIZE - 168 - 8;
    m.put_u64(sp, E + 0x10); // A's return address into E
    pt_regs(&mut m, sp + 8, 0x40_1000, 0x7fff_0000, 0x33, 0);
    let t = walk(m, &at(A + 0x10, sp - 8));
    assert_eq!(t.end, TraceEnd::UserMode);
    let last = t.frames.last().unwrap();
    assert_eq!(last.pc, 0x40_1000);
    assert!(last.exception.as_ref().unwrap().user);
}

#[test]
fn partial_regs_take_only_the_iret_frame() {
    let mut m = machine();
    let sp = TASK + 0x3000;
    // P's CFA = sp points at the iret frame (ip, cs, flags, sp, ss)
    let interrupted_sp = TASK + 0x3400;
    for (i, v) in [B + 0x50, 0x10, 0x246, interrupted_sp, 0x18]
        .iter()
        .enumerate()
    {
        m.put_u64(sp + 8 * i as u64, *v);
    }
    m.put_u64(interrupted_sp + 24, C + 0x30);
    let mut start = at(P + 0x10, sp);
    start.regs.set(reg::RBX, 0x77);
    let t = walk(m, &start);
    assert_eq!(pcs(&t), [P + 0x10, B + 0x50, C + 0x30]);
    let f = &t.frames[1];
    assert!(f.exception.as_ref().unwrap().partial);
    assert_eq!(f.exception.as_ref().unwrap().addr, sp - 128);
    // the interrupted context keeps what the partial block does not hold
    assert_eq!(f.regs.get(reg::RBX), Some(0x77));
}

#[test]
fn frame_pointer_row_recovers_bp() {
    let mut m = machine();
    let sp = TASK + 0x3000;
    let bp = sp + 0x40;
    m.put_u64(bp, 0x5555); // caller's bp at CFA - 16 = bp
    m.put_u64(bp + 8, C + 0x30); // return address at CFA - 8
    let mut start = at(F + 0x10, sp);
    start.regs.set(reg::RBP, bp);
    let t = walk(m, &start);
    assert_eq!(pcs(&t), [F + 0x10, C + 0x30]);
    assert_eq!(t.frames[1].regs.get(reg::RBP), Some(0x5555));
    assert_eq!(t.frames[1].sp, bp + 16);
}

#[test]
fn no_table_entry_falls_back_to_frame_pointers() {
    // a table covering code before its first entry: no row there
    let mut m = machine();
    let sp = TASK + 0x3000;
    let bp = sp + 0x20;
    m.put_u64(bp, 0);
    m.put_u64(bp + 8, C + 0x30);
    let ips = vec![B];
    let t = OrcTable::new(
        "m",
        ips,
        call(32).to_vec(),
        OrcLayout::current(),
        vec![(A, TEXT_END)],
    )
    .unwrap();
    let p = program_with(m, t);
    let mut start = at(A + 0x10, sp);
    start.regs.set(reg::RBP, bp);
    let trace = p.unwind(&start, &stacks(), Limits::default()).unwrap();
    assert_eq!(trace.frames[1].pc, C + 0x30);
    assert_eq!(trace.frames[1].found, FoundBy::Fp);
    assert!(!trace.frames[1].reliable);
}

#[test]
fn undefined_row_recovers_through_a_verified_call_site() {
    let mut m = machine();
    let sp = TASK + 0x3000;
    // B + 0x45: just after `call U` (e8 rel32) at B + 0x40
    let ret = B + 0x45;
    m.write(B + 0x40, &[0xe8]);
    m.write(B + 0x41, &((U as i64 - ret as i64) as i32).to_le_bytes());
    m.put_u64(sp + 0x10, A + 0x20); // stale: A + 0x20 follows no call
    m.put_u64(sp + 0x28, ret);
    m.put_u64(sp + 0x30 + 24, C + 0x30); // B: CFA = (sp + 0x30) + 32
    let t = walk(m, &at(U + 0x10, sp));
    assert_eq!(t.end, TraceEnd::EndOfStack, "{t:#?}");
    assert_eq!(pcs(&t), [U + 0x10, ret, C + 0x30]);
    assert_eq!(t.frames[1].found, FoundBy::Scan);
    assert!(t.frames[1].reliable);
    assert_eq!(t.frames[1].ra_slot, Some(sp + 0x28));
}

#[test]
fn unknown_frame_pointer_is_derived_from_the_call_site() {
    // U (no information) called F (CFA = bp + 16) whose bp is unknown after the recovery:
    // F's return address is found by its call site, and bp = CFA - 16 follows.
    let mut m = machine();
    let sp = TASK + 0x3000;
    let ret_f = F + 0x25;
    m.write(F + 0x20, &[0xe8]);
    m.write(F + 0x21, &((U as i64 - ret_f as i64) as i32).to_le_bytes());
    m.put_u64(sp + 0x8, ret_f);
    let ret_c = C + 0x35;
    m.write(C + 0x30, &[0xe8]);
    m.write(C + 0x31, &((F as i64 - ret_c as i64) as i32).to_le_bytes());
    let cfa_f = sp + 0x60;
    m.put_u64(cfa_f - 16, 0x4242); // F saved its caller's bp
    m.put_u64(cfa_f - 8, ret_c);
    let t = walk(m, &at(U + 0x10, sp));
    assert_eq!(pcs(&t), [U + 0x10, ret_f, ret_c], "{t:#?}");
    assert_eq!(t.frames[2].regs.get(reg::RBP), Some(0x4242));
}

// ---------- walks that must stop cleanly ----------

fn stopped(t: &Trace) -> &StopReason {
    match &t.end {
        TraceEnd::Error(why) => why,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn a_frame_that_does_not_move_is_a_loop() {
    let mut m = machine();
    let sp = TASK + 0x3000;
    m.put_u64(sp - 8, L + 0x10); // L: CFA = sp, return address at sp - 8: itself, forever
    let t = walk(m, &at(L + 0x10, sp));
    assert!(matches!(stopped(&t), StopReason::Loop { .. }), "{t:#?}");
    assert!(t.frames.len() <= 2 + Limits::default().max_scanned);
}

#[test]
fn garbage_return_address_stops_then_scans() {
    let mut m = machine();
    let sp = TASK + 0x3000;
    m.put_u64(sp + 8, 0xdead_beef); // A's return address: not text
    m.put_u64(sp + 0x40, B + 0x10); // text further up: a guess
    m.put_u64(sp + 0x48, C + 0x10);
    let t = walk(m, &at(A + 0x10, sp));
    assert!(matches!(stopped(&t), StopReason::BadReturnAddress { .. }));
    let guesses: Vec<_> = t.frames[1..]
        .iter()
        .map(|f| (f.pc, f.found, f.reliable))
        .collect();
    assert_eq!(
        guesses,
        [
            (B + 0x10, FoundBy::Scan, false),
            (C + 0x10, FoundBy::Scan, false)
        ]
    );
}

#[test]
fn pc_outside_every_table_without_frame_pointer() {
    let t = walk(machine(), &at(0x1234_5678, TASK + 0x3000));
    assert!(matches!(stopped(&t), StopReason::NoInfo { .. }));
    assert_eq!(t.frames.len(), 1);
}

#[test]
fn unreadable_and_off_stack_memory() {
    // the stack page is missing from memory
    let mut m = machine();
    m.unmap(TASK);
    let t = walk(m, &at(A + 0x10, TASK + 0x3000));
    assert!(
        matches!(stopped(&t), StopReason::Unreadable { .. }),
        "{t:#?}"
    );
    // sp outside every stack
    let t = walk(machine(), &at(A + 0x10, 0xffff_8880_dead_0000));
    assert!(matches!(stopped(&t), StopReason::OffStack { .. }), "{t:#?}");
    // a stack switch that comes back to a stack it left
    let mut m = machine();
    let isp = IRQ + 0x100;
    m.put_u64(isp + 8, H + 0x10);
    let tsp = TASK + 0x1000;
    m.put_u64(isp + 16, tsp);
    m.put_u64(tsp - 8, H + 0x10); // H again, on the task stack, switching back to the IRQ stack
    m.put_u64(tsp, IRQ + 0x800);
    m.put_u64(IRQ + 0x800 - 8, C + 0x10);
    let t = walk(m, &at(A + 0x10, isp));
    assert!(matches!(stopped(&t), StopReason::Loop { .. }), "{t:#?}");
}

#[test]
fn missing_pc_or_sp_and_depth_limit() {
    let t = walk(
        machine(),
        &Start {
            regs: RegSet::new(),
            ..at(0, 0)
        },
    );
    assert!(t.frames.is_empty());
    assert!(matches!(stopped(&t), StopReason::MissingReg { .. }));
    // a long chain of B frames, cut by the limit
    let mut m = machine();
    let mut sp = TASK + 0x100;
    for _ in 0..100 {
        m.put_u64(sp + 24, B + 0x10);
        sp += 32;
    }
    let limits = Limits {
        max_frames: 10,
        max_scanned: 0,
    };
    let t = walk_with(m, &at(B + 0x10, TASK + 0x100), &stacks(), limits);
    assert_eq!(t.frames.len(), 10);
    assert_eq!(stopped(&t), &StopReason::TooDeep { limit: 10 });
}

#[test]
fn random_stacks_and_tables_never_panic() {
    // xorshift: deterministic garbage
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let rounds: usize = std::env::var("KDIVE_UNWIND_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    for round in 0..rounds {
        let mut m = machine();
        let sp = (TASK + next() % SIZE) & !7;
        // the stack: a mix of text addresses, stack addresses and noise
        for i in 0..(SIZE / 8) {
            let v = match next() % 4 {
                0 | 3 if next() % 2 == 0 => TEXT + next() % (TEXT_END - TEXT + 0x40),
                1 => TASK + next() % (SIZE + 0x100),
                2 => IRQ + next() % SIZE,
                _ => next(),
            };
            m.put_u64(TASK + 8 * i, v);
            m.put_u64(IRQ + 8 * i, v.rotate_left(7));
        }
        // random code bytes (call sites may decode as anything)
        for i in 0..(TEXT_END - TEXT) / 8 {
            m.put_u64(TEXT + 8 * i, next());
        }
        // a random table
        let n = 1 + (next() % 64) as usize;
        let mut ips: Vec<u64> = (0..n).map(|_| TEXT + next() % (TEXT_END - TEXT)).collect();
        ips.sort();
        // mostly plausible entries (small offsets, real registers), some pure noise
        let raw: Vec<u8> = (0..n)
            .flat_map(|_| {
                if next() % 8 == 0 {
                    return (0..6).map(|_| next() as u8).collect::<Vec<_>>();
                }
                let regs = [SP, SP, SP, BP, SP_INDIRECT, 8, 0, 2, 3, 6, 7];
                let sp_reg = regs[(next() % regs.len() as u64) as usize];
                let bp_reg = [0, 0, PREV_SP, BP][(next() % 4) as usize];
                let off = |x: u64| (8 * (x % 12)) as i16 - 16;
                orc(sp_reg, off(next()), bp_reg, off(next()), (next() % 5) as u8).to_vec()
            })
            .collect();
        let layout = if round % 2 == 0 {
            OrcLayout::current()
        } else {
            OrcLayout::legacy()
        };
        let table = OrcTable::new("r", ips, raw, layout, vec![]).unwrap();
        let p = program_with(m, table);
        let mut start = at(TEXT + next() % (TEXT_END - TEXT), sp);
        for r in [reg::RBP, reg::RDI, reg::RDX, reg::R10, reg::R13] {
            start.regs.set(r, TASK + next() % SIZE);
        }
        start.return_address = next() % 2 == 0;
        let limits = Limits {
            max_frames: 64,
            max_scanned: 16,
        };
        let t = p.unwind(&start, &stacks(), limits).unwrap();
        assert!(t.frames.len() <= limits.max_frames + limits.max_scanned);
        // never walks down a stack
        for w in t.frames.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if a.stack == b.stack && b.found != FoundBy::Scan && b.exception.is_none() {
                assert!(b.sp > a.sp, "round {round}: {t:#?}");
            }
        }
        // also without any stack bounds
        let _ = p.unwind(&start, &Stacks::default(), limits).unwrap();
    }
}

// ---------- tables read from memory ----------

#[test]
fn tables_read_from_memory_with_relative_ips_in_both_layouts() {
    for layout in [OrcLayout::legacy(), OrcLayout::current()] {
        let mut m = SparseMemory::default();
        let ip_table = 0xffff_ffff_8200_0000u64;
        let orc_table = 0xffff_ffff_8200_1000u64;
        m.fill(ip_table, 0x2000, 0);
        let targets = [A, B, C];
        for (i, &t) in targets.iter().enumerate() {
            let at = ip_table + 4 * i as u64;
            m.write(at, &((t as i64 - at as i64) as i32).to_le_bytes());
        }
        // legacy CALL is type 0; current CALL is type 2
        let ty = if layout == OrcLayout::legacy() { 0 } else { 2 };
        for (i, off) in [16i16, 32, 48].iter().enumerate() {
            m.write(orc_table + 6 * i as u64, &orc(SP, *off, 0, 0, ty));
        }
        for guess in [Some(layout.clone()), None] {
            let t = OrcTable::read(&m, "t", ip_table, orc_table, 3, guess, vec![]).unwrap();
            assert_eq!(t.len(), 3);
            assert_eq!(t.lookup(&m, B + 5).map(|e| e.sp_offset), Some(32));
            assert_eq!(t.lookup(&m, C).map(|e| e.sp_offset), Some(48));
        }
        assert!(OrcTable::read(&m, "t", ip_table, orc_table, 0, None, vec![]).is_err());
        assert!(OrcTable::read(&m, "t", 0x10, orc_table, 3, None, vec![]).is_err());
    }
}

/// A sorted in-memory table of 2,000 entries, one every 16 bytes of text from `TEXT`, each
/// with its index as sp offset; a weak terminator shares the ip of entry 1,000 and sorts first.
fn big_table(m: &mut SparseMemory, ip_table: u64, orc_table: u64) -> usize {
    let count = 2001;
    m.fill(ip_table, 4 * count as usize, 0);
    m.fill(orc_table, 6 * count as usize, 0);
    let mut ips: Vec<(u64, [u8; 6])> = (0..2000u64)
        .map(|i| (TEXT + 16 * i, call(i as i16)))
        .collect();
    ips.insert(1000, (TEXT + 16 * 1000, orc(0, 0, 0, 0, T_UNDEFINED)));
    for (i, (ip, e)) in ips.iter().enumerate() {
        let at = ip_table + 4 * i as u64;
        m.write(at, &((*ip as i64 - at as i64) as i32).to_le_bytes());
        m.write(orc_table + 6 * i as u64, e);
    }
    count
}

/// Lookups in a table left in memory: by binary search, through a block index, through a
/// wrong or unreadable index (the table's own answer wins), and on a truncated table.
#[test]
fn tables_left_in_memory_are_searched_where_they_are() {
    let (ip_table, orc_table, index) = (
        0xffff_ffff_8200_0000u64,
        0xffff_ffff_8210_0000u64,
        0xffff_ffff_8220_0000u64,
    );
    let mut m = SparseMemory::default();
    let count = big_table(&mut m, ip_table, orc_table);
    // the kernel's index: per 256 bytes of text, the entry in force at the block start
    let blocks = 2000 * 16 / 256 + 1;
    m.fill(index, 4 * blocks as usize, 0);
    for b in 0..blocks {
        let first = (b * 16).min(1999);
        let slot = if first >= 1000 { first + 1 } else { first };
        m.write(index + 4 * b as u64, &(slot as u32).to_le_bytes());
    }
    let plain = OrcTable::read(&m, "t", ip_table, orc_table, count, None, vec![]).unwrap();
    let indexed = OrcTable::read(&m, "t", ip_table, orc_table, count, None, vec![])
        .unwrap()
        .with_block_index(index, TEXT, blocks as u64);
    let mut zeros = m.clone();
    zeros.fill(index, 4 * blocks as usize, 0);
    let stale = OrcTable::read(&zeros, "t", ip_table, orc_table, count, None, vec![])
        .unwrap()
        .with_block_index(index, TEXT, blocks as u64);
    let unmapped = OrcTable::read(&m, "t", ip_table, orc_table, count, None, vec![])
        .unwrap()
        .with_block_index(0xdead_0000, TEXT, blocks as u64);
    assert_eq!(plain.len(), count);
    assert!(plain.covers(TEXT + 16 * 1999) && !plain.covers(TEXT + 16 * 1999 + 1));
    for pc in [
        TEXT,
        TEXT + 5,
        TEXT + 16 * 999 + 15,
        TEXT + 16 * 1000,
        TEXT + 16 * 1234 + 7,
        TEXT + 16 * 1999,
        TEXT + 16 * 5000,
    ] {
        let want = ((pc - TEXT) / 16).min(1999) as i16;
        for (t, mem) in [
            (&plain, &m),
            (&indexed, &m),
            (&stale, &zeros),
            (&unmapped, &m),
        ] {
            for _ in 0..2 {
                // the second time from the table's memo
                let e = t.lookup(mem, pc).unwrap();
                assert_eq!((e.sp_offset, e.kind), (want, OrcType::Call), "{pc:#x}");
            }
        }
    }
    assert_eq!(plain.lookup(&m, TEXT - 1), None);
    // a count past the end of the mapped table: refused when its last ip is unreadable...
    assert!(OrcTable::read(&m, "t", ip_table, orc_table, count + 1, None, vec![]).is_err());
    // ...and lookups that reach unreadable entries find nothing, without panicking
    let mut cut = m.clone();
    cut.fill(orc_table, 6 * 10, 0);
    let l = Some(OrcLayout::current());
    let t = OrcTable::read(&cut, "t", ip_table, orc_table, count, l, vec![]).unwrap();
    assert_eq!(t.lookup(&cut, TEXT + 16 * 1500), None);
    assert_eq!(t.lookup(&cut, TEXT + 16 * 5).map(|e| e.sp_offset), Some(0));
}
