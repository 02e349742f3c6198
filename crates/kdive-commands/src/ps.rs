//! `ps`: every task, as crash's `ps` lists them.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::{duration, task_header};
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// One row of `ps`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PsRow {
    /// Running on a CPU at the time of the dump (crash marks it `>`).
    pub active: bool,
    pub pid: i32,
    pub ppid: i32,
    pub cpu: u32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    /// crash's two-letter state.
    pub st: String,
    /// The kernel's one-letter state.
    pub state: char,
    pub mem_percent: f64,
    /// Virtual size in KiB.
    pub vsz: u64,
    /// Resident size in KiB.
    pub rss: u64,
    pub comm: String,
    pub kthread: bool,
    pub start_time_ns: u64,
    pub run_time_ns: u64,
    pub utime_ns: u64,
    pub stime_ns: u64,
}

/// What `ps` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ps {
    pub tasks: Vec<PsRow>,
    /// Tasks the kernel had that could not be read from the dump.
    pub missing: u64,
    pub problems: Vec<String>,
    /// With `-p`: for each row, its ancestors from the idle task down to the row's task
    /// (empty otherwise).
    pub ancestry: Vec<Vec<PsAncestor>>,
    pub options: PsOptions,
}

/// A task of a `ps -p` chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PsAncestor {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
}

/// How `ps` prints.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PsOptions {
    pub layout: PsLayout,
}

/// Which of crash's `ps` layouts to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PsLayout {
    /// The table of tasks.
    Table,
    /// `-t`: run, start, user and system times per task.
    RunTimes,
    /// `-p`: each task's ancestry, from the idle task down.
    Parents,
}

/// Runs `ps [-k|-u|-G] [-t|-p] [PID|TASK|COMM ...]`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::PS, args)?;
    let prog = s.kernel()?;
    let tasks = s.tasks()?;
    let page_kib = s.dump().kernel_page_size() / 1024;
    // crash divides by the pages below high_memory, not by totalram
    let totalram =
        kdive_linux::system::high_memory_pages(prog, s.dump().kernel_page_size()).unwrap_or(0);
    let boottime = kdive_linux::system::clocks(prog)
        .map(|c| c.boottime_ns)
        .unwrap_or(0);
    let mut rows: Vec<PsRow> = tasks
        .infos
        .iter()
        .filter(|t| !f.has('k') || t.is_kthread())
        .filter(|t| !f.has('u') || !t.is_kthread())
        .filter(|t| !f.has('G') || t.pid == t.tgid)
        .filter(|t| {
            f.positional.is_empty()
                || f.positional.iter().any(|p| {
                    p.parse::<i32>().is_ok_and(|pid| pid == t.pid)
                        || u64::from_str_radix(p.trim_start_matches("0x"), 16)
                            .is_ok_and(|a| a == t.addr && p.len() > 8)
                        || *p == t.comm
                })
        })
        .map(|t| PsRow {
            active: tasks.list.active.get(&t.cpu) == Some(&t.addr),
            pid: t.pid,
            // idle tasks are nobody's children in crash's listing
            ppid: if t.pid == 0 { 0 } else { t.ppid },
            cpu: t.cpu,
            task: t.addr,
            st: t.state_code().to_string(),
            state: t.state_char(),
            mem_percent: if totalram > 0 {
                t.rss_pages as f64 * 100.0 / totalram as f64
            } else {
                0.0
            },
            vsz: t.total_vm_pages.saturating_mul(page_kib),
            rss: t.rss_pages.saturating_mul(page_kib),
            comm: t.comm.clone(),
            kthread: t.is_kthread(),
            start_time_ns: t.start_time_ns,
            run_time_ns: boottime.saturating_sub(t.start_time_ns),
            utime_ns: t.utime_ns,
            stime_ns: t.stime_ns,
        })
        .collect();
    // crash's order: by PID, the idle tasks (PID 0) by CPU.
    rows.sort_by_key(|r| (r.pid, r.cpu));
    let layout = if f.has('t') {
        PsLayout::RunTimes
    } else if f.has('p') {
        PsLayout::Parents
    } else {
        PsLayout::Table
    };
    let ancestry = if layout == PsLayout::Parents {
        rows.iter().map(|r| ancestors(&tasks.infos, r)).collect()
    } else {
        Vec::new()
    };
    Ok(Box::new(Ps {
        tasks: rows,
        missing: tasks.list.missing(),
        problems: tasks.list.problems.clone(),
        options: PsOptions { layout },
        ancestry,
    }))
}

/// The chain from the oldest ancestor down to the row's task.
fn ancestors(infos: &[kdive_linux::task::TaskInfo], row: &PsRow) -> Vec<PsAncestor> {
    let by_pid: std::collections::HashMap<i32, &kdive_linux::task::TaskInfo> = infos
        .iter()
        .filter(|t| t.pid != 0 || t.cpu == 0)
        .map(|t| (t.pid, t))
        .collect();
    let mut chain = vec![PsAncestor {
        pid: row.pid,
        task: row.task,
        cpu: row.cpu,
        comm: row.comm.clone(),
    }];
    let mut ppid = row.ppid;
    // bounded: a loop in parent links must not hang
    while chain.len() < 64 && chain.last().is_some_and(|c| c.pid != 0) {
        let Some(p) = by_pid.get(&ppid) else { break };
        chain.push(PsAncestor {
            pid: p.pid,
            task: p.addr,
            cpu: p.cpu,
            comm: p.comm.clone(),
        });
        ppid = if p.pid == 0 { 0 } else { p.ppid };
    }
    chain.reverse();
    chain
}

impl Ps {
    fn comm(r: &PsRow) -> String {
        if r.kthread {
            format!("[{}]", r.comm)
        } else {
            r.comm.clone()
        }
    }
}

impl Report for Ps {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        match self.options.layout {
            PsLayout::RunTimes => {
                for r in &self.tasks {
                    write!(
                        out,
                        "{}\n    RUN TIME: {}\n  START TIME: {}\n       UTIME: {}\n       STIME: {}\n",
                        task_header(r.pid, r.task, r.cpu, &r.comm),
                        duration(r.run_time_ns / 1_000_000_000),
                        r.start_time_ns / 1_000_000_000,
                        r.utime_ns,
                        r.stime_ns
                    )?;
                }
            }
            PsLayout::Parents => {
                for chain in &self.ancestry {
                    for (depth, a) in chain.iter().enumerate() {
                        let header = task_header(a.pid, a.task, a.cpu, &a.comm);
                        writeln!(out, "{:depth$}{header}", "")?;
                    }
                    writeln!(out)?;
                }
            }
            PsLayout::Table => {
                writeln!(
                    out,
                    "      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM"
                )?;
                for r in &self.tasks {
                    writeln!(
                        out,
                        "{}{:>8}{:>8}{:>4}  {:016x}  {}  {:>4.1}{:>9}{:>9}  {}",
                        if r.active { '>' } else { ' ' },
                        r.pid,
                        r.ppid,
                        r.cpu,
                        r.task,
                        r.st,
                        r.mem_percent,
                        r.vsz,
                        r.rss,
                        Self::comm(r)
                    )?;
                }
            }
        }
        if self.missing > 0 {
            writeln!(
                out,
                "ps: {} task(s) could not be read: their task structures are missing from the dump; this list is incomplete",
                self.missing
            )?;
        }
        // A damaged task structure is reported even when every task was found another way.
        for p in self.problems.iter().take(8) {
            writeln!(out, "ps: {p}")?;
        }
        Ok(())
    }
}
