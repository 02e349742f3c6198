//! Tasks: finding every task (even in a damaged dump), and reading what `ps` shows of each.

use std::collections::{BTreeMap, HashMap, HashSet};

use kdive_program::span::{Scalar, Span};
use kdive_program::{object::offset_of, Object, Program, ProgramError, Result};
use rayon::prelude::*;

use crate::list::{list_entries, Direction, ListWalk};
use crate::percpu::{per_cpu_address, possible_cpus};
use crate::xarray::xa_entries;

/// `PF_KTHREAD` in `task_struct.flags`.
pub const PF_KTHREAD: u64 = 0x0020_0000;

/// Every task the dump lets us find, and what we could not read.
#[derive(Debug, Default)]
pub struct TaskList {
    /// `task_struct` addresses: idle tasks first (CPU order), then everything else found.
    pub tasks: Vec<u64>,
    /// The idle task of each possible CPU (`rq->idle`), by CPU.
    pub idle: BTreeMap<u32, u64>,
    /// The task running on each CPU at the time of the dump (`rq->curr`).
    pub active: BTreeMap<u32, u64>,
    /// How many tasks the kernel says exist (`nr_threads` + one idle task per CPU), when readable.
    pub expected: Option<u64>,
    /// One line per thing that could not be read (which structure, which address, why).
    pub problems: Vec<String>,
}

impl TaskList {
    /// Tasks the kernel had that we could not find or read (0 when `expected` is unknown).
    pub fn missing(&self) -> u64 {
        self.expected
            .map_or(0, |e| e.saturating_sub(self.tasks.len() as u64))
    }
}

/// Finds every task: the idle tasks of each CPU, the `init_task.tasks` list (walked both ways,
/// so one unreadable task does not hide the rest), each process's threads, and the PID
/// namespace's IDR as a safety net.
pub fn all_tasks(prog: &Program, limit: usize) -> Result<TaskList> {
    let init_task = prog.symbol_address("init_task")?;
    let mut tl = TaskList::default();
    let mut seen = HashSet::new();
    let mut add = |tl: &mut TaskList, t: u64| {
        if t != 0 && seen.insert(t) {
            tl.tasks.push(t);
        }
    };

    let cpus = cpu_tasks_from(prog, init_task);
    (tl.idle, tl.active) = (cpus.idle, cpus.active);
    tl.problems.extend(cpus.problems);
    for &idle in tl.idle.clone().values() {
        add(&mut tl, idle);
    }

    let leaders = process_leaders(prog, init_task, limit, &mut tl.problems)?;
    let thread_walk = ThreadWalk::new(prog)?;
    // each process's thread list is pointer chasing, but the processes are independent: their
    // walks run on every core (the pages they decode are most of the cost), kept in list order
    let groups: Vec<_> = leaders
        .par_iter()
        .map(|&leader| (leader, thread_walk.threads(prog, leader, limit)))
        .collect();
    for (leader, walked) in groups {
        add(&mut tl, leader);
        match walked {
            Ok((threads, err)) => {
                for t in threads {
                    add(&mut tl, t);
                }
                if let Some(e) = err {
                    tl.problems
                        .push(format!("threads of task {leader:#x}: {e}"));
                }
            }
            Err(e) => tl
                .problems
                .push(format!("threads of task {leader:#x}: {e}")),
        }
    }

    match pid_tasks(prog, limit) {
        Ok((tasks, problems)) => {
            for t in tasks {
                add(&mut tl, t);
            }
            tl.problems.extend(problems);
        }
        Err(e) => tl.problems.push(format!("PID namespace: {e}")),
    }

    tl.expected = nr_threads(prog).ok().map(|n| n + idle_count(&tl.idle));
    Ok(tl)
}

/// The idle and the running task of each possible CPU, from its runqueue (CPU 0's idle task
/// is `init_task` when its runqueue cannot be read).
#[derive(Debug, Default, Clone)]
pub struct CpuTasks {
    /// The idle task of each possible CPU (`rq->idle`).
    pub idle: BTreeMap<u32, u64>,
    /// The task running on each CPU (`rq->curr`).
    pub active: BTreeMap<u32, u64>,
    /// Runqueues that could not be read.
    pub problems: Vec<String>,
}

/// The idle and running task of each CPU, from the runqueues alone: a few reads per CPU,
/// whatever the number of tasks (what `bt` of the panic task needs, without listing tasks).
pub fn cpu_tasks(prog: &Program) -> Result<CpuTasks> {
    Ok(cpu_tasks_from(prog, prog.symbol_address("init_task")?))
}

fn cpu_tasks_from(prog: &Program, init_task: u64) -> CpuTasks {
    let mut t = CpuTasks {
        idle: BTreeMap::new(),
        active: BTreeMap::new(),
        problems: Vec::new(),
    };
    for cpu in possible_cpus(prog).unwrap_or_else(|_| vec![0]) {
        match runqueue(prog, cpu) {
            Ok(rq) => {
                if let Ok(idle) = rq.member("idle").and_then(|o| o.read_u64()) {
                    t.idle.insert(cpu, idle);
                }
                if let Ok(curr) = rq.member("curr").and_then(|o| o.read_u64()) {
                    t.active.insert(cpu, curr);
                }
            }
            Err(e) => t.problems.push(format!("runqueue of CPU {cpu}: {e}")),
        }
    }
    t.idle.entry(0).or_insert(init_task);
    t
}

/// Most threads `nr_threads` can count (`PID_MAX_LIMIT`): a larger value is not a count.
const MAX_THREADS: u64 = 1 << 22;

/// The kernel's `nr_threads`: every thread but the idle tasks.
fn nr_threads(prog: &Program) -> Result<u64> {
    let n = u64::from(prog.mem().read_u32(prog.symbol_address("nr_threads")?)?);
    if n > MAX_THREADS {
        return Err(ProgramError::Walk {
            what: "nr_threads".into(),
            why: format!("{n} threads, more than the kernel can count"),
        });
    }
    Ok(n)
}

/// How many tasks the kernel says exist, without walking them: `nr_threads` plus the idle
/// task of each CPU (distinct ones), as crash's `sys` counts them. A few reads, whatever the
/// number of tasks.
pub fn task_count(prog: &Program) -> Result<u64> {
    let n = nr_threads(prog)?;
    Ok(n + idle_count(&cpu_tasks(prog)?.idle))
}

/// Distinct idle tasks.
fn idle_count(idle: &BTreeMap<u32, u64>) -> u64 {
    let distinct: HashSet<u64> = idle.values().copied().filter(|&t| t != 0).collect();
    distinct.len() as u64
}

/// The runqueue (`struct rq`) of a CPU.
pub fn runqueue(prog: &Program, cpu: u32) -> Result<Object<'_>> {
    prog.object("struct rq", per_cpu_address(prog, "runqueues", cpu)?)
}

/// The clock of a CPU's runqueue (`rq->clock`, nanoseconds): what the scheduler last read.
pub fn rq_clock(prog: &Program, cpu: u32) -> Result<u64> {
    runqueue(prog, cpu)?.member("clock")?.read_u64()
}

/// The kernel stack pointer a task saved when it last switched out (`thread.sp`).
pub fn saved_stack_pointer(prog: &Program, task: u64) -> Result<u64> {
    prog.object("struct task_struct", task)?
        .member("thread.sp")?
        .read_u64()
}

/// A task's resource limits (`signal->rlim[]`): (current, maximum) by `RLIMIT_*` number.
pub fn rlimits(prog: &Program, task: u64) -> Result<Vec<(u64, u64)>> {
    let rlim = prog
        .object("struct task_struct", task)?
        .member("signal")?
        .member("rlim")?;
    // RLIM_NLIMITS is 16; a corrupt type must not make this loop long
    let n = rlim.array_len()?.min(64);
    (0..n)
        .map(|i| {
            let r = rlim.index(i)?;
            Ok((
                r.member("rlim_cur")?.read_u64()?,
                r.member("rlim_max")?.read_u64()?,
            ))
        })
        .collect()
}

/// Leaders of every thread group, from `init_task.tasks` walked forward, and backward when the
/// forward walk breaks.
fn process_leaders(
    prog: &Program,
    init_task: u64,
    limit: usize,
    problems: &mut Vec<String>,
) -> Result<Vec<u64>> {
    let tty = prog.type_("struct task_struct")?;
    let off = offset_of(prog, tty, "tasks")?;
    let head = init_task + off;
    let (mut out, err) = list_entries(prog, head, "struct task_struct", "tasks", limit)?;
    if let Some(e) = err {
        problems.push(format!(
            "task list (init_task.tasks) broken after {} tasks: {e}",
            out.len()
        ));
        let have: HashSet<u64> = out.iter().copied().collect();
        let mut back = Vec::new();
        for node in ListWalk::with_direction(prog, head, Direction::Prev, limit)? {
            match node {
                Ok(n) if have.contains(&n.wrapping_sub(off)) => break,
                Ok(n) => back.push(n.wrapping_sub(off)),
                Err(e) => {
                    problems.push(format!(
                        "task list walked backwards broken after {} tasks: {e}",
                        back.len()
                    ));
                    break;
                }
            }
        }
        back.reverse();
        out.extend(back);
    }
    Ok(out)
}

/// How this kernel links a process's threads: `signal->thread_head` + `thread_node`
/// (newer), or the `thread_group` ring (older).
struct ThreadWalk {
    signal_list: bool,
}

impl ThreadWalk {
    fn new(prog: &Program) -> Result<ThreadWalk> {
        let tty = prog.type_("struct task_struct")?;
        let signal_list = prog.types().has_member(tty, "thread_node")
            && prog
                .type_("struct signal_struct")
                .is_ok_and(|s| prog.types().has_member(s, "thread_head"));
        Ok(ThreadWalk { signal_list })
    }

    /// The other threads of the group led by `leader`.
    fn threads(
        &self,
        prog: &Program,
        leader: u64,
        limit: usize,
    ) -> Result<(Vec<u64>, Option<ProgramError>)> {
        let task = prog.object("struct task_struct", leader)?;
        if self.signal_list {
            let signal = task.member("signal")?.read_u64()?;
            let sig_ty = prog.type_("struct signal_struct")?;
            let head = signal.wrapping_add(offset_of(prog, sig_ty, "thread_head")?);
            list_entries(prog, head, "struct task_struct", "thread_node", limit)
        } else {
            let head = task.member("thread_group")?.address().unwrap_or(0);
            list_entries(prog, head, "struct task_struct", "thread_group", limit)
        }
    }
}

/// Tasks found through the PID namespace (`init_pid_ns.idr`): `struct pid` → `tasks[PIDTYPE_PID]`.
fn pid_tasks(prog: &Program, limit: usize) -> Result<(Vec<u64>, Vec<String>)> {
    let ns = prog.variable("init_pid_ns", "struct pid_namespace")?;
    let xa = ns.member("idr.idr_rt")?.address().unwrap_or(0);
    let walk = xa_entries(prog, xa, limit)?;
    let mut problems: Vec<String> = walk
        .errors
        .iter()
        .map(|e| format!("PID namespace IDR: {e}"))
        .collect();
    let pid_ty = prog.type_("struct pid")?;
    let first_off = offset_of(prog, pid_ty, "tasks")?; // tasks[PIDTYPE_PID].first: index 0, member 0
    let tty = prog.type_("struct task_struct")?;
    let link_off = offset_of(prog, tty, "pid_links")?; // pid_links[PIDTYPE_PID]
    let mut tasks = Vec::new();
    let mut unreadable = 0;
    for e in walk.entries {
        match prog.read_u64(e.value.wrapping_add(first_off)) {
            Ok(0) => {}
            Ok(node) => tasks.push(node.wrapping_sub(link_off)),
            Err(err) => {
                unreadable += 1;
                if unreadable <= 3 {
                    problems.push(format!(
                        "struct pid of PID {} at {:#x}: {err}",
                        e.index, e.value
                    ));
                }
            }
        }
    }
    if unreadable > 3 {
        problems.push(format!(
            "... {} struct pid in all could not be read",
            unreadable
        ));
    }
    Ok((tasks, problems))
}

/// What `ps` shows of one task.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskInfo {
    pub addr: u64,
    pub pid: i32,
    pub tgid: i32,
    pub ppid: i32,
    /// The `task_struct` of its parent (`parent`: the tracer while traced), 0 when unknown.
    pub parent: u64,
    pub comm: String,
    /// `__state` (or `state` on older kernels).
    pub state: u64,
    pub exit_state: u64,
    pub cpu: u32,
    pub flags: u64,
    /// `mm`, 0 for kernel threads.
    pub mm: u64,
    /// Pages mapped (file + anon + shmem), 0 without an mm.
    pub rss_pages: u64,
    /// `mm->total_vm` in pages.
    pub total_vm_pages: u64,
    /// Thread-cached RSS deltas (`task->rss_stat`, split RSS counting), to be summed per mm.
    pub rss_delta: i64,
    /// Task start, nanoseconds since boot (`start_time`).
    pub start_time_ns: u64,
    /// CPU time in nanoseconds (`se.sum_exec_runtime`).
    pub sum_exec_runtime_ns: u64,
    /// User and system time in nanoseconds (`utime`, `stime`).
    pub utime_ns: u64,
    pub stime_ns: u64,
    /// Last time the task ran, nanoseconds (`sched_info.last_arrival`), 0 when unknown.
    pub last_arrival_ns: u64,
    /// Scheduling policy (`policy`: 0 normal, 1 FIFO, 2 RR, 3 batch, 5 idle, 6 deadline).
    pub policy: u32,
    /// Dynamic priority (`prio`: 0-99 real-time, 100-139 normal).
    pub prio: i32,
}

impl TaskInfo {
    /// A kernel thread (`PF_KTHREAD`, or no mm).
    pub fn is_kthread(&self) -> bool {
        self.flags & PF_KTHREAD != 0 || self.mm == 0
    }

    /// crash's long state (`TASK_RUNNING`, `TASK_UNINTERRUPTIBLE|TASK_NOLOAD`, ...).
    pub fn state_names(&self) -> String {
        state_names(self.state, self.exit_state)
    }

    /// crash's two-letter state (`RU`, `IN`, `UN`, `ID`, `ZO`, ...).
    pub fn state_code(&self) -> &'static str {
        state_code(self.state, self.exit_state)
    }

    /// The kernel's one-letter state (`R`, `S`, `D`, `I`, `Z`, ...), as /proc and drgn show it.
    pub fn state_char(&self) -> char {
        state_char(self.state, self.exit_state)
    }
}

/// The kernel's one-letter task state (`R`, `S`, `D`, `I`, `Z`, ...) from `__state` and
/// `exit_state`, as /proc and drgn's `task_state_to_char` show it.
pub fn state_char(state: u64, exit_state: u64) -> char {
    match state_code(state, exit_state) {
        "RU" => 'R',
        "IN" => 'S',
        "UN" => 'D',
        "ID" => 'I',
        "ST" => 'T',
        "TR" => 't',
        "ZO" => 'Z',
        "DE" => 'X',
        "PA" => 'P',
        _ => '?',
    }
}

/// crash's long task state (`TASK_RUNNING`, `TASK_INTERRUPTIBLE|TASK_WAKEKILL`...) of the
/// state bits (`__state` and `exit_state` together), as its `set` and `kmem ADDR` print it.
pub fn state_names(state: u64, exit_state: u64) -> String {
    const PARKED: u64 = 0x40;
    let st = state | exit_state;
    if st == 0 {
        return "TASK_RUNNING".into();
    }
    if st == PARKED {
        return "TASK_PARKED".into();
    }
    let mut names: Vec<&str> = [
        (0x1, "TASK_INTERRUPTIBLE"),
        (0x2, "TASK_UNINTERRUPTIBLE"),
        (0x4, "TASK_STOPPED"),
        (0x8, "TASK_TRACED"),
    ]
    .iter()
    .filter(|(b, _)| st & b != 0)
    .map(|(_, n)| *n)
    .collect();
    // EXIT_DEAD (0x10) and TASK_DEAD (0x80)
    match (st & 0x10 != 0, st & 0x80 != 0) {
        (true, true) => names.push("EXIT_DEAD|TASK_DEAD"),
        (true, false) | (false, true) => names.push("EXIT_DEAD"),
        _ => {}
    }
    for (b, n) in [
        (0x20, "EXIT_ZOMBIE"),
        (0x200, "TASK_WAKING"),
        (0x100, "TASK_WAKEKILL"),
        (0x400, "TASK_NOLOAD"),
        (0x800, "TASK_NEW"),
    ] {
        if st & b != 0 {
            names.push(n);
        }
    }
    if names.is_empty() {
        return "(unknown)".into();
    }
    names.join("|")
}

/// crash's two-letter task state from `__state` and `exit_state`.
pub fn state_code(state: u64, exit_state: u64) -> &'static str {
    const INTERRUPTIBLE: u64 = 0x1;
    const UNINTERRUPTIBLE: u64 = 0x2;
    const STOPPED: u64 = 0x4;
    const TRACED: u64 = 0x8;
    const EXIT_DEAD: u64 = 0x10;
    const EXIT_ZOMBIE: u64 = 0x20;
    const PARKED: u64 = 0x40;
    const DEAD: u64 = 0x80;
    const WAKING: u64 = 0x200;
    const NOLOAD: u64 = 0x400;
    const NEW: u64 = 0x800;
    if exit_state & EXIT_ZOMBIE != 0 {
        "ZO"
    } else if exit_state & EXIT_DEAD != 0 {
        "DE"
    } else if state == 0 {
        "RU"
    } else if state & UNINTERRUPTIBLE != 0 && state & NOLOAD != 0 {
        "ID"
    } else if state & INTERRUPTIBLE != 0 {
        "IN"
    } else if state & UNINTERRUPTIBLE != 0 {
        "UN"
    } else if state & STOPPED != 0 {
        "ST"
    } else if state & TRACED != 0 {
        "TR"
    } else if state & PARKED != 0 {
        "PA"
    } else if state & DEAD != 0 {
        "DE"
    } else if state & WAKING != 0 {
        "WA"
    } else if state & NEW != 0 {
        "NE"
    } else {
        "??"
    }
}

/// Member offsets of `task_struct` and friends, looked up once for reading many tasks: each
/// task's fields are then read in one span of its `task_struct`.
pub struct TaskReader<'p> {
    prog: &'p Program,
    f: TaskFields,
    /// Where `comm` sits (offset, length).
    comm: (u64, u64),
    span: Span,
    rss: RssLayout,
}

/// The `task_struct` scalars `ps` shows; `None` for members this kernel does not have.
struct TaskFields {
    state: Scalar,
    pid: Scalar,
    tgid: Scalar,
    flags: Scalar,
    mm: Scalar,
    parent: Option<Scalar>,
    real_parent: Option<Scalar>,
    exit_state: Option<Scalar>,
    cpu: Option<Scalar>,
    start_time: Option<Scalar>,
    sum_exec_runtime: Option<Scalar>,
    utime: Option<Scalar>,
    stime: Option<Scalar>,
    last_arrival: Option<Scalar>,
    policy: Option<Scalar>,
    prio: Option<Scalar>,
    /// `rss_stat.count[]` of split RSS counting: the thread's cached deltas (MM_FILEPAGES,
    /// MM_ANONPAGES, MM_SHMEMPAGES).
    rss_deltas: Vec<Scalar>,
}

impl TaskFields {
    fn all(&self) -> impl Iterator<Item = &Scalar> {
        [&self.state, &self.pid, &self.tgid, &self.flags, &self.mm]
            .into_iter()
            .chain(
                [
                    &self.parent,
                    &self.real_parent,
                    &self.exit_state,
                    &self.cpu,
                    &self.start_time,
                    &self.sum_exec_runtime,
                    &self.utime,
                    &self.stime,
                    &self.last_arrival,
                    &self.policy,
                    &self.prio,
                ]
                .into_iter()
                .flatten(),
            )
            .chain(&self.rss_deltas)
    }
}

enum RssLayout {
    /// `mm->rss_stat.count[]` atomics, plus per-thread deltas in `task->rss_stat` (split counting).
    Atomic,
    /// `mm->rss_stat[]` per-CPU counters: `count` plus each CPU's share.
    PerCpu {
        cpus: Vec<u64>,
    },
    Unknown,
}

/// RSS counters that count mapped pages: MM_FILEPAGES, MM_ANONPAGES, MM_SHMEMPAGES (not MM_SWAPENTS).
const RSS_COUNTERS: [u64; 3] = [0, 1, 3];

impl<'p> TaskReader<'p> {
    /// Looks up the layout of this kernel's `task_struct` and `mm_struct`.
    pub fn new(prog: &'p Program) -> Result<TaskReader<'p>> {
        let types = prog.types();
        let tty = prog.type_("struct task_struct")?;
        let task = prog.object("struct task_struct", 0)?;
        let req = |path: &str| Scalar::at(&task.member(path)?);
        let opt = |path: &str| req(path).ok();
        let state = if types.has_member(tty, "__state") {
            "__state"
        } else {
            "state"
        };
        let cpu = if types.has_member(tty, "cpu") {
            "cpu"
        } else {
            "thread_info.cpu"
        };
        let rss = match prog
            .object("struct mm_struct", 0)
            .and_then(|o| o.member("rss_stat"))
        {
            Ok(o) if o.array_len().is_ok() => {
                let cpus = possible_cpus(prog)
                    .unwrap_or_else(|_| vec![0])
                    .into_iter()
                    .filter_map(|c| crate::percpu::per_cpu_offset(prog, c).ok())
                    .collect();
                RssLayout::PerCpu { cpus }
            }
            Ok(_) => RssLayout::Atomic,
            Err(_) => RssLayout::Unknown,
        };
        let rss_deltas = match rss {
            RssLayout::Atomic if types.has_member(tty, "rss_stat") => task
                .member("rss_stat.count")
                .and_then(|count| {
                    RSS_COUNTERS
                        .iter()
                        .map(|&i| Scalar::at(&count.index(i)?))
                        .collect::<Result<_>>()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let has_last_arrival = types.has_member(tty, "sched_info")
            && prog
                .type_("struct sched_info")
                .is_ok_and(|s| types.has_member(s, "last_arrival"));
        let f = TaskFields {
            state: req(state)?,
            pid: req("pid")?,
            tgid: req("tgid")?,
            flags: req("flags")?,
            mm: req("mm")?,
            parent: opt("parent"),
            real_parent: opt("real_parent"),
            exit_state: opt("exit_state"),
            cpu: opt(cpu),
            start_time: opt("start_time"),
            sum_exec_runtime: opt("se.sum_exec_runtime"),
            utime: opt("utime"),
            stime: opt("stime"),
            last_arrival: if has_last_arrival {
                opt("sched_info.last_arrival")
            } else {
                None
            },
            policy: opt("policy"),
            prio: opt("prio"),
            rss_deltas,
        };
        let comm_obj = task.member("comm")?;
        let comm = (comm_obj.address().unwrap_or(0), comm_obj.size()?.min(64));
        let span = Span::covering(f.all(), &[comm]);
        Ok(TaskReader {
            prog,
            f,
            comm,
            span,
            rss,
        })
    }

    /// Reads one task.
    pub fn read(&self, addr: u64) -> Result<TaskInfo> {
        let mut t = self.read_own(addr)?;
        if t.mm != 0 {
            (t.rss_pages, t.total_vm_pages) = self.mm_counts(t.mm)?;
        }
        Ok(t)
    }

    /// Reads one task's own fields, in one read of its `task_struct`: all but its mm's
    /// counts (`rss_pages`, `total_vm_pages` are 0), which the threads of a process share.
    fn read_own(&self, addr: u64) -> Result<TaskInfo> {
        let f = &self.f;
        let b = self.span.read(self.prog, addr);
        let opt_u = |s: &Option<Scalar>| s.as_ref().and_then(|s| b.u64(s).ok()).unwrap_or(0);
        let opt_i = |s: &Option<Scalar>| s.as_ref().and_then(|s| b.i64(s).ok()).unwrap_or(0);
        let mm = b.u64(&f.mm)?;
        let real_parent = f.real_parent.as_ref().and_then(|s| b.u64(s).ok());
        let parent = f
            .parent
            .as_ref()
            .and_then(|s| b.u64(s).ok())
            .or(real_parent)
            .unwrap_or(0);
        let ppid = match real_parent {
            None | Some(0) => 0,
            Some(p) => {
                let raw = f.pid.read_u64(self.prog, p)?;
                sign_extend(raw, &f.pid) as i32
            }
        };
        let rss_delta = if mm != 0 {
            f.rss_deltas
                .iter()
                .try_fold(0i64, |d, s| b.i64(s).map(|v| d.saturating_add(v)))?
        } else {
            0
        };
        let comm = b.bytes(self.comm.0, self.comm.1)?;
        let end = comm.iter().position(|&c| c == 0).unwrap_or(comm.len());
        Ok(TaskInfo {
            addr,
            pid: b.i64(&f.pid)? as i32,
            tgid: b.i64(&f.tgid)? as i32,
            ppid,
            parent,
            comm: String::from_utf8_lossy(&comm[..end]).into_owned(),
            state: b.u64(&f.state)?,
            exit_state: opt_u(&f.exit_state),
            cpu: opt_u(&f.cpu) as u32,
            flags: b.u64(&f.flags)?,
            mm,
            rss_pages: 0,
            total_vm_pages: 0,
            rss_delta,
            start_time_ns: opt_u(&f.start_time),
            sum_exec_runtime_ns: opt_u(&f.sum_exec_runtime),
            utime_ns: opt_u(&f.utime),
            stime_ns: opt_u(&f.stime),
            last_arrival_ns: opt_u(&f.last_arrival),
            policy: opt_u(&f.policy) as u32,
            prio: opt_i(&f.prio) as i32,
        })
    }

    /// (RSS pages, total_vm pages) of an mm, without per-thread deltas.
    fn mm_counts(&self, mm_addr: u64) -> Result<(u64, u64)> {
        let mm = self.prog.object("struct mm_struct", mm_addr)?;
        let total_vm = mm.member("total_vm")?.read_u64()?;
        let rss = match &self.rss {
            RssLayout::Atomic => {
                let mut s = 0i64;
                for i in RSS_COUNTERS {
                    s = s.saturating_add(crate::read_counter(
                        &mm.member("rss_stat.count")?.index(i)?,
                    )?);
                }
                s
            }
            RssLayout::PerCpu { cpus } => {
                let mut s = 0i64;
                for i in RSS_COUNTERS {
                    let pc = mm.member("rss_stat")?.index(i)?;
                    s = s.saturating_add(pc.member("count")?.read_i64()?);
                    let counters = pc.member("counters")?.read_u64()?;
                    for off in cpus {
                        let v = self
                            .prog
                            .object("int", counters.wrapping_add(*off))?
                            .read_i64()?;
                        s = s.saturating_add(v);
                    }
                }
                s
            }
            RssLayout::Unknown => 0,
        };
        Ok((rss.max(0) as u64, total_vm))
    }
}

/// Reads one task, without the list: its mm's RSS lacks the other threads' cached deltas
/// (split RSS counting), which only [`read_tasks`] can sum.
pub fn read_task(prog: &Program, addr: u64) -> Result<TaskInfo> {
    TaskReader::new(prog)?.read(addr)
}

/// Reads every task of a list; tasks that cannot be read are counted as problems.
/// Per-thread RSS deltas are folded into each mm's RSS, as the kernel's `get_mm_rss` readers do.
pub fn read_tasks(prog: &Program, tl: &mut TaskList) -> Result<Vec<TaskInfo>> {
    let reader = TaskReader::new(prog)?;
    // the tasks are read on every core (decoding their pages is most of the cost), in list order
    let own: Vec<_> = tl
        .tasks
        .par_iter()
        .map(|&addr| reader.read_own(addr))
        .collect();
    // each mm once, however many threads share it
    let mut mms: Vec<u64> = own
        .iter()
        .filter_map(|t| t.as_ref().ok().map(|t| t.mm))
        .filter(|&mm| mm != 0)
        .collect();
    mms.sort_unstable();
    mms.dedup();
    let counts: HashMap<u64, std::result::Result<(u64, u64), String>> = mms
        .par_iter()
        .map(|&mm| (mm, reader.mm_counts(mm).map_err(|e| e.to_string())))
        .collect();
    let mut out = Vec::with_capacity(tl.tasks.len());
    let mut bad = HashSet::new();
    for (&addr, r) in tl.tasks.iter().zip(own) {
        let with_mm = r.map_err(|e| e.to_string()).and_then(|mut t| {
            if let Some(c) = counts.get(&t.mm) {
                (t.rss_pages, t.total_vm_pages) = c.clone()?;
            }
            Ok(t)
        });
        match with_mm {
            Ok(t) => out.push(t),
            Err(e) => {
                tl.problems.push(format!("task_struct at {addr:#x}: {e}"));
                bad.insert(addr);
            }
        }
    }
    tl.tasks.retain(|a| !bad.contains(a));
    let mut deltas: HashMap<u64, i64> = HashMap::new();
    for t in &out {
        if t.mm != 0 {
            let d = deltas.entry(t.mm).or_default();
            *d = d.saturating_add(t.rss_delta);
        }
    }
    for t in &mut out {
        if let Some(d) = deltas.get(&t.mm) {
            t.rss_pages = (t.rss_pages as i64).saturating_add(*d).max(0) as u64;
        }
    }
    Ok(out)
}

/// `raw` sign-extended as the scalar's type says.
fn sign_extend(raw: u64, s: &Scalar) -> i64 {
    let bits = u32::from(s.size) * 8;
    if s.signed && bits < 64 && raw >> (bits - 1) & 1 == 1 {
        (raw | (!0u64 << bits)) as i64
    } else {
        raw as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_state_names() {
        // crash 9.0.2's `set` on the corpus: a running and a sleeping task
        assert_eq!(state_names(0, 0), "TASK_RUNNING");
        assert_eq!(state_names(0x1, 0), "TASK_INTERRUPTIBLE");
        // the kernel's TASK_IDLE is TASK_UNINTERRUPTIBLE | TASK_NOLOAD
        assert_eq!(state_names(0x402, 0), "TASK_UNINTERRUPTIBLE|TASK_NOLOAD");
        assert_eq!(state_names(0, 0x20), "EXIT_ZOMBIE");
        assert_eq!(state_names(0x1000, 0), "(unknown)");
    }
}
