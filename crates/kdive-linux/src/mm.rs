//! A process's address space: its `mm_struct` and VMAs (maple tree `mm_mt` since 6.1, the
//! `mmap` list before).

use kdive_memory::AddressSpace;
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
