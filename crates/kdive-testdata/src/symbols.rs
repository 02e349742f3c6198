//! Symbols given in code: a [`SymbolSource`] for hand-built programs.

use std::sync::Arc;

use kdive_debuginfo::{Symbol, SymbolSource, Symbols};

/// Symbols by name, address and size. `by_name` finds the first of a name; `by_addr` the
/// symbol whose `[addr, addr + size)` holds the address (the one starting highest).
#[derive(Debug, Default, Clone)]
pub struct SymbolList(Vec<Symbol>);

impl SymbolList {
    /// No symbols.
    pub fn new() -> SymbolList {
        SymbolList::default()
    }

    /// Data symbols (`d`) from `(name, address, size)`.
    pub fn data(syms: &[(&str, u64, u64)]) -> SymbolList {
        let mut l = SymbolList::new();
        for &(name, addr, size) in syms {
            l.add(name, addr, size, 'd');
        }
        l
    }

    /// Adds a symbol with an nm-style type letter.
    pub fn add(&mut self, name: &str, addr: u64, size: u64, kind: char) -> &mut SymbolList {
        self.0.push(Symbol {
            name: name.into(),
            addr,
            size: Some(size),
            kind,
            module: None,
        });
        self
    }

    /// A [`Symbols`] with this list as its only provider.
    pub fn into_symbols(self) -> Symbols {
        let mut s = Symbols::new();
        s.add_source(Arc::new(self));
        s
    }
}

impl SymbolSource for SymbolList {
    fn by_name(&self, name: &str) -> Option<Symbol> {
        self.0.iter().find(|s| &*s.name == name).cloned()
    }

    fn by_addr(&self, addr: u64) -> Option<Symbol> {
        self.0
            .iter()
            .filter(|s| addr >= s.addr && addr - s.addr < s.size.unwrap_or(0))
            .max_by_key(|s| s.addr)
            .cloned()
    }
}
