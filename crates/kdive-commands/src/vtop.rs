//! Address translation as crash prints it: `vtop` (each page-table level, the PTE's flags,
//! the VMA and the `struct page`), `ptov`, `pte`, `btop` and `ptob`.

use std::io::{self, Write};

use kdive_linux::mm::{read_vma, vmas};
use kdive_linux::stack::BacktraceContext;
use kdive_linux::task::TaskInfo;
use kdive_memory::{EntryFormat, KernelMemory, MmuDef};
use kdive_program::Program;
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::{justify, Justify};
use crate::kmem::pages::{page_header, page_line, MemMap, PageRow};
use crate::rd::parse_hex;
use crate::table;
use crate::tasks::{current_task, resolve};
use crate::vm::VmaRow;
use crate::{CommandError, Report, Session, TextOptions};

/// Width crash gives a user virtual address (`UVADDR_PRLEN` on x86_64).
const UVADDR_WIDTH: usize = 10;

/// One named bit of a page-table entry, and when crash names it.
struct PteBit {
    mask: u64,
    name: &'static str,
    /// Named only in a present entry (`Some(true)`), only in a non-present one (`Some(false)`).
    when_present: Option<bool>,
}

/// x86_64's entry bits in crash's order (`_PAGE_PROTNONE` is the global bit of a
/// non-present entry).
const X86_64_PTE_BITS: &[PteBit] = &[
    bit(1, "PRESENT"),
    bit(1 << 1, "RW"),
    bit(1 << 2, "USER"),
    bit(1 << 3, "PWT"),
    bit(1 << 4, "PCD"),
    bit(1 << 5, "ACCESSED"),
    bit(1 << 6, "DIRTY"),
    PteBit {
        mask: 1 << 7,
        name: "PSE",
        when_present: Some(true),
    },
    PteBit {
        mask: 1 << 8,
        name: "PROTNONE",
        when_present: Some(false),
    },
    bit(1 << 8, "GLOBAL"),
    bit(1 << 63, "NX"),
];

/// aarch64's entry bits in crash's order (Linux's `PTE_*`: `PTE_PROT_NONE` is software bit 58).
const ARM64_PTE_BITS: &[PteBit] = &[
    bit(1, "VALID"),
    bit(1 << 58, "PROT_NONE"),
    bit(1 << 6, "USER"),
    bit(1 << 7, "RDONLY"),
    bit(3 << 8, "SHARED"),
    bit(1 << 10, "AF"),
    bit(1 << 11, "NG"),
    bit(1 << 53, "PXN"),
    bit(1 << 54, "UXN"),
    bit(1 << 55, "DIRTY"),
    bit(1 << 56, "SPECIAL"),
];

/// aarch64's present-or-PROT_NONE test of an entry.
const ARM64_PRESENT: u64 = 1 | 1 << 58;

const fn bit(mask: u64, name: &'static str) -> PteBit {
    PteBit {
        mask,
        name,
        when_present: None,
    }
}

/// x86_64's present-or-protnone test and physical-address bits of an entry.
const X86_64_PRESENT: u64 = 1 | 1 << 8;

/// A page-table entry decoded: what crash's `pte` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PteRow {
    #[serde(with = "crate::hex")]
    pub pte: u64,
    /// The physical address the entry holds.
    #[serde(with = "crate::hex")]
    pub physical: u64,
    /// Present (or PROTNONE).
    pub present: bool,
    /// The bits set, by name.
    pub flags: Vec<String>,
}

impl PteRow {
    /// Decodes an entry of `format`'s architecture.
    pub fn new(pte: u64, format: &MmuDef) -> PteRow {
        let (bits, present_mask) = match format.entry {
            EntryFormat::X86 { .. } => (X86_64_PTE_BITS, X86_64_PRESENT),
            EntryFormat::Arm64 { .. } => (ARM64_PTE_BITS, ARM64_PRESENT),
        };
        let present = pte & present_mask != 0;
        let flags = bits
            .iter()
            .filter(|b| pte & b.mask != 0)
            .filter(|b| match b.when_present {
                Some(p) => p == (pte & 1 != 0),
                None => true,
            })
            .map(|b| b.name.to_string())
            .collect();
        PteRow {
            pte,
            physical: format.output_address(pte),
            present,
            flags,
        }
    }

    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let pte = format!("{:x}", self.pte);
        let phys = format!("{:x}", self.physical);
        let w1 = pte.len().max(3);
        let w2 = phys.len().max(8);
        writeln!(
            out,
            "{}  {}  FLAGS",
            justify("PTE", w1, Justify::Center),
            justify("PHYSICAL", w2, Justify::Center)
        )?;
        let flags = if self.pte == 0 {
            "no mapping".to_string()
        } else {
            self.flags.join("|")
        };
        writeln!(
            out,
            "{}  {}  ({flags})",
            justify(&pte, w1, Justify::CenterRight),
            justify(&phys, w2, Justify::CenterRight)
        )
    }
}

/// One level of a walk as `vtop` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VtopLevel {
    /// Linux's name of the level: `PGD`, `P4D`, `PUD`, `PMD`, `PTE`.
    pub level: String,
    /// Physical address of the entry.
    #[serde(with = "crate::hex")]
    pub entry_address: u64,
    #[serde(with = "crate::hex")]
    pub entry: u64,
}

/// How an address was translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Space {
    Kernel,
    User,
}

/// One address of `vtop`.
#[derive(Debug, Serialize, Deserialize)]
pub struct VtopEntry {
    #[serde(with = "crate::hex")]
    pub virtual_address: u64,
    pub space: Space,
    /// The physical address, when mapped.
    #[serde(with = "crate::hex_opt")]
    pub physical: Option<u64>,
    /// Why there is no walk: `not accessible` (outside the task's VMAs), `not a kernel
    /// virtual address`.
    pub unwalked: Option<String>,
    /// The kernel's top-level table, as a kernel virtual address (kernel walks only).
    #[serde(with = "crate::hex_opt")]
    pub pgd_directory: Option<u64>,
    pub levels: Vec<VtopLevel>,
    /// Where the walk ended: the page's physical base and its size in bytes.
    #[serde(with = "crate::hex_opt")]
    pub page: Option<u64>,
    pub page_size: Option<u64>,
    /// The page is the zero page (user pages only).
    pub zero_page: bool,
    /// The last entry read, decoded (when it is not zero).
    pub pte: Option<PteRow>,
    /// The VMA holding a user address.
    pub vma: Option<VmaRow>,
    /// The `struct page` of the physical page.
    pub page_struct: Option<PageRow>,
    pub phys_width: usize,
    /// What could not be read.
    pub problems: Vec<String>,
}

/// What `vtop` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Vtop {
    pub entries: Vec<VtopEntry>,
}

fn program_err(cmd: &'static str) -> impl Fn(kdive_program::ProgramError) -> CommandError {
    move |source| CommandError::Program { cmd, source }
}

fn kernel_memory<'a>(prog: &'a Program, cmd: &str) -> Result<&'a KernelMemory, CommandError> {
    prog.kernel_memory().map(|m| &**m).ok_or_else(|| {
        CommandError::Unavailable(format!("{cmd}: this kernel's page tables are not readable"))
    })
}

/// Parses a hexadecimal operand, as crash's `htol` does.
fn hex_arg(cmd: &str, w: &str) -> Result<u64, CommandError> {
    parse_hex(w).ok_or_else(|| CommandError::Usage(format!("{cmd}: invalid address: {w}")))
}

/// Runs `vtop [-c PID|TASK] [-u|-k] ADDR...`.
pub fn run_vtop(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::VTOP, args)?;
    if f.positional.is_empty() {
        return Err(CommandError::Usage(format!(
            "vtop: an address is required\nusage: {}",
            table::VTOP.synopsis()
        )));
    }
    if f.has('u') && f.has('k') {
        return Err(CommandError::Usage(
            "vtop: -u and -k options are mutually exclusive".into(),
        ));
    }
    let prog = s.kernel()?;
    let tasks = s.tasks()?;
    let task = match f.value('c') {
        Some(w) => resolve("vtop", &tasks.infos, w)?[0],
        None => {
            let ctx = BacktraceContext::new(prog, &tasks.list.active);
            let cur = current_task(s, &ctx)?;
            tasks
                .infos
                .iter()
                .find(|t| t.addr == cur)
                .ok_or_else(|| CommandError::Unavailable("vtop: no current context".into()))?
        }
    };
    Ok(Box::new(Vtop {
        entries: vtop_entries(s, &f, task)?,
    }))
}

/// `vtop`'s walk of each address `f` names, user addresses in `task`'s address space.
fn vtop_entries(s: &Session, f: &Flags, task: &TaskInfo) -> Result<Vec<VtopEntry>, CommandError> {
    let prog = s.kernel()?;
    let km = kernel_memory(prog, "vtop")?;
    let map = MemMap::new(prog, s.dump().kernel_page_size()).ok();
    let mut out = Vtop {
        entries: Vec::new(),
    };
    for w in &f.positional {
        let vaddr = hex_arg("vtop", w)?;
        let space = if f.has('u') {
            Space::User
        } else if f.has('k') {
            Space::Kernel
        } else if is_kernel(km, vaddr) {
            Space::Kernel
        } else if vaddr < user_top(km.mmu()) {
            Space::User
        } else {
            return Err(CommandError::Usage(format!(
                "vtop: ambiguous address: {vaddr:x}  (requires -u or -k)"
            )));
        };
        let mut e = match space {
            Space::Kernel => kernel_vtop(prog, km, vaddr),
            Space::User => user_vtop(s, prog, km, task.mm, vaddr),
        };
        e.phys_width = map.as_ref().map_or(8, MemMap::phys_width);
        if let (Some(p), Some(m)) = (e.physical, &map) {
            match m.row_of_phys(prog, p) {
                Some(Ok(r)) => e.page_struct = Some(r),
                Some(Err(err)) => e.problems.push(format!("struct page of {p:x}: {err}")),
                None => {}
            }
        }
        out.entries.push(e);
    }
    Ok(out.entries)
}

/// `foreach ... vtop ADDR...`: each address walked in each chosen task's address space, under
/// the task's header.
pub(crate) fn for_tasks<'s>(
    s: &'s Session,
    chosen: &[&TaskInfo],
    f: &Flags,
) -> Result<Box<dyn Report + 's>, CommandError> {
    if f.positional.is_empty() {
        return Err(CommandError::Usage(
            "foreach: vtop: an address argument is required".into(),
        ));
    }
    if f.has('c') {
        return Err(CommandError::Usage(
            "foreach: vtop: -c is foreach's to give: choose the tasks before the command".into(),
        ));
    }
    if f.has('u') && f.has('k') {
        return Err(CommandError::Usage(
            "vtop: -u and -k options are mutually exclusive".into(),
        ));
    }
    let mut tasks = Vec::new();
    for t in chosen {
        tasks.push(TaskVtop {
            pid: t.pid,
            task: t.addr,
            cpu: t.cpu,
            comm: t.comm.clone(),
            entries: vtop_entries(s, f, t)?,
        });
    }
    Ok(Box::new(ForeachVtop { tasks }))
}

/// What `foreach ... vtop` shows.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForeachVtop {
    pub tasks: Vec<TaskVtop>,
}

/// One task's walks.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskVtop {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
    pub entries: Vec<VtopEntry>,
}

impl Report for ForeachVtop {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        // crash prints the struct page header once per command, over every task
        let mut header = true;
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(
                out,
                "{}",
                crate::format::task_header(t.pid, t.task, t.cpu, &t.comm)
            )?;
            for e in &t.entries {
                e.write_with(out, header)?;
                header &= e.page_struct.is_none();
            }
        }
        Ok(())
    }
}

/// crash's `IS_KVADDR`: at or above the direct map.
fn is_kernel(km: &KernelMemory, vaddr: u64) -> bool {
    let start = km.direct_map_base().unwrap_or(!(user_top(km.mmu()) - 1));
    vaddr >= start
}

/// The first address above user space.
fn user_top(f: &MmuDef) -> u64 {
    1u64 << (f.va_bits.clamp(1, 64) - 1)
}

fn entry(vaddr: u64, space: Space) -> VtopEntry {
    VtopEntry {
        virtual_address: vaddr,
        space,
        physical: None,
        unwalked: None,
        pgd_directory: None,
        levels: Vec::new(),
        page: None,
        page_size: None,
        zero_page: false,
        pte: None,
        vma: None,
        page_struct: None,
        phys_width: 8,
        problems: Vec::new(),
    }
}

/// Fills the walk of `vaddr` from the table at physical `root`.
fn walk_into(e: &mut VtopEntry, km: &KernelMemory, root: u64) {
    match km.walk_from(root, e.virtual_address) {
        Ok(w) => {
            e.levels = w
                .steps
                .iter()
                .map(|st| VtopLevel {
                    level: st.linux.to_string(),
                    entry_address: st.entry_addr(),
                    entry: st.entry,
                })
                .collect();
            if let Some(m) = w.mapping {
                e.physical = Some(m.paddr);
                e.page = Some(m.page_base());
                e.page_size = Some(m.size);
            }
            // crash decodes the leaf, or a non-present PTE that is not empty (a swap entry)
            let leaf = w
                .steps
                .last()
                .filter(|st| w.mapping.is_some() || (st.linux == "PTE" && st.entry != 0));
            e.pte = leaf.map(|st| PteRow::new(st.entry, km.mmu()));
        }
        Err(err) => e.problems.push(err.to_string()),
    }
}

fn kernel_vtop(prog: &Program, km: &KernelMemory, vaddr: u64) -> VtopEntry {
    let mut e = entry(vaddr, Space::Kernel);
    if !is_kernel(km, vaddr) {
        e.unwalked = Some("not a kernel virtual address".into());
        return e;
    }
    e.pgd_directory = ["init_top_pgt", "swapper_pg_dir"]
        .iter()
        .find_map(|n| prog.symbol_address(n).ok());
    walk_into(&mut e, km, km.root());
    // crash's first line: the linear translation where there is one (the image, the direct map)
    if let Ok(p) = km.translate(vaddr) {
        e.physical = Some(p);
    }
    e
}

fn user_vtop(s: &Session, prog: &Program, km: &KernelMemory, mm: u64, vaddr: u64) -> VtopEntry {
    if is_kernel(km, vaddr) {
        return kernel_vtop(prog, km, vaddr);
    }
    let mut e = entry(vaddr, Space::User);
    let vma = if mm == 0 {
        None
    } else {
        find_vma(prog, mm, vaddr, s.walk_limit, &mut e.problems)
    };
    let Some(vma) = vma else {
        e.unwalked = Some("not accessible".into());
        return e;
    };
    e.vma = Some(vma);
    let pgd = prog
        .object("struct mm_struct", mm)
        .and_then(|m| m.member("pgd")?.read_u64());
    match pgd
        .map_err(|e| e.to_string())
        .and_then(|p| km.translate(p).map_err(|e| e.to_string()))
    {
        Ok(root) => walk_into(&mut e, km, root),
        Err(err) => e.problems.push(format!("mm_struct.pgd: {err}")),
    }
    let zero = zero_pages(prog, s.dump().kernel_page_size());
    e.zero_page = e.page.is_some_and(|p| zero.contains(&p));
    e
}

/// Physical addresses of the zero page and the huge zero page.
fn zero_pages(prog: &Program, page_size: u64) -> Vec<u64> {
    ["zero_pfn", "huge_zero_pfn"]
        .iter()
        .filter_map(|n| prog.read_u64(prog.symbol_address(n).ok()?).ok())
        .filter(|&pfn| pfn != u64::MAX)
        .map(|pfn| pfn.wrapping_mul(page_size))
        .collect()
}

/// The VMA of `mm` holding `vaddr`.
fn find_vma(
    prog: &Program,
    mm: u64,
    vaddr: u64,
    limit: usize,
    problems: &mut Vec<String>,
) -> Option<VmaRow> {
    let (addrs, errs) = match vmas(prog, mm, limit) {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("VMAs: {e}"));
            return None;
        }
    };
    problems.extend(errs);
    addrs.into_iter().find_map(|a| {
        let v = read_vma(prog, a).ok()?;
        (v.start <= vaddr && vaddr < v.end).then(|| VmaRow::from(v))
    })
}

impl VtopEntry {
    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_with(out, true)
    }

    /// Writes the walk; `page_header`: the struct page line gets its header.
    fn write_with(&self, out: &mut dyn Write, page_header_line: bool) -> io::Result<()> {
        let user = self.space == Space::User;
        let vw = if user { UVADDR_WIDTH } else { 16 };
        writeln!(
            out,
            "{}  {}",
            justify("VIRTUAL", vw, Justify::Left),
            justify("PHYSICAL", 16, Justify::Left)
        )?;
        let va = format!("{:x}", self.virtual_address);
        if let Some(why) = &self.unwalked {
            let w = if user { vw } else { 8 };
            writeln!(out, "{}  ({why})\n", justify(&va, w, Justify::Left))?;
            return self.write_problems(out);
        }
        match self.physical {
            Some(p) => writeln!(
                out,
                "{}  {}\n",
                justify(&va, vw, Justify::Left),
                justify(&format!("{p:x}"), 16, Justify::Left)
            )?,
            None => writeln!(out, "{}  (not mapped)\n", justify(&va, vw, Justify::Left))?,
        }
        for (i, l) in self.levels.iter().enumerate() {
            match (i, self.pgd_directory) {
                (0, Some(dir)) => {
                    writeln!(out, "PGD DIRECTORY: {dir:x}")?;
                    writeln!(out, "PAGE DIRECTORY: {:x}", l.entry)?;
                }
                _ => writeln!(
                    out,
                    "{:>6}: {:x} => {:x}",
                    l.level, l.entry_address, l.entry
                )?,
            }
        }
        if let (Some(page), Some(size)) = (self.page, self.page_size) {
            let label = match size {
                s if s >= 1 << 30 => "  (1GB)",
                s if s >= 1 << 21 && self.zero_page => "  (2MB, ZERO PAGE)",
                s if s >= 1 << 21 => "  (2MB)",
                _ if user && self.zero_page => "  (ZERO PAGE)",
                _ if user => "  ",
                _ => "",
            };
            writeln!(out, "  PAGE: {page:x}{label}\n")?;
            if let Some(p) = &self.pte {
                p.write(out)?;
            }
        } else if let Some(p) = &self.pte {
            writeln!(out)?;
            p.write(out)?;
        }
        if let Some(v) = &self.vma {
            writeln!(out)?;
            writeln!(out, "{}\n{}", VmaRow::HEADER, v.line())?;
        }
        writeln!(out)?;
        if let Some(r) = &self.page_struct {
            if page_header_line {
                writeln!(out, "{}", page_header(self.phys_width))?;
            }
            writeln!(out, "{}", page_line(r, self.phys_width))?;
        }
        self.write_problems(out)
    }

    fn write_problems(&self, out: &mut dyn Write) -> io::Result<()> {
        for p in &self.problems {
            writeln!(out, "vtop: {p}")?;
        }
        Ok(())
    }
}

impl Report for Vtop {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            e.write(out)?;
        }
        Ok(())
    }
}

/// One answer of `ptov`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PtovEntry {
    #[serde(with = "crate::hex")]
    pub physical: u64,
    /// Its direct-map address (`None`: no direct map known).
    #[serde(with = "crate::hex_opt")]
    pub virtual_address: Option<u64>,
    /// For `ptov OFFSET:CPUS`: each CPU's address of the per-CPU offset.
    pub per_cpu: Option<Vec<PerCpuAddress>>,
}

/// A per-CPU offset resolved on one CPU.
#[derive(Debug, Serialize, Deserialize)]
pub struct PerCpuAddress {
    pub cpu: u32,
    #[serde(with = "crate::hex")]
    pub address: u64,
}

/// What `ptov` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ptov {
    pub entries: Vec<PtovEntry>,
    /// The highest CPU number, which sets the width of the CPU column.
    pub cpus: u32,
}

/// Runs `ptov PADDR...` and `ptov OFFSET:CPUS...`.
pub fn run_ptov(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::PTOV, args)?;
    if f.positional.is_empty() {
        return Err(CommandError::Usage(format!(
            "ptov: an address is required\nusage: {}",
            table::PTOV.synopsis()
        )));
    }
    let prog = s.kernel()?;
    let cpus = kdive_linux::percpu::possible_cpus(prog).map_err(program_err("ptov"))?;
    let mut out = Ptov {
        entries: Vec::new(),
        cpus: cpus.last().copied().unwrap_or(0),
    };
    for w in &f.positional {
        let (num, spec) = match w.split_once(':') {
            Some((n, c)) => (n, Some(c)),
            None => (w.as_str(), None),
        };
        let paddr = hex_arg("ptov", num)?;
        let per_cpu = match spec {
            None => None,
            Some(spec) => {
                let chosen = cpu_list(spec, &cpus, s)?;
                let mut v = Vec::new();
                for c in chosen {
                    let off = kdive_linux::percpu::per_cpu_offset(prog, c)
                        .map_err(program_err("ptov"))?;
                    v.push(PerCpuAddress {
                        cpu: c,
                        address: paddr.wrapping_add(off),
                    });
                }
                Some(v)
            }
        };
        out.entries.push(PtovEntry {
            physical: paddr,
            virtual_address: spec
                .is_none()
                .then(|| kdive_linux::mm::direct_map_base(prog).checked_add(paddr))
                .flatten(),
            per_cpu,
        });
    }
    Ok(Box::new(out))
}

/// crash's CPU list: `a`/`all`, `1,3`, `0-2`; empty for the current CPU.
fn cpu_list(spec: &str, cpus: &[u32], s: &Session) -> Result<Vec<u32>, CommandError> {
    let bad = || CommandError::Usage(format!("ptov: invalid cpu specification: {spec}"));
    if spec.is_empty() {
        let prog = s.kernel()?;
        let tasks = s.tasks()?;
        let ctx = BacktraceContext::new(prog, &tasks.list.active);
        let cur = current_task(s, &ctx)?;
        let cpu = tasks
            .infos
            .iter()
            .find(|t| t.addr == cur)
            .map_or(0, |t| t.cpu);
        return Ok(vec![cpu]);
    }
    if spec == "a" || spec == "all" {
        return Ok(cpus.to_vec());
    }
    let mut out = Vec::new();
    for part in spec.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a > b || b > 8191 {
            return Err(bad());
        }
        out.extend((a..=b).filter(|c| cpus.contains(c)));
    }
    Ok(out)
}

impl Report for Ptov {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for (i, e) in self.entries.iter().enumerate() {
            let sep = if i > 0 { "\n" } else { "" };
            match &e.per_cpu {
                Some(list) => {
                    let w = format!("[{}]", self.cpus).len() + 2;
                    writeln!(out, "{sep}PER-CPU OFFSET: {:x}", e.physical)?;
                    writeln!(
                        out,
                        "  {}  {}",
                        justify("CPU", w, Justify::Left),
                        justify("VIRTUAL", 16, Justify::Left)
                    )?;
                    for c in list {
                        let label = format!("[{}]", c.cpu);
                        writeln!(
                            out,
                            "  {}{:x}",
                            justify(&label, w, Justify::Left),
                            c.address
                        )?;
                    }
                }
                None => {
                    writeln!(
                        out,
                        "{sep}{}  {}",
                        justify("VIRTUAL", 16, Justify::Left),
                        justify("PHYSICAL", 16, Justify::Left)
                    )?;
                    let v = e
                        .virtual_address
                        .map_or("unknown".to_string(), |v| format!("{v:x}"));
                    writeln!(
                        out,
                        "{}  {}",
                        justify(&v, 16, Justify::Left),
                        justify(&format!("{:x}", e.physical), 16, Justify::Left)
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// What `pte` reports: each entry decoded.
#[derive(Debug, Serialize, Deserialize)]
pub struct Pte {
    pub entries: Vec<PteRow>,
}

/// Runs `pte VALUE...`.
pub fn run_pte(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::PTE, args)?;
    if f.positional.is_empty() {
        return Err(CommandError::Usage(format!(
            "pte: a value is required\nusage: {}",
            table::PTE.synopsis()
        )));
    }
    let x86_64 = kdive_memory::x86_64::mmu(false, 0);
    let format = s
        .kernel()
        .ok()
        .and_then(|p| p.kernel_memory())
        .map_or(&x86_64, |m| m.mmu());
    let entries = f
        .positional
        .iter()
        .map(|w| Ok(PteRow::new(hex_arg("pte", w)?, format)))
        .collect::<Result<_, CommandError>>()?;
    Ok(Box::new(Pte { entries }))
}

impl Report for Pte {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        self.entries.iter().try_for_each(|e| e.write(out))
    }
}

/// Which way `btop`/`ptob` converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Conversion {
    /// Bytes (an address) to a page frame number.
    Btop,
    /// A page frame number to bytes.
    Ptob,
}

/// One conversion.
#[derive(Debug, Serialize, Deserialize)]
pub struct Converted {
    #[serde(with = "crate::hex")]
    pub value: u64,
    #[serde(with = "crate::hex")]
    pub result: u64,
}

/// What `btop` and `ptob` report.
#[derive(Debug, Serialize, Deserialize)]
pub struct PageFrames {
    pub conversion: Conversion,
    pub values: Vec<Converted>,
}

/// Runs `btop ADDR...`: addresses to page frame numbers.
pub fn run_btop(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    frames(s, args, Conversion::Btop)
}

/// Runs `ptob PFN...`: page frame numbers to addresses.
pub fn run_ptob(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    frames(s, args, Conversion::Ptob)
}

fn frames(s: &Session, args: &[String], c: Conversion) -> Result<Box<dyn Report>, CommandError> {
    let (cmd, entry) = match c {
        Conversion::Btop => ("btop", &table::BTOP),
        Conversion::Ptob => ("ptob", &table::PTOB),
    };
    let f = Flags::parse(entry, args)?;
    if f.positional.is_empty() {
        return Err(CommandError::Usage(format!(
            "{cmd}: a value is required\nusage: {}",
            entry.synopsis()
        )));
    }
    let shift = s.dump().kernel_page_size().max(1).trailing_zeros();
    let mut values = Vec::new();
    for w in &f.positional {
        // crash: btop takes hexadecimal; ptob a number (decimal, or hex with 0x or a-f)
        let value = match c {
            Conversion::Btop => hex_arg(cmd, w)?,
            Conversion::Ptob => parse_number(w)
                .ok_or_else(|| CommandError::Usage(format!("{cmd}: invalid number: {w}")))?,
        };
        let result = match c {
            Conversion::Btop => value >> shift,
            Conversion::Ptob => value
                .checked_shl(shift)
                .filter(|r| r >> shift == value)
                .ok_or_else(|| {
                    CommandError::Usage(format!("{cmd}: {w} pages is past the address space"))
                })?,
        };
        values.push(Converted { value, result });
    }
    Ok(Box::new(PageFrames {
        conversion: c,
        values,
    }))
}

/// crash's `stoll`: `0x` hex, hex when a digit is a letter, else decimal.
fn parse_number(w: &str) -> Option<u64> {
    if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    if w.chars().any(|c| c.is_ascii_alphabetic()) {
        return u64::from_str_radix(w, 16).ok();
    }
    w.parse().ok()
}

impl Report for PageFrames {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for v in &self.values {
            writeln!(out, "{:x}: {:x}", v.value, v.result)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kdive_testdata::paging::{PageTables, KB4};

    fn text(p: &PteRow) -> String {
        let mut b = Vec::new();
        p.write(&mut b).unwrap();
        String::from_utf8(b).unwrap()
    }

    /// An aarch64 user page entry: the bits named by Linux's `PTE_*` definitions
    /// (arch/arm64/include/asm/pgtable-hwdef.h, pgtable-prot.h), in crash's order; the output
    /// address of a 52-bit LPA2 entry (bits 8-9 are address bits 50-51 there: crash still calls
    /// them SHARED, and so does kdive).
    #[test]
    fn arm64_entry_flags() {
        let format = kdive_memory::aarch64::mmu(12, 52).unwrap();
        // valid, page, AP[1] user, AP[2] read-only, AF, nG, PXN
        let pte = 1 | 1 << 1 | 1 << 6 | 1 << 7 | 1 << 10 | 1 << 11 | 1 << 53 | 0x4fe0_0000;
        let row = PteRow::new(pte, &format);
        assert!(row.present);
        assert_eq!(row.physical, 0x4fe0_0000);
        assert_eq!(row.flags, ["VALID", "USER", "RDONLY", "AF", "NG", "PXN"]);
        // PROT_NONE: not valid, still present
        let row = PteRow::new(1 << 58 | 1 << 10 | 0x1000, &format);
        assert!(row.present);
        assert_eq!(row.flags, ["PROT_NONE", "AF"]);
    }

    #[test]
    fn pte_as_crash() {
        // a-sysrq-6.1, 040-pte-task.txt
        assert_eq!(
            text(&PteRow::new(
                0x800000001be90163,
                &kdive_memory::x86_64::mmu(false, 0)
            )),
            "      PTE         PHYSICAL  FLAGS\n\
             800000001be90163  1be90000  (PRESENT|RW|ACCESSED|DIRTY|GLOBAL|NX)\n"
        );
        // c-hung-task-6.12: a 7-digit physical address
        assert_eq!(
            text(&PteRow::new(
                0x8000000001378163,
                &kdive_memory::x86_64::mmu(false, 0)
            )),
            "      PTE         PHYSICAL  FLAGS\n\
             8000000001378163   1378000  (PRESENT|RW|ACCESSED|DIRTY|GLOBAL|NX)\n"
        );
        // f-healthy-6.12-qemu: a 2M page
        assert_eq!(
            text(&PteRow::new(
                0x80000000084001e3,
                &kdive_memory::x86_64::mmu(false, 0)
            )),
            "      PTE         PHYSICAL  FLAGS\n\
             80000000084001e3   8400000  (PRESENT|RW|ACCESSED|DIRTY|PSE|GLOBAL|NX)\n"
        );
        // a user page (036-vtop-user-fdhog.txt)
        assert_eq!(
            text(&PteRow::new(
                0xbdd5025,
                &kdive_memory::x86_64::mmu(false, 0)
            )),
            "  PTE    PHYSICAL  FLAGS\nbdd5025   bdd5000  (PRESENT|USER|ACCESSED)\n"
        );
        // a PROTNONE entry names PROTNONE, not GLOBAL, and no PSE
        let p = PteRow::new(0x1234_5180, &kdive_memory::x86_64::mmu(false, 0));
        assert!(p.present);
        assert_eq!(p.flags, ["PROTNONE", "GLOBAL"]);
    }

    /// The walk of `vaddr` crash prints, read from the tables `b` built: `(level, entry
    /// address, entry)` from the top down to the entry at `leaf_shift`.
    fn expected_levels(b: &PageTables, vaddr: u64, leaf_shift: u32) -> Vec<(String, u64, u64)> {
        let names: &[&str] = if b.five_level {
            &["PGD", "P4D", "PUD", "PMD", "PTE"]
        } else {
            &["PGD", "PUD", "PMD", "PTE"]
        };
        let mut table = b.root;
        let mut out = Vec::new();
        for (name, shift) in names.iter().zip(b.shifts()) {
            if shift < leaf_shift {
                break;
            }
            let at = table + ((vaddr >> shift) & 0x1ff) * 8;
            let e = b.read_u64(at);
            out.push((name.to_string(), at, e));
            table = e & 0x000f_ffff_ffff_f000;
        }
        out
    }

    /// `vtop`'s text for kernel address `vaddr` over the tables of `b`.
    fn kernel_walk(b: PageTables, vaddr: u64) -> (VtopEntry, String) {
        let dir = b.init_top_pgt();
        let km = b.memory();
        let mut e = entry(vaddr, Space::Kernel);
        e.pgd_directory = Some(dir);
        walk_into(&mut e, &km, km.root());
        let mut t = Vec::new();
        e.write(&mut t).unwrap();
        (e, String::from_utf8(t).unwrap())
    }

    /// The lines crash prints for a walk: the top entry as PAGE DIRECTORY, then each level.
    fn level_lines(dir: u64, levels: &[(String, u64, u64)]) -> String {
        let mut s = format!(
            "PGD DIRECTORY: {dir:x}\nPAGE DIRECTORY: {:x}\n",
            levels[0].2
        );
        for (name, at, e) in &levels[1..] {
            s += &format!("{name:>6}: {at:x} => {e:x}\n");
        }
        s
    }

    #[test]
    fn five_level_walk_prints_p4d() {
        let mut b = PageTables::new(true);
        let v = 0xff11_0000_0123_4000u64;
        b.map(v, 0x0600_0000, KB4, 1 << 63);
        let levels = expected_levels(&b, v, 12);
        assert_eq!(levels.len(), 5);
        let dir = b.init_top_pgt();
        let (e, text) = kernel_walk(b, v + 0x10);
        assert_eq!(e.physical, Some(0x0600_0010));
        assert_eq!((e.page, e.page_size), (Some(0x0600_0000), Some(KB4)));
        let want = format!(
            "VIRTUAL           PHYSICAL        \n\
             ff11000001234010  6000010         \n\n{}  PAGE: 6000000\n\n\
             \x20     PTE         PHYSICAL  FLAGS\n\
             8000000006000003   6000000  (PRESENT|RW|NX)\n\n",
            level_lines(dir, &levels)
        );
        assert_eq!(text, want);
        assert!(text.contains("   P4D: "), "{text}");
    }

    #[test]
    fn huge_pages_end_the_walk_with_their_size() {
        // 1G: the walk stops at the PUD; crash prints no PMD line
        let mut b = PageTables::new(false);
        let v = 0xffff_8880_4000_0000u64;
        b.map(v, 0x4000_0000, 1 << 30, 0);
        let levels = expected_levels(&b, v, 30);
        let dir = b.init_top_pgt();
        let (e, text) = kernel_walk(b, v + 0x12_3456);
        assert_eq!(e.physical, Some(0x4012_3456));
        assert_eq!(e.page_size, Some(1 << 30));
        assert!(
            text.contains(&format!(
                "{}  PAGE: 40000000  (1GB)\n\n  PTE     PHYSICAL  FLAGS\n\
                 40000083  40000000  (PRESENT|RW|PSE)\n",
                level_lines(dir, &levels)
            )),
            "{text}"
        );
        assert!(!text.contains("PMD:"), "{text}");

        // 2M: the walk stops at the PMD
        let mut b = PageTables::new(false);
        let v = 0xffff_c900_0020_0000u64;
        b.map(v, 0x0220_0000, 1 << 21, 0);
        let levels = expected_levels(&b, v, 21);
        assert_eq!(levels.last().unwrap().0, "PMD");
        let dir = b.init_top_pgt();
        let (e, text) = kernel_walk(b, v + 0x1000);
        assert_eq!(e.physical, Some(0x0220_1000));
        assert!(
            text.contains(&format!(
                "{}  PAGE: 2200000  (2MB)\n",
                level_lines(dir, &levels)
            )),
            "{text}"
        );
        assert!(!text.contains("PTE:"), "{text}");
    }

    #[test]
    fn unmapped_levels_stop_the_walk() {
        // a PTE table whose entry is empty: crash prints the PTE line and "(not mapped)"
        let mut b = PageTables::new(false);
        let v = 0xffff_c900_0000_3000u64;
        b.map(v, 0x0300_0000, KB4, 0);
        let levels = expected_levels(&b, v + KB4, 12);
        assert_eq!(levels.last().unwrap().2, 0);
        let (e, text) = kernel_walk(b, v + KB4);
        assert_eq!(e.physical, None);
        assert!(e.pte.is_none());
        assert!(
            text.starts_with(
                "VIRTUAL           PHYSICAL        \n\
                                  ffffc90000004000  (not mapped)\n\n"
            ),
            "{text}"
        );
        assert_eq!(e.levels.len(), 4);

        // a top-level entry that is not present: one line, no page
        let b = PageTables::new(false);
        let (e, text) = kernel_walk(b, 0xffff_8880_0000_0000);
        assert_eq!(e.levels.len(), 1);
        assert_eq!(e.levels[0].entry, 0);
        assert!(text.contains("PAGE DIRECTORY: 0\n"), "{text}");
        assert!(!text.contains("PAGE:"), "{text}");
    }

    #[test]
    fn numbers_as_crash() {
        assert_eq!(parse_number("0x12345"), Some(0x12345));
        assert_eq!(parse_number("12345"), Some(12345));
        assert_eq!(parse_number("1f"), Some(0x1f));
        assert_eq!(parse_number("zz"), None);
    }
}
