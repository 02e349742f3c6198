//! `info`: what the dump file is and how whole it is (crash's `help -D`, in words).
//!
//! Needs no kernel: everything comes from the container, its notes and its page bitmaps.

use std::collections::BTreeMap;

use kdive_dump::stats::excluded_by_level;
use kdive_dump::{Arch, Codec, Dump, Endian, FormatKind, PageStats, Utsname, VmcoreInfoOrigin};
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::date;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// One file of the dump.
#[derive(Debug, Serialize, Deserialize)]
pub struct FileInfo {
    pub path: String,
    pub size: u64,
    /// The pfn range of a split part.
    pub start_pfn: Option<u64>,
    pub end_pfn: Option<u64>,
}

/// One `NT_PRSTATUS` note.
#[derive(Debug, Serialize, Deserialize)]
pub struct CpuNote {
    pub cpu: usize,
    pub pid: u32,
}

/// What `info` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Info {
    /// The container in words: `kdump-compressed`, `flattened kdump-compressed`, `ELF vmcore`...
    pub format: String,
    /// kdump header version.
    pub header_version: Option<u32>,
    /// `32-bit` / `64-bit`: the word size of the header layout (kdump) or ELF class.
    pub layout: Option<String>,
    pub files: Vec<FileInfo>,
    /// Pfn ranges `[start, end)` of a split set that no given part holds.
    pub missing_parts: Vec<[u64; 2]>,
    pub arch: String,
    /// `little` or `big`.
    pub endian: String,
    pub page_size: u64,
    pub max_pfn: u64,
    pub utsname: Option<Utsname>,
    /// The header's timestamp, seconds since the epoch.
    pub timestamp: Option<i64>,
    pub date: Option<String>,
    pub cpus: Option<u32>,
    /// Pages stored per codec (`none` for raw pages).
    pub compression: BTreeMap<String, u64>,
    pub dump_level: Option<u32>,
    /// What the dump level excluded, in words.
    pub excluded_kinds: Vec<String>,
    pub pages: PageStats,
    /// The VMCOREINFO entries.
    pub vmcoreinfo: BTreeMap<String, String>,
    /// `header`, `memory@0x…` (found in the dumped memory), or null.
    pub vmcoreinfo_origin: Option<String>,
    pub prstatus: Vec<CpuNote>,
    pub qemu_cpu_states: usize,
    pub zero_excluded: bool,
    /// Why the kernel cannot be read (minimal mode), or null: known without reading it
    /// (`--minimal`, no VMCOREINFO) or from a command that read it.
    pub minimal: Option<String>,
    /// One line: complete, incomplete, truncated...
    pub verdict: String,
    pub options: InfoOptions,
}

/// How `info` prints.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct InfoOptions {
    /// `-v`: every VMCOREINFO entry rather than a summary.
    pub verbose: bool,
}

/// Runs `info`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::INFO, args)?;
    let mut info = collect(s.dump(), s.minimal_reason_known().as_deref());
    info.options.verbose = f.has('v');
    Ok(Box::new(info))
}

fn codec_name(c: Codec) -> &'static str {
    match c {
        Codec::None => "none",
        Codec::Zlib => "zlib",
        Codec::Lzo => "lzo",
        Codec::Snappy => "snappy",
        Codec::Zstd => "zstd",
    }
}

fn arch_name(a: Arch) -> String {
    a.to_string()
}

/// The container in words, and the header version of kdump files.
fn format_name(d: &Dump) -> (String, Option<u32>) {
    let (name, version) = match &d.meta().format {
        FormatKind::Elf {
            qemu,
            elf32,
            flattened,
        } => {
            let name = format!(
                "{}{}{}vmcore",
                if *flattened { "flattened " } else { "" },
                if *qemu { "QEMU " } else { "" },
                if *elf32 { "ELF32 " } else { "ELF " },
            );
            (name, None)
        }
        FormatKind::Kdump {
            header_version,
            diskdump,
            flattened,
            qemu,
        } => {
            let base = match (diskdump, qemu) {
                (true, _) => "diskdump",
                (false, true) => "QEMU kdump-compressed",
                (false, false) => "kdump-compressed",
            };
            let name = if *flattened {
                format!("flattened {base}")
            } else {
                base.to_string()
            };
            (name, Some(*header_version))
        }
        FormatKind::MemoryDevice { device } => (format!("memory device {device}"), None),
    };
    match d.parts().len() {
        0 => (name, version),
        n => (format!("{name}, split into {n} parts"), version),
    }
}

/// The header layout's word size, where the architecture implies it.
fn layout(d: &Dump) -> Option<String> {
    match (&d.meta().format, d.meta().arch) {
        (FormatKind::Elf { elf32: true, .. }, _) => Some("32-bit".into()),
        (FormatKind::Elf { .. }, _) => Some("64-bit".into()),
        (_, Arch::X86_64 | Arch::Aarch64) => Some("64-bit".into()),
        (_, Arch::Other(3 | 40 | 20)) => Some("32-bit".into()),
        _ => None,
    }
}

/// The one-line verdict on how whole the dump is.
fn verdict(d: &Dump, p: &PageStats) -> String {
    let lost_from = p
        .first_lost
        .map(|pfn| format!(", from pfn {pfn:#x} on"))
        .unwrap_or_default();
    if !d.missing().is_empty() {
        let ranges: Vec<String> = d
            .missing()
            .iter()
            .map(|(a, b)| format!("{a:#x}..{b:#x}"))
            .collect();
        return format!(
            "incomplete: no part holds pfns {} (a split part is missing); {} pages lost",
            ranges.join(", "),
            p.lost
        );
    }
    if let Some(f) = d
        .files()
        .iter()
        .find(|f| f.needed.is_some_and(|n| n > f.len))
    {
        return format!(
            "truncated at byte {} (its headers place data up to byte {}): {} pages lost{lost_from}",
            f.len,
            f.needed.unwrap_or_default(),
            p.lost
        );
    }
    if p.lost > 0 {
        let len = d.files().iter().map(|f| f.len).sum::<u64>();
        return format!(
            "incomplete: {} pages lost{lost_from} (truncated, or its writer stopped early; the file ends at byte {len})",
            p.lost
        );
    }
    if d.meta().incomplete {
        return "marked incomplete by its writer, yet every dumped page is there".into();
    }
    match (p.excluded, d.meta().dump_level) {
        (0, _) => "complete".into(),
        (n, Some(l)) => {
            format!("complete: every page dump level {l} kept is there ({n} pages excluded)")
        }
        (n, None) => {
            format!("complete: every page kept is there ({n} pages excluded by filtering)")
        }
    }
}

/// Collects what `info` shows from the dump alone.
pub fn collect(d: &Dump, minimal: Option<&str>) -> Info {
    let meta = d.meta();
    let pages = d.page_stats();
    let (format, header_version) = format_name(d);
    let parts = d.parts();
    let files = d
        .files()
        .iter()
        .map(|f| {
            let part = parts.iter().find(|p| p.path == f.path);
            FileInfo {
                path: f.path.display().to_string(),
                size: f.len,
                start_pfn: part.map(|p| p.start),
                end_pfn: part.map(|p| p.end),
            }
        })
        .collect();
    Info {
        format,
        header_version,
        layout: layout(d),
        files,
        missing_parts: d.missing().iter().map(|&(a, b)| [a, b]).collect(),
        arch: arch_name(meta.arch),
        endian: match meta.endian {
            Endian::Little => "little",
            Endian::Big => "big",
        }
        .into(),
        page_size: meta.page_size,
        max_pfn: meta.max_pfn,
        utsname: meta.utsname.clone(),
        timestamp: meta.timestamp.map(|t| t.0),
        date: meta.timestamp.map(|t| date(t.0)),
        cpus: meta.nr_cpus,
        compression: d
            .format()
            .codec_counts()
            .into_iter()
            .map(|(c, n)| (codec_name(c).to_string(), n))
            .collect(),
        dump_level: meta.dump_level,
        excluded_kinds: meta
            .dump_level
            .map(excluded_by_level)
            .unwrap_or_default()
            .into_iter()
            .map(String::from)
            .collect(),
        verdict: verdict(d, &pages),
        pages,
        vmcoreinfo: d
            .vmcoreinfo()
            .map(|v| v.entries().clone())
            .unwrap_or_default(),
        vmcoreinfo_origin: d.vmcoreinfo_origin().map(|o| match o {
            VmcoreInfoOrigin::Container => "header".to_string(),
            VmcoreInfoOrigin::Memory { paddr } => format!("memory@{paddr:#x}"),
        }),
        prstatus: meta
            .prstatus
            .iter()
            .enumerate()
            .map(|(cpu, p)| CpuNote { cpu, pid: p.pid })
            .collect(),
        qemu_cpu_states: meta.qemu_cpus.len(),
        zero_excluded: d.zero_excluded(),
        minimal: minimal.map(str::to_string),
        options: InfoOptions::default(),
    }
}

/// Notable VMCOREINFO values, then how many keys of each kind (`info -v` lists them all).
fn vmcoreinfo_summary(v: &BTreeMap<String, String>) -> String {
    let mut parts: Vec<String> = ["OSRELEASE", "PAGESIZE", "KERNELOFFSET", "CRASHTIME"]
        .iter()
        .filter_map(|k| Some(format!("{k}={}", v.get(*k)?)))
        .collect();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for k in v.keys() {
        *kinds.entry(k.split('(').next().unwrap_or(k)).or_default() += 1;
    }
    let kinds: Vec<String> = kinds
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    parts.push(format!("{} keys: {}", v.len(), kinds.join(", ")));
    format!("{} (info -v lists them)", parts.join(", "))
}

impl Report for Info {
    fn write_text(&self, _: &TextOptions, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut lines: Vec<(&str, String)> = Vec::new();
        let mut format = self.format.clone();
        let detail: Vec<String> = self
            .header_version
            .map(|v| format!("header version {v}"))
            .into_iter()
            .chain(self.layout.as_ref().map(|l| format!("{l} layout")))
            .collect();
        if !detail.is_empty() {
            format += &format!(" ({})", detail.join(", "));
        }
        lines.push(("FORMAT", format));
        for f in &self.files {
            let range = match (f.start_pfn, f.end_pfn) {
                (Some(a), Some(b)) => format!(", pfns {a:#x}..{b:#x}"),
                _ => String::new(),
            };
            lines.push(("FILE", format!("{} ({} bytes{range})", f.path, f.size)));
        }
        for [a, b] in &self.missing_parts {
            lines.push(("MISSING", format!("the part holding pfns {a:#x}..{b:#x}")));
        }
        lines.push((
            "MACHINE",
            format!(
                "{} ({} endian), page size {}, {} page frames",
                self.arch, self.endian, self.page_size, self.max_pfn
            ),
        ));
        if let Some(u) = &self.utsname {
            let fields = [&u.sysname, &u.nodename, &u.release, &u.version, &u.machine];
            let text: Vec<&str> = fields
                .iter()
                .map(|s| s.as_str())
                .filter(|s| !s.is_empty())
                .collect();
            lines.push(("UTSNAME", text.join(" ")));
        }
        if let (Some(d), Some(t)) = (&self.date, self.timestamp) {
            lines.push(("DATE", format!("{d} ({t})")));
        }
        lines.push((
            "CPUS",
            self.cpus
                .map(|c| c.to_string())
                .unwrap_or_else(|| "(unknown)".into()),
        ));
        let comp: Vec<String> = self
            .compression
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        lines.push((
            "COMPRESSION",
            if comp.is_empty() {
                "(none recorded)".into()
            } else {
                format!("{} pages", comp.join(", "))
            },
        ));
        lines.push((
            "DUMP LEVEL",
            match self.dump_level {
                None => "(not recorded)".into(),
                Some(0) => "0 (nothing excluded)".into(),
                Some(l) => format!("{l} (excluded: {})", self.excluded_kinds.join(", ")),
            },
        ));
        let p = &self.pages;
        lines.push((
            "PAGES",
            format!(
                "{} RAM: {} present, {} zero, {} excluded, {} lost{}",
                p.ram,
                p.present,
                p.zero,
                p.excluded,
                p.lost,
                if self.zero_excluded {
                    " (excluded pages read as zeros)"
                } else {
                    ""
                }
            ),
        ));
        let mut notes = Vec::new();
        if !self.vmcoreinfo.is_empty() {
            let from = match self.vmcoreinfo_origin.as_deref() {
                Some(o) if o.starts_with("memory@") => {
                    format!(", found in {}", o.replace('@', " at "))
                }
                _ => String::new(),
            };
            notes.push(format!("VMCOREINFO ({} keys{from})", self.vmcoreinfo.len()));
        }
        if !self.prstatus.is_empty() {
            let pids: Vec<String> = self
                .prstatus
                .iter()
                .map(|c| format!("cpu {} pid {}", c.cpu, c.pid))
                .collect();
            notes.push(format!(
                "NT_PRSTATUS x{} ({})",
                self.prstatus.len(),
                pids.join(", ")
            ));
        }
        if self.qemu_cpu_states > 0 {
            notes.push(format!("QEMU CPU state x{}", self.qemu_cpu_states));
        }
        lines.push((
            "NOTES",
            if notes.is_empty() {
                "(none)".into()
            } else {
                notes.join("; ")
            },
        ));
        if self.options.verbose {
            let entries: Vec<String> = self
                .vmcoreinfo
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            lines.push(("VMCOREINFO", entries.join(&format!("\n{:14}", ""))));
        } else if !self.vmcoreinfo.is_empty() {
            lines.push(("VMCOREINFO", vmcoreinfo_summary(&self.vmcoreinfo)));
        }
        if let Some(m) = &self.minimal {
            lines.push(("KERNEL", format!("minimal mode: {m}")));
        }
        lines.push(("VERDICT", self.verdict.clone()));
        crate::format::key_values(out, &lines)
    }
}
