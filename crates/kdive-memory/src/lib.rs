//! The memory layer: kernel virtual addresses -> physical, over a dump's physical memory.
//!
//! [`ReadVirt`] is what every upper layer reads through; [`KernelMemory`] implements it
//! for a real dump (page-table walk, KASLR, direct map, translation cache).

pub mod aarch64;
pub mod error;
mod kernel;
pub mod mmu;
mod tlb;
pub mod x86_64;

pub use error::MemError;
pub use tlb::CacheStats;

/// Result type of the memory layer.
pub type Result<T, E = MemError> = std::result::Result<T, E>;

/// Reads kernel virtual memory. Implemented by [`KernelMemory`] and by synthetic memories in tests.
pub trait ReadVirt: Send + Sync {
    /// Reads `buf.len()` bytes at kernel virtual address `addr`, spanning pages.
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> Result<()>;

    /// Reads a little-endian u64.
    fn read_u64(&self, addr: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read_virt(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    /// Reads a little-endian u32.
    fn read_u32(&self, addr: u64) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read_virt(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    /// Reads a little-endian u16.
    fn read_u16(&self, addr: u64) -> Result<u16> {
        let mut b = [0u8; 2];
        self.read_virt(addr, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    /// Reads a byte.
    fn read_u8(&self, addr: u64) -> Result<u8> {
        let mut b = [0u8; 1];
        self.read_virt(addr, &mut b)?;
        Ok(b[0])
    }
    /// Reads as much of `addr..addr + buf.len()` as it can, from the start: how many bytes were
    /// read, and the error that stopped the read before the end (a missing page, an unmapped
    /// address). Bytes after the stop are left as they were.
    fn read_partial(&self, addr: u64, buf: &mut [u8]) -> PartialRead {
        if buf.is_empty() {
            return PartialRead::complete(0);
        }
        // one read for the common case; page by page only to find where a failing read stops
        if self.read_virt(addr, buf).is_ok() {
            return PartialRead::complete(buf.len());
        }
        let mut done = 0usize;
        while done < buf.len() {
            let at = addr.wrapping_add(done as u64);
            let n = ((MIN_PAGE - at % MIN_PAGE) as usize).min(buf.len() - done);
            if let Err(e) = self.read_virt(at, &mut buf[done..done + n]) {
                return PartialRead {
                    read: done,
                    error: Some(e),
                };
            }
            done += n;
        }
        PartialRead::complete(done)
    }
    /// Reads a NUL-terminated string of at most `max` bytes (lossy UTF-8).
    fn read_cstr(&self, addr: u64, max: usize) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.read_cbytes(addr, max)?).into_owned())
    }
    /// Reads the bytes of a NUL-terminated string (without the NUL), at most `max` of them.
    fn read_cbytes(&self, addr: u64, max: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 64];
        let mut a = addr;
        while out.len() < max {
            // stay inside one page per read so an unmapped next page does not fail a short string
            let room = (MIN_PAGE - a % MIN_PAGE) as usize;
            let n = room.min(chunk.len()).min(max - out.len());
            self.read_virt(a, &mut chunk[..n])?;
            if let Some(z) = chunk[..n].iter().position(|&c| c == 0) {
                out.extend_from_slice(&chunk[..z]);
                return Ok(out);
            }
            out.extend_from_slice(&chunk[..n]);
            a = a.wrapping_add(n as u64);
        }
        Ok(out)
    }
}

pub use kernel::{AddressSpace, KernelMemory, Walk};
pub use mmu::{AddressRange, EntryFormat, LevelDef, Mapping, MmuDef, WalkStep};

/// The smallest page size of any architecture: the granularity of partial reads.
const MIN_PAGE: u64 = 0x1000;

/// The outcome of [`ReadVirt::read_partial`]: the bytes read from the start, and what stopped
/// the read short of the end.
#[derive(Debug)]
pub struct PartialRead {
    /// Bytes read, from the start of the buffer.
    pub read: usize,
    /// Why the read stopped before the end; `None` when the whole buffer was read.
    pub error: Option<MemError>,
}

impl PartialRead {
    fn complete(read: usize) -> PartialRead {
        PartialRead { read, error: None }
    }

    /// The whole buffer was read.
    pub fn is_complete(&self) -> bool {
        self.error.is_none()
    }
}
