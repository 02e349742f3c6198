//! `kmem ADDR`: everything crash's `kmem_search` says about an address, in its order: the
//! kernel symbol it is in, the task whose vmalloc'd stack and the vmalloc area holding it,
//! the slab cache, slab and object, the free block of the buddy allocator, the task whose
//! `task_struct` or stack it is, and its `struct page`.

use std::io::{self, Write};

use kdive_linux::mmzone::{buddy_block_of, free_list, nodes, FreeAreaLayout};
use kdive_linux::page::PageMark;
use kdive_linux::stack::BacktraceContext;
use kdive_linux::task::TaskInfo;
use kdive_linux::vmalloc::vmap_areas;
use kdive_memory::x86_64::START_KERNEL_MAP;
use kdive_program::Program;
use serde::{Deserialize, Serialize};

use super::pages::{page_header, page_line, MemMap, PageRow};
use super::slabs::{SlabLookup, SlabReport};
use super::vmalloc::{vmap_header, vmap_line, VmapAreaRow};
use super::zones::{area_line, ZoneLine};
use crate::sym::SymRow;
use crate::{CommandError, Report, Session, TextOptions};

/// A task, as crash's `show_context` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskContext {
    pub pid: i32,
    pub comm: String,
    #[serde(with = "crate::hex")]
    pub task: u64,
    /// Tasks with this PID (the idle tasks share PID 0).
    pub tasks_with_pid: usize,
    /// The task's `thread_info` (the task itself when it is embedded).
    #[serde(with = "crate::hex_opt")]
    pub thread_info: Option<u64>,
    pub cpu: u32,
    /// crash's long state: `TASK_RUNNING`, `TASK_INTERRUPTIBLE`...
    pub state: String,
    /// `PANIC` or `ACTIVE` for a task running on a CPU.
    pub running: Option<String>,
}

impl TaskContext {
    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "    PID: {}", self.pid)?;
        writeln!(out, "COMMAND: \"{}\"", self.comm)?;
        write!(out, "   TASK: {:x}  ", self.task)?;
        if self.tasks_with_pid > 1 {
            write!(out, "(1 of {})  ", self.tasks_with_pid)?;
        }
        if let Some(ti) = self.thread_info {
            write!(out, "[THREAD_INFO: {ti:x}]")?;
        }
        writeln!(out)?;
        writeln!(out, "    CPU: {}", self.cpu)?;
        write!(out, "  STATE: {} ", self.state)?;
        if let Some(r) = &self.running {
            write!(out, "({r})")?;
        }
        writeln!(out)
    }
}

/// The free block of the buddy allocator holding the address.
#[derive(Debug, Serialize, Deserialize)]
pub struct FreeBlock {
    /// The NODE heading crash prints with more than one node.
    pub node_heading: Option<u32>,
    pub zone: ZoneLine,
    pub order: u64,
    /// The free list's `list_head`.
    #[serde(with = "crate::hex")]
    pub list_head: u64,
    /// The block's first `struct page`.
    #[serde(with = "crate::hex")]
    pub first_page: u64,
    /// Pages in the block.
    pub pages: u64,
    pub page_size: u64,
    /// The address's page in the block, from 1 (for a block of more than one page).
    pub nth: Option<u64>,
}

/// One thing found about the address (`"finding": "symbol"`, ...; a symbol has a `kind` of its own).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "kebab-case")]
pub enum Finding {
    /// The kernel or module symbol the address is in.
    Symbol(SymRow),
    /// The task whose `task_struct` or stack holds the address.
    Task(TaskContext),
    /// The vmalloc area holding the address.
    Vmalloc(VmapAreaRow),
    /// The slab cache, slab and object holding the address.
    Slab(SlabReport),
    /// The free block holding the address's page.
    FreeBlock(FreeBlock),
}

/// What `kmem` says about one address.
#[derive(Debug, Serialize, Deserialize)]
pub struct AddressReport {
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// The address was taken as physical (below the direct map, or with -P).
    pub physical: bool,
    pub findings: Vec<Finding>,
    /// The `struct page` of the address's page; `None`: not in the mem map.
    pub page: Option<PageRow>,
    pub phys_width: usize,
    pub problems: Vec<String>,
}

/// `kmem ADDR...`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemAddress {
    pub addresses: Vec<AddressReport>,
}

/// Everything the lookups share, read once per command.
struct Ctx<'a> {
    prog: &'a Program,
    map: MemMap,
    slabs: SlabLookup,
    tasks: &'a [TaskInfo],
    /// `(task, stack base)` of every task whose stack could be read.
    stacks: Vec<(u64, u64)>,
    thread_size: u64,
    task_size: u64,
    thread_info_in_task: bool,
    active: std::collections::BTreeMap<u32, u64>,
    panic_task: Option<u64>,
    direct_map: u64,
    page_size: u64,
    limit: usize,
}

/// Runs `kmem ADDR...` (`physical`: the addresses are physical, `-P`).
pub fn run(
    s: &Session,
    prog: &Program,
    words: &[String],
    physical: bool,
) -> Result<Box<dyn Report>, CommandError> {
    let page_size = s.dump().kernel_page_size().max(1);
    let map = MemMap::new(prog, page_size)?;
    let tasks = s.tasks()?;
    let bt = BacktraceContext::new(prog, &tasks.list.active);
    let task_ty = prog.type_("struct task_struct").ok();
    let stacks = tasks
        .infos
        .iter()
        .filter_map(|t| Some((t.addr, bt.task_stack(prog, t.addr).ok()?.start)))
        .collect();
    let ctx = Ctx {
        prog,
        slabs: SlabLookup::new(prog, map.layout, page_size, s.walk_limit),
        map,
        tasks: &tasks.infos,
        stacks,
        thread_size: bt.thread_size(),
        task_size: task_ty
            .and_then(|t| prog.types().size_of(t).ok())
            .unwrap_or(0),
        thread_info_in_task: task_ty.is_some_and(|t| prog.types().has_member(t, "thread_info")),
        active: bt.active.clone(),
        panic_task: bt.panic_cpu.and_then(|c| bt.active.get(&c)).copied(),
        direct_map: kdive_linux::mm::direct_map_base(prog),
        page_size,
        limit: s.walk_limit,
    };
    let mut out = KmemAddress {
        addresses: Vec::new(),
    };
    for w in words {
        let a = super::pages::hex_operand(w)?;
        out.addresses
            .push(ctx.search(a, physical || a < ctx.direct_map));
    }
    Ok(Box::new(out))
}

impl Ctx<'_> {
    fn translate(&self, vaddr: u64) -> Option<u64> {
        self.prog.kernel_memory()?.translate(vaddr).ok()
    }

    /// crash's `kmem_search`.
    fn search(&self, addr: u64, physical: bool) -> AddressReport {
        let mut r = AddressReport {
            address: addr,
            physical,
            findings: Vec::new(),
            page: None,
            phys_width: self.map.phys_width(),
            problems: Vec::new(),
        };
        // the virtual address to look at: a physical one through the direct map
        let vaddr = if physical {
            self.high_memory()
                .filter(|&hm| addr < hm)
                .map(|_| self.direct_map.wrapping_add(addr))
        } else {
            Some(addr)
        };
        if let Some(sym) = vaddr.and_then(|v| self.symbol(v)) {
            r.findings.push(Finding::Symbol(sym));
        }
        // the page whose struct page is shown at the end: the address's own page, or the
        // page of a vmalloc address
        let mut page_phys = None;
        if !physical && self.is_vmalloc(addr) {
            if let Some(t) = self.stack_task(addr) {
                r.findings.push(Finding::Task(t));
            }
            if let Some(p) = self.translate(addr) {
                if let Some(a) = self.area_of(addr) {
                    r.findings.push(Finding::Vmalloc(a));
                    page_phys = Some(p);
                }
            }
        }
        if physical && page_phys.is_none() {
            if let Some((va, area)) = self.vmalloc_of_phys(addr) {
                if let Some(t) = self.stack_task(va) {
                    r.findings.push(Finding::Task(t));
                }
                if let Some((sym, off)) = self.prog.symbols().by_addr(va) {
                    r.findings
                        .push(Finding::Symbol(SymRow::new(self.prog, &sym, off)));
                }
                r.findings.push(Finding::Vmalloc(area));
                page_phys = Some(addr);
            }
        }
        if page_phys.is_none() {
            if let Some(v) = vaddr {
                self.slab_findings(v, &mut r);
            }
            match free_block(self.prog, &self.map, addr, physical, self.limit) {
                Ok(Some(b)) => r.findings.push(Finding::FreeBlock(b)),
                Ok(None) => {}
                Err(e) => r.problems.push(format!("free lists: {e}")),
            }
            if let Some(t) = vaddr.and_then(|v| self.task_of(v).or_else(|| self.stack_task(v))) {
                r.findings.push(Finding::Task(t));
            }
        }
        // the struct page: the address is one, or its page has one
        let row = match (page_phys, vaddr) {
            (Some(p), _) => self.map.row_of_phys(self.prog, p),
            (None, Some(v)) if !physical => match self.map.sections.page_to_pfn(v) {
                Some(pfn) => Some(self.map.row(self.prog, v, pfn)),
                None => self
                    .translate(v)
                    .and_then(|p| self.map.row_of_phys(self.prog, p)),
            },
            (None, _) if physical => self.map.row_of_phys(self.prog, addr),
            _ => None,
        };
        match row {
            Some(Ok(p)) => r.page = Some(p),
            Some(Err(e)) => r.problems.push(format!("struct page: {e}")),
            None => {}
        }
        r
    }

    /// `high_memory` as a physical address.
    fn high_memory(&self) -> Option<u64> {
        let v = self
            .prog
            .read_u64(self.prog.symbol_address("high_memory").ok()?)
            .ok()?;
        v.checked_sub(self.direct_map)
    }

    /// The symbol of `vaddr` when it is in the kernel image (`_stext`..`_end`) or a module.
    fn symbol(&self, vaddr: u64) -> Option<SymRow> {
        let syms = self.prog.symbols();
        let in_image = match (syms.address_of("_stext"), syms.address_of("_end")) {
            (Some(a), Some(b)) => (a..=b).contains(&vaddr),
            _ => false,
        };
        let module_space = vaddr >= START_KERNEL_MAP.wrapping_add(self.image_size())
            && vaddr < 0xffff_ffff_ff00_0000;
        if !in_image && !module_space {
            return None;
        }
        let (sym, off) = syms.by_addr(vaddr)?;
        if !in_image && sym.module.is_none() {
            return None;
        }
        Some(SymRow::new(self.prog, &sym, off))
    }

    fn image_size(&self) -> u64 {
        self.prog
            .dump()
            .and_then(|d| d.vmcoreinfo())
            .and_then(|i| i.number("KERNEL_IMAGE_SIZE"))
            .map_or(1 << 30, |v| v as u64)
    }

    /// crash's `IS_VMALLOC_ADDR` on x86_64: vmalloc space, vmemmap, modules, the CPU entry
    /// area: a kernel address outside the direct map and the kernel image.
    fn is_vmalloc(&self, vaddr: u64) -> bool {
        let direct_end = self.direct_map.wrapping_add(1 << 46);
        let in_direct = vaddr >= self.direct_map && vaddr < direct_end;
        let in_image =
            vaddr >= START_KERNEL_MAP && vaddr < START_KERNEL_MAP.wrapping_add(self.image_size());
        vaddr >= self.direct_map && !in_direct && !in_image
    }

    /// The vmalloc area holding `vaddr`.
    fn area_of(&self, vaddr: u64) -> Option<VmapAreaRow> {
        let (areas, _) = vmap_areas(self.prog, self.limit).ok()?;
        areas
            .into_iter()
            .find(|a| a.start <= vaddr && vaddr < a.end)
            .map(VmapAreaRow::from)
    }

    /// The vmalloc address mapping physical `paddr`, and its area.
    fn vmalloc_of_phys(&self, paddr: u64) -> Option<(u64, VmapAreaRow)> {
        let (areas, _) = vmap_areas(self.prog, self.limit).ok()?;
        super::vmalloc::mapping_phys(self.prog, areas, paddr, self.page_size).next()
    }

    /// The slab cache, slab and object of `vaddr`; and if `vaddr` is a slab's head `struct
    /// page`, that slab with all its objects.
    fn slab_findings(&self, vaddr: u64, r: &mut AddressReport) {
        let page = self
            .translate(vaddr)
            .and_then(|p| self.map.sections.phys_to_page(p));
        if let Some((cache, slab)) = page.and_then(|p| self.slabs.slab_of(self.prog, p)) {
            match self
                .slabs
                .report(self.prog, &self.map.sections, cache, slab, vaddr, false)
            {
                Ok(s) => r.findings.push(Finding::Slab(s)),
                Err(e) => r.problems.push(format!("slab: {e}")),
            }
        }
        if self.map.sections.page_to_pfn(vaddr).is_some() {
            if let Some(cache) = self.slabs.is_slab_head(self.prog, vaddr) {
                match self
                    .slabs
                    .report(self.prog, &self.map.sections, cache, vaddr, vaddr, true)
                {
                    Ok(s) => r.findings.push(Finding::Slab(s)),
                    Err(e) => r.problems.push(format!("slab: {e}")),
                }
            }
        }
    }

    /// The task whose `task_struct` holds `vaddr`.
    fn task_of(&self, vaddr: u64) -> Option<TaskContext> {
        let t = self
            .tasks
            .iter()
            .find(|t| vaddr >= t.addr && vaddr - t.addr < self.task_size)?;
        Some(self.context(t))
    }

    /// The task whose stack holds `vaddr`.
    fn stack_task(&self, vaddr: u64) -> Option<TaskContext> {
        let (task, _) = self
            .stacks
            .iter()
            .find(|(_, base)| vaddr >= *base && vaddr - base < self.thread_size)?;
        let t = self.tasks.iter().find(|t| t.addr == *task)?;
        Some(self.context(t))
    }

    fn context(&self, t: &TaskInfo) -> TaskContext {
        let running = self.active.values().any(|&a| a == t.addr);
        TaskContext {
            pid: t.pid,
            comm: t.comm.clone(),
            task: t.addr,
            tasks_with_pid: self.tasks.iter().filter(|o| o.pid == t.pid).count(),
            thread_info: if self.thread_info_in_task {
                Some(t.addr)
            } else {
                self.stacks.iter().find(|(a, _)| *a == t.addr).map(|s| s.1)
            },
            cpu: t.cpu,
            state: t.state_names(),
            running: running.then(|| {
                if Some(t.addr) == self.panic_task {
                    "PANIC".to_string()
                } else {
                    "ACTIVE".to_string()
                }
            }),
        }
    }
}

/// crash's `dump_free_pages` searching for an address: the free block holding the page of `addr` (a `struct page`, a kernel virtual address,
/// or with `physical` a physical one).
pub(crate) fn free_block(
    prog: &Program,
    map: &MemMap,
    addr: u64,
    physical: bool,
    limit: usize,
) -> kdive_program::Result<Option<FreeBlock>> {
    let sections = &map.sections;
    let paddr = if physical {
        Some(addr)
    } else {
        match sections.page_to_pfn(addr) {
            Some(pfn) => Some(pfn << sections.page_shift),
            None => prog.kernel_memory().and_then(|m| m.translate(addr).ok()),
        }
    };
    let Some(paddr) = paddr else { return Ok(None) };
    let Some(buddy) = PageMark::buddy(prog) else {
        return Ok(None);
    };
    let l = FreeAreaLayout::new(prog)?;
    let pfn = paddr >> sections.page_shift;
    let Some((head, order)) = buddy_block_of(prog, sections, &map.layout, buddy, &l, pfn)? else {
        return Ok(None);
    };
    let Some(head_page) = sections.pfn_to_page(head) else {
        return Ok(None);
    };
    let all = nodes(prog)?;
    let multi = all.len() > 1;
    for n in &all {
        for z in &n.zones {
            if z.free_pages == 0 || head < z.start_pfn || head - z.start_pfn >= z.spanned {
                continue;
            }
            for mt in 0..l.migrate_types {
                let fl = free_list(prog, &l, z.addr, order, mt, limit);
                if fl.blocks.contains(&head_page) {
                    let pages = 1u64 << order;
                    return Ok(Some(FreeBlock {
                        node_heading: multi.then_some(n.id),
                        zone: ZoneLine::new(map, n, z, sections.page_shift),
                        order,
                        list_head: fl.head,
                        first_page: head_page,
                        pages,
                        page_size: 1u64 << sections.page_shift,
                        nth: (pages > 1).then_some(pfn - head + 1),
                    }));
                }
            }
        }
    }
    Ok(None)
}

/// crash's `ordinal`: 1st, 2nd, 3rd, 4th... by the last digit alone (it writes 11st).
fn ordinal(n: u64) -> String {
    let suffix = match n % 10 {
        1 => "st",
        2 => "nd",
        3 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl FreeBlock {
    /// crash's lines for the block: its zone, its free list, and its first page (with which
    /// of its pages `address` is in).
    pub(crate) fn write(
        &self,
        address: u64,
        physical: bool,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if let Some(n) = self.node_heading {
            writeln!(out, "NODE\n {n:2}")?;
        }
        writeln!(out, "{}", ZoneLine::header())?;
        writeln!(out, "{}", self.zone.line())?;
        writeln!(out, "AREA    SIZE  FREE_AREA_STRUCT")?;
        writeln!(
            out,
            "{}",
            area_line(self.order, self.list_head, self.page_size)
        )?;
        write!(out, "{:x}  ", self.first_page)?;
        if let Some(nth) = self.nth {
            let is = if physical && !address.is_multiple_of(self.page_size.max(1)) {
                "is in"
            } else {
                "is"
            };
            write!(
                out,
                "({address:x} {is} {} of {} pages)",
                ordinal(nth),
                self.pages
            )?;
        }
        writeln!(out)
    }
}

impl AddressReport {
    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        for f in &self.findings {
            match f {
                Finding::Symbol(s) => writeln!(out, "{}", s.line())?,
                Finding::Task(t) => t.write(out)?,
                Finding::Vmalloc(a) => {
                    writeln!(out, "{}", vmap_header())?;
                    writeln!(out, "{}", vmap_line(a))?;
                }
                Finding::Slab(s) => s.write(out)?,
                Finding::FreeBlock(b) => b.write(self.address, self.physical, out)?,
            }
            writeln!(out)?;
        }
        match &self.page {
            Some(p) => {
                writeln!(out, "{}", page_header(self.phys_width))?;
                writeln!(out, "{}", page_line(p, self.phys_width))?;
            }
            None => writeln!(
                out,
                "{:x}: {} address not found in mem map",
                self.address,
                if self.physical {
                    "physical"
                } else {
                    "kernel virtual"
                }
            )?,
        }
        for p in &self.problems {
            writeln!(out, "kmem: {p}")?;
        }
        Ok(())
    }
}

impl Report for KmemAddress {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for (i, a) in self.addresses.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            a.write(out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_as_crash() {
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(3), "3rd");
        assert_eq!(ordinal(12), "12nd", "crash looks at the last digit only");
        assert_eq!(ordinal(100), "100th");
    }
}
