//! The tables VMCOREINFO does not name, found from the layout `scripts/kallsyms.c` writes and
//! accepted only when the data agrees: `kallsyms_markers` (the record offset of every 256th
//! name) and, since Linux 6.2, `kallsyms_seqs_of_names` (symbol numbers in name order).
//!
//! The order of the tables: `kallsyms_names`, `kallsyms_markers`, then `kallsyms_token_table`
//! (up to 6.1 and since 6.4) or `kallsyms_seqs_of_names` then the token table (6.2, 6.3); since
//! 6.4 the names-ordered table comes last, after the addresses. Labels are aligned to 4 or 8.

use kdive_memory::ReadVirt;

use super::names::{walk, Bulk, LengthForm, Records};
use super::{malformed, BLOCK, CHUNK, MAX_NAMES_BYTES};
use crate::{DebugInfoError, Result};

/// Most bytes one block of 256 names may take (256 records of the longest length).
const MAX_BLOCK_BYTES: u64 = 256 * (2 + 0x7fff);

/// Where every 256th name starts in `kallsyms_names`, and where the names end.
pub(super) struct Markers {
    /// Record offset of symbol `256 k`.
    pub offsets: Vec<u64>,
    /// Length of `kallsyms_names`.
    pub names_end: u64,
    /// Address just past the markers table.
    pub end: u64,
    /// The length form, when the whole table was walked to find the markers.
    pub form: Option<LengthForm>,
}

impl Markers {
    /// Byte range of block `b` in `kallsyms_names`.
    pub fn block(&self, b: usize) -> Option<(u64, u64)> {
        let start = *self.offsets.get(b)?;
        let end = self.offsets.get(b + 1).copied().unwrap_or(self.names_end);
        (start <= end).then_some((start, end))
    }
}

fn read_words(mem: &dyn ReadVirt, at: u64, count: usize, width: usize) -> Option<Vec<u64>> {
    let mut buf = vec![0u8; count.checked_mul(width)?];
    mem.read_virt(at, &mut buf).ok()?;
    Some(
        buf.chunks_exact(width)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..width].copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect(),
    )
}

/// Finds the markers just before `kallsyms_token_table` (or before the names-ordered table in
/// between): each candidate must start at 0, grow by at least one byte per name, and its last
/// block of names must end right before the candidate (its alignment aside).
pub(super) fn locate(
    mem: &dyn ReadVirt,
    names_addr: u64,
    num: usize,
    token_table: u64,
) -> Option<Markers> {
    let count = num.div_ceil(BLOCK);
    let seqs = 3 * num as u64;
    // where the markers may end: at the token table, or at the table of 6.2/6.3 before it
    let mut ends = vec![token_table];
    if let Some(x) = token_table.checked_sub(seqs) {
        ends.extend([x & !3, (x & !3).wrapping_sub(4)]);
    }
    for end in ends {
        for pad in [0u64, 4] {
            for width in [4usize, 8] {
                let Some(start) = end
                    .checked_sub(pad)
                    .and_then(|e| e.checked_sub((count * width) as u64))
                else {
                    continue;
                };
                if start % 4 != 0 || start <= names_addr {
                    continue;
                }
                if let Some(m) = check(mem, names_addr, num, start, width) {
                    return Some(m);
                }
            }
        }
    }
    None
}

/// The markers at `start` (`width`-byte entries), if they agree with the names before them.
fn check(
    mem: &dyn ReadVirt,
    names_addr: u64,
    num: usize,
    start: u64,
    width: usize,
) -> Option<Markers> {
    let count = num.div_ceil(BLOCK);
    let room = start - names_addr;
    let offsets = read_words(mem, start, count, width)?;
    let steps_ok = offsets.first() == Some(&0)
        && offsets
            .windows(2)
            .all(|w| w[1] >= w[0].saturating_add(BLOCK as u64) && w[1] - w[0] <= MAX_BLOCK_BYTES);
    let last = *offsets.last()?;
    if !steps_ok || last >= room || room - last > MAX_BLOCK_BYTES + 8 {
        return None;
    }
    let mut bytes = vec![0u8; (room - last) as usize];
    mem.read_virt(names_addr + last, &mut bytes).ok()?;
    let in_last = num - (count - 1) * BLOCK;
    // the names end within the alignment before the markers
    let names_end = [LengthForm::TwoByte, LengthForm::OneByte]
        .into_iter()
        .find_map(|form| {
            let (_, end) = walk(&bytes, in_last, form)?;
            (bytes.len() - end < 8).then_some(last + end as u64)
        })?;
    Some(Markers {
        offsets,
        names_end,
        end: start + (count * width) as u64,
        form: None,
    })
}

/// Record offset of every 256th of `recs`, as `kallsyms_markers` holds them.
fn every_256th(recs: &Records) -> Vec<u64> {
    (0..recs.len())
        .step_by(BLOCK)
        .map(|i| match i.checked_sub(1) {
            None => 0,
            Some(p) => u64::from(recs[p].0) + u64::from(recs[p].1),
        })
        .collect()
}

/// Walks every name from the start of the table: where the markers cannot be found. A length
/// byte with bit 7 set means a two-byte length (6.1+) or, before, a plain length of 128..255:
/// both walks are tried, and the markers table after the names (if any) tells which is right.
pub(super) fn walk_all(
    mem: &dyn ReadVirt,
    names_addr: u64,
    num: usize,
    token_table: u64,
) -> Result<Markers> {
    let mut names = Bulk::new(mem, names_addr, "kallsyms_names", MAX_NAMES_BYTES);
    // The names table normally ends just before the token table: read that span at once.
    let mut ahead = token_table
        .checked_sub(names_addr)
        .filter(|&d| d <= (16 << 20))
        .map_or(CHUNK, |d| d as usize);
    names.ensure(1, ahead)?;
    let walks = loop {
        let two = walk(&names.buf, num, LengthForm::TwoByte);
        let one = walk(&names.buf, num, LengthForm::OneByte);
        if two.is_some() || one.is_some() {
            break (two, one);
        }
        if names.buf.len() < ahead || names.buf.len() >= MAX_NAMES_BYTES {
            let detail = format!(
                "{num} names run past the {:#x} bytes readable and allowed (corrupt lengths?)",
                names.buf.len()
            );
            return Err(malformed("kallsyms_names", names.buf.len() as u64, detail));
        }
        ahead = names.buf.len() + CHUNK;
        names.ensure(names.buf.len() + 1, ahead)?;
    };
    let agrees = |recs: &Records, end: usize| {
        let want = every_256th(recs);
        let check = want.len().min(9);
        let base = names_addr.wrapping_add(end as u64);
        [(4u64, 4usize), (8, 4), (8, 8)]
            .iter()
            .any(|&(align, width)| {
                let at = base.wrapping_add(align - 1) & !(align - 1);
                read_words(mem, at, check, width).is_some_and(|got| got[..] == want[..check])
            })
    };
    let (recs, end, form) = match walks {
        (Some((two, e2)), Some((one, e1))) if !agrees(&two, e2) && agrees(&one, e1) => {
            (one, e1, LengthForm::OneByte)
        }
        (Some((two, e2)), _) => (two, e2, LengthForm::TwoByte),
        (None, Some((one, e1))) => (one, e1, LengthForm::OneByte),
        (None, None) => {
            let detail = format!("{num} names do not walk");
            return Err(malformed("kallsyms_names", 0, detail));
        }
    };
    Ok(Markers {
        offsets: every_256th(&recs),
        names_end: end as u64,
        end: names_addr + end as u64,
        form: Some(form),
    })
}

/// Reads the whole of `kallsyms_names` (in bulk), for decoding every name.
pub(super) fn read_names(mem: &dyn ReadVirt, names_addr: u64, len: u64) -> Result<Vec<u8>> {
    let len = usize::try_from(len)
        .ok()
        .filter(|&l| l <= MAX_NAMES_BYTES)
        .ok_or_else(|| {
            malformed(
                "kallsyms_names",
                0,
                format!("{len:#x} bytes, more than allowed"),
            )
        })?;
    let mut buf = vec![0u8; len];
    mem.read_virt(names_addr, &mut buf)
        .map_err(|source| DebugInfoError::Memory {
            what: format!("kallsyms_names at {names_addr:#x}"),
            source,
        })?;
    Ok(buf)
}
