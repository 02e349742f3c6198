//! `search`: not implemented yet.

use crate::{CommandError, Report, Session};

/// Runs `search`.
pub fn run(_s: &Session, _args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Err(CommandError::Unavailable("search: not implemented yet".into()))
}
