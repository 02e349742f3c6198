//! The commands layer: crash-compatible commands, each producing a structured result that
//! renders as crash-like text or as JSON.

pub mod alias;
pub mod analyze;
pub mod args;
pub mod bpf;
pub mod bt;
pub mod bt_scan;
pub mod dev;
pub mod dis;
mod dumpfile;
pub mod envelope;
pub mod eval;
pub mod files;
pub mod foreach;
pub mod format;
pub mod fuser;
pub mod help;
pub mod info;
pub mod ipcs;
pub mod irq;
pub mod kmem;
pub mod list;
pub mod log;
pub mod mach;
pub mod modules;
pub mod mount;
pub mod net;
pub mod oops;
pub mod print;
pub mod ps;
pub mod rd;
mod reference;
pub mod runq;
pub mod rustfilt;
pub mod sbitmapq;
pub mod search;
pub mod session;
pub mod set;
pub mod sig;
pub mod structs;
pub mod swap;
pub mod sym;
pub mod sys;
pub mod table;
mod tasks;
pub mod timer;
pub mod tree;
pub mod vm;
pub mod vtop;
pub mod waitq;

pub use session::Session;

use std::io::{self, Write};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a front end wants text printed, beyond what a result holds. Every choice a command's
/// flags make (`bt -f`, `log -m`, `rd -32`) is part of the result itself, so that its JSON
/// holds everything its text shows; this carries only the front end's own choices (none yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TextOptions {}

/// A command's result: one serde structure, written as crash's text by [`Report::write_text`]
/// or serialised as JSON (`dyn Report` is `Serialize`; see [`envelope`] for `--json`).
pub trait Report: erased_serde::Serialize {
    /// Writes crash-style text (ending with a newline when not empty) to `out`.
    fn write_text(&self, opts: &TextOptions, out: &mut dyn Write) -> io::Result<()>;

    /// Why the answer is incomplete, when it is (a read that stopped at an unreadable page):
    /// front ends print it as an error and exit with the partial status. The structured result
    /// holds it too.
    fn incomplete(&self) -> Option<String> {
        None
    }
}

erased_serde::serialize_trait_object!(Report);

impl dyn Report + '_ {
    /// The text [`Report::write_text`] writes, as one string.
    pub fn text(&self) -> String {
        let mut buf = Vec::new();
        // writing into a Vec cannot fail
        let _ = self.write_text(&TextOptions::default(), &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// The structured result as a JSON value (addresses as `"0x…"` strings); null only if it
    /// could not be serialised, which the results of this crate (string map keys) never are.
    pub fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
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
    #[error("{context}: {source}{hint}")]
    Dump {
        context: &'static str,
        #[source]
        source: kdive_dump::DumpError,
        /// What would help (a missing split part, `--zero-excluded`), with its leading words.
        hint: String,
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
pub fn run<'s>(session: &'s Session, line: &str) -> Result<Box<dyn Report + 's>, CommandError> {
    let words = alias::expand(session, args::split(line).map_err(CommandError::Usage)?);
    let Some((cmd, rest)) = words.split_first() else {
        return Err(CommandError::Usage("empty command".into()));
    };
    // gdb's `p/x EXPR` is `p -x EXPR`
    if let Some((name, fmt)) = cmd.split_once('/') {
        if table::find(name).is_some_and(|c| c.name == "p") && !fmt.is_empty() {
            let mut args = vec![format!("-{fmt}")];
            args.extend_from_slice(rest);
            return print::run(session, &args);
        }
    }
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

/// A u64 as a `"0x…"` string in JSON: `#[serde(with = "crate::hex")]`.
pub mod hex {
    use super::*;

    /// Writes `"0x…"`.
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:#x}"))
    }

    /// Reads `"0x…"`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        s.strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| serde::de::Error::custom(format!("not a 0x… hex number: {s:?}")))
    }
}

/// An optional u64 as a `"0x…"` string or null: `#[serde(with = "crate::hex_opt")]`.
pub mod hex_opt {
    use super::*;

    /// Writes `"0x…"` or null.
    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        v.map(Hex).serialize(s)
    }

    /// Reads `"0x…"` or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Ok(Option::<Hex>::deserialize(d)?.map(|h| h.0))
    }
}

/// A u64 that serialises as a `"0x…"` string (for values in maps and lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hex(#[serde(with = "hex")] pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Addrs {
        #[serde(with = "hex")]
        a: u64,
        #[serde(with = "hex_opt")]
        b: Option<u64>,
        c: Vec<Hex>,
    }

    #[test]
    fn hex_strings_both_ways() {
        let v = Addrs {
            a: 0xffff_8e11_811f_8000,
            b: None,
            c: vec![Hex(0), Hex(0x1f)],
        };
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"a": "0xffff8e11811f8000", "b": null, "c": ["0x0", "0x1f"]})
        );
        assert_eq!(serde_json::from_value::<Addrs>(j).unwrap(), v);
        for bad in [r#""1f""#, r#""0xzz""#, "31"] {
            assert!(serde_json::from_str::<Hex>(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::from_str::<Addrs>(r#"{"a": "0x1", "b": "0x2", "c": []}"#).unwrap(),
            Addrs {
                a: 1,
                b: Some(2),
                c: vec![]
            }
        );
    }
}
