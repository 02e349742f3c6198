//! Decoded symbol tables: the kernel's when every name is wanted (iteration), and each
//! module's from its in-memory ELF symtab ([`ModuleSymbols`]).

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use super::{malformed, MAX_ARENA, MAX_NAME_LEN, MAX_SYMS};
use crate::hash::name_hash;
use crate::{Result, Symbol, SymbolSource};

/// `sizeof(Elf64_Sym)`.
const ELF64_SYM_SIZE: usize = 24;

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

/// One symbol of a [`SymbolTable`], its name in the table's arena.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub addr: u64,
    pub name: u32,
    /// Size from an ELF symtab (saturated); 0 when unknown.
    pub size: u32,
    pub name_len: u16,
    pub kind: u8,
    pub absolute: bool,
}

/// Preference among aliases (lower wins): global text, other globals, weak, locals.
pub(super) fn rank(kind: u8) -> u8 {
    match kind {
        b'T' => 0,
        b'W' | b'V' => 2,
        k if k.is_ascii_uppercase() => 1,
        _ => 3,
    }
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
    pub(super) fn new(
        names: String,
        mut entries: Vec<Entry>,
        module: Option<Arc<str>>,
    ) -> SymbolTable {
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

pub(super) fn le_u64(c: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&c[..8]);
    u64::from_le_bytes(b)
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

    /// A module's symbols from a listing of (address, nm type letter, name), as the running
    /// kernel prints them in `/proc/kallsyms` (which gives no sizes: a symbol then reaches to
    /// the next one). Undefined (`U`) entries are not the module's; at most `MAX_SYMS` are kept.
    pub fn from_listing<'a>(
        module: &str,
        listing: impl IntoIterator<Item = (u64, u8, &'a str)>,
    ) -> Result<ModuleSymbols> {
        let mut arena = String::new();
        let mut entries = Vec::new();
        for (addr, kind, name) in listing {
            let kind = if kind.is_ascii_graphic() { kind } else { b'?' };
            if matches!(kind, b'U' | b'u') || name.is_empty() {
                continue;
            }
            if name.len() > MAX_NAME_LEN || arena.len() > MAX_ARENA || entries.len() >= MAX_SYMS {
                let detail = format!(
                    "more than {MAX_SYMS} symbols, a name longer than {MAX_NAME_LEN}, or names over {MAX_ARENA} bytes"
                );
                return Err(malformed(
                    "module symbol listing",
                    entries.len() as u64,
                    detail,
                ));
            }
            let start = arena.len();
            arena.push_str(name);
            entries.push(Entry {
                addr,
                name: start as u32,
                size: 0,
                name_len: name.len() as u16,
                kind,
                absolute: matches!(kind, b'A' | b'a'),
            });
        }
        Ok(ModuleSymbols {
            table: SymbolTable::new(arena, entries, Some(module.into())),
        })
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
