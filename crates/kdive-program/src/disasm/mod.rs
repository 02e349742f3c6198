//! Disassembly: machine code decoded into instructions, each architecture's decoder behind one
//! trait, and the code of a range read from a program's memory.
//!
//! Instructions are written as gdb writes them (AT&T syntax for x86_64), without symbols: the
//! caller names branch targets and referenced addresses with its own symbol tables.

pub mod aarch64;
pub mod x86_64;

use kdive_memory::{MemError, ReadVirt};

/// Bytes of code read at most for one request (a large function is ~20 KiB).
pub const MAX_CODE_BYTES: usize = 1 << 20;

/// What an instruction does to the flow of control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Falls through to the next instruction.
    Next,
    Call,
    Jump,
    ConditionalJump,
    Return,
    /// The bytes are no instruction (gdb's `(bad)`).
    Invalid,
}

/// One decoded instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub addr: u64,
    /// Its encoding.
    pub bytes: Vec<u8>,
    /// Prefixes and mnemonic, as gdb writes them (`lock cmpxchg`, `nopl`).
    pub mnemonic: String,
    /// The operands, as gdb writes them (`0x0(%rax,%rax,1)`); empty when there are none.
    pub operands: String,
    /// A direct branch or call's target (the operand is that address).
    pub target: Option<u64>,
    /// The address a PC-relative operand refers to: x86_64's memory operands (gdb's `# 0x…`
    /// comment), aarch64's `adr`/`adrp`/literal loads (written in place).
    pub refers_to: Option<u64>,
    /// What the disassembler writes after the operands and any symbol of the target
    /// (aarch64's `  // b.none`, `\t// #1`), separator included.
    pub comment: Option<String>,
    pub flow: Flow,
}

impl Instruction {
    /// Mnemonic and operands as gdb prints them on x86_64: the mnemonic padded to six columns.
    pub fn text(&self) -> String {
        self.text_with(PAD_TO_SIX)
    }

    /// Mnemonic and operands joined by `separator` ([`Decoder::separator`]).
    pub fn text_with(&self, separator: &str) -> String {
        join_mnemonic(&self.mnemonic, &self.operands, separator)
    }
}

/// [`Decoder::separator`] for gdb's x86 printer: the mnemonic padded to six columns, a space.
pub const PAD_TO_SIX: &str = "";

/// A mnemonic and its operands as the architecture's disassembler joins them: `separator`, or
/// for [`PAD_TO_SIX`] the mnemonic padded to six columns and a space.
pub fn join_mnemonic(mnemonic: &str, operands: &str, separator: &str) -> String {
    match (operands.is_empty(), separator) {
        (true, _) => mnemonic.to_string(),
        (false, PAD_TO_SIX) => format!("{mnemonic:<6} {operands}"),
        (false, sep) => format!("{mnemonic}{sep}{operands}"),
    }
}

/// An architecture's instruction decoder.
pub trait Decoder: Send + Sync {
    /// The architecture's name (`x86_64`).
    fn arch(&self) -> &'static str;

    /// The longest instruction, in bytes.
    fn max_len(&self) -> usize;

    /// What goes between mnemonic and operands (see [`join_mnemonic`]).
    fn separator(&self) -> &'static str {
        PAD_TO_SIX
    }

    /// Whether a PC-relative operand's address is written in place among the operands, to be
    /// followed by its `<symbol>` (aarch64's `adrp x0, 0x… <sym>`), rather than after them as
    /// gdb's x86 `# 0x… <sym>` comment.
    fn pc_relative_in_place(&self) -> bool {
        false
    }

    /// Decodes the instruction that starts `code`, which is at run-time address `addr`. `code`
    /// may be shorter than [`Decoder::max_len`] (the end of what could be read): an instruction
    /// that does not fit is returned as [`Flow::Invalid`] over the bytes there are. `None` only
    /// for empty `code`.
    fn decode(&self, addr: u64, code: &[u8]) -> Option<Instruction>;
}

/// The decoder of an architecture named as the dump names it (`x86_64`), if there is one.
pub fn decoder(arch: &str) -> Option<Box<dyn Decoder>> {
    match arch {
        "x86_64" | "x86-64" | "amd64" => Some(Box::new(x86_64::X86_64)),
        "aarch64" | "arm64" => Some(Box::new(aarch64::Aarch64)),
        _ => None,
    }
}

/// The instructions of `code` (at `addr`), at most `max` of them, stopping at its end.
pub fn decode_all(dec: &dyn Decoder, addr: u64, code: &[u8], max: usize) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while out.len() < max && at < code.len() {
        let Some(insn) = dec.decode(addr.wrapping_add(at as u64), &code[at..]) else {
            break;
        };
        at += insn.bytes.len().max(1);
        out.push(insn);
    }
    out
}

/// The code bytes of `[start, end)` as memory holds them (what ran: alternatives, static calls
/// and jump labels as patched), up to the first byte that cannot be read, with why the read
/// stopped early.
pub fn read_code(mem: &dyn ReadVirt, start: u64, end: u64) -> (Vec<u8>, Option<MemError>) {
    let len = end.saturating_sub(start).min(MAX_CODE_BYTES as u64) as usize;
    let mut buf = vec![0u8; len];
    let got = mem.read_partial(start, &mut buf);
    buf.truncate(got.read.min(len));
    (buf, got.error)
}
