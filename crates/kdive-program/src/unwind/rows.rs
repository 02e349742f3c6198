//! Generic unwind rows: what every source of unwind information (ORC, DWARF CFI, the
//! frame-pointer convention) is normalised into, so one engine runs them all.

use super::frame::FoundBy;
use super::regs::Reg;

/// How to compute the canonical frame address (the caller's stack pointer before the call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CfaRule {
    /// `CFA = reg + offset`.
    RegOffset { reg: Reg, offset: i64 },
    /// `CFA = *(reg + offset)`: the previous stack pointer was saved in memory (a stack switch).
    DerefRegOffset { reg: Reg, offset: i64 },
    /// `CFA = *reg + offset`: the previous stack pointer was saved where `reg` points (the top
    /// of a stack switched to), and the CFA lies `offset` above it.
    RegDerefOffset { reg: Reg, offset: i64 },
}

/// How to recover a register of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegRule {
    /// The register keeps the callee's value.
    Unchanged,
    /// The caller's value cannot be known.
    Undefined,
    /// Saved at `CFA + offset`.
    AtCfa(i64),
    /// Saved at `reg + offset`, `reg` being the callee's value of that register.
    AtReg { reg: Reg, offset: i64 },
}

/// What kind of frame a row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// An ordinary call frame: the return address is found by the `ra` rule.
    Call,
    /// An exception or interrupt frame: a register block (`pt_regs`) sits at the CFA. A partial
    /// block holds only what the hardware pushed (the CFA points at its instruction pointer).
    Regs { partial: bool },
    /// The outermost frame: the walk ends cleanly here.
    EndOfStack,
    /// The unwind information says nothing can be known here (an error, not an end).
    Undefined,
}

/// One row of unwind information: valid for one range of instruction addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: RowKind,
    pub cfa: CfaRule,
    /// The return address (call frames).
    pub ra: RegRule,
    /// Rules for the other registers recovered; registers not listed become unknown.
    pub regs: Vec<(Reg, RegRule)>,
    /// The caller's pc is an exact resume address, not a return address (looked up as is,
    /// not at `pc - 1`): set below signal and interrupt frames.
    pub signal: bool,
}

/// What a source of unwind information answers for one pc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowLookup {
    /// A row, and which kind of information it came from.
    Found(Row, FoundBy),
    /// The source covers no code at this pc.
    NoInfo,
}

/// A provider of unwind rows (ORC tables now; DWARF CFI later).
pub trait RowSource {
    /// The row for instruction address `pc` (already adjusted: the engine looks return
    /// addresses up at `pc - 1`).
    fn row(&self, pc: u64) -> RowLookup;
    /// Whether `pc` lies in code this source knows of (kernel or module text).
    fn is_text(&self, pc: u64) -> bool;
    /// Start of the function containing `pc`, when known (for checking call sites).
    fn function_start(&self, _pc: u64) -> Option<u64> {
        None
    }
}
