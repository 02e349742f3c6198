//! The memory counters crash's `kmem -i` shows: total and free RAM, buffers, page cache, slab,
//! huge pages, swap and the overcommit limit, read the way crash reads them (the global
//! `vm_zone_stat`/`vm_node_stat` counters, the zones' free counts, the block devices' page
//! caches, `hstates`, `swap_info`, `vm_committed_as`).

use kdive_debuginfo::TypeKind;
use kdive_program::{Program, ProgramError, Result};

use crate::list::list_entries;
use crate::read_counter;

/// Most swap devices looked at (`MAX_SWAPFILES` is 32 or less).
const MAX_SWAPFILES: u64 = 64;
/// Most huge page sizes looked at (`HUGE_MAX_HSTATE` is 2 on x86_64).
const MAX_HSTATES: u64 = 16;
/// Most NUMA nodes looked at when the types do not size `nodemask_t`.
const MAX_NODES: u64 = 1 << 10;

/// Pages in one kind of huge page pool, or swap, in base pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pool {
    pub total: u64,
    /// Free huge pages, or used swap pages.
    pub part: u64,
}

/// The overcommit limit and what is committed, in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Commit {
    pub limit: u64,
    pub committed: u64,
}

/// `kmem -i`'s counters, in pages. `None` where the dump would not say; `problems` says why.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MemInfo {
    pub total: Option<u64>,
    pub free: Option<u64>,
    pub buffers: Option<u64>,
    pub cached: Option<u64>,
    pub slab: Option<u64>,
    /// Highmem total and free (kernels with `totalhigh_pages` only).
    pub high: Option<Pool>,
    /// Huge pages: total and free.
    pub huge: Option<Pool>,
    /// Swap: total and used.
    pub swap: Option<Pool>,
    /// `None` also when the kernel has no `sysctl_overcommit_memory`.
    pub commit: Option<Commit>,
    /// Whether the kernel has highmem counters at all.
    pub has_high: bool,
    /// Whether the kernel has overcommit accounting at all.
    pub has_commit: bool,
    pub problems: Vec<String>,
}

/// Reads every counter, noting what could not be read.
pub fn meminfo(prog: &Program, page_shift: u32, limit: usize) -> MemInfo {
    let mut m = MemInfo::default();
    let note = |what: &str, r: Result<u64>, p: &mut Vec<String>| match r {
        Ok(v) => Some(v),
        Err(e) => {
            p.push(format!("{what}: {e}"));
            None
        }
    };
    let mut p = Vec::new();
    m.total = note("total RAM", crate::system::totalram_pages(prog), &mut p);
    m.free = note("free pages", free_pages(prog, false), &mut p);
    let buffers = blockdev_pages(prog, limit);
    if let Some(e) = &buffers.1 {
        p.push(format!("buffers (block device page caches): {e}"));
    }
    m.buffers = buffers.0;
    m.cached = note(
        "page cache",
        cached_pages(prog, m.buffers.unwrap_or(0)),
        &mut p,
    );
    m.slab = note("slab", slab_pages(prog), &mut p);
    m.has_high = ["_totalhigh_pages", "totalhigh_pages"]
        .iter()
        .any(|s| prog.symbol_address(s).is_ok());
    if m.has_high {
        let total = ["_totalhigh_pages", "totalhigh_pages"]
            .iter()
            .find_map(|s| prog.symbol_address(s).ok())
            .ok_or_else(|| ProgramError::NoSymbol("totalhigh_pages".into()))
            .and_then(|a| read_counter(&prog.object("atomic_long_t", a)?))
            .map(|v| v.max(0) as u64);
        let free = free_pages(prog, true);
        m.high = match (total, free) {
            (Ok(total), Ok(part)) => Some(Pool { total, part }),
            (Err(e), _) | (_, Err(e)) => {
                p.push(format!("highmem: {e}"));
                None
            }
        };
    }
    m.huge = hugetlb(prog)
        .map_err(|e| p.push(format!("huge pages: {e}")))
        .ok();
    m.swap = swap(prog).map_err(|e| p.push(format!("swap: {e}"))).ok();
    m.has_commit = prog.symbol_address("sysctl_overcommit_memory").is_ok();
    if m.has_commit {
        m.commit = commit(prog, page_shift, &m)
            .map_err(|e| p.push(format!("commit limit: {e}")))
            .ok();
    }
    m.problems = p;
    m
}

/// The enumerator `name` of `enum spec`, if the kernel has it.
pub fn enumerator(prog: &Program, spec: &str, name: &str) -> Option<i64> {
    let (_, t) = prog.types().resolve(prog.type_(spec).ok()?).ok()?;
    match &t.kind {
        TypeKind::Enum { values, .. } => values
            .iter()
            .find(|(n, _)| n.as_ref() == name)
            .map(|(_, v)| *v),
        _ => None,
    }
}

/// A global VM counter by enumerator name (`NR_FILE_PAGES`): `vm_zone_stat[]` for a
/// `zone_stat_item`, `vm_node_stat[]` for a `node_stat_item`, `vm_numa_event[]` (`vm_numa_stat[]`
/// before 5.14) for a `numa_stat_item`, `vm_stat[]` on old kernels.
/// `Ok(None)` when the kernel has no such item.
pub fn vm_stat(prog: &Program, name: &str) -> Result<Option<i64>> {
    let tables = [
        ("enum zone_stat_item", "vm_zone_stat"),
        ("enum node_stat_item", "vm_node_stat"),
        ("enum numa_stat_item", "vm_numa_event"),
        ("enum numa_stat_item", "vm_numa_stat"),
        ("enum zone_stat_item", "vm_stat"),
    ];
    for (spec, array) in tables {
        let Some(i) = enumerator(prog, spec, name) else {
            continue;
        };
        let Ok(base) = prog.symbol_address(array) else {
            continue;
        };
        let ty = prog.type_("atomic_long_t")?;
        let size = prog.types().size_of(ty)?;
        let o = kdive_program::Object::reference(
            prog,
            ty,
            base.wrapping_add((i.max(0) as u64).wrapping_mul(size)),
        );
        return Ok(Some(read_counter(&o)?));
    }
    Ok(None)
}

/// The first of `names` the kernel counts, or an error naming them all.
fn first_stat(prog: &Program, names: &[&str]) -> Result<i64> {
    for n in names {
        if let Some(v) = vm_stat(prog, n)? {
            return Ok(v);
        }
    }
    Err(ProgramError::Walk {
        what: "VM counters".into(),
        why: format!("none of {} in this kernel", names.join(", ")),
    })
}

/// The `pglist_data` of every online node (`node_states[N_ONLINE]`, `node_data[]`), or
/// `contig_page_data` on a kernel without NUMA.
pub fn online_nodes(prog: &Program) -> Result<Vec<(u32, u64)>> {
    let Ok(node_data) = prog.symbol_address("node_data") else {
        return Ok(vec![(0, prog.symbol_address("contig_page_data")?)]);
    };
    // an enumerator from corrupt type data can be anything: the address wraps, never panics
    let n_online = enumerator(prog, "enum node_states", "N_ONLINE").unwrap_or(1) as u64;
    let mask_size = prog
        .type_("nodemask_t")
        .and_then(|t| Ok(prog.types().size_of(t)?))
        .unwrap_or(MAX_NODES / 8)
        .min(MAX_NODES / 8);
    let states = prog.symbol_address("node_states")?;
    let mut bits = vec![0u8; mask_size as usize];
    prog.read(
        states.wrapping_add(n_online.wrapping_mul(mask_size)),
        &mut bits,
    )?;
    let mut out = Vec::new();
    for nid in 0..mask_size * 8 {
        if bits[(nid / 8) as usize] >> (nid % 8) & 1 == 1 {
            let pgdat = prog.read_u64(node_data.wrapping_add(8 * nid))?;
            if pgdat != 0 {
                out.push((nid as u32, pgdat));
            }
        }
    }
    if out.is_empty() {
        return Err(ProgramError::Walk {
            what: "node_states[N_ONLINE]".into(),
            why: "no online node with data".into(),
        });
    }
    Ok(out)
}

/// Free pages: each zone's `vm_stat[NR_FREE_PAGES]` summed over all nodes (only the zones named
/// `HighMem` with `high_only`), as crash sums them.
pub fn free_pages(prog: &Program, high_only: bool) -> Result<u64> {
    let idx = enumerator(prog, "enum zone_stat_item", "NR_FREE_PAGES").unwrap_or(0) as u64;
    let mut sum = 0u64;
    for (_, pgdat) in online_nodes(prog)? {
        let zones = prog
            .object("struct pglist_data", pgdat)?
            .member("node_zones")?;
        for z in 0..zones.array_len()?.min(16) {
            let zone = zones.index(z)?;
            if high_only && zone.member("name")?.read_string(16)? != "HighMem" {
                continue;
            }
            let v = read_counter(&zone.member("vm_stat")?.index(idx)?)?;
            sum = sum.saturating_add(v.max(0) as u64);
        }
    }
    Ok(sum)
}

/// Pages in the block devices' page caches (the kernel's `nr_blockdev_pages()`): the inodes of
/// the `blockdev_superblock` (or the `all_bdevs` list of old kernels), each `i_mapping->nrpages`.
/// `Some(0)` when the kernel has no `nr_blockdev_pages`; with an error, the pages counted before it.
pub fn blockdev_pages(prog: &Program, limit: usize) -> (Option<u64>, Option<String>) {
    if prog.symbol_address("nr_blockdev_pages").is_err() {
        return (Some(0), None);
    }
    let walk = || -> Result<(Vec<u64>, Option<ProgramError>)> {
        if let Ok(all) = prog.symbol_address("all_bdevs") {
            let (bdevs, err) = list_entries(prog, all, "struct block_device", "bd_list", limit)?;
            let mut inodes = Vec::new();
            for b in bdevs {
                inodes.push(
                    prog.object("struct block_device", b)?
                        .member("bd_inode")?
                        .read_u64()?,
                );
            }
            return Ok((inodes, err));
        }
        crate::fs::block_device_inodes(prog, limit)
    };
    let (inodes, err) = match walk() {
        Ok(v) => v,
        Err(e) => return (None, Some(e.to_string())),
    };
    let mut total = 0u64;
    for i in inodes {
        let pages = prog
            .object("struct inode", i)
            .and_then(|o| o.member("i_mapping")?.member("nrpages")?.read_u64());
        match pages {
            Ok(n) => total = total.saturating_add(n),
            Err(e) => return (Some(total), Some(format!("inode {i:#x}: {e}"))),
        }
    }
    (Some(total), err.map(|e| e.to_string()))
}

/// The page cache without the swap cache and the block devices' pages (`NR_FILE_PAGES` -
/// `NR_SWAPCACHE` - buffers), never below 0.
pub fn cached_pages(prog: &Program, buffers: u64) -> Result<u64> {
    let file = first_stat(prog, &["NR_FILE_PAGES"])?;
    let swapcache = vm_stat(prog, "NR_SWAPCACHE")?.ok_or_else(|| ProgramError::Walk {
        what: "swap cache".into(),
        why: "no NR_SWAPCACHE counter in this kernel".into(),
    })?;
    Ok(file
        .saturating_sub(swapcache)
        .saturating_sub(buffers as i64)
        .max(0) as u64)
}

/// Pages of slab: reclaimable plus unreclaimable (`NR_SLAB_*_B` since 5.9, counted in pages
/// globally), or `NR_SLAB` of old kernels.
pub fn slab_pages(prog: &Program) -> Result<u64> {
    for (a, b) in [
        ("NR_SLAB_RECLAIMABLE_B", "NR_SLAB_UNRECLAIMABLE_B"),
        ("NR_SLAB_RECLAIMABLE", "NR_SLAB_UNRECLAIMABLE"),
    ] {
        if let Some(r) = vm_stat(prog, a)? {
            let u = vm_stat(prog, b)?.unwrap_or(0);
            return Ok(r.saturating_add(u).max(0) as u64);
        }
    }
    Ok(first_stat(prog, &["NR_SLAB"])?.max(0) as u64)
}

/// Huge pages, in base pages: each registered `hstates[]` entry's `nr_huge_pages` and
/// `free_huge_pages` shifted by its order. Zero when the kernel has no hugetlb.
pub fn hugetlb(prog: &Program) -> Result<Pool> {
    let Ok(hstates) = prog.symbol_address("hstates") else {
        return Ok(Pool::default());
    };
    let n = prog
        .mem()
        .read_u32(prog.symbol_address("hugetlb_max_hstate")?)? as u64;
    let ty = prog.type_("struct hstate")?;
    let size = prog.types().size_of(ty)?;
    let mut pool = Pool::default();
    for i in 0..n.min(MAX_HSTATES) {
        let h =
            kdive_program::Object::reference(prog, ty, hstates.wrapping_add(i.wrapping_mul(size)));
        let order = h.member("order")?.read_u64()?;
        if order == 0 || order >= 32 {
            continue;
        }
        pool.total = pool.total.saturating_add(
            h.member("nr_huge_pages")?
                .read_u64()?
                .saturating_mul(1 << order),
        );
        pool.part = pool.part.saturating_add(
            h.member("free_huge_pages")?
                .read_u64()?
                .saturating_mul(1 << order),
        );
    }
    Ok(pool)
}

/// Swap in use: every `swap_info[]` device with `SWP_USED`, its `pages` and `inuse_pages`.
pub fn swap(prog: &Program) -> Result<Pool> {
    let Ok(info) = prog.symbol_address("swap_info") else {
        return Ok(Pool::default());
    };
    let n = prog.mem().read_u32(prog.symbol_address("nr_swapfiles")?)? as u64;
    let mut pool = Pool::default();
    for i in 0..n.min(MAX_SWAPFILES) {
        let si = prog.read_u64(info.wrapping_add(8 * i))?;
        if si == 0 {
            continue;
        }
        let s = prog.object("struct swap_info_struct", si)?;
        if s.member("flags")?.read_u64()? & 1 == 0 {
            continue;
        }
        pool.total = pool
            .total
            .saturating_add(s.member("pages")?.read_i64()?.max(0) as u64);
        pool.part = pool
            .part
            .saturating_add(s.member("inuse_pages")?.read_i64()?.max(0) as u64);
    }
    Ok(pool)
}

/// The commit limit (`sysctl_overcommit_kbytes`, else `sysctl_overcommit_ratio` percent of RAM
/// outside huge pages, plus swap) and `vm_committed_as`, as crash computes them.
fn commit(prog: &Program, page_shift: u32, m: &MemInfo) -> Result<Commit> {
    let missing = |what: &str| ProgramError::Walk {
        what: "commit limit".into(),
        why: format!("{what} unknown"),
    };
    let kbytes = match prog.symbol_address("sysctl_overcommit_kbytes") {
        Ok(a) => prog.read_u64(a)?,
        Err(_) => 0,
    };
    let mut limit = if kbytes != 0 {
        kbytes
            .checked_shr(page_shift.saturating_sub(10))
            .unwrap_or(0)
    } else {
        let ratio = prog
            .mem()
            .read_u32(prog.symbol_address("sysctl_overcommit_ratio")?)? as i32
            as i64;
        let total = m.total.ok_or_else(|| missing("total RAM"))?;
        let huge = m.huge.ok_or_else(|| missing("huge pages"))?.total;
        (total.wrapping_sub(huge) as i64).wrapping_mul(ratio) as u64 / 100
    };
    limit = limit.saturating_add(m.swap.ok_or_else(|| missing("swap"))?.total);
    let committed = prog
        .variable("vm_committed_as", "struct percpu_counter")?
        .member("count")?
        .read_i64()?
        .max(0) as u64;
    Ok(Commit { limit, committed })
}
