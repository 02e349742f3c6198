//! Call frame information from a debug file's `.debug_frame`: where a function saved the
//! registers it must preserve, at a given address. The unwinder finds frames by ORC; this says
//! which callee-saved register values of a caller can still be read back from the stack.

use gimli::{BaseAddresses, CfaRule as GimliCfa, RegisterRule, UnwindSection};

use super::{error, Reader};
use crate::elf_file::ElfFile;
use crate::Result;

/// Most rows evaluated for one address (an FDE's program is short; a corrupt one is bounded).
const MAX_ROWS: usize = 4096;

/// The rule of one register in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedAt {
    /// Saved at CFA + offset.
    CfaOffset(i64),
    /// Not changed by the function.
    Same,
    /// Not recoverable.
    Undefined,
}

/// The row of the CFI table in effect at one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfiRow {
    /// The CFA is register + offset (`None` for a CFA given by an expression).
    pub cfa: Option<(u16, i64)>,
    /// Registers the row names (DWARF numbers); a register it does not name keeps the rule
    /// the architecture gives it (callee-saved ones: unchanged).
    pub regs: Vec<(u16, SavedAt)>,
}

/// A debug file's `.debug_frame`, its FDEs sorted by address (read once).
pub struct CallFrames {
    frame: gimli::DebugFrame<Reader>,
    /// (start, end, FDE offset), sorted by start.
    fdes: Vec<(u64, u64, usize)>,
}

impl std::fmt::Debug for CallFrames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CallFrames({} FDEs)", self.fdes.len())
    }
}

impl CallFrames {
    /// The `.debug_frame` of a linked 64-bit `file`; `Ok(None)` when it has none.
    pub fn new(file: &ElfFile) -> Result<Option<CallFrames>> {
        let endian = if file.is_little_endian() {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        };
        let bytes = file.section_bytes(".debug_frame")?;
        if bytes.is_empty() {
            return Ok(None);
        }
        let raw = super::RawReader::new(bytes, endian);
        let mut frame = gimli::DebugFrame::from(Reader::new(raw, super::Relocations::default()));
        frame.set_address_size(8);
        let bases = BaseAddresses::default();
        let mut fdes = Vec::new();
        let mut entries = frame.entries(&bases);
        while let Some(e) = entries.next().map_err(|e| error("DWARF call frames", e))? {
            if let gimli::CieOrFde::Fde(partial) = e {
                let offset = partial.offset();
                if let Ok(fde) = partial.parse(|s, b, o| s.cie_from_offset(b, o)) {
                    if fde.len() > 0 {
                        fdes.push((fde.initial_address(), fde.end_address(), offset));
                    }
                }
            }
        }
        fdes.sort_unstable();
        Ok(Some(CallFrames { frame, fdes }))
    }

    /// The row in effect at the link-time address `addr`, `None` when no FDE covers it.
    pub fn row(&self, addr: u64) -> Option<CfiRow> {
        let i = self.fdes.partition_point(|f| f.0 <= addr).checked_sub(1)?;
        let (_, end, offset) = self.fdes[i];
        if addr >= end {
            return None;
        }
        let bases = BaseAddresses::default();
        let fde = self
            .frame
            .fde_from_offset(&bases, gimli::DebugFrameOffset(offset), |s, b, o| {
                s.cie_from_offset(b, o)
            })
            .ok()?;
        let mut ctx = gimli::UnwindContext::new();
        let mut table = fde.rows(&self.frame, &bases, &mut ctx).ok()?;
        for _ in 0..MAX_ROWS {
            let row = table.next_row().ok()??;
            if !row.contains(addr) {
                continue;
            }
            let cfa = match row.cfa() {
                GimliCfa::RegisterAndOffset { register, offset } => Some((register.0, *offset)),
                GimliCfa::Expression(_) => None,
            };
            let regs = row
                .registers()
                .map(|(r, rule)| {
                    let at = match rule {
                        RegisterRule::Offset(o) => SavedAt::CfaOffset(*o),
                        RegisterRule::SameValue => SavedAt::Same,
                        _ => SavedAt::Undefined,
                    };
                    (r.0, at)
                })
                .collect();
            return Some(CfiRow { cfa, regs });
        }
        None
    }
}
