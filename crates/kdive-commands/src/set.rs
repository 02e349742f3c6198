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
    Ok(Box::new(SetReport {
        pid: t.pid,
        comm: t.comm.clone(),
        task: t.addr,
        cpu: t.cpu,
        state: t.state_code().to_string(),
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
    pub cpu: u32,
    /// crash's two-letter state (`RU`, `IN`, `UN`...).
    pub state: String,
    pub panic: bool,
}

impl Report for SetReport {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        write!(
            out,
            "    PID: {}\nCOMMAND: \"{}\"\n   TASK: {:x}\n    CPU: {}\n  STATE: {}{}\n",
            self.pid,
            self.comm,
            self.task,
            self.cpu,
            self.state,
            if self.panic { " (PANIC)" } else { "" }
        )
    }
}
