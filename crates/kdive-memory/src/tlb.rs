//! A small, bounded translation cache: virtual page -> physical page, per page size.
//!
//! Direct-mapped arrays (no allocation after construction), one per page size, so a 2M or 1G
//! mapping costs one slot however many of its 4K pages are read.

/// Hit and miss counts of a translation cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    /// `(vaddr >> shift) + 1`; 0 means empty.
    tag: u64,
    /// Physical base of the page.
    base: u64,
}

struct Ways<const N: usize> {
    shift: u32,
    slots: [Slot; N],
}

impl<const N: usize> Ways<N> {
    fn new(shift: u32) -> Self {
        Ways {
            shift,
            slots: [Slot::default(); N],
        }
    }

    fn index(&self, vaddr: u64) -> (usize, u64) {
        let vpn = vaddr >> self.shift;
        // N is a power of two; fold some higher bits in so aligned regions spread out
        (((vpn ^ (vpn >> 17)) as usize) & (N - 1), vpn + 1)
    }

    fn lookup(&self, vaddr: u64) -> Option<u64> {
        let (i, tag) = self.index(vaddr);
        let s = self.slots[i];
        (s.tag == tag).then(|| s.base | (vaddr & ((1u64 << self.shift) - 1)))
    }

    fn insert(&mut self, vaddr: u64, base: u64) {
        let (i, tag) = self.index(vaddr);
        self.slots[i] = Slot { tag, base };
    }
}

/// The cache proper; callers wrap it in a lock.
pub(crate) struct Tlb {
    small: Ways<1024>,
    large: Ways<64>,
    huge: Ways<16>,
    stats: CacheStats,
}

impl Tlb {
    pub(crate) fn new() -> Box<Tlb> {
        Box::new(Tlb {
            small: Ways::new(12),
            large: Ways::new(21),
            huge: Ways::new(30),
            stats: CacheStats::default(),
        })
    }

    /// The physical address of `vaddr`, if a cached page covers it.
    pub(crate) fn lookup(&mut self, vaddr: u64) -> Option<u64> {
        let hit = self
            .small
            .lookup(vaddr)
            .or_else(|| self.large.lookup(vaddr))
            .or_else(|| self.huge.lookup(vaddr));
        match hit {
            Some(_) => self.stats.hits += 1,
            None => self.stats.misses += 1,
        }
        hit
    }

    /// Records that the page of `size` bytes holding `vaddr` starts at physical `base`.
    pub(crate) fn insert(&mut self, vaddr: u64, base: u64, size: u64) {
        // the largest way no larger than the page; its slot covers the part holding `vaddr`
        let size = size.max(1).next_power_of_two();
        let way_shift = match size {
            s if s >= 1 << 30 => 30,
            s if s >= 1 << 21 => 21,
            _ => 12,
        };
        let sub = vaddr & (size - 1) & !((1u64 << way_shift) - 1);
        let base = base.wrapping_add(sub);
        match way_shift {
            30 => self.huge.insert(vaddr, base),
            21 => self.large.insert(vaddr, base),
            _ => self.small.insert(vaddr, base),
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_by_page_size_and_stays_bounded() {
        let mut t = Tlb::new();
        assert_eq!(t.lookup(0xffff_8880_0000_1234), None);
        t.insert(0xffff_8880_0000_1234, 0x5000, 0x1000);
        assert_eq!(t.lookup(0xffff_8880_0000_1ff8), Some(0x5ff8));
        assert_eq!(t.lookup(0xffff_8880_0000_2000), None);
        t.insert(0xffff_8880_0020_0000, 0x4000_0000, 0x20_0000);
        assert_eq!(t.lookup(0xffff_8880_003f_fff0), Some(0x401f_fff0));
        t.insert(0xffff_8881_0000_0000, 0x8000_0000, 0x4000_0000);
        assert_eq!(t.lookup(0xffff_8881_3fff_0000), Some(0xbfff_0000));
        // many more pages than slots: old entries are evicted, nothing grows
        for i in 0..10_000u64 {
            t.insert(0xffff_c900_0000_0000 + (i << 12), i << 12, 0x1000);
        }
        assert_eq!(
            t.lookup(0xffff_c900_0000_0000 + (9_999 << 12) + 8),
            Some((9_999 << 12) + 8)
        );
        // a 64K page (aarch64) is cached by its 4K part holding the address
        t.insert(0xffff_0000_0001_3008, 0x4_0000, 0x1_0000);
        assert_eq!(t.lookup(0xffff_0000_0001_3ff0), Some(0x4_3ff0));
        // a 512M block by its 2M part
        t.insert(0xffff_0000_2040_0010, 0x6000_0000, 0x2000_0000);
        assert_eq!(t.lookup(0xffff_0000_205f_0000), Some(0x605f_0000));
        assert_eq!(t.stats(), CacheStats { hits: 6, misses: 2 });
    }
}
