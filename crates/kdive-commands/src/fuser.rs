//! `fuser`: the tasks using a file, by path or inode address, and how: as their root or
//! working directory, through an open descriptor, or mapped into memory.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::center;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// What `fuser` reports: one list per file asked about.
#[derive(Debug, Serialize, Deserialize)]
pub struct Fuser {
    pub files: Vec<FuserFile>,
}

/// The users of one file.
#[derive(Debug, Serialize, Deserialize)]
pub struct FuserFile {
    /// As given: a path, or an inode address.
    pub file: String,
    pub users: Vec<FuserUser>,
    /// Tasks whose files or memory map could not be read.
    pub problems: Vec<String>,
}

/// One task using the file.
#[derive(Debug, Serialize, Deserialize)]
pub struct FuserUser {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub comm: String,
    /// `root`, `cwd`, `fd`, `mmap`, in that order.
    pub usage: Vec<String>,
}

/// What a task is matched by.
enum Spec {
    Path(String),
    Inode(u64),
}

/// Runs `fuser`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::FUSER, args)?;
    if f.positional.is_empty() {
        return Err(CommandError::Usage(format!(
            "fuser: which file?\nusage: {}",
            table::FUSER.synopsis()
        )));
    }
    let prog = s.kernel()?;
    let tasks = s.tasks()?;
    let mut order: Vec<&kdive_linux::task::TaskInfo> = tasks.infos.iter().collect();
    order.sort_by_key(|t| (t.pid, t.cpu));
    let mut files = Vec::new();
    for word in &f.positional {
        let spec = if word.starts_with('/') {
            Spec::Path(word.clone())
        } else {
            u64::from_str_radix(word.trim_start_matches("0x"), 16)
                .ok()
                .filter(|a| *a >= 0xffff_0000_0000_0000)
                .map(Spec::Inode)
                .ok_or_else(|| CommandError::Usage(format!("fuser: invalid argument: {word}")))?
        };
        let mut users = Vec::new();
        let mut problems = Vec::new();
        for t in &order {
            let mut usage = Vec::new();
            if let Spec::Path(p) = &spec {
                match kdive_linux::fs::root_and_cwd(prog, t.addr) {
                    Ok((root, cwd)) => {
                        if &root == p {
                            usage.push("root");
                        }
                        if &cwd == p {
                            usage.push("cwd");
                        }
                    }
                    Err(e) => problems.push(format!("PID {} root and cwd: {e}", t.pid)),
                }
            }
            match kdive_linux::fs::open_files(prog, t.addr) {
                Ok((open, _)) => {
                    if open.iter().any(|o| match &spec {
                        Spec::Path(p) => &o.path == p,
                        Spec::Inode(i) => o.inode == *i,
                    }) {
                        usage.push("fd");
                    }
                }
                Err(e) => problems.push(format!("PID {} open files: {e}", t.pid)),
            }
            if t.mm != 0 && mapped(prog, t.mm, &spec, s.walk_limit, &mut problems) {
                usage.push("mmap");
            }
            if !usage.is_empty() {
                users.push(FuserUser {
                    pid: t.pid,
                    task: t.addr,
                    comm: t.comm.clone(),
                    usage: usage.into_iter().map(str::to_string).collect(),
                });
            }
        }
        files.push(FuserFile {
            file: word.clone(),
            users,
            problems,
        });
    }
    Ok(Box::new(Fuser { files }))
}

/// Whether the address space `mm` maps the file.
fn mapped(
    prog: &kdive_program::Program,
    mm: u64,
    spec: &Spec,
    limit: usize,
    problems: &mut Vec<String>,
) -> bool {
    let vmas = match kdive_linux::mm::vmas(prog, mm, limit) {
        Ok((v, _)) => v,
        Err(e) => {
            problems.push(format!("mm {mm:#x}: {e}"));
            return false;
        }
    };
    vmas.into_iter().any(|v| match spec {
        Spec::Path(p) => kdive_linux::mm::read_vma(prog, v)
            .ok()
            .and_then(|v| v.file)
            .is_some_and(|f| &f == p),
        Spec::Inode(i) => {
            prog.object("struct vm_area_struct", v)
                .and_then(|o| o.member("vm_file")?.read_u64())
                .ok()
                .filter(|&f| f != 0)
                .and_then(|f| {
                    prog.object("struct file", f)
                        .ok()?
                        .member("f_inode")
                        .ok()?
                        .read_u64()
                        .ok()
                })
                == Some(*i)
        }
    })
}

/// crash's COMM column: the name in quotes, cut to 15 characters and a space when longer.
fn comm_column(comm: &str) -> String {
    let quoted = format!("\"{comm}\"");
    if quoted.len() < 16 {
        format!("{quoted:<16}")
    } else {
        format!("{} ", &quoted[..15])
    }
}

impl Report for Fuser {
    fn write_text(&self, _: &TextOptions, w: &mut dyn Write) -> io::Result<()> {
        for f in &self.files {
            if f.users.is_empty() {
                writeln!(w, "No users of {} found", f.file.trim_start_matches("0x"))?;
            } else {
                writeln!(
                    w,
                    " PID   {}  COMM             USAGE",
                    center("TASK", 16, false)
                )?;
            }
            for u in &f.users {
                let mut usage = String::new();
                for x in &u.usage {
                    usage += x;
                    usage.push(' ');
                }
                writeln!(
                    w,
                    "{:>5}  {:>16}  {} {usage}",
                    u.pid,
                    format!("{:x}", u.task),
                    comm_column(&u.comm)
                )?;
            }
            for p in &f.problems {
                writeln!(w, "fuser: {p}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_column_as_crash_cuts_it() {
        // crash's fuser / on a-sysrq-6.1
        assert_eq!(comm_column("swapper/0"), "\"swapper/0\"     ");
        assert_eq!(comm_column("kworker/u4:0"), "\"kworker/u4:0\"  ");
        assert_eq!(comm_column("rcu_tasks_kthread"), "\"rcu_tasks_kthr ");
        assert_eq!(comm_column("acpi_thermal_pm"), "\"acpi_thermal_p ");
    }
}
