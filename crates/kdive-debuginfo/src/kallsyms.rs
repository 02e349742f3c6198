//! kallsyms: the kernel's compressed symbol table, decoded from the dump.
//!
//! VMCOREINFO gives the runtime addresses of the tables `scripts/kallsyms.c` emits:
//! - `kallsyms_num_syms`: a u32 count;
//! - `kallsyms_names`: per symbol a length (one byte; since Linux 6.1 a byte with bit 7 set is
//!   followed by a second one, `len = (b0 & 0x7f) | b1 << 7`) and that many token numbers;
//! - `kallsyms_token_index` (256 u16) / `kallsyms_token_table` (NUL-terminated tokens): a token
//!   number expands to its token; the first character of the expanded name is the nm type letter;
//! - the addresses, in one of the [`AddressEncoding`]s.
//!
//! Everything is decided from the data, never from a version string: the length form (the
//! `kallsyms_markers` table that follows the names settles the rare ambiguous case), and the
//! address encoding (checked against VMCOREINFO's `SYMBOL(_stext)`).
//!
//! Module symbols come from each module's in-memory ELF symtab: [`ModuleSymbols`].

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use kdive_dump::VmcoreInfo;
use kdive_memory::{MemError, ReadVirt};

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
/// `sizeof(Elf64_Sym)`.
const ELF64_SYM_SIZE: usize = 24;

/// How `kallsyms` stores symbol addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressEncoding {
    /// `kallsyms_addresses[]`: absolute u64 values (`!CONFIG_KALLSYMS_BASE_RELATIVE`).
    Absolute,
    /// `kallsyms_relative_base + (u32)kallsyms_offsets[i]`.
    Relative,
    /// `CONFIG_KALLSYMS_ABSOLUTE_PERCPU` (x86_64 SMP until 6.15): an offset >= 0 is an absolute
    /// value (per-CPU symbols), a negative one means `kallsyms_relative_base - 1 - offset`.
    AbsolutePercpu,
    /// No `kallsyms_relative_base`: each offset is relative to its own slot in `kallsyms_offsets`.
    PcRelative,
}

/// A symbol borrowed from a table (no allocation), as [`SymbolTable::iter`] yields it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolRef<'a> {
    pub name: &'a str,
    pub addr: u64,
    /// nm-style type letter.
    pub kind: char,
    /// An absolute value rather than a location (per-CPU offsets, `A` symbols): never an answer of `by_addr`.
    pub absolute: bool,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    addr: u64,
    name: u32,
    /// Size from an ELF symtab (saturated); 0 when unknown.
    size: u32,
    name_len: u16,
    kind: u8,
    absolute: bool,
}

/// Preference among aliases (lower wins): global text, other globals, weak, locals.
fn rank(kind: u8) -> u8 {
    match kind {
        b'T' => 0,
        b'W' | b'V' => 2,
        k if k.is_ascii_uppercase() => 1,
        _ => 3,
    }
}

/// FNV-1a: symbol names are short, and this is several times faster than SipHash here.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A decoded symbol table: one name arena and compact entries sorted by address.
///
/// Aliases (several symbols at one address) are ordered by preference: the global text symbol
/// `T` first, then other globals, then weak symbols, then locals; within one class by name
/// (`strcmp`), the order crash sorts vmlinux symbols in. Among the aliases of the best class,
/// `by_addr` answers like crash: an exact hit names the first (`_stext`, not `_text` or
/// `startup_64`), an address inside names the last (crash returns the symbol just before the
/// next address: `__x64_sys_pause+7`, not `__ia32_sys_pause+7`). Absolute entries come last.
pub struct SymbolTable {
    names: String,
    entries: Vec<Entry>,
    /// Number of located (non-absolute) entries, which come first.
    located: usize,
    /// (name hash, entry index), sorted: built on the first name lookup.
    by_name: OnceLock<Vec<(u64, u32)>>,
    module: Option<Arc<str>>,
}

impl SymbolTable {
    fn new(names: String, mut entries: Vec<Entry>, module: Option<Arc<str>>) -> SymbolTable {
        let name = |e: &Entry| {
            &names.as_bytes()[e.name as usize..e.name as usize + usize::from(e.name_len)]
        };
        entries.sort_by(|a, b| {
            (a.absolute, a.addr, rank(a.kind))
                .cmp(&(b.absolute, b.addr, rank(b.kind)))
                .then_with(|| name(a).cmp(name(b)))
        });
        let located = entries.partition_point(|e| !e.absolute);
        SymbolTable {
            names,
            entries,
            located,
            by_name: OnceLock::new(),
            module,
        }
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no symbols.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every symbol: located ones by address (preferred alias first), then absolute ones.
    pub fn iter(&self) -> impl Iterator<Item = SymbolRef<'_>> + '_ {
        self.entries.iter().map(|e| SymbolRef {
            name: self.name(e),
            addr: e.addr,
            kind: char::from(e.kind),
            absolute: e.absolute,
        })
    }

    /// Every symbol called `name`, globals first, then by address.
    pub fn lookup_all(&self, name: &str) -> Vec<Symbol> {
        self.name_run(name)
            .iter()
            .map(|&i| self.symbol(i as usize))
            .collect()
    }

    fn name(&self, e: &Entry) -> &str {
        &self.names[e.name as usize..e.name as usize + usize::from(e.name_len)]
    }

    /// Entries called `name`: globals first, then in address order.
    fn name_run(&self, name: &str) -> Vec<u32> {
        let index = self.by_name.get_or_init(|| {
            let mut v: Vec<(u64, u32)> = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (name_hash(self.name(e)), i as u32))
                .collect();
            v.sort_unstable();
            v
        });
        let h = name_hash(name);
        let lo = index.partition_point(|&(x, _)| x < h);
        let mut run: Vec<u32> = index[lo..]
            .iter()
            .take_while(|&&(x, _)| x == h)
            .map(|&(_, i)| i)
            .filter(|&i| self.name(&self.entries[i as usize]) == name)
            .collect();
        run.sort_by_key(|&i| (self.entries[i as usize].kind.is_ascii_lowercase(), i));
        run
    }

    /// First located entry at an address above `addr`.
    fn next_above(&self, addr: u64) -> usize {
        self.entries[..self.located].partition_point(|e| e.addr <= addr)
    }

    fn symbol(&self, i: usize) -> Symbol {
        let e = &self.entries[i];
        let size = if e.size != 0 {
            Some(u64::from(e.size))
        } else if e.absolute {
            None
        } else {
            self.entries[..self.located]
                .get(self.next_above(e.addr))
                .map(|n| n.addr - e.addr)
        };
        Symbol {
            name: self.name(e).into(),
            addr: e.addr,
            size,
            kind: char::from(e.kind),
            module: self.module.clone(),
        }
    }
}

impl SymbolSource for SymbolTable {
    fn by_name(&self, name: &str) -> Option<Symbol> {
        self.name_run(name)
            .first()
            .map(|&i| self.symbol(i as usize))
    }

    /// The preferred symbol at the nearest address at or below `addr`. Absolute symbols are
    /// skipped. Past the last address, only an exact hit (or one within its ELF size) matches.
    fn by_addr(&self, addr: u64) -> Option<Symbol> {
        let located = &self.entries[..self.located];
        let next = self.next_above(addr);
        let at = located.get(next.checked_sub(1)?)?.addr;
        if next == self.located {
            let size = u64::from(located[next - 1].size.max(1));
            if addr - at >= size {
                return None;
            }
        }
        let first = located.partition_point(|e| e.addr < at);
        if addr == at {
            return Some(self.symbol(first));
        }
        let best = rank(located[first].kind);
        let last = first
            + located[first..next]
                .iter()
                .take_while(|e| rank(e.kind) == best)
                .count()
            - 1;
        Some(self.symbol(last))
    }
    fn all(&self) -> Vec<Symbol> {
        (0..self.entries.len()).map(|i| self.symbol(i)).collect()
    }
}

/// The kernel's own symbols, decoded from the kallsyms tables in the dump.
pub struct Kallsyms {
    table: SymbolTable,
    encoding: AddressEncoding,
}

impl Deref for Kallsyms {
    type Target = SymbolTable;
    fn deref(&self) -> &SymbolTable {
        &self.table
    }
}

impl SymbolSource for Kallsyms {
    fn by_name(&self, name: &str) -> Option<Symbol> {
        self.table.by_name(name)
    }
    fn by_addr(&self, addr: u64) -> Option<Symbol> {
        self.table.by_addr(addr)
    }
    fn all(&self) -> Vec<Symbol> {
        self.table.all()
    }
}

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

/// A table in kernel memory read in bulk, grown on demand up to a limit.
struct Bulk<'a> {
    mem: &'a dyn ReadVirt,
    addr: u64,
    what: &'static str,
    buf: Vec<u8>,
    limit: usize,
}

impl<'a> Bulk<'a> {
    fn new(mem: &'a dyn ReadVirt, addr: u64, what: &'static str, limit: usize) -> Bulk<'a> {
        Bulk {
            mem,
            addr,
            what,
            buf: Vec::new(),
            limit,
        }
    }

    /// Makes at least `end` bytes available, reading ahead up to `ahead` when it can. When one
    /// big read fails, reads page by page and keeps what is readable.
    fn ensure(&mut self, end: usize, ahead: usize) -> Result<()> {
        if end <= self.buf.len() {
            return Ok(());
        }
        if end > self.limit {
            let detail = format!(
                "needs {end:#x} bytes, more than the {:#x} allowed (corrupt lengths?)",
                self.limit
            );
            return Err(malformed(self.what, self.buf.len() as u64, detail));
        }
        let want = ahead.clamp(end, self.limit);
        let have = self.buf.len();
        if self.addr.checked_add(want as u64).is_none() {
            return Err(malformed(
                self.what,
                have as u64,
                format!("table at {:#x} wraps the address space", self.addr),
            ));
        }
        self.buf.resize(want, 0);
        if self
            .mem
            .read_virt(self.addr + have as u64, &mut self.buf[have..])
            .is_ok()
        {
            return Ok(());
        }
        let mut have = have;
        let mut failure = None;
        while have < want {
            let a = self.addr + have as u64;
            let n = ((PAGE - a % PAGE) as usize).min(want - have);
            if let Err(e) = self.mem.read_virt(a, &mut self.buf[have..have + n]) {
                failure = Some((a, e));
                break;
            }
            have += n;
        }
        self.buf.truncate(have);
        match failure {
            Some((a, source)) if have < end => Err(DebugInfoError::Memory {
                what: format!(
                    "{} at {:#x} (byte {:#x} of the table)",
                    self.what,
                    self.addr,
                    a - self.addr
                ),
                source,
            }),
            _ => Ok(()),
        }
    }
}

/// Where each name's token bytes are in `kallsyms_names`.
struct NameWalk {
    /// (offset of the token bytes, number of tokens) per symbol.
    recs: Vec<(u32, u16)>,
    /// Symbols whose length byte has bit 7 set.
    high_bit: usize,
}

impl NameWalk {
    /// Offset of symbol `i`'s record (its length byte), as `kallsyms_markers` stores it.
    fn record_start(&self, i: usize, end: usize) -> usize {
        match i.checked_sub(1) {
            None => 0,
            Some(p) => self
                .recs
                .get(p)
                .map_or(end, |&(off, len)| off as usize + len as usize),
        }
    }

    fn end(&self) -> usize {
        self.recs
            .last()
            .map_or(0, |&(off, len)| off as usize + len as usize)
    }
}

/// Walks `num` name records; `big`: a length byte with bit 7 set is followed by a high byte.
fn walk_names(names: &mut Bulk, num: usize, big: bool, ahead: usize) -> Result<NameWalk> {
    let mut recs = Vec::with_capacity(num);
    let mut high_bit = 0;
    let mut pos = 0usize;
    for i in 0..num {
        let grow = |names: &mut Bulk, end: usize| {
            names
                .ensure(end, if end <= ahead { ahead } else { end + CHUNK })
                .map_err(|e| match e {
                    DebugInfoError::Malformed {
                        what,
                        offset,
                        detail,
                    } => malformed(what, offset, format!("symbol {i} of {num}: {detail}")),
                    e => e,
                })
        };
        grow(names, pos + 1)?;
        let b = names.buf[pos];
        let mut len = usize::from(b);
        pos += 1;
        if b & 0x80 != 0 {
            high_bit += 1;
            if big {
                grow(names, pos + 1)?;
                len = usize::from(b & 0x7f) | usize::from(names.buf[pos]) << 7;
                pos += 1;
            }
        }
        grow(names, pos + len)?;
        recs.push((pos as u32, len as u16));
        pos += len;
    }
    Ok(NameWalk { recs, high_bit })
}

/// Whether the `kallsyms_markers` table after the names agrees with a walk (a marker is the
/// record offset of every 256th symbol). Tries u32 entries aligned to 4 and 8 and u64 ones.
fn markers_agree(mem: &dyn ReadVirt, names_addr: u64, walk: &NameWalk) -> bool {
    let n = walk.recs.len();
    let check = ((n - 1) / 256).min(8);
    if check == 0 {
        return false;
    }
    let end = walk.end();
    let expect: Vec<u64> = (0..=check)
        .map(|k| walk.record_start(k * 256, end) as u64)
        .collect();
    let base = names_addr.wrapping_add(end as u64);
    let mut buf = vec![0u8; (check + 1) * 8];
    [(4u64, 4usize), (8, 4), (8, 8)]
        .iter()
        .any(|&(align, width)| {
            let at = base.wrapping_add(align - 1) & !(align - 1);
            let buf = &mut buf[..(check + 1) * width];
            mem.read_virt(at, buf).is_ok()
                && buf.chunks(width).zip(&expect).all(|(c, &x)| {
                    let v = if width == 4 {
                        u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    } else {
                        le_u64(c)
                    };
                    v == x
                })
        })
}

fn le_u64(c: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&c[..8]);
    u64::from_le_bytes(b)
}

/// Byte range of each of the 256 tokens in the token table.
type TokenRanges = [(u32, u32); 256];
/// Where a decoded name is in the arena (start, length), and its type letter.
type NameSpan = (u32, u32, u8);

/// Reads the 256 tokens: their byte ranges in the returned token table.
fn read_tokens(
    mem: &dyn ReadVirt,
    table_addr: u64,
    index_addr: u64,
) -> Result<(Vec<u8>, TokenRanges)> {
    let mut raw = [0u8; 512];
    mem.read_virt(index_addr, &mut raw)
        .map_err(mem_err("kallsyms_token_index", index_addr))?;
    let index: Vec<usize> = raw
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])))
        .collect();
    // The token table is normally right before the index: then no token may start past it.
    let span = index_addr
        .checked_sub(table_addr)
        .filter(|&d| d > 0 && d as usize <= MAX_TOKEN_TABLE);
    if let Some(span) = span {
        if let Some((t, &off)) = index
            .iter()
            .enumerate()
            .find(|&(_, &off)| off as u64 >= span)
        {
            let detail = format!(
                "token {t} starts at {off:#x}, past the {span:#x}-byte kallsyms_token_table"
            );
            return Err(malformed("kallsyms_token_index", 2 * t as u64, detail));
        }
    }
    let max = index.iter().copied().max().unwrap_or(0);
    let mut table = Bulk::new(mem, table_addr, "kallsyms_token_table", MAX_TOKEN_TABLE);
    let ahead = span.map_or(max + 64, |s| s as usize);
    let mut ranges = [(0u32, 0u32); 256];
    for (t, &start) in index.iter().enumerate() {
        let mut end = start;
        loop {
            table.ensure(end + 1, ahead.max(end + 64))?;
            if table.buf[end] == 0 {
                break;
            }
            end += 1;
        }
        ranges[t] = (start as u32, end as u32);
    }
    Ok((table.buf, ranges))
}

/// Expands every name: returns the arena and, per symbol, (name start, name length, type letter).
fn expand_names(
    names: &[u8],
    walk: &NameWalk,
    table: &[u8],
    tokens: &TokenRanges,
) -> Result<(String, Vec<NameSpan>)> {
    // Tokens in fixed slots, so that most are copied with one fixed-size copy.
    const SLOT: usize = 16;
    let lens: Vec<usize> = tokens.iter().map(|&(s, e)| (e - s) as usize).collect();
    let mut slots = vec![0u8; 256 * SLOT];
    for (t, &(s, e)) in tokens.iter().enumerate() {
        let tok = &table[s as usize..e as usize];
        let n = tok.len().min(SLOT);
        slots[t * SLOT..t * SLOT + n].copy_from_slice(&tok[..n]);
    }
    let data = |&(off, len): &(u32, u16)| &names[off as usize..off as usize + len as usize];
    // Exact sizes first: bounds the work before any copying, and allocates once.
    let mut total = 0usize;
    for (i, rec) in walk.recs.iter().enumerate() {
        let n: usize = data(rec).iter().map(|&b| lens[usize::from(b)]).sum();
        if n > MAX_NAME_LEN {
            let detail = format!("symbol {i} expands to {n} bytes (tokens corrupt?)");
            return Err(malformed("kallsyms_names", u64::from(rec.0), detail));
        }
        total += n;
        if total > MAX_ARENA {
            let detail = format!("names expand to more than {MAX_ARENA} bytes by symbol {i}");
            return Err(malformed("kallsyms_names", u64::from(rec.0), detail));
        }
    }
    // The arena keeps each type letter just before its name.
    let mut arena: Vec<u8> = Vec::with_capacity(total + SLOT);
    let mut out = Vec::with_capacity(walk.recs.len());
    for rec in &walk.recs {
        let start = arena.len();
        for &b in data(rec) {
            let (t, n) = (usize::from(b), lens[usize::from(b)]);
            if n <= SLOT {
                let at = arena.len();
                arena.extend_from_slice(&slots[t * SLOT..(t + 1) * SLOT]);
                arena.truncate(at + n);
            } else {
                let (s, e) = tokens[t];
                arena.extend_from_slice(&table[s as usize..e as usize]);
            }
        }
        let kind = arena
            .get(start)
            .copied()
            .filter(u8::is_ascii_graphic)
            .unwrap_or(b'?');
        let name = (start + 1).min(arena.len());
        out.push((name as u32, (arena.len() - name) as u32, kind));
    }
    // Every name must be UTF-8 on its own, not only the arena as a whole: a type letter that
    // starts a multi-byte sequence would put a name's start inside a character.
    let spans_ok = out.iter().all(|&(s, l, _)| {
        arena
            .get(s as usize..(s as usize).saturating_add(l as usize))
            .is_some_and(|b| std::str::from_utf8(b).is_ok())
    });
    let whole = if spans_ok {
        String::from_utf8(arena).map_err(|e| e.into_bytes())
    } else {
        Err(arena)
    };
    let arena = match whole {
        Ok(s) => s,
        Err(bytes) => {
            // Rare: rebuild name by name with lossy conversion.
            let mut s = String::with_capacity(bytes.len());
            for (start, len, _) in &mut out {
                let name =
                    String::from_utf8_lossy(&bytes[*start as usize..(*start + *len) as usize]);
                *start = s.len() as u32;
                *len = name.len() as u32;
                s.push_str(&name);
            }
            s
        }
    };
    Ok((arena, out))
}

/// The raw address table, before its encoding is known.
enum RawAddrs {
    Absolute(Vec<u64>),
    Offsets {
        table: u64,
        offsets: Vec<i32>,
        base: Option<u64>,
    },
}

impl RawAddrs {
    fn candidates(&self) -> Vec<AddressEncoding> {
        match self {
            RawAddrs::Absolute(_) => vec![AddressEncoding::Absolute],
            RawAddrs::Offsets { base: None, .. } => vec![AddressEncoding::PcRelative],
            // Absolute-percpu stores every kernel symbol as a negative offset; with none, it is not in use.
            RawAddrs::Offsets { offsets, .. } if offsets.iter().any(|&o| o < 0) => {
                vec![AddressEncoding::AbsolutePercpu, AddressEncoding::Relative]
            }
            RawAddrs::Offsets { .. } => vec![AddressEncoding::Relative],
        }
    }

    /// Address of symbol `i` under `enc`, and whether it is absolute rather than a location.
    fn get(&self, enc: AddressEncoding, i: usize) -> (u64, bool) {
        match self {
            RawAddrs::Absolute(a) => (a[i], false),
            RawAddrs::Offsets {
                table,
                offsets,
                base,
            } => {
                let o = offsets[i];
                let base = base.unwrap_or(0);
                match enc {
                    AddressEncoding::AbsolutePercpu if o >= 0 => (o as u64, true),
                    AddressEncoding::AbsolutePercpu => (
                        base.wrapping_sub(1).wrapping_sub(i64::from(o) as u64),
                        false,
                    ),
                    AddressEncoding::PcRelative => (
                        table
                            .wrapping_add(4 * i as u64)
                            .wrapping_add(i64::from(o) as u64),
                        false,
                    ),
                    _ => (base.wrapping_add(u64::from(o as u32)), false),
                }
            }
        }
    }
}

fn read_addrs(mem: &dyn ReadVirt, info: &VmcoreInfo, num: usize) -> Result<RawAddrs> {
    let (what, width) = match info.symbol("kallsyms_offsets") {
        Some(_) => ("kallsyms_offsets", 4),
        None => ("kallsyms_addresses", 8),
    };
    let addr = info.symbol(what).ok_or_else(|| {
        DebugInfoError::Missing(
            "VMCOREINFO SYMBOL(kallsyms_offsets) or SYMBOL(kallsyms_addresses)".into(),
        )
    })?;
    let mut buf = vec![0u8; num * width];
    mem.read_virt(addr, &mut buf).map_err(mem_err(what, addr))?;
    if width == 8 {
        return Ok(RawAddrs::Absolute(buf.chunks(8).map(le_u64).collect()));
    }
    let offsets = buf
        .chunks(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let base = match info.symbol("kallsyms_relative_base") {
        Some(b) => Some(
            mem.read_u64(b)
                .map_err(mem_err("kallsyms_relative_base", b))?,
        ),
        None => None,
    };
    Ok(RawAddrs::Offsets {
        table: addr,
        offsets,
        base,
    })
}

impl Kallsyms {
    /// Decodes the kernel's symbol table from the dump's memory, at the addresses VMCOREINFO gives.
    pub fn load(mem: &dyn ReadVirt, info: &VmcoreInfo) -> Result<Kallsyms> {
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
        let (token_table, tokens) = read_tokens(mem, table_addr, index_addr)?;

        // The names table normally ends just before the token table: read that span at once.
        let mut names = Bulk::new(mem, names_addr, "kallsyms_names", MAX_NAMES_BYTES);
        let ahead = table_addr
            .checked_sub(names_addr)
            .filter(|&d| d <= (16 << 20))
            .map_or(CHUNK, |d| d as usize);
        let walk = match walk_names(&mut names, num, true, ahead) {
            Ok(w) if w.high_bit == 0 => w,
            // A length byte with bit 7 set: a 2-byte length (6.1+) or, before 6.1, a plain length
            // of 128..255. Both walks are tried; the markers after the names tell which is right.
            big => match (big, walk_names(&mut names, num, false, ahead)) {
                (Ok(b), Ok(l))
                    if !markers_agree(mem, names_addr, &b)
                        && markers_agree(mem, names_addr, &l) =>
                {
                    l
                }
                (Ok(b), _) => b,
                (Err(_), Ok(l)) => l,
                (Err(e), Err(_)) => return Err(e),
            },
        };
        let (arena, decoded) = expand_names(&names.buf, &walk, &token_table, &tokens)?;
        drop(names);

        let raw = read_addrs(mem, info, num)?;
        let encoding = Self::choose_encoding(&raw, info, &arena, &decoded)?;
        let entries = decoded
            .iter()
            .enumerate()
            .map(|(i, &(name, name_len, kind))| {
                let (addr, absolute) = raw.get(encoding, i);
                let absolute = absolute || matches!(kind, b'A' | b'a');
                Entry {
                    addr,
                    size: 0,
                    name,
                    name_len: name_len as u16,
                    kind,
                    absolute,
                }
            })
            .collect();
        Ok(Kallsyms {
            table: SymbolTable::new(arena, entries, None),
            encoding,
        })
    }

    /// The address encoding found in the dump.
    pub fn encoding(&self) -> AddressEncoding {
        self.encoding
    }

    /// Picks the encoding under which `_stext` lands where VMCOREINFO says (when it says).
    fn choose_encoding(
        raw: &RawAddrs,
        info: &VmcoreInfo,
        arena: &str,
        decoded: &[NameSpan],
    ) -> Result<AddressEncoding> {
        let candidates = raw.candidates();
        let stext = decoded
            .iter()
            .position(|&(s, l, _)| &arena[s as usize..(s + l) as usize] == "_stext");
        let (Some(i), Some(want)) = (stext, info.symbol("_stext")) else {
            return Ok(candidates[0]);
        };
        if let Some(&enc) = candidates.iter().find(|&&enc| raw.get(enc, i).0 == want) {
            return Ok(enc);
        }
        let got: Vec<String> = candidates
            .iter()
            .map(|&enc| format!("{:#x} ({enc:?})", raw.get(enc, i).0))
            .collect();
        let detail = format!(
            "_stext decodes to {}, VMCOREINFO says {want:#x}",
            got.join(" or ")
        );
        let (what, width) = match raw {
            RawAddrs::Absolute(_) => ("kallsyms_addresses", 8),
            RawAddrs::Offsets { .. } => ("kallsyms_offsets", 4),
        };
        Err(malformed(what, width * i as u64, detail))
    }
}

/// A module's symbols, from its in-memory ELF symtab (`mod->core_kallsyms`).
pub struct ModuleSymbols {
    table: SymbolTable,
}

impl Deref for ModuleSymbols {
    type Target = SymbolTable;
    fn deref(&self) -> &SymbolTable {
        &self.table
    }
}

impl SymbolSource for ModuleSymbols {
    fn by_name(&self, name: &str) -> Option<Symbol> {
        self.table.by_name(name)
    }
    fn by_addr(&self, addr: u64) -> Option<Symbol> {
        self.table.by_addr(addr)
    }
    fn all(&self) -> Vec<Symbol> {
        self.table.all()
    }
}

/// nm letter of an ELF symbol without its section: `T`/`t` functions, `D`/`d` objects, `W`/`V`
/// weak, `A`/`a` absolute, `?` otherwise; uppercase when global.
fn elf_letter(info: u8, shndx: u16) -> u8 {
    const SHN_ABS: u16 = 0xfff1;
    let (bind, typ) = (info >> 4, info & 0xf);
    let c = match (shndx, typ) {
        (SHN_ABS, _) => b'a',
        (_, 2 | 10) => b't', // STT_FUNC, STT_GNU_IFUNC
        (_, 1 | 6) => b'd',  // STT_OBJECT, STT_TLS
        _ => return b'?',
    };
    match bind {
        2 if c == b't' => b'W', // STB_WEAK
        2 => b'V',
        1 | 10 => c.to_ascii_uppercase(), // STB_GLOBAL, STB_GNU_UNIQUE
        _ => c,
    }
}

/// Where a module symtab keeps the nm type letters.
#[derive(Clone, Copy, PartialEq)]
enum Letters<'a> {
    /// `mod_kallsyms.typetab` (Linux 5.2+).
    Typetab(&'a [u8]),
    /// Written over `st_info` (before 5.0).
    StInfo,
    /// Written over `st_size` (5.0 and 5.1).
    StSize,
    /// Nowhere: derived from the ELF binding and type.
    Elf,
}

/// One `Elf64_Sym`.
struct ElfSym {
    name: u32,
    info: u8,
    shndx: u16,
    value: u64,
    size: u64,
}

fn is_nm_letter(v: u64) -> bool {
    u8::try_from(v).is_ok_and(|c| b"AaBbCDdGgiNnpRrSsTtUuVvWw".contains(&c))
}

impl ModuleSymbols {
    /// Parses a module's `Elf64_Sym` array and string table (`mod->core_kallsyms.symtab/strtab`).
    /// Without a `typetab` the kernel wrote the nm type letter over `st_info` (before 5.0) or
    /// `st_size` (5.0, 5.1): found from the data (every symbol's field holds a letter), else the
    /// letter is derived from the ELF binding and type. Use
    /// [`ModuleSymbols::from_elf_symtab_typed`] when the module has a `typetab`.
    pub fn from_elf_symtab(module: &str, symtab: &[u8], strtab: &[u8]) -> Result<ModuleSymbols> {
        Self::parse(module, symtab, strtab, None)
    }

    /// Like [`ModuleSymbols::from_elf_symtab`], with the kernel's per-symbol type letters
    /// (`mod->core_kallsyms.typetab`, one byte per symtab entry, Linux 5.2+).
    pub fn from_elf_symtab_typed(
        module: &str,
        symtab: &[u8],
        strtab: &[u8],
        typetab: &[u8],
    ) -> Result<ModuleSymbols> {
        Self::parse(module, symtab, strtab, Some(typetab))
    }

    /// The module's name.
    pub fn module(&self) -> &str {
        self.table.module.as_deref().unwrap_or_default()
    }

    fn parse(
        module: &str,
        symtab: &[u8],
        strtab: &[u8],
        typetab: Option<&[u8]>,
    ) -> Result<ModuleSymbols> {
        let (count, rest) = (symtab.len() / ELF64_SYM_SIZE, symtab.len() % ELF64_SYM_SIZE);
        if rest > 0 || count > MAX_SYMS {
            let detail = format!(
                "{} bytes is not a whole number (at most {MAX_SYMS}) of 24-byte Elf64_Sym",
                symtab.len()
            );
            return Err(malformed("module symtab", 0, detail));
        }
        if let Some(t) = typetab.filter(|t| t.len() < count) {
            let detail = format!("{} type letters for {count} symbols", t.len());
            return Err(malformed("module typetab", t.len() as u64, detail));
        }
        // Entry 0 is the null symbol; undefined and nameless ones are not the module's.
        let syms: Vec<(usize, ElfSym)> = symtab
            .chunks_exact(ELF64_SYM_SIZE)
            .enumerate()
            .skip(1)
            .map(|(i, s)| {
                let sym = ElfSym {
                    name: u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
                    info: s[4],
                    shndx: u16::from_le_bytes([s[6], s[7]]),
                    value: le_u64(&s[8..16]),
                    size: le_u64(&s[16..24]),
                };
                (i, sym)
            })
            // STT_SECTION and STT_FILE are not program symbols (a letter in st_info is no ELF type)
            .filter(|(_, s)| {
                s.shndx != 0
                    && s.name != 0
                    && (is_nm_letter(s.info.into()) || !matches!(s.info & 0xf, 3 | 4))
            })
            .collect();
        let letters = match typetab {
            Some(t) => Letters::Typetab(t),
            None if syms.iter().all(|(_, s)| is_nm_letter(u64::from(s.info))) => Letters::StInfo,
            None if syms.iter().all(|(_, s)| is_nm_letter(s.size)) => Letters::StSize,
            None => Letters::Elf,
        };
        let mut arena = String::new();
        let mut entries = Vec::new();
        for (i, s) in &syms {
            let kind = match letters {
                Letters::Typetab(t) => t[*i],
                Letters::StInfo => s.info,
                Letters::StSize => s.size as u8,
                Letters::Elf => elf_letter(s.info, s.shndx),
            };
            let kind = if kind.is_ascii_graphic() { kind } else { b'?' };
            if matches!(kind, b'U' | b'u') {
                continue;
            }
            let at = |detail: String| {
                malformed(
                    "module strtab",
                    u64::from(s.name),
                    format!("symbol {i}: {detail}"),
                )
            };
            let rest = strtab
                .get(s.name as usize..)
                .ok_or_else(|| at(format!("name offset past the {}-byte strtab", strtab.len())))?;
            let name = &rest[..rest
                .iter()
                .position(|&c| c == 0)
                .ok_or_else(|| at("name not NUL-terminated".into()))?];
            if name.len() > MAX_NAME_LEN || arena.len() > MAX_ARENA {
                return Err(at(format!(
                    "name longer than {MAX_NAME_LEN}, or names over {MAX_ARENA} bytes"
                )));
            }
            let start = arena.len();
            arena.push_str(&String::from_utf8_lossy(name));
            let size = if letters == Letters::StSize {
                0
            } else {
                u32::try_from(s.size).unwrap_or(u32::MAX)
            };
            entries.push(Entry {
                addr: s.value,
                name: start as u32,
                size,
                name_len: (arena.len() - start) as u16,
                kind,
                absolute: matches!(kind, b'A' | b'a') || s.shndx == 0xfff1,
            });
        }
        Ok(ModuleSymbols {
            table: SymbolTable::new(arena, entries, Some(module.into())),
        })
    }
}
