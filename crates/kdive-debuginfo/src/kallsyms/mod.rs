//! kallsyms: the kernel's compressed symbol table, decoded from the dump as lookups need it.
//!
//! VMCOREINFO gives the runtime addresses of the tables `scripts/kallsyms.c` emits:
//! - `kallsyms_num_syms`: a u32 count;
//! - `kallsyms_names`: per symbol a length (one byte; since Linux 6.1 a byte with bit 7 set is
//!   followed by a second one, `len = (b0 & 0x7f) | b1 << 7`) and that many token numbers;
//! - `kallsyms_token_index` (256 u16) / `kallsyms_token_table` (NUL-terminated tokens): a token
//!   number expands to its token; the first character of the expanded name is the nm type letter;
//! - the addresses, in one of the [`AddressEncoding`]s.
//!
//! Two more tables are found from the layout ([`layout`]): `kallsyms_markers`, the offset of
//! every 256th name, so that a name is decoded from its block of 256 alone, and, since Linux
//! 6.2, `kallsyms_seqs_of_names`, the symbols in name order, so that a name is found by binary
//! search. Opening reads the counts, the tokens, the markers and the addresses; a lookup by
//! address decodes the block or two it lands in; a lookup by name searches the names-ordered
//! table, or, without one, decodes every name once (in two halves on two CPUs) into a hash
//! index. Decoded blocks are kept.
//!
//! Everything is decided from the data, never from a version string: the length form (a block
//! must end where the next marker says), and the address encoding (checked against VMCOREINFO's
//! `SYMBOL(_stext)`).
//!
//! Module symbols come from each module's in-memory ELF symtab: [`ModuleSymbols`].

mod addrs;
mod layout;
mod names;
mod table;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use kdive_dump::VmcoreInfo;
use kdive_memory::{MemError, ReadVirt};

pub use addrs::AddressEncoding;
pub use table::{ModuleSymbols, SymbolRef, SymbolTable};

use addrs::RawAddrs;
use layout::Markers;
use names::{Block, Tokens};
use table::{rank, Entry};

use crate::hash::{name_hash, HashSlots};
use crate::{DebugInfoError, Result, Symbol, SymbolSource};

/// Most symbols a table may have (a large distribution kernel has ~200k).
pub const MAX_SYMS: usize = 2_000_000;
/// Most bytes `kallsyms_names` may span.
const MAX_NAMES_BYTES: usize = 64 << 20;
/// Most bytes `kallsyms_token_table` may span (256 short tokens; ~1 KiB in practice).
const MAX_TOKEN_TABLE: usize = 64 << 10;
/// Longest expanded name accepted (the kernel's `KSYM_NAME_LEN` is 512).
const MAX_NAME_LEN: usize = 4096;
/// Most bytes all expanded names may take together.
const MAX_ARENA: usize = 256 << 20;
/// Read-ahead when the names table has to be grown.
const CHUNK: usize = 1 << 20;
const PAGE: u64 = 0x1000;
/// Symbols per `kallsyms_markers` entry.
const BLOCK: usize = 256;
/// Fewest blocks worth decoding on two CPUs.
const PARALLEL_BLOCKS: usize = 64;
/// Most names remembered by [`Kallsyms::by_name`] before the memo starts over.
const MAX_MEMO: usize = 1 << 14;

fn malformed(what: &'static str, offset: u64, detail: String) -> DebugInfoError {
    DebugInfoError::Malformed {
        what,
        offset,
        detail,
    }
}

fn mem_err(what: &str, addr: u64) -> impl FnOnce(MemError) -> DebugInfoError + '_ {
    move |source| DebugInfoError::Memory {
        what: format!("{what} at {addr:#x}"),
        source,
    }
}

/// An absolute symbol's type letter (never an answer of a lookup by address).
fn absolute_kind(kind: u8) -> bool {
    matches!(kind, b'A' | b'a')
}

/// The kernel's own symbols, decoded from the kallsyms tables in the dump as lookups need them.
pub struct Kallsyms {
    mem: Arc<dyn ReadVirt>,
    names_addr: u64,
    num: usize,
    tokens: Tokens,
    markers: Markers,
    addrs: RawAddrs,
    encoding: AddressEncoding,
    /// `SYMBOL(kallsyms_relative_base)`: 6.4+ puts the names-ordered table after it.
    relative_base: Option<u64>,
    /// Each block of 256 names once read (`None`: it does not walk).
    blocks: Vec<OnceLock<Option<Block>>>,
    /// Located symbols (not absolute by their encoding) in address order.
    order: OnceLock<Vec<u32>>,
    /// Where `kallsyms_seqs_of_names` is, when there is one that agrees with the names.
    seqs: OnceLock<Option<u64>>,
    /// Every name hashed, when there is no names-ordered table.
    index: OnceLock<HashSlots>,
    /// Symbols by name already looked up, in the order [`SymbolSource::by_name`] prefers.
    memo: Mutex<HashMap<Box<str>, Arc<[u32]>>>,
    /// Everything decoded, for iteration.
    table: OnceLock<SymbolTable>,
}

impl SymbolSource for Kallsyms {
    fn by_name(&self, name: &str) -> Option<Symbol> {
        let first = *self.named(name).first()?;
        self.symbol(first as usize)
    }

    /// The preferred symbol at the nearest address at or below `addr`: an exact hit names the
    /// first alias (global text first, then by name, as crash sorts them), an address inside
    /// the last of the preferred class. Absolute symbols are skipped; past the last address
    /// only an exact hit matches.
    fn by_addr(&self, addr: u64) -> Option<Symbol> {
        let order = self.order();
        let at_of = |p: usize| self.addr(order[p] as usize).map_or(0, |a| a.0);
        let mut end =
            order.partition_point(|&i| self.addr(i as usize).is_some_and(|a| a.0 <= addr));
        loop {
            let at = at_of(end.checked_sub(1)?);
            let start =
                order[..end].partition_point(|&i| self.addr(i as usize).is_some_and(|a| a.0 < at));
            let mut run = Vec::new();
            for &i in &order[start..end] {
                let kind = self.kind(i as usize)?;
                if !absolute_kind(kind) {
                    run.push((rank(kind), self.name(i as usize)?, i));
                }
            }
            if run.is_empty() {
                end = start;
                continue;
            }
            let next = self.next_located(end);
            if next.is_none() && addr != at {
                return None;
            }
            run.sort_unstable();
            let pick = if addr == at {
                run[0].2
            } else {
                let best = run[0].0;
                run.iter().take_while(|r| r.0 == best).last()?.2
            };
            return self.symbol_sized(pick as usize, next.map(|n| n.saturating_sub(at)));
        }
    }

    /// Every symbol (decodes every name once); empty when a block of names cannot be decoded.
    fn all(&self) -> Vec<Symbol> {
        self.table().map(|t| t.all()).unwrap_or_default()
    }
}

impl Kallsyms {
    /// Opens the kernel's symbol table in `mem`, at the addresses VMCOREINFO gives: reads the
    /// count, the tokens, the markers and the addresses, and checks them against each other
    /// and against `SYMBOL(_stext)`. Names are decoded by the lookups that need them.
    pub fn load(mem: Arc<dyn ReadVirt>, info: &VmcoreInfo) -> Result<Kallsyms> {
        let sym = |n: &str| {
            info.symbol(n)
                .ok_or_else(|| DebugInfoError::Missing(format!("VMCOREINFO SYMBOL({n})")))
        };
        let names_addr = sym("kallsyms_names")?;
        let num_addr = sym("kallsyms_num_syms")?;
        let table_addr = sym("kallsyms_token_table")?;
        let index_addr = sym("kallsyms_token_index")?;

        let num = mem
            .read_u32(num_addr)
            .map_err(mem_err("kallsyms_num_syms", num_addr))? as usize;
        if num == 0 || num > MAX_SYMS {
            return Err(malformed(
                "kallsyms_num_syms",
                0,
                format!("{num} symbols (expected 1..={MAX_SYMS})"),
            ));
        }
        let tokens = Tokens::read(&*mem, table_addr, index_addr)?;
        let markers = match layout::locate(&*mem, names_addr, num, table_addr) {
            Some(m) => m,
            None => layout::walk_all(&*mem, names_addr, num, table_addr)?,
        };
        let addrs = RawAddrs::read(&*mem, info, num)?;
        let mut k = Kallsyms {
            mem,
            names_addr,
            num,
            tokens,
            markers,
            addrs,
            encoding: AddressEncoding::Relative,
            relative_base: info.symbol("kallsyms_relative_base"),
            blocks: (0..num.div_ceil(BLOCK)).map(|_| OnceLock::new()).collect(),
            order: OnceLock::new(),
            seqs: OnceLock::new(),
            index: OnceLock::new(),
            memo: Mutex::new(HashMap::new()),
            table: OnceLock::new(),
        };
        // the names-only search: the encoding is not known yet
        k.encoding = k
            .addrs
            .encoding(info, || k.search("_stext").first().map(|&i| i as usize))?;
        Ok(k)
    }

    /// The address encoding found in the dump.
    pub fn encoding(&self) -> AddressEncoding {
        self.encoding
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.num
    }

    /// True when there are no symbols (never, once loaded).
    pub fn is_empty(&self) -> bool {
        self.num == 0
    }

    /// Every symbol called `name`, globals first, then by address.
    pub fn lookup_all(&self, name: &str) -> Vec<Symbol> {
        self.named(name)
            .iter()
            .filter_map(|&i| self.symbol(i as usize))
            .collect()
    }

    /// Every symbol decoded into one table, for iterating over them (decodes every name once).
    pub fn table(&self) -> Result<&SymbolTable> {
        if let Some(t) = self.table.get() {
            return Ok(t);
        }
        self.read_all();
        let mut arena = String::new();
        let mut entries = Vec::with_capacity(self.num);
        for i in 0..self.num {
            let b = i / BLOCK;
            let (Some(name), Some(kind), Some((addr, abs))) =
                (self.name(i), self.kind(i), self.addr(i))
            else {
                return Err(self.read_block(b).err().unwrap_or_else(|| {
                    let detail = format!("symbol {i}: name longer than {MAX_NAME_LEN}");
                    malformed("kallsyms_names", 0, detail)
                }));
            };
            entries.push(Entry {
                addr,
                name: arena.len() as u32,
                size: 0,
                name_len: name.len() as u16,
                kind,
                absolute: abs || absolute_kind(kind),
            });
            arena.push_str(&name);
            if arena.len() > MAX_ARENA {
                let detail = format!("names expand to more than {MAX_ARENA} bytes");
                return Err(malformed("kallsyms_names", 0, detail));
            }
        }
        Ok(self
            .table
            .get_or_init(|| SymbolTable::new(arena, entries, None)))
    }

    // ---- one symbol ----

    /// Address of symbol `i`, and whether its encoding makes it absolute.
    fn addr(&self, i: usize) -> Option<(u64, bool)> {
        self.addrs.get(self.encoding, i)
    }

    fn block(&self, b: usize) -> Option<&Block> {
        self.blocks
            .get(b)?
            .get_or_init(|| self.read_block(b).ok())
            .as_ref()
    }

    fn name(&self, i: usize) -> Option<String> {
        self.block(i / BLOCK)?.name(i % BLOCK, &self.tokens)
    }

    fn kind(&self, i: usize) -> Option<u8> {
        self.block(i / BLOCK)?.kind(i % BLOCK, &self.tokens)
    }

    fn cmp_name(&self, i: usize, query: &str) -> Option<std::cmp::Ordering> {
        self.block(i / BLOCK)?
            .cmp_name(i % BLOCK, &self.tokens, query.as_bytes())
    }

    fn name_is(&self, i: usize, query: &str) -> bool {
        self.cmp_name(i, query) == Some(std::cmp::Ordering::Equal)
    }

    /// The address of the first located symbol at or after position `from` of the address order.
    fn next_located(&self, from: usize) -> Option<u64> {
        let order = self.order();
        order.get(from..)?.iter().find_map(|&i| {
            let located = self.kind(i as usize).is_none_or(|k| !absolute_kind(k));
            located
                .then(|| self.addr(i as usize).map(|a| a.0))
                .flatten()
        })
    }

    /// Symbol `i`, its size the distance to the next located symbol above it.
    fn symbol(&self, i: usize) -> Option<Symbol> {
        let (addr, abs) = self.addr(i)?;
        let size = if abs || absolute_kind(self.kind(i)?) {
            None
        } else {
            let order = self.order();
            let above =
                order.partition_point(|&j| self.addr(j as usize).is_some_and(|a| a.0 <= addr));
            self.next_located(above).map(|n| n.saturating_sub(addr))
        };
        self.symbol_sized(i, size)
    }

    fn symbol_sized(&self, i: usize, size: Option<u64>) -> Option<Symbol> {
        let (addr, _) = self.addr(i)?;
        Some(Symbol {
            name: self.name(i)?.into(),
            addr,
            size,
            kind: char::from(self.kind(i)?),
            module: None,
        })
    }

    // ---- blocks of names ----

    /// Byte range of block `b` in `kallsyms_names`, checked.
    fn block_range(&self, b: usize) -> Result<(u64, usize)> {
        let (start, end) = self.markers.block(b).ok_or_else(|| {
            malformed(
                "kallsyms_markers",
                0,
                format!("block {b}: markers out of order"),
            )
        })?;
        let len = usize::try_from(end - start)
            .ok()
            .filter(|&l| l <= MAX_NAMES_BYTES)
            .ok_or_else(|| malformed("kallsyms_markers", start, format!("block {b} too long")))?;
        Ok((start, len))
    }

    /// Block `b` made of `bytes`, which its names must fill up to the next marker.
    fn make_block(&self, b: usize, start: u64, bytes: Vec<u8>) -> Result<Block> {
        let count = (self.num - b * BLOCK).min(BLOCK);
        let len = bytes.len();
        Block::new(bytes, count, self.markers.form).ok_or_else(|| {
            let detail = format!(
                "block {b}: {count} names do not fill the {len:#x} bytes up to the next marker"
            );
            malformed("kallsyms_names", start, detail)
        })
    }

    /// Reads block `b` from memory.
    fn read_block(&self, b: usize) -> Result<Block> {
        let (start, len) = self.block_range(b)?;
        let mut bytes = vec![0u8; len];
        let at = self.names_addr.wrapping_add(start);
        self.mem
            .read_virt(at, &mut bytes)
            .map_err(mem_err("kallsyms_names", at))?;
        self.make_block(b, start, bytes)
    }

    /// Reads every block: the names at once (in bulk), the blocks cut from them in two halves
    /// on two CPUs. Blocks that do not walk stay to be read (and fail) on their own.
    fn read_all(&self) {
        let Ok(all) = layout::read_names(&*self.mem, self.names_addr, self.markers.names_end)
        else {
            return;
        };
        kdive_dump::bulk::in_halves(self.blocks.len(), PARALLEL_BLOCKS, |range| {
            for b in range {
                let Ok((start, len)) = self.block_range(b) else {
                    continue;
                };
                let Some(bytes) = all.get(start as usize..start as usize + len) else {
                    continue;
                };
                if let Ok(block) = self.make_block(b, start, bytes.to_vec()) {
                    let _ = self.blocks[b].set(Some(block));
                }
            }
        });
    }

    // ---- by address ----

    /// Located symbols by address (in table order among equal addresses).
    fn order(&self) -> &[u32] {
        self.order.get_or_init(|| {
            let located = |i: &u32| self.addr(*i as usize).is_some_and(|a| !a.1);
            let mut v: Vec<u32> = (0..self.num as u32).filter(located).collect();
            let at = |i: u32| self.addr(i as usize).map_or(0, |a| a.0);
            if !v.windows(2).all(|w| at(w[0]) <= at(w[1])) {
                v.sort_by_key(|&i| at(i));
            }
            v
        })
    }

    // ---- by name ----

    /// The symbols called `name`, in the order lookups prefer: globals first, then located
    /// before absolute, by address, by alias preference, in table order.
    fn named(&self, name: &str) -> Arc<[u32]> {
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = memo.get(name) {
            return v.clone();
        }
        drop(memo);
        let mut found = self.search(name);
        found.sort_by_key(|&i| {
            let i = i as usize;
            let kind = self.kind(i).unwrap_or(b'?');
            let (addr, abs) = self.addr(i).unwrap_or((0, true));
            (
                kind.is_ascii_lowercase(),
                abs || absolute_kind(kind),
                addr,
                rank(kind),
                i,
            )
        });
        let found: Arc<[u32]> = found.into();
        memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if memo.len() >= MAX_MEMO {
            memo.clear();
        }
        memo.insert(name.into(), found.clone());
        found
    }

    /// The symbols called `name`, in table order: by binary search of the names-ordered table,
    /// or through the hash index of every name.
    fn search(&self, name: &str) -> Vec<u32> {
        match *self.seqs.get_or_init(|| self.find_seqs()) {
            Some(at) => self.search_seqs(at, name),
            None => {
                let index = self.index.get_or_init(|| self.build_index());
                let mut found: Vec<u32> = index
                    .find(name_hash(name))
                    .filter(|&i| self.name_is(i as usize, name))
                    .collect();
                found.sort_unstable();
                found
            }
        }
    }

    /// Symbol number at position `pos` of the names-ordered table at `at` (3 big-endian bytes).
    fn seq(&self, at: u64, pos: usize) -> Option<usize> {
        let mut b = [0u8; 3];
        self.mem
            .read_virt(at.checked_add(3 * pos as u64)?, &mut b)
            .ok()?;
        let i = usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
        (i < self.num).then_some(i)
    }

    fn search_seqs(&self, at: u64, name: &str) -> Vec<u32> {
        // the first position whose name is not below `name` (`strcmp` order)
        let (mut lo, mut hi) = (0usize, self.num);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.seq(at, mid).and_then(|i| self.cmp_name(i, name)) {
                Some(std::cmp::Ordering::Less) => lo = mid + 1,
                Some(_) => hi = mid,
                None => return Vec::new(),
            }
        }
        let mut out: Vec<u32> = (lo..self.num)
            .map_while(|p| self.seq(at, p).filter(|&i| self.name_is(i, name)))
            .map(|i| i as u32)
            .collect();
        out.sort_unstable();
        out
    }

    /// `kallsyms_seqs_of_names`, if the kernel has one: after `kallsyms_relative_base` (6.4+),
    /// after the addresses (6.4+ without a relative base), or after the markers (6.2, 6.3);
    /// accepted when the names at sampled positions are in order.
    fn find_seqs(&self) -> Option<u64> {
        let after = |a: u64| [(a + 7) & !7, (a + 3) & !3];
        let mut candidates = Vec::new();
        if let Some(base) = self.relative_base {
            candidates.push(base.wrapping_add(8));
        }
        if let Some(end) = self.addrs.end() {
            candidates.extend(after(end));
        }
        candidates.extend(after(self.markers.end));
        candidates.dedup();
        candidates.into_iter().find(|&at| self.seqs_agree(at))
    }

    /// Whether a few spread pairs of neighbouring positions of the table at `at` name distinct
    /// symbols whose names are in order, the pairs in order among themselves.
    fn seqs_agree(&self, at: u64) -> bool {
        let n = self.num;
        if n < 2 {
            return false;
        }
        let mut picks: Vec<usize> = (0..8).map(|k| k * (n - 1) / 8).collect();
        picks.push(n - 2);
        picks.dedup();
        let mut seen = Vec::new();
        let mut prev: Option<String> = None;
        for p in picks {
            let (Some(i), Some(j)) = (self.seq(at, p), self.seq(at, p + 1)) else {
                return false;
            };
            let (Some(a), Some(b)) = (self.name(i), self.name(j)) else {
                return false;
            };
            let in_order = a.as_bytes() <= b.as_bytes()
                && prev.as_ref().is_none_or(|q| q.as_bytes() <= a.as_bytes());
            // distinct positions hold distinct symbols
            let repeated = |pos: usize, sym: usize| seen.iter().any(|&(q, t)| t == sym && q != pos);
            if !in_order || repeated(p, i) || repeated(p + 1, j) {
                return false;
            }
            seen.extend([(p, i), (p + 1, j)]);
            prev = Some(b);
        }
        true
    }

    /// Decodes every name and hashes it.
    fn build_index(&self) -> HashSlots {
        self.read_all();
        let mut index = HashSlots::with_capacity(self.num);
        let mut name = Vec::new();
        for i in 0..self.num {
            let Some(block) = self.block(i / BLOCK) else {
                continue;
            };
            if block
                .name_into(i % BLOCK, &self.tokens, &mut name)
                .is_some()
            {
                index.insert(name_hash(&name), i as u32, |_| false);
            }
        }
        index
    }
}
