//! What `bt` finds by reading a stack whole rather than unwinding it: the raw stack with
//! symbols (`bt -r`), exception frames anywhere on it (`bt -e`, and `-E` over every CPU's
//! interrupt and exception stacks), and stack overflows (`bt -v`), as crash prints them.

use std::io::{self, Write};

use kdive_program::unwind::scan::stack_words;
use kdive_program::unwind::x86_64::{reg, reg_name, X86_64};
use kdive_program::unwind::{Arch, StackRange};
use kdive_program::Program;
use serde::{Deserialize, Serialize};

use crate::bt::BtRegs;
use crate::format::{crash_symbol_name, AddressNames};
use crate::rd::Symbolic;
use crate::Hex;

/// The kernel's `STACK_END_MAGIC`, written at the lowest word of every task stack.
pub const STACK_END_MAGIC: u64 = 0x57ac_6e9d;

/// Largest stack read whole (x86_64 stacks are 16 KiB; IRQ stacks 16 KiB).
const MAX_STACK: u64 = 1 << 20;

/// One word of a stack, with what crash names it (`symbol+offset`, `[cache]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawWord {
    #[serde(with = "crate::hex")]
    pub address: u64,
    #[serde(with = "crate::hex")]
    pub value: u64,
    pub label: Option<String>,
}

/// `bt -r`: every word of `range`, named as `rd -s` names them.
pub fn raw_words(prog: &Program, range: &StackRange) -> Vec<RawWord> {
    let mut names = AddressNames::new(prog);
    stack_words(prog.mem(), range.start, range.end, MAX_STACK)
        .into_iter()
        .map(|(address, value)| RawWord {
            address,
            value,
            label: names.label(value, Symbolic::Symbols),
        })
        .collect()
}

/// Writes words as crash's `rd -s` lines (two per line, names padded to 16 columns).
pub fn write_raw(out: &mut dyn Write, words: &[RawWord], indent: &str) -> io::Result<()> {
    for line in words.chunks(2) {
        write!(out, "{indent}{:016x}:  ", line[0].address)?;
        for w in line {
            match &w.label {
                Some(l) => write!(out, "{l:<16} ")?,
                None => write!(out, "{:016x} ", w.value)?,
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// An exception frame found on a stack (`bt -e`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FoundFrame {
    /// Where the `pt_regs` is.
    #[serde(with = "crate::hex")]
    pub address: u64,
    pub regs: BtRegs,
    /// The interrupted kernel code's function and offset.
    pub function: Option<String>,
    pub offset: Option<u64>,
}

/// Kernel text: the image's or a module's.
fn is_text(prog: &Program, a: u64) -> bool {
    let s = prog.symbols();
    let image = s
        .address_of("_stext")
        .zip(s.address_of("_etext"))
        .is_some_and(|(x, y)| (x..y).contains(&a));
    image || prog.module_at(a).is_some_and(|m| m.span().contains(a))
}

/// `bt -e`: the words of `range` that start a plausible `pt_regs`, checked as crash checks
/// them: flags with bit 1 set and no reserved bit, and a kernel context (CS 0x10, SS 0x18,
/// RIP in kernel text, RSP a kernel address) or a user one (CS 0x33, SS 0x2b, RIP and RSP
/// user addresses).
pub fn exception_frames(prog: &Program, range: &StackRange) -> Vec<FoundFrame> {
    const RESERVED_FLAGS: u64 = 0xffff_ffff_ffc0_8028;
    const USER_TOP: u64 = 0x0000_8000_0000_0000;
    let arch = X86_64::from_types(prog.types());
    let size = arch.regs_frame_size();
    let words = stack_words(prog.mem(), range.start, range.end, MAX_STACK);
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.1.to_le_bytes()).collect();
    let mut out = Vec::new();
    for (i, &(addr, _)) in words.iter().enumerate() {
        let Some(block) = bytes.get(i * 8..i * 8 + size as usize) else {
            break;
        };
        let regs = arch.decode_regs_frame(block, false);
        let get = |r| regs.get(r).unwrap_or_default();
        let (ip, sp, flags, cs, ss) = (
            get(reg::RIP),
            get(reg::RSP),
            get(reg::RFLAGS),
            get(reg::CS),
            get(reg::SS),
        );
        if flags & RESERVED_FLAGS != 0 || flags & 2 == 0 {
            continue;
        }
        let kernel = cs == 0x10
            && sp >= USER_TOP
            && is_text(prog, ip)
            && (ss == 0x18 || sp == addr + size || sp == addr + size + 8);
        let user = cs == 0x33 && ss == 0x2b && ip < USER_TOP && sp < USER_TOP;
        if !kernel && !user {
            continue;
        }
        let sym = kernel.then(|| prog.symbols().by_addr(ip)).flatten();
        out.push(FoundFrame {
            address: addr,
            regs: BtRegs {
                addr: Some(addr),
                user,
                partial: false,
                registers: regs
                    .iter()
                    .filter_map(|(r, v)| Some((reg_name(r)?.to_string(), Hex(v))))
                    .collect(),
            },
            function: sym
                .as_ref()
                .map(|(s, _)| crash_symbol_name(&s.name).to_string()),
            offset: sym.map(|(_, o)| o),
        });
    }
    out
}

/// A stack searched by `bt -E`: a CPU's interrupt or exception stack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchedStack {
    pub cpu: u32,
    /// `IRQ`, or the exception stack's name (`NMI`, `DOUBLEFAULT`, `DEBUG`, `MCE`, `VC`, `VC2`).
    pub name: String,
    pub frames: Vec<FoundFrame>,
}

/// Writes the found frames as crash's `bt -e` does: a blank line, the frame's kind and
/// address, then its registers.
pub fn write_found(out: &mut dyn Write, frames: &[FoundFrame]) -> io::Result<()> {
    for f in frames {
        writeln!(out)?;
        writeln!(
            out,
            "  {}-MODE EXCEPTION FRAME AT: {:x}",
            if f.regs.user { "USER" } else { "KERNEL" },
            f.address
        )?;
        crate::bt::write_regs(out, &f.regs, f.function.as_deref(), f.offset)?;
    }
    Ok(())
}

/// `bt -v`: a task whose stack's lowest word is not `STACK_END_MAGIC`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Overflow {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
    /// Where the magic should be, and what is there.
    #[serde(with = "crate::hex")]
    pub location: u64,
    #[serde(with = "crate::hex")]
    pub found: u64,
}
