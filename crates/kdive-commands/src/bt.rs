//! `bt`: not implemented yet.

use crate::{CommandError, Report, Session};

/// Runs `bt`.
pub fn run(_s: &Session, _args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Err(CommandError::Unavailable("bt: not implemented yet".into()))
}

/// Runs `foreach bt ...`.
pub fn run_foreach(_s: &Session, _args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Err(CommandError::Unavailable("foreach: not implemented yet".into()))
}

/// Runs `set [PID|TASK]`: the current context.
pub fn run_set(_s: &Session, _args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Err(CommandError::Unavailable("set: not implemented yet".into()))
}
