//! The commands layer: crash-compatible commands, each producing a structured result that
//! renders as crash-like text or as JSON.

pub mod analyze;
pub mod args;
pub mod bt;
pub mod dev;
pub mod files;
pub mod foreach;
pub mod format;
pub mod help;
pub mod info;
pub mod irq;
pub mod kmem;
pub mod list;
pub mod log;
pub mod modules;
pub mod mount;
pub mod net;
pub mod ps;
pub mod rd;
pub mod runq;
pub mod search;
pub mod session;
pub mod set;
pub mod structs;
pub mod sym;
pub mod sys;
pub mod table;
mod tasks;
pub mod vm;

pub use session::Session;

use std::sync::Arc;

/// A command's result: text as crash prints it, or one JSON document.
pub trait Report {
    /// crash-style text (ends with a newline when not empty).
    fn text(&self) -> String;
    /// The structured result (addresses as `"0x…"` strings).
    fn json(&self) -> serde_json::Value;
}

/// Why a command could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command line is not one the command takes.
    #[error("{0}")]
    Usage(String),
    /// Reading the kernel's data failed.
    #[error("{cmd}: {source}")]
    Program {
        cmd: &'static str,
        #[source]
        source: kdive_program::ProgramError,
    },
    /// Something read once for the whole session (the task list, the log) failed.
    #[error("{context}: {source}")]
    Shared {
        context: &'static str,
        #[source]
        source: Arc<kdive_program::ProgramError>,
    },
    /// The dump was opened without a kernel view.
    #[error("no kernel view of this dump: {0}")]
    NoKernel(#[source] Arc<kdive_linux::NoKernel>),
    /// Without a kernel view, the log could not be read from VMCOREINFO either.
    #[error("no kernel view of this dump: {kernel}; nor a log from VMCOREINFO: {log}")]
    NoLog {
        kernel: Arc<kdive_linux::NoKernel>,
        #[source]
        log: Arc<kdive_linux::printk::vmcoreinfo::VmcoreinfoLogError>,
    },
    /// A debug file that is not this dump's.
    #[error(transparent)]
    DebugFile(kdive_program::ProgramError),
    /// The dump's physical memory could not be read.
    #[error("{context}: {source}")]
    Dump {
        context: String,
        #[source]
        source: kdive_dump::DumpError,
    },
    /// A file the command writes or reads.
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// What the command needs is not there (no task on any CPU, no DWARF for a symbol's type).
    #[error("{0}")]
    Unavailable(String),
    /// No command has this name; `suggestions` are the nearest names, if any are close.
    #[error("{name}: command not found{}", did_you_mean(.suggestions))]
    Unknown {
        name: String,
        suggestions: Vec<&'static str>,
    },
}

impl CommandError {
    /// The kind of failure in one word (`usage`, `fault`, `lookup`, `corrupt`, `no_kernel`,
    /// `unavailable`, `io`, `unknown_command`), for JSON and for Python's exception classes.
    pub fn kind(&self) -> &'static str {
        match self {
            CommandError::Usage(_) => "usage",
            CommandError::Program { source, .. } | CommandError::DebugFile(source) => {
                source.kind().as_str()
            }
            CommandError::Shared { source, .. } => source.kind().as_str(),
            CommandError::NoKernel(_) | CommandError::NoLog { .. } => "no_kernel",
            CommandError::Dump { source, .. } if source.is_missing_page() => "fault",
            CommandError::Dump { .. } => "corrupt",
            CommandError::Io { .. } => "io",
            CommandError::Unavailable(_) => "unavailable",
            CommandError::Unknown { .. } => "unknown_command",
        }
    }

    /// The address whose read failed, when that is why.
    pub fn fault_address(&self) -> Option<u64> {
        match self {
            CommandError::Program { source, .. } => source.fault_address(),
            CommandError::Shared { source, .. } => source.fault_address(),
            CommandError::Dump { source, .. } => source.paddr(),
            _ => None,
        }
    }

    /// `name` is no command: the error, with the nearest command names.
    pub fn unknown(name: &str) -> CommandError {
        CommandError::Unknown {
            name: name.to_string(),
            suggestions: table::suggest(name),
        }
    }
}

/// ` (did you mean bt?)`, or nothing without suggestions.
fn did_you_mean(suggestions: &[&str]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean {one}?)"),
        [all @ .., last] => format!(" (did you mean {} or {last}?)", all.join(", ")),
    }
}

/// Runs one command line (no pipes or redirections: the front end handles those): the command
/// the table names, `CMD --help` as `help CMD`, or crash's struct-name shorthand.
pub fn run(session: &Session, line: &str) -> Result<Box<dyn Report>, CommandError> {
    let words = args::split(line).map_err(CommandError::Usage)?;
    let Some((cmd, rest)) = words.split_first() else {
        return Err(CommandError::Usage("empty command".into()));
    };
    if let Some(c) = table::find(cmd) {
        return match rest {
            [h] if h == "--help" => Ok(Box::new(help::Help::Page(help::page(c)))),
            _ => (c.run)(session, rest),
        };
    }
    // crash's shorthands: `*task_struct ADDR`, and a struct's name as a command
    let name = cmd.strip_prefix('*').unwrap_or(cmd);
    let prog = session.kernel().ok();
    if prog.is_some_and(|p| structs::is_aggregate(p, name)) {
        let mut args = vec![name.to_string()];
        args.extend_from_slice(rest);
        return structs::run(session, &args, None);
    }
    Err(CommandError::unknown(cmd))
}

/// Serializes a u64 as a `"0x…"` string (JSON addresses).
pub fn hex<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:#x}"))
}

/// Serializes an optional u64 as a `"0x…"` string or null.
pub fn hex_opt<S: serde::Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&format!("{v:#x}")),
        None => s.serialize_none(),
    }
}
