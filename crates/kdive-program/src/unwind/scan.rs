//! Reading a stack's words: for the last-resort scan and for finding where a walk may start.

use kdive_memory::ReadVirt;

const PAGE: u64 = 0x1000;

/// The 8-byte words of `[start, end)` as (address, value), lowest address first. Pages that
/// cannot be read are skipped; at most `max_bytes` are read.
pub fn stack_words(mem: &dyn ReadVirt, start: u64, end: u64, max_bytes: u64) -> Vec<(u64, u64)> {
    let start = start.next_multiple_of(8);
    let end = end.min(start.saturating_add(max_bytes));
    let mut out = Vec::with_capacity(end.saturating_sub(start) as usize / 8);
    let mut page = start;
    let mut buf = vec![0u8; PAGE as usize];
    while page < end {
        let stop = ((page & !(PAGE - 1)) + PAGE).min(end);
        let chunk = &mut buf[..(stop - page) as usize];
        if mem.read_virt(page, chunk).is_ok() {
            for (i, w) in chunk.chunks_exact(8).enumerate() {
                let v = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
                out.push((page + 8 * i as u64, v));
            }
        }
        page = stop;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kdive_testdata::mem::SparseMemory;

    #[test]
    fn skips_unreadable_pages_and_bounds() {
        // mapped 0x1000..0x2000 and 0x3000..0x9000; the page between is a hole
        let mut mem = SparseMemory::new();
        mem.fill(0x1000, 0x1000, 1).fill(0x3000, 0x6000, 2);
        let w = stack_words(&mem, 0x1ff0, 0x3010, 1 << 20);
        assert_eq!(w.first().map(|x| x.0), Some(0x1ff0));
        assert_eq!(w.len(), 2 + 2);
        assert!(w.iter().all(|&(a, _)| !(0x2000..0x3000).contains(&a)));
        assert_eq!(w[2], (0x3000, 0x0202_0202_0202_0202));
        assert_eq!(stack_words(&mem, 0x1000, 0x9000, 16).len(), 2);
    }
}
