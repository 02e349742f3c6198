//! `foreach [selectors...] COMMAND [flags]`: one per-task command over every task the selectors
//! choose (all tasks when there are none), in PID order.
//!
//! Selectors: a PID, a task address, a command name, a crash state (`RU`, `IN`, `UN`...),
//! `kernel`, `user`, `active`. Commands: those of the table with a per-task handler.

use kdive_linux::stack::BacktraceContext;
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
    if let Some(w) = f.positional.first() {
        return Err(CommandError::Usage(format!(
            "foreach: {}: unexpected argument {w} (foreach's selectors come before the command)",
            entry.name
        )));
    }
    let tasks = s.tasks()?;
    let ctx = BacktraceContext::new(s.kernel()?, &tasks.list.active);
    let selectors = &args[..at];
    let mut chosen: Vec<&TaskInfo> = tasks
        .infos
        .iter()
        .filter(|t| selectors.is_empty() || selectors.iter().any(|w| selector_matches(t, w, &ctx)))
        .collect();
    chosen.sort_by_key(|t| (t.pid, t.cpu));
    command(s, &chosen, &f)
}
