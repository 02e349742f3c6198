//! `analyze`: what happened, who did it, the evidence, and a signature that groups the same bug
//! across machines.
//!
//! The verdict comes from the kernel log (panic and oops lines, hung-task and lockup reports,
//! the OOM killer) checked against the dump's own state (the panic task's stack, the blocked
//! tasks' stacks, task states); the culprit is the function (and module) the evidence points
//! at, with its source line when DWARF is attached. The signature hashes only what is stable
//! across machines and boots: the kind of failure and the culprit functions without offsets,
//! addresses or compiler suffixes.

pub mod log_scan;
pub mod signature;

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::bt::{collect, BtFrame, BtTask};
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};
use log_scan::{LogFacts, NamedTask};

/// Frames of a stack shown as evidence.
const STACK_EVIDENCE: usize = 8;

/// What kind of failure the dump shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    NullPointerDereference,
    GeneralProtectionFault,
    KernelBug,
    BadMemoryAccess,
    Oops,
    HungTask,
    SoftLockup,
    HardLockup,
    OutOfMemory,
    RcuStall,
    SysrqCrash,
    Warning,
    Panic,
    NoPanic,
}

impl Kind {
    /// Words for a person.
    pub fn title(self) -> &'static str {
        match self {
            Kind::NullPointerDereference => "NULL pointer dereference",
            Kind::GeneralProtectionFault => "general protection fault",
            Kind::KernelBug => "kernel BUG (assertion failed)",
            Kind::BadMemoryAccess => "bad memory access (page fault in the kernel)",
            Kind::Oops => "kernel oops",
            Kind::HungTask => "hung task (blocked in D state past hung_task_timeout_secs)",
            Kind::SoftLockup => "soft lockup (a CPU stuck in the kernel without scheduling)",
            Kind::HardLockup => "hard lockup (a CPU stuck with interrupts off)",
            Kind::OutOfMemory => "out of memory",
            Kind::RcuStall => "RCU stall",
            Kind::SysrqCrash => "crash triggered by sysrq (echo c > /proc/sysrq-trigger)",
            Kind::Warning => "kernel WARNING turned into a panic (panic_on_warn)",
            Kind::Panic => "kernel panic",
            Kind::NoPanic => "no panic: the dump was taken from a running system",
        }
    }

    /// Stable name used in signatures.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::NullPointerDereference => "null-pointer-dereference",
            Kind::GeneralProtectionFault => "general-protection-fault",
            Kind::KernelBug => "kernel-bug",
            Kind::BadMemoryAccess => "bad-memory-access",
            Kind::Oops => "oops",
            Kind::HungTask => "hung-task",
            Kind::SoftLockup => "soft-lockup",
            Kind::HardLockup => "hard-lockup",
            Kind::OutOfMemory => "out-of-memory",
            Kind::RcuStall => "rcu-stall",
            Kind::SysrqCrash => "sysrq-crash",
            Kind::Warning => "warning",
            Kind::Panic => "panic",
            Kind::NoPanic => "no-panic",
        }
    }
}

/// A task the analysis names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskRef {
    pub pid: i32,
    pub comm: String,
    #[serde(with = "crate::hex_opt")]
    pub task: Option<u64>,
    pub cpu: Option<u32>,
}

/// The code the evidence points at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Culprit {
    pub function: String,
    #[serde(with = "crate::hex_opt")]
    pub offset: Option<u64>,
    pub module: Option<String>,
    /// `file: line`, with DWARF.
    pub source: Option<String>,
    pub task: Option<TaskRef>,
}

/// What `analyze` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Analysis {
    pub kind: Kind,
    /// One line: the kind, and where.
    pub verdict: String,
    /// The panic (or oops) message of the log.
    pub message: Option<String>,
    /// The culprits, most likely first (a hung-task panic names every blocked task's).
    pub culprits: Vec<Culprit>,
    /// The task that panicked, when one did.
    pub panic_task: Option<TaskRef>,
    /// Stable across machines for the same bug: `kd1-` and 16 hex digits.
    pub signature: String,
    /// What the signature is made of.
    pub signature_text: String,
    /// The lines (log, stacks, state) the verdict rests on.
    pub evidence: Vec<String>,
    /// What could not be read, and so was not considered.
    pub problems: Vec<String>,
}

/// Runs `analyze`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Flags::parse(&table::ANALYZE, args)?;
    Ok(Box::new(analyze(s)?))
}

/// Analyzes the dump of `s`.
pub fn analyze(s: &Session) -> Result<Analysis, CommandError> {
    let mut problems = Vec::new();
    let facts = match s.log() {
        Ok(log) => log_scan::scan(log.records.iter().map(|r| r.text.as_str())),
        Err(e) => {
            problems.push(format!("kernel log: {e}"));
            LogFacts::default()
        }
    };
    let panic_bt = panic_backtrace(s, &mut problems);
    let panic_task = panic_bt.as_ref().map(task_ref);
    let mut evidence = Vec::new();
    let (kind, message) = classify(&facts);
    for line in [&facts.panic, &facts.oops, &facts.oops_code]
        .into_iter()
        .flatten()
    {
        evidence.push(format!("log: {line}"));
    }
    let mut culprits = Vec::new();
    match kind {
        Kind::NullPointerDereference
        | Kind::GeneralProtectionFault
        | Kind::KernelBug
        | Kind::BadMemoryAccess
        | Kind::Oops
        | Kind::Warning => {
            if let Some((_, line)) = &facts.rip {
                evidence.push(format!("log: {line}"));
            }
            culprits.extend(fault_culprit(
                &facts,
                panic_bt.as_ref(),
                panic_task.as_ref(),
            ));
        }
        Kind::HungTask => {
            for (task, line) in &facts.blocked {
                evidence.push(format!("log: {line}"));
                culprits.extend(blocked_culprit(s, task, &mut evidence, &mut problems));
            }
        }
        Kind::SoftLockup => {
            if let Some((task, line)) = &facts.soft_lockup {
                evidence.push(format!("log: {line}"));
                if let Some((_, rip)) = &facts.rip {
                    evidence.push(format!("log: {rip}"));
                }
                culprits.extend(lockup_culprit(
                    s,
                    task,
                    &facts,
                    &mut evidence,
                    &mut problems,
                ));
            }
        }
        Kind::OutOfMemory => {
            for line in [&facts.oom].into_iter().flatten() {
                evidence.push(format!("log: {line}"));
            }
            // the allocation that found no memory: the task that invoked the OOM killer, in the
            // code that called panic()
            let invoker = facts.oom_invoker.as_ref().map(|(comm, line)| {
                evidence.push(format!("log: {line}"));
                task_by_comm(s, comm)
            });
            let mut c = panic_bt.as_ref().and_then(panic_caller);
            if let (Some(c), Some(t)) = (c.as_mut(), invoker.clone()) {
                c.task = Some(t);
            }
            culprits.extend(c);
            if let Some(big) = largest_rss(s) {
                evidence.push(big);
            }
        }
        Kind::SysrqCrash => {
            if let Some(line) = &facts.sysrq {
                evidence.push(format!("log: {line}"));
            }
            culprits.extend(panic_bt.as_ref().and_then(panic_caller));
        }
        Kind::HardLockup | Kind::RcuStall | Kind::Panic => {
            for line in [&facts.hard_lockup, &facts.rcu_stall].into_iter().flatten() {
                evidence.push(format!("log: {line}"));
            }
            culprits.extend(panic_bt.as_ref().and_then(panic_caller));
        }
        Kind::NoPanic => {}
    }
    if let Some(bt) = &panic_bt {
        evidence.push(stack_line(bt));
    }
    if let Some(m) = &facts.modules_linked {
        evidence.push(format!("log: {m}"));
    }
    let (signature, signature_text) = signature::of(kind, &culprits, message.as_deref());
    let verdict = verdict_line(kind, culprits.first());
    Ok(Analysis {
        kind,
        verdict,
        message,
        culprits,
        panic_task: if kind == Kind::NoPanic {
            None
        } else {
            panic_task
        },
        signature,
        signature_text,
        evidence,
        problems,
    })
}

/// The kind of failure, and the message it was read from.
fn classify(f: &LogFacts) -> (Kind, Option<String>) {
    let oops_kind = |o: &str| {
        let l = o.to_ascii_lowercase();
        if l.contains("null pointer dereference") {
            Kind::NullPointerDereference
        } else if l.contains("general protection fault") {
            Kind::GeneralProtectionFault
        } else if l.starts_with("kernel bug at") || l.starts_with("invalid opcode") {
            Kind::KernelBug
        } else if l.contains("unable to handle")
            || l.contains("paging request")
            || l.contains("page fault")
        {
            Kind::BadMemoryAccess
        } else {
            Kind::Oops
        }
    };
    if let Some(p) = &f.panic {
        let l = p.to_ascii_lowercase();
        let kind = if l.contains("sysrq triggered crash") {
            Kind::SysrqCrash
        } else if l.contains("hung_task") || l.contains("hung task") {
            Kind::HungTask
        } else if l.contains("softlockup") || l.contains("soft lockup") {
            Kind::SoftLockup
        } else if l.contains("hard lockup") || l.contains("hardlockup") {
            Kind::HardLockup
        } else if l.contains("out of memory") {
            Kind::OutOfMemory
        } else if l.contains("rcu stall") {
            Kind::RcuStall
        } else if l.contains("panic_on_warn") {
            Kind::Warning
        } else if let Some(o) = &f.oops {
            oops_kind(o)
        } else {
            Kind::Panic
        };
        return (kind, Some(p.clone()));
    }
    if let Some(o) = &f.oops {
        return (oops_kind(o), Some(o.clone()));
    }
    if let Some((_, l)) = &f.soft_lockup {
        return (Kind::SoftLockup, Some(l.clone()));
    }
    if let Some((_, l)) = f.blocked.first() {
        return (Kind::HungTask, Some(l.clone()));
    }
    (Kind::NoPanic, None)
}

/// The panic task's backtrace (with source lines when DWARF is attached), if a CPU panicked.
fn panic_backtrace(s: &Session, problems: &mut Vec<String>) -> Option<BtTask> {
    let prog = s.kernel().ok()?;
    let tasks = match s.tasks() {
        Ok(t) => t,
        Err(e) => {
            problems.push(e.to_string());
            return None;
        }
    };
    let ctx = kdive_linux::stack::BacktraceContext::new(prog, &tasks.list.active);
    let task = ctx.panic_cpu.and_then(|c| ctx.active.get(&c)).copied()?;
    match collect(s, &["-l".into(), format!("{task:#x}")]) {
        Ok(bt) => bt.tasks.into_iter().next(),
        Err(e) => {
            problems.push(format!("panic task's stack: {e}"));
            None
        }
    }
}

fn task_ref(bt: &BtTask) -> TaskRef {
    TaskRef {
        pid: bt.pid,
        comm: bt.comm.clone(),
        task: Some(bt.task),
        cpu: Some(bt.cpu),
    }
}

fn task_by_comm(s: &Session, comm: &str) -> TaskRef {
    let found = s
        .tasks()
        .ok()
        .and_then(|t| t.infos.iter().find(|i| i.comm == comm));
    TaskRef {
        pid: found.map_or(0, |t| t.pid),
        comm: comm.to_string(),
        task: found.map(|t| t.addr),
        cpu: found.map(|t| t.cpu),
    }
}

/// `file: line` of a frame's own location (the innermost level).
fn frame_source(f: &BtFrame) -> Option<String> {
    let s = f.source.first()?;
    Some(format!("{}: {}", s.file.as_deref()?, s.line?))
}

/// The faulting code: the RIP of the oops (from the log, else the panic stack's exception frame).
fn fault_culprit(
    f: &LogFacts,
    bt: Option<&BtTask>,
    panic_task: Option<&TaskRef>,
) -> Option<Culprit> {
    let exception = bt.and_then(|b| {
        b.frames
            .iter()
            .find(|fr| fr.exception.as_ref().is_some_and(|e| !e.user) && fr.function.is_some())
    });
    let task = match (&f.comm, panic_task) {
        (_, Some(t)) => Some(t.clone()),
        (Some((n, _)), None) => Some(TaskRef {
            pid: n.pid,
            comm: n.comm.clone(),
            task: None,
            cpu: None,
        }),
        _ => None,
    };
    if let Some((rip, _)) = &f.rip {
        let source = exception
            .filter(|e| e.function.as_deref() == Some(rip.function.as_str()))
            .and_then(frame_source);
        return Some(Culprit {
            function: rip.function.clone(),
            offset: rip.offset,
            module: rip.module.clone(),
            source,
            task,
        });
    }
    let e = exception?;
    Some(Culprit {
        function: e.function.clone()?,
        offset: e.offset,
        module: e.module.clone(),
        source: frame_source(e),
        task,
    })
}

/// Functions a blocked or spinning task sits in that say nothing about why: the scheduler,
/// locks, waits, and the entry and kthread scaffolding.
fn is_plumbing(name: &str) -> bool {
    const PREFIXES: [&str; 24] = [
        "__schedule",
        "schedule",
        "io_schedule",
        "preempt_schedule",
        "__mutex_lock",
        "mutex_lock",
        "__down",
        "down",
        "rwsem_",
        "__rwsem",
        "rt_mutex",
        "__rt_mutex",
        "wait_for_",
        "__wait_",
        "wait_on_",
        "do_wait",
        "__pfx_",
        "kthread",
        "ret_from_fork",
        "entry_",
        "do_syscall",
        "__x64_sys",
        "asm_",
        "__sysvec",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
        || name.contains("_lock_slowpath")
        || name.starts_with("_raw_spin")
}

/// The first frame of a stack that is not plumbing.
fn interesting(bt: &BtTask) -> Option<&BtFrame> {
    bt.frames
        .iter()
        .filter(|f| f.level.is_some())
        .find(|f| f.function.as_deref().is_some_and(|n| !is_plumbing(n)))
}

/// The function that called `panic()`, from the panic task's stack.
fn panic_caller(bt: &BtTask) -> Option<Culprit> {
    let mut frames = bt.frames.iter().filter(|f| f.level.is_some());
    frames.find(|f| f.function.as_deref() == Some("panic"))?;
    frame_culprit(bt, frames.find(|f| f.function.is_some())?)
}

/// Frame `f` of task `bt` as a culprit.
fn frame_culprit(bt: &BtTask, f: &BtFrame) -> Option<Culprit> {
    Some(Culprit {
        function: f.function.clone()?,
        offset: f.offset,
        module: f.module.clone(),
        source: frame_source(f),
        task: Some(task_ref(bt)),
    })
}

fn stack_of(s: &Session, pid: i32) -> Option<BtTask> {
    collect(s, &["-l".into(), pid.to_string()])
        .ok()?
        .tasks
        .into_iter()
        .next()
}

fn culprit_in(bt: &BtTask) -> Option<Culprit> {
    frame_culprit(bt, interesting(bt)?)
}

fn blocked_culprit(
    s: &Session,
    t: &NamedTask,
    evidence: &mut Vec<String>,
    problems: &mut Vec<String>,
) -> Option<Culprit> {
    let Some(bt) = stack_of(s, t.pid) else {
        problems.push(format!("no stack for blocked task {} ({})", t.comm, t.pid));
        return None;
    };
    evidence.push(stack_line(&bt));
    culprit_in(&bt)
}

fn lockup_culprit(
    s: &Session,
    t: &NamedTask,
    f: &LogFacts,
    evidence: &mut Vec<String>,
    problems: &mut Vec<String>,
) -> Option<Culprit> {
    let bt = stack_of(s, t.pid);
    if let Some(bt) = &bt {
        evidence.push(stack_line(bt));
    } else {
        problems.push(format!("no stack for task {} ({})", t.comm, t.pid));
    }
    if let Some((rip, _)) = &f.rip {
        return Some(Culprit {
            function: rip.function.clone(),
            offset: rip.offset,
            module: rip.module.clone(),
            source: None,
            task: bt.as_ref().map(task_ref),
        });
    }
    culprit_in(bt.as_ref()?)
}

/// The task with the largest resident set, as evidence for an OOM.
fn largest_rss(s: &Session) -> Option<String> {
    let t = s.tasks().ok()?.infos.iter().max_by_key(|t| t.rss_pages)?;
    Some(format!(
        "largest resident set: {} (pid {}), {} pages",
        t.comm, t.pid, t.rss_pages
    ))
}

/// `stack of COMM (PID): f1 < f2 [mod] < ...`
fn stack_line(bt: &BtTask) -> String {
    let names: Vec<String> = bt
        .frames
        .iter()
        .filter(|f| f.level.is_some() || f.exception.as_ref().is_some_and(|e| !e.user))
        .filter_map(|f| {
            let name = f.function.clone()?;
            Some(match &f.module {
                Some(m) => format!("{name} [{m}]"),
                None => name,
            })
        })
        .take(STACK_EVIDENCE)
        .collect();
    format!("stack of {} ({}): {}", bt.comm, bt.pid, names.join(" < "))
}

fn verdict_line(kind: Kind, c: Option<&Culprit>) -> String {
    let mut v = kind.title().to_string();
    if let Some(c) = c {
        match (&c.module, kind) {
            (_, Kind::SysrqCrash | Kind::OutOfMemory) => {}
            (Some(m), _) => v += &format!(" in {} [module {m}]", c.function),
            (None, _) => v += &format!(" in {}", c.function),
        }
        if let Some(t) = &c.task {
            v += &format!(", task {} (pid {})", t.comm, t.pid);
        }
    }
    v
}

impl Report for Analysis {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "    VERDICT: {}", self.verdict)?;
        if let Some(m) = &self.message {
            writeln!(out, "    MESSAGE: {m}")?;
        }
        for (i, c) in self.culprits.iter().enumerate() {
            let key = if i == 0 { "CULPRIT" } else { "" };
            let mut line = c.function.clone();
            if let Some(off) = c.offset {
                line += &format!("+{off:#x}");
            }
            if let Some(m) = &c.module {
                line += &format!(" [{m}]");
            }
            if let Some(src) = &c.source {
                line += &format!("  {src}");
            }
            if let Some(t) = &c.task {
                line += &format!("  task {} (pid {})", t.comm, t.pid);
            }
            writeln!(out, "{key:>11}{} {line}", if i == 0 { ":" } else { " " })?;
        }
        if let Some(t) = &self.panic_task {
            let cpu = t.cpu.map(|c| format!(" on CPU {c}")).unwrap_or_default();
            writeln!(out, " PANIC TASK: {} (pid {}){cpu}", t.comm, t.pid)?;
        }
        writeln!(
            out,
            "  SIGNATURE: {}  ({})",
            self.signature, self.signature_text
        )?;
        for (i, e) in self.evidence.iter().enumerate() {
            writeln!(
                out,
                "{:>11}{} {e}",
                if i == 0 { "EVIDENCE" } else { "" },
                if i == 0 { ":" } else { " " }
            )?;
        }
        for p in &self.problems {
            writeln!(out, "    analyze: not considered: {p}")?;
        }
        Ok(())
    }
}
