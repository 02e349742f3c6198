//! Choosing tasks from command operands: crash's `PID|TASK` words, the current context that
//! `set` moves, and `foreach`'s selectors.

use std::borrow::Cow;
use std::collections::BTreeMap;

use kdive_linux::stack::BacktraceContext;
use kdive_linux::system;
use kdive_linux::task::TaskInfo;

use crate::{CommandError, Session};

pub(crate) fn bad_task(cmd: &str, w: &str) -> CommandError {
    CommandError::Usage(format!("{cmd}: invalid task or pid value: {w}"))
}

pub(crate) fn find_task(infos: &[TaskInfo], addr: u64) -> Option<&TaskInfo> {
    infos.iter().find(|t| t.addr == addr)
}

/// The tasks a word names: a PID (every thread with it; idle tasks for 0) or a task address.
pub(crate) fn resolve<'a>(
    cmd: &str,
    infos: &'a [TaskInfo],
    w: &str,
) -> Result<Vec<&'a TaskInfo>, CommandError> {
    if let Ok(pid) = w.parse::<i32>() {
        let v: Vec<_> = infos.iter().filter(|t| t.pid == pid).collect();
        if !v.is_empty() {
            return Ok(v);
        }
    }
    let hex = w.trim_start_matches("0x");
    if let Ok(a) = u64::from_str_radix(hex, 16) {
        if let Some(t) = find_task(infos, a) {
            return Ok(vec![t]);
        }
    }
    Err(bad_task(cmd, w))
}

/// `foreach` task selectors: PID, task address, command name, crash state, kernel/user/active.
pub(crate) fn selector_matches(t: &TaskInfo, w: &str, ctx: &BacktraceContext) -> bool {
    match w {
        "kernel" => t.is_kthread(),
        "user" => !t.is_kthread(),
        "active" => ctx.active_cpu(t.addr).is_some(),
        _ if w.len() == 2 && w.chars().all(|c| c.is_ascii_uppercase()) => t.state_code() == w,
        _ => {
            w.parse::<i32>().is_ok_and(|p| p == t.pid)
                || u64::from_str_radix(w.trim_start_matches("0x"), 16)
                    .is_ok_and(|a| a == t.addr && w.len() > 8)
                || t.comm == w
        }
    }
}

/// The tasks `PID|TASK` words name, or the current task (`set`, else the panic task) when there
/// are none: the operand convention of `bt`, `files`, `vm`. The current task alone is read
/// without listing the others (the first answer does not grow with the number of tasks).
/// The current context's user address space (crash's `-u`), and its task.
pub(crate) fn current_user_space(
    s: &Session,
    cmd: &'static str,
) -> Result<(kdive_memory::AddressSpace, u64), CommandError> {
    let task = tasks_named(s, cmd, &[])?[0].addr;
    let prog = s.kernel()?;
    let mem = kdive_linux::mm::task_address_space(prog, task)
        .map_err(|source| CommandError::Program { cmd, source })?
        .ok_or_else(|| {
            CommandError::Usage(format!(
                "{cmd}: -u: task {task:x} has no user address space"
            ))
        })?;
    Ok((mem, task))
}

pub(crate) fn tasks_named<'s>(
    s: &'s Session,
    cmd: &str,
    words: &[String],
) -> Result<Vec<Cow<'s, TaskInfo>>, CommandError> {
    if words.is_empty() {
        let prog = s.kernel()?;
        let panic_cpu = system::panic_cpu(prog).ok().flatten();
        let t = current_task_in(s, &s.cpu_tasks()?.active, panic_cpu)?;
        return Ok(vec![s
            .task(t)
            .map_err(|_| bad_task(cmd, &format!("{t:x}")))?]);
    }
    let tasks = s.tasks()?;
    let mut v = Vec::new();
    for w in words {
        v.extend(
            resolve(cmd, &tasks.infos, w)?
                .into_iter()
                .map(Cow::Borrowed),
        );
    }
    Ok(v)
}

/// The tasks of [`tasks_named`], borrowed.
pub(crate) fn as_refs<'a>(tasks: &'a [Cow<'_, TaskInfo>]) -> Vec<&'a TaskInfo> {
    tasks.iter().map(|t| t.as_ref()).collect()
}

/// The current context: the `set` task, else the panic task, else the first CPU's task. On a
/// running kernel, as crash does there, the reading process's own task when it is listed.
pub(crate) fn current_task(s: &Session, ctx: &BacktraceContext) -> Result<u64, CommandError> {
    current_task_in(s, &ctx.active, ctx.panic_cpu)
}

/// [`current_task`] from each CPU's running task and the panic CPU.
pub(crate) fn current_task_in(
    s: &Session,
    active: &BTreeMap<u32, u64>,
    panic_cpu: Option<u32>,
) -> Result<u64, CommandError> {
    if let Some(t) = s.context() {
        return Ok(t);
    }
    if s.is_live() {
        let me = i32::try_from(std::process::id()).ok();
        if let Some(t) = s.tasks()?.infos.iter().find(|t| Some(t.pid) == me) {
            return Ok(t.addr);
        }
    }
    panic_cpu
        .and_then(|c| active.get(&c))
        .or_else(|| active.values().next())
        .copied()
        .ok_or_else(|| CommandError::Unavailable("no task is running on any CPU".into()))
}
