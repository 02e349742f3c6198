//! The kdump page bitmaps, read where they lie (never copied) with ranks counted on first need,
//! so opening a dump whose memory map is huge and mostly a hole does not pass over its bitmaps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Words per rank block: one cumulative count per 512 bits.
const BLOCK_WORDS: usize = 8;
/// Words per chunk: the unit counted on first need (262,144 pfns: 1 GiB of 4 KiB pages).
const CHUNK_WORDS: usize = 4096;
/// Chunks to count before a rank is worth spreading over the cores (64 GiB of memory map).
const PARALLEL_CHUNKS: usize = 64;

/// A bitmap over page frame numbers (bit `n` is bit `n % 8` of byte `n / 8`) whose bytes are
/// given to each call (they live in the dump file), with the number of set bits before each
/// chunk and each 512-bit block counted when a rank first needs them.
#[derive(Debug)]
pub(crate) struct Bitmap {
    nbits: u64,
    /// `chunk_ranks[k]`: set bits before chunk `k` (one extra entry: all of them).
    chunk_ranks: Vec<OnceLock<u64>>,
    /// Per chunk: set bits before each of its blocks, from the chunk's start.
    block_ranks: Vec<OnceLock<Box<[u32]>>>,
    /// Bytes of the bitmap counted so far (each chunk at most twice: its total, its blocks).
    scanned: AtomicU64,
}

/// Word `i` of `bytes` (little-endian; missing bytes read as zeros).
fn word(bytes: &[u8], i: usize) -> u64 {
    let start = i * 8;
    match bytes.get(start..start + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
        None => {
            let mut w = [0u8; 8];
            let tail = bytes.get(start..).unwrap_or(&[]);
            w[..tail.len()].copy_from_slice(tail);
            u64::from_le_bytes(w)
        }
    }
}

/// Word `i` of `bytes` in the host's order: for counting bits, which does not depend on order.
#[inline(always)]
fn host_word(bytes: &[u8]) -> u64 {
    u64::from_ne_bytes(bytes.try_into().unwrap_or([0; 8]))
}

/// Set bits of `a` (whose bit in `b` is clear, given `b`) over the whole words of `a`.
#[inline(always)]
fn count_words(a: &[u8], b: Option<&[u8]>) -> u64 {
    match b {
        None => a
            .chunks_exact(8)
            .map(|x| u64::from(host_word(x).count_ones()))
            .sum(),
        Some(b) => a
            .chunks_exact(8)
            .zip(b.chunks_exact(8))
            .map(|(x, y)| u64::from((host_word(x) & !host_word(y)).count_ones()))
            .sum(),
    }
}

/// [`count_words`] compiled for the CPU's population-count instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn count_words_popcnt(a: &[u8], b: Option<&[u8]>) -> u64 {
    count_words(a, b)
}

/// [`count_words`] with the CPU's population-count instruction where it has one: the baseline
/// x86_64 target lacks it, and counting a word in plain arithmetic is several times slower.
fn popcount(a: &[u8], b: Option<&[u8]>) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU has the instruction the function is compiled for, checked just above.
        return unsafe { count_words_popcnt(a, b) };
    }
    count_words(a, b)
}

impl Bitmap {
    /// The bitmap of `nbits` bits (its bytes hold at least `nbits.div_ceil(8)` bytes).
    pub(crate) fn new(nbits: u64) -> Bitmap {
        let chunks = (nbits.div_ceil(64) as usize).div_ceil(CHUNK_WORDS);
        Bitmap {
            nbits,
            chunk_ranks: (0..=chunks).map(|_| OnceLock::new()).collect(),
            block_ranks: (0..chunks).map(|_| OnceLock::new()).collect(),
            scanned: AtomicU64::new(0),
        }
    }

    /// Bytes this bitmap takes in the file.
    pub(crate) fn byte_len(&self) -> u64 {
        self.nbits.div_ceil(8)
    }

    /// Word `i` of the bitmap, bits past `nbits` cleared.
    fn word(&self, bytes: &[u8], i: usize) -> u64 {
        let w = word(bytes, i);
        let first = i as u64 * 64;
        if first + 64 <= self.nbits {
            w
        } else if first >= self.nbits {
            0
        } else {
            w & ((1u64 << (self.nbits - first)) - 1)
        }
    }

    /// The words of chunk `k`.
    fn chunk<'b>(&'b self, bytes: &'b [u8], k: usize) -> impl Iterator<Item = u64> + 'b {
        let nwords = self.nbits.div_ceil(64) as usize;
        let first = k * CHUNK_WORDS;
        let last = (first + CHUNK_WORDS).min(nwords);
        self.scanned
            .fetch_add(((last - first) * 8) as u64, Ordering::Relaxed);
        (first..last).map(move |i| self.word(bytes, i))
    }

    /// Whether bit `n` is set (false past the end).
    pub(crate) fn get(&self, bytes: &[u8], n: u64) -> bool {
        n < self.nbits && self.word(bytes, (n / 64) as usize) >> (n % 64) & 1 == 1
    }

    /// Set bits in chunk `k`. A whole chunk is counted over its bytes as they lie (a popcount
    /// does not depend on byte order), the map's last chunk word by word.
    fn chunk_count(&self, bytes: &[u8], k: usize) -> u64 {
        let start = k * CHUNK_WORDS * 8;
        let end = start + CHUNK_WORDS * 8;
        match bytes.get(start..end) {
            Some(whole) if (end as u64) * 8 <= self.nbits => {
                self.scanned
                    .fetch_add((end - start) as u64, Ordering::Relaxed);
                popcount(whole, None)
            }
            _ => self
                .chunk(bytes, k)
                .map(|w| u64::from(w.count_ones()))
                .sum(),
        }
    }

    /// Set bits before chunk `k`, counting the chunks before it that were not counted yet
    /// (on every core when they are many: a rank high in a huge memory map).
    fn chunk_rank(&self, bytes: &[u8], k: usize) -> u64 {
        use rayon::prelude::*;
        if let Some(&r) = self.chunk_ranks.get(k).and_then(OnceLock::get) {
            return r;
        }
        // the nearest chunk below whose rank is known (chunk 0 starts at 0)
        let j = (0..k)
            .rev()
            .find(|&j| self.chunk_ranks[j].get().is_some())
            .unwrap_or(0);
        let mut r = *self.chunk_ranks[j].get_or_init(|| 0);
        let counts: Vec<u64> = if k - j >= PARALLEL_CHUNKS {
            (j..k)
                .into_par_iter()
                .map(|c| self.chunk_count(bytes, c))
                .collect()
        } else {
            (j..k).map(|c| self.chunk_count(bytes, c)).collect()
        };
        for (c, n) in (j..k).zip(counts) {
            r = *self.chunk_ranks[c + 1].get_or_init(|| r + n);
        }
        r
    }

    /// Set bits before each block of chunk `k`, from the chunk's start.
    fn block_ranks(&self, bytes: &[u8], k: usize) -> &[u32] {
        self.block_ranks[k].get_or_init(|| {
            let words: Vec<u64> = self.chunk(bytes, k).collect();
            let mut total = 0u32;
            words
                .chunks(BLOCK_WORDS)
                .map(|b| {
                    let before = total;
                    total += b.iter().map(|w| w.count_ones()).sum::<u32>();
                    before
                })
                .collect()
        })
    }

    /// The first set bit at or after `n`, else the bitmap's length: whole zero words are passed
    /// over a word at a time, so a hole of the memory map costs a scan, not a question per pfn.
    pub(crate) fn next_set(&self, bytes: &[u8], n: u64) -> u64 {
        if n >= self.nbits {
            return self.nbits;
        }
        let nwords = self.nbits.div_ceil(64) as usize;
        let mut i = (n / 64) as usize;
        let mut w = self.word(bytes, i) & (u64::MAX << (n % 64));
        while w == 0 {
            i += 1;
            if i >= nwords {
                return self.nbits;
            }
            w = self.word(bytes, i);
        }
        (i as u64 * 64 + u64::from(w.trailing_zeros())).min(self.nbits)
    }

    /// Number of set bits before bit `n` (all of them when `n` is past the end).
    pub(crate) fn rank(&self, bytes: &[u8], n: u64) -> u64 {
        if n >= self.nbits {
            return self.chunk_rank(bytes, self.chunk_ranks.len() - 1);
        }
        let w = (n / 64) as usize;
        let (k, in_chunk) = (w / CHUNK_WORDS, w % CHUNK_WORDS);
        if in_chunk == 0 && n.is_multiple_of(64) {
            // a chunk's first bit (the open's rank of pfn 0): its blocks are not needed
            return self.chunk_rank(bytes, k);
        }
        let block = in_chunk / BLOCK_WORDS;
        let block_start = k * CHUNK_WORDS + block * BLOCK_WORDS;
        let whole: u64 = (block_start..w)
            .map(|i| u64::from(self.word(bytes, i).count_ones()))
            .sum();
        let partial = self.word(bytes, w) & ((1u64 << (n % 64)) - 1);
        self.chunk_rank(bytes, k)
            + u64::from(self.block_ranks(bytes, k)[block])
            + whole
            + u64::from(partial.count_ones())
    }

    /// Set bits of this bitmap (`bytes`) whose bit in `other` (`other_bytes`, the same length)
    /// is clear (both bitmaps' bytes count as scanned): whole chunks counted over their bytes as
    /// they lie, on every core when many; the last words one by one.
    pub(crate) fn count_and_not(&self, bytes: &[u8], other: &Bitmap, other_bytes: &[u8]) -> u64 {
        use rayon::prelude::*;
        let nwords = self.nbits.div_ceil(64) as usize;
        self.scanned
            .fetch_add((nwords * 8) as u64, Ordering::Relaxed);
        other
            .scanned
            .fetch_add((nwords * 8) as u64, Ordering::Relaxed);
        // words wholly inside the map and present in both byte runs
        let whole = ((self.nbits / 64) as usize)
            .min(bytes.len() / 8)
            .min(other_bytes.len() / 8);
        let (a, b) = (&bytes[..whole * 8], &other_bytes[..whole * 8]);
        let chunk = CHUNK_WORDS * 8;
        let counted: u64 = if whole >= PARALLEL_CHUNKS * CHUNK_WORDS {
            a.par_chunks(chunk)
                .zip(b.par_chunks(chunk))
                .map(|(x, y)| popcount(x, Some(y)))
                .sum()
        } else {
            popcount(a, Some(b))
        };
        counted
            + (whole..nwords)
                .map(|i| {
                    u64::from((self.word(bytes, i) & !other.word(other_bytes, i)).count_ones())
                })
                .sum::<u64>()
    }

    /// The position of set bit number `k` (0-based), if there are more than `k`: the counted
    /// chunk totals find its chunk, then its words are counted.
    pub(crate) fn select(&self, bytes: &[u8], k: u64) -> Option<u64> {
        let chunks = self.chunk_ranks.len() - 1;
        if k >= self.chunk_rank(bytes, chunks) {
            return None;
        }
        // the last chunk whose rank is at most k
        let (mut lo, mut hi) = (0, chunks);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if self.chunk_rank(bytes, mid) <= k {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let mut left = k - self.chunk_rank(bytes, lo);
        for (j, w) in self.chunk(bytes, lo).enumerate() {
            let n = u64::from(w.count_ones());
            if left < n {
                let mut w = w;
                for _ in 0..left {
                    w &= w - 1; // clears the lowest set bit
                }
                let word = (lo * CHUNK_WORDS + j) as u64;
                return Some(word * 64 + u64::from(w.trailing_zeros()));
            }
            left -= n;
        }
        None
    }

    /// Bytes of the bitmap counted so far: what ranks have cost.
    pub(crate) fn scanned(&self) -> u64 {
        self.scanned.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_set_matches_a_naive_search() {
        let nbits = 700u64;
        let mut bytes = vec![0u8; 100];
        for n in [3u64, 64, 65, 200, 511, 699] {
            bytes[(n / 8) as usize] |= 1 << (n % 8);
        }
        // bits past the end are not bits of the map
        bytes[88] = 0xff;
        let b = Bitmap::new(nbits);
        let bit = |n: u64| n < nbits && bytes[(n / 8) as usize] >> (n % 8) & 1 == 1;
        for n in 0..=nbits + 5 {
            let want = (n..nbits).find(|&m| bit(m)).unwrap_or(nbits);
            assert_eq!(b.next_set(&bytes, n), want, "next_set({n})");
        }
    }

    #[test]
    fn rank_matches_a_naive_count() {
        let bytes: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for nbits in [0u64, 1, 63, 64, 65, 511, 512, 513, 1000, 2400] {
            let b = Bitmap::new(nbits);
            let bit = |n: u64| n < nbits && bytes[(n / 8) as usize] >> (n % 8) & 1 == 1;
            let mut naive = 0;
            for n in 0..nbits + 70 {
                assert_eq!(b.rank(&bytes, n), naive, "rank({n}) of {nbits}");
                assert_eq!(b.get(&bytes, n), bit(n), "get({n}) of {nbits}");
                naive += u64::from(bit(n));
            }
            assert_eq!(b.rank(&bytes, u64::MAX), naive);
        }
    }

    #[test]
    fn select_and_count_and_not_match_naive_ones() {
        let nbits = (2 * CHUNK_WORDS * 64 + 77) as u64;
        let len = nbits.div_ceil(8) as usize;
        let a: Vec<u8> = (0..len as u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
            .collect();
        let b: Vec<u8> = (0..len as u32)
            .map(|i| (i.wrapping_mul(40503) >> 3) as u8)
            .collect();
        let bit = |v: &[u8], n: u64| n < nbits && v[(n / 8) as usize] >> (n % 8) & 1 == 1;
        let (ba, bb) = (Bitmap::new(nbits), Bitmap::new(nbits));
        let set: Vec<u64> = (0..nbits).filter(|&n| bit(&a, n)).collect();
        for k in [0, 1, 2, 63, 64, 1000, set.len() / 2, set.len() - 1] {
            assert_eq!(ba.select(&a, k as u64), Some(set[k]), "select({k})");
        }
        assert_eq!(ba.select(&a, set.len() as u64), None);
        let naive = (0..nbits).filter(|&n| bit(&a, n) && !bit(&b, n)).count() as u64;
        assert_eq!(ba.count_and_not(&a, &bb, &b), naive);
        // a bitmap against itself: nothing
        assert_eq!(ba.count_and_not(&a, &ba, &a), 0);
    }

    #[test]
    fn rank_at_a_chunk_start_counts_no_blocks() {
        let nbits = (2 * CHUNK_WORDS * 64) as u64;
        let bytes = vec![0x55u8; nbits.div_ceil(8) as usize];
        let b = Bitmap::new(nbits);
        assert_eq!(b.rank(&bytes, 0), 0);
        assert_eq!(b.scanned(), 0);
        assert_eq!(b.rank(&bytes, nbits), nbits / 2);
        assert_eq!(b.scanned(), nbits / 8, "each chunk's total once");
    }

    #[test]
    fn ranks_across_chunks_count_each_chunk_once() {
        // three chunks and a bit: one bit set every 1000 bits
        let nbits = (3 * CHUNK_WORDS * 64 + 1) as u64;
        let mut bytes = vec![0u8; nbits.div_ceil(8) as usize];
        for n in (0..nbits).step_by(1000) {
            bytes[(n / 8) as usize] |= 1 << (n % 8);
        }
        let b = Bitmap::new(nbits);
        // a rank in the first chunk reads only the first chunk
        assert_eq!(b.rank(&bytes, 5000), 5);
        assert_eq!(b.scanned(), (CHUNK_WORDS * 8) as u64);
        for n in [
            0,
            1,
            999,
            1000,
            1001,
            262_143,
            262_144,
            600_000,
            nbits - 1,
            nbits,
        ] {
            assert_eq!(b.rank(&bytes, n), n.div_ceil(1000), "rank({n})");
        }
        // every chunk's total once and its blocks once, whatever the number of ranks
        let words_bytes = nbits.div_ceil(64) * 8;
        assert!(b.scanned() <= 2 * words_bytes, "{}", b.scanned());
    }
}
