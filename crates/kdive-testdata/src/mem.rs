//! Kernel virtual memories made in code, as [`ReadVirt`]s: [`SparseMemory`] (byte regions at
//! addresses, pages that read as filtered out), [`VirtBytes`] (one borrowed range) and
//! [`Repeating`] (the same bytes everywhere).

use std::collections::{BTreeMap, BTreeSet};

use kdive_dump::DumpError;
use kdive_memory::{MemError, ReadVirt, Result};

/// Page size of the pages [`SparseMemory::exclude_page`] marks.
const PAGE: u64 = 4096;

/// Byte regions by start address. A read may run across adjacent regions; a byte in no region
/// fails as not mapped (`PT` level), a byte in an excluded page as filtered out of the dump.
#[derive(Debug, Default, Clone)]
pub struct SparseMemory {
    regions: BTreeMap<u64, Vec<u8>>,
    excluded: BTreeSet<u64>,
}

impl SparseMemory {
    /// No memory at all.
    pub fn new() -> SparseMemory {
        SparseMemory::default()
    }

    /// Maps `bytes` at `addr` (replacing a region that starts there).
    pub fn map(&mut self, addr: u64, bytes: impl Into<Vec<u8>>) -> &mut SparseMemory {
        self.regions.insert(addr, bytes.into());
        self
    }

    /// Removes the region that starts at `addr`.
    pub fn unmap(&mut self, addr: u64) -> &mut SparseMemory {
        self.regions.remove(&addr);
        self
    }

    /// Maps `len` bytes of `fill` at `addr`.
    pub fn fill(&mut self, addr: u64, len: usize, fill: u8) -> &mut SparseMemory {
        self.map(addr, vec![fill; len])
    }

    /// Maps little-endian 64-bit words at `addr`.
    pub fn words(&mut self, addr: u64, words: &[u64]) -> &mut SparseMemory {
        self.map(
            addr,
            words
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect::<Vec<u8>>(),
        )
    }

    /// Overwrites mapped bytes (panics where nothing is mapped: a mistake in the test).
    pub fn write(&mut self, addr: u64, bytes: &[u8]) -> &mut SparseMemory {
        let (&start, region) = self
            .regions
            .range_mut(..=addr)
            .next_back()
            .unwrap_or_else(|| panic!("{addr:#x}: nothing mapped"));
        let at = (addr - start) as usize;
        region
            .get_mut(at..at + bytes.len())
            .unwrap_or_else(|| panic!("{addr:#x}+{}: past the region", bytes.len()))
            .copy_from_slice(bytes);
        self
    }

    /// Overwrites a mapped little-endian 64-bit word.
    pub fn put_u64(&mut self, addr: u64, value: u64) -> &mut SparseMemory {
        self.write(addr, &value.to_le_bytes())
    }

    /// Makes the page at `page` (4 KiB aligned) read as excluded from the dump.
    pub fn exclude_page(&mut self, page: u64) -> &mut SparseMemory {
        self.excluded.insert(page & !(PAGE - 1));
        self
    }

    /// The region starting at `addr`.
    pub fn region_mut(&mut self, addr: u64) -> Option<&mut Vec<u8>> {
        self.regions.get_mut(&addr)
    }

    /// Every region, for damaging them.
    pub fn regions_mut(&mut self) -> impl Iterator<Item = &mut Vec<u8>> {
        self.regions.values_mut()
    }
}

impl ReadVirt for SparseMemory {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let a = addr.checked_add(done as u64).ok_or(MemError::BadAddress {
                vaddr: addr,
                reason: "read past the end of the address space",
            })?;
            if self.excluded.contains(&(a & !(PAGE - 1))) {
                return Err(MemError::Dump {
                    vaddr: a,
                    level: None,
                    source: DumpError::Excluded {
                        paddr: a & 0xfff_ffff,
                        dump_level: Some(31),
                    },
                });
            }
            let unmapped = MemError::NotMapped {
                vaddr: a,
                level: "PT",
                entry: 0,
            };
            let (&start, region) = self.regions.range(..=a).next_back().ok_or(unmapped)?;
            let at = usize::try_from(a - start).unwrap_or(usize::MAX);
            let src = region
                .get(at..)
                .filter(|s| !s.is_empty())
                .ok_or(MemError::NotMapped {
                    vaddr: a,
                    level: "PT",
                    entry: 0,
                })?;
            let to_page = (PAGE - a % PAGE) as usize;
            let n = src.len().min(buf.len() - done).min(to_page);
            buf[done..done + n].copy_from_slice(&src[..n]);
            done += n;
        }
        Ok(())
    }
}

/// Kernel virtual memory holding `bytes` at `base` and nothing else (borrowed: no copy of a
/// fuzz input).
#[derive(Debug, Clone, Copy)]
pub struct VirtBytes<B> {
    pub base: u64,
    /// Borrowed (`&[u8]`) or owned (`Vec<u8>`, for a memory that must be `'static`).
    pub bytes: B,
}

impl<B: AsRef<[u8]> + Send + Sync> ReadVirt for VirtBytes<B> {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let range = addr
            .checked_sub(self.base)
            .and_then(|off| usize::try_from(off).ok())
            .and_then(|off| Some(off..off.checked_add(buf.len())?));
        match range.and_then(|r| self.bytes.as_ref().get(r)) {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(MemError::Dump {
                vaddr: addr,
                level: None,
                source: DumpError::NotRam { paddr: addr },
            }),
        }
    }
}

/// Memory that holds `bytes` repeated at every address: every read succeeds, with values from
/// the given bytes (for printers that follow pointers and read strings).
#[derive(Debug, Clone)]
pub struct Repeating(pub Vec<u8>);

impl ReadVirt for Repeating {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let n = self.0.len() as u64;
        for (i, b) in buf.iter_mut().enumerate() {
            *b = match n {
                0 => 0,
                _ => self.0[(addr.wrapping_add(i as u64) % n) as usize],
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_span_regions_and_stop_at_holes() {
        let mut m = SparseMemory::new();
        m.map(0x1000, vec![1; 16])
            .map(0x1010, vec![2; 16])
            .words(0x3000, &[7, 8]);
        m.fill(0x5000, 0x2000, 9).exclude_page(0x6010);
        let mut b = [0u8; 32];
        m.read_virt(0x1000, &mut b).unwrap();
        assert_eq!((b[15], b[16]), (1, 2));
        assert!(matches!(
            m.read_virt(0x1010, &mut b),
            Err(MemError::NotMapped { vaddr: 0x1020, .. })
        ));
        assert_eq!(m.read_u64(0x3008).unwrap(), 8);
        m.put_u64(0x3000, 5);
        assert_eq!(m.read_u64(0x3000).unwrap(), 5);
        assert!(m.read_virt(0x5ff0, &mut b).unwrap_err().is_missing_page());
        assert!(m.read_virt(0x0fff, &mut [0; 2]).is_err());
        assert!(m.read_virt(u64::MAX, &mut [0; 2]).is_err());
    }
}
