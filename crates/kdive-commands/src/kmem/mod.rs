//! `kmem`: what an address is, memory usage, pages, free lists, zones, slab caches, vmalloc
//! areas and VM counters, printed as crash prints them. One flag chooses what is shown; each
//! has its module beside this one (`-i` and `-s` live here).
//!
//! Where crash's counting differs from the kernel's, crash's is followed: `kmem -s` counts the
//! objects on the per-CPU freelists and partial slabs as free (`/proc/slabinfo` counts them as
//! active), and only for a CPU that holds a slab.

pub mod address;
pub mod counters;
pub mod free_search;
pub mod pages;
pub mod slabs;
pub mod vmalloc;
pub mod zones;

use std::io::{self, Write};

use kdive_linux::kmem::{meminfo, Commit, MemInfo, Pool};
use kdive_linux::slab::{slab_caches_ignoring, SlabCache, SlabCounts};
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// `kmem -i`: the kernel's memory counters, in pages; `None` where the dump would not say.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemInfo {
    pub page_size: u64,
    pub total: Option<u64>,
    pub free: Option<u64>,
    /// `total - free`.
    pub used: Option<u64>,
    pub buffers: Option<u64>,
    pub cached: Option<u64>,
    pub slab: Option<u64>,
    /// Highmem, and the memory below it (`low`): kernels with highmem counters only.
    pub high: Option<PageCounts>,
    pub low: Option<PageCounts>,
    /// Huge pages.
    pub huge: Option<PageCounts>,
    pub swap: Option<SwapPages>,
    /// `None` also when the kernel has no `sysctl_overcommit_memory`.
    pub commit: Option<CommitPages>,
    /// The kernel has overcommit accounting at all.
    pub has_commit: bool,
    /// What could not be read.
    pub problems: Vec<String>,
    /// Some counter could not be read (`problems` says which).
    pub incomplete: bool,
}

/// Pages of one kind: all of them, and the free ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCounts {
    pub total: Option<u64>,
    pub free: Option<u64>,
}

/// Swap space, in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapPages {
    pub total: u64,
    pub used: u64,
    pub free: u64,
}

/// The overcommit limit and what is committed, in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitPages {
    pub limit: u64,
    pub committed: u64,
}

impl KmemInfo {
    fn new(page_size: u64, m: MemInfo) -> Self {
        let high_total = m.high.map(|h| h.total);
        let high_free = m.high.map(|h| h.part);
        let counts = |total, free| PageCounts { total, free };
        KmemInfo {
            page_size,
            total: m.total,
            free: m.free,
            used: m.total.zip(m.free).map(|(t, f)| t.saturating_sub(f)),
            buffers: m.buffers,
            cached: m.cached,
            slab: m.slab,
            high: m.has_high.then_some(counts(high_total, high_free)),
            low: m.has_high.then_some(counts(
                m.total.zip(high_total).map(|(t, h)| t.saturating_sub(h)),
                m.free.zip(high_free).map(|(f, h)| f.saturating_sub(h)),
            )),
            huge: m
                .huge
                .map(|Pool { total, part }| counts(Some(total), Some(part))),
            swap: m.swap.map(|Pool { total, part }| SwapPages {
                total,
                used: part,
                free: total.saturating_sub(part),
            }),
            commit: m
                .commit
                .map(|Commit { limit, committed }| CommitPages { limit, committed }),
            has_commit: m.has_commit,
            incomplete: !m.problems.is_empty(),
            problems: m.problems,
        }
    }
}

/// `kmem -s`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemSlabs {
    pub page_size: u64,
    pub caches: Vec<SlabRow>,
    /// What could not be read; when not empty, the list is incomplete.
    pub problems: Vec<String>,
    /// Some cache or count could not be read (`problems` of the list or a cache say which).
    pub incomplete: bool,
}

/// One slab cache.
#[derive(Debug, Serialize, Deserialize)]
pub struct SlabRow {
    /// Address of its `struct kmem_cache`.
    #[serde(with = "crate::hex")]
    pub addr: u64,
    pub name: String,
    /// `object_size`: the size asked for.
    pub object_size: u64,
    /// `size`: an object with its metadata.
    pub size: u64,
    /// Page order of one slab.
    pub order: u32,
    pub objects_per_slab: u32,
    /// `None` when the counts could not be gathered.
    pub counts: Option<SlabTotals>,
    /// Some free objects could not be counted (`allocated` is then an upper bound).
    pub incomplete: bool,
    pub problems: Vec<String>,
    /// `-I`: left out, neither walked nor counted (crash's `[IGNORED]` line).
    #[serde(default)]
    pub ignored: bool,
}

/// A cache's counts, as crash's `kmem -s` columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlabTotals {
    /// Objects in use.
    pub allocated: u64,
    /// All objects of all slabs.
    pub total: u64,
    pub slabs: u64,
}

impl From<SlabCache> for SlabRow {
    fn from(c: SlabCache) -> Self {
        let totals = |n: SlabCounts| SlabTotals {
            allocated: n.allocated,
            total: n.total,
            slabs: n.slabs,
        };
        SlabRow {
            addr: c.addr,
            name: c.name,
            object_size: c.object_size,
            size: c.size,
            order: c.order,
            objects_per_slab: c.objects_per_slab,
            counts: c.counts.map(totals),
            incomplete: c.incomplete,
            problems: c.problems,
            ignored: false,
        }
    }
}

/// The flags that choose what `kmem` shows; crash takes one of them.
const MODES: &[char] = &[
    'i', 's', 'S', 'p', 'f', 'F', 'z', 'n', 'v', 'V', 'o', 'h', 'g',
];

/// Runs `kmem`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::KMEM, args)?;
    let modes: Vec<char> = MODES.iter().copied().filter(|&c| f.has(c)).collect();
    let usage =
        |m: &str| CommandError::Usage(format!("kmem: {m}\nusage: {}", table::KMEM.synopsis()));
    if modes.len() > 1 {
        return Err(usage("only one flag allowed!"));
    }
    // -I: the caches -s leaves out, comma- (or space-) separated, as crash reads them
    let ignored: Vec<String> = f
        .value('I')
        .map(|v| {
            v.split([',', ' '])
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if f.has('I') && !f.has('s') {
        return Err(usage("-I names caches for -s to leave out"));
    }
    if f.has('r') {
        return Err(root_caches_refusal(s.kernel()?));
    }
    let prog = s.kernel()?;
    let page_size = s.dump().kernel_page_size().max(1);
    let no_args = |flag: char| {
        if f.positional.is_empty() {
            Ok(())
        } else {
            Err(usage(&format!("no address arguments allowed with -{flag}")))
        }
    };
    match modes.first().copied() {
        Some('i') => {
            no_args('i')?;
            Ok(Box::new(KmemInfo::new(
                page_size,
                meminfo(prog, page_size.trailing_zeros(), s.walk_limit),
            )))
        }
        Some('s') if f.positional.iter().any(|w| is_hex_word(w)) => {
            slabs::run_address(s, prog, &f.positional)
        }
        Some('s') => slabs(prog, &f.positional, &ignored, page_size, s.walk_limit),
        Some('p') => pages::run(s, prog, &f.positional, f.has('P')),
        Some('g') => pages::run_flags(prog, &f.positional),
        Some('f') if !f.positional.is_empty() => {
            let map = pages::MemMap::new(prog, page_size)?;
            let addrs = addresses(&f.positional, f.has('P'), prog)?;
            Ok(Box::new(free_search::lookup(
                prog,
                &map,
                &addrs,
                s.walk_limit,
            )?))
        }
        Some(c @ ('f' | 'F')) => {
            no_args(c)?;
            let map = pages::MemMap::new(prog, page_size)?;
            Ok(Box::new(zones::free_areas(
                prog,
                &map,
                page_size,
                c == 'F',
                s.walk_limit,
            )?))
        }
        Some('z') => {
            no_args('z')?;
            Ok(Box::new(zones::zone_stats(prog)?))
        }
        Some('n') => {
            no_args('n')?;
            let map = pages::MemMap::new(prog, page_size)?;
            Ok(Box::new(zones::memory_nodes(
                prog,
                &map,
                page_size,
                s.walk_limit,
            )?))
        }
        Some('V') => {
            no_args('V')?;
            Ok(Box::new(counters::vm_stat(prog)?))
        }
        Some('o') => {
            no_args('o')?;
            Ok(Box::new(counters::per_cpu_offsets(prog)?))
        }
        Some('h') => {
            no_args('h')?;
            Ok(Box::new(counters::huge_pages(prog, page_size)?))
        }
        Some('v') if f.positional.is_empty() => Ok(Box::new(vmalloc::areas(prog, s.walk_limit)?)),
        Some('S') => slabs::run_verbose(s, prog, &f.positional),
        Some('v') => {
            let addrs = addresses(&f.positional, f.has('P'), prog)?;
            Ok(Box::new(vmalloc::lookup(
                prog,
                &addrs,
                page_size,
                s.walk_limit,
            )?))
        }
        None if f.positional.is_empty() => Err(usage("give a flag or an address")),
        None => address::run(s, prog, &f.positional, f.has('P')),
        _ => Err(usage("this flag is not available yet")),
    }
}

/// The address operands of `-f` and `-v`, each with whether it is physical: all of them with
/// -P, else those below the direct map (crash's `IS_KVADDR`).
fn addresses(
    words: &[String],
    physical: bool,
    prog: &kdive_program::Program,
) -> Result<Vec<(u64, bool)>, CommandError> {
    let direct_map = kdive_linux::mm::direct_map_base(prog);
    words
        .iter()
        .map(|w| {
            let a = pages::hex_operand(w)?;
            Ok((a, physical || a < direct_map))
        })
        .collect()
}

/// crash's test for an address operand: hexadecimal digits only (after an optional `0x`).
fn is_hex_word(w: &str) -> bool {
    let h = w.strip_prefix("0x").unwrap_or(w);
    !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit())
}

/// `kmem -s [NAME...]`.
fn slabs(
    prog: &kdive_program::Program,
    names: &[String],
    ignored: &[String],
    page_size: u64,
    limit: usize,
) -> Result<Box<dyn Report>, CommandError> {
    let all =
        slab_caches_ignoring(prog, names, ignored, limit).map_err(|e| CommandError::Program {
            cmd: "kmem",
            source: e,
        })?;
    let mut problems = all.problems;
    for n in names {
        if !all.caches.iter().any(|c| &c.name == n) {
            problems.push(format!("invalid slab cache name: {n}"));
        }
    }
    let caches: Vec<SlabRow> = all
        .caches
        .into_iter()
        .map(|c| {
            let ignored = ignored.contains(&c.name);
            SlabRow {
                ignored,
                ..SlabRow::from(c)
            }
        })
        .collect();
    Ok(Box::new(KmemSlabs {
        page_size,
        incomplete: !problems.is_empty() || caches.iter().any(|c| !c.problems.is_empty()),
        caches,
        problems,
    }))
}

/// crash's `pages_to_size`: `0`, `N KB`, `N.N MB`, `N.N GB`, a `.0` dropped.
pub fn pages_to_size(pages: u64, page_size: u64) -> String {
    if pages == 0 {
        return "0".into();
    }
    let bytes = pages as f64 * page_size as f64;
    const KB: f64 = 1024.0;
    let s = if bytes >= KB * KB * KB {
        format!("{:.1} GB", bytes / (KB * KB * KB))
    } else if bytes >= KB * KB {
        format!("{:.1} MB", bytes / (KB * KB))
    } else {
        format!("{} KB", (bytes / KB) as u64)
    };
    s.replacen(".0 ", " ", 1)
}

/// `part * 100 / whole`, crash's integer percentage (0 for an empty whole).
pub fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        0
    } else {
        (part as u128 * 100 / whole as u128) as u64
    }
}

/// One `kmem -i` line: `label  pages  size  pct% of WHAT`, or `----` without a `whole`.
fn line(label: &str, pages: Option<u64>, whole: Option<(Option<u64>, &str)>, ps: u64) -> String {
    let (p, size) = match pages {
        Some(p) => (p.to_string(), pages_to_size(p, ps)),
        None => ("?".into(), "?".into()),
    };
    let tail = match whole {
        None => "        ----".to_string(),
        Some((w, what)) => {
            let pct = match (pages, w) {
                (Some(p), Some(w)) => percent(p, w).to_string(),
                _ => "?".into(),
            };
            format!(" {pct:>3}% of {what}")
        }
    };
    format!("{label:>13}  {p:>7}  {size:>11} {tail}\n")
}

impl Report for KmemInfo {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        let (m, ps) = (self, self.page_size);
        let of_mem = Some((m.total, "TOTAL MEM"));
        let mut out = String::from("                 PAGES        TOTAL      PERCENTAGE\n");
        out += &line("TOTAL MEM", m.total, None, ps);
        out += &line("FREE", m.free, of_mem, ps);
        out += &line("USED", m.used, of_mem, ps);
        out += &line("BUFFERS", m.buffers, of_mem, ps);
        out += &line("CACHED", m.cached, of_mem, ps);
        out += &line("SLAB", m.slab, of_mem, ps);
        if let (Some(high), Some(low)) = (m.high, m.low) {
            out += "\n";
            out += &line("TOTAL HIGH", high.total, of_mem, ps);
            out += &line("FREE HIGH", high.free, Some((high.total, "TOTAL HIGH")), ps);
            out += &line("TOTAL LOW", low.total, of_mem, ps);
            out += &line("FREE LOW", low.free, Some((low.total, "TOTAL LOW")), ps);
        }
        if let Some(huge) = m.huge {
            out += "\n";
            out += &line("TOTAL HUGE", huge.total, None, ps);
            out += &line("HUGE FREE", huge.free, Some((huge.total, "TOTAL HUGE")), ps);
        }
        out += "\n";
        if let Some(SwapPages { total, used, free }) = m.swap {
            let of_swap = Some((Some(total), "TOTAL SWAP"));
            out += &line("TOTAL SWAP", Some(total), None, ps);
            out += &line("SWAP USED", Some(used), of_swap, ps);
            out += &line("SWAP FREE", Some(free), of_swap, ps);
        }
        if m.has_commit {
            out += "\n";
            let c = m.commit;
            out += &line("COMMIT LIMIT", c.map(|c| c.limit), None, ps);
            let whole = match c {
                Some(c) if c.limit == 0 => None,
                _ => Some((c.map(|c| c.limit), "TOTAL LIMIT")),
            };
            out += &line("COMMITTED", c.map(|c| c.committed), whole, ps);
        }
        for p in &m.problems {
            out += &format!("kmem: {p}\n");
        }
        w.write_all(out.as_bytes())
    }
}

/// A cache's `kmem -s` line.
/// Why `kmem -r` has nothing to list: its root caches and their per-memory-cgroup children
/// (the `slab_root_caches` list) exist only from 4.13 to 5.8; since 5.9 every cgroup's objects
/// are in the root caches themselves, which `kmem -s` lists. crash refuses it the same way.
fn root_caches_refusal(prog: &kdive_program::Program) -> CommandError {
    if prog.symbols().address_of("slab_root_caches").is_some() {
        CommandError::Unavailable(
            "kmem: -r: this kernel's per-cgroup child caches are not read yet; kmem -s lists \
             every cache, children included"
                .into(),
        )
    } else {
        CommandError::Unavailable(
            "kmem: -r: this kernel has no slab_root_caches list: since 5.9 memory cgroups \
             share the root caches, so there are no child caches to add up; kmem -s lists \
             every cache"
                .into(),
        )
    }
}

pub(crate) fn cache_line(c: &SlabRow, page_size: u64) -> String {
    if c.ignored {
        return format!("{:016x} {:<43}  {}\n", c.addr, "[IGNORED]", c.name);
    }
    let counts = match &c.counts {
        Some(n) => format!("{:>9}  {:>8}  {:>5}", n.allocated, n.total, n.slabs),
        None => format!("{:>9}  {:>8}  {:>5}", "?", "?", "?"),
    };
    let ssize = (page_size << c.order.min(20)) / 1024;
    format!(
        "{:016x} {:>8}  {counts}  {ssize:>4}k  {}\n",
        c.addr, c.object_size, c.name
    )
}

impl Report for KmemSlabs {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME"
        )?;
        for c in &self.caches {
            out.write_all(cache_line(c, self.page_size).as_bytes())?;
        }
        for c in &self.caches {
            for p in &c.problems {
                writeln!(out, "kmem: {}: {p}", c.name)?;
            }
        }
        for p in &self.problems {
            writeln!(out, "kmem: {p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_crash() {
        assert_eq!(pages_to_size(0, 4096), "0");
        assert_eq!(pages_to_size(62910, 4096), "245.7 MB");
        assert_eq!(pages_to_size(61684, 4096), "241 MB");
        assert_eq!(pages_to_size(3, 4096), "12 KB");
        assert_eq!(pages_to_size(1 << 19, 4096), "2 GB");
        assert_eq!(percent(44198, 62910), 70);
        assert_eq!(percent(7274, 31455), 23);
        assert_eq!(percent(5, 0), 0);
    }

    #[test]
    fn lines_as_crash() {
        assert_eq!(
            line("TOTAL MEM", Some(62910), None, 4096),
            "    TOTAL MEM    62910     245.7 MB         ----\n"
        );
        assert_eq!(
            line("FREE", Some(44198), Some((Some(62910), "TOTAL MEM")), 4096),
            "         FREE    44198     172.6 MB   70% of TOTAL MEM\n"
        );
        assert_eq!(
            line("BUFFERS", Some(0), Some((Some(62910), "TOTAL MEM")), 4096),
            "      BUFFERS        0            0    0% of TOTAL MEM\n"
        );
    }
}
