//! `runq`: each CPU's runqueue as crash prints it: the running task, then the tasks queued in the
//! RT priority arrays and the CFS tree.

use kdive_linux::percpu::online_cpus;
use kdive_linux::sched::{read_runqueue, RunQueue};
use serde::Serialize;

use crate::args::Flags;
use crate::table;
use crate::{CommandError, Report, Session};

/// A task `runq` names.
#[derive(Debug, Serialize)]
pub struct RunqTask {
    pub pid: Option<i32>,
    #[serde(serialize_with = "crate::hex")]
    pub task: u64,
    pub comm: Option<String>,
    pub prio: Option<i64>,
}

/// One CPU.
#[derive(Debug, Serialize)]
pub struct RunqCpu {
    pub cpu: u32,
    #[serde(serialize_with = "crate::hex")]
    pub runqueue: u64,
    pub current: RunqTask,
    #[serde(serialize_with = "crate::hex")]
    pub rt_prio_array: u64,
    pub rt: Vec<RunqTask>,
    #[serde(serialize_with = "crate::hex")]
    pub cfs_rb_root: u64,
    pub cfs: Vec<RunqTask>,
    pub problems: Vec<String>,
}

/// What `runq` reports.
#[derive(Debug, Serialize)]
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
    fn text(&self) -> String {
        let blocks: Vec<String> = self
            .cpus
            .iter()
            .map(|c| {
                let mut b = format!("CPU {} RUNQUEUE: {:016x}\n", c.cpu, c.runqueue);
                b += &format!("  CURRENT: {}\n", task_text(&c.current));
                b += &format!("  RT PRIO_ARRAY: {:016x}\n", c.rt_prio_array);
                b += &queue_text(&c.rt);
                b += &format!("  CFS RB_ROOT: {:016x}\n", c.cfs_rb_root);
                b += &queue_text(&c.cfs);
                for p in &c.problems {
                    b += &format!("  runq: {p}\n");
                }
                b
            })
            .collect();
        let mut out = blocks.join("\n");
        for p in &self.problems {
            out += &format!("runq: {p}\n");
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
