//! A read-only file mapping whose resident pages stay bounded: a walk over every task of a
//! big dump touches hundreds of MiB of compressed page data once each, and without a bound all
//! of it would stay mapped into the process (counted in its peak memory) until exit.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of the file mapped in after which the mapping's pages are given back to the page
/// cache (`MADV_DONTNEED`): the mapping's share of the process's memory stays below about this
/// much, whatever the dump's size.
pub const RESIDENT_BYTES: u64 = 32 << 20;

/// How much of the file one touch may map: Linux maps the pages around a faulting one that the
/// page cache holds, up to an aligned 64 KiB window (`fault_around_bytes`).
const WINDOW: u64 = 64 << 10;

/// A mapped dump file that drops its resident pages once reads have touched
/// [`RESIDENT_BYTES`] worth of distinct 64 KiB windows.
pub struct BoundedMap {
    map: memmap2::Mmap,
    /// One bit per window of the file touched since the pages were last dropped.
    touched: Vec<AtomicU64>,
    /// Windows touched since the last drop.
    count: AtomicU64,
    /// How many times the pages were dropped.
    drops: AtomicU64,
}

impl BoundedMap {
    /// Wraps a read-only mapping.
    pub fn new(map: memmap2::Mmap) -> BoundedMap {
        let windows = (map.len() as u64).div_ceil(WINDOW);
        BoundedMap {
            touched: (0..windows.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            map,
            count: AtomicU64::new(0),
            drops: AtomicU64::new(0),
        }
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Counts a read of `len` bytes at `offset`; once the windows touched reach the bound,
    /// drops the mapping's resident pages (later reads fault them back in from the page cache).
    pub fn note_read(&self, offset: u64, len: u64) {
        let first = offset / WINDOW;
        let last = offset.saturating_add(len.max(1) - 1) / WINDOW;
        let mut new = 0;
        for w in first..=last.min(first + 2) {
            let Some(word) = self.touched.get((w / 64) as usize) else {
                break;
            };
            let bit = 1u64 << (w % 64);
            if word.fetch_or(bit, Ordering::Relaxed) & bit == 0 {
                new += 1;
            }
        }
        if new == 0 {
            return;
        }
        let before = self.count.fetch_add(new, Ordering::Relaxed);
        let limit = RESIDENT_BYTES / WINDOW;
        if before < limit && before + new >= limit {
            self.release();
            self.drops.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drops the mapping's resident pages now (after a one-off pass, such as counting a bitmap)
    /// and forgets which windows were touched.
    pub fn release(&self) {
        for word in &self.touched {
            word.store(0, Ordering::Relaxed);
        }
        self.count.store(0, Ordering::Relaxed);
        // SAFETY: the mapping is read-only and file-backed: MADV_DONTNEED only drops this
        // process's page table entries, and the next access reads the same file bytes again
        // (slices borrowed by other threads stay valid and keep their contents).
        let _ = unsafe {
            self.map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
    }

    /// How many times the resident pages were dropped since the mapping was made.
    pub fn drops(&self) -> u64 {
        self.drops.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sparse file of `len` bytes, mapped.
    fn mapped(len: u64) -> memmap2::Mmap {
        let path = std::env::temp_dir().join(format!("kdive-resident-{}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("create");
        file.set_len(len).expect("set_len");
        // SAFETY: a private file of this test, not changed while mapped
        let map = unsafe { memmap2::Mmap::map(&file) }.expect("map");
        let _ = std::fs::remove_file(&path);
        map
    }

    #[test]
    fn pages_are_dropped_once_the_windows_touched_reach_the_bound() {
        let windows = RESIDENT_BYTES / WINDOW;
        let m = BoundedMap::new(mapped(RESIDENT_BYTES * 3));
        // reads inside one window count it once
        for i in 0..100 {
            m.note_read(i * 24, 24);
        }
        for w in 1..windows - 1 {
            m.note_read(w * WINDOW + 8, 4096);
        }
        assert_eq!(m.drops(), 0, "one window short of the bound");
        m.note_read((windows - 1) * WINDOW, 16);
        assert_eq!(m.drops(), 1);
        // after a drop the count starts again: the same windows count anew
        for w in 0..windows - 2 {
            m.note_read(w * WINDOW, 1);
        }
        assert_eq!(m.drops(), 1);
        // a read straddling two windows counts both
        m.note_read((windows - 1) * WINDOW - 8, 16);
        assert_eq!(m.drops(), 2);
    }
}
