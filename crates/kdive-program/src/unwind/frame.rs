//! Frames and traces: what an unwind produces.

use super::regs::RegSet;
use super::stacks::StackKind;

/// How a frame's pc was found; also how far it can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FoundBy {
    /// From a register set: the CPU's registers, a saved task frame, or an exception frame.
    Regs,
    /// A return address located by an ORC row.
    Orc,
    /// A return address located by a DWARF CFI row.
    Cfi,
    /// A return address located by following the frame pointer (no unwind information).
    Fp,
    /// A text address found by scanning the stack: a guess.
    Scan,
}

impl FoundBy {
    /// Lower-case name for JSON (`"orc"`, `"fp"`, `"scan"`, `"regs"`, `"cfi"`).
    pub fn name(self) -> &'static str {
        match self {
            FoundBy::Regs => "regs",
            FoundBy::Orc => "orc",
            FoundBy::Cfi => "cfi",
            FoundBy::Fp => "fp",
            FoundBy::Scan => "scan",
        }
    }
}

/// A register block (`pt_regs`) the frame's registers were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionFrame {
    /// Address of the block (the start of the full `pt_regs`, even for a partial one).
    pub addr: u64,
    /// Only the hardware-pushed part (pc, sp, flags, segments) is meaningful.
    pub partial: bool,
    /// The interrupted context was user mode: the walk ends with this frame.
    pub user: bool,
    /// Every register of the block as stored (for a partial block, the words around it too).
    pub regs: RegSet,
}

/// One frame of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The instruction address: a return address, or an exact pc for frames from registers.
    pub pc: u64,
    /// The stack pointer in this frame (after the return to it, for a caller frame).
    pub sp: u64,
    /// Where on the stack the return address `pc` was read from (`None` for a pc from registers).
    pub ra_slot: Option<u64>,
    /// How `pc` was found.
    pub found: FoundBy,
    /// False for guesses (scanned addresses) and for frames the unwind information did not cover.
    pub reliable: bool,
    /// `pc` is exact (interrupted here), not a return address: look it up as is.
    pub exact: bool,
    /// Registers known in this frame.
    pub regs: RegSet,
    /// The register block this frame's registers came from, for exception and interrupt frames.
    pub exception: Option<ExceptionFrame>,
    /// The stack `sp` lies on.
    pub stack: Option<StackKind>,
}

/// Why a walk stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Memory the walk needed could not be read (a page missing from the dump...).
    Unreadable { addr: u64, why: String },
    /// A stack address outside every stack of the task and its CPU.
    OffStack { addr: u64 },
    /// The unwind information marks this pc as having no valid frame.
    Undefined { pc: u64 },
    /// No unwind information, and no usable frame pointer.
    NoInfo { pc: u64 },
    /// A register the row needs is unknown in this frame.
    MissingReg { pc: u64, reg: u16 },
    /// A return address that is not kernel text.
    BadReturnAddress { pc: u64, slot: Option<u64> },
    /// The stack pointer did not move up, or came back to a stack already left.
    Loop { sp: u64 },
    /// More frames than the limit.
    TooDeep { limit: usize },
    /// Nothing to start from: the registers or saved frame could not be read.
    NoStart(String),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Unreadable { addr, why } => write!(f, "cannot read {addr:#x}: {why}"),
            StopReason::OffStack { addr } => write!(f, "{addr:#x} is outside the task's stacks"),
            StopReason::Undefined { pc } => write!(
                f,
                "no valid frame at {pc:#x} (unwind information undefined)"
            ),
            StopReason::NoInfo { pc } => write!(f, "no unwind information for {pc:#x}"),
            StopReason::MissingReg { pc, reg } => {
                write!(f, "register {reg} needed at {pc:#x} is unknown")
            }
            StopReason::BadReturnAddress { pc, slot: Some(s) } => {
                write!(f, "return address {pc:#x} (at {s:#x}) is not kernel text")
            }
            StopReason::BadReturnAddress { pc, slot: None } => {
                write!(f, "pc {pc:#x} is not kernel text")
            }
            StopReason::Loop { sp } => write!(f, "stack pointer {sp:#x} goes the wrong way"),
            StopReason::TooDeep { limit } => write!(f, "more than {limit} frames"),
            StopReason::NoStart(why) => write!(f, "nothing to start from: {why}"),
        }
    }
}

/// How a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEnd {
    /// The unwind information marks the outermost frame (a kernel thread's entry).
    EndOfStack,
    /// The last frame is the user-mode context a system call or interrupt came from.
    UserMode,
    /// The walk could not go on; frames after it, if any, are scanned guesses.
    Error(StopReason),
}

/// The frames of one stack, innermost first, and how the walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub frames: Vec<Frame>,
    pub end: TraceEnd,
}

impl Trace {
    /// True when the walk reached the outermost frame or user mode.
    pub fn complete(&self) -> bool {
        !matches!(self.end, TraceEnd::Error(_))
    }
}

/// Where a walk starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// Registers of the first frame; the pc and sp registers must be known.
    pub regs: RegSet,
    /// The pc is a return address (a saved task frame, a scanned slot), looked up at `pc - 1`.
    pub return_address: bool,
    /// Where the pc was read from, for a return address.
    pub ra_slot: Option<u64>,
    /// How the first pc was found.
    pub found: FoundBy,
}
