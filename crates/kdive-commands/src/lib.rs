//! The commands layer: crash-compatible commands, each producing a structured result that
//! renders as crash-like text or as JSON.

pub mod analyze;
pub mod args;
pub mod bt;
pub mod dev;
pub mod files;
pub mod foreach;
pub mod format;
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
mod tasks;
pub mod vm;

pub use session::Session;

use std::sync::Arc;

use kdive_debuginfo::NameKind;

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
    #[error("{0}: command not found")]
    Unknown(String),
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
            CommandError::Unknown(_) => "unknown_command",
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
}

/// Runs one command line (no pipes or redirections: the front end handles those).
pub fn run(session: &Session, line: &str) -> Result<Box<dyn Report>, CommandError> {
    let words = args::split(line).map_err(CommandError::Usage)?;
    let Some((cmd, rest)) = words.split_first() else {
        return Err(CommandError::Usage("empty command".into()));
    };
    match cmd.as_str() {
        "sys" => sys::run(session, rest),
        "ps" => ps::run(session, rest),
        "log" => log::run(session, rest),
        "bt" => bt::run(session, rest),
        "foreach" => foreach::run(session, rest),
        "set" => set::run(session, rest),
        "info" => info::run(session, rest),
        "rd" => rd::run(session, rest),
        "search" => search::run(session, rest),
        "mod" => modules::run(session, rest),
        "analyze" => analyze::run(session, rest),
        "sym" => sym::run(session, rest),
        "runq" => runq::run(session, rest),
        "kmem" => kmem::run(session, rest),
        "list" => list::run(session, rest),
        "mount" => mount::run(session, rest),
        "files" => files::run(session, rest),
        "vm" => vm::run(session, rest),
        "net" => net::run(session, rest),
        "dev" => dev::run(session, rest),
        "irq" => irq::run(session, rest),
        "struct" => structs::run(session, rest, Some(NameKind::Struct)),
        "union" => structs::run(session, rest, Some(NameKind::Union)),
        "*" => structs::run(session, rest, None),
        "task" => structs::run_task(session, rest),
        "whatis" => structs::run_whatis(session, rest),
        // crash's shorthands: `*task_struct ADDR`, and a struct's name as a command
        other => {
            let name = other.strip_prefix('*').unwrap_or(other);
            let prog = session.kernel().ok();
            if prog.is_some_and(|p| structs::is_aggregate(p, name)) {
                let mut args = vec![name.to_string()];
                args.extend_from_slice(rest);
                structs::run(session, &args, None)
            } else {
                Err(CommandError::Unknown(other.to_string()))
            }
        }
    }
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
