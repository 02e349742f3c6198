//! SLUB at the level of one slab: which cache and slab a page belongs to, and which of the
//! slab's objects are free (on the slab's freelist or, for a CPU's slab, on that CPU's
//! freelist) or allocated.

use std::collections::HashSet;

use kdive_program::{Program, Result};

use crate::page::{PageLayout, PageMark};
use crate::percpu::{per_cpu_offset, possible_cpus};
use crate::slab::{slab_inuse_objects, Freelist};

/// Most objects in one slab (`objects` is a 15-bit field).
const MAX_OBJECTS: u64 = 1 << 15;
/// `SLAB_RED_ZONE`: objects have a red zone (and a left pad before them).
const SLAB_RED_ZONE: u64 = 0x400;

/// The slab descriptor type: `struct slab` since 5.17, `struct page` before.
pub fn slab_descriptor(prog: &Program) -> &'static str {
    let slab = prog.type_("struct slab").ok().filter(|&s| {
        prog.types().has_member(s, "slab_cache") && prog.types().has_member(s, "inuse")
    });
    if slab.is_some() {
        "struct slab"
    } else {
        "struct page"
    }
}

/// The cache of the slab that the page at `page` belongs to, with the slab (its head page):
/// `None` when the page is not a slab page or its `slab_cache` is not one of `caches`.
pub fn slab_of_page(
    prog: &Program,
    layout: &PageLayout,
    mark: PageMark,
    page: u64,
    caches: &[u64],
) -> Result<Option<(u64, u64)>> {
    let head = layout.compound_head(prog, page)?;
    if !mark.is_set(&layout.read(prog, head)?) {
        return Ok(None);
    }
    let cache = prog
        .object(slab_descriptor(prog), head)?
        .member("slab_cache")?
        .read_u64()?;
    Ok(caches.contains(&cache).then_some((cache, head)))
}

/// One slab's objects, as crash's `kmem -S` and `kmem ADDR` show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlabContents {
    /// The slab descriptor.
    pub slab: u64,
    /// Objects in the slab.
    pub objects: u64,
    /// Objects in use: `inuse`, or for a CPU's slab the objects not on its freelists.
    pub inuse: u64,
    /// The CPU whose slab this is, if any.
    pub cpu: Option<u32>,
    /// Each object's address (after the red zone's left pad) and whether it is free.
    pub list: Vec<(u64, bool)>,
    /// A freelist that could not be followed to its end.
    pub problem: Option<String>,
}

/// The objects of the slab `slab` of the cache at `cache`, laid out from `memory` (the
/// slab's first byte, in the direct map).
pub fn slab_contents(
    prog: &Program,
    cache: u64,
    slab: u64,
    memory: u64,
    limit: usize,
) -> Result<SlabContents> {
    let desc = slab_descriptor(prog);
    let k = prog.object("struct kmem_cache", cache)?;
    let size = k.member("size")?.read_u64()?;
    let kc_ty = prog.type_("struct kmem_cache")?;
    let t = prog.types();
    let fl = Freelist {
        offset: k.member("offset")?.read_u64()?,
        random: if t.has_member(kc_ty, "random") {
            Some(k.member("random")?.read_u64()?)
        } else {
            None
        },
    };
    let red_left_pad = if t.has_member(kc_ty, "red_left_pad")
        && k.member("flags")?.read_u64()? & SLAB_RED_ZONE != 0
    {
        k.member("red_left_pad")?.read_u64()?
    } else {
        0
    };
    let (mut inuse, objects) = slab_inuse_objects(prog, desc, slab)?;
    let objects = objects.min(MAX_OBJECTS);
    let slab_freelist = prog.object(desc, slab)?.member("freelist")?.read_u64()?;
    let cpu_ty = prog.type_("struct kmem_cache_cpu")?;
    let cpu_member = if t.has_member(cpu_ty, "slab") {
        "slab"
    } else {
        "page"
    };
    let cpu_slab = k.member("cpu_slab")?.read_u64()?;
    let mut cpu = None;
    let mut cpu_freelist = 0;
    for c in possible_cpus(prog)? {
        let kcc = prog.object(
            "struct kmem_cache_cpu",
            cpu_slab.wrapping_add(per_cpu_offset(prog, c)?),
        )?;
        if kcc.member(cpu_member)?.read_u64()? == slab {
            cpu = Some(c);
            cpu_freelist = kcc.member("freelist")?.read_u64()?;
            break;
        }
    }
    let bound = limit.min(MAX_OBJECTS as usize);
    let (mut free, mut problem) = chain(prog, &fl, slab_freelist, bound);
    if cpu.is_some() {
        let (on_cpu, err) = chain(prog, &fl, cpu_freelist, bound);
        problem = problem.or(err);
        // crash: the CPU's freelist, plus what other CPUs freed onto the slab's own
        let mut free_objects = on_cpu.len() as u64;
        if slab_freelist != 0 {
            free_objects += objects.saturating_sub(inuse);
        }
        inuse = objects.saturating_sub(free_objects);
        free.extend(on_cpu);
    }
    let free: HashSet<u64> = free.into_iter().collect();
    let list = (0..objects)
        .map(|i| {
            let p = memory.wrapping_add(i * size).wrapping_add(red_left_pad);
            (p, free.contains(&p))
        })
        .collect();
    Ok(SlabContents {
        slab,
        objects,
        inuse,
        cpu,
        list,
        problem,
    })
}

/// The objects on a freelist from `head` (NULL or a tagged pointer ends it), at most `limit`.
fn chain(prog: &Program, fl: &Freelist, head: u64, limit: usize) -> (Vec<u64>, Option<String>) {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut q = head;
    while q != 0 && q & 1 == 0 {
        if !seen.insert(q) {
            return (out, Some(format!("freelist object {q:#x} repeats")));
        }
        if out.len() >= limit {
            return (out, Some(format!("freelist longer than {limit} objects")));
        }
        out.push(q);
        let at = q.wrapping_add(fl.offset);
        match prog.read_u64(at) {
            Ok(raw) => q = fl.decode(prog, raw, at),
            Err(e) => return (out, Some(format!("free pointer of {q:#x}: {e}"))),
        }
    }
    (out, None)
}
