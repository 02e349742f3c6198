//! SLUB caches as crash's `kmem -s` counts them: every `struct kmem_cache` on `slab_caches`,
//! with its objects and slabs from the per-node `kmem_cache_node` counters (`nr_slabs`,
//! `total_objects`: CONFIG_SLUB_DEBUG) and its free objects from the per-CPU slabs, their
//! freelists and partial slabs, and the nodes' partial lists.
//!
//! Slab descriptors are `struct slab` since 5.17, `struct page` before: the types decide.

use std::collections::HashSet;

use kdive_program::object::offset_of;
use kdive_program::{Object, Program, ProgramError, Result};

use crate::kmem::online_nodes;
use crate::list::ListWalk;
use crate::percpu::{per_cpu_offset, possible_cpus};
use crate::read_counter;

/// Longest cache name read.
const MAX_NAME: usize = 128;
/// Most objects one slab holds (`objects` is a 15-bit field).
const MAX_OBJECTS: usize = 1 << 15;

/// `oo` (`struct kmem_cache_order_objects`) unpacked: the slab's page order and object count.
pub fn order_objects(oo: u64) -> (u32, u32) {
    ((oo as u32) >> 16, (oo as u32) & 0xffff)
}

/// One cache's counts, as crash's `kmem -s` columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SlabCounts {
    /// Objects in use: all objects less the free ones found.
    pub allocated: u64,
    /// All objects of all slabs (`total_objects` of every node).
    pub total: u64,
    /// Slabs (`nr_slabs` of every node).
    pub slabs: u64,
}

/// One cache.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SlabCache {
    /// Address of its `struct kmem_cache`.
    pub addr: u64,
    pub name: String,
    /// `object_size`: the size asked for.
    pub object_size: u64,
    /// `size`: an object with its metadata.
    pub size: u64,
    /// Page order of one slab (from `oo`).
    pub order: u32,
    /// Objects per slab (from `oo`).
    pub objects_per_slab: u32,
    /// `None` when the counts could not be gathered.
    pub counts: Option<SlabCounts>,
    /// True when some free objects could not be counted (`allocated` is then an upper bound).
    pub incomplete: bool,
    pub problems: Vec<String>,
}

/// Every cache, in `slab_caches` order, and what stopped the list walk.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SlabCaches {
    pub caches: Vec<SlabCache>,
    /// Caches on the list that could not be read at all.
    pub problems: Vec<String>,
}

/// Layout facts about the kernel's slab descriptors, asked once.
struct Layout {
    /// `struct slab` or `struct page`.
    desc: &'static str,
    /// Member linking a descriptor into a node's partial list.
    list_member: &'static str,
    /// `kmem_cache_cpu` member holding the CPU slab (`slab`, or `page` before 5.17).
    cpu_member: &'static str,
    has_cpu_partial: bool,
    has_random: bool,
    /// CPUs whose per-CPU slabs are counted.
    cpus: Vec<u32>,
    /// Online nodes.
    nodes: Vec<u32>,
}

impl Layout {
    fn new(prog: &Program) -> Result<Layout> {
        let t = prog.types();
        let node = prog.type_("struct kmem_cache_node")?;
        if !t.has_member(node, "nr_slabs") || !t.has_member(node, "total_objects") {
            return Err(ProgramError::Walk {
                what: "kmem_cache_node".into(),
                why: "no nr_slabs/total_objects (the kernel must be built with CONFIG_SLUB_DEBUG)"
                    .into(),
            });
        }
        let slab_ty = prog
            .type_("struct slab")
            .ok()
            .filter(|&s| t.has_member(s, "slab_cache") && t.has_member(s, "inuse"));
        let (desc, list_member) = match slab_ty {
            Some(_) => ("struct slab", "slab_list"),
            None => {
                let page = prog.type_("struct page")?;
                let m = if t.has_member(page, "slab_list") {
                    "slab_list"
                } else {
                    "lru"
                };
                ("struct page", m)
            }
        };
        let cpu = prog.type_("struct kmem_cache_cpu")?;
        let cache = prog.type_("struct kmem_cache")?;
        Ok(Layout {
            desc,
            list_member,
            cpu_member: if t.has_member(cpu, "slab") {
                "slab"
            } else {
                "page"
            },
            has_cpu_partial: t.has_member(cpu, "partial"),
            has_random: t.has_member(cache, "random"),
            cpus: possible_cpus(prog)?,
            nodes: online_nodes(prog)?.into_iter().map(|(n, _)| n).collect(),
        })
    }
}

/// The addresses of the caches on `slab_caches`, and what stopped the walk early (if anything).
pub fn cache_addresses(prog: &Program, limit: usize) -> Result<(Vec<u64>, Option<ProgramError>)> {
    let head = prog.symbol_address("slab_caches")?;
    crate::list::list_entries(prog, head, "struct kmem_cache", "list", limit)
}

/// The cache at `addr`, counted as `kmem -s` counts it.
pub fn slab_cache_at(prog: &Program, addr: u64, limit: usize) -> Result<SlabCache> {
    read_cache(prog, &Layout::new(prog)?, addr, limit, &[])
}

/// Walks `slab_caches` and counts every cache (only those named in `names`, if any).
pub fn slab_caches(prog: &Program, names: &[String], limit: usize) -> Result<SlabCaches> {
    slab_caches_ignoring(prog, names, &[], limit)
}

/// [`slab_caches`], leaving the caches named in `ignore` uncounted (`counts` `None`, no
/// problem recorded): their slabs are not walked at all.
pub fn slab_caches_ignoring(
    prog: &Program,
    names: &[String],
    ignore: &[String],
    limit: usize,
) -> Result<SlabCaches> {
    let layout = Layout::new(prog)?;
    let head = prog.symbol_address("slab_caches")?;
    let off = offset_of(prog, prog.type_("struct kmem_cache")?, "list")?;
    let mut out = SlabCaches {
        caches: Vec::new(),
        problems: Vec::new(),
    };
    for node in ListWalk::new(prog, head, limit)? {
        let addr = match node {
            Ok(n) => n.wrapping_sub(off),
            Err(e) => {
                out.problems.push(format!(
                    "slab_caches list: {e} (caches after it are missing)"
                ));
                break;
            }
        };
        match read_cache(prog, &layout, addr, limit, ignore) {
            Ok(c) if names.is_empty() || names.contains(&c.name) => out.caches.push(c),
            Ok(_) => {}
            Err(e) => out.problems.push(format!("kmem_cache {addr:#x}: {e}")),
        }
    }
    Ok(out)
}

/// One cache: its geometry, then its counts (problems recorded, never fatal; none gathered for
/// a cache named in `ignore`).
fn read_cache(
    prog: &Program,
    l: &Layout,
    addr: u64,
    limit: usize,
    ignore: &[String],
) -> Result<SlabCache> {
    let k = prog.object("struct kmem_cache", addr)?;
    let mut problems = Vec::new();
    let name = match k.member("name")?.read_string(MAX_NAME) {
        Ok(n) => n,
        Err(e) => {
            problems.push(format!("name: {e}"));
            "(unknown)".to_string()
        }
    };
    let oo = k.member("oo")?;
    let oo = oo.member("x").unwrap_or(oo).read_u64()?;
    let (order, objects_per_slab) = order_objects(oo);
    let mut c = SlabCache {
        addr,
        name,
        object_size: k.member("object_size")?.read_u64()?,
        size: k.member("size")?.read_u64()?,
        order,
        objects_per_slab,
        counts: None,
        incomplete: false,
        problems,
    };
    if ignore.contains(&c.name) {
        return Ok(c);
    }
    match count(prog, l, &k, limit) {
        Ok((counts, soft)) => {
            c.incomplete = !soft.is_empty();
            c.problems.extend(soft);
            c.counts = Some(counts);
        }
        Err(e) => c.problems.push(format!("cannot gather slab data: {e}")),
    }
    Ok(c)
}

/// A slab descriptor's `inuse` and `objects` (`desc` is `struct slab` or `struct page`).
pub fn slab_inuse_objects(prog: &Program, desc: &str, slab: u64) -> Result<(u64, u64)> {
    let s = prog.object(desc, slab)?;
    Ok((
        s.member("inuse")?.read_u64()?,
        s.member("objects")?.read_u64()?,
    ))
}

/// A slab descriptor's `inuse` and `objects`.
fn inuse_objects(prog: &Program, l: &Layout, slab: u64) -> Result<(u64, u64)> {
    slab_inuse_objects(prog, l.desc, slab)
}

/// Counts one cache as crash does: totals from the nodes' counters, free objects from the
/// per-CPU slabs (their unused objects, the CPU freelist, the CPU partial slabs) and the nodes'
/// partial slabs. A failure on a slab descriptor fails the cache; a freelist that cannot be
/// followed to its end only leaves the count short, returned as a soft problem.
fn count(
    prog: &Program,
    l: &Layout,
    k: &Object<'_>,
    limit: usize,
) -> Result<(SlabCounts, Vec<String>)> {
    let mut soft = Vec::new();
    let mut free = 0u64;
    let cpu_slab = k.member("cpu_slab")?.read_u64()?;
    let offset = k.member("offset")?.read_u64()?;
    let random = if l.has_random {
        k.member("random")?.read_u64()?
    } else {
        0
    };
    for &cpu in &l.cpus {
        let c = prog.object(
            "struct kmem_cache_cpu",
            cpu_slab.wrapping_add(per_cpu_offset(prog, cpu)?),
        )?;
        let slab = c.member(l.cpu_member)?.read_u64()?;
        if slab == 0 {
            continue;
        }
        let (inuse, objects) = inuse_objects(prog, l, slab)?;
        if objects == 0 {
            return Err(walk_err(slab, "CPU slab with no objects"));
        }
        free = free.saturating_add(objects.saturating_sub(inuse));
        let head = c.member("freelist")?.read_u64()?;
        let fl = Freelist {
            offset,
            random: l.has_random.then_some(random),
        };
        let (n, err) = fl.count(prog, head, limit.min(MAX_OBJECTS));
        free = free.saturating_add(n);
        if let Some(e) = err {
            soft.push(format!(
                "CPU {cpu} freelist cut short, ALLOCATED counts the rest as in use: {e}"
            ));
        }
        // crash counts a CPU's partial slabs only beside a CPU slab
        if l.has_cpu_partial {
            free = free.saturating_add(cpu_partial_free(prog, l, &c, limit)?);
        }
    }
    let (mut total, mut slabs) = (0u64, 0u64);
    let nodes = k.member("node")?;
    // `node[]` has MAX_NUMNODES entries; a corrupt node mask must not send the index past it
    let node_slots = nodes.array_len().ok();
    for &nid in &l.nodes {
        if node_slots.is_some_and(|len| u64::from(nid) >= len) {
            soft.push(format!(
                "node {nid} is past kmem_cache.node[{}]: not counted",
                node_slots.unwrap_or(0)
            ));
            continue;
        }
        let n = nodes.index(nid as u64)?.read_u64()?;
        if n == 0 {
            continue;
        }
        let node = prog.object("struct kmem_cache_node", n)?;
        slabs = slabs.saturating_add(read_counter(&node.member("nr_slabs")?)?.max(0) as u64);
        total = total.saturating_add(read_counter(&node.member("total_objects")?)?.max(0) as u64);
        let head = node.member("partial")?.address().unwrap_or(0);
        let off = offset_of(prog, prog.type_(l.desc)?, l.list_member)?;
        for entry in ListWalk::new(prog, head, limit)? {
            let slab = entry?.wrapping_sub(off);
            let (inuse, objects) = inuse_objects(prog, l, slab)?;
            if objects == 0 {
                return Err(walk_err(slab, "partial slab with no objects"));
            }
            free = free.saturating_add(objects.saturating_sub(inuse));
        }
    }
    Ok((
        SlabCounts {
            allocated: total.saturating_sub(free),
            total,
            slabs,
        },
        soft,
    ))
}

fn walk_err(slab: u64, why: &str) -> ProgramError {
    ProgramError::Walk {
        what: format!("slab {slab:#x}"),
        why: why.into(),
    }
}

/// Free objects in the CPU partial slabs of `kmem_cache_cpu` `c` (a chain through `next`).
fn cpu_partial_free(prog: &Program, l: &Layout, c: &Object<'_>, limit: usize) -> Result<u64> {
    let mut free = 0u64;
    let mut seen = HashSet::new();
    let mut slab = c.member("partial")?.read_u64()?;
    while slab != 0 {
        if !seen.insert(slab) || seen.len() > limit {
            return Err(walk_err(slab, "CPU partial list loops or is too long"));
        }
        let (inuse, objects) = inuse_objects(prog, l, slab)?;
        if objects == 0 {
            return Err(walk_err(slab, "CPU partial slab with no objects"));
        }
        free = free.saturating_add(objects.saturating_sub(inuse));
        slab = prog.object(l.desc, slab)?.member("next")?.read_u64()?;
    }
    Ok(free)
}

/// A SLUB freelist: each free object holds the next one's address at `offset`, obfuscated with
/// the cache's `random` under CONFIG_SLAB_FREELIST_HARDENED.
#[derive(Debug, Clone, Copy)]
pub struct Freelist {
    pub offset: u64,
    pub random: Option<u64>,
}

impl Freelist {
    /// The next object after the one whose free pointer, stored at `at`, reads `raw`.
    /// Hardened pointers are `ptr ^ random ^ swab(at)` (before 5.7: `^ at`); the byte-swapped
    /// form is taken unless it leads nowhere readable and the plain one does.
    pub fn decode(&self, prog: &Program, raw: u64, at: u64) -> u64 {
        let Some(random) = self.random else {
            return raw;
        };
        let swabbed = raw ^ random ^ at.swap_bytes();
        if swabbed == 0 || prog.read_u64(swabbed).is_ok() {
            return swabbed;
        }
        let plain = raw ^ random ^ at;
        if prog.read_u64(plain).is_ok() {
            plain
        } else {
            swabbed
        }
    }

    /// Objects on the freelist starting at `head`: stops at NULL, at a tagged pointer (low bit
    /// set), at a repeat, after `limit`, or where memory cannot be read (returned as the error).
    pub fn count(&self, prog: &Program, head: u64, limit: usize) -> (u64, Option<String>) {
        let mut seen = HashSet::new();
        let mut q = head;
        while q != 0 && q & 1 == 0 {
            if !seen.insert(q) {
                return (seen.len() as u64 - 1, Some(format!("{q:#x} repeats")));
            }
            if seen.len() > limit {
                return (limit as u64, Some(format!("more than {limit} objects")));
            }
            let at = q.wrapping_add(self.offset);
            match prog.read_u64(at) {
                Ok(raw) => q = self.decode(prog, raw, at),
                Err(e) => {
                    return (
                        seen.len() as u64,
                        Some(format!("free pointer of {q:#x}: {e}")),
                    )
                }
            }
        }
        (seen.len() as u64, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_objects() {
        // kmalloc-8: order 0, 512 objects; TCPv6: order 3, 13 objects
        assert_eq!(order_objects(512), (0, 512));
        assert_eq!(order_objects((3 << 16) | 13), (3, 13));
        // only the 32-bit `x` counts, whatever lies beside it
        assert_eq!(order_objects((7 << 32) | (1 << 16) | 21), (1, 21));
    }
}

/// x86_64's `VMEMMAP_START` without memory-layout randomization.
const DEFAULT_VMEMMAP: u64 = 0xffff_ea00_0000_0000;

/// The slab cache a kernel address is in: its page is a slab page (`kmem ADDR`'s first
/// question, and crash's `[cache]` in `rd -S` and `bt -F`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SlabOf {
    /// The `struct kmem_cache`.
    pub cache: u64,
    pub name: String,
}

/// The slab cache holding `addr`, when `addr` is in a slab page; `Ok(None)` for any other
/// address (not mapped, not in RAM, another kind of page). The page's `struct page` is found
/// through `vmemmap`, its compound head followed; whether it is a slab is asked as the kernel
/// asks it: `PG_slab` in the flags, or the slab page type (6.10+).
pub fn slab_of(prog: &Program, addr: u64) -> Result<Option<SlabOf>> {
    let Some(km) = prog.kernel_memory() else {
        return Ok(None);
    };
    let Ok(phys) = km.translate(addr) else {
        return Ok(None);
    };
    // VMCOREINFO names vmemmap since 6.x; before, the kernel's variable holds it
    let vmemmap = match km.vmemmap_base() {
        Some(v) => v,
        None => match prog.symbol_address("vmemmap_base") {
            Ok(a) => prog.read_u64(a)?,
            Err(_) => DEFAULT_VMEMMAP,
        },
    };
    let page_ty = prog.type_("struct page")?;
    let page_size = prog.types().size_of(page_ty)?;
    let mut page = prog.object("struct page", vmemmap + (phys >> 12) * page_size)?;
    let head = page.member("compound_head")?.read_u64()?;
    if head & 1 == 1 {
        page = prog.object("struct page", head - 1)?;
    }
    if !is_slab_page(prog, &page)? {
        return Ok(None);
    }
    let desc = match prog.type_("struct slab") {
        Ok(_) => prog.object("struct slab", page.address().unwrap_or_default())?,
        Err(_) => page,
    };
    let cache = desc.member("slab_cache")?;
    let cache_addr = cache.read_u64()?;
    if cache_addr == 0 {
        return Ok(None);
    }
    let name = cache.deref()?.member("name")?.read_string(MAX_NAME)?;
    Ok(Some(SlabOf {
        cache: cache_addr,
        name,
    }))
}

/// Whether `page` (a head page) is a slab page.
fn is_slab_page(prog: &Program, page: &Object<'_>) -> Result<bool> {
    use crate::kmem::enumerator;
    if let Some(bit) = enumerator(prog, "enum pageflags", "PG_slab") {
        return Ok(page.member("flags")?.read_u64()? & (1 << bit) != 0);
    }
    let page_type = page.member("page_type")?.read_u64()? as u32;
    // 6.12+: the type in the top byte
    if let Some(t) = enumerator(prog, "enum pagetype", "PGTY_slab") {
        return Ok(i64::from(page_type >> 24) == t);
    }
    // 6.10, 6.11: a cleared bit under PAGE_TYPE_BASE
    match (
        enumerator(prog, "enum pagetype", "PG_slab"),
        enumerator(prog, "enum pagetype", "PAGE_TYPE_BASE"),
    ) {
        (Some(bit), Some(base)) => {
            let (bit, base) = (bit as u32, base as u32);
            Ok(page_type & (base | bit) == base)
        }
        _ => Ok(false),
    }
}
