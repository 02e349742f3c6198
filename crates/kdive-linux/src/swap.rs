//! Swap devices (`swap_info[]`): each area's size, use, priority and file.

use kdive_memory::EntryFormat;
use kdive_program::{Program, Result};

use crate::fs::d_path;

/// `SWP_USED` in `swap_info_struct.flags`: the slot holds an area.
const SWP_USED: u64 = 1;
/// `S_IFMT` and `S_IFBLK` of `i_mode`.
const S_IFMT: u64 = 0o170000;
const S_IFBLK: u64 = 0o060000;

/// One swap area.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SwapArea {
    /// Its `struct swap_info_struct`.
    pub addr: u64,
    /// A block device (partition) rather than a file.
    pub partition: bool,
    /// Usable pages, and pages in use.
    pub pages: u64,
    pub used_pages: u64,
    pub priority: i64,
    /// The swap file's or device's path.
    pub path: Option<String>,
}

/// The swap areas in use, in `swap_info[]` order, and what could not be read.
pub fn swap_areas(prog: &Program) -> Result<(Vec<SwapArea>, Vec<String>)> {
    let nr = u64::from(prog.mem().read_u32(prog.symbol_address("nr_swapfiles")?)?).min(64);
    let table = prog.symbol_address("swap_info")?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for i in 0..nr {
        let p = prog.read_u64(table + 8 * i)?;
        if p == 0 {
            continue;
        }
        match read_area(prog, p) {
            Ok(Some(a)) => out.push(a),
            Ok(None) => {}
            Err(e) => problems.push(format!("swap_info[{i}] at {p:#x}: {e}")),
        }
    }
    Ok((out, problems))
}

/// A swap entry as a non-present page-table entry holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SwapEntry {
    /// Index in `swap_info[]`.
    pub area: u64,
    /// Page offset in the area.
    pub offset: u64,
}

/// Decodes the swap entry of a non-present PTE (`__pte_to_swp_entry`, `__swp_type`,
/// `__swp_offset`). x86_64 since the L1TF mitigation (4.18): the type in bits 59..63, the
/// offset inverted in bits 9..58. aarch64: the type in bits 3..7, the offset from bit 8.
pub fn swap_entry(format: &EntryFormat, pte: u64) -> SwapEntry {
    match format {
        EntryFormat::X86 { .. } => SwapEntry {
            area: pte >> 59,
            offset: (!pte << 5) >> 14,
        },
        EntryFormat::Arm64 { .. } => SwapEntry {
            area: (pte >> 3) & 0x1f,
            offset: pte >> 8,
        },
    }
}

/// The path of the file or device of `swap_info[area]`, `None` when the slot is empty or
/// out of the table (`nr_swapfiles`).
pub fn swap_area_path(prog: &Program, area: u64) -> Result<Option<String>> {
    let nr = u64::from(prog.mem().read_u32(prog.symbol_address("nr_swapfiles")?)?);
    if area >= nr.min(64) {
        return Ok(None);
    }
    let p = prog.read_u64(prog.symbol_address("swap_info")? + 8 * area)?;
    if p == 0 {
        return Ok(None);
    }
    Ok(read_area(prog, p)?.and_then(|a| a.path))
}

fn read_area(prog: &Program, addr: u64) -> Result<Option<SwapArea>> {
    let s = prog.object("struct swap_info_struct", addr)?;
    if s.member("flags")?.read_u64()? & SWP_USED == 0 {
        return Ok(None);
    }
    let file = s.member("swap_file")?.read_u64()?;
    let (partition, path) = if file == 0 {
        (false, None)
    } else {
        let f = prog.object("struct file", file)?;
        let inode = f.member("f_inode")?.read_u64()?;
        let mode = prog
            .object("struct inode", inode)?
            .member("i_mode")?
            .read_u64()?;
        let p = f.member("f_path")?;
        let path = d_path(
            prog,
            p.member("mnt")?.read_u64()?,
            p.member("dentry")?.read_u64()?,
        )?;
        (mode & S_IFMT == S_IFBLK, Some(path))
    };
    Ok(Some(SwapArea {
        addr,
        partition,
        pages: s.member("pages")?.read_u64()?,
        used_pages: s.member("inuse_pages")?.read_u64()?,
        priority: s.member("prio")?.read_i64()?,
        path,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_entries_decode_as_the_kernel_encodes_them() {
        // x86_64 (pgtable_64.h, L1TF): pte = (~offset << SWP_OFFSET_SHIFT(14) >> SWP_TYPE_BITS(5))
        //                                    | type << (64 - SWP_TYPE_BITS)
        let (area, offset) = (3u64, 0x1_2345u64);
        let pte = ((!offset) << 14 >> 5) | (area << 59);
        let x86 = EntryFormat::X86 { clear: 0 };
        assert_eq!(swap_entry(&x86, pte), SwapEntry { area, offset });
        // aarch64: type at __SWP_TYPE_SHIFT 3 (5 bits), offset from __SWP_OFFSET_SHIFT 8
        let arm = EntryFormat::Arm64 {
            page_shift: 12,
            lpa2: false,
        };
        let pte = (area << 3) | (offset << 8);
        assert_eq!(swap_entry(&arm, pte), SwapEntry { area, offset });
    }
}
