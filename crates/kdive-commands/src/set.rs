//! `set`: shows or moves the current context, the task that `bt`, `files` and `vm` mean when
//! given none.

use kdive_linux::stack::BacktraceContext;
use kdive_linux::task::TaskInfo;
use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::args::Flags;
use crate::format::task_header;
use crate::table;
use crate::tasks::{bad_task, current_task, find_task, resolve};
use crate::{CommandError, Report, Session, TextOptions};

/// Runs `set [PID|TASK]`, `set -p` (the panic task), `set -c CPU` (the task on that CPU).
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let f = Flags::parse(&table::SET, args)?;
    if f.has('v') {
        return Ok(Box::new(settings(s)));
    }
    let tasks = s.tasks()?;
    let prog = s.kernel()?;
    // crash's PANIC mark stays on the panic task whatever `set -a` changes; ACTIVE follows it
    let ctx = BacktraceContext::new(prog, &tasks.list.active);
    let before = current_task(s, &ctx)?;
    let mut quiet = false;
    if let Some(w) = f.value('a') {
        return mark_active(s, &tasks.infos, w, before);
    }
    if f.has('p') {
        s.set_context(None);
    } else if let Some(c) = f.value('c') {
        let cpu: u32 = c
            .parse()
            .map_err(|_| CommandError::Usage(format!("set: invalid cpu number: {c}")))?;
        let t = s
            .active_tasks(&ctx.active)
            .get(&cpu)
            .copied()
            .ok_or_else(|| CommandError::Usage(format!("set: invalid cpu number: {cpu}")))?;
        // crash says nothing when that CPU's task is the context already
        quiet = t == before;
        s.set_context(Some(t));
    } else if let Some(p) = f.positional.first() {
        let t = resolve("set", &tasks.infos, p)?;
        s.set_context(t.first().map(|t| t.addr));
    }
    let cur = current_task(s, &ctx)?;
    let t = find_task(&tasks.infos, cur).ok_or_else(|| bad_task("set", &format!("{cur:x}")))?;
    let mut r = context_of(prog, &tasks.infos, &ctx, &s.active_tasks(&ctx.active), t);
    r.quiet = quiet;
    Ok(Box::new(r))
}

/// What `set` shows for task `t`.
fn context_of(
    prog: &kdive_program::Program,
    infos: &[TaskInfo],
    ctx: &BacktraceContext,
    active: &BTreeMap<u32, u64>,
    t: &TaskInfo,
) -> SetReport {
    SetReport {
        pid: t.pid,
        comm: t.comm.clone(),
        task: t.addr,
        same_pid: infos.iter().filter(|o| o.pid == t.pid).count(),
        thread_info: thread_info(prog, t.addr),
        cpu: t.cpu,
        state: t.state_code().to_string(),
        state_name: t.state_names(),
        active: active.values().any(|&a| a == t.addr),
        panic: ctx.panic_cpu.and_then(|c| ctx.active.get(&c)) == Some(&t.addr),
        quiet: false,
    }
}

/// `foreach ... set`: each chosen task's context, under its task header, as crash shows it
/// (the current context does not move).
pub(crate) fn for_tasks<'s>(
    s: &'s Session,
    chosen: &[&TaskInfo],
    _: &Flags,
) -> Result<Box<dyn Report + 's>, CommandError> {
    let tasks = s.tasks()?;
    let prog = s.kernel()?;
    let ctx = BacktraceContext::new(prog, &tasks.list.active);
    let active = s.active_tasks(&ctx.active);
    Ok(Box::new(ForeachSet {
        tasks: chosen
            .iter()
            .map(|t| context_of(prog, &tasks.infos, &ctx, &active, t))
            .collect(),
    }))
}

/// What `foreach ... set` shows: one context per chosen task.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForeachSet {
    pub tasks: Vec<SetReport>,
}

impl Report for ForeachSet {
    fn write_text(&self, o: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "{}", task_header(t.pid, t.task, t.cpu, &t.comm))?;
            t.write_text(o, out)?;
        }
        Ok(())
    }
}

/// `set -a PID|TASK`: makes the task the active task of its CPU for the session, as crash's
/// `set -a` does when the runqueues name another (the CPU's saved registers then start its
/// backtrace, `ps` marks it). The current context stays where it was.
fn mark_active(
    s: &Session,
    infos: &[TaskInfo],
    w: &str,
    before: u64,
) -> Result<Box<dyn Report>, CommandError> {
    if s.is_live() {
        return Err(CommandError::Usage(
            "set: -a option not allowed on live systems".into(),
        ));
    }
    let found = resolve("set", infos, w)
        .map_err(|_| CommandError::Usage(format!("set: invalid task or pid value: {w}")))?;
    if found.len() > 1 {
        return Err(CommandError::Usage(format!(
            "set: pid {w} has {} tasks: use a task address",
            found.len()
        )));
    }
    let t = found[0];
    if s.context().is_none() {
        // the panic task may be the one replaced: keep meaning it
        s.set_context(Some(before));
    }
    s.mark_active(t.cpu, t.addr);
    Ok(Box::new(MarkedActive {
        comm: t.comm.clone(),
        task: t.addr,
        cpu: t.cpu,
    }))
}

/// What `set -a` did: the task now active on its CPU.
#[derive(Debug, Serialize, Deserialize)]
pub struct MarkedActive {
    pub comm: String,
    #[serde(with = "crate::hex")]
    pub task: u64,
    pub cpu: u32,
}

impl Report for MarkedActive {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "\"{}\" task {:x} has been marked as the active task on cpu {}",
            self.comm, self.task, self.cpu
        )
    }
}

/// A task's `thread_info`: inside the task_struct where the kernel keeps it there, else at the
/// bottom of its stack; `None` when neither can be read.
fn thread_info(prog: &kdive_program::Program, task: u64) -> Option<u64> {
    let ty = prog.type_("struct task_struct").ok()?;
    match kdive_program::object::offset_of(prog, ty, "thread_info") {
        Ok(off) => Some(task + off),
        Err(_) => prog
            .object("struct task_struct", task)
            .ok()?
            .member("stack")
            .ok()?
            .read_u64()
            .ok(),
    }
}

/// What `set` shows: the current context.
#[derive(Debug, Serialize, Deserialize)]
pub struct SetReport {
    pub pid: i32,
    pub comm: String,
    #[serde(with = "crate::hex")]
    pub task: u64,
    /// How many tasks have this PID (the idle tasks share 0): crash then shows `(1 of N)`.
    pub same_pid: usize,
    #[serde(with = "crate::hex_opt")]
    pub thread_info: Option<u64>,
    pub cpu: u32,
    /// crash's two-letter state (`RU`, `IN`, `UN`...).
    pub state: String,
    /// crash's long state (`TASK_RUNNING`, `TASK_INTERRUPTIBLE`...).
    pub state_name: String,
    /// Running on a CPU at the time of the dump.
    pub active: bool,
    pub panic: bool,
    /// `set -c` named the task that was the context already: crash shows nothing.
    pub quiet: bool,
}

impl Report for SetReport {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        writeln!(out, "    PID: {}\nCOMMAND: \"{}\"", self.pid, self.comm)?;
        write!(out, "   TASK: {:x}  ", self.task)?;
        if self.same_pid > 1 {
            // crash numbers none of them: every one is "1 of N"
            write!(out, "(1 of {})  ", self.same_pid)?;
        }
        if let Some(ti) = self.thread_info {
            write!(out, "[THREAD_INFO: {ti:x}]")?;
        }
        let how = match (self.active, self.panic) {
            (_, true) => "(PANIC)",
            (true, false) => "(ACTIVE)",
            _ => "",
        };
        write!(
            out,
            "\n    CPU: {}\n  STATE: {} {how}\n",
            self.cpu, self.state_name
        )
    }
}

/// What `set -v` shows: the session's settings, in crash's `name: value` lines.
#[derive(Debug, Serialize, Deserialize)]
pub struct Settings {
    /// The dump's files (the parts of a split dump, in order).
    pub dumpfile: Vec<String>,
    /// The vmlinux whose DWARF is used; null when the kernel is read from its own kallsyms and
    /// BTF.
    pub namelist: Option<String>,
    /// Pages the dump excluded read as zeros (`--zero-excluded`).
    pub zero_excluded: bool,
    /// The bound on every list and tree walk.
    pub walk_limit: usize,
    /// The current context's task (`set PID`); null for the panic task.
    #[serde(with = "crate::hex_opt")]
    pub context: Option<u64>,
    /// The loaded modules' debug files attached, by module name.
    pub module_debug: Vec<(String, String)>,
}

fn settings(s: &Session) -> Settings {
    let prog = s.kernel().ok();
    Settings {
        dumpfile: s.paths().iter().map(|p| p.display().to_string()).collect(),
        namelist: prog
            .and_then(|p| p.debug())
            .map(|d| d.path().display().to_string()),
        zero_excluded: s.dump().zero_excluded(),
        walk_limit: s.walk_limit,
        context: s.context(),
        module_debug: prog
            .map(|p| {
                p.module_debug()
                    .iter()
                    .map(|m| (m.name().to_string(), m.path().display().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

impl Report for Settings {
    fn write_text(&self, _: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
        let line =
            |out: &mut dyn Write, name: &str, value: &str| writeln!(out, "{name:>14}: {value}");
        line(out, "dumpfile", &self.dumpfile.join(" "))?;
        line(
            out,
            "namelist",
            self.namelist
                .as_deref()
                .unwrap_or("(none: the kernel's kallsyms and BTF)"),
        )?;
        line(
            out,
            "zero_excluded",
            if self.zero_excluded { "on" } else { "off" },
        )?;
        line(out, "walk_limit", &self.walk_limit.to_string())?;
        let context = self
            .context
            .map_or_else(|| "the panic task".to_string(), |t| format!("{t:x}"));
        line(out, "context", &context)?;
        for (name, path) in &self.module_debug {
            line(out, "module", &format!("{name} {path}"))?;
        }
        Ok(())
    }
}
