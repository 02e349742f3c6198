//! The vmlinux ELF symbol table, searched as ELF tools (and drgn) search one: by address, the
//! symbol whose extent (`st_size`) holds the address, the one starting closest below it, then
//! the smallest, then the strongest binding (global, weak, local), then the first in the
//! table; a symbol without a size only where no sized one holds the address and nothing sized
//! before it reaches past its start. By name: the strongest binding, then the first in the
//! table. So `jiffies_64` (an object of 8 bytes) names its address, not the linker's sizeless
//! alias `jiffies`.

use std::collections::HashMap;

use kdive_debuginfo::elf_file::TableSymbol;

/// `STB_GLOBAL`, `STB_WEAK`, `STB_GNU_UNIQUE`.
const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;
const STB_GNU_UNIQUE: u8 = 10;

/// Rank of a binding among aliases: global and unique over weak over local.
fn precedence(binding: u8) -> u8 {
    match binding {
        STB_GLOBAL | STB_GNU_UNIQUE => 3,
        STB_WEAK => 2,
        _ => 1,
    }
}

/// One symbol at its run-time address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableEntry {
    pub name: String,
    /// Run-time address.
    pub addr: u64,
    pub size: u64,
    /// `STB_*`.
    pub binding: u8,
    /// `STT_*`.
    pub kind: u8,
    /// Run-time extent of its section.
    section: Option<(u64, u64)>,
}

/// The table, indexed by address and by name.
pub struct SymbolTable {
    /// In table order.
    syms: Vec<TableEntry>,
    /// Table indices by address (table order among equal addresses).
    by_addr: Vec<u32>,
    /// Greatest end (`addr + size`) among `by_addr[..=i]`.
    reach: Vec<u64>,
    /// Position in `by_addr` of the last sizeless symbol at or before each position.
    last_sizeless: Vec<Option<u32>>,
    /// Largest size in the table: no symbol starting further below an address holds it.
    max_size: u64,
    /// The preferred symbol of each name.
    by_name: HashMap<String, u32>,
    /// Run-time extent of the image's sections: the addresses the table names.
    image: (u64, u64),
}

impl SymbolTable {
    /// The table of `symbols`, moved by `slide` where they lie in the image (sections at link
    /// address 0, such as the per-CPU section's, hold offsets, and stay as they are).
    pub fn new(symbols: Vec<TableSymbol>, slide: u64) -> SymbolTable {
        let moved = |a: u64, section: Option<(u64, u64)>| match section {
            Some((0, _)) => a,
            _ => a.wrapping_add(slide),
        };
        let syms: Vec<TableEntry> = symbols
            .into_iter()
            .map(|s| TableEntry {
                addr: moved(s.addr, s.section),
                section: s
                    .section
                    .map(|(a, b)| (moved(a, s.section), moved(b, s.section))),
                name: s.name,
                size: s.size,
                binding: s.binding,
                kind: s.kind,
            })
            .collect();
        let mut by_addr: Vec<u32> = (0..syms.len() as u32).collect();
        by_addr.sort_by_key(|&i| (syms[i as usize].addr, i));
        let mut reach = Vec::with_capacity(by_addr.len());
        let mut last_sizeless = Vec::with_capacity(by_addr.len());
        let (mut far, mut last) = (0u64, None);
        for (pos, &i) in by_addr.iter().enumerate() {
            let s = &syms[i as usize];
            far = far.max(s.addr.saturating_add(s.size));
            if s.size == 0 {
                last = Some(pos as u32);
            }
            reach.push(far);
            last_sizeless.push(last);
        }
        let mut by_name: HashMap<String, u32> = HashMap::new();
        for (i, s) in syms.iter().enumerate() {
            let better = match by_name.get(&s.name) {
                Some(&j) => precedence(s.binding) > precedence(syms[j as usize].binding),
                None => true,
            };
            if better {
                by_name.insert(s.name.clone(), i as u32);
            }
        }
        let max_size = syms.iter().map(|s| s.size).max().unwrap_or(0);
        let image = syms
            .iter()
            .filter_map(|s| s.section.filter(|&(a, _)| a != 0))
            .fold((u64::MAX, 0), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)));
        SymbolTable {
            image,
            syms,
            by_addr,
            reach,
            last_sizeless,
            max_size,
            by_name,
        }
    }

    /// The preferred symbol called `name`.
    pub fn by_name(&self, name: &str) -> Option<&TableEntry> {
        self.by_name.get(name).map(|&i| &self.syms[i as usize])
    }

    /// The symbol naming `addr` (see the module's rule).
    pub fn by_addr(&self, addr: u64) -> Option<&TableEntry> {
        // a per-CPU offset is no address of the image
        if !(self.image.0..self.image.1).contains(&addr) {
            return None;
        }
        let upto = self
            .by_addr
            .partition_point(|&i| self.syms[i as usize].addr <= addr);
        let last = upto.checked_sub(1)?;
        // sized symbols holding the address: the closest start, then the smallest, the
        // strongest, the first (table order is kept among equal addresses)
        let lowest = addr.saturating_sub(self.max_size);
        let mut best: Option<u32> = None;
        for &i in self.by_addr[..upto].iter().rev() {
            let s = &self.syms[i as usize];
            if s.addr < lowest {
                break;
            }
            if let Some(b) = best {
                if self.syms[b as usize].addr > s.addr {
                    break;
                }
            }
            if s.size == 0 || addr - s.addr >= s.size {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) => {
                    let b = &self.syms[b as usize];
                    (s.size, std::cmp::Reverse(precedence(s.binding)))
                        <= (b.size, std::cmp::Reverse(precedence(b.binding)))
                }
            };
            if better {
                best = Some(i);
            }
        }
        if let Some(b) = best {
            return Some(&self.syms[b as usize]);
        }
        // else the closest sizeless symbol, if nothing sized reaches past its start and the
        // address is in its section
        let pos = self.last_sizeless[last]? as usize;
        let at = self.syms[self.by_addr[pos] as usize].addr;
        let first = self.by_addr[..=pos].partition_point(|&i| self.syms[i as usize].addr < at);
        let mut pick: Option<&TableEntry> = None;
        for &i in &self.by_addr[first..=pos] {
            let s = &self.syms[i as usize];
            if s.size == 0 && pick.is_none_or(|p| precedence(s.binding) > precedence(p.binding)) {
                pick = Some(s);
            }
        }
        let s = pick?;
        // something starting at or below the address reaches past the label's start
        if s.addr < self.reach[last] {
            return None;
        }
        match s.section {
            Some((lo, hi)) if (lo..hi).contains(&addr) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str, addr: u64, size: u64, binding: u8) -> TableSymbol {
        TableSymbol {
            name: name.into(),
            addr,
            size,
            binding,
            kind: 1,
            section: Some((0x1000, 0x2000)),
        }
    }

    #[test]
    fn a_sized_symbol_is_preferred_to_a_sizeless_alias() {
        // the linker script's `jiffies = jiffies_64;`: a global without a size at the object
        let t = SymbolTable::new(
            vec![
                sym("jiffies", 0x1100, 0, STB_GLOBAL),
                sym("jiffies_64", 0x1100, 8, STB_GLOBAL),
            ],
            0,
        );
        assert_eq!(t.by_addr(0x1100).unwrap().name, "jiffies_64");
        assert_eq!(t.by_addr(0x1107).unwrap().name, "jiffies_64");
        // past the object, the label is taken to end where the object does: nothing
        assert!(t.by_addr(0x1108).is_none());
        assert_eq!(t.by_name("jiffies").unwrap().size, 0);
        // a label past every sized symbol names the addresses after it, within its section
        let t = SymbolTable::new(
            vec![
                sym("f", 0x1000, 0x10, STB_GLOBAL),
                sym("entry", 0x1010, 0, 0),
            ],
            0,
        );
        assert_eq!(t.by_addr(0x1018).unwrap().name, "entry");
        assert!(t.by_addr(0x2000).is_none());
    }

    #[test]
    fn closest_then_smallest_then_strongest_then_first() {
        let t = SymbolTable::new(
            vec![
                sym("outer", 0x1000, 0x100, STB_GLOBAL),
                sym("inner_local", 0x1010, 0x10, 0),
                sym("inner_weak", 0x1010, 0x10, STB_WEAK),
                sym("inner_big", 0x1010, 0x20, STB_GLOBAL),
                sym("inner_weak2", 0x1010, 0x10, STB_WEAK),
            ],
            0x10_0000,
        );
        // moved by the slide
        assert_eq!(t.by_addr(0x10_1014).unwrap().name, "inner_weak");
        assert_eq!(t.by_addr(0x10_1024).unwrap().name, "inner_big");
        assert_eq!(t.by_addr(0x10_1034).unwrap().name, "outer");
        assert!(t.by_addr(0x10_1100).is_none());
        assert!(t.by_addr(0x1014).is_none());
        // by name: the strongest binding wins over table order
        let t = SymbolTable::new(
            vec![sym("x", 0x1000, 1, 0), sym("x", 0x1100, 1, STB_GLOBAL)],
            0,
        );
        assert_eq!(t.by_name("x").unwrap().addr, 0x1100);
    }

    #[test]
    fn per_cpu_offsets_stay_unmoved() {
        let mut s = sym("runqueues", 0x2000, 0x1000, STB_GLOBAL);
        s.section = Some((0, 0x30000));
        let t = SymbolTable::new(vec![s, sym("f", 0x1000, 0x10, STB_GLOBAL)], 0x4000_0000);
        // found by name at its offset, but an offset names nothing
        assert_eq!(t.by_name("runqueues").unwrap().addr, 0x2000);
        assert!(t.by_addr(0x2010).is_none());
        assert_eq!(t.by_addr(0x4000_1000).unwrap().name, "f");
    }
}
