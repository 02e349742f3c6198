//! `foreach [selectors...] COMMAND [flags]`: one per-task command over every task the selectors
//! choose (all tasks when there are none), in PID order.
//!
//! Selectors: a PID, a task address, a command name, a crash state (`RU`, `IN`, `UN`...),
//! `kernel`, `user`, `active`. Commands: `bt`, `files`, `vm`.

use kdive_linux::stack::BacktraceContext;
use kdive_linux::task::TaskInfo;

use crate::tasks::selector_matches;
use crate::{bt, files, vm, CommandError, Report, Session};

/// A per-task command `foreach` can run.
type PerTask = fn(&Session, &[&TaskInfo], &[String]) -> Result<Box<dyn Report>, CommandError>;

const COMMANDS: [(&str, PerTask); 3] = [
    ("bt", bt::for_tasks),
    ("files", files::for_tasks),
    ("vm", vm::for_tasks),
];

/// Runs `foreach`.
pub fn run(s: &Session, args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    let Some((at, command)) = args.iter().enumerate().find_map(|(i, a)| {
        COMMANDS
            .iter()
            .find(|(name, _)| name == a)
            .map(|(_, f)| (i, *f))
    }) else {
        let names: Vec<&str> = COMMANDS.iter().map(|c| c.0).collect();
        return Err(CommandError::Usage(format!(
            "foreach: usage: foreach [pid|task|comm|state|kernel|user|active ...] {} [flags]",
            names.join("|")
        )));
    };
    let tasks = s.tasks()?;
    let ctx = BacktraceContext::new(s.kernel()?, &tasks.list.active);
    let selectors = &args[..at];
    let mut chosen: Vec<&TaskInfo> = tasks
        .infos
        .iter()
        .filter(|t| selectors.is_empty() || selectors.iter().any(|w| selector_matches(t, w, &ctx)))
        .collect();
    chosen.sort_by_key(|t| (t.pid, t.cpu));
    command(s, &chosen, &args[at + 1..])
}
