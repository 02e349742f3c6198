//! Name indexes without a string per entry: a hash of each name, and an open-addressing table
//! of small numbers (symbol or type numbers) keyed by it. The names stay where they are (a
//! BTF blob, kallsyms blocks); whoever looks up compares the candidates' names.

/// A hash of a name, a word at a time (names are short: several times faster than SipHash or
/// byte-wise FNV here), its bits mixed so that any of them can index a table.
pub(crate) fn name_hash(name: &(impl AsRef<[u8]> + ?Sized)) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let bytes = name.as_ref();
    let mut h = bytes.len() as u64;
    for chunk in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// Values (`u32`) by hash: each slot holds the hash's high half and the value + 1 (0: empty).
pub(crate) struct HashSlots {
    slots: Vec<u64>,
}

impl HashSlots {
    /// Room for `n` values at most half full.
    pub fn with_capacity(n: usize) -> HashSlots {
        HashSlots {
            slots: vec![0; (2 * n).next_power_of_two().max(2)],
        }
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Adds `value` under `hash`, unless a value already there under the same hash is `same`
    /// (a first one wins). Refused (`false`) when the table is full.
    pub fn insert(&mut self, hash: u64, value: u32, same: impl Fn(u32) -> bool) -> bool {
        let tag = hash >> 32;
        let mut s = hash as usize & self.mask();
        for _ in 0..self.slots.len() {
            match self.slots[s] {
                0 => {
                    self.slots[s] = tag << 32 | (u64::from(value) + 1);
                    return true;
                }
                v if v >> 32 == tag && same((v as u32).wrapping_sub(1)) => return true,
                _ => s = (s + 1) & self.mask(),
            }
        }
        false
    }

    /// The values stored under `hash` (and rarely another hash with the same high half), in
    /// the order they were added.
    pub fn find(&self, hash: u64) -> impl Iterator<Item = u32> + '_ {
        let tag = hash >> 32;
        let mask = self.mask();
        let start = hash as usize & mask;
        (0..self.slots.len())
            .map(move |k| self.slots[(start + k) & mask])
            .take_while(|&v| v != 0)
            .filter(move |&v| v >> 32 == tag)
            .map(|v| (v as u32).wrapping_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_value_of_a_name_and_keeps_the_first_of_equal_ones() {
        let names: Vec<String> = (0..1000).map(|i| format!("sym_{}", i % 700)).collect();
        let mut t = HashSlots::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            assert!(t.insert(name_hash(n), i as u32, |_| false));
        }
        let mut got: Vec<u32> = t
            .find(name_hash("sym_5"))
            .filter(|&v| names[v as usize] == "sym_5")
            .collect();
        got.sort_unstable();
        assert_eq!(got, [5, 705]);
        assert_eq!(
            t.find(name_hash("nope"))
                .filter(|&v| names[v as usize] == "nope")
                .count(),
            0
        );
        // keeping the first: a second value of an equal name is not added
        let mut first = HashSlots::with_capacity(4);
        assert!(first.insert(name_hash("a"), 7, |_| false));
        assert!(first.insert(name_hash("a"), 9, |v| v == 7));
        assert_eq!(first.find(name_hash("a")).collect::<Vec<_>>(), [7]);
        // a full table refuses more, and searching it ends
        let mut full = HashSlots::with_capacity(1);
        assert!(full.insert(1 << 32, 1, |_| false) && full.insert(2 << 32, 2, |_| false));
        assert!(!full.insert(3 << 32, 3, |_| false));
        assert_eq!(full.find(5 << 32).count(), 0);
    }
}
