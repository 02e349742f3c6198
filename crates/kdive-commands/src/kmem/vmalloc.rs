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

/// `kmem -v` (every area, or those holding the addresses given).
#[derive(Debug, Serialize, Deserialize)]
pub struct KmemVmalloc {
    pub areas: Vec<VmapAreaRow>,
    pub problems: Vec<String>,
}

/// Every vmalloc area with a `vm_struct`, by address.
pub fn areas(prog: &Program, limit: usize) -> Result<KmemVmalloc, CommandError> {
    let (areas, problem) = vmap_areas(prog, limit).map_err(|source| CommandError::Program {
        cmd: "kmem",
        source,
    })?;
    Ok(KmemVmalloc {
        areas: areas.into_iter().map(VmapAreaRow::from).collect(),
        problems: problem.into_iter().collect(),
    })
}

impl Report for KmemVmalloc {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        if !self.areas.is_empty() {
            writeln!(out, "{}", vmap_header())?;
        }
        for a in &self.areas {
            writeln!(out, "{}", vmap_line(a))?;
        }
        for p in &self.problems {
            writeln!(out, "kmem: {p}")?;
        }
        Ok(())
    }
}
