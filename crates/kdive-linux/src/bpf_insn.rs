//! eBPF instructions as crash's `bpf -t` prints a program's translated code: one line per
//! instruction, `(opcode) operation`, in the kernel's own notation (`r1 += r2`,
//! `*(u64 *)(r10 -8) = r1`, `if r1 == 0x5 goto pc+3`, `call bpf_map_lookup_elem#1`).
//!
//! The encoding is the kernel's (`Documentation/bpf/standardization/instruction-set.rst`):
//! 8 bytes, an opcode whose low 3 bits are the class, the destination register in the low
//! nibble of the second byte and the source in the high one (little-endian machines), a
//! signed 16-bit offset and a signed 32-bit immediate; a 64-bit immediate load takes two.
//!
//! crash's decoder predates the 32-bit jumps, the atomic operations beyond add, the
//! sign-extending loads and moves and the signed division: it prints `BUG` or a plain add for
//! them. They are written here as the kernel's verifier log writes them (`if w1 < 0x9`,
//! `atomic64_fetch_or`, `(s8)r2`, `s/=`).

/// Bytes of one instruction.
pub const INSN_SIZE: usize = 8;

/// The instruction classes (low 3 bits of the opcode).
const LD: u8 = 0;
const LDX: u8 = 1;
const ST: u8 = 2;
const STX: u8 = 3;
const ALU: u8 = 4;
const JMP: u8 = 5;
const JMP32: u8 = 6;
const ALU64: u8 = 7;

/// The source bit of ALU and jump opcodes: the `src` register rather than the immediate.
const SRC_X: u8 = 0x08;

/// Load and store modes (`opcode & 0xe0`).
const MODE_IMM: u8 = 0x00;
const MODE_ABS: u8 = 0x20;
const MODE_IND: u8 = 0x40;
const MODE_MEM: u8 = 0x60;
const MODE_MEMSX: u8 = 0x80;
const MODE_ATOMIC: u8 = 0xc0;

/// `src_reg` of a call to another function of the same program.
const PSEUDO_CALL: u8 = 1;

/// Atomic operations (the immediate of an atomic store).
const ATOMIC_FETCH: i32 = 0x01;
const ATOMIC_XCHG: i32 = 0xe0 | ATOMIC_FETCH;
const ATOMIC_CMPXCHG: i32 = 0xf0 | ATOMIC_FETCH;

/// One decoded instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// The instruction in `b` (8 bytes, the machine's byte order).
    pub fn from_bytes(b: &[u8; INSN_SIZE], big_endian: bool) -> Insn {
        let (dst, src) = if big_endian {
            (b[1] >> 4, b[1] & 0xf)
        } else {
            (b[1] & 0xf, b[1] >> 4)
        };
        let (off, imm) = if big_endian {
            (
                i16::from_be_bytes([b[2], b[3]]),
                i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            )
        } else {
            (
                i16::from_le_bytes([b[2], b[3]]),
                i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            )
        };
        Insn {
            code: b[0],
            dst,
            src,
            off,
            imm,
        }
    }

    fn class(&self) -> u8 {
        self.code & 0x07
    }

    /// Whether it is the first half of a 64-bit immediate load.
    pub fn is_wide(&self) -> bool {
        self.code == (LD | MODE_IMM | 0x18)
    }
}

/// What the text names that the instructions only number: helper functions and maps.
pub trait Names {
    /// The helper function `id` (`bpf_map_lookup_elem`), or the kernel function a call
    /// immediate reaches; `None` when unknown.
    fn helper(&self, insn: &Insn) -> Option<String>;
    /// The map at `addr`, as `map[id:N]`, when the 64-bit immediate is a map's address.
    fn map(&self, addr: u64) -> Option<String>;
}

/// Names nothing: helpers are `unknown`, immediates numbers.
pub struct NoNames;

impl Names for NoNames {
    fn helper(&self, _: &Insn) -> Option<String> {
        None
    }
    fn map(&self, _: u64) -> Option<String> {
        None
    }
}

/// One line of the listing: the instruction's index, its text and its bytes (both halves of
/// a 64-bit load).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InsnLine {
    pub index: usize,
    pub text: String,
    pub bytes: Vec<u8>,
}

/// The program's instructions in `code`, a 64-bit load taking two slots (its second is not
/// listed); a trailing partial instruction is left out.
pub fn disassemble(code: &[u8], big_endian: bool, names: &dyn Names) -> Vec<InsnLine> {
    let slots: Vec<(&[u8], Insn)> = code
        .chunks_exact(INSN_SIZE)
        .map(|c| {
            let mut b = [0u8; INSN_SIZE];
            b.copy_from_slice(c);
            (c, Insn::from_bytes(&b, big_endian))
        })
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < slots.len() {
        let (bytes, insn) = slots[i];
        let mut all = bytes.to_vec();
        let next = slots.get(i + 1).filter(|_| insn.is_wide());
        if let Some((b2, _)) = next {
            all.extend_from_slice(b2);
        }
        out.push(InsnLine {
            index: i,
            text: text(&insn, next.map(|n| &n.1), names),
            bytes: all,
        });
        i += if insn.is_wide() { 2 } else { 1 };
    }
    out
}

/// `u8`, `u16`, `u32`, `u64` by the size bits (`opcode & 0x18`).
fn size_name(code: u8, signed: bool) -> &'static str {
    match (code & 0x18, signed) {
        (0x00, false) => "u32",
        (0x08, false) => "u16",
        (0x10, false) => "u8",
        (_, false) => "u64",
        (0x00, true) => "s32",
        (0x08, true) => "s16",
        (0x10, true) => "s8",
        (_, true) => "s64",
    }
}

/// The ALU operator of `op` (`opcode & 0xf0`); `signed` for the signed division and modulo
/// (offset 1).
fn alu_op(op: u8, signed: bool) -> &'static str {
    match op {
        0x00 => "+=",
        0x10 => "-=",
        0x20 => "*=",
        0x30 if signed => "s/=",
        0x30 => "/=",
        0x40 => "|=",
        0x50 => "&=",
        0x60 => "<<=",
        0x70 => ">>=",
        0x90 if signed => "s%=",
        0x90 => "%=",
        0xa0 => "^=",
        0xb0 => "=",
        0xc0 => "s>>=",
        _ => "?",
    }
}

/// The comparison of a conditional jump.
fn jmp_op(op: u8) -> &'static str {
    match op {
        0x10 => "==",
        0x20 => ">",
        0x30 => ">=",
        0x40 => "&",
        0x50 => "!=",
        0x60 => "s>",
        0x70 => "s>=",
        0xa0 => "<",
        0xb0 => "<=",
        0xc0 => "s<",
        0xd0 => "s<=",
        _ => "?",
    }
}

/// `r1 -8`, `r10 +0`: a register and a signed offset.
fn mem(reg: u8, off: i16) -> String {
    format!("r{reg} {off:+}")
}

/// The text of `insn` (`next`: the second half of a 64-bit load), after `(opcode) `.
pub fn text(insn: &Insn, next: Option<&Insn>, names: &dyn Names) -> String {
    let c = insn.code;
    let (d, s) = (insn.dst, insn.src);
    let body = match insn.class() {
        ALU | ALU64 => alu(insn),
        STX if c & 0xe0 == MODE_MEM => {
            format!("*({} *)({}) = r{s}", size_name(c, false), mem(d, insn.off))
        }
        STX if c & 0xe0 == MODE_ATOMIC => atomic(insn),
        ST if c & 0xe0 == MODE_MEM => format!(
            "*({} *)({}) = {}",
            size_name(c, false),
            mem(d, insn.off),
            insn.imm
        ),
        LDX if c & 0xe0 == MODE_MEM || c & 0xe0 == MODE_MEMSX => format!(
            "r{d} = *({} *)({})",
            size_name(c, c & 0xe0 == MODE_MEMSX),
            mem(s, insn.off)
        ),
        LD if c & 0xe0 == MODE_ABS => {
            format!("r0 = *({} *)skb[{}]", size_name(c, false), insn.imm)
        }
        LD if c & 0xe0 == MODE_IND => {
            format!("r0 = *({} *)skb[r{s} + {}]", size_name(c, false), insn.imm)
        }
        LD if insn.is_wide() => {
            let high = next.map_or(0, |n| n.imm as u32 as u64);
            let v = (high << 32) | insn.imm as u32 as u64;
            let shown = names.map(v).unwrap_or_else(|| format!("{v:#x}"));
            format!("r{d} = {shown}")
        }
        JMP | JMP32 => jump(insn, names),
        STX => format!("BUG_{c:02x}"),
        ST => format!("BUG_st_{c:02x}"),
        LDX => format!("BUG_ldx_{c:02x}"),
        _ => format!("BUG_ld_{c:02x}"),
    };
    format!("({c:02x}) {body}")
}

fn alu(insn: &Insn) -> String {
    let c = insn.code;
    let (d, s) = (insn.dst, insn.src);
    let is32 = insn.class() == ALU;
    let cast = if is32 { "(u32) " } else { "" };
    let op = c & 0xf0;
    match op {
        // byte swaps: to big or little endian (ALU), unconditional (ALU64)
        0xd0 if is32 => {
            let order = if c & SRC_X != 0 { "be" } else { "le" };
            format!("r{d} = {order}{} r{d}", insn.imm)
        }
        0xd0 => format!("r{d} = bswap{} r{d}", insn.imm),
        0x80 => format!("r{d} = {cast}-r{d}"),
        // sign-extending moves: the offset is the source's width
        0xb0 if c & SRC_X != 0 && matches!(insn.off, 8 | 16 | 32) => {
            format!("{cast}r{d} = (s{})r{s}", insn.off)
        }
        _ if c & SRC_X != 0 => format!("{cast}r{d} {} {cast}r{s}", alu_op(op, insn.off == 1)),
        _ => format!(
            "{cast}r{d} {} {cast}{}",
            alu_op(op, insn.off == 1),
            insn.imm
        ),
    }
}

fn atomic(insn: &Insn) -> String {
    let c = insn.code;
    let (d, s) = (insn.dst, insn.src);
    let size = size_name(c, false);
    let at = mem(d, insn.off);
    let width = if c & 0x18 == 0x18 { "64" } else { "" };
    let name = |op: i32| match op & !ATOMIC_FETCH {
        0x00 => "add",
        0x40 => "or",
        0x50 => "and",
        0xa0 => "xor",
        _ => "?",
    };
    match insn.imm {
        op @ (0x00 | 0x40 | 0x50 | 0xa0) => {
            format!(
                "lock *({size} *)({at}) {}= r{s}",
                &alu_op(op as u8, false)[..1]
            )
        }
        ATOMIC_XCHG => format!("r{s} = atomic{width}_xchg(({size} *)({at}), r{s})"),
        ATOMIC_CMPXCHG => {
            format!("r0 = atomic{width}_cmpxchg(({size} *)({at}), r0, r{s})")
        }
        op if op & ATOMIC_FETCH != 0 => format!(
            "r{s} = atomic{width}_fetch_{}(({size} *)({at}), r{s})",
            name(op)
        ),
        _ => format!("BUG_{c:02x}"),
    }
}

fn jump(insn: &Insn, names: &dyn Names) -> String {
    let c = insn.code;
    let (d, s) = (insn.dst, insn.src);
    let op = c & 0xf0;
    let jmp32 = insn.class() == JMP32;
    // a 32-bit comparison reads the registers' low halves: w1, as the kernel writes it
    let reg = |r: u8| {
        if jmp32 {
            format!("w{r}")
        } else {
            format!("r{r}")
        }
    };
    match op {
        0x80 if !jmp32 => {
            if s == PSEUDO_CALL {
                format!("call pc{:+}", insn.imm)
            } else {
                let name = names.helper(insn).unwrap_or_else(|| "unknown".into());
                format!("call {name}#{}", insn.imm)
            }
        }
        0x90 if !jmp32 => "exit".into(),
        0x00 if jmp32 => format!("gotol pc{:+}", insn.imm),
        0x00 => format!("goto pc{:+}", insn.off),
        _ if c & SRC_X != 0 => format!(
            "if {} {} {} goto pc{:+}",
            reg(d),
            jmp_op(op),
            reg(s),
            insn.off
        ),
        _ => format!(
            "if {} {} {:#x} goto pc{:+}",
            reg(d),
            jmp_op(op),
            insn.imm as u32,
            insn.off
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instruction's 8 bytes, little-endian.
    fn enc(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Vec<u8> {
        let mut v = vec![code, (src << 4) | dst];
        v.extend_from_slice(&off.to_le_bytes());
        v.extend_from_slice(&imm.to_le_bytes());
        v
    }

    fn one(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> String {
        let l = disassemble(&enc(code, dst, src, off, imm), false, &NoNames);
        assert_eq!(l.len(), 1);
        l[0].text.clone()
    }

    // opcodes built from the instruction-set document's tables: class | source | operation,
    // class | mode | size
    #[test]
    fn arithmetic() {
        // BPF_ALU64 | BPF_X | BPF_MOV = 0x07 | 0x08 | 0xb0
        assert_eq!(one(0xbf, 6, 1, 0, 0), "(bf) r6 = r1");
        // BPF_ALU64 | BPF_K | BPF_ADD
        assert_eq!(one(0x07, 1, 0, 0, -8), "(07) r1 += -8");
        // BPF_ALU | BPF_K | BPF_MOV: 32-bit
        assert_eq!(one(0xb4, 0, 0, 0, 1), "(b4) (u32) r0 = (u32) 1");
        // BPF_ALU | BPF_X | BPF_XOR
        assert_eq!(one(0xac, 2, 3, 0, 0), "(ac) (u32) r2 ^= (u32) r3");
        // BPF_ALU64 | BPF_NEG, BPF_ALU | BPF_NEG
        assert_eq!(one(0x87, 4, 0, 0, 0), "(87) r4 = -r4");
        assert_eq!(one(0x84, 4, 0, 0, 0), "(84) r4 = (u32) -r4");
        // BPF_ALU | BPF_TO_BE | BPF_END, 16 bits; BPF_ALU64 | BPF_END: byte swap
        assert_eq!(one(0xdc, 1, 0, 0, 16), "(dc) r1 = be16 r1");
        assert_eq!(one(0xd4, 1, 0, 0, 32), "(d4) r1 = le32 r1");
        assert_eq!(one(0xd7, 1, 0, 0, 64), "(d7) r1 = bswap64 r1");
        // BPF_ALU64 | BPF_X | BPF_MOV with offset 8: sign extension (MOVSX)
        assert_eq!(one(0xbf, 1, 2, 8, 0), "(bf) r1 = (s8)r2");
        // BPF_ALU64 | BPF_K | BPF_DIV with offset 1: signed division
        assert_eq!(one(0x37, 1, 0, 1, 3), "(37) r1 s/= 3");
        // BPF_ALU64 | BPF_K | BPF_ARSH
        assert_eq!(one(0xc7, 1, 0, 0, 63), "(c7) r1 s>>= 63");
    }

    #[test]
    fn loads_and_stores() {
        // BPF_STX | BPF_MEM | BPF_DW = 0x03 | 0x60 | 0x18
        assert_eq!(one(0x7b, 10, 1, -8, 0), "(7b) *(u64 *)(r10 -8) = r1");
        // BPF_ST | BPF_MEM | BPF_W
        assert_eq!(one(0x62, 10, 0, -4, 7), "(62) *(u32 *)(r10 -4) = 7");
        // BPF_LDX | BPF_MEM | BPF_B
        assert_eq!(one(0x71, 0, 1, 12, 0), "(71) r0 = *(u8 *)(r1 +12)");
        // BPF_LDX | BPF_MEMSX | BPF_H: sign-extending load
        assert_eq!(one(0x89, 0, 1, 2, 0), "(89) r0 = *(s16 *)(r1 +2)");
        // legacy packet access: BPF_LD | BPF_ABS | BPF_B, BPF_LD | BPF_IND | BPF_W
        assert_eq!(one(0x30, 0, 0, 0, 23), "(30) r0 = *(u8 *)skb[23]");
        assert_eq!(one(0x40, 0, 2, 0, 4), "(40) r0 = *(u32 *)skb[r2 + 4]");
        // BPF_STX | BPF_ATOMIC | BPF_DW, imm BPF_ADD; with BPF_FETCH; BPF_CMPXCHG (32-bit)
        assert_eq!(one(0xdb, 1, 2, 8, 0), "(db) lock *(u64 *)(r1 +8) += r2");
        assert_eq!(
            one(0xdb, 1, 2, 0, 0x41),
            "(db) r2 = atomic64_fetch_or((u64 *)(r1 +0), r2)"
        );
        assert_eq!(
            one(0xc3, 1, 2, 0, 0xf1),
            "(c3) r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)"
        );
    }

    #[test]
    fn wide_load_takes_two_slots() {
        // BPF_LD | BPF_IMM | BPF_DW: the immediate's low half, then its high half
        let mut code = enc(0x18, 1, 0, 0, 0x9abc_def0_u32 as i32);
        code.extend(enc(0, 0, 0, 0, 0x1234_5678));
        code.extend(enc(0x95, 0, 0, 0, 0)); // BPF_JMP | BPF_EXIT
        let l = disassemble(&code, false, &NoNames);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].text, "(18) r1 = 0x123456789abcdef0");
        assert_eq!(l[0].bytes.len(), 16);
        // the next instruction keeps its slot number
        assert_eq!((l[1].index, l[1].text.as_str()), (2, "(95) exit"));
        // a map's address is named
        struct Map;
        impl Names for Map {
            fn helper(&self, _: &Insn) -> Option<String> {
                None
            }
            fn map(&self, a: u64) -> Option<String> {
                (a == 0x1234_5678_9abc_def0).then(|| "map[id:3]".into())
            }
        }
        let l = disassemble(&code, false, &Map);
        assert_eq!(l[0].text, "(18) r1 = map[id:3]");
    }

    #[test]
    fn jumps_and_calls() {
        // BPF_JMP | BPF_K | BPF_JEQ, BPF_JMP | BPF_X | BPF_JSGT
        assert_eq!(one(0x15, 1, 0, 3, 5), "(15) if r1 == 0x5 goto pc+3");
        assert_eq!(one(0x6d, 1, 2, -4, 0), "(6d) if r1 s> r2 goto pc-4");
        // a negative immediate compares as its 32 bits
        assert_eq!(one(0x55, 0, 0, 1, -1), "(55) if r0 != 0xffffffff goto pc+1");
        // BPF_JMP32 | BPF_K | BPF_JLT: the registers' low halves
        assert_eq!(one(0xa6, 1, 0, 2, 9), "(a6) if w1 < 0x9 goto pc+2");
        // BPF_JMP | BPF_JA; BPF_JMP32 | BPF_JA: the long jump's offset is the immediate
        assert_eq!(one(0x05, 0, 0, -2, 0), "(05) goto pc-2");
        assert_eq!(one(0x06, 0, 0, 0, 70000), "(06) gotol pc+70000");
        // BPF_JMP | BPF_CALL: a helper by number, a function of the program by offset
        assert_eq!(one(0x85, 0, 0, 0, 1), "(85) call unknown#1");
        assert_eq!(one(0x85, 0, 1, 0, 7), "(85) call pc+7");
        assert_eq!(one(0x95, 0, 0, 0, 0), "(95) exit");
    }

    #[test]
    fn big_endian_register_nibbles() {
        // on big-endian machines dst is the high nibble and the numbers are big-endian
        let b = [0x7b, 0xa1, 0xff, 0xf8, 0, 0, 0, 0];
        let i = Insn::from_bytes(&b, true);
        assert_eq!((i.dst, i.src, i.off), (10, 1, -8));
    }
}
