//! The name index of a debug file's DWARF: types by namespace and name, variables, functions.
//!
//! Built on demand, unit by unit in the file's order, in batches whose units are scanned in
//! parallel: a lookup indexes batches until it is answered, so a name defined early (a vmlinux's
//! units follow its link order) costs a few units, and a name nobody defines costs one pass.
//! Only the top level of each unit is read; subtrees (members, function bodies) are jumped over
//! with `DW_AT_sibling`, or skipped entry by entry where a producer gives none.

use std::sync::RwLock;

use gimli::{constants as dw, AttributeValue, UnitOffset};
use hashbrown::HashMap;
use rayon::prelude::*;

use super::error;
use super::reader::{at, DebugSections, Dw, NamePlace, Slice, StrSection};
use crate::btf::canonical_int_name;
use crate::{DebugInfoError, NameKind, Result};

/// Most definitions kept per variable or function name (statics of the same name in many files).
const MAX_SAME_NAME: usize = 64;
/// Units in the first batch; later batches grow by half the units indexed so far.
const FIRST_BATCH: usize = 8;
/// Most units in one batch.
const MAX_BATCH: usize = 512;
/// Names at least this long are stored in `.debug_str` by GCC (shorter ones fit in the 4 bytes
/// a reference takes, and are written inline) and by clang (every name).
pub(crate) const MIN_FILTERED_NAME: usize = 4;

/// A variable or function DIE found by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// Its DIE's offset in `.debug_info`.
    pub die: u32,
    /// The address it lives at (variables: a `DW_OP_addr` location; functions: `DW_AT_low_pc`),
    /// as the file gives it (link-time for a vmlinux, loaded for a placed module).
    pub addr: Option<u64>,
    /// A declaration (`extern`), not a definition.
    pub declaration: bool,
}

/// Namespaces of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Type(NameKind),
    Var,
    Func,
}

/// A named top-level DIE seen by the scan of one unit.
struct Named {
    ns: Ns,
    name: NamePlace,
    found: Found,
}

/// What has been indexed so far.
#[derive(Default)]
pub(crate) struct Index {
    /// Units `[0, next)` are indexed.
    next: usize,
    /// Every unit is indexed.
    pub exhausted: bool,
    /// A name of [`MIN_FILTERED_NAME`] bytes or more was found stored in `.debug_info` itself
    /// (producers put those in `.debug_str`, which is what lets a lookup rule names out there).
    pub long_inline_names: bool,
    /// Per [`NameKind`] slot, the first complete definition of each name (names as bytes: a
    /// lookup's `&str` compares equal, and indexing need not check millions of names' UTF-8).
    types: [HashMap<Box<[u8]>, u32>; 5],
    vars: HashMap<Box<[u8]>, Vec<Found>>,
    funcs: HashMap<Box<[u8]>, Vec<Found>>,
    /// Units that could not be read, with why (the others are still indexed).
    pub problems: Vec<String>,
}

fn slot(k: NameKind) -> usize {
    match k {
        NameKind::Struct => 0,
        NameKind::Union => 1,
        NameKind::Enum => 2,
        NameKind::Typedef => 3,
        NameKind::Base => 4,
    }
}

impl Index {
    /// Units indexed so far.
    pub(crate) fn units_done(&self) -> usize {
        self.next
    }

    /// The first complete definition of a type, among the units indexed.
    pub(crate) fn type_(&self, kind: NameKind, name: &str) -> Option<u32> {
        let map = &self.types[slot(kind)];
        map.get(name.as_bytes()).copied().or_else(|| match kind {
            NameKind::Base => map.get(canonical_int_name(name)?.as_bytes()).copied(),
            _ => None,
        })
    }

    /// Every name of the namespace `kind` indexed so far, with its first complete definition.
    pub(crate) fn named(&self, kind: NameKind) -> Vec<(std::sync::Arc<str>, u32)> {
        self.types[slot(kind)]
            .iter()
            .map(|(n, &id)| (std::sync::Arc::from(String::from_utf8_lossy(n)), id))
            .collect()
    }

    /// Variables of that name, definitions first seen first, then at most one declaration.
    pub(crate) fn vars(&self, name: &str) -> &[Found] {
        self.vars.get(name.as_bytes()).map_or(&[], Vec::as_slice)
    }

    /// Functions of that name, as [`Index::vars`].
    pub(crate) fn funcs(&self, name: &str) -> &[Found] {
        self.funcs.get(name.as_bytes()).map_or(&[], Vec::as_slice)
    }

    /// Indexes the next batch of units; false when every unit is indexed already.
    pub(crate) fn extend(&mut self, sections: &DebugSections, units: &UnitList) -> bool {
        let n = (self.next / 2).clamp(FIRST_BATCH, MAX_BATCH);
        let batch = units.range(&sections.dw(), self.next, n);
        if batch.is_empty() {
            self.exhausted = true;
            return false;
        }
        let scanned: Vec<Result<Vec<Named>>> = batch
            .par_iter()
            .map(|&start| scan_unit(&sections.dw(), start))
            .collect();
        for (r, &start) in scanned.into_iter().zip(&batch) {
            match r {
                Ok(named) => self.merge(sections, named),
                Err(e) => self.problems.push(format!("unit at {start:#x}: {e}")),
            }
        }
        self.next += batch.len();
        true
    }

    fn merge(&mut self, sections: &DebugSections, named: Vec<Named>) {
        for n in named {
            let (sec, off, len) = n.name;
            if sec == StrSection::Info && len >= MIN_FILTERED_NAME {
                self.long_inline_names = true;
            }
            let Some(name) = sections.name_bytes(sec, off, len) else {
                continue;
            };
            match n.ns {
                Ns::Type(k) => {
                    let map = &mut self.types[slot(k)];
                    if !map.contains_key(name) {
                        map.insert(name.into(), n.found.die);
                    }
                    if k == NameKind::Base {
                        let canonical = std::str::from_utf8(name).ok().and_then(canonical_int_name);
                        if let Some(c) = canonical {
                            map.entry(c.into_bytes().into_boxed_slice())
                                .or_insert(n.found.die);
                        }
                    }
                }
                Ns::Var | Ns::Func => {
                    let map = if n.ns == Ns::Var {
                        &mut self.vars
                    } else {
                        &mut self.funcs
                    };
                    let list = match map.get_mut(name) {
                        Some(l) => l,
                        None => map.entry(name.into()).or_default(),
                    };
                    add_same_name(list, n.found);
                }
            }
        }
    }
}

/// Keeps one declaration and the definitions at distinct addresses, at most [`MAX_SAME_NAME`].
fn add_same_name(list: &mut Vec<Found>, f: Found) {
    if list.len() >= MAX_SAME_NAME {
        return;
    }
    let dup = list.iter().any(|o| {
        o.declaration == f.declaration && (f.declaration || (o.addr == f.addr && f.addr.is_some()))
    });
    if !dup {
        list.push(f);
    }
}

/// The units of `.debug_info`, their headers read as far as a lookup needs (a vmlinux has
/// thousands, and touching every header costs tens of milliseconds of page faults).
#[derive(Default)]
pub(crate) struct UnitList {
    known: RwLock<Known>,
}

#[derive(Default)]
struct Known {
    /// Offsets of the unit headers read, in order.
    starts: Vec<usize>,
    /// One past the last unit read.
    end: usize,
    /// No unit follows the last one read (or its header cannot be read).
    done: bool,
}

impl UnitList {
    /// Reads headers until `n` units are known or none is left.
    fn ensure(&self, dw: &Dw<'_>, n: usize) {
        let mut k = self.known.write().unwrap_or_else(|p| p.into_inner());
        while k.starts.len() < n && !k.done {
            k.read_next(dw);
        }
    }

    /// Up to `n` unit offsets from the `first`-th on.
    pub(crate) fn range(&self, dw: &Dw<'_>, first: usize, n: usize) -> Vec<usize> {
        self.ensure(dw, first.saturating_add(n));
        let k = self.known.read().unwrap_or_else(|p| p.into_inner());
        k.starts.iter().skip(first).take(n).copied().collect()
    }

    /// The offset of the header of the unit holding section offset `off`.
    pub(crate) fn containing(&self, dw: &Dw<'_>, off: usize) -> Result<usize> {
        {
            let k = self.known.read().unwrap_or_else(|p| p.into_inner());
            if off < k.end || k.done {
                return k.unit_of(off);
            }
        }
        let mut k = self.known.write().unwrap_or_else(|p| p.into_inner());
        while off >= k.end && !k.done {
            k.read_next(dw);
        }
        k.unit_of(off)
    }

    /// Units known so far, and whether that is all of them.
    pub(crate) fn count(&self) -> (usize, bool) {
        let k = self.known.read().unwrap_or_else(|p| p.into_inner());
        (k.starts.len(), k.done)
    }
}

impl Known {
    fn read_next(&mut self, dw: &Dw<'_>) {
        match dw.info.header_from_offset(gimli::DebugInfoOffset(self.end)) {
            Ok(h) => {
                let len = h.length_including_self();
                self.starts.push(self.end);
                self.end = self.end.saturating_add(len.max(1));
                self.done = self.end >= dw.info_len();
            }
            Err(_) => self.done = true,
        }
    }

    fn unit_of(&self, off: usize) -> Result<usize> {
        if off >= self.end {
            return Err(DebugInfoError::NotFound(format!(
                "DWARF unit holding offset {off:#x}"
            )));
        }
        let i = self.starts.partition_point(|&s| s <= off);
        i.checked_sub(1)
            .map(|i| self.starts[i])
            .ok_or_else(|| DebugInfoError::NotFound(format!("DWARF unit holding offset {off:#x}")))
    }
}

/// The address a variable's location names, when it is one `DW_OP_addr`.
pub(crate) fn location_address(
    v: &AttributeValue<Slice<'_>>,
    encoding: gimli::Encoding,
) -> Option<u64> {
    let AttributeValue::Exprloc(e) = v else {
        return None;
    };
    let mut r = e.0.clone();
    match gimli::Operation::parse(&mut r, encoding).ok()? {
        gimli::Operation::Address { address } => Some(address),
        _ => None,
    }
}

/// The named top-level DIEs of the unit at `start`.
fn scan_unit(dw: &Dw<'_>, start: usize) -> Result<Vec<Named>> {
    let abbrevs = std::sync::Arc::new(dw.unit_abbrevs(start)?);
    let unit = dw.unit(start, abbrevs)?;
    let fail = |e: gimli::Error, off: usize| at(error("DWARF entry", e), off);
    let abbr = &unit.abbrevs.abbrevs;
    let mut raw = unit
        .header
        .entries_raw(abbr, None)
        .map_err(|e| fail(e, start))?;
    let mut out = Vec::new();
    let root = match raw.read_abbreviation().map_err(|e| fail(e, start))? {
        Some(r) => r,
        None => return Ok(out),
    };
    raw.skip_attributes(root.attributes())
        .map_err(|e| fail(e, start))?;
    if !root.has_children() {
        return Ok(out);
    }
    // top-level DIEs with a name of their own, for definitions that name theirs by reference
    let mut named_here: Vec<(usize, NamePlace)> = Vec::new();
    let encoding = unit.header.encoding();
    while !raw.is_empty() {
        let off = start + raw.next_offset().0;
        let Some(ab) = raw.read_abbreviation().map_err(|e| fail(e, off))? else {
            break; // the end of the unit's children
        };
        let tag = ab.tag();
        let ns = match tag {
            dw::DW_TAG_structure_type | dw::DW_TAG_class_type => Some(Ns::Type(NameKind::Struct)),
            dw::DW_TAG_union_type => Some(Ns::Type(NameKind::Union)),
            dw::DW_TAG_enumeration_type => Some(Ns::Type(NameKind::Enum)),
            dw::DW_TAG_typedef => Some(Ns::Type(NameKind::Typedef)),
            dw::DW_TAG_base_type => Some(Ns::Type(NameKind::Base)),
            dw::DW_TAG_variable => Some(Ns::Var),
            dw::DW_TAG_subprogram => Some(Ns::Func),
            _ => None,
        };
        if ns.is_none() && !ab.has_children() {
            raw.skip_attributes(ab.attributes())
                .map_err(|e| fail(e, off))?;
            continue;
        }
        let (mut name, mut declaration, mut sibling, mut origin, mut addr) =
            (None, false, None, None, None);
        for spec in ab.attributes() {
            let a = raw.read_attribute(*spec).map_err(|e| fail(e, off))?;
            match (a.name(), ns) {
                (dw::DW_AT_sibling, _) => sibling = unit.reference(&a.value()),
                (_, None) => {}
                (dw::DW_AT_name, _) => name = dw.string_place(&unit, a.value()),
                (dw::DW_AT_declaration, _) => {
                    declaration = matches!(a.value(), AttributeValue::Flag(true))
                }
                (dw::DW_AT_specification | dw::DW_AT_abstract_origin, _) => {
                    origin = unit.reference(&a.value())
                }
                (dw::DW_AT_location, Some(Ns::Var)) => {
                    addr = location_address(&a.value(), encoding)
                }
                (dw::DW_AT_low_pc, Some(Ns::Func)) => {
                    if let AttributeValue::Addr(x) = a.value() {
                        addr = Some(x);
                    }
                }
                _ => {}
            }
        }
        if let Some(ns) = ns {
            let own = name.is_some();
            if name.is_none() {
                name = origin.and_then(|o| {
                    let i = named_here.binary_search_by_key(&o, |&(d, _)| d).ok()?;
                    Some(named_here[i].1)
                });
            }
            let keep = match ns {
                Ns::Type(_) => !declaration,
                Ns::Var | Ns::Func => true,
            };
            if let (Some(place), true, Ok(die)) = (name, keep, u32::try_from(off)) {
                if own && matches!(ns, Ns::Var | Ns::Func) {
                    named_here.push((off, place));
                }
                out.push(Named {
                    ns,
                    name: place,
                    found: Found {
                        die,
                        addr,
                        declaration,
                    },
                });
            }
        }
        if ab.has_children() {
            match sibling {
                Some(s) if s > off && s < unit.end() => {
                    raw = unit
                        .header
                        .entries_raw(abbr, Some(UnitOffset(s - start)))
                        .map_err(|e| fail(e, s))?;
                }
                _ => {
                    // no usable sibling: read through the subtree
                    let depth = raw.next_depth() - 1;
                    while raw.next_depth() > depth {
                        if let Some(a) = raw.read_abbreviation().map_err(|e| fail(e, off))? {
                            raw.skip_attributes(a.attributes())
                                .map_err(|e| fail(e, off))?;
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}
