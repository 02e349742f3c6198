//! `rd`: not implemented yet.

use crate::{CommandError, Report, Session};

/// Runs `rd`.
pub fn run(_s: &Session, _args: &[String]) -> Result<Box<dyn Report>, CommandError> {
    Err(CommandError::Unavailable("rd: not implemented yet".into()))
}
