//! `foreach [selectors...] COMMAND [flags]`: one per-task command over every task the selectors
//! choose (all tasks when there are none), in PID order.
//!
//! Selectors: a PID, a task address, a command name, a crash state (`RU`, `IN`, `UN`...),
//! `kernel`, `user`, `active`. Commands: those of the table with a per-task handler.

use kdive_linux::task::TaskInfo;

use crate::args::Flags;
use crate::table::{self, Command, PerTask};
use crate::tasks::selector_matches;
use crate::{CommandError, Report, Session};

/// Runs `foreach`.
pub fn run<'s>(s: &'s Session, args: &[String]) -> Result<Box<dyn Report + 's>, CommandError> {
    let per_task = |w: &str| -> Option<(&'static Command, PerTask)> {
        let c = table::find(w)?;
        Some((c, c.per_task?))
    };
    let Some((at, (entry, command))) = args
        .iter()
        .enumerate()
        .find_map(|(i, a)| Some((i, per_task(a)?)))
    else {
        return Err(CommandError::Usage(format!(
            "foreach: no per-task command given\nusage: {}",
            table::FOREACH.synopsis()
        )));
    };
    let f = Flags::parse(entry, &args[at + 1..])?;
    // a command whose operands are not tasks (vtop's addresses) takes them after its name
    let takes_operands = entry.args.first().is_some_and(|a| a.required);
    if let Some(w) = f.positional.first().filter(|_| !takes_operands) {
        return Err(CommandError::Usage(format!(
            "foreach: {}: unexpected argument {w} (foreach's selectors come before the command)",
            entry.name
        )));
    }
    let tasks = s.tasks()?;
    let ctx = s.backtrace_context(s.kernel()?, &tasks.list.active);
    let selectors = &args[..at];
    let mut chosen: Vec<&TaskInfo> = tasks
        .infos
        .iter()
        .filter(|t| selectors.is_empty() || selectors.iter().any(|w| selector_matches(t, w, &ctx)))
        .collect();
    chosen.sort_by_key(|t| (t.pid, t.cpu));
    command(s, &chosen, &f)
}

/// `foreach ... ps`: `ps` of the chosen tasks, one table.
pub(crate) fn ps_for_tasks<'s>(
    s: &'s Session,
    chosen: &[&TaskInfo],
    f: &Flags,
) -> Result<Box<dyn Report + 's>, CommandError> {
    by_address(s, "ps", chosen, f, crate::ps::run)
}

/// `foreach ... task`: each chosen task's `task_struct`.
pub(crate) fn task_for_tasks<'s>(
    s: &'s Session,
    chosen: &[&TaskInfo],
    f: &Flags,
) -> Result<Box<dyn Report + 's>, CommandError> {
    by_address(s, "task", chosen, f, crate::structs::run_task)
}

/// A command that takes tasks as arguments, run with its flags on the chosen tasks' addresses.
fn by_address<'s>(
    s: &'s Session,
    name: &str,
    chosen: &[&TaskInfo],
    f: &Flags,
    run: table::Handler,
) -> Result<Box<dyn Report + 's>, CommandError> {
    if chosen.is_empty() {
        return Err(CommandError::Usage(format!(
            "foreach: {name}: no task matches the selectors"
        )));
    }
    let mut args: Vec<String> = f
        .given()
        .flat_map(|(n, v)| std::iter::once(n.to_string()).chain(v.map(str::to_string)))
        .collect();
    args.extend(chosen.iter().map(|t| format!("{:x}", t.addr)));
    run(s, &args)
}
