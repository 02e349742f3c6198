//! A stack frame's local variables and parameters, from the DWARF of the vmlinux or module
//! holding its code, and the callee-saved registers of caller frames their locations need.
//!
//! Frames are found by ORC, which records where a function saved the frame pointer only;
//! `.debug_frame` says where it saved the other registers it must preserve, so a caller's
//! values of those can be read back from the stack.

use std::sync::Arc;

use kdive_debuginfo::dwarf::{
    DwarfTypes, FrameAccess, FrameScopes, Located, SavedAt, Scope, VarLocation, Variable,
};
use kdive_debuginfo::{TypeId, TypeKind};

use crate::unwind::{Frame, RegSet};
use crate::{Object, Program, Result};

/// The variables in scope at one frame's pc, and the types they name.
pub struct FrameLocals {
    scopes: FrameScopes,
    types: Arc<DwarfTypes>,
    /// Run-time minus link-time address of the file's code and data.
    slide: u64,
}

/// A variable's value in a frame.
pub enum Local<'p> {
    /// In memory, or a scalar value.
    Object(Object<'p>),
    /// A struct, union or array not in memory whose bytes the location gives whole (a small
    /// struct in a register, pieces in several): the type and the bytes.
    Bytes(TypeId, Vec<u8>),
    /// Optimized out, in a register the frame does not know, or given only in part.
    Absent(TypeId),
}

impl std::fmt::Debug for FrameLocals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FrameLocals({} scopes)", self.scopes.scopes.len())
    }
}

/// One frame as location expressions see it.
struct Access<'a> {
    prog: &'a Program,
    regs: &'a RegSet,
    cfa: Option<u64>,
    slide: u64,
}

impl FrameAccess for Access<'_> {
    fn register(&self, reg: u16) -> Option<u64> {
        self.regs.get(reg)
    }
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        self.prog.read(addr, buf).is_ok()
    }
    fn cfa(&self) -> Option<u64> {
        self.cfa
    }
    fn relocate(&self, addr: u64) -> u64 {
        addr.wrapping_add(self.slide)
    }
}

impl FrameLocals {
    /// The function levels at the pc, innermost inlined call first.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes.scopes
    }

    /// The value of `v` in a frame whose registers are `regs` and canonical frame address
    /// `cfa`.
    pub fn value<'p>(
        &self,
        prog: &'p Program,
        v: &Variable,
        regs: &RegSet,
        cfa: Option<u64>,
    ) -> Option<Local<'p>> {
        let ty = self.types.type_id(v.type_die?);
        let access = Access {
            prog,
            regs,
            cfa,
            slide: self.slide,
        };
        Some(match self.scopes.locate(v, &access) {
            Located::Memory(addr) => Local::Object(Object::reference(prog, ty, addr)),
            Located::Bytes(b) => match scalar_size(prog, ty) {
                // a constant may be stored in fewer bytes than its type (`DW_FORM_data1`)
                Some(size) if b.len() >= size || matches!(v.location, VarLocation::Const(_)) => {
                    let mut a = [0u8; 8];
                    let n = size.min(b.len());
                    a[..n].copy_from_slice(&b[..n]);
                    Local::Object(Object::value(prog, ty, u64::from_le_bytes(a)))
                }
                Some(_) => Local::Absent(ty),
                None => match prog.types().size_of(ty) {
                    Ok(size) if size > 0 && b.len() as u64 >= size => {
                        Local::Bytes(ty, b[..size as usize].to_vec())
                    }
                    _ => Local::Absent(ty),
                },
            },
            Located::Absent => Local::Absent(ty),
        })
    }
}

/// The size of a scalar type that fits a computed value (integers, enums, pointers).
fn scalar_size(prog: &Program, ty: TypeId) -> Option<usize> {
    let (_, t) = prog.types().resolve(ty).ok()?;
    let size = match t.kind {
        TypeKind::Int { size, .. } | TypeKind::Enum { size, .. } | TypeKind::Float { size } => {
            size as usize
        }
        TypeKind::Pointer { .. } => 8,
        _ => return None,
    };
    (size <= 8).then_some(size)
}

impl Program {
    /// The variables in scope at the run-time code address `pc` (a return address minus one
    /// for a caller frame), from the module's debug file or the vmlinux; `Ok(None)` when no
    /// attached file has a function there.
    pub fn frame_locals(&self, pc: u64) -> Result<Option<FrameLocals>> {
        if let Some(m) = self.module_debug().iter().find(|m| m.covers(pc)) {
            let (Some(scopes), Some(types)) = (m.scopes(pc)?, m.types()) else {
                return Ok(None);
            };
            return Ok(Some(FrameLocals {
                scopes,
                types: types.clone(),
                slide: 0,
            }));
        }
        let Some(d) = self.debug() else {
            return Ok(None);
        };
        let (Some(scopes), Some(types)) = (d.scopes(pc)?, d.types()) else {
            return Ok(None);
        };
        Ok(Some(FrameLocals {
            scopes,
            types: types.clone(),
            slide: d.slide(),
        }))
    }

    /// The canonical frame address of a frame at `pc` (looked up as is) with registers `regs`,
    /// by the vmlinux's `.debug_frame`.
    pub fn frame_cfa(&self, pc: u64, regs: &RegSet) -> Option<u64> {
        let (reg, off) = self.debug()?.cfi_row(pc)?.cfa?;
        Some(regs.get(reg)?.wrapping_add_signed(off))
    }

    /// Fills in each caller frame's callee-saved registers (x86_64: rbx, rbp, r12-r15) from
    /// the vmlinux's `.debug_frame`: read back from where the callee saved them, or the callee's
    /// own values where it did not touch them. A register stays unknown when no row covers the
    /// callee (code without CFI, module code) or the callee's value is unknown; registers an
    /// exception frame gave, or the unwinder found, are kept.
    pub fn recover_saved_registers(&self, frames: &mut [Frame]) {
        let Ok(arch) = self.unwind_arch() else {
            return;
        };
        let saved = arch.callee_saved();
        for i in 1..frames.len() {
            if frames[i].exception.is_some() {
                continue;
            }
            let callee = &frames[i - 1];
            let lookup = if callee.exact {
                callee.pc
            } else {
                callee.pc.wrapping_sub(1)
            };
            let Some(row) = self.debug().and_then(|d| d.cfi_row(lookup)) else {
                continue;
            };
            // the callee's CFA is the stack pointer its caller had before the call
            let cfa = row
                .cfa
                .and_then(|(r, off)| Some(callee.regs.get(r)?.wrapping_add_signed(off)))
                .unwrap_or(frames[i].sp);
            let mut found = Vec::new();
            for &r in saved {
                if frames[i].regs.get(r).is_some() {
                    continue;
                }
                let rule = row.regs.iter().find(|(x, _)| *x == r).map(|x| x.1);
                let v = match rule {
                    Some(SavedAt::CfaOffset(o)) => self.read_u64(cfa.wrapping_add_signed(o)).ok(),
                    Some(SavedAt::Same) | None => callee.regs.get(r),
                    Some(SavedAt::Undefined) => None,
                };
                if let Some(v) = v {
                    found.push((r, v));
                }
            }
            for (r, v) in found {
                frames[i].regs.set(r, v);
            }
        }
    }
}
