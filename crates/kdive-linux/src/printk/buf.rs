//! Bulk reads that survive missing pages, and struct fields decoded from raw bytes.

use std::ops::Range;

use kdive_debuginfo::TypeId;
use kdive_program::{Program, ProgramError, Result};

/// Granularity of the fallback reads when a bulk read fails (the smallest page size).
const CHUNK: u64 = 4096;

/// A range of a [`Sparse`] buffer that could not be read, and how many records it cost.
#[derive(Debug)]
pub(super) struct Gap {
    pub range: Range<usize>,
    pub why: String,
    pub lost: u64,
    /// Sequence numbers of lost records, when they are known.
    pub seqs: Option<(u64, u64)>,
}

/// `len` bytes read at `addr` in one go; where that fails, page by page, with the unreadable
/// ranges recorded (and zero-filled) instead of failing the whole read.
pub(super) struct Sparse {
    pub what: &'static str,
    pub addr: u64,
    pub bytes: Vec<u8>,
    pub gaps: Vec<Gap>,
}

impl Sparse {
    pub fn read(prog: &Program, what: &'static str, addr: u64, len: usize) -> Sparse {
        let mut s = Sparse {
            what,
            addr,
            bytes: vec![0u8; len],
            gaps: Vec::new(),
        };
        if prog.read(addr, &mut s.bytes).is_ok() {
            return s;
        }
        let mut pos = 0usize;
        while pos < len {
            let a = addr.wrapping_add(pos as u64);
            let mut n = ((CHUNK - a % CHUNK) as usize).min(len - pos);
            // Read through a chunk so that unreadable ranges keep the zeros they were allocated
            // as, untouched (a huge, mostly unreadable buffer then costs no memory).
            let mut chunk = [0u8; CHUNK as usize];
            match prog.read(a, &mut chunk[..n]) {
                Ok(()) => s.bytes[pos..pos + n].copy_from_slice(&chunk[..n]),
                Err(e) => {
                    // A missing upper-level entry leaves its whole span unmapped: skip it at once.
                    if let Some(span) = unmapped_span(&e) {
                        n = ((span - a % span).min((len - pos) as u64)) as usize;
                    }
                    match s.gaps.last_mut() {
                        Some(g) if g.range.end == pos => g.range.end = pos + n,
                        _ => s.gaps.push(Gap {
                            range: pos..pos + n,
                            why: e.to_string(),
                            lost: 0,
                            seqs: None,
                        }),
                    }
                }
            }
            pos += n;
        }
        s
    }

    /// The bytes of `r`, or the index of the gap that overlaps it (`None` when out of bounds).
    pub fn get(&self, r: Range<usize>) -> std::result::Result<&[u8], Option<usize>> {
        if r.start > r.end || r.end > self.bytes.len() {
            return Err(None);
        }
        match self
            .gaps
            .iter()
            .position(|g| g.range.start < r.end && r.start < g.range.end)
        {
            Some(i) => Err(Some(i)),
            None => Ok(&self.bytes[r]),
        }
    }

    /// Counts a record lost to gap `i` (with its sequence number when known).
    pub fn lose(&mut self, i: usize, seq: Option<u64>) {
        let Some(g) = self.gaps.get_mut(i) else {
            return;
        };
        g.lost += 1;
        if let Some(s) = seq {
            g.seqs = Some(g.seqs.map_or((s, s), |(a, b)| (a.min(s), b.max(s))));
        }
    }

    /// One problem line per gap that cost records (a gap in unused space costs nothing).
    pub fn gap_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.gaps.iter().filter(|g| g.lost > 0).map(|g| {
            let seqs = match g.seqs {
                Some((a, b)) if a == b => format!(" (seq {a})"),
                Some((a, b)) => format!(" (seq {a}..{b})"),
                None => String::new(),
            };
            format!(
                "{} bytes {:#x}..{:#x} at {:#x} unreadable, {} record(s) lost{}: {}",
                self.what,
                g.range.start,
                g.range.end,
                self.addr.wrapping_add(g.range.start as u64),
                g.lost,
                seqs,
                g.why
            )
        })
    }
}

/// Bytes mapped by the page-table entry whose absence made a read fail (x86_64 levels).
fn unmapped_span(e: &ProgramError) -> Option<u64> {
    let ProgramError::Memory(kdive_memory::MemError::NotMapped { level, .. }) = e else {
        return None;
    };
    let shift = match *level {
        "PML5" => 48,
        "PML4" => 39,
        "PDPT" => 30,
        "PD" => 21,
        _ => 12,
    };
    Some(1 << shift)
}

/// Where a (possibly bitfield) member lives inside a struct's bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    pub off: usize,
    pub size: usize,
    shift: u32,
    bits: u32,
}

impl Field {
    /// The member `path` (dotted for nested members) of the struct type `ty`.
    pub fn of(prog: &Program, ty: TypeId, path: &str) -> Result<Field> {
        let types = prog.types();
        let struct_size = types.size_of(ty)?;
        let mut cur = ty;
        let mut bit_off = 0u64;
        let mut bit_size = None;
        for name in path.split('.') {
            let (rid, _) = types.resolve(cur)?;
            let m = types.member(rid, name)?;
            bit_off += m.bit_offset;
            bit_size = m.bit_size;
            cur = m.ty;
        }
        let f = match bit_size {
            Some(bits) => {
                let shift = (bit_off % 8) as u32;
                Field {
                    off: (bit_off / 8) as usize,
                    size: (shift + bits).div_ceil(8) as usize,
                    shift,
                    bits,
                }
            }
            None => {
                let size = types.size_of(cur)? as usize;
                Field {
                    off: (bit_off / 8) as usize,
                    size,
                    shift: 0,
                    bits: (size.min(8) * 8) as u32,
                }
            }
        };
        if f.off as u64 + f.size as u64 > struct_size
            || f.bits > 64
            || (bit_size.is_some() && f.size > 8)
        {
            return Err(ProgramError::Type {
                op: "decode member",
                ty: kdive_program::object::type_name(prog, ty),
                why: format!("'{path}' ({} bytes at {}) does not fit", f.size, f.off),
            });
        }
        Ok(f)
    }

    /// The member as an unsigned integer (little-endian; bitfields extracted).
    pub fn get(&self, rec: &[u8]) -> u64 {
        let mut b = [0u8; 8];
        let src = rec.get(self.off..).unwrap_or(&[]);
        let n = self.size.min(8).min(src.len());
        b[..n].copy_from_slice(&src[..n]);
        let v = u64::from_le_bytes(b) >> self.shift;
        if self.bits >= 64 {
            v
        } else {
            v & ((1u64 << self.bits) - 1)
        }
    }

    /// The member's bytes (a `char[]`).
    pub fn bytes<'a>(&self, rec: &'a [u8]) -> &'a [u8] {
        rec.get(self.off..self.off + self.size).unwrap_or(&[])
    }
}

/// A NUL-terminated string inside `b` (lossy UTF-8).
pub(super) fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Caps the number of per-record problem lines (a wrecked ring can have thousands).
pub(super) struct Problems {
    lines: Vec<String>,
    dropped: usize,
}

impl Problems {
    const MAX: usize = 64;

    pub fn new() -> Problems {
        Problems {
            lines: Vec::new(),
            dropped: 0,
        }
    }

    pub fn push(&mut self, line: String) {
        if self.lines.len() < Self::MAX {
            self.lines.push(line);
        } else {
            self.dropped += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.lines.push(format!(
                "... and {} more problem(s) of the same kind",
                self.dropped
            ));
        }
        self.lines
    }
}
