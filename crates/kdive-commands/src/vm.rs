//! `vm [PID|TASK ...]`: a task's address space as crash prints it: the mm, its page tables, RSS
//! and size, then every VMA with its flags and file; `vm -m`: its `mm_struct`; `vm -v`: each
//! `vm_area_struct`; `vm -p`: every page of every VMA with its physical address (or where it
//! is when it is not in memory); `vm -P VMA`: one VMA's pages; `vm -R REF`: the VMAs and pages
//! that refer to a value or a file; `vm -f FLAGS`: the names of `vm_flags` bits.

use kdive_linux::mm::{read_vma, user_page, vma_flag_names, vmas, UserPage, Vma};
use kdive_linux::swap::{swap_area_path, swap_entry};
use kdive_linux::task::TaskInfo;
use kdive_memory::KernelMemory;
use kdive_program::print::PrintOptions;
use kdive_program::Program;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::{justify, task_header, Justify};
use crate::kmem::pages::MemMap;
use crate::rd::parse_hex;
use crate::reference::Reference;
use crate::structs::{struct_value, StructValue};
use crate::table;
use crate::tasks::tasks_named;
use crate::{CommandError, Report, Session, TextOptions};

/// Width crash gives a user virtual address (`UVADDR_PRLEN` on 64-bit machines).
const UVADDR_WIDTH: usize = 10;

/// Most pages `vm -p` lists for one command (16 GiB of 4K pages): a larger address space is
/// cut, and the answer says so.
const MAX_PAGES: u64 = 1 << 22;

/// One VMA.
#[derive(Debug, Serialize, Deserialize)]
pub struct VmaRow {
    #[serde(with = "crate::hex")]
    pub vma: u64,
    #[serde(with = "crate::hex")]
    pub start: u64,
    #[serde(with = "crate::hex")]
    pub end: u64,
    #[serde(with = "crate::hex")]
    pub flags: u64,
    pub file: Option<String>,
    /// `-p`, `-P`: its pages in address order; `-R`: the pages that refer to the value
    /// (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<Vec<VmPage>>,
}

impl VmaRow {
    /// crash's VMA table header.
    pub const HEADER: &'static str = "      VMA           START       END     FLAGS FILE";

    /// The VMA's line under [`VmaRow::HEADER`].
    pub fn line(&self) -> String {
        format!(
            "{:016x} {:>10x} {:>10x} {:>6x} {}",
            self.vma,
            self.start,
            self.end,
            self.flags,
            self.file.as_deref().unwrap_or("")
        )
    }
}

impl From<Vma> for VmaRow {
    fn from(v: Vma) -> VmaRow {
        VmaRow {
            vma: v.addr,
            start: v.start,
            end: v.end,
            flags: v.flags,
            file: v.file,
            pages: None,
        }
    }
}

/// One page of a VMA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmPage {
    #[serde(with = "crate::hex")]
    pub virtual_address: u64,
    /// Where the page is.
    pub state: PageState,
}

/// Where a user page is, as crash tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PageState {
    /// In memory at this physical address.
    Mapped {
        #[serde(with = "crate::hex")]
        physical: u64,
    },
    /// Swapped out: the swap area's path (null when `swap_info[area]` is empty) and the page
    /// offset in it.
    Swap {
        device: Option<String>,
        area: u64,
        offset: u64,
    },
    /// Not in memory, backed by this file at this byte offset.
    File {
        path: String,
        #[serde(with = "crate::hex")]
        offset: u64,
    },
    /// Neither mapped nor backed.
    NotMapped,
}

impl VmPage {
    /// The page's line under `VIRTUAL  PHYSICAL`, the physical address right-aligned in
    /// `phys_width` columns.
    fn line(&self, phys_width: usize) -> String {
        let va = justify(
            &format!("{:x}", self.virtual_address),
            UVADDR_WIDTH,
            Justify::Left,
        );
        match &self.state {
            PageState::Mapped { physical } => format!(
                "{va}  {}",
                justify(&format!("{physical:x}"), phys_width, Justify::Right)
            ),
            PageState::Swap { device, offset, .. } => format!(
                "{va}  SWAP: {}  OFFSET: {offset}",
                device.as_deref().unwrap_or("(unknown swap location)")
            ),
            PageState::File { path, offset } => format!("{va}  FILE: {path}  OFFSET: {offset:x}"),
            PageState::NotMapped => format!("{va}  (not mapped)"),
        }
    }
}

/// What a task's answer says when a read failed.
const INCOMPLETE: &str = "this VMA list is incomplete";

/// One task's address space.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskVm {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
    /// `mm_struct`, 0 for a kernel thread (or the one `-M` named).
    #[serde(with = "crate::hex")]
    pub mm: u64,
    #[serde(with = "crate::hex")]
    pub pgd: u64,
    pub rss_kb: u64,
    pub total_vm_kb: u64,
    pub vmas: Vec<VmaRow>,
    /// `-m`: the `mm_struct` (null otherwise, and for a kernel thread).
    pub mm_struct: Option<StructValue>,
    /// `-v`: each VMA's `vm_area_struct`, in address order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vma_structs: Vec<StructValue>,
    /// `-R`: the reference is the task's `mm_struct` or page directory.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mm_matched: bool,
    pub problems: Vec<String>,
}

impl TaskVm {
    /// Whether `-R` found the reference in this task.
    fn referred(&self) -> bool {
        self.mm_matched || !self.vmas.is_empty()
    }

    fn write_vm_data(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "       MM               PGD          RSS    TOTAL_VM")?;
        if self.mm == 0 {
            return writeln!(out, "       0                 0            0k       0k   ");
        }
        writeln!(
            out,
            "{:016x}  {:016x}  {:>5}    {:>5}  ",
            self.mm,
            self.pgd,
            format!("{}k", self.rss_kb),
            format!("{}k", self.total_vm_kb)
        )
    }

    fn write_problems(&self, out: &mut dyn Write) -> io::Result<()> {
        for p in &self.problems {
            writeln!(out, "vm: {p}")?;
        }
        if !self.problems.is_empty() {
            writeln!(out, "vm: {INCOMPLETE}")?;
        }
        Ok(())
    }
}

/// What `vm` shows of each task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmMode {
    /// The VMA table.
    Vmas,
    /// `-m`: the `mm_struct`.
    MmStruct,
    /// `-v`: each `vm_area_struct`.
    VmaStructs,
    /// `-p`: each VMA with its pages.
    Pages,
    /// `-P VMA`: one VMA with its pages.
    SingleVma,
    /// `-R REF`: what refers to a value or a file.
    Reference,
}

/// What `vm` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Vm {
    pub tasks: Vec<TaskVm>,
    /// `-m`: each task's `mm_struct` instead of its VMAs.
    pub mm_only: bool,
    pub mode: VmMode,
    /// `-P`: the VMA asked for; `-R`: the reference (null otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Columns of the PHYSICAL field of page lines (crash's `PADDR_PRLEN`: the digits of the
    /// highest physical address, at least 8).
    pub phys_width: usize,
}

/// `vm -f`: a `vm_flags` value with its bits' names.
#[derive(Debug, Serialize, Deserialize)]
pub struct VmFlags {
    #[serde(with = "crate::hex")]
    pub flags: u64,
    /// The names of the bits set, in the kernel's table order.
    pub names: Vec<String>,
    /// Bits set that have no name.
    #[serde(with = "crate::hex")]
    pub unnamed: u64,
    /// Where the names come from: the kernel's `vmaflag_names`, or crash's fixed table.
    pub source: String,
}

/// crash's own table of `vm_flags` names (as it prints them for a kernel after 2.6.17), used
/// when the kernel has no `vmaflag_names`.
const CRASH_VM_FLAGS: &[(u64, &str)] = &[
    (0x1, "READ"),
    (0x2, "WRITE"),
    (0x4, "EXEC"),
    (0x8, "SHARED"),
    (0x10, "MAYREAD"),
    (0x20, "MAYWRITE"),
    (0x40, "MAYEXEC"),
    (0x80, "MAYSHARE"),
    (0x100, "GROWSDOWN"),
    (0x200, "NOHUGEPAGE"),
    (0x400, "PFNMAP"),
    (0x800, "DENYWRITE"),
    (0x1000, "EXECUTABLE"),
    (0x2000, "LOCKED"),
    (0x4000, "IO"),
    (0x8000, "SEQ_READ"),
    (0x10000, "RAND_READ"),
    (0x20000, "DONTCOPY"),
    (0x40000, "DONTEXPAND"),
    (0x80000, "RESERVED"),
    (0x100000, "ACCOUNT"),
    (0x400000, "HUGETLB"),
    (0x800000, "NONLINEAR"),
    (0x1000000, "HUGEPAGE"),
    (0x2000000, "INSERTPAGE"),
    (0x4000000, "ALWAYSDUMP"),
    (0x8000000, "CAN_NONLINEAR"),
    (0x10000000, "MIXEDMAP"),
    (0x20000000, "SAO"),
    (0x40000000, "PFN_AT_MMAP"),
    (0x80000000, "MERGEABLE"),
];

impl VmFlags {
    /// Names `flags` with `table`'s `(mask, name)` entries.
    fn new(flags: u64, table: &[(u64, String)], source: &str) -> VmFlags {
        let mut named = 0;
        let names = table
            .iter()
            .filter(|(m, _)| *m != 0 && flags & m == *m)
            .map(|(m, n)| {
                named |= m;
                n.to_ascii_uppercase()
            })
            .collect();
        VmFlags {
            flags,
            names,
            unnamed: flags & !named,
            source: source.to_string(),
        }
    }
}

impl Report for VmFlags {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{:x}: ({})", self.flags, self.names.join("|"))?;
        if self.unnamed != 0 {
            writeln!(
                out,
                "vm: bits {:#x} have no name in {}",
                self.unnamed, self.source
            )?;
        }
        Ok(())
    }
}

/// Runs `vm`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::VM, args)?;
    if let Some(w) = f.value('f') {
        return vm_flags(s, w);
    }
    // RSS sums the cached counts of every thread of the mm (split RSS counting): list them all
    s.tasks()?;
    let chosen = tasks_named(s, "vm", &f.positional)?;
    for_tasks(s, &crate::tasks::as_refs(&chosen), &f)
}

/// `vm -f FLAGS`.
fn vm_flags(s: &Session, w: &str) -> Result<Box<dyn Report>, CommandError> {
    let flags =
        parse_hex(w).ok_or_else(|| CommandError::Usage(format!("vm: invalid flags value: {w}")))?;
    let prog = s.kernel()?;
    let kernel =
        vma_flag_names(prog).map_err(|source| CommandError::Program { cmd: "vm", source })?;
    Ok(Box::new(match kernel {
        Some(t) => VmFlags::new(flags, &t, "the kernel's vmaflag_names"),
        None => {
            let t: Vec<_> = CRASH_VM_FLAGS
                .iter()
                .map(|(m, n)| (*m, n.to_string()))
                .collect();
            VmFlags::new(flags, &t, "crash's fixed table (no vmaflag_names)")
        }
    }))
}

/// The mode the flags ask for; crash takes one of `-m -v -p -P -R` (`-R` with `-p`).
fn mode(f: &Flags) -> Result<VmMode, CommandError> {
    let given: Vec<char> = ['m', 'v', 'p', 'P', 'R']
        .into_iter()
        .filter(|&c| f.has(c))
        .collect();
    let mode = match given.as_slice() {
        [] => VmMode::Vmas,
        ['m'] => VmMode::MmStruct,
        ['v'] => VmMode::VmaStructs,
        ['p'] => VmMode::Pages,
        ['P'] => VmMode::SingleVma,
        ['R'] | ['p', 'R'] => VmMode::Reference,
        _ => {
            return Err(CommandError::Usage(format!(
                "vm: -{} cannot be combined\nusage: {}",
                given.iter().collect::<String>(),
                table::VM.synopsis()
            )))
        }
    };
    if f.has('x') && f.has('d') {
        return Err(CommandError::Usage(
            "vm: -d and -x are mutually exclusive".into(),
        ));
    }
    Ok(mode)
}

/// `vm -R`'s page matching.
impl Reference<'_> {
    /// Whether a page refers to the reference: its virtual or physical address, its swap
    /// offset (decimal) or area, its file offset.
    fn page(&self, p: &VmPage) -> bool {
        self.is(p.virtual_address)
            || match &p.state {
                PageState::Mapped { physical } => self.is(*physical),
                PageState::Swap { device, offset, .. } => {
                    self.decimal == Some(*offset) || self.names(device.as_deref())
                }
                PageState::File { offset, .. } => self.is(*offset),
                PageState::NotMapped => false,
            }
    }
}

/// Reads a VMA's pages through the page tables at `root`.
struct PageWalker<'a> {
    prog: &'a Program,
    km: &'a KernelMemory,
    root: u64,
    page_size: u64,
    budget: u64,
}

impl PageWalker<'_> {
    /// Every page of `vma`; a page-table read that fails ends the list with a problem.
    fn pages(&mut self, vma: &Vma, problems: &mut Vec<String>) -> Vec<VmPage> {
        let mut out = Vec::new();
        let mut va = vma.start;
        while va < vma.end {
            if self.budget == 0 {
                problems.push(format!(
                    "pages: stopped at {va:#x}, over {MAX_PAGES} pages listed"
                ));
                break;
            }
            self.budget -= 1;
            match self.page(vma, va) {
                Ok(p) => out.push(p),
                Err(e) => {
                    problems.push(format!("page {va:#x} of VMA {:#x}: {e}", vma.addr));
                    break;
                }
            }
            va = va.saturating_add(self.page_size);
        }
        out
    }

    /// crash's order: in memory; else a swap entry; else the file's page; else not mapped.
    fn page(&self, vma: &Vma, va: u64) -> kdive_program::Result<VmPage> {
        let state = match user_page(self.km, self.root, va)? {
            UserPage::Mapped(physical) => PageState::Mapped { physical },
            UserPage::Swapped(pte) => {
                let e = swap_entry(&self.km.mmu().entry, pte);
                PageState::Swap {
                    device: swap_area_path(self.prog, e.area).ok().flatten(),
                    area: e.area,
                    offset: e.offset,
                }
            }
            UserPage::Absent => match &vma.file {
                Some(path) if !path.is_empty() => PageState::File {
                    path: path.clone(),
                    offset: vma.file_offset(va, self.page_size),
                },
                _ => PageState::NotMapped,
            },
        };
        Ok(VmPage {
            virtual_address: va,
            state,
        })
    }
}

/// `vm` of chosen tasks (`foreach ... vm`).
pub(crate) fn for_tasks(
    s: &Session,
    chosen: &[&TaskInfo],
    f: &Flags,
) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let mode = mode(f)?;
    let page_size = s.dump().kernel_page_size();
    let page_kb = page_size / 1024;
    let single = match f.value('P') {
        Some(w) => Some(
            parse_hex(w)
                .ok_or_else(|| CommandError::Usage(format!("vm: invalid VMA address: {w}")))?,
        ),
        None => None,
    };
    let forced_mm =
        match f.value('M') {
            Some(w) => Some(parse_hex(w).ok_or_else(|| {
                CommandError::Usage(format!("vm: invalid mm_struct address: {w}"))
            })?),
            None => None,
        };
    let reference = f.value('R').map(Reference::new);
    let wants_pages = matches!(mode, VmMode::Pages | VmMode::SingleVma | VmMode::Reference);
    let km = match (wants_pages, prog.kernel_memory()) {
        (true, Some(k)) => Some(&**k),
        (true, None) => {
            return Err(CommandError::Unavailable(
                "vm: this kernel's page tables are not readable".into(),
            ))
        }
        (false, _) => None,
    };
    let print = PrintOptions {
        hex: f.has('x'),
        ..PrintOptions::default()
    };
    let mut out = Vm {
        tasks: Vec::new(),
        mm_only: mode == VmMode::MmStruct,
        mode,
        target: f.value('P').or(f.value('R')).map(str::to_string),
        phys_width: if wants_pages {
            MemMap::new(prog, page_size).map_or(8, |m| m.phys_width())
        } else {
            8
        },
    };
    let mut budget = MAX_PAGES;
    for &t in chosen {
        // crash's -M: the mm of a task whose own is already gone
        let mm = match (t.mm, forced_mm) {
            (0, Some(m)) => m,
            (m, _) => m,
        };
        let mut tv = TaskVm {
            pid: t.pid,
            task: t.addr,
            cpu: t.cpu,
            comm: t.comm.clone(),
            mm,
            pgd: 0,
            rss_kb: t.rss_pages.saturating_mul(page_kb),
            total_vm_kb: t.total_vm_pages.saturating_mul(page_kb),
            vmas: Vec::new(),
            mm_struct: None,
            vma_structs: Vec::new(),
            mm_matched: false,
            problems: Vec::new(),
        };
        if mm == 0 {
            out.tasks.push(tv);
            continue;
        }
        if mode == VmMode::MmStruct {
            match prog
                .object("struct mm_struct", mm)
                .and_then(|m| struct_value(&m, None, print, None))
            {
                Ok(v) => tv.mm_struct = Some(v),
                Err(e) => tv.problems.push(format!("mm_struct {mm:#x}: {e}")),
            }
            out.tasks.push(tv);
            continue;
        }
        tv.pgd = prog
            .object("struct mm_struct", mm)
            .and_then(|m| m.member("pgd")?.read_u64())
            .unwrap_or(0);
        if let Some(r) = &reference {
            if r.is(mm) || r.is(tv.pgd) {
                tv.mm_matched = true;
                out.tasks.push(tv);
                continue;
            }
        }
        let mut list = Vec::new();
        match vmas(prog, mm, s.walk_limit) {
            Ok((addrs, problems)) => {
                tv.problems.extend(problems);
                for a in addrs {
                    match read_vma(prog, a) {
                        Ok(v) => list.push(v),
                        Err(e) => tv.problems.push(format!("VMA {a:#x}: {e}")),
                    }
                }
                list.sort_by_key(|v| v.start);
            }
            Err(e) => tv.problems.push(format!("VMAs: {e}")),
        }
        if let Some(v) = single {
            list.retain(|x| x.addr == v);
        }
        let mut walker = match km {
            Some(km) => match km.translate(tv.pgd) {
                Ok(root) => Some(PageWalker {
                    prog,
                    km,
                    root,
                    page_size,
                    budget,
                }),
                Err(e) => {
                    tv.problems
                        .push(format!("mm_struct.pgd {:#x}: {e}", tv.pgd));
                    None
                }
            },
            None => None,
        };
        for v in list {
            if mode == VmMode::VmaStructs {
                match prog
                    .object("struct vm_area_struct", v.addr)
                    .and_then(|o| struct_value(&o, None, print, None))
                {
                    Ok(sv) => tv.vma_structs.push(sv),
                    Err(e) => tv
                        .problems
                        .push(format!("vm_area_struct {:#x}: {e}", v.addr)),
                }
                continue;
            }
            let pages = walker.as_mut().map(|w| w.pages(&v, &mut tv.problems));
            match &reference {
                Some(r) => {
                    let vma_refers = r.is(v.addr) || r.is(v.flags) || r.names(v.file.as_deref());
                    let hits: Vec<VmPage> = pages
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|p| r.page(p))
                        .collect();
                    if vma_refers || !hits.is_empty() {
                        let mut row = VmaRow::from(v);
                        row.pages = (!hits.is_empty()).then_some(hits);
                        tv.vmas.push(row);
                    }
                }
                None => {
                    let mut row = VmaRow::from(v);
                    row.pages = pages;
                    tv.vmas.push(row);
                }
            }
        }
        if let Some(w) = walker {
            budget = w.budget;
        }
        out.tasks.push(tv);
    }
    Ok(Box::new(out))
}

impl Vm {
    fn write_pages(&self, pages: &[VmPage], out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{}  {}",
            justify("VIRTUAL", UVADDR_WIDTH, Justify::Left),
            justify("PHYSICAL", self.phys_width, Justify::Left)
        )?;
        for p in pages {
            writeln!(out, "{}", p.line(self.phys_width))?;
        }
        Ok(())
    }

    /// `-R`: only the tasks that refer to the reference, each with its header and VM line;
    /// a VMA table header starts each run of VMAs (after pages, the next VMA gets its own).
    fn write_reference(&self, out: &mut dyn Write) -> io::Result<()> {
        for t in self.tasks.iter().filter(|t| t.referred()) {
            writeln!(out, "{}", task_header(t.pid, t.task, t.cpu, &t.comm))?;
            t.write_vm_data(out)?;
            let mut header_due = true;
            for v in &t.vmas {
                if header_due {
                    writeln!(out, "{}", VmaRow::HEADER)?;
                }
                writeln!(out, "{}", v.line())?;
                header_due = false;
                if let Some(pages) = &v.pages {
                    self.write_pages(pages, out)?;
                    header_due = true;
                }
            }
            writeln!(out)?;
            t.write_problems(out)?;
        }
        for t in self.tasks.iter().filter(|t| !t.referred()) {
            t.write_problems(out)?;
        }
        Ok(())
    }
}

impl Report for Vm {
    fn incomplete(&self) -> Option<String> {
        let n = self.tasks.iter().filter(|t| !t.problems.is_empty()).count();
        (n > 0).then(|| format!("vm: {INCOMPLETE} ({n} task(s) with unreadable parts)"))
    }

    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        if self.mode == VmMode::Reference {
            return self.write_reference(out);
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "{}", task_header(t.pid, t.task, t.cpu, &t.comm))?;
            match self.mode {
                VmMode::MmStruct => {
                    if let Some(v) = &t.mm_struct {
                        v.write_body(out)?;
                    }
                }
                VmMode::VmaStructs => {
                    for v in &t.vma_structs {
                        v.write_body(out)?;
                    }
                }
                VmMode::SingleVma => match t.vmas.first() {
                    Some(v) => {
                        writeln!(out, "{}", VmaRow::HEADER)?;
                        writeln!(out, "{}", v.line())?;
                        self.write_pages(v.pages.as_deref().unwrap_or_default(), out)?;
                    }
                    None if t.mm != 0 => writeln!(out, "(not found)")?,
                    None => {}
                },
                VmMode::Vmas | VmMode::Pages => {
                    t.write_vm_data(out)?;
                    if t.mm != 0 && self.mode == VmMode::Vmas {
                        writeln!(out, "{}", VmaRow::HEADER)?;
                    }
                    for v in &t.vmas {
                        if self.mode == VmMode::Pages {
                            writeln!(out, "{}", VmaRow::HEADER)?;
                        }
                        writeln!(out, "{}", v.line())?;
                        if let Some(pages) = &v.pages {
                            self.write_pages(pages, out)?;
                        }
                    }
                }
                VmMode::Reference => unreachable!("written above"),
            }
            t.write_problems(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(va: u64, state: PageState) -> VmPage {
        VmPage {
            virtual_address: va,
            state,
        }
    }

    #[test]
    fn page_lines_are_crashs() {
        // vm_area_page_dump: the address left in UVADDR_PRLEN, two spaces, the physical
        // address right in PADDR_PRLEN; the other forms' words
        let m = page(
            0x400000,
            PageState::Mapped {
                physical: 0xb6af000,
            },
        );
        assert_eq!(m.line(8), "400000       b6af000");
        let f = page(
            0x40c000,
            PageState::File {
                path: "/bin/busybox".into(),
                offset: 0xc000,
            },
        );
        assert_eq!(f.line(8), "40c000      FILE: /bin/busybox  OFFSET: c000");
        let s = page(
            0x7ffd000,
            PageState::Swap {
                device: None,
                area: 0,
                offset: 42,
            },
        );
        assert_eq!(
            s.line(8),
            "7ffd000     SWAP: (unknown swap location)  OFFSET: 42"
        );
        assert_eq!(
            page(0x1000, PageState::NotMapped).line(8),
            "1000        (not mapped)"
        );
    }

    #[test]
    fn references_match_pages_as_crashs_do() {
        // names and number parsing are `reference.rs`' test; here: a page matches a number as
        // its virtual or physical address (hexadecimal), a swap entry by its decimal offset
        let n = Reference::new("10");
        let swapped = page(
            0x5000,
            PageState::Swap {
                device: None,
                area: 0,
                offset: 10,
            },
        );
        assert!(n.page(&swapped));
        assert!(n.page(&page(0x10, PageState::NotMapped)));
        assert!(!n.page(&page(0xa, PageState::NotMapped)));
    }

    #[test]
    fn flag_names_follow_the_table() {
        let t: Vec<_> = CRASH_VM_FLAGS
            .iter()
            .map(|(m, n)| (*m, n.to_string()))
            .collect();
        // a read-only private text mapping: VM_READ | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
        let v = VmFlags::new(0x71, &t, "t");
        assert_eq!(v.names, ["READ", "MAYREAD", "MAYWRITE", "MAYEXEC"]);
        assert_eq!(v.unnamed, 0);
        let v = VmFlags::new(1 << 40, &t, "t");
        assert!(v.names.is_empty());
        assert_eq!(v.unnamed, 1 << 40);
    }
}
