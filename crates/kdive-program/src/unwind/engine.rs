//! The unwinding engine: runs generic [`Row`]s, whatever their source, over one set of stacks.

use kdive_memory::ReadVirt;

use super::frame::{ExceptionFrame, FoundBy, Frame, Start, StopReason, Trace, TraceEnd};
use super::regs::{Reg, RegSet};
use super::rows::{CfaRule, RegRule, Row, RowKind, RowLookup, RowSource};
use super::scan::stack_words;
use super::stacks::Stacks;
use super::{Arch, CallSite};

/// Bounds of one walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most frames before the walk stops.
    pub max_frames: usize,
    /// Most scanned frames appended after a walk that stopped on an error (0: no scan).
    pub max_scanned: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frames: 512,
            max_scanned: 48,
        }
    }
}

/// One walk's inputs: memory, unwind rows, the architecture's conventions and the stacks.
pub struct Unwinder<'a> {
    pub mem: &'a dyn ReadVirt,
    pub rows: &'a dyn RowSource,
    pub arch: &'a dyn Arch,
    pub stacks: &'a Stacks,
    pub limits: Limits,
}

/// Bytes above the sp searched for a return address when the unwind information fails.
const MAX_CALL_SITE_SCAN: u64 = 4096;

/// The walk's state besides the frames: stacks already left (a walk never goes back to one).
struct Progress {
    left: Vec<usize>,
}

impl Unwinder<'_> {
    /// Walks from `start` until the outermost frame, user mode, or an error; after an error the
    /// rest of the stack is scanned for text addresses (frames marked unreliable).
    pub fn run(&self, start: &Start) -> Trace {
        let (pc, sp) = match (
            start.regs.get(self.arch.pc_reg()),
            start.regs.get(self.arch.sp_reg()),
        ) {
            (Some(pc), Some(sp)) => (pc, sp),
            (pc, _) => {
                let reg = if pc.is_none() {
                    self.arch.pc_reg()
                } else {
                    self.arch.sp_reg()
                };
                return Trace {
                    frames: Vec::new(),
                    end: TraceEnd::Error(StopReason::MissingReg { pc: 0, reg }),
                };
            }
        };
        let first = Frame {
            pc,
            sp,
            ra_slot: start.ra_slot,
            found: start.found,
            reliable: start.found != FoundBy::Scan,
            exact: !start.return_address,
            regs: start.regs,
            exception: None,
            stack: self.stacks.range_of(sp).map(|r| r.kind),
        };
        let mut frames = vec![first];
        let mut progress = Progress { left: Vec::new() };
        let end = loop {
            if frames.len() >= self.limits.max_frames {
                break TraceEnd::Error(StopReason::TooDeep {
                    limit: self.limits.max_frames,
                });
            }
            let cur = &frames[frames.len() - 1];
            if cur.exception.as_ref().is_some_and(|e| e.user) {
                break TraceEnd::UserMode;
            }
            if let Some(caller) = self.link_register_caller(cur) {
                frames.push(caller);
                continue;
            }
            match self
                .step(cur)
                .and_then(|next| self.check(cur, next, &mut progress))
            {
                Ok(Some(next)) => frames.push(next),
                Ok(None) => break TraceEnd::EndOfStack,
                Err(why) => break TraceEnd::Error(why),
            }
        };
        if matches!(end, TraceEnd::Error(_)) && self.limits.max_scanned > 0 {
            let last = &frames[frames.len() - 1];
            let scanned = self.scan_from(last.sp);
            frames.extend(scanned);
        }
        Trace { frames, end }
    }

    /// The caller of `cur`, `None` at the outermost frame. Where the unwind information fails
    /// (undefined, or a register it needs is unknown), the caller is looked for on the stack: a
    /// return address whose call instruction calls `cur`'s function.
    fn step(&self, cur: &Frame) -> Result<Option<Frame>, StopReason> {
        let (result, row) = self.step_rows(cur);
        match result {
            Err(
                why @ (StopReason::Undefined { .. }
                | StopReason::MissingReg { .. }
                | StopReason::NoInfo { .. }),
            ) => self.call_site_step(cur, row.as_ref()).map(Some).ok_or(why),
            other => other,
        }
    }

    /// The caller of an interrupted function that has no frame record of its own (a leaf,
    /// or one stopped in its prologue or epilogue): the link register returns into another
    /// function than the record at the frame pointer does. Only for exact pcs (CPU or
    /// exception registers) on architectures with a link register.
    fn link_register_caller(&self, cur: &Frame) -> Option<Frame> {
        let lr_reg = self.arch.link_reg().filter(|_| cur.exact)?;
        let lr = self.arch.strip_pc(cur.regs.get(lr_reg)?);
        let func = self.rows.function_start(cur.pc)?;
        let caller = self.rows.function_start(lr.wrapping_sub(1));
        if !self.rows.is_text(lr) || caller.is_none() || caller == Some(func) {
            return None;
        }
        let fp = cur.regs.get(self.arch.fp_reg())?;
        let record_ra = self.read_stack(fp.wrapping_add(8)).ok()?;
        if self.arch.strip_pc(record_ra) == lr {
            return None;
        }
        let mut regs = cur.regs;
        regs.set(self.arch.pc_reg(), lr);
        regs.clear(lr_reg);
        Some(Frame {
            pc: lr,
            sp: cur.sp,
            ra_slot: None,
            found: FoundBy::Regs,
            reliable: true,
            exact: false,
            regs,
            exception: None,
            stack: cur.stack,
        })
    }

    /// One step by the unwind rows (and the row used, for a recovery by call site).
    fn step_rows(&self, cur: &Frame) -> (Result<Option<Frame>, StopReason>, Option<Row>) {
        let lookup = if cur.exact {
            cur.pc
        } else {
            cur.pc.wrapping_sub(1)
        };
        let (row, found) = match self.rows.row(lookup) {
            RowLookup::Found(row, how) => (row, how),
            // a call through a NULL function pointer: the return address is on top of the stack
            RowLookup::NoInfo if cur.pc == 0 && cur.exact => (self.null_call_row(), FoundBy::Regs),
            RowLookup::NoInfo => (self.arch.fp_row(), FoundBy::Fp),
        };
        let result = self.apply_row(cur, &row, found);
        (result, (found != FoundBy::Fp).then_some(row))
    }

    fn apply_row(
        &self,
        cur: &Frame,
        row: &Row,
        found: FoundBy,
    ) -> Result<Option<Frame>, StopReason> {
        match row.kind {
            RowKind::EndOfStack => return Ok(None),
            RowKind::Undefined => return Err(StopReason::Undefined { pc: cur.pc }),
            RowKind::Call | RowKind::Regs { .. } => {}
        }
        let cfa = self.cfa(&row.cfa, cur).map_err(|e| match (found, e) {
            (FoundBy::Fp, StopReason::MissingReg { .. }) => StopReason::NoInfo { pc: cur.pc },
            (_, e) => e,
        })?;
        let mut next = match row.kind {
            RowKind::Regs { partial } => self.regs_frame(cfa, partial, cur)?,
            _ => {
                let RegRule::AtCfa(off) = row.ra else {
                    return Err(StopReason::Undefined { pc: cur.pc });
                };
                let slot = cfa.wrapping_add_signed(off);
                let ra = self.arch.strip_pc(self.read_stack(slot)?);
                let mut regs = RegSet::new();
                regs.set(self.arch.sp_reg(), cfa);
                regs.set(self.arch.pc_reg(), ra);
                Frame {
                    pc: ra,
                    sp: cfa,
                    ra_slot: Some(slot),
                    found,
                    reliable: found != FoundBy::Fp || self.arch.fp_reliable(),
                    exact: row.signal,
                    regs,
                    exception: None,
                    stack: None,
                }
            }
        };
        self.apply_rules(row, cfa, cur, &mut next.regs)?;
        next.stack = self.stacks.range_of(next.sp).map(|r| r.kind);
        Ok(Some(next))
    }

    /// The caller found on the stack above `cur.sp`: the first text address whose call
    /// instruction calls `cur`'s function (reliable), else the first one after any other call
    /// (unreliable). When `cur`'s row computed the CFA from the frame pointer, the frame
    /// pointer follows from the CFA found, and the row's rule for it is applied.
    fn call_site_step(&self, cur: &Frame, row: Option<&Row>) -> Option<Frame> {
        let lookup = if cur.exact {
            cur.pc
        } else {
            cur.pc.wrapping_sub(1)
        };
        let func = self.rows.function_start(lookup);
        let end = match self.stacks.range_of(cur.sp) {
            Some(r) => r.end,
            None if self.stacks.unbounded() => cur.sp.saturating_add(MAX_CALL_SITE_SCAN),
            None => return None,
        };
        let end = end.min(cur.sp.saturating_add(MAX_CALL_SITE_SCAN));
        let mut fallback = None;
        for (slot, v) in stack_words(self.mem, cur.sp, end, MAX_CALL_SITE_SCAN) {
            if !self.rows.is_text(v) || (func.is_some() && self.rows.function_start(v - 1) == func)
            {
                continue;
            }
            let mut code = [0u8; 8];
            if self.mem.read_virt(v.wrapping_sub(8), &mut code).is_err() {
                continue;
            }
            match self.arch.call_site(&code, v) {
                CallSite::Direct(t) if func == Some(t) => {
                    return Some(self.scanned(cur, row, slot, v, true))
                }
                CallSite::Direct(_) | CallSite::Indirect if fallback.is_none() => {
                    fallback = Some((slot, v))
                }
                _ => {}
            }
        }
        fallback.map(|(slot, v)| self.scanned(cur, row, slot, v, false))
    }

    fn scanned(&self, cur: &Frame, row: Option<&Row>, slot: u64, pc: u64, reliable: bool) -> Frame {
        let cfa = slot + 8;
        let mut regs = RegSet::new();
        regs.set(self.arch.sp_reg(), cfa);
        regs.set(self.arch.pc_reg(), pc);
        if let Some(row) = row.filter(|r| r.kind == RowKind::Call) {
            let mut callee = cur.clone();
            if let CfaRule::RegOffset { reg, offset } = row.cfa {
                if callee.regs.get(reg).is_none() {
                    callee.regs.set(reg, cfa.wrapping_add_signed(-offset));
                }
            }
            let _ = self.apply_rules(row, cfa, &callee, &mut regs);
        }
        Frame {
            pc,
            sp: cfa,
            ra_slot: Some(slot),
            found: FoundBy::Scan,
            reliable,
            exact: false,
            regs,
            exception: None,
            stack: self.stacks.range_of(cfa).map(|r| r.kind),
        }
    }

    /// The kernel's rule for pc 0: `CFA = sp + 8`, return address at `sp`.
    fn null_call_row(&self) -> Row {
        Row {
            kind: RowKind::Call,
            cfa: CfaRule::RegOffset {
                reg: self.arch.sp_reg(),
                offset: 8,
            },
            ra: RegRule::AtCfa(-8),
            regs: vec![(self.arch.fp_reg(), RegRule::Unchanged)],
            signal: false,
        }
    }

    fn reg(&self, cur: &Frame, reg: Reg) -> Result<u64, StopReason> {
        cur.regs
            .get(reg)
            .ok_or(StopReason::MissingReg { pc: cur.pc, reg })
    }

    fn cfa(&self, rule: &CfaRule, cur: &Frame) -> Result<u64, StopReason> {
        match *rule {
            CfaRule::RegOffset { reg, offset } => {
                Ok(self.reg(cur, reg)?.wrapping_add_signed(offset))
            }
            CfaRule::DerefRegOffset { reg, offset } => {
                self.read_stack(self.reg(cur, reg)?.wrapping_add_signed(offset))
            }
            CfaRule::RegDerefOffset { reg, offset } => Ok(self
                .read_stack(self.reg(cur, reg)?)?
                .wrapping_add_signed(offset)),
        }
    }

    /// The registers of an exception frame at the CFA: a full block, or only its hardware part.
    fn regs_frame(&self, cfa: u64, partial: bool, cur: &Frame) -> Result<Frame, StopReason> {
        let size = self.arch.regs_frame_size();
        let hw = self.arch.partial_regs_offset();
        let base = if partial { cfa.wrapping_sub(hw) } else { cfa };
        // the part that must be there; the rest of a partial block is shown when readable
        let (need, need_len) = if partial {
            (cfa, size - hw)
        } else {
            (cfa, size)
        };
        if !self.stacks.allows(need, need_len) {
            return Err(StopReason::OffStack { addr: need });
        }
        let mut bytes = vec![0u8; size as usize];
        let whole = self.stacks.allows(base, size) && self.mem.read_virt(base, &mut bytes).is_ok();
        if !whole {
            self.read(need, &mut bytes[(need - base) as usize..])?;
        }
        let valid = self.arch.decode_regs_frame(&bytes, partial);
        let block = if whole {
            self.arch.decode_regs_frame(&bytes, false)
        } else {
            valid
        };
        let mut regs = if partial { cur.regs } else { RegSet::new() };
        for (r, v) in valid.iter() {
            regs.set(r, v);
        }
        let (Some(pc), Some(sp)) = (regs.get(self.arch.pc_reg()), regs.get(self.arch.sp_reg()))
        else {
            return Err(StopReason::Undefined { pc: cur.pc });
        };
        Ok(Frame {
            pc,
            sp,
            ra_slot: None,
            found: FoundBy::Regs,
            reliable: true,
            exact: true,
            regs,
            exception: Some(ExceptionFrame {
                addr: base,
                partial,
                user: self.arch.is_user(&regs),
                regs: block,
            }),
            stack: None,
        })
    }

    /// Applies the row's register rules; registers of an exception block stay as read unless a
    /// rule says where else they are.
    fn apply_rules(
        &self,
        row: &Row,
        cfa: u64,
        cur: &Frame,
        regs: &mut RegSet,
    ) -> Result<(), StopReason> {
        let from_block = matches!(row.kind, RowKind::Regs { .. });
        for &(r, rule) in &row.regs {
            let v = match rule {
                RegRule::Unchanged if from_block => continue,
                RegRule::Unchanged => cur.regs.get(r),
                RegRule::Undefined => None,
                RegRule::AtCfa(off) => Some(self.read_stack(cfa.wrapping_add_signed(off))?),
                RegRule::AtReg { reg, offset } => {
                    Some(self.read_stack(self.reg(cur, reg)?.wrapping_add_signed(offset))?)
                }
            };
            match v {
                Some(v) => regs.set(r, v),
                None => regs.clear(r),
            }
        }
        Ok(())
    }

    /// Sanity of the next frame: text pc, on a known stack, moving up, never back to a stack left.
    fn check(
        &self,
        cur: &Frame,
        next: Option<Frame>,
        progress: &mut Progress,
    ) -> Result<Option<Frame>, StopReason> {
        let Some(next) = next else { return Ok(None) };
        let user = next.exception.as_ref().is_some_and(|e| e.user);
        if user {
            return Ok(Some(next));
        }
        if next.exception.is_none() && !self.rows.is_text(next.pc) {
            return Err(StopReason::BadReturnAddress {
                pc: next.pc,
                slot: next.ra_slot,
            });
        }
        if self.stacks.unbounded() {
            return if next.sp > cur.sp {
                Ok(Some(next))
            } else {
                Err(StopReason::Loop { sp: next.sp })
            };
        }
        let (Some(now), Some(then)) = (self.stack_index(cur.sp), self.stack_index(next.sp)) else {
            return Err(StopReason::OffStack { addr: next.sp });
        };
        if now == then {
            if next.sp <= cur.sp {
                return Err(StopReason::Loop { sp: next.sp });
            }
        } else {
            if progress.left.contains(&then) {
                return Err(StopReason::Loop { sp: next.sp });
            }
            progress.left.push(now);
        }
        Ok(Some(next))
    }

    /// The stack an sp lies on (its top included: an empty stack).
    fn stack_index(&self, sp: u64) -> Option<usize> {
        self.stacks.find(sp, 0)
    }

    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), StopReason> {
        self.mem
            .read_virt(addr, buf)
            .map_err(|e| StopReason::Unreadable {
                addr,
                why: e.to_string(),
            })
    }

    /// Reads a word the walk found on a stack (refused outside the stacks).
    fn read_stack(&self, addr: u64) -> Result<u64, StopReason> {
        if !self.stacks.allows(addr, 8) {
            return Err(StopReason::OffStack { addr });
        }
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Text addresses on the stack from `sp` to the end of its stack, as unreliable frames.
    fn scan_from(&self, sp: u64) -> Vec<Frame> {
        let Some(range) = self.stacks.range_of(sp) else {
            return Vec::new();
        };
        stack_words(self.mem, sp, range.end, range.end - range.start)
            .into_iter()
            .filter(|&(_, v)| self.rows.is_text(v))
            .take(self.limits.max_scanned)
            .map(|(slot, v)| {
                let mut regs = RegSet::new();
                regs.set(self.arch.pc_reg(), v);
                regs.set(self.arch.sp_reg(), slot + 8);
                Frame {
                    pc: v,
                    sp: slot + 8,
                    ra_slot: Some(slot),
                    found: FoundBy::Scan,
                    reliable: false,
                    exact: false,
                    regs,
                    exception: None,
                    stack: Some(range.kind),
                }
            })
            .collect()
    }
}
