//! A process's address space: its `mm_struct` and VMAs (maple tree `mm_mt` since 6.1, the
//! `mmap` list before).

use kdive_memory::{AddressSpace, EntryFormat, KernelMemory};
use kdive_program::{Program, ProgramError, Result};

use crate::fs::d_path;

/// One VMA.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Vma {
    /// Address of its `struct vm_area_struct`.
    pub addr: u64,
    pub start: u64,
    pub end: u64,
    pub flags: u64,
    /// Path of the mapped file, if any.
    pub file: Option<String>,
    /// `vm_pgoff`: the file page mapped at `start`.
    pub pgoff: u64,
}

impl Vma {
    /// The byte offset in the mapped file of the page holding `vaddr` (`vm_pgoff` plus the
    /// pages from `start`), with pages of `page_size` bytes.
    pub fn file_offset(&self, vaddr: u64, page_size: u64) -> u64 {
        let shift = page_size.max(1).trailing_zeros();
        ((vaddr.saturating_sub(self.start) >> shift) + self.pgoff) << shift
    }
}

/// The VMAs of the `mm_struct` at `mm`, in address order, and what could not be read.
pub fn vmas(prog: &Program, mm: u64, limit: usize) -> Result<(Vec<u64>, Vec<String>)> {
    let mm_ty = prog.type_("struct mm_struct")?;
    let mut problems = Vec::new();
    if prog.types().has_member(mm_ty, "mm_mt") {
        let tree = prog
            .object("struct mm_struct", mm)?
            .member("mm_mt")?
            .address()
            .unwrap_or(0);
        let (entries, err) = crate::maple::entries(prog, tree, limit)?;
        if let Some(e) = err {
            problems.push(format!("VMA tree: {e}"));
        }
        return Ok((entries.into_iter().map(|e| e.value).collect(), problems));
    }
    // before the maple tree: a list through vm_next
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut v = prog
        .object("struct mm_struct", mm)?
        .member("mmap")?
        .read_u64()?;
    while v != 0 {
        if out.len() >= limit || !seen.insert(v) {
            problems.push(format!(
                "VMA list: stopped at {v:#x} (a loop, or over {limit})"
            ));
            break;
        }
        out.push(v);
        v = match prog
            .object("struct vm_area_struct", v)
            .and_then(|o| o.member("vm_next")?.read_u64())
        {
            Ok(n) => n,
            Err(e) => {
                problems.push(format!("VMA list after {v:#x}: {e}"));
                break;
            }
        };
    }
    Ok((out, problems))
}

/// Reads one VMA.
pub fn read_vma(prog: &Program, addr: u64) -> Result<Vma> {
    let v = prog.object("struct vm_area_struct", addr)?;
    let file = v.member("vm_file")?.read_u64()?;
    let file = if file == 0 {
        None
    } else {
        let p = prog.object("struct file", file)?.member("f_path")?;
        Some(d_path(
            prog,
            p.member("mnt")?.read_u64()?,
            p.member("dentry")?.read_u64()?,
        )?)
    };
    Ok(Vma {
        addr,
        start: v.member("vm_start")?.read_u64()?,
        end: v.member("vm_end")?.read_u64()?,
        flags: v.member("vm_flags")?.read_u64()?,
        file,
        pgoff: v.member("vm_pgoff")?.read_u64()?,
    })
}

/// What the page tables say of one user page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserPage {
    /// In memory at this physical address (the address's own byte, a huge page's included).
    Mapped(u64),
    /// Not present, but the last-level entry is not empty: a swap entry (or another entry
    /// the kernel keeps in a non-present PTE, such as a migration entry).
    Swapped(u64),
    /// No entry at some level.
    Absent,
}

/// What the page tables rooted at physical `root` (a process's `pgd`, translated) say of
/// user address `vaddr`. A `PROT_NONE` entry (present to the kernel, not to the MMU: NUMA
/// balancing, `mprotect(PROT_NONE)`) still maps its page.
pub fn user_page(km: &KernelMemory, root: u64, vaddr: u64) -> Result<UserPage> {
    let walk = km.walk_from(root, vaddr)?;
    if let Some(m) = walk.mapping {
        return Ok(UserPage::Mapped(m.paddr));
    }
    let last_level = km.mmu().levels.len();
    match walk.steps.last() {
        Some(st) if walk.steps.len() == last_level && st.entry != 0 => {
            let mmu = km.mmu();
            if prot_none(&mmu.entry, st.entry) {
                let page = mmu.page_size();
                Ok(UserPage::Mapped(
                    mmu.output_address(st.entry) + (vaddr & (page - 1)),
                ))
            } else {
                Ok(UserPage::Swapped(st.entry))
            }
        }
        _ => Ok(UserPage::Absent),
    }
}

/// A non-present entry the kernel still counts as mapping its page: x86_64's
/// `_PAGE_PROTNONE` (bit 8 without `_PAGE_PRESENT`), aarch64's `PTE_PROT_NONE` (bit 58
/// without `PTE_VALID`).
fn prot_none(format: &EntryFormat, entry: u64) -> bool {
    let (valid, prot_none) = match format {
        EntryFormat::X86 { .. } => (1, 1 << 8),
        EntryFormat::Arm64 { .. } => (1, 1 << 58),
    };
    entry & valid == 0 && entry & prot_none != 0
}

/// The kernel's names of the `vm_flags` bits (`vmaflag_names[]`, the table `%pGv` prints
/// with), in its order: `(mask, name)`. `Ok(None)` when the kernel has no such table.
pub fn vma_flag_names(prog: &Program) -> Result<Option<Vec<(u64, String)>>> {
    let Ok(table) = prog.symbol_address("vmaflag_names") else {
        return Ok(None);
    };
    let size = prog
        .object("struct trace_print_flags", table)?
        .size()?
        .max(1);
    let mut out = Vec::new();
    // the table ends with {0, NULL}; 64 bits of flags bound it
    for i in 0..=64 {
        let e = prog.object("struct trace_print_flags", table + i * size)?;
        let mask = e.member("mask")?.read_u64()?;
        if mask == 0 {
            break;
        }
        out.push((mask, e.member("name")?.read_string(64)?));
    }
    Ok(Some(out))
}

/// `PAGE_OFFSET`, the start of the direct map of physical memory: what the translation layer
/// found, else the kernel's `page_offset_base` (KASLR), else x86_64's fixed 4-level base.
pub fn direct_map_base(prog: &Program) -> u64 {
    prog.kernel_memory()
        .and_then(|m| m.direct_map_base())
        .or_else(|| {
            prog.symbol_address("page_offset_base")
                .and_then(|a| prog.read_u64(a))
                .ok()
        })
        .unwrap_or(0xffff_8880_0000_0000)
}

/// The user address space of the task at `task` (its `mm`'s page tables); `Ok(None)` for a
/// kernel thread (no `mm`) or a program without page tables (not opened from a dump).
pub fn task_address_space(prog: &Program, task: u64) -> Result<Option<AddressSpace>> {
    if prog.kernel_memory().is_none() {
        return Ok(None);
    }
    let mm = prog
        .object("struct task_struct", task)?
        .member("mm")?
        .read_u64()?;
    if mm == 0 {
        return Ok(None);
    }
    address_space(prog, mm).map(Some)
}

/// The address space of the `mm_struct` at `mm`: its page tables (`mm->pgd`), to read the
/// process's user memory.
pub fn address_space(prog: &Program, mm: u64) -> Result<AddressSpace> {
    let kmem = prog.kernel_memory().ok_or_else(|| {
        ProgramError::Unsupported("user memory needs the dump's page tables".into())
    })?;
    let pgd = prog
        .object("struct mm_struct", mm)?
        .member("pgd")?
        .read_u64()?;
    let root = kmem.translate(pgd)?;
    Ok(AddressSpace::new(kmem.clone(), root))
}

/// Most bytes of a process's arguments or environment read.
const MAX_ARG_BYTES: u64 = 1 << 20;

/// The argument and environment strings of the `mm_struct` at `mm` (`arg_start..arg_end`,
/// `env_start..env_end` in its user memory), NUL-separated as the process has them.
pub fn args_and_env(prog: &Program, mm: u64) -> Result<(Vec<u8>, Vec<u8>)> {
    let m = prog.object("struct mm_struct", mm)?;
    let space = address_space(prog, mm)?;
    let read = |start: &str, end: &str| -> Result<Vec<u8>> {
        let a = m.member(start)?.read_u64()?;
        let b = m.member(end)?.read_u64()?;
        let len = b.saturating_sub(a).min(MAX_ARG_BYTES);
        let mut buf = vec![0u8; len as usize];
        kdive_memory::ReadVirt::read_virt(&space, a, &mut buf)?;
        Ok(buf)
    };
    Ok((read("arg_start", "arg_end")?, read("env_start", "env_end")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_offsets_count_pages_from_vm_pgoff() {
        // linear_page_index: ((addr - vm_start) >> PAGE_SHIFT) + vm_pgoff, in bytes
        let v = Vma {
            addr: 0,
            start: 0x400000,
            end: 0x500000,
            flags: 0,
            file: None,
            pgoff: 0x20,
        };
        assert_eq!(v.file_offset(0x400000, 4096), 0x20000);
        assert_eq!(v.file_offset(0x403fff, 4096), 0x23000);
    }
}
