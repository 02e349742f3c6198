//! `analyze`: what happened, who did it, the evidence, and a signature that groups the same bug
//! across machines.
//!
//! The kernel log is read with the same parser as `kdive oops` (`kdive-oops`): the report the
//! panic belongs to gives the kind of failure. The dump's own state then names the culprit where
//! it knows better than the text: the panic task's stack (with source lines when DWARF is
//! attached), the stacks of the blocked tasks, the tasks' resident sets. Title and signature are
//! made by `kdive-oops` from the same parts as for a log, so a crash gets the same ones from its
//! dump and from its `vmcore-dmesg.txt`.

pub mod locks;

use std::io::{self, Write};

use kdive_oops::machinery::is_machinery;
use kdive_oops::report::Report as OopsReport;
use kdive_oops::{Identity, TextCulprit};
use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::bt::{collect, BtFrame, BtTask};
use crate::table;
use crate::{CommandError, Report, Session, TextOptions};

pub use kdive_oops::Kind;

/// Frames of a stack shown as evidence.
const STACK_EVIDENCE: usize = 8;

/// A task the analysis names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskRef {
    pub pid: i32,
    pub comm: String,
    #[serde(with = "crate::hex_opt")]
    pub task: Option<u64>,
    pub cpu: Option<u32>,
}

/// What the evidence points at: code (a function), or a task (the largest consumer of an OOM).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Culprit {
    pub function: Option<String>,
    #[serde(with = "crate::hex_opt")]
    pub offset: Option<u64>,
    pub module: Option<String>,
    /// `file: line`, with DWARF.
    pub source: Option<String>,
    pub task: Option<TaskRef>,
}

/// A soft or hard lockup: which CPU was stuck, and for how long (the watchdog's report).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lockup {
    pub cpu: Option<u32>,
    /// Seconds without scheduling (soft lockups; the hard-lockup report gives none).
    pub seconds: Option<u64>,
}

/// What `analyze` and `oops` both say of a failure: its kind, the culprits, the evidence and a
/// signature. `analyze` finds it in a dump, `oops` in a log's text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub kind: Kind,
    /// syzbot-style: `general protection fault in FUNC`, `INFO: task hung in FUNC`...
    pub title: String,
    /// One line: the kind, and where.
    pub verdict: String,
    /// The panic (or report) message of the log.
    pub message: Option<String>,
    /// Soft and hard lockups: the stuck CPU and how long.
    #[serde(default)]
    pub lockup: Option<Lockup>,
    /// The culprits, most likely first (a hung-task panic names every blocked task's).
    pub culprits: Vec<Culprit>,
    /// The task that panicked (or the report ran in), when one did.
    pub panic_task: Option<TaskRef>,
    /// Stable across machines for the same bug: `kd2-` and 16 hex digits.
    pub signature: String,
    /// What the signature is made of.
    pub signature_text: String,
    /// The lines (log, stacks, state) the verdict rests on.
    pub evidence: Vec<String>,
    /// What could not be read, and so was not considered.
    pub problems: Vec<String>,
}

impl Finding {
    /// `TITLE`, `VERDICT` and `MESSAGE` lines.
    pub fn write_head(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "      TITLE: {}", self.title)?;
        writeln!(out, "    VERDICT: {}", self.verdict)?;
        if let Some(m) = &self.message {
            writeln!(out, "    MESSAGE: {m}")?;
        }
        Ok(())
    }

    /// The `LOCKUP` line, if the failure is a lockup.
    pub fn write_lockup(&self, out: &mut dyn Write) -> io::Result<()> {
        if let Some(l) = &self.lockup {
            let cpu = l.cpu.map_or("a CPU".to_string(), |c| format!("CPU {c}"));
            match l.seconds {
                Some(secs) => writeln!(out, "     LOCKUP: {cpu} stuck for {secs}s")?,
                None => writeln!(out, "     LOCKUP: {cpu} stuck")?,
            }
        }
        Ok(())
    }

    /// One `CULPRIT` line per culprit.
    pub fn write_culprits(&self, out: &mut dyn Write) -> io::Result<()> {
        for (i, c) in self.culprits.iter().enumerate() {
            let key = if i == 0 { "CULPRIT:" } else { "" };
            writeln!(out, "{key:>12} {}", culprit_text(c))?;
        }
        Ok(())
    }

    /// `SIGNATURE`, the `EVIDENCE` lines, and what `command` could not consider.
    pub fn write_tail(&self, command: &str, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "  SIGNATURE: {}  ({})",
            self.signature, self.signature_text
        )?;
        for (i, e) in self.evidence.iter().enumerate() {
            writeln!(out, "{:>12} {e}", if i == 0 { "EVIDENCE:" } else { "" })?;
        }
        for p in &self.problems {
            writeln!(out, "    {command}: not considered: {p}")?;
        }
        Ok(())
    }
}

/// What `analyze` reports.
#[derive(Debug, Serialize, Deserialize)]
pub struct Analysis {
    #[serde(flatten)]
    pub finding: Finding,
    /// Hung tasks: every D-state task's lock and its owner.
    pub locks: Vec<locks::LockWait>,
    /// Cycles of the waits-for graph (task → lock owner), as pids: deadlocks.
    pub deadlocks: Vec<Vec<i32>>,
}

/// Runs `analyze`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Flags::parse(&table::ANALYZE, args)?;
    Ok(Box::new(analyze(s)?))
}

/// The report a dump is about: the one its panic ended, else the first.
pub fn main_report(reports: &[OopsReport]) -> Option<&OopsReport> {
    reports
        .iter()
        .rev()
        .find(|r| r.panic.is_some())
        .or(reports.first())
}

/// Analyzes the dump of `s`.
pub fn analyze(s: &Session) -> Result<Analysis, CommandError> {
    let mut problems = Vec::new();
    let reports = match s.log() {
        Ok(log) => {
            let text: Vec<&str> = log.records.iter().map(|r| r.text.as_str()).collect();
            kdive_oops::parse(&text.join("\n"))
        }
        Err(e) => {
            problems.push(format!("kernel log: {e}"));
            Vec::new()
        }
    };
    let report = main_report(&reports);
    let kind = report.map_or(Kind::NoPanic, |r| r.kind);
    let panic_bt = if kind == Kind::NoPanic {
        None
    } else {
        panic_backtrace(s, &mut problems)
    };
    let panic_task = panic_bt.as_ref().map(task_ref);
    let mut evidence = Vec::new();
    let text_culprits = report.map(kdive_oops::culprits).unwrap_or_default();
    if let Some(r) = report {
        let mut lines = vec![&r.headline];
        lines.extend(r.panic.iter().filter(|p| **p != r.headline));
        for l in lines {
            evidence.push(format!("log: {l}"));
        }
        if let Some(ip) = &r.ip {
            evidence.push(format!(
                "log: faulting or interrupted function {}",
                ip.function
            ));
        }
    }
    let mut culprits = Vec::new();
    let (mut lock_waits, mut deadlocks) = (Vec::new(), Vec::new());
    match kind {
        Kind::HungTask => {
            (lock_waits, deadlocks) = locks::waits_for(s, &mut problems);
            evidence.extend(lock_waits.iter().map(locks::describe));
            for c in &deadlocks {
                let names: Vec<String> = c.iter().map(|p| p.to_string()).collect();
                evidence.push(format!(
                    "deadlock: pids {} wait for each other",
                    names.join(" -> ")
                ));
            }
            for b in report.map(|r| r.blocked.as_slice()).unwrap_or_default() {
                let from_dump = blocked_culprit(s, b.task.pid, &mut evidence, &mut problems);
                let from_text = text_culprits
                    .iter()
                    .find(|c| c.task.as_ref().is_some_and(|t| t.pid == b.task.pid));
                culprits.extend(from_dump.or_else(|| from_text.map(|c| from_log(s, c))));
            }
        }
        Kind::OutOfMemory => {
            culprits.extend(largest_rss(s, &mut evidence));
        }
        Kind::SysrqCrash => {
            culprits.extend(panic_bt.as_ref().and_then(panic_caller));
        }
        Kind::SoftLockup | Kind::HardLockup => {
            let cpu = report.and_then(|r| r.lockup_cpu);
            let stuck = match (cpu, &panic_bt) {
                (Some(c), Some(bt)) if bt.cpu != c => cpu_backtrace(s, c, &mut problems),
                _ => panic_bt.clone(),
            };
            match stuck
                .as_ref()
                .and_then(|bt| interrupted(bt).map(|f| (bt, f)))
            {
                Some((bt, i)) => {
                    evidence.push(interrupted_line(bt, i));
                    culprits.extend(frame_culprit(bt, &bt.frames[i]));
                }
                None => {
                    for c in &text_culprits {
                        culprits.push(enrich(s, c, stuck.as_ref(), panic_task.as_ref()));
                    }
                }
            }
        }
        Kind::NoPanic => {}
        _ => {
            for c in &text_culprits {
                culprits.push(enrich(s, c, panic_bt.as_ref(), panic_task.as_ref()));
            }
            if culprits.is_empty() {
                culprits.extend(panic_bt.as_ref().and_then(panic_caller));
            }
        }
    }
    if let Some(bt) = &panic_bt {
        evidence.push(stack_line(bt));
    }
    if let Some(m) =
        report.and_then(|r| r.lines.iter().find(|l| l.starts_with("Modules linked in")))
    {
        evidence.push(format!("log: {m}"));
    }
    let release = s
        .dump()
        .vmcoreinfo()
        .and_then(|v| v.osrelease().map(str::to_string))
        .or_else(|| report.and_then(|r| r.release.clone()));
    let id = Identity {
        kind: Some(kind),
        detail: report.and_then(|r| r.detail.as_deref()),
        access: report.and_then(|r| r.access.as_deref()),
        functions: culprits
            .iter()
            .filter_map(|c| Some((c.function.as_deref()?, c.module.as_deref())))
            .collect(),
        consumer: culprits
            .iter()
            .find(|c| c.function.is_none())
            .and_then(|c| c.task.as_ref())
            .map(|t| t.comm.as_str()),
        message: report.map(|r| r.panic.as_deref().unwrap_or(r.headline.as_str())),
        release: release.as_deref(),
    };
    let title = kdive_oops::title(&id);
    let (signature, signature_text) = kdive_oops::signature(&id);
    let message = report.map(|r| r.panic.clone().unwrap_or_else(|| r.headline.clone()));
    let verdict = verdict_line(kind, culprits.first());
    let lockup = report
        .filter(|_| matches!(kind, Kind::SoftLockup | Kind::HardLockup))
        .map(|r| Lockup {
            cpu: r.lockup_cpu,
            seconds: r.lockup_seconds,
        });
    Ok(Analysis {
        finding: Finding {
            kind,
            title,
            verdict,
            message,
            lockup,
            culprits,
            panic_task,
            signature,
            signature_text,
            evidence,
            problems,
        },
        locks: lock_waits,
        deadlocks,
    })
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

/// The backtrace of the task running on `cpu` (with source lines when DWARF is attached).
fn cpu_backtrace(s: &Session, cpu: u32, problems: &mut Vec<String>) -> Option<BtTask> {
    match collect(s, &["-l".into(), "-c".into(), cpu.to_string()]) {
        Ok(bt) => bt.tasks.into_iter().next(),
        Err(e) => {
            problems.push(format!("stack of CPU {cpu}: {e}"));
            None
        }
    }
}

/// The frames a person reads: numbered ones and the interrupted kernel code of register blocks.
fn shown(f: &BtFrame) -> bool {
    f.level.is_some() || f.exception.as_ref().is_some_and(|e| !e.user)
}

/// Index of the code a lockup watchdog interrupted: after the first kernel register block (the
/// interrupt or NMI the watchdog ran in, across the IRQ or NMI stack), the first frame that is
/// not machinery; without a register block, the stack's first frame that is not machinery.
fn interrupted(bt: &BtTask) -> Option<usize> {
    let not_machinery = |i: &usize| {
        let f = &bt.frames[*i];
        shown(f) && f.function.as_deref().is_some_and(|n| !is_machinery(n))
    };
    let block = bt.frames.iter().position(|f| {
        f.exception
            .as_ref()
            .is_some_and(|e| !e.user && e.addr.is_some())
    });
    block
        .and_then(|b| (b..bt.frames.len()).find(not_machinery))
        .or_else(|| (0..bt.frames.len()).find(not_machinery))
}

/// `interrupted on CPU N: f1+0x24 [mod] < f2 < ...`: the lockup's stack from the culprit out.
fn interrupted_line(bt: &BtTask, from: usize) -> String {
    let names: Vec<String> = bt.frames[from..]
        .iter()
        .filter(|f| shown(f))
        .filter_map(|f| {
            let mut n = f.function.clone()?;
            if let Some(o) = f.offset.filter(|_| f.exception.is_some()) {
                n += &format!("+{o:#x}");
            }
            if let Some(m) = &f.module {
                n += &format!(" [{m}]");
            }
            Some(n)
        })
        .take(STACK_EVIDENCE)
        .collect();
    format!(
        "stack of {} ({}) on CPU {}, interrupted in: {}",
        bt.comm,
        bt.pid,
        bt.cpu,
        names.join(" < ")
    )
}

fn task_ref(bt: &BtTask) -> TaskRef {
    TaskRef {
        pid: bt.pid,
        comm: bt.comm.clone(),
        task: Some(bt.task),
        cpu: Some(bt.cpu),
    }
}

/// The dump's task with this pid (or, without one, the name the log gave).
fn task_by_pid(s: &Session, pid: i32, comm: &str) -> TaskRef {
    let found = s
        .tasks()
        .ok()
        .and_then(|t| t.infos.iter().find(|i| i.pid == pid));
    TaskRef {
        pid,
        comm: found.map_or_else(|| comm.to_string(), |t| t.comm.clone()),
        task: found.map(|t| t.addr),
        cpu: found.map(|t| t.cpu),
    }
}

/// `file: line` of a frame's own location (the innermost level).
fn frame_source(f: &BtFrame) -> Option<String> {
    let s = f.source.first()?;
    Some(format!("{}: {}", s.file.as_deref()?, s.line?))
}

/// A culprit the log names, with the task as the dump has it.
fn from_log(s: &Session, c: &TextCulprit) -> Culprit {
    Culprit {
        function: c.function.clone(),
        offset: c.offset,
        module: c.module.clone(),
        source: None,
        task: c.task.as_ref().map(|t| task_by_pid(s, t.pid, &t.comm)),
    }
}

/// A culprit of the log, with the source line of the panic stack's frame of the same function
/// and the panic task.
fn enrich(
    s: &Session,
    c: &TextCulprit,
    bt: Option<&BtTask>,
    panic_task: Option<&TaskRef>,
) -> Culprit {
    let mut out = from_log(s, c);
    let frame = bt.and_then(|b| {
        b.frames
            .iter()
            .find(|f| f.function.is_some() && f.function == c.function)
    });
    out.source = frame.and_then(frame_source);
    if out.offset.is_none() {
        out.offset = frame.and_then(|f| f.offset);
    }
    if let Some(t) = panic_task.filter(|t| out.task.as_ref().is_none_or(|o| o.pid == t.pid)) {
        out.task = Some(t.clone());
    }
    out
}

/// The first frame of a stack that is not machinery.
fn interesting(bt: &BtTask) -> Option<&BtFrame> {
    bt.frames
        .iter()
        .filter(|f| f.level.is_some())
        .find(|f| f.function.as_deref().is_some_and(|n| !is_machinery(n)))
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
        function: Some(f.function.clone()?),
        offset: f.offset,
        module: f.module.clone(),
        source: frame_source(f),
        task: Some(task_ref(bt)),
    })
}

/// The stack of the task with this pid, with source lines when DWARF is attached.
pub(crate) fn stack_of(s: &Session, pid: i32) -> Option<BtTask> {
    collect(s, &["-l".into(), pid.to_string()])
        .ok()?
        .tasks
        .into_iter()
        .next()
}

/// A blocked task's culprit: the first frame of its stack in the dump that is not machinery.
fn blocked_culprit(
    s: &Session,
    pid: i32,
    evidence: &mut Vec<String>,
    problems: &mut Vec<String>,
) -> Option<Culprit> {
    let Some(bt) = stack_of(s, pid) else {
        problems.push(format!("no stack for blocked task {pid}"));
        return None;
    };
    evidence.push(stack_line(&bt));
    frame_culprit(&bt, interesting(&bt)?)
}

/// The task with the largest resident set: the consumer an OOM is blamed on.
fn largest_rss(s: &Session, evidence: &mut Vec<String>) -> Option<Culprit> {
    let t = s.tasks().ok()?.infos.iter().max_by_key(|t| t.rss_pages)?;
    evidence.push(format!(
        "largest resident set: {} (pid {}), {} pages",
        t.comm, t.pid, t.rss_pages
    ));
    Some(Culprit {
        function: None,
        offset: None,
        module: None,
        source: None,
        task: Some(TaskRef {
            pid: t.pid,
            comm: t.comm.clone(),
            task: Some(t.addr),
            cpu: Some(t.cpu),
        }),
    })
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

/// `KIND in FUNC [module M], task COMM (pid N)`.
pub(crate) fn verdict_line(kind: Kind, c: Option<&Culprit>) -> String {
    let mut v = kind.title().to_string();
    if let Some(c) = c {
        match (&c.function, &c.module, kind) {
            (_, _, Kind::SysrqCrash) | (None, _, _) => {}
            (Some(f), Some(m), _) => v += &format!(" in {f} [module {m}]"),
            (Some(f), None, _) => v += &format!(" in {f}"),
        }
        if let Some(t) = &c.task {
            let what = if c.function.is_none() && kind == Kind::OutOfMemory {
                "largest consumer"
            } else {
                "task"
            };
            v += &format!(", {what} {} (pid {})", t.comm, t.pid);
        }
    }
    v
}

/// One culprit as a line: `func+0x1c [mod]  file: line  task comm (pid N)`.
pub fn culprit_text(c: &Culprit) -> String {
    let mut line = c.function.clone().unwrap_or_default();
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
        if !line.is_empty() {
            line += "  ";
        }
        line += &format!("task {} (pid {})", t.comm, t.pid);
    }
    line
}

impl Report for Analysis {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let f = &self.finding;
        f.write_head(out)?;
        f.write_lockup(out)?;
        f.write_culprits(out)?;
        if let Some(t) = &f.panic_task {
            let cpu = t.cpu.map(|c| format!(" on CPU {c}")).unwrap_or_default();
            writeln!(out, " PANIC TASK: {} (pid {}){cpu}", t.comm, t.pid)?;
        }
        f.write_tail("analyze", out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task's stack from `(function, numbered, kernel register block address)` rows.
    fn stack(rows: &[(&str, bool, Option<u64>)]) -> BtTask {
        let mut level = 0;
        let frames: Vec<serde_json::Value> = rows
            .iter()
            .enumerate()
            .map(|(i, &(name, numbered, block))| {
                let lv = numbered.then(|| {
                    level += 1;
                    level - 1
                });
                serde_json::json!({
                    "level": lv, "pc": format!("{:#x}", 0x1000 + i), "sp": "0x0", "slot": null,
                    "function": name, "offset": "0x10", "module": null, "found": "orc",
                    "reliable": true, "stack": "task", "transition": null,
                    "exception": block.map(|a| serde_json::json!({
                        "addr": format!("{a:#x}"), "user": false, "partial": false, "registers": {}
                    })),
                    "source": [], "words": [],
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "pid": 7, "task": "0xffff888000001000", "cpu": 1, "comm": "spin", "active": true,
            "start": "innermost-frame", "frames": frames, "end": "end-of-stack",
            "complete": true, "notes": [], "text_words": [],
        }))
        .unwrap()
    }

    #[test]
    fn a_hard_lockup_blames_the_code_the_nmi_interrupted_not_the_perf_handler() {
        // the NMI watchdog's path runs through functions that are no machinery (the PMU's
        // handler); the interrupted code is the first frame after the NMI's register block
        let bt = stack(&[
            ("panic", true, None),
            ("watchdog_hardlockup_check", true, None),
            ("__perf_event_overflow", true, None),
            ("intel_pmu_handle_irq", true, None),
            ("perf_event_nmi_handler", true, None),
            ("nmi_handle", true, None),
            ("exc_nmi", true, None),
            ("end_repeat_nmi", true, None),
            ("spin_with_irqs_off", false, Some(0xfffffe0000001f58)),
            ("spin_with_irqs_off", true, None),
            ("spin_thread", true, None),
            ("kthread", true, None),
        ]);
        let i = interrupted(&bt).unwrap();
        assert_eq!(i, 8);
        let c = frame_culprit(&bt, &bt.frames[i]).unwrap();
        assert_eq!(c.function.as_deref(), Some("spin_with_irqs_off"));
        assert_eq!(
            interrupted_line(&bt, i),
            "stack of spin (7) on CPU 1, interrupted in: spin_with_irqs_off+0x10 < \
             spin_with_irqs_off < spin_thread < kthread"
        );
    }

    #[test]
    fn a_soft_lockup_in_machinery_blames_its_first_caller_that_is_not() {
        // spinning on a lock: the lock functions are machinery, their caller is to blame
        let bt = stack(&[
            ("machine_kexec", true, None),
            ("__crash_kexec", true, None),
            ("panic", true, None),
            ("watchdog_timer_fn", true, None),
            ("__hrtimer_run_queues", true, None),
            ("sysvec_apic_timer_interrupt", true, None),
            ("asm_sysvec_apic_timer_interrupt", true, None),
            (
                "native_queued_spin_lock_slowpath",
                false,
                Some(0xffffc90000003e38),
            ),
            ("_raw_spin_lock", true, None),
            ("take_the_lock", true, None),
        ]);
        assert_eq!(interrupted(&bt), Some(9));
        // no register block (the interrupt's frames were not found): the first non-machinery
        let bt = stack(&[("panic", true, None), ("do_work", true, None)]);
        assert_eq!(interrupted(&bt), Some(1));
    }
}
