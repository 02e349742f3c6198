//! `vm [PID|TASK ...]`: a task's address space as crash prints it: the mm, its page tables, RSS
//! and size, then every VMA with its flags and file; `vm -m`: its `mm_struct`.

use kdive_linux::mm::{read_vma, vmas};
use kdive_linux::task::TaskInfo;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::task_header;
use crate::structs::{struct_value, StructValue};
use crate::table;
use crate::tasks::tasks_named;
use crate::{CommandError, Report, Session, TextOptions};

/// One VMA.
#[derive(Debug, Serialize, Deserialize)]
pub struct VmaRow {
    #[serde(with = "crate::hex")]
    pub vma: u64,
    #[serde(with = "crate::hex")]
    pub start: u64,
    #[serde(with = "crate::hex")]
    pub end: u64,
    #[serde(with = "crate::hex")]
    pub flags: u64,
    pub file: Option<String>,
}

impl VmaRow {
    /// crash's VMA table header.
    pub const HEADER: &'static str = "      VMA           START       END     FLAGS FILE";

    /// The VMA's line under [`VmaRow::HEADER`].
    pub fn line(&self) -> String {
        format!(
            "{:016x} {:>10x} {:>10x} {:x} {}",
            self.vma,
            self.start,
            self.end,
            self.flags,
            self.file.as_deref().unwrap_or("")
        )
    }
}

/// One task's address space.
#[derive(Debug, Serialize, Deserialize)]
pub struct TaskVm {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
    /// `mm_struct`, 0 for a kernel thread.
    #[serde(with = "crate::hex")]
    pub mm: u64,
    #[serde(with = "crate::hex")]
    pub pgd: u64,
    pub rss_kb: u64,
    pub total_vm_kb: u64,
    pub vmas: Vec<VmaRow>,
    /// `-m`: the `mm_struct` (null otherwise, and for a kernel thread).
    pub mm_struct: Option<StructValue>,
    pub problems: Vec<String>,
}

/// What `vm` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Vm {
    pub tasks: Vec<TaskVm>,
    /// `-m`: each task's `mm_struct` instead of its VMAs.
    pub mm_only: bool,
}

/// Runs `vm`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::VM, args)?;
    // RSS sums the cached counts of every thread of the mm (split RSS counting): list them all
    s.tasks()?;
    let chosen = tasks_named(s, "vm", &f.positional)?;
    for_tasks(s, &crate::tasks::as_refs(&chosen), &f)
}

/// `vm` of chosen tasks (`foreach ... vm`).
pub(crate) fn for_tasks(
    s: &Session,
    chosen: &[&TaskInfo],
    f: &Flags,
) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let page_kb = s.dump().kernel_page_size() / 1024;
    let mm_only = f.has('m');
    let mut out = Vm {
        tasks: Vec::new(),
        mm_only,
    };
    for &t in chosen {
        let mut tv = TaskVm {
            pid: t.pid,
            task: t.addr,
            cpu: t.cpu,
            comm: t.comm.clone(),
            mm: t.mm,
            pgd: 0,
            rss_kb: t.rss_pages.saturating_mul(page_kb),
            total_vm_kb: t.total_vm_pages.saturating_mul(page_kb),
            vmas: Vec::new(),
            mm_struct: None,
            problems: Vec::new(),
        };
        if mm_only {
            if t.mm != 0 {
                match prog
                    .object("struct mm_struct", t.mm)
                    .and_then(|m| struct_value(&m, None, Default::default(), None))
                {
                    Ok(v) => tv.mm_struct = Some(v),
                    Err(e) => tv.problems.push(format!("mm_struct {:#x}: {e}", t.mm)),
                }
            }
            out.tasks.push(tv);
            continue;
        }
        if t.mm != 0 {
            tv.pgd = prog
                .object("struct mm_struct", t.mm)
                .and_then(|m| m.member("pgd")?.read_u64())
                .unwrap_or(0);
            match vmas(prog, t.mm, s.walk_limit) {
                Ok((addrs, problems)) => {
                    tv.problems.extend(problems);
                    for a in addrs {
                        match read_vma(prog, a) {
                            Ok(v) => tv.vmas.push(VmaRow {
                                vma: v.addr,
                                start: v.start,
                                end: v.end,
                                flags: v.flags,
                                file: v.file,
                            }),
                            Err(e) => tv.problems.push(format!("VMA {a:#x}: {e}")),
                        }
                    }
                    tv.vmas.sort_by_key(|v| v.start);
                }
                Err(e) => tv.problems.push(format!("VMAs: {e}")),
            }
        }
        out.tasks.push(tv);
    }
    Ok(Box::new(out))
}

impl Report for Vm {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "{}", task_header(t.pid, t.task, t.cpu, &t.comm))?;
            if self.mm_only {
                if let Some(v) = &t.mm_struct {
                    v.write_body(out)?;
                }
                for p in &t.problems {
                    writeln!(out, "vm: {p}")?;
                }
                continue;
            }
            writeln!(out, "       MM               PGD          RSS    TOTAL_VM")?;
            if t.mm == 0 {
                writeln!(out, "       0                 0            0k       0k   ")?;
                continue;
            }
            writeln!(
                out,
                "{:016x}  {:016x}  {:>5}    {:>5}  ",
                t.mm,
                t.pgd,
                format!("{}k", t.rss_kb),
                format!("{}k", t.total_vm_kb)
            )?;
            writeln!(out, "{}", VmaRow::HEADER)?;
            for v in &t.vmas {
                writeln!(out, "{}", v.line())?;
            }
            for p in &t.problems {
                writeln!(out, "vm: {p}")?;
            }
            if !t.problems.is_empty() {
                writeln!(out, "vm: this VMA list is incomplete")?;
            }
        }
        Ok(())
    }
}
