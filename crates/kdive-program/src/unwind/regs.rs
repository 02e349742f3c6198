//! Register sets: the values an unwinder knows in one frame.

/// A register number. Architectures use their DWARF numbers where DWARF has one
/// (x86_64: 0-15 general registers, 16 = rip; aarch64: 0-30 = x0-x30, 31 = sp, 32 = pc) and
/// number the rest (flags, segment selectors, `orig_ax`) after those, below [`MAX_REGS`].
pub type Reg = u16;

/// Registers a [`RegSet`] can hold.
pub const MAX_REGS: usize = 40;

/// Register values known in one frame; a register absent from the set is unknown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RegSet {
    vals: [u64; MAX_REGS],
    known: u64,
}

impl Default for RegSet {
    fn default() -> Self {
        RegSet {
            vals: [0; MAX_REGS],
            known: 0,
        }
    }
}

impl RegSet {
    /// No register known.
    pub fn new() -> RegSet {
        RegSet::default()
    }

    /// The value of `r`, if known.
    pub fn get(&self, r: Reg) -> Option<u64> {
        let i = usize::from(r);
        (i < MAX_REGS && self.known >> i & 1 == 1).then(|| self.vals[i])
    }

    /// Sets `r` (ignored for a number past [`MAX_REGS`]).
    pub fn set(&mut self, r: Reg, v: u64) {
        let i = usize::from(r);
        if i < MAX_REGS {
            self.vals[i] = v;
            self.known |= 1 << i;
        }
    }

    /// Forgets `r`.
    pub fn clear(&mut self, r: Reg) {
        if usize::from(r) < MAX_REGS {
            self.known &= !(1 << r);
        }
    }

    /// True when no register is known.
    pub fn is_empty(&self) -> bool {
        self.known == 0
    }

    /// Known registers in number order.
    pub fn iter(&self) -> impl Iterator<Item = (Reg, u64)> + '_ {
        (0..MAX_REGS)
            .filter(|&i| self.known >> i & 1 == 1)
            .map(|i| (i as Reg, self.vals[i]))
    }
}

impl std::fmt::Debug for RegSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(r, v)| (r, format!("{v:#x}"))))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_clear() {
        let mut r = RegSet::new();
        assert!(r.is_empty());
        r.set(7, 0x1000);
        r.set(16, 0xffff);
        r.set(200, 1); // ignored
        assert_eq!(r.get(7), Some(0x1000));
        assert_eq!(r.get(6), None);
        assert_eq!(r.get(200), None);
        assert_eq!(r.iter().count(), 2);
        r.clear(7);
        assert_eq!(r.get(7), None);
    }
}
