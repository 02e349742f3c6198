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

/// `runq -t`, `-m`, `-T`: each CPU's runqueue clock and when its running task last ran.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunqClocks {
    pub cpus: Vec<RunqClock>,
    pub options: RunqClockOptions,
}

/// One CPU's clock.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunqClock {
    pub cpu: u32,
    /// `rq->clock`, nanoseconds; null when it could not be read (`error` says why).
    pub clock_ns: Option<u64>,
    /// The running task, with when it last ran (`sched_info.last_arrival`).
    pub current: Option<RunqTask>,
    pub current_last_run_ns: Option<u64>,
    /// `clock_ns` less `current_last_run_ns`: how long the running task has run (`-m`).
    pub since_run_ns: Option<u64>,
    /// How far this clock lags the latest CPU's (`-T`).
    pub lag_ns: Option<u64>,
    pub error: Option<String>,
}

/// How `runq -t/-m/-T` prints.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunqClockOptions {
    pub view: RunqClockView,
    /// How many CPUs crash counts (the indent of `-m`'s and `-T`'s CPU column).
    pub ncpus: u32,
}

/// Which of the clock views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunqClockView {
    /// `-t`: the clock and the running task's last run, in nanoseconds.
    Timestamps,
    /// `-m`: how long before the clock the running task last ran.
    SinceRun,
    /// `-T`: how far each CPU's clock lags the most advanced one.
    Lag,
}

/// `runq -g`: each CPU's queues by task group.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunqGroups {
    /// The root task group.
    #[serde(with = "crate::hex")]
    pub root_task_group: u64,
    pub cpus: Vec<RunqGroupCpu>,
    pub problems: Vec<String>,
}

/// One CPU's group queues.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunqGroupCpu {
    pub cpu: u32,
    pub current: RunqTask,
    /// The RT queue (with RT group scheduling only) and the CFS queue of the root group.
    pub rt: Option<RunqGroupQueue>,
    pub cfs: Option<RunqGroupQueue>,
}

/// A task group's queue on one CPU.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunqGroupQueue {
    #[serde(with = "crate::hex")]
    pub queue: u64,
    #[serde(with = "crate::hex")]
    pub group: u64,
    pub name: Option<String>,
    pub throttled: bool,
    pub entries: Vec<RunqGroupEntry>,
}

/// A task queued, or a task group's queue nested.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunqGroupEntry {
    Task {
        task: RunqTask,
        current: bool,
    },
    Group {
        prio: Option<i64>,
        queue: RunqGroupQueue,
    },
}

fn program_error(e: kdive_program::ProgramError) -> CommandError {
    CommandError::Program {
        cmd: "runq",
        source: e,
    }
}

/// Runs `runq`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::RUNQ, args)?;
    let prog = s.kernel()?;
    let chosen = f
        .value('c')
        .map(|c| crate::ps::parse_cpus("runq", c))
        .transpose()?;
    let view = if f.has('t') {
        Some(RunqClockView::Timestamps)
    } else if f.has('T') {
        Some(RunqClockView::Lag)
    } else if f.has('m') {
        Some(RunqClockView::SinceRun)
    } else {
        None
    };
    if let Some(view) = view {
        return clocks(s, view, chosen.as_deref());
    }
    if f.has('g') {
        return groups(s, chosen.as_deref());
    }
    if f.has('d') {
        return on_rq(s, chosen.as_deref());
    }
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
    let cpus: Vec<u32> = online_cpus(prog)
        .map_err(program_error)?
        .into_iter()
        .filter(|c| chosen.as_ref().is_none_or(|l| l.contains(c)))
        .collect();
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

/// The task at `task`, named from the session's task list.
fn named_task(s: &Session, task: u64, prio: Option<i64>) -> RunqTask {
    let info = s
        .tasks()
        .ok()
        .and_then(|t| t.infos.iter().find(|i| i.addr == task));
    RunqTask {
        pid: info.map(|i| i.pid),
        task,
        comm: info.map(|i| i.comm.clone()),
        prio,
    }
}

/// The CPUs crash goes through: `0..cpu_count`, the chosen ones only.
fn crash_cpus(
    prog: &kdive_program::Program,
    chosen: Option<&[u32]>,
) -> Result<Vec<u32>, CommandError> {
    let n = kdive_linux::percpu::cpu_count(prog).map_err(program_error)?;
    Ok((0..n)
        .filter(|c| chosen.is_none_or(|l| l.contains(c)))
        .collect())
}

fn clocks(
    s: &Session,
    view: RunqClockView,
    chosen: Option<&[u32]>,
) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let tasks = s.tasks()?;
    let ncpus = kdive_linux::percpu::cpu_count(prog).map_err(program_error)?;
    // -T compares every CPU
    let cpus = crash_cpus(prog, chosen.filter(|_| view != RunqClockView::Lag))?;
    let mut out = Vec::new();
    for cpu in cpus {
        let clock = kdive_linux::task::rq_clock(prog, cpu);
        let current = tasks.list.active.get(&cpu).copied();
        let last = current.and_then(|t| tasks.infos.iter().find(|i| i.addr == t));
        let clock_ns = clock.as_ref().ok().copied();
        let last_run = last.map(|i| i.last_arrival_ns);
        out.push(RunqClock {
            cpu,
            clock_ns,
            current: current.map(|t| named_task(s, t, None)),
            current_last_run_ns: last_run,
            since_run_ns: clock_ns.zip(last_run).map(|(c, l)| c.saturating_sub(l)),
            lag_ns: None,
            error: clock.err().map(|e| e.to_string()),
        });
    }
    if view == RunqClockView::Lag {
        out.sort_by(|a, b| b.clock_ns.cmp(&a.clock_ns));
        let top = out.first().and_then(|c| c.clock_ns).unwrap_or(0);
        for c in &mut out {
            c.lag_ns = Some(top.saturating_sub(c.clock_ns.unwrap_or(0)));
        }
    }
    Ok(Box::new(RunqClocks {
        cpus: out,
        options: RunqClockOptions { view, ncpus },
    }))
}

fn group_queue(s: &Session, q: kdive_linux::sched::GroupQueue) -> RunqGroupQueue {
    use kdive_linux::sched::GroupEntry;
    RunqGroupQueue {
        queue: q.addr,
        group: q.group,
        name: q.name,
        throttled: q.throttled,
        entries: q
            .entries
            .into_iter()
            .map(|e| match e {
                GroupEntry::Task {
                    task,
                    prio,
                    current,
                } => RunqGroupEntry::Task {
                    task: named_task(s, task, Some(prio)),
                    current,
                },
                GroupEntry::Group { prio, queue } => RunqGroupEntry::Group {
                    prio,
                    queue: group_queue(s, queue),
                },
            })
            .collect(),
    }
}

fn groups(s: &Session, chosen: Option<&[u32]>) -> Result<Box<dyn Report>, CommandError> {
    use kdive_linux::sched::{cfs_group_queue, group_queue_of, root_task_group, rt_group_queue};
    let prog = s.kernel()?;
    let tasks = s.tasks()?;
    let root = root_task_group(prog).map_err(program_error)?;
    let mut out = RunqGroups {
        root_task_group: root,
        cpus: Vec::new(),
        problems: Vec::new(),
    };
    for cpu in crash_cpus(prog, chosen)? {
        let current = tasks.list.active.get(&cpu).copied().unwrap_or(0);
        let mut row = RunqGroupCpu {
            cpu,
            current: named_task(s, current, None),
            rt: None,
            cfs: None,
        };
        match group_queue_of(prog, root, "rt_rq", cpu) {
            Ok(Some(rt_rq)) => match rt_group_queue(prog, rt_rq, s.walk_limit) {
                Ok((q, problems)) => {
                    row.rt = Some(group_queue(s, q));
                    out.problems.extend(problems);
                }
                Err(e) => out.problems.push(format!("RT queue of CPU {cpu}: {e}")),
            },
            Ok(None) => {}
            Err(e) => out.problems.push(format!("RT queue of CPU {cpu}: {e}")),
        }
        match group_queue_of(prog, root, "cfs_rq", cpu) {
            Ok(Some(cfs_rq)) => match cfs_group_queue(prog, cfs_rq, current, s.walk_limit) {
                Ok((q, problems)) => {
                    row.cfs = Some(group_queue(s, q));
                    out.problems.extend(problems);
                }
                Err(e) => out.problems.push(format!("CFS queue of CPU {cpu}: {e}")),
            },
            Ok(None) => {}
            Err(e) => out.problems.push(format!("CFS queue of CPU {cpu}: {e}")),
        }
        out.cpus.push(row);
    }
    Ok(Box::new(out))
}

/// `runq -d`: every task whose `on_rq` is set, under the CPU it was last on.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunqOnRq {
    pub cpus: Vec<RunqOnRqCpu>,
    /// Tasks whose `on_rq` or `prio` could not be read.
    pub problems: Vec<String>,
}

/// One CPU's tasks of `runq -d`, in PID order.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunqOnRqCpu {
    pub cpu: u32,
    pub tasks: Vec<RunqTask>,
}

/// Every task with `task_struct.on_rq` set (`se.on_rq` where the task has no `on_rq`), by the
/// CPU it was last on, as crash's `runq -d` goes through its task list.
fn on_rq(s: &Session, chosen: Option<&[u32]>) -> Result<Box<dyn Report>, CommandError> {
    let prog = s.kernel()?;
    let tasks = s.tasks()?;
    let ty = prog.type_("struct task_struct").map_err(program_error)?;
    let member = if prog.types().has_member(ty, "on_rq") {
        "on_rq"
    } else {
        "se.on_rq"
    };
    let mut sorted: Vec<_> = tasks.infos.iter().collect();
    sorted.sort_by_key(|t| t.pid);
    let mut queued = Vec::new();
    let mut problems = Vec::new();
    for t in sorted {
        let read = |m: &str| -> kdive_program::Result<i64> {
            prog.object("struct task_struct", t.addr)?
                .member(m)?
                .read_i64()
        };
        match read(member).and_then(|q| Ok((q, read("prio")?))) {
            Ok((0, _)) => {}
            Ok((_, prio)) => queued.push((t, prio)),
            Err(e) => problems.push(format!("task {:x}: {e}", t.addr)),
        }
    }
    let cpus = crash_cpus(prog, chosen)?
        .into_iter()
        .map(|cpu| RunqOnRqCpu {
            cpu,
            tasks: queued
                .iter()
                .filter(|(t, _)| t.cpu == cpu)
                .map(|(t, prio)| RunqTask {
                    pid: Some(t.pid),
                    task: t.addr,
                    comm: Some(t.comm.clone()),
                    prio: Some(*prio),
                })
                .collect(),
        })
        .collect();
    Ok(Box::new(RunqOnRq { cpus, problems }))
}

impl Report for RunqOnRq {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for (i, c) in self.cpus.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "CPU {}", c.cpu)?;
            if c.tasks.is_empty() {
                writeln!(out, "     [no tasks queued]")?;
            }
            for t in &c.tasks {
                writeln!(out, "     [{:3}] {}", t.prio.unwrap_or(-1), short_task(t))?;
            }
        }
        for p in &self.problems {
            writeln!(out, "runq: {p}")?;
        }
        Ok(())
    }

    fn incomplete(&self) -> Option<String> {
        (!self.problems.is_empty()).then(|| self.problems.join("; "))
    }
}

/// crash's `PID: %-5ld  TASK: %lx  COMMAND: "%s"` of the per-CPU views.
fn short_task(t: &RunqTask) -> String {
    let pid = t.pid.map_or_else(|| "?".to_string(), |p| p.to_string());
    let comm = t.comm.as_deref().unwrap_or("?");
    format!("PID: {pid:<5}  TASK: {:x}  COMMAND: \"{comm}\"", t.task)
}

impl Report for RunqClocks {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let digits = |n: u32| n.max(1).ilog10() as usize + 1;
        match self.options.view {
            RunqClockView::Timestamps => {
                for c in &self.cpus {
                    let pad = if c.cpu < 10 { " " } else { "" };
                    write!(out, "{pad}CPU {}: ", c.cpu)?;
                    let Some(clock) = c.clock_ns else {
                        writeln!(out, "{}", c.error.as_deref().unwrap_or("?"))?;
                        continue;
                    };
                    let text = clock.to_string();
                    writeln!(out, "{text}")?;
                    match (&c.current, c.current_last_run_ns) {
                        (Some(t), Some(last)) => {
                            let indent = digits(c.cpu) + 6 + usize::from(c.cpu < 10);
                            writeln!(
                                out,
                                "{}{last:0width$}  {}",
                                " ".repeat(indent),
                                short_task(t),
                                width = text.len()
                            )?;
                        }
                        _ => writeln!(out)?,
                    }
                }
            }
            RunqClockView::SinceRun => {
                let max_indent = digits(self.options.ncpus).min(4);
                let max_days = self
                    .cpus
                    .iter()
                    .find_map(|c| c.clock_ns)
                    .map_or(1, |c| crate::format::days_clock(c).find(' ').unwrap_or(1));
                for c in &self.cpus {
                    let indent = " ".repeat((max_indent + 1).saturating_sub(digits(c.cpu)));
                    match (&c.current, c.since_run_ns) {
                        (Some(t), Some(since)) => {
                            let since = crate::format::days_clock(since);
                            let days = since.find(' ').unwrap_or(1);
                            writeln!(
                                out,
                                "{indent}CPU {}: [{}{since}]  {}",
                                c.cpu,
                                " ".repeat(max_days.saturating_sub(days)),
                                short_task(t)
                            )?;
                        }
                        _ => writeln!(out, "{indent}CPU {}: [unknown]", c.cpu)?,
                    }
                }
            }
            RunqClockView::Lag => {
                let width = digits(self.options.ncpus);
                for c in &self.cpus {
                    let lag = c.lag_ns.unwrap_or(0) as f64 / 1e9;
                    writeln!(
                        out,
                        "{}CPU {}: {lag:.2} secs",
                        " ".repeat(2 + width - digits(c.cpu)),
                        c.cpu
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// Writes a group queue's entries at `depth` (CFS: 3 columns per level, RT: 6).
fn write_group_entries(
    out: &mut dyn Write,
    q: &RunqGroupQueue,
    depth: usize,
    rt: bool,
) -> io::Result<()> {
    let step = if rt { 6 } else { 3 };
    let indent = " ".repeat(5 + step * depth);
    for e in &q.entries {
        match e {
            RunqGroupEntry::Task { task, current } => writeln!(
                out,
                "{indent}[{:3}] {}{}",
                task.prio.unwrap_or(-1),
                short_task(task),
                if *current { " [CURRENT]" } else { "" }
            )?,
            RunqGroupEntry::Group { prio, queue } => {
                let throttled = if queue.throttled { " (THROTTLED)" } else { "" };
                let name = queue
                    .name
                    .as_ref()
                    .map_or(String::new(), |n| format!(" <{n}>"));
                if rt {
                    writeln!(
                        out,
                        "{indent}[{:3}] TASK_GROUP: {:x}  RT_RQ: {:x}{name}{throttled}",
                        prio.unwrap_or(-1),
                        queue.group,
                        queue.queue
                    )?;
                } else {
                    writeln!(
                        out,
                        "{}TASK_GROUP: {:x}  CFS_RQ: {:x} {name}{throttled}",
                        " ".repeat(2 + step * (depth + 1)),
                        queue.group,
                        queue.queue
                    )?;
                }
                write_group_entries(out, queue, depth + 1, rt)?;
            }
        }
    }
    if q.entries.is_empty() {
        writeln!(out, "{indent}[no tasks queued]")?;
    }
    Ok(())
}

impl Report for RunqGroups {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for (i, c) in self.cpus.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "CPU {}", c.cpu)?;
            writeln!(out, "  CURRENT: {}", short_task(&c.current))?;
            if let Some(q) = &c.rt {
                writeln!(
                    out,
                    "  ROOT_TASK_GROUP: {:x}  RT_RQ: {:x}",
                    self.root_task_group, q.queue
                )?;
                write_group_entries(out, q, 0, true)?;
            }
            if let Some(q) = &c.cfs {
                writeln!(
                    out,
                    "  ROOT_TASK_GROUP: {:x}  CFS_RQ: {:x}",
                    self.root_task_group, q.queue
                )?;
                write_group_entries(out, q, 0, false)?;
            }
        }
        for p in &self.problems {
            writeln!(out, "runq: {p}")?;
        }
        Ok(())
    }
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
