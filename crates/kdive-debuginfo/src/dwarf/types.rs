//! Types, variables and functions from a debug file's DWARF (a vmlinux, or a module `.ko` placed
//! where it was loaded), as a [`TypeSource`].
//!
//! Nothing is read when the source is made. A type is read from its DIE the first time it is
//! asked for and kept. Names are found through an index built on demand: units are indexed in
//! the file's order, in batches scanned in parallel, until the name is found (a vmlinux's units
//! follow its link order, so `init_task` costs the first eight); only the top level of each
//! unit is read, subtrees jumped over by `DW_AT_sibling`. A type's id is the offset of its DIE
//! in `.debug_info` (so a file whose `.debug_info` exceeds 4 GiB is read only in its first 4 GiB).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use super::convert::Converter;
use super::index::{Index, UnitList, MIN_FILTERED_NAME};
use super::reader::{DebugSections, Dw, UnitAbbrevs, UnitCtx};
use crate::elf_file::ElfFile;
use crate::{DebugInfoError, NameKind, Result, Type, TypeId, TypeKind, TypeSource};

pub use super::index::Found;

/// Units whose abbreviations are kept between lookups (a type's members are in its unit).
const MAX_CACHED_UNITS: usize = 256;
/// Typedefs and qualifiers followed to tell whether a declared variable's type is complete.
const MAX_CHAIN: usize = 32;

/// The DWARF of one debug file as a type provider.
pub struct DwarfTypes {
    src: u16,
    path: PathBuf,
    sections: DebugSections,
    units: UnitList,
    index: Mutex<Index>,
    abbrevs: Mutex<HashMap<usize, Arc<UnitAbbrevs>>>,
    cache: RwLock<HashMap<u32, Arc<Type>>>,
    void: Arc<Type>,
    /// Whether [`TypeSource::find`] answers (see [`DwarfTypes::answer_type_names`]).
    type_names: bool,
}

impl std::fmt::Debug for DwarfTypes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DwarfTypes({}, src {})", self.path.display(), self.src)
    }
}

impl DwarfTypes {
    /// The types of `file`, handed out as provider `src`; `bases` places a relocatable file's
    /// sections (by name) where they were loaded. Reads nothing but the section headers.
    pub fn new(
        file: &ElfFile,
        bases: Option<&HashMap<String, u64>>,
        src: u16,
    ) -> Result<DwarfTypes> {
        Ok(DwarfTypes {
            src,
            path: file.path().to_path_buf(),
            sections: DebugSections::read(file, bases)?,
            units: UnitList::default(),
            index: Mutex::new(Index::default()),
            abbrevs: Mutex::new(HashMap::new()),
            cache: RwLock::new(HashMap::new()),
            void: Arc::new(Type {
                name: Some("void".into()),
                kind: TypeKind::Void,
            }),
            type_names: true,
        })
    }

    /// Whether this source answers type names ([`TypeSource::find`]; by default it does). A
    /// vmlinux whose BTF the program has need not: BTF is made from this DWARF and holds every
    /// type it names (types local to a function aside, which the index does not read either),
    /// and a name BTF lacks would cost a pass over every unit to be told missing here too.
    /// Types reached from variables, functions and other types are read all the same.
    pub fn answer_type_names(mut self, yes: bool) -> DwarfTypes {
        self.type_names = yes;
        self
    }

    /// The provider number of this file's types.
    pub fn src(&self) -> u16 {
        self.src
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The [`TypeId`] of the DIE at `die` (a [`Found::die`]).
    pub fn type_id(&self, die: u32) -> TypeId {
        TypeId {
            src: self.src,
            idx: die,
        }
    }

    /// The variable `name`: a definition at `addr` (as the file gives addresses; any definition
    /// when `addr` is `None`) if one is found, else a declaration whose type is complete, else
    /// a definition without a place or a declaration.
    /// Its [`Type`] (by [`Found::die`]) is a `Typedef` named after it, targeting its type.
    pub fn find_variable(&self, name: &str, addr: Option<u64>) -> Option<Found> {
        if !self.may_name(name) {
            return None;
        }
        let mut refused = None;
        loop {
            let (f, last_resort) = self.search(|idx, all| {
                let list = idx.vars(name);
                pick(list, addr, refused, all)
            })?;
            if f.declaration && !last_resort && refused.is_none() && !self.complete(f.die) {
                refused = Some(f.die); // `extern T x[]`: look on for the definition
                continue;
            }
            return Some(f);
        }
    }

    /// The function `name`, chosen as [`DwarfTypes::find_variable`] chooses (declarations are
    /// always complete). Its [`Type`] is a `Function` named after it.
    pub fn find_function(&self, name: &str, addr: Option<u64>) -> Option<Found> {
        if !self.may_name(name) {
            return None;
        }
        self.search(|idx, all| pick(idx.funcs(name), addr, None, all))
            .map(|(f, _)| f)
    }

    /// Units indexed so far, units whose headers were read, and whether that is all of them.
    pub fn units_indexed(&self) -> (usize, usize, bool) {
        let (known, all) = self.units.count();
        let done = self.index.lock().map_or(0, |i| i.units_done());
        (done, known, all)
    }

    /// Indexes every unit now (the work a lookup of a name nobody defines does).
    pub fn index_all(&self) {
        let _ = self.search(|_, _| None::<()>);
    }

    /// Units whose entries could not be read while indexing, with why.
    pub fn index_problems(&self) -> Vec<String> {
        self.index
            .lock()
            .map(|i| i.problems.clone())
            .unwrap_or_default()
    }

    /// False when no DIE can be named `name`: a name of [`MIN_FILTERED_NAME`] bytes or more that
    /// `.debug_str` does not hold (as a string or the tail of one), when the units indexed so
    /// far (the first batch at least) store no such name elsewhere. Saves the pass over every
    /// unit that would otherwise tell a name is missing (kernel code asks for types of other
    /// kernel versions to tell which one it reads).
    fn may_name(&self, name: &str) -> bool {
        if name.len() < MIN_FILTERED_NAME {
            return true;
        }
        let inline =
            self.search(|idx, all| (all || idx.units_done() > 0).then_some(idx.long_inline_names));
        if inline.is_none_or(|(i, _)| i) {
            return true;
        }
        let mut needle = Vec::with_capacity(name.len() + 1);
        needle.extend_from_slice(name.as_bytes());
        needle.push(0);
        memchr::memmem::find(self.sections.str_bytes(), &needle).is_some()
    }

    /// Asks `look` (with whether every unit is indexed) after indexing more units each time
    /// it answers `None`, until it answers or nothing is left; the answer, and whether it came
    /// with every unit indexed.
    fn search<T>(&self, mut look: impl FnMut(&Index, bool) -> Option<T>) -> Option<(T, bool)> {
        let mut idx = self.index.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let all = idx.exhausted;
            if let Some(t) = look(&idx, all) {
                return Some((t, all));
            }
            if all {
                return None;
            }
            idx.extend(&self.sections, &self.units);
        }
    }

    /// True unless the type of variable `die` is an array of unknown length or a bare declaration.
    fn complete(&self, die: u32) -> bool {
        let Ok(t) = self.get(die) else { return false };
        let TypeKind::Typedef { mut target } = t.kind else {
            return false;
        };
        for _ in 0..MAX_CHAIN {
            if target.src != self.src {
                return true; // void
            }
            match self.get(target.idx).map(|t| t.kind.clone()) {
                Ok(TypeKind::Typedef { target: t } | TypeKind::Qualified { target: t, .. }) => {
                    target = t
                }
                Ok(TypeKind::Array { len: 0, .. } | TypeKind::Fwd { .. }) | Err(_) => return false,
                Ok(_) => return true,
            }
        }
        false
    }

    fn unit_ctx<'a>(&'a self, dw: &Dw<'a>, off: usize) -> Result<UnitCtx<'a>> {
        let start = self.units.containing(dw, off)?;
        let cached = self
            .abbrevs
            .lock()
            .ok()
            .and_then(|m| m.get(&start).cloned());
        let abbrevs = match cached {
            Some(a) => a,
            None => {
                let a = Arc::new(dw.unit_abbrevs(start)?);
                if let Ok(mut m) = self.abbrevs.lock() {
                    if m.len() >= MAX_CACHED_UNITS {
                        m.clear();
                    }
                    m.insert(start, a.clone());
                }
                a
            }
        };
        dw.unit(start, abbrevs)
    }

    /// The first complete definition of `name` in the first of `kinds` that has one, looked
    /// for in every namespace as each batch of units is indexed.
    fn find_type(&self, kinds: &[NameKind], name: &str) -> Option<u32> {
        if !self.may_name(name) {
            return None;
        }
        self.search(|idx, _| kinds.iter().find_map(|&k| idx.type_(k, name)))
            .map(|(t, _)| t)
    }

    fn cached(&self, idx: u32) -> Option<Arc<Type>> {
        self.cache.read().ok()?.get(&idx).cloned()
    }

    fn keep(&self, idx: u32, t: Arc<Type>) {
        if let Ok(mut c) = self.cache.write() {
            c.insert(idx, t);
        }
    }
}

/// The best of `list` for `addr`: a definition there (any, without an address); else (unless
/// refused) the first declaration; with every unit indexed, a definition whose place DWARF does
/// not give, or the declaration after all. A definition elsewhere is another variable of the
/// same name (a `static` in another file), never an answer for `addr`.
fn pick(list: &[Found], addr: Option<u64>, refused: Option<u32>, all: bool) -> Option<Found> {
    let def_at = |f: &&Found| !f.declaration && (addr.is_none() || f.addr == addr);
    let decl = |f: &&Found| f.declaration;
    if let Some(f) = list.iter().find(def_at) {
        return Some(*f);
    }
    if let Some(f) = list.iter().find(|f| decl(f) && Some(f.die) != refused) {
        return Some(*f);
    }
    if all {
        return list
            .iter()
            .find(|f| !f.declaration && f.addr.is_none())
            .or_else(|| list.iter().find(decl))
            .copied();
    }
    None
}

impl TypeSource for DwarfTypes {
    fn get(&self, idx: u32) -> Result<Arc<Type>> {
        if idx == 0 {
            return Ok(self.void.clone());
        }
        if let Some(t) = self.cached(idx) {
            return Ok(t);
        }
        let off = idx as usize;
        if off >= self.sections.info_len() {
            return Err(DebugInfoError::NotFound(format!(
                "DWARF type at {off:#x} of {}",
                self.path.display()
            )));
        }
        let dw = self.sections.dw();
        let unit = self.unit_ctx(&dw, off)?;
        let conv = Converter {
            dw: &dw,
            unit: &unit,
            src: self.src,
            units: &self.units,
        };
        let c = conv.convert(off)?;
        if let Some((kind, name)) = &c.declaration_of {
            // a declaration stands for the definition of that name, wherever it is
            if let Some(def) = self.find_type(&[*kind], name).filter(|&d| d != idx) {
                let t = self.get(def)?;
                self.keep(idx, t.clone());
                return Ok(t);
            }
        }
        for (i, t) in c.inner {
            self.keep(i, Arc::new(t));
        }
        let t = Arc::new(c.ty);
        self.keep(idx, t.clone());
        Ok(t)
    }

    fn find(&self, kind: NameKind, name: &str) -> Option<u32> {
        self.find_any(&[kind], name)
    }

    fn find_any(&self, kinds: &[NameKind], name: &str) -> Option<u32> {
        if !self.type_names {
            return None;
        }
        self.find_type(kinds, name)
    }

    fn named(&self, kind: NameKind) -> Option<Vec<(Arc<str>, u32)>> {
        if !self.type_names {
            return None;
        }
        // every unit indexed first: the list is of the whole file
        self.search(|idx, all| all.then(|| idx.named(kind)))
            .map(|(v, _)| v)
    }
}
