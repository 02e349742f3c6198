//! Work worth a second CPU, split in two halves: bulk page reads (one half decoded on a scoped
//! thread while the caller's thread decodes the other), and the same for other layers' work.

use std::ops::Range;
use std::sync::OnceLock;

use crate::{DumpError, Result};

/// Fewest whole pages a read must span to bypass the page cache.
pub(crate) const MIN_PAGES: usize = 16;
/// Fewest pages worth a second thread (thread start-up is tens of microseconds; a zlib page ~8).
const PARALLEL_PAGES: usize = 48;

/// Whether the machine has a second CPU to work on (asked once).
fn parallel() -> bool {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get())) > 1
}

/// Runs `work` over `0..n`: as one range, or, from `min` items on and with a second CPU, as
/// two halves, the upper one on a scoped thread. Returns the results in range order, the second
/// `None` when the work ran as one range (or its thread panicked).
pub fn in_halves<F, R>(n: usize, min: usize, work: F) -> (R, Option<R>)
where
    F: Fn(Range<usize>) -> R + Sync,
    R: Send,
{
    if n < min.max(2) || !parallel() {
        return (work(0..n), None);
    }
    let half = n / 2;
    std::thread::scope(|s| {
        let upper = s.spawn(|| work(half..n));
        let lower = work(0..half);
        (lower, upper.join().ok())
    })
}

/// Runs `read(first_pfn, pages)` over the pages of `buf` (`page_size` bytes each, starting at
/// `pfn`): in one call, or in two halves on two threads. The first error in page order wins.
pub(crate) fn split_pages<F>(pfn: u64, buf: &mut [u8], page_size: usize, read: F) -> Result<()>
where
    F: Fn(u64, &mut [u8]) -> Result<()> + Sync,
{
    let pages = buf.len() / page_size.max(1);
    if pages < PARALLEL_PAGES || !parallel() {
        return read(pfn, buf);
    }
    let half = pages / 2;
    let (low, high) = buf.split_at_mut(half * page_size);
    std::thread::scope(|s| {
        let worker = s.spawn(|| read(pfn + half as u64, high));
        let first = read(pfn, low);
        let second = worker.join().unwrap_or_else(|_| {
            Err(DumpError::Unsupported {
                what: "a page-decoding thread stopped".into(),
            })
        });
        first.and(second)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_cover_every_page_and_the_first_error_wins() {
        let mut buf = vec![0u8; 100 * 8];
        split_pages(1000, &mut buf, 8, |first, out| {
            for (i, p) in out.chunks_mut(8).enumerate() {
                p.fill((first + i as u64 - 1000) as u8);
            }
            Ok(())
        })
        .unwrap();
        assert!(buf
            .chunks(8)
            .enumerate()
            .all(|(i, p)| p.iter().all(|&b| b == i as u8)));
        let r = split_pages(0, &mut buf, 8, |first, _| {
            Err(DumpError::Lost { paddr: first })
        });
        assert!(matches!(r, Err(DumpError::Lost { paddr: 0 })), "{r:?}");
    }
}
