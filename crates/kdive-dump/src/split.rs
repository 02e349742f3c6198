//! A `makedumpfile --split` set: several kdump files, each holding the pages of one pfn range,
//! read as one dump.
//!
//! Every part carries the whole header and both bitmaps; only its page descriptors are limited
//! to its `[start_pfn, end_pfn)`. The parts are sorted by range, so they may be given in any
//! order; ranges no part covers are *missing*: their dumped pages read as [`PageState::Lost`],
//! and [`SplitDump::missing`] says which pfns a missing part would have held.

use std::path::PathBuf;

use crate::{Codec, DumpError, DumpFormat, DumpMeta, FormatKind, PageState, Result};

/// One file of a split set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Part {
    pub path: PathBuf,
    /// First pfn of the part's range.
    pub start: u64,
    /// One past the last pfn of the part's range.
    pub end: u64,
}

/// A split set read as one dump.
pub struct SplitDump {
    meta: DumpMeta,
    /// Sorted by range.
    parts: Vec<(Part, Box<dyn DumpFormat>)>,
    missing: Vec<(u64, u64)>,
}

fn not_a_set(detail: String) -> DumpError {
    DumpError::NotADump {
        reason: format!("not one split dump: {detail}"),
    }
}

/// The container with what only tells how a part was written (flattened or not) left out.
fn container(f: &FormatKind) -> FormatKind {
    match f.clone() {
        FormatKind::Kdump {
            header_version,
            diskdump,
            qemu,
            ..
        } => FormatKind::Kdump {
            header_version,
            diskdump,
            flattened: false,
            qemu,
        },
        FormatKind::Elf { qemu, elf32, .. } => FormatKind::Elf {
            qemu,
            elf32,
            flattened: false,
        },
        other @ FormatKind::MemoryDevice { .. } => other,
    }
}

/// The first header field in which two parts differ, with both values: none when they
/// describe the same dump. A part written flattened (`-F`) matches a plain one.
fn differing_field(a: &DumpMeta, b: &DumpMeta) -> Option<(&'static str, String, String)> {
    fn show<T: std::fmt::Debug>(
        name: &'static str,
        a: T,
        b: T,
    ) -> Option<(&'static str, String, String)> {
        Some((name, format!("{a:?}"), format!("{b:?}")))
    }
    let (fa, fb) = (container(&a.format), container(&b.format));
    if fa != fb {
        return show("format", fa, fb);
    }
    if a.arch != b.arch {
        return Some(("machine", a.arch.to_string(), b.arch.to_string()));
    }
    if a.page_size != b.page_size {
        return show("block_size", a.page_size, b.page_size);
    }
    if a.max_pfn != b.max_pfn {
        return show("max_mapnr", a.max_pfn, b.max_pfn);
    }
    if a.dump_level != b.dump_level {
        return show("dump_level", a.dump_level, b.dump_level);
    }
    if a.timestamp != b.timestamp {
        return show("timestamp", a.timestamp, b.timestamp);
    }
    if a.utsname != b.utsname {
        let (ua, ub) = (
            a.utsname.clone().unwrap_or_default(),
            b.utsname.clone().unwrap_or_default(),
        );
        let fields = [
            ("utsname.sysname", &ua.sysname, &ub.sysname),
            ("utsname.nodename", &ua.nodename, &ub.nodename),
            ("utsname.release", &ua.release, &ub.release),
            ("utsname.version", &ua.version, &ub.version),
            ("utsname.machine", &ua.machine, &ub.machine),
            ("utsname.domainname", &ua.domainname, &ub.domainname),
        ];
        let (name, x, y) = fields.into_iter().find(|(_, x, y)| x != y).unwrap_or((
            "utsname",
            &ua.release,
            &ub.release,
        ));
        return show(name, x, y);
    }
    None
}

impl SplitDump {
    /// Joins the parts of one split set, given in any order. Errors when a file is not a part
    /// (no split range), when the parts come from different dumps, or when two ranges overlap.
    pub fn new(files: Vec<(PathBuf, Box<dyn DumpFormat>)>) -> Result<SplitDump> {
        let mut parts = Vec::with_capacity(files.len());
        for (path, format) in files {
            let Some((start, end)) = format.meta().split_range else {
                return Err(not_a_set(format!(
                    "{} is a whole dump, not one part of a split set",
                    path.display()
                )));
            };
            parts.push((Part { path, start, end }, format));
        }
        parts.sort_by_key(|(p, _)| (p.start, p.end));
        let Some((first, head)) = parts.first() else {
            return Err(not_a_set("no files".into()));
        };
        for (p, f) in &parts[1..] {
            if let Some((field, a, b)) = differing_field(head.meta(), f.meta()) {
                return Err(not_a_set(format!(
                    "{} and {} are parts of different dumps: their headers' {field} differs ({a} and {b})",
                    first.path.display(),
                    p.path.display()
                )));
            }
        }
        let max_pfn = head.meta().max_pfn;
        let mut missing = Vec::new();
        // `covered`: pfns below it are held by a part seen so far, the last such part is `last`.
        let (mut covered, mut last) = (0u64, None::<&Part>);
        for (p, _) in parts.iter().filter(|(p, _)| p.start < p.end) {
            if let Some(l) = last.filter(|_| p.start < covered) {
                return Err(not_a_set(format!(
                    "{} (pfns {:#x}..{:#x}) and {} (pfns {:#x}..{:#x}) overlap",
                    l.path.display(),
                    l.start,
                    l.end,
                    p.path.display(),
                    p.start,
                    p.end
                )));
            }
            if p.start > covered {
                missing.push((covered, p.start));
            }
            (covered, last) = (p.end, Some(p));
        }
        if covered < max_pfn {
            missing.push((covered, max_pfn));
        }
        let mut meta = head.meta().clone();
        meta.split_range = None;
        meta.incomplete = !missing.is_empty() || parts.iter().any(|(_, f)| f.meta().incomplete);
        Ok(SplitDump {
            meta,
            parts,
            missing,
        })
    }

    /// The parts, sorted by pfn range.
    pub fn parts(&self) -> Vec<Part> {
        self.parts.iter().map(|(p, _)| p.clone()).collect()
    }

    /// Pfn ranges `[start, end)` that no given part covers.
    pub fn missing(&self) -> &[(u64, u64)] {
        &self.missing
    }

    /// The part holding `pfn`, or the first part (whose bitmaps still tell excluded from lost).
    fn part_for(&self, pfn: u64) -> &dyn DumpFormat {
        let i = self.parts.partition_point(|(p, _)| p.end <= pfn);
        match self.parts.get(i) {
            Some((p, f)) if p.start <= pfn => &**f,
            _ => &*self.parts[0].1,
        }
    }
}

impl DumpFormat for SplitDump {
    fn meta(&self) -> &DumpMeta {
        &self.meta
    }

    fn page_state(&self, pfn: u64) -> PageState {
        self.part_for(pfn).page_state(pfn)
    }

    fn read_page(&self, pfn: u64, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.part_for(pfn).read_page(pfn, offset, buf)
    }

    /// Each part reads the pages it holds (in bulk).
    fn read_pages(&self, pfn: u64, buf: &mut [u8]) -> Result<()> {
        let ps = usize::try_from(self.meta.page_size)
            .unwrap_or(usize::MAX)
            .max(1);
        let (mut first, mut rest) = (pfn, buf);
        while !rest.is_empty() {
            // the pages up to where the part holding `first` (or the gap before the next) ends
            let i = self.parts.partition_point(|(p, _)| p.end <= first);
            let end = match self.parts.get(i) {
                Some((p, _)) if p.start <= first => p.end,
                Some((p, _)) => p.start,
                None => u64::MAX,
            };
            let n = usize::try_from(end - first)
                .unwrap_or(usize::MAX)
                .clamp(1, rest.len().div_ceil(ps));
            let (span, tail) = rest.split_at_mut((n * ps).min(rest.len()));
            self.part_for(first).read_pages(first, span)?;
            first += n as u64;
            rest = tail;
        }
        Ok(())
    }

    fn zero_page_count(&self) -> u64 {
        self.parts.iter().map(|(_, f)| f.zero_page_count()).sum()
    }

    fn descriptors_read(&self) -> u64 {
        self.parts.iter().map(|(_, f)| f.descriptors_read()).sum()
    }

    fn codec_counts(&self) -> Vec<(Codec, u64)> {
        let mut out: Vec<(Codec, u64)> = Vec::new();
        for (c, n) in self.parts.iter().flat_map(|(_, f)| f.codec_counts()) {
            match out.iter_mut().find(|(k, _)| *k == c) {
                Some((_, total)) => *total += n,
                None => out.push((c, n)),
            }
        }
        out
    }
}
