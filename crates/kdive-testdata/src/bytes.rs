//! Little-endian fields of files being read or damaged; a field past the end reads as 0.

/// The `u32` at `at`.
pub fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at.saturating_add(4))
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The `u64` at `at`.
pub fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at.saturating_add(8)).map_or(0, |s| {
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        u64::from_le_bytes(w)
    })
}

/// Overwrites the `u16` at `at` (which must be inside `b`).
pub fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Overwrites the `u32` at `at` (which must be inside `b`).
pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Overwrites the `u64` at `at` (which must be inside `b`).
pub fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The bytes `len` long at `off`, cut at the end of `b`.
pub fn range(b: &[u8], off: u64, len: u64) -> &[u8] {
    let s = usize::try_from(off).unwrap_or(usize::MAX).min(b.len());
    let n = usize::try_from(len).unwrap_or(usize::MAX);
    &b[s..s.saturating_add(n).min(b.len())]
}
