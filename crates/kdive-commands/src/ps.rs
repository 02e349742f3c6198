//! `ps`: every task, as crash's `ps` lists them, and the per-task views its flags choose
//! (last run, children, threads, resource limits, arguments, a summary of states).

use std::collections::HashMap;
use std::io::{self, Write};

use kdive_linux::task::TaskInfo;
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::{center, days_clock, duration, task_header};
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
    /// When the task last ran (`sched_info.last_arrival`), nanoseconds of its CPU's clock.
    pub last_run_ns: u64,
    /// With `-m`: how long before its CPU's runqueue clock it last ran.
    pub since_run_ns: Option<u64>,
    /// With `-s`: the kernel stack pointer it saved when it switched out (null for a task
    /// running on a CPU, which saved none).
    #[serde(with = "crate::hex_opt")]
    pub kstackp: Option<u64>,
    /// Scheduling policy: `NORMAL`, `FIFO`, `RR`, `BATCH`, `ISO`, `IDLE`, `DEADLINE`.
    pub policy: String,
    /// Dynamic priority (`prio`).
    pub prio: i32,
}

/// A task as crash's headers name it (`PID: 1  TASK: ...  CPU: 0  COMMAND: "init"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PsAncestor {
    pub pid: i32,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
    pub comm: String,
}

/// A state and how many tasks are in it (`-S`).
#[derive(Debug, Serialize, Deserialize)]
pub struct StateCount {
    pub st: String,
    pub count: u64,
}

/// A task and the tasks that belong to it: its children (`-c`) or its threads (`-g`).
#[derive(Debug, Serialize, Deserialize)]
pub struct PsGroup {
    pub task: PsAncestor,
    pub members: Vec<PsAncestor>,
}

/// One resource limit; `null` is unlimited.
#[derive(Debug, Serialize, Deserialize)]
pub struct Rlimit {
    pub name: String,
    pub current: Option<u64>,
    pub maximum: Option<u64>,
}

/// A task's resource limits (`-r`).
#[derive(Debug, Serialize, Deserialize)]
pub struct PsLimits {
    pub task: PsAncestor,
    pub limits: Vec<Rlimit>,
    /// Why they could not be read.
    pub error: Option<String>,
}

/// A task's arguments and environment (`-a`).
#[derive(Debug, Serialize, Deserialize)]
pub struct PsArgs {
    pub task: PsAncestor,
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Why they could not be read (a kernel thread has none; a user page may be missing).
    pub error: Option<String>,
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
    /// With `-S`: each state and its count, in the order the states first appear.
    pub summary: Vec<StateCount>,
    /// With `-c` or `-g`: each task with its children or threads.
    pub groups: Vec<PsGroup>,
    /// With `-r`: each task's resource limits.
    pub rlimits: Vec<PsLimits>,
    /// With `-a`: each task's arguments and environment.
    pub args: Vec<PsArgs>,
    pub options: PsOptions,
}

/// How `ps` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PsOptions {
    pub layout: PsLayout,
    /// `-s`: the saved kernel stack pointer instead of the task address.
    pub kstackp: bool,
    /// `-H`: no header line.
    pub no_header: bool,
    /// `-C`: with `-l` or `-m`, the rows grouped under these CPUs.
    pub cpus: Option<Vec<u32>>,
    /// `-C`: the runqueue clock of each chosen CPU (for `-m`'s alignment), by CPU.
    pub cpu_clocks_ns: Vec<u64>,
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
    /// `-c`: each task's children.
    Children,
    /// `-g`: each thread group's threads.
    Threads,
    /// `-l`: when each task last ran, most recent first.
    LastRun,
    /// `-m`: how long ago each task last ran, most recent first.
    SinceRun,
    /// `-S`: how many tasks are in each state.
    Summary,
    /// `-r`: resource limits.
    Limits,
    /// `-a`: arguments and environment.
    Args,
    /// `-Y`: the table with scheduling policy and priority.
    Policy,
}

/// crash's names of the `RLIMIT_*` numbers.
const RLIMIT_NAMES: [&str; 16] = [
    "CPU",
    "FSIZE",
    "DATA",
    "STACK",
    "CORE",
    "RSS",
    "NPROC",
    "NOFILE",
    "MEMLOCK",
    "AS",
    "LOCKS",
    "SIGPENDING",
    "MSGQUEUE",
    "NICE",
    "RTPRIO",
    "RTTIME",
];

/// Scheduling policies by number (`SCHED_*`), as crash names them.
const POLICIES: [(u32, &str); 7] = [
    (0, "NORMAL"),
    (1, "FIFO"),
    (2, "RR"),
    (3, "BATCH"),
    (4, "ISO"),
    (5, "IDLE"),
    (6, "DEADLINE"),
];

fn policy_name(p: u32) -> &'static str {
    POLICIES
        .iter()
        .find(|(n, _)| *n == p)
        .map_or("UNKNOWN", |(_, s)| s)
}

/// `-y NORMAL,FIFO`: the policy numbers named (by name, number or `0x` number).
fn parse_policies(spec: &str) -> Result<Vec<u32>, CommandError> {
    spec.split(',')
        .map(|w| {
            let up = w.to_ascii_uppercase();
            POLICIES
                .iter()
                .find(|(n, name)| {
                    up.starts_with(name) || up == n.to_string() || up == format!("0X{n:X}")
                })
                .map(|(n, _)| *n)
                .ok_or_else(|| CommandError::Usage(format!("ps: {w}: invalid scheduling policy")))
        })
        .collect()
}

/// `-C 0,2-3`: the CPUs named.
pub(crate) fn parse_cpus(cmd: &str, spec: &str) -> Result<Vec<u32>, CommandError> {
    let bad = || CommandError::Usage(format!("{cmd}: invalid cpu specification: {spec}"));
    let mut out = Vec::new();
    for part in spec.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if a > b || b >= 8192 {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The layout the flags choose; crash lets only one of them be given.
fn layout(f: &Flags) -> Result<PsLayout, CommandError> {
    let choices = [
        ('t', PsLayout::RunTimes),
        ('p', PsLayout::Parents),
        ('c', PsLayout::Children),
        ('g', PsLayout::Threads),
        ('l', PsLayout::LastRun),
        ('m', PsLayout::SinceRun),
        ('S', PsLayout::Summary),
        ('r', PsLayout::Limits),
        ('a', PsLayout::Args),
        ('Y', PsLayout::Policy),
    ];
    let given: Vec<&(char, PsLayout)> = choices.iter().filter(|(c, _)| f.has(*c)).collect();
    match given.as_slice() {
        [] => Ok(PsLayout::Table),
        [(_, l)] => Ok(*l),
        [(a, _), (b, _), ..] => Err(CommandError::Usage(format!(
            "ps: -{a} and -{b} are mutually exclusive"
        ))),
    }
}

/// Whether `t` is one the positional words name: a PID, a task address or a command name.
fn named(t: &TaskInfo, words: &[String]) -> bool {
    words.iter().any(|p| {
        p.parse::<i32>().is_ok_and(|pid| pid == t.pid)
            || u64::from_str_radix(p.trim_start_matches("0x"), 16)
                .is_ok_and(|a| a == t.addr && p.len() > 8)
            || *p == t.comm
    })
}

fn who(t: &TaskInfo) -> PsAncestor {
    PsAncestor {
        pid: t.pid,
        task: t.addr,
        cpu: t.cpu,
        comm: t.comm.clone(),
    }
}

/// Runs `ps`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::PS, args)?;
    if f.has('k') && f.has('u') {
        return Err(CommandError::Usage(
            "ps: -u and -k are mutually exclusive".into(),
        ));
    }
    let layout = layout(&f)?;
    if layout == PsLayout::Summary && !f.positional.is_empty() {
        return Err(CommandError::Usage(
            "ps: -S option takes no arguments".into(),
        ));
    }
    let cpus = f.value('C').map(|c| parse_cpus("ps", c)).transpose()?;
    if cpus.is_some() && !matches!(layout, PsLayout::LastRun | PsLayout::SinceRun) {
        return Err(CommandError::Usage(
            "ps: -C option is only applicable with -l and -m".into(),
        ));
    }
    let policies = f.value('y').map(parse_policies).transpose()?;
    let prog = s.kernel()?;
    let tasks = s.tasks()?;
    let mut problems = tasks.list.problems.clone();
    let page_kib = s.dump().kernel_page_size() / 1024;
    // crash divides by the pages below high_memory, not by totalram
    let totalram =
        kdive_linux::system::high_memory_pages(prog, s.dump().kernel_page_size()).unwrap_or(0);
    let boottime = kdive_linux::system::clocks(prog)
        .map(|c| c.boottime_ns)
        .unwrap_or(0);
    let active = s.active_tasks(&tasks.list.active);
    let is_active = |t: &TaskInfo| active.get(&t.cpu) == Some(&t.addr);
    // crash's order: by PID, the idle tasks (PID 0) by CPU
    let mut all: Vec<&TaskInfo> = tasks.infos.iter().collect();
    all.sort_by_key(|t| (t.pid, t.cpu));

    if layout == PsLayout::Summary {
        let mut summary: Vec<StateCount> = Vec::new();
        for t in &all {
            match summary.iter_mut().find(|c| c.st == t.state_code()) {
                Some(c) => c.count += 1,
                None => summary.push(StateCount {
                    st: t.state_code().to_string(),
                    count: 1,
                }),
            }
        }
        return Ok(Box::new(Ps::empty(
            tasks, problems, summary, layout, &f, cpus,
        )));
    }

    let chosen: Vec<&TaskInfo> = all
        .iter()
        .copied()
        .filter(|t| !f.has('k') || t.is_kthread())
        .filter(|t| !f.has('u') || !t.is_kthread())
        .filter(|t| !f.has('G') || t.pid == t.tgid)
        .filter(|t| !f.has('I') || t.pid != 0)
        .filter(|t| !f.has('A') || is_active(t))
        .filter(|t| policies.as_ref().is_none_or(|p| p.contains(&t.policy)))
        .filter(|t| f.positional.is_empty() || named(t, &f.positional))
        .collect();

    let mut clocks: HashMap<u32, u64> = HashMap::new();
    if layout == PsLayout::SinceRun {
        for t in &chosen {
            if let std::collections::hash_map::Entry::Vacant(e) = clocks.entry(t.cpu) {
                match kdive_linux::task::rq_clock(prog, t.cpu) {
                    Ok(c) => {
                        e.insert(c);
                    }
                    Err(err) => problems.push(format!("runqueue clock of CPU {}: {err}", t.cpu)),
                }
            }
        }
    }
    let mut rows: Vec<PsRow> = chosen
        .iter()
        .map(|t| {
            let active = is_active(t);
            let kstackp = if f.has('s') && !active {
                match kdive_linux::task::saved_stack_pointer(prog, t.addr) {
                    Ok(sp) => Some(sp),
                    Err(e) => {
                        problems.push(format!("saved stack pointer of task {:#x}: {e}", t.addr));
                        None
                    }
                }
            } else {
                None
            };
            PsRow {
                active,
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
                last_run_ns: t.last_arrival_ns,
                since_run_ns: clocks
                    .get(&t.cpu)
                    .map(|c| c.saturating_sub(t.last_arrival_ns)),
                kstackp,
                policy: policy_name(t.policy).to_string(),
                prio: t.prio,
            }
        })
        .collect();
    if matches!(layout, PsLayout::LastRun | PsLayout::SinceRun) {
        // most recent first; a stable sort keeps PID order among equals
        rows.sort_by(|a, b| b.last_run_ns.cmp(&a.last_run_ns));
    }
    let mut cpu_clocks_ns = Vec::new();
    if let Some(list) = &cpus {
        for &c in list {
            let clock =
                kdive_linux::task::rq_clock(prog, c).map_err(|e| CommandError::Program {
                    cmd: "ps",
                    source: e,
                })?;
            cpu_clocks_ns.push(clock);
        }
    }

    let mut out = Ps::empty(tasks, problems, Vec::new(), layout, &f, cpus);
    out.options.cpu_clocks_ns = cpu_clocks_ns;
    match layout {
        PsLayout::Parents => out.ancestry = rows.iter().map(|r| ancestors(&all, r)).collect(),
        PsLayout::Children => {
            out.groups = chosen
                .iter()
                .map(|t| PsGroup {
                    task: who(t),
                    members: all
                        .iter()
                        .filter(|c| c.parent == t.addr && c.addr != t.addr)
                        .map(|c| who(c))
                        .collect(),
                })
                .collect()
        }
        PsLayout::Threads => out.groups = thread_groups(&all, &chosen, !f.positional.is_empty()),
        PsLayout::Limits => {
            out.rlimits = chosen.iter().map(|t| limits(prog, t)).collect();
        }
        PsLayout::Args => {
            out.args = chosen.iter().map(|t| task_args(prog, t)).collect();
        }
        _ => {}
    }
    out.tasks = rows;
    Ok(Box::new(out))
}

/// Each thread group once, with its other threads: the groups of the chosen tasks (a thread
/// named stands for its group when tasks were named; otherwise only leaders are chosen).
fn thread_groups(all: &[&TaskInfo], chosen: &[&TaskInfo], named: bool) -> Vec<PsGroup> {
    let mut out: Vec<PsGroup> = Vec::new();
    let mut idle_shown = false;
    for t in chosen {
        let leader = if t.pid == t.tgid {
            Some(*t)
        } else if named {
            all.iter().copied().find(|l| l.pid == t.tgid)
        } else {
            None
        };
        let Some(leader) = leader else { continue };
        if out.iter().any(|g| g.task.task == leader.addr) || (leader.pid == 0 && idle_shown) {
            continue;
        }
        let members: Vec<PsAncestor> = all
            .iter()
            .filter(|m| m.addr != leader.addr && m.tgid == leader.tgid)
            .map(|m| who(m))
            .collect();
        // the other CPUs' idle tasks are shown as the first one's threads
        idle_shown |= leader.pid == 0 && !members.is_empty();
        out.push(PsGroup {
            task: who(leader),
            members,
        });
    }
    out
}

fn limits(prog: &kdive_program::Program, t: &TaskInfo) -> PsLimits {
    let (limits, error) = match kdive_linux::task::rlimits(prog, t.addr) {
        Ok(v) => (
            v.iter()
                .enumerate()
                .map(|(i, &(cur, max))| Rlimit {
                    name: RLIMIT_NAMES.get(i).unwrap_or(&"(unknown)").to_string(),
                    current: (cur != u64::MAX).then_some(cur),
                    maximum: (max != u64::MAX).then_some(max),
                })
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    PsLimits {
        task: who(t),
        limits,
        error,
    }
}

fn task_args(prog: &kdive_program::Program, t: &TaskInfo) -> PsArgs {
    let split = |b: &[u8]| -> Vec<String> {
        b.split(|&c| c == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect()
    };
    let (args, env, error) = if t.mm == 0 {
        (Vec::new(), Vec::new(), Some("no user stack".to_string()))
    } else {
        match kdive_linux::mm::args_and_env(prog, t.mm) {
            Ok((a, e)) => (split(&a), split(&e), None),
            Err(e) => (Vec::new(), Vec::new(), Some(e.to_string())),
        }
    };
    PsArgs {
        task: who(t),
        args,
        env,
        error,
    }
}

/// The chain from the oldest ancestor down to the row's task.
fn ancestors(infos: &[&TaskInfo], row: &PsRow) -> Vec<PsAncestor> {
    let by_pid: HashMap<i32, &TaskInfo> = infos
        .iter()
        .filter(|t| t.pid != 0 || t.cpu == 0)
        .map(|t| (t.pid, *t))
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
        chain.push(who(p));
        ppid = if p.pid == 0 { 0 } else { p.ppid };
    }
    chain.reverse();
    chain
}

impl Ps {
    /// A result with no rows yet.
    fn empty(
        tasks: &crate::session::Tasks,
        problems: Vec<String>,
        summary: Vec<StateCount>,
        layout: PsLayout,
        f: &Flags,
        cpus: Option<Vec<u32>>,
    ) -> Ps {
        Ps {
            tasks: Vec::new(),
            missing: tasks.list.missing(),
            problems,
            ancestry: Vec::new(),
            summary,
            groups: Vec::new(),
            rlimits: Vec::new(),
            args: Vec::new(),
            options: PsOptions {
                layout,
                kstackp: f.has('s'),
                no_header: f.has('H'),
                cpus,
                cpu_clocks_ns: Vec::new(),
            },
        }
    }

    fn comm(r: &PsRow) -> String {
        if r.kthread {
            format!("[{}]", r.comm)
        } else {
            r.comm.clone()
        }
    }

    /// The TASK (or KSTACKP) column of a row.
    fn pointer(&self, r: &PsRow) -> String {
        match (self.options.kstackp, r.kstackp) {
            (false, _) => format!("{:016x}", r.task),
            (true, Some(sp)) => format!("{sp:016x}"),
            (true, None) => center("--", 16, true),
        }
    }

    fn header(&self, out: &mut dyn Write, policy: bool) -> io::Result<()> {
        if self.options.no_header {
            return Ok(());
        }
        let col = if self.options.kstackp {
            center("KSTACKP", 16, true)
        } else {
            center("TASK", 16, false)
        };
        if policy {
            writeln!(out, "      PID    PPID  CPU {col}  POLICY       PRIO  COMM")
        } else {
            writeln!(
                out,
                "      PID    PPID  CPU {col}  ST  %MEM      VSZ      RSS  COMM"
            )
        }
    }

    fn write_table(&self, out: &mut dyn Write) -> io::Result<()> {
        self.header(out, false)?;
        for r in &self.tasks {
            writeln!(
                out,
                "{}{:>8}{:>8}{:>4}  {}  {}  {:>4.1}{:>9}{:>9}  {}",
                if r.active { '>' } else { ' ' },
                r.pid,
                r.ppid,
                r.cpu,
                self.pointer(r),
                r.st,
                r.mem_percent,
                r.vsz,
                r.rss,
                Self::comm(r)
            )?;
        }
        Ok(())
    }

    fn write_policy(&self, out: &mut dyn Write) -> io::Result<()> {
        self.header(out, true)?;
        for r in &self.tasks {
            writeln!(
                out,
                "{} {:>7} {:>7} {:>3}  {}  {:<12} {:>4}  {}",
                if r.active { '>' } else { ' ' },
                r.pid,
                r.ppid,
                r.cpu,
                self.pointer(r),
                r.policy,
                r.prio,
                Self::comm(r)
            )?;
        }
        Ok(())
    }

    /// `-l` and `-m`: one line per task, most recent first, or under each chosen CPU.
    fn write_last_run(&self, out: &mut dyn Write) -> io::Result<()> {
        let since = self.options.layout == PsLayout::SinceRun;
        // crash pads -l's stamps to the width of the most recent one
        let width = self
            .tasks
            .first()
            .map_or(1, |r| r.last_run_ns.to_string().len());
        let line = |out: &mut dyn Write, r: &PsRow, stamp: String| {
            writeln!(
                out,
                "[{stamp}] [{}]  {}",
                r.st,
                task_header(r.pid, r.task, r.cpu, &r.comm)
            )
        };
        let stamp = |r: &PsRow, days_width: usize| {
            if since {
                let s = days_clock(r.since_run_ns.unwrap_or(0));
                let days = s.find(' ').unwrap_or(0);
                format!("{}{s}", " ".repeat(days_width.saturating_sub(days)))
            } else {
                format!("{:>width$}", r.last_run_ns)
            }
        };
        let Some(cpus) = &self.options.cpus else {
            for r in &self.tasks {
                line(out, r, stamp(r, 0))?;
            }
            return Ok(());
        };
        for (i, &c) in cpus.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "CPU: {c}")?;
            let clock = self.options.cpu_clocks_ns.get(i).copied().unwrap_or(0);
            let days_width = days_clock(clock).find(' ').unwrap_or(0);
            for r in self.tasks.iter().filter(|r| r.cpu == c) {
                line(out, r, stamp(r, days_width))?;
            }
        }
        Ok(())
    }

    fn write_groups(&self, out: &mut dyn Write) -> io::Result<()> {
        let children = self.options.layout == PsLayout::Children;
        for g in &self.groups {
            let t = &g.task;
            writeln!(out, "{}", task_header(t.pid, t.task, t.cpu, &t.comm))?;
            for m in &g.members {
                writeln!(out, "  {}", task_header(m.pid, m.task, m.cpu, &m.comm))?;
            }
            match (g.members.is_empty(), children) {
                (true, true) => writeln!(out, "  (no children)")?,
                (true, false) => writeln!(out, "  (no threads)")?,
                _ => {}
            }
            writeln!(out)?;
        }
        Ok(())
    }

    fn write_limits(&self, out: &mut dyn Write) -> io::Result<()> {
        const UNLIMITED: &str = "(unlimited)";
        let value = |v: Option<u64>| match v {
            Some(n) => center(&n.to_string(), UNLIMITED.len(), false),
            None => UNLIMITED.to_string(),
        };
        for l in &self.rlimits {
            let t = &l.task;
            writeln!(out, "{}", task_header(t.pid, t.task, t.cpu, &t.comm))?;
            if let Some(e) = &l.error {
                writeln!(out, "ps: cannot read the resource limits: {e}")?;
                writeln!(out)?;
                continue;
            }
            let w = RLIMIT_NAMES.iter().map(|n| n.len()).max().unwrap_or(0);
            writeln!(
                out,
                "  {:>w$}   {}   {}",
                "RLIMIT",
                center("CURRENT", UNLIMITED.len(), true),
                center("MAXIMUM", UNLIMITED.len(), true)
            )?;
            for r in &l.limits {
                writeln!(
                    out,
                    "  {:>w$}   {}   {}",
                    r.name,
                    value(r.current),
                    value(r.maximum)
                )?;
            }
            writeln!(out)?;
        }
        Ok(())
    }

    fn write_args(&self, out: &mut dyn Write) -> io::Result<()> {
        for a in &self.args {
            let t = &a.task;
            writeln!(out, "{}", task_header(t.pid, t.task, t.cpu, &t.comm))?;
            if let Some(e) = &a.error {
                writeln!(out, "ps: {e}")?;
                writeln!(out)?;
                continue;
            }
            write!(out, "ARG: ")?;
            for w in &a.args {
                write!(out, "{w} ")?;
            }
            write!(out, "\nENV: ")?;
            for (i, e) in a.env.iter().enumerate() {
                if i > 0 {
                    write!(out, "     ")?;
                }
                writeln!(out, "{e}")?;
            }
            if a.env.is_empty() {
                writeln!(out)?;
            }
            writeln!(out)?;
        }
        Ok(())
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
            PsLayout::Children | PsLayout::Threads => self.write_groups(out)?,
            PsLayout::LastRun | PsLayout::SinceRun => self.write_last_run(out)?,
            PsLayout::Summary => {
                for c in &self.summary {
                    writeln!(out, "  {}: {}", c.st, c.count)?;
                }
            }
            PsLayout::Limits => self.write_limits(out)?,
            PsLayout::Args => self.write_args(out)?,
            PsLayout::Policy => self.write_policy(out)?,
            PsLayout::Table => self.write_table(out)?,
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
