//! The compressed names: the token table, walking length-prefixed records, and expanding the
//! names of one block of 256 symbols (what a `kallsyms_markers` entry points at).

use std::cmp::Ordering;

use kdive_memory::ReadVirt;

use super::{malformed, mem_err, MAX_NAME_LEN, MAX_TOKEN_TABLE, PAGE};
use crate::{DebugInfoError, Result};

/// A table in kernel memory read in bulk, grown on demand up to a limit.
pub(super) struct Bulk<'a> {
    mem: &'a dyn ReadVirt,
    addr: u64,
    what: &'static str,
    pub buf: Vec<u8>,
    limit: usize,
}

impl<'a> Bulk<'a> {
    pub fn new(mem: &'a dyn ReadVirt, addr: u64, what: &'static str, limit: usize) -> Bulk<'a> {
        Bulk {
            mem,
            addr,
            what,
            buf: Vec::new(),
            limit,
        }
    }

    /// Makes at least `end` bytes available, reading ahead up to `ahead` when it can. When one
    /// big read fails, reads page by page and keeps what is readable.
    pub fn ensure(&mut self, end: usize, ahead: usize) -> Result<()> {
        if end <= self.buf.len() {
            return Ok(());
        }
        if end > self.limit {
            let detail = format!(
                "needs {end:#x} bytes, more than the {:#x} allowed (corrupt lengths?)",
                self.limit
            );
            return Err(malformed(self.what, self.buf.len() as u64, detail));
        }
        let want = ahead.clamp(end, self.limit);
        let have = self.buf.len();
        if self.addr.checked_add(want as u64).is_none() {
            return Err(malformed(
                self.what,
                have as u64,
                format!("table at {:#x} wraps the address space", self.addr),
            ));
        }
        self.buf.resize(want, 0);
        if self
            .mem
            .read_virt(self.addr + have as u64, &mut self.buf[have..])
            .is_ok()
        {
            return Ok(());
        }
        let mut have = have;
        let mut failure = None;
        while have < want {
            let a = self.addr + have as u64;
            let n = ((PAGE - a % PAGE) as usize).min(want - have);
            if let Err(e) = self.mem.read_virt(a, &mut self.buf[have..have + n]) {
                failure = Some((a, e));
                break;
            }
            have += n;
        }
        self.buf.truncate(have);
        match failure {
            Some((a, source)) if have < end => Err(DebugInfoError::Memory {
                what: format!(
                    "{} at {:#x} (byte {:#x} of the table)",
                    self.what,
                    self.addr,
                    a - self.addr
                ),
                source,
            }),
            _ => Ok(()),
        }
    }
}

/// The 256 tokens a name's bytes stand for.
pub(super) struct Tokens {
    table: Vec<u8>,
    /// Byte range of each token in `table`.
    ranges: [(u32, u32); 256],
}

impl Tokens {
    /// Reads `kallsyms_token_index` (256 u16 offsets) and the NUL-terminated tokens of
    /// `kallsyms_token_table`.
    pub fn read(mem: &dyn ReadVirt, table_addr: u64, index_addr: u64) -> Result<Tokens> {
        let mut raw = [0u8; 512];
        mem.read_virt(index_addr, &mut raw)
            .map_err(mem_err("kallsyms_token_index", index_addr))?;
        let index: Vec<usize> = raw
            .chunks(2)
            .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])))
            .collect();
        // The token table is normally right before the index: then no token may start past it.
        let span = index_addr
            .checked_sub(table_addr)
            .filter(|&d| d > 0 && d as usize <= MAX_TOKEN_TABLE);
        if let Some(span) = span {
            if let Some((t, &off)) = index
                .iter()
                .enumerate()
                .find(|&(_, &off)| off as u64 >= span)
            {
                let detail = format!(
                    "token {t} starts at {off:#x}, past the {span:#x}-byte kallsyms_token_table"
                );
                return Err(malformed("kallsyms_token_index", 2 * t as u64, detail));
            }
        }
        let max = index.iter().copied().max().unwrap_or(0);
        let mut table = Bulk::new(mem, table_addr, "kallsyms_token_table", MAX_TOKEN_TABLE);
        let ahead = span.map_or(max + 64, |s| s as usize);
        let mut ranges = [(0u32, 0u32); 256];
        for (t, &start) in index.iter().enumerate() {
            let mut end = start;
            loop {
                table.ensure(end + 1, ahead.max(end + 64))?;
                if table.buf[end] == 0 {
                    break;
                }
                end += 1;
            }
            ranges[t] = (start as u32, end as u32);
        }
        Ok(Tokens {
            table: table.buf,
            ranges,
        })
    }

    /// The bytes token `t` stands for.
    pub fn get(&self, t: u8) -> &[u8] {
        let (s, e) = self.ranges[usize::from(t)];
        &self.table[s as usize..e as usize]
    }

    /// Expanded length of a name's token bytes.
    fn expanded_len(&self, data: &[u8]) -> usize {
        data.iter()
            .map(|&t| {
                let (s, e) = self.ranges[usize::from(t)];
                (e - s) as usize
            })
            .sum()
    }
}

/// How a name record gives its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LengthForm {
    /// Since Linux 6.1: a byte with bit 7 set is followed by a high byte,
    /// `len = (b0 & 0x7f) | b1 << 7`.
    TwoByte,
    /// Before: one byte.
    OneByte,
}

/// Where each of a run of records keeps its token bytes: (offset, number of tokens).
pub(super) type Records = Vec<(u32, u16)>;

/// Walks `count` records of `bytes` from its start; returns them and where the last one ends,
/// or `None` when they run past the end of `bytes`.
pub(super) fn walk(bytes: &[u8], count: usize, form: LengthForm) -> Option<(Records, usize)> {
    let mut recs = Vec::with_capacity(count);
    let mut pos = 0usize;
    for _ in 0..count {
        let b = *bytes.get(pos)?;
        pos += 1;
        let mut len = usize::from(b);
        if b & 0x80 != 0 && form == LengthForm::TwoByte {
            len = usize::from(b & 0x7f) | usize::from(*bytes.get(pos)?) << 7;
            pos += 1;
        }
        let end = pos.checked_add(len).filter(|&e| e <= bytes.len())?;
        recs.push((u32::try_from(pos).ok()?, u16::try_from(len).ok()?));
        pos = end;
    }
    Some((recs, pos))
}

/// The records of a block whose bytes run exactly to the next block: in the two-byte form
/// if that walk ends there, else in the one-byte form.
pub(super) fn walk_block(bytes: &[u8], count: usize) -> Option<Records> {
    [LengthForm::TwoByte, LengthForm::OneByte]
        .into_iter()
        .find_map(|form| walk(bytes, count, form).filter(|(_, end)| *end == bytes.len()))
        .map(|(recs, _)| recs)
}

/// The names of up to 256 symbols (one marker's block), kept compressed: each is expanded,
/// or compared with a name, when asked.
pub(super) struct Block {
    bytes: Vec<u8>,
    recs: Records,
}

impl Block {
    /// The block of `count` names in `bytes`, which they must fill exactly: in `form`, or in
    /// whichever form does.
    pub fn new(bytes: Vec<u8>, count: usize, form: Option<LengthForm>) -> Option<Block> {
        let recs = match form {
            Some(form) => walk(&bytes, count, form)
                .filter(|(_, end)| *end == bytes.len())
                .map(|(r, _)| r),
            None => walk_block(&bytes, count),
        }?;
        Some(Block { bytes, recs })
    }

    fn data(&self, i: usize) -> Option<&[u8]> {
        let &(off, len) = self.recs.get(i)?;
        self.bytes
            .get(off as usize..off as usize + usize::from(len))
    }

    /// The type letter of symbol `i` (`?` when its name does not start with a printable one).
    pub fn kind(&self, i: usize, tokens: &Tokens) -> Option<u8> {
        let first = self
            .data(i)?
            .iter()
            .find_map(|&t| tokens.get(t).first().copied());
        Some(first.filter(u8::is_ascii_graphic).unwrap_or(b'?'))
    }

    /// The bytes of symbol `i`'s name (without its type letter) into `out`; `None` when the
    /// name is longer than any kernel allows.
    pub fn name_into(&self, i: usize, tokens: &Tokens, out: &mut Vec<u8>) -> Option<()> {
        let data = self.data(i)?;
        if tokens.expanded_len(data) > MAX_NAME_LEN + 1 {
            return None;
        }
        out.clear();
        for &t in data {
            out.extend_from_slice(tokens.get(t));
        }
        out.drain(..out.len().min(1));
        Some(())
    }

    /// Symbol `i`'s name (invalid UTF-8 replaced).
    pub fn name(&self, i: usize, tokens: &Tokens) -> Option<String> {
        let mut out = Vec::new();
        self.name_into(i, tokens, &mut out)?;
        Some(
            String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    }

    /// How symbol `i`'s name compares with `query` (`strcmp` order), expanding only as far as
    /// the first difference.
    pub fn cmp_name(&self, i: usize, tokens: &Tokens, query: &[u8]) -> Option<Ordering> {
        let mut q = query;
        let mut skip = 1; // the type letter
        for &t in self.data(i)? {
            let mut tok = tokens.get(t);
            let n = skip.min(tok.len());
            tok = &tok[n..];
            skip -= n;
            let n = tok.len().min(q.len());
            match tok[..n].cmp(&q[..n]) {
                Ordering::Equal if tok.len() > q.len() => return Some(Ordering::Greater),
                Ordering::Equal => q = &q[n..],
                other => return Some(other),
            }
        }
        Some(if q.is_empty() {
            Ordering::Equal
        } else {
            Ordering::Less
        })
    }
}
