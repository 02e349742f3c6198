//! x86_64: register numbers, the `pt_regs` exception frame, the frame-pointer convention,
//! and the CPU register sets dumps carry (ELF `NT_PRSTATUS`, QEMU CPU state).

use kdive_debuginfo::Types;

use super::regs::{Reg, RegSet};
use super::rows::{CfaRule, RegRule, Row, RowKind};
use super::{Arch, CallSite};

/// x86_64 register numbers: DWARF's for the general registers and rip, then our own.
pub mod reg {
    use super::Reg;
    pub const RAX: Reg = 0;
    pub const RDX: Reg = 1;
    pub const RCX: Reg = 2;
    pub const RBX: Reg = 3;
    pub const RSI: Reg = 4;
    pub const RDI: Reg = 5;
    pub const RBP: Reg = 6;
    pub const RSP: Reg = 7;
    pub const R8: Reg = 8;
    pub const R9: Reg = 9;
    pub const R10: Reg = 10;
    pub const R11: Reg = 11;
    pub const R12: Reg = 12;
    pub const R13: Reg = 13;
    pub const R14: Reg = 14;
    pub const R15: Reg = 15;
    pub const RIP: Reg = 16;
    pub const RFLAGS: Reg = 17;
    pub const CS: Reg = 18;
    pub const SS: Reg = 19;
    pub const ORIG_RAX: Reg = 20;
}

use reg::*;

/// `struct pt_regs` members in the kernel's order, with the register each holds. This is
/// also the order of the first 21 words of an `NT_PRSTATUS` `pr_reg`.
const PT_REGS: [(&str, Reg); 21] = [
    ("r15", R15),
    ("r14", R14),
    ("r13", R13),
    ("r12", R12),
    ("bp", RBP),
    ("bx", RBX),
    ("r11", R11),
    ("r10", R10),
    ("r9", R9),
    ("r8", R8),
    ("ax", RAX),
    ("cx", RCX),
    ("dx", RDX),
    ("si", RSI),
    ("di", RDI),
    ("orig_ax", ORIG_RAX),
    ("ip", RIP),
    ("cs", CS),
    ("flags", RFLAGS),
    ("sp", RSP),
    ("ss", SS),
];

/// The x86_64 unwinding conventions, with the `pt_regs` layout of the kernel at hand.
#[derive(Debug, Clone)]
pub struct X86_64 {
    /// (register, byte offset) of each `pt_regs` member.
    offsets: Vec<(Reg, u64)>,
    size: u64,
    ip_offset: u64,
}

impl Default for X86_64 {
    /// The `pt_regs` layout every x86_64 kernel has used so far.
    fn default() -> Self {
        X86_64 {
            offsets: PT_REGS
                .iter()
                .enumerate()
                .map(|(i, &(_, r))| (r, 8 * i as u64))
                .collect(),
            size: 8 * PT_REGS.len() as u64,
            ip_offset: 16 * 8,
        }
    }
}

impl X86_64 {
    /// The layout of `struct pt_regs` as this kernel's types describe it (the default layout
    /// when they do not).
    pub fn from_types(types: &Types) -> X86_64 {
        let Some(id) = types.lookup("struct pt_regs").ok() else {
            return X86_64::default();
        };
        let mut offsets = Vec::new();
        for (name, r) in PT_REGS {
            match types.member(id, name) {
                Ok(m) if m.bit_offset % 8 == 0 => offsets.push((r, m.bit_offset / 8)),
                _ => return X86_64::default(),
            }
        }
        let size = types.size_of(id).unwrap_or(8 * PT_REGS.len() as u64);
        let ip_offset = offsets.iter().find(|(r, _)| *r == RIP).map_or(128, |x| x.1);
        if offsets.iter().any(|&(_, o)| o + 8 > size) {
            return X86_64::default();
        }
        X86_64 {
            offsets,
            size,
            ip_offset,
        }
    }
}

/// Segment selectors are 16 bits (FRED kernels keep more in the same word).
fn selector(r: Reg, v: u64) -> u64 {
    if r == CS || r == SS {
        v & 0xffff
    } else {
        v
    }
}

impl Arch for X86_64 {
    fn name(&self) -> &'static str {
        "x86_64"
    }
    fn pc_reg(&self) -> Reg {
        RIP
    }
    fn sp_reg(&self) -> Reg {
        RSP
    }
    fn fp_reg(&self) -> Reg {
        RBP
    }

    /// `CFA = rbp + 16`, return address at `CFA - 8`, caller's rbp at `CFA - 16`.
    fn fp_row(&self) -> Row {
        Row {
            kind: RowKind::Call,
            cfa: CfaRule::RegOffset {
                reg: RBP,
                offset: 16,
            },
            ra: RegRule::AtCfa(-8),
            regs: vec![(RBP, RegRule::AtCfa(-16))],
            signal: false,
        }
    }

    fn regs_frame_size(&self) -> u64 {
        self.size
    }

    fn partial_regs_offset(&self) -> u64 {
        self.ip_offset
    }

    fn decode_regs_frame(&self, bytes: &[u8], partial: bool) -> RegSet {
        let mut out = RegSet::new();
        for &(r, off) in &self.offsets {
            if partial && off < self.ip_offset {
                continue;
            }
            let at = off as usize;
            if let Some(b) = bytes.get(at..at + 8) {
                let v = u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
                out.set(r, selector(r, v));
            }
        }
        out
    }

    fn is_user(&self, regs: &RegSet) -> bool {
        match regs.get(CS) {
            Some(cs) => cs & 3 == 3,
            None => regs.get(RIP).is_some_and(|pc| pc >> 63 == 0),
        }
    }

    /// `call rel32` (`e8`), or `call r/m64` (`ff /2`, optionally REX-prefixed) ending at `ret`.
    fn call_site(&self, code: &[u8; 8], ret: u64) -> CallSite {
        if code[3] == 0xe8 {
            let rel = i32::from_le_bytes([code[4], code[5], code[6], code[7]]);
            return CallSite::Direct(ret.wrapping_add_signed(i64::from(rel)));
        }
        for len in 2..=7 {
            let insn = &code[8 - len..];
            let body = if (0x40..=0x4f).contains(&insn[0]) {
                &insn[1..]
            } else {
                insn
            };
            if body.len() >= 2
                && body[0] == 0xff
                && indirect_call_len(body[1..].as_ref()) == Some(body.len() - 1)
            {
                return CallSite::Indirect;
            }
        }
        CallSite::None
    }

    fn regs_from_prstatus(&self, gregs: &[u64]) -> RegSet {
        regs_from_prstatus(gregs)
    }

    fn callee_saved(&self) -> &'static [Reg] {
        &[3, 6, 12, 13, 14, 15] // rbx, rbp, r12-r15
    }

    fn reg_name(&self, r: Reg) -> Option<&'static str> {
        reg_name(r)
    }
}

/// Length of the ModRM-addressed operand of `ff /2` (ModRM, SIB, displacement), when `b`
/// starts with a ModRM byte whose reg field is 2.
fn indirect_call_len(b: &[u8]) -> Option<usize> {
    let modrm = *b.first()?;
    if (modrm >> 3) & 7 != 2 {
        return None;
    }
    let (md, rm) = (modrm >> 6, modrm & 7);
    let sib = md != 3 && rm == 4;
    let base_is_disp32 = sib && b.get(1).is_some_and(|s| s & 7 == 5) && md == 0;
    let disp = match md {
        0 if rm == 5 || base_is_disp32 => 4,
        1 => 1,
        2 => 4,
        _ => 0,
    };
    Some(1 + usize::from(sib) + disp)
}

/// Registers from an `NT_PRSTATUS` `pr_reg` (`elf_gregset_t`: the `pt_regs` order, then
/// fs_base, gs_base and the data segment selectors, which are not kept).
pub fn regs_from_prstatus(gregs: &[u64]) -> RegSet {
    let mut out = RegSet::new();
    for (&(_, r), &v) in PT_REGS.iter().zip(gregs) {
        out.set(r, selector(r, v));
    }
    out
}

/// Registers from a QEMU CPU state note (`rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags`)
/// and its code and stack segment selectors. QEMU saves no `orig_ax`.
pub fn regs_from_qemu(regs: &[u64], cs: u32, ss: u32) -> RegSet {
    const ORDER: [Reg; 18] = [
        RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, RFLAGS,
    ];
    let mut out = RegSet::new();
    for (&r, &v) in ORDER.iter().zip(regs) {
        out.set(r, v);
    }
    out.set(CS, u64::from(cs & 0xffff));
    out.set(SS, u64::from(ss & 0xffff));
    out
}

/// The lower-case name of a register (`"rip"`, `"orig_rax"`), for JSON.
pub fn reg_name(r: Reg) -> Option<&'static str> {
    const NAMES: [&str; 21] = [
        "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15", "rip", "rflags", "cs", "ss", "orig_rax",
    ];
    NAMES.get(usize::from(r)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pt_regs_decode_full_and_partial() {
        let a = X86_64::default();
        let mut b = vec![0u8; 168];
        for i in 0..21u64 {
            b[8 * i as usize..8 * i as usize + 8].copy_from_slice(&(0x100 + i).to_le_bytes());
        }
        let full = a.decode_regs_frame(&b, false);
        assert_eq!(full.get(R15), Some(0x100));
        assert_eq!(full.get(RIP), Some(0x110));
        assert_eq!(full.get(RSP), Some(0x113));
        let part = a.decode_regs_frame(&b, true);
        assert_eq!(part.get(RBP), None);
        assert_eq!(part.get(RIP), Some(0x110));
        assert_eq!(part.get(SS), Some(0x114));
        assert_eq!(a.partial_regs_offset(), 128);
    }

    #[test]
    fn call_sites() {
        let a = X86_64::default();
        let ret = 0x1000u64;
        // e8 rel32 to 0x1100
        let mut c = [0x90u8; 8];
        c[3] = 0xe8;
        c[4..].copy_from_slice(&0x100i32.to_le_bytes());
        assert_eq!(a.call_site(&c, ret), CallSite::Direct(0x1100));
        // call *%rax (ff d0), call *%r11 (41 ff d3), call *0x8(%rbx) (ff 53 08), call *disp32(%rip) (ff 15 ..)
        let tail = |t: &[u8]| {
            let mut c = [0u8; 8];
            c[8 - t.len()..].copy_from_slice(t);
            c
        };
        for t in [
            &[0xff, 0xd0][..],
            &[0x41, 0xff, 0xd3],
            &[0xff, 0x53, 0x08],
            &[0xff, 0x15, 1, 2, 3, 4],
        ] {
            assert_eq!(a.call_site(&tail(t), ret), CallSite::Indirect, "{t:x?}");
        }
        assert_eq!(a.call_site(&[0; 8], ret), CallSite::None);
    }

    #[test]
    fn notes_to_regs() {
        let g: Vec<u64> = (0..27).collect();
        let r = regs_from_prstatus(&g);
        assert_eq!(
            (r.get(R15), r.get(RIP), r.get(RSP)),
            (Some(0), Some(16), Some(19))
        );
        let q: Vec<u64> = (0..18).collect();
        let r = regs_from_qemu(&q, 0x10, 0x18);
        assert_eq!(
            (r.get(RBX), r.get(RSP), r.get(RIP)),
            (Some(1), Some(6), Some(16))
        );
        assert!(!X86_64::default().is_user(&r));
    }
}
