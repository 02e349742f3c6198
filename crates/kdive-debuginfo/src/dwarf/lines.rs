//! Source file and line of a code address, with the chain of inlined calls that lead to it.

use std::collections::HashMap;
use std::sync::Mutex;

use super::locals::{scopes_in, FrameScopes, UnitAt};
use super::{error, Reader, Sections};
use crate::elf_file::ElfFile;
use crate::Result;

/// Deepest chain of inlined calls reported for one address (real kernels stay under 20).
const MAX_INLINE_DEPTH: usize = 64;

/// One level of the source location of an address: the innermost inlined function first, the
/// function the code really belongs to last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFrame {
    /// The function's name as DWARF gives it.
    pub function: Option<String>,
    /// The source file, with the directory the line table gives it.
    pub file: Option<String>,
    /// The same file as the line table itself writes it: its directory entry and its name,
    /// the unit's directory only for directory entry 0 (libdw's rendering, which drgn
    /// shows: `kernel/panic.c` where `file` is `BUILD_DIR/kernel/panic.c`).
    pub table_file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// True for a function inlined into the next frame (its location is in the inlined code; the
    /// next frame's location is the call site).
    pub inlined: bool,
}

/// Most units remembered by a per-unit index (a backtrace touches a few dozen).
const MAX_CACHED_UNITS: usize = 512;
/// Address ranges scanned back from the last one starting at or below an address.
const MAX_OVERLAP_SCAN: usize = 64;

/// Address-to-line lookups over one debug file; units are parsed on first use.
pub struct SourceLines {
    index: Mutex<Index>,
    /// A relocatable file's DWARF, for [`SourceLines::statement_line`] (a linked file's units
    /// come from the per-unit index).
    whole: Option<gimli::Dwarf<Reader>>,
}

enum Index {
    /// One context over every unit (small or relocatable files).
    Whole(Box<addr2line::Context<Reader>>),
    /// A linked file with `.debug_aranges`: the unit holding an address is found there, and a
    /// context is built for that unit alone, so a lookup never parses the other units (a
    /// vmlinux has thousands).
    PerUnit {
        sections: Sections,
        /// (start, end, offset of the unit in `.debug_info`), sorted by start.
        ranges: Vec<(u64, u64, usize)>,
        units: HashMap<usize, Option<addr2line::Context<Reader>>>,
    },
}

impl std::fmt::Debug for SourceLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceLines")
    }
}

/// `.debug_aranges` as sorted (start, end, unit offset); empty when the file has none.
fn aranges(sections: &Sections) -> Result<Vec<(u64, u64, usize)>> {
    let dwarf = sections.dwarf(None)?;
    let mut out = Vec::new();
    let mut headers = dwarf.debug_aranges.headers();
    while let Some(h) = headers
        .next()
        .map_err(|e| error("DWARF address ranges", e))?
    {
        let unit = h.debug_info_offset().0;
        let mut entries = h.entries();
        while let Some(e) = entries
            .next()
            .map_err(|e| error("DWARF address ranges", e))?
        {
            let r = e.range();
            if r.end > r.begin {
                out.push((r.begin, r.end, unit));
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// A context over the one unit at `offset` of `file`'s `.debug_info`.
fn unit_context(sections: &Sections, offset: usize) -> Result<Option<addr2line::Context<Reader>>> {
    let header = sections
        .dwarf(None)?
        .debug_info
        .header_from_offset(gimli::DebugInfoOffset(offset))
        .map_err(|e| error("DWARF unit header", e))?;
    let info = sections
        .get(gimli::SectionId::DebugInfo)
        .and_then(|b| b.slice(offset, header.length_including_self()));
    let Some(info) = info else {
        return Ok(None);
    };
    let ctx = addr2line::Context::from_dwarf(sections.dwarf(Some(info))?)
        .map_err(|e| error("DWARF unit", e))?;
    Ok(Some(ctx))
}

impl SourceLines {
    /// Prepares lookups in `file`'s DWARF (reads the unit ranges, nothing more).
    pub fn new(file: &ElfFile) -> Result<SourceLines> {
        Self::with_bases(file, None)
    }

    /// Like [`SourceLines::new`] for a relocatable file whose allocated sections were loaded at
    /// `bases` (by section name): addresses are then the loaded ones.
    pub fn with_bases(file: &ElfFile, bases: Option<&HashMap<String, u64>>) -> Result<SourceLines> {
        // a linked file with aranges gets the per-unit index
        let linked = match bases {
            None => {
                let sections = Sections::read(file)?;
                let ranges = aranges(&sections)?;
                (!ranges.is_empty()).then_some((sections, ranges))
            }
            Some(_) => None,
        };
        let (index, whole) = match linked {
            Some((sections, ranges)) => (
                Index::PerUnit {
                    sections,
                    ranges,
                    units: HashMap::new(),
                },
                None,
            ),
            None => {
                let dwarf = super::load(file, bases)?;
                let ctx =
                    addr2line::Context::from_dwarf(dwarf).map_err(|e| error("DWARF units", e))?;
                (Index::Whole(Box::new(ctx)), Some(super::load(file, bases)?))
            }
        };
        Ok(SourceLines {
            index: Mutex::new(index),
            whole,
        })
    }

    /// The source location of the link-time address `addr`, innermost inlined function first;
    /// empty when no unit covers it.
    pub fn frames(&self, addr: u64) -> Result<Vec<SourceFrame>> {
        // addr2line probes [addr, addr + 1), which the last address cannot express
        if addr == u64::MAX {
            return Ok(Vec::new());
        }
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *index {
            Index::Whole(ctx) => frames_in(ctx, addr),
            Index::PerUnit {
                sections,
                ranges,
                units,
            } => {
                for unit in candidate_units(ranges, addr) {
                    if !units.contains_key(&unit) {
                        if units.len() >= MAX_CACHED_UNITS {
                            units.clear();
                        }
                        let ctx = unit_context(sections, unit)?;
                        units.insert(unit, ctx);
                    }
                    if let Some(Some(ctx)) = units.get(&unit) {
                        let found = frames_in(ctx, addr)?;
                        if !found.is_empty() {
                            return Ok(found);
                        }
                    }
                }
                Ok(Vec::new())
            }
        }
    }
}

impl SourceLines {
    /// The variables and parameters in scope at the link-time address `addr`, by function
    /// level (innermost inlined call first); `Ok(None)` when no function covers it.
    pub fn scopes(&self, addr: u64) -> Result<Option<FrameScopes>> {
        if let Some(dwarf) = &self.whole {
            let fail = |e| error("DWARF units", e);
            let mut units = dwarf.units();
            while let Some(header) = units.next().map_err(fail)? {
                let unit = dwarf.unit(header).map_err(fail)?;
                let u = UnitAt {
                    dwarf,
                    unit,
                    base: 0,
                };
                if let Some(s) = scopes_in(&u, addr)? {
                    return Ok(Some(s));
                }
            }
            return Ok(None);
        }
        let index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        let Index::PerUnit {
            sections, ranges, ..
        } = &*index
        else {
            return Ok(None);
        };
        for (offset, info) in units_at(sections, ranges, addr)? {
            let dwarf = sections.dwarf(Some(info))?;
            let fail = |e| error("DWARF unit", e);
            let Some(header) = dwarf.units().next().map_err(fail)? else {
                continue;
            };
            let unit = dwarf.unit(header).map_err(fail)?;
            let u = UnitAt {
                dwarf: &dwarf,
                unit,
                base: offset,
            };
            if let Some(s) = scopes_in(&u, addr)? {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    /// The line gdb shows for the link-time address `addr` (`file: line`): of the line-table
    /// rows at the address in effect, the last one that starts a statement, else the last one.
    /// (addr2line, and [`SourceLines::frames`], take the last row whatever it is.)
    pub fn statement_line(&self, addr: u64) -> Result<Option<(String, u32)>> {
        if let Some(dwarf) = &self.whole {
            return statement_line_in(dwarf, addr);
        }
        let index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        let Index::PerUnit {
            sections, ranges, ..
        } = &*index
        else {
            return Ok(None);
        };
        for (_, info) in units_at(sections, ranges, addr)? {
            if let Some(found) = statement_line_in(&sections.dwarf(Some(info))?, addr)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

/// The `.debug_info` offsets of the units whose ranges (sorted by start) hold `addr`, the
/// nearest start first, looking back over at most `MAX_OVERLAP_SCAN` ranges.
fn candidate_units(ranges: &[(u64, u64, usize)], addr: u64) -> Vec<usize> {
    let upto = ranges.partition_point(|r| r.0 <= addr);
    ranges[..upto]
        .iter()
        .rev()
        .take(MAX_OVERLAP_SCAN)
        .filter(|r| addr < r.1)
        .map(|r| r.2)
        .collect()
}

/// The units whose address ranges hold `addr` (by `.debug_aranges`), each as its offset in
/// `.debug_info` and its bytes there.
fn units_at(
    sections: &Sections,
    ranges: &[(u64, u64, usize)],
    addr: u64,
) -> Result<Vec<(usize, crate::elf_file::Bytes)>> {
    let mut out = Vec::new();
    for unit in candidate_units(ranges, addr) {
        let header = sections
            .dwarf(None)?
            .debug_info
            .header_from_offset(gimli::DebugInfoOffset(unit))
            .map_err(|e| error("DWARF unit header", e))?;
        if let Some(info) = sections
            .get(gimli::SectionId::DebugInfo)
            .and_then(|b| b.slice(unit, header.length_including_self()))
        {
            out.push((unit, info));
        }
    }
    Ok(out)
}

/// [`SourceLines::statement_line`] over the units of `dwarf`.
fn statement_line_in(dwarf: &gimli::Dwarf<Reader>, addr: u64) -> Result<Option<(String, u32)>> {
    let fail = |e| error("DWARF line program", e);
    let mut units = dwarf.units();
    while let Some(header) = units.next().map_err(fail)? {
        let unit = dwarf.unit(header).map_err(fail)?;
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let mut rows = program.rows();
        // the best row of the current sequence: (address, file index, line, is_stmt)
        let mut best: Option<(u64, u64, u64, bool)> = None;
        while let Some((_, row)) = rows.next_row().map_err(fail)? {
            let at = row.address();
            if row.end_sequence() {
                if let Some((_, file, line, _)) = best.take().filter(|_| at > addr) {
                    if line == 0 {
                        return Ok(None);
                    }
                    let header = rows.header();
                    let name = header
                        .file(file)
                        .map(|f| file_path(dwarf, &unit, header, f))
                        .transpose()?
                        .unwrap_or_default();
                    return Ok(Some((name, u32::try_from(line).unwrap_or(u32::MAX))));
                }
                continue;
            }
            if at > addr {
                continue;
            }
            let line = row.line().map_or(0, |l| l.get());
            let this = (at, row.file_index(), line, row.is_stmt());
            best = match best {
                Some(b) if b.0 > at => Some(b),
                Some(b) if b.0 == at && b.3 && !this.3 => Some(b),
                _ => Some(this),
            };
        }
    }
    Ok(None)
}

/// A line-table file's path as addr2line renders it: the unit's directory, the file's
/// directory, the file's name, each absolute one replacing what came before.
fn file_path(
    dwarf: &gimli::Dwarf<Reader>,
    unit: &gimli::Unit<Reader>,
    header: &gimli::LineProgramHeader<Reader>,
    file: &gimli::FileEntry<Reader>,
) -> Result<String> {
    use gimli::Reader as _;
    let fail = |e| error("DWARF file name", e);
    let text = |v: gimli::AttributeValue<Reader>| -> Result<String> {
        let r = dwarf.attr_string(unit, v).map_err(fail)?;
        Ok(r.to_string_lossy().map_err(fail)?.into_owned())
    };
    let mut path = match &unit.comp_dir {
        Some(d) => d.to_string_lossy().map_err(fail)?.into_owned(),
        None => String::new(),
    };
    let mut push = |p: String| {
        if p.starts_with('/') || path.is_empty() {
            path = p;
        } else {
            if !path.ends_with('/') {
                path.push('/');
            }
            path.push_str(&p);
        }
    };
    if file.directory_index() != 0 {
        if let Some(dir) = file.directory(header) {
            push(text(dir)?);
        }
    }
    push(text(file.path_name())?);
    Ok(path)
}

/// Fills each frame's [`SourceFrame::table_file`]: the unit holding `addr` is asked for its
/// line table's files, each rendered both ways, and each frame's file is matched.
fn table_files(
    ctx: &addr2line::Context<Reader>,
    addr: u64,
    frames: &mut [SourceFrame],
) -> Result<()> {
    use gimli::Reader as _;
    if frames.iter().all(|f| f.file.is_none()) {
        return Ok(());
    }
    let Some(unit) = ctx.find_dwarf_and_unit(addr).skip_all_loads() else {
        return Ok(());
    };
    let Some(program) = &unit.line_program else {
        return Ok(());
    };
    let header = program.header();
    let fail = |e| error("DWARF file name", e);
    let text = |v: gimli::AttributeValue<Reader>| -> Result<String> {
        let r = unit.attr_string(v).map_err(fail)?;
        Ok(r.to_string_lossy().map_err(fail)?.into_owned())
    };
    let comp_dir = match &unit.comp_dir {
        Some(d) => Some(d.to_string_lossy().map_err(fail)?.into_owned()),
        None => None,
    };
    let join = |dir: Option<String>, name: String| match dir {
        Some(d) if !name.starts_with('/') && !d.is_empty() => {
            format!("{}/{name}", d.trim_end_matches('/'))
        }
        _ => name,
    };
    let mut renderings = Vec::new();
    for file in header.file_names() {
        let name = text(file.path_name())?;
        // directory entry 0 is the unit's directory (DWARF 5 writes it in the table)
        let dir = match (file.directory_index(), file.directory(header)) {
            (0, _) if header.version() < 5 => comp_dir.clone(),
            (_, Some(d)) => Some(text(d)?),
            (_, None) => None,
        };
        renderings.push((file_path(unit.dwarf, &unit, header, file)?, join(dir, name)));
    }
    for f in frames.iter_mut() {
        if let Some(path) = &f.file {
            f.table_file = renderings
                .iter()
                .find(|(full, _)| full == path)
                .map(|(_, table)| table.clone());
        }
    }
    Ok(())
}

/// The frames of `addr` in one context.
fn frames_in(ctx: &addr2line::Context<Reader>, addr: u64) -> Result<Vec<SourceFrame>> {
    {
        let mut iter = ctx
            .find_frames(addr)
            .skip_all_loads()
            .map_err(|e| error("DWARF functions", e))?;
        let mut out = Vec::new();
        while let Some(f) = iter.next().map_err(|e| error("DWARF inlined calls", e))? {
            if out.len() == MAX_INLINE_DEPTH {
                break;
            }
            let function = f
                .function
                .as_ref()
                .and_then(|n| n.raw_name().ok().map(|s| s.into_owned()));
            let (file, line, column) = f.location.map_or((None, None, None), |l| {
                (l.file.map(str::to_owned), l.line, l.column)
            });
            out.push(SourceFrame {
                function,
                file,
                table_file: None,
                line,
                column,
                inlined: true,
            });
        }
        if let Some(last) = out.last_mut() {
            last.inlined = false;
        }
        if out.is_empty() {
            // no function covers it (assembly): the line table may still know
            if let Some(l) = ctx
                .find_location(addr)
                .map_err(|e| error("DWARF lines", e))?
            {
                out.push(SourceFrame {
                    function: None,
                    file: l.file.map(str::to_owned),
                    table_file: None,
                    line: l.line,
                    column: l.column,
                    inlined: false,
                });
            }
        }
        table_files(ctx, addr, &mut out)?;
        Ok(out)
    }
}
