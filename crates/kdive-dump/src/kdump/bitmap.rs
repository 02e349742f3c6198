//! The kdump page bitmaps, with constant-time rank for the descriptor lookup.

/// Words per rank block: one cumulative count per 512 bits.
const BLOCK_WORDS: usize = 8;

/// A bitmap over page frame numbers (bit `n` is bit `n % 8` of byte `n / 8`), with the
/// cumulative number of set bits before each 512-bit block.
#[derive(Debug, Clone)]
pub(crate) struct Bitmap {
    words: Vec<u64>,
    nbits: u64,
    /// `ranks[k]` = set bits in `words[..k * BLOCK_WORDS]`; one extra entry at the end.
    ranks: Vec<u64>,
}

impl Bitmap {
    /// Builds the bitmap of the first `nbits` bits of `bytes` (which holds at least that many).
    pub(crate) fn from_bytes(bytes: &[u8], nbits: u64) -> Bitmap {
        let nwords = nbits.div_ceil(64) as usize;
        let mut words: Vec<u64> = bytes
            .chunks(8)
            .take(nwords)
            .map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        words.resize(nwords, 0);
        let tail = nbits % 64;
        if tail != 0 {
            if let Some(last) = words.last_mut() {
                *last &= (1u64 << tail) - 1;
            }
        }
        let mut ranks = Vec::with_capacity(nwords / BLOCK_WORDS + 2);
        let mut total = 0u64;
        for block in words.chunks(BLOCK_WORDS) {
            ranks.push(total);
            total += block.iter().map(|w| u64::from(w.count_ones())).sum::<u64>();
        }
        ranks.push(total);
        Bitmap {
            words,
            nbits,
            ranks,
        }
    }

    /// Whether bit `n` is set (false past the end).
    pub(crate) fn get(&self, n: u64) -> bool {
        n < self.nbits
            && self
                .words
                .get((n / 64) as usize)
                .is_some_and(|w| w >> (n % 64) & 1 == 1)
    }

    /// Number of set bits before bit `n` (all of them when `n` is past the end).
    pub(crate) fn rank(&self, n: u64) -> u64 {
        if n >= self.nbits {
            return self.ranks.last().copied().unwrap_or(0);
        }
        let w = (n / 64) as usize;
        let block = w / BLOCK_WORDS;
        let whole: u64 = self.words[block * BLOCK_WORDS..w]
            .iter()
            .map(|w| u64::from(w.count_ones()))
            .sum();
        let partial = self.words[w] & ((1u64 << (n % 64)) - 1);
        self.ranks[block] + whole + u64::from(partial.count_ones())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_matches_a_naive_count() {
        let bytes: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for nbits in [0u64, 1, 63, 64, 65, 511, 512, 513, 1000, 2400] {
            let b = Bitmap::from_bytes(&bytes, nbits);
            let bit = |n: u64| n < nbits && bytes[(n / 8) as usize] >> (n % 8) & 1 == 1;
            let mut naive = 0;
            for n in 0..nbits + 70 {
                assert_eq!(b.rank(n), naive, "rank({n}) of {nbits}");
                assert_eq!(b.get(n), bit(n), "get({n}) of {nbits}");
                naive += u64::from(bit(n));
            }
            assert_eq!(b.rank(u64::MAX), naive);
        }
    }
}
