//! aarch64: register numbers, the `pt_regs` exception frame, frame records (x29/x30),
//! pointer-authentication bits, and the register sets dumps carry (`NT_PRSTATUS`).
//!
//! The kernel keeps a frame record (caller's x29, return address) in every non-leaf function
//! and one inside each exception's `pt_regs` (`stackframe`), so one row walks every frame:
//! `CFA = x29 + 16`, return address at `CFA - 8`, caller's x29 at `CFA - 16`. A return
//! address into an exception vector (`el1h_64_irq`, `el0t_64_sync`...) means the record just
//! followed was the `pt_regs`' own: the frame below is the interrupted context.

use kdive_debuginfo::Types;

use super::frame::{FoundBy, Start};
use super::regs::{Reg, RegSet};
use super::rows::{CfaRule, RegRule, Row, RowKind, RowLookup, RowSource};
use super::{Arch, CallSite};
use crate::object::offset_of;
use crate::{Program, Result};

/// aarch64 register numbers: DWARF's (x0-x30, sp), then pc and pstate.
pub mod reg {
    use super::Reg;
    pub const X0: Reg = 0;
    pub const X19: Reg = 19;
    /// The frame pointer.
    pub const X29: Reg = 29;
    /// The link register.
    pub const X30: Reg = 30;
    pub const SP: Reg = 31;
    pub const PC: Reg = 32;
    pub const PSTATE: Reg = 33;
    pub const ORIG_X0: Reg = 34;
    pub const SYSCALLNO: Reg = 35;
}

use reg::*;

/// The aarch64 unwinding conventions, with the `pt_regs` layout of the kernel at hand.
#[derive(Debug, Clone)]
pub struct Aarch64 {
    /// Offsets in `struct pt_regs` of `regs[0]`, `sp`, `pc`, `pstate`, and the optional
    /// `orig_x0` and `syscallno`.
    regs: u64,
    sp: u64,
    pc: u64,
    pstate: u64,
    orig_x0: Option<u64>,
    syscallno: Option<u64>,
    /// `offsetof(struct pt_regs, stackframe)`: where an exception's frame record sits.
    stackframe: u64,
    size: u64,
    /// `KERNELPACMASK`: the bits a pointer-authentication code may occupy in kernel addresses.
    pac_mask: u64,
}

impl Default for Aarch64 {
    /// The `pt_regs` layout of 5.x and 6.x kernels before `struct frame_record_meta` (6.9).
    fn default() -> Self {
        Aarch64 {
            regs: 0,
            sp: 248,
            pc: 256,
            pstate: 264,
            orig_x0: Some(272),
            syscallno: Some(280),
            stackframe: 304,
            size: 336,
            pac_mask: 0,
        }
    }
}

impl Aarch64 {
    /// The layout of `struct pt_regs` from the kernel's types, and the PAC mask of the dump.
    pub fn from_types(types: &Types, pac_mask: u64) -> Aarch64 {
        let d = Aarch64 {
            pac_mask,
            ..Aarch64::default()
        };
        let Ok(id) = types.lookup("struct pt_regs") else {
            return d;
        };
        let off = |name: &str| {
            types
                .member(id, name)
                .ok()
                .filter(|m| m.bit_offset % 8 == 0)
                .map(|m| m.bit_offset / 8)
        };
        let (Some(regs), Some(sp), Some(pc), Some(pstate), Some(stackframe), Ok(size)) = (
            off("regs"),
            off("sp"),
            off("pc"),
            off("pstate"),
            off("stackframe"),
            types.size_of(id),
        ) else {
            return d;
        };
        if [regs + 31 * 8, sp + 8, pc + 8, pstate + 8, stackframe + 16]
            .iter()
            .any(|&end| end > size)
        {
            return d;
        }
        Aarch64 {
            regs,
            sp,
            pc,
            pstate,
            orig_x0: off("orig_x0"),
            syscallno: off("syscallno"),
            stackframe,
            size,
            pac_mask,
        }
    }

    /// The same conventions with another `KERNELPACMASK`.
    pub fn with_pac_mask(self, pac_mask: u64) -> Aarch64 {
        Aarch64 { pac_mask, ..self }
    }

    /// `offsetof(struct pt_regs, stackframe)`.
    pub fn stackframe_offset(&self) -> u64 {
        self.stackframe
    }

    /// The row of a frame whose pc is in an exception vector: its `pt_regs` lies below the
    /// frame record x29 points at.
    pub fn exception_row(&self) -> Row {
        Row {
            kind: RowKind::Regs { partial: false },
            cfa: CfaRule::RegOffset {
                reg: X29,
                offset: -(self.stackframe as i64),
            },
            ra: RegRule::Undefined,
            regs: Vec::new(),
            signal: false,
        }
    }
}

impl Arch for Aarch64 {
    fn name(&self) -> &'static str {
        "aarch64"
    }
    fn pc_reg(&self) -> Reg {
        PC
    }
    fn sp_reg(&self) -> Reg {
        SP
    }
    fn fp_reg(&self) -> Reg {
        X29
    }

    /// The frame record at x29: `CFA = x29 + 16`, return address at `CFA - 8`, caller's x29
    /// at `CFA - 16`.
    fn fp_row(&self) -> Row {
        Row {
            kind: RowKind::Call,
            cfa: CfaRule::RegOffset {
                reg: X29,
                offset: 16,
            },
            ra: RegRule::AtCfa(-8),
            regs: vec![(X29, RegRule::AtCfa(-16))],
            signal: false,
        }
    }

    /// Frame records are the kernel's own unwind information on aarch64.
    fn fp_reliable(&self) -> bool {
        true
    }

    fn regs_frame_size(&self) -> u64 {
        self.size
    }

    fn partial_regs_offset(&self) -> u64 {
        0
    }

    fn decode_regs_frame(&self, bytes: &[u8], _partial: bool) -> RegSet {
        let word = |off: u64| {
            let at = off as usize;
            bytes
                .get(at..at + 8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        };
        let mut out = RegSet::new();
        for i in 0..31u16 {
            if let Some(v) = word(self.regs + 8 * u64::from(i)) {
                out.set(X0 + i, v);
            }
        }
        for (r, off) in [
            (SP, Some(self.sp)),
            (PC, Some(self.pc)),
            (PSTATE, Some(self.pstate)),
            (ORIG_X0, self.orig_x0),
            (SYSCALLNO, self.syscallno),
        ] {
            if let Some(v) = off.and_then(word) {
                out.set(r, v);
            }
        }
        out
    }

    /// `PSTATE.M[3:2]` is the exception level: 0 is user mode (AArch64 EL0t or AArch32).
    fn is_user(&self, regs: &RegSet) -> bool {
        match regs.get(PSTATE) {
            Some(p) => (p >> 2) & 3 == 0,
            None => regs.get(PC).is_some_and(|pc| pc >> 63 == 0),
        }
    }

    /// `bl imm26`, or `blr`/`blraa`/`blrab`(`z`) ending at `ret`.
    fn call_site(&self, code: &[u8; 8], ret: u64) -> CallSite {
        let insn = u32::from_le_bytes([code[4], code[5], code[6], code[7]]);
        if insn & 0xfc00_0000 == 0x9400_0000 {
            let imm = (((insn & 0x03ff_ffff) << 6) as i32 >> 6) as i64 * 4;
            return CallSite::Direct(ret.wrapping_sub(4).wrapping_add_signed(imm));
        }
        let blr = insn & 0xffff_fc1f == 0xd63f_0000;
        let blra = insn & 0xfeff_f800 == 0xd63f_0800;
        if blr || blra {
            return CallSite::Indirect;
        }
        CallSite::None
    }

    /// Sets the pointer-authentication bits of a signed kernel return address back.
    fn strip_pc(&self, v: u64) -> u64 {
        if self.pac_mask != 0 && v >> 55 & 1 == 1 {
            v | self.pac_mask
        } else {
            v
        }
    }

    fn link_reg(&self) -> Option<Reg> {
        Some(X30)
    }

    fn regs_from_prstatus(&self, gregs: &[u64]) -> RegSet {
        regs_from_prstatus(gregs)
    }

    fn callee_saved(&self) -> &'static [Reg] {
        &[19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29] // x19-x29
    }

    fn reg_name(&self, r: Reg) -> Option<&'static str> {
        reg_name(r)
    }
}

/// Registers from an `NT_PRSTATUS` `pr_reg` (`struct user_pt_regs`: x0-x30, sp, pc, pstate).
pub fn regs_from_prstatus(gregs: &[u64]) -> RegSet {
    let mut out = RegSet::new();
    for (i, &v) in gregs.iter().take(34).enumerate() {
        out.set(i as Reg, v);
    }
    out
}

/// The lower-case name of a register (`"x29"`, `"pc"`), for JSON.
pub fn reg_name(r: Reg) -> Option<&'static str> {
    const NAMES: [&str; 36] = [
        "x0",
        "x1",
        "x2",
        "x3",
        "x4",
        "x5",
        "x6",
        "x7",
        "x8",
        "x9",
        "x10",
        "x11",
        "x12",
        "x13",
        "x14",
        "x15",
        "x16",
        "x17",
        "x18",
        "x19",
        "x20",
        "x21",
        "x22",
        "x23",
        "x24",
        "x25",
        "x26",
        "x27",
        "x28",
        "x29",
        "x30",
        "sp",
        "pc",
        "pstate",
        "orig_x0",
        "syscallno",
    ];
    NAMES.get(usize::from(r)).copied()
}

/// A sleeping task's start: `thread.cpu_context` (x19-x28, fp, sp, pc) saved by
/// `cpu_switch_to`; its pc returns into `__switch_to`.
pub fn sleeping_start(prog: &Program, arch: &Aarch64, task: u64) -> Result<Start> {
    let ty = prog.type_("struct task_struct")?;
    let ctx = offset_of(prog, ty, "thread.cpu_context")?;
    let cty = prog.type_("struct cpu_context")?;
    let base = task.wrapping_add(ctx);
    let mut regs = RegSet::new();
    for (i, name) in [
        "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "fp",
    ]
    .iter()
    .enumerate()
    {
        let off = offset_of(prog, cty, name)?;
        regs.set(X19 + i as Reg, prog.read_u64(base.wrapping_add(off))?);
    }
    let sp = prog.read_u64(base.wrapping_add(offset_of(prog, cty, "sp")?))?;
    let pc_slot = base.wrapping_add(offset_of(prog, cty, "pc")?);
    regs.set(SP, sp);
    regs.set(PC, arch.strip_pc(prog.read_u64(pc_slot)?));
    Ok(Start {
        regs,
        return_address: true,
        ra_slot: Some(pc_slot),
        found: FoundBy::Regs,
    })
}

/// Unwind rows of an aarch64 kernel: frame records everywhere, the `pt_regs` of exception
/// vectors, the end of the stack at `ret_from_fork`; text is what the symbols say is code.
pub struct FrameRecordRows<'a> {
    pub prog: &'a Program,
    pub arch: &'a Aarch64,
}

/// Whether a function is an exception vector entry, whose frame record lies in `pt_regs`
/// (`el1h_64_irq`, `el0t_64_sync`, `el1t_64_error`..., and 5.x's `el1_irq`, `el0_sync`).
fn is_exception_entry(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("el") else {
        return false;
    };
    let mut parts = rest.split('_');
    let level = parts.next().unwrap_or("");
    let (kinds, tail): (Vec<&str>, Vec<&str>) =
        parts.partition(|p| matches!(*p, "sync" | "irq" | "fiq" | "error"));
    let level_ok = matches!(level, "0" | "1" | "0t" | "1t" | "1h");
    let tail_ok = tail.iter().all(|p| matches!(*p, "64" | "32" | "compat"));
    level_ok && kinds.len() == 1 && tail_ok && !name.ends_with("_handler")
}

impl RowSource for FrameRecordRows<'_> {
    fn row(&self, pc: u64) -> RowLookup {
        match self.prog.symbols().by_addr(pc) {
            Some((s, _)) if is_exception_entry(&s.name) => {
                RowLookup::Found(self.arch.exception_row(), FoundBy::Regs)
            }
            Some((s, _)) if &*s.name == "ret_from_fork" => RowLookup::Found(
                Row {
                    kind: RowKind::EndOfStack,
                    ..self.arch.fp_row()
                },
                FoundBy::Fp,
            ),
            _ => RowLookup::Found(self.arch.fp_row(), FoundBy::Fp),
        }
    }

    fn is_text(&self, pc: u64) -> bool {
        self.prog.symbols().by_addr(pc).is_some_and(|(s, off)| {
            matches!(s.kind, 'T' | 't' | 'W' | 'w') && s.size.is_none_or(|n| off < n)
        })
    }

    fn function_start(&self, pc: u64) -> Option<u64> {
        self.prog.symbols().by_addr(pc).map(|(s, _)| s.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_entries() {
        for n in [
            "el1h_64_irq",
            "el1h_64_sync",
            "el0t_64_sync",
            "el0t_32_irq",
            "el1t_64_error",
            "el1_irq",
            "el0_sync",
            "el0_sync_compat",
        ] {
            assert!(is_exception_entry(n), "{n}");
        }
        for n in [
            "el1h_64_irq_handler",
            "el0t_64_sync_handler",
            "el0_svc",
            "elf_core_dump",
        ] {
            assert!(!is_exception_entry(n), "{n}");
        }
    }

    #[test]
    fn call_sites_and_pac() {
        let a = Aarch64 {
            pac_mask: 0xfff0_0000_0000_0000,
            ..Aarch64::default()
        };
        let ret = 0xffff_8000_0800_1004u64;
        // bl -0x1000 at ret - 4
        let bl = 0x9400_0000u32 | ((-0x400i32 as u32) & 0x03ff_ffff);
        let mut c = [0u8; 8];
        c[4..].copy_from_slice(&bl.to_le_bytes());
        assert_eq!(a.call_site(&c, ret), CallSite::Direct(ret - 4 - 0x1000));
        // blr x8, blraaz x8
        for insn in [0xd63f_0100u32, 0xd63f_091fu32] {
            c[4..].copy_from_slice(&insn.to_le_bytes());
            assert_eq!(a.call_site(&c, ret), CallSite::Indirect, "{insn:x}");
        }
        // a return address signed with a PAC in bits 52..63 (bit 55 kept) gets its kernel bits back
        assert_eq!(a.strip_pc(0x1b8f_abef_63dc_3884), 0xffff_abef_63dc_3884);
        assert_eq!(a.strip_pc(0x0000_ffff_1234_5678), 0x0000_ffff_1234_5678);
    }

    #[test]
    fn prstatus_and_user_mode() {
        let g: Vec<u64> = (0..34).collect();
        let r = regs_from_prstatus(&g);
        assert_eq!(
            (r.get(X29), r.get(SP), r.get(PC)),
            (Some(29), Some(31), Some(32))
        );
        let a = Aarch64::default();
        let mut u = RegSet::new();
        u.set(PSTATE, 0x8000_0000); // EL0t
        assert!(a.is_user(&u));
        u.set(PSTATE, 0x6040_0005); // EL1h
        assert!(!a.is_user(&u));
    }
}
