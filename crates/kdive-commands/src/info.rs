//! `info`: not implemented yet.

use crate::{CommandError, Report, Session};

/// Runs `info`.
pub fn run(_s: &Session, _args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Err(CommandError::Unavailable("info: not implemented yet".into()))
}
