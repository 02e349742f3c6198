//! Slabs object by object: the cache, slab and object of an address (`kmem ADDR`, `kmem -s
//! ADDR`) and every slab of a cache (`kmem -S`), as crash's SLUB code prints them.

use std::io::{self, Write};

use kdive_linux::page::{PageLayout, PageMark};
use kdive_linux::percpu::{per_cpu_offset, possible_cpus};
use kdive_linux::slab::{cache_addresses, slab_cache_at};
use kdive_linux::slab_object::{slab_contents, slab_descriptor, slab_of_page};
use kdive_linux::sparse::MemSections;
use kdive_program::object::offset_of;
use kdive_program::Program;
use serde::{Deserialize, Serialize};

use super::{cache_line, SlabRow};
use crate::{CommandError, Report, TextOptions};

/// Most slabs one list of `kmem -S` shows.
const MAX_SLABS: usize = 1 << 16;

fn program_err(source: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "kmem",
        source,
    }
}

/// `CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME`.
pub const CACHE_HEADER: &str = "CACHE             OBJSIZE  ALLOCATED     TOTAL  SLABS  SSIZE  NAME";
const SLAB_HEADER: &str = "  SLAB              MEMORY            NODE  TOTAL  ALLOCATED  FREE";

/// One object of a slab, as shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlabObject {
    #[serde(with = "crate::hex")]
    pub address: u64,
    pub free: bool,
    /// A free object on this CPU's freelist (the slab is the CPU's).
    pub cpu: Option<u32>,
}

/// One slab with its counts and the objects shown (all of them, or the one asked about).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlabView {
    #[serde(with = "crate::hex")]
    pub slab: u64,
    /// The slab's first object byte (its page in the direct map).
    #[serde(with = "crate::hex")]
    pub memory: u64,
    pub node: u32,
    pub total: u64,
    pub allocated: u64,
    pub free: u64,
    pub objects: Vec<SlabObject>,
    /// A freelist that could not be followed to its end.
    pub problem: Option<String>,
}

impl SlabView {
    /// `  fffff7b1406fa400  ffff8e119be90000     0      3          3     0`.
    fn line(&self) -> String {
        format!(
            "  {:<16x}  {:<16x}  {:4}  {:5}  {:9}  {:4}",
            self.slab, self.memory, self.node, self.total, self.allocated, self.free
        )
    }

    /// The slab line, then with `objects` the object list, as `do_slab_slub` prints them.
    fn write(&self, out: &mut dyn Write, with_objects: bool) -> io::Result<()> {
        writeln!(out, "{SLAB_HEADER}")?;
        writeln!(out, "{}", self.line())?;
        if !with_objects {
            return Ok(());
        }
        writeln!(out, "  FREE / [ALLOCATED]")?;
        for o in &self.objects {
            match (o.free, o.cpu) {
                (true, Some(c)) => writeln!(out, "   {:x}  (cpu {c} cache)", o.address)?,
                (true, None) => writeln!(out, "   {:x}  ", o.address)?,
                (false, _) => writeln!(out, "  [{:x}]", o.address)?,
            }
        }
        if let Some(p) = &self.problem {
            writeln!(out, "kmem: slab {:x}: {p}", self.slab)?;
        }
        Ok(())
    }
}

/// The cache, slab and object(s) of an address.
#[derive(Debug, Serialize, Deserialize)]
pub struct SlabReport {
    pub page_size: u64,
    pub cache: SlabRow,
    /// `None` when the cache's counts could not be gathered (crash then stops at the cache).
    pub slab: Option<SlabView>,
}

impl SlabReport {
    /// The cache line, the slab, its objects.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{CACHE_HEADER}")?;
        out.write_all(cache_line(&self.cache, self.page_size).as_bytes())?;
        if let Some(s) = &self.slab {
            s.write(out, true)?;
        }
        Ok(())
    }
}

/// What a slab lookup needs, read once: sections, the page layout, how slab pages are
/// marked, the caches, and the direct map's base.
pub struct SlabLookup {
    pub layout: PageLayout,
    pub mark: Option<PageMark>,
    pub caches: Vec<u64>,
    pub direct_map: u64,
    pub page_size: u64,
    pub limit: usize,
}

impl SlabLookup {
    /// Reads the cache list and the page facts.
    pub fn new(prog: &Program, layout: PageLayout, page_size: u64, limit: usize) -> SlabLookup {
        SlabLookup {
            layout,
            mark: PageMark::slab(prog),
            caches: cache_addresses(prog, limit)
                .map(|c| c.0)
                .unwrap_or_default(),
            direct_map: kdive_linux::mm::direct_map_base(prog),
            page_size,
            limit,
        }
    }

    /// The cache and slab of the `struct page` at `page` (any page of the slab).
    pub fn slab_of(&self, prog: &Program, page: u64) -> Option<(u64, u64)> {
        slab_of_page(prog, &self.layout, self.mark?, page, &self.caches)
            .ok()
            .flatten()
    }

    /// True when `page` is the head `struct page` of a slab (crash's `is_slab_page`).
    pub fn is_slab_head(&self, prog: &Program, page: u64) -> Option<u64> {
        let f = self.layout.read(prog, page).ok()?;
        if !self.mark?.is_set(&f) {
            return None;
        }
        let cache = prog
            .object(slab_descriptor(prog), page)
            .and_then(|o| o.member("slab_cache")?.read_u64())
            .ok()?;
        self.caches.contains(&cache).then_some(cache)
    }

    /// The cache's row and the slab `slab` (of pfn `pfn`): every object with `all`, else
    /// only the one holding `addr`.
    pub fn report(
        &self,
        prog: &Program,
        sections: &MemSections,
        cache: u64,
        slab: u64,
        addr: u64,
        all: bool,
    ) -> Result<SlabReport, CommandError> {
        let row = SlabRow::from(slab_cache_at(prog, cache, self.limit).map_err(program_err)?);
        let view = if row.counts.is_some() {
            Some(self.view(prog, sections, cache, slab, row.size, |a, size| {
                all || (a <= addr && addr < a.wrapping_add(size))
            })?)
        } else {
            None
        };
        Ok(SlabReport {
            page_size: self.page_size,
            cache: row,
            slab: view,
        })
    }

    /// The slab `slab` of `cache`, keeping the objects `keep(address, size)` says.
    fn view(
        &self,
        prog: &Program,
        sections: &MemSections,
        cache: u64,
        slab: u64,
        size: u64,
        keep: impl Fn(u64, u64) -> bool,
    ) -> Result<SlabView, CommandError> {
        let pfn = sections.page_to_pfn(slab).ok_or_else(|| {
            CommandError::Unavailable(format!("kmem: invalid slab address: {slab:x}"))
        })?;
        let memory = self.direct_map.wrapping_add(pfn << sections.page_shift);
        let c = slab_contents(prog, cache, slab, memory, self.limit).map_err(program_err)?;
        let node = kdive_linux::mmzone::nodes(prog)
            .ok()
            .and_then(|ns| {
                ns.iter()
                    .find(|n| pfn >= n.start_pfn && pfn - n.start_pfn < n.spanned)
                    .map(|n| n.id)
            })
            .unwrap_or(0);
        Ok(SlabView {
            slab,
            memory,
            node,
            total: c.objects,
            allocated: c.inuse,
            free: c.objects.saturating_sub(c.inuse),
            objects: c
                .list
                .iter()
                .filter(|(a, _)| keep(*a, size))
                .map(|&(address, free)| SlabObject {
                    address,
                    free,
                    cpu: if free { c.cpu } else { None },
                })
                .collect(),
            problem: c.problem,
        })
    }
}

/// `kmem -s ADDR`: the cache of a `kmem_cache` address, or the cache, slab and object of an
/// address in a slab.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemSlabOf {
    #[serde(with = "crate::hex")]
    pub address: u64,
    pub report: SlabReport,
}

impl Report for KmemSlabOf {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        self.report.write(out)
    }
}

/// One CPU's part of `kmem -S`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CpuSlabs {
    pub cpu: u32,
    /// Its `kmem_cache_cpu`.
    #[serde(with = "crate::hex")]
    pub kmem_cache_cpu: u64,
    pub slab: Option<SlabView>,
    /// The CPU's partial slabs (kernels with CPU partial lists).
    pub partial: Option<Vec<SlabView>>,
}

/// One node's part of `kmem -S`.
#[derive(Debug, Serialize, Deserialize)]
pub struct NodeSlabs {
    pub node: u32,
    #[serde(with = "crate::hex")]
    pub kmem_cache_node: u64,
    pub slabs: u64,
    pub partial_count: u64,
    /// CPU slabs on this node.
    pub per_cpu: u64,
    pub partial: Vec<SlabView>,
    /// `None`: full slabs are not tracked (no SLAB_STORE_USER).
    pub full: Option<Vec<SlabView>>,
}

/// `kmem -S CACHE`.
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemCacheSlabs {
    pub page_size: u64,
    pub cache: SlabRow,
    pub cpus: Vec<CpuSlabs>,
    pub nodes: Vec<NodeSlabs>,
    pub problems: Vec<String>,
}

/// `SLAB_STORE_USER`: full slabs are kept on the node's `full` list.
const SLAB_STORE_USER: u64 = 0x10000;

/// Every slab of the cache at `cache`, as `kmem -S` shows them.
pub fn cache_slabs(
    prog: &Program,
    lookup: &SlabLookup,
    sections: &MemSections,
    cache: u64,
) -> Result<KmemCacheSlabs, CommandError> {
    let row = SlabRow::from(slab_cache_at(prog, cache, lookup.limit).map_err(program_err)?);
    let size = row.size;
    let all = |_: u64, _: u64| true;
    let k = prog
        .object("struct kmem_cache", cache)
        .map_err(program_err)?;
    let desc = slab_descriptor(prog);
    let cpu_ty = prog.type_("struct kmem_cache_cpu").map_err(program_err)?;
    let cpu_member = if prog.types().has_member(cpu_ty, "slab") {
        "slab"
    } else {
        "page"
    };
    let has_partial = prog.types().has_member(cpu_ty, "partial");
    let mut problems = Vec::new();
    let view = |slab: u64, problems: &mut Vec<String>| match lookup
        .view(prog, sections, cache, slab, size, all)
    {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(format!("slab {slab:x}: {e}"));
            None
        }
    };
    let cpu_slab = k
        .member("cpu_slab")
        .and_then(|o| o.read_u64())
        .map_err(program_err)?;
    let mut cpus = Vec::new();
    let mut per_node: Vec<u64> = Vec::new();
    for cpu in possible_cpus(prog).map_err(program_err)? {
        let kcc = cpu_slab.wrapping_add(per_cpu_offset(prog, cpu).map_err(program_err)?);
        let c = prog
            .object("struct kmem_cache_cpu", kcc)
            .map_err(program_err)?;
        let slab_addr = c
            .member(cpu_member)
            .and_then(|o| o.read_u64())
            .map_err(program_err)?;
        let slab = (slab_addr != 0)
            .then(|| view(slab_addr, &mut problems))
            .flatten();
        if let Some(s) = &slab {
            let n = s.node as usize;
            if per_node.len() <= n {
                per_node.resize(n + 1, 0);
            }
            per_node[n] += 1;
        }
        let partial = if has_partial {
            let mut list = Vec::new();
            let mut p = c
                .member("partial")
                .and_then(|o| o.read_u64())
                .map_err(program_err)?;
            let mut seen = std::collections::HashSet::new();
            while p != 0 && list.len() < MAX_SLABS && seen.insert(p) {
                list.extend(view(p, &mut problems));
                p = match prog
                    .object(desc, p)
                    .and_then(|o| o.member("next")?.read_u64())
                {
                    Ok(n) => n,
                    Err(e) => {
                        problems.push(format!("CPU {cpu} partial slab {p:x}: {e}"));
                        break;
                    }
                };
            }
            Some(list)
        } else {
            None
        };
        cpus.push(CpuSlabs {
            cpu,
            kmem_cache_cpu: kcc,
            slab,
            partial,
        });
    }
    let node_ty = prog.type_("struct kmem_cache_node").map_err(program_err)?;
    let link = offset_of(
        prog,
        prog.type_(desc).map_err(program_err)?,
        if desc == "struct slab" {
            "slab_list"
        } else {
            "lru"
        },
    )
    .map_err(program_err)?;
    let store_user = k
        .member("flags")
        .and_then(|o| o.read_u64())
        .map_err(program_err)?
        & SLAB_STORE_USER
        != 0;
    let has_full = prog.types().has_member(node_ty, "full");
    let node_slots = k.member("node").map_err(program_err)?;
    let mut nodes = Vec::new();
    for (nid, _) in kdive_linux::kmem::online_nodes(prog).map_err(program_err)? {
        let n = node_slots
            .index(u64::from(nid))
            .and_then(|o| o.read_u64())
            .map_err(program_err)?;
        if n == 0 {
            continue;
        }
        let node = prog
            .object("struct kmem_cache_node", n)
            .map_err(program_err)?;
        let read = |m: &str| {
            node.member(m)
                .and_then(|o| kdive_linux::read_counter(&o))
                .map(|v| v.max(0) as u64)
                .map_err(program_err)
        };
        let list = |member: &str, problems: &mut Vec<String>| -> Vec<SlabView> {
            let head = n.wrapping_add(offset_of(prog, node_ty, member).unwrap_or(0));
            let mut out = Vec::new();
            match kdive_linux::list::ListWalk::new(prog, head, MAX_SLABS.min(lookup.limit)) {
                Ok(walk) => {
                    for e in walk {
                        match e {
                            Ok(e) => out.extend(view(e.wrapping_sub(link), problems)),
                            Err(err) => {
                                problems.push(format!("node {nid} {member} list: {err}"));
                                break;
                            }
                        }
                    }
                }
                Err(err) => problems.push(format!("node {nid} {member} list: {err}")),
            }
            out
        };
        let partial = list("partial", &mut problems);
        let full = (has_full && store_user).then(|| list("full", &mut problems));
        nodes.push(NodeSlabs {
            node: nid,
            kmem_cache_node: n,
            slabs: read("nr_slabs")?,
            partial_count: read("nr_partial")?,
            per_cpu: per_node.get(nid as usize).copied().unwrap_or(0),
            partial,
            full,
        });
    }
    Ok(KmemCacheSlabs {
        page_size: lookup.page_size,
        cache: row,
        cpus,
        nodes,
        problems,
    })
}

impl Report for KmemCacheSlabs {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{CACHE_HEADER}")?;
        out.write_all(cache_line(&self.cache, self.page_size).as_bytes())?;
        for c in &self.cpus {
            writeln!(
                out,
                "CPU {} KMEM_CACHE_CPU:\n  {:x}",
                c.cpu, c.kmem_cache_cpu
            )?;
            writeln!(out, "CPU {} SLAB:", c.cpu)?;
            match &c.slab {
                Some(s) => s.write(out, true)?,
                None => writeln!(out, "  (empty)")?,
            }
            if let Some(partial) = &c.partial {
                writeln!(out, "CPU {} PARTIAL:", c.cpu)?;
                if partial.is_empty() {
                    writeln!(out, "  (empty)")?;
                }
                for s in partial {
                    s.write(out, true)?;
                }
            }
        }
        for n in &self.nodes {
            writeln!(out, "KMEM_CACHE_NODE   NODE  SLABS  PARTIAL  PER-CPU")?;
            writeln!(
                out,
                "{:x}  {:4}  {:5}  {:7}  {:7}",
                n.kmem_cache_node, n.node, n.slabs, n.partial_count, n.per_cpu
            )?;
            writeln!(out, "NODE {} PARTIAL:", n.node)?;
            write_slab_list(out, &n.partial)?;
            writeln!(out, "NODE {} FULL:", n.node)?;
            match &n.full {
                None => writeln!(out, "  (not tracked)")?,
                Some(full) => write_slab_list(out, full)?,
            }
        }
        writeln!(out)?;
        for p in &self.problems {
            writeln!(out, "kmem: {}: {p}", self.cache.name)?;
        }
        Ok(())
    }
}

/// A node list's slabs: one header, then each slab's line (crash prints no objects here).
fn write_slab_list(out: &mut dyn Write, slabs: &[SlabView]) -> io::Result<()> {
    if slabs.is_empty() {
        return writeln!(out, "  (empty)");
    }
    writeln!(out, "{SLAB_HEADER}")?;
    for s in slabs {
        writeln!(out, "{}", s.line())?;
    }
    Ok(())
}

/// The slab lookup and sections of a command.
fn lookup(s: &crate::Session, prog: &Program) -> Result<(SlabLookup, MemSections), CommandError> {
    let page_size = s.dump().kernel_page_size().max(1);
    let sections = MemSections::new(prog, page_size).map_err(program_err)?;
    let layout = PageLayout::new(prog).map_err(program_err)?;
    Ok((
        SlabLookup::new(prog, layout, page_size, s.walk_limit),
        sections,
    ))
}

/// The cache and slab of `addr`: `addr` is a slab's head `struct page` (all its objects), or
/// an address inside a slab (its object); `None` when neither.
fn slab_at(
    prog: &Program,
    l: &SlabLookup,
    sections: &MemSections,
    addr: u64,
) -> Option<(u64, u64, bool)> {
    if sections.page_to_pfn(addr).is_some() {
        if let Some(cache) = l.is_slab_head(prog, addr) {
            return Some((cache, addr, true));
        }
    }
    let paddr = prog.kernel_memory()?.translate(addr).ok()?;
    let page = sections.phys_to_page(paddr)?;
    let (cache, slab) = l.slab_of(prog, page)?;
    Some((cache, slab, false))
}

/// `kmem -s ADDR`: a `kmem_cache` address shows its cache; an address in a slab its cache,
/// slab and object.
pub fn run_address(
    s: &crate::Session,
    prog: &Program,
    words: &[String],
) -> Result<Box<dyn Report>, CommandError> {
    let [w] = words else {
        return Err(CommandError::Usage(
            "kmem: -s takes one address (or cache names)".into(),
        ));
    };
    let addr = super::pages::hex_operand(w)?;
    let (l, sections) = lookup(s, prog)?;
    if l.caches.contains(&addr) {
        let row = SlabRow::from(slab_cache_at(prog, addr, l.limit).map_err(program_err)?);
        return Ok(Box::new(KmemSlabOf {
            address: addr,
            report: SlabReport {
                page_size: l.page_size,
                cache: row,
                slab: None,
            },
        }));
    }
    let (cache, slab, all) = slab_at(prog, &l, &sections, addr).ok_or_else(|| {
        CommandError::Unavailable(format!(
            "kmem: address is not allocated in slab subsystem: {addr:x}"
        ))
    })?;
    Ok(Box::new(KmemSlabOf {
        address: addr,
        report: l.report(prog, &sections, cache, slab, addr, all)?,
    }))
}

/// `kmem -S CACHE`: every slab of the cache named (or at the `kmem_cache` address given).
pub fn run_verbose(
    s: &crate::Session,
    prog: &Program,
    words: &[String],
) -> Result<Box<dyn Report>, CommandError> {
    let [w] = words else {
        return Err(CommandError::Usage(
            "kmem: -S takes one cache name or kmem_cache address".into(),
        ));
    };
    let (l, sections) = lookup(s, prog)?;
    let by_address = super::pages::hex_operand(w)
        .ok()
        .filter(|a| l.caches.contains(a));
    let cache = match by_address {
        Some(a) => a,
        None => {
            let named = l.caches.iter().copied().find(|&c| {
                prog.object("struct kmem_cache", c)
                    .and_then(|k| k.member("name")?.read_string(128))
                    .is_ok_and(|n| &n == w)
            });
            named
                .ok_or_else(|| CommandError::Usage(format!("kmem: invalid slab cache name: {w}")))?
        }
    };
    Ok(Box::new(cache_slabs(prog, &l, &sections, cache)?))
}
