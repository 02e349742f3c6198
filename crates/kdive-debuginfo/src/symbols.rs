//! Symbols: names <-> addresses, from kallsyms, module symtabs and (later) ELF symtabs.

use std::sync::Arc;

/// One symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: Arc<str>,
    pub addr: u64,
    /// Size in bytes when known (ELF symtab), else the distance to the next symbol.
    pub size: Option<u64>,
    /// nm-style type letter (`T`, `t`, `D`, `d`, `B`, `r`, ...).
    pub kind: char,
    /// Module name, `None` for vmlinux.
    pub module: Option<Arc<str>>,
}

/// A provider of symbols.
pub trait SymbolSource: Send + Sync {
    /// Looks a symbol up by exact name.
    fn by_name(&self, name: &str) -> Option<Symbol>;
    /// The symbol containing `addr` (the nearest one at or below it, within its size when known).
    fn by_addr(&self, addr: u64) -> Option<Symbol>;
    /// Every symbol, by address (for listings such as crash's `sym -l`); empty for a provider
    /// that cannot list its symbols.
    fn all(&self) -> Vec<Symbol> {
        Vec::new()
    }
}

/// All symbol providers of a program, asked in order.
#[derive(Default)]
pub struct Symbols {
    sources: Vec<Arc<dyn SymbolSource>>,
}

impl Symbols {
    /// No providers yet.
    pub fn new() -> Symbols {
        Symbols::default()
    }

    /// Adds a provider (vmlinux first, then modules).
    pub fn add_source(&mut self, s: Arc<dyn SymbolSource>) {
        self.sources.push(s);
    }

    /// Looks a symbol up by name.
    pub fn by_name(&self, name: &str) -> Option<Symbol> {
        self.sources.iter().find_map(|s| s.by_name(name))
    }

    /// The address of a symbol.
    pub fn address_of(&self, name: &str) -> Option<u64> {
        self.by_name(name).map(|s| s.addr)
    }

    /// Every symbol of every provider, by address (a stable sort: each provider's order among
    /// symbols at one address is kept).
    pub fn all(&self) -> Vec<Symbol> {
        let mut out: Vec<Symbol> = self.sources.iter().flat_map(|s| s.all()).collect();
        out.sort_by_key(|s| s.addr);
        out
    }

    /// The symbol containing `addr`, with the offset of `addr` into it.
    pub fn by_addr(&self, addr: u64) -> Option<(Symbol, u64)> {
        self.sources
            .iter()
            .filter_map(|s| s.by_addr(addr))
            .max_by_key(|s| s.addr)
            .map(|s| {
                let off = addr - s.addr;
                (s, off)
            })
    }
}
