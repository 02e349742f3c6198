//! `ps`: every task, as crash's `ps` lists them.

use serde::Serialize;

use crate::args::Flags;
use crate::format::duration;
use crate::{CommandError, Report, Session};

/// One row of `ps`.
#[derive(Debug, Serialize)]
pub struct PsRow {
    /// Running on a CPU at the time of the dump (crash marks it `>`).
    pub active: bool,
    pub pid: i32,
    pub ppid: i32,
    pub cpu: u32,
    #[serde(serialize_with = "crate::hex")]
    pub task: u64,
    /// crash's two-letter state.
    pub st: &'static str,
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
#[derive(Debug, Serialize)]
pub struct Ps {
    pub tasks: Vec<PsRow>,
    /// Tasks the kernel had that could not be read from the dump.
    pub missing: u64,
    pub problems: Vec<String>,
    #[serde(skip)]
    run_times: bool,
}

/// Runs `ps [-k|-u] [-t] [PID|TASK|COMM ...]`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse("ps", args, "kutG").map_err(CommandError::Usage)?;
    let prog = s.kernel()?;
    let tasks = s.tasks()?;
    let page_kib = s.dump().page_size() / 1024;
    // crash divides by the pages below high_memory, not by totalram
    let totalram = kdive_linux::system::high_memory_pages(prog, s.dump().page_size()).unwrap_or(0);
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
            st: t.state_code(),
            state: t.state_char(),
            mem_percent: if totalram > 0 {
                t.rss_pages as f64 * 100.0 / totalram as f64
            } else {
                0.0
            },
            vsz: t.total_vm_pages * page_kib,
            rss: t.rss_pages * page_kib,
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
    Ok(Box::new(Ps {
        tasks: rows,
        missing: tasks.list.missing(),
        problems: tasks.list.problems.clone(),
        run_times: f.has('t'),
    }))
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
    fn text(&self) -> String {
        let mut out = String::new();
        if self.run_times {
            for r in &self.tasks {
                out += &format!(
                    "PID: {:<7} TASK: {:016x}  CPU: {:<3} COMMAND: \"{}\"\n    RUN TIME: {}\n  START TIME: {}\n       UTIME: {}\n       STIME: {}\n",
                    r.pid,
                    r.task,
                    r.cpu,
                    r.comm,
                    duration(r.run_time_ns / 1_000_000_000),
                    r.start_time_ns / 1_000_000_000,
                    r.utime_ns,
                    r.stime_ns
                );
            }
        } else {
            out += "      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM\n";
            for r in &self.tasks {
                out += &format!(
                    "{}{:>8}{:>8}{:>4}  {:016x}  {}  {:>4.1}{:>9}{:>9}  {}\n",
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
                );
            }
        }
        if self.missing > 0 {
            out += &format!(
                "ps: {} task(s) could not be read: their task structures are missing from the dump; this list is incomplete\n",
                self.missing
            );
        }
        if !self.problems.is_empty() && (self.missing > 0 || self.tasks.is_empty()) {
            for p in self.problems.iter().take(8) {
                out += &format!("ps: {p}\n");
            }
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
