//! A process's address space: its `mm_struct` and VMAs (maple tree `mm_mt` since 6.1, the
//! `mmap` list before).

use kdive_program::{Program, Result};

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
    })
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

/// A task's user address space, read through its own page tables (`mm->pgd`).
pub struct UserMemory {
    km: std::sync::Arc<kdive_memory::KernelMemory>,
    /// Physical address of the top-level page table.
    root: u64,
}

impl UserMemory {
    /// The user address space of the task at `task`; `Ok(None)` for a kernel thread (no `mm`)
    /// or a program without page tables (not opened from a dump).
    pub fn of_task(prog: &Program, task: u64) -> Result<Option<UserMemory>> {
        let Some(km) = prog.kernel_memory() else {
            return Ok(None);
        };
        let mm = prog.object("struct task_struct", task)?.member("mm")?;
        if mm.read_u64()? == 0 {
            return Ok(None);
        }
        let pgd = mm.deref()?.member("pgd")?.read_u64()?;
        let root = km
            .translate(pgd)
            .map_err(kdive_program::ProgramError::from)?;
        Ok(Some(UserMemory {
            km: km.clone(),
            root,
        }))
    }
}

impl UserMemory {
    /// Physical address of the task's top-level page table.
    pub fn root(&self) -> u64 {
        self.root
    }
}

impl kdive_memory::ReadVirt for UserMemory {
    fn read_virt(&self, addr: u64, buf: &mut [u8]) -> kdive_memory::Result<()> {
        const PAGE: u64 = 4096;
        let mut done = 0usize;
        while done < buf.len() {
            let at = addr.wrapping_add(done as u64);
            let phys = self.km.translate_in(self.root, at)?;
            let n = ((PAGE - at % PAGE) as usize).min(buf.len() - done);
            self.km
                .read_phys(phys, &mut buf[done..done + n])
                .map_err(|source| kdive_memory::MemError::Dump {
                    vaddr: at,
                    level: None,
                    source,
                })?;
            done += n;
        }
        Ok(())
    }
}
