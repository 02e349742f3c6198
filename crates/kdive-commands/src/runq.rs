//! `runq`: each CPU's runqueue as crash prints it: the running task, then the tasks queued in the
//! RT priority arrays and the CFS tree.

use kdive_linux::percpu::online_cpus;
use kdive_linux::sched::{read_runqueue, RunQueue};
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

/// A task `runq` names.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunqTask {
    pub pid: Option<i32>,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub comm: Option<String>,
    pub prio: Option<i64>,
}

/// One CPU.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunqCpu {
    pub cpu: u32,
    #[serde(with = "crate::hex")]
    pub runqueue: u64,
    pub current: RunqTask,
    #[serde(with = "crate::hex")]
    pub rt_prio_array: u64,
    pub rt: Vec<RunqTask>,
    #[serde(with = "crate::hex")]
    pub cfs_rb_root: u64,
    pub cfs: Vec<RunqTask>,
    pub problems: Vec<String>,
}

/// What `runq` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Runq {
    pub cpus: Vec<RunqCpu>,
    pub problems: Vec<String>,
}

/// Runs `runq`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Flags::parse(&table::RUNQ, args)?;
    let prog = s.kernel()?;
    let tasks = s.tasks().ok();
    let named = |task: u64, prio: Option<i64>| {
        let info = tasks.and_then(|t| t.infos.iter().find(|i| i.addr == task));
        RunqTask {
            pid: info.map(|i| i.pid),
            task,
            comm: info.map(|i| i.comm.clone()),
            prio,
        }
    };
    let cpus = online_cpus(prog).map_err(|e| CommandError::Program {
        cmd: "runq",
        source: e,
    })?;
    let mut out = Runq {
        cpus: Vec::new(),
        problems: Vec::new(),
    };
    for cpu in cpus {
        match read_runqueue(prog, cpu, s.walk_limit) {
            Ok(rq) => {
                let RunQueue {
                    addr,
                    curr,
                    rt_array,
                    rt,
                    cfs_root,
                    cfs,
                    problems,
                    ..
                } = rq;
                out.cpus.push(RunqCpu {
                    cpu,
                    runqueue: addr,
                    current: named(curr, None),
                    rt_prio_array: rt_array,
                    rt: rt.iter().map(|q| named(q.task, Some(q.prio))).collect(),
                    cfs_rb_root: cfs_root,
                    cfs: cfs.iter().map(|q| named(q.task, Some(q.prio))).collect(),
                    problems,
                });
            }
            Err(e) => out.problems.push(format!("runqueue of CPU {cpu}: {e}")),
        }
    }
    Ok(Box::new(out))
}

/// `PID: 565    TASK: ffff8e119be90000  COMMAND: "sh"`
fn task_text(t: &RunqTask) -> String {
    let pid = t.pid.map_or_else(|| "?".to_string(), |p| p.to_string());
    let comm = t.comm.as_deref().unwrap_or("?");
    format!("PID: {pid:<6} TASK: {:016x}  COMMAND: \"{comm}\"", t.task)
}

fn queue_text(q: &[RunqTask]) -> String {
    if q.is_empty() {
        return "     [no tasks queued]\n".into();
    }
    q.iter()
        .map(|t| format!("     [{:3}] {}\n", t.prio.unwrap_or(-1), task_text(t)))
        .collect()
}

impl Report for Runq {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for (i, c) in self.cpus.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "CPU {} RUNQUEUE: {:016x}", c.cpu, c.runqueue)?;
            writeln!(out, "  CURRENT: {}", task_text(&c.current))?;
            writeln!(out, "  RT PRIO_ARRAY: {:016x}", c.rt_prio_array)?;
            out.write_all(queue_text(&c.rt).as_bytes())?;
            writeln!(out, "  CFS RB_ROOT: {:016x}", c.cfs_rb_root)?;
            out.write_all(queue_text(&c.cfs).as_bytes())?;
            for p in &c.problems {
                writeln!(out, "  runq: {p}")?;
            }
        }
        for p in &self.problems {
            writeln!(out, "runq: {p}")?;
        }
        Ok(())
    }
}
