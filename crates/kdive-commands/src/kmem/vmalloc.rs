//! `kmem -v`: the vmalloc areas, and the area holding an address.

use std::io::{self, Write};

use kdive_linux::vmalloc::{vmap_areas, VmapArea};
use kdive_program::Program;
use serde::{Deserialize, Serialize};

use crate::format::{justify, Justify};
use crate::{CommandError, Report, TextOptions};

/// One vmalloc area.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VmapAreaRow {
    #[serde(with = "crate::hex")]
    pub vmap_area: u64,
    #[serde(with = "crate::hex")]
    pub vm_struct: u64,
    #[serde(with = "crate::hex")]
    pub start: u64,
    #[serde(with = "crate::hex")]
    pub end: u64,
    /// Bytes.
    pub size: u64,
}

impl From<VmapArea> for VmapAreaRow {
    fn from(a: VmapArea) -> Self {
        VmapAreaRow {
            vmap_area: a.addr,
            vm_struct: a.vm,
            start: a.start,
            end: a.end,
            size: a.end.wrapping_sub(a.start),
        }
    }
}

/// `   VMAP_AREA         VM_STRUCT                 ADDRESS RANGE                SIZE`.
pub fn vmap_header() -> String {
    format!(
        "{}  {}  {}     SIZE",
        justify("VMAP_AREA", 16, Justify::Center),
        justify("VM_STRUCT", 16, Justify::Center),
        justify("ADDRESS RANGE", 16 * 2 + 3, Justify::Center)
    )
}

/// `ffff8e118104d080  ffff8e1181152880  ffffd51800000000 - ffffd51800005000    20480`.
pub fn vmap_line(a: &VmapAreaRow) -> String {
    format!(
        "{:x}  {:x}  {:>16x} - {:<16x}  {:7}",
        a.vmap_area, a.vm_struct, a.start, a.end, a.size
    )
}

/// Most pages of vmalloc space looked through for a physical address.
const MAX_VMALLOC_PAGES: u64 = 1 << 20;

/// The areas with a page mapping physical `paddr`, with the vmalloc address of `paddr` in
/// each (crash's `dump_vmap_area` for a physical address: every page of every area is
/// translated, up to [`MAX_VMALLOC_PAGES`] pages in all).
pub(crate) fn mapping_phys(
    prog: &Program,
    areas: Vec<VmapArea>,
    paddr: u64,
    page_size: u64,
) -> impl Iterator<Item = (u64, VmapAreaRow)> + '_ {
    let page_size = page_size.max(1);
    let page = paddr & !(page_size - 1);
    let mut budget = MAX_VMALLOC_PAGES;
    let mem = prog.kernel_memory();
    areas.into_iter().filter_map(move |a| {
        let mut v = a.start;
        while v < a.end && budget > 0 {
            budget -= 1;
            let p = mem.and_then(|m| m.translate(v).ok());
            if p.map(|p| p & !(page_size - 1)) == Some(page) {
                return Some((v + (paddr & (page_size - 1)), VmapAreaRow::from(a)));
            }
            v = v.saturating_add(page_size);
        }
        None
    })
}

/// `kmem -v` (every area, or those holding the addresses given).
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemVmalloc {
    pub areas: Vec<VmapAreaRow>,
    /// With addresses: the area each is in (`areas` is then empty).
    pub lookups: Vec<VmallocLookup>,
    pub problems: Vec<String>,
}

/// The vmalloc areas holding one address.
#[derive(Debug, Serialize, Deserialize)]
pub struct VmallocLookup {
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// The address is physical (given with -P, or below the direct map): the areas are those
    /// with a page mapping it.
    pub physical: bool,
    /// Empty: in no vmalloc area.
    pub areas: Vec<VmapAreaRow>,
}

/// `kmem -v ADDR...`: the area holding each kernel virtual address, or mapping each physical
/// one.
pub fn lookup(
    prog: &Program,
    addrs: &[(u64, bool)],
    page_size: u64,
    limit: usize,
) -> Result<KmemVmalloc, CommandError> {
    let (areas, problem) = vmap_areas(prog, limit).map_err(|source| CommandError::Program {
        cmd: "kmem",
        source,
    })?;
    let lookups = addrs
        .iter()
        .map(|&(address, physical)| VmallocLookup {
            address,
            physical,
            areas: if physical {
                mapping_phys(prog, areas.clone(), address, page_size)
                    .map(|(_, a)| a)
                    .collect()
            } else {
                areas
                    .iter()
                    .filter(|a| a.start <= address && address < a.end)
                    .copied()
                    .map(VmapAreaRow::from)
                    .collect()
            },
        })
        .collect();
    Ok(KmemVmalloc {
        areas: Vec::new(),
        lookups,
        problems: problem.into_iter().collect(),
    })
}

/// Every vmalloc area with a `vm_struct`, by address.
pub fn areas(prog: &Program, limit: usize) -> Result<KmemVmalloc, CommandError> {
    let (areas, problem) = vmap_areas(prog, limit).map_err(|source| CommandError::Program {
        cmd: "kmem",
        source,
    })?;
    Ok(KmemVmalloc {
        areas: areas.into_iter().map(VmapAreaRow::from).collect(),
        lookups: Vec::new(),
        problems: problem.into_iter().collect(),
    })
}

impl Report for KmemVmalloc {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        // crash prints the header once, before it looks: also when no area holds an address
        if !self.areas.is_empty() || !self.lookups.is_empty() {
            writeln!(out, "{}", vmap_header())?;
        }
        let found = self.lookups.iter().flat_map(|l| &l.areas);
        for a in self.areas.iter().chain(found) {
            writeln!(out, "{}", vmap_line(a))?;
        }
        for p in &self.problems {
            writeln!(out, "kmem: {p}")?;
        }
        Ok(())
    }
}
