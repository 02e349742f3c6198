//! Stack unwinding: one engine running generic unwind rows over a task's stacks.
//!
//! Sources of rows ([`RowSource`]): the kernel's ORC tables ([`orc`], x86_64) now, DWARF CFI
//! later; without information the architecture's frame-pointer row is used, and after a walk
//! breaks, the rest of the stack is scanned. Every frame says how it was found ([`FoundBy`])
//! and whether it can be trusted. Exception and interrupt frames (`pt_regs`) are recognised
//! from the rows and the walk continues into the interrupted context, across stacks.
//!
//! Which stacks a task may use, and where its walk starts, is kernel knowledge: the linux layer
//! supplies [`Stacks`] and a [`Start`]; [`Program::unwind`] walks.

pub mod aarch64;
mod engine;
pub mod frame;
pub mod orc;
pub mod regs;
pub mod rows;
pub mod scan;
pub mod stacks;
mod tables;
pub mod x86_64;

pub use engine::{Limits, Unwinder};
pub use frame::{ExceptionFrame, FoundBy, Frame, Start, StopReason, Trace, TraceEnd};
pub use regs::{Reg, RegSet};
pub use rows::{CfaRule, RegRule, Row, RowKind, RowLookup, RowSource};
pub use stacks::{ExceptionStack, StackKind, StackRange, Stacks};
pub use tables::{OrcRows, UnwindTables};

use crate::{Program, ProgramError, Result};

/// An architecture's unwinding conventions.
pub trait Arch: Send + Sync {
    /// `"x86_64"`, ...
    fn name(&self) -> &'static str;
    /// The program counter's register number.
    fn pc_reg(&self) -> Reg;
    /// The stack pointer's register number.
    fn sp_reg(&self) -> Reg;
    /// The frame pointer's register number.
    fn fp_reg(&self) -> Reg;
    /// The row used where no unwind information exists: the frame-pointer convention.
    fn fp_row(&self) -> Row;
    /// Size of an exception register block (`pt_regs`).
    fn regs_frame_size(&self) -> u64;
    /// Offset in the block of the part the hardware saves (a partial block's CFA points there).
    fn partial_regs_offset(&self) -> u64;
    /// Decodes a register block (`bytes` spans the whole block; with `partial`, only the
    /// hardware part is taken).
    fn decode_regs_frame(&self, bytes: &[u8], partial: bool) -> RegSet;
    /// Whether the registers are a user-mode context.
    fn is_user(&self, regs: &RegSet) -> bool;
    /// What call instruction ends just before `ret`, given the 8 code bytes before it.
    fn call_site(&self, code: &[u8; 8], ret: u64) -> CallSite;
    /// A return address as the code sees it (aarch64: pointer-authentication bits cleared).
    fn strip_pc(&self, v: u64) -> u64 {
        v
    }
    /// Whether frames found by the frame-pointer convention are trustworthy (aarch64's frame
    /// records are the kernel's own unwind information; x86_64's frame pointers are a fallback).
    fn fp_reliable(&self) -> bool {
        false
    }
    /// The link register holding a call's return address (aarch64's x30), if the
    /// architecture has one.
    fn link_reg(&self) -> Option<Reg> {
        None
    }
    /// The registers a called function must preserve (DWARF numbers).
    fn callee_saved(&self) -> &'static [Reg] {
        &[]
    }
    /// Registers from an `NT_PRSTATUS` note's `pr_reg`.
    fn regs_from_prstatus(&self, gregs: &[u64]) -> RegSet;
    /// The lower-case name of a register, for JSON and register blocks.
    fn reg_name(&self, r: Reg) -> Option<&'static str>;
}

/// The instruction before a return address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallSite {
    /// A direct call to this address.
    Direct(u64),
    /// An indirect call (through a register or memory).
    Indirect,
    /// Not a call: the address is no return address.
    None,
}

impl Program {
    /// The unwinding conventions of the program's architecture (x86_64 for programs not opened
    /// from a dump).
    pub fn unwind_arch(&self) -> Result<Box<dyn Arch>> {
        match self.dump().map(|d| d.meta().arch) {
            None | Some(kdive_dump::Arch::X86_64) => {
                Ok(Box::new(x86_64::X86_64::from_types(self.types())))
            }
            Some(kdive_dump::Arch::Aarch64) => Ok(Box::new(self.aarch64())),
            Some(other) => Err(ProgramError::Unsupported(format!(
                "stack unwinding is not supported on {other:?} yet"
            ))),
        }
    }

    /// The aarch64 conventions of this kernel: its `pt_regs` and `KERNELPACMASK`.
    fn aarch64(&self) -> aarch64::Aarch64 {
        let info = self.dump().and_then(|d| d.vmcoreinfo());
        let pac = info
            .and_then(|i| {
                i.number("KERNELPACMASK")
                    .map(|v| v as u64)
                    .or_else(|| i.hex("KERNELPACMASK"))
            })
            .unwrap_or(0);
        aarch64::Aarch64::from_types(self.types(), pac)
    }

    /// Where a sleeping task's walk starts, for architectures whose switch frame the program
    /// layer reads itself (aarch64's `thread.cpu_context`); `None` for the others.
    pub fn sleeping_start(&self, task: u64) -> Option<Result<Start>> {
        match self.dump().map(|d| d.meta().arch) {
            Some(kdive_dump::Arch::Aarch64) => {
                Some(aarch64::sleeping_start(self, &self.aarch64(), task))
            }
            _ => None,
        }
    }

    /// Walks a stack from `start` over `stacks`, with the program's unwind tables.
    pub fn unwind(&self, start: &Start, stacks: &Stacks, limits: Limits) -> Result<Trace> {
        if self.dump().map(|d| d.meta().arch) == Some(kdive_dump::Arch::Aarch64) {
            let arch = self.aarch64();
            let rows = aarch64::FrameRecordRows {
                prog: self,
                arch: &arch,
            };
            return Ok(Unwinder {
                mem: self.mem(),
                rows: &rows,
                arch: &arch,
                stacks,
                limits,
            }
            .run(start));
        }
        let arch = self.unwind_arch()?;
        let rows = SymbolizedRows {
            rows: self.unwind_tables().rows(self),
            prog: self,
        };
        Ok(Unwinder {
            mem: self.mem(),
            rows: &rows,
            arch: &*arch,
            stacks,
            limits,
        }
        .run(start))
    }
}

/// A program's rows, with its symbols telling where functions start.
struct SymbolizedRows<'a> {
    rows: OrcRows<'a>,
    prog: &'a Program,
}

impl RowSource for SymbolizedRows<'_> {
    fn row(&self, pc: u64) -> RowLookup {
        self.rows.row(pc)
    }
    fn is_text(&self, pc: u64) -> bool {
        self.rows.is_text(pc)
    }
    fn function_start(&self, pc: u64) -> Option<u64> {
        self.prog.symbols().by_addr(pc).map(|(s, _)| s.addr)
    }
}
