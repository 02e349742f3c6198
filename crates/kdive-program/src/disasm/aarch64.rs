//! aarch64 instructions decoded by capstone and written as gdb (libopcodes) writes them.
//!
//! capstone and libopcodes agree on mnemonics, aliases and registers; they differ in how numbers
//! are written. libopcodes writes address offsets in decimal (`[sp, #16]`, `[sp], #32`), the
//! targets of PC-relative operands as bare addresses (gdb then names them), move-wide
//! immediates as `#0x%-20x` followed by the value in decimal as a comment, and condition codes
//! followed by their SVE aliases as a comment (`b.eq 0x… // b.none`). Everything else
//! (arithmetic and logical immediates in hex, shift amounts and bit numbers in decimal) is
//! written alike by both.

use std::cell::RefCell;

use capstone::arch::arm64::ArchMode;
use capstone::arch::BuildsCapstone;
use capstone::Capstone;

use super::{Decoder, Flow, Instruction};

/// The aarch64 decoder (little-endian A64).
#[derive(Debug, Clone, Copy, Default)]
pub struct Aarch64;

thread_local! {
    static CS: RefCell<Option<Capstone>> = RefCell::new(
        Capstone::new().arm64().mode(ArchMode::Arm).build().ok()
    );
}

impl Decoder for Aarch64 {
    fn arch(&self) -> &'static str {
        "aarch64"
    }

    fn max_len(&self) -> usize {
        4
    }

    fn separator(&self) -> &'static str {
        "\t"
    }

    fn pc_relative_in_place(&self) -> bool {
        true
    }

    fn decode(&self, addr: u64, code: &[u8]) -> Option<Instruction> {
        if code.is_empty() {
            return None;
        }
        let word = &code[..code.len().min(4)];
        let decoded = (word.len() == 4)
            .then(|| {
                CS.with(|cs| {
                    let cs = cs.borrow();
                    let insns = cs.as_ref()?.disasm_count(word, addr, 1).ok()?;
                    let insn = insns.iter().next()?;
                    Some((
                        insn.mnemonic().unwrap_or("").to_string(),
                        insn.op_str().unwrap_or("").to_string(),
                    ))
                })
            })
            .flatten();
        let Some((mnemonic, operands)) = decoded else {
            return Some(undefined(addr, word));
        };
        Some(libopcodes_style(addr, word, mnemonic, &operands))
    }
}

/// What libopcodes prints for a word it cannot decode (`.inst 0x… ; undefined`), or for the
/// bytes left at the end of what could be read.
fn undefined(addr: u64, word: &[u8]) -> Instruction {
    let (mnemonic, operands) = if word.len() == 4 {
        let v = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        if v >> 16 == 0 {
            // the permanently undefined instruction (capstone has no name for it)
            ("udf".to_string(), format!("#{}", v & 0xffff))
        } else {
            (".inst".to_string(), format!("0x{v:08x} ; undefined"))
        }
    } else {
        ("(bad)".to_string(), String::new())
    };
    Instruction {
        addr,
        bytes: word.to_vec(),
        mnemonic,
        operands,
        target: None,
        refers_to: None,
        comment: None,
        flow: Flow::Invalid,
    }
}

/// The flow of control of an instruction, by its mnemonic.
fn flow_of(mnemonic: &str) -> Flow {
    match mnemonic {
        "bl" | "blr" | "blraa" | "blraaz" | "blrab" | "blrabz" => Flow::Call,
        "b" | "br" | "braa" | "braaz" | "brab" | "brabz" => Flow::Jump,
        "cbz" | "cbnz" | "tbz" | "tbnz" => Flow::ConditionalJump,
        "ret" | "retaa" | "retab" | "eret" | "eretaa" | "eretab" => Flow::Return,
        m if m.starts_with("b.") || m.starts_with("bc.") => Flow::ConditionalJump,
        _ => Flow::Next,
    }
}

/// Instructions whose last operand is a PC-relative address libopcodes prints bare.
fn pc_relative(mnemonic: &str, operands: usize, last_operand: &str) -> bool {
    match mnemonic {
        "b" | "bl" | "cbz" | "cbnz" | "tbz" | "tbnz" | "adr" | "adrp" => true,
        m if m.starts_with("b.") || m.starts_with("bc.") => true,
        // literal loads: `ldr x0, 0x…` (a memory operand would be in brackets)
        "ldr" | "ldrsw" | "prfm" => operands == 2 && !last_operand.starts_with('['),
        _ => false,
    }
}

/// System registers capstone 5 writes by encoding where libopcodes has a name.
const SYSTEM_REGISTERS: &[(&str, &str)] = &[
    ("s3_3_c14_c0_5", "cntpctss_el0"),
    ("s3_3_c14_c0_6", "cntvctss_el0"),
];

/// `hint #N` instructions libopcodes names (capstone 5 names the pointer-authentication ones
/// itself): (N, mnemonic, operands).
const HINTS: &[(u32, &str, &str)] = &[
    (0x16, "clearbhb", ""),
    (0x20, "bti", ""),
    (0x22, "bti", "c"),
    (0x24, "bti", "j"),
    (0x26, "bti", "jc"),
];

/// Condition codes as libopcodes names them: its name first, then the other names it lists
/// in a comment (the SVE aliases).
const CONDITIONS: &[&[&str]] = &[
    &["eq", "none"],
    &["ne", "any"],
    &["cs", "hs", "nlast"],
    &["cc", "lo", "ul", "last"],
    &["mi", "first"],
    &["pl", "nfrst"],
    &["vs"],
    &["vc"],
    &["hi", "pmore"],
    &["ls", "plast"],
    &["ge", "tcont"],
    &["lt", "tstop"],
    &["gt"],
    &["le"],
    &["al"],
    &["nv"],
];

/// The names of a condition code written by any of its names.
fn condition(name: &str) -> Option<&'static [&'static str]> {
    CONDITIONS.iter().copied().find(|c| c.contains(&name))
}

/// Instructions whose last operand is a condition code.
fn takes_condition(mnemonic: &str) -> bool {
    matches!(
        mnemonic,
        "csel"
            | "csinc"
            | "csinv"
            | "csneg"
            | "cset"
            | "csetm"
            | "cinc"
            | "cinv"
            | "cneg"
            | "ccmp"
            | "ccmn"
            | "fcsel"
            | "fccmp"
            | "fccmpe"
    )
}

/// Instructions whose immediates libopcodes writes in hex (arithmetic, logical, move-wide,
/// conditional compare and PSTATE immediates); capstone writes those below ten in decimal.
fn hex_immediates(mnemonic: &str) -> bool {
    matches!(
        mnemonic,
        "add"
            | "adds"
            | "sub"
            | "subs"
            | "cmp"
            | "cmn"
            | "and"
            | "ands"
            | "orr"
            | "eor"
            | "tst"
            | "movk"
            | "movz"
            | "movn"
            | "msr"
            | "ccmp"
            | "ccmn"
            | "brk"
            | "hint"
            | "svc"
            | "hvc"
            | "smc"
            | "hlt"
            | "dcps1"
            | "dcps2"
            | "dcps3"
    )
}

/// An immediate written `#0x…` as libopcodes writes it: negative values as the register's
/// two's complement (`wide`: a 64-bit register).
fn to_hex_immediate(op: &str, wide: bool) -> Option<String> {
    let v = immediate(op)?;
    let v = if wide { v as u64 } else { u64::from(v as u32) };
    Some(format!("#0x{v:x}"))
}

/// Whether a 64-bit (`wide`) or 32-bit value can be made by one `movz` or `movn`, in which
/// case libopcodes calls the `orr` that makes it `orr`, not `mov`.
fn move_wide_makes(v: u64, wide: bool) -> bool {
    let (v, chunks) = if wide { (v, 4) } else { (v & 0xffff_ffff, 2) };
    let mask = if wide { u64::MAX } else { 0xffff_ffff };
    let one_chunk = |x: u64| {
        (0..chunks)
            .filter(|i| (x >> (16 * i)) & 0xffff != 0)
            .count()
            <= 1
    };
    one_chunk(v) || one_chunk(!v & mask)
}

/// The operands split at the commas that separate them (not those inside `[]` or `{}`).
fn split_operands(ops: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for c in ops.chars() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// A `#0x…`/`#-0x…`/`#…` immediate's value.
fn immediate(s: &str) -> Option<i128> {
    let s = s.strip_prefix('#')?;
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let v = match s.strip_prefix("0x") {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None => s.parse::<i128>().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// Every `#0x…` immediate in `s` written in decimal (address offsets).
fn decimal_immediates(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('#') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail[1..]
            .find(|c: char| !(c.is_ascii_hexdigit() || c == 'x' || c == '-'))
            .map_or(tail.len(), |e| e + 1);
        match immediate(&tail[..end]) {
            Some(v) => out.push_str(&format!("#{v}")),
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// capstone's text rewritten as libopcodes writes it.
fn libopcodes_style(addr: u64, word: &[u8], mut mnemonic: String, operands: &str) -> Instruction {
    let flow = flow_of(&mnemonic);
    let mut ops = split_operands(operands);
    let mut address = None;
    let mut comment = None;
    let mut after_memory = false;
    for op in ops.iter_mut() {
        if op.starts_with('[') {
            *op = decimal_immediates(op);
            after_memory = true;
        } else if after_memory && op.starts_with('#') {
            // post-index offset: `[sp], #32`
            *op = decimal_immediates(op);
        } else if after_memory && op.starts_with("0x") {
            // capstone leaves the `#` out of some post-index offsets
            *op = decimal_immediates(&format!("#{op}"));
        }
    }
    if mnemonic == "hint" {
        let n = ops.first().and_then(|o| immediate(o));
        if let Some((_, m, o)) = HINTS.iter().find(|(h, _, _)| Some(i128::from(*h)) == n) {
            mnemonic = (*m).to_string();
            ops = if o.is_empty() {
                Vec::new()
            } else {
                vec![(*o).to_string()]
            };
        }
    }
    // the speculation barrier, which capstone 5 writes as the write of a system register
    if mnemonic == "msr" && ops == ["s0_3_c3_c0_7", "xzr"] {
        mnemonic = "sb".into();
        ops.clear();
    }
    if mnemonic == "mrs" || mnemonic == "msr" {
        for op in ops.iter_mut() {
            if let Some((_, name)) = SYSTEM_REGISTERS.iter().find(|(enc, _)| op == enc) {
                *op = (*name).to_string();
            }
        }
    }
    let hex = hex_immediates(&mnemonic);
    let wide = !ops.first().is_some_and(|r| r.starts_with('w'));
    for op in ops.iter_mut() {
        if hex {
            if let Some(h) = to_hex_immediate(op, wide) {
                *op = h;
            }
        } else if op.starts_with('#') {
            // bit numbers, bitfield positions and widths, shift amounts
            *op = decimal_immediates(op);
        }
    }
    let n = ops.len();
    if let Some(last) = ops.last_mut() {
        if pc_relative(&mnemonic, n, last) {
            if let Some(v) = immediate(last) {
                let a = v as u64;
                *last = format!("0x{a:x}");
                address = Some(a);
            }
        }
    }
    // `orr xd, xzr, #imm` is the `mov` alias unless one move-wide instruction makes the value
    if mnemonic == "orr" && ops.len() == 3 && (ops[1] == "xzr" || ops[1] == "wzr") {
        if let Some(v) = immediate(&ops[2]) {
            if !move_wide_makes(v as u64, wide) {
                mnemonic = "mov".into();
                ops.remove(1);
            }
        }
    }
    if mnemonic == "mov" && ops.len() == 2 {
        if let Some(v) = immediate(&ops[1]) {
            let (hex, dec) = if ops[0].starts_with('w') {
                (format!("{:x}", v as u32), (v as u32 as i32).to_string())
            } else {
                (format!("{:x}", v as u64), (v as u64 as i64).to_string())
            };
            ops[1] = format!("#0x{hex:<20}");
            comment = Some(format!("\t// #{dec}"));
        }
    }
    if let Some(names) = mnemonic.strip_prefix("b.").and_then(condition) {
        mnemonic = format!("b.{}", names[0]);
        if names.len() > 1 {
            let others: Vec<String> = names[1..].iter().map(|n| format!("b.{n}")).collect();
            comment = Some(format!("  // {}", others.join(", ")));
        }
    } else if takes_condition(&mnemonic) {
        if let Some(names) = ops.last().and_then(|c| condition(c)) {
            if let Some(c) = ops.last_mut() {
                *c = names[0].to_string();
            }
            if names.len() > 1 {
                comment = Some(format!("\t// {} = {}", names[0], names[1..].join(", ")));
            }
        }
    }
    let (target, refers_to) = match (flow, address) {
        (Flow::Next, a) => (None, a),
        (_, a) => (a, None),
    };
    Instruction {
        addr,
        bytes: word.to_vec(),
        mnemonic,
        operands: ops.join(", "),
        target,
        refers_to,
        comment,
        flow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dis(addr: u64, word: u32) -> String {
        let i = Aarch64.decode(addr, &word.to_le_bytes()).unwrap();
        let mut s = i.text_with("\t");
        if let Some(c) = &i.comment {
            s.push_str(c);
        }
        s
    }

    // Expected texts: binutils 2.40's aarch64 objdump (libopcodes, gdb's disassembler) on the
    // same words.
    #[test]
    fn writes_what_libopcodes_writes() {
        let a = 0xffffabef63dc0000;
        assert_eq!(dis(a + 0xc, 0xa9bf7bfd), "stp\tx29, x30, [sp, #-16]!");
        assert_eq!(dis(a + 0x14, 0x90002220), "adrp\tx0, 0xffffabef64204000");
        assert_eq!(dis(a + 0x20, 0x9105c000), "add\tx0, x0, #0x170");
        assert_eq!(dis(a + 0x24, 0x97cb9fff), "bl\t0xffffabef630a8020");
        assert_eq!(dis(a + 0x44, 0xb9402e61), "ldr\tw1, [x19, #44]");
        assert_eq!(dis(a + 0x4c, 0x360000a1), "tbz\tw1, #0, 0xffffabef63dc0060");
        assert_eq!(dis(a + 0x54, 0xa8c27bfd), "ldp\tx29, x30, [sp], #32");
        assert_eq!(dis(a + 0x5c, 0xd65f03c0), "ret");
        assert_eq!(dis(a + 0x6c, 0x72001c1f), "tst\tw0, #0xff");
        assert_eq!(
            dis(a + 0x70, 0x54ffff00),
            "b.eq\t0xffffabef63dc0050  // b.none"
        );
        assert_eq!(
            dis(a + 0xc90, 0x540000a3),
            "b.cc\t0xffffabef63dc0ca4  // b.lo, b.ul, b.last"
        );
        assert_eq!(
            dis(a + 0x2b8, 0x52800020),
            "mov\tw0, #0x1                   \t// #1"
        );
        assert_eq!(dis(a + 0x1478, 0x63e17720), ".inst\t0x63e17720 ; undefined");
    }

    #[test]
    fn flow_and_targets() {
        let i = Aarch64
            .decode(0x1000, &0x97cb9fffu32.to_le_bytes())
            .unwrap();
        assert_eq!(i.flow, Flow::Call);
        // the call 0xd18004 bytes back (objdump: 0xffffabef63dc0024 -> 0xffffabef630a8020)
        assert_eq!(i.target, Some(0x1000u64.wrapping_sub(0xd18004)));
        let adrp = Aarch64
            .decode(0x1000, &0x90002220u32.to_le_bytes())
            .unwrap();
        assert_eq!(adrp.flow, Flow::Next);
        // 0x444000 beyond the page of the PC (objdump: 0xffffabef63dc0014 -> 0xffffabef64204000)
        assert_eq!(adrp.refers_to, Some(0x445000));
        let short = Aarch64.decode(0x1000, &[0xc0, 0x03]).unwrap();
        assert_eq!(short.flow, Flow::Invalid);
    }
}
