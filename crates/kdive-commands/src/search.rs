//! `search`: find values or strings in memory, as crash's `search` prints them.
//!
//! `search -p [-s START] [-e END | -l LEN] [-m MASK] [-w|-h|-c] [-x N] VALUE...` walks physical
//! memory page by page (no kernel needed), skipping pages the dump does not hold.
//! `search [-k|-K|-V] ...` walks kernel virtual memory (all of it by default: the direct map
//! through the pages the dump holds, the rest through the page tables, skipping what is not
//! mapped a whole table at a time); `search -u ...` the current task's user memory;
//! `search -t ...` every task's kernel stack (`-T`: the tasks running on a CPU), the matches
//! grouped under each task's header as crash groups them.

use std::io::{self, Write};

use kdive_dump::PageState;
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::rd::parse_hex;
use crate::table::{self, FlagName};
use crate::{CommandError, Hex, Report, Session, TextOptions};

/// Matches reported at most.
const MAX_MATCHES: usize = 100_000;
/// Characters shown from a string match on (crash's `CHARS_CTX`).
const CHARS_CTX: usize = 56;

/// What is searched for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// Values of this many bytes, each with the word it was given as when that was a symbol.
    Values(usize, Vec<(u64, Option<String>)>),
    Strings(Vec<Vec<u8>>),
}

/// Which memory is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Space {
    Physical,
    /// All kernel virtual memory (`-k`).
    Kernel,
    /// The direct map and the kernel image only (`-K`).
    KernelUnity,
    /// Kernel memory mapped through page tables only: vmalloc, vmemmap, modules (`-V`).
    KernelMapped,
    /// The current task's user memory (`-u`).
    User,
    /// Every task's kernel stack (`-t`).
    TaskStacks,
    /// The kernel stacks of the tasks running on a CPU (`-T`).
    ActiveStacks,
}

#[derive(Debug)]
struct Args {
    space: Space,
    context: usize,
    start: Option<u64>,
    end: Option<u64>,
    len: Option<u64>,
    mask: u64,
    target: Target,
}

fn usage(msg: impl Into<String>) -> CommandError {
    CommandError::Usage(format!("search: {}", msg.into()))
}

fn parse(s: &Session, args: &[String]) -> Result<Args, CommandError> {
    let mut a = Args {
        space: Space::Kernel,
        context: 0,
        start: None,
        end: None,
        len: None,
        mask: 0,
        target: Target::Values(8, Vec::new()),
    };
    let f = Flags::parse(&table::SEARCH, args)?;
    let (mut size, mut chars) = (8usize, false);
    let bad = |v: &str| usage(format!("bad number {v}"));
    for (flag, value) in f.given() {
        use FlagName::Letter;
        match (flag, value) {
            (Letter('p'), _) => a.space = Space::Physical,
            (Letter('k'), _) => a.space = Space::Kernel,
            (Letter('K'), _) => a.space = Space::KernelUnity,
            (Letter('V'), _) => a.space = Space::KernelMapped,
            (Letter('u'), _) => a.space = Space::User,
            (Letter('t'), _) => a.space = Space::TaskStacks,
            (Letter('T'), _) => a.space = Space::ActiveStacks,
            (Letter('x'), Some(v)) => a.context = v.parse().map_err(|_| bad(v))?,
            (Letter('w'), _) => (size, chars) = (4, false),
            (Letter('h'), _) => (size, chars) = (2, false),
            (Letter('c'), _) => chars = true,
            (Letter('s'), Some(v)) => a.start = Some(address(s, v).ok_or_else(|| bad(v))?),
            (Letter('e'), Some(v)) => a.end = Some(address(s, v).ok_or_else(|| bad(v))?),
            (Letter('m'), Some(v)) => a.mask = address(s, v).ok_or_else(|| bad(v))?,
            (Letter('l'), Some(v)) => {
                a.len = Some(
                    v.parse()
                        .ok()
                        .or_else(|| parse_hex(v))
                        .ok_or_else(|| bad(v))?,
                )
            }
            (other, _) => return Err(usage(format!("{other} is not handled"))),
        }
    }
    let words = f.positional.clone();
    if words.is_empty() {
        return Err(usage(format!("usage: {}", table::SEARCH.synopsis())));
    }
    if f.has('t') && f.has('T') {
        return Err(usage("-t and -T options are mutually exclusive"));
    }
    let stacks = if f.has('t') { "-t" } else { "-T" };
    if (f.has('t') || f.has('T'))
        && (['p', 'k', 'K', 'V', 'u', 's', 'e', 'l']
            .iter()
            .any(|&c| f.has(c)))
    {
        return Err(usage(format!(
            "{stacks} option cannot be used with other memory-selection options"
        )));
    }
    if a.end.is_some() && a.len.is_some() {
        return Err(usage("-e and -l exclude each other"));
    }
    if chars && a.context > 0 {
        return Err(usage("-x does not apply to -c"));
    }
    a.target = if chars {
        if words.iter().any(String::is_empty) {
            return Err(usage("an empty string matches everywhere"));
        }
        Target::Strings(words.into_iter().map(String::into_bytes).collect())
    } else {
        let limit = if size == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * size)) - 1
        };
        let mut vals = Vec::new();
        for w in words {
            let (v, named) = match parse_hex(&w) {
                Some(v) => (v, None),
                None => (
                    address(s, &w).ok_or_else(|| usage(format!("invalid value: {w}")))?,
                    Some(w),
                ),
            };
            if v > limit {
                return Err(usage(format!("value {v:#x} does not fit in {size} bytes")));
            }
            vals.push((v, named));
        }
        Target::Values(size, vals)
    };
    Ok(a)
}

/// A hex number, or a kernel symbol's address.
fn address(s: &Session, w: &str) -> Option<u64> {
    parse_hex(w).or_else(|| s.kernel().ok()?.symbols().address_of(w))
}

/// One match.
#[derive(Debug, Serialize, Deserialize)]
pub struct Match {
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// A value search: the value found there (equal to a value searched for, under the mask).
    #[serde(with = "crate::hex_opt")]
    pub value: Option<u64>,
    /// The symbol the value searched for was given as (`search -k jiffies`).
    pub symbol: Option<String>,
    /// A string search (`-c`): the text from the match on, unprintable bytes as `.`.
    pub text: Option<String>,
    /// `-t`, `-T`: the task whose stack holds the match (one of `stacks`).
    #[serde(default, with = "crate::hex_opt")]
    pub task: Option<u64>,
    /// `-x N`: the N values before and after the match (fewer where memory could not be read).
    #[serde(default)]
    pub before: Vec<Hex>,
    #[serde(default)]
    pub after: Vec<Hex>,
}

/// What was searched for.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchOptions {
    /// Bytes per value (8, `-w` 4, `-h` 2); 0 for strings (`-c`).
    pub size: usize,
    /// Bits ignored when comparing values (`-m`).
    #[serde(with = "crate::hex")]
    pub mask: u64,
    /// `-x N`: values shown before and after each match.
    #[serde(default)]
    pub context: usize,
}

/// A task's kernel stack searched by `-t` or `-T`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskStack {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
    #[serde(with = "crate::hex")]
    pub start: u64,
    #[serde(with = "crate::hex")]
    pub end: u64,
}

/// What `search` found.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchOut {
    pub space: Space,
    #[serde(with = "crate::hex")]
    pub start: u64,
    #[serde(with = "crate::hex")]
    pub end: u64,
    pub options: SearchOptions,
    pub matches: Vec<Match>,
    /// `-t`, `-T`: the stacks searched, in order (`start`..`end` is then the first one).
    #[serde(default)]
    pub stacks: Vec<TaskStack>,
    /// Pages that could not be read and were skipped.
    pub pages_skipped: u64,
    /// The search stopped at the most matches it reports.
    pub truncated: bool,
}

/// Runs `search`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let a = parse(s, args)?;
    let ps = s.dump().kernel_page_size().max(1);
    let mem = Memory::new(s, a.space)?;
    let stacks = task_stacks(s, a.space)?;
    let (start, end) = match stacks.first() {
        Some(t) => (t.start, t.end),
        None if matches!(a.space, Space::TaskStacks | Space::ActiveStacks) => (0, 0),
        None => range(s, &a, &mem)?,
    };
    let mut out = SearchOut {
        space: a.space,
        start,
        end,
        options: SearchOptions {
            size: match &a.target {
                Target::Values(size, _) => *size,
                Target::Strings(_) => 0,
            },
            mask: a.mask,
            context: a.context,
        },
        matches: Vec::new(),
        stacks: Vec::new(),
        pages_skipped: 0,
        truncated: false,
    };
    if matches!(a.space, Space::TaskStacks | Space::ActiveStacks) {
        for t in stacks {
            let found = out.matches.len();
            search_range(&a, &mem, t.start, t.end, ps, &mut out);
            for m in &mut out.matches[found..] {
                m.task = Some(t.task);
            }
            out.stacks.push(t);
        }
    } else {
        search_range(&a, &mem, start, end, ps, &mut out);
    }
    Ok(Box::new(out))
}

/// `-t`, `-T`: the kernel stacks to search, in the task list's order; none for other spaces.
fn task_stacks(s: &Session, space: Space) -> Result<Vec<TaskStack>, CommandError> {
    if !matches!(space, Space::TaskStacks | Space::ActiveStacks) {
        return Ok(Vec::new());
    }
    let prog = s.kernel()?;
    let tasks = s.tasks()?;
    let ctx = kdive_linux::stack::BacktraceContext::new(prog, &tasks.list.active);
    let active: Vec<u64> = tasks.list.active.values().copied().collect();
    Ok(tasks
        .infos
        .iter()
        .filter(|t| space == Space::TaskStacks || active.contains(&t.addr))
        .filter_map(|t| {
            let r = ctx.task_stack(prog, t.addr).ok()?;
            Some(TaskStack {
                pid: t.pid,
                task: t.addr,
                cpu: t.cpu,
                comm: t.comm.clone(),
                start: r.start,
                end: r.end,
            })
        })
        .collect())
}

/// Searches `[start, end)` of `mem`, adding what it finds to `out`.
fn search_range(a: &Args, mem: &Memory<'_>, start: u64, end: u64, ps: u64, out: &mut SearchOut) {
    let mut page = vec![0u8; ps as usize];
    // the last bytes of the previous page, for strings that cross into this one
    let mut carry: Vec<u8> = Vec::new();
    let mut next = None;
    for base in mem.pages(start, end, ps) {
        if out.truncated {
            break;
        }
        if next != Some(base) {
            carry.clear();
        }
        next = base.checked_add(ps);
        if !mem.read(base, &mut page) {
            out.pages_skipped += 1;
            carry.clear();
            continue;
        }
        let from = (start.max(base) - base) as usize;
        let to = (end - base).min(ps) as usize;
        let found = out.matches.len();
        scan(a, base, &page, from, to, &mut carry, out);
        if a.context > 0 {
            if let Target::Values(size, _) = &a.target {
                for m in &mut out.matches[found..] {
                    (m.before, m.after) = around(mem, m.address, *size, a.context);
                }
            }
        }
    }
}

/// `-x N`: the N values of `size` bytes before and after `addr`, as far as they can be read.
fn around(mem: &Memory<'_>, addr: u64, size: usize, n: usize) -> (Vec<Hex>, Vec<Hex>) {
    let values = |at: u64| -> Vec<Hex> {
        let mut buf = vec![0u8; size * n];
        if !mem.read_any(at, &mut buf) {
            return Vec::new();
        }
        buf.chunks_exact(size)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..size].copy_from_slice(c);
                Hex(u64::from_le_bytes(b))
            })
            .collect()
    };
    let span = (size * n) as u64;
    (
        addr.checked_sub(span).map(values).unwrap_or_default(),
        values(addr.wrapping_add(size as u64)),
    )
}

/// The memory a search reads, and how its pages are found.
enum Memory<'s> {
    Physical(&'s Session),
    Kernel {
        s: &'s Session,
        prog: &'s kdive_program::Program,
        km: std::sync::Arc<kdive_memory::KernelMemory>,
        space: Space,
    },
    User {
        km: std::sync::Arc<kdive_memory::KernelMemory>,
        user: kdive_memory::AddressSpace,
    },
}

impl<'s> Memory<'s> {
    fn new(s: &'s Session, space: Space) -> Result<Memory<'s>, CommandError> {
        if space == Space::Physical {
            return Ok(Memory::Physical(s));
        }
        let prog = s.kernel()?;
        let km = prog.kernel_memory().cloned().ok_or_else(|| {
            CommandError::Unavailable("search: no page tables to search through".into())
        })?;
        if space == Space::User {
            let task = crate::tasks::tasks_named(s, "search", &[])?[0].addr;
            let user = kdive_linux::mm::task_address_space(prog, task)
                .map_err(|source| CommandError::Program {
                    cmd: "search",
                    source,
                })?
                .ok_or_else(|| usage(format!("-u: task {task:x} has no user address space")))?;
            return Ok(Memory::User { km, user });
        }
        Ok(Memory::Kernel { s, prog, km, space })
    }

    /// The direct map's `[start, end)`, where the dump's present pages are the mapped ones.
    fn direct_map(&self) -> Option<(u64, u64)> {
        let Memory::Kernel { s, km, .. } = self else {
            return None;
        };
        let base = km.direct_map_base()?;
        let ps = s.dump().kernel_page_size().max(1);
        Some((
            base,
            base.saturating_add(s.dump().meta().max_pfn.saturating_mul(ps)),
        ))
    }

    /// The kernel image's `[_text, _end)`.
    fn image(&self) -> Option<(u64, u64)> {
        let Memory::Kernel { prog, .. } = self else {
            return None;
        };
        let s = prog.symbols();
        s.address_of("_text").zip(s.address_of("_end"))
    }

    /// The page bases of `[start, end)` worth reading, in address order.
    fn pages(&self, start: u64, end: u64, ps: u64) -> Box<dyn Iterator<Item = u64> + '_> {
        let (first, last) = (start / ps, end.div_ceil(ps));
        match self {
            Memory::Physical(s) => Box::new(present_pfns(s, first, last).map(move |p| p * ps)),
            Memory::User { km, user } => {
                let root = user.root();
                Box::new(MappedPages::new(start, end, ps, move |a| {
                    km.translate_in(root, a)
                }))
            }
            Memory::Kernel { s, km, space, .. } => {
                let dm = self.direct_map();
                let image = self.image();
                let unity = move |a: u64| {
                    dm.is_some_and(|(x, y)| (x..y).contains(&a))
                        || image.is_some_and(|(x, y)| (x..y).contains(&a))
                };
                let space = *space;
                let root = km.root();
                let mapped = MappedPages::new(start, end, ps, move |a| km.translate_in(root, a))
                    .filter(move |&a| match space {
                        Space::KernelUnity => unity(a),
                        Space::KernelMapped => !unity(a),
                        _ => true,
                    });
                match dm {
                    // the direct map: the pages the dump holds, without walking
                    Some((x, y)) if space != Space::KernelMapped && start < y && end > x => {
                        let below = mapped_below(start, x, ps, km, root);
                        let phys =
                            present_pfns(s, (start.max(x) - x) / ps, (end.min(y) - x).div_ceil(ps))
                                .map(move |p| x + p * ps);
                        let above = MappedPages::new(y.max(start), end, ps, move |a| {
                            km.translate_in(root, a)
                        })
                        .filter(move |&a| match space {
                            Space::KernelUnity => image.is_some_and(|(i, j)| (i..j).contains(&a)),
                            _ => true,
                        });
                        Box::new(below.chain(phys).chain(above))
                    }
                    _ => Box::new(mapped),
                }
            }
        }
    }

    /// Reads the page at `base`; false when it cannot be read.
    fn read(&self, base: u64, page: &mut [u8]) -> bool {
        self.read_any(base, page)
    }

    /// Reads `buf.len()` bytes at `addr`; false when any cannot be read.
    fn read_any(&self, addr: u64, buf: &mut [u8]) -> bool {
        match self {
            Memory::Physical(s) => s.dump().read_phys(addr, buf).is_ok(),
            Memory::Kernel { s, prog, .. } => match self.direct_map() {
                // the direct map is physical memory at an offset: no walk needed
                Some((x, y)) if (x..y).contains(&addr) && addr + buf.len() as u64 <= y => {
                    s.dump().read_phys(addr - x, buf).is_ok()
                }
                _ => prog.read(addr, buf).is_ok(),
            },
            Memory::User { user, .. } => kdive_memory::ReadVirt::read_virt(user, addr, buf).is_ok(),
        }
    }
}

/// Kernel pages below the direct map (none on x86_64, whose direct map starts the kernel half).
fn mapped_below<'a>(
    start: u64,
    direct: u64,
    ps: u64,
    km: &'a kdive_memory::KernelMemory,
    root: u64,
) -> impl Iterator<Item = u64> + 'a {
    MappedPages::new(start, direct.max(start), ps, move |a| {
        km.translate_in(root, a)
    })
}

/// The present pfns of `[first, last)`, from the dump's page map.
fn present_pfns(s: &Session, first: u64, last: u64) -> impl Iterator<Item = u64> + '_ {
    s.dump()
        .page_runs()
        .filter(|r| r.2 == PageState::Present)
        .flat_map(move |(a, z, _)| a.max(first)..z.min(last))
}

/// The mapped pages of `[start, end)`: a page-table walk per page, where an entry that is not
/// present skips everything it would map.
struct MappedPages<F> {
    at: u64,
    end: u64,
    ps: u64,
    translate: F,
}

impl<F: Fn(u64) -> kdive_memory::Result<u64>> MappedPages<F> {
    fn new(start: u64, end: u64, ps: u64, translate: F) -> Self {
        MappedPages {
            at: start - start % ps,
            end,
            ps,
            translate,
        }
    }
}

impl<F: Fn(u64) -> kdive_memory::Result<u64>> Iterator for MappedPages<F> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        while self.at < self.end {
            let a = self.at;
            let step = match (self.translate)(a) {
                Ok(_) => {
                    self.at = a.saturating_add(self.ps);
                    return Some(a);
                }
                Err(kdive_memory::MemError::NotMapped { level, .. }) => level_size(level),
                // a hole in the canonical address space, or a table that cannot be read
                Err(kdive_memory::MemError::BadAddress { .. }) => 1 << 47,
                Err(_) => self.ps,
            };
            let next = (a | (step - 1)).checked_add(1);
            self.at = next.map_or(u64::MAX, |n| n.max(a + self.ps));
        }
        None
    }
}

/// Bytes one entry of a page-table level maps.
fn level_size(level: &str) -> u64 {
    match level {
        "PML5" => 1 << 48,
        "PML4" => 1 << 39,
        "PDPT" => 1 << 30,
        "PD" => 1 << 21,
        _ => 1 << 12,
    }
}

/// The `[start, end)` to search: all of the space by default.
fn range(s: &Session, a: &Args, mem: &Memory<'_>) -> Result<(u64, u64), CommandError> {
    let ps = s.dump().kernel_page_size();
    let align = match &a.target {
        Target::Values(size, _) => *size as u64,
        Target::Strings(_) => 1,
    };
    let (low, high) = match a.space {
        Space::Physical => (0, s.dump().meta().max_pfn.saturating_mul(ps)),
        // the user half of a 4-level address space
        Space::User => (0, 0x0000_7fff_ffff_f000),
        _ => (
            mem.direct_map().map_or(0xffff_8000_0000_0000, |d| d.0),
            u64::MAX,
        ),
    };
    let start = a.start.map_or(low, |v| v - v % align);
    let end = match (a.end, a.len) {
        (Some(e), _) => e,
        (_, Some(l)) => start.saturating_add(l),
        _ => high,
    };
    if end < start {
        return Err(usage(format!(
            "ending address {end:x} is below starting address {start:x}"
        )));
    }
    Ok((start, end))
}

/// Searches `page[from..to]` (at address `base`), reporting into `out`.
fn scan(
    a: &Args,
    base: u64,
    page: &[u8],
    from: usize,
    to: usize,
    carry: &mut Vec<u8>,
    out: &mut SearchOut,
) {
    match &a.target {
        Target::Values(size, vals) => {
            for off in (from..to.saturating_sub(size - 1)).step_by(*size) {
                let mut b = [0u8; 8];
                b[..*size].copy_from_slice(&page[off..off + size]);
                let v = u64::from_le_bytes(b);
                for (want, named) in vals {
                    if v | a.mask == want | a.mask {
                        out.push(Match {
                            address: base + off as u64,
                            value: Some(v),
                            symbol: named.clone(),
                            text: None,
                            task: None,
                            before: Vec::new(),
                            after: Vec::new(),
                        });
                    }
                }
            }
        }
        Target::Strings(strings) => {
            let keep = strings
                .iter()
                .map(Vec::len)
                .max()
                .unwrap_or(1)
                .saturating_sub(1);
            let mut hay = std::mem::take(carry);
            let pre = hay.len();
            hay.extend_from_slice(&page[from..to]);
            for i in 0..hay.len() {
                for s in strings {
                    // matches wholly in the carried bytes were reported with the previous page
                    if i + s.len() > pre && hay[i..].starts_with(s) {
                        let end = (i + CHARS_CTX.max(s.len())).min(hay.len());
                        let text: String = hay[i..end]
                            .iter()
                            .map(|&c| {
                                if (0x20..0x7f).contains(&c) {
                                    c as char
                                } else {
                                    '.'
                                }
                            })
                            .collect();
                        out.push(Match {
                            address: base + from as u64 + i as u64 - pre as u64,
                            value: None,
                            symbol: None,
                            text: Some(text),
                            task: None,
                            before: Vec::new(),
                            after: Vec::new(),
                        });
                    }
                }
            }
            let tail = hay.len().saturating_sub(keep);
            *carry = if to == page.len() {
                hay.split_off(tail)
            } else {
                Vec::new()
            };
        }
    }
}

impl SearchOut {
    fn push(&mut self, m: Match) {
        if self.matches.len() >= MAX_MATCHES {
            self.truncated = true;
            return;
        }
        self.matches.push(m);
    }
}

impl Report for SearchOut {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let size = self.options.size;
        let mut task = None;
        for m in &self.matches {
            // -t, -T: crash's task header before each task's first match, a blank line before
            // every header but the first
            if m.task.is_some() && m.task != task {
                if task.is_some() {
                    writeln!(out)?;
                }
                task = m.task;
                if let Some(t) = self.stacks.iter().find(|t| Some(t.task) == m.task) {
                    writeln!(
                        out,
                        "{}",
                        crate::format::task_header(t.pid, t.task, t.cpu, &t.comm)
                    )?;
                }
            }
            if self.options.context > 0 {
                // -x: crash's rd lines around a right-aligned match line, then a blank line
                let opts = crate::rd::RdOptions {
                    size,
                    radix: crate::rd::Radix::Hex,
                    ascii_column: true,
                    symbols: crate::rd::Symbolic::None,
                    network_order: false,
                };
                let before = m.address.wrapping_sub((size * m.before.len()) as u64);
                crate::rd::write_words(
                    out,
                    before,
                    &m.before,
                    &[],
                    opts,
                    crate::rd::ByteOrder::Little,
                )?;
                write!(
                    out,
                    "{:>16x}:  {:x} ",
                    m.address,
                    m.value.unwrap_or_default()
                )?;
                if let Some(s) = &m.symbol {
                    write!(out, "({s})")?;
                }
                writeln!(out)?;
                let after = m.address.wrapping_add(size as u64);
                crate::rd::write_words(
                    out,
                    after,
                    &m.after,
                    &[],
                    opts,
                    crate::rd::ByteOrder::Little,
                )?;
                writeln!(out)?;
                continue;
            }
            write!(out, "{:x}: ", m.address)?;
            if let Some(v) = m.value {
                // crash prints the value, a blank, then the symbol it was given as
                write!(out, "{v:x} ")?;
                if let Some(s) = &m.symbol {
                    write!(out, "({s})")?;
                }
            }
            if let Some(t) = &m.text {
                out.write_all(t.as_bytes())?;
            }
            writeln!(out)?;
        }
        if self.truncated {
            writeln!(out, "search: stopped after {} matches", self.matches.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out() -> SearchOut {
        SearchOut {
            space: Space::Physical,
            start: 0,
            end: 0,
            options: SearchOptions {
                size: 8,
                mask: 0,
                context: 0,
            },
            matches: Vec::new(),
            stacks: Vec::new(),
            pages_skipped: 0,
            truncated: false,
        }
    }

    /// The lines `search` prints for `o`.
    fn lines(o: &SearchOut) -> Vec<String> {
        let r: &dyn Report = o;
        r.text().lines().map(str::to_string).collect()
    }

    fn args(target: Target, mask: u64) -> Args {
        Args {
            space: Space::Physical,
            context: 0,
            start: None,
            end: None,
            len: None,
            mask,
            target,
        }
    }

    #[test]
    fn values_with_a_mask() {
        let mut page = vec![0u8; 64];
        page[8..16].copy_from_slice(&0xdead_beefu64.to_le_bytes());
        page[40..48].copy_from_slice(&0xdead_be00u64.to_le_bytes());
        let a = args(Target::Values(8, vec![(0xdead_beef, None)]), 0xff);
        let mut o = out();
        scan(&a, 0x1000, &page, 0, 64, &mut Vec::new(), &mut o);
        assert_eq!(lines(&o), vec!["1008: deadbeef ", "1028: deadbe00 "]);
        let a = args(Target::Values(4, vec![(0xbeef, Some("x".into()))]), 0);
        let mut o = out();
        scan(&a, 0, &page, 0, 64, &mut Vec::new(), &mut o);
        assert!(lines(&o).is_empty());
    }

    #[test]
    fn strings_across_pages() {
        let a = args(Target::Strings(vec![b"hello".to_vec()]), 0);
        let mut first = vec![b'.'; 32];
        first[29..].copy_from_slice(b"hel");
        let mut second = vec![b'.'; 32];
        second[..2].copy_from_slice(b"lo");
        second[10..15].copy_from_slice(b"hello");
        let (mut o, mut carry) = (out(), Vec::new());
        scan(&a, 0x1000, &first, 0, 32, &mut carry, &mut o);
        scan(&a, 0x1020, &second, 0, 32, &mut carry, &mut o);
        let addrs: Vec<u64> = o.matches.iter().map(|m| m.address).collect();
        assert_eq!(addrs, vec![0x101d, 0x102a]);
        assert!(lines(&o)[0].starts_with("101d: hello"));
    }
}
