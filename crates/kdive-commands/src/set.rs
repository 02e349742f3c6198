//! `set`: shows or moves the current context, the task that `bt`, `files` and `vm` mean when
//! given none.

use kdive_linux::stack::BacktraceContext;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::table;
use crate::tasks::{bad_task, current_task, find_task, resolve};
use crate::{CommandError, Report, Session, TextOptions};

/// Runs `set [PID|TASK]`, `set -p` (the panic task), `set -c CPU` (the task on that CPU).
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::SET, args)?;
    let tasks = s.tasks()?;
    let prog = s.kernel()?;
    let ctx = BacktraceContext::new(prog, &tasks.list.active);
    if f.has('p') {
        s.set_context(None);
    } else if let Some(c) = f.value('c') {
        let cpu: u32 = c
            .parse()
            .map_err(|_| CommandError::Usage(format!("set: invalid cpu number: {c}")))?;
        let t = ctx
            .active
            .get(&cpu)
            .ok_or_else(|| CommandError::Usage(format!("set: invalid cpu number: {cpu}")))?;
        s.set_context(Some(*t));
    } else if let Some(p) = f.positional.first() {
        let t = resolve("set", &tasks.infos, p)?;
        s.set_context(t.first().map(|t| t.addr));
    }
    let cur = current_task(s, &ctx)?;
    let t = find_task(&tasks.infos, cur).ok_or_else(|| bad_task("set", &format!("{cur:x}")))?;
    let same_pid = tasks.infos.iter().filter(|o| o.pid == t.pid).count();
    // the thread_info is the task's first member when it lives in the task (x86_64 since 4.9)
    let thread_info = prog
        .type_("struct task_struct")
        .ok()
        .filter(|&ty| prog.types().has_member(ty, "thread_info"))
        .map(|_| t.addr);
    let active = ctx.active_cpu(t.addr);
    Ok(Box::new(SetReport {
        pid: t.pid,
        comm: t.comm.clone(),
        task: t.addr,
        thread_info,
        same_pid: (same_pid > 1).then_some(same_pid),
        cpu: active.unwrap_or(t.cpu),
        state: t.state_code().to_string(),
        state_name: kdive_linux::task::state_names(t.state, t.exit_state),
        active: active.is_some(),
        panic: ctx.panic_cpu.and_then(|c| ctx.active.get(&c)) == Some(&t.addr),
    }))
}

/// What `set` shows: the current context.
#[derive(Debug, Serialize, Deserialize)]
pub struct SetReport {
    pub pid: i32,
    pub comm: String,
    #[serde(with = "crate::hex")]
    pub task: u64,
    /// The task's `thread_info`, when it is part of the task.
    #[serde(default, with = "crate::hex_opt")]
    pub thread_info: Option<u64>,
    /// How many tasks share this PID, when more than one (the idle tasks).
    #[serde(default)]
    pub same_pid: Option<usize>,
    pub cpu: u32,
    /// crash's two-letter state (`RU`, `IN`, `UN`...).
    pub state: String,
    /// The state as crash's `set` names it (`TASK_INTERRUPTIBLE`).
    #[serde(default)]
    pub state_name: String,
    /// Running on a CPU at the time of the dump.
    #[serde(default)]
    pub active: bool,
    pub panic: bool,
}

impl Report for SetReport {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "    PID: {}", self.pid)?;
        writeln!(out, "COMMAND: \"{}\"", self.comm)?;
        write!(out, "   TASK: {:x}  ", self.task)?;
        if let Some(n) = self.same_pid {
            write!(out, "(1 of {n})  ")?;
        }
        if let Some(ti) = self.thread_info {
            write!(out, "[THREAD_INFO: {ti:x}]")?;
        }
        writeln!(out)?;
        writeln!(out, "    CPU: {}", self.cpu)?;
        let mark = match (self.panic, self.active) {
            (true, _) => "(PANIC)",
            (false, true) => "(ACTIVE)",
            _ => "",
        };
        writeln!(out, "  STATE: {} {mark}", self.state_name)
    }
}
