//! Page decompression backends behind one function.
//!
//! zlib uses libdeflate (`libdeflater`: a page is one whole zlib stream of known size, which it
//! decodes 1.7-2x as fast as a streaming inflater), snappy `snap::raw`, zstd the `zstd` crate; their
//! decoder states are kept per thread and reused. LZO1X is decoded by [`lzo1x_decompress`]
//! here: `lzokay-native` indexes its output with offsets taken from the input and panics on
//! corrupt streams, which a dump reader must not do.

use std::cell::RefCell;

use crate::Codec;

/// Why a compressed page did not decode (the caller adds the page address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecompressError(pub String);

impl std::fmt::Display for DecompressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecompressError {}

fn fail(detail: impl Into<String>) -> DecompressError {
    DecompressError(detail.into())
}

thread_local! {
    static ZLIB: RefCell<libdeflater::Decompressor> = RefCell::new(libdeflater::Decompressor::new());
    static ZSTD: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Decompresses `src` into `dst`, which must come out exactly full (one page).
pub fn decompress(codec: Codec, src: &[u8], dst: &mut [u8]) -> Result<(), DecompressError> {
    let produced = match codec {
        Codec::None => {
            if src.len() != dst.len() {
                return Err(fail(format!(
                    "raw page of {} bytes, expected {}",
                    src.len(),
                    dst.len()
                )));
            }
            dst.copy_from_slice(src);
            src.len()
        }
        Codec::Zlib => zlib(src, dst)?,
        Codec::Lzo => lzo1x_decompress(src, dst)?,
        Codec::Snappy => snappy(src, dst)?,
        Codec::Zstd => zstd(src, dst)?,
    };
    if produced != dst.len() {
        return Err(fail(format!(
            "decompressed to {produced} bytes, expected {}",
            dst.len()
        )));
    }
    Ok(())
}

fn zlib(src: &[u8], dst: &mut [u8]) -> Result<usize, DecompressError> {
    ZLIB.with(|z| {
        z.borrow_mut()
            .zlib_decompress(src, dst)
            .map_err(|e| fail(format!("zlib: {e}")))
    })
}

fn snappy(src: &[u8], dst: &mut [u8]) -> Result<usize, DecompressError> {
    let len = snap::raw::decompress_len(src).map_err(|e| fail(format!("snappy: {e}")))?;
    if len != dst.len() {
        return Err(fail(format!(
            "snappy: stream holds {len} bytes, expected {}",
            dst.len()
        )));
    }
    snap::raw::Decoder::new()
        .decompress(src, dst)
        .map_err(|e| fail(format!("snappy: {e}")))
}

fn zstd(src: &[u8], dst: &mut [u8]) -> Result<usize, DecompressError> {
    ZSTD.with(|z| {
        let mut z = z.borrow_mut();
        if z.is_none() {
            *z = Some(zstd::bulk::Decompressor::new().map_err(|e| fail(format!("zstd: {e}")))?);
        }
        let Some(dec) = z.as_mut() else {
            return Err(fail("zstd: no decoder"));
        };
        dec.decompress_to_buffer(src, dst)
            .map_err(|e| fail(format!("zstd: {e}")))
    })
}

/// Decodes one LZO1X block (as written by liblzo's `lzo1x_1_compress`) into `dst`.
///
/// Returns the number of bytes produced. Every offset and length is checked against both
/// buffers; the whole input must be consumed up to the end-of-stream marker.
pub fn lzo1x_decompress(src: &[u8], dst: &mut [u8]) -> Result<usize, DecompressError> {
    Lzo {
        src,
        ip: 0,
        dst,
        op: 0,
    }
    .run()
}

struct Lzo<'a> {
    src: &'a [u8],
    ip: usize,
    dst: &'a mut [u8],
    op: usize,
}

impl Lzo<'_> {
    fn byte(&mut self) -> Result<usize, DecompressError> {
        let b = *self
            .src
            .get(self.ip)
            .ok_or_else(|| fail("lzo: input overrun"))?;
        self.ip += 1;
        Ok(usize::from(b))
    }

    fn le16(&mut self) -> Result<usize, DecompressError> {
        let lo = self.byte()?;
        Ok(lo | self.byte()? << 8)
    }

    /// A length continued in extra bytes: each zero byte adds 255, then `base` plus the first
    /// non-zero byte.
    fn long_length(&mut self, base: usize) -> Result<usize, DecompressError> {
        let mut len = base;
        loop {
            match self.byte()? {
                0 => {
                    len += 255;
                    if len > self.dst.len() {
                        return Err(fail("lzo: length overruns the output"));
                    }
                }
                b => return Ok(len + b),
            }
        }
    }

    fn literals(&mut self, n: usize) -> Result<(), DecompressError> {
        let end_in = self.ip.checked_add(n).filter(|&e| e <= self.src.len());
        let end_out = self.op.checked_add(n).filter(|&e| e <= self.dst.len());
        let (Some(end_in), Some(end_out)) = (end_in, end_out) else {
            return Err(fail("lzo: literal run overruns a buffer"));
        };
        self.dst[self.op..end_out].copy_from_slice(&self.src[self.ip..end_in]);
        self.ip = end_in;
        self.op = end_out;
        Ok(())
    }

    fn back_copy(&mut self, distance: usize, len: usize) -> Result<(), DecompressError> {
        if distance == 0 || distance > self.op {
            return Err(fail(format!(
                "lzo: match distance {distance} before the start of output"
            )));
        }
        let end = self.op.checked_add(len).filter(|&e| e <= self.dst.len());
        let Some(end) = end else {
            return Err(fail("lzo: match overruns the output"));
        };
        let from = self.op - distance;
        if distance >= len {
            self.dst.copy_within(from..from + len, self.op);
        } else {
            for i in 0..len {
                self.dst[self.op + i] = self.dst[from + i];
            }
        }
        self.op = end;
        Ok(())
    }

    fn run(mut self) -> Result<usize, DecompressError> {
        // `state`: literals copied by the previous instruction (4 means "four or more").
        let mut state = 0usize;
        let first = *self.src.first().ok_or_else(|| fail("lzo: empty input"))?;
        if first > 17 {
            self.ip = 1;
            let n = usize::from(first) - 17;
            self.literals(n)?;
            state = if n < 4 { n } else { 4 };
        }
        loop {
            let inst = self.byte()?;
            let (distance, len, trailing);
            if inst >= 64 {
                // M2: 3..8 bytes within 2 KiB.
                let h = self.byte()?;
                distance = 1 + ((inst >> 2) & 7) + (h << 3);
                len = (inst >> 5) + 1;
                trailing = inst & 3;
            } else if inst >= 32 {
                // M3: within 16 KiB.
                let l = inst & 31;
                len = 2 + if l == 0 { self.long_length(31)? } else { l };
                let d = self.le16()?;
                distance = 1 + (d >> 2);
                trailing = d & 3;
            } else if inst >= 16 {
                // M4: 16..48 KiB, or the end-of-stream marker.
                let l = inst & 7;
                len = 2 + if l == 0 { self.long_length(7)? } else { l };
                let d = self.le16()?;
                let far = ((inst & 8) << 11) + (d >> 2);
                if far == 0 {
                    break;
                }
                distance = far + 0x4000;
                trailing = d & 3;
            } else if state == 0 {
                // Literal run of 4 or more bytes.
                let n = 3 + if inst == 0 {
                    self.long_length(15)?
                } else {
                    inst
                };
                self.literals(n)?;
                state = 4;
                continue;
            } else {
                // M1: a short match whose reach depends on the previous literal count.
                let h = self.byte()?;
                let base = if state == 4 { 2049 } else { 1 };
                distance = base + (inst >> 2) + (h << 2);
                len = if state == 4 { 3 } else { 2 };
                trailing = inst & 3;
            }
            self.back_copy(distance, len)?;
            self.literals(trailing)?;
            state = trailing;
        }
        if self.ip != self.src.len() {
            return Err(fail(format!(
                "lzo: {} bytes after the end-of-stream marker",
                self.src.len() - self.ip
            )));
        }
        Ok(self.op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lzo_hand_encoded_literal_stream() {
        // First byte 17 + n copies n literals; then the end marker 0x11 0x00 0x00.
        let mut s = vec![17 + 5];
        s.extend_from_slice(b"hello");
        s.extend_from_slice(&[0x11, 0, 0]);
        let mut out = [0u8; 5];
        assert_eq!(lzo1x_decompress(&s, &mut out), Ok(5));
        assert_eq!(&out, b"hello");
        // A match reaching before the output start (lzokay-native panics on this one).
        let bad = [0x01, 1, 2, 3, 4, 0x40, 0xff, 0x11, 0, 0];
        assert!(lzo1x_decompress(&bad, &mut [0u8; 4096]).is_err());
    }

    #[test]
    fn lzo_fuzz_never_panics() {
        let mut seed = 7u64;
        for _ in 0..20_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 54) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| (seed >> (i % 56)) as u8 ^ i as u8)
                .collect();
            let _ = lzo1x_decompress(&bytes, &mut [0u8; 4096]);
        }
    }
}
