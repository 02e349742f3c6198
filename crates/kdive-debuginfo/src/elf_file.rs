//! Debug-info files: a vmlinux (or a module `.ko`) read through `object`, memory-mapped.
//!
//! Only what the upper layers ask for is parsed: the build-id note, one symbol's address, the
//! bytes at a link-time address, and the DWARF sections (handed out without copying unless the
//! section is compressed).

use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::{Object, ObjectSection, ObjectSymbol, RelocationKind, RelocationTarget, SectionFlags};

use crate::{DebugInfoError, Result};

/// Backing bytes of a debug file: a memory map, or bytes in memory (tests, fuzzing).
pub type Backing = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// A cheap, clonable window into a [`Backing`]; stable across clones and moves, so DWARF readers
/// can hold it.
#[derive(Clone)]
pub struct Bytes {
    backing: Backing,
    start: usize,
    len: usize,
}

impl Bytes {
    /// All of `backing`.
    pub fn new(backing: Backing) -> Bytes {
        let len = (*backing).as_ref().len();
        Bytes {
            backing,
            start: 0,
            len,
        }
    }

    /// `len` bytes at `start`, or `None` when that lies outside.
    pub fn slice(&self, start: usize, len: usize) -> Option<Bytes> {
        let end = start.checked_add(len)?;
        (end <= self.len).then(|| Bytes {
            backing: self.backing.clone(),
            start: self.start + start,
            len,
        })
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &(*self.backing).as_ref()[self.start..self.start + self.len]
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes at {:#x})", self.len, self.start)
    }
}

// SAFETY: `deref` always yields the same slice of the same heap or mapped allocation, which the
// `Arc` keeps alive and never moves; clones share it.
unsafe impl gimli::StableDeref for Bytes {}
// SAFETY: a clone derefs to the same address (see above).
unsafe impl gimli::CloneStableDeref for Bytes {}

fn is_alloc(s: &object::Section<'_, '_>) -> bool {
    match s.flags() {
        SectionFlags::Elf { sh_flags } => sh_flags & u64::from(object::elf::SHF_ALLOC) != 0,
        _ => false,
    }
}

/// A compressed section may not claim more than this many times the file's size uncompressed
/// (DWARF compresses 3-6x); the claim sizes an allocation.
const MAX_INFLATION: u64 = 64;

/// A symbol of an ELF symbol table as the table gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSymbol {
    pub name: String,
    /// Link-time address (`st_value`).
    pub addr: u64,
    /// `st_size`: 0 for a label or a symbol without a recorded size.
    pub size: u64,
    /// `STB_*` (`ELF64_ST_BIND`).
    pub binding: u8,
    /// `STT_*` (`ELF64_ST_TYPE`).
    pub kind: u8,
    /// Link-time start and end of the symbol's section; `None` for an absolute symbol.
    pub section: Option<(u64, u64)>,
}

/// An ELF file that may carry debug info (a vmlinux, a module, a `-dbg` package's copy of either).
/// Clones share the mapping.
#[derive(Clone)]
pub struct ElfFile {
    path: PathBuf,
    bytes: Bytes,
}

impl fmt::Debug for ElfFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ElfFile({})", self.path.display())
    }
}

fn malformed(what: &'static str, detail: impl fmt::Display) -> DebugInfoError {
    DebugInfoError::Malformed {
        what,
        offset: 0,
        detail: detail.to_string(),
    }
}

impl ElfFile {
    /// Maps and checks the file at `path`.
    pub fn open(path: &Path) -> Result<ElfFile> {
        let file = std::fs::File::open(path)
            .map_err(|e| DebugInfoError::Missing(format!("{}: {e}", path.display())))?;
        // SAFETY: the file is only read; a debug file changing under a running analysis is not
        // a case we defend against (the same holds for every mmap-based reader).
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|e| DebugInfoError::Missing(format!("{}: {e}", path.display())))?;
        Self::from_backing(path.to_path_buf(), Arc::new(map))
    }

    /// Reads an ELF file held in memory; `name` is used in messages.
    pub fn from_backing(name: PathBuf, backing: Backing) -> Result<ElfFile> {
        let f = ElfFile {
            path: name,
            bytes: Bytes::new(backing),
        };
        f.parse()?;
        Ok(f)
    }

    /// The file's name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn parse(&self) -> Result<object::File<'_>> {
        let f = object::File::parse(&*self.bytes).map_err(|e| malformed("ELF file", e))?;
        if f.format() != object::BinaryFormat::Elf {
            return Err(malformed("ELF file", "not an ELF file"));
        }
        Ok(f)
    }

    /// True for a relocatable object (a module `.ko`), whose addresses are section offsets.
    pub fn is_relocatable(&self) -> bool {
        self.parse()
            .is_ok_and(|f| f.kind() == object::ObjectKind::Relocatable)
    }

    /// True for a little-endian file.
    pub fn is_little_endian(&self) -> bool {
        self.parse().map_or(true, |f| f.is_little_endian())
    }

    /// The GNU build-id note, if the file has one.
    pub fn build_id(&self) -> Option<Vec<u8>> {
        self.parse().ok()?.build_id().ok()?.map(<[u8]>::to_vec)
    }

    /// True when the file has DWARF (a `.debug_info` section with contents).
    pub fn has_dwarf(&self) -> bool {
        self.parse().is_ok_and(|f| {
            f.section_by_name(".debug_info")
                .is_some_and(|s| s.size() > 0 && s.file_range().is_some())
        })
    }

    /// The link-time address of the symbol `name` in the ELF symbol table.
    pub fn symbol_address(&self, name: &str) -> Option<u64> {
        self.symbol_addresses(&[name])[0]
    }

    /// The link-time addresses of several symbols, in one pass over the symbol table.
    pub fn symbol_addresses(&self, names: &[&str]) -> Vec<Option<u64>> {
        let mut out = vec![None; names.len()];
        let Ok(f) = self.parse() else {
            return out;
        };
        let mut left = names.len();
        for s in f.symbols().filter(|s| !s.is_undefined()) {
            let Ok(n) = s.name() else { continue };
            if let Some(i) = names.iter().position(|&w| w == n) {
                if out[i].is_none() {
                    out[i] = Some(s.address());
                    left -= 1;
                    if left == 0 {
                        break;
                    }
                }
            }
        }
        out
    }

    /// Every named symbol of allocated sections, local labels (`.LC0`) included, as
    /// (link-time address, name) sorted by address: the table crash names addresses with.
    pub fn address_symbols(&self) -> Vec<(u64, String)> {
        let Ok(f) = self.parse() else {
            return Vec::new();
        };
        let allocated: std::collections::HashSet<object::SectionIndex> = f
            .sections()
            .filter(|s| match s.flags() {
                SectionFlags::Elf { sh_flags } => sh_flags & u64::from(object::elf::SHF_ALLOC) != 0,
                _ => false,
            })
            .map(|s| s.index())
            .collect();
        let mut out: Vec<(u64, String)> = f
            .symbols()
            .filter(|s| {
                !matches!(
                    s.kind(),
                    object::SymbolKind::Section | object::SymbolKind::File
                ) && s.section_index().is_some_and(|i| allocated.contains(&i))
            })
            .filter_map(|s| Some((s.address(), s.name().ok()?.to_string())))
            .filter(|(_, n)| !n.is_empty())
            .collect();
        out.sort_by_key(|s| s.0);
        out
    }

    /// The defined symbols of the symbol table in table order, with their binding, type and
    /// the link-time extent of their section (sections, files and TLS symbols left out: they
    /// name no address).
    pub fn table_symbols(&self) -> Vec<TableSymbol> {
        let Ok(f) = self.parse() else {
            return Vec::new();
        };
        let extents: std::collections::HashMap<object::SectionIndex, (u64, u64)> = f
            .sections()
            .map(|s| {
                (
                    s.index(),
                    (s.address(), s.address().saturating_add(s.size())),
                )
            })
            .collect();
        f.symbols()
            .filter(|s| {
                !matches!(
                    s.kind(),
                    object::SymbolKind::Section
                        | object::SymbolKind::File
                        | object::SymbolKind::Tls
                )
            })
            .filter_map(|s| {
                let info = match s.flags() {
                    object::SymbolFlags::Elf { st_info, .. } => st_info,
                    _ => return None,
                };
                let section = match s.section() {
                    object::SymbolSection::Section(i) => extents.get(&i).copied(),
                    object::SymbolSection::Absolute => None,
                    _ => return None,
                };
                Some(TableSymbol {
                    name: s.name().ok()?.to_string(),
                    addr: s.address(),
                    size: s.size(),
                    binding: info >> 4,
                    kind: info & 0xf,
                    section,
                })
            })
            .filter(|s| !s.name.is_empty())
            .collect()
    }

    /// The nm letters of the per-CPU variables (symbols of `.data..percpu`: `D` global, `d`
    /// local), by name: kallsyms calls them absolute (`A`).
    pub fn percpu_letters(&self) -> std::collections::HashMap<String, char> {
        let mut out = std::collections::HashMap::new();
        let Ok(f) = self.parse() else {
            return out;
        };
        let Some(percpu) = f.section_by_name(".data..percpu").map(|s| s.index()) else {
            return out;
        };
        for s in f.symbols() {
            if s.section_index() != Some(percpu) || s.kind() == object::SymbolKind::Section {
                continue;
            }
            if let Ok(name) = s.name() {
                let letter = if s.is_global() { 'D' } else { 'd' };
                out.insert(name.to_string(), letter);
            }
        }
        out
    }

    /// The size of the function at link-time address `addr` (the largest `st_size` of the code
    /// symbols there), as gdb takes a function's extent from it.
    pub fn function_size(&self, addr: u64) -> Option<u64> {
        let f = self.parse().ok()?;
        f.symbols()
            .filter(|s| s.kind() == object::SymbolKind::Text && s.address() == addr)
            .map(|s| s.size())
            .filter(|&n| n > 0)
            .max()
    }

    /// Symbols defined in allocated sections (code and data): (name, section name, value).
    pub fn section_symbols(&self) -> Vec<(String, String, u64)> {
        let Ok(f) = self.parse() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for s in f.symbols() {
            if s.is_undefined()
                || !matches!(
                    s.kind(),
                    object::SymbolKind::Text | object::SymbolKind::Data
                )
            {
                continue;
            }
            let (Ok(name), Some(idx)) = (s.name(), s.section_index()) else {
                continue;
            };
            let Ok(sec) = f.section_by_index(idx) else {
                continue;
            };
            if is_alloc(&sec) {
                if let Ok(sname) = sec.name() {
                    out.push((name.to_string(), sname.to_string(), s.address()));
                }
            }
        }
        out
    }

    /// The absolute relocations of section `name`: offset → (value, whether the value is added to
    /// what the section holds there (REL) rather than replacing it (RELA)), with the allocated
    /// sections placed at `bases` (by section name; others at 0, which is right for references
    /// between debug sections). Empty for a file without relocations there.
    pub fn relocations(
        &self,
        name: &str,
        bases: &HashMap<String, u64>,
    ) -> Result<HashMap<usize, (u64, bool)>> {
        let f = self.parse()?;
        let mut out = HashMap::new();
        let Some(sec) = f.section_by_name(name) else {
            return Ok(out);
        };
        for (offset, r) in sec.relocations() {
            if r.kind() != RelocationKind::Absolute {
                continue;
            }
            let RelocationTarget::Symbol(si) = r.target() else {
                continue;
            };
            let Ok(sym) = f.symbol_by_index(si) else {
                continue;
            };
            let base = sym
                .section_index()
                .and_then(|i| f.section_by_index(i).ok())
                .and_then(|sec| sec.name().ok().and_then(|n| bases.get(n)).copied())
                .unwrap_or(0);
            let value = base
                .wrapping_add(sym.address())
                .wrapping_add_signed(r.addend());
            let Ok(offset) = usize::try_from(offset) else {
                continue;
            };
            out.insert(offset, (value, r.has_implicit_addend()));
        }
        Ok(out)
    }

    /// `len` bytes of file contents at the link-time address `addr` (from the allocated section
    /// holding it), or `None` when no section with contents holds all of them.
    pub fn read_at_address(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let f = self.parse().ok()?;
        let end = addr.checked_add(len as u64)?;
        for s in f.sections() {
            let (start, size) = (s.address(), s.size());
            let inside =
                start != 0 && addr >= start && start.checked_add(size).is_some_and(|e| end <= e);
            if !inside {
                continue;
            }
            let (off, fsize) = s.file_range()?;
            let rel = addr - start;
            if rel.checked_add(len as u64)? > fsize {
                return None;
            }
            let at = usize::try_from(off.checked_add(rel)?).ok()?;
            return self.bytes.get(at..at.checked_add(len)?).map(<[u8]>::to_vec);
        }
        None
    }

    /// The contents of section `name` (decompressed if the file compresses it), or empty bytes
    /// when the file has no such section.
    pub fn section_bytes(&self, name: &str) -> Result<Bytes> {
        let f = self.parse()?;
        let Some(s) = f.section_by_name(name) else {
            return Ok(Bytes::new(Arc::new(Vec::<u8>::new())));
        };
        let range = s
            .compressed_file_range()
            .map_err(|e| malformed("ELF section header", format!("{name}: {e}")))?;
        if range.format == object::CompressionFormat::None {
            let Some((off, size)) = s.file_range() else {
                return Ok(Bytes::new(Arc::new(Vec::<u8>::new())));
            };
            let (off, size) = (usize::try_from(off), usize::try_from(size));
            return match (off, size) {
                (Ok(off), Ok(size)) => self.bytes.slice(off, size).ok_or_else(|| {
                    malformed(
                        "ELF section",
                        format!("{name} lies past the end of the file"),
                    )
                }),
                _ => Err(malformed("ELF section", format!("{name}: size"))),
            };
        }
        let limit = (self.bytes.len() as u64)
            .saturating_mul(MAX_INFLATION)
            .max(1 << 20);
        if range.uncompressed_size > limit {
            return Err(malformed(
                "compressed ELF section",
                format!(
                    "{name} claims {} bytes uncompressed from {}",
                    range.uncompressed_size, range.compressed_size
                ),
            ));
        }
        // object checks the compressed stream against the size it declares
        let data = s
            .uncompressed_data()
            .map_err(|e| malformed("compressed ELF section", format!("{name}: {e}")))?;
        Ok(Bytes::new(Arc::new(data.into_owned())))
    }
}
