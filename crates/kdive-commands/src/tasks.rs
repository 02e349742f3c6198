//! Choosing tasks from command operands: crash's `PID|TASK` words, the current context that
//! `set` moves, and `foreach`'s selectors.

use kdive_linux::stack::BacktraceContext;
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
/// are none: the operand convention of `bt`, `files`, `vm`.
pub(crate) fn tasks_named<'s>(
    s: &'s Session,
    cmd: &str,
    words: &[String],
) -> Result<Vec<&'s TaskInfo>, CommandError> {
    let tasks = s.tasks()?;
    if words.is_empty() {
        let ctx = BacktraceContext::new(s.kernel()?, &tasks.list.active);
        let t = current_task(s, &ctx)?;
        return Ok(vec![
            find_task(&tasks.infos, t).ok_or_else(|| bad_task(cmd, &format!("{t:x}")))?
        ]);
    }
    let mut v = Vec::new();
    for w in words {
        v.extend(resolve(cmd, &tasks.infos, w)?);
    }
    Ok(v)
}

/// The current context: the `set` task, else the panic task, else the first CPU's task. On a
/// running kernel, as crash does there, the reading process's own task when it is listed.
pub(crate) fn current_task(s: &Session, ctx: &BacktraceContext) -> Result<u64, CommandError> {
    if let Some(t) = s.context() {
        return Ok(t);
    }
    if s.is_live() {
        let me = i32::try_from(std::process::id()).ok();
        if let Some(t) = s.tasks()?.infos.iter().find(|t| Some(t.pid) == me) {
            return Ok(t.addr);
        }
    }
    ctx.panic_cpu
        .and_then(|c| ctx.active.get(&c))
        .or_else(|| ctx.active.values().next())
        .copied()
        .ok_or_else(|| CommandError::Unavailable("no task is running on any CPU".into()))
}
