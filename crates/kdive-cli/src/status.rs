//! The exit statuses, for scripts: a run's worst outcome over all its commands.

use std::process::ExitCode;

/// How a command, or a whole run, ended; ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Every answer complete: exit 0.
    Complete,
    /// An answer was printed but is incomplete (a read stopped at an unreadable page): exit 3.
    Partial,
    /// A command or the open failed: exit 1.
    Error,
    /// A command line kdive does not take (also an unknown command): exit 2, as for bad options.
    Usage,
}

impl Status {
    /// The process exit code of this status.
    pub fn code(self) -> u8 {
        match self {
            Status::Complete => 0,
            Status::Error => 1,
            Status::Usage => 2,
            Status::Partial => 3,
        }
    }

    /// The status of a command that failed with an error of `kind` (`CommandError::kind`).
    pub fn of_error(kind: &str) -> Status {
        match kind {
            "usage" | "unknown_command" => Status::Usage,
            _ => Status::Error,
        }
    }
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(s.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_outcome_wins() {
        let run = [Status::Complete, Status::Partial, Status::Complete];
        assert_eq!(run.into_iter().max().map(Status::code), Some(3));
        let run = [Status::Partial, Status::Error, Status::Complete];
        assert_eq!(run.into_iter().max().map(Status::code), Some(1));
        assert_eq!(Status::of_error("unknown_command").code(), 2);
        assert_eq!(Status::of_error("fault"), Status::Error);
    }
}
