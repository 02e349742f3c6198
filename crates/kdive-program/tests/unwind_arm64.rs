//! The unwinder with aarch64's conventions over synthetic stacks: frame records, a leaf
//! function whose caller is only in the link register, an exception vector's `pt_regs`
//! (kernel and user mode), and pointer-authentication codes on return addresses.

use kdive_program::unwind::aarch64::{reg, Aarch64};
use kdive_program::unwind::{
    Arch, FoundBy, Limits, RegSet, Row, RowKind, RowLookup, RowSource, StackKind, StackRange,
    Stacks, Start, TraceEnd, Unwinder,
};
use kdive_testdata::mem::SparseMemory;

const TEXT: u64 = 0xffff_8000_8001_0000;
const LEAF: u64 = TEXT; // no frame record of its own
const G: u64 = TEXT + 0x1000; // calls LEAF
const H: u64 = TEXT + 0x2000; // the thread's entry: end of stack
const VEC: u64 = TEXT + 0x3000; // an exception vector (el1h_64_irq)
const K: u64 = TEXT + 0x4000; // interrupted by the exception
const I: u64 = TEXT + 0x5000; // the exception's handler
const TEXT_END: u64 = TEXT + 0x6000;
const STACK: u64 = 0xffff_8000_8200_0000;
const SIZE: u64 = 0x4000;
const PAC: u64 = 0xfff0_0000_0000_0000;

/// Rows as the kernel's frame records give them: the vector's `pt_regs`, the end at H.
struct Rows(Aarch64);

impl RowSource for Rows {
    fn row(&self, pc: u64) -> RowLookup {
        match pc & !0xfff {
            VEC => RowLookup::Found(self.0.exception_row(), FoundBy::Regs),
            H => RowLookup::Found(
                Row {
                    kind: RowKind::EndOfStack,
                    ..self.0.fp_row()
                },
                FoundBy::Fp,
            ),
            _ => RowLookup::Found(self.0.fp_row(), FoundBy::Fp),
        }
    }
    fn is_text(&self, pc: u64) -> bool {
        (TEXT..TEXT_END).contains(&pc)
    }
    fn function_start(&self, pc: u64) -> Option<u64> {
        self.is_text(pc).then_some(pc & !0xfff)
    }
}

fn walk(mem: &SparseMemory, regs: RegSet) -> (Vec<u64>, TraceEnd) {
    let arch = Aarch64::default().with_pac_mask(PAC);
    let rows = Rows(arch.clone());
    let stacks = Stacks::new(vec![StackRange {
        start: STACK,
        end: STACK + SIZE,
        kind: StackKind::Task,
    }]);
    let start = Start {
        regs,
        return_address: false,
        ra_slot: None,
        found: FoundBy::Regs,
    };
    let t = Unwinder {
        mem,
        rows: &rows,
        arch: &arch,
        stacks: &stacks,
        limits: Limits::default(),
    }
    .run(&start);
    (t.frames.iter().map(|f| f.pc).collect(), t.end)
}

/// Writes words into the stack already mapped.
fn put(mem: &mut SparseMemory, at: u64, words: &[u64]) {
    for (i, &w) in words.iter().enumerate() {
        mem.put_u64(at + 8 * i as u64, w);
    }
}

/// A signed return address: a PAC in the bits `KERNELPACMASK` names, bit 55 kept.
fn sign(v: u64) -> u64 {
    (v & !PAC) | 0x2a50_0000_0000_0000 | (1 << 55)
}

#[test]
fn leaf_caller_from_the_link_register() {
    let mut mem = SparseMemory::new();
    mem.fill(STACK, SIZE as usize, 0);
    // G's frame record: back to H; H's: the last
    let g_fp = STACK + 0x3f00;
    let h_fp = STACK + 0x3f80;
    put(&mut mem, g_fp, &[h_fp, sign(H + 0x40)]);
    put(&mut mem, h_fp, &[0, 0]);
    let mut regs = RegSet::new();
    regs.set(reg::PC, LEAF + 0x10);
    regs.set(reg::X30, sign(G + 0x24));
    regs.set(reg::X29, g_fp);
    regs.set(reg::SP, g_fp - 0x10);
    let (pcs, end) = walk(&mem, regs);
    assert_eq!(pcs, [LEAF + 0x10, G + 0x24, H + 0x40]);
    assert_eq!(end, TraceEnd::EndOfStack);

    // once the function has called something, x30 points into it: no extra frame
    regs.set(reg::X30, LEAF + 0x8);
    regs.set(reg::X29, g_fp);
    let (pcs, _) = walk(&mem, regs);
    assert_eq!(pcs, [LEAF + 0x10, H + 0x40]);
}

#[test]
fn exception_vector_pt_regs() {
    let arch = Aarch64::default();
    let so = arch.stackframe_offset();
    let mut mem = SparseMemory::new();
    mem.fill(STACK, SIZE as usize, 0);
    let regs_at = STACK + 0x3000;
    let i_fp = regs_at - 0x20;
    let k_fp = STACK + 0x3f00;
    // the handler's record points at the pt_regs' own record, and returns into the vector
    put(&mut mem, i_fp, &[regs_at + so, sign(VEC + 0x80)]);
    // pt_regs: x29 = K's record, x30 inside K, pc, sp, pstate EL1h
    mem.put_u64(regs_at + 29 * 8, k_fp);
    mem.put_u64(regs_at + 30 * 8, K + 0x8);
    mem.put_u64(regs_at + 248, k_fp - 0x30);
    mem.put_u64(regs_at + 256, K + 0x30);
    mem.put_u64(regs_at + 264, 0x6040_0005);
    put(&mut mem, regs_at + so, &[k_fp, K + 0x30]);
    put(&mut mem, k_fp, &[STACK + 0x3f80, H + 0x40]);
    let mut regs = RegSet::new();
    regs.set(reg::PC, I + 0x4);
    regs.set(reg::X30, I + 0x2);
    regs.set(reg::X29, i_fp);
    regs.set(reg::SP, i_fp);
    let (pcs, end) = walk(&mem, regs);
    assert_eq!(pcs, [I + 0x4, VEC + 0x80, K + 0x30, H + 0x40]);
    assert_eq!(end, TraceEnd::EndOfStack);

    // the same from user mode (PSTATE EL0t): the walk ends there
    mem.put_u64(regs_at + 264, 0x8000_1000);
    mem.put_u64(regs_at + 256, 0x0000_ffff_1234_5678);
    let (pcs, end) = walk(&mem, regs);
    assert_eq!(pcs, [I + 0x4, VEC + 0x80, 0x0000_ffff_1234_5678]);
    assert_eq!(end, TraceEnd::UserMode);
    assert!(arch.is_user(&{
        let mut r = RegSet::new();
        r.set(reg::PSTATE, 0x8000_1000);
        r
    }));
}
