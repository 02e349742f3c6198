//! x86_64 ORC: the kernel's own unwind tables, read from the dump and turned into [`Row`]s.
//!
//! A table is two parallel arrays: `int ip[]` (each entry relative to its own address) and
//! `struct orc_entry orc[]`. The entry for a pc is the last one whose ip is at or below it.
//! `struct orc_entry` changed over time (`type:2 end:1` before Linux 6.3, `type:3 signal:1`
//! since, with new type numbers), so its layout is read from the kernel's types, and guessed
//! from the data only when the types do not describe it.

use std::collections::HashMap;
use std::sync::Mutex;

use kdive_debuginfo::Types;
use kdive_memory::ReadVirt;

use super::regs::Reg;
use super::rows::{CfaRule, RegRule, Row, RowKind};
use super::x86_64::reg;
use crate::{ProgramError, Result};

/// Most entries a table may have (a distribution kernel has ~400k).
pub const MAX_ORC_ENTRIES: usize = 2 << 20;

/// `ORC_REG_*` numbers (unchanged since ORC was introduced).
mod orc_reg {
    pub const UNDEFINED: u8 = 0;
    pub const PREV_SP: u8 = 1;
    pub const DX: u8 = 2;
    pub const DI: u8 = 3;
    pub const BP: u8 = 4;
    pub const SP: u8 = 5;
    pub const R10: u8 = 6;
    pub const R13: u8 = 7;
    pub const BP_INDIRECT: u8 = 8;
    pub const SP_INDIRECT: u8 = 9;
}

/// A bitfield of `struct orc_entry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    bit: u32,
    width: u32,
}

impl Field {
    fn get(self, v: u64) -> u64 {
        let mask = if self.width >= 64 {
            !0
        } else {
            (1u64 << self.width) - 1
        };
        v.checked_shr(self.bit).unwrap_or(0) & mask
    }
}

/// The two generations of ORC entry types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrcGeneration {
    /// `type:2 end:1`: CALL = 0, REGS = 1, REGS_PARTIAL = 2; an undefined sp with `end` set ends the stack.
    Legacy,
    /// `type:3 signal:1` (Linux 6.3+): UNDEFINED = 0, END_OF_STACK = 1, CALL = 2, REGS = 3, REGS_PARTIAL = 4.
    Current,
}

/// The layout of `struct orc_entry` in one kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrcLayout {
    size: usize,
    sp_offset: Field,
    bp_offset: Field,
    sp_reg: Field,
    bp_reg: Field,
    type_: Field,
    /// `end` (legacy) or `signal` (current).
    flag: Field,
    generation: OrcGeneration,
}

impl OrcLayout {
    /// The layout before Linux 6.3: `s16 sp_offset, bp_offset; sp_reg:4 bp_reg:4 type:2 end:1`.
    pub fn legacy() -> OrcLayout {
        Self::fixed(2, OrcGeneration::Legacy)
    }

    /// The layout since Linux 6.3: `s16 sp_offset, bp_offset; sp_reg:4 bp_reg:4 type:3 signal:1`.
    pub fn current() -> OrcLayout {
        Self::fixed(3, OrcGeneration::Current)
    }

    fn fixed(type_width: u32, generation: OrcGeneration) -> OrcLayout {
        let f = |bit, width| Field { bit, width };
        OrcLayout {
            size: 6,
            sp_offset: f(0, 16),
            bp_offset: f(16, 16),
            sp_reg: f(32, 4),
            bp_reg: f(36, 4),
            type_: f(40, type_width),
            flag: f(40 + type_width, 1),
            generation,
        }
    }

    /// Entry size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Which generation of entry types this layout has.
    pub fn generation(&self) -> OrcGeneration {
        self.generation
    }

    /// The layout `struct orc_entry` has in `types` (`None` when the types lack it or it
    /// is not one this reader understands).
    pub fn from_types(types: &Types) -> Option<OrcLayout> {
        let id = types.lookup("struct orc_entry").ok()?;
        let size = types.size_of(id).ok()? as usize;
        let field = |name: &str| -> Option<Field> {
            let m = types.member(id, name).ok()?;
            let width = match m.bit_size {
                Some(w) => w,
                None => 8 * types.size_of(m.ty).ok()? as u32,
            };
            Some(Field {
                bit: u32::try_from(m.bit_offset).ok()?,
                width,
            })
        };
        let (flag, generation) = match (field("end"), field("signal")) {
            (Some(end), _) => (end, OrcGeneration::Legacy),
            (None, Some(signal)) => (signal, OrcGeneration::Current),
            (None, None) => return None,
        };
        let layout = OrcLayout {
            size,
            sp_offset: field("sp_offset")?,
            bp_offset: field("bp_offset")?,
            sp_reg: field("sp_reg")?,
            bp_reg: field("bp_reg")?,
            type_: field("type")?,
            flag,
            generation,
        };
        let fields = [
            layout.sp_offset,
            layout.bp_offset,
            layout.sp_reg,
            layout.bp_reg,
            layout.type_,
            layout.flag,
        ];
        let fits = (1..=8).contains(&size)
            && fields
                .iter()
                .all(|f| f.width > 0 && f.bit + f.width <= 8 * size as u32);
        fits.then_some(layout)
    }

    /// Guesses the layout of 6-byte entries from the data: most entries are plain calls with
    /// `sp_reg = SP`, whose 3-bit type field reads 0 in the legacy layout and 2 in the current one.
    pub fn guess(raw: &[u8]) -> OrcLayout {
        let (mut legacy, mut current) = (0usize, 0usize);
        for e in raw.chunks_exact(6).step_by(7).take(50_000) {
            if e[4] & 0xf != orc_reg::SP {
                continue;
            }
            match e[5] & 7 {
                0 => legacy += 1,
                2 => current += 1,
                _ => {}
            }
        }
        if legacy > current {
            OrcLayout::legacy()
        } else {
            OrcLayout::current()
        }
    }

    /// Decodes one entry (`raw.len() >= self.size()`).
    pub fn decode(&self, raw: &[u8]) -> OrcEntry {
        let mut b = [0u8; 8];
        let n = self.size.min(8).min(raw.len());
        b[..n].copy_from_slice(&raw[..n]);
        let v = u64::from_le_bytes(b);
        let s16 = |f: Field| f.get(v) as u16 as i16;
        let ty = self.type_.get(v) as u8;
        let flag = self.flag.get(v) == 1;
        let kind = match (self.generation, ty) {
            (OrcGeneration::Legacy, 0) => OrcType::Call,
            (OrcGeneration::Legacy, 1) => OrcType::Regs,
            (OrcGeneration::Legacy, 2) => OrcType::RegsPartial,
            (OrcGeneration::Current, 0) => OrcType::Undefined,
            (OrcGeneration::Current, 1) => OrcType::EndOfStack,
            (OrcGeneration::Current, 2) => OrcType::Call,
            (OrcGeneration::Current, 3) => OrcType::Regs,
            (OrcGeneration::Current, 4) => OrcType::RegsPartial,
            _ => OrcType::Unknown(ty),
        };
        let sp_reg = self.sp_reg.get(v) as u8;
        // legacy: an undefined sp is the end of the stack with `end`, an error without
        let kind = match self.generation {
            OrcGeneration::Legacy if sp_reg == orc_reg::UNDEFINED => {
                if flag {
                    OrcType::EndOfStack
                } else {
                    OrcType::Undefined
                }
            }
            _ => kind,
        };
        let signal = match self.generation {
            OrcGeneration::Legacy => matches!(kind, OrcType::Regs | OrcType::RegsPartial),
            OrcGeneration::Current => flag,
        };
        OrcEntry {
            sp_offset: s16(self.sp_offset),
            bp_offset: s16(self.bp_offset),
            sp_reg,
            bp_reg: self.bp_reg.get(v) as u8,
            kind,
            signal,
        }
    }
}

/// What an ORC entry says a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrcType {
    Undefined,
    EndOfStack,
    Call,
    Regs,
    RegsPartial,
    /// A type number this reader does not know.
    Unknown(u8),
}

/// One decoded `struct orc_entry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrcEntry {
    pub sp_offset: i16,
    pub bp_offset: i16,
    pub sp_reg: u8,
    pub bp_reg: u8,
    pub kind: OrcType,
    /// The caller's pc is exact (below an interrupt or signal frame).
    pub signal: bool,
}

impl OrcEntry {
    /// A "weak" section terminator, which a real entry at the same ip overrides.
    fn is_weak(&self) -> bool {
        self.kind == OrcType::Undefined
    }

    /// The generic row this entry stands for.
    pub fn to_row(&self) -> Row {
        let undefined = |kind| Row {
            kind,
            cfa: CfaRule::RegOffset {
                reg: reg::RSP,
                offset: 0,
            },
            ra: RegRule::Undefined,
            regs: Vec::new(),
            signal: false,
        };
        let kind = match self.kind {
            OrcType::Call => RowKind::Call,
            OrcType::Regs => RowKind::Regs { partial: false },
            OrcType::RegsPartial => RowKind::Regs { partial: true },
            OrcType::EndOfStack => return undefined(RowKind::EndOfStack),
            OrcType::Undefined | OrcType::Unknown(_) => return undefined(RowKind::Undefined),
        };
        let offset = i64::from(self.sp_offset);
        let base = |r: Reg| CfaRule::RegOffset { reg: r, offset };
        let cfa = match self.sp_reg {
            orc_reg::SP => base(reg::RSP),
            orc_reg::BP => base(reg::RBP),
            // objtool's stack swizzle (`mov %rsp, (%tos); mov %tos, %rsp`, the IRQ stack
            // switch): the old sp is saved at the new sp, and the offset applies to it. Kernels
            // before 5.12 added the offset before the read, but emitted only offset 0 here.
            orc_reg::SP_INDIRECT => CfaRule::RegDerefOffset {
                reg: reg::RSP,
                offset,
            },
            orc_reg::BP_INDIRECT => CfaRule::DerefRegOffset {
                reg: reg::RBP,
                offset,
            },
            orc_reg::R10 => base(reg::R10),
            orc_reg::R13 => base(reg::R13),
            orc_reg::DI => base(reg::RDI),
            orc_reg::DX => base(reg::RDX),
            _ => return undefined(RowKind::Undefined),
        };
        let bp = match self.bp_reg {
            orc_reg::UNDEFINED => RegRule::Unchanged,
            orc_reg::PREV_SP => RegRule::AtCfa(i64::from(self.bp_offset)),
            orc_reg::BP => RegRule::AtReg {
                reg: reg::RBP,
                offset: i64::from(self.bp_offset),
            },
            _ => return undefined(RowKind::Undefined),
        };
        Row {
            kind,
            cfa,
            ra: RegRule::AtCfa(-8),
            regs: vec![(reg::RBP, bp)],
            signal: self.signal,
        }
    }
}

/// Entries of a table kept here: tables built from vectors.
#[derive(Debug, Clone)]
struct Loaded {
    /// Absolute ips, sorted.
    ips: Vec<u64>,
    /// Raw entries in the order of `ips`.
    raw: Vec<u8>,
}

/// The kernel's index of vmlinux's table (`orc_lookup`): for each `LOOKUP_BLOCK_SIZE` bytes of
/// text from `start`, the index of the entry in force at the block's first byte.
#[derive(Debug, Clone, Copy)]
struct BlockIndex {
    table: u64,
    start: u64,
    blocks: u64,
}

/// `LOOKUP_BLOCK_SIZE` of `arch/x86/kernel/unwind_orc.c`.
const LOOKUP_BLOCK: u64 = 256;
/// Most lookups remembered per table before the memo starts over.
const MAX_MEMO: usize = 1 << 16;

/// A table left in the dump's memory, sorted as the kernel keeps it (at build time for
/// vmlinux, at load time for modules): each lookup reads the few entries it needs.
#[derive(Debug)]
struct InMemory {
    ip_table: u64,
    orc_table: u64,
    count: usize,
    index: Option<BlockIndex>,
    /// Entries already looked up, by pc.
    memo: Mutex<HashMap<u64, Option<OrcEntry>>>,
}

impl InMemory {
    /// The absolute ip of entry `i`.
    fn ip(&self, mem: &dyn ReadVirt, i: usize) -> Option<u64> {
        let at = self.ip_table.checked_add(4 * i as u64)?;
        let rel = mem.read_u32(at).ok()? as i32;
        Some(at.wrapping_add_signed(i64::from(rel)))
    }

    /// The last entry in `lo..hi` whose ip is at or below `pc`, if the window holds one.
    fn last_at_or_below(
        &self,
        mem: &dyn ReadVirt,
        pc: u64,
        lo: usize,
        hi: usize,
    ) -> Option<Option<usize>> {
        let (mut lo, mut hi) = (lo, hi);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.ip(mem, mid)? <= pc {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Some(lo.checked_sub(1))
    }

    /// Which entry covers `pc`: through the block index when it agrees with the table, else by a
    /// binary search of the whole table. `None` when the table cannot be read.
    fn find(&self, mem: &dyn ReadVirt, pc: u64) -> Option<Option<usize>> {
        if let Some(w) = self.window(mem, pc) {
            if let Some(Some(i)) = self.last_at_or_below(mem, pc, w.0, w.1) {
                // the window is right when the entry after it starts above pc
                let next_above = i + 1 >= self.count || self.ip(mem, i + 1).is_some_and(|n| n > pc);
                if i >= w.0 && next_above {
                    return Some(Some(i));
                }
            }
        }
        self.last_at_or_below(mem, pc, 0, self.count)
    }

    /// The index's window of entries for `pc` (`orc_lookup[idx] ..= orc_lookup[idx + 1]`).
    fn window(&self, mem: &dyn ReadVirt, pc: u64) -> Option<(usize, usize)> {
        let ix = self.index?;
        let idx = pc.checked_sub(ix.start)? / LOOKUP_BLOCK;
        if idx + 1 >= ix.blocks {
            return None;
        }
        let mut b = [0u8; 8];
        mem.read_virt(ix.table.checked_add(4 * idx)?, &mut b).ok()?;
        let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let hi = (u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize).saturating_add(1);
        (lo < hi && hi <= self.count).then_some((lo, hi))
    }
}

/// Where a table's entries are.
#[derive(Debug)]
enum Entries {
    Loaded(Loaded),
    InMemory(InMemory),
}

/// One ORC table (vmlinux's or a module's), searched in O(log n): held here, or left in the
/// dump's memory and read entry by entry as lookups need it.
#[derive(Debug)]
pub struct OrcTable {
    name: String,
    /// Code the table covers: `[start, end)` ranges.
    ranges: Vec<(u64, u64)>,
    entries: Entries,
    layout: OrcLayout,
}

/// The range a sorted table covers when nobody says: its first ip to its last.
fn span(first: Option<u64>, last: Option<u64>) -> Vec<(u64, u64)> {
    match (first, last) {
        (Some(a), Some(b)) => vec![(a, b.saturating_add(1))],
        _ => Vec::new(),
    }
}

impl OrcTable {
    /// A table from absolute ips and raw entries (in the same order; sorted here if they are
    /// not, weak terminators before real entries at the same ip as the kernel sorts them).
    /// `ranges` is the code the table covers; empty means from its first to its last ip.
    pub fn new(
        name: &str,
        ips: Vec<u64>,
        raw: Vec<u8>,
        layout: OrcLayout,
        ranges: Vec<(u64, u64)>,
    ) -> Result<OrcTable> {
        let es = layout.size();
        if raw.len() != ips.len() * es {
            return Err(ProgramError::Walk {
                what: format!("ORC table of {name}"),
                why: format!(
                    "{} ips but {} bytes of {es}-byte entries",
                    ips.len(),
                    raw.len()
                ),
            });
        }
        let (ips, raw) = if ips.windows(2).all(|w| w[0] <= w[1]) {
            (ips, raw)
        } else {
            let mut order: Vec<usize> = (0..ips.len()).collect();
            let weak = |i: usize| layout.decode(&raw[i * es..]).is_weak();
            order.sort_by_key(|&i| (ips[i], !weak(i)));
            let sorted_ips = order.iter().map(|&i| ips[i]).collect();
            let mut sorted_raw = Vec::with_capacity(raw.len());
            for &i in &order {
                sorted_raw.extend_from_slice(&raw[i * es..(i + 1) * es]);
            }
            (sorted_ips, sorted_raw)
        };
        let ranges = if ranges.is_empty() {
            span(ips.first().copied(), ips.last().copied())
        } else {
            ranges
        };
        Ok(OrcTable {
            name: name.to_string(),
            ranges,
            entries: Entries::Loaded(Loaded { ips, raw }),
            layout,
        })
    }

    /// A table of `count` entries in memory, `int ip_table[count]` (relative) and
    /// `struct orc_entry orc_table[count]`, sorted by ip as the kernel keeps them. Only its
    /// ends are read now (and, without a `layout`, the first entries to guess it from); each
    /// [`lookup`](Self::lookup) reads what it needs.
    pub fn read(
        mem: &dyn ReadVirt,
        name: &str,
        ip_table: u64,
        orc_table: u64,
        count: usize,
        layout: Option<OrcLayout>,
        ranges: Vec<(u64, u64)>,
    ) -> Result<OrcTable> {
        if count == 0 || count > MAX_ORC_ENTRIES {
            return Err(ProgramError::Walk {
                what: format!("ORC table of {name}"),
                why: format!("{count} entries (expected 1..{MAX_ORC_ENTRIES})"),
            });
        }
        let table = InMemory {
            ip_table,
            orc_table,
            count,
            index: None,
            memo: Mutex::new(HashMap::new()),
        };
        let unreadable = |i: usize| ProgramError::Walk {
            what: format!("ORC table of {name}"),
            why: format!("ip {i} of {count} at {ip_table:#x} cannot be read"),
        };
        let first = table.ip(mem, 0).ok_or_else(|| unreadable(0))?;
        let last = table
            .ip(mem, count - 1)
            .ok_or_else(|| unreadable(count - 1))?;
        let layout = match layout {
            Some(l) => l,
            None => {
                let mut raw = vec![0u8; count.min(GUESS_SAMPLE) * 6];
                mem.read_virt(orc_table, &mut raw)?;
                OrcLayout::guess(&raw)
            }
        };
        let mut probe = vec![0u8; layout.size()];
        mem.read_virt(orc_table, &mut probe)?;
        let ranges = if ranges.is_empty() {
            span(Some(first), Some(last))
        } else {
            ranges
        };
        Ok(OrcTable {
            name: name.to_string(),
            ranges,
            entries: Entries::InMemory(table),
            layout,
        })
    }

    /// Lets lookups of text in `[start, start + 256 * (blocks - 1))` start from the kernel's
    /// block index at `table` (vmlinux's `orc_lookup`, `blocks` u32 entries). Windows that
    /// disagree with the table are ignored. No effect on tables held here.
    pub fn with_block_index(mut self, table: u64, start: u64, blocks: u64) -> OrcTable {
        if let Entries::InMemory(m) = &mut self.entries {
            m.index = Some(BlockIndex {
                table,
                start,
                blocks,
            });
        }
        self
    }

    /// Whose table this is (`vmlinux` or a module name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match &self.entries {
            Entries::Loaded(l) => l.ips.len(),
            Entries::InMemory(m) => m.count,
        }
    }

    /// True for a table without entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry layout.
    pub fn layout(&self) -> &OrcLayout {
        &self.layout
    }

    /// Whether `pc` lies in the code this table covers.
    pub fn covers(&self, pc: u64) -> bool {
        self.ranges.iter().any(|&(a, b)| pc >= a && pc < b)
    }

    /// The entry for `pc`: the last one whose ip is at or below it. A table left in memory is
    /// read through `mem`; `None` also when the entries it needs cannot be read.
    pub fn lookup(&self, mem: &dyn ReadVirt, pc: u64) -> Option<OrcEntry> {
        let es = self.layout.size();
        match &self.entries {
            Entries::Loaded(l) => {
                let i = l.ips.partition_point(|&ip| ip <= pc).checked_sub(1)?;
                Some(self.layout.decode(&l.raw[i * es..(i + 1) * es]))
            }
            Entries::InMemory(m) => {
                let mut memo = m.memo.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(&e) = memo.get(&pc) {
                    return e;
                }
                drop(memo);
                let entry = m.find(mem, pc).map(|i| {
                    let at = m.orc_table.checked_add((i? * es) as u64)?;
                    let mut raw = [0u8; 8];
                    let raw = raw.get_mut(..es)?;
                    mem.read_virt(at, raw).ok()?;
                    Some(self.layout.decode(raw))
                });
                let Some(entry) = entry else {
                    return None; // unreadable now: not remembered
                };
                memo = m.memo.lock().unwrap_or_else(|p| p.into_inner());
                if memo.len() >= MAX_MEMO {
                    memo.clear();
                }
                memo.insert(pc, entry);
                entry
            }
        }
    }
}

/// Entries [`OrcTable::read`] guesses the layout from when the types do not give it.
const GUESS_SAMPLE: usize = 1 << 14;

#[cfg(test)]
mod tests {
    use super::*;

    /// Tables held in memory never read any.
    struct NoMemory;

    impl ReadVirt for NoMemory {
        fn read_virt(&self, addr: u64, _: &mut [u8]) -> kdive_memory::Result<()> {
            Err(kdive_memory::MemError::NotMapped {
                vaddr: addr,
                level: "PT",
                entry: 0,
            })
        }
    }

    fn raw(sp_off: i16, bp_off: i16, sp_reg: u8, bp_reg: u8, ty: u8, flag: u8, tw: u32) -> [u8; 6] {
        let mut b = [0u8; 6];
        b[0..2].copy_from_slice(&sp_off.to_le_bytes());
        b[2..4].copy_from_slice(&bp_off.to_le_bytes());
        let bits = u16::from(sp_reg)
            | u16::from(bp_reg) << 4
            | u16::from(ty) << 8
            | u16::from(flag) << (8 + tw);
        b[4..6].copy_from_slice(&bits.to_le_bytes());
        b
    }

    #[test]
    fn decodes_both_generations() {
        let old = OrcLayout::legacy();
        let e = old.decode(&raw(16, -16, orc_reg::SP, orc_reg::PREV_SP, 0, 0, 2));
        assert_eq!(
            (e.kind, e.sp_offset, e.bp_offset, e.signal),
            (OrcType::Call, 16, -16, false)
        );
        assert_eq!(
            old.decode(&raw(0, 0, 0, 0, 0, 1, 2)).kind,
            OrcType::EndOfStack
        );
        assert_eq!(
            old.decode(&raw(0, 0, 0, 0, 0, 0, 2)).kind,
            OrcType::Undefined
        );
        let r = old.decode(&raw(0, 0, orc_reg::SP, 0, 1, 0, 2));
        assert_eq!((r.kind, r.signal), (OrcType::Regs, true));

        let new = OrcLayout::current();
        let e = new.decode(&raw(8, 0, orc_reg::SP, 0, 2, 0, 3));
        assert_eq!(e.kind, OrcType::Call);
        assert_eq!(
            new.decode(&raw(0, 0, 0, 0, 1, 0, 3)).kind,
            OrcType::EndOfStack
        );
        let p = new.decode(&raw(8, 0, orc_reg::SP, 0, 4, 1, 3));
        assert_eq!((p.kind, p.signal), (OrcType::RegsPartial, true));
        assert_eq!(
            new.decode(&raw(8, 0, orc_reg::SP, 0, 7, 0, 3)).kind,
            OrcType::Unknown(7)
        );
    }

    #[test]
    fn guesses_generation_from_data() {
        let mut old = Vec::new();
        let mut new = Vec::new();
        for _ in 0..100 {
            old.extend(raw(8, 0, orc_reg::SP, 0, 0, 0, 2));
            new.extend(raw(8, 0, orc_reg::SP, 0, 2, 0, 3));
        }
        assert_eq!(OrcLayout::guess(&old).generation(), OrcGeneration::Legacy);
        assert_eq!(OrcLayout::guess(&new).generation(), OrcGeneration::Current);
    }

    #[test]
    fn lookup_is_rightmost_and_sorts_weak_first() {
        let l = OrcLayout::current();
        let call = raw(8, 0, orc_reg::SP, 0, 2, 0, 3);
        let weak = raw(0, 0, 0, 0, 0, 0, 3);
        let big = raw(24, 0, orc_reg::SP, 0, 2, 0, 3);
        // unsorted on purpose: the real entry at 0x2000 must win over the weak one
        let ips = vec![0x3000, 0x2000, 0x1000, 0x2000];
        let mut bytes = Vec::new();
        for e in [big, call, call, weak] {
            bytes.extend(e);
        }
        let t = OrcTable::new("t", ips, bytes, l, vec![]).unwrap();
        let m = NoMemory;
        assert_eq!(t.lookup(&m, 0x0fff), None);
        assert_eq!(t.lookup(&m, 0x1000).unwrap().sp_offset, 8);
        assert_eq!(t.lookup(&m, 0x2fff).unwrap().kind, OrcType::Call);
        assert_eq!(t.lookup(&m, 0x3000).unwrap().sp_offset, 24);
        assert!(t.covers(0x3000) && !t.covers(0x3001));
        assert!(OrcTable::new("bad", vec![1], vec![0; 5], OrcLayout::current(), vec![]).is_err());
    }
}
