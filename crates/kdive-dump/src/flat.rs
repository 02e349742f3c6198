//! makedumpfile's flattened format (`-F`): indexed once, read in place.
//!
//! A flattened file is a 4096-byte `struct makedumpfile_header` followed by records
//! `{ i64 offset; i64 buf_size; }` (big endian), each followed by `buf_size` bytes that belong
//! at `offset` of a virtual (kdump or ELF) file, until a record with offset -1. makedumpfile
//! writes it to a pipe, so records come in any order. [`FlatFile`] indexes the records and serves
//! reads of the virtual file from the flattened bytes, without reassembling it. Bytes no record
//! covers read as zeros, as they would in the reassembled (sparse) file.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::{DumpError, Result};

/// First bytes of a flattened file.
pub const SIGNATURE: &[u8] = b"makedumpfile";

/// Size of `struct makedumpfile_header` as written (the records start after it).
const HEADER_SIZE: usize = 4096;
/// `TYPE_FLAT_HEADER`.
const TYPE_FLAT_HEADER: i64 = 1;
/// `END_FLAG_FLAT_HEADER`: the offset of the record that ends the stream.
const END_FLAG: i64 = -1;
/// Most bytes of holes between records [`FlatFile::reassemble`] fills with zeros.
pub const MAX_HOLES: u64 = 64 << 20;
/// Size of `struct makedumpfile_data_header`.
const RECORD_HEADER: usize = 16;

/// A run of the virtual file stored contiguously in the flattened file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    /// Offset in the virtual file.
    vstart: u64,
    /// Length in bytes (> 0).
    len: u64,
    /// Offset of the bytes in the flattened file.
    fstart: u64,
}

impl Segment {
    fn vend(&self) -> u64 {
        self.vstart + self.len
    }
}

/// An indexed flattened file: the virtual file it describes, readable at any offset.
pub struct FlatFile {
    data: Box<dyn AsRef<[u8]> + Send + Sync>,
    /// Sorted by `vstart`, non-overlapping.
    segments: Vec<Segment>,
    len: u64,
    truncated: bool,
}

impl std::fmt::Debug for FlatFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlatFile")
            .field("segments", &self.segments.len())
            .field("len", &self.len)
            .field("truncated", &self.truncated)
            .finish()
    }
}

fn be_i64(data: &[u8], at: usize) -> Option<i64> {
    let bytes = data.get(at..at.checked_add(8)?)?;
    Some(i64::from_be_bytes(bytes.try_into().ok()?))
}

impl FlatFile {
    /// Indexes the records of a flattened file (a mapping, or bytes in memory).
    ///
    /// A stream that stops early (no end record, or a record cut short) is accepted with
    /// what it holds and reported by [`FlatFile::is_truncated`].
    pub fn index(data: impl AsRef<[u8]> + Send + Sync + 'static) -> Result<FlatFile> {
        let bytes = data.as_ref();
        let flen = bytes.len() as u64;
        if bytes.len() < HEADER_SIZE {
            return Err(DumpError::Truncated {
                what: "flattened header",
                offset: 0,
                end: HEADER_SIZE as u64,
                len: flen,
            });
        }
        if !bytes.starts_with(SIGNATURE) || bytes[SIGNATURE.len()..16].iter().any(|&b| b != 0) {
            return Err(DumpError::NotADump {
                reason: "no makedumpfile flattened signature".into(),
            });
        }
        let kind = be_i64(bytes, 16).unwrap_or(0);
        if kind != TYPE_FLAT_HEADER {
            return Err(DumpError::Corrupt {
                what: "flattened header",
                offset: 16,
                detail: format!("type {kind}, expected {TYPE_FLAT_HEADER}"),
            });
        }

        let mut map = SegmentMap::default();
        let mut pos = HEADER_SIZE;
        let mut truncated = true;
        while let (Some(offset), Some(size)) = (be_i64(bytes, pos), be_i64(bytes, pos + 8)) {
            if offset == END_FLAG {
                truncated = false;
                break;
            }
            // A damaged record header after good records ends the stream like a cut: what came
            // before is kept and `truncated` stays set. Only a damaged first record is an error.
            let (Ok(vstart), Ok(size)) = (u64::try_from(offset), u64::try_from(size)) else {
                if !map.map.is_empty() {
                    break;
                }
                return Err(DumpError::Corrupt {
                    what: "flattened record header",
                    offset: pos as u64,
                    detail: format!("offset {offset}, size {size}"),
                });
            };
            let fstart = (pos + RECORD_HEADER) as u64;
            let avail = flen - fstart;
            let len = size.min(avail);
            // The virtual file's offsets are `off_t`s.
            match vstart.checked_add(len) {
                Some(end) if end <= i64::MAX as u64 => {}
                _ if !map.map.is_empty() => break,
                _ => {
                    return Err(DumpError::Corrupt {
                        what: "flattened record header",
                        offset: pos as u64,
                        detail: format!("offset {vstart:#x} + size {len:#x} overflows"),
                    })
                }
            }
            map.insert(Segment {
                vstart,
                len,
                fstart,
            });
            if len < size {
                break; // cut short: `truncated` stays set
            }
            // fstart + len <= flen, which fits in usize.
            pos = (fstart + len) as usize;
        }
        let segments = map.into_sorted();
        let len = segments.last().map_or(0, Segment::vend);
        Ok(FlatFile {
            data: Box::new(data),
            segments,
            len,
            truncated,
        })
    }

    fn bytes(&self) -> &[u8] {
        (*self.data).as_ref()
    }

    /// Size of the virtual file (end of the furthest record).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the virtual file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when the stream ended without its end record or inside a record.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Number of distinct stored runs (after merging overlaps).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    fn check_range(&self, what: &'static str, offset: u64, len: u64) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            end => Err(DumpError::Truncated {
                what,
                offset,
                end: end.unwrap_or(u64::MAX),
                len: self.len,
            }),
        }
    }

    /// Index of the first segment ending after `offset`.
    fn first_segment_after(&self, offset: u64) -> usize {
        self.segments.partition_point(|s| s.vend() <= offset)
    }

    /// Reads `buf.len()` bytes at `offset` of the virtual file; unwritten bytes read as zeros.
    pub fn read_at(&self, what: &'static str, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.check_range(what, offset, buf.len() as u64)?;
        let data = self.bytes();
        let mut done = 0usize;
        let mut i = self.first_segment_after(offset);
        while done < buf.len() {
            let at = offset + done as u64;
            let rest = &mut buf[done..];
            match self.segments.get(i) {
                Some(s) if s.vstart <= at => {
                    let n = (s.vend() - at).min(rest.len() as u64) as usize;
                    let from = (s.fstart + (at - s.vstart)) as usize;
                    rest[..n].copy_from_slice(&data[from..from + n]);
                    done += n;
                    i += 1;
                }
                next => {
                    // A gap: zeros up to the next segment (or the end of the read).
                    let gap = next
                        .map_or(u64::MAX, |s| s.vstart - at)
                        .min(rest.len() as u64) as usize;
                    rest[..gap].fill(0);
                    done += gap;
                }
            }
        }
        Ok(())
    }

    /// The whole virtual file in anonymous memory, bytes no record covers left zero: for
    /// containers read in place (a flattened ELF vmcore). The holes between records may add at
    /// most [`MAX_HOLES`] to the stored bytes, so a damaged record cannot make it huge.
    pub fn reassemble(&self) -> Result<memmap2::Mmap> {
        let stored: u64 = self.segments.iter().map(|s| s.len).sum();
        let len = usize::try_from(self.len)
            .ok()
            .filter(|_| self.len - stored <= MAX_HOLES)
            .ok_or_else(|| DumpError::Unsupported {
                what: format!(
                    "flattened file whose records span {:#x} bytes but store {stored:#x}",
                    self.len
                ),
            })?;
        let io = |e| DumpError::io(std::path::Path::new("(flattened file)"), e);
        let mut out = memmap2::MmapMut::map_anon(len.max(1)).map_err(io)?;
        let data = self.bytes();
        for s in &self.segments {
            // segments lie inside both files: checked when indexed
            let (v, f, n) = (s.vstart as usize, s.fstart as usize, s.len as usize);
            out[v..v + n].copy_from_slice(&data[f..f + n]);
        }
        out.make_read_only().map_err(io)
    }

    /// `len` bytes at `offset` of the virtual file: borrowed when one record holds them all.
    pub fn slice(&self, what: &'static str, offset: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        self.check_range(what, offset, len as u64)?;
        if let Some(s) = self.segments.get(self.first_segment_after(offset)) {
            if s.vstart <= offset && offset + len as u64 <= s.vend() {
                let from = (s.fstart + (offset - s.vstart)) as usize;
                return Ok(Cow::Borrowed(&self.bytes()[from..from + len]));
            }
        }
        // Only gaps are unbacked, so a legitimate read is never larger than the stored bytes.
        if len > self.bytes().len() {
            return Err(DumpError::Corrupt {
                what,
                offset,
                detail: format!("read of {len:#x} bytes, more than the flattened file holds"),
            });
        }
        let mut buf = vec![0u8; len];
        self.read_at(what, offset, &mut buf)?;
        Ok(Cow::Owned(buf))
    }
}

/// Segments keyed by virtual start; a later insert overrides what it overlaps.
#[derive(Default)]
struct SegmentMap {
    map: BTreeMap<u64, Segment>,
}

impl SegmentMap {
    fn insert(&mut self, new: Segment) {
        if new.len == 0 {
            return;
        }
        let (start, end) = (new.vstart, new.vend());
        // The segment starting before `start` may reach into the new one; so may every
        // segment starting inside it.
        let before = self
            .map
            .range(..start)
            .next_back()
            .map(|(_, s)| *s)
            .filter(|s| s.vend() > start);
        let inside: Vec<Segment> = self.map.range(start..end).map(|(_, s)| *s).collect();
        for old in before.into_iter().chain(inside) {
            self.map.remove(&old.vstart);
            if old.vstart < start {
                self.map.insert(
                    old.vstart,
                    Segment {
                        len: start - old.vstart,
                        ..old
                    },
                );
            }
            if old.vend() > end {
                let cut = end - old.vstart;
                self.map.insert(
                    end,
                    Segment {
                        vstart: end,
                        len: old.len - cut,
                        fstart: old.fstart + cut,
                    },
                );
            }
        }
        self.map.insert(start, new);
    }

    fn into_sorted(self) -> Vec<Segment> {
        self.map.into_values().collect()
    }
}

/// Builds a flattened file from `(offset, bytes)` writes, in the given order (tests).
#[cfg(test)]
mod tests {
    use super::*;
    use kdive_testdata::flat::flatten;

    fn virtual_bytes(f: &FlatFile) -> Vec<u8> {
        let mut v = vec![0u8; f.len() as usize];
        f.read_at("test", 0, &mut v).unwrap();
        v
    }

    #[test]
    fn out_of_order_records_and_gaps() {
        let a = [1u8; 10];
        let b = [2u8; 5];
        let c = [3u8; 7];
        let f = FlatFile::index(flatten(&[(20, &c), (0, &a), (10, &b)], true)).unwrap();
        assert_eq!(f.len(), 27);
        assert!(!f.is_truncated());
        let v = virtual_bytes(&f);
        assert_eq!(&v[..10], &a);
        assert_eq!(&v[10..15], &b);
        assert_eq!(&v[15..20], &[0; 5]); // gap
        assert_eq!(&v[20..], &c);
        // Borrowed within one record, owned across records.
        assert!(matches!(f.slice("t", 2, 5).unwrap(), Cow::Borrowed(_)));
        let across = f.slice("t", 8, 14).unwrap();
        assert!(matches!(across, Cow::Owned(_)));
        assert_eq!(&*across, &v[8..22]);
        // Past the end.
        assert!(matches!(
            f.read_at("t", 20, &mut [0; 8]),
            Err(DumpError::Truncated { .. })
        ));
        assert!(f.slice("t", u64::MAX, 2).is_err());
    }

    #[test]
    fn later_records_override_earlier_ones() {
        let f = FlatFile::index(flatten(
            &[(0, &[1; 10]), (3, &[2; 4]), (8, &[3; 4]), (0, &[4; 1])],
            true,
        ))
        .unwrap();
        assert_eq!(virtual_bytes(&f), vec![4, 1, 1, 2, 2, 2, 2, 1, 3, 3, 3, 3]);
        let f =
            FlatFile::index(flatten(&[(2, &[1; 3]), (6, &[2; 2]), (0, &[9; 10])], true)).unwrap();
        assert_eq!(virtual_bytes(&f), vec![9; 10]);
        assert_eq!(f.segment_count(), 1);
    }

    #[test]
    fn truncated_and_corrupt_streams() {
        let full = flatten(&[(0, &[1; 100]), (100, &[2; 100])], true);
        // Cut inside the second record's data: keeps what is there.
        let f = FlatFile::index(full[..HEADER_SIZE + 16 + 100 + 16 + 40].to_vec()).unwrap();
        assert!(f.is_truncated());
        assert_eq!(f.len(), 140);
        // Cut at every length: never a panic.
        for cut in 0..full.len() {
            let _ = FlatFile::index(full[..cut].to_vec());
        }
        assert!(FlatFile::index(full[..100].to_vec()).is_err());
        // Negative size, bad type, bad signature.
        let mut bad = full.clone();
        bad[HEADER_SIZE + 8..HEADER_SIZE + 16].copy_from_slice(&(-5i64).to_be_bytes());
        assert!(matches!(
            FlatFile::index(bad),
            Err(DumpError::Corrupt { .. })
        ));
        let mut bad = full.clone();
        bad[16..24].copy_from_slice(&7i64.to_be_bytes());
        assert!(FlatFile::index(bad).is_err());
        let mut bad = full.clone();
        bad[0] = b'M';
        assert!(matches!(
            FlatFile::index(bad),
            Err(DumpError::NotADump { .. })
        ));
        // Offset near u64::MAX overflows.
        let mut bad = full;
        bad[HEADER_SIZE..HEADER_SIZE + 8].copy_from_slice(&(i64::MAX - 10).to_be_bytes());
        assert!(FlatFile::index(bad).is_err());
    }

    #[test]
    fn a_damaged_record_after_good_ones_ends_the_stream() {
        let full = flatten(&[(0, &[1; 100]), (100, &[2; 100]), (200, &[3; 100])], true);
        let second = HEADER_SIZE + 16 + 100;
        for (field, value) in [(8, -5i64), (0, -7), (0, i64::MAX - 10)] {
            let mut bad = full.clone();
            bad[second + field..second + field + 8].copy_from_slice(&value.to_be_bytes());
            let f = FlatFile::index(bad).unwrap();
            assert!(f.is_truncated());
            assert_eq!(f.len(), 100);
            assert_eq!(virtual_bytes(&f), vec![1; 100]);
        }
    }
}
