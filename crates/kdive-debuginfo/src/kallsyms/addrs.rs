//! Symbol addresses: the raw table (`kallsyms_addresses` or `kallsyms_offsets`) and how to
//! read it, decided from the data.

use kdive_dump::VmcoreInfo;
use kdive_memory::ReadVirt;

use super::table::le_u64;
use super::{malformed, mem_err};
use crate::{DebugInfoError, Result};

/// How `kallsyms` stores symbol addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressEncoding {
    /// `kallsyms_addresses[]`: absolute u64 values (`!CONFIG_KALLSYMS_BASE_RELATIVE`).
    Absolute,
    /// `kallsyms_relative_base + (u32)kallsyms_offsets[i]`.
    Relative,
    /// `CONFIG_KALLSYMS_ABSOLUTE_PERCPU` (x86_64 SMP until 6.15): an offset >= 0 is an absolute
    /// value (per-CPU symbols), a negative one means `kallsyms_relative_base - 1 - offset`.
    AbsolutePercpu,
    /// No `kallsyms_relative_base`: each offset is relative to its own slot in `kallsyms_offsets`.
    PcRelative,
}

/// The raw address table, before its encoding is known.
pub(super) enum RawAddrs {
    Absolute(Vec<u64>),
    Offsets {
        table: u64,
        offsets: Vec<i32>,
        base: Option<u64>,
    },
}

impl RawAddrs {
    /// Reads the `num` addresses VMCOREINFO locates (in bulk).
    pub fn read(mem: &dyn ReadVirt, info: &VmcoreInfo, num: usize) -> Result<RawAddrs> {
        let (what, width) = match info.symbol("kallsyms_offsets") {
            Some(_) => ("kallsyms_offsets", 4),
            None => ("kallsyms_addresses", 8),
        };
        let addr = info.symbol(what).ok_or_else(|| {
            DebugInfoError::Missing(
                "VMCOREINFO SYMBOL(kallsyms_offsets) or SYMBOL(kallsyms_addresses)".into(),
            )
        })?;
        let mut buf = vec![0u8; num * width];
        mem.read_virt(addr, &mut buf).map_err(mem_err(what, addr))?;
        if width == 8 {
            return Ok(RawAddrs::Absolute(buf.chunks(8).map(le_u64).collect()));
        }
        let offsets = buf
            .chunks(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let base = match info.symbol("kallsyms_relative_base") {
            Some(b) => Some(
                mem.read_u64(b)
                    .map_err(mem_err("kallsyms_relative_base", b))?,
            ),
            None => None,
        };
        Ok(RawAddrs::Offsets {
            table: addr,
            offsets,
            base,
        })
    }

    /// Where an offsets table ends (what 6.4+ kernels without a relative base put next).
    pub fn end(&self) -> Option<u64> {
        match self {
            RawAddrs::Absolute(_) => None,
            RawAddrs::Offsets { table, offsets, .. } => table.checked_add(4 * offsets.len() as u64),
        }
    }

    fn what(&self) -> (&'static str, u64) {
        match self {
            RawAddrs::Absolute(_) => ("kallsyms_addresses", 8),
            RawAddrs::Offsets { .. } => ("kallsyms_offsets", 4),
        }
    }

    fn len(&self) -> usize {
        match self {
            RawAddrs::Absolute(a) => a.len(),
            RawAddrs::Offsets { offsets, .. } => offsets.len(),
        }
    }

    fn candidates(&self) -> Vec<AddressEncoding> {
        match self {
            RawAddrs::Absolute(_) => vec![AddressEncoding::Absolute],
            RawAddrs::Offsets { base: None, .. } => vec![AddressEncoding::PcRelative],
            // Absolute-percpu stores every kernel symbol as a negative offset; with none, it is not in use.
            RawAddrs::Offsets { offsets, .. } if offsets.iter().any(|&o| o < 0) => {
                vec![AddressEncoding::AbsolutePercpu, AddressEncoding::Relative]
            }
            RawAddrs::Offsets { .. } => vec![AddressEncoding::Relative],
        }
    }

    /// The encoding under which a symbol lands where VMCOREINFO puts `_stext` (the likeliest one
    /// when VMCOREINFO does not say). `stext` finds the symbol called `_stext`, asked only when
    /// no encoding agrees: without one, there is nothing to disagree with.
    pub fn encoding(
        &self,
        info: &VmcoreInfo,
        stext: impl FnOnce() -> Option<usize>,
    ) -> Result<AddressEncoding> {
        let candidates = self.candidates();
        let Some(want) = info.symbol("_stext") else {
            return Ok(candidates[0]);
        };
        let lands =
            |enc: AddressEncoding| (0..self.len()).any(|i| self.get(enc, i) == Some((want, false)));
        if let Some(&enc) = candidates.iter().find(|&&enc| lands(enc)) {
            return Ok(enc);
        }
        let Some(i) = stext() else {
            return Ok(candidates[0]);
        };
        let got: Vec<String> = candidates
            .iter()
            .filter_map(|&enc| Some(format!("{:#x} ({enc:?})", self.get(enc, i)?.0)))
            .collect();
        let detail = format!(
            "_stext decodes to {}, VMCOREINFO says {want:#x}",
            got.join(" or ")
        );
        let (what, width) = self.what();
        Err(malformed(what, width * i as u64, detail))
    }

    /// Address of symbol `i` under `enc`, and whether it is absolute rather than a location.
    pub fn get(&self, enc: AddressEncoding, i: usize) -> Option<(u64, bool)> {
        Some(match self {
            RawAddrs::Absolute(a) => (*a.get(i)?, false),
            RawAddrs::Offsets {
                table,
                offsets,
                base,
            } => {
                let o = *offsets.get(i)?;
                let base = base.unwrap_or(0);
                match enc {
                    AddressEncoding::AbsolutePercpu if o >= 0 => (o as u64, true),
                    AddressEncoding::AbsolutePercpu => (
                        base.wrapping_sub(1).wrapping_sub(i64::from(o) as u64),
                        false,
                    ),
                    AddressEncoding::PcRelative => (
                        table
                            .wrapping_add(4 * i as u64)
                            .wrapping_add(i64::from(o) as u64),
                        false,
                    ),
                    _ => (base.wrapping_add(u64::from(o as u32)), false),
                }
            }
        })
    }
}
